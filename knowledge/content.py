"""The guidance content model: entries in Markdown files with YAML front matter, parsed with line numbers."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import yaml

LANGUAGES = ("en", "zh")
TOPICS = ("feeding", "sleep", "crying", "development", "health", "safety", "behaviour", "wellbeing",
          "care_services", "return_to_work")
STATUSES = ("draft", "in_review", "published", "retired")
MAX_AGE_MONTHS = 36
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SECTION = re.compile(r"^##\s+(en|zh)\s*$", re.MULTILINE)

# A medicine dose: an amount in drug units, or anything per kilogram of body weight.
_DOSE_PATTERNS = (
    re.compile(r"\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|μg|iu|milligrams?|micrograms?|毫克|微克|国际单位)(?![a-z])", re.I),
    re.compile(r"(?:mg|ml|毫克|毫升)\s*(?:/|per|每)\s*(?:kg|kilo|公斤|千克)", re.I),
    re.compile(r"(?:per|每)\s*(?:kg|kilogram|公斤|千克)", re.I),
    re.compile(r"\d+(?:[.,]\d+)?\s*(?:ml|毫升)\s*(?:of\s+)?(?:paracetamol|acetaminophen|ibuprofen|calpol|nurofen|"
               r"tylenol|motrin|syrup|medicine|对乙酰氨基酚|布洛芬|泰诺林|美林|退烧药|糖浆|药)", re.I),
)


# A site's front door, not a document: the root, an index page or a language root ("/en/", "/zh-cn/index.html").
_SITE_ROOT_PATH = re.compile(r"^/?(?:(?:en|eng|english|zh|cn|chinese|zh-cn|zh-hans|zh_cn|zhs|gb|big5|home|portal)/?)?"
                             r"(?:(?:index|default|home|new_index)\.(?:html?|s?html|php|aspx?|jsp))?$", re.I)


def site_root_url(url: str) -> bool:
    """True when a source URL is only a website's home page (or a language root) rather than a document.

    A claim is traceable only to the page, guideline or regulation that supports it; a home page makes a reader
    search the site, and the National Health Commission's home page was cited for some 70 different claims."""
    parts = urlsplit(str(url).strip())
    if not parts.netloc:
        return False
    return not parts.query and bool(_SITE_ROOT_PATH.match(parts.path))


def url_problem(url: str) -> str | None:
    """Why a source URL cannot support a claim, or None when it can."""
    url = str(url).strip()
    if not url.startswith(("https://", "http://")):
        return f"source url must be a web address, not {url!r}"
    if site_root_url(url):
        return (f"source url {url!r} is a site's home page: link the document that supports the claim (the "
                "guideline, regulation or page itself)")
    return None


def find_doses(text: str) -> list[str]:
    """Every fragment of the text that reads like a medicine dose."""
    return [m.group(0) for pattern in _DOSE_PATTERNS for m in pattern.finditer(text)]


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    level: str = "error"  # or "warning"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.level}: {self.message}"


@dataclass(frozen=True)
class Source:
    publisher: str
    title: str
    url: str
    year: int

    def as_dict(self) -> dict[str, Any]:
        return {"publisher": self.publisher, "title": self.title, "url": self.url, "year": self.year}


# Review states, in order of trust. "drafted": written from its sources, no second reader yet. "source-checked":
# someone other than the author compared every claim with the listed sources. "approved": a named reviewer (a
# curator id in the review workflow) signed it off. Only the last two may be published.
REVIEW_STATES = ("drafted", "source-checked", "approved")
PUBLISHABLE_STATES = ("source-checked", "approved")
# What a record of the review log says happened. A check ends "consistent" (nothing to change), "corrected" (the
# checker fixed what disagreed with the sources) or "needs-changes" (found problems, left for the author).
REVIEW_OUTCOMES = ("drafted", "edited", "consistent", "corrected", "needs-changes", "approved")
CHECK_OUTCOMES = ("consistent", "corrected")
_APPROVER = re.compile(r"^tg:\d+$")   # a curator id, as the review workflow records it


