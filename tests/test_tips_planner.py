"""The set-based planner: the same rows a child-by-child reading of the rules gives, a watermark instead of a
per-subscription timestamp, a preview that writes nothing, and the migration that introduced them."""

import json
import random
import sqlite3
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from bot.cli import cli
from knowledge.db import MIGRATIONS, migrate, open_database
from knowledge.deliveries import Ledger, TipPicker, child_plan
from knowledge.schedule import iso, latest_slot, zone
from knowledge.subscriptions import SubscriptionStore
from tipshelpers import calendar, subscribed_child

UTC = timezone.utc
ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Europe/London", "America/New_York", "Australia/Lord_Howe")


def rows(db):
    return {(r[0], r[1], r[2]) for r in db.execute("select dedupe_key, item_id, due_at from deliveries")}


def expected_rows(children, now):
    """The rules read child by child: latest weekly slot (or the subscription time if later), the child's local
    day then, and what that day means for the tip, the check-in or the goodbye."""
    picker = TipPicker(calendar())
    expected = set()
    for child_id, birth, premature, weekday, hour, tz, subscribed_at in children:
        due = max(latest_slot(now, weekday, hour, tz), subscribed_at)
        tip, checkin, finished = child_plan(birth, premature, due.astimezone(zone(tz)).date(), picker)
        if finished:
            expected.add((f"goodbye:{child_id}", "36m", iso(due)))
            continue
        if tip:
            expected.add((f"tip:{child_id}:{tip}", tip, iso(due)))
        if checkin:
            expected.add((f"milestone:{child_id}:{checkin}", str(checkin), iso(due)))
    return expected


def test_set_based_plan_matches_the_rules_child_by_child(db, ledger):
    rng = random.Random(20261129)
    now = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the night Europe springs forward
    awkward = [date(2024, 2, 29), date(2025, 1, 31), date(2023, 3, 29), date(2023, 3, 30), date(2026, 3, 28)]
    children = []
    for i in range(300):
        birth = awkward[i] if i < len(awkward) else now.date() - timedelta(days=rng.randrange(0, 1140))
        premature, weekday, hour = rng.choice((0, 0, 0, 3, 8, 12)), rng.randrange(7), rng.randrange(24)
        tz = rng.choice(ZONES)
        # Most subscribed long ago; some in the last days, after their latest slot.
        subscribed_at = now - timedelta(days=40 if i % 5 else rng.uniform(0, 6))
        _, child = subscribed_child(db, f"tg:{i}", birth, subscribed_at, weekday=weekday, hour=hour, tz=tz,
                                    premature=premature, chat_id=i)
        children.append((child.id, birth, premature, weekday, hour, tz, subscribed_at.replace(microsecond=0)))
    report = ledger.plan(now)
    assert report.subscriptions == 300
    expected = expected_rows(children, now)
    assert rows(db) == expected
    finished = sum(1 for key, _, _ in expected if key.startswith("goodbye:"))
    assert report.ended == finished > 0
    assert db.execute("select count(*) from subscriptions where status = 'ended'").fetchone()[0] == finished


def test_a_pass_touches_only_subscriptions_whose_slot_came_or_that_changed(db, ledger):
    monday = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    subscribed_child(db, "tg:1", date(2026, 10, 1), monday - timedelta(days=30), weekday=0, chat_id=1)
    subscribed_child(db, "tg:2", date(2026, 10, 1), monday - timedelta(days=30), weekday=2, chat_id=2)
    assert ledger.plan(monday).subscriptions == 2  # first pass: everything
    assert ledger.plan(monday + timedelta(minutes=5)).subscriptions == 0
    wednesday = monday + timedelta(days=2)
    assert ledger.plan(wednesday).subscriptions == 1  # only the Wednesday slot came
    store = SubscriptionStore(db)
    _, third = subscribed_child(db, "tg:3", date(2026, 8, 15), wednesday + timedelta(hours=1), chat_id=3)
    report = ledger.plan(wednesday + timedelta(hours=2))
    assert report.subscriptions == 1 and report.planned == 1
    # Changing the hour is looked at at once, and the tip already planned this week is not planned again.
    store.subscribe(third.id, 4, 20, "Asia/Shanghai", wednesday + timedelta(hours=3))
    assert ledger.plan(wednesday + timedelta(hours=4)).planned == 0


