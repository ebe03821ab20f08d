"""The live entry store in SQLite: content files are synced in, curators' changes are recorded with history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

import sqlite_utils

from .content import Entry, EntryText, Source, red_flags_from_dicts, review_records_from_dicts
from .db import utcnow_iso


@dataclass(frozen=True)
class SyncReport:
    added: list[str]
    updated: list[str]
    unchanged: int
    retired: list[str] = field(default_factory=list)  # their file was deleted


def _entry_from_rows(row: dict[str, Any], texts: Iterable[dict[str, Any]]) -> Entry:
    return Entry(
        id=row["id"], topic=row["topic"], age_min=row["age_min"], age_max=row["age_max"], status=row["status"],
        author=row["author"], reviewer=row["reviewer"],
        reviewed=date.fromisoformat(row["reviewed"]) if row["reviewed"] else None,
        review_by=date.fromisoformat(row["review_by"]) if row["review_by"] else None,
        sources=tuple(Source(**s) for s in json.loads(row["sources"])),
        texts={t["lang"]: EntryText(t["title"], t["body"], tuple(json.loads(t["questions"]))) for t in texts},
        path=row["path"] or "",
        red_flags=red_flags_from_dicts(json.loads(row["red_flags"]) if row.get("red_flags") else None),
        **_review_from_row(row.get("review")),
    )


def _review_from_row(raw: str | None) -> dict[str, Any]:
    review = json.loads(raw) if raw else {}
    return {"review_state": review.get("state", "drafted"), "review_log": review_records_from_dicts(review.get("log"))}


class EntryStore:
    """Reads and writes guidance entries in the database; every write is one transaction."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def all(self, status: str | None = None) -> list[Entry]:
        where, params = ("where status = ?", [status]) if status else ("", [])
        rows = list(self.db.query(f"select * from entries {where} order by id", params))
        texts: dict[str, list[dict[str, Any]]] = {}
        for t in self.db.query("select * from entry_texts"):
            texts.setdefault(t["entry_id"], []).append(t)
        return [_entry_from_rows(r, texts.get(r["id"], [])) for r in rows]

    def published(self) -> list[Entry]:
        return self.all("published")

    def get(self, entry_id: str) -> Entry | None:
        rows = list(self.db.query("select * from entries where id = ?", [entry_id]))
        if not rows:
            return None
        texts = self.db.query("select * from entry_texts where entry_id = ?", [entry_id])
        return _entry_from_rows(rows[0], texts)

    def _write(self, entry: Entry, file_hash: str | None) -> None:
        self.db.execute(
            """insert into entries (id, topic, age_min, age_max, status, author, reviewer, reviewed, review_by,
                   sources, content_hash, path, updated_at, file_hash, red_flags, review)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               on conflict(id) do update set topic=excluded.topic, age_min=excluded.age_min,
                   age_max=excluded.age_max, status=excluded.status, author=excluded.author,
                   reviewer=excluded.reviewer, reviewed=excluded.reviewed, review_by=excluded.review_by,
                   sources=excluded.sources, content_hash=excluded.content_hash, path=excluded.path,
                   updated_at=excluded.updated_at, file_hash=coalesce(excluded.file_hash, entries.file_hash),
                   red_flags=excluded.red_flags, review=excluded.review""",
            [entry.id, entry.topic, entry.age_min, entry.age_max, entry.status, entry.author, entry.reviewer,
             entry.reviewed.isoformat() if entry.reviewed else None,
             entry.review_by.isoformat() if entry.review_by else None,
             json.dumps([s.as_dict() for s in entry.sources], ensure_ascii=False), entry.content_hash,
             entry.path or None, utcnow_iso(), file_hash,
             json.dumps([f.as_dict() for f in entry.red_flags], ensure_ascii=False) if entry.red_flags else None,
             json.dumps(entry.review_dict(), ensure_ascii=False)])
        self.db.execute("delete from entry_texts where entry_id = ?", [entry.id])
        for lang, text in entry.texts.items():
            self.db.execute("insert into entry_texts (entry_id, lang, title, body, questions) values (?, ?, ?, ?, ?)",
                            [entry.id, lang, text.title, text.body, json.dumps(list(text.questions), ensure_ascii=False)])

    def sync_from_files(self, entries: Iterable[Entry]) -> SyncReport:
        """Bring file entries in; an entry whose file did not change keeps curators' database edits. An entry that
        came from a file which is gone is retired (kept for the audit trail, never answered from again); entries
        created in the chat have no file and are left alone."""
        added, updated, unchanged, retired = [], [], 0, []
        known = {r["id"]: (r["file_hash"], r["status"]) for r in
                 self.db.query("select id, file_hash, status from entries")}
        # Entries this sync retired because their file was gone: when the file comes back, even byte for byte, the
        # entry comes back with it (a curator's /retire is another actor and stays).
        gone = {r["entry_id"] for r in self.db.query(
            "select entry_id from entry_reviews where id in (select max(id) from entry_reviews group by entry_id) "
            "and actor = 'sync' and to_status = 'retired'")}
        seen: set[str] = set()
        with self.db.conn:
            self.db.execute("begin immediate")
            for entry in entries:
                seen.add(entry.id)
                file_hash = entry.content_hash
                if entry.id not in known:
                    added.append(entry.id)
                elif known[entry.id][0] == file_hash and not (entry.id in gone and known[entry.id][1] == "retired"):
                    unchanged += 1
                    continue
                else:
                    updated.append(entry.id)
                self._write(entry, file_hash)
                self._review(entry.id, None, entry.status, entry.reviewer or entry.author, f"synced from {entry.path}")
            for entry_id, (file_hash, status) in sorted(known.items()):
                if entry_id in seen or file_hash is None or status == "retired":
                    continue
                self.db.execute("update entries set status = 'retired', updated_at = ? where id = ?",
                                [utcnow_iso(), entry_id])
                self._review(entry_id, status, "retired", "sync", "content file removed")
                retired.append(entry_id)
        return SyncReport(added, updated, unchanged, retired)

    def _review(self, entry_id: str, from_status: str | None, to_status: str, actor: str, note: str | None) -> None:
        self.db.execute("insert into entry_reviews (entry_id, from_status, to_status, actor, at, note) "
                        "values (?, ?, ?, ?, ?, ?)", [entry_id, from_status, to_status, actor, utcnow_iso(), note])

    def save(self, entry: Entry, actor: str, action: str, before: Entry | None = None, note: str | None = None) -> None:
        """Write an entry, its review history and the audit log in one transaction."""
        with self.db.conn:
            self.db.execute("begin immediate")
            self.save_rows(entry, actor, action, before, note)

    def save_rows(self, entry: Entry, actor: str, action: str, before: Entry | None = None, note: str | None = None,
                  file_hash: str | None = None) -> None:
        """`save` inside the caller's transaction; `file_hash` when the caller also writes the entry's file."""
        self._write(entry, file_hash)
        if before is None or before.status != entry.status:
            self._review(entry.id, before.status if before else None, entry.status, actor, note)
        self.db.execute("insert into audit_log (at, actor, action, target, before, after) values (?, ?, ?, ?, ?, ?)",
                        [utcnow_iso(), actor, action, entry.id,
                         json.dumps(before.as_dict(), ensure_ascii=False) if before else None,
                         json.dumps(entry.as_dict(), ensure_ascii=False)])
