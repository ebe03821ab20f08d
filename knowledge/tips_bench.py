"""Benchmark for the tips ledger: planning for a million subscribed children, and the send loop's own cost per
message with a transport that does nothing (so Telegram's rate limit, not Sprout, is the bottleneck)."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .db import open_database
from .deliveries import Ledger
from .tips import Tip


def _synthetic_tips() -> list[Tip]:
    tips, start = [], 0
    while start <= 1095:
        end = min(start + (6 if start < 91 else 13), 1095)
        tips.append(Tip(f"tip-d{start:04d}", start, end, "entry", {"en": "tip", "zh": "贴士"}))
        start = end + 1
    return tips


def _populate(db, children: int, now: datetime, seed: int = 7) -> None:
    rng = random.Random(seed)
    # Set-up only (not measured): skip per-row checks that real traffic needs.
    db.execute("pragma foreign_keys = off")
    db.execute("pragma synchronous = off")
    today = now.date()
    zones = ["Asia/Shanghai", "Asia/Hong_Kong", "Europe/London", "America/New_York"]
    stamp = (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    users = ((i, f"tg:{i}", i, "en" if i % 3 else "zh", stamp) for i in range(1, children + 1))
    db.conn.executemany("insert into users (id, external_id, chat_id, language, created_at, consent_version) "
                        "values (?, ?, ?, ?, ?, 1)", users)
    kids = ((i, i, (today - timedelta(days=rng.randrange(0, 1090))).isoformat(),
             rng.choice((0, 0, 0, 0, 0, 2, 4, 8)), stamp) for i in range(1, children + 1))
    db.conn.executemany("insert into children (id, user_id, birth_date, weeks_premature, created_at) "
                        "values (?, ?, ?, ?, ?)", kids)
    subs = ((i, rng.randrange(7), rng.choice((8, 9, 20)), rng.choice(zones), stamp, stamp)
            for i in range(1, children + 1))
    db.conn.executemany("insert into subscriptions (child_id, weekday, hour, timezone, status, "
                        "created_at, updated_at) values (?, ?, ?, ?, 'active', ?, ?)", subs)
    db.conn.commit()
    db.execute("pragma foreign_keys = on")
    db.execute("pragma synchronous = normal")


class _NullTransport:
    async def send(self, chat_id, reply) -> None:
        return None


def run_tips_benchmark(children: int = 1_000_000, send_messages: int = 5_000) -> dict[str, Any]:
    from bot.messages import Reply
    from bot.tips_sender import send_due

    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    out: dict[str, Any] = {"children": children}
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "tips.db")
        started = time.perf_counter()
        _populate(db, children, now)
        out["populate_s"] = round(time.perf_counter() - started, 2)
        ledger = Ledger(db, _synthetic_tips())
        started = time.perf_counter()
        report = ledger.plan(now)
        out["plan_s"] = round(time.perf_counter() - started, 2)
        out["planned"] = report.planned
        started = time.perf_counter()
        again = ledger.plan(now)
        out["replan_s"] = round(time.perf_counter() - started, 2)
        out["replanned_new_rows"] = again.planned

        # Send loop overhead: compose is trivial and the transport does nothing, so what remains is Sprout's cost.
        reply = Reply("tip")
        clock = lambda: now  # noqa: E731
        started = time.perf_counter()
        stats = asyncio.run(send_due(ledger, lambda d: reply, _NullTransport(), clock, "bench", batch_size=100,
                                     max_batches=send_messages // 100, per_chat_interval=0))
        seconds = time.perf_counter() - started
        out["send_loop_messages"] = stats.sent
        out["send_loop_overhead_ms_per_message"] = round(seconds / max(stats.sent, 1) * 1000, 4)
        db.conn.close()
    return out


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run_tips_benchmark(), indent=2))
