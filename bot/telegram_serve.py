"""Serving Telegram with nothing lost: every update is committed to the inbox before Telegram is told it arrived
(webhook: before the 200; polling: before the next getUpdates confirms it by its offset), and a worker hands the
inbox to the PTB Application one update per chat at a time, in update_id order, resuming after a restart.

Exactly once, as far as it can be: a repeated update id is ignored, and an update is marked done in one short
transaction right after its replies went out. Only a crash between those two steps (after Telegram accepted a
reply, before the commit) makes the update be handled again after the restart, and that reply be sent twice.
One `sprout serve` per database: a second one would hand out the first one's updates again after its restart."""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from knowledge.clock import Clock, utc_now
from knowledge.db import open_database
from knowledge.inbox import Inbox, InboxItem
from knowledge.secret_files import stored_secret
from knowledge.settings import MIN_WEBHOOK_SECRET

if TYPE_CHECKING:
    from knowledge.settings import Settings

    from .wiring import Runtime

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_FILE = "webhook_secret"
MAX_BODY = 1024 * 1024      # Telegram's updates are a few KB; anything over 1 MB is refused unread
WEBHOOK_PATH = "/telegram"
POLL_TIMEOUT = 10           # seconds a getUpdates long poll waits for updates
WORKERS = 8                 # chats handled at the same time (the engine itself runs on one thread)
DRAIN_SECONDS = 10.0        # at shutdown, how long updates being handled may take to finish


# The webhook secret -------------------------------------------------------------------------------------------

def webhook_secret(settings: "Settings") -> str:
    """SPROUT_WEBHOOK_SECRET when set (settings require 32+ characters), else the one generated on the first start
    and kept in the data folder (mode 0600), so a restart keeps it and Telegram keeps being able to reach us."""
    if settings.webhook_secret:
        return settings.webhook_secret
    # 43 characters of A-Z, a-z, 0-9, _ and -, as Telegram accepts
    return stored_secret(Path(settings.data_dir) / SECRET_FILE, 32,
                         lambda secret: len(secret) >= MIN_WEBHOOK_SECRET and
                         all(c.isalnum() or c in "_-" for c in secret), "webhook secret")


# The webhook ----------------------------------------------------------------------------------------------------

@tornado.web.stream_request_body
class WebhookHandler(tornado.web.RequestHandler):
    """Telegram's POSTs. The secret and the length are checked from the headers before a byte of the body is read;
    the update is committed to the inbox before the 200 (any other answer makes Telegram deliver it again)."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, secret: bytes, accept: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.secret, self.accept = secret, accept
        self.body = bytearray()

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, self.secret):
            return self.refuse(403)
        length = self.request.headers.get("Content-Length")
        if length is None:
            return self.refuse(411)
        if not length.isdigit():
            return self.refuse(400)
        if int(length) > MAX_BODY:
            return self.refuse(413)
        self.request.connection.set_max_body_size(MAX_BODY)

    def refuse(self, status: int) -> None:
        # Finishing here, before the body is read, makes tornado close the connection instead of reading it.
        self.set_status(status)
        self.set_header("Connection", "close")
        self.finish()

    def data_received(self, chunk: bytes) -> None:
        if len(self.body) + len(chunk) > MAX_BODY:  # cannot happen with an honest Content-Length; bound it anyway
            raise tornado.web.HTTPError(413)
        self.body.extend(chunk)

    async def post(self) -> None:
        try:
            update = json.loads(self.body)
            if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                raise ValueError("not an update")
        except ValueError:
            self.set_status(400)
            return
        try:
            await self.accept(update)
        except Exception as exc:  # noqa: BLE001 - not stored: a 500 makes Telegram deliver it again later
            log.error("could not store an update (%s); Telegram will deliver it again", type(exc).__name__)
            self.set_status(500)
            return
        self.set_status(200)


def _log_request(handler: tornado.web.RequestHandler) -> None:
    if handler.get_status() >= 400:
        log.debug("webhook answered %d", handler.get_status())


class WebhookReceiver:
    """Listens on SPROUT_WEBHOOK_LISTEN:SPROUT_WEBHOOK_PORT at /telegram."""

    def __init__(self, listen: str, port: int, secret: str, accept: Callable[[dict[str, Any]], Awaitable[None]]):
        app = tornado.web.Application([(WEBHOOK_PATH, WebhookHandler, {"secret": secret.encode(), "accept": accept})],
                                      log_function=_log_request)
        self.server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY, max_buffer_size=4 * MAX_BODY,
                                                    idle_connection_timeout=120, body_timeout=30)
        self.listen, self.port = listen, port

    def start(self) -> None:
        self.server.listen(self.port, self.listen)

    async def stop(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()


# Polling ----------------------------------------------------------------------------------------------------------

async def poll(app: Application, inbox: "InboxThread", notify: Callable[[], None], timeout: int = POLL_TIMEOUT) -> None:
    """getUpdates in a loop. Each batch is committed to the inbox before the next request, whose offset (the last
    update_id + 1) is what tells Telegram the batch arrived; until then Telegram delivers it again. No offset at
    start: whatever Telegram still holds comes again, and the inbox ignores the ones it has."""
    offset: int | None = None
    delay = 1.0
    while True:
        try:
            updates = await app.bot.get_updates(offset=offset, timeout=timeout, allowed_updates=Update.ALL_TYPES)
        except RetryAfter as exc:
            await asyncio.sleep(_seconds(exc.retry_after))
            continue
        except (NetworkError, sqlite3.OperationalError) as exc:
            log.warning("getUpdates failed (%s); trying again in %.0f s", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            continue
        except Exception as exc:  # noqa: BLE001 - Conflict (another poller, a webhook) and the like: keep trying
            log.error("getUpdates failed (%s: %s); trying again in 30 s", type(exc).__name__, exc)
            await asyncio.sleep(30)
            continue
        if updates:
            try:
                await inbox.add([u.to_dict() for u in updates])  # committed before the offset below confirms them
            except Exception as exc:  # noqa: BLE001 - a full or locked database: same offset, so asked for again
                log.error("could not store %d updates (%s); asking for them again in %.0f s", len(updates),
                          type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            notify()
            offset = max(u.update_id for u in updates) + 1
        delay = 1.0


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# The inbox's own thread ---------------------------------------------------------------------------------------------

class InboxThread:
    """The inbox on a thread and a connection of its own, so a commit's fsync never holds the event loop (where the
    replies of other updates wait to be read and marked done). Updates arriving together are committed together:
    one fsync for a burst of webhook deliveries, not one each."""

    def __init__(self, inbox: Inbox):
        self.inbox = inbox
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sprout-inbox")
        self._waiting: list[tuple[list[dict[str, Any]], asyncio.Future]] = []
        self._committer: asyncio.Task | None = None

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(getattr(self.inbox, method), *args,
                                                                             **kwargs))

    async def add(self, updates: list[dict[str, Any]]) -> None:
        """Returns once the updates are committed (so only then may Telegram be told they arrived)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((updates, future))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        await future

    async def _commit_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await self.call("add", [update for updates, _ in group for update in updates])
            except Exception as exc:  # noqa: BLE001 - each waiter answers for itself (a 500, a retried poll)
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in group:
                    if not future.done():
                        future.set_result(None)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.inbox.db.conn.close()


