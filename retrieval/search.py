"""Ranking: the dense cosine and the keyword (BM25) score combined, an age preference, and a calibrated
confidence that decides between answering and saying honestly that there is no vetted answer."""

from __future__ import annotations

import math
import re
from collections import Counter
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import sqlite_utils

from knowledge.content import Entry

from knowledge.sections import split_sections

from . import keyword
from .embedding import Embedder, Identity
from .index import SCOPE_PREFIX, LiveIndex, Snapshot, text_id

_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LETTERS = re.compile(r"[a-z]{2}")
MODES = ("hybrid", "dense", "keyword")
MIN_TERMS = 2  # a question with fewer terms says too little for coverage or the known share to mean anything
DENSE_DEPTH = 120  # texts read from the dense index per question
SECTION_WORDS_WEIGHT = 0.5  # the question's words in a section, against the model's cosine, when choosing one


def detect_language(text: str) -> str:
    """'zh' when Chinese characters make up a fair share of the letters, else 'en'."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk * 3 >= latin * 0.5 else "en"


# What the answering decision reads about a question and its best entry (see `SearchOutcome.signals`).
SIGNALS = ("dense", "coverage", "known", "keyword", "scope", "asked", "margin")


CALIBRATION_DIR = Path(__file__).resolve().parent / "calibration"


def calibration_file_name(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_id) + ".json"


@dataclass(frozen=True)
class Calibration:
    """How candidates are ranked and when the best one is trusted enough to answer.

    Ranking (per language): dense_weight * cosine + keyword_weight * BM25 score relative to the question's best
    keyword match, minus age_penalty for an entry written for another age. The English default model gives
    Chinese vectors little meaning, so Chinese ranks on keywords alone (dense_weight 0, the model is not run).

    Answering: a logistic model per language turns the question's signals (`SIGNALS`, see
    `SearchOutcome.signals`) into the probability that the knowledge base answers it; the best entry is given
    when that probability reaches `threshold`. No single signal is enough on new questions: the model's cosine
    is close for a near-topic question in English ("trimming a newborn's nails" next to eczema), and in Chinese,
    where only keywords speak, familiar words are no proof either (清蒸鲈鱼 uses words many entries use, spread over
    many of them and each matching weakly). A question that matches a subject the guidance does not cover
    (content/scope.yaml) counts against answering, and when it is not answered and matches that subject better
    than any entry, the reply names the subject.

    `weights` (raw signal units, plus "bias") and `threshold` come from `sprout eval content/eval/retrieval/*.jsonl
    content/eval/calibration/*.jsonl --calibrate`: fitted on those labelled questions, with the threshold that
    abstains on the most must-not-answer ones while abstaining on at most 5% of the answerable ones. Its
    cross-validated figures say how well they carry over to new questions.
    """

    dense_weight: dict[str, float] = field(default_factory=lambda: {"en": 1.0, "zh": 0.0})
    keyword_weight: dict[str, float] = field(default_factory=lambda: {"en": 0.15, "zh": 1.0})
    age_penalty: float = 0.5
    # Per language: whether a multilingual model's search also reads the other language's texts.
    crosslingual: dict[str, bool] = field(default_factory=lambda: {"en": True, "zh": True})
    # How alike two unanswered questions must be to share a gaps cluster (knowledge/gaps.py), on this model's scale.
    gap_thresholds: dict[str, float] = field(default_factory=lambda: {"en": 0.6, "zh": 0.3})
    weights: dict[str, dict[str, float]] = field(default_factory=lambda: {
        "en": {"bias": -11.48, "dense": 18.412, "coverage": 6.686, "known": 0.377, "keyword": 0.152, "scope": -3.541},
        "zh": {"bias": -11.441, "dense": 0.0, "coverage": 6.374, "known": 4.851, "keyword": 2.461, "scope": -22.435},
    })
    threshold: dict[str, float] = field(default_factory=lambda: {"en": 0.437726, "zh": 0.305712})

    @classmethod
    def for_model(cls, identity: Identity, folder: Path = CALIBRATION_DIR) -> "Calibration":
        """The calibration fitted for this model (`sprout eval ... --calibrate --write`), else the defaults
        (fitted for the packaged MiniLM)."""
        path = folder / calibration_file_name(identity.model_id)
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in known})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def probability(self, lang: str, signals: dict[str, float]) -> float:
        """How likely the knowledge base answers a question with these signals, by the language's model."""
        weights = self.weights.get(lang) or self.weights["en"]
        return float(answer_probability(weights, np.array([[signals[name] for name in SIGNALS]]))[0])


