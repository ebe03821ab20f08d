"""The red-flag sign table (content/safety/signs.yaml): loading and validation.

The clinical knowledge of triage lives in that file, one row per sign with its level, source, keywords, phrasing
patterns and examples, plus the numeric modifiers (temperatures, ages, rates, hours). This module turns it into
frozen objects and reports every problem with its line, so `sprout content validate` and start-up can refuse a
broken table instead of triaging with half of it. Standard library and PyYAML only: triage must keep working
when the model, the index or the database are broken.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

# Most serious first; the first level with a matching sign wins.
LEVELS = ("emergency", "crisis", "safeguarding", "urgent", "refused", "out_of_scope")
ROW_LEVELS = LEVELS + ("part",)
ESCALATIONS = ("emergency", "crisis", "safeguarding", "urgent")
TABLE_PATH = Path("safety") / "signs.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_VOCAB = re.compile(r"@([a-z_]+)@")
_ID = re.compile(r"^_?[a-z0-9]+(?:_[a-z0-9]+)*$")
_MODIFIER_KEYS = frozenset({
    "level", "source", "reports", "age_months", "age_months_min", "age_days_max", "temperature_c_min",
    "temperature_c_below", "fever_word_counts", "days_min", "fever_temperature_c", "rate_min", "rate_by_age",
    "hours_min_under_3_months", "hours_min_older", "hours_min_unknown_age",
})


class SignTableError(ValueError):
    """The table cannot be used; the message lists every problem as path:line: message."""


@dataclass(frozen=True)
class SignRow:
    id: str
    level: str               # one of ROW_LEVELS; "part" rows feed modifiers and never escalate alone
    source: str
    patterns: tuple[str, ...]
    keywords: tuple[str, ...]
    negatable: bool = True   # "no fever", "没有抽搐" cancel the match
    exemptable: bool = True  # prevention or risk wording ("how to prevent choking") cancels the match
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)      # must escalate to this row
    near_misses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)   # look alike, must not
    requires: str | None = None                  # another row (earlier in the table) must have matched too
    ages: tuple[float, float] | None = None      # months [from, to): the sign counts only then (or age unknown)
    exempt_when: tuple[str, ...] = ()            # everyday contexts anywhere in the message that cancel it
    past_exempt: bool = False                    # a past event that was resolved ("last year ... fine since")
    pet_as_cause: bool = False                   # a pet in the sentence is the cause ("the cat knocked my tea over
                                                 # the baby"), never the patient: the sign stands
    line: int = 0
    age_known: bool = False                      # with ages: counts only when the child's age is known to be
                                                 # in range (bruising is a sign in a baby, not in a toddler)


@dataclass(frozen=True)
class SignTable:
    rows: tuple[SignRow, ...]
    vocabulary: Mapping[str, str]
    modifiers: Mapping[str, Mapping[str, Any]]
    review: Mapping[str, Any]
    fingerprint: str
    support: Mapping[str, str] = field(default_factory=dict)

    @property
    def levels(self) -> Mapping[str, str]:
        """Every reportable sign id (rows and modifiers) -> its level."""
        levels = {row.id: row.level for row in self.rows if row.level != "part"}
        for name, modifier in self.modifiers.items():
            # a modifier either reports a sign of its own or one of a row's ("dehydration" from dry nappies)
            levels.setdefault(modifier.get("reports", name), modifier["level"])
        return MappingProxyType(levels)

    def modifier(self, name: str) -> Mapping[str, Any]:
        return self.modifiers[name]

    def expand(self, pattern: str, builtins: Mapping[str, str]) -> str:
        """A row pattern with its @name@ vocabulary items written out."""
        words = {**builtins, **self.vocabulary}
        return _VOCAB.sub(lambda m: words[m.group(1)], pattern)


def _lines(node: yaml.Node | None) -> dict[int, int]:
    """Line of each row of `signs:` by position."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    for key, value in node.value:
        if key.value == "signs" and isinstance(value, yaml.SequenceNode):
            return {i: item.start_mark.line + 1 for i, item in enumerate(value.value)}
    return {}


