"""The durable inbox of Telegram updates: each update is committed here before Telegram is told it arrived, then
handled from here once, in order per chat, surviving restarts.

States: pending -> handling -> done, or back to pending (a retryable error, with a backoff) and in the end failed.
The update id is the primary key, so a second delivery of the same update is ignored. An update's JSON (which holds
the message text) is cleared as soon as it is done; done and failed rows are deleted after `KEEP_DAYS`, long after
Telegram stops redelivering."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Collection, Iterable

import sqlite_utils

from .clock import Clock, utc_now

STATES = ("pending", "handling", "done", "failed")
MAX_ATTEMPTS = 3
KEEP_DAYS = 7
NO_CHAT = 0  # updates without a chat (polls, for instance) share one queue


def create_schema(db: sqlite_utils.Database) -> None:
    states = " or ".join(f"state = '{state}'" for state in STATES)
    db.execute(f"""create table inbox (
        update_id integer primary key,         -- Telegram's: a duplicate delivery is ignored
        chat_id integer not null,              -- updates of one chat are handled strictly in update_id order
        payload text,                          -- the update's JSON; cleared once done
        received_at text not null,
        state text not null check ({states}),
        attempts integer not null default 0,   -- counted when handling starts, so a crash counts too
        not_before text,                       -- a retried update waits until then
        finished_at text,
        last_error text
    )""")
    # The open rows only: what the worker looks at, in each chat's order.
    db.execute("create index inbox_open on inbox(chat_id, update_id) where state = 'pending' or state = 'handling'")
    db.execute("create index inbox_finished on inbox(finished_at) where finished_at is not null")


def chat_of(update: dict[str, Any]) -> int:
    """The chat an update belongs to (its message's chat, else the user it comes from), for per-chat order."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict) and "id" in holder["chat"]:
                return int(holder["chat"]["id"])
        for field in ("from", "user", "voter_chat"):
            if isinstance(value.get(field), dict) and "id" in value[field]:
                return int(value[field]["id"])
    return NO_CHAT


@dataclass(frozen=True)
class InboxItem:
    update_id: int
    chat_id: int
    payload: dict[str, Any]
    attempts: int


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Inbox:
    """The inbox table. Every method is one short transaction; the webhook and the poller call `add`, the worker
    `claim`, `done` and `retry_or_fail`."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock = utc_now, max_attempts: int = MAX_ATTEMPTS):
        self.db, self.clock, self.max_attempts = db, clock, max_attempts

    def _synchronous(self, level: int) -> int:
        before = self.db.execute("PRAGMA synchronous").fetchone()[0]
        self.db.execute(f"PRAGMA synchronous = {int(level)}")
        return before

    def add(self, updates: Iterable[dict[str, Any]]) -> int:
        """Commit a batch of updates; returns how many were new (a repeated update id is ignored)."""
        now = _iso(self.clock())
        rows = [(int(u["update_id"]), chat_of(u), json.dumps(u, ensure_ascii=False, separators=(",", ":")), now)
                for u in updates]
        # synchronous=FULL for this commit only: once Telegram is told an update arrived, it is on disk even if the
        # power fails. (The other commits keep the connection's NORMAL: losing a `done` costs a repeated reply, not
        # a lost update, and an fsync there would hold the event loop while replies wait to be marked done.)
        level = self._synchronous(2)
        try:
            with self.db.conn:
                self.db.execute("begin immediate")
                before = self.db.conn.total_changes
                self.db.conn.executemany("insert or ignore into inbox (update_id, chat_id, payload, received_at, "
                                         "state) values (?, ?, ?, ?, 'pending')", rows)
                return self.db.conn.total_changes - before
        finally:
            self._synchronous(level)

    def recover(self) -> int:
        """After a crash: updates left `handling` are handled again (or failed, when out of attempts)."""
        now = _iso(self.clock())
        with self.db.conn:
            self.db.execute("begin immediate")
            failed = self.db.execute(
                "update inbox set state = 'failed', finished_at = ?, last_error = coalesce(last_error || '; ', '') "
                "|| 'interrupted by a restart' where state = 'handling' and attempts >= ?",
                [now, self.max_attempts]).rowcount
            again = self.db.execute("update inbox set state = 'pending' where state = 'handling'").rowcount
        return again + failed

    def claim(self, busy: Collection[int] = (), limit: int = 1) -> list[InboxItem]:
        """The next update of up to `limit` chats not in `busy`, each the oldest open update of its chat, marked
        `handling` (a chat whose oldest update waits for a retry waits with it)."""
        if limit <= 0:
            return []
        now = _iso(self.clock())
        with self.db.conn:
            self.db.execute("begin immediate")
            rows = self.db.execute(
                """select i.update_id, i.chat_id, i.payload, i.attempts from inbox i
                   where i.state = 'pending' and (i.not_before is null or i.not_before <= ?)
                     and i.chat_id not in (select value from json_each(?))
                     and i.update_id = (select min(j.update_id) from inbox j where j.chat_id = i.chat_id
                                        and (j.state = 'pending' or j.state = 'handling'))
                   order by i.update_id limit ?""", [now, json.dumps(list(busy)), limit]).fetchall()
            self.db.conn.executemany("update inbox set state = 'handling', attempts = attempts + 1 "
                                     "where update_id = ?", [(row[0],) for row in rows])
        return [InboxItem(row[0], row[1], json.loads(row[2]), row[3] + 1) for row in rows]

    def done(self, update_id: int) -> None:
        """Handled: the update's JSON (with the message text) is dropped, its id kept to ignore redeliveries."""
        with self.db.conn:
            self.db.execute("update inbox set state = 'done', payload = null, not_before = null, finished_at = ? "
                            "where update_id = ?", [_iso(self.clock()), update_id])

    def retry_or_fail(self, update_id: int, error: str, retryable: bool, backoff: timedelta) -> str:
        """Record a failed attempt: back to pending after `backoff` while attempts remain, else failed."""
        now = self.clock()
        with self.db.conn:
            self.db.execute("begin immediate")
            row = self.db.execute("select attempts from inbox where update_id = ?", [update_id]).fetchone()
            if row is None:
                return "gone"
            if retryable and row[0] < self.max_attempts:
                self.db.execute("update inbox set state = 'pending', not_before = ?, last_error = ? "
                                "where update_id = ?", [_iso(now + backoff), error[:500], update_id])
                return "pending"
            self.db.execute("update inbox set state = 'failed', finished_at = ?, last_error = ? where update_id = ?",
                            [_iso(now), error[:500], update_id])
            return "failed"

    def next_retry_at(self) -> datetime | None:
        row = self.db.execute("select min(not_before) from inbox where state = 'pending' and not_before is not null"
                              ).fetchone()
        return datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc) \
            if row and row[0] else None

    def prune(self, keep: timedelta = timedelta(days=KEEP_DAYS)) -> int:
        """Delete done and failed rows finished more than `keep` ago (Telegram stops redelivering after 24 h)."""
        with self.db.conn:
            return self.db.execute("delete from inbox where finished_at is not null and finished_at < ?",
                                   [_iso(self.clock() - keep)]).rowcount

    def counts(self) -> dict[str, int]:
        found = dict(self.db.execute("select state, count(*) from inbox group by state").fetchall())
        return {state: found.get(state, 0) for state in STATES}
