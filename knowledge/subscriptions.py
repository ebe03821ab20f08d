"""Tip subscriptions: one per child, with the weekday and local hour the caregiver chose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from .schedule import iso

STATUSES = ("active", "paused", "stopped", "ended")


@dataclass(frozen=True)
class Subscription:
    id: int
    child_id: int
    weekday: int
    hour: int
    timezone: str
    status: str
    created_at: str
    updated_at: str


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(row["id"], row["child_id"], row["weekday"], row["hour"], row["timezone"], row["status"],
                        row["created_at"], row["updated_at"])


class SubscriptionStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def for_child(self, child_id: int) -> Subscription | None:
        rows = list(self.db.query("select * from subscriptions where child_id = ?", [child_id]))
        return _subscription(rows[0]) if rows else None

    def subscribe(self, child_id: int, weekday: int, hour: int, tz: str, now: datetime) -> Subscription:
        if not (0 <= weekday <= 6 and 0 <= hour <= 23):
            raise ValueError("weekday must be 0-6 and hour 0-23")
        with self.db.conn:
            self.db.execute(
                "insert into subscriptions (child_id, weekday, hour, timezone, status, created_at, updated_at) "
                "values (?, ?, ?, ?, 'active', ?, ?) on conflict(child_id) do update set weekday = excluded.weekday, "
                "hour = excluded.hour, timezone = excluded.timezone, status = 'active', "
                "updated_at = excluded.updated_at", [child_id, weekday, hour, tz, iso(now), iso(now)])
        return self.for_child(child_id)

    def set_status(self, child_id: int, status: str, now: datetime) -> Subscription | None:
        """Pause, resume, stop or end; anything not yet sent for the child is skipped (nothing stale goes out)."""
        assert status in STATUSES
        with self.db.conn:
            self.db.execute("begin immediate")
            # A change of `updated_at` makes the planner look at the subscription at once (so resuming plans now).
            self.db.execute("update subscriptions set status = ?, updated_at = ? where child_id = ?",
                            [status, iso(now), child_id])
            if status != "active":
                # Through the user's prefix of the ledger: right after a big pass, 'pending' matches a million rows.
                self.db.execute("update deliveries set state = 'skipped', finished_at = :now where user_id = "
                                "(select user_id from children where id = :child) and child_id = :child "
                                "and state = 'pending' and kind in ('tip', 'milestone')",
                                {"now": iso(now), "child": child_id})
        return self.for_child(child_id)

    def set_timezone_for_user(self, user_id: int, tz: str, now: datetime) -> None:
        with self.db.conn:
            self.db.execute("update subscriptions set timezone = ?, updated_at = ? where child_id in "
                            "(select id from children where user_id = ?)", [tz, iso(now), user_id])
