"""Curation: who may curate (numeric Telegram ids), the review workflow with four eyes, the checks that keep
hostile or unsafe proposals out, and announcements queued through the deliveries ledger."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

import sqlite_utils

from .ages import add_months, age_months
from .content import (LANGUAGES, MAX_AGE_MONTHS, RED_FLAG_TIMES, Entry, EntryText, RedFlag, ReviewRecord, Source,
                      find_doses, parse_entry, red_flags_from_dicts, render_entry_file, review_records_from_dicts)
from .content_files import EntryFileError, file_and_rows, write_entry_with_rows
from .schedule import iso
from .settings import Settings
from .store import EntryStore

CURATOR, REVIEWER = "curator", "reviewer"
REVIEW_MONTHS = 12
PROPOSAL_STATES = ("draft", "in_review", "published", "rejected", "superseded")
OPEN_STATES = ("draft", "in_review")
# Links in proposals may only point at these publishers (and their subdomains).
ALLOWED_DOMAINS = ("who.int", "unicef.org", "cdc.gov", "healthychildren.org", "aap.org", "nhs.uk", "nice.org.uk",
                   "nhc.gov.cn", "gov.cn", "chinanutri.cn", "ndcpa.gov.cn")
# (min, max) characters; bodies are sized for a phone screen, the minimum keeps out placeholder text.
LIMITS = {"title": (3, 120), "body": (80, 5000), "question": (3, 200), "publisher": (2, 120),
          "source_title": (2, 200), "announcement": (5, 800)}
# Chinese says in one character what English says in four or five: its texts are measured on their own terms
# (an 80-character minimum would ask a Chinese body for some 300 English characters' worth).
LANGUAGE_LIMITS = {"zh": {"title": (2, 120), "body": (30, 5000), "question": (2, 200)}}


def text_limits(kind: str, lang: str | None = None) -> tuple[int, int]:
    """(minimum, maximum) characters of a text of this kind in this language."""
    return LANGUAGE_LIMITS.get(lang or "", {}).get(kind, LIMITS[kind])
QUESTIONS = (3, 6)
MAX_SOURCES = 6
MAX_ATTACHED = 3  # questions a gap cluster adds to an entry in one edit
AGE_BANDS = {"0-3": (0, 3), "4-6": (4, 6), "7-12": (7, 12), "13-24": (13, 24), "25-36": (25, 36)}

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_INJECTION = (
    re.compile(r"\b(?:ignore|disregard|forget|override|skip)\b.{0,40}?\b(?:previous|prior|above|earlier|preceding|"
               r"all|your|any)\b.{0,20}?\b(?:instructions?|prompts?|rules|directions|guidelines)\b"),
    re.compile(r"\bsystem\s*prompts?\b"),
    re.compile(r"\byou\s+are\s+now\b"),
    re.compile(r"\b(?:act|behave|respond)\s+as\s+(?:an?\s+|the\s+)?(?:ai|assistant|chat\s*bot|system|developer|admin)"),
    re.compile(r"\bnew\s+instructions?\s*:"),
    re.compile(r"\b(?:jailbreak|developer\s+mode|dan\s+mode)\b"),
    re.compile(r"</?\s*(?:system|assistant|instructions?)\s*>|<\|im_(?:start|end)\|>|\[/?inst\]"),
    re.compile(r"你现在是"),
    re.compile(r"(?:忽略|无视|忘记|忘掉|不要理会)(?:掉)?(?:你)?(?:之前|以上|上面|前面|先前|此前|所有|全部)的?(?:所有)?"
               r"(?:指令|指示|提示词?|规则|设定)"),
    re.compile(r"系统提示"),
    re.compile(r"(?:从现在起|从现在开始)[,，]?你(?:是|要|必须|将)"),
)
# Bare host names count as links too ("visit evil.example.com"): spelled out without a scheme, a link is still one.
_LINK = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'()（）\[\]，。、]+"
    r"|(?<![a-z0-9@.-])(?:[a-z0-9-]+\.)+(?:com|net|org|info|io|co|me|ly|xyz|top|site|online|shop|app|link|ru|cn|uk|"
    r"int|gov|edu|tk|cc|tv|biz)(?![a-z0-9-])(?:/[^\s<>\"'()（），。、]*)?", re.I)
_AGE_RANGE = re.compile(r"^\s*(\d{1,2})\s*(?:-|–|—|~|～|to|至|到)\s*(\d{1,2})\s*(?:months?|m|个月|月)?\s*$", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)、])\s*")


class CurationError(Exception):
    """A curation step that cannot go ahead; `code` names the catalogue message cur.error.<code>."""

    def __init__(self, code: str, **detail: Any):
        super().__init__(code)
        self.code, self.detail = code, detail


# Roles ------------------------------------------------------------------------------------------------------


def role_of(settings: Settings, telegram_user_id: int | None) -> str | None:
    """Reviewer, curator or nobody, by numeric Telegram id only: usernames can change hands."""
    if telegram_user_id is None:
        return None
    if telegram_user_id in settings.reviewer_ids:
        return REVIEWER
    if telegram_user_id in settings.curator_ids:
        return CURATOR
    return None


def allows(role: str | None, needed: str) -> bool:
    """Reviewers may do everything curators may."""
    return role == REVIEWER or (needed == CURATOR and role == CURATOR)


def staff_actor(telegram_user_id: int) -> str:
    return f"tg:{telegram_user_id}"


def audit(db: sqlite_utils.Database, at: datetime, actor: str, action: str, target: str | None = None,
          before: Any = None, after: Any = None) -> None:
    """One audit row (joins the caller's transaction if there is one)."""
    db.execute("insert into audit_log (at, actor, action, target, before, after) values (?, ?, ?, ?, ?, ?)",
               [iso(at), actor, action, target, _dump(before), _dump(after)])


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


# Checks ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """A problem or a flag; `code` names the catalogue message cur.problem.<code>."""

    code: str
    field: str = ""
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "detail": self.detail}


