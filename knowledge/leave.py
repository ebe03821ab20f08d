"""Leave-policy data (content/policies/leave.yaml): the mainland national baseline, each mainland region's additions,
and Hong Kong and Taiwan under their own laws. Every figure carries the article that gives it; a figure nobody has
confirmed against the regulation text is null and carries a note saying so."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .content import Problem, bilingual, line_of, read_yaml, url_problem

MAINLAND = "mainland"
# Hong Kong and Taiwan have their own employment law: the mainland's national baseline does not apply to them.
SYSTEMS = (MAINLAND, "HK", "TW")

# Figures of a region: (name, the YAML keys holding its values). A figure is known when its first key is set;
# every key of a known figure must be set, and every key of an unknown one null.
MAINLAND_FIGURES = {
    "extra_maternity": ("extra_maternity_days",),
    "paternity": ("paternity_leave_days",),
    "childcare": ("childcare_leave_days_per_year", "childcare_leave_until_age_years"),
    "nursing_leave": ("nursing_leave_months_min", "nursing_leave_months_max"),
}
# Under their own laws: the whole maternity leave, the partner's leave, parental leave and nursing breaks.
OWN_LAW_FIGURES = {
    "maternity": ("maternity_leave_days", "prenatal_days"),
    "paternity": ("paternity_leave_days",),
    "parental_leave": ("parental_leave_until_age_years", "parental_leave_max_months"),
    "nursing_break": ("nursing_break_minutes_per_day", "nursing_break_until_months"),
}
LIMITS = {"days": 400, "months": 60, "minutes": 240, "years": 18}


@dataclass(frozen=True)
class Figure:
    """One entitlement of one region: its values (None when unknown), the article that gives them and a note.
    A known figure always has an article; an unknown one always has a note saying what is unknown."""

    name: str
    values: tuple[int | None, ...]
    article: str | None
    note: dict[str, str] | None

    @property
    def known(self) -> bool:
        return self.values[0] is not None

    @property
    def value(self) -> int | None:
        return self.values[0]


@dataclass(frozen=True)
class RegionPolicy:
    code: str
    name: dict[str, str]
    system: str                     # 'mainland', 'HK' or 'TW'
    checked: bool                   # figures were taken from the text; False: not yet checked, all unknown
    source: dict[str, Any]          # publisher, title, url (None only when not checked), year
    revision: date | None           # the date of the revision the figures come from
    figures: dict[str, Figure]
    aliases: tuple[str, ...] = ()
    note: dict[str, str] | None = None

    @property
    def own_law(self) -> bool:
        return self.system != MAINLAND

    def figure(self, name: str) -> Figure:
        return self.figures[name]

    # The figures most callers want, as plain values (None when unknown).
    @property
    def extra_maternity_days(self) -> int | None:
        return self.figures["extra_maternity"].value if not self.own_law else None

    @property
    def paternity_leave_days(self) -> int | None:
        return self.figures["paternity"].value

    @property
    def childcare_leave_days_per_year(self) -> int | None:
        return self.figures["childcare"].value if not self.own_law else None

    @property
    def childcare_leave_until_age_years(self) -> int | None:
        return self.figures["childcare"].values[1] if not self.own_law else None


@dataclass(frozen=True)
class LeavePolicies:
    national: dict[str, Any]
    regions: dict[str, RegionPolicy]
    caveat: dict[str, str]
    national_articles: dict[str, str] = field(default_factory=dict)

    def region(self, code: str | None) -> RegionPolicy | None:
        return self.regions.get((code or "").upper())


def _source_ok(source: Any, need_url: bool) -> bool:
    """Publisher and title always (so a note can name the official text); year and url once figures are given."""
    if not isinstance(source, dict) or not all(source.get(k) for k in ("publisher", "title")):
        return False
    return all(source.get(k) for k in ("url", "year")) or not need_url


def document_url_problem(url: Any) -> str | None:
    """Why a source URL cannot be used as a link to the regulation text, or None (the content validator's rule)."""
    return url_problem(str(url or ""))


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _number_ok(key: str, value: Any) -> bool:
    if value is None:
        return True
    unit = next((u for u in LIMITS if key.endswith(u) or f"_{u}_" in key), "days")
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= LIMITS[unit]


def _read_figures(raw: dict[str, Any], code: str, spec: dict[str, tuple[str, ...]], checked: bool,
                  problem) -> dict[str, Figure] | None:
    articles = raw.get("articles") or {}
    notes = raw.get("notes") or {}
    if not isinstance(articles, dict) or not isinstance(notes, dict):
        problem(f"region {code}: 'articles' and 'notes' must be mappings by figure name")
        return None
    unknown_keys = (set(articles) | set(notes)) - set(spec)
    if unknown_keys:
        problem(f"region {code}: unknown figure name(s) {sorted(unknown_keys)}; use {sorted(spec)}")
        return None
    figures: dict[str, Figure] = {}
    ok = True
    for name, keys in spec.items():
        values = tuple(raw.get(k) for k in keys)
        bad = [k for k, v in zip(keys, values) if not _number_ok(k, v)]
        if bad:
            problem(f"region {code}: {', '.join(bad)} must be a whole number in range (or null)")
            ok = False
            continue
        note = notes.get(name)
        if note is not None and not bilingual(note):
            problem(f"region {code}: the note on {name} needs en and zh")
            ok = False
            continue
        article = articles.get(name)
        if values[0] is None:
            if any(v is not None for v in values[1:]):
                problem(f"region {code}: {name} has {keys[0]} null but other values set; give all or none")
                ok = False
            elif note is None:
                problem(f"region {code}: {name} is unknown (null) and needs a note in en and zh saying what is "
                        f"unknown and where the official text is")
                ok = False
        else:
            if not checked:
                problem(f"region {code}: is marked checked: false, so it cannot give {name}; check the text first")
                ok = False
            if any(v is None for v in values[1:]):
                problem(f"region {code}: {name} needs all of {', '.join(keys)}")
                ok = False
            if not isinstance(article, str) or not article.strip():
                problem(f"region {code}: {name} gives a figure but no article (第X条) of the text that gives it")
                ok = False
        figures[name] = Figure(name, values, article if values[0] is not None else None,
                               dict(note) if note else None)
    return figures if ok else None


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
    if not _source_ok(national.get("source"), need_url=True) or _as_date(national.get("effective")) is None:
        problems.append(Problem(rel, line_of(lines, "national"), "national baseline needs a source and an effective date"))
    elif (why := document_url_problem(national["source"]["url"])) is not None:
        problems.append(Problem(rel, line_of(lines, "national.source.url"), f"national baseline: {why}"))
    national_articles = national.get("articles") or {}
    if not isinstance(national_articles, dict) or not all(national_articles.get(k) for k in ("maternity", "nursing_break")):
        problems.append(Problem(rel, line_of(lines, "national"),
                                "national baseline needs articles for 'maternity' and 'nursing_break'"))
    if not bilingual(data.get("caveat")):
        problems.append(Problem(rel, 1, "leave.yaml needs a 'caveat' in en and zh"))
    regions: dict[str, RegionPolicy] = {}
    seen_names: dict[str, str] = {}
    for i, raw in enumerate(data.get("regions") or []):
        line = line_of(lines, f"regions.{i}")

        def problem(message: str, line: int = line) -> None:
            problems.append(Problem(rel, line, message))

        if not isinstance(raw, dict) or not isinstance(raw.get("code"), str) or not bilingual(raw.get("name")):
            problem("each region needs a code and a name in en and zh")
            continue
        code = raw["code"].upper()
        system = raw.get("system", MAINLAND)
        if system not in SYSTEMS:
            problem(f"region {code}: system must be one of {', '.join(SYSTEMS)}")
            continue
        checked = raw.get("checked", True)
        if not isinstance(checked, bool):
            problem(f"region {code}: checked must be true or false")
            continue
        source = raw.get("source")
        revision = _as_date(raw.get("revision"))
        if not _source_ok(source, need_url=checked):
            problem(f"region {code}: needs a source with publisher and title"
                    + (", year and the url of the regulation text" if checked else ""))
            continue
        if source.get("url") and (why := document_url_problem(source["url"])) is not None:
            problem(f"region {code}: {why}", line_of(lines, f"regions.{i}.source.url"))
            continue
        if checked and revision is None:
            problem(f"region {code}: needs the date of the revision its figures come from (revision: YYYY-MM-DD)")
            continue
        figures = _read_figures(raw, code, OWN_LAW_FIGURES if system != MAINLAND else MAINLAND_FIGURES, checked,
                                problem)
        if figures is None:
            continue
        aliases = raw.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            problem(f"region {code}: aliases must be a list of names")
            continue
        if code in regions:
            problem(f"region {code} appears twice")
            continue
        clash = next((n for n in [*raw["name"].values(), *aliases] if seen_names.get(n.casefold(), code) != code), None)
        if clash is not None:
            problem(f"region {code}: the name {clash!r} is already used by {seen_names[clash.casefold()]}")
            continue
        seen_names.update({n.casefold(): code for n in [*raw["name"].values(), *aliases]})
        note = raw.get("note")
        regions[code] = RegionPolicy(code, dict(raw["name"]), system, checked, dict(source), revision, figures,
                                     tuple(aliases), dict(note) if bilingual(note) else None)
    if any(p.level == "error" for p in problems):
        return None, problems
    return LeavePolicies(national, regions, dict(data["caveat"]), dict(national_articles)), problems
