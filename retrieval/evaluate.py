"""Evaluation on labelled files: retrieval (hit@k, MRR, abstention) and triage (recall, false alarms)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from .answer import TRIAGE_KINDS, Answerer
from .search import Calibration, Retriever, detect_language


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
        escalated = result.kind in ("emergency", "urgent", "crisis", "safeguarding")
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


def calibrate(answerer: Answerer, items: list[dict[str, Any]], max_wrong_abstentions: float = 0.05) -> dict[str, Any]:
    """Search the thresholds that keep wrong abstentions at or under 5% while maximising abstention recall.
    Messages triage escalates or refuses never reach the thresholds, so they are left out."""
    retriever: Retriever = answerer.retriever
    base = retriever.calibration
    best: dict[str, Any] = {}
    for lang in ("en", "zh"):
        outcomes = []
        for item in items:
            if (item.get("lang") or detect_language(item["question"])) != lang:
                continue
            checked = answerer.triage.check(item["question"], item.get("age_months"))
            if checked.kind in TRIAGE_KINDS:
                continue
            top = retriever.search(item["question"], lang, checked.age_months, limit=1)
            outcomes.append((item.get("expected") != "no_answer", top.best.dense if top.best else 0.0,
                             top.best.coverage if top.best else 0.0, len(top.terms)))
        answerable = sum(1 for o in outcomes if o[0])
        unanswerable = len(outcomes) - answerable
        if not answerable:
            continue
        candidates = []
        dense_grid = [x / 100 for x in range(30, 100, 2)] + [1.01]  # 1.01: the dense score alone never answers
        for dense_min in dense_grid:
            for coverage_min in [x / 40 for x in range(4, 41)]:
                for floor in [x / 20 for x in range(0, 13)]:
                    wrong = caught = 0
                    for ok, dense, coverage, n_terms in outcomes:
                        answered = dense >= dense_min or (n_terms >= base.min_terms and coverage >= coverage_min
                                                          and dense >= floor)
                        wrong += ok and not answered
                        caught += (not ok) and not answered
                    if wrong / answerable <= max_wrong_abstentions:
                        candidates.append((caught / unanswerable if unanswerable else 0.0, -wrong, dense_min,
                                           coverage_min, floor))
        if candidates:
            recall, neg_wrong, dense_min, coverage_min, floor = max(candidates)
            best[lang] = {"dense_min": dense_min, "coverage_min": coverage_min, "coverage_dense_floor": floor,
                          "abstention_recall": round(recall, 4), "wrong_abstentions": -neg_wrong,
                          "answerable": answerable, "must_abstain": unanswerable}
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
    dense = dict(calibration.dense_min)
    coverage = dict(calibration.coverage_min)
    floor = dict(calibration.coverage_dense_floor)
    for lang, values in found.items():
        dense[lang], coverage[lang] = values["dense_min"], values["coverage_min"]
        floor[lang] = values["coverage_dense_floor"]
    return replace(calibration, dense_min=dense, coverage_min=coverage, coverage_dense_floor=floor)


def load_eval_files(paths: Iterable[Path]) -> list[dict[str, Any]]:
    items = []
    for path in paths:
        items.extend(read_jsonl(path))
    return items
