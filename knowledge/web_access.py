"""Who may use the web console and how they prove it: one-time sign-in links (stored hashed, short-lived, single
use), staff passwords (argon2id), sign-in attempts counted in the database for rate limiting, and the cookie
signing key kept in the data folder. Roles are the bot's: numeric Telegram ids in the settings."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlite_utils

from .curation import audit, role_of, staff_actor
from .schedule import iso
from .secret_files import stored_secret
from .settings import Settings


MIN_PASSWORD = 12
MAX_PASSWORD = 256
# Failed sign-ins allowed per client address and per account in the window before further tries are refused.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


class AccessError(Exception):
    """`code` names the catalogue message of the refusal."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(db: sqlite_utils.Database, settings: Settings, telegram_id: int, now: datetime) -> str:
    """A one-time sign-in token for a curator or reviewer; only its hash is stored."""
    if role_of(settings, telegram_id) is None:
        raise AccessError("not_staff")
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=settings.web_link_minutes)
    with db.conn:
        db.execute("begin immediate")
        db.execute("insert into web_links (token_hash, telegram_id, created_at, expires_at) values (?, ?, ?, ?)",
                   [_hash_token(token), telegram_id, iso(now), iso(expires)])
        audit(db, now, staff_actor(telegram_id), "web_link_issued", None, after={"expires_at": iso(expires)})
    return token


def sign_in_url(settings: Settings, token: str) -> str:
    return f"{settings.web_base_url}/signin/link/{token}"


def redeem_link(db: sqlite_utils.Database, settings: Settings, token: str, now: datetime) -> int:
    """The Telegram id a token signs in, marking it used in the same statement (so two tabs cannot both use it).
    AccessError('link') for an unknown, used or expired token, or one whose holder is no longer staff."""
    with db.conn:
        db.execute("begin immediate")
        row = db.execute("select id, telegram_id from web_links where token_hash = ? and used_at is null and "
                         "expires_at > ?", [_hash_token(token), iso(now)]).fetchone()
        if row is None:
            audit(db, now, "web:anonymous", "refused:web_link", None)
            raise_after = True
        else:
            db.execute("update web_links set used_at = ? where id = ?", [iso(now), row[0]])
            raise_after = role_of(settings, row[1]) is None
            audit(db, now, staff_actor(row[1]), "refused:web_link_not_staff" if raise_after else "web_signin_link",
                  None, after={"link": row[0]})
    if raise_after:
        raise AccessError("link")
    return row[1]


def set_password(db: sqlite_utils.Database, telegram_id: int, password: str, now: datetime, actor: str) -> None:
    from argon2 import PasswordHasher

    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccessError("password_length")
    digest = PasswordHasher().hash(password)
    with db.conn:
        db.execute("begin immediate")
        had = db.execute("select 1 from staff_passwords where telegram_id = ?", [telegram_id]).fetchone()
        db.execute("insert into staff_passwords (telegram_id, hash, set_at) values (?, ?, ?) on conflict(telegram_id) "
                   "do update set hash = excluded.hash, set_at = excluded.set_at", [telegram_id, digest, iso(now)])
        audit(db, now, actor, "password_changed" if had else "password_set", staff_actor(telegram_id))


def _recent_failures(db: sqlite_utils.Database, key: str, now: datetime) -> int:
    return db.execute("select count(*) from web_signin_attempts where key = ? and ok = 0 and at > ?",
                      [key, iso(now - FAILURE_WINDOW)]).fetchone()[0]


def check_password(db: sqlite_utils.Database, settings: Settings, telegram_id: int, password: str, client: str,
                   now: datetime) -> int:
    """Sign in with a password. Every attempt is recorded; after MAX_FAILURES failures in FAILURE_WINDOW from one
    address or against one account, attempts are refused unchecked (AccessError('rate')). AccessError('password')
    for a wrong id, password or role (one message for all, so the form does not tell which ids exist)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    keys = (f"addr:{client}", f"id:{telegram_id}")
    if any(_recent_failures(db, key, now) >= MAX_FAILURES for key in keys):
        audit(db, now, "web:anonymous", "refused:web_signin_rate", staff_actor(telegram_id), after={"client": client})
        raise AccessError("rate")
    row = db.execute("select hash from staff_passwords where telegram_id = ?", [telegram_id]).fetchone()
    ok = False
    if row is not None and role_of(settings, telegram_id) is not None:
        try:
            ok = PasswordHasher().verify(row[0], password)
        except (VerificationError, InvalidHashError):
            ok = False
    with db.conn:
        db.execute("begin immediate")
        db.conn.executemany("insert into web_signin_attempts (key, at, ok) values (?, ?, ?)",
                       [(key, iso(now), int(ok)) for key in keys])
        audit(db, now, staff_actor(telegram_id) if ok else "web:anonymous",
              "web_signin_password" if ok else "refused:web_signin_password", staff_actor(telegram_id))
    if not ok:
        raise AccessError("password")
    return telegram_id


def signing_key(settings: Settings) -> str:
    """The key that signs console cookies: generated on first use and kept 0600 in the data folder, so sessions
    survive a restart; delete the file to sign everyone out."""
    return stored_secret(settings.web_secret_path, 48, lambda key: len(key) >= 32, "web console key")


def audit_rows(db: sqlite_utils.Database, limit: int = 200, actor: str | None = None) -> list[dict]:
    """The newest audit rows, for the console's log page."""
    where, params = ("where actor = ?", [actor]) if actor else ("", [])
    return list(db.query(f"select id, at, actor, action, target, before, after from audit_log {where} "
                         f"order by id desc limit ?", [*params, limit]))
