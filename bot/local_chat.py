"""The local chat: the same conversation engine in a terminal, buttons shown as numbered choices.
Works interactively and with piped stdin (one message per line), so it can be scripted."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Callable, TextIO

from .engine import Engine
from .messages import Button, Incoming, Reply

log = logging.getLogger(__name__)
_LOCATION = re.compile(r"^\s*@\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


def write_private(path: Path, content: bytes) -> None:
    """Write a file only its owner can read (0600), in a folder only they can enter (0700) when Sprout creates it."""
    from knowledge.db import make_private, private_folder

    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    make_private(path)  # an older file of the same name may have had a looser mode


def parse_line(line: str, user_key: str, choices: list[Button], language_hint: str | None) -> Incoming | None:
    """Turn one typed line into an engine action: /command, a number for a button, @lat,lon, or text."""
    text = line.strip()
    if not text:
        return None
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return Incoming(user_key, callback=choices[int(text) - 1].data, language_hint=language_hint)
    if text.startswith("/") and len(text) > 1:
        command, _, args = text[1:].partition(" ")
        return Incoming(user_key, command=command.split("@")[0], args=args.strip(), text=text,
                        language_hint=language_hint)
    match = _LOCATION.match(text)
    if match:
        return Incoming(user_key, location=(float(match[1]), float(match[2])), language_hint=language_hint)
    return Incoming(user_key, text=text, language_hint=language_hint)


class LocalChat:
    def __init__(self, engine: Engine, user: str, write: Callable[[str], None], export_dir: Path,
                 language: str | None = None, inbox: Callable[[int], list[Reply]] | None = None):
        self.engine, self.write, self.export_dir, self.language = engine, write, export_dir, language
        self.inbox = inbox  # scheduled messages (tips, check-ins) due for this user
        self.user_key = f"local:{user}"
        self.choices: list[Button] = []
        self.saved: list[Path] = []  # files shown to the user this session; removed when the chat ends

    def _lang(self) -> str:
        user = self.engine.users.find(self.user_key)
        return user.language if user else (self.language or self.engine.settings.language)

    def run(self, stdin: TextIO, prompt: Callable[[], None] | None = None) -> None:
        """Read lines until end of input; `prompt` (interactive use only) is called before each read."""
        if self.engine.users.find(self.user_key) is None:
            self.send(Incoming(self.user_key, command="start", language_hint=self.language))
            if self.language:
                user = self.engine.users.find(self.user_key)
                self.engine.users.update(user.id, language=self.language)
        elif prompt is not None:
            self.write(self.engine.renderer.t("chat.back", self._lang()))
        try:
            while True:
                if prompt is not None:
                    prompt()
                line = stdin.readline()
                if not line:
                    break
                incoming = parse_line(line, self.user_key, self.choices, self.language)
                if incoming is not None:
                    self.send(incoming)
        finally:
            self.remove_saved()

    def remove_saved(self) -> None:
        """Remove the exports (personal data) written this session: they were for reading there and then."""
        for path in self.saved:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("local chat: could not remove %s (%s)", path.name, exc.strerror or exc)
        self.saved.clear()

    def send(self, incoming: Incoming) -> None:
        try:
            replies = self.engine.handle(incoming)
            user = self.engine.users.find(self.user_key)
            if user is None:
                self.remove_saved()  # the user was just deleted: their exports go with them
            if self.inbox is not None and user is not None:
                replies = replies + self.inbox(user.id)
        except Exception:  # the chat keeps going; the error is logged without the message text
            log.exception("local chat: handling failed")
            replies = [Reply(self.engine.renderer.t("error.internal", self._lang()))]
        self.show(replies)

    def show(self, replies: list[Reply]) -> None:
        self.choices.clear()
        t = lambda key, **kw: self.engine.renderer.t(key, self._lang(), **kw)  # noqa: E731
        for reply in replies:
            lines = [reply.text.replace("**", "")]
            if reply.rest:
                lines.append("\n" + reply.rest.replace("**", ""))
            for button in (b for row in reply.buttons for b in row if not (reply.rest and b.data.startswith("more:"))):
                self.choices.append(button)
                lines.append(f"  [{len(self.choices)}] {button.label}")
            if reply.request_location:
                lines.append(t("chat.location_hint"))
            if reply.document is not None:
                saved = self.export_dir / reply.document.filename
                try:
                    write_private(saved, reply.document.content)
                    self.saved.append(saved)
                except OSError as exc:  # the export folder is a file, full or read-only: say so, keep chatting
                    log.warning("local chat: could not save %s (%s)", reply.document.filename, exc.strerror or exc)
                    lines.append(t("chat.file_not_saved", path=str(self.export_dir)))
                else:
                    lines.append(t("chat.file_saved", path=str(saved)))
            self.write("\n".join(lines) + "\n")
