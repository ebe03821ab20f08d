"""Ranking: the dense cosine and the keyword (BM25) score combined, an age preference, and a calibrated
confidence that decides between answering and saying honestly that there is no vetted answer."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable

import sqlite_utils

from knowledge.content import Entry

from . import keyword
from .embedding import Embedder
from .index import SCOPE_PREFIX, LiveIndex, Snapshot

_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LETTERS = re.compile(r"[a-z]{2}")
MODES = ("hybrid", "dense", "keyword")
DENSE_DEPTH = 80  # texts read from the dense index per question


def detect_language(text: str) -> str:
    """'zh' when Chinese characters make up a fair share of the letters, else 'en'."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk * 3 >= latin * 0.5 else "en"


@dataclass(frozen=True)
class Calibration:
    """How candidates are ranked and when the best one is trusted enough to answer.

    Ranking (per language): dense_weight * cosine + keyword_weight * BM25 score relative to the question's best
    keyword match, minus age_penalty for an entry written for another age. The English default model gives
    Chinese vectors little meaning, so Chinese ranks on keywords alone (dense_weight 0, the model is not run).

    Answering: the best entry's match (dense_weight * cosine + coverage_weight * rarity-weighted coverage of the
    question's terms) reaches match_min, or the share of the question the knowledge base knows at all (`known`:
    rarity-weighted, words no entry uses count most) reaches known_min. The second way is for Chinese only:
    without a meaningful dense score, coverage is low for any question worded differently from the entry, while
    a question about something the knowledge base never covers (取名, 户口, 红烧肉) has words no entry uses.
    Where the model judges meaning, familiar words with a poor match are no reason to answer (known_min above 1).

    Declining: a question whose match with a subject the guidance does not cover (content/scope.yaml, scored
    like an entry) beats its best entry's match by scope_margin is not answered, whatever the entry's match:
    "a name for our baby girl" is close to many entries in words, and closer still to "choosing a baby's name".

    coverage_weight, match_min, known_min and scope_margin come from `sprout eval
    content/eval/retrieval/*.jsonl --calibrate` (the most must-not-answer questions abstained with at most 5% of
    answerable ones abstained); its cross-validated figures say how well they carry over to new questions.
    """

    dense_weight: dict[str, float] = field(default_factory=lambda: {"en": 1.0, "zh": 0.0})
    keyword_weight: dict[str, float] = field(default_factory=lambda: {"en": 0.15, "zh": 1.0})
    age_penalty: float = 0.5
    coverage_weight: dict[str, float] = field(default_factory=lambda: {"en": 0.5, "zh": 1.0})
    match_min: dict[str, float] = field(default_factory=lambda: {"en": 0.64, "zh": 0.18})
    known_min: dict[str, float] = field(default_factory=lambda: {"en": 1.01, "zh": 0.52})  # above 1: never
    scope_margin: dict[str, float] = field(default_factory=lambda: {"en": 0.08, "zh": 0.04})
    min_terms: int = 2


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    fused: float
    dense: float          # best cosine similarity of any of the entry's texts in the question's language
    keyword_rank: int | None
    coverage: float       # share of the question's terms (weighted by rarity) found in the entry's text
    covers_age: bool | None
    keyword: float = 0.0  # BM25 score relative to the question's best keyword match (0..1)


@dataclass(frozen=True)
class ScopeScore:
    """How well the question matches one subject the guidance does not cover."""

    topic: str
    labels: dict[str, str]  # per language, shown to the parent
    dense: float          # best cosine similarity with the subject's label and phrasings
    coverage: float       # share of the question's terms (weighted by rarity) among the subject's words


