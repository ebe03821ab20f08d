"""Logging set-up: never message text, birth dates, coordinates or the bot token."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
_LOUD_LIBRARIES = ("httpx", "httpcore", "telegram.ext.ExtBot", "apscheduler", "sentence_transformers", "jieba",
                   "faiss.loader", "transformers")


class RedactingFilter(logging.Filter):
    """Scrub bot tokens from every record, whatever library wrote it (httpx logs request URLs with the token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN.search(message):
            record.msg = _TOKEN.sub("<token>", message)
            record.args = ()
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _LOUD_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
