"""The durable inbox of Telegram updates, and the worker that feeds it to the real PTB Application (only the
transport is replaced): once per update_id, in order per chat, resumed after a crash, bounded retries."""

import asyncio
import json
import os
import random
import re
import stat
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from bot.telegram_app import build_application
from bot.telegram_serve import (ApplicationFeeder, InboxThread, InboxWorker, WebhookReceiver, poll, webhook_secret)
from bot.wiring import build_runtime
from conftest import CONTENT_DIR, FixedClock
from knowledge.db import open_database
from knowledge.inbox import Inbox, chat_of
from knowledge.settings import Settings
from retrieval.embedding import identify
from telegram_fake import RecordingRequest, callback_update, message_update

MARKER = re.compile(r"/x(\d+)\b")


def command(update_id: int, chat: int) -> dict:
    """An unknown command naming its update: Sprout's reply says which update it answers."""
    return message_update(update_id, chat, f"/x{update_id}")


@pytest.fixture
def runtime(tmp_path, shared_parts):
    """A runtime without a search index (replies to commands need none)."""
    settings = Settings(data_dir=tmp_path, db_path=tmp_path / "sprout.db", content_dir=CONTENT_DIR,
                        messages_per_minute=600)

    def no_model():
        raise AssertionError("these tests never search")

    rt = build_runtime(settings, embedder_factory=no_model, shared=shared_parts, identity=identify(settings.model))
    yield rt
    rt.db.conn.close()


@pytest.fixture
def inbox(tmp_path):
    db = open_database(tmp_path / "sprout.db")
    yield Inbox(db)
    db.conn.close()


def replied(request: RecordingRequest) -> list[tuple[int, int]]:
    """(chat, update id) of every reply naming an update, in the order they were sent."""
    return [(int(p["chat_id"]), int(MARKER.search(p["text"])[1])) for p in request.sent()
            if MARKER.search(p.get("text", ""))]


async def drain(runtime, inbox: Inbox, request: RecordingRequest, concurrency: int = 4) -> None:
    """Run the worker over the inbox with the real Application until nothing is left to do."""
    app = build_application(runtime, request=request, rate_limiter=False)
    worker = InboxWorker(InboxThread(inbox), ApplicationFeeder(app), concurrency=concurrency,
                         backoff=lambda attempts: timedelta(0))
    async with app:
        await worker.run(until_idle=True)


def states(inbox: Inbox) -> dict[int, tuple[str, int, str | None]]:
    return {row[0]: (row[1], row[2], row[3]) for row in
            inbox.db.execute("select update_id, state, attempts, last_error from inbox").fetchall()}


# The table -------------------------------------------------------------------------------------------------------

def test_a_repeated_update_id_is_stored_once(inbox):
    assert inbox.add([command(1, 42)]) == 1
    assert inbox.add([command(1, 42), command(1, 42), command(2, 42)]) == 1
    assert inbox.counts()["pending"] == 2


def test_each_update_is_queued_under_its_chat():
    assert chat_of(command(1, 42)) == 42
    assert chat_of(message_update(2, 42, "@SproutTestBot hi", chat_type="group", chat_id=-100)) == -100
    assert chat_of(callback_update(3, 42, "lang:en")) == 42
    assert chat_of({"update_id": 4, "inline_query": {"id": "q", "from": {"id": 77}, "query": ""}}) == 77
    assert chat_of({"update_id": 5, "poll": {"id": "p"}}) == 0


def test_claim_takes_the_oldest_open_update_of_each_chat_and_skips_busy_chats(inbox):
    inbox.add([command(5, 1), command(3, 1), command(4, 2), command(9, 3)])
    first = inbox.claim(busy=[3], limit=10)
    assert [(i.update_id, i.chat_id) for i in first] == [(3, 1), (4, 2)]
    # Chat 1's next update waits while its oldest is being handled.
    assert [i.update_id for i in inbox.claim(busy=[], limit=10)] == [9]
    inbox.done(3)
    assert [i.update_id for i in inbox.claim(limit=10)] == [5]


def test_updates_left_handling_by_a_crash_are_handled_again_until_out_of_attempts(tmp_path):
    db = open_database(tmp_path / "sprout.db")
    inbox = Inbox(db, max_attempts=2)
    inbox.add([command(1, 1), command(2, 2)])
    inbox.claim(limit=10)                       # a process took both, then died
    assert inbox.recover() == 2
    assert {i.update_id: i.attempts for i in inbox.claim(limit=10)} == {1: 2, 2: 2}
    inbox.done(2)                               # died again while handling update 1, its last attempt
    inbox.recover()
    assert states(inbox)[1] == ("failed", 2, "interrupted by a restart")
    assert states(inbox)[2][0] == "done"
    db.conn.close()


