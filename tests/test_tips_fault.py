"""Fault test: a sender process killed with SIGKILL at random points, restarted, must never send twice."""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from knowledge.db import open_database
from knowledge.deliveries import Ledger
from tipshelpers import calendar

ROOT = Path(__file__).resolve().parent.parent
CHILDREN = 3000
KILLS = 6
BATCH = 5


def _populate(db, now):
    stamp = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    births = [(date(2026, 11, 19) - timedelta(days=10 + (i % 900))).isoformat() for i in range(CHILDREN)]
    with db.conn:
        db.conn.executemany("insert into users (id, external_id, chat_id, language, created_at, consent_version) "
                            "values (?, ?, ?, 'en', ?, 1)", [(i + 1, f"tg:{i + 1}", i + 1, stamp) for i in range(CHILDREN)])
        db.conn.executemany("insert into children (id, user_id, birth_date, created_at) values (?, ?, ?, ?)",
                            [(i + 1, i + 1, births[i], stamp) for i in range(CHILDREN)])
        db.conn.executemany("insert into subscriptions (child_id, weekday, hour, timezone, status, "
                            "created_at, updated_at) values (?, 4, 9, 'Asia/Shanghai', 'active', ?, ?)",
                            [(i + 1, stamp, stamp) for i in range(CHILDREN)])


def _start(db_path, log_path):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    return subprocess.Popen([sys.executable, str(ROOT / "tests" / "fault_sender.py"), str(db_path), str(log_path)],
                            stdout=subprocess.PIPE, env=env, cwd=ROOT)


def _lines(log_path):
    return log_path.read_text().splitlines() if log_path.exists() else []


def test_sender_killed_at_random_points_never_sends_twice_and_loses_only_the_message_in_flight(tmp_path):
    db_path, log_path = tmp_path / "fault.db", tmp_path / "telegram.log"
    now = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
    db = open_database(db_path)
    _populate(db, now)
    planned = Ledger(db, calendar()).plan(now).planned
    assert planned >= CHILDREN
    rng = random.Random(20261129)
    for _ in range(KILLS):
        process = _start(db_path, log_path)
        assert process.stdout.readline().strip() == b"started"
        target = len(_lines(log_path)) + rng.randrange(20, 300)
        deadline = time.monotonic() + 60
        while len(_lines(log_path)) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # waiting for the child's progress, not for the clock
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert len(_lines(log_path)) < planned  # the kills really interrupted the work
    final = _start(db_path, log_path)
    out, _ = final.communicate(timeout=120)
    assert b"finished" in out

    sent_lines = Counter(line.split("|", 1)[1] for line in _lines(log_path))
    assert [key for key, count in sent_lines.items() if count > 1] == []
    states = dict(db.execute("select dedupe_key, state from deliveries").fetchall())
    assert set(states.values()) <= {"sent", "unknown"}
    for key, state in states.items():
        if state == "sent":
            assert sent_lines[key] == 1
    unknown = [key for key, state in states.items() if state == "unknown"]
    assert len(unknown) <= KILLS  # only the message in flight at each kill; the rest of its batch was resent
    assert set(sent_lines) <= set(states)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
