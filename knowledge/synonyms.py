"""Chinese words that mean the same in caring for young children (content/synonyms.yaml).

With the English default model, Chinese questions are matched to entries by their words, and parents' words
often differ from the entries' (奶水 / 母乳, 拉臭臭 / 大便). Before Chinese text is segmented, for the index and for
questions alike, every member of a group is written as the group's first member, so either wording finds the
other."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .content import Problem, line_of, read_yaml

SYNONYMS_FILE = "synonyms.yaml"
_CHINESE_WORD = re.compile(r"^[\u4e00-\u9fff]{2,8}$")
MAX_MEMBERS = 10


@dataclass(frozen=True)
class Synonyms:
    groups: tuple[tuple[str, ...], ...] = ()

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.groups, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]

    def normalizer(self):
        """A function writing every member as its group's first member (longest members first, so 白天小睡 is
        replaced whole before 小睡 is looked at); the identity when there are no groups."""
        canonical = {member: group[0] for group in self.groups for member in group[1:]}
        if not canonical:
            return lambda text: text
        pattern = re.compile("|".join(re.escape(m) for m in sorted(canonical, key=len, reverse=True)))
        return lambda text: pattern.sub(lambda match: canonical[match.group(0)], text)


def load_synonyms(content_dir: Path) -> tuple[Synonyms, list[Problem]]:
    rel = f"content/{SYNONYMS_FILE}"
    if not (content_dir / SYNONYMS_FILE).exists():
        return Synonyms(), []
    data, lines, problems = read_yaml(content_dir / SYNONYMS_FILE, rel)
    if problems or data is None:
        return Synonyms(), problems
    if not isinstance(data, list):
        return Synonyms(), [Problem(rel, 1, "synonyms.yaml must be a list of groups (lists of words)")]
    groups: list[tuple[str, ...]] = []
    owner: dict[str, int] = {}
    for index, group in enumerate(data):
        line = line_of(lines, str(index))
        if (not isinstance(group, list) or not 2 <= len(group) <= MAX_MEMBERS
                or not all(isinstance(w, str) and _CHINESE_WORD.match(w) for w in group)):
            problems.append(Problem(rel, line, f"a group is 2 to {MAX_MEMBERS} Chinese words of 2 to 8 characters"))
            continue
        clashes = [w for w in group if w in owner]
        if clashes or len(set(group)) != len(group):
            problems.append(Problem(rel, line, f"a word may be in one group only: {', '.join(clashes or group)}"))
            continue
        owner.update({w: index for w in group})
        groups.append(tuple(group))
    return Synonyms(tuple(groups)), problems
