"""The conversation engine shared by the Telegram bot and the local chat: an incoming action and the user's
profile in, replies out. Features plug in their commands, buttons and multi-step inputs."""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Protocol

import sqlite_utils

from knowledge.bundle import KnowledgeBase
from knowledge.clock import Clock, utc_now
from knowledge.db import utcnow_iso
from knowledge.settings import Settings
from knowledge.users import User, UserStore

from .messages import Button, Incoming, Reply, keyboard
from .render import Renderer

log = logging.getLogger(__name__)


@dataclass
class Turn:
    """One incoming action being handled: who, in which language, and helpers to answer them."""

    incoming: Incoming
    user: User
    is_new: bool
    engine: "Engine"
    now: datetime

    @property
    def lang(self) -> str:
        return self.user.language

    @property
    def private(self) -> bool:
        """A one-to-one chat: the only place personal data is shown or changed."""
        return self.incoming.private

    @property
    def today(self) -> date:
        return self.engine.local_today(self.user, self.now)

    def t(self, key: str, **context: Any) -> str:
        return self.engine.renderer.t(key, self.lang, **context)

    def render(self, template: str, **context: Any) -> str:
        return self.engine.renderer.render(template, self.lang, **context)

    def reply(self, text: str, *rows: list[Button], **extra: Any) -> Reply:
        return Reply(text, keyboard(*rows), **extra)

    @property
    def pending(self) -> dict[str, Any] | None:
        return self.engine.pending(self.user.id)

    def set_pending(self, flow: str, **state: Any) -> None:
        self.engine.set_pending(self.user.id, {"flow": flow, **state})

    def clear_pending(self) -> None:
        self.engine.set_pending(self.user.id, None)

    def refresh_user(self) -> None:
        self.user = self.engine.users.get(self.user.id)


Handler = Callable[[Turn], list[Reply]]
CallbackHandler = Callable[[Turn, list[str]], list[Reply]]
FlowHandler = Callable[[Turn, dict[str, Any]], list[Reply]]


class Feature(Protocol):
    """A set of commands, button prefixes and multi-step inputs, registered with the engine. A feature may name
    the commands (`group_commands`) and button prefixes (`group_callbacks`) that are safe in a group chat: they
    must show nothing personal. Everything else is refused in groups."""

    commands: dict[str, Handler]
    callbacks: dict[str, CallbackHandler]
    flows: dict[str, FlowHandler]


@dataclass
class CommandInfo:
    name: str
    handler: Handler
    curator_only: bool = False


