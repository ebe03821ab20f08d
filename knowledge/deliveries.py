"""The deliveries ledger: planning what is due (tips, milestone check-ins, goodbyes), claiming it under a lease,
and recording each outcome, so that nothing is sent twice and nothing due is silently lost."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable

import sqlite_utils

from .ages import age_days, whole_months
from .db import DELIVERY_STATES as STATES
from .db import durable
from .milestones import CHECKIN_AGES
from .schedule import iso, latest_slot, parse_iso, zone
from .tips import Tip

SENDER_LEASE = "tips-sender"
log = logging.getLogger(__name__)


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

    def __len__(self) -> int:
        return len(self.by_day)


class Ledger:
    def __init__(self, db: sqlite_utils.Database, tips: Iterable[Tip]):
        self.db = db
        self.picker = TipPicker(tips)

    # Planning ---------------------------------------------------------------------------------------------

    def plan(self, now: datetime) -> PlanReport:
        """Insert (once) the latest due tip, check-in or goodbye for every subscription due for planning.

        Without a tips calendar (tips.yaml missing or unreadable when this ledger was built) nothing can be planned,
        so nothing is: the watermark stays where it is, and the first pass with the calendar back plans the slots
        that came meanwhile instead of skipping them."""
        if not self.picker:
            log.warning("tips planner: no tips calendar loaded, so no slot is planned (the watermark is kept)")
            return PlanReport(0, 0, 0, 0)
        # Every row written comes from a join of live children and users inside this write transaction, so its
        # parents exist; checking each one again (two lookups a row) would double the cost of a big pass. The
        # pragma only takes effect outside a transaction, and is restored whatever happens.
        self.db.execute("pragma foreign_keys = off")
        try:
            with self.db.conn:
                self.db.execute("begin immediate")  # one snapshot: what is selected is what gets written
                return self._plan(now)
        finally:
            self.db.execute("pragma foreign_keys = on")

    def preview(self, now: datetime) -> tuple[PlanReport, list[Delivery]]:
        """What a pass at `now` would plan and send, computed in a transaction that is then rolled back, so
        asking about a future moment changes nothing."""
        self.db.execute("begin immediate")
        try:
            return self._plan(now), self.due(now)
        finally:
            self.db.execute("rollback")

    def _plan(self, now: datetime) -> PlanReport:
        """A subscription is due for planning when its weekly slot has passed since the last pass (the watermark)
        or when it changed since then (new, resumed, new zone or hour: the first message goes out at once).

        The work is set-based so that a million children plan in seconds: Python computes only what SQL cannot
        (local slots per weekday, hour and zone; the plan per birth date, weeks premature and local day, of which
        there are a few thousand), and SQLite joins those small tables with the subscriptions and writes the
        ledger rows itself."""
        now_text = iso(now)
        row = self.db.execute("select planned_until from planner_state where name = ?", [PLANNER]).fetchone()
        watermark = row[0] if row else None
        # Changes made while the previous pass ran (stamped just before it) are looked at again; planning is
        # idempotent, so this costs nothing but a lookup.
        changed_since = iso(parse_iso(watermark) - CHANGE_MARGIN) if watermark else ""
        for sql in _PLAN_TABLES:
            self.db.execute(sql)
        groups = self.db.execute("select distinct weekday, hour, timezone from subscriptions "
                                 "where status = 'active'").fetchall()
        slots = [_slot_row(now, watermark, *group) for group in groups]
        self.db.conn.executemany("insert into plan_slots values (?, ?, ?, ?, ?, ?)", slots)
        if not slots:
            return self._finish_pass(now_text, 0, 0, 0, 0)
        # Messages for subscriptions changed after their latest slot go out at once, dated by the change.
        params = {"now": now_text, "changed": changed_since, "oldest": min(slot[3] for slot in slots)}
        late = self.db.execute(
            "select s.child_id, s.updated_at, s.timezone from subscriptions s cross join plan_slots g "
            "where s.updated_at > :oldest and s.updated_at <= :now and +s.status = 'active' and s.weekday = g.weekday "
            "and s.hour = g.hour and s.timezone = g.timezone and s.updated_at > g.slot_at", params).fetchall()
        self.db.conn.executemany("insert into plan_late values (?, ?, ?)",
                                 [(child_id, at, _local_day(at, tz)) for child_id, at, tz in late])
        # Plan every (birth date, weeks premature) pair once for each local day in play.
        days = {slot[4] for slot in slots if slot[-1]} | {row[2] for row in self.db.execute("select * from plan_late")}
        if watermark:
            days |= {row[0] for row in self.db.execute(
                "select distinct g.local_day from subscriptions s cross join plan_slots g where s.updated_at > "
                ":changed and s.updated_at <= :now and +s.status = 'active' and s.weekday = g.weekday "
                "and s.hour = g.hour and s.timezone = g.timezone", params)}
        pairs = self.db.execute("select distinct birth_date, weeks_premature from children").fetchall()
        self.db.conn.executemany(
            "insert into plan_combo values (?, ?, ?, ?, ?, ?)",
            [(birth, premature, day, *child_plan(date.fromisoformat(birth), premature, date.fromisoformat(day),
                                                 self.picker))
             for birth, premature in pairs for day in sorted(days)])
        # Due by slot, then changed since the last pass (through the index on updated_at); a child is planned once.
        # CROSS JOIN fixes which table drives: when most slots are due (the first pass, or after downtime) one
        # sequential scan of the subscriptions ('+' keeps SQLite off the slot index) beats a million lookups.
        select = ("insert or ignore into plan_rows select s.child_id, c.user_id, coalesce(l.due_at, g.slot_at), "
                  "p.tip_id, p.checkin, p.finished from {tables} join children c on c.id = s.child_id "
                  "join users u on u.id = c.user_id left join plan_late l on l.child_id = s.child_id "
                  "join plan_combo p on p.birth_date = c.birth_date and p.premature = c.weeks_premature "
                  "and p.local_day = coalesce(l.local_day, g.local_day) where {status} = 'active' and "
                  "s.weekday = g.weekday and s.hour = g.hour and s.timezone = g.timezone and u.active = 1 and ")
        scan = "subscriptions s cross join plan_slots g"
        mostly_due = sum(slot[-1] for slot in slots) * 4 > len(slots)
        by_slot = (scan, "+s.status") if mostly_due else ("plan_slots g cross join subscriptions s", "s.status")
        self.db.execute(select.format(tables=by_slot[0], status=by_slot[1]) + "g.due = 1")
        if watermark:
            self.db.execute(select.format(tables=scan, status="+s.status")
                            + "s.updated_at > :changed and s.updated_at <= :now", params)
        subscriptions = self.db.execute("select count(*) from plan_rows").fetchone()[0]
        if not subscriptions:
            return self._finish_pass(now_text, 0, 0, 0, 0)
        # After downtime only the newest tip and check-in per child are still worth sending: anything of the
        # same kind still pending for a child planned now is superseded (pending rows are few).
        superseded = self.db.execute(
            "update deliveries set state = 'skipped', finished_at = :now, error = 'superseded' "
            "where state = 'pending' and kind in ('tip', 'milestone') and item_id != coalesce((select case "
            "deliveries.kind when 'tip' then r.tip_id else cast(r.checkin as text) end from plan_rows r "
            "where r.child_id = deliveries.child_id), item_id)", params).rowcount
        planned = self.db.execute(
            "insert or ignore into deliveries (dedupe_key, user_id, child_id, kind, item_id, due_at, state) "
            "select 'tip:' || child_id || ':' || tip_id, user_id, child_id, 'tip', tip_id, due_at, 'pending' "
            "from plan_rows where not finished and tip_id is not null union all "
            "select 'milestone:' || child_id || ':' || checkin, user_id, child_id, 'milestone', "
            "cast(checkin as text), due_at, 'pending' from plan_rows where not finished and checkin is not null "
            "union all select 'goodbye:' || child_id, user_id, child_id, 'goodbye', '36m', due_at, 'pending' "
            "from plan_rows where finished").rowcount
        ended = self.db.execute("update subscriptions set status = 'ended', updated_at = :now where child_id in "
                                "(select child_id from plan_rows where finished)", params).rowcount
        return self._finish_pass(now_text, subscriptions, planned, superseded, ended)

    def _finish_pass(self, now_text: str, subscriptions: int, planned: int, superseded: int,
                     ended: int) -> PlanReport:
        self.db.execute("insert into planner_state (name, planned_until) values (?, ?) on conflict(name) do update "
                        "set planned_until = max(planned_until, excluded.planned_until)", [PLANNER, now_text])
        for table in _PLAN_TABLE_NAMES:
            self.db.execute(f"delete from temp.{table}")
        return PlanReport(subscriptions, planned, superseded, ended)

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
        Telegram passes take rows of users with a chat; the local chat takes its own user's rows.
        A claimed row is not yet attempted: `start` marks the moment its request is about to leave."""
        who = "d.user_id = ?" if user_id is not None else "u.chat_id is not null"
        params: list[Any] = [iso(now)] + ([user_id] if user_id is not None else []) + [limit]
        # Durable (synchronous = FULL) commit: with NORMAL a power cut after the message went out could roll the
        # claim back to 'pending', and the row would be sent again. A claim that is on disk can only become
        # 'unknown' after a crash, never a second message.
        with durable(self.db):
            rows = self.db.execute(
                _DELIVERY_SELECT + f" where d.state = 'pending' and d.due_at <= ? and {who} "
                "order by d.due_at, d.id limit ?", params).fetchall()
            self.db.conn.executemany(
                "update deliveries set state = 'sending', claimed_by = ?, claimed_at = ?, started_at = null "
                "where id = ? and state = 'pending'", [(worker, iso(now), row[0]) for row in rows])
        return [Delivery(*row) for row in rows]

    def start(self, delivery_id: int, now: datetime) -> None:
        """Record, in its own short transaction, that this row's request is about to leave: from here on a crash
        leaves it 'unknown' (it may have been delivered) instead of 'pending'. Synced (FULL): after a power cut a
        started row must not come back as never started, or it would be sent twice."""
        with durable(self.db):
            self.db.execute("update deliveries set started_at = ?, attempts = attempts + 1 where id = ? "
                            "and state = 'sending'", [iso(now), delivery_id])

    def finish(self, delivery_id: int, state: str, now: datetime, error: str | None = None) -> None:
        assert state in ("sent", "unknown", "failed", "skipped")
        with self.db.conn:
            self.db.execute("update deliveries set state = ?, finished_at = ?, error = ? where id = ? "
                            "and state = 'sending'", [state, iso(now), error, delivery_id])

    def retry(self, delivery_id: int, now: datetime, wait: Callable[[int], float], reason: str,
              deadline: timedelta) -> str:
        """The request was refused or never reached Telegram, so nothing was delivered: send it again after
        `wait(attempts so far)` seconds, or, once `deadline` has passed since the row's first such error, give up
        ('expired', with the reason). Returns the row's new state."""
        with self.db.conn:
            self.db.execute("begin immediate")
            row = self.db.execute("select retry_until, attempts from deliveries where id = ? and state = 'sending'",
                                  [delivery_id]).fetchone()
            if row is None:
                return "gone"
            until = row[0] or iso(now + deadline)
            if iso(now) >= until:
                self.db.execute("update deliveries set state = 'expired', finished_at = ?, error = ?, "
                                "retry_until = ? where id = ?",
                                [iso(now), f"gave up after {row[1]} attempts: {reason}"[:200], until, delivery_id])
                return "expired"
            when = iso(now + timedelta(seconds=wait(row[1])))
            self.db.execute("update deliveries set state = 'pending', due_at = min(?, ?), claimed_by = null, "
                            "started_at = null, retry_until = ?, error = ? where id = ?",
                            [when, until, until, reason[:200], delivery_id])
            return "pending"

    def release(self, worker: str) -> int:
        """A pass that stops early (SIGTERM, an error) gives back the rows it claimed but never started."""
        with self.db.conn:
            return self.db.execute("update deliveries set state = 'pending', claimed_by = null where "
                                   "state = 'sending' and claimed_by = ? and started_at is null", [worker]).rowcount

    def recover_in_flight(self, now: datetime, worker: str) -> tuple[int, int]:
        """Rows left in 'sending' by a sender that died. Those whose request never started go back to 'pending';
        those that started may have gone out, so they become 'unknown' (never resent blindly).
        Returns (released, unknown)."""
        with self.db.conn:
            self.db.execute("begin immediate")
            released = self.db.execute("update deliveries set state = 'pending', claimed_by = null where "
                                       "state = 'sending' and started_at is null and coalesce(claimed_by, '') != ?",
                                       [worker]).rowcount
            unknown = self.db.execute("update deliveries set state = 'unknown', finished_at = ?, "
                                      "error = 'sender stopped mid-send' where state = 'sending' and "
                                      "coalesce(claimed_by, '') != ?", [iso(now), worker]).rowcount
        return released, unknown

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
        retried, waiting = self.db.execute("select count(*), coalesce(sum(state = 'pending'), 0) from deliveries "
                                           "where retry_until is not null").fetchone()
        return {"by_state": {s: counts.get(s, 0) for s in STATES}, "by_kind": by_kind,
                "retried": retried, "waiting_retry": waiting, "expired": counts.get("expired", 0),
                "unknown": counts.get("unknown", 0),
                "subscriptions": dict(self.db.execute("select status, count(*) from subscriptions group by status")
                                      .fetchall())}


