"""Console sessions: a signed cookie (HttpOnly, SameSite=Strict) holding the signed-in Telegram id, the language
and the CSRF token every form must carry back. Nothing else is kept between requests."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "sprout_console"
MAX_AGE = 12 * 3600  # a working day; then sign in again


@dataclass
class Session:
    user: int | None = None
    lang: str = "en"
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    changed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"u": self.user, "l": self.lang, "c": self.csrf}

    def csrf_ok(self, given: Any) -> bool:
        return isinstance(given, str) and bool(given) and hmac.compare_digest(given, self.csrf)

    def sign_in(self, user: int) -> None:
        # A fresh CSRF token at sign-in: a token seen before signing in is worth nothing after.
        self.user, self.csrf, self.changed = user, secrets.token_urlsafe(24), True

    def sign_out(self) -> None:
        self.user, self.csrf, self.changed = None, secrets.token_urlsafe(24), True


class Sessions:
    def __init__(self, key: str, secure: bool):
        self.serializer = URLSafeTimedSerializer(key, salt="sprout-console-session")
        self.secure = secure

    def load(self, cookie: str | None, default_lang: str) -> Session:
        if cookie:
            try:
                data = self.serializer.loads(cookie, max_age=MAX_AGE)
                user = data.get("u")
                return Session(user if isinstance(user, int) else None,
                               data.get("l") if data.get("l") in ("en", "zh") else default_lang, str(data["c"]))
            except (BadSignature, KeyError, TypeError, AttributeError):
                pass
        return Session(lang=default_lang, changed=True)

    def store(self, response, session: Session) -> None:
        if session.changed:
            response.set_cookie(COOKIE, self.serializer.dumps(session.as_dict()), max_age=MAX_AGE, httponly=True,
                                samesite="strict", secure=self.secure, path="/")
