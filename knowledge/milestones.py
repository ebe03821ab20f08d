"""Milestone checklists (content/milestones/milestones.yaml) for check-ins at 2 to 36 months."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .content import Problem, bilingual, line_of, read_yaml, url_problem

CHECKIN_AGES = (2, 4, 6, 9, 12, 15, 18, 24, 30, 36)
AREAS = ("social", "language", "cognitive", "movement")


@dataclass(frozen=True)
class MilestoneItem:
    id: str
    area: str
    text: dict[str, str]


@dataclass(frozen=True)
class Checklist:
    age_months: int
    items: tuple[MilestoneItem, ...]
    act_early: dict[str, str]


def load_milestones(content_dir: Path) -> tuple[list[Checklist], list[Problem]]:
    rel = "content/milestones/milestones.yaml"
    data, lines, problems = read_yaml(content_dir / "milestones" / "milestones.yaml", rel)
    if data is None:
        return [], problems
    if not isinstance(data, dict) or not isinstance(data.get("checklists"), list):
        return [], [Problem(rel, 1, "milestones.yaml needs 'sources' and a 'checklists' list")]
    if not data.get("sources"):
        problems.append(Problem(rel, 1, "milestones.yaml needs sources"))
    for i, source in enumerate(data.get("sources") or []):
        message = url_problem(source.get("url", "")) if isinstance(source, dict) else "each source needs a url"
        if message:
            problems.append(Problem(rel, line_of(lines, f"sources.{i}"), message))
    checklists: list[Checklist] = []
    for i, raw in enumerate(data["checklists"]):
        key = f"checklists.{i}"
        age = raw.get("age_months") if isinstance(raw, dict) else None
        if age not in CHECKIN_AGES:
            problems.append(Problem(rel, line_of(lines, key), f"age_months must be one of {CHECKIN_AGES}, not {age!r}"))
            continue
        items = []
        for j, item in enumerate(raw.get("items") or []):
            ikey = f"{key}.items.{j}"
            if not isinstance(item, dict) or item.get("area") not in AREAS or not item.get("id") or not bilingual(item):
                problems.append(Problem(rel, line_of(lines, ikey), f"milestone item needs id, area ({', '.join(AREAS)}), en and zh"))
                continue
            items.append(MilestoneItem(item["id"], item["area"], {"en": item["en"].strip(), "zh": item["zh"].strip()}))
        if not bilingual(raw.get("act_early")):
            problems.append(Problem(rel, line_of(lines, f"{key}.act_early"), f"{age} months: act_early needs en and zh"))
            continue
        missing = set(AREAS) - {item.area for item in items}
        if missing:
            problems.append(Problem(rel, line_of(lines, key), f"{age} months: no items for {', '.join(sorted(missing))}"))
        checklists.append(Checklist(age, tuple(items), dict(raw["act_early"])))
    ages = [c.age_months for c in checklists]
    if sorted(set(ages)) != sorted(ages):
        problems.append(Problem(rel, 1, "an age appears twice"))
    ids = [item.id for c in checklists for item in c.items]
    if len(ids) != len(set(ids)):
        problems.append(Problem(rel, 1, "milestone item ids must be unique"))
    return sorted(checklists, key=lambda c: c.age_months), problems
