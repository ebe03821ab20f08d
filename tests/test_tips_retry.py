"""Nothing burned by the network: undelivered sends are retried with backoff until a deadline, only a timeout
after the request left is 'unknown', a crash or a stop gives unstarted rows back, one bad chat never stops a
pass, and the counts say so."""

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.cli import cli
from bot.messages import Reply
from bot.telegram_app import SignallingRequest
from bot.tips_sender import NotDelivered, RetryPolicy, TelegramTransport, Unknown, send_due
from knowledge import db as dbmodule
from knowledge.db import open_database
from knowledge.deliveries import Ledger
from telegram_fake import BOT_USER, LoopbackBotAPI
from tipshelpers import subscribed_child

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class Flaky:
    """A transport that fails with the given errors (one per send, per chat), then delivers."""

    def __init__(self, failures=None):
        self.sent: list[tuple[int, str]] = []
        self.failures = failures or {}

    async def send(self, chat_id, reply):
        queue = self.failures.get(chat_id)
        if queue:
            raise queue.pop(0)
        self.sent.append((chat_id, reply.text))


def compose(delivery):
    return Reply(f"{delivery.kind}:{delivery.item_id}")


def run(ledger, transport, clock, **kw):
    async def no_sleep(seconds):
        clock.now += timedelta(seconds=seconds)

    kw.setdefault("retry", RetryPolicy(rng=random.Random(1)))
    return asyncio.run(send_due(ledger, compose, transport, clock, kw.pop("worker", "w1"), sleep=no_sleep, **kw))


def states(db):
    return dict(db.execute("select u.chat_id, d.state from deliveries d join users u on u.id = d.user_id"))


def row(db, chat):
    return db.execute("select d.state, d.error, d.due_at, d.attempts, d.started_at from deliveries d join users u "
                      "on u.id = d.user_id where u.chat_id = ?", [chat]).fetchone()


def plan_chats(db, ledger, chats):
    for chat in chats:
        subscribed_child(db, f"tg:{chat}", date(2026, 10, 1), NOW, chat_id=chat)
    ledger.plan(NOW)


# 1. Classifying send errors through the real PTB stack --------------------------------------------------------

def _ptb_bot(answer, request_class=HTTPXRequest):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/getMe"):
            return httpx.Response(200, json={"ok": True, "result": BOT_USER})
        return answer(request)

    return Bot("123456:TEST-TOKEN", request=request_class(httpx_kwargs={"transport": httpx.MockTransport(handler)}))


def _raise(error_class, text="boom"):
    def answer(request):
        raise error_class(text, request=request)

    return answer


def _status(code, body, content_type="application/json"):
    return lambda request: httpx.Response(code, content=body, headers={"content-type": content_type})


def _send_through_ptb(ledger, clock, answer, request_class=HTTPXRequest):
    async def go():
        bot = _ptb_bot(answer, request_class)
        async with bot:
            return await send_due(ledger, compose, TelegramTransport(bot), clock, "w1",
                                  retry=RetryPolicy(rng=random.Random(1)))

    return asyncio.run(go())


DELIVERED = _status(200, json.dumps({"ok": True, "result": {"message_id": 1, "date": 1764400000,
                                                            "chat": {"id": 7, "type": "private"}, "text": "x"}}))


@pytest.mark.parametrize("answer", [
    _raise(httpx.ConnectError, "[Errno 111] Connection refused"),
    _raise(httpx.ConnectError, "[Errno -2] Name or service not known"),
    _raise(httpx.RemoteProtocolError, "Server disconnected without sending a response."),
    _raise(httpx.WriteError, "[Errno 104] Connection reset by peer"),
    _raise(httpx.ConnectTimeout),
    _raise(httpx.WriteTimeout),
    _raise(httpx.PoolTimeout),
    _status(502, b"<html><body>502 Bad Gateway</body></html>", "text/html"),
    _status(500, json.dumps({"ok": False, "error_code": 500, "description": "Internal Server Error"}).encode()),
    _status(503, b""),
], ids=["refused", "dns", "dropped", "reset-while-writing", "connect-timeout", "write-timeout", "pool-timeout",
        "502-page", "500-json", "503-empty"])