def answer_probability(weights: dict[str, float], signals: np.ndarray) -> np.ndarray:
    """The logistic model: for each row of signals (`SIGNALS` order), the probability it is answerable."""
    z = weights.get("bias", 0.0) + signals @ np.array([weights.get(name, 0.0) for name in SIGNALS])
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    fused: float
    dense: float          # best cosine similarity of any of the entry's texts in the question's language
    keyword_rank: int | None
    coverage: float       # share of the question's terms (weighted by rarity) found in the entry's text
    covers_age: bool | None
    keyword: float = 0.0  # BM25 score relative to the question's best keyword match (0..1)
    asked: float = 0.0    # best cosine with the entry's title or example questions (question meets question)


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
    keyword_top: float = 0.0  # BM25 score of the best keyword match (higher is better)
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)  # the question's, when embedded
    runner_up: float = 0.0  # the second-ranked entry's cosine (whatever `limit` keeps)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def _scored(self, dense: float, coverage: float) -> float:
        """An entry's or a subject's match: its cosine plus the rarity-weighted share of the question it covers
        (when the question has enough terms for that share to mean something)."""
        return dense + (coverage if len(self.terms) >= MIN_TERMS else 0.0)

    def match(self) -> float:
        """The best entry's match."""
        best = self.best
        return 0.0 if best is None else self._scored(best.dense, best.coverage)

    def scope_match(self) -> tuple[ScopeScore | None, float]:
        """The subject the guidance does not cover that the question matches best, scored like an entry."""
        best: tuple[ScopeScore | None, float] = (None, 0.0)
        for score in self.scope:
            match = self._scored(score.dense, score.coverage)
            if match > best[1]:
                best = (score, match)
        return best

    def signals(self) -> dict[str, float]:
        """What the answering decision reads (`SIGNALS`): the best entry's cosine and coverage, the known share,
        the strength of the best keyword match (log of 1 + its BM25 score) and the best uncovered subject's
        match. Coverage and the known share count only when the question has enough terms to share."""
        best, enough = self.best, len(self.terms) >= MIN_TERMS
        return {"asked": best.asked if best else 0.0,
                "margin": max(best.dense - self.runner_up, 0.0) if best else 0.0,
                "dense": best.dense if best else 0.0,
                "coverage": best.coverage if best and enough else 0.0,
                "known": self.known if enough else 0.0,
                "keyword": math.log1p(max(self.keyword_top, 0.0)),
                "scope": self.scope_match()[1]}

    def out_of_scope(self) -> ScopeScore | None:
        """The subject the guidance does not cover that the question matches better than any entry."""
        score, match = self.scope_match()
        return score if score is not None and match > self.match() else None


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
        dense_best, dense_asked, dense_scope, vector = (self._dense(snap, question, lang) if dense_used
                                                        else ({}, {}, {}, None))
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
                # A soft preference: the further the child's age is outside the entry's range, the larger the
                # penalty, up to `age_penalty` a year or more away (a newborn's parent asking about nursery visits
                # still gets the nursery-visit entry; a 20-month-old's games come from the 1-2 years entry).
                score -= cal.age_penalty * min(1.0, age_distance(entry, age_months) / AGE_SCALE_MONTHS)
            scored.append((score, entry_id, covers))
        scored.sort(key=lambda s: -s[0])

        vocabulary = self.vocabulary(snap)
        question_terms = tuple(dict.fromkeys(stem(t) for t in terms))
        # With a multilingual model, mixed writing ("宝宝 colic 怎么办") counts its English words as known when the
        # entry's English text has them.
        crosslingual = bool(vector is not None and getattr(self._embedder(), "multilingual", False)
                            and cal.crosslingual.get(lang, True))
        candidates = []
        for score, entry_id, covers in scored[:limit]:
            coverage = weighted_coverage(question_terms, vocabulary.entry_terms(entry_id, lang, both=crosslingual),
                                         vocabulary.idf(lang), vocabulary.unseen(lang))
            candidates.append(Candidate(snap.entries[entry_id], score, dense_best.get(entry_id, 0.0),
                                        keyword_rank.get(entry_id), coverage, covers,
                                        keyword_score.get(entry_id, 0.0), dense_asked.get(entry_id, 0.0)))
        known = vocabulary.known(question_words(raw_terms, self.segmenter.normalize(question), lang), lang,
                                 both=crosslingual)
        # A subject's texts beyond the dense depth are further from the question than every entry text read.
        scope = tuple(ScopeScore(topic.id, topic.labels, dense_scope.get(topic.id, 0.0),
                                 weighted_coverage(question_terms, vocabulary.scope_terms(topic.id, lang),
                                                   vocabulary.idf(lang), vocabulary.unseen(lang)))
                      for topic in snap.scope.values())
        runner_up = dense_best.get(scored[1][1], 0.0) if len(scored) > 1 else 0.0
        outcome = SearchOutcome(lang, tuple(candidates), False, 0.0, terms, round(known, 4), scope,
                                keyword_top=top_keyword, vector=vector, runner_up=runner_up)
        if outcome.best is None:
            return outcome
        # 1.0 is the threshold: the probability the knowledge base answers, over the calibrated threshold.
        confidence = cal.probability(lang, outcome.signals()) / cal.threshold.get(lang, cal.threshold["en"])
        confident = confidence >= 1.0
        return replace(outcome, confident=confident, confidence=round(min(confidence, 99.0), 4),
                       declined=None if confident else outcome.out_of_scope())

    def vocabulary(self, snap: Snapshot) -> Vocabulary:
        """What the knowledge base says, in the forms the confidence compares with; rebuilt when the index is."""
        held = self._vocabulary
        if held is None or held[0] is not snap:
            held = (snap, Vocabulary(snap, self.segmenter.normalize))
            self._vocabulary = held
        return held[1]

    def _dense(self, snap: Snapshot, question: str, lang: str
               ) -> tuple[dict[str, float], dict[str, float], dict[str, float], np.ndarray]:
        """Best cosine per entry, and per subject the guidance does not cover, among the closest texts. A
        multilingual model reads the texts of both languages (a Chinese question meets an English passage that
        says it better, and mixed writing such as "宝宝 teething 发烧吗" meets both); an English-only model reads
        the question's language only."""
        embedder = self._embedder()
        vector = embedder.encode_query([question])[0]
        both = bool(getattr(embedder, "multilingual", False)) and self.calibration.crosslingual.get(lang, True)
        best: dict[str, float] = {}
        asked: dict[str, float] = {}  # titles and example questions only
        scope: dict[str, float] = {}
        for unit_id, score in snap.dense.search(vector, DENSE_DEPTH):
            meta = snap.texts.get(unit_id)
            if meta is None or (meta[1] != lang and not both):
                continue
            if meta[0] in snap.entries:
                best[meta[0]] = max(best.get(meta[0], -1.0), score)
                if meta[2] in ("title", "question"):
                    asked[meta[0]] = max(asked.get(meta[0], -1.0), score)
            elif meta[0].startswith(SCOPE_PREFIX) and meta[0][len(SCOPE_PREFIX):] in snap.scope:
                topic = meta[0][len(SCOPE_PREFIX):]
                scope[topic] = max(scope.get(topic, -1.0), score)
        return best, asked, scope, vector

    def section_for(self, entry: Entry, lang: str, outcome: SearchOutcome) -> int | None:
        """Which whole section of the entry's body (in the reply's language) answers the question: the closest
        by the model when the question was embedded, plus the rarity-weighted share of the question's words it
        contains. None when the body is a single section."""
        sections = split_sections(entry.text(lang).body)
        if len(sections) < 2:
            return None
        snap = self.live.snapshot
        scores = np.zeros(len(sections))
        if outcome.vector is not None and snap is not None:
            ids = [text_id(entry.id, lang, f"section{i}", s.text) for i, s in enumerate(sections)]
            scores += snap.dense.vectors(ids) @ outcome.vector
        terms = tuple(dict.fromkeys(stem(t) for t in outcome.terms))
        if terms and snap is not None:
            vocabulary = self.vocabulary(snap)
            for i, section in enumerate(sections):
                words = frozenset(stem(t) for t in self.segmenter.terms(section.text))
                scores[i] += SECTION_WORDS_WEIGHT * weighted_coverage(terms, words, vocabulary.idf(lang),
                                                                      vocabulary.unseen(lang))
        return int(np.argmax(scores))

