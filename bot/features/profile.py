"""Getting started and the user's own data: /start, /help, /language, /region, /privacy, /child, /mydata,
/delete, /cancel."""

from __future__ import annotations

import json
from typing import Any

from knowledge.ages import BirthDateError, parse_birth
from knowledge.users import CONSENT_VERSION

from ..engine import Turn
from ..messages import Button, Document, Reply

LANGUAGE_BUTTONS = [Button("English", "lang:en"), Button("中文", "lang:zh")]


class Profile:
    def __init__(self) -> None:
        self.commands = {
            "start": self.start, "help": self.help, "language": self.language, "region": self.region,
            "privacy": self.privacy, "child": self.child, "mydata": self.mydata, "delete": self.delete,
            "cancel": self.cancel,
        }
        self.callbacks = {"lang": self.on_language, "region": self.on_region, "consent": self.on_consent,
                          "child": self.on_child, "delete": self.on_delete}
        self.flows = {"child_name": self.child_name, "child_birth": self.child_birth,
                      "child_premature": self.child_premature}
        self.group_commands = ("help",)  # everything else here is about the user: private chats only

    # /start: language, region, privacy and consent ------------------------------------------------------

    def start(self, turn: Turn) -> list[Reply]:
        """Welcome, then choose the language."""
        return [turn.reply(turn.render("welcome"), LANGUAGE_BUTTONS)]

    def language(self, turn: Turn) -> list[Reply]:
        """Offer the two languages."""
        return [turn.reply(turn.t("language.choose"), LANGUAGE_BUTTONS)]

    def on_language(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """Store the language; during onboarding continue with the region."""
        if not parts or parts[0] not in ("en", "zh"):
            return [turn.reply(turn.t("error.stale_button"))]
        turn.user = turn.engine.users.update(turn.user.id, language=parts[0])
        replies = [turn.reply(turn.t("language.set"))]
        if turn.user.consent_version is None:
            replies += self.region(turn)
        return replies

    def region(self, turn: Turn) -> list[Reply]:
        """Offer the regions that decide emergency numbers and time zone."""
        regions = turn.engine.kb.regions
        buttons = [Button(regions.get(code)["name"][turn.lang], f"region:{code}") for code in regions.codes()]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        return [turn.reply(turn.t("region.choose"), *rows)]

    def on_region(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """Store the region; during onboarding continue with the privacy notice."""
        regions = turn.engine.kb.regions
        if not parts or parts[0] not in regions.codes():
            return [turn.reply(turn.t("error.stale_button"))]
        turn.user = turn.engine.users.update(turn.user.id, region=parts[0])
        region = regions.get(parts[0])
        replies = [turn.reply(turn.t("region.set", name=region["name"][turn.lang], emergency=region["emergency"]))]
        if turn.user.consent_version is None:
            replies.append(self._consent_prompt(turn))
        return replies

    def _consent_prompt(self, turn: Turn) -> Reply:
        return turn.reply(turn.render("privacy", ask_consent=True,
                                      retention_days=turn.engine.settings.question_retention_days),
                          [Button(turn.t("consent.yes"), "consent:yes"), Button(turn.t("consent.no"), "consent:no")])

    def on_consent(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """Record consent or its refusal (general questions still work). Withdrawing a consent given removes the
        children's details, so it is confirmed first: consent:withdraw asks, consent:withdraw_yes does it."""
        action = parts[0] if parts else ""
        consented = turn.user.consent_version == CONSENT_VERSION
        if action == "withdraw" or (action == "no" and consented):
            children = len(turn.engine.users.children(turn.user.id))
            return [turn.reply(turn.t("consent.withdraw_confirm", children=children),
                               [Button(turn.t("consent.withdraw_yes"), "consent:withdraw_yes"),
                                Button(turn.t("consent.withdraw_no"), "consent:keep")])]
        if action == "withdraw_yes":
            turn.user = turn.engine.users.withdraw_consent(turn.user.id)
            return [turn.reply(turn.t("consent.withdrawn"))]
        if action == "keep":
            return [turn.reply(turn.t("consent.kept" if consented else "consent.refused"))]
        given = action == "yes"
        turn.user = turn.engine.users.set_consent(turn.user.id, given)
        key = "consent.given" if given else "consent.refused"
        return [turn.reply(turn.t(key)), turn.reply(turn.render("help", commands=turn.engine.public_commands()))]

    def help(self, turn: Turn) -> list[Reply]:
        """List every command."""
        return [turn.reply(turn.render("help", commands=turn.engine.public_commands()))]

    def privacy(self, turn: Turn) -> list[Reply]:
        """The plain-language privacy notice, with the consent choice."""
        consented = turn.user.consent_version == CONSENT_VERSION
        rows = [[Button(turn.t("consent.withdraw"), "consent:withdraw")]] if consented \
            else [[Button(turn.t("consent.yes"), "consent:yes")]]
        return [turn.reply(turn.render("privacy", ask_consent=not consented,
                                       retention_days=turn.engine.settings.question_retention_days), *rows)]

    def cancel(self, turn: Turn) -> list[Reply]:
        """Abandon whatever input was half-finished."""
        turn.clear_pending()
        return [turn.reply(turn.t("cancelled"))]

    # /child: add, list, edit, remove -----------------------------------------------------------------------

    def child(self, turn: Turn) -> list[Reply]:
        """List the user's children with add, edit and remove buttons."""
        if turn.user.consent_version != CONSENT_VERSION:
            return [turn.reply(turn.t("consent.needed")), self._consent_prompt(turn)]
        children = turn.engine.users.children(turn.user.id)
        rows = [[Button(turn.t("child.edit", name=c.label(i)), f"child:edit:{c.id}"),
                 Button(turn.t("child.remove", name=c.label(i)), f"child:remove:{c.id}")]
                for i, c in enumerate(children, 1)]
        rows.append([Button(turn.t("child.add"), "child:add")])
        text = turn.render("children", children=children, today=turn.today)
        return [turn.reply(text, *rows)]

    def on_child(self, turn: Turn, parts: list[str]) -> list[Reply]:
        if turn.user.consent_version != CONSENT_VERSION:
            return [turn.reply(turn.t("consent.needed")), self._consent_prompt(turn)]
        action = parts[0] if parts else ""
        if action == "add":
            turn.set_pending("child_name", child_id=None)
            return [turn.reply(turn.t("child.ask_name"), [Button(turn.t("child.skip_name"), "child:noname")])]
        if action == "noname":
            pending = turn.pending
            if not pending or pending.get("flow") != "child_name":  # an old "Skip": nothing is being asked now
                return [turn.reply(turn.t("error.stale_button"))]
            if pending.get("only") == "name":
                return self._save_field(turn, pending, name=None)
            return self._ask_birth(turn, {**pending, "name": None})
        if action in ("edit", "remove", "confirm_remove") and len(parts) > 1 and parts[1].isdigit():
            child = turn.engine.users.child(turn.user.id, int(parts[1]))
            if child is None:
                return [turn.reply(turn.t("error.stale_button"))]
            if action == "edit":  # one field at a time: the parent changes what was wrong, nothing else
                name = child.name or turn.t("child.this_child")
                return [turn.reply(turn.t("child.edit_which", name=name),
                                   [Button(turn.t("child.field_name"), f"child:editname:{child.id}")],
                                   [Button(turn.t("child.field_birth"), f"child:editbirth:{child.id}")],
                                   [Button(turn.t("child.field_premature"), f"child:editweeks:{child.id}")],
                                   on_press="edit")]
            if action == "remove":
                return [turn.reply(turn.t("child.confirm_remove", name=child.name or ""),
                                   [Button(turn.t("yes"), f"child:confirm_remove:{child.id}"),
                                    Button(turn.t("no"), "child:list")])]
            turn.engine.users.remove_child(turn.user.id, child.id)
            return [turn.reply(turn.t("child.removed"))] + self.child(turn)
        if action in ("editname", "editbirth", "editweeks") and len(parts) > 1 and parts[1].isdigit():
            child = turn.engine.users.child(turn.user.id, int(parts[1]))
            if child is None:
                return [turn.reply(turn.t("error.stale_button"))]
            if action == "editname":
                turn.set_pending("child_name", child_id=child.id, only="name")
                return [turn.reply(turn.t("child.ask_name"), [Button(turn.t("child.skip_name"), "child:noname")],
                                   on_press="edit")]
            if action == "editbirth":
                turn.set_pending("child_birth", child_id=child.id, only="birth")
                return [turn.reply(turn.t("child.ask_birth"), on_press="edit")]
            turn.set_pending("child_premature", child_id=child.id, only="weeks")
            return [turn.reply(turn.t("child.ask_premature"), [Button(turn.t("child.full_term"), "child:premature:0")],
                               on_press="edit")]
        if action == "premature" and len(parts) > 1 and parts[1].isdigit():
            pending = turn.pending
            if not pending or pending.get("flow") != "child_premature":  # an old button: nothing is asked now
                return [turn.reply(turn.t("error.stale_button"))]
            if pending.get("only") == "weeks":
                return self._save_field(turn, pending, weeks_premature=int(parts[1]))
            return self._save_child(turn, pending, int(parts[1]))
        return self.child(turn)

    def child_name(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        name = turn.incoming.text.strip()
        if len(name) > 40:
            return [turn.reply(turn.t("child.error_name"))]
        if state.get("only") == "name":
            return self._save_field(turn, state, name=name)
        return self._ask_birth(turn, {**state, "name": name})

    def _ask_birth(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        turn.set_pending("child_birth", **{k: v for k, v in state.items() if k != "flow"})
        return [turn.reply(turn.t("child.ask_birth"))]

    def child_birth(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        try:
            birth = parse_birth(turn.incoming.text, turn.today)
        except BirthDateError as exc:
            return [turn.reply(turn.t(exc.key))]
        if state.get("only") == "birth":
            return self._save_field(turn, state, birth_date=birth.birth_date, birth_precision=birth.precision)
        turn.set_pending("child_premature", **{k: v for k, v in state.items() if k != "flow"},
                         birth=birth.birth_date.isoformat(), precision=birth.precision)
        return [turn.reply(turn.t("child.ask_premature"),
                           [Button(turn.t("child.full_term"), "child:premature:0")])]

    def child_premature(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        text = turn.incoming.text.strip()
        if not text.isdigit() or not 0 <= int(text) <= 16:
            return [turn.reply(turn.t("child.error_premature"))]
        if state.get("only") == "weeks":
            return self._save_field(turn, state, weeks_premature=int(text))
        return self._save_child(turn, state, int(text))

    def _save_field(self, turn: Turn, state: dict[str, Any], **change: Any) -> list[Reply]:
        """Save the one field being edited; the child's other details stay as they are."""
        users = turn.engine.users
        child = users.child(turn.user.id, state.get("child_id") or 0)
        turn.clear_pending()
        if child is None:
            return [turn.reply(turn.t("error.stale_button"))]
        new = {"name": child.name, "birth_date": child.birth_date, "birth_precision": child.birth_precision,
               "weeks_premature": child.weeks_premature, **change}
        saved = users.update_child(turn.user.id, child.id, new["name"], new["birth_date"], new["birth_precision"],
                                   new["weeks_premature"])
        if saved is None:
            return [turn.reply(turn.t("error.stale_button"))]
        return [turn.reply(turn.render("child_saved", child=saved, today=turn.today))]

    def _save_child(self, turn: Turn, state: dict[str, Any], weeks: int) -> list[Reply]:
        from datetime import date

        if "birth" not in state:
            return [turn.reply(turn.t("error.stale_button"))]
        birth = date.fromisoformat(state["birth"])
        users = turn.engine.users
        if state.get("child_id"):
            child = users.update_child(turn.user.id, state["child_id"], state.get("name"), birth, state["precision"], weeks)
        else:
            child = users.add_child(turn.user.id, state.get("name"), birth, state["precision"], weeks)
        turn.clear_pending()
        if child is None:
            return [turn.reply(turn.t("error.stale_button"))]
        return [turn.reply(turn.render("child_saved", child=child, today=turn.today))]

    # /mydata and /delete ----------------------------------------------------------------------------------

    def mydata(self, turn: Turn) -> list[Reply]:
        """Send a JSON file of everything stored about the user."""
        data = turn.engine.users.export(turn.user.id)
        content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
        return [turn.reply(turn.t("mydata.caption"), document=Document("sprout-my-data.json", content))]

    def delete(self, turn: Turn) -> list[Reply]:
        """Ask for confirmation before erasing everything."""
        return [turn.reply(turn.t("delete.confirm"),
                           [Button(turn.t("delete.yes"), "delete:yes"), Button(turn.t("delete.no"), "delete:no")])]

    def on_delete(self, turn: Turn, parts: list[str]) -> list[Reply]:
        if parts[:1] != ["yes"]:
            return [turn.reply(turn.t("delete.kept"))]
        lang = turn.lang
        turn.engine.users.delete(turn.user.id)
        return [Reply(turn.engine.renderer.t("delete.done", lang))]