@dataclass(frozen=True)
class SearchOutcome:
    lang: str
    candidates: tuple[Candidate, ...]
    confident: bool
    confidence: float
    terms: tuple[str, ...]
    known: float = 0.0    # share of the question (weighted by rarity) that any entry's text contains
    scope: tuple[ScopeScore, ...] = ()
    declined: ScopeScore | None = None  # the subject the question is about, when that is why it is not answered

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def _scored(self, calibration: Calibration, dense: float, coverage: float) -> float:
        """An entry's or a subject's match: the dense part plus the weighted coverage (when the question has
        enough terms for coverage to mean something)."""
        enough = len(self.terms) >= calibration.min_terms
        return (calibration.dense_weight.get(self.lang, 1.0) * dense
                + calibration.coverage_weight.get(self.lang, 1.0) * (coverage if enough else 0.0))

    def match(self, calibration: Calibration) -> float:
        """The best entry's match score that `Calibration.match_min` is compared with."""
        best = self.best
        return 0.0 if best is None else self._scored(calibration, best.dense, best.coverage)

    def scope_match(self, calibration: Calibration) -> tuple[ScopeScore | None, float]:
        """The subject the guidance does not cover that the question matches best, scored like an entry."""
        best: tuple[ScopeScore | None, float] = (None, 0.0)
        for score in self.scope:
            match = self._scored(calibration, score.dense, score.coverage)
            if match > best[1]:
                best = (score, match)
        return best

    def out_of_scope(self, calibration: Calibration) -> ScopeScore | None:
        """The subject, when the question matches it better than any entry by the calibrated margin."""
        score, match = self.scope_match(calibration)
        margin = calibration.scope_margin.get(self.lang)
        if score is None or margin is None or match - self.match(calibration) < margin:
            return None
        return score


class Retriever:
    def __init__(self, live: LiveIndex, db: sqlite_utils.Database, embedder: Callable[[], Embedder],
                 segmenter: keyword.Segmenter, calibration: Calibration | None = None):
        self.live, self.db, self._embedder, self.segmenter = live, db, embedder, segmenter
        self.calibration = calibration or Calibration()
        self._vocabulary: tuple[Snapshot, Vocabulary] | None = None

    def search(self, question: str, lang: str | None = None, age_months: float | None = None,
               mode: str = "hybrid", limit: int = 5) -> SearchOutcome:
        snap = self.live.snapshot
        lang = lang or detect_language(question)
        raw_terms = self.segmenter.terms(question)
        terms = tuple(dict.fromkeys(raw_terms))
        if snap is None or not snap.entries:
            return SearchOutcome(lang, (), False, 0.0, terms)
        cal = self.calibration
        # Skip the model when its score counts for nothing (Chinese with the English default model).
        dense_used = mode == "dense" or (mode == "hybrid" and cal.dense_weight.get(lang, 1.0) > 0)
        dense_best, dense_scope = self._dense(snap, question, lang) if dense_used else ({}, {})
        keyword_ranked = keyword.search(self.db, list(terms), lang) if mode in ("hybrid", "keyword") else []
        keyword_ranked = [(e, s) for e, s in keyword_ranked if e in snap.entries]

        # Scores rather than ranks are combined: a clear dense winner the keywords missed stays first, which
        # reciprocal rank fusion could not tell from a narrow one.
        dense_weight = cal.dense_weight.get(lang, 1.0) if mode == "hybrid" else 1.0
        keyword_weight = cal.keyword_weight.get(lang, 1.0) if mode == "hybrid" else 1.0
        top_keyword = max((s for _, s in keyword_ranked), default=0.0)
        keyword_score = {e: s / top_keyword for e, s in keyword_ranked} if top_keyword > 0 else {}
        keyword_rank = {e: rank for rank, (e, _) in enumerate(keyword_ranked)}
        dense_floor = min(dense_best.values(), default=0.0)  # beyond the texts read, no better than the last
        scored = []
        for entry_id in dict.fromkeys([*dense_best, *keyword_rank]):
            entry = snap.entries[entry_id]
            covers = entry.covers_age(age_months) if age_months is not None else None
            score = (dense_weight * dense_best.get(entry_id, dense_floor) if dense_best else 0.0)
            score += keyword_weight * keyword_score.get(entry_id, 0.0)
            if covers is False:
                score -= cal.age_penalty
            scored.append((score, entry_id, covers))
        scored.sort(key=lambda s: -s[0])

        vocabulary = self.vocabulary(snap)
        question_terms = tuple(dict.fromkeys(stem(t) for t in terms))
        candidates = []
        for score, entry_id, covers in scored[:limit]:
            coverage = weighted_coverage(question_terms, vocabulary.entry_terms(entry_id, lang),
                                         vocabulary.idf(lang), vocabulary.unseen(lang))
            candidates.append(Candidate(snap.entries[entry_id], score, dense_best.get(entry_id, 0.0),
                                        keyword_rank.get(entry_id), coverage, covers,
                                        keyword_score.get(entry_id, 0.0)))
        known = vocabulary.known(question_words(raw_terms, self.segmenter.normalize(question), lang), lang)
        # A subject's texts beyond the dense depth are further from the question than every entry text read.
        scope = tuple(ScopeScore(topic.id, topic.labels, dense_scope.get(topic.id, 0.0),
                                 weighted_coverage(question_terms, vocabulary.scope_terms(topic.id, lang),
                                                   vocabulary.idf(lang), vocabulary.unseen(lang)))
                      for topic in snap.scope.values())
        outcome = SearchOutcome(lang, tuple(candidates), False, 0.0, terms, round(known, 4), scope)
        confident, confidence = self._confidence(outcome)
        declined = outcome.out_of_scope(cal) if outcome.best is not None else None
        return replace(outcome, confident=confident and declined is None, confidence=confidence, declined=declined)

    def vocabulary(self, snap: Snapshot) -> Vocabulary:
        """What the knowledge base says, in the forms the confidence compares with; rebuilt when the index is."""
        held = self._vocabulary
        if held is None or held[0] is not snap:
            held = (snap, Vocabulary(snap, self.segmenter.normalize))
            self._vocabulary = held
        return held[1]

    def _dense(self, snap: Snapshot, question: str, lang: str) -> tuple[dict[str, float], dict[str, float]]:
        """Best cosine per entry, and per subject the guidance does not cover, among the closest texts."""
        vector = self._embedder().encode([question])[0]
        best: dict[str, float] = {}
        scope: dict[str, float] = {}
        for text_id, score in snap.dense.search(vector, DENSE_DEPTH):
            meta = snap.texts.get(text_id)
            if meta is None or meta[1] != lang:
                continue
            if meta[0] in snap.entries:
                best[meta[0]] = max(best.get(meta[0], -1.0), score)
            elif meta[0].startswith(SCOPE_PREFIX) and meta[0][len(SCOPE_PREFIX):] in snap.scope:
                topic = meta[0][len(SCOPE_PREFIX):]
                scope[topic] = max(scope.get(topic, -1.0), score)
        return best, scope

    def _confidence(self, outcome: SearchOutcome) -> tuple[bool, float]:
        """1.0 is the threshold: the larger of the match over match_min and the known share over known_min."""
        if outcome.best is None:
            return False, 0.0
        cal, lang = self.calibration, outcome.lang
        ratios = [outcome.match(cal) / cal.match_min[lang] if cal.match_min[lang] > 0 else math.inf]
        if cal.known_min[lang] <= 1.0 and len(outcome.terms) >= cal.min_terms:
            ratios.append(outcome.known / cal.known_min[lang] if cal.known_min[lang] > 0 else math.inf)
        confidence = max(ratios)
        return confidence >= 1.0, round(float(min(confidence, 99.0)), 4)