def test_an_error_where_the_request_cannot_have_been_delivered_is_retried_and_then_sent_once(db, ledger, answer):
    plan_chats(db, ledger, [7])
    clock = Clock(NOW)
    stats = _send_through_ptb(ledger, clock, answer)
    assert (stats.retried, stats.unknown, stats.sent) == (1, 0, 0)
    state, error, due_at, attempts, _ = row(db, 7)
    assert state == "pending" and error and attempts == 1
    retry_at = datetime.fromisoformat(due_at.replace("Z", "+00:00"))
    assert NOW + timedelta(seconds=1) <= retry_at <= NOW + timedelta(seconds=2)
    assert _send_through_ptb(ledger, clock, DELIVERED).sent == 0  # not before its backoff
    clock.now += timedelta(seconds=3)
    assert _send_through_ptb(ledger, clock, DELIVERED).sent == 1
    assert row(db, 7)[0] == "sent"


def test_only_a_timeout_waiting_for_the_answer_is_unknown_and_never_resent(db, ledger):
    plan_chats(db, ledger, [7])
    clock = Clock(NOW)
    stats = _send_through_ptb(ledger, clock, _raise(httpx.ReadTimeout))
    assert (stats.unknown, stats.retried) == (1, 0)
    clock.now += timedelta(days=1)
    ledger.plan(clock.now)
    assert _send_through_ptb(ledger, clock, DELIVERED).sent == 0
    assert row(db, 7)[0] == "unknown"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside RetryAfter()
def test_429_through_ptb_waits_the_retry_after_telegram_gave(db, ledger):
    plan_chats(db, ledger, [7])
    clock = Clock(NOW)
    flood = _status(429, json.dumps({"ok": False, "error_code": 429, "description": "Too Many Requests",
                                     "parameters": {"retry_after": 37}}).encode())
    assert _send_through_ptb(ledger, clock, flood).retried == 1
    assert row(db, 7)[2] == "2026-11-20T03:00:37Z"


# 1. Backoff and the deadline ------------------------------------------------------------------------------------

def test_backoff_doubles_with_jitter_up_to_its_cap():
    policy = RetryPolicy(first=2, longest=30, rng=random.Random(5))
    for attempts, base in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (12, 30)]:
        delays = [policy.delay(attempts) for _ in range(50)]
        assert all(base / 2 <= d <= base for d in delays)
        assert len(set(delays)) > 1  # jitter: rows refused together do not come back together


def test_retries_stop_at_the_deadline_and_the_row_expires_with_its_reason(db, ledger):
    plan_chats(db, ledger, [7, 8])
    clock = Clock(NOW)
    down = Flaky({7: [NotDelivered("ConnectError: connection refused")] * 1000})
    policy = RetryPolicy(deadline=timedelta(hours=1), first=60, longest=600, rng=random.Random(2))
    totals = {"retried": 0, "expired": 0}
    for _ in range(100):
        stats = run(ledger, down, clock, retry=policy)
        totals["retried"] += stats.retried
        totals["expired"] += stats.expired
        if stats.expired:
            break
        clock.now += timedelta(minutes=10)
    state, error, *_ = row(db, 7)
    assert state == "expired" and "connection refused" in error and "gave up after" in error
    assert totals["expired"] == 1 and 3 <= totals["retried"] <= 15
    assert clock.now - NOW <= timedelta(hours=1, minutes=10)
    assert down.sent == [(8, "tip:tip-d0049")]
    stats = Ledger(db, []).stats()
    assert (stats["expired"], stats["retried"], stats["waiting_retry"]) == (1, 1, 0)


# 2. Attempts recorded per row; crash, stop and one bad chat ----------------------------------------------------

def test_after_a_crash_claimed_rows_that_never_started_go_back_to_pending_and_are_sent(db, ledger):
    plan_chats(db, ledger, [1, 2, 3])
    claimed = ledger.claim(NOW, "dead:1:x", 20)
    ledger.start(claimed[0].id, NOW)  # its request may have left when the sender died
    transport = Flaky()
    stats = run(ledger, transport, Clock(NOW), worker="w2")
    assert (stats.recovered_pending, stats.recovered_unknown) == (2, 1)
    assert sorted(chat for chat, _ in transport.sent) == [2, 3]
    assert states(db) == {1: "unknown", 2: "sent", 3: "sent"}


