"""Secrets Sprout generates once and keeps in its data folder (the webhook secret, the console's signing key)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)


def stored_secret(path: Path, nbytes: int, valid: Callable[[str], bool], what: str) -> str:
    """The secret kept in `path` (mode 0600, tightened if it was looser), or a new `secrets.token_urlsafe(nbytes)`
    written there atomically when the file is missing, unreadable or fails `valid`."""
    try:
        stored = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        stored = ""
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("%s file unreadable (%s); generating a new one", what, type(exc).__name__)
        stored = ""
    if stored and valid(stored):
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
        return stored
    secret = secrets.token_urlsafe(nbytes)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secret.encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    log.info("generated a %s and stored it in %s", what, path)
    return secret
