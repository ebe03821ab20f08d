"""The send loop for scheduled messages: claim due rows under a lease, send each through a transport, record
the outcome. Each row's attempt is recorded just before its request leaves. An error where the request cannot
have reached Telegram (refused, dropped, 5xx, 429) is retried with backoff until a deadline; only a timeout
after the request was written is 'unknown', and 'unknown' is never retried (no duplicates)."""

from __future__ import annotations

import asyncio
import logging
import random
import warnings
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Protocol

from knowledge.clock import Clock
from knowledge.deliveries import Delivery, Ledger

from .messages import Reply

log = logging.getLogger(__name__)


class SendError(Exception):
    """Base of the outcomes a transport reports instead of success."""


class Blocked(SendError):
    """403: the user blocked the bot."""


class NotDelivered(SendError):
    """The request cannot have reached Telegram (refused, dropped, DNS), or Telegram answered with a server
    error: sending it again cannot make a duplicate."""


class RetryLater(NotDelivered):
    """429: Telegram refused the request and said when to try again."""

    def __init__(self, seconds: float):
        super().__init__(f"429: retry after {seconds}s")
        self.seconds = seconds


class Unknown(SendError):
    """The request may have reached Telegram (e.g. a timeout after it was sent)."""


class Failed(SendError):
    """Telegram refused the message for good (e.g. 400 chat not found)."""


class Transport(Protocol):
    async def send(self, chat_id: int, reply: Reply) -> None: ...


# Set by the send loop around each send: a transport whose HTTP layer calls it just before the request leaves
# (see `signals_start`) lets the row be marked started after any client-side wait (PTB's rate limiter), so a
# crash during that wait leaves the row 'pending', not 'unknown'.
REQUEST_LEAVING: ContextVar[Callable[[], None] | None] = ContextVar("sprout_request_leaving", default=None)


Composer = Callable[[Delivery], Reply | None]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for rows whose request was not delivered, and how long to keep trying."""

    deadline: timedelta = timedelta(hours=24)
    first: float = 2.0  # seconds before the first retry
    longest: float = 600.0  # seconds: the backoff never grows beyond this
    rng: random.Random = field(default_factory=random.Random, compare=False)

    @classmethod
    def from_settings(cls, settings) -> "RetryPolicy":
        longest = float(settings.tips_retry_max_seconds)
        return cls(deadline=timedelta(hours=settings.tips_retry_deadline_hours), first=min(2.0, longest),
                   longest=longest)

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` tries: doubling from `first`, capped, then 50-100% of
        that, so that many rows refused together do not all come back at the same second."""
        base = min(self.longest, self.first * 2 ** max(0, min(attempts - 1, 30)))
        return base * (0.5 + 0.5 * self.rng.random())


@dataclass
class PassStats:
    claimed: int = 0
    sent: int = 0
    unknown: int = 0
    failed: int = 0
    blocked: int = 0
    retried: int = 0  # not delivered this time, back to pending with a backoff
    expired: int = 0  # not delivered, and its retry deadline had passed
    skipped: int = 0
    released: int = 0  # claimed but never started (the pass was stopped), back to pending
    recovered_unknown: int = 0  # left mid-send by a sender that died
    recovered_pending: int = 0  # claimed but never started by a sender that died
    stopped: bool = False
    lease: bool = True
    seconds_waited: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)

    def exit_code(self) -> int:
        """For `tips send-due`: 4 when a row ended unknown or expired (look at them), 3 when rows wait for a
        retry (a later pass sends them), else 0."""
        if self.unknown or self.expired or self.recovered_unknown:
            return EXIT_UNKNOWN_OR_EXPIRED
        if self.retried:
            return EXIT_RETRY_PENDING
        return 0


EXIT_RETRY_PENDING = 3
EXIT_UNKNOWN_OR_EXPIRED = 4


