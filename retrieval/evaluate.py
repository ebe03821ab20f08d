"""Evaluation on labelled files: retrieval (hit@k, MRR, abstention) and triage (recall, false alarms)."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .answer import TRIAGE_KINDS, Answerer
from .search import Calibration, Retriever, detect_language

ESCALATIONS = ("emergency", "urgent", "crisis", "safeguarding")
NEVER = 1.01  # a known_min no question reaches: `known` alone never answers
NEVER_DECLINE = 9.99  # a scope_margin no question reaches: subjects the guidance does not cover never decline


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return items


def file_kind(items: list[dict[str, Any]]) -> str:
    """'triage' for files of messages with expected triage outcomes, else 'retrieval'."""
    return "triage" if items and "text" in items[0] and "question" not in items[0] else "retrieval"


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def evaluate_retrieval(answerer: Answerer, items: list[dict[str, Any]], mode: str = "hybrid") -> dict[str, Any]:
    """Ranking quality on answerable questions and abstention quality on all, per language and overall."""
    rows = []
    for item in items:
        lang = item.get("lang") or detect_language(item["question"])
        result = answerer.answer(item["question"], lang, item.get("age_months"), mode=mode, log_question=False)
        outcome = answerer.retriever.search(item["question"], detect_language(item["question"]),
                                            result.age_months, mode=mode, limit=10)
        ranked = [c.entry.id for c in outcome.candidates]
        expected = item.get("expected_ids") or []
        answerable = item.get("expected") != "no_answer"
        rank = next((i for i, entry_id in enumerate(ranked) if entry_id in expected), None) if answerable else None
        # A red flag sent to emergency or same-day advice is the safe answer, not an abstention.
        escalated = result.kind in ESCALATIONS
        rows.append({"id": item.get("id"), "lang": lang, "answerable": answerable and not escalated, "rank": rank,
                     "escalated": escalated, "has_expected": answerable, "abstained": result.kind != "answer", "kind": result.kind,
                     "answered_id": result.entry_id, "correct_answer": result.entry_id in expected})
    report = {"mode": mode, "overall": _retrieval_metrics(rows)}
    for lang in sorted({r["lang"] for r in rows}):
        report[lang] = _retrieval_metrics([r for r in rows if r["lang"] == lang])
    report["misses"] = [r["id"] for r in rows if r["answerable"] and (r["rank"] is None or r["rank"] >= 3)]
    report["wrong_abstentions"] = [r["id"] for r in rows if r["answerable"] and r["abstained"]]
    report["wrong_answers"] = [r["id"] for r in rows if not r["answerable"] and not r["abstained"]]
    return report


def _retrieval_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"] and not r["escalated"]]
    abstained = [r for r in rows if r["abstained"] and not r["escalated"]]
    ranked = [r for r in rows if r["answerable"] or (r["escalated"] and r["has_expected"])]
    hit = lambda k: _ratio(sum(1 for r in ranked if r["rank"] is not None and r["rank"] < k), len(ranked))  # noqa: E731
    return {
        "questions": len(rows), "answerable": len(answerable), "must_abstain": len(unanswerable),
        "escalated_by_triage": sum(1 for r in rows if r["escalated"]),
        "hit@1": hit(1), "hit@3": hit(3),
        "mrr": _ratio(sum(1 / (r["rank"] + 1) for r in ranked if r["rank"] is not None), len(ranked)),
        "answered_correctly": _ratio(sum(1 for r in answerable if r["correct_answer"]), len(answerable)),
        "abstention_precision": _ratio(sum(1 for r in abstained if not r["answerable"]), len(abstained)),
        "abstention_recall": _ratio(sum(1 for r in unanswerable if r["abstained"]), len(unanswerable)),
        "wrongly_abstained": _ratio(sum(1 for r in answerable if r["abstained"]), len(answerable)),
    }


def calibration_outcomes(answerer: Answerer, items: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """What the thresholds are chosen from, for one language: the signals of each question's best entry, and how
    many questions triage already settles (a refusal of an answerable question counts as a wrong abstention,
    a refusal of a must-not-answer question as a correct one; escalations count as neither)."""
    retriever: Retriever = answerer.retriever
    signals, refused_answerable, refused_unanswerable = [], 0, 0
    for item in items:
        if (item.get("lang") or detect_language(item["question"])) != lang:
            continue
        answerable = item.get("expected") != "no_answer"
        checked = answerer.triage.check(item["question"], item.get("age_months"))
        if checked.kind in ESCALATIONS:
            continue
        if checked.kind in TRIAGE_KINDS:
            refused_answerable += answerable
            refused_unanswerable += not answerable
            continue
        outcome = retriever.search(item["question"], lang, checked.age_months, limit=1)
        best = outcome.best
        signals.append((answerable, best.dense if best else 0.0, best.coverage if best else 0.0, outcome.known,
                        len(outcome.terms), tuple((s.dense, s.coverage) for s in outcome.scope) if best else ()))
    return {"signals": signals, "refused_answerable": refused_answerable,
            "refused_unanswerable": refused_unanswerable}


@dataclass(frozen=True)
class _Signals:
    """Calibration signals as arrays over the questions (what the decision rule reads), for one language."""

    answerable: np.ndarray     # (n,) bool
    dense: np.ndarray          # (n,) dense part of the best entry's match (dense_weight applied)
    coverage: np.ndarray       # (n,) the best entry's coverage, 0 where the question has too few terms
    known: np.ndarray          # (n,) the known share, -1 where the question has too few terms
    scope_dense: np.ndarray    # (n, subjects) dense part of each subject's match
    scope_coverage: np.ndarray  # (n, subjects) each subject's coverage, 0 where too few terms

    @classmethod
    def of(cls, signals: list[tuple], base: Calibration, lang: str) -> "_Signals":
        dense_weight = base.dense_weight.get(lang, 1.0)
        enough = np.array([s[4] for s in signals]) >= base.min_terms
        subjects = max((len(s[5]) for s in signals), default=0)
        scope_dense, scope_coverage = np.zeros((len(signals), subjects)), np.zeros((len(signals), subjects))
        for i, signal in enumerate(signals):
            for j, (topic_dense, topic_coverage) in enumerate(signal[5]):
                scope_dense[i, j] = dense_weight * topic_dense
                scope_coverage[i, j] = topic_coverage if enough[i] else 0.0
        return cls(np.array([s[0] for s in signals], dtype=bool), np.array([s[1] for s in signals]) * dense_weight,
                   np.where(enough, np.array([s[2] for s in signals]), 0.0),
                   np.where(enough, np.array([s[3] for s in signals]), -1.0), scope_dense, scope_coverage)

    def answered(self, weight: float, match_grid: np.ndarray, known_grid: np.ndarray,
                 margin_grid: np.ndarray) -> np.ndarray:
        """Whether each question is answered under every (match_min, known_min, scope_margin) on the grids, with
        this coverage weight: (M, K, G, n). The rule `Retriever` applies, on many thresholds at once."""
        match = self.dense + weight * self.coverage
        by_match = match[None, :] >= match_grid[:, None]                               # (M, n)
        by_known = self.known[None, :] >= known_grid[:, None]                          # (K, n)
        scope_match = (self.scope_dense + weight * self.scope_coverage).max(axis=1, initial=0.0)
        declined = (scope_match - match)[None, :] >= margin_grid[:, None]              # (G, n)
        return (by_match[:, None, None, :] | by_known[None, :, None, :]) & ~declined[None, None, :, :]


def fit_thresholds(signals: list[tuple], base: Calibration, lang: str, budget: int) -> dict[str, Any] | None:
    """The (coverage_weight, match_min, known_min, scope_margin) that abstain on the most must-not-answer
    questions with at most `budget` answerable questions abstained (then the fewest answerable ones abstained)."""
    if not signals:
        return None
    arrays = _Signals.of(signals, base, lang)
    margin_grid = np.append(np.round(np.arange(0.0, 0.6001, 0.02), 2), NEVER_DECLINE) \
        if arrays.scope_dense.shape[1] else np.array([NEVER_DECLINE])
    match_grid = np.round(np.arange(0.0, 1.5, 0.01), 2)
    if base.dense_weight.get(lang, 1.0) == 0:
        # Keywords alone: the coverage weight only rescales match_min, and a question made of words the entries
        # use may answer on a weak match (parents' wording rarely repeats an entry's).
        weights, known_grid = [1.0], np.append(np.round(np.arange(0.3, 1.0001, 0.02), 2), NEVER)
    else:
        # Where the model judges meaning it decides: familiar words with a poor match ("diet pills while
        # breastfeeding") are no reason to answer, and the words an entry shares with the question only refine
        # the model's judgement (a weight above half lets "change the oil in my car" answer from ear drops).
        weights, known_grid = [round(float(w), 2) for w in np.arange(0.0, 0.51, 0.1)], np.array([NEVER])
    scores: dict[float, tuple] = {}
    for weight in weights:
        answered = arrays.answered(weight, match_grid, known_grid, margin_grid)       # (M, K, G, n)
        wrong = (~answered & arrays.answerable).sum(axis=3)
        caught = (~answered & ~arrays.answerable).sum(axis=3)
        # Most must-not-answer questions abstained first, then fewest answerable ones.
        scores[weight] = (np.where(wrong <= budget, caught * (len(signals) + 1) - wrong, -1), caught, wrong)
    top = max(int(score.max()) for score, _, _ in scores.values())
    if top < 0:
        return None
    # Many thresholds do equally well on these questions. Take the weight with the widest range of them, and the
    # middle of that range: a threshold a hair from one dev question flips on the next question like it.
    weight = max(scores, key=lambda w: (int((scores[w][0] == top).sum()), -w))
    score, caught, wrong = scores[weight]
    cells = sorted(zip(*np.nonzero(score == top)))
    m = cells[len(cells) // 2][0]
    ks = sorted({k for mm, k, _ in cells if mm == m})
    k = ks[len(ks) // 2]
    gs = [g for mm, kk, g in cells if mm == m and kk == k]
    g = gs[len(gs) // 2]
    return {"coverage_weight": float(weight), "match_min": float(match_grid[m]), "known_min": float(known_grid[k]),
            "scope_margin": float(margin_grid[g]), "caught": int(caught[m, k, g]), "wrong": int(wrong[m, k, g])}


def _answered(signals: list[tuple], base: Calibration, lang: str, found: dict[str, Any]) -> list[bool]:
    grid = _Signals.of(signals, base, lang).answered(
        found["coverage_weight"], np.array([found["match_min"]]), np.array([found["known_min"]]),
        np.array([found["scope_margin"]]))
    return [bool(a) for a in grid[0, 0, 0]]


def _budget(answerable: int, refused_answerable: int, max_wrong_abstentions: float) -> int:
    return int(max_wrong_abstentions * answerable + 1e-9) - refused_answerable


def cross_validate(data: dict[str, Any], base: Calibration, lang: str, max_wrong_abstentions: float = 0.05,
                   folds: int = 5, repeats: int = 5) -> dict[str, Any] | None:
    """Thresholds chosen on 4/5 of the questions and measured on the other 1/5 (stratified, `repeats` shuffles):
    the figures to expect on new questions, unlike the dev-set ones the thresholds were fitted to."""
    signals = data["signals"]
    positives = [i for i, s in enumerate(signals) if s[0]]
    negatives = [i for i, s in enumerate(signals) if not s[0]]
    if len(positives) < folds or len(negatives) < folds:
        return None
    answerable = len(positives) + data["refused_answerable"]
    must_abstain = len(negatives) + data["refused_unanswerable"]
    wrong_total = caught_total = 0
    for repeat in range(repeats):
        rng = random.Random(repeat)
        pos, neg = positives[:], negatives[:]
        rng.shuffle(pos)
        rng.shuffle(neg)
        for fold in range(folds):
            held = set(pos[fold::folds] + neg[fold::folds])
            train = [s for i, s in enumerate(signals) if i not in held]
            train_answerable = sum(1 for s in train if s[0]) + data["refused_answerable"]
            found = fit_thresholds(train, base, lang,
                                   _budget(train_answerable, data["refused_answerable"], max_wrong_abstentions))
            test = [signals[i] for i in sorted(held)]
            answered = _answered(test, base, lang, found) if found else [False] * len(test)
            wrong_total += sum(1 for s, a in zip(test, answered) if s[0] and not a)
            caught_total += sum(1 for s, a in zip(test, answered) if not s[0] and not a)
    # Held-out counts summed over the folds cover every question once per repeat; triage's share is added back.
    return {"folds": folds, "repeats": repeats,
            "abstention_recall": round((caught_total / repeats + data["refused_unanswerable"]) / must_abstain, 4),
            "wrongly_abstained": round((wrong_total / repeats + data["refused_answerable"]) / answerable, 4)}


def calibrate(answerer: Answerer, items: list[dict[str, Any]], max_wrong_abstentions: float = 0.05,
              cross_validation: bool = True) -> dict[str, Any]:
    """Per language, the thresholds that keep wrong abstentions at or under 5% of the answerable questions while
    abstaining on as many must-not-answer questions as possible; with the figures they reach on these questions
    and, cross-validated, on questions they were not fitted to."""
    base = answerer.retriever.calibration
    best: dict[str, Any] = {}
    for lang in ("en", "zh"):
        data = calibration_outcomes(answerer, items, lang)
        signals = data["signals"]
        answerable = sum(1 for s in signals if s[0]) + data["refused_answerable"]
        must_abstain = sum(1 for s in signals if not s[0]) + data["refused_unanswerable"]
        if not answerable:
            continue
        found = fit_thresholds(signals, base, lang,
                               _budget(answerable, data["refused_answerable"], max_wrong_abstentions))
        if found is None:
            continue
        best[lang] = {
            "coverage_weight": found["coverage_weight"], "match_min": found["match_min"],
            "known_min": found["known_min"], "scope_margin": found["scope_margin"],
            "abstention_recall": _ratio(found["caught"] + data["refused_unanswerable"], must_abstain),
            "wrongly_abstained": _ratio(found["wrong"] + data["refused_answerable"], answerable),
            "answerable": answerable, "must_abstain": must_abstain,
        }
        if cross_validation:
            best[lang]["cross_validated"] = cross_validate(data, base, lang, max_wrong_abstentions)
    return best


def evaluate_triage(triage, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall per expected outcome and language, and the false-alarm rate on messages that must not escalate."""
    by_group: dict[tuple[str, str], list[bool]] = defaultdict(list)
    false_alarms: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for item in items:
        result = triage.check(item["text"], item.get("age_months"))
        expected, lang = item["expected"], item.get("lang") or detect_language(item["text"])
        if expected == "none":
            alarmed = result.kind in ("emergency", "urgent", "crisis", "safeguarding")
            false_alarms[lang].append(alarmed)
            if alarmed:
                misses.append({"id": item.get("id"), "expected": expected, "got": result.kind})
            continue
        # Over-triage is the safe direction: an emergency where urgent was expected still counts as caught.
        caught = result.kind == expected or (expected == "urgent" and result.kind == "emergency")
        by_group[(expected, lang)].append(caught)
        if not caught:
            misses.append({"id": item.get("id"), "expected": expected, "got": result.kind})
    recall: dict[str, dict[str, Any]] = defaultdict(dict)
    for (expected, lang), hits in sorted(by_group.items()):
        recall[expected][lang] = {"n": len(hits), "recall": _ratio(sum(hits), len(hits))}
    for expected in list(recall):
        hits = [h for (e, _), group in by_group.items() if e == expected for h in group]
        recall[expected]["all"] = {"n": len(hits), "recall": _ratio(sum(hits), len(hits))}
    all_alarms = [a for group in false_alarms.values() for a in group]
    return {
        "messages": len(items),
        "recall": recall,
        "false_alarm_rate": {**{lang: {"n": len(a), "rate": _ratio(sum(a), len(a))} for lang, a in false_alarms.items()},
                             "all": {"n": len(all_alarms), "rate": _ratio(sum(all_alarms), len(all_alarms))}},
        "misses": misses,
    }


def with_thresholds(calibration: Calibration, found: dict[str, Any]) -> Calibration:
    """`calibration` with the thresholds `calibrate` found (per language) in place of its own."""
    changes = {}
    for name in ("coverage_weight", "match_min", "known_min", "scope_margin"):
        values = dict(getattr(calibration, name))
        for lang, chosen in found.items():
            values[lang] = chosen[name]
        changes[name] = values
    return replace(calibration, **changes)


def load_eval_files(paths: Iterable[Path]) -> list[dict[str, Any]]:
    items = []
    for path in paths:
        items.extend(read_jsonl(path))
    return items