AGE_SCALE_MONTHS = 12.0


def age_distance(entry: Entry, age_months: float) -> float:
    """Months between the child's age and the entry's range (0 inside it)."""
    if age_months < entry.age_min:
        return entry.age_min - age_months
    return max(0.0, age_months - (entry.age_max + 1))


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
    if "'" in term:  # most words have none: the first question after a start stems every word of the index
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

    def entry_terms(self, entry_id: str, lang: str, both: bool = False) -> frozenset[str]:
        """The entry's (stemmed) terms in one language, or in both when `both`."""
        self._load(lang)
        terms = self._stemmed[lang].get(entry_id, frozenset())
        if both:
            for other in self.snap.idf:
                if other != lang:
                    self._load(other)
                    terms = terms | self._stemmed[other].get(entry_id, frozenset())
        return terms

    def idf(self, lang: str) -> dict[str, float]:
        self._load(lang)
        return self._idf[lang]

    def unseen(self, lang: str) -> float:
        self._load(lang)
        return self._unseen[lang]

    def known(self, words: list[str], lang: str, both: bool = False) -> float:
        """Share of the question's words (weighted by rarity) that some entry's text contains (in either language
        when `both`: an English word in a Chinese question is looked up in the English texts)."""
        if not words:
            return 0.0
        if lang == "zh":
            weighted = [self._latin_word(w) if both and not _CJK.search(w) else self._chinese_word(w) for w in words]
        else:
            idf, unseen = self.idf(lang), self.unseen(lang)
            weighted = [(idf.get(s, unseen), 1.0 if s in idf else 0.0) for s in (stem(w) for w in words)]
        total = sum(weight for weight, _ in weighted)
        return sum(weight * found for weight, found in weighted) / total if total else 0.0

    def _latin_word(self, word: str) -> tuple[float, float]:
        """(rarity weight, 1 or 0) for an English word in a Chinese question, by the English texts' terms."""
        idf, unseen = self.idf("en"), self.unseen("en")
        found = self._chinese_word(word)
        stemmed = stem(word)
        return (found[0], 1.0) if stemmed in idf else (max(found[0], unseen), found[1])

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
