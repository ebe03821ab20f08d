"""Subjects Sprout's guidance deliberately does not cover (content/scope.yaml).

Parents of under-3s ask about names, passports, insurance, prams and birthday parties too. Those questions sit
close to the guidance in wording, so the nearest entry can look like a match; a question that matches one of
these subjects better than any entry gets the honest "no vetted answer" (naming the subject) instead."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .content import LANGUAGES, Problem, line_of, read_yaml

SCOPE_FILE = "scope.yaml"
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MIN_PHRASINGS, MAX_PHRASINGS = 2, 8


@dataclass(frozen=True)
class ScopeText:
    label: str                    # shown to the parent: "Sprout's guidance does not cover <label>"
    phrasings: tuple[str, ...]    # typical ways parents ask about the subject

    def texts(self) -> tuple[str, ...]:
        return (self.label, *self.phrasings)


@dataclass(frozen=True)
class ScopeTopic:
    id: str
    texts: dict[str, ScopeText]

    def label(self, lang: str) -> str:
        return (self.texts.get(lang) or self.texts["en"]).label


def scope_hash(topics: tuple[ScopeTopic, ...] | list[ScopeTopic]) -> str:
    """Changes whenever a subject is added, removed or reworded (the index is rebuilt then)."""
    payload = [[t.id, {lang: [s.label, *s.phrasings] for lang, s in sorted(t.texts.items())}] for t in topics]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def load_scope(content_dir: Path) -> tuple[tuple[ScopeTopic, ...], list[Problem]]:
    """The subjects, checked: a missing file means no subjects (every question goes to the guidance)."""
    rel = f"content/{SCOPE_FILE}"
    if not (content_dir / SCOPE_FILE).exists():
        return (), []
    data, lines, problems = read_yaml(content_dir / SCOPE_FILE, rel)
    if problems:
        return (), problems
    if data is None:
        return (), []
    if not isinstance(data, list):
        return (), [Problem(rel, 1, "scope.yaml must be a list of subjects")]
    topics: list[ScopeTopic] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        line = line_of(lines, str(index))
        topic_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(topic_id, str) or not _ID.match(topic_id):
            problems.append(Problem(rel, line, "each subject needs an id of lowercase words joined by hyphens"))
            continue
        if topic_id in seen:
            problems.append(Problem(rel, line, f"subject {topic_id}: the id is used twice"))
            continue
        seen.add(topic_id)
        texts, found = _texts(item, topic_id, rel, lines, index)
        problems += found
        if not found:
            topics.append(ScopeTopic(topic_id, texts))
    return tuple(topics), problems


def _texts(item: dict, topic_id: str, rel: str, lines: dict[str, int],
           index: int) -> tuple[dict[str, ScopeText], list[Problem]]:
    texts, problems = {}, []
    for lang in LANGUAGES:
        line = line_of(lines, f"{index}.{lang}")
        block = item.get(lang)
        label = block.get("label") if isinstance(block, dict) else None
        phrasings = block.get("phrasings") if isinstance(block, dict) else None
        if not isinstance(label, str) or not label.strip():
            problems.append(Problem(rel, line, f"subject {topic_id}: {lang} needs a label"))
            continue
        if (not isinstance(phrasings, list) or not MIN_PHRASINGS <= len(phrasings) <= MAX_PHRASINGS
                or not all(isinstance(p, str) and p.strip() for p in phrasings)):
            problems.append(Problem(rel, line, f"subject {topic_id}: {lang} needs {MIN_PHRASINGS} to "
                                               f"{MAX_PHRASINGS} phrasings (non-empty text)"))
            continue
        texts[lang] = ScopeText(label.strip(), tuple(p.strip() for p in phrasings))
    return texts, problems
