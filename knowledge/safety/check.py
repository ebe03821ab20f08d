"""The whole safety check every message passes first: the sign table's rules, then, where they are silent, the
semantic line. Both front ends, `sprout ask` and `sprout eval` go through this one object."""

from __future__ import annotations

import dataclasses
import logging

from .semantic import SemanticLine
from .triage import _CJK, Triage, TriageResult

log = logging.getLogger(__name__)


class SafetyCheck:
    def __init__(self, triage: Triage, semantic: SemanticLine | None = None):
        self.triage, self.semantic = triage, semantic
        self.support = triage.support            # entries the answerer turns to (the crying plan for venting)

    def check(self, text: str, child_age_months: float | None = None) -> TriageResult:
        result = self.triage.check(text, child_age_months)
        if result.kind != "none" or self.semantic is None or result.venting:
            return result            # venting without a sign is answered calmly, never escalated by similarity
        lang = "zh" if _CJK.search(text or "") else "en"
        try:
            hit = self.semantic.check(text, lang, skip=("child",) if result.reassured else ())
        except Exception:  # a broken embedder must never cost the parent the rules' answer
            log.exception("semantic triage line failed")
            return result
        if hit is None:
            return result
        return dataclasses.replace(result, kind=hit.level, signs=(f"semantic_{hit.probe}",), levels=(hit.level,),
                                   line="semantic")