@dataclass(frozen=True)
class Check:
    problems: tuple[Issue, ...] = ()  # refuse the proposal
    flags: tuple[Issue, ...] = ()     # let it through, but show the reviewer

    @property
    def ok(self) -> bool:
        return not self.problems


def clean_text(text: str) -> str:
    """Input as stored: NFC, no control or invisible characters (they can hide text from the reviewer)."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return text.replace("\r\n", "\n").strip()


def injection_flags(text: str, field: str = "") -> list[Issue]:
    """Text that tries to instruct an assistant, matched on a normalised copy so spacing and width tricks fail."""
    folded = re.sub(r"\s+", " ", _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold())
    return [Issue("injection", field, m.group(0)[:60]) for pattern in _INJECTION for m in pattern.finditer(folded)]


def find_links(text: str) -> list[str]:
    return [m.group(0).rstrip(".,;:!?") for m in _LINK.finditer(text)]


def allowed_link(link: str) -> bool:
    host = (urlsplit(link if "://" in link else f"https://{link}").hostname or "").lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in ALLOWED_DOMAINS)


def size_issues(field: str, text: str, limit: str, lang: str | None = None) -> list[Issue]:
    """too_short / too_long for a text of this kind in this language (checked at each step and again at the end)."""
    return _size(field, text, limit, lang)


def _size(field: str, text: str, limit: str, lang: str | None = None) -> list[Issue]:
    low, high = text_limits(limit, lang)
    if len(text) < low:
        return [Issue("too_short", field, str(low))]
    if len(text) > high:
        return [Issue("too_long", field, str(high))]
    return []


def entry_links(entry: Entry) -> set[str]:
    links = {s.url for s in entry.sources}
    for t in entry.texts.values():
        links.update(find_links("\n".join([t.title, t.body, *t.questions])))
    return links


def check_entry(entry: Entry, known_links: Iterable[str] = ()) -> Check:
    """Validate a proposal like a content file, plus sizes, link domains and instruction-like text.
    `known_links` are links the published version already had (vetted then, so an edit keeps them)."""
    known = set(known_links)
    problems: list[Issue] = []
    flags: list[Issue] = []
    for lang in LANGUAGES:
        text = entry.texts.get(lang)
        if text is None:
            problems.append(Issue("missing_language", lang))
            continue
        problems += _size(f"{lang}.title", text.title, "title", lang) + _size(f"{lang}.body", text.body, "body", lang)
        if not QUESTIONS[0] <= len(text.questions) <= QUESTIONS[1]:
            problems.append(Issue("questions_count", f"{lang}.questions", f"{QUESTIONS[0]}-{QUESTIONS[1]}"))
        for question in text.questions:
            problems += _size(f"{lang}.questions", question, "question", lang)
        for name, value in (("title", text.title), ("body", text.body), ("questions", "\n".join(text.questions))):
            problems += [Issue("dose", f"{lang}.{name}", dose) for dose in find_doses(value)]
            problems += [Issue("link_domain", f"{lang}.{name}", link) for link in find_links(value)
                         if link not in known and not allowed_link(link)]
            flags += injection_flags(value, f"{lang}.{name}")
    if not 1 <= len(entry.sources) <= MAX_SOURCES:
        problems.append(Issue("sources_count", "sources", f"1-{MAX_SOURCES}"))
    for source in entry.sources:
        problems += _size("sources", source.publisher, "publisher") + _size("sources", source.title, "source_title")
        if not source.url.startswith("https://"):
            problems.append(Issue("source_url", "sources", source.url))
        elif source.url not in known and not allowed_link(source.url):
            problems.append(Issue("link_domain", "sources", source.url))
        flags += injection_flags(f"{source.publisher}\n{source.title}", "sources")
    if not problems:
        # The file validator is the last word on everything else (id, topic, ages, dates, reviewer rules).
        path = f"content/guidance/{entry.topic}/{entry.id}.md"
        if not entry.review_log:  # a draft from the chat or the console: propose() adds its record
            entry = replace(entry, review_log=(ReviewRecord(date.today(), entry.author or "curator",
                                                            "drafted in the review workflow", "drafted"),))
        _, found = parse_entry(render_entry_file(entry), path, *QUESTIONS)
        problems += [Issue("file", "", p.message) for p in found if p.level == "error"]
    return Check(tuple(dict.fromkeys(problems)), tuple(dict.fromkeys(flags)))


def check_announcement(texts: dict[str, str]) -> Check:
    problems: list[Issue] = []
    flags: list[Issue] = []
    for lang in LANGUAGES:
        text = texts.get(lang, "")
        if not text:
            problems.append(Issue("missing_language", lang))
            continue
        problems += _size(lang, text, "announcement")
        problems += [Issue("dose", lang, dose) for dose in find_doses(text)]
        problems += [Issue("link_domain", lang, link) for link in find_links(text) if not allowed_link(link)]
        flags += injection_flags(text, lang)
    return Check(tuple(problems), tuple(flags))


# Parsing what curators type ------------------------------------------------------------------------------------


def parse_age_range(text: str) -> tuple[int, int] | None:
    match = _AGE_RANGE.match(text)
    if not match:
        return None
    low, high = int(match[1]), int(match[2])
    return (low, high) if 0 <= low <= high <= MAX_AGE_MONTHS else None


def parse_questions(text: str) -> list[str]:
    """One question per line; list bullets and numbering are dropped."""
    return [q for q in (_BULLET.sub("", line).strip() for line in text.splitlines()) if q]


def parse_sources(text: str) -> tuple[list[Source], list[Issue]]:
    """Lines of "publisher | title | url | year"."""
    sources, problems = [], []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), 1):
        parts = [p.strip() for p in re.split(r"[|｜]", line)]
        if len(parts) != 4 or not all(parts):
            problems.append(Issue("source_format", "sources", str(number)))
            continue
        publisher, title, url, year = parts
        if not year.isdigit() or not 1950 <= int(year) <= 2100:
            problems.append(Issue("source_year", "sources", year))
            continue
        sources.append(Source(publisher, title, url, int(year)))
    return sources, problems


def parse_red_flags(text: str) -> tuple[tuple[RedFlag, ...], list[Issue]]:
    """Lines of "when | English | 中文" with an optional "| from-to" in months; when is emergency, today or
    within_24h. The file validator then checks lengths and numbers, as for a content file."""
    flags, problems = [], []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), 1):
        parts = [p.strip() for p in re.split(r"[|｜]", line)]
        ages = parse_age_range(parts[3]) if len(parts) == 4 else None
        if len(parts) not in (3, 4) or not all(parts) or parts[0] not in RED_FLAG_TIMES or (len(parts) == 4
                                                                                           and ages is None):
            problems.append(Issue("red_flag_format", "red_flags", str(number)))
            continue
        span = (float(ages[0]), float(ages[1])) if ages and ages[0] < ages[1] else None
        flags.append(RedFlag(parts[0], {"en": parts[1], "zh": parts[2]}, span))
    return tuple(flags), problems


def red_flags_text(flags: Iterable[RedFlag]) -> str:
    """The editor's text for an entry's red flags (what `parse_red_flags` reads back)."""
    lines = []
    for flag in flags:
        ages = f" | {flag.ages[0]:g}-{flag.ages[1]:g}" if flag.ages else ""
        lines.append(f"{flag.when} | {flag.texts.get('en', '')} | {flag.texts.get('zh', '')}{ages}")
    return "\n".join(lines)


def slug_id(topic: str, title: str, taken: Callable[[str], bool]) -> str:
    """A new entry id from the topic and English title, unique against `taken`."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    base = "-".join([topic.replace("_", "-"), *words])[:60].strip("-")
    candidate, number = base, 2
    while taken(candidate):
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def entry_from_dict(data: dict[str, Any]) -> Entry:
    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return Entry(
        id=data["id"], topic=data["topic"], age_min=data["age_months"][0], age_max=data["age_months"][1],
        status=data["status"], author=data["author"], reviewer=data.get("reviewer"), reviewed=day(data.get("reviewed")),
        review_by=day(data.get("review_by")), sources=tuple(Source(**s) for s in data["sources"]),
        texts={lang: EntryText(t["title"], t["body"], tuple(t["questions"])) for lang, t in data["texts"].items()},
        red_flags=red_flags_from_dicts(data.get("red_flags")),
        review_state=(data.get("review") or {}).get("state", "drafted"),
        review_log=review_records_from_dicts((data.get("review") or {}).get("log")))