@dataclass(frozen=True)
class ReviewRecord:
    """One line of an entry's review log: who did what, when, against which of its sources, with which outcome."""
    date: date
    by: str
    did: str
    outcome: str
    against: tuple[int, ...] = ()   # 1-based numbers of the entry's sources the work was compared with
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"date": self.date.isoformat(), "by": self.by, "did": self.did}
        if self.against:
            out["against"] = list(self.against)
        out["outcome"] = self.outcome
        if self.note:
            out["note"] = self.note
        return out


def review_records_from_dicts(rows: Iterable[dict[str, Any]] | None) -> tuple[ReviewRecord, ...]:
    """Review records back from their stored form (ReviewRecord.as_dict)."""
    return tuple(ReviewRecord(date.fromisoformat(str(r["date"])), r["by"], r["did"], r["outcome"],
                              tuple(r.get("against") or ()), r.get("note") or "") for r in rows or ())


def last_check(log: Iterable[ReviewRecord]) -> ReviewRecord | None:
    """The newest record that checked or approved the entry: what its "reviewed" date and reviewer mean."""
    checks = [r for r in log if r.outcome in CHECK_OUTCOMES + ("approved",)]
    return checks[-1] if checks else None


RED_FLAG_TIMES = ("emergency", "today", "within_24h")     # call the emergency number now / a doctor today / within 24 h
RED_FLAG_TOPICS = ("health",)                               # entries that must carry red flags
POSTNATAL_FILE = "postnatal.yaml"   # and so must the entries listed there: the mother's health after birth


@dataclass(frozen=True)
class RedFlag:
    """One line of an entry's safety box: a sign, how soon to get help, and the ages it holds for."""
    when: str
    texts: dict[str, str] = field(hash=False)
    ages: tuple[float, float] | None = None

    def applies(self, age_months: float | None) -> bool:
        return self.ages is None or age_months is None or self.ages[0] <= age_months < self.ages[1]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"when": self.when}
        if self.ages:
            out["ages"] = list(self.ages)
        return {**out, **self.texts}


@dataclass(frozen=True)
class EntryText:
    title: str
    body: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    age_min: int
    age_max: int
    status: str
    author: str
    reviewer: str | None
    reviewed: date | None
    review_by: date | None
    sources: tuple[Source, ...]
    texts: dict[str, EntryText] = field(hash=False)
    path: str = ""
    red_flags: tuple[RedFlag, ...] = ()
    review_state: str = "drafted"
    review_log: tuple[ReviewRecord, ...] = ()

    def text(self, lang: str) -> EntryText:
        return self.texts.get(lang) or self.texts["en"]

    def covers_age(self, age_months: float) -> bool:
        return self.age_min <= age_months < self.age_max + 1

    @property
    def content_hash(self) -> str:
        payload = json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def review_dict(self) -> dict[str, Any]:
        return {"state": self.review_state, "log": [r.as_dict() for r in self.review_log]}

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "topic": self.topic, "age_months": [self.age_min, self.age_max], "status": self.status,
            "author": self.author, "reviewer": self.reviewer,
            "reviewed": self.reviewed.isoformat() if self.reviewed else None,
            "review_by": self.review_by.isoformat() if self.review_by else None,
            "sources": [s.as_dict() for s in self.sources],
            **({"red_flags": [f.as_dict() for f in self.red_flags]} if self.red_flags else {}),
            "review": self.review_dict(),
            "texts": {lang: {"title": t.title, "body": t.body, "questions": list(t.questions)}
                      for lang, t in sorted(self.texts.items())},
        }


# libyaml's parser when PyYAML has it, for data files read at every start (catalogues, the gazetteer).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NO_TIMESTAMPS = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text so a bad date is a clear problem, not a crash."""

    yaml_implicit_resolvers = _NO_TIMESTAMPS


if hasattr(yaml, "CSafeLoader"):
    class _FastLoader(yaml.CSafeLoader):
        """The same rules on libyaml's parser: about 40 times faster on the content read at every start."""

        yaml_implicit_resolvers = _NO_TIMESTAMPS