class Engine:
    def __init__(self, settings: Settings, db: sqlite_utils.Database, kb: KnowledgeBase, renderer: Renderer,
                 clock: Clock = utc_now):
        self.settings, self.db, self.kb, self.renderer, self.clock = settings, db, kb, renderer, clock
        self.users = UserStore(db)
        self.commands: dict[str, CommandInfo] = {}
        self.callbacks: dict[str, CallbackHandler] = {}
        self.flows: dict[str, FlowHandler] = {}
        self.text_handler: Handler | None = None
        self.location_handler: Handler | None = None
        self.group_commands: set[str] = set()
        self.group_callbacks: set[str] = set()
        # Button prefixes whose handling may take more than a moment (a search): the front end shows "typing…".
        self.slow_callbacks: set[str] = set()
        self._recent: dict[str, deque[float]] = {}
        self._warned: set[str] = set()

    # Registration ----------------------------------------------------------------------------------------

    def add(self, feature: Any, curator_commands: tuple[str, ...] = ()) -> None:
        for name, handler in getattr(feature, "commands", {}).items():
            self.commands[name] = CommandInfo(name, handler, name in curator_commands)
        self.callbacks.update(getattr(feature, "callbacks", {}))
        self.flows.update(getattr(feature, "flows", {}))
        self.group_commands.update(getattr(feature, "group_commands", ()))
        self.group_callbacks.update(getattr(feature, "group_callbacks", ()))
        self.slow_callbacks.update(getattr(feature, "slow_callbacks", ()))
        if hasattr(feature, "on_text"):
            self.text_handler = feature.on_text
        if hasattr(feature, "on_location"):
            self.location_handler = feature.on_location

    def public_commands(self) -> list[str]:
        return [name for name, info in self.commands.items() if not info.curator_only]

    def curator_commands(self) -> list[str]:
        return [name for name, info in self.commands.items() if info.curator_only]

    # Per-user state kept in the database so a restart loses nothing -----------------------------------

    def pending(self, user_id: int) -> dict[str, Any] | None:
        row = self.db.execute("select state from conversations where user_id = ? and flow = 'pending'",
                              [user_id]).fetchone()
        return json.loads(row[0]) if row else None

    def set_pending(self, user_id: int, state: dict[str, Any] | None) -> None:
        with self.db.conn:
            if state is None:
                self.db.execute("delete from conversations where user_id = ? and flow = 'pending'", [user_id])
            else:
                self.db.execute("insert into conversations (user_id, flow, state, updated_at) values (?, 'pending', ?, ?) "
                                "on conflict(user_id, flow) do update set state = excluded.state, "
                                "updated_at = excluded.updated_at", [user_id, json.dumps(state), utcnow_iso()])

    def local_today(self, user: User, now: datetime) -> date:
        from zoneinfo import ZoneInfo

        region = self.kb.regions.get(user.region) if self.kb.regions else {"timezone": "UTC"}
        return now.astimezone(ZoneInfo(region["timezone"])).date()

    # Handling ----------------------------------------------------------------------------------------------

    def handle(self, incoming: Incoming) -> list[Reply]:
        now = self.clock()
        language = self.settings.language
        if incoming.language_hint and incoming.language_hint.lower().startswith("zh"):
            language = "zh"
        # Only a private chat says where the user's messages (tips, reminders) go: a group never redirects them.
        chat_id = incoming.chat_id if incoming.private else None
        user, is_new = self.users.get_or_create(incoming.user_key, chat_id, language, self.settings.region)
        turn = Turn(incoming, user, is_new, self, now)
        if incoming.text and len(incoming.text) > self.settings.max_message_chars:
            return [turn.reply(turn.t("error.too_long", limit=self.settings.max_message_chars))]
        # The local chat is one trusted person at a terminal (piped input included): no per-minute limit.
        if not incoming.user_key.startswith("local:") and self._throttled(incoming.user_key, now):
            if incoming.user_key in self._warned:
                return []
            self._warned.add(incoming.user_key)
            return [turn.reply(turn.t("error.slow_down"))]
        self._warned.discard(incoming.user_key)
        return self._dispatch(turn)

    def _dispatch(self, turn: Turn) -> list[Reply]:
        incoming = turn.incoming
        if not incoming.private:
            return self._dispatch_group(turn)
        if incoming.command is not None:
            info = self.commands.get(incoming.command.lower())
            if info is None:
                return [turn.reply(turn.t("error.unknown_command", command=incoming.command))]
            if incoming.command.lower() != "cancel" and turn.pending:
                turn.clear_pending()  # a new command abandons a half-finished input
            return info.handler(turn)
        if incoming.callback is not None:
            prefix, *parts = incoming.callback.split(":")
            handler = self.callbacks.get(prefix)
            if handler is None:
                return [turn.reply(turn.t("error.stale_button"))]
            return handler(turn, parts)
        if incoming.location is not None and self.location_handler is not None:
            return self.location_handler(turn)
        text = (incoming.text or "").strip()
        if not text:
            return [turn.reply(turn.t("error.empty"))]
        pending = turn.pending
        if pending and pending.get("flow") in self.flows:
            return self.flows[pending["flow"]](turn, pending)
        if self.text_handler is None:
            return [turn.reply(turn.t("error.unknown_command", command=text[:20]))]
        return self.text_handler(turn)

    def _dispatch_group(self, turn: Turn) -> list[Reply]:
        """A group chat: general questions and the few commands and buttons that show nothing personal; anything
        else gets "message me privately". A half-finished private input is neither fed nor abandoned."""
        incoming = turn.incoming
        refuse = [turn.reply(turn.t("group.private_only"))]
        if incoming.command is not None:
            name = incoming.command.lower()
            info = self.commands.get(name)
            if info is None:
                return [turn.reply(turn.t("error.unknown_command", command=incoming.command))]
            return info.handler(turn) if name in self.group_commands else refuse
        if incoming.callback is not None:
            prefix, *parts = incoming.callback.split(":")
            handler = self.callbacks.get(prefix)
            return handler(turn, parts) if handler is not None and prefix in self.group_callbacks else refuse
        if incoming.location is not None:
            return refuse
        if not (incoming.text or "").strip():
            return [turn.reply(turn.t("error.empty"))]
        if self.text_handler is None:
            return refuse
        return self.text_handler(turn)

    def _throttled(self, key: str, now: datetime) -> bool:
        window = self._recent.setdefault(key, deque())
        stamp = now.timestamp()
        while window and stamp - window[0] > 60:
            window.popleft()
        window.append(stamp)
        return len(window) > self.settings.messages_per_minute