def with_questions(entry: Entry, lang: str, questions: Iterable[str]) -> Entry:
    """The entry with up to MAX_ATTACHED new example questions in `lang`; older ones give way past the limit."""
    text = entry.text(lang) if lang in entry.texts else None
    if text is None:
        return entry
    have = {q.casefold() for q in text.questions}
    new = [q for q in dict.fromkeys(questions) if q.casefold() not in have][:MAX_ATTACHED]
    kept = list(text.questions)[:max(QUESTIONS[1] - len(new), QUESTIONS[0])]
    texts = {**entry.texts, lang: replace(text, questions=tuple(kept + new)[:QUESTIONS[1]])}
    return replace(entry, texts=texts)


# The review workflow -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    id: int
    entry_id: str
    kind: str            # new | edit
    state: str
    author: str
    origin: str          # telegram | file | gap
    entry: Entry
    base_hash: str | None
    flags: tuple[Issue, ...]
    created_at: str
    decided_by: str | None
    decided_at: str | None
    note: str | None


def _proposal(row: dict[str, Any]) -> Proposal:
    return Proposal(row["id"], row["entry_id"], row["kind"], row["state"], row["author"], row["origin"],
                    entry_from_dict(json.loads(row["entry"])), row["base_hash"],
                    tuple(Issue(**f) for f in json.loads(row["flags"])), row["created_at"], row["decided_by"],
                    row["decided_at"], row["note"])