def _texts(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        return {}
    return {lang: tuple(str(t) for t in items) for lang, items in value.items() if isinstance(items, list)}


def parse_sign_table(text: str, path: str, builtins: Mapping[str, str]) -> tuple[SignTable | None, list[str]]:
    """The table and an empty list, or None and every problem found ("path:line: message")."""
    problems: list[str] = []
    try:
        # Aliases are refused before anything is built: a few lines of them can expand into gigabytes.
        alias = next((e for e in yaml.parse(text, Loader=_LOADER) if isinstance(e, yaml.AliasEvent)), None)
        if alias is not None:
            return None, [f"{path}:{alias.start_mark.line + 1}: YAML aliases (*name) are not allowed in the sign table"]
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [f"{path}:{mark.line + 1 if mark else 1}: not valid YAML: {getattr(exc, 'problem', exc)}"]
    if not isinstance(data, dict) or not isinstance(data.get("signs"), list):
        return None, [f"{path}:1: the sign table needs a 'signs:' list"]
    lines = _lines(node)
    vocabulary = data.get("vocabulary") or {}
    if not isinstance(vocabulary, dict) or not all(isinstance(v, str) for v in vocabulary.values()):
        problems.append(f"{path}:1: vocabulary must map names to pattern text")
        vocabulary = {}
    known_words = set(vocabulary) | set(builtins)
    rows: list[SignRow] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["signs"]):
        line = lines.get(i, 1)
        where = f"{path}:{line}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: each sign is a mapping with id, level, source and patterns")
            continue
        sign_id, level = str(raw.get("id", "")), raw.get("level")
        if not _ID.match(sign_id):
            problems.append(f"{where}: id {sign_id!r} must be lowercase words joined by '_'")
        if sign_id in seen:
            problems.append(f"{where}: id {sign_id!r} appears twice")
        seen.add(sign_id)
        if level not in ROW_LEVELS:
            problems.append(f"{where}: {sign_id}: level {level!r} is not one of {', '.join(ROW_LEVELS)}")
        if (level == "part") != sign_id.startswith("_"):
            problems.append(f"{where}: {sign_id}: part rows (level 'part') and only they have ids starting with '_'")
        source = raw.get("source")
        if not isinstance(source, str) or not source.strip():
            problems.append(f"{where}: {sign_id}: a source is required (the clinical table row it comes from)")
        patterns = raw.get("patterns")
        if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
            problems.append(f"{where}: {sign_id}: patterns must be a non-empty list of regular expressions")
            patterns = []
        for pattern in patterns:
            missing = set(_VOCAB.findall(pattern)) - known_words
            if missing:
                problems.append(f"{where}: {sign_id}: unknown vocabulary {', '.join(sorted(missing))}")
                continue
            try:
                re.compile(_VOCAB.sub(lambda m: {**builtins, **vocabulary}[m.group(1)], pattern), re.ASCII)
            except re.error as exc:
                problems.append(f"{where}: {sign_id}: pattern does not compile ({exc}): {pattern[:60]}")
        keywords = raw.get("keywords", "")
        if not isinstance(keywords, str):
            problems.append(f"{where}: {sign_id}: keywords are one string of words separated by '|'")
            keywords = ""
        requires = raw.get("requires")
        if requires is not None and requires not in seen - {sign_id}:
            problems.append(f"{where}: {sign_id}: requires {requires!r}, which must be a row earlier in the table")
        ages = raw.get("ages")
        if ages is not None and not (isinstance(ages, list) and len(ages) == 2 and
                                     all(isinstance(a, (int, float)) for a in ages) and 0 <= ages[0] < ages[1]):
            problems.append(f"{where}: {sign_id}: ages must be [from, to) in months, not {ages!r}")
            ages = None
        exempt = raw.get("exempt_when") or []
        if not isinstance(exempt, list) or not all(isinstance(p, str) for p in exempt):
            problems.append(f"{where}: {sign_id}: exempt_when must be a list of patterns")
            exempt = []
        for pattern in exempt:
            try:
                re.compile(_VOCAB.sub(lambda m: {**builtins, **vocabulary}.get(m.group(1), ""), pattern), re.ASCII)
            except re.error as exc:
                problems.append(f"{where}: {sign_id}: exempt_when pattern does not compile ({exc})")
        rows.append(SignRow(sign_id, str(level), str(source or ""), tuple(patterns),
                            tuple(k for k in keywords.split("|") if k), bool(raw.get("negatable", True)),
                            bool(raw.get("exemptable", True)), MappingProxyType(_texts(raw.get("examples"))),
                            MappingProxyType(_texts(raw.get("near_misses"))), requires,
                            tuple(float(a) for a in ages) if ages else None, tuple(exempt),
                            bool(raw.get("past_exempt", False)), bool(raw.get("pet_as_cause", False)), line,
                            bool(raw.get("age_known", False))))
    modifiers = data.get("modifiers") or {}
    if not isinstance(modifiers, dict):
        problems.append(f"{path}:1: modifiers must be a mapping of name to thresholds")
        modifiers = {}
    for name, modifier in modifiers.items():
        if not isinstance(modifier, dict) or modifier.get("level") not in LEVELS:
            problems.append(f"{path}:1: modifier {name}: needs a level, one of {', '.join(LEVELS)}")
            continue
        unknown = set(modifier) - _MODIFIER_KEYS
        if unknown:
            problems.append(f"{path}:1: modifier {name}: unknown field(s) {', '.join(sorted(unknown))}")
        if not str(modifier.get("source", "")).strip():
            problems.append(f"{path}:1: modifier {name}: a source is required")
    review = data.get("review") or {}
    if not isinstance(review, dict):
        problems.append(f"{path}:1: review must be a mapping (state, checked_by, signed_off_by ...)")
        review = {}
    problems.extend(_review_problems(review, path))
    if problems:
        return None, problems
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    frozen = {name: MappingProxyType(dict(m)) for name, m in modifiers.items()}
    support = data.get("support") or {}
    if not isinstance(support, dict):
        return None, [f"{path}:1: support must map names to entry ids"]
    return SignTable(tuple(rows), MappingProxyType(dict(vocabulary)), MappingProxyType(frozen),
                     MappingProxyType(dict(review)), fingerprint, MappingProxyType(dict(support))), []


REVIEW_STATES = ("source_checked", "clinically_signed_off")


def _review_problems(review: dict[str, Any], path: str) -> list[str]:
    """The table's review record says what was done: source-checked by whom, and signed off only by a named
    clinician other than the author (four eyes)."""
    if not review:
        return []
    state = review.get("state")
    if state not in REVIEW_STATES:
        return [f"{path}:1: review.state must be one of {', '.join(REVIEW_STATES)}"]
    if state == "clinically_signed_off":
        signer, author = review.get("signed_off_by"), review.get("author")
        if not signer:
            return [f"{path}:1: review.signed_off_by is required when the table is clinically signed off"]
        if signer == author:
            return [f"{path}:1: review.signed_off_by must be someone other than the author"]
    return []


def load_sign_table(content_dir: Path, builtins: Mapping[str, str]) -> SignTable:
    """The table under content_dir, or SignTableError listing every problem."""
    path = Path(content_dir) / TABLE_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SignTableError(f"{path}:1: cannot read the sign table ({exc.strerror or exc})") from None
    table, problems = parse_sign_table(text, str(path), builtins)
    if table is None:
        raise SignTableError("\n".join(problems))
    return table