def test_a_failed_pass_writes_nothing_and_restores_foreign_keys(db, ledger):
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), now - timedelta(days=3))

    class Broken:
        def for_age(self, days):
            raise RuntimeError("calendar broken")

    ledger.picker = Broken()
    with pytest.raises(RuntimeError):
        ledger.plan(now)
    assert db.execute("pragma foreign_keys").fetchone()[0] == 1
    assert db.execute("select count(*) from deliveries").fetchone()[0] == 0
    assert db.execute("select count(*) from planner_state").fetchone()[0] == 0
    ledger.picker = TipPicker(calendar())
    assert ledger.plan(now).planned == 1  # the next pass still sees it


def test_preview_shows_what_would_go_out_and_writes_nothing(db, ledger):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), now)
    ledger.plan(now)
    before = list(db.query("select * from deliveries")), list(db.query("select * from planner_state"))
    report, due = ledger.preview(now + timedelta(days=10))  # the next Monday slot: a new tip window
    assert (report.planned, report.superseded) == (1, 1)  # the unsent one would give way to the newer one
    assert [(d.kind, d.item_id) for d in due] == [("tip", "tip-d0056")]
    assert (list(db.query("select * from deliveries")), list(db.query("select * from planner_state"))) == before
    assert not db.conn.in_transaction


