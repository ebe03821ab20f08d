"""The one entry point every front end uses: triage first, then retrieval, then a structured result."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import sqlite_utils

from knowledge.clock import Clock, utc_now
from knowledge.privacy import anonymise, children_names
from knowledge.safety import TriageResult

from knowledge.sections import rest_of_body, split_sections

from knowledge.chatter import Chatter
from .search import Retriever, SearchOutcome, detect_language

if TYPE_CHECKING:
    from knowledge.safety import Triage
    from knowledge.safety.check import SafetyCheck

log = logging.getLogger(__name__)

TRIAGE_KINDS = ("emergency", "urgent", "crisis", "safeguarding", "refused", "out_of_scope")
CHATTER_KINDS = ("small_talk", "not_parenting")  # not searched, never a content gap
KINDS = ("answer", "no_answer") + TRIAGE_KINDS + CHATTER_KINDS
# Characters: a body this short is shown whole, with no "read the whole guide" (Chinese says as much in fewer).
SHORT_BODY = {"en": 700, "zh": 300}


@dataclass
class Result:
    kind: str
    lang: str
    question_lang: str
    entry_id: str | None = None
    title: str | None = None
    topic: str | None = None
    age_range: list[int] | None = None
    score: float | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    reviewed: str | None = None      # the date of the newest source check or approval (None: not checked yet)
    review_state: str | None = None  # drafted / source-checked / approved: what the "Reviewed" line says
    related: list[dict[str, str]] = field(default_factory=list)
    signs: list[str] = field(default_factory=list)
    hypothetical: bool = False
    age_months: float | None = None
    degraded: bool = False     # retrieval was unavailable; triage still ran
    question_id: int | None = None
    text: str = ""             # the rendered reply (when the answerer was given a renderer)
    out_of_scope: dict[str, str] | None = None  # {"id", "label"}: a subject the guidance does not cover
    safety_box: list[dict[str, str]] = field(default_factory=list)  # [{"when", "text"}]: opens a health answer
    levels: list[str] = field(default_factory=list)  # every triage level among the signs, most serious first
    triage_line: str | None = None   # "rules" or "semantic": which safety line escalated
    venting: bool = False            # a parent at the end of their tether: the reply opens calmly
    section: int | None = None       # which section of the body answers the question (None: the whole body)
    lead: str = ""                   # what the reply opens with: that section, or the whole body
    rest: str = ""                   # the body's other sections, behind "Read the whole guide"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# (result, the answered entry's body in the reply language or None, the user's region code) -> reply text
RenderResult = Callable[[Result, "str | None", "str | None"], str]


SAFETY_BOX_LINES = 4


def answer_result(entry, lang: str, question_lang: str, age: float | None, related: list[dict[str, str]],
                  score: float | None = None) -> Result:
    """An answer from one whole entry, with its sources, review date and safety box."""
    return Result(
        "answer", lang, question_lang, entry_id=entry.id, title=entry.text(lang).title, topic=entry.topic,
        age_range=[entry.age_min, entry.age_max], score=score, sources=[s.as_dict() for s in entry.sources],
        reviewed=entry.reviewed.isoformat() if entry.reviewed else None, review_state=entry.review_state,
        related=related, age_months=age,
        safety_box=safety_box(entry, lang, age))


def safety_box(entry, lang: str, age_months: float | None) -> list[dict[str, str]]:
    """The entry's red flags that hold at the child's age, most urgent first, at most four lines: a parent whose
    message slipped past triage still reads when to get help before the article."""
    rows = [f for f in entry.red_flags if f.applies(age_months)]
    return [{"when": f.when, "text": f.texts.get(lang) or f.texts["en"]} for f in rows[:SAFETY_BOX_LINES]]


def lead_with_section(result: Result, body: str, section: int | None) -> None:
    """Open the reply with the section that answers the question and keep the rest behind "Read the whole guide";
    a short body, or one without sections, is shown whole."""
    sections = split_sections(body)
    if section is None or len(body) <= SHORT_BODY.get(result.lang, 700) or not 0 <= section < len(sections):
        result.section, result.lead, result.rest = None, body, ""
        return
    result.section, result.lead, result.rest = section, sections[section].text, rest_of_body(sections, section)


class Answerer:
    """message -> triage -> retrieval -> rendering: every front end asks here and gets the whole result."""

    def __init__(self, triage: "SafetyCheck | Triage", retriever: Retriever | None, db: sqlite_utils.Database | None,
                 clock: Clock = utc_now, render: RenderResult | None = None, chatter: Chatter | None = None):
        self.triage, self.retriever, self.db, self.clock, self.render = triage, retriever, db, clock, render
        self.chatter = chatter

    def answer(self, question: str, lang: str | None = None, age_months: float | None = None,
               user_id: int | None = None, mode: str = "hybrid", log_question: bool = True,
               region: str | None = None) -> Result:
        question_lang = detect_language(question)
        reply_lang = lang or question_lang
        checked: TriageResult = self.triage.check(question, age_months)
        age = checked.age_months if checked.age_months is not None else age_months
        body = None
        if checked.kind in TRIAGE_KINDS:
            result = Result(checked.kind, reply_lang, question_lang, signs=list(checked.signs),
                            hypothetical=checked.hypothetical, age_months=age, levels=list(checked.levels),
                            triage_line=checked.line)
            self.record(result, "", user_id, log_question)
        elif self.chatter is not None and (chat := self.chatter.classify(question)):
            result = Result(chat, reply_lang, question_lang, age_months=age)
            self.record(result, "", user_id, log_question)
        else:
            try:
                if self.retriever is None:
                    raise RuntimeError("retrieval is not available")
                outcome = self.retriever.search(question, question_lang, age, mode=mode)
            except Exception:  # a broken index or model must not stop the reply; triage already ran
                log.exception("retrieval failed")
                result = Result("no_answer", reply_lang, question_lang, age_months=age, degraded=True)
            else:
                result = self._from_outcome(outcome, reply_lang, question_lang, age)
                if outcome.best is not None and result.kind == "answer":
                    body = outcome.best.entry.text(reply_lang).body
                    lead_with_section(result, body, self.retriever.section_for(outcome.best.entry, reply_lang,
                                                                               outcome))
                if checked.venting:
                    calm = self._calm_reply(result, reply_lang, age)
                    if calm is not None:
                        result, body = calm
                        lead_with_section(result, body, None)
                    result.venting = True
            self.record(result, question, user_id, log_question)
        if self.render is not None:
            result.text = self.render(result, body, region)
        return result

    def _calm_reply(self, result: Result, lang: str, age: float | None) -> tuple[Result, str] | None:
        """A venting parent gets the crying-baby plan, unless the answer found is already about crying or the
        parent's wellbeing."""
        if result.kind == "answer" and result.topic in ("crying", "wellbeing"):
            return None
        entry_id = self.triage.support.get("venting_entry")
        snapshot = self.retriever.live.snapshot if self.retriever is not None else None
        entry = snapshot.entries.get(entry_id) if snapshot is not None and entry_id else None
        if entry is None:
            return None
        calm = answer_result(entry, lang, result.question_lang, age, related=[], score=result.score)
        return calm, entry.text(lang).body

    def _from_outcome(self, outcome: SearchOutcome, lang: str, question_lang: str, age: float | None) -> Result:
        best = outcome.best
        if not outcome.confident and not outcome.known and (outcome.candidates or outcome.scope):
            # Not one word of it is in the guidance or its out-of-scope subjects: gibberish, not a gap.
            return Result("not_parenting", lang, question_lang, age_months=age)
        if best is None or not outcome.confident:
            declined = outcome.declined
            if declined is not None:
                # A subject the guidance does not cover: the reply names it, and offers no entries (they would
                # only share its words: "flying abroad with a baby" is not about flat heads or falls).
                label = declined.labels.get(lang) or next(iter(declined.labels.values()))
                return Result("no_answer", lang, question_lang, score=outcome.confidence, age_months=age,
                              out_of_scope={"id": declined.topic, "label": label})
            related = [{"id": c.entry.id, "title": c.entry.text(lang).title} for c in outcome.candidates[:3]]
            return Result("no_answer", lang, question_lang, score=outcome.confidence, related=related, age_months=age)
        related = [{"id": c.entry.id, "title": c.entry.text(lang).title} for c in outcome.candidates[1:4]]
        return answer_result(best.entry, lang, question_lang, age, related, outcome.confidence)

    def record(self, result: Result, question: str, user_id: int | None, enabled: bool = True) -> None:
        """Add the question to the log curators and stats read; sets result.question_id."""
        if not enabled or self.db is None:
            return
        try:
            with self.db.conn:
                cursor = self.db.execute(
                    "insert into question_log (user_id, asked_at, lang, question, kind, entry_id, score, age_months) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?)",
                    # Triage outcomes are counted but their text is not kept: it is about a child in trouble and
                    # curators need only the questions the knowledge base could not answer well.
                    # The words are stored anonymised (knowledge/privacy.py): curators see only that.
                    [user_id, self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"), result.question_lang,
                     anonymise(question, children_names(self.db, user_id))
                     if result.kind in ("answer", "no_answer") else "", result.kind, result.entry_id,
                     result.score, result.age_months])
                result.question_id = cursor.lastrowid
        except Exception:  # logging a question must never cost the parent the answer
            log.exception("could not log question")