def weighted_coverage(terms: tuple[str, ...], entry_terms: frozenset[str], idf: dict[str, float],
                      unseen: float) -> float:
    """How much of the question the entry covers, rare words counting more. A word no entry contains gets the
    highest weight (`unseen`), so a question about something the knowledge base never mentions scores low."""
    if not terms:
        return 0.0
    weights = [idf.get(t, unseen) for t in terms]
    return sum(w for t, w in zip(terms, weights) if t in entry_terms) / sum(weights)


def question_words(raw_terms: list[str], question: str, lang: str) -> list[str]:
    """The question's words without the character bigrams the segmenter adds for Chinese: a bigram across two
    words (宝宝取名 -> 宝取) is unknown to every entry whatever the question is about, and would blur `known`.
    For Chinese the longest jieba words are kept (出生, not also 刚出生's 出生), and only words with a Chinese
    character or two letters (no bare numbers)."""
    if lang != "zh":
        return list(dict.fromkeys(raw_terms))
    bigrams = Counter(run[i:i + 2] for run in _CJK_RUN.findall(question.lower()) for i in range(len(run) - 1))
    words = [w for w in dict.fromkeys((Counter(raw_terms) - bigrams).elements())
             if _CJK.search(w) or _LETTERS.search(w)]
    return [w for w in words if not any(w != other and w in other for other in words)]


_SUFFIXES = (("ies", "y", 5), ("sses", "ss", 5), ("ches", "ch", 5), ("shes", "sh", 5), ("xes", "x", 4),
             ("ing", "", 6), ("ed", "", 5), ("s", "", 4))


def stem(term: str) -> str:
    """A light English stem (possessive, plural, -ing, -ed), so 'wakings' meets 'waking' and 'sons' meets 'son'.
    Anything that is not plain ASCII letters is returned as it is."""
    if not term.isascii():
        return term
    term = re.sub(r"'s?$", "", term)
    if not term.isalpha():
        return term
    for suffix, replacement, shortest in _SUFFIXES:
        if term.endswith(suffix) and len(term) >= shortest and not (suffix == "s" and term.endswith(("ss", "us", "is"))):
            return term[:len(term) - len(suffix)] + replacement
    return term


