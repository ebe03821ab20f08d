"""/return_to_work: a guided conversation (child, region, return date, work pattern, feeding, care) that ends
with a personal plan: leave entitlements, a dated timeline, checklists, a calendar file and optional reminders.

    child -> region -> return -> pattern -> feeding -> care -> plan
      ^--------- Back (rtw:back) steps one question back; Cancel (rtw:cancel) ends the flow anywhere ---------^

Every answer is kept in the engine's pending state (SQLite), so the conversation survives a restart. The finished
plan is stored nowhere: its buttons carry the answers they need in their callback data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from knowledge.ages import add_months, whole_months
from knowledge.services import youngest_care_age
from knowledge.return_to_work import (CARE, FEEDING, MAX_CHILD_YEARS, PATTERNS, DateInputError, Entitlements,
                                      Timeline, age_band, calendar_ics, check_birth, check_return, entitlements,
                                      key_dates, match_region, parse_day, plain, reminder_rows, timeline)
from knowledge.users import CONSENT_VERSION

from ..engine import Turn
from ..messages import Button, Document, Reply
from ..render import LANGUAGES

FLOW = "rtw"
STEPS = ("child", "region", "return", "pattern", "feeding", "care")
OPTIONS = {"pattern": PATTERNS, "feeding": FEEDING, "care": CARE}
OTHER_REGION = "other"
# Mainland leave rules are what this plan is about; used only when the deployment has no regions table.
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Choices:
    """The answers a finished plan needs, small enough to ride in a button's callback data (64 bytes)."""

    birth: date
    return_day: date
    region: str          # a leave.yaml code such as CN-BJ, or 'other'
    feeding: str
    care: str
    child_id: int | None

    def data(self, action: str) -> str:
        return ":".join([FLOW, action, self.birth.strftime("%Y%m%d"), self.return_day.strftime("%Y%m%d"),
                         self.region, self.feeding[0], self.care[0], str(self.child_id or 0)])

    @classmethod
    def from_parts(cls, parts: list[str]) -> "Choices | None":
        if len(parts) != 6:
            return None
        birth, back, region, feeding, care, child = parts
        feeding_full = next((f for f in FEEDING if f[0] == feeding), None)
        care_full = next((c for c in CARE if c[0] == care), None)
        try:
            days = [date(int(d[:4]), int(d[4:6]), int(d[6:])) for d in (birth, back)]
        except ValueError:
            return None
        if feeding_full is None or care_full is None or not child.isdigit():
            return None
        return cls(days[0], days[1], region, feeding_full, care_full, int(child) or None)