else:  # PyYAML built without libyaml
    _FastLoader = _Loader  # type: ignore[misc]


class YAMLAliasError(yaml.MarkedYAMLError):
    """A YAML alias (`*name`) in content: refused, because a few lines of nested aliases expand into billions of
    nodes (an "alias bomb") and walking them takes minutes. Content never needs them: write the value out."""


def refuse_aliases(text: str, loader_class: type = SAFE_LOADER) -> None:
    """Raise YAMLAliasError at the first alias. The parser's events are read, never composed, so a bomb costs no
    more than its own few lines; text without a '*' cannot hold an alias and is not parsed at all."""
    if "*" not in text:
        return
    for event in yaml.parse(text, Loader=loader_class):
        if isinstance(event, yaml.AliasEvent):
            raise YAMLAliasError(problem=f"aliases (*{event.anchor}) are not allowed in content files; write the "
                                         "value out in full", problem_mark=event.start_mark)


def safe_load(text: str) -> Any:
    """yaml.safe_load on libyaml's parser, refusing aliases: for every YAML file Sprout reads."""
    refuse_aliases(text)
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader


def _compose_and_construct(text: str, loader_class: type) -> tuple[Any, yaml.Node | None]:
    refuse_aliases(text, loader_class)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def parse_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The data and its node tree (for line numbers), parsed once with the fast loader.

    libyaml words its errors differently from PyYAML, so a document it rejects is parsed again with the pure-Python
    loader: curators see the same messages either way, and only a broken file pays for the slow parser.
    """
    try:
        return _compose_and_construct(text, _FastLoader)
    except YAMLAliasError:
        raise
    except yaml.YAMLError:
        if _FastLoader is _Loader:
            raise
        return _compose_and_construct(text, _Loader)


def load_yaml(text: str) -> Any:
    return parse_yaml(text)[0]


def _key_lines(node: yaml.Node, prefix: str = "", offset: int = 0) -> dict[str, int]:
    """Map dotted key paths of a YAML mapping to their 1-based line numbers in the file."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            lines[key] = key_node.start_mark.line + 1 + offset
            lines.update(_key_lines(value_node, key + ".", offset))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = f"{prefix}{index}"
            lines[key] = item.start_mark.line + 1 + offset
            lines.update(_key_lines(item, key + ".", offset))
    return lines


class _Reader:
    """Collects problems while reading one entry file's fields."""

    def __init__(self, path: str, data: dict[str, Any], lines: dict[str, int], default_line: int = 1):
        self.path, self.data, self.lines, self.default_line = path, data, lines, default_line
        self.problems: list[Problem] = []

    def line(self, key: str) -> int:
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0]
        return self.default_line  # a missing field: point at the end of the front matter

    def error(self, key: str, message: str, level: str = "error") -> None:
        self.problems.append(Problem(self.path, self.line(key), message, level))

    def get(self, key: str) -> Any:
        value: Any = self.data
        for part in key.split("."):
            if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, dict) and part in value:
                value = value[part]
            else:
                return None
        return value

    def text(self, key: str, required: bool = True) -> str | None:
        value = self.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(key, f"missing {key}")
            return None
        if not isinstance(value, (str, int, float)):
            self.error(key, f"{key} must be text")
            return None
        return str(value).strip()

    def date(self, key: str, required: bool) -> date | None:
        value = self.get(key)
        if value is None:
            if required:
                self.error(key, f"missing {key} (YYYY-MM-DD)")
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.error(key, f"{key} must be a date like 2026-11-20, not {value!r}")
            return None


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """Return (front matter, body, line number of the closing '---') or None when there is no front matter."""
    if not text.startswith("---"):
        return None
    end = re.search(r"^---\s*$", text[3:], re.MULTILINE)
    if not end:
        return None
    front = text[3:3 + end.start()]
    body = text[3 + end.end():]
    body_line = text[: 3 + end.end()].count("\n") + 1
    return front, body, body_line


