"""Age-based tips and milestone check-ins: /tips to subscribe, pause, resume, stop or change the time;
composing scheduled messages; the check-in conversation with yes / not yet / unsure answers."""

from __future__ import annotations

from typing import Any

from knowledge.deliveries import Delivery, Ledger
from knowledge.milestones import Checklist
from knowledge.subscriptions import SubscriptionStore
from knowledge.users import CONSENT_VERSION

from ..engine import Turn
from ..messages import Button, Reply, keyboard
from ..render import Renderer

HOURS = (7, 8, 9, 12, 18, 20, 21)
ANSWERS = {"y": "yes", "n": "not_yet", "u": "unsure"}


class Tips:
    def __init__(self, ledger: Ledger, checklists: tuple[Checklist, ...]):
        self.ledger = ledger
        self.checklists = {c.age_months: c for c in checklists}
        self.commands = {"tips": self.tips}
        self.callbacks = {"tips": self.on_tips, "ms": self.on_milestone}
        self.flows: dict = {}

    # /tips ------------------------------------------------------------------------------------------------

    def tips(self, turn: Turn) -> list[Reply]:
        """Show each child's subscription with the actions that apply."""
        if turn.user.consent_version != CONSENT_VERSION:
            return [turn.reply(turn.t("consent.needed"), [Button(turn.t("consent.yes"), "consent:yes")])]
        children = turn.engine.users.children(turn.user.id)
        if not children:
            return [turn.reply(turn.t("tips.no_child"), [Button(turn.t("child.add"), "child:add")])]
        subs = SubscriptionStore(turn.engine.db)
        rows, listed = [], []
        for index, child in enumerate(children, 1):
            sub = subs.for_child(child.id)
            listed.append({"child": child, "sub": sub, "label": child.label(index)})
            name = child.label(index)
            if sub is None or sub.status in ("stopped",):
                rows.append([Button(turn.t("tips.subscribe", name=name), f"tips:sub:{child.id}")])
            elif sub.status == "active":
                rows.append([Button(turn.t("tips.pause", name=name), f"tips:pause:{child.id}"),
                             Button(turn.t("tips.change_time"), f"tips:sub:{child.id}"),
                             Button(turn.t("tips.stop"), f"tips:stop:{child.id}")])
            elif sub.status == "paused":
                rows.append([Button(turn.t("tips.resume", name=name), f"tips:resume:{child.id}"),
                             Button(turn.t("tips.stop"), f"tips:stop:{child.id}")])
            if sub is not None and sub.status in ("active", "paused"):
                rows.append([Button(turn.t("tips.change_tz", name=name), f"tips:tz:{child.id}")])
        return [turn.reply(turn.render("tips_menu", items=listed, today=turn.today), *rows)]

    def on_tips(self, turn: Turn, parts: list[str]) -> list[Reply]:
        if turn.user.consent_version != CONSENT_VERSION:
            return [turn.reply(turn.t("consent.needed"))]
        if len(parts) < 2 or not parts[1].isdigit():
            return [turn.reply(turn.t("error.stale_button"))]
        action, child = parts[0], turn.engine.users.child(turn.user.id, int(parts[1]))
        if child is None:
            return [turn.reply(turn.t("error.stale_button"))]
        subs, now = SubscriptionStore(turn.engine.db), turn.now
        if action == "sub":
            days = [Button(turn.t(f"weekday.{d}"), f"tips:day:{child.id}:{d}") for d in range(7)]
            return [turn.reply(turn.t("tips.choose_day"), days[:4], days[4:], on_press="edit")]
        if action == "day" and len(parts) == 3 and parts[2] in "0123456":
            hours = [Button(f"{h:02d}:00", f"tips:hour:{child.id}:{parts[2]}:{h}") for h in HOURS]
            return [turn.reply(turn.t("tips.choose_hour"), hours[:4], hours[4:], on_press="edit")]
        if action == "hour" and len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
            weekday, hour = int(parts[2]), int(parts[3])
            if not (0 <= weekday <= 6 and 0 <= hour <= 23):
                return [turn.reply(turn.t("error.stale_button"))]
            existing = subs.for_child(child.id)
            tz = existing.timezone if existing else turn.engine.kb.regions.get(turn.user.region)["timezone"]
            # A change of day or time plans nothing new when this week's tip already went out: then promise only
            # the next one, at the new time.
            sent_before = turn.engine.db.execute(
                "select 1 from deliveries where user_id = ? and child_id = ? and kind = 'tip' limit 1",
                [turn.user.id, child.id]).fetchone() is not None
            sub = subs.subscribe(child.id, weekday, hour, tz, now)
            key = "tips.time_changed" if sent_before else "tips.subscribed"
            return [turn.reply(turn.t(key, name=child.name or "", day=turn.t(f"weekday.{weekday}"),
                                      hour=f"{hour:02d}:00", tz=sub.timezone), on_press="edit")]
        if action in ("pause", "resume", "stop"):
            status = {"pause": "paused", "resume": "active", "stop": "stopped"}[action]
            if subs.for_child(child.id) is None:
                return [turn.reply(turn.t("error.stale_button"))]
            subs.set_status(child.id, status, now)
            return [turn.reply(turn.t(f"tips.{action}d" if action != "stop" else "tips.stopped"))]
        if action == "tz":
            zones = sorted({r["timezone"] for r in turn.engine.kb.regions.table.values()})
            buttons = [Button(z, f"tips:settz:{child.id}:{i}") for i, z in enumerate(zones)]
            return [turn.reply(turn.t("tips.choose_tz"), *[buttons[i:i + 2] for i in range(0, len(buttons), 2)],
                               on_press="edit")]
        if action == "settz" and len(parts) == 3 and parts[2].isdigit():
            zones = sorted({r["timezone"] for r in turn.engine.kb.regions.table.values()})
            existing = subs.for_child(child.id)
            if existing is None or int(parts[2]) >= len(zones):
                return [turn.reply(turn.t("error.stale_button"))]
            subs.subscribe(child.id, existing.weekday, existing.hour, zones[int(parts[2])], now)
            return [turn.reply(turn.t("tips.tz_set", tz=zones[int(parts[2])]), on_press="edit")]
        return [turn.reply(turn.t("error.stale_button"))]

    # Milestone check-ins ------------------------------------------------------------------------------------

    def on_milestone(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """ms:start:<child>:<age> opens the checklist; ms:a:<child>:<age>:<item>:<y|n|u> records an answer."""
        if len(parts) < 3 or not parts[1].isdigit() or not parts[2].isdigit():
            return [turn.reply(turn.t("error.stale_button"))]
        child = turn.engine.users.child(turn.user.id, int(parts[1]))
        checklist = self.checklists.get(int(parts[2]))
        if child is None or checklist is None:
            return [turn.reply(turn.t("error.stale_button"))]
        if parts[0] == "start":  # the invitation becomes the check-in: one message, edited as the parent answers
            return [self._item(turn, child.id, checklist, 0)]
        if parts[0] != "a" or len(parts) != 5 or not parts[3].isdigit() or parts[4] not in ANSWERS:
            return [turn.reply(turn.t("error.stale_button"))]
        index = int(parts[3])
        if index >= len(checklist.items):
            return [turn.reply(turn.t("error.stale_button"))]
        answers = self._answers(turn, child.id, checklist)
        answers[checklist.items[index].id] = ANSWERS[parts[4]]
        if turn.user.consent_version == CONSENT_VERSION:
            with turn.engine.db.conn:
                turn.engine.db.execute(
                    "insert into milestone_answers (child_id, age_months, item_id, answer, answered_at) "
                    "values (?, ?, ?, ?, ?) on conflict(child_id, item_id) do update set answer = excluded.answer, "
                    "answered_at = excluded.answered_at",
                    [child.id, checklist.age_months, checklist.items[index].id, ANSWERS[parts[4]],
                     turn.now.strftime("%Y-%m-%dT%H:%M:%SZ")])
        else:
            # Without consent answers live only in this conversation's pending state, not in the child's record.
            turn.set_pending("milestone", child_id=child.id, age=checklist.age_months, answers=answers)
        if index + 1 < len(checklist.items):
            return [self._item(turn, child.id, checklist, index + 1)]
        return [self._summary(turn, child, checklist, answers)]

    def _answers(self, turn: Turn, child_id: int, checklist: Checklist) -> dict[str, str]:
        rows = turn.engine.db.execute("select item_id, answer from milestone_answers where child_id = ? and "
                                      "age_months = ?", [child_id, checklist.age_months]).fetchall()
        answers = dict(rows)
        pending = turn.pending or {}
        if pending.get("flow") == "milestone" and pending.get("child_id") == child_id:
            answers.update(pending.get("answers", {}))
        return answers

    def _item(self, turn: Turn, child_id: int, checklist: Checklist, index: int) -> Reply:
        item = checklist.items[index]
        base = f"ms:a:{child_id}:{checklist.age_months}:{index}"
        text = turn.render("milestone_item", item=item, number=index + 1, total=len(checklist.items),
                           area=turn.t(f"milestone.area.{item.area}"))
        return Reply(text, keyboard([Button(turn.t("milestone.yes"), f"{base}:y"),
                                     Button(turn.t("milestone.not_yet"), f"{base}:n"),
                                     Button(turn.t("milestone.unsure"), f"{base}:u")]), on_press="edit")

    def _summary(self, turn: Turn, child, checklist: Checklist, answers: dict[str, str]) -> Reply:
        turn.clear_pending()
        items = [(item, answers.get(item.id, "unsure")) for item in checklist.items]
        missing = [item for item, answer in items if answer != "yes"]
        text = turn.render("milestone_summary", child=child, checklist=checklist, items=items, missing=missing,
                           answer_label=lambda a: turn.t(f"milestone.{a}"))
        return Reply(text, on_press="edit")


def compose_delivery(renderer: Renderer, db, kb, checklists: dict[int, Checklist]):
    """Build the message for a ledger row; None when there is nothing left to send (child or tip gone)."""
    tips = {t.id: t for t in kb.tips}

    def compose(delivery: Delivery) -> Reply | None:
        lang = delivery.language
        child_row = db.execute("select name from children where id = ?", [delivery.child_id]).fetchone() \
            if delivery.child_id else None
        if delivery.child_id and child_row is None:
            return None
        name = child_row[0] if child_row else None
        if delivery.kind == "tip":
            tip = tips.get(delivery.item_id)
            if tip is None:
                return None
            text = renderer.render("tip", lang, tip_text=tip.text[lang], name=name)
            return Reply(text, keyboard([Button(renderer.t("tips.read_more", lang), f"ask:{tip.entry_id}")],
                                        [Button(renderer.t("tips.pause_short", lang), f"tips:pause:{delivery.child_id}")]))
        if delivery.kind == "milestone":
            age = int(delivery.item_id)
            if age not in checklists:
                return None
            text = renderer.render("milestone_invite", lang, age=age, name=name)
            return Reply(text, keyboard([Button(renderer.t("milestone.start", lang),
                                                f"ms:start:{delivery.child_id}:{age}")]))
        if delivery.kind == "goodbye":
            return Reply(renderer.render("tips_goodbye", lang, name=name))
        if delivery.kind == "reminder":
            # item_id is '<event>:<ISO date>'; return-to-work events start with 'rtw_' (see /return_to_work).
            event, _, day = delivery.item_id.partition(":")
            if not event.startswith("rtw_") or not day or f"rtw.event.{event[4:]}" not in renderer.catalogues["en"]:
                return None
            return Reply(renderer.render("rtw_reminder", lang, event=event[4:], day=day, child=name))
        if delivery.kind == "announcement":
            from knowledge.curation import announcement_texts  # announcements belong to the curation feature

            texts = announcement_texts(db, delivery.item_id)
            if texts is None:
                return None
            return Reply(renderer.render("curation_announcement", lang, text=texts.get(lang, texts["en"])))
        return None

    return compose


def delivery_context(runtime: Any) -> tuple[Ledger, Any]:
    checklists = {c.age_months: c for c in runtime.kb.milestones}
    ledger = Ledger(runtime.db, runtime.kb.tips)
    return ledger, compose_delivery(runtime.renderer, runtime.db, runtime.kb, checklists)


class _Collect:
    """A transport for the local chat: scheduled messages are shown when the user next types something."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []

    async def send(self, chat_id: int, reply: Reply) -> None:
        self.replies.append(reply)


def local_inbox(runtime: Any):
    """Plan, then deliver what is due for one local user through the same ledger the Telegram sender uses."""
    import asyncio

    from knowledge.deliveries import worker_id

    from ..tips_sender import send_due

    ledger, compose = delivery_context(runtime)
    worker = worker_id()

    def inbox(user_id: int) -> list[Reply]:
        ledger.plan(runtime.clock())
        collect = _Collect()
        asyncio.run(send_due(ledger, compose, collect, runtime.clock, worker, user_id=user_id, per_chat_interval=0))
        return collect.replies

    return inbox