def test_tips_due_and_stats_commands(settings, monkeypatch):
    db = open_database(settings.db_path)
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    subscribed_child(db, "tg:1", date(2026, 10, 1), now)
    db.conn.close()
    monkeypatch.setenv("SPROUT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SPROUT_DB_PATH", str(settings.db_path))
    runner = CliRunner()
    due = runner.invoke(cli, ["tips", "due", "--at", "2026-11-20T04:00:00Z", "--json"])
    assert due.exit_code == 0, due.output
    payload = json.loads(due.output)
    assert payload["planned"] == 1 and [row["kind"] for row in payload["due"]] == ["tip"]
    stats = runner.invoke(cli, ["tips", "stats", "--json"])
    assert stats.exit_code == 0, stats.output
    counts = json.loads(stats.output)
    assert counts["by_state"]["pending"] == 0  # `due` only looked
    assert counts["subscriptions"] == {"active": 1}
    bad = runner.invoke(cli, ["tips", "due", "--at", "next tuesday"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output


def test_migrations_5_and_6_keep_the_ledger_and_subscriptions(tmp_path):
    path = tmp_path / "old.db"
    db = open_database(path, migrate_now=False)
    migrate_up_to(db, 4)
    db.execute("insert into users (id, external_id, created_at) values (1, 'tg:1', '2026-01-01T00:00:00Z')")
    db.execute("insert into children (id, user_id, birth_date, created_at) values (1, 1, '2026-01-01', 'x')")
    db.execute("insert into subscriptions (child_id, weekday, hour, timezone, status, next_plan_at, created_at, "
               "updated_at) values (1, 0, 9, 'Asia/Shanghai', 'active', 'x', 'x', '2026-01-02T00:00:00Z')")
    db.execute("insert into deliveries (id, dedupe_key, user_id, child_id, kind, item_id, due_at, state) values "
               "(7, 'tip:1:tip-d0000', 1, 1, 'tip', 'tip-d0000', '2026-01-02T00:00:00Z', 'sent')")
    assert migrate(db) == list(range(5, len(MIGRATIONS) + 1))
    assert db.execute("select id, dedupe_key, state from deliveries").fetchall() == [(7, "tip:1:tip-d0000", "sent")]
    indexes = {row[1]: row[2] for row in db.execute("pragma index_list(deliveries)")}
    assert indexes == {"deliveries_recipient": 1, "deliveries_due": 0}  # two indexes, not three
    db.execute("insert or ignore into deliveries (dedupe_key, user_id, child_id, kind, item_id, due_at, state) "
               "values ('tip:1:tip-d0000', 1, 1, 'tip', 'tip-d0000', 'x', 'pending')")
    assert db.execute("select count(*) from deliveries").fetchone()[0] == 1  # still once per recipient
    assert "next_plan_at" not in db["subscriptions"].columns_dict
    assert db.execute("select updated_at from subscriptions").fetchone()[0] == "2026-01-02T00:00:00Z"
    assert Ledger(db, calendar()).plan(datetime(2026, 1, 5, 2, 0, tzinfo=UTC)).subscriptions == 1
    for column, value in (("state", "bogus"), ("kind", "spam")):
        with pytest.raises(sqlite3.IntegrityError):
            values = {"state": "pending", "kind": "tip", column: value}
            db.execute("insert into deliveries (dedupe_key, user_id, child_id, kind, item_id, due_at, state) "
                       "values ('x', 1, 1, ?, 'i', 'd', ?)", [values["kind"], values["state"]])
    with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced again after planning
        db.execute("insert into deliveries (dedupe_key, user_id, kind, item_id, due_at, state) "
                   "values ('y', 99, 'tip', 'i', 'd', 'pending')")


def migrate_up_to(db, last: int) -> None:
    db.execute("create table if not exists migrations (version integer primary key, name text, applied_at text)")
    for version, step in enumerate(MIGRATIONS[:last], start=1):
        with db.conn:
            step(db)
            db.execute("insert into migrations values (?, ?, 'x')", [version, step.__name__])


def test_a_pass_without_the_tips_calendar_keeps_the_watermark_so_that_weeks_tips_come_later(db, tmp_path):
    """tips.yaml unreadable (here: a folder) at the slot: nothing is planned and the watermark does not move; once
    the file is back, the next pass plans that week's tips."""
    from knowledge.bundle import load_knowledge
    from knowledge.settings import REPO_ROOT

    content = tmp_path / "content"
    (content / "tips" / "tips.yaml").mkdir(parents=True)
    broken, problems = load_knowledge(content, date(2026, 11, 30))
    assert "content/tips/tips.yaml:1: error: file cannot be read" in [str(p).replace(" (Is a directory)", "")
                                                                      for p in problems]
    monday = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, the children's slot
    for i in range(3):
        # 182 days old at the slot before, 189 at this one: a new tip (tip-d0189) is due this week.
        subscribed_child(db, f"tg:{i}", date(2026, 5, 25), monday - timedelta(days=30), chat_id=i)
    Ledger(db, calendar()).plan(monday - timedelta(days=1))  # an earlier pass set the watermark
    watermark = db.execute("select planned_until from planner_state").fetchone()
    held = Ledger(db, broken.tips).plan(monday + timedelta(minutes=1))
    assert held.planned == 0
    assert db.execute("select planned_until from planner_state").fetchone() == watermark
    fixed, _ = load_knowledge(REPO_ROOT / "content", date(2026, 11, 30))
    report = Ledger(db, fixed.tips).plan(monday + timedelta(minutes=2))
    assert report.planned == 6  # the tip and the 6-month check-in for each child
    due = {r for r in db.execute("select item_id, due_at from deliveries where kind = 'tip' and state = 'pending'")}
    assert due == {("tip-d0189", iso(monday))}


def test_tips_due_refuses_an_unreadable_tips_file_with_its_path(tmp_path):
    import shutil

    from knowledge.settings import REPO_ROOT

    content = tmp_path / "content"
    shutil.copytree(REPO_ROOT / "content", content, ignore=shutil.ignore_patterns("eval"))
    (content / "tips" / "tips.yaml").unlink()
    (content / "tips" / "tips.yaml").mkdir()
    result = CliRunner().invoke(cli, ["tips", "due", "--at", "2026-11-30T01:00", "--json"],
                                env={"SPROUT_CONTENT_DIR": str(content), "SPROUT_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 1
    assert "content/tips/tips.yaml:1: error: file cannot be read" in result.output
    assert "Traceback" not in result.output
