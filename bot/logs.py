"""Logging set-up: never message text, names, birth dates, coordinates, the bot token or secrets, at any level.

Libraries log what they handle: at DEBUG python-telegram-bot writes every update (`Processing update Update(...)`),
every Bot API call with its parameters, the raw webhook body and a wrong secret token it was sent. Every record is
scrubbed when it is created (a log record factory), so whatever handler sees it (the console, the log file, a
test's capture) gets the scrubbed text; exceptions' text is scrubbed too."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Iterable, TextIO

_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
_LOUD_LIBRARIES = ("httpx", "httpcore", "telegram.ext.ExtBot", "apscheduler", "sentence_transformers", "jieba",
                   "faiss.loader", "transformers")
# Fields of Telegram objects (and our own) that carry what a person wrote or who they are. Values are replaced
# whether they appear as JSON ("text": "..."), a dict repr ('text': '...') or an object repr (text='...').
PERSONAL_FIELDS = ("text", "caption", "first_name", "last_name", "username", "title", "data", "query", "name",
                   "phone_number", "email", "bio", "description", "address", "question", "file_name", "birth_date",
                   "secret_token", "token", "vcard", "emoji", "custom_title", "invite_link", "url", "quote")
_FIELD = "|".join(PERSONAL_FIELDS)
_QUOTED = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_FIELD_VALUE = re.compile(rf"""(["']?\b(?:{_FIELD})\b["']?\s*[=:]\s*){_QUOTED}""")
_COORDINATE = re.compile(r"""(["']?\b(?:latitude|longitude|lat|lon)\b["']?\s*[=:]\s*)-?\d+(?:\.\d+)?""")
# A secret a client sent (right or wrong): whatever follows the words "secret token" on that line.
_SECRET_GUESS = re.compile(r"(secret[ _-]?token\b[^:=\n]*[:=]?\s*)\S+", re.I)
_DATES = re.compile(
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"
    r"|\b\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{4}\b"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}\b"
    r"|\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?")


class Redactor:
    """Scrubs one message: the configured secrets, anything shaped like a bot token, personal fields of dumped
    objects, coordinates, dates and secret tokens a client sent."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, message: str) -> str:
        for secret in self.secrets:
            message = message.replace(secret, "<secret>")
        message = _TOKEN.sub("<token>", message)
        message = _FIELD_VALUE.sub(r"\1'<redacted>'", message)
        message = _COORDINATE.sub(r"\1<redacted>", message)
        message = _SECRET_GUESS.sub(r"\1<redacted>", message)
        return _DATES.sub("<date>", message)

    def record(self, record: logging.LogRecord) -> logging.LogRecord:
        """Scrub a record in place: its message (formatted with its arguments), exception and stack text."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record: keep only its template
            message = str(record.msg)
        record.msg, record.args = self.scrub(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return record


class RedactingFilter(logging.Filter):
    """The redactor as a handler filter (for handlers set up outside `configure_logging`)."""

    def __init__(self, redactor: Redactor | None = None):
        super().__init__()
        self.redactor = redactor or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        self.redactor.record(record)
        return True


def _redacting_factory(redactor: Redactor):
    base = logging.getLogRecordFactory()
    base = getattr(base, "sprout_base", base)  # configuring twice wraps the original factory once

    def factory(*args, **kwargs) -> logging.LogRecord:
        return redactor.record(base(*args, **kwargs))

    factory.sprout_base = base  # type: ignore[attr-defined]
    return factory


def private_log_file(path: Path) -> logging.Handler:
    """A log file created 0600 in a 0700 folder (Sprout's folders; an existing folder is left as it is)."""
    from knowledge.db import make_private, private_folder

    private_folder(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    make_private(path)
    return logging.FileHandler(path, encoding="utf-8")


def configure_logging(level: str = "INFO", stream: TextIO | None = None, log_file: Path | None = None,
                      secrets: Iterable[str | None] = ()) -> None:
    redactor = Redactor(secrets)
    logging.setLogRecordFactory(_redacting_factory(redactor))
    handlers: list[logging.Handler] = [logging.StreamHandler(stream)]
    if log_file is not None:
        handlers.append(private_log_file(Path(log_file)))
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter(redactor))  # records made before the factory was set
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in _LOUD_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
