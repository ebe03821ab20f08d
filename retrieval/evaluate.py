"""Evaluation on labelled files: retrieval (hit@k, MRR, abstention) and triage (recall, false alarms)."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .answer import TRIAGE_KINDS, Answerer
from .search import SIGNALS, Retriever, answer_probability, detect_language

ESCALATIONS = ("emergency", "urgent", "crisis", "safeguarding")


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
    """What the confidence model is fitted to, for one language: each question's signals (`SIGNALS`) and whether
    it is answerable, and how many questions triage already settles (a refusal of an answerable question counts
    as a wrong abstention, a refusal of a must-not-answer question as a correct one; escalations count as
    neither). Questions no entry matches at all are never answered and are left out."""
    retriever: Retriever = answerer.retriever
    rows, answerable_flags = [], []
    refused_answerable = refused_unanswerable = 0  # settled without the model: by triage, or no entry matched
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
        if outcome.best is None:
            refused_answerable += answerable
            refused_unanswerable += not answerable
            continue
        signals = outcome.signals()
        rows.append([signals[name] for name in SIGNALS])
        answerable_flags.append(answerable)
    return {"signals": np.array(rows, dtype=float).reshape(len(rows), len(SIGNALS)),
            "answerable": np.array(answerable_flags, dtype=bool),
            "refused_answerable": refused_answerable, "refused_unanswerable": refused_unanswerable}


def fit_weights(signals: np.ndarray, answerable: np.ndarray, l2: float = 1.0, steps: int = 2000) -> dict[str, float]:
    """A logistic model of "answerable" over the signals, by gradient descent on standardised signals with both
    classes weighted equally (must-not-answer questions are the fewer) and a light L2 penalty; returned in raw
    signal units, rounded, so the same questions always give the same weights. A signal that does not vary
    (the cosine where the model is not run) gets weight 0."""
    mean, spread = signals.mean(axis=0), signals.std(axis=0)
    varies = spread > 1e-9
    z = np.where(varies, (signals - mean) / np.where(varies, spread, 1.0), 0.0)
    z = np.hstack([z, np.ones((len(z), 1))])
    y = answerable.astype(float)
    balance = np.where(answerable, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1.0 - y.mean(), 1e-9))
    penalty = np.append(np.full(signals.shape[1], l2), 0.0)
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        w -= (z.T @ ((p - y) * balance) + penalty * w) / len(y)
    raw = np.where(varies, w[:-1] / np.where(varies, spread, 1.0), 0.0)
    bias = w[-1] - float((raw * mean).sum())
    return {"bias": round(float(bias), 3), **{name: round(float(v), 3) for name, v in zip(SIGNALS, raw)}}


def fit_confidence(signals: np.ndarray, answerable: np.ndarray, budget: int) -> dict[str, Any] | None:
    """The weights, and the threshold that abstains on the most must-not-answer questions with at most `budget`
    answerable ones abstained. Of the thresholds that do, the one halfway between the last must-not-answer
    question it catches and the next answerable one: a threshold a hair from one question flips on the next
    question like it, and one higher than needed abstains on answerable questions for nothing."""
    if not answerable.any() or answerable.all() or budget < 0:
        return None
    weights = fit_weights(signals, answerable)
    probabilities = answer_probability(weights, signals)
    positives = np.sort(probabilities[answerable])
    highest = positives[min(budget, len(positives) - 1)]       # no threshold above this keeps within the budget
    caught = probabilities[~answerable & (probabilities < highest)]
    if caught.size:
        above = positives[positives > caught.max()]
        threshold = (caught.max() + above[0]) / 2 if above.size else float(highest)
    else:
        threshold = positives[0] / 2
    threshold = round(float(threshold), 6)
    answered = probabilities >= threshold
    return {"weights": weights, "threshold": threshold,
            "caught": int((~answered & ~answerable).sum()), "wrong": int((~answered & answerable).sum())}


def _budget(answerable: int, refused_answerable: int, max_wrong_abstentions: float) -> int:
    return int(max_wrong_abstentions * answerable + 1e-9) - refused_answerable


def cross_validate(data: dict[str, Any], max_wrong_abstentions: float = 0.05, folds: int = 5,
                   repeats: int = 5) -> dict[str, Any] | None:
    """The model fitted on 4/5 of the questions and measured on the other 1/5 (stratified, `repeats` shuffles):
    the figures to expect on new questions, unlike the ones on the questions it was fitted to."""
    signals, answerable = data["signals"], data["answerable"]
    positives, negatives = list(np.flatnonzero(answerable)), list(np.flatnonzero(~answerable))
    if len(positives) < folds or len(negatives) < folds:
        return None
    total_answerable = len(positives) + data["refused_answerable"]
    must_abstain = len(negatives) + data["refused_unanswerable"]
    wrong_total = caught_total = 0
    for repeat in range(repeats):
        rng = random.Random(repeat)
        pos, neg = positives[:], negatives[:]
        rng.shuffle(pos)
        rng.shuffle(neg)
        for fold in range(folds):
            held = np.zeros(len(answerable), dtype=bool)
            held[pos[fold::folds] + neg[fold::folds]] = True
            train_answerable = int(answerable[~held].sum()) + data["refused_answerable"]
            found = fit_confidence(signals[~held], answerable[~held],
                                   _budget(train_answerable, data["refused_answerable"], max_wrong_abstentions))
            answered = (answer_probability(found["weights"], signals[held]) >= found["threshold"]) if found \
                else np.zeros(int(held.sum()), dtype=bool)
            wrong_total += int((~answered & answerable[held]).sum())
            caught_total += int((~answered & ~answerable[held]).sum())
    # Held-out counts summed over the folds cover every question once per repeat; triage's share is added back.
    return {"folds": folds, "repeats": repeats,
            "abstention_recall": round((caught_total / repeats + data["refused_unanswerable"]) / must_abstain, 4),
            "wrongly_abstained": round((wrong_total / repeats + data["refused_answerable"]) / total_answerable, 4)}


def calibrate(answerer: Answerer, items: list[dict[str, Any]], max_wrong_abstentions: float = 0.05,
              cross_validation: bool = True) -> dict[str, Any]:
    """Per language, the confidence model and the threshold that keep wrong abstentions at or under 5% of the
    answerable questions while abstaining on as many must-not-answer questions as possible; with the figures
    they reach on these questions and, cross-validated, on questions they were not fitted to."""
    best: dict[str, Any] = {}
    for lang in ("en", "zh"):
        data = calibration_outcomes(answerer, items, lang)
        answerable = int(data["answerable"].sum()) + data["refused_answerable"]
        must_abstain = int((~data["answerable"]).sum()) + data["refused_unanswerable"]
        if not answerable:
            continue
        found = fit_confidence(data["signals"], data["answerable"],
                               _budget(answerable, data["refused_answerable"], max_wrong_abstentions))
        if found is None:
            continue
        best[lang] = {
            "weights": found["weights"], "threshold": found["threshold"],
            "abstention_recall": _ratio(found["caught"] + data["refused_unanswerable"], must_abstain),
            "wrongly_abstained": _ratio(found["wrong"] + data["refused_answerable"], answerable),
            "answerable": answerable, "must_abstain": must_abstain,
        }
        if cross_validation:
            best[lang]["cross_validated"] = cross_validate(data, max_wrong_abstentions)
    return best


def evaluate_triage(triage, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall per expected level, per language and per sign, recall of emergency and urgent together, and false
    alarms per language on messages that must not escalate.

    An escalation at a more serious level counts as caught (urgent sent to emergency is the safe direction); an
    emergency caught at any escalating level counts for "emergencies escalated"; a message expected "none"
    that escalates is a false alarm."""
    by_group: dict[tuple[str, str], list[bool]] = defaultdict(list)
    by_sign: dict[str, list[bool]] = defaultdict(list)
    severe: dict[str, list[bool]] = defaultdict(list)            # emergency and urgent together, per language
    emergencies: dict[str, list[bool]] = defaultdict(list)       # emergencies escalated at any level
    false_alarms: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for item in items:
        result = triage.check(item["text"], item.get("age_months"))
        expected, lang = item["expected"], item.get("lang") or detect_language(item["text"])
        if expected == "none":
            alarmed = result.kind in ESCALATIONS
            false_alarms[lang].append(alarmed)
            if alarmed:
                misses.append({"id": item.get("id"), "expected": expected, "got": result.kind,
                               "signs": list(result.signs)})
            continue
        caught = result.kind == expected or (expected == "urgent" and result.kind == "emergency")
        if expected in ("refused", "out_of_scope"):
            caught = caught or result.kind in ESCALATIONS or (expected == "out_of_scope" and result.kind == "refused")
        by_group[(expected, lang)].append(caught)
        if item.get("sign"):
            by_sign[str(item["sign"])].append(caught)
        if expected in ("emergency", "urgent"):
            severe[lang].append(result.kind in ("emergency", "urgent"))
        if expected == "emergency":
            emergencies[lang].append(result.kind in ESCALATIONS)
        if not caught:
            misses.append({"id": item.get("id"), "expected": expected, "got": result.kind, "signs": list(result.signs)})

    def rates(groups: dict[str, list[bool]], key: str = "recall") -> dict[str, Any]:
        out = {lang: {"n": len(v), key: _ratio(sum(v), len(v))} for lang, v in sorted(groups.items())}
        flat = [x for v in groups.values() for x in v]
        out["all"] = {"n": len(flat), key: _ratio(sum(flat), len(flat))}
        return out

    recall: dict[str, dict[str, Any]] = defaultdict(dict)
    for (expected, lang), hits in sorted(by_group.items()):
        recall[expected][lang] = {"n": len(hits), "recall": _ratio(sum(hits), len(hits))}
    for expected in list(recall):
        hits = [h for (e, _), group in by_group.items() if e == expected for h in group]
        recall[expected]["all"] = {"n": len(hits), "recall": _ratio(sum(hits), len(hits))}
    return {
        "messages": len(items),
        "recall": recall,
        "emergency_and_urgent_recall": rates(severe),
        "emergencies_escalated": rates(emergencies),
        "false_alarm_rate": rates(false_alarms, "rate"),
        "recall_by_sign": {sign: {"n": len(v), "recall": _ratio(sum(v), len(v))} for sign, v in sorted(by_sign.items())},
        "misses": misses,
    }


def load_eval_files(paths: Iterable[Path]) -> list[dict[str, Any]]:
    items = []
    for path in paths:
        items.extend(read_jsonl(path))
    return items
