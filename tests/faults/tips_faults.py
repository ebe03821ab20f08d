"""Fault script for scheduled tips: the real `sprout tips send-due` process against a loopback fake Bot API that
goes down, drops connections, answers 502 or 429, and a sender killed with SIGKILL or stopped with SIGTERM in
the middle of a pass. Each scenario runs on its own fresh ledger of N due tips (one per chat), then the sender is
run again until nothing is pending, and the fake's record is compared with the ledger.

    python -m tests.faults.tips_faults --json            # from the repository root

Figures per scenario and in total: duplicates (a chat got the same message twice), lost (a planned tip the
chat never got, whatever the ledger says, except rows honestly marked 'unknown'), unknown (split into delivered
and not delivered), retried and expired rows, and the exit codes seen. Scenarios run side by side (they mostly
wait on PTB's rate limiter, 30 messages a second)."""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from knowledge.ages import whole_months  # noqa: E402
from knowledge.db import open_database  # noqa: E402
from knowledge.milestones import CHECKIN_AGES  # noqa: E402
from telegram_fake import LoopbackBotAPI  # noqa: E402

TOKEN = "123456:FAULT-SCRIPT"
FIRST_FAULT_AT = 40  # the outages start once this many messages were accepted


def populate(db_path: Path, children: int, now: datetime) -> None:
    """`children` parents with one child each, subscribed so that exactly one tip is due now for each (ages that
    fall on no milestone check-in month, slot at 00:00 UTC today)."""
    db = open_database(db_path)
    today = now.date()
    stamp = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ages = [d for d in range(20, 1000) if whole_months(today - timedelta(days=d), today) not in CHECKIN_AGES
            and whole_months(today - timedelta(days=d + 1), today) not in CHECKIN_AGES
            and whole_months(today - timedelta(days=d - 1), today) not in CHECKIN_AGES]
    births = [(today - timedelta(days=ages[i % len(ages)])).isoformat() for i in range(children)]
    with db.conn:
        db.conn.executemany("insert into users (id, external_id, chat_id, language, created_at, consent_version) "
                            "values (?, ?, ?, ?, ?, 1)",
                            [(i + 1, f"tg:{i + 1}", 10_000 + i, "zh" if i % 3 == 0 else "en", stamp)
                             for i in range(children)])
        db.conn.executemany("insert into children (id, user_id, birth_date, created_at) values (?, ?, ?, ?)",
                            [(i + 1, i + 1, births[i], stamp) for i in range(children)])
        db.conn.executemany("insert into subscriptions (child_id, weekday, hour, timezone, status, created_at, "
                            "updated_at) values (?, ?, 0, 'UTC', 'active', ?, ?)",
                            [(i + 1, now.weekday(), stamp, stamp) for i in range(children)])
    db.conn.close()


