"""Messages that are not parenting questions: small talk ("hello", "谢谢") gets a short friendly reply, and
instructions to the assistant, spam and links are declined. Neither is searched or listed as a content gap.
The words and patterns are data (content/chatter.yaml)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from .content import Problem, safe_load

CHATTER_FILE = "chatter.yaml"
_ZH_PARTICLES = re.compile(r"[啦呀哦哈啊吧呢嘛哟噢喔咯呐~～]+$")
_REPEATS = re.compile(r"(.)\1{2,}")


@dataclass(frozen=True)
class Chatter:
    small_talk: dict[str, frozenset[str]]
    patterns: tuple[re.Pattern, ...]

    @classmethod
    def from_content(cls, content_dir: Path) -> "Chatter":
        """The content's chatter file; a content folder without one recognises no chatter."""
        path = Path(content_dir) / CHATTER_FILE
        if not path.is_file():
            return cls({}, ())
        data = safe_load(path.read_text(encoding="utf-8"))
        problems = chatter_problems(data)
        if problems:
            raise ValueError(f"{CHATTER_FILE}: " + "; ".join(problems))
        small = {lang: frozenset(normalise(str(p)) for p in phrases) for lang, phrases in data["small_talk"].items()}
        return cls(small, tuple(re.compile(p, re.IGNORECASE) for p in data["not_parenting"]))

    def classify(self, text: str) -> str | None:
        """'small_talk', 'not_parenting' or None (a message to triage and search as usual)."""
        if any(p.search(text) for p in self.patterns):
            return "not_parenting"
        clean = normalise(text)
        if not clean:
            # Only punctuation or emoji: nothing to search for.
            return "small_talk" if text.strip() else None
        if len(clean) <= 40 and (self._made_of(clean, self.small_talk.get("en", frozenset()), " ")
                                 or self._made_of(clean.replace(" ", ""), self.small_talk.get("zh", frozenset()), "")):
            return "small_talk"
        return None

    @staticmethod
    def _made_of(text: str, phrases: frozenset[str], joiner: str) -> bool:
        """Whether the text is one or more of the phrases run together (words for English, characters for
        Chinese), found by trying every split."""
        units = text.split() if joiner else list(text)
        if not phrases or not units:
            return False
        reachable = [True] + [False] * len(units)
        for end in range(1, len(units) + 1):
            reachable[end] = any(reachable[start] and joiner.join(units[start:end]) in phrases
                                 for start in range(max(0, end - 8), end))
        return reachable[-1]


def normalise(text: str) -> str:
    """Lower case, without punctuation, emoji, Chinese sentence particles at the end or letters said thrice."""
    kept = "".join(ch if unicodedata.category(ch)[0] in "LN" or ch.isspace() else " "
                   for ch in unicodedata.normalize("NFKC", text).lower())
    words = [_ZH_PARTICLES.sub("", _REPEATS.sub(r"\1", w)) or w for w in kept.split()]
    return " ".join(words).strip()


def chatter_problems(data) -> list[str]:
    """What is wrong with the chatter file, for `sprout content validate` and start-up."""
    problems = []
    if not isinstance(data, dict):
        return ["must be a mapping with small_talk and not_parenting"]
    small = data.get("small_talk")
    if not isinstance(small, dict) or set(small) != {"en", "zh"}:
        problems.append("small_talk needs en and zh lists")
    else:
        for lang, phrases in small.items():
            if not isinstance(phrases, list) or not phrases:
                problems.append(f"small_talk.{lang} must be a non-empty list")
    patterns = data.get("not_parenting")
    if not isinstance(patterns, list) or not patterns:
        problems.append("not_parenting must be a non-empty list of regular expressions")
    else:
        for pattern in patterns:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                problems.append(f"not_parenting {pattern!r}: {exc}")
    return problems


def chatter_file_problems(content_dir: Path) -> list[Problem]:
    """The chatter file's problems as `sprout content validate` reports them (none when there is no file)."""
    path = Path(content_dir) / CHATTER_FILE
    if not path.is_file():
        return []
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [Problem(str(path), 1, f"not valid YAML: {exc}")]
    return [Problem(str(path), 1, message) for message in chatter_problems(data)]
