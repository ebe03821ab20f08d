"""Users and their children: the only personal data Sprout keeps, all removable with /delete."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlite_utils

from .ages import age_months
from .db import erase_checkpoint, utcnow_iso

CONSENT_VERSION = 1
# Every table with rows about a user, and the column that ties them to the user (directly or via a child).
PERSONAL_TABLES = {
    "users": "id", "children": "user_id", "subscriptions": "child_id", "deliveries": "user_id",
    "question_log": "user_id", "feedback": "user_id", "milestone_answers": "child_id", "conversations": "user_id",
}


@dataclass(frozen=True)
class User:
    id: int
    external_id: str
    chat_id: int | None
    language: str
    region: str
    consent_version: int | None
    active: bool

    @property
    def consented(self) -> bool:
        return self.consent_version == CONSENT_VERSION


@dataclass(frozen=True)
class Child:
    id: int
    user_id: int
    name: str | None
    birth_date: date
    birth_precision: str
    weeks_premature: int

    def age_months(self, today: date) -> float:
        return age_months(self.birth_date, today, self.weeks_premature)

    def label(self, index: int) -> str:
        return self.name or f"#{index}"


def _user(row: dict[str, Any]) -> User:
    return User(row["id"], row["external_id"], row["chat_id"], row["language"], row["region"],
                row["consent_version"], bool(row["active"]))


def _child(row: dict[str, Any]) -> Child:
    return Child(row["id"], row["user_id"], row["name"], date.fromisoformat(row["birth_date"]),
                 row["birth_precision"], row["weeks_premature"])


class UserStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def find(self, external_id: str) -> User | None:
        rows = list(self.db.query("select * from users where external_id = ?", [external_id]))
        return _user(rows[0]) if rows else None

    def get(self, user_id: int) -> User | None:
        rows = list(self.db.query("select * from users where id = ?", [user_id]))
        return _user(rows[0]) if rows else None

    def get_or_create(self, external_id: str, chat_id: int | None, language: str, region: str) -> tuple[User, bool]:
        user = self.find(external_id)
        if user is not None:
            if chat_id is not None and (user.chat_id != chat_id or not user.active):
                with self.db.conn:
                    self.db.execute("update users set chat_id = ?, active = 1 where id = ?", [chat_id, user.id])
                user = self.get(user.id)
            return user, False
        with self.db.conn:
            self.db.execute("insert or ignore into users (external_id, chat_id, language, region, created_at) "
                            "values (?, ?, ?, ?, ?)", [external_id, chat_id, language, region, utcnow_iso()])
        return self.find(external_id), True

    def update(self, user_id: int, **fields: Any) -> User:
        allowed = {"language", "region", "active", "chat_id"}
        assert set(fields) <= allowed, fields
        with self.db.conn:
            for key, value in fields.items():
                self.db.execute(f"update users set {key} = ? where id = ?", [value, user_id])
        return self.get(user_id)

    def set_consent(self, user_id: int, given: bool) -> User:
        with self.db.conn:
            self.db.execute("update users set consent_version = ?, consent_at = ? where id = ?",
                            [CONSENT_VERSION if given else None, utcnow_iso() if given else None, user_id])
        return self.get(user_id)

    def withdraw_consent(self, user_id: int) -> User:
        """Consent withdrawn: the children's details go (subscriptions and milestone answers cascade with them),
        with every ledger row about a child or the user's dated plan (so nothing of theirs is sent any more; general
        announcements stay); half-finished inputs (which may hold a name or a date) are dropped. Language and region stay."""
        with self.db.conn:
            self.db.execute("begin immediate")
            self.db.execute("update users set consent_version = null, consent_at = null where id = ?", [user_id])
            # Through the user's prefix of the ledger (see remove_child); rows in flight cannot be recalled.
            self.db.execute("delete from deliveries where user_id = ? and (child_id is not null or kind = 'reminder')", [user_id])
            self.db.execute("delete from children where user_id = ?", [user_id])
            self.db.execute("delete from conversations where user_id = ?", [user_id])
        erase_checkpoint(self.db)
        return self.get(user_id)

    def deactivate(self, user_id: int) -> None:
        with self.db.conn:
            self.db.execute("update users set active = 0 where id = ?", [user_id])

    # Children ---------------------------------------------------------------------------------------------

    def children(self, user_id: int) -> list[Child]:
        return [_child(r) for r in self.db.query("select * from children where user_id = ? order by id", [user_id])]

    def child(self, user_id: int, child_id: int) -> Child | None:
        rows = list(self.db.query("select * from children where id = ? and user_id = ?", [child_id, user_id]))
        return _child(rows[0]) if rows else None

    def add_child(self, user_id: int, name: str | None, birth: date, precision: str, weeks_premature: int) -> Child:
        with self.db.conn:
            cursor = self.db.execute(
                "insert into children (user_id, name, birth_date, birth_precision, weeks_premature, created_at) "
                "values (?, ?, ?, ?, ?, ?)", [user_id, name, birth.isoformat(), precision, weeks_premature, utcnow_iso()])
        return self.child(user_id, cursor.lastrowid)

    def update_child(self, user_id: int, child_id: int, name: str | None, birth: date, precision: str,
                     weeks_premature: int) -> Child | None:
        with self.db.conn:
            self.db.execute("update children set name = ?, birth_date = ?, birth_precision = ?, weeks_premature = ? "
                            "where id = ? and user_id = ?",
                            [name, birth.isoformat(), precision, weeks_premature, child_id, user_id])
        return self.child(user_id, child_id)

    def remove_child(self, user_id: int, child_id: int) -> bool:
        with self.db.conn:
            self.db.execute("begin immediate")
            cursor = self.db.execute("delete from children where id = ? and user_id = ?", [child_id, user_id])
            if cursor.rowcount:
                # The ledger has no foreign key on child_id (it would scan every row); its user prefix finds them.
                self.db.execute("delete from deliveries where user_id = ? and child_id = ?", [user_id, child_id])
        if cursor.rowcount:
            erase_checkpoint(self.db)
        return cursor.rowcount > 0

    # Export and erase --------------------------------------------------------------------------------------

    def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about the user, table by table (for /mydata)."""
        child_ids = [c.id for c in self.children(user_id)]
        data: dict[str, Any] = {}
        for table, column in PERSONAL_TABLES.items():
            if table not in self.db.table_names():
                continue
            keys = child_ids if column == "child_id" else [user_id]
            if not keys:
                data[table] = []
                continue
            marks = ",".join("?" * len(keys))
            data[table] = list(self.db.query(f"select * from {table} where {column} in ({marks})", keys))
        return json.loads(json.dumps(data, default=str))

    def delete(self, user_id: int) -> None:
        """Remove the user and every row about them or their children, in one transaction."""
        with self.db.conn:
            self.db.execute("begin immediate")
            # Foreign keys cascade from users to every personal table; audit rows keep only a pseudonymous id.
            self.db.execute("delete from users where id = ?", [user_id])
        erase_checkpoint(self.db)
