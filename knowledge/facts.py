"""The key-facts table (content/facts.yaml) and the check that no entry, tip or milestone contradicts it.

Knowledge as data: each fact names its subject, the value Sprout holds with the source that supports it, and
patterns of statements that contradict it. The checker reads every line of the guidance bodies (both languages),
the tips and the milestone checklists, so a tip that says "no whole nuts under 3" while the entries say under 5 is
caught with its path and line. A generic rule adds warnings: the same subject stated with different "under N"
age limits in different files.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .content import Problem, line_of, read_yaml, split_front_matter, url_problem

FACTS_FILE = "facts.yaml"


@dataclass(frozen=True)
class Contradiction:
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None = None

    def found(self, line: str) -> str | None:
        match = self.pattern.search(line)
        if not match or (self.unless and self.unless.search(line)):
            return None
        return match.group(0)


@dataclass(frozen=True)
class Fact:
    id: str
    subject: tuple[re.Pattern[str], ...]
    canonical: dict[str, str]
    source: dict[str, Any]
    contradicts: tuple[Contradiction, ...]
    threshold_months: int | None = None


def _compile(text: Any, where: str, problems: list[Problem], rel: str, line: int) -> re.Pattern[str] | None:
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(rel, line, f"{where} must be a regular expression"))
        return None
    try:
        return re.compile(text, re.I)
    except re.error as exc:
        problems.append(Problem(rel, line, f"{where} is not a valid regular expression: {exc}"))
        return None


def load_facts(content_dir: Path) -> tuple[list[Fact], list[Problem]]:
    """The facts table; a missing file means no facts (the check is off), a broken one is an error."""
    rel = f"content/{FACTS_FILE}"
    path = content_dir / FACTS_FILE
    if not path.exists():
        return [], []
    data, lines, problems = read_yaml(path, rel)
    if data is None:
        return [], problems
    if not isinstance(data, list):
        return [], [Problem(rel, 1, "facts.yaml must be a list of facts")]
    facts: list[Fact] = []
    seen: set[str] = set()
    for i, raw in enumerate(data):
        key = str(i)
        line = line_of(lines, key)
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or raw["id"] in seen:
            problems.append(Problem(rel, line, "each fact needs a unique id"))
            continue
        fid = raw["id"]
        seen.add(fid)
        canonical, source = raw.get("canonical"), raw.get("source")
        if not (isinstance(canonical, dict) and all(isinstance(canonical.get(k), str) for k in ("en", "zh"))):
            problems.append(Problem(rel, line_of(lines, f"{key}.canonical"), f"fact {fid}: canonical needs en and zh"))
            continue
        if not (isinstance(source, dict) and all(source.get(k) for k in ("publisher", "title", "url", "year"))):
            problems.append(Problem(rel, line_of(lines, f"{key}.source"),
                                    f"fact {fid}: the canonical value needs a source (publisher, title, url, year)"))
            continue
        message = url_problem(source["url"])
        if message:
            problems.append(Problem(rel, line_of(lines, f"{key}.source.url"), f"fact {fid}: {message}"))
        subject = raw.get("subject") if isinstance(raw.get("subject"), dict) else {}
        subjects = tuple(p for lang in ("en", "zh") if lang in subject
                         for p in [_compile(subject[lang], f"fact {fid}: subject.{lang}", problems, rel,
                                            line_of(lines, f"{key}.subject"))] if p)
        rows = raw.get("contradicts")
        if not isinstance(rows, list) or not rows:
            problems.append(Problem(rel, line, f"fact {fid}: list the statements that contradict it (contradicts)"))
            continue
        contradictions = []
        for j, row in enumerate(rows):
            rline = line_of(lines, f"{key}.contradicts.{j}")
            texts = [row.get(lang) for lang in ("en", "zh") if isinstance(row, dict) and row.get(lang)]
            if len(texts) != 1:
                problems.append(Problem(rel, rline, f"fact {fid}: each contradiction is one pattern, en or zh"))
                continue
            pattern = _compile(texts[0], f"fact {fid}: contradiction", problems, rel, rline)
            unless = _compile(row["unless"], f"fact {fid}: unless", problems, rel, rline) if row.get("unless") else None
            if pattern:
                contradictions.append(Contradiction(pattern, unless))
        threshold = raw.get("threshold_months")
        facts.append(Fact(fid, subjects, dict(canonical), dict(source), tuple(contradictions),
                          threshold if isinstance(threshold, int) else None))
    return facts, problems


def scanned_lines(content_dir: Path) -> list[tuple[str, int, str]]:
    """(path, line number, text) of every line a family reads: entry bodies, tips and milestone checklists."""
    out: list[tuple[str, int, str]] = []
    root = content_dir.parent

    def rel(path: Path) -> str:
        return str(path.relative_to(root)) if root in path.parents else str(path)

    for path in sorted((content_dir / "guidance").glob("*/*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the entry loader reports unreadable files
        parts = split_front_matter(text)
        if parts is None:
            continue
        _, body, body_line = parts
        out += [(rel(path), body_line + n, line) for n, line in enumerate(body.split("\n"))]
    for path in (content_dir / "tips" / "tips.yaml", content_dir / "milestones" / "milestones.yaml"):
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            continue
        out += [(rel(path), n + 1, line) for n, line in enumerate(lines) if not line.lstrip().startswith("#")]
    return out


def contradiction_problems(facts: list[Fact], lines: list[tuple[str, int, str]]) -> list[Problem]:
    """An error for every line that states the opposite of a key fact."""
    problems = []
    for path, number, text in lines:
        for fact in facts:
            # "可以再冻" about cooked purée is not about breast milk: the line (or the file) must be on the subject
            if fact.subject and not any(p.search(text) or p.search(path) for p in fact.subject):
                continue
            for rule in fact.contradicts:
                found = rule.found(text)
                if found:
                    problems.append(Problem(path, number, f"contradicts key fact {fact.id!r} ({fact.canonical['en']}; "
                                                          f"{fact.source['publisher']}): {found.strip()!r}"))
                    break
    return problems


# "under 5", "before 12 months", "5岁以下", "12个月以前": an age limit, in months.
_LIMIT_EN = re.compile(r"\b(?:under|before|until|below|younger than)\s+(?:age\s+)?(\d{1,2})\s*(months?|years?|yrs?)?\b"
                       r"(?!\s*(?:weeks|days|hours|minutes))", re.I)
_LIMIT_ZH = re.compile(r"(\d{1,2}|[一二两三四五六七八九十])\s*(个月|岁)(?:以下|以前|之前|以内|前|内)")
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_SENTENCE = re.compile(r"[^.!?。！？；;]+")


def _months(number: str, unit: str | None) -> int | None:
    value = _ZH_DIGITS.get(number) or (int(number) if number.isdigit() else None)
    if value is None:
        return None
    if unit is None:  # "under 5" with no unit: years when small, months otherwise
        return value * 12 if value <= 6 else value
    return value if unit.startswith(("month", "个月")) else value * 12


def threshold_problems(facts: list[Fact], lines: list[tuple[str, int, str]]) -> list[Problem]:
    """A warning where a subject's "under N" age limit differs from the one other files (or the fact) give."""
    stated: dict[str, list[tuple[int, str, int, str]]] = defaultdict(list)
    for path, number, text in lines:
        for sentence in _SENTENCE.findall(text):
            for fact in facts:
                if not any(p.search(sentence) for p in fact.subject):
                    continue
                limits = [_months(n, u) for n, u in _LIMIT_EN.findall(sentence)] + \
                         [_months(n, u) for n, u in _LIMIT_ZH.findall(sentence)]
                for months in {m for m in limits if m}:
                    stated[fact.id].append((months, path, number, sentence.strip()))
    problems = []
    by_id = {f.id: f for f in facts}
    for fid, rows in stated.items():
        canonical = by_id[fid].threshold_months
        values = {m for m, *_ in rows}
        if canonical is None or canonical not in values:
            continue  # only compare where the fact gives the limit and some file states it
        for months, path, number, sentence in rows:
            if months < canonical and {p for m, p, *_ in rows if m == canonical} - {path}:
                problems.append(Problem(path, number, f"{fid}: an age limit of {months} months here, but "
                                                      f"{canonical} months in other files and in the key facts: "
                                                      f"{sentence[:80]!r}", "warning"))
    return problems


def facts_problems(content_dir: Path) -> list[Problem]:
    """What `sprout content validate` reports for the key facts: the table's own problems, contradictions, and
    subjects stated with different age limits."""
    facts, problems = load_facts(content_dir)
    if not facts:
        return problems
    lines = scanned_lines(content_dir)
    return problems + contradiction_problems(facts, lines) + threshold_problems(facts, lines)