def test_a_handled_update_keeps_no_message_text(inbox):
    inbox.add([message_update(1, 42, "my daughter Mia was born on 3 May")])
    inbox.claim()
    inbox.done(1)
    assert inbox.db.execute("select payload from inbox").fetchone() == (None,)
    assert inbox.add([message_update(1, 42, "my daughter Mia was born on 3 May")]) == 0  # still ignored


def test_finished_rows_are_deleted_after_a_week(tmp_path):
    clock = FixedClock(datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc))
    db = open_database(tmp_path / "sprout.db")
    inbox = Inbox(db, clock)
    inbox.add([command(1, 1), command(2, 2), command(3, 3)])
    inbox.claim(limit=2)
    inbox.done(1)
    inbox.retry_or_fail(2, "BadRequest: no", retryable=False, backoff=timedelta(0))
    clock.advance(days=8)
    assert inbox.prune() == 2
    assert states(inbox) == {3: ("pending", 0, None)}
    db.conn.close()


# The worker and the real Application ------------------------------------------------------------------------------

def test_each_chats_updates_are_answered_in_update_id_order_while_chats_interleave(runtime, inbox):
    chats = [101, 102, 103, 104]
    ids = list(range(1, 41))
    random.Random(7).shuffle(ids)               # stored out of order, as concurrent webhook deliveries may be
    for update_id in ids:
        inbox.add([command(update_id, chats[update_id % 4])])
    request = RecordingRequest()
    asyncio.run(drain(runtime, inbox, request, concurrency=4))
    answered = replied(request)
    assert sorted(u for _, u in answered) == list(range(1, 41))
    for chat in chats:
        mine = [u for c, u in answered if c == chat]
        assert mine == sorted(mine) and len(mine) == 10
    assert inbox.counts() == {"pending": 0, "handling": 0, "done": 40, "failed": 0}


def test_the_same_update_delivered_three_times_is_answered_once(runtime, inbox):
    for _ in range(3):
        inbox.add([command(7, 42)])
    request = RecordingRequest()
    asyncio.run(drain(runtime, inbox, request))
    for _ in range(3):
        inbox.add([command(7, 42)])             # a redelivery after it was handled
    asyncio.run(drain(runtime, inbox, request))
    assert replied(request) == [(42, 7)]


def test_a_restart_answers_what_a_crash_left_and_nothing_twice(runtime, inbox):
    inbox.add([command(u, 200 + u % 5) for u in range(1, 31)])
    handled_before = set()
    for _ in range(2):                          # the last process handled ten of them...
        for item in inbox.claim(limit=5):
            inbox.done(item.update_id)
            handled_before.add(item.update_id)
    crashed = {i.update_id for i in inbox.claim(limit=5)}  # ...and died while handling five more
    request = RecordingRequest()
    asyncio.run(drain(runtime, inbox, request))
    assert len(handled_before) == 10 and len(crashed) == 5
    assert sorted(u for _, u in replied(request)) == sorted(set(range(1, 31)) - handled_before)
    assert {u: states(inbox)[u][:2] for u in crashed} == {u: ("done", 2) for u in crashed}


class FailingFor(RecordingRequest):
    """Telegram answering `status` to every reply that names one update."""

    def __init__(self, marker: str, status: int):
        super().__init__()
        self.marker, self.status = marker, status

    async def do_request(self, url, method, request_data=None, **kw):
        params = dict(request_data.parameters) if request_data is not None else {}
        if url.endswith("/sendMessage") and self.marker in str(params.get("text", "")):
            self.calls.append(("sendMessage:refused", params))
            body = {"ok": False, "error_code": self.status, "description": "Bad Gateway" if self.status == 502
                    else "Bad Request: message is too long"}
            return self.status, json.dumps(body).encode()
        return await super().do_request(url, method, request_data, **kw)


@pytest.mark.parametrize("status, attempts, error", [(502, 3, "NetworkError: Bad Gateway"),
                                                     (400, 1, "BadRequest: Message is too long")])
def test_a_failing_update_is_retried_a_bounded_number_of_times_then_failed_and_other_chats_carry_on(
        runtime, inbox, status, attempts, error):
    from dataclasses import replace

    # Each handling of the update tries a 5xx reply twice itself (SPROUT_SEND_ATTEMPTS), a 400 once.
    runtime.settings = replace(runtime.settings, send_attempts=2)
    inbox.add([command(u, 300 + u % 3) for u in range(1, 13)])   # update 4 is chat 301's second
    request = FailingFor("/x4.", status)
    asyncio.run(drain(runtime, inbox, request))
    assert states(inbox)[4] == ("failed", attempts, error)
    assert len(request.sent("sendMessage:refused")) == attempts * (2 if status >= 500 else 1)
    assert sorted(u for _, u in replied(request)) == [u for u in range(1, 13) if u != 4]
    chat_301 = [u for c, u in replied(request) if c == 301]
    assert chat_301 == [1, 7, 10]               # its later updates were answered after update 4 gave up