def test_a_row_is_recorded_as_started_before_its_request_and_not_before(db, ledger):
    plan_chats(db, ledger, [7])
    seen = []

    class Looking:
        async def send(self, chat_id, reply):
            seen.append(row(db, chat_id)[3:])

    run(ledger, Looking(), Clock(NOW))
    assert seen[0][0] == 1 and seen[0][1] == "2026-11-20T03:00:00Z"


def test_with_ptb_the_row_starts_only_when_the_http_request_leaves(db, ledger):
    """PTB's rate limiter may wait before the request: a crash during that wait must leave the row pending."""
    plan_chats(db, ledger, [7])
    at_request = []

    def answer(request):
        at_request.append(row(db, 7)[3:])
        return DELIVERED(request)

    seen_before = []
    real_send = TelegramTransport.send

    async def send(self, chat_id, reply):
        seen_before.append(row(db, chat_id)[3:])
        await real_send(self, chat_id, reply)

    TelegramTransport.send = send
    try:
        assert _send_through_ptb(ledger, Clock(NOW), answer, SignallingRequest).sent == 1
    finally:
        TelegramTransport.send = real_send
    assert seen_before == [(0, None)] and at_request[0][0] == 1


def test_an_error_before_the_request_left_is_retried_even_when_unclassified(db, ledger):
    plan_chats(db, ledger, [7])

    class NeverLeaves:
        signals_start = True

        async def send(self, chat_id, reply):
            raise Unknown("timed out waiting for the rate limiter")

    stats = run(ledger, NeverLeaves(), Clock(NOW))
    assert (stats.retried, stats.unknown) == (1, 0) and row(db, 7)[0] == "pending"


def test_stopping_finishes_the_message_in_flight_and_gives_back_the_rest(db, ledger):
    plan_chats(db, ledger, [1, 2, 3, 4, 5])
    transport = Flaky()
    stats = run(ledger, transport, Clock(NOW), stop=lambda: len(transport.sent) >= 2)
    assert stats.stopped and stats.sent == 2 and stats.released == 3
    assert sorted(states(db).values()) == ["pending"] * 3 + ["sent"] * 2
    assert run(ledger, transport, Clock(NOW)).sent == 3


def test_a_pass_that_ends_with_an_error_gives_back_the_rows_it_never_started(db, ledger):
    plan_chats(db, ledger, [1, 2, 3])
    transport = Flaky()

    def stop():  # stands for anything failing between two messages (e.g. a full disk)
        if transport.sent:
            raise OSError("database or disk is full")
        return False

    with pytest.raises(OSError):
        asyncio.run(send_due(ledger, compose, transport, Clock(NOW), "w1", stop=stop))
    assert sorted(states(db).values()) == ["pending", "pending", "sent"]


def test_chat_migrated_skips_that_row_with_its_reason_and_the_pass_goes_on(db, ledger):
    plan_chats(db, ledger, [7, 8, 9])
    migrated = json.dumps({"ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded",
                           "parameters": {"migrate_to_chat_id": -100123}}).encode()

    def answer(request):
        chat = int(dict(httpx.QueryParams(request.content.decode()))["chat_id"])
        return _status(400, migrated)(request) if chat == 8 else DELIVERED(request)

    stats = _send_through_ptb(ledger, Clock(NOW), answer)
    assert (stats.sent, stats.failed) == (2, 1)
    assert states(db) == {7: "sent", 8: "failed", 9: "sent"}
    assert "-100123" in row(db, 8)[1]


def test_any_unexpected_error_on_one_chat_is_recorded_and_never_aborts_the_pass(db, ledger):
    plan_chats(db, ledger, [7, 8, 9])
    transport = Flaky({8: [RuntimeError("something nobody expected")]})
    stats = run(ledger, transport, Clock(NOW))
    assert stats.sent == 2 and stats.unknown == 1
    assert states(db) == {7: "sent", 8: "unknown", 9: "sent"}
    assert "RuntimeError: something nobody expected" in row(db, 8)[1]


def test_a_message_that_cannot_be_composed_fails_alone(db, ledger):
    plan_chats(db, ledger, [7, 8])

    def fragile(delivery):
        if delivery.user_id == 1:
            raise KeyError("template variable")
        return compose(delivery)

    stats = asyncio.run(send_due(ledger, fragile, Flaky(), Clock(NOW), "w1", per_chat_interval=0))
    assert (stats.sent, stats.failed) == (1, 1)
    assert set(states(db).values()) == {"sent", "failed"}