def parse_entry(text: str, path: str, min_questions: int = 3, max_questions: int = 6) -> tuple[Entry | None, list[Problem]]:
    """Parse one entry file; every problem found is returned with its line, the entry only when it is usable."""
    parts = split_front_matter(text)
    if parts is None:
        return None, [Problem(path, 1, "no YAML front matter: the file must start with a '---' line")]
    front, body, body_line = parts
    try:
        data, node = parse_yaml(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return None, [Problem(path, line, f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict):
        return None, [Problem(path, 2, "front matter must be a mapping of fields")]
    r = _Reader(path, data, _key_lines(node), default_line=body_line)

    entry_id = r.text("id")
    if entry_id and not ID_PATTERN.match(entry_id):
        r.error("id", f"id {entry_id!r} must be lowercase letters, digits and '-'")
    topic = r.text("topic")
    if topic and topic not in TOPICS:
        r.error("topic", f"unknown topic {topic!r}; known topics: {', '.join(TOPICS)}")
    ages = r.get("age_months")
    age_min = age_max = None
    if (not isinstance(ages, list) or len(ages) != 2 or not all(isinstance(a, int) and not isinstance(a, bool) for a in ages)
            or not 0 <= ages[0] <= ages[1] <= MAX_AGE_MONTHS):
        r.error("age_months", f"age_months must be [min, max] whole months with 0 <= min <= max <= {MAX_AGE_MONTHS}, "
                              f"not {ages!r}")
    else:
        age_min, age_max = ages
    status = r.text("status")
    if status and status not in STATUSES:
        r.error("status", f"unknown status {status!r}; one of: {', '.join(STATUSES)}")
    author = r.text("author")
    published = status == "published"
    for old_key in ("reviewer", "reviewed"):
        if r.get(old_key) is not None:
            r.error(old_key, f"{old_key!r} is replaced by the review log: add a 'review:' record saying who checked "
                             "the entry against which sources, when, and with which outcome")
    review_state, review_log = _read_review(r, author, published, len(r.get("sources") or []))
    check = last_check(review_log)
    reviewer, reviewed = (check.by, check.date) if check else (None, None)
    review_by = r.date("review_by", required=published)
    if reviewed and review_by and review_by <= reviewed:
        r.error("review_by", "review_by must come after reviewed")

    sources = []
    raw_sources = r.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        r.error("sources", "no source: add at least one with publisher, title, url and year")
    else:
        for i, raw in enumerate(raw_sources):
            key = f"sources.{i}"
            if not isinstance(raw, dict):
                r.error(key, "each source needs publisher, title, url and year")
                continue
            publisher, title, url = r.text(f"{key}.publisher"), r.text(f"{key}.title"), r.text(f"{key}.url")
            year = raw.get("year")
            if url and url_problem(url):
                r.error(f"{key}.url", url_problem(url))
            if not isinstance(year, int) or not 1950 <= year <= 2100:
                r.error(f"{key}.year", f"source year must be a year like 2023, not {year!r}")
                year = None
            if publisher and title and url and year:
                sources.append(Source(publisher, title, url, year))

    red_flags = _read_red_flags(r, topic, published)

    bodies = _split_bodies(body)
    texts: dict[str, EntryText] = {}
    for lang in LANGUAGES:
        if not isinstance(r.get(lang), dict):
            r.error(lang, f"missing language {lang!r}: add '{lang}:' with title and questions")
            continue
        title = r.text(f"{lang}.title")
        questions = r.get(f"{lang}.questions")
        if (not isinstance(questions, list) or not min_questions <= len(questions) <= max_questions
                or not all(isinstance(q, str) and q.strip() for q in questions)):
            r.error(f"{lang}.questions", f"{lang}.questions must list {min_questions}-{max_questions} example questions")
            questions = [q for q in questions or [] if isinstance(q, str)] if isinstance(questions, list) else []
        text = bodies.get(lang, "")
        if not text:
            r.problems.append(Problem(path, body_line, f"missing language {lang!r}: add a '## {lang}' body section"))
        if title and text:
            texts[lang] = EntryText(title, text, tuple(q.strip() for q in questions))
        for dose in find_doses(f"{title or ''}\n{text}"):
            offset = next((i for i, line in enumerate(body.split("\n")) if dose in line), 0)
            r.problems.append(Problem(path, body_line + offset, f"looks like a medicine dose ({dose!r}); say 'ask a "
                                                                 "doctor or pharmacist about the right dose' instead"))
    stem = Path(path).stem
    if entry_id and stem != entry_id and Path(path).suffix == ".md":
        r.error("id", f"id {entry_id!r} must match the file name {stem!r}")
    folder = Path(path).parent.name
    if topic and folder in TOPICS and folder != topic:
        r.error("topic", f"topic {topic!r} does not match its folder {folder!r}")

    if any(p.level == "error" for p in r.problems) or not (entry_id and topic and status and author):
        return None, r.problems
    entry = Entry(entry_id, topic, age_min, age_max, status, author, reviewer, reviewed, review_by,
                  tuple(sources), texts, path, red_flags, review_state, review_log)
    return entry, r.problems


def _read_review(r: "_Reader", author: str | None, published: bool,
                 n_sources: int) -> tuple[str, tuple[ReviewRecord, ...]]:
    """The honest review record: a state and the log that supports it. A published entry must have been checked
    against its sources by someone other than its author; "approved" needs a named reviewer's approval."""
    raw = r.get("review")
    if not isinstance(raw, dict):
        r.error("review", "missing review: add 'review:' with a state (" + ", ".join(REVIEW_STATES) + ") and a log "
                          "of who did what, when, against which sources, with which outcome")
        return "drafted", ()
    state = r.text("review.state")
    if state and state not in REVIEW_STATES:
        r.error("review.state", f"unknown review state {state!r}; one of: {', '.join(REVIEW_STATES)}")
        state = None
    records: list[ReviewRecord] = []
    raw_log = r.get("review.log")
    if not isinstance(raw_log, list) or not raw_log:
        r.error("review.log", "the review log needs at least one record (date, by, did, outcome)")
        raw_log = []
    for i, item in enumerate(raw_log):
        key = f"review.log.{i}"
        if not isinstance(item, dict):
            r.error(key, "each review record needs date, by, did and outcome")
            continue
        day, by, did, outcome = r.date(f"{key}.date", True), r.text(f"{key}.by"), r.text(f"{key}.did"), \
            r.text(f"{key}.outcome")
        if outcome and outcome not in REVIEW_OUTCOMES:
            r.error(f"{key}.outcome", f"unknown outcome {outcome!r}; one of: {', '.join(REVIEW_OUTCOMES)}")
            outcome = None
        against = item.get("against") or []
        if (not isinstance(against, list)
                or not all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= n_sources for n in against)):
            r.error(f"{key}.against", f"against lists the numbers (1-{n_sources}) of the sources the work was "
                                      f"compared with, not {against!r}")
            against = []
        if outcome in CHECK_OUTCOMES and not against:
            r.error(f"{key}.against", "a check must say which sources it compared the entry with (against: [1, 2])")
        if outcome in CHECK_OUTCOMES and by and by == author:
            r.error(f"{key}.by", "a source check must be done by someone other than the author")
        if outcome == "approved" and by and not _APPROVER.match(by):
            r.error(f"{key}.by", "an approval names the reviewer's curator id, like 'tg:123456'")
        if day and by and did and outcome:
            records.append(ReviewRecord(day, by, did, outcome, tuple(against), str(item.get("note") or "").strip()))
    if state == "source-checked" and not any(x.outcome in CHECK_OUTCOMES for x in records):
        r.error("review.state", "state source-checked needs a record of the check (outcome consistent or corrected)")
    if state == "approved" and not any(x.outcome == "approved" for x in records):
        r.error("review.state", "state approved needs a record of the reviewer's approval (outcome approved)")
    if published and state and state not in PUBLISHABLE_STATES:
        # A warning while the starter entries the fact-check did not read are being source-checked.
        r.error("review.state", f"a published entry should be {' or '.join(PUBLISHABLE_STATES)}, not {state!r}: "
                                "have someone other than the author check it against its sources", level="warning")
    return state or "drafted", tuple(records)


def red_flags_from_dicts(rows: Iterable[dict[str, Any]] | None) -> tuple[RedFlag, ...]:
    """Red flags back from their stored form (RedFlag.as_dict)."""
    return tuple(RedFlag(r["when"], {lang: r[lang] for lang in LANGUAGES if lang in r},
                         tuple(r["ages"]) if r.get("ages") else None) for r in rows or ())


def _read_red_flags(r: "_Reader", topic: str | None, published: bool) -> tuple[RedFlag, ...]:
    """The structured safety box: 1-8 rows, each a time frame, both languages, optional ages [from, to). A health
    entry cannot be published without them; a draft or proposal is warned."""
    raw = r.get("red_flags")
    if raw is None:
        if topic in RED_FLAG_TOPICS:
            r.error("topic", f"a {topic} entry needs red_flags before it is published: when to call the emergency "
                             "number, see a doctor today or within 24 hours, in both languages",
                    level="error" if published else "warning")
        return ()
    if not isinstance(raw, list) or not 1 <= len(raw) <= 8:
        r.error("red_flags", "red_flags must list 1-8 rows")
        return ()
    flags = []
    for i, row in enumerate(raw):
        key = f"red_flags.{i}"
        if not isinstance(row, dict):
            r.error(key, "each red flag needs when, en and zh")
            continue
        when = row.get("when")
        if when not in RED_FLAG_TIMES:
            r.error(f"{key}.when", f"when must be one of {', '.join(RED_FLAG_TIMES)}, not {when!r}")
            continue
        texts = {lang: r.text(f"{key}.{lang}") for lang in LANGUAGES}
        if not all(texts.values()):
            continue
        for lang, text in texts.items():
            if len(text) > (120 if lang == "en" else 60):
                r.error(f"{key}.{lang}", "a red flag is one short line (at most 120 English or 60 Chinese characters)")
            if re.search(r"\b(?:999|911|112|120|110)\b", text):
                r.error(f"{key}.{lang}", "leave the number out: the reply adds the emergency number of the user's region")
        ages = row.get("ages")
        if ages is not None and not (isinstance(ages, list) and len(ages) == 2
                                     and all(isinstance(a, (int, float)) for a in ages) and 0 <= ages[0] < ages[1]):
            r.error(f"{key}.ages", f"ages must be [from, to) in months, not {ages!r}")
            ages = None
        flags.append(RedFlag(when, texts, tuple(float(a) for a in ages) if ages else None))
    order = {t: i for i, t in enumerate(RED_FLAG_TIMES)}
    return tuple(sorted(flags, key=lambda f: order[f.when]))


def postnatal_problems(content_dir: Path, entries: Iterable[Entry]) -> list[Problem]:
    """Entries about the mother's health after birth (content/postnatal.yaml) carry red flags like health entries,
    and each includes the warning signs the list names for it at `today` or `emergency` (pre-eclampsia, a clot)."""
    rel = f"content/{POSTNATAL_FILE}"
    if not (content_dir / POSTNATAL_FILE).exists():
        return []
    data, lines, problems = read_yaml(content_dir / POSTNATAL_FILE, rel)
    if data is None:
        return problems
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        return [Problem(rel, 1, "postnatal.yaml needs 'signs' and an 'entries' list")]
    signs: dict[str, re.Pattern[str]] = {}
    for name, pattern in (data.get("signs") or {}).items():
        try:
            signs[name] = re.compile(str(pattern), re.I)
        except re.error as exc:
            problems.append(Problem(rel, line_of(lines, f"signs.{name}"), f"sign {name}: not a regular expression: {exc}"))
    by_id = {e.id: e for e in entries}
    for i, row in enumerate(data["entries"]):
        line = line_of(lines, f"entries.{i}")
        entry_id = row.get("id") if isinstance(row, dict) else None
        entry = by_id.get(entry_id)
        if entry is None:
            problems.append(Problem(rel, line, f"unknown entry {entry_id!r}"))
            continue
        level = "error" if entry.status == "published" else "warning"
        if not entry.red_flags:
            problems.append(Problem(entry.path, 2, "an entry about the mother's health after birth needs red_flags: "
                                                   "when to call the emergency number or see a doctor today, in both "
                                                   f"languages (listed in {rel})", level))
            continue
        urgent = [f.texts.get("en", "") for f in entry.red_flags if f.when in ("emergency", "today")]
        for name in row.get("needs") or []:
            if name not in signs:
                problems.append(Problem(rel, line, f"unknown sign {name!r}; known: {', '.join(signs)}"))
            elif not any(signs[name].search(text) for text in urgent):
                problems.append(Problem(entry.path, 2, f"red_flags must include the {name} signs at today or "
                                                       f"emergency (listed in {rel})", level))
    return problems


def _split_bodies(body: str) -> dict[str, str]:
    parts = _SECTION.split(body)
    bodies = {}
    for i in range(1, len(parts) - 1, 2):
        bodies[parts[i]] = parts[i + 1].strip()
    return bodies


def render_entry_file(entry: Entry) -> str:
    """Write an entry back to its file format (used when curators propose entries from Telegram)."""
    front = {
        "id": entry.id, "topic": entry.topic, "age_months": [entry.age_min, entry.age_max], "status": entry.status,
        "author": entry.author, "review_by": entry.review_by,
        "sources": [s.as_dict() for s in entry.sources],
        "review": {"state": entry.review_state, "log": [r.as_dict() for r in entry.review_log]},
        "red_flags": [f.as_dict() for f in entry.red_flags] or None,
    }
    for lang, t in entry.texts.items():
        front[lang] = {"title": t.title, "questions": list(t.questions)}
    front = {k: v for k, v in front.items() if v is not None}
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    sections = "\n".join(f"## {lang}\n{t.body}\n" for lang, t in entry.texts.items())
    return f"---\n{head}---\n{sections}"


def load_entries(content_dir: Path) -> tuple[list[Entry], list[Problem]]:
    """Read every guidance entry under content/guidance; duplicate ids are problems."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in sorted((content_dir / "guidance").glob("*/*.md")):
        rel = str(path.relative_to(content_dir.parent)) if content_dir.parent in path.parents else str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(rel, 1, "file is not UTF-8 text"))
            continue
        except OSError as exc:
            problems.append(Problem(rel, 1, f"file cannot be read ({exc.strerror or exc})"))
            continue
        entry, found = parse_entry(text, rel)
        problems.extend(found)
        if entry is None:
            continue
        if entry.id in seen:
            problems.append(Problem(rel, 2, f"duplicate id {entry.id!r} (also in {seen[entry.id]})"))
            continue
        seen[entry.id] = rel
        entries.append(entry)
    return entries, problems


def read_yaml(path: Path, rel: str) -> tuple[Any, dict[str, int], list[Problem]]:
    """Load a YAML data file with a map of key paths to line numbers; problems instead of exceptions."""
    if not path.exists():
        return None, {}, [Problem(rel, 1, "file is missing")]
    try:
        text = path.read_text(encoding="utf-8")
        data, node = parse_yaml(text)
    except UnicodeDecodeError:
        return None, {}, [Problem(rel, 1, "file is not UTF-8 text")]
    except OSError as exc:  # a folder, no permission, an I/O error: a problem to report, not a traceback
        return None, {}, [Problem(rel, 1, f"file cannot be read ({exc.strerror or exc})")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, {}, [Problem(rel, mark.line + 1 if mark else 1, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    return data, (_key_lines(node) if node is not None else {}), []


def line_of(lines: dict[str, int], key: str) -> int:
    while key:
        if key in lines:
            return lines[key]
        key = key.rpartition(".")[0]
    return 1


def bilingual(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(value.get(lang), str) and value[lang].strip() for lang in LANGUAGES)
