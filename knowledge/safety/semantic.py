"""The semantic second line of triage: where the sign table's rules are silent, the message is embedded with the
multilingual model and scored by one linear probe per level (child emergency or same-day, caregiver crisis,
safeguarding). A probe escalates only above its threshold, and only in the languages where cross-validation
showed it separates red flags from near-misses (content/safety/semantic_line.json says which).

The probes are fitted by `sprout safety fit` on the development pool (the triage sets, pooled after they were
measured once) plus the knowledge base's example questions as ordinary messages; thresholds are chosen on
cross-validated scores so that at most `max_false_alarms` of the rule-silent near-misses of the triage sets, and
at most `max_kb_false_alarms` of the knowledge base's questions, escalate.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

log = logging.getLogger(__name__)

PARAMS_PATH = Path("safety") / "semantic_line.json"
# The probes and the level each one reports, most serious first.
PROBES = (("child", "urgent"), ("crisis", "crisis"), ("safeguarding", "safeguarding"))
PROBE_OF_LEVEL = {"emergency": "child", "urgent": "child", "crisis": "crisis", "safeguarding": "safeguarding"}
SCALE = 10.0   # e5 cosines sit in a narrow band; scaling the inputs keeps gradient descent well conditioned

Encode = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class SemanticHit:
    level: str
    probe: str
    score: float       # the probe's logit minus its threshold: how far past the line


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_probe(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 800, rate: float = 0.5
              ) -> tuple[np.ndarray, float]:
    """Class-balanced logistic regression by gradient descent; deterministic for the same inputs."""
    x = x * SCALE
    w, b = np.zeros(x.shape[1]), 0.0
    positives = max(int(y.sum()), 1)
    weights = np.where(y, (len(y) - positives) / positives, 1.0)
    weights = weights / weights.mean()
    for _ in range(iterations):
        g = (_sigmoid(x @ w + b) - y) * weights
        w -= rate * (x.T @ g / len(y) + l2 * w / len(y))
        b -= rate * float(g.mean())
    return w, b


def _threshold(scores_negative: np.ndarray, max_false_alarms: float) -> float:
    """The lowest threshold at which at most max_false_alarms of the negatives score above it."""
    if not len(scores_negative):
        return 0.0
    ordered = np.sort(scores_negative)[::-1]
    allowed = int(np.floor(max_false_alarms * len(ordered)))
    return float(ordered[min(allowed, len(ordered) - 1)]) + 1e-6


def fit_semantic_line(vectors: np.ndarray, levels: Sequence[str], langs: Sequence[str], silent: Sequence[bool],
                      model_id: str, max_false_alarms: float = 0.03, min_recall: float = 0.25, folds: int = 5,
                      seed: int = 0, from_kb: Sequence[bool] | None = None,
                      max_kb_false_alarms: float = 0.01) -> dict[str, Any]:
    """Fit the probes and choose thresholds on cross-validated scores of the rule-silent messages.

    levels: the expected triage level of each text ("none" for ordinary messages and KB questions);
    silent: whether the rules said nothing (only those messages are ever scored at run time, so the false-alarm
    budget is spent on them). A language is switched on for a probe only if, cross-validated, it catches at
    least min_recall of that language's red flags within the false-alarm budget."""
    levels, langs, silent = np.array(levels), np.array(langs), np.array(silent, dtype=bool)
    from_kb = np.zeros(len(levels), bool) if from_kb is None else np.array(from_kb, dtype=bool)
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, folds, len(levels))
    params: dict[str, Any] = {"model_id": model_id, "max_false_alarms": max_false_alarms, "probes": {},
                              "cross_validated": {}}
    for probe, level in PROBES:
        y = np.array([PROBE_OF_LEVEL.get(str(v)) == probe for v in levels])
        if y.sum() < 5:
            continue
        oof = np.zeros(len(y))
        for k in range(folds):
            train = fold != k
            w, b = fit_probe(vectors[train], y[train])
            oof[~train] = (vectors[~train] * SCALE) @ w + b
        w, b = fit_probe(vectors, y)
        negatives = silent & ~y & (levels == "none")
        # Two budgets: the near-misses of the triage sets (look-alikes parents write) and the knowledge base's
        # everyday questions; the stricter threshold wins.
        threshold = max(_threshold(oof[negatives & ~from_kb], max_false_alarms),
                        _threshold(oof[negatives & from_kb], max_kb_false_alarms))
        figures, enabled = {}, []
        for lang in sorted(set(langs)):
            # Rules tuned on this pool leave few of its red flags to the probe, so its recall is measured on all
            # of them (cross-validated): what it would catch on its own where the rules fall silent.
            pos = y & (langs == lang)
            neg = negatives & ~from_kb & (langs == lang)
            caught = int((oof[pos] > threshold).sum())
            alarms = int((oof[neg] > threshold).sum())
            recall = caught / pos.sum() if pos.sum() else None
            figures[lang] = {"red_flags": int(pos.sum()), "caught": caught,
                             "recall": None if recall is None else round(recall, 3),
                             "near_misses": int(neg.sum()), "false_alarms": alarms,
                             "false_alarm_rate": round(alarms / neg.sum(), 4) if neg.sum() else None}
            if recall is not None and recall >= min_recall:
                enabled.append(lang)
        params["probes"][probe] = {"level": level, "weights": [round(float(v), 6) for v in w],
                                   "bias": round(float(b), 6), "threshold": round(threshold, 6),
                                   "languages": enabled}
        params["cross_validated"][probe] = figures
    return params


class SemanticLine:
    """Scores a message the rules were silent on; `check` returns a hit or None."""

    def __init__(self, params: Mapping[str, Any], encode: Encode):
        self.model_id = params["model_id"]
        self._encode = encode
        self._probes = []
        for probe, level in PROBES:
            p = params.get("probes", {}).get(probe)
            if p and p["languages"]:
                self._probes.append((probe, p["level"], np.asarray(p["weights"], dtype=np.float32) * SCALE,
                                     float(p["bias"]), float(p["threshold"]), frozenset(p["languages"])))

    def check(self, text: str, lang: str, skip: Sequence[str] = ()) -> SemanticHit | None:
        """The most confident probe past its threshold, or None; probes named in `skip` are not consulted."""
        probes = [p for p in self._probes if lang in p[5] and p[0] not in skip]
        if not probes:
            return None            # nothing to score in this language: the message is not embedded
        v = self._encode([text])[0]
        best = None
        for probe, level, w, b, threshold, _ in probes:
            margin = float(v @ w + b) - threshold
            if margin > 0 and (best is None or margin > best.score):
                best = SemanticHit(level, probe, round(margin, 3))
        return best


def load_semantic_line(content_dir: Path, encode: Encode | None, model_id: str | None) -> SemanticLine | None:
    """The shipped line, or None (with the reason logged) when it cannot be used: no parameters, no encoder, or
    parameters fitted for another model (its thresholds would mean nothing)."""
    path = Path(content_dir) / PARAMS_PATH
    if encode is None:
        log.warning("semantic triage line off: no multilingual embedder available")
        return None
    try:
        params = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("semantic triage line off: %s unreadable (%s)", path, exc)
        return None
    if params.get("model_id") != model_id:
        log.warning("semantic triage line off: fitted for %s, the embedder is %s", params.get("model_id"), model_id)
        return None
    return SemanticLine(params, encode)
