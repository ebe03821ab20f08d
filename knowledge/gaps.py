"""Content gaps: questions Sprout could not answer, answered with low confidence, or marked 👎, grouped into
clusters of similar questions so curators can fix the knowledge base where families actually ask."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Protocol, Sequence

import numpy as np
import sqlite_utils

from .schedule import iso

# Answers whose confidence is less than this far above the answering threshold (1.0) count as shaky.
LOW_CONFIDENCE = 1.15
# Cosine similarity for English; for Chinese with the English model the vectors carry little meaning, so
# similarity leans on shared jieba terms and needs a lower bar (chosen on hand-made paraphrase sets).
THRESHOLDS = {"en": 0.6, "zh": 0.3}
DENSE_WEIGHT = {"en": 1.0, "zh": 0.0}
MAX_QUESTIONS = 2000  # the most recent distinct questions per language; enough to see patterns, cheap to compare
RECHECK_LIMIT = 10    # questions re-run per cluster to see whether it is answered now
REASONS = ("no_answer", "low_confidence", "unhelpful")


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class Segmenter(Protocol):
    def terms(self, text: str) -> list[str]: ...


# (question, lang) -> (answered confidently now, entry id it goes to)
Check = Callable[[str, str], tuple[bool, str | None]]


@dataclass(frozen=True)
class GapQuestion:
    id: int
    text: str
    lang: str
    reason: str
    entry_id: str | None
    asked_at: str


@dataclass
class Cluster:
    key: int                          # the smallest question_log id in it: stable while that question is kept
    lang: str
    questions: list[GapQuestion]
    answered_now: int | None = None
    checked: int | None = None
    entries_now: dict[str, int] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.questions)

    @property
    def closed(self) -> bool:
        """A curator wrote or extended an entry from this cluster and it was published: it answers these now."""
        return any(a.get("state") == "published" for a in self.actions)

    def weekly_counts(self, now: datetime, weeks: int = 8) -> list[int]:
        """Questions per week, oldest week first, the last ending now: the cluster's trend."""
        counts = [0] * weeks
        for q in self.questions:
            asked = datetime.fromisoformat(q.asked_at.replace("Z", "+00:00"))
            age = now - (asked if asked.tzinfo else asked.replace(tzinfo=timezone.utc))
            week = int(age.total_seconds() // (7 * 86400))
            if 0 <= week < weeks:
                counts[weeks - 1 - week] += 1
        return counts

    @property
    def ids(self) -> list[int]:
        return sorted(q.id for q in self.questions)

    def examples(self, limit: int = 3) -> list[str]:
        """The most asked wordings first."""
        counts = Counter(_normal(q.text) for q in self.questions)
        first: dict[str, str] = {}
        for q in self.questions:
            first.setdefault(_normal(q.text), q.text)
        return [first[k] for k, _ in counts.most_common(limit)]

    def as_dict(self) -> dict[str, Any]:
        asked = sorted(q.asked_at for q in self.questions)
        return {
            "key": self.key, "count": self.count, "distinct": len({_normal(q.text) for q in self.questions}),
            "languages": dict(Counter(q.lang for q in self.questions)),
            "reasons": {r: n for r, n in Counter(q.reason for q in self.questions).items()},
            "entries": dict(Counter(q.entry_id for q in self.questions if q.entry_id).most_common(3)),
            "examples": self.examples(), "first_asked": asked[0], "last_asked": asked[-1],
            "answered_now": self.answered_now, "checked": self.checked, "entries_now": self.entries_now,
            "actions": self.actions,
        }


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip(" ?？!！.。")


def gap_questions(db: sqlite_utils.Database, since: datetime, low_confidence: float = LOW_CONFIDENCE) -> list[GapQuestion]:
    """Questions asked since `since` that the knowledge base did not serve well, one row per question."""
    # Related-entry clicks are logged with the entry title and no score: they are not a parent's words.
    rows = db.execute(
        "select q.id, q.question, q.lang, q.kind, q.entry_id, q.score, q.asked_at, "
        "exists(select 1 from feedback f where f.question_id = q.id and f.helpful = 0) "
        "from question_log q where q.asked_at >= ? and q.kind in ('answer', 'no_answer') and q.question != '' "
        "and not (q.kind = 'answer' and q.score is null) order by q.id", [iso(since)]).fetchall()
    found = []
    for qid, text, lang, kind, entry_id, score, asked_at, unhelpful in rows:
        if kind == "no_answer":
            reason = "no_answer"
        elif unhelpful:
            reason = "unhelpful"
        elif score < low_confidence:
            reason = "low_confidence"
        else:
            continue
        found.append(GapQuestion(qid, text, lang, reason, entry_id, asked_at))
    return found


_NUMBER = re.compile(r"[0-9一二三四五六七八九十两半几]")


def topic_terms(segmenter: Segmenter, text: str) -> frozenset[str]:
    """Terms that carry the subject: ages ("六个月") and one-character words are mostly noise in short questions."""
    terms = {t for t in segmenter.terms(text) if not _NUMBER.search(t)}
    longer = {t for t in terms if len(t) > 1}
    return frozenset(longer or terms)


def idf_weights(documents: Iterable[frozenset[str]]) -> Callable[[str], float]:
    """Inverse document frequency over the knowledge base's term sets: "宝宝" or "安全" are in many entries and
    say little about a question's subject, "护照" (passport) is in none and says a lot."""
    docs = list(documents)
    frequency = Counter(term for doc in docs for term in doc)
    total = len(docs)
    return lambda term: math.log((total + 1) / (frequency.get(term, 0) + 1)) + 1.0


def idf_by_language(term_sets: dict[tuple[str, str], frozenset[str]]) -> dict[str, Callable[[str], float]]:
    """Per-language IDF from {(entry id, lang): terms}, the shape the search snapshot keeps."""
    langs = {lang for _, lang in term_sets}
    return {lang: idf_weights(terms for (_, l), terms in term_sets.items() if l == lang) for lang in langs}


def _weighted_jaccard_matrix(terms: list[frozenset[str]], weight: Callable[[str], float]) -> np.ndarray:
    """All pairs at once through an inverted index: only pairs that share a term are ever touched."""
    weights = {t: weight(t) for ts in terms for t in ts}
    totals = np.array([sum(weights[t] for t in ts) for ts in terms], dtype=np.float32)
    shared = np.zeros((len(terms), len(terms)), dtype=np.float32)
    postings: dict[str, list[int]] = {}
    for index, ts in enumerate(terms):
        for term in ts:
            postings.setdefault(term, []).append(index)
    for term, indices in postings.items():
        rows = np.array(indices)
        shared[np.ix_(rows, rows)] += weights[term]
    union = totals[:, None] + totals[None, :] - shared
    return np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)