class Vocabulary:
    """The knowledge base's words as the confidence sees them, derived once per index snapshot and language:
    English terms stemmed, with their rarity; Chinese entry texts, matched by substring so a word segmented
    differently in an entry (托育园 / 托育) still counts as partly known."""

    def __init__(self, snap: Snapshot, normalize: Callable[[str], str] = lambda text: text):
        self.snap, self.normalize = snap, normalize
        self._stemmed: dict[str, dict[str, frozenset[str]]] = {}
        self._idf: dict[str, dict[str, float]] = {}
        self._unseen: dict[str, float] = {}
        self._chinese_texts: list[str] | None = None
        self._chinese_words: dict[str, tuple[float, float]] = {}
        self._scope: dict[tuple[str, str], frozenset[str]] = {}

    def _load(self, lang: str) -> None:
        if lang in self._stemmed:
            return
        # Start from the snapshot's terms and rarity and redo only what stemming changes (most English words,
        # a handful of Latin words in Chinese texts), so the first question after a reload stays cheap.
        sets = {entry_id: terms for (entry_id, term_lang), terms in self.snap.terms.items() if term_lang == lang}
        base_idf = self.snap.idf.get(lang, {})
        changed = {t: s for t in base_idf if (s := stem(t)) != t}
        targets = set(changed.values())
        stemmed = {entry_id: terms if terms.isdisjoint(changed) else frozenset(changed.get(t, t) for t in terms)
                   for entry_id, terms in sets.items()}
        idf = {t: w for t, w in base_idf.items() if t not in changed and t not in targets}
        counts = Counter(t for terms in stemmed.values() for t in terms & targets)
        idf.update({t: math.log((len(stemmed) + 1) / (df + 0.5)) for t, df in counts.items()})
        self._idf[lang] = idf
        self._unseen[lang] = max(idf.values(), default=0.0) + 1.0
        self._stemmed[lang] = stemmed

    def scope_terms(self, topic_id: str, lang: str) -> frozenset[str]:
        """A subject's words in the same (stemmed) form as the question's."""
        cached = self._scope.get((topic_id, lang))
        if cached is None:
            topic = self.snap.scope.get(topic_id)
            cached = frozenset(stem(t) for t in topic.terms.get(lang, ())) if topic else frozenset()
            self._scope[(topic_id, lang)] = cached
        return cached

    def entry_terms(self, entry_id: str, lang: str) -> frozenset[str]:
        self._load(lang)
        return self._stemmed[lang].get(entry_id, frozenset())

    def idf(self, lang: str) -> dict[str, float]:
        self._load(lang)
        return self._idf[lang]

    def unseen(self, lang: str) -> float:
        self._load(lang)
        return self._unseen[lang]

    def known(self, words: list[str], lang: str) -> float:
        """Share of the question's words (weighted by rarity) that some entry's text contains."""
        if not words:
            return 0.0
        if lang == "zh":
            weighted = [self._chinese_word(w) for w in words]
        else:
            idf, unseen = self.idf(lang), self.unseen(lang)
            weighted = [(idf.get(s, unseen), 1.0 if s in idf else 0.0) for s in (stem(w) for w in words)]
        total = sum(weight for weight, _ in weighted)
        return sum(weight * found for weight, found in weighted) / total if total else 0.0

    def _chinese_word(self, word: str) -> tuple[float, float]:
        """(rarity weight, how much of it the entries contain) for one word, by substring over the entry texts:
        1 when some text contains the word, else half the share of its longest part (two characters or more)
        that some text contains."""
        cached = self._chinese_words.get(word)
        if cached is not None:
            return cached
        if self._chinese_texts is None:
            self._chinese_texts = [self.normalize("\n".join([t.title, *t.questions, t.body]).lower())
                                   for e in self.snap.entries.values() if (t := e.texts.get("zh")) is not None]
        texts = self._chinese_texts
        df = sum(1 for text in texts if word in text)
        found = 1.0 if df else 0.0
        for size in range(len(word) - 1, 1, -1) if not df else ():
            if any(word[i:i + size] in text for i in range(len(word) - size + 1) for text in texts):
                found = 0.5 * size / len(word)
                break
        result = (math.log((len(texts) + 1) / (df + 0.5)), found)
        if len(self._chinese_words) > 20000:
            self._chinese_words.clear()
        self._chinese_words[word] = result
        return result
