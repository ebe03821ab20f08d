"""Everything in content/ loaded and checked together: what `sprout content validate` and the app start from."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from .chatter import chatter_file_problems
from .content import LANGUAGES, TOPICS, Entry, Problem, load_entries, postnatal_problems
from .facts import facts_problems
from .leave import LeavePolicies, load_leave
from .milestones import Checklist, load_milestones
from .regions import Regions, load_regions
from .scope import ScopeTopic, load_scope
from .startup_cache import StartupCache
from .synonyms import Synonyms, load_synonyms
from .tips import Tip, load_tips


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    tips: tuple[Tip, ...]
    milestones: tuple[Checklist, ...]
    leave: LeavePolicies | None
    regions: Regions | None
    scope: tuple[ScopeTopic, ...] = ()  # subjects the guidance deliberately does not cover
    synonyms: Synonyms = Synonyms()     # Chinese words matched as one

    def published(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "published"]

    def entry(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)


def stale_problems(entries: list[Entry] | tuple[Entry, ...], today: date) -> list[Problem]:
    return [Problem(e.path, 1, f"review_by {e.review_by} has passed: the entry is stale and needs review", "warning")
            for e in entries if e.status == "published" and e.review_by and e.review_by < today]


def sign_table_problems(content_dir: Path) -> list[Problem]:
    """The red-flag sign table, checked the way triage loads it, plus its rows' examples in both directions:
    each example escalates to its row's level or higher, each near-miss does not escalate."""
    from .safety import SignTableError, Triage
    from .safety.signs import ESCALATIONS
    from .safety.triage import KINDS

    try:
        triage = Triage.from_content(content_dir)
    except SignTableError as exc:
        problems = []
        for line in str(exc).splitlines():
            path, _, rest = line.partition(":")
            number, _, message = rest.partition(": ")
            problems.append(Problem(path, int(number) if number.isdigit() else 1, message or line))
        return problems
    rank = {kind: i for i, kind in enumerate(KINDS)}
    path = str(content_dir / "safety" / "signs.yaml")
    problems = []
    for row in triage.table.rows:
        for text in (t for texts in row.examples.values() for t in texts):
            got = triage.check(text).kind
            if rank[got] > rank[row.level]:
                problems.append(Problem(path, row.line, f"{row.id}: example not escalated to {row.level} "
                                                        f"(got {got}): {text}"))
        for text in (t for texts in row.near_misses.values() for t in texts):
            got = triage.check(text).kind
            if got in ESCALATIONS:
                problems.append(Problem(path, row.line, f"{row.id}: near-miss escalated to {got}: {text}"))
    return problems


def load_knowledge(content_dir: Path, today: date, thorough: bool = False) -> tuple[KnowledgeBase, list[Problem]]:
    """Everything in the content folder, and what is wrong with it. `thorough` (what `sprout content validate`
    runs) also replays the sign table's examples and checks the chatter file: seconds a start-up need not spend,
    since triage and the chatter refuse a broken file when they load it."""
    kb, problems = _load_undated(content_dir, thorough)
    return kb, problems + stale_problems(kb.entries, today)


def _load_undated(content_dir: Path, thorough: bool = False) -> tuple[KnowledgeBase, list[Problem]]:
    """`load_knowledge` without the problems that depend on the date (stale entries)."""
    entries, problems = load_entries(content_dir)
    ids = {e.id for e in entries}
    problems += postnatal_problems(content_dir, entries)
    tips, found = load_tips(content_dir, ids)
    problems += found
    milestones, found = load_milestones(content_dir)
    problems += found
    leave, found = load_leave(content_dir)
    problems += found
    regions, found = load_regions(content_dir)
    problems += found
    scope, found = load_scope(content_dir)
    problems += found
    synonyms, found = load_synonyms(content_dir)
    problems += found
    if thorough:
        problems += sign_table_problems(content_dir)
        problems += chatter_file_problems(content_dir)
        problems += facts_problems(content_dir)
    kb = KnowledgeBase(tuple(entries), tuple(tips), tuple(milestones), leave, regions, scope, synonyms)
    return kb, problems


class ContentError(Exception):
    """Content the bot must not start on: every error found, one `path:line: message` per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# Data files a deployment may leave out: without them the feature is simply off (no tips, no check-ins, no leave
# rules). A file that is there but broken is an error like any other.
OPTIONAL_FILES = ("content/tips/tips.yaml", "content/milestones/milestones.yaml", "content/policies/leave.yaml")
_MISSING = "file is missing"


def load_valid_knowledge(content_dir: Path, today: date, cache: StartupCache | None = None
                         ) -> tuple[KnowledgeBase, list[Problem]]:
    """The content a bot or command starts from, refusing content with errors (ContentError).

    Starting on half the content is how entries vanished: an entry whose file no longer parses looked deleted and
    was retired, a broken regions.yaml broke every /start, an unreadable tips.yaml planned a week of nothing. So
    any error stops start-up with the validator's messages, before the database is touched; fixing the file is all
    it takes. Warnings (stale entries, an optional file left out) are returned for the log.

    With a `cache`, content already validated in this very state (same files, same loaders) is read back from it
    instead of being parsed and checked again; stale entries are judged against `today` either way."""
    cached = cache.get("knowledge") if cache is not None else None
    kb, undated = cached if cached is not None else _load_undated(content_dir)
    problems = undated + stale_problems(kb.entries, today)
    left_out = [p for p in problems if p.message == _MISSING and p.path in OPTIONAL_FILES]
    errors = [p for p in problems if p.level == "error" and p not in left_out]
    if errors:
        raise ContentError(errors)
    if cache is not None and cached is None:
        cache.put("knowledge", (kb, undated))
    return kb, [p for p in problems if p.level != "error"] + [replace(p, level="warning") for p in left_out]


def count_service_rows(content_dir: Path) -> int:
    total = 0
    for path in sorted((content_dir / "services").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            total += sum(1 for _ in csv.DictReader(handle))
    return total


def content_stats(kb: KnowledgeBase, content_dir: Path) -> dict[str, Any]:
    by_status = Counter(e.status for e in kb.entries)
    by_topic = Counter(e.topic for e in kb.entries if e.status == "published")
    by_language = Counter(lang for e in kb.entries if e.status == "published" for lang in e.texts)
    bands = {"0-3": (0, 3), "4-6": (4, 6), "7-12": (7, 12), "13-24": (13, 24), "25-36": (25, 36)}
    by_band = {name: sum(1 for e in kb.published() if e.age_min <= hi and e.age_max >= lo)
               for name, (lo, hi) in bands.items()}
    return {
        "entries": {
            "total": len(kb.entries),
            "by_status": dict(sorted(by_status.items())),
            "by_topic": {topic: by_topic.get(topic, 0) for topic in TOPICS},
            "by_language": {lang: by_language.get(lang, 0) for lang in LANGUAGES},
            "by_age_band": by_band,
            "published_bilingual": sum(1 for e in kb.published() if all(lang in e.texts for lang in LANGUAGES)),
        },
        "tips": {lang: sum(1 for t in kb.tips if t.text.get(lang)) for lang in LANGUAGES},
        "milestone_checklists": {"ages": [c.age_months for c in kb.milestones],
                                 "items": sum(len(c.items) for c in kb.milestones)},
        "leave_policy_regions": sorted(kb.leave.regions) if kb.leave else [],
        "emergency_regions": kb.regions.codes() if kb.regions else [],
        "services": count_service_rows(content_dir),
    }