async def send_due(ledger: Ledger, compose: Composer, transport: Transport, clock: Clock, worker: str,
                   batch_size: int = 20, max_batches: int | None = None, user_id: int | None = None,
                   per_chat_interval: float = 1.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                   lease_ttl: int = 120, retry: RetryPolicy | None = None,
                   stop: Callable[[], bool] = lambda: False) -> PassStats:
    """One pass: send everything due now (or `max_batches` batches), at most one message per chat per second.
    When `stop()` turns true (SIGTERM), the message in flight is finished and the rest of the batch is given
    back to 'pending'; so is it when the pass ends with an error."""
    retry = retry or RetryPolicy()
    stats = PassStats()
    if user_id is None:
        if not ledger.acquire_lease(worker, clock(), lease_ttl):
            stats.lease = False
            return stats
        stats.recovered_pending, stats.recovered_unknown = ledger.recover_in_flight(clock(), worker)
    last_sent: dict[int, datetime] = {}
    batches = 0
    try:
        while (max_batches is None or batches < max_batches) and not stop():
            batch = ledger.claim(clock(), worker, batch_size, user_id=user_id)
            if not batch:
                break
            batches += 1
            stats.claimed += len(batch)
            for delivery in batch:
                if stop():
                    break
                await _send_one(ledger, compose, transport, clock, delivery, stats, last_sent, per_chat_interval,
                                sleep, retry)
            if user_id is None and not ledger.acquire_lease(worker, clock(), lease_ttl):
                stats.lease = False
                break
        stats.stopped = stop()
    finally:
        try:
            stats.released = ledger.release(worker)
        except Exception:  # e.g. the disk is full: the next pass's recovery gives them back instead
            log.exception("could not give back the claimed rows; the next pass will")
        if user_id is None and stats.lease:
            ledger.release_lease(worker)
    return stats


async def _send_one(ledger: Ledger, compose: Composer, transport: Transport, clock: Clock, delivery: Delivery,
                    stats: PassStats, last_sent: dict[int, datetime], interval: float, sleep,
                    retry: RetryPolicy) -> None:
    """Send one row and record its outcome. Whatever goes wrong with this one chat is recorded on its row and
    never stops the pass."""
    try:
        reply = compose(delivery)
    except Exception as exc:  # a broken template or item: this row cannot be sent, the others can
        log.exception("could not compose delivery %s", delivery.id)
        ledger.finish(delivery.id, "failed", clock(), f"could not compose: {_describe(exc)}"[:200])
        stats.failed += 1
        return
    if reply is None:  # the tip or child no longer exists
        ledger.finish(delivery.id, "skipped", clock(), "nothing to send")
        stats.skipped += 1
        return
    chat = delivery.chat_id or 0
    previous = last_sent.get(chat)
    if previous is not None and interval:
        wait = interval - (clock() - previous).total_seconds()
        if wait > 0:  # Telegram allows about one message per second to the same chat
            stats.seconds_waited += wait
            await sleep(wait)
    # Marked started just before the request leaves: by the transport's HTTP layer when it can say when that is,
    # else here. A row never started cannot have been delivered, so whatever went wrong it can be sent again.
    started = False

    def leaving() -> None:
        nonlocal started
        if not started:
            ledger.start(delivery.id, clock())
            started = True

    if not getattr(transport, "signals_start", False):
        leaving()
    token = REQUEST_LEAVING.set(leaving)
    try:
        await transport.send(chat, reply)
    except asyncio.CancelledError:
        if started:
            ledger.finish(delivery.id, "unknown", clock(), "cancelled mid-send")
            stats.unknown += 1
        raise  # a row never started is given back by send_due
    except Blocked:
        ledger.finish(delivery.id, "failed", clock(), "blocked by user")
        ledger.block_user(delivery.user_id, clock())
        stats.blocked += 1
    except Exception as exc:
        if not isinstance(exc, (NotDelivered, Failed)) and not started:
            exc = NotDelivered(f"before the request left: {_describe(exc)}")
        _record_error(ledger, clock, delivery, exc, stats, retry)
    else:
        ledger.finish(delivery.id, "sent", clock())
        stats.sent += 1
        stats.by_kind[delivery.kind] = stats.by_kind.get(delivery.kind, 0) + 1
    finally:
        REQUEST_LEAVING.reset(token)
    last_sent[chat] = clock()


