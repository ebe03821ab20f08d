"""The send loop for scheduled messages: claim due rows under a lease, send each through a transport, record
the outcome. A timeout after the request left is 'unknown' and never retried blindly."""

from __future__ import annotations

import asyncio
import logging
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


class RetryLater(SendError):
    def __init__(self, seconds: float):
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Unknown(SendError):
    """The request may have reached Telegram (e.g. a timeout after it was sent)."""


class Failed(SendError):
    """Telegram refused the message for good (e.g. 400 chat not found)."""


class Transport(Protocol):
    async def send(self, chat_id: int, reply: Reply) -> None: ...


Composer = Callable[[Delivery], Reply | None]


@dataclass
class PassStats:
    claimed: int = 0
    sent: int = 0
    unknown: int = 0
    failed: int = 0
    blocked: int = 0
    retry_later: int = 0
    skipped: int = 0
    recovered_unknown: int = 0
    lease: bool = True
    seconds_waited: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)


async def send_due(ledger: Ledger, compose: Composer, transport: Transport, clock: Clock, worker: str,
                   batch_size: int = 20, max_batches: int | None = None, user_id: int | None = None,
                   per_chat_interval: float = 1.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                   lease_ttl: int = 120) -> PassStats:
    """One pass: send everything due now (or `max_batches` batches), at most one message per chat per second."""
    stats = PassStats()
    if user_id is None:
        if not ledger.acquire_lease(worker, clock(), lease_ttl):
            stats.lease = False
            return stats
        stats.recovered_unknown = ledger.recover_in_flight(clock(), worker)
    last_sent: dict[int, datetime] = {}
    batches = 0
    try:
        while max_batches is None or batches < max_batches:
            batch = ledger.claim(clock(), worker, batch_size, user_id=user_id)
            if not batch:
                break
            batches += 1
            stats.claimed += len(batch)
            for delivery in batch:
                await _send_one(ledger, compose, transport, clock, delivery, stats, last_sent, per_chat_interval, sleep)
            if user_id is None and not ledger.acquire_lease(worker, clock(), lease_ttl):
                stats.lease = False
                break
    finally:
        if user_id is None and stats.lease:
            ledger.release_lease(worker)
    return stats


async def _send_one(ledger: Ledger, compose: Composer, transport: Transport, clock: Clock, delivery: Delivery,
                    stats: PassStats, last_sent: dict[int, datetime], interval: float, sleep) -> None:
    reply = compose(delivery)
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
    try:
        await transport.send(chat, reply)
    except Blocked:
        ledger.finish(delivery.id, "failed", clock(), "blocked by user")
        ledger.block_user(delivery.user_id, clock())
        stats.blocked += 1
    except RetryLater as exc:
        ledger.retry_later(delivery.id, clock() + timedelta(seconds=exc.seconds))
        stats.retry_later += 1
    except Unknown as exc:
        ledger.finish(delivery.id, "unknown", clock(), str(exc)[:200])
        stats.unknown += 1
    except Failed as exc:
        ledger.finish(delivery.id, "failed", clock(), str(exc)[:200])
        stats.failed += 1
    else:
        ledger.finish(delivery.id, "sent", clock())
        stats.sent += 1
        stats.by_kind[delivery.kind] = stats.by_kind.get(delivery.kind, 0) + 1
    last_sent[chat] = clock()


class TelegramTransport:
    """Sends through a PTB Bot (with its rate limiter) and maps Telegram's errors to ledger outcomes."""

    def __init__(self, bot):
        self.bot = bot

    async def send(self, chat_id: int, reply: Reply) -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup
        from telegram.constants import ParseMode
        from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

        from .telegram_app import to_html

        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                                           for row in reply.buttons])
        try:
            await self.bot.send_message(chat_id, to_html(reply.text), parse_mode=ParseMode.HTML, reply_markup=markup)
        except Forbidden as exc:
            raise Blocked(str(exc)) from exc
        except RetryAfter as exc:
            retry = exc.retry_after
            raise RetryLater(retry.total_seconds() if isinstance(retry, timedelta) else float(retry)) from exc
        except TimedOut as exc:
            raise Unknown("timed out after sending") from exc
        except BadRequest as exc:
            raise Failed(str(exc)) from exc
        except NetworkError as exc:
            raise Unknown(f"network error: {type(exc).__name__}") from exc