class Workflow:
    """draft -> in_review -> published -> retired, every step audited. A new entry waits in `entries` as
    in_review; an edit of a published entry waits in `proposals` so the live version keeps answering."""

    def __init__(self, db: sqlite_utils.Database, clock: Callable[[], datetime], content_dir: Path | None = None):
        """With `content_dir`, a new entry's file and a published entry's file are written with the database rows
        (the web console); without it only the database changes (the chat exports files separately)."""
        self.db, self.clock = db, clock
        self.store = EntryStore(db)
        self.content_dir = content_dir

    def propose(self, entry: Entry, actor: str, origin: str = "telegram") -> Proposal:
        """Check the entry and queue it for review; CurationError('problems') carries the Check when it fails."""
        current = self.store.get(entry.id)
        editing = current is not None and current.status == "published"
        now = self.clock()
        # The review log keeps what happened to the entry before and says who proposed this version.
        record = ReviewRecord(now.date(), actor, f"proposed {'an edit' if editing else 'the entry'} via {origin}",
                              "edited" if editing else "drafted")
        proposed = replace(entry, status="in_review", author=actor, reviewer=None, reviewed=None, review_by=None,
                           path="", review_state="drafted", review_log=(*entry.review_log, record))
        check = check_entry(proposed, entry_links(current) if editing else ())
        if not check.ok:
            audit(self.db, now, actor, "proposal_refused", entry.id,
                  after={"problems": [p.as_dict() for p in check.problems]})
            raise CurationError("problems", check=check)
        if not editing and self.content_dir is not None:
            # A new entry: its in-review file and its rows, together.
            proposed, target, text, digest = self._entry_file(proposed, current)
            with file_and_rows(self.db, target, text):
                self.store.save_rows(proposed, actor, "propose", before=current, note=f"proposed via {origin}",
                                     file_hash=digest)
                proposal_id = self._insert_proposal(entry.id, "new", actor, origin, proposed, None, check, now)
            return self.get(proposal_id)
        if not editing:
            # A new entry exists in `entries` from now on (not published, so never answered from).
            self.store.save(proposed, actor, "propose", before=current, note=f"proposed via {origin}")
        with self.db.conn:
            self.db.execute("begin immediate")
            proposal_id = self._insert_proposal(entry.id, "edit" if editing else "new", actor, origin, proposed,
                                                current.content_hash if editing else None, check, now)
            if editing:
                audit(self.db, now, actor, "propose_edit", entry.id, current.as_dict(), proposed.as_dict())
        return self.get(proposal_id)

    def _insert_proposal(self, entry_id: str, kind: str, actor: str, origin: str, proposed: Entry,
                         base_hash: str | None, check: Check, now: datetime) -> int:
        """Inside the caller's transaction: older open proposals of the entry give way to this one."""
        self._supersede(entry_id, now)
        cursor = self.db.execute(
            "insert into proposals (entry_id, kind, state, author, origin, entry, base_hash, flags, created_at, "
            "updated_at) values (?, ?, 'in_review', ?, ?, ?, ?, ?, ?, ?)",
            [entry_id, kind, actor, origin, _dump(proposed.as_dict()), base_hash,
             _dump([f.as_dict() for f in check.flags]), iso(now), iso(now)])
        return cursor.lastrowid

    def _entry_file(self, entry: Entry, current: Entry | None) -> tuple[Entry, Path, str, str]:
        """The entry's content file, ready to be written with its rows; the file validator's refusal as problems."""
        try:
            return write_entry_with_rows(self.content_dir, entry, current)
        except EntryFileError as error:
            raise CurationError("problems", check=Check(tuple(Issue("file", "", p) for p in error.problems)))

    def _supersede(self, entry_id: str, now: datetime) -> None:
        self.db.execute("update proposals set state = 'superseded', updated_at = ? where entry_id = ? and state in "
                        "('draft', 'in_review')", [iso(now), entry_id])

    def get(self, proposal_id: int) -> Proposal | None:
        rows = list(self.db.query("select * from proposals where id = ?", [proposal_id]))
        return _proposal(rows[0]) if rows else None

    def in_review(self) -> list[Proposal]:
        """Open proposals, oldest first. Entries that arrived in review as content files are adopted here."""
        self._adopt_files()
        return [_proposal(r) for r in self.db.query("select * from proposals where state = 'in_review' order by id")]

    def _adopt_files(self) -> None:
        waiting = {r["entry_id"] for r in self.db.query("select entry_id from proposals where state = 'in_review'")}
        for entry in self.store.all("in_review"):
            if entry.id in waiting:
                continue
            # Files passed `sprout content validate`; what the proposal rules would refuse is shown as a flag.
            check = check_entry(entry)
            now = self.clock()
            with self.db.conn:
                self.db.execute(
                    "insert into proposals (entry_id, kind, state, author, origin, entry, base_hash, flags, "
                    "created_at, updated_at) values (?, 'new', 'in_review', ?, 'file', ?, null, ?, ?, ?)",
                    [entry.id, entry.author, _dump(entry.as_dict()),
                     _dump([f.as_dict() for f in check.flags + check.problems]), iso(now), iso(now)])

    def publish(self, proposal_id: int, actor: str, today: date) -> Entry:
        """Publish with reviewed = today and review-by a year on; the reviewer must not be the author."""
        proposal = self._open(proposal_id, actor, "publish")
        now = self.clock()
        if actor in (proposal.author, proposal.entry.author):
            audit(self.db, now, actor, "refused:publish_own", proposal.entry_id, after={"proposal": proposal_id})
            raise CurationError("four_eyes")
        current = self.store.get(proposal.entry_id)
        if proposal.kind == "edit":
            changed = current is None or current.content_hash != proposal.base_hash
        else:  # a new entry waits in `entries`; a content file may have changed it since
            changed = current is not None and current.content_hash != proposal.entry.content_hash
        if changed:
            self._decide(proposal, "superseded", actor, "the entry changed after this was proposed")
            raise CurationError("changed")
        approval = ReviewRecord(today, actor, "approved and published it in the review workflow", "approved")
        published = replace(proposal.entry, status="published", reviewer=actor, reviewed=today,
                            review_by=add_months(today, REVIEW_MONTHS), path=current.path if current else "",
                            review_state="approved", review_log=(*proposal.entry.review_log, approval))
        if self.content_dir is not None:
            # The content file and the rows change together: a restart's content sync then finds nothing new.
            published, target, text, digest = self._entry_file(published, current)
            with file_and_rows(self.db, target, text):
                self.store.save_rows(published, actor, "publish", before=current, note=f"proposal {proposal_id}",
                                     file_hash=digest)
                self._decide_rows(proposal, "published", actor, None, now)
            return published
        self.store.save(published, actor, "publish", before=current, note=f"proposal {proposal_id}")
        self._decide(proposal, "published", actor, None)
        return published

    def approve(self, proposal_id: int, actor: str, comment: str | None = None) -> None:
        """A reviewer's approval, recorded beside the proposal; the author can never approve their own."""
        self._verdict(proposal_id, actor, "approve", comment)

    def request_changes(self, proposal_id: int, actor: str, comment: str) -> Proposal:
        """Send it back with a comment saying what to change (a new entry returns to draft)."""
        comment = clean_text(comment)
        if not comment:
            raise CurationError("comment_needed")
        self._verdict(proposal_id, actor, "changes", comment)
        return self.reject(proposal_id, actor, comment)

    def _verdict(self, proposal_id: int, actor: str, verdict: str, comment: str | None) -> None:
        proposal = self._open(proposal_id, actor, verdict)
        now = self.clock()
        if actor in (proposal.author, proposal.entry.author):
            audit(self.db, now, actor, f"refused:{verdict}_own", proposal.entry_id, after={"proposal": proposal_id})
            raise CurationError("four_eyes")
        with self.db.conn:
            self.db.execute("begin immediate")
            self.db.execute("insert into proposal_reviews (proposal_id, actor, verdict, comment, at) values "
                            "(?, ?, ?, ?, ?)", [proposal_id, actor, verdict, comment, iso(now)])
            audit(self.db, now, actor, f"proposal_{verdict}", proposal.entry_id, {"proposal": proposal_id},
                  {"proposal": proposal_id, "verdict": verdict, "comment": comment})

    def reviews(self, proposal_id: int) -> list[dict[str, Any]]:
        return list(self.db.query("select actor, verdict, comment, at from proposal_reviews where proposal_id = ? "
                                  "order by id", [proposal_id]))

    def recent(self, limit: int = 20) -> list[Proposal]:
        """Proposals decided lately, newest first (what happened to one's own proposals)."""
        return [_proposal(r) for r in self.db.query(
            "select * from proposals where state not in ('draft', 'in_review') order by updated_at desc, id desc "
            "limit ?", [limit])]

    def reject(self, proposal_id: int, actor: str, note: str | None = None) -> Proposal:
        """Send a proposal back; a new entry returns to draft, an edit leaves the published version as it was."""
        proposal = self._open(proposal_id, actor, "reject")
        current = self.store.get(proposal.entry_id)
        if proposal.kind == "new" and current is not None and current.status == "in_review":
            self.store.save(replace(current, status="draft"), actor, "reject", before=current, note=note)
        self._decide(proposal, "rejected", actor, note)
        return self.get(proposal_id)

    def retire(self, entry_id: str, actor: str) -> Entry:
        current = self.store.get(entry_id)
        if current is None or current.status != "published":
            raise CurationError("not_published", entry=entry_id)
        retired = replace(current, status="retired")
        self.store.save(retired, actor, "retire", before=current)
        with self.db.conn:
            self._supersede(entry_id, self.clock())
        return retired

    def stale(self, today: date) -> list[Entry]:
        return stale_entries(self.store.published(), today)

    def _open(self, proposal_id: int, actor: str, action: str) -> Proposal:
        proposal = self.get(proposal_id)
        if proposal is None or proposal.state != "in_review":
            audit(self.db, self.clock(), actor, f"refused:{action}_not_open", str(proposal_id))
            raise CurationError("not_in_review")
        return proposal

    def _decide(self, proposal: Proposal, state: str, actor: str, note: str | None) -> None:
        now = self.clock()
        with self.db.conn:
            self.db.execute("begin immediate")
            self._decide_rows(proposal, state, actor, note, now)

    def _decide_rows(self, proposal: Proposal, state: str, actor: str, note: str | None, now: datetime) -> None:
        self.db.execute("update proposals set state = ?, decided_by = ?, decided_at = ?, note = ?, updated_at = ? "
                        "where id = ?", [state, actor, iso(now), note, iso(now), proposal.id])
        audit(self.db, now, actor, f"proposal_{state}", proposal.entry_id, {"proposal": proposal.id,
                                                                             "state": proposal.state},
              {"proposal": proposal.id, "state": state, "note": note})


