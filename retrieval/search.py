"""Ranking: dense and keyword ranks fused (reciprocal rank fusion), an age preference, and a calibrated
confidence that decides between answering and saying honestly that there is no vetted answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import sqlite_utils

from knowledge.content import Entry

from . import keyword
from .embedding import Embedder
from .index import LiveIndex, Snapshot

_CJK = re.compile(r"[\u4e00-\u9fff]")
RRF_K = 60
MODES = ("hybrid", "dense", "keyword")


def detect_language(text: str) -> str:
    """'zh' when Chinese characters make up a fair share of the letters, else 'en'."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk * 3 >= latin * 0.5 else "en"


@dataclass(frozen=True)
class Calibration:
    """Thresholds chosen on the development set with `sprout eval content/eval/retrieval/*.jsonl --calibrate`
    (English: at most 5% of answerable questions abstained). Chinese vectors from the English default model are
    not informative, so Chinese answers on rarity-weighted keyword coverage alone (dense_min above 1)."""

    dense_min: dict[str, float] = field(default_factory=lambda: {"en": 0.56, "zh": 1.01})
    coverage_min: dict[str, float] = field(default_factory=lambda: {"en": 0.20, "zh": 0.10})
    coverage_dense_floor: dict[str, float] = field(default_factory=lambda: {"en": 0.40, "zh": 0.0})
    min_terms: int = 2
    age_mismatch_factor: float = 0.5
    # With the English default model, Chinese vectors carry little meaning: Chinese ranks on keywords alone.
    dense_weight: dict[str, float] = field(default_factory=lambda: {"en": 1.0, "zh": 0.0})
    keyword_weight: dict[str, float] = field(default_factory=lambda: {"en": 0.5, "zh": 1.0})


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    fused: float
    dense: float          # best cosine similarity of any of the entry's texts in the question's language
    keyword_rank: int | None
    coverage: float       # share of the question's terms (weighted by rarity) found in the entry's text
    covers_age: bool | None


@dataclass(frozen=True)
class SearchOutcome:
    lang: str
    candidates: tuple[Candidate, ...]
    confident: bool
    confidence: float
    terms: tuple[str, ...]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class Retriever:
    def __init__(self, live: LiveIndex, db: sqlite_utils.Database, embedder: Callable[[], Embedder],
                 segmenter: keyword.Segmenter, calibration: Calibration | None = None):
        self.live, self.db, self._embedder, self.segmenter = live, db, embedder, segmenter
        self.calibration = calibration or Calibration()

    def search(self, question: str, lang: str | None = None, age_months: float | None = None,
               mode: str = "hybrid", limit: int = 5) -> SearchOutcome:
        snap = self.live.snapshot
        lang = lang or detect_language(question)
        terms = tuple(dict.fromkeys(self.segmenter.terms(question)))
        if snap is None or not snap.entries:
            return SearchOutcome(lang, (), False, 0.0, terms)
        cal = self.calibration
        # Skip the model when its score can neither rank nor decide (Chinese with the English default model).
        dense_used = mode == "dense" or (mode == "hybrid" and (cal.dense_weight.get(lang, 1.0) > 0
                                                               or cal.dense_min.get(lang, 0.0) <= 1.0))
        dense_best = self._dense(snap, question, lang) if dense_used else {}
        keyword_ranked = keyword.search(self.db, list(terms), lang) if mode in ("hybrid", "keyword") else []
        keyword_ranked = [(e, s) for e, s in keyword_ranked if e in snap.entries]

        fused: dict[str, float] = {}
        dense_weight = cal.dense_weight.get(lang, 1.0) if mode == "hybrid" else 1.0
        keyword_weight = cal.keyword_weight.get(lang, 1.0) if mode == "hybrid" else 1.0
        for rank, (entry_id, _) in enumerate(sorted(dense_best.items(), key=lambda kv: -kv[1])):
            fused[entry_id] = fused.get(entry_id, 0.0) + dense_weight / (RRF_K + rank + 1)
        keyword_rank = {}
        for rank, (entry_id, _) in enumerate(keyword_ranked):
            keyword_rank[entry_id] = rank
            fused[entry_id] = fused.get(entry_id, 0.0) + keyword_weight / (RRF_K + rank + 1)

        candidates = []
        for entry_id, score in fused.items():
            entry = snap.entries[entry_id]
            covers = entry.covers_age(age_months) if age_months is not None else None
            if covers is False:
                score *= cal.age_mismatch_factor
            coverage = weighted_coverage(terms, snap.terms.get((entry_id, lang), frozenset()), snap.idf.get(lang, {}),
                                         snap.unseen_idf.get(lang, 1.0))
            candidates.append(Candidate(entry, score, dense_best.get(entry_id, 0.0), keyword_rank.get(entry_id),
                                        coverage, covers))
        candidates.sort(key=lambda c: -c.fused)
        top = tuple(candidates[:limit])
        confident, confidence = self._confidence(top[0] if top else None, lang, len(terms), mode)
        return SearchOutcome(lang, top, confident, confidence, terms)

    def _dense(self, snap: Snapshot, question: str, lang: str) -> dict[str, float]:
        vector = self._embedder().encode([question])[0]
        best: dict[str, float] = {}
        for text_id, score in snap.dense.search(vector, 80):
            meta = snap.texts.get(text_id)
            if meta is None or meta[1] != lang or meta[0] not in snap.entries:
                continue
            best[meta[0]] = max(best.get(meta[0], -1.0), score)
        return best

    def _confidence(self, best: Candidate | None, lang: str, n_terms: int, mode: str) -> tuple[bool, float]:
        if best is None:
            return False, 0.0
        cal = self.calibration
        dense_ok = mode != "keyword" and best.dense >= cal.dense_min[lang]
        keyword_ok = (mode != "dense" and n_terms >= cal.min_terms and best.coverage >= cal.coverage_min[lang]
                      and (mode == "keyword" or best.dense >= cal.coverage_dense_floor[lang]))
        confidence = max(best.dense / cal.dense_min[lang] if mode != "keyword" else 0.0,
                         best.coverage / cal.coverage_min[lang] if n_terms and mode != "dense" else 0.0)
        return dense_ok or keyword_ok, round(float(confidence), 4)


def weighted_coverage(terms: tuple[str, ...], entry_terms: frozenset[str], idf: dict[str, float],
                      unseen: float) -> float:
    """How much of the question the entry covers, rare words counting more. A word no entry contains gets the
    highest weight (`unseen`), so a question about something the knowledge base never mentions scores low."""
    if not terms:
        return 0.0
    weights = [idf.get(t, unseen) for t in terms]
    return sum(w for t, w in zip(terms, weights) if t in entry_terms) / sum(weights)

