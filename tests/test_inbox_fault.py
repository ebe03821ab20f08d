"""Fault tests for incoming updates: the real `sprout serve` against the loopback fake Bot API, killed with SIGKILL
during a burst and restarted (tests/faults/inbox_faults.py is the longer run with more kills)."""

from tests.faults.inbox_faults import IN_FLIGHT, polling_scenario, webhook_scenario

# A reply can go out twice only for an update whose reply was sent but not yet marked done when the process died:
# at most the updates in flight at each kill (one per chat being handled), IN_FLIGHT.


def test_webhook_updates_answered_200_and_then_killed_are_all_handled_after_a_restart(tmp_path):
    result = webhook_scenario(tmp_path, updates=120, chats=12, kill_at=(120,), redeliver_every=0)
    assert result["kills"] == 1
    assert (result["handled"], result["lost"]) == (120, 0)
    assert result["order_violations"] == 0
    assert result["duplicates"] <= IN_FLIGHT
    assert result["exit_code_on_sigterm"] == 0


def test_polling_300_queued_updates_with_a_kill_midway_loses_none(tmp_path):
    result = polling_scenario(tmp_path, updates=300, chats=30, kill_at=(150,))
    assert result["kills"] == 1
    assert (result["handled"], result["lost"]) == (300, 0)
    assert result["order_violations"] == 0
    assert result["duplicates"] <= IN_FLIGHT


def test_an_update_delivered_three_times_gets_one_reply(tmp_path):
    result = webhook_scenario(tmp_path, updates=20, chats=4, kill_at=(), redeliver_every=1, redeliveries=3)
    assert result["deliveries"] == 60
    assert (result["handled"], result["lost"], result["duplicates"]) == (20, 0, 0)