class ReturnToWork:
    def __init__(self) -> None:
        self.commands = {"return_to_work": self.start}
        self.callbacks = {FLOW: self.on_button}
        self.flows = {FLOW: self.on_answer}

    # Entry points ----------------------------------------------------------------------------------------

    def start(self, turn: Turn) -> list[Reply]:
        """Begin the plan with the first question."""
        if turn.engine.kb.leave is None:
            return [turn.reply(turn.t("rtw.unavailable"))]
        return self._ask(turn, {"step": "child"}, intro=True)

    def on_answer(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        """A typed answer to the current question."""
        state = {k: v for k, v in state.items() if k != "flow"}
        step, text = state.get("step"), turn.incoming.text.strip()
        if step == "child":
            return self._answer_birth(turn, state, text)
        if step == "region":
            return self._answer_region_text(turn, state, text)
        if step == "return":
            return self._answer_return(turn, state, text)
        if step in OPTIONS:
            choice = self._match_option(turn, step, text)
            if choice is None:
                return self._error(turn, state, "rtw.error_choose")
            return self._answer_option(turn, state, step, choice)
        turn.clear_pending()
        return [turn.reply(turn.t("error.stale_button"))]

    def on_button(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """rtw:<step>:<value> answers a question; back and cancel steer it; ics, remind, unremind and nearby act
        on a finished plan."""
        action = parts[0] if parts else ""
        if action == "unremind":
            return self._unremind(turn)
        if action == "nearby":
            return self._nearby(turn)
        if action in ("ics", "remind"):
            choices = Choices.from_parts(parts[1:])
            if choices is None or turn.engine.kb.leave is None:
                return [turn.reply(turn.t("error.stale_button"))]
            return self._send_calendar(turn, choices) if action == "ics" else self._remind(turn, choices)
        pending = turn.pending
        if not pending or pending.get("flow") != FLOW:
            return [turn.reply(turn.t("error.stale_button"))]
        state = {k: v for k, v in pending.items() if k != "flow"}
        if action == "cancel":
            turn.clear_pending()
            return [turn.reply(turn.t("rtw.cancelled"))]
        if action == "back":
            index = STEPS.index(state["step"])
            return self._ask(turn, {**state, "step": STEPS[max(index - 1, 0)]})
        if action != state.get("step") or len(parts) < 2:
            # A button from an earlier question: show the current one again rather than jump around.
            return [turn.reply(turn.t("rtw.stale"))] + self._ask(turn, state)
        value = parts[1]
        if action == "child":
            return self._answer_child_button(turn, state, value)
        if action == "region":
            return self._answer_region_button(turn, state, value)
        if action == "return" and value == "suggested":
            suggested = self._suggested_return(turn, state)
            if suggested is None:
                return self._ask(turn, state)
            return self._after(turn, {**state, "return": suggested.isoformat()}, "return")
        if action in OPTIONS and value in OPTIONS[action]:
            return self._answer_option(turn, state, action, value)
        return [turn.reply(turn.t("error.stale_button"))]

    # Answers -------------------------------------------------------------------------------------------------

    def _answer_birth(self, turn: Turn, state: dict[str, Any], text: str) -> list[Reply]:
        try:
            birth = check_birth(parse_day(text), turn.today)
        except DateInputError as exc:
            return self._error(turn, state, exc.key)
        return self._after(turn, {**state, "birth": birth.isoformat(), "child_id": None}, "child")

    def _answer_child_button(self, turn: Turn, state: dict[str, Any], value: str) -> list[Reply]:
        child = turn.engine.users.child(turn.user.id, int(value)) \
            if value.isdigit() and turn.user.consent_version == CONSENT_VERSION else None
        if child is None:
            return [turn.reply(turn.t("error.stale_button"))] + self._ask(turn, state)
        try:
            check_birth(child.birth_date, turn.today)
        except DateInputError as exc:
            return self._error(turn, state, exc.key)
        return self._after(turn, {**state, "birth": child.birth_date.isoformat(), "child_id": child.id}, "child")

    def _answer_region_button(self, turn: Turn, state: dict[str, Any], value: str) -> list[Reply]:
        leave = turn.engine.kb.leave
        if value != OTHER_REGION and leave.region(value) is None:
            return [turn.reply(turn.t("error.stale_button"))] + self._ask(turn, state)
        notice = [turn.reply(turn.t("rtw.region_other_chosen"))] if value == OTHER_REGION else []
        return notice + self._after(turn, {**state, "region": value, "region_typed": None}, "region")

    def _answer_region_text(self, turn: Turn, state: dict[str, Any], text: str) -> list[Reply]:
        # One character is enough for a Chinese short name such as 粤 or 沪, not for a Latin letter.
        typed = plain(text)
        if len(text) > 30 or not typed or (len(typed) < 2 and typed.isascii()):
            return self._error(turn, state, "rtw.region_too_long")
        region = match_region(turn.engine.kb.leave, text)
        if region is not None:
            return self._after(turn, {**state, "region": region.code, "region_typed": None}, "region")
        # Unknown or not yet covered: the national baseline still gives a useful plan, and we say so.
        notice = turn.reply(turn.t("rtw.region_unknown", name=text))
        return [notice] + self._after(turn, {**state, "region": OTHER_REGION, "region_typed": text}, "region")

    def _answer_return(self, turn: Turn, state: dict[str, Any], text: str) -> list[Reply]:
        birth = date.fromisoformat(state["birth"])
        try:
            day = check_return(parse_day(text), birth, turn.today)
        except DateInputError as exc:
            return self._error(turn, state, exc.key, birth=birth, limit=_third_birthday(birth))
        return self._after(turn, {**state, "return": day.isoformat()}, "return")

    def _answer_option(self, turn: Turn, state: dict[str, Any], step: str, value: str) -> list[Reply]:
        return self._after(turn, {**state, step: value}, step)

    def _match_option(self, turn: Turn, step: str, text: str) -> str | None:
        """A typed choice: the button label or one of the catalogue's words for it, in either language."""
        typed = plain(text)
        renderer = turn.engine.renderer
        for option in OPTIONS[step]:
            candidates = {option}
            for lang in LANGUAGES:
                candidates.add(renderer.t(f"rtw.{step}.{option}", lang))
                candidates.update(renderer.t(f"rtw.words.{step}.{option}", lang).split(","))
            if typed and typed in {plain(c) for c in candidates}:
                return option
        return None

    def _after(self, turn: Turn, state: dict[str, Any], step: str) -> list[Reply]:
        """Move on from `step`: the next question, or the plan after the last one."""
        index = STEPS.index(step)
        if index + 1 < len(STEPS):
            return self._ask(turn, {**state, "step": STEPS[index + 1]})
        turn.clear_pending()
        child_id = state.get("child_id")
        choices = Choices(date.fromisoformat(state["birth"]), date.fromisoformat(state["return"]), state["region"],
                          state["feeding"], state["care"], child_id)
        return self._plan(turn, choices, state["pattern"], state.get("region_typed"))

    # Questions -----------------------------------------------------------------------------------------------

    def _ask(self, turn: Turn, state: dict[str, Any], intro: bool = False) -> list[Reply]:
        """Save the state, then ask the question for its step with that step's buttons."""
        turn.set_pending(FLOW, **state)
        step = state["step"]
        text, rows = self._question(turn, state)
        header = turn.t("rtw.step", n=STEPS.index(step) + 1, total=len(STEPS))
        replies = [turn.reply(turn.t("rtw.intro"))] if intro else []
        return replies + [turn.reply(f"{header}{text}", *rows, self._nav(turn, step))]

    def _question(self, turn: Turn, state: dict[str, Any]) -> tuple[str, list[list[Button]]]:
        step = state["step"]
        if step == "child":
            children = turn.engine.users.children(turn.user.id) \
                if turn.user.consent_version == CONSENT_VERSION else []
            rows = [[Button(turn.t("rtw.child_button", name=c.label(i), day=c.birth_date), f"rtw:child:{c.id}")]
                    for i, c in enumerate(children, 1)]
            return turn.t("rtw.ask_child_buttons" if rows else "rtw.ask_child"), rows
        if step == "region":
            leave = turn.engine.kb.leave
            buttons = [Button(r.name[turn.lang], f"rtw:region:{r.code}") for r in leave.regions.values()]
            rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
            rows.append([Button(turn.t("rtw.region_other"), f"rtw:region:{OTHER_REGION}")])
            return turn.t("rtw.ask_region"), rows
        if step == "return":
            birth = date.fromisoformat(state["birth"])
            ent = entitlements(turn.engine.kb.leave, birth, state.get("region"))
            suggested = self._suggested_return(turn, state)
            rows = [[Button(turn.t("rtw.return_suggested", day=suggested), "rtw:return:suggested")]] \
                if suggested else []
            key = "rtw.ask_return" if ent.extra_known else "rtw.ask_return_unconfirmed"
            text = turn.t(key, region=self._region_name(turn, ent), days=ent.total_days, end=ent.leave_end,
                          first=ent.first_day_back)
            return text, rows
        buttons = [Button(turn.t(f"rtw.{step}.{o}"), f"rtw:{step}:{o}") for o in OPTIONS[step]]
        return turn.t(f"rtw.ask_{step}"), [[b] for b in buttons]

    def _nav(self, turn: Turn, step: str) -> list[Button]:
        back = [Button(turn.t("rtw.back"), "rtw:back")] if step != STEPS[0] else []
        return back + [Button(turn.t("rtw.cancel"), "rtw:cancel")]

    def _error(self, turn: Turn, state: dict[str, Any], key: str, **context: Any) -> list[Reply]:
        """A friendly message about what was wrong, with the step's buttons so Back and Cancel stay in reach."""
        _, rows = self._question(turn, state)
        return [turn.reply(turn.t(key, **context), *rows, self._nav(turn, state["step"]))]

    def _suggested_return(self, turn: Turn, state: dict[str, Any]) -> date | None:
        birth = date.fromisoformat(state["birth"])
        ent = entitlements(turn.engine.kb.leave, birth, state.get("region"))
        if not ent.extra_known:
            return None  # never suggest a date worked out from figures nobody has confirmed
        first = ent.first_day_back
        try:
            return check_return(first, birth, turn.today)
        except DateInputError:
            return None

    @staticmethod
    def _region_name(turn: Turn, ent: Entitlements) -> str:
        return ent.region.name[turn.lang] if ent.region else turn.engine.kb.leave.national["name"][turn.lang]

    # The plan ------------------------------------------------------------------------------------------------

    def _plan(self, turn: Turn, choices: Choices, pattern: str, region_typed: str | None) -> list[Reply]:
        """Entitlements, the timeline, the checklists with their buttons, and the calendar file."""
        today = turn.today
        ent = entitlements(turn.engine.kb.leave, choices.birth, choices.region)
        # The youngest age care of the chosen kind takes, from the service data: when the baby is younger than
        # that on the first day back, care starts later and the plan says how to cover the gap.
        care_from = youngest_care_age(turn.engine.db, choices.care)
        care_start = add_months(choices.birth, care_from) if care_from is not None else None
        too_young = care_start is not None and care_start > choices.return_day
        plan = timeline(choices.return_day, today, choices.feeding, choices.care,
                        care_start if too_young else None)
        context = {
            "care_from": care_from, "care_start": care_start, "too_young_for_care": too_young,
            "months_at_return": whole_months(choices.birth, choices.return_day)
            if choices.return_day >= choices.birth else 0,
            "ent": ent, "plan": plan, "choices": choices, "pattern": pattern, "today": today,
            "region_name": self._region_name(turn, ent), "region_typed": region_typed,
            "caveat": ent.caveat[turn.lang],
            "is_due_date": choices.birth > today,
            "early_return": choices.return_day < ent.first_day_back,
            "under_one_at_return": choices.return_day < add_months(choices.birth, 12),
            "express_band": age_band(choices.birth, choices.return_day, (6, 12, 36)),
            "care_band": age_band(choices.birth, choices.return_day, (6, 24, 36)),
            "nearby": choices.care != "family" and "nearby" in turn.engine.commands,
        }
        rows = self._guide_buttons(turn, choices)
        if context["nearby"]:
            rows.append([Button(turn.t("rtw.nearby"), "rtw:nearby")])
        if turn.user.consent_version == CONSENT_VERSION:
            rows.append([Button(turn.t("rtw.remind"), choices.data("remind"))])
        rows.append([Button(turn.t("rtw.calendar_again"), choices.data("ics"))])
        return [turn.reply(turn.render("rtw_entitlements", **context)),
                turn.reply(turn.render("rtw_timeline", **context)),
                turn.reply(turn.render("rtw_checklists", **context), *rows),
                self._calendar_reply(turn, ent, plan, today)]

    def _guide_buttons(self, turn: Turn, choices: Choices) -> list[list[Button]]:
        """Links to the vetted guidance entries that fit the answers (only those that are published)."""
        wanted = []
        if choices.feeding != "no":
            wanted.append(("expressing", "work-expressing-milk-at-work"))
        wanted.append(("employer", "work-talking-with-your-employer"))
        wanted.append({"family": ("family", "care-grandparents-or-nursery"),
                       "undecided": ("types", "care-types-of-childcare-under-3")}.get(
                           choices.care, ("settling", "care-settling-in-nursery")))
        wanted.append(("feelings", "work-feelings-about-returning-to-work"))
        rows = []
        for label, entry_id in wanted:
            entry = turn.engine.kb.entry(entry_id)
            if entry is not None and entry.status == "published":
                rows.append([Button(turn.t(f"rtw.link.{label}"), f"ask:{entry_id}")])
        return rows

    def _calendar_reply(self, turn: Turn, ent: Entitlements, plan: Timeline, today: date) -> Reply:
        events = [(k, turn.t(f"rtw.event.{k.key}"), turn.t("rtw.ics_description"))
                  for k in key_dates(ent, plan, today)]
        content = calendar_ics(turn.user.external_id, events, turn.now, turn.t("rtw.ics_name"))
        return turn.reply(turn.t("rtw.ics_caption"),
                          document=Document("sprout-return-to-work.ics", content, mime_type="text/calendar"))

    def _send_calendar(self, turn: Turn, choices: Choices) -> list[Reply]:
        today = turn.today
        ent = entitlements(turn.engine.kb.leave, choices.birth, choices.region)
        return [self._calendar_reply(turn, ent, timeline(choices.return_day, today, choices.feeding, choices.care),
                                     today)]

    def _nearby(self, turn: Turn) -> list[Reply]:
        """Hand over to /nearby (bot/features/nearby.py), which asks for a location or a place name."""
        info = turn.engine.commands.get("nearby")
        if info is None:
            return [turn.reply(turn.t("error.stale_button"))]
        return info.handler(turn)

    # Reminders through the deliveries ledger --------------------------------------------------------------

    def _remind(self, turn: Turn, choices: Choices) -> list[Reply]:
        """Queue a reminder the day before each key date; a newer plan replaces the older plan's reminders."""
        if turn.user.consent_version != CONSENT_VERSION:
            return [turn.reply(turn.t("rtw.consent_needed"), [Button(turn.t("consent.yes"), "consent:yes")])]
        child_id = choices.child_id
        if child_id is not None and turn.engine.users.child(turn.user.id, child_id) is None:
            child_id = None
        today = turn.today
        ent = entitlements(turn.engine.kb.leave, choices.birth, choices.region)
        dates = key_dates(ent, timeline(choices.return_day, today, choices.feeding, choices.care), today)
        rows = reminder_rows(turn.user.id, child_id, dates, self._timezone(turn), turn.now)
        db = turn.engine.db
        with db.conn:
            db.execute("begin immediate")
            _skip_pending_reminders(turn, "replaced by a newer plan")
            # A reminder already sent for the same date stays sent; an identical pending one comes back to life.
            db.conn.executemany(
                "insert into deliveries (dedupe_key, user_id, child_id, kind, item_id, due_at, state) "
                "values (?, ?, ?, ?, ?, ?, 'pending') on conflict(user_id, dedupe_key) do update set "
                "state = 'pending', due_at = excluded.due_at, child_id = excluded.child_id, finished_at = null, "
                "error = null where deliveries.state = 'skipped'", rows)
        if not rows:
            return [turn.reply(turn.t("rtw.reminders_none"))]
        items = [(k.key, k.day) for k in dates if any(row[4] == f"rtw_{k.key}:{k.day.isoformat()}" for row in rows)]
        return [turn.reply(turn.render("rtw_reminders_set", items=items),
                           [Button(turn.t("rtw.unremind"), "rtw:unremind")])]

    def _unremind(self, turn: Turn) -> list[Reply]:
        """Stop every return-to-work reminder still waiting to be sent."""
        with turn.engine.db.conn:
            _skip_pending_reminders(turn, "stopped by the user")
        return [turn.reply(turn.t("rtw.reminders_stopped"))]

    @staticmethod
    def _timezone(turn: Turn) -> str:
        regions = turn.engine.kb.regions
        return regions.get(turn.user.region)["timezone"] if regions else DEFAULT_TIMEZONE


def _skip_pending_reminders(turn: Turn, reason: str) -> None:
    turn.engine.db.execute(
        "update deliveries set state = 'skipped', finished_at = ?, error = ? where user_id = ? and kind = 'reminder' "
        "and state = 'pending' and item_id like 'rtw\\_%' escape '\\'",
        [turn.now.strftime("%Y-%m-%dT%H:%M:%SZ"), reason, turn.user.id])


def _third_birthday(birth: date) -> date:
    return add_months(birth, 12 * MAX_CHILD_YEARS)
