"""Regions (content/regions.yaml): emergency numbers, help lines and time zones, chosen per user."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .content import Problem, bilingual, line_of, read_yaml

# Numbers every region must have; without them no emergency advice can be given.
REQUIRED = ("emergency", "timezone")


@dataclass(frozen=True)
class Regions:
    default: str
    table: dict[str, dict[str, Any]]

    def get(self, code: str | None) -> dict[str, Any]:
        """The region's row (with its code), falling back to the deployment default."""
        chosen = code if code in self.table else self.default
        return {"code": chosen, **self.table[chosen]}

    def codes(self) -> list[str]:
        return list(self.table)


def load_regions(content_dir: Path) -> tuple[Regions | None, list[Problem]]:
    rel = "content/regions.yaml"
    data, lines, problems = read_yaml(content_dir / "regions.yaml", rel)
    if data is None:
        return None, problems
    table = data.get("regions") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not table:
        return None, [Problem(rel, 1, "regions.yaml needs a 'regions' mapping")]
    for code, row in table.items():
        line = line_of(lines, f"regions.{code}")
        if not isinstance(row, dict) or any(not row.get(k) for k in REQUIRED) or not bilingual(row.get("name")):
            problems.append(Problem(rel, line, f"region {code}: needs name (en, zh), emergency and timezone"))
            continue
        try:
            ZoneInfo(str(row["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(Problem(rel, line, f"region {code}: unknown time zone {row['timezone']!r}"))
    default = data.get("default")
    if default not in table:
        problems.append(Problem(rel, line_of(lines, "default"), f"default region {default!r} is not in the table"))
        return None, problems
    if any(p.level == "error" for p in problems):
        return None, problems
    return Regions(default, table), problems