PLANNER = "tips"
CHANGE_MARGIN = timedelta(minutes=10)
# Scratch tables of one planning pass (temp: private to the connection, in memory, emptied after each pass).
_PLAN_TABLES = (
    "create temp table if not exists plan_slots (weekday integer, hour integer, timezone text, slot_at text, "
    "local_day text, due integer, primary key (weekday, hour, timezone)) without rowid",
    "create temp table if not exists plan_late (child_id integer primary key, due_at text, local_day text)",
    "create temp table if not exists plan_combo (birth_date text, premature integer, local_day text, tip_id text, "
    "checkin integer, finished integer, primary key (birth_date, premature, local_day)) without rowid",
    "create temp table if not exists plan_rows (child_id integer primary key, user_id integer, due_at text, "
    "tip_id text, checkin integer, finished integer)",
)
_PLAN_TABLE_NAMES = tuple(sql.split()[6] for sql in _PLAN_TABLES)  # "create temp table if not exists <name> ..."


def _slot_row(now: datetime, watermark: str | None, weekday: int, hour: int, tz: str) -> tuple[Any, ...]:
    """One weekly slot: its latest occurrence, that day locally, and whether it passed since the watermark (then
    every active subscription on it is due)."""
    slot_text = iso(latest_slot(now, weekday, hour, tz))
    return (weekday, hour, tz, slot_text, _local_day(slot_text, tz), int(watermark is None or slot_text > watermark))


def _local_day(moment: str, tz: str) -> str:
    return parse_iso(moment).astimezone(zone(tz)).date().isoformat()


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


holder_alive = _holder_alive  # the services importer's lease uses the same test


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
