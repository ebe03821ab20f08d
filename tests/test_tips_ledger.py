"""The deliveries ledger and the send loop: exactly once, nothing silently lost, restarts change nothing."""

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.messages import Reply
from bot.tips_sender import Blocked, Failed, RetryLater, Unknown, send_due
from knowledge.db import open_database
from knowledge.deliveries import Ledger
from knowledge.subscriptions import SubscriptionStore
from knowledge.users import UserStore
from tipshelpers import calendar, subscribed_child

UTC = timezone.utc
MONDAY_9_SHANGHAI = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


class Recording:
    """A transport that records every message and can be told to fail for chosen chats."""

    def __init__(self, failures=None):
        self.sent: list[tuple[int, str]] = []
        self.failures = failures or {}

    async def send(self, chat_id, reply):
        failure = self.failures.get(chat_id)
        if failure is not None:
            if isinstance(failure, list):
                failure = failure.pop(0) if failure else None
            if failure is not None:
                raise failure
        self.sent.append((chat_id, reply.text))


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def compose(delivery):
    return Reply(f"{delivery.kind}:{delivery.item_id}")


def run(ledger, transport, clock, worker="w1", **kw):
    async def no_sleep(seconds):
        clock.now += timedelta(seconds=seconds)

    return asyncio.run(send_due(ledger, compose, transport, clock, worker, sleep=no_sleep, **kw))


def test_a_new_subscription_gets_its_first_tip_at_once(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), now)
    ledger.plan(now)
    transport = Recording()
    stats = run(ledger, transport, Clock(now))
    assert stats.sent == 1
    assert transport.sent == [(1000, "tip:tip-d0049")]


def test_planning_twice_sends_once(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), now)
    ledger.plan(now)
    ledger.plan(now)
    transport = Recording()
    run(ledger, transport, Clock(now))
    run(ledger, transport, Clock(now))
    assert len(transport.sent) == 1


def test_the_next_tip_waits_for_the_chosen_weekday_and_hour(db, ledger):
    start = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # a Friday; the child is 46 days old (week 6 tip)
    subscribed_child(db, "tg:1", date(2026, 10, 5), start)
    ledger.plan(start)
    run(ledger, Recording(), Clock(start))
    before = MONDAY_9_SHANGHAI - timedelta(minutes=1)
    assert ledger.plan(before).planned == 0
    assert ledger.plan(MONDAY_9_SHANGHAI).planned == 1
    assert ledger.due(MONDAY_9_SHANGHAI)[0].due_at == "2026-11-23T01:00:00Z"


def test_after_three_days_of_downtime_only_one_catch_up_tip_is_sent(db, ledger):
    start = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), start)
    ledger.plan(start)
    run(ledger, Recording(), Clock(start))
    # Down for the whole week: planned at 9 Nov but never sent, then the 16 Nov slot passes too.
    ledger.plan(datetime(2026, 11, 9, 1, 0, tzinfo=UTC))
    ledger.plan(datetime(2026, 11, 16, 1, 0, tzinfo=UTC))
    back = datetime(2026, 11, 19, 1, 0, tzinfo=UTC)
    ledger.plan(back)
    transport = Recording()
    run(ledger, transport, Clock(back))
    assert transport.sent == [(1000, "tip:tip-d0042")]
    assert ledger.stats()["by_state"]["skipped"] == 1


def test_pause_skips_and_resume_plans_again(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    _, child = subscribed_child(db, "tg:1", date(2026, 10, 1), now)
    SubscriptionStore(db).set_status(child.id, "paused", now)
    assert ledger.plan(now).planned == 0
    later = now + timedelta(days=10)
    SubscriptionStore(db).set_status(child.id, "active", later)
    assert ledger.plan(later).planned == 1


def test_stop_in_the_middle_of_a_fan_out_sends_nothing_more_to_that_child(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    children = [subscribed_child(db, f"tg:{i}", date(2026, 10, 1), now, chat_id=i)[1] for i in range(1, 7)]
    ledger.plan(now)
    transport = Recording()
    run(ledger, transport, Clock(now), batch_size=2, max_batches=1)
    SubscriptionStore(db).set_status(children[-1].id, "stopped", now)
    run(ledger, transport, Clock(now), batch_size=2)
    assert sorted(chat for chat, _ in transport.sent) == [1, 2, 3, 4, 5]


def test_a_blocked_user_is_deactivated_and_not_retried(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    user, _ = subscribed_child(db, "tg:1", date(2026, 10, 1), now, chat_id=7)
    ledger.plan(now)
    stats = run(ledger, Recording({7: Blocked("403")}), Clock(now))
    assert stats.blocked == 1
    assert db.execute("select active from users where id = ?", [user.id]).fetchone()[0] == 0
    assert ledger.plan(now + timedelta(days=7)).subscriptions == 0


def test_429_is_retried_after_the_wait_without_duplicates(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), now, chat_id=7)
    ledger.plan(now)
    transport = Recording({7: [RetryLater(30)]})
    clock = Clock(now)
    assert run(ledger, transport, clock).retried == 1
    assert run(ledger, transport, clock).sent == 0  # not yet: retry_after has not passed
    clock.now += timedelta(seconds=31)
    assert run(ledger, transport, clock).sent == 1
    assert len(transport.sent) == 1


def test_a_timeout_after_acceptance_is_unknown_and_never_resent(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), now, chat_id=7)
    ledger.plan(now)
    transport = Recording({7: [Unknown("timed out")]})
    run(ledger, transport, Clock(now))
    ledger.plan(now)
    run(ledger, transport, Clock(now))
    assert transport.sent == []
    assert ledger.stats()["by_state"]["unknown"] == 1


def test_a_permanent_error_is_failed(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), now, chat_id=7)
    ledger.plan(now)
    run(ledger, Recording({7: Failed("chat not found")}), Clock(now))
    assert ledger.stats()["by_state"]["failed"] == 1


