"""The age-based tips calendar (content/tips/tips.yaml): one tip per age window, each linked to an entry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .content import LANGUAGES, Problem, bilingual, line_of, read_yaml

LAST_TIP_DAY = 1095  # 36 months


@dataclass(frozen=True)
class Tip:
    id: str
    start_day: int
    end_day: int
    entry_id: str
    text: dict[str, str]

    def covers(self, age_days: int) -> bool:
        return self.start_day <= age_days <= self.end_day


def load_tips(content_dir: Path, entry_ids: set[str] | None = None) -> tuple[list[Tip], list[Problem]]:
    rel = "content/tips/tips.yaml"
    data, lines, problems = read_yaml(content_dir / "tips" / "tips.yaml", rel)
    if data is None:
        return [], problems
    if not isinstance(data, list):
        return [], [Problem(rel, 1, "tips.yaml must be a list of tips")]
    tips: list[Tip] = []
    seen: set[str] = set()
    for i, raw in enumerate(data):
        key = str(i)
        line = line_of(lines, key)
        if not isinstance(raw, dict):
            problems.append(Problem(rel, line, "each tip needs id, age_days, entry, en and zh"))
            continue
        tip_id, window, entry = raw.get("id"), raw.get("age_days"), raw.get("entry")
        ok = True
        if not isinstance(tip_id, str) or not tip_id or tip_id in seen:
            problems.append(Problem(rel, line, f"tip id {tip_id!r} is missing or duplicated"))
            ok = False
        if (not isinstance(window, list) or len(window) != 2 or not all(isinstance(d, int) for d in window)
                or not 0 <= window[0] <= window[1] <= LAST_TIP_DAY):
            problems.append(Problem(rel, line_of(lines, f"{key}.age_days"),
                                    f"age_days must be [first day, last day] within 0..{LAST_TIP_DAY}, not {window!r}"))
            ok = False
        if not bilingual(raw):
            problems.append(Problem(rel, line, f"tip {tip_id!r} needs text in both {' and '.join(LANGUAGES)}"))
            ok = False
        if entry_ids is not None and entry not in entry_ids:
            problems.append(Problem(rel, line_of(lines, f"{key}.entry"), f"tip {tip_id!r} links to unknown entry {entry!r}"))
        if ok:
            seen.add(tip_id)
            tips.append(Tip(tip_id, window[0], window[1], str(entry), {lang: raw[lang].strip() for lang in LANGUAGES}))
    tips.sort(key=lambda t: t.start_day)
    for before, after in zip(tips, tips[1:]):
        if after.start_day <= before.end_day:
            problems.append(Problem(rel, 1, f"tips {before.id} and {after.id} overlap"))
    return tips, problems