def _record_error(ledger: Ledger, clock: Clock, delivery: Delivery, exc: Exception, stats: PassStats,
                  retry: RetryPolicy) -> None:
    if isinstance(exc, NotDelivered):
        wait = (lambda _: exc.seconds) if isinstance(exc, RetryLater) else retry.delay  # honour retry_after
        state = ledger.retry(delivery.id, clock(), wait, str(exc)[:200], retry.deadline)
        if state == "expired":
            log.warning("delivery %s expired: %s", delivery.id, exc)
            stats.expired += 1
        else:
            stats.retried += 1
    elif isinstance(exc, Unknown):
        ledger.finish(delivery.id, "unknown", clock(), str(exc)[:200])
        stats.unknown += 1
    elif isinstance(exc, Failed):
        ledger.finish(delivery.id, "failed", clock(), str(exc)[:200])
        stats.failed += 1
    else:  # unclassified, after the request left: it may have been delivered, so it is never resent
        log.error("unexpected error sending delivery %s: %s", delivery.id, _describe(exc))
        ledger.finish(delivery.id, "unknown", clock(), f"unexpected {_describe(exc)}"[:200])
        stats.unknown += 1


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class TelegramTransport:
    """Sends through a PTB Bot (with its rate limiter) and maps Telegram's errors to ledger outcomes."""

    def __init__(self, bot):
        self.bot = bot

    @property
    def signals_start(self) -> bool:
        """True when the bot's HTTP layer marks the row started as the request leaves (see SignallingRequest)."""
        from .telegram_app import SignallingRequest

        return isinstance(getattr(self.bot, "request", None), SignallingRequest)

    async def send(self, chat_id: int, reply: Reply) -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup
        from telegram.constants import ParseMode
        from telegram.error import TelegramError

        from .telegram_app import NO_PREVIEW, to_html

        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                                           for row in reply.buttons])
        try:
            await self.bot.send_message(chat_id, to_html(reply.text), parse_mode=ParseMode.HTML, reply_markup=markup,
                                        link_preview_options=NO_PREVIEW)
        except TelegramError as exc:
            raise classify(exc) from exc


def classify(exc: Exception) -> SendError:
    """What a PTB error means for a message: could it have been delivered, and may it be sent again?

    PTB's HTTPXRequest raises TimedOut from an httpx timeout and NetworkError from any other httpx error (the
    httpx exception is the cause); an HTTP error answer becomes NetworkError (5xx), BadRequest (400), Forbidden
    (403), RetryAfter (429) or ChatMigrated, with no httpx cause."""
    import httpx
    from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

    cause = _httpx_cause(exc)
    if isinstance(exc, Forbidden):
        return Blocked(str(exc))
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that the attribute becomes a timedelta; both are handled
            warnings.simplefilter("ignore")
            retry = exc.retry_after
        return RetryLater(retry.total_seconds() if isinstance(retry, timedelta) else float(retry))
    if isinstance(exc, ChatMigrated):  # a group became a supergroup: not delivered, and not ours to follow
        return Failed(f"chat migrated to {exc.new_chat_id}")
    if isinstance(exc, TimedOut):
        # Connecting, waiting for a pooled connection or writing the request: it never fully left. Only a
        # timeout while waiting for the answer (or one we cannot place) may have been delivered.
        if isinstance(cause, (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteTimeout)):
            return NotDelivered(f"{type(cause).__name__}: the request did not leave")
        return Unknown(f"timed out after sending ({type(cause).__name__ if cause else 'TimedOut'})")
    if isinstance(exc, BadRequest):
        return Failed(str(exc))
    if isinstance(exc, InvalidToken):
        return NotDelivered(f"refused: {exc}")  # the token was rejected: nothing delivered; an operator must act
    if isinstance(exc, NetworkError):
        # Refused, reset or dropped connections, DNS failures, protocol errors without an answer (httpx cause),
        # and 5xx answers (no cause, or an unparsable error page): Telegram did not accept the message.
        if cause is not None:
            return NotDelivered(f"{type(cause).__name__}: {cause}"[:200])
        return NotDelivered(f"server error: {exc}"[:200])
    # Anything else (e.g. an unreadable 200 answer) may come after Telegram accepted the message.
    return Unknown(f"{type(exc).__name__}: {exc}"[:200])


def _httpx_cause(exc: BaseException):
    import httpx

    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, httpx.HTTPError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