# Receiving: nothing is confirmed before it is committed ---------------------------------------------------------

class QueuedUpdates(RecordingRequest):
    """getUpdates as Telegram does it, in batches of 10; each call's offset is checked against the inbox: every
    update it confirms (those below the offset) must already be committed."""

    def __init__(self, updates, db_path):
        super().__init__()
        self.queued = list(updates)
        self.db_path = db_path
        self.unconfirmed_but_missing: list[int] = []
        self.all_confirmed = asyncio.Event()

    async def do_request(self, url, method, request_data=None, **kw):
        if not url.endswith("/getUpdates"):
            return await super().do_request(url, method, request_data, **kw)
        offset = int((request_data.parameters if request_data else {}).get("offset") or 0)
        if offset:
            confirmed = [u["update_id"] for u in self.queued if u["update_id"] < offset]
            check = open_database(self.db_path, migrate_now=False)
            stored = {row[0] for row in check.execute("select update_id from inbox").fetchall()}
            check.conn.close()
            self.unconfirmed_but_missing += [u for u in confirmed if u not in stored]
            self.queued = [u for u in self.queued if u["update_id"] >= offset]
        if not self.queued:
            self.all_confirmed.set()
            await asyncio.sleep(3600)           # a long poll with nothing to give; the test cancels it
        return 200, json.dumps({"ok": True, "result": self.queued[:10]}).encode()


def test_polling_commits_each_batch_before_the_next_request_confirms_it(runtime, tmp_path):
    updates = [command(u, 400 + u % 7) for u in range(1, 96)]
    request = QueuedUpdates(updates, tmp_path / "sprout.db")
    app = build_application(runtime, request=request, rate_limiter=False)
    inbox_thread = InboxThread(Inbox(open_database(tmp_path / "sprout.db")))

    async def script():
        async with app:
            poller = asyncio.create_task(poll(app, inbox_thread, lambda: None, timeout=1))
            await asyncio.wait_for(request.all_confirmed.wait(), 60)
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)

    asyncio.run(script())
    assert request.unconfirmed_but_missing == []
    assert inbox_thread.inbox.counts()["pending"] == 95
    inbox_thread.close()


def test_the_webhook_commits_the_update_before_answering_200(tmp_path):
    inbox_thread = InboxThread(Inbox(open_database(tmp_path / "sprout.db")))
    secret = "S" * 43
    seen_at_200 = []

    async def script():
        port = _free_port()
        receiver = WebhookReceiver("127.0.0.1", port, secret, lambda update: inbox_thread.add([update]))
        receiver.start()
        try:
            async with httpx.AsyncClient() as client:
                for update_id in (1, 2, 2):
                    answer = await client.post(f"http://127.0.0.1:{port}/telegram", json=command(update_id, 9),
                                               headers={"X-Telegram-Bot-Api-Secret-Token": secret})
                    check = open_database(tmp_path / "sprout.db", migrate_now=False)
                    stored = {r[0] for r in check.execute("select update_id from inbox").fetchall()}
                    check.conn.close()
                    seen_at_200.append((answer.status_code, update_id in stored))
                bad = await client.post(f"http://127.0.0.1:{port}/telegram", content=b"[1, 2]",
                                        headers={"X-Telegram-Bot-Api-Secret-Token": secret})
                seen_at_200.append((bad.status_code, None))
        finally:
            await receiver.stop()

    asyncio.run(script())
    assert seen_at_200 == [(200, True), (200, True), (200, True), (400, None)]
    assert inbox_thread.inbox.counts()["pending"] == 2
    inbox_thread.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The webhook secret ---------------------------------------------------------------------------------------------

def test_a_missing_secret_is_generated_once_stored_0600_and_reused(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", webhook_url="https://bot.example.org/telegram")
    secret = webhook_secret(settings)
    stored = tmp_path / "data" / "webhook_secret"
    assert len(secret) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", secret)
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    assert webhook_secret(settings) == secret


def test_a_stored_secret_readable_by_others_is_made_private_and_a_damaged_one_replaced(tmp_path):
    settings = Settings(data_dir=tmp_path, webhook_url="https://bot.example.org/telegram")
    stored = tmp_path / "webhook_secret"
    stored.write_text("k" * 40 + "\n")
    os.chmod(stored, 0o644)
    assert webhook_secret(settings) == "k" * 40
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    stored.write_text("short\n")
    replaced = webhook_secret(settings)
    assert replaced != "short" and len(replaced) >= 32


def test_a_configured_secret_is_used_as_it_is(tmp_path):
    settings = Settings(data_dir=tmp_path, webhook_url="https://bot.example.org/telegram", webhook_secret="z" * 40)
    assert webhook_secret(settings) == "z" * 40
    assert not (tmp_path / "webhook_secret").exists()