# The worker --------------------------------------------------------------------------------------------------------

def retryable(error: BaseException) -> bool:
    """Worth handling the update again: the request cannot have reached Telegram, Telegram said later (5xx, 429),
    or the database was busy. Not a timeout (the reply may have gone out), a 400, or a bug."""
    if isinstance(error, RetryAfter):
        return True
    if isinstance(error, (TimedOut, BadRequest)):
        return False
    return isinstance(error, (NetworkError, sqlite3.OperationalError))


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 60))


class HandlerFailed(Exception):
    """A handler of the Application raised; PTB reported it to the error handlers and carried on."""

    def __init__(self, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


class ApplicationFeeder:
    """Hands an inbox item to the PTB Application and raises when a handler failed on it (PTB itself only passes
    a handler's error to the error handlers)."""

    def __init__(self, app: Application):
        self.app = app
        self.errors: dict[int, BaseException] = {}
        app.add_error_handler(self._record)

    async def _record(self, update: object, context) -> None:
        if isinstance(update, Update) and context.error is not None:
            self.errors[update.update_id] = context.error

    async def __call__(self, item: InboxItem) -> None:
        update = Update.de_json(item.payload, self.app.bot)
        self.errors.pop(item.update_id, None)
        await self.app.process_update(update)
        error = self.errors.pop(item.update_id, None)
        if error is not None:
            raise HandlerFailed(error)


class InboxWorker:
    """Takes updates from the inbox, at most one per chat at a time and up to `concurrency` chats at once, and
    marks each done (or retried, or failed with its error) as soon as it has been handled."""

    def __init__(self, inbox: InboxThread, handle: Callable[[InboxItem], Awaitable[None]], concurrency: int = WORKERS,
                 backoff: Callable[[int], timedelta] = backoff, clock: Clock = utc_now):
        self.inbox, self.handle, self.concurrency, self.backoff, self.clock = inbox, handle, concurrency, backoff, clock
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: dict[int, asyncio.Task] = {}

    def notify(self) -> None:
        """New updates are in the inbox."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self, until_idle: bool = False) -> None:
        """Handle updates until `stop()` (or, with `until_idle`, until nothing is left to do or waiting), then let
        the updates being handled finish (up to DRAIN_SECONDS); the rest stays in the inbox for the next start."""
        await self.inbox.call("recover")
        await self.inbox.call("prune")
        while not self._stopping:
            self._wake.clear()
            claimed = await self.inbox.call("claim", busy=list(self._tasks), limit=self.concurrency - len(self._tasks))
            for item in claimed:
                task = asyncio.create_task(self._handle(item))
                self._tasks[item.chat_id] = task
                task.add_done_callback(lambda _, chat=item.chat_id: self._finished(chat))
            if until_idle and not self._tasks and (await self.inbox.call("counts"))["pending"] == 0:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), await self._idle_seconds())
            except TimeoutError:
                pass
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks.values()), timeout=DRAIN_SECONDS)
            for task in late:  # left `handling`: handled again at the next start
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def _finished(self, chat: int) -> None:
        self._tasks.pop(chat, None)
        self._wake.set()

    async def _idle_seconds(self) -> float:
        retry_at = await self.inbox.call("next_retry_at")
        if retry_at is None:
            return 60.0
        return min(max((retry_at - self.clock()).total_seconds(), 0.0) + 0.01, 60.0)

    async def _handle(self, item: InboxItem) -> None:
        try:
            await self.handle(item)
        except Exception as exc:  # noqa: BLE001 - one update's failure never stops the others
            cause = exc.error if isinstance(exc, HandlerFailed) else exc
            state = await self.inbox.call("retry_or_fail", item.update_id, f"{type(cause).__name__}: {cause}"[:500],
                                             retryable(cause), self.backoff(item.attempts))
            log.warning("update %d failed on attempt %d (%s): %s", item.update_id, item.attempts,
                        type(cause).__name__, state)
        else:
            # Right away: a crash between the reply and this commit is the one way a reply goes out twice.
            await self.inbox.call("done", item.update_id)


# Putting it together ----------------------------------------------------------------------------------------------

def open_inbox(settings: "Settings", clock: Clock = utc_now) -> Inbox:
    """The inbox on a connection of its own (the engine's is used from its worker thread). Adding commits with
    synchronous=FULL: an update answered 200, or confirmed by the next offset, survives a power loss too."""
    return Inbox(open_database(settings.db_path), clock)


async def serve(runtime: "Runtime", app: Application, stop: asyncio.Event, inbox: Inbox | None = None) -> None:
    """Run the bot until `stop` is set: receive into the inbox (webhook or polling), handle from the inbox."""
    settings = runtime.settings
    inbox_thread = InboxThread(inbox or open_inbox(settings))
    worker = InboxWorker(inbox_thread, ApplicationFeeder(app))
    receiver: WebhookReceiver | None = None
    poller: asyncio.Task | None = None
    async with app:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        worker_task = asyncio.create_task(worker.run())
        try:
            if settings.webhook_enabled:
                secret = webhook_secret(settings)

                async def accept(update: dict[str, Any]) -> None:
                    await inbox_thread.add([update])
                    worker.notify()

                receiver = WebhookReceiver(settings.webhook_listen, settings.webhook_port, secret, accept)
                receiver.start()
                await app.bot.set_webhook(settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
                log.info("webhook mode: listening on %s:%d%s", settings.webhook_listen, settings.webhook_port,
                         WEBHOOK_PATH)
            else:
                await app.bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
                poller = asyncio.create_task(poll(app, inbox_thread, worker.notify))
                log.info("polling mode")
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({stopper, worker_task} | ({poller} if poller else set()),
                                         return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            for task in done - {stopper}:
                task.result()  # the worker or the poller ended on its own: only an error does that, raise it
        finally:
            # Stop taking updates first, then let the ones being handled finish; the rest waits in the inbox.
            if receiver is not None:
                await receiver.stop()
            if poller is not None:
                poller.cancel()
                await asyncio.gather(poller, return_exceptions=True)
            worker.stop()
            await asyncio.gather(worker_task, return_exceptions=True)
            if app.running:
                await app.stop()
    counts = await inbox_thread.call("counts")
    log.info("stopped; inbox: %d pending, %d failed", counts["pending"] + counts["handling"], counts["failed"])
    inbox_thread.close()


WARM_UP = (("how long should my baby sleep", "en"), ("宝宝晚上睡多久", "zh"))


def warm_up(runtime: "Runtime") -> float:
    """Everything a first answer needs, loaded before the first update is taken (polling or webhook), so the
    first parent after a start waits no longer than the next: the model, the index snapshot, and one search and
    one triage check per language (the Chinese segmenter's dictionary, the model's first inference). Nothing is
    logged or stored. Returns the seconds it took."""
    import time

    started = time.perf_counter()
    runtime.model()
    if runtime.live.snapshot is not None:
        for text, lang in WARM_UP:
            runtime.triage.check(text)
            runtime.retriever.search(text, lang)
    return time.perf_counter() - started


def run_telegram(runtime: "Runtime") -> None:
    """`sprout serve`: until SIGINT or SIGTERM, which finish the updates being handled and exit 0."""
    from .telegram_app import build_application

    seconds = warm_up(runtime)
    log.info("ready: model and index loaded and warmed up in %.1f s; taking updates now", seconds)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(runtime, build_application(runtime), stop)

    asyncio.run(main())
