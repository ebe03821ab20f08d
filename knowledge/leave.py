"""Leave-policy data (content/policies/leave.yaml): the national baseline and regional rules, each sourced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .content import Problem, bilingual, line_of, read_yaml, url_problem


@dataclass(frozen=True)
class RegionPolicy:
    code: str
    name: dict[str, str]
    extra_maternity_days: int
    extra_maternity_note: dict[str, str] | None
    paternity_leave_days: int | None
    childcare_leave_days_per_year: int | None
    childcare_leave_until_age_years: int | None
    source: dict[str, Any]
    effective: date


@dataclass(frozen=True)
class LeavePolicies:
    national: dict[str, Any]
    regions: dict[str, RegionPolicy]
    caveat: dict[str, str]

    def region(self, code: str | None) -> RegionPolicy | None:
        return self.regions.get((code or "").upper())


def _source_ok(source: Any) -> bool:
    return isinstance(source, dict) and all(source.get(k) for k in ("publisher", "title", "url", "year"))


def _url_problems(source: Any, key: str, lines: dict[str, int], rel: str) -> list[Problem]:
    """A source's link must reach the regulation text, not the publisher's home page."""
    if not isinstance(source, dict) or not source.get("url"):
        return []
    message = url_problem(source["url"])
    return [Problem(rel, line_of(lines, f"{key}.url"), message)] if message else []


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def load_leave(content_dir: Path) -> tuple[LeavePolicies | None, list[Problem]]:
    rel = "content/policies/leave.yaml"
    data, lines, problems = read_yaml(content_dir / "policies" / "leave.yaml", rel)
    if data is None:
        return None, problems
    national = data.get("national") if isinstance(data, dict) else None
    if not isinstance(national, dict):
        return None, [Problem(rel, 1, "leave.yaml needs a 'national' baseline")]
    for key in ("maternity_leave_days", "prenatal_days", "nursing_break_minutes_per_day", "nursing_break_until_months"):
        if not isinstance(national.get(key), int):
            problems.append(Problem(rel, line_of(lines, f"national.{key}"), f"national.{key} must be a whole number"))
    if not _source_ok(national.get("source")) or _as_date(national.get("effective")) is None:
        problems.append(Problem(rel, line_of(lines, "national"), "national baseline needs a source and an effective date"))
    problems += _url_problems(national.get("source"), "national.source", lines, rel)
    if not bilingual(data.get("caveat")):
        problems.append(Problem(rel, 1, "leave.yaml needs a 'caveat' in en and zh"))
    regions: dict[str, RegionPolicy] = {}
    for i, raw in enumerate(data.get("regions") or []):
        key = f"regions.{i}"
        line = line_of(lines, key)
        if not isinstance(raw, dict) or not isinstance(raw.get("code"), str) or not bilingual(raw.get("name")):
            problems.append(Problem(rel, line, "each region needs a code and a name in en and zh"))
            continue
        code = raw["code"].upper()
        effective = _as_date(raw.get("effective"))
        if not _source_ok(raw.get("source")) or effective is None:
            problems.append(Problem(rel, line, f"region {code}: needs a source (publisher, title, url, year) and an effective date"))
            continue
        found = _url_problems(raw.get("source"), f"{key}.source", lines, rel)
        if found:
            problems += found
            continue
        numbers = {k: raw.get(k) for k in ("extra_maternity_days", "paternity_leave_days",
                                            "childcare_leave_days_per_year", "childcare_leave_until_age_years")}
        if any(v is not None and (not isinstance(v, int) or v < 0 or v > 400) for v in numbers.values()):
            problems.append(Problem(rel, line, f"region {code}: leave days must be whole numbers of days (or null)"))
            continue
        if code in regions:
            problems.append(Problem(rel, line, f"region {code} appears twice"))
            continue
        note = raw.get("extra_maternity_note")
        regions[code] = RegionPolicy(code, dict(raw["name"]), int(numbers["extra_maternity_days"] or 0),
                                     dict(note) if bilingual(note) else None, numbers["paternity_leave_days"],
                                     numbers["childcare_leave_days_per_year"], numbers["childcare_leave_until_age_years"],
                                     dict(raw["source"]), effective)
    if any(p.level == "error" for p in problems):
        return None, problems
    return LeavePolicies(national, regions, dict(data["caveat"])), problems