# The migration --------------------------------------------------------------------------------------------------

def test_the_migration_lets_rows_expire_and_counts_rows_left_mid_send_as_started(tmp_path, monkeypatch):
    old_states = ("pending", "sending", "sent", "unknown", "failed", "skipped")
    monkeypatch.setattr(dbmodule, "DELIVERY_STATES", old_states)
    before = dbmodule.MIGRATIONS.index(dbmodule._m_tips_attempts)
    monkeypatch.setattr(dbmodule, "MIGRATIONS", dbmodule.MIGRATIONS[:before])
    db = open_database(tmp_path / "old.db")
    plan = Ledger(db, __import__("tipshelpers").calendar())
    subscribed_child(db, "tg:1", date(2026, 10, 1), NOW, chat_id=7)
    plan.plan(NOW)
    with db.conn:
        db.execute("update deliveries set state = 'sending', claimed_by = 'old', claimed_at = '2026-11-20T03:00:00Z'")
    db.conn.close()
    monkeypatch.undo()
    db = open_database(tmp_path / "old.db")
    assert db.execute("select started_at from deliveries").fetchone()[0] == "2026-11-20T03:00:00Z"
    with db.conn:
        db.execute("update deliveries set state = 'expired'")
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert {r[1] for r in db.execute("pragma index_list(deliveries)")} >= {"deliveries_recipient", "deliveries_due"}


# 5. What the operator sees -------------------------------------------------------------------------------------

def test_tips_stats_reports_retried_expired_and_unknown(tmp_path):
    db = open_database(tmp_path / "sprout.db")
    ledger = Ledger(db, __import__("tipshelpers").calendar())
    plan_chats(db, ledger, [1, 2, 3])
    run(ledger, Flaky({1: [NotDelivered("refused")], 2: [Unknown("timed out after sending")]}), Clock(NOW))
    result = CliRunner().invoke(cli, ["tips", "stats", "--json"], env={"SPROUT_DB_PATH": str(tmp_path / "sprout.db"),
                                                                      "SPROUT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert (stats["retried"], stats["waiting_retry"], stats["unknown"], stats["expired"]) == (1, 1, 1, 0)


def test_send_due_help_documents_its_exit_codes():
    result = CliRunner().invoke(cli, ["tips", "send-due", "--help"])
    for code in ("0 ", "3 ", "4 "):
        assert f"  {code}" in result.output


def _send_due_process(tmp_path, fake, children):
    from faults.tips_faults import populate

    populate(tmp_path / "sprout.db", children, datetime.now(UTC))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPROUT_")}
    env.update({"SPROUT_DATA_DIR": str(tmp_path), "SPROUT_DB_PATH": str(tmp_path / "sprout.db"),
                "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN", "SPROUT_TELEGRAM_API_URL": fake.url,
                "PYTHONPATH": str(ROOT)})
    return subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "tips", "send-due"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _ledger_states(tmp_path):
    conn = sqlite3.connect(tmp_path / "sprout.db")
    try:
        return dict(conn.execute("select state, count(*) from deliveries group by state").fetchall())
    finally:
        conn.close()


def test_send_due_exits_3_with_the_retried_count_when_telegram_answers_502(tmp_path):
    with LoopbackBotAPI() as fake:
        fake.set_mode("502")
        process = _send_due_process(tmp_path, fake, 5)
        out, err = process.communicate(timeout=300)
    assert process.returncode == 3, err.decode()[-2000:]
    assert json.loads(out)["retried"] >= 5   # each of the 5 rows at least once (a slow pass may retry one again)
    assert _ledger_states(tmp_path) == {"pending": 5}


def test_sigterm_during_send_due_finishes_the_message_in_flight_releases_the_rest_and_exits_0(tmp_path):
    with LoopbackBotAPI(delay=0.05) as fake:
        process = _send_due_process(tmp_path, fake, 40)
        while len(fake.delivered) < 3 and process.poll() is None:
            pass  # waiting for the sender's progress, not for time
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=300)
        delivered = len(fake.delivered)
    assert process.returncode == 0, err.decode()[-2000:]
    stats = json.loads(out)
    assert stats["stopped"] and stats["released"] > 0
    assert _ledger_states(tmp_path) == {"sent": delivered, "pending": 40 - delivered}