def stale_entries(entries: Iterable[Entry], today: date) -> list[Entry]:
    """Published entries past their review-by date, most overdue first."""
    overdue = [e for e in entries if e.status == "published" and e.review_by and e.review_by < today]
    return sorted(overdue, key=lambda e: (e.review_by, e.id))


# Announcements ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Announcement:
    id: int
    texts: dict[str, str]
    region: str | None   # None: every region
    band: str | None     # None: every age
    author: str
    state: str           # draft | queued
    created_at: str
    queued: int


def _announcement(row: dict[str, Any]) -> Announcement:
    return Announcement(row["id"], {"en": row["text_en"], "zh": row["text_zh"]}, row["region"], row["band"],
                        row["author"], row["state"], row["created_at"], row["queued"])


def announcement_texts(db: sqlite_utils.Database, item_id: str) -> dict[str, str] | None:
    """The two language versions of an announcement, for composing its deliveries."""
    if not item_id.isdigit():
        return None
    row = db.execute("select text_en, text_zh from announcements where id = ?", [int(item_id)]).fetchone()
    return {"en": row[0], "zh": row[1]} if row else None


class Announcements:
    """A reviewer's message to the subscribers of a region and/or age band, queued once per user."""

    def __init__(self, db: sqlite_utils.Database, clock: Callable[[], datetime]):
        self.db, self.clock = db, clock

    def create(self, texts: dict[str, str], region: str | None, band: str | None, actor: str) -> Announcement:
        if band is not None and band not in AGE_BANDS:
            raise CurationError("band")
        check = check_announcement(texts)
        if not check.ok:
            raise CurationError("problems", check=check)
        now = self.clock()
        with self.db.conn:
            self.db.execute("begin immediate")
            cursor = self.db.execute(
                "insert into announcements (text_en, text_zh, region, band, author, state, created_at, queued) "
                "values (?, ?, ?, ?, ?, 'draft', ?, 0)", [texts["en"], texts["zh"], region, band, actor, iso(now)])
            audit(self.db, now, actor, "announcement_draft", f"announcement:{cursor.lastrowid}",
                  after={"region": region, "band": band, **texts})
        return self.get(cursor.lastrowid)

    def get(self, announcement_id: int) -> Announcement | None:
        rows = list(self.db.query("select * from announcements where id = ?", [announcement_id]))
        return _announcement(rows[0]) if rows else None

    def recipients(self, region: str | None, band: str | None) -> list[int]:
        """Active users with an active tips subscription for a child in the band, in the region."""
        rows = self.db.execute(
            "select u.id, u.region, c.birth_date, c.weeks_premature from users u join children c on c.user_id = u.id "
            "join subscriptions s on s.child_id = c.id where u.active = 1 and s.status = 'active'").fetchall()
        today = self.clock().date()
        low, high = AGE_BANDS[band] if band else (0, MAX_AGE_MONTHS)
        chosen = set()
        for user_id, user_region, birth, premature in rows:
            if region and user_region != region:
                continue
            months = int(max(age_months(date.fromisoformat(birth), today, premature), 0))
            if low <= months <= high:
                chosen.add(user_id)
        return sorted(chosen)

    def enqueue(self, announcement_id: int, actor: str, due_at: datetime | None = None) -> int:
        """Queue one delivery per recipient, due now (or at `due_at`, not in the past); running it again adds
        nobody twice. Returns rows added."""
        announcement = self.get(announcement_id)
        if announcement is None:
            raise CurationError("not_found")
        now = self.clock()
        users = self.recipients(announcement.region, announcement.band)
        with self.db.conn:
            self.db.execute("begin immediate")
            before = self.db.execute("select total_changes()").fetchone()[0]
            # The dedupe key is the ledger's exactly-once guarantee: one row per announcement and user, ever.
            self.db.conn.executemany(
                "insert or ignore into deliveries (dedupe_key, user_id, child_id, kind, item_id, due_at, state) "
                "values (?, ?, null, 'announcement', ?, ?, 'pending')",
                [(f"announcement:{announcement_id}:{user_id}", user_id, str(announcement_id),
                  iso(max(due_at, now) if due_at else now)) for user_id in users])
            added = self.db.execute("select total_changes()").fetchone()[0] - before
            self.db.execute("update announcements set state = 'queued', queued = queued + ? where id = ?",
                            [added, announcement_id])
            audit(self.db, now, actor, "announcement_queued", f"announcement:{announcement_id}",
                  {"state": announcement.state, "queued": announcement.queued},
                  {"state": "queued", "queued": announcement.queued + added,
                   "due_at": iso(max(due_at, now) if due_at else now)})
        return added

    def recent(self, limit: int = 20) -> list[Announcement]:
        return [_announcement(r) for r in self.db.query("select * from announcements order by id desc limit ?",
                                                        [limit])]