def test_two_schedulers_do_not_both_send(db, ledger, tmp_path):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), now)
    ledger.plan(now)
    other = Ledger(open_database(tmp_path / "sprout.db"), calendar())
    assert ledger.acquire_lease("first:host", now)
    transport = Recording()
    stats = run(other, transport, Clock(now), worker="second")
    assert stats.lease is False and transport.sent == []


def test_one_message_per_second_per_chat(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    user, _ = subscribed_child(db, "tg:1", date(2026, 10, 1), now, chat_id=7)
    from knowledge.users import UserStore

    second = UserStore(db).add_child(user.id, "twin", date(2026, 10, 1), "day", 0)
    SubscriptionStore(db).subscribe(second.id, 0, 9, "Asia/Shanghai", now)
    ledger.plan(now)
    stats = run(ledger, Recording(), Clock(now))
    assert stats.sent == 2 and stats.seconds_waited == pytest.approx(1.0)


def test_milestone_check_in_is_planned_at_two_months(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 9, 10), now)
    ledger.plan(now)
    kinds = sorted(d.kind for d in ledger.due(now))
    assert kinds == ["milestone", "tip"]


def test_at_three_years_a_goodbye_is_sent_once_and_the_subscription_ends(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    _, child = subscribed_child(db, "tg:1", date(2023, 11, 19), now)
    ledger.plan(now)
    transport = Recording()
    run(ledger, transport, Clock(now))
    ledger.plan(now + timedelta(days=7))
    run(ledger, transport, Clock(now + timedelta(days=7)))
    assert transport.sent == [(1000, "goodbye:36m")]
    assert SubscriptionStore(db).for_child(child.id).status == "ended"


def unselective_ledger_reads(db, action) -> list[str]:
    """The statements `action` runs against the ledger that SQLite would answer by reading every row, or every
    row in one state (a million pending rows right after a big pass)."""
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        action()
    finally:
        db.conn.set_trace_callback(None)
    selective = ("deliveries_recipient (user_id=?", "INTEGER PRIMARY KEY (rowid=?)", "(state=? AND due_at<?)")
    bad = []
    for sql in seen:
        if "deliveries" not in sql or not sql.lstrip().lower().startswith(("select", "update", "delete", "insert")):
            continue
        for row in db.execute("explain query plan " + sql):
            detail = row[3]
            reads_ledger = detail.startswith(("SCAN deliveries", "SEARCH deliveries", "SCAN d ", "SEARCH d "))
            if reads_ledger and not any(index in detail for index in selective):
                bad.append(f"{sql} -> {detail}")
    return bad


def test_per_child_and_per_user_changes_find_their_ledger_rows_by_index(db, ledger):
    """Right after a big pass most of the ledger is pending: pausing one child, removing a child or blocking a
    user must not read a million rows to find theirs."""
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    user, first = subscribed_child(db, "tg:1", date(2026, 10, 1), now)
    second = UserStore(db).add_child(user.id, "b", date(2025, 10, 1), "day", 0)
    SubscriptionStore(db).subscribe(second.id, 0, 9, "Asia/Shanghai", now)
    ledger.plan(now)
    store = SubscriptionStore(db)
    assert unselective_ledger_reads(db, lambda: store.set_status(first.id, "paused", now)) == []
    assert unselective_ledger_reads(db, lambda: UserStore(db).remove_child(user.id, first.id)) == []
    assert unselective_ledger_reads(db, lambda: ledger.claim(now, "w1", 10)) == []
    assert unselective_ledger_reads(db, lambda: ledger.block_user(user.id, now)) == []


def test_removing_a_child_removes_only_that_childs_ledger_rows(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    user, first = subscribed_child(db, "tg:1", date(2026, 10, 1), now)
    second = UserStore(db).add_child(user.id, "b", date(2025, 10, 1), "day", 0)
    SubscriptionStore(db).subscribe(second.id, 0, 9, "Asia/Shanghai", now)
    other_user, other_child = subscribed_child(db, "tg:2", date(2026, 10, 1), now, chat_id=2000)
    ledger.plan(now)
    assert UserStore(db).remove_child(user.id, first.id)
    left = {row[0] for row in db.execute("select child_id from deliveries")}
    assert left == {second.id, other_child.id}
    assert not UserStore(db).remove_child(other_user.id, second.id)  # not theirs: nothing happens
    assert {row[0] for row in db.execute("select child_id from deliveries")} == left
