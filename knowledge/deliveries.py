"""The deliveries ledger: planning what is due (tips, milestone check-ins, goodbyes), claiming it under a lease,
and recording each outcome, so that nothing is sent twice and nothing due is silently lost."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable

import sqlite_utils

from .ages import age_days, whole_months
from .milestones import CHECKIN_AGES
from .schedule import iso, latest_slot, next_slot, parse_iso, zone
from .tips import Tip

STATES = ("pending", "sending", "sent", "unknown", "failed", "skipped")
SENDER_LEASE = "tips-sender"


@dataclass(frozen=True)
class Delivery:
    id: int
    dedupe_key: str
    user_id: int
    child_id: int | None
    kind: str
    item_id: str
    due_at: str
    chat_id: int | None
    language: str


@dataclass(frozen=True)
class PlanReport:
    subscriptions: int
    planned: int
    superseded: int
    ended: int


class TipPicker:
    """Finds the tip for an age in days with a lookup table (planning a million children stays cheap)."""

    def __init__(self, tips: Iterable[Tip]):
        self.by_day: dict[int, Tip] = {}
        for tip in tips:
            for day in range(tip.start_day, tip.end_day + 1):
                self.by_day[day] = tip

    def for_age(self, days: int) -> Tip | None:
        return self.by_day.get(days)


class Ledger:
    def __init__(self, db: sqlite_utils.Database, tips: Iterable[Tip]):
        self.db = db
        self.picker = TipPicker(tips)

    # Planning ---------------------------------------------------------------------------------------------

    def plan(self, now: datetime) -> PlanReport:
        """Insert (once) the latest due tip, check-in or goodbye for every subscription due for planning.
        Each subscription then waits for its next weekly slot, so a pass only touches what is due."""
        now_text = iso(now)
        rows = self.db.execute(
            "select s.child_id, s.weekday, s.hour, s.timezone, s.updated_at, c.user_id, c.birth_date, "
            "c.weeks_premature from subscriptions s join children c on c.id = s.child_id "
            "join users u on u.id = c.user_id where s.status = 'active' and s.next_plan_at <= ? and u.active = 1",
            [now_text]).fetchall()
        slot_cache: dict[tuple[int, int, str], tuple[str, str]] = {}
        # Many children share a birth date and a slot: plan each combination once.
        plan_cache: dict[tuple[str, int, date], tuple[str | None, int | None, bool]] = {}
        day_cache: dict[tuple[str, str], date] = {}
        inserts: list[tuple[Any, ...]] = []
        next_plans: list[tuple[str, int]] = []
        ended: list[tuple[str, int]] = []
        for child_id, weekday, hour, tz, updated_at, user_id, birth_text, premature in rows:
            key = (weekday, hour, tz)
            slots = slot_cache.get(key)
            if slots is None:
                slots = slot_cache[key] = (iso(latest_slot(now, weekday, hour, tz)),
                                           iso(next_slot(now, weekday, hour, tz)))
            slot_text, next_text = slots
            # A new or resumed subscription gets its first message at once rather than a week later.
            due_at = slot_text if slot_text >= updated_at else updated_at
            day = day_cache.get((due_at, tz))
            if day is None:
                day = day_cache[(due_at, tz)] = parse_iso(due_at).astimezone(zone(tz)).date()
            plan = plan_cache.get((birth_text, premature, day))
            if plan is None:
                plan = plan_cache[(birth_text, premature, day)] = child_plan(date.fromisoformat(birth_text),
                                                                             premature, day, self.picker)
            tip_id, checkin, finished = plan
            if finished:
                inserts.append((f"goodbye:{child_id}", user_id, child_id, "goodbye", "36m", due_at))
                ended.append((now_text, child_id))
                continue
            next_plans.append((next_text, child_id))
            if tip_id:
                inserts.append((f"tip:{child_id}:{tip_id}", user_id, child_id, "tip", tip_id, due_at))
            if checkin:
                inserts.append((f"milestone:{child_id}:{checkin}", user_id, child_id, "milestone", str(checkin), due_at))
        with self.db.conn:
            self.db.execute("begin immediate")
            # After downtime only the newest tip and check-in per child are still worth sending: anything of the
            # same kind still pending for a child planned now is superseded (pending rows are few; the index on
            # state keeps this cheap).
            self.db.execute("create temp table if not exists plan_batch (child_id integer, kind text, dedupe_key text)")
            self.db.execute("delete from plan_batch")
            self.db.conn.executemany("insert into plan_batch values (?, ?, ?)",
                                     ((r[2], r[3], r[0]) for r in inserts if r[3] in ("tip", "milestone")))
            superseded = self.db.execute(
                "update deliveries set state = 'skipped', finished_at = ?, error = 'superseded' "
                "where state = 'pending' and kind in ('tip', 'milestone') "
                "and (child_id, kind) in (select child_id, kind from plan_batch) "
                "and dedupe_key not in (select dedupe_key from plan_batch)", [now_text]).rowcount
            before = self.db.execute("select total_changes()").fetchone()[0]
            inserts.sort()  # in key order the unique index grows at its end instead of splitting pages at random
            next_plans.sort(key=lambda row: row[1])
            self.db.conn.executemany(
                "insert or ignore into deliveries (dedupe_key, user_id, child_id, kind, item_id, due_at, state) "
                "values (?, ?, ?, ?, ?, ?, 'pending')", inserts)
            planned = self.db.execute("select total_changes()").fetchone()[0] - before
            self.db.conn.executemany("update subscriptions set next_plan_at = ? where child_id = ?", next_plans)
            self.db.conn.executemany("update subscriptions set status = 'ended', updated_at = ? where child_id = ?",
                                     ended)
            self.db.execute("delete from plan_batch")
        return PlanReport(len(rows), planned, superseded, len(ended))

    def due(self, now: datetime, limit: int | None = None) -> list[Delivery]:
        """What a send pass at `now` would send, without claiming anything."""
        sql = _DELIVERY_SELECT + " where d.state = 'pending' and d.due_at <= ? order by d.due_at, d.id"
        params: list[Any] = [iso(now)]
        if limit:
            sql += " limit ?"
            params.append(limit)
        return [Delivery(*row) for row in self.db.execute(sql, params).fetchall()]

    # Claiming and outcomes --------------------------------------------------------------------------------

    def claim(self, now: datetime, worker: str, limit: int, user_id: int | None = None) -> list[Delivery]:
        """Move up to `limit` due rows to 'sending' in one transaction, so no other pass can take them.
        Telegram passes take rows of users with a chat; the local chat takes its own user's rows."""
        who = "d.user_id = ?" if user_id is not None else "u.chat_id is not null"
        params: list[Any] = [iso(now)] + ([user_id] if user_id is not None else []) + [limit]
        with self.db.conn:
            self.db.execute("begin immediate")
            rows = self.db.execute(
                _DELIVERY_SELECT + f" where d.state = 'pending' and d.due_at <= ? and {who} "
                "order by d.due_at, d.id limit ?", params).fetchall()
            self.db.conn.executemany(
                "update deliveries set state = 'sending', claimed_by = ?, claimed_at = ?, attempts = attempts + 1 "
                "where id = ? and state = 'pending'", [(worker, iso(now), row[0]) for row in rows])
        return [Delivery(*row) for row in rows]

    def finish(self, delivery_id: int, state: str, now: datetime, error: str | None = None) -> None:
        assert state in ("sent", "unknown", "failed", "skipped")
        with self.db.conn:
            self.db.execute("update deliveries set state = ?, finished_at = ?, error = ? where id = ? "
                            "and state = 'sending'", [state, iso(now), error, delivery_id])

    def retry_later(self, delivery_id: int, when: datetime) -> None:
        """Telegram said 429: not a failure, just later (the request was refused, so nothing was delivered)."""
        with self.db.conn:
            self.db.execute("update deliveries set state = 'pending', due_at = ?, claimed_by = null where id = ? "
                            "and state = 'sending'", [iso(when), delivery_id])

    def recover_in_flight(self, now: datetime, worker: str) -> int:
        """Rows left in 'sending' by a sender that died: they may have gone out, so they become 'unknown'
        (never resent blindly)."""
        with self.db.conn:
            return self.db.execute("update deliveries set state = 'unknown', finished_at = ?, "
                                   "error = 'sender stopped mid-send' where state = 'sending' and "
                                   "coalesce(claimed_by, '') != ?", [iso(now), worker]).rowcount

    def block_user(self, user_id: int, now: datetime) -> None:
        """403: the user blocked the bot. Deactivate them and skip what was waiting for them."""
        with self.db.conn:
            self.db.execute("begin immediate")
            self.db.execute("update users set active = 0 where id = ?", [user_id])
            self.db.execute("update deliveries set state = 'skipped', finished_at = ?, error = 'blocked' "
                            "where user_id = ? and state = 'pending'", [iso(now), user_id])

    # Lease: only one sender at a time -----------------------------------------------------------------------

    def acquire_lease(self, holder: str, now: datetime, ttl_seconds: int = 120, name: str = SENDER_LEASE) -> bool:
        """Take or renew the lease; a lease whose holder is a dead process on this host is taken over at once."""
        with self.db.conn:
            self.db.execute("begin immediate")
            row = self.db.execute("select holder, expires_at from leases where name = ?", [name]).fetchone()
            if row and row[0] != holder and row[1] > iso(now) and _holder_alive(row[0]):
                return False
            self.db.execute("insert into leases (name, holder, expires_at) values (?, ?, ?) on conflict(name) do "
                            "update set holder = excluded.holder, expires_at = excluded.expires_at",
                            [name, holder, iso(now + timedelta(seconds=ttl_seconds))])
        return True

    def release_lease(self, holder: str, name: str = SENDER_LEASE) -> None:
        with self.db.conn:
            self.db.execute("delete from leases where name = ? and holder = ?", [name, holder])

    def stats(self) -> dict[str, Any]:
        counts = dict(self.db.execute("select state, count(*) from deliveries group by state").fetchall())
        by_kind = {}
        for kind, state, n in self.db.execute("select kind, state, count(*) from deliveries group by kind, state"):
            by_kind.setdefault(kind, {})[state] = n
        return {"by_state": {s: counts.get(s, 0) for s in STATES}, "by_kind": by_kind,
                "subscriptions": dict(self.db.execute("select status, count(*) from subscriptions group by status")
                                      .fetchall())}


_DELIVERY_SELECT = ("select d.id, d.dedupe_key, d.user_id, d.child_id, d.kind, d.item_id, d.due_at, u.chat_id, "
                    "u.language from deliveries d join users u on u.id = d.user_id")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def _holder_alive(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's sender: trust its lease until it expires
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def child_plan(birth: date, premature: int, day: date, picker: TipPicker) -> tuple[str | None, int | None, bool]:
    """(tip id, check-in age due, finished) for a child on the subscriber's local day."""
    if whole_months(birth, day) >= 36:
        return None, None, True
    days = age_days(birth, day, premature)
    if days < 0:
        return None, None, False  # born very early: tips start from the corrected birth date
    tip = picker.for_age(days)
    corrected_birth = birth + timedelta(weeks=premature) if days != (day - birth).days else birth
    months = whole_months(corrected_birth, day)
    checkin = months if months in CHECKIN_AGES else None
    return (tip.id if tip else None), checkin, False