def create_schema(db: sqlite_utils.Database) -> None:
    """Tables the curation feature owns (run by migration 4)."""
    db.execute("""create table proposals (
        id integer primary key,
        entry_id text not null,
        kind text not null check (kind in ('new', 'edit')),
        state text not null check (state in ('draft', 'in_review', 'published', 'rejected', 'superseded')),
        author text not null,
        origin text not null,
        entry text not null,                   -- JSON of the proposed entry
        base_hash text,                        -- content hash of the published version an edit started from
        flags text not null default '[]',      -- JSON: instruction-like text and the like, shown to the reviewer
        created_at text not null,
        updated_at text not null,
        decided_by text,
        decided_at text,
        note text
    )""")
    db.execute("create index proposals_state on proposals(state, entry_id)")
    db.execute("""create table gap_actions (
        id integer primary key,
        action text not null check (action in ('attach', 'draft')),
        lang text not null,
        question_ids text not null,            -- JSON list of question_log ids (the text stays in question_log)
        entry_id text,
        proposal_id integer references proposals(id),
        actor text not null,
        at text not null
    )""")
    db.execute("""create table announcements (
        id integer primary key,
        text_en text not null,
        text_zh text not null,
        region text,
        band text,
        author text not null,
        state text not null check (state in ('draft', 'queued')),
        created_at text not null,
        queued integer not null default 0
    )""")