def _similarity(texts: list[str], lang: str, embedder: Embedder, segmenter: Segmenter,
                dense_weight: dict[str, float], idf: Callable[[str], float] | None) -> np.ndarray:
    dense = min(max(dense_weight.get(lang, 1.0), 0.0), 1.0)
    sim = np.zeros((len(texts), len(texts)), dtype=np.float32)
    if dense > 0:
        vectors = embedder.encode_query(texts)  # questions, embedded as questions (e5 reads a "query: " prefix)
        sim += dense * (vectors @ vectors.T)
    if dense < 1:
        all_terms = [topic_terms(segmenter, t) for t in texts]
        # Only terms two or more questions share can make them similar; dropping the rest keeps one-off words
        # and the segmenter's boundary-crossing character pairs ("泳吗") from diluting the overlap.
        shared = Counter(term for terms in all_terms for term in terms)
        terms = [frozenset(t for t in ts if shared[t] > 1) for ts in all_terms]
        sim += (1 - dense) * _weighted_jaccard_matrix(terms, idf or (lambda term: 1.0))
    return sim


def cluster_questions(questions: Iterable[GapQuestion], embedder: Embedder, segmenter: Segmenter,
                      thresholds: dict[str, float] | None = None,
                      dense_weight: dict[str, float] | None = None,
                      idf: dict[str, Callable[[str], float]] | None = None) -> list[Cluster]:
    """Greedy average-link clustering per language: each distinct wording (most asked first) joins the cluster
    it is most similar to on average, if that clears the threshold, else starts a new one. Biggest first."""
    thresholds = {**THRESHOLDS, **(thresholds or {})}
    dense_weight = {**DENSE_WEIGHT, **(dense_weight or {})}
    by_lang: dict[str, dict[str, list[GapQuestion]]] = {}
    for q in questions:
        by_lang.setdefault(q.lang, {}).setdefault(_normal(q.text), []).append(q)
    clusters: list[Cluster] = []
    for lang, groups in sorted(by_lang.items()):
        # Most asked, then most recent, wordings first, so a cluster grows around what families ask most.
        ordered = sorted(groups.values(), key=lambda g: (-len(g), -max(q.id for q in g)))[:MAX_QUESTIONS]
        sim = _similarity([g[0].text for g in ordered], lang, embedder, segmenter, dense_weight,
                          (idf or {}).get(lang))
        members: list[list[int]] = []
        threshold = thresholds.get(lang, THRESHOLDS["en"])
        # Row c holds the summed similarity of cluster c's members to every question: average links in one step.
        sums = np.zeros_like(sim)
        for index in range(len(ordered)):
            if members:
                scores = sums[:len(members), index] / np.array([len(m) for m in members], dtype=np.float32)
                best = int(np.argmax(scores))
                if scores[best] >= threshold:
                    members[best].append(index)
                    sums[best] += sim[index]
                    continue
            sums[len(members)] = sim[index]
            members.append([index])
        for group in members:
            items = [q for i in group for q in ordered[i]]
            clusters.append(Cluster(min(q.id for q in items), lang, sorted(items, key=lambda q: q.id)))
    clusters.sort(key=lambda c: (-c.count, c.key))
    return clusters