class Scenario:
    """One fresh ledger, one fake Bot API, and the sender processes run against them."""

    def __init__(self, name: str, workdir: Path, children: int, now: datetime):
        self.name = name
        self.dir = workdir / name
        self.dir.mkdir(parents=True)
        self.db_path = self.dir / "sprout.db"
        populate(self.db_path, children, now)
        self.fake = LoopbackBotAPI(delay=0.002).start()
        self.exit_codes: list[int] = []
        self.passes = 0
        self.started = time.monotonic()
        self.seconds = 0.0

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPROUT_")}
        env.update({"SPROUT_DATA_DIR": str(self.dir), "SPROUT_DB_PATH": str(self.db_path),
                    "TELEGRAM_BOT_TOKEN": TOKEN, "SPROUT_TELEGRAM_API_URL": self.fake.url,
                    "SPROUT_TIPS_RETRY_MAX_SECONDS": "2", "SPROUT_LOG_LEVEL": "ERROR",
                    "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        return env

    def start_sender(self) -> subprocess.Popen:
        self.passes += 1
        return subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "tips", "send-due"],
                                cwd=ROOT, env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self, process: subprocess.Popen, timeout: float = 120) -> int:
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        self.exit_codes.append(code)
        return code

    def ledger(self, sql: str, params=()) -> list[tuple]:
        conn = sqlite3.connect(self.db_path, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def run_until_done(self, limit: int = 40) -> None:
        """Run the sender again until nothing is pending (retried rows wait out their backoff)."""
        for _ in range(limit):
            if self.ledger("select count(*) from deliveries")[0][0] and not self.open_rows():
                return
            self.wait(self.start_sender())
            waiting = self.ledger("select min(due_at) from deliveries where state in ('pending', 'sending')")[0][0]
            if waiting:
                due = datetime.strptime(waiting, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                time.sleep(min(3.0, max(0.0, (due - datetime.now(timezone.utc)).total_seconds()) + 0.2))

    def open_rows(self) -> int:
        return self.ledger("select count(*) from deliveries where state in ('pending', 'sending')")[0][0]

    def wait_for_messages(self, process: subprocess.Popen, count: int, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.fake.delivered) < count and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)  # polling the fake's progress, not waiting for time
        return process.poll() is None

    def report(self) -> dict:
        received = self.fake.texts_by_chat()
        rows = self.ledger("select u.chat_id, d.state, d.retry_until is not null from deliveries d "
                           "join users u on u.id = d.user_id")
        duplicates = sum(len(texts) - len(set(texts)) for texts in received.values())
        report = {"planned": len(rows), "delivered": sum(len(set(t)) for t in received.values()),
                  "duplicates": duplicates, "lost": 0, "unknown": 0, "unknown_delivered": 0,
                  "unknown_not_delivered": 0, "retried": sum(r[2] for r in rows),
                  "expired": sum(r[1] == "expired" for r in rows), "open": 0, "refused_requests": self.fake.refused,
                  "passes": self.passes, "exit_codes": sorted(set(self.exit_codes)),
                  "seconds": self.seconds}
        for chat, state, _ in rows:
            got = bool(received.get(chat))
            if state == "unknown":
                report["unknown"] += 1
                report["unknown_delivered" if got else "unknown_not_delivered"] += 1
            elif not got:
                report["lost"] += 1
            if state in ("pending", "sending"):
                report["open"] += 1
        return report


def _at_message(scenario: Scenario, count: int, action) -> None:
    """Run `action` (off the fake's request thread) once the fake has accepted `count` messages."""
    fired = threading.Event()

    def hook(n: int) -> None:
        if n >= count and not fired.is_set():
            fired.set()
            threading.Thread(target=action, daemon=True).start()

    scenario.fake.on_delivered = hook


def _fault_for(scenario: Scenario, mode: str, seconds: float, **kw) -> None:
    def action():
        scenario.fake.set_mode(mode, **kw)
        time.sleep(seconds)  # the length of the outage itself
        scenario.fake.set_mode("up")

    _at_message(scenario, FIRST_FAULT_AT, action)
    scenario.run_until_done()


def outage(scenario: Scenario) -> None:
    """The fake goes down (connections refused) from message 40 for 5 s."""
    _fault_for(scenario, "down", 5.0)


def drops(scenario: Scenario) -> None:
    """3 s of connections reset without an answer, from message 40."""
    _fault_for(scenario, "drop", 3.0)


def bad_gateway(scenario: Scenario) -> None:
    """3 s of 502 error pages, from message 40."""
    _fault_for(scenario, "502", 3.0)


def flood_wait(scenario: Scenario) -> None:
    """2 s of 429 with retry_after 1, from message 40."""
    _fault_for(scenario, "429", 2.0, retry_after=1)


def _interrupt(scenario: Scenario, times: int, sig: int, rng: random.Random) -> None:
    for _ in range(times):
        process = scenario.start_sender()
        if scenario.wait_for_messages(process, len(scenario.fake.delivered) + rng.randrange(5, 40)):
            time.sleep(rng.uniform(0, 0.05))  # anywhere in the send cycle, not only just after an answer
            process.send_signal(sig)
        scenario.wait(process)
    scenario.run_until_done()


def kills(scenario: Scenario, times: int, rng: random.Random) -> None:
    """SIGKILL at a random moment of sending, `times` times, then run to the end."""
    _interrupt(scenario, times, signal.SIGKILL, rng)


def terms(scenario: Scenario, times: int, rng: random.Random) -> None:
    """SIGTERM at a random moment of sending, `times` times, then run to the end."""
    _interrupt(scenario, times, signal.SIGTERM, rng)


def run(children: int = 377, kill_count: int = 8, term_count: int = 3, seed: int = 20, only: list[str] | None = None,
        workdir: Path | None = None) -> dict:
    now = datetime.now(timezone.utc)
    rng = random.Random(seed)
    plans = {"outage": outage, "drops": drops, "502": bad_gateway, "429": flood_wait,
             "kill9": lambda s: kills(s, kill_count, random.Random(rng.random())),
             "sigterm": lambda s: terms(s, term_count, random.Random(rng.random()))}
    if only:
        plans = {name: plans[name] for name in only}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tips-faults-", dir=workdir) as tmp:
        scenarios = {name: Scenario(name, Path(tmp), children, now) for name in plans}
        errors: dict[str, str] = {}

        def drive(name: str) -> None:
            try:
                plans[name](scenarios[name])
                scenarios[name].seconds = round(time.monotonic() - scenarios[name].started, 1)
            except Exception as exc:  # reported, not hidden: the figures of that scenario are then incomplete
                errors[name] = f"{type(exc).__name__}: {exc}"

        threads = [threading.Thread(target=drive, args=(name,)) for name in plans]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for scenario in scenarios.values():
            scenario.fake.stop()
        reports = {name: scenario.report() for name, scenario in scenarios.items()}
    totals = {key: sum(r[key] for r in reports.values())
              for key in ("planned", "delivered", "duplicates", "lost", "unknown", "unknown_delivered",
                          "unknown_not_delivered", "retried", "expired", "open")}
    sigterm_codes = reports.get("sigterm", {}).get("exit_codes")
    return {"children_per_scenario": children, "kills": kill_count if "kill9" in plans else 0,
            "sigterms": term_count if "sigterm" in plans else 0, "sigterm_exit_codes": sigterm_codes,
            "totals": totals, "scenarios": reports, "errors": errors,
            "seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--children", type=int, default=377)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--sigterms", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--only", action="append", help="run only these scenarios (repeatable)")
    args = parser.parse_args(argv)
    result = run(args.children, args.kills, args.sigterms, args.seed, args.only)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        totals = result["totals"]
        print(f"{totals['planned']} planned, {totals['delivered']} delivered, {totals['duplicates']} duplicates, "
              f"{totals['lost']} lost, {totals['unknown']} unknown, {totals['retried']} retried "
              f"in {result['seconds']} s")
    bad = result["totals"]["duplicates"] or result["totals"]["lost"] or result["errors"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
