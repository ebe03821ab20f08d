"""Questions in the parent's own words: triage, retrieval, a whole vetted entry, and helpfulness feedback."""

from __future__ import annotations


from knowledge.db import utcnow_iso
from knowledge.users import CONSENT_VERSION
from knowledge.sections import rest_of_body, split_sections
from retrieval.answer import Answerer, Result, answer_result, lead_with_section

from ..engine import Turn
from ..messages import Button, Reply, button_label
from ..render import Renderer


def render_result(renderer: Renderer, result: Result, region: dict, body: str | None = None) -> str:
    """The reply text for any result kind, in the result's language. A reply to a question written in the other
    language starts with one line, in the question's language, on how to switch (urgent replies stay as they
    are). It goes first: the reply ends with the heading of the buttons that follow it."""
    if result.kind == "answer":
        text = renderer.render("answer", result.lang, result=result, body=body or "", region=region)
    elif result.kind in ("no_answer", "small_talk", "not_parenting"):
        text = renderer.render(result.kind, result.lang, result=result)
    else:
        return "\n\n".join(renderer.render(f"triage_{level}", result.lang, result=result, region=region).strip()
                           for level in reply_levels(result))
    if result.question_lang != result.lang:
        text = renderer.t("language.switch_hint", result.question_lang) + "\n\n" + text
    return text


def reply_levels(result: Result) -> list[str]:
    """The parts of a triage reply, most serious first: every level among the signs, so a caregiver in crisis
    whose child is also at risk reads both the crisis and the safeguarding help. Same-day advice is left out
    when the emergency part is there (it says more)."""
    levels = [result.kind] + [level for level in result.levels if level != result.kind]
    if "emergency" in levels:
        levels = [level for level in levels if level != "urgent"]
    return [level for level in levels if level not in ("none", "answer", "no_answer")]


def result_renderer(renderer: Renderer, regions: dict[str, dict], default_region: str):
    """The rendering step the answerer runs last, with the emergency numbers of the user's region."""

    def render(result: Result, body: str | None, region: str | None) -> str:
        return render_result(renderer, result, regions.get(region or default_region) or regions[default_region],
                             body)

    return render


def youngest_age(turn: Turn) -> float | None:
    """The youngest registered child's age: the safe choice for triage thresholds when the message gives none."""
    if turn.user.consent_version != CONSENT_VERSION or not turn.private:
        return None  # in a group the answer is general: nothing about the asker's children shapes it
    ages = [c.age_months(turn.today) for c in turn.engine.users.children(turn.user.id)]
    return min(ages) if ages else None


class Ask:
    def __init__(self, answerer: Answerer):
        self.answerer = answerer
        self.commands: dict = {}
        self.callbacks = {"ask": self.on_related, "fb": self.on_feedback, "more": self.on_more}
        self.flows: dict = {}
        # General questions and the guidance they open are fine in a group; votes are tied to a user, so not there.
        self.group_callbacks = ("ask", "more")
        self.slow_callbacks = ("ask",)  # a related question is searched and rendered like a typed one

    def on_text(self, turn: Turn) -> list[Reply]:
        """Free text: triage first, then the knowledge base."""
        # A question asked in a group is logged without the asker, so it is never tied to them.
        result = self.answerer.answer(turn.incoming.text, turn.lang, youngest_age(turn),
                                      user_id=turn.user.id if turn.private else None, region=turn.user.region)
        return [self.reply_for(turn, result)]

    def reply_for(self, turn: Turn, result: Result) -> Reply:
        engine = turn.engine
        region = engine.kb.regions.get(turn.user.region)
        text = result.text
        if not text:  # a result built here (a related-entry button), not by the answerer
            entry = self._entry(turn, result.entry_id) if result.kind == "answer" else None
            text = render_result(engine.renderer, result, region, entry.text(turn.lang).body if entry else None)
        # The matched section first; the rest of the guide one tap away, then the related questions.
        rows: list[list[Button]] = []
        if result.kind == "answer" and result.rest and result.section is not None:
            rows.append([Button(turn.t("answer.read_more"), f"more:{result.entry_id}:{result.section}")])
        rows += [[Button(button_label(r["title"]), f"ask:{r['id']}")] for r in result.related]
        if result.kind == "answer" and result.question_id is not None and turn.private:
            rows.append([Button(turn.t("feedback.yes"), f"fb:{result.question_id}:1"),
                         Button(turn.t("feedback.no"), f"fb:{result.question_id}:0")])
        return turn.reply(text, *rows, rest=self._rest_text(turn, result))

    @staticmethod
    def _rest_text(turn: Turn, result: Result) -> str:
        """The rest of the guide under its heading: what "Read the whole guide" shows."""
        if result.kind != "answer" or not result.rest:
            return ""
        return f"**{turn.t('answer.rest_heading')}: {result.title}**\n\n{result.rest}"

    def _entry(self, turn: Turn, entry_id: str | None):
        retriever = self.answerer.retriever
        snap = retriever.live.snapshot if retriever else None
        if snap and entry_id in snap.entries:
            return snap.entries[entry_id]
        return None

    def on_related(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """A related-entry button: show that whole entry."""
        entry = self._entry(turn, parts[0] if parts else None)
        if entry is None:
            return [turn.reply(turn.t("error.stale_button"))]
        # the same answer as a typed question gets: the whole entry, its sources and its safety box
        result = answer_result(entry, turn.lang, turn.lang, youngest_age(turn), related=[])
        lead_with_section(result, entry.text(turn.lang).body, None)
        self.answerer.record(result, result.title, turn.user.id if turn.private else None)
        return [self.reply_for(turn, result)]

    def on_more(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """"Read the whole guide": the sections the answer did not show, in the user's language."""
        entry = self._entry(turn, parts[0] if parts else None)
        if entry is None or len(parts) != 2 or not parts[1].isdigit():
            return [turn.reply(turn.t("error.stale_button"))]
        sections = split_sections(entry.text(turn.lang).body)
        shown = int(parts[1])
        if shown >= len(sections):
            return [turn.reply(turn.t("error.stale_button"))]
        text = f"**{turn.t('answer.rest_heading')}: {entry.text(turn.lang).title}**\n\n{rest_of_body(sections, shown)}"
        # The answer keeps its related questions and feedback buttons; only "Read the whole guide" goes.
        return [turn.reply(text, on_press="drop")]

    def on_feedback(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """👍 / 👎 on an answer, stored once per question (a second press changes the vote)."""
        if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in ("0", "1"):
            return [turn.reply(turn.t("error.stale_button"))]
        db = turn.engine.db
        row = db.execute("select entry_id from question_log where id = ? and user_id = ?",
                         [int(parts[0]), turn.user.id]).fetchone()
        if row is None or row[0] is None:
            return [turn.reply(turn.t("error.stale_button"))]
        with db.conn:
            db.execute("insert into feedback (user_id, question_id, entry_id, helpful, created_at) values (?, ?, ?, ?, ?) "
                       "on conflict(user_id, question_id) do update set helpful = excluded.helpful",
                       [turn.user.id, int(parts[0]), row[0], int(parts[1]), utcnow_iso()])
        return [turn.reply(turn.t("feedback.thanks_yes" if parts[1] == "1" else "feedback.thanks_no"))]