def recheck(cluster: Cluster, check: Check, limit: int = RECHECK_LIMIT) -> Cluster:
    """Run the cluster's most asked wordings through retrieval again: how many are answered well now."""
    examples = cluster.examples(limit)
    outcomes = [check(text, cluster.lang) for text in examples]
    cluster.checked = len(outcomes)
    cluster.answered_now = sum(1 for answered, _ in outcomes if answered)
    cluster.entries_now = dict(Counter(e for answered, e in outcomes if answered and e))
    return cluster


def attach_actions(db: sqlite_utils.Database, clusters: list[Cluster]) -> list[Cluster]:
    """Add to each cluster the curators' actions taken on any of its questions (attach or draft)."""
    rows = list(db.query("select * from gap_actions order by id"))
    for cluster in clusters:
        ids = set(cluster.ids)
        cluster.actions = [{"action": r["action"], "entry_id": r["entry_id"], "proposal_id": r["proposal_id"],
                            "at": r["at"], "state": _proposal_state(db, r["proposal_id"])}
                           for r in rows if ids & set(json.loads(r["question_ids"]))]
    return clusters


def _proposal_state(db: sqlite_utils.Database, proposal_id: int | None) -> str | None:
    if proposal_id is None:
        return None
    row = db.execute("select state from proposals where id = ?", [proposal_id]).fetchone()
    return row[0] if row else None


def record_action(db: sqlite_utils.Database, lang: str, question_ids: Iterable[int], action: str, actor: str,
                  at: datetime, entry_id: str | None = None, proposal_id: int | None = None) -> None:
    """Remember what a curator did about a cluster, by its question ids (the text stays in question_log)."""
    from .curation import audit

    ids = sorted(question_ids)
    with db.conn:
        db.execute("begin immediate")
        db.execute("insert into gap_actions (action, lang, question_ids, entry_id, proposal_id, actor, at) "
                   "values (?, ?, ?, ?, ?, ?, ?)", [action, lang, json.dumps(ids), entry_id, proposal_id, actor, iso(at)])
        audit(db, at, actor, f"gap_{action}", entry_id, None,
              {"lang": lang, "question_ids": ids, "proposal": proposal_id})


def find_gaps(db: sqlite_utils.Database, embedder: Embedder, segmenter: Segmenter, now: datetime, days: int = 90,
              check: Check | None = None, limit: int | None = None, low_confidence: float = LOW_CONFIDENCE,
              thresholds: dict[str, float] | None = None, dense_weight: dict[str, float] | None = None,
              idf: dict[str, Callable[[str], float]] | None = None) -> list[Cluster]:
    """The clusters of the last `days`, biggest first, with actions taken and (given `check`) answered-now counts."""
    questions = gap_questions(db, now - timedelta(days=days), low_confidence)
    clusters = cluster_questions(questions, embedder, segmenter, thresholds, dense_weight, idf)
    if limit is not None:
        clusters = clusters[:limit]
    attach_actions(db, clusters)
    if check is not None:
        for cluster in clusters:
            recheck(cluster, check)
    return clusters


def find_cluster(clusters: list[Cluster], question_id: int) -> Cluster | None:
    return next((c for c in clusters if question_id in c.ids), None)
