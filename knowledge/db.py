"""SQLite store: opening the database with Sprout's pragmas and running its numbered migrations."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
log = logging.getLogger(__name__)


def utcnow_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def private_folder(folder: Path) -> None:
    """Create `folder` (and missing parents) readable by the owner only (0700). A folder that already exists is
    left as it is: it may be shared, like /tmp."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, 0o700)  # mkdir's mode is reduced by the umask, and parents get the default mode


def make_private(path: Path) -> None:
    """Owner read and write only (0600) for a file of Sprout's that may hold personal data."""
    try:
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            os.chmod(path, 0o600)
    except FileNotFoundError:
        pass


class StorageError(Exception):
    """The database cannot be used as it is (empty, damaged, read-only, full); the message says what to do."""


def describe_storage_error(exc: BaseException, path: Path | str) -> str:
    """One line an operator can act on, for an error SQLite raised on the database at `path`."""
    text = str(exc)
    lowered = text.lower()
    if "disk is full" in lowered or "database or disk is full" in lowered:
        what = ("the disk is full (or the database reached its size limit); the command's changes were rolled back. "
                "Free some space and run it again")
    elif "readonly" in lowered or "read-only" in lowered:
        what = "the database is read-only; Sprout needs to write to it and to its folder (check the permissions)"
    elif "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        what = ("the database file is damaged or is not a SQLite database; nothing was written to it. Restore it from "
                "a backup (or move it away to start a new, empty database)")
    elif "unable to open" in lowered:
        what = "the database file cannot be opened (check the path, its folder and the permissions)"
    elif "locked" in lowered or "busy" in lowered:
        what = "the database stayed busy (another process held the write lock for 30 s); try again"
    elif "disk i/o error" in lowered:
        what = "the disk reported an I/O error; check the disk, then restore the database from a backup if needed"
    else:
        what = f"database error: {text}"
    return f"{path}: {what}"


def _check_existing_file(path: Path) -> None:
    """An existing database file must be a readable, writable, non-empty file: an empty or unreadable file is a
    lost database, and opening it would silently start a new one (every user gone)."""
    if not path.exists():
        return
    if not path.is_file():
        raise StorageError(f"{path}: is not a file; SPROUT_DB_PATH must name a SQLite database file")
    if not os.access(path, os.R_OK):
        raise StorageError(f"{path}: the database file cannot be read (check its permissions)")
    if path.stat().st_size == 0:
        raise StorageError(f"{path}: the database file is empty (0 bytes), so the data is not there; restore it "
                           "from a backup, or delete the empty file to start a new database on purpose")
    if not os.access(path, os.W_OK):
        raise StorageError(describe_storage_error(sqlite3.OperationalError("attempt to write a readonly database"),
                                                  path))


def open_database(path: Path | str, migrate_now: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the database with WAL, a busy timeout and foreign keys, then migrate it. The
    file, its WAL and its shared-memory file are 0600, in a 0700 folder when Sprout creates it.

    Raises StorageError, with a message saying what to do, for a database that exists but cannot be used: empty,
    unreadable, read-only, damaged or not SQLite. Nothing is written to such a file."""
    memory = str(path) == ":memory:"
    if not memory:
        _check_existing_file(Path(path))
        private_folder(Path(path).parent)
        make_private(Path(path))  # SQLite creates the WAL and -shm files with the database file's mode
    old_umask = os.umask(0o077)  # a new database file is created 0600 from the start
    try:
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        # Reading the schema reads the header: a damaged or foreign file fails here, before anything is written.
        conn.execute("select count(*) from sqlite_master").fetchone()
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as exc:
        raise StorageError(describe_storage_error(exc, path)) from None
    finally:
        os.umask(old_umask)
    if not memory:
        for suffix in ("", "-wal", "-shm"):
            make_private(Path(f"{path}{suffix}"))
    # Deleted rows are overwritten with zeros, so /delete leaves no readable bytes in the file (main database only:
    # the planner's temp tables hold nothing that outlives the connection).
    conn.execute("PRAGMA main.secure_delete = ON")
    # WAL with NORMAL: a commit survives a crash of the process; a power cut or OS crash can roll back the last
    # commits since the WAL was last synced (never corrupts). Commits that must survive a power cut (the ledger's
    # claim before a message goes out) use `durable()`, which syncs the WAL at their commit.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # Planning and imports touch large indexes; a bigger page cache (in KiB when negative) keeps them in memory.
    conn.execute("PRAGMA cache_size = -131072")
    conn.execute("PRAGMA temp_store = MEMORY")
    # Temp tables (the tips planner's scratch tables hold a row per due child) have a cache of their own.
    conn.execute("PRAGMA temp.cache_size = -131072")
    db = sqlite_utils.Database(conn)
    if migrate_now:
        migrate(db)
    return db


def erase_checkpoint(db: sqlite_utils.Database) -> bool:
    """After personal data is deleted: copy the WAL into the database and truncate it to zero bytes, so the old
    page images holding the deleted rows are gone from the WAL file too (secure_delete has zeroed them in the
    database). Waits for readers through the busy timeout; False when one still held an old snapshot."""
    try:
        busy, _, _ = db.execute("PRAGMA main.wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as exc:
        log.warning("WAL checkpoint after a deletion failed: %s", exc)
        return False
    if busy:
        log.warning("WAL checkpoint after a deletion was blocked by a reader; the next one truncates it")
    return not busy


@contextmanager
def durable(db: sqlite_utils.Database) -> Iterator[None]:
    """A write transaction whose commit survives a power cut (synchronous = FULL: the WAL is synced at its
    commit, which also makes every earlier commit durable). For the few commits that exactly-once delivery rests
    on; everything else keeps NORMAL, which costs no sync per commit."""
    db.execute("PRAGMA synchronous = FULL")
    try:
        with db.conn:
            db.execute("begin immediate")
            yield
    finally:
        db.execute("PRAGMA synchronous = NORMAL")


def applied_migrations(db: sqlite_utils.Database) -> list[int]:
    if "migrations" not in db.table_names():
        return []
    return [row["version"] for row in db.query("select version from migrations order by version")]


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Apply every migration not yet applied, each in its own transaction; returns the versions applied now."""
    db.execute("create table if not exists migrations (version integer primary key, name text, applied_at text)")
    done = set(applied_migrations(db))
    applied = []
    for version, step in enumerate(MIGRATIONS, start=1):
        if version in done:
            continue
        # A migration that rebuilds a table others refer to runs with foreign keys off (SQLite's documented way:
        # dropping the old table must not cascade), and checks them before it commits.
        rebuilds = getattr(step, "rebuilds_referenced_table", None)
        keys_on = db.execute("PRAGMA foreign_keys").fetchone()[0]
        if rebuilds:
            db.execute("PRAGMA foreign_keys = off")  # only takes effect outside a transaction
        try:
            with db.conn:  # one transaction per migration
                db.execute("begin immediate")
                # Another process may have applied it while we waited for the lock.
                if db.execute("select 1 from migrations where version = ?", [version]).fetchone():
                    continue
                before = _violations(db, rebuilds) if rebuilds else set()
                step(db)
                # Only new broken references to the rebuilt table count: an old orphan must not stop a start-up.
                if rebuilds and _violations(db, rebuilds) - before:
                    raise sqlite3.IntegrityError(f"migration {step.__name__} would break foreign keys")
                db.execute("insert into migrations (version, name, applied_at) values (?, ?, ?)",
                           [version, step.__name__, utcnow_iso()])
        finally:
            if rebuilds and keys_on:
                db.execute("PRAGMA foreign_keys = on")
        applied.append(version)
    return applied


def _violations(db: sqlite_utils.Database, parent: str) -> set[tuple]:
    return {tuple(row[:2]) for row in db.execute("PRAGMA foreign_key_check") if row[2] == parent}


def _m001_core(db: sqlite_utils.Database) -> None:
    for sql in _CORE_SCHEMA:
        db.execute(sql)


_CORE_SCHEMA = [
    """create table users (
        id integer primary key,
        external_id text not null unique,      -- 'tg:<telegram user id>' or 'local:<name>'
        chat_id integer,
        language text not null default 'en',
        region text not null default 'CN',
        consent_version integer,
        consent_at text,
        active integer not null default 1,
        created_at text not null
    )""",
    """create table children (
        id integer primary key,
        user_id integer not null references users(id) on delete cascade,
        name text,
        birth_date text not null,              -- ISO date; when only the month is known, the 15th
        birth_precision text not null default 'day' check (birth_precision in ('day', 'month')),
        weeks_premature integer not null default 0 check (weeks_premature between 0 and 20),
        created_at text not null
    )""",
    "create index children_user on children(user_id)",
    """create table subscriptions (
        id integer primary key,
        child_id integer not null unique references children(id) on delete cascade,
        weekday integer not null check (weekday between 0 and 6),
        hour integer not null check (hour between 0 and 23),
        timezone text not null,
        status text not null check (status in ('active', 'paused', 'stopped', 'ended')),
        next_plan_at text not null,            -- UTC; the planner looks only at subscriptions due by now
        created_at text not null,
        updated_at text not null
    )""",
    "create index subscriptions_due on subscriptions(status, next_plan_at)",
    """create table deliveries (
        id integer primary key,
        dedupe_key text not null unique,       -- e.g. 'tip:<child id>:<tip id>': one row per thing per recipient
        user_id integer not null references users(id) on delete cascade,
        child_id integer references children(id) on delete cascade,
        kind text not null check (kind in ('tip', 'milestone', 'announcement', 'reminder', 'goodbye')),
        item_id text not null,
        due_at text not null,
        state text not null check (state in ('pending', 'sending', 'sent', 'unknown', 'failed', 'skipped')),
        attempts integer not null default 0,
        claimed_by text,
        claimed_at text,
        finished_at text,
        error text
    )""",
    "create index deliveries_due on deliveries(state, due_at)",
    "create index deliveries_user on deliveries(user_id)",
    """create table leases (
        name text primary key,
        holder text not null,
        expires_at text not null
    )""",
    """create table question_log (
        id integer primary key,
        user_id integer references users(id) on delete cascade,
        asked_at text not null,
        lang text not null,
        question text not null,
        kind text not null,
        entry_id text,
        score real,
        age_months real
    )""",
    "create index question_log_kind on question_log(kind, asked_at)",
    "create index question_log_user on question_log(user_id)",
    """create table feedback (
        id integer primary key,
        user_id integer references users(id) on delete cascade,
        question_id integer references question_log(id) on delete cascade,
        entry_id text not null,
        helpful integer not null check (helpful in (0, 1)),
        created_at text not null,
        unique (user_id, question_id)
    )""",
    """create table entries (
        id text primary key,
        topic text not null,
        age_min integer not null,
        age_max integer not null,
        status text not null check (status in ('draft', 'in_review', 'published', 'retired')),
        author text not null,
        reviewer text,
        reviewed text,
        review_by text,
        sources text not null,                 -- JSON list
        content_hash text not null,
        path text,
        updated_at text not null
    )""",
    """create table entry_texts (
        entry_id text not null references entries(id) on delete cascade,
        lang text not null,
        title text not null,
        body text not null,
        questions text not null,               -- JSON list
        primary key (entry_id, lang)
    )""",
    """create table entry_reviews (
        id integer primary key,
        entry_id text not null,
        from_status text,
        to_status text not null,
        actor text not null,
        at text not null,
        note text
    )""",
    """create table audit_log (
        id integer primary key,
        at text not null,
        actor text not null,
        action text not null,
        target text,
        before text,
        after text
    )""",
    """create table milestone_answers (
        child_id integer not null references children(id) on delete cascade,
        age_months integer not null,
        item_id text not null,
        answer text not null check (answer in ('yes', 'not_yet', 'unsure')),
        answered_at text not null,
        primary key (child_id, item_id)
    )""",
    """create table conversations (
        user_id integer not null references users(id) on delete cascade,
        flow text not null,
        state text not null,                   -- JSON
        updated_at text not null,
        primary key (user_id, flow)
    )""",
]


def _m002_retrieval(db: sqlite_utils.Database) -> None:
    db.execute("alter table entries add column file_hash text")
    db.execute("""create table embedding_cache (
        model_id text not null,
        text_hash text not null,
        vector blob not null,
        primary key (model_id, text_hash)
    )""")
    # Keyword index: text pre-segmented (jieba for Chinese) so FTS5 tokenises on spaces in both languages.
    db.execute("""create virtual table search_fts using fts5(
        entry_id unindexed, lang unindexed, kind unindexed, text, tokenize = 'porter unicode61 remove_diacritics 2'
    )""")


def _m003_services(db: sqlite_utils.Database) -> None:
    from .services import create_schema  # the service directory owns its schema

    create_schema(db)


def _m004_curation(db: sqlite_utils.Database) -> None:
    from .curation import create_schema  # the curation workflow owns its tables

    create_schema(db)


def _m005_lean_planning(db: sqlite_utils.Database) -> None:
    """Planning a million children in seconds: subscriptions lose their per-row `next_plan_at` (rewriting a
    million rows and their index every week was half the planner's time); the planner keeps one watermark
    instead, in `planner_state`. (The ledger itself is rebuilt by migration 6.)"""
    db.execute("drop index subscriptions_due")
    db.execute("alter table subscriptions drop column next_plan_at")
    db.execute("create index subscriptions_slot on subscriptions(status, weekday, hour, timezone)")
    db.execute("create index subscriptions_changed on subscriptions(updated_at)")
    db.execute("create index children_birth on children(birth_date, weeks_premature)")
    db.execute("create table planner_state (name text primary key, planned_until text not null)")


def _m006_ledger_by_recipient(db: sqlite_utils.Database) -> None:
    """A ledger that takes a million planned rows in a few seconds, and finds a user's or child's rows by index.

    - Each index costs about as much as the table itself when a planning pass inserts a million rows. The unique
      dedupe key and the index on `user_id` become one unique index on (user_id, dedupe_key): every key already
      names its recipient, so "unique per user" is the same rule, and the user's rows are its prefix.
    - `child_id` no longer has a foreign key: SQLite would scan the whole ledger (no index leads with child_id)
      every time a child is removed. `Users.remove_child` deletes the child's rows through the user's prefix.
    - CHECK constraints use `=`/`or`: SQLite evaluates `x in (a, b, c, ...)` in a CHECK by building a small
      temporary table for every inserted row, which more than doubled insert time."""
    kinds = " or ".join(f"kind = '{kind}'" for kind in DELIVERY_KINDS)
    states = " or ".join(f"state = '{state}'" for state in DELIVERY_STATES)
    db.execute(f"""create table deliveries_new (
        id integer primary key,
        dedupe_key text not null,              -- e.g. 'tip:<child id>:<tip id>': one row per thing per recipient
        user_id integer not null references users(id) on delete cascade,
        child_id integer,                      -- removed with the child by Users.remove_child
        kind text not null check ({kinds}),
        item_id text not null,
        due_at text not null,
        state text not null check ({states}),
        attempts integer not null default 0,
        claimed_by text,
        claimed_at text,
        finished_at text,
        error text
    )""")
    columns = "id, dedupe_key, user_id, child_id, kind, item_id, due_at, state, attempts, claimed_by, claimed_at, " \
              "finished_at, error"
    db.execute(f"insert into deliveries_new ({columns}) select {columns} from deliveries")
    db.execute("drop table deliveries")
    db.execute("alter table deliveries_new rename to deliveries")
    db.execute("create unique index deliveries_recipient on deliveries(user_id, dedupe_key)")
    db.execute("create index deliveries_due on deliveries(state, due_at)")


DELIVERY_KINDS = ("tip", "milestone", "announcement", "reminder", "goodbye")
DELIVERY_STATES = ("pending", "sending", "sent", "unknown", "failed", "skipped", "expired")

def _m007_entry_red_flags(db: sqlite_utils.Database) -> None:
    """The structured red flags of an entry (its safety box), as JSON; NULL for entries without them."""
    db.execute("alter table entries add column red_flags text")
    # Every entry from a file is read again at the next sync, so the red flags its file carries come in.
    db.execute("update entries set file_hash = 'before-red-flags:' || file_hash where file_hash is not null")


def _m_entry_review_log(db: sqlite_utils.Database) -> None:
    """An entry's honest review record: its state and the log of who checked it against which sources, as JSON."""
    db.execute("alter table entries add column review text")
    # Every entry from a file is read again at the next sync, so the review record its file carries comes in.
    db.execute("update entries set file_hash = 'before-review-log:' || file_hash where file_hash is not null")


def _m_update_inbox(db: sqlite_utils.Database) -> None:
    """The durable inbox of Telegram updates (committed before Telegram is told they arrived)."""
    from .inbox import create_schema  # the inbox owns its table

    create_schema(db)


def _m_tips_attempts(db: sqlite_utils.Database) -> None:
    """Per-row send attempts, so that a crash or a network error loses nothing.

    - `started_at`: set in its own transaction just before a row's request. After a crash a claimed row that
      never started goes back to 'pending'; one that started may have been delivered and becomes 'unknown'.
    - `retry_until`: set at a row's first retryable error (refused, dropped, 5xx, 429); after it the row is
      'expired' (a new state) with its last reason.
    The table is rebuilt only when its CHECK lacks the new state, from its own SQL, so columns other migrations
    added survive."""
    table_sql = db.execute("select sql from sqlite_master where type = 'table' and name = 'deliveries'").fetchone()[0]
    if "'expired'" not in table_sql:
        states = " or ".join(f"state = '{state}'" for state in DELIVERY_STATES)
        new_sql, found = re.subn(r"check \(\s*state (?:in \([^)]*\)|= '[a-z]+'(?: or state = '[a-z]+')*)\s*\)",
                                 f"check ({states})", table_sql)
        assert found == 1, "deliveries: the state CHECK was not found"
        indexes = [row[0] for row in db.execute("select sql from sqlite_master where type = 'index' and "
                                                "tbl_name = 'deliveries' and sql is not null")]
        # After a rename SQLite stores the name quoted: CREATE TABLE "deliveries" (...)
        db.execute(re.sub(r'^create table\s+("deliveries"|deliveries)', "create table deliveries_new", new_sql,
                          count=1, flags=re.IGNORECASE))
        db.execute("insert into deliveries_new select * from deliveries")
        db.execute("drop table deliveries")
        db.execute("alter table deliveries_new rename to deliveries")
        for sql in indexes:
            db.execute(sql)
    db.execute("alter table deliveries add column started_at text")
    db.execute("alter table deliveries add column retry_until text")
    # Rows a sender of the old code left mid-send may have gone out: count them as started (then 'unknown').
    db.execute("update deliveries set started_at = coalesce(claimed_at, due_at) where state = 'sending'")


def _m_users_autoincrement(db: sqlite_utils.Database) -> None:
    """User ids are never reused (AUTOINCREMENT), so an old audit or log row naming a deleted user's id can never
    point at a new parent. SQLite cannot add AUTOINCREMENT in place: the table is rebuilt from its current
    definition (columns added by other migrations included), rows copied with their ids, its indexes and
    triggers recreated. The runner turns foreign keys off around it and checks them before committing."""
    import re

    table_sql = db.execute("select sql from sqlite_master where type = 'table' and name = 'users'").fetchone()[0]
    new_sql, renamed = re.subn(r"^\s*create\s+table\s+\"?users\"?", "create table users_rebuilt", table_sql,
                               count=1, flags=re.I)
    new_sql, keyed = re.subn(r"\bid\s+integer\s+primary\s+key\b(?!\s+autoincrement)",
                             "id integer primary key autoincrement", new_sql, count=1, flags=re.I)
    if not (renamed and keyed):
        raise RuntimeError("users table definition not recognised: cannot add AUTOINCREMENT")
    extras = [row[0] for row in db.execute("select sql from sqlite_master where tbl_name = 'users' and "
                                           "type in ('index', 'trigger') and sql is not null")]
    columns = ", ".join(f'"{row[1]}"' for row in db.execute("pragma table_info(users)"))
    db.execute(new_sql)
    # Copying explicit ids sets the table's sqlite_sequence entry to the largest one.
    db.execute(f"insert into users_rebuilt ({columns}) select {columns} from users")
    db.execute("drop table users")
    db.execute("alter table users_rebuilt rename to users")
    for sql in extras:
        db.execute(sql)


_m_users_autoincrement.rebuilds_referenced_table = "users"  # type: ignore[attr-defined]


def _m_web_console(db: sqlite_utils.Database) -> None:
    """The web console: one-time sign-in links (stored hashed), staff passwords (argon2), sign-in attempts for
    rate limiting, and reviewers' verdicts on proposals (approve, or request changes with a comment)."""
    db.execute("""create table web_links (
        id integer primary key,
        token_hash text not null unique,       -- sha256 of the token; the token itself is only in the link
        telegram_id integer not null,
        created_at text not null,
        expires_at text not null,
        used_at text
    )""")
    db.execute("""create table staff_passwords (
        telegram_id integer primary key,
        hash text not null,                    -- argon2id
        set_at text not null
    )""")
    db.execute("""create table web_signin_attempts (
        id integer primary key,
        key text not null,                     -- 'addr:<client address>' or 'id:<telegram id>'
        at text not null,
        ok integer not null check (ok in (0, 1))
    )""")
    db.execute("create index web_signin_attempts_key on web_signin_attempts(key, at)")
    db.execute("""create table proposal_reviews (
        id integer primary key,
        proposal_id integer not null references proposals(id),
        actor text not null,
        verdict text not null check (verdict in ('approve', 'changes')),
        comment text,
        at text not null
    )""")
    db.execute("create index proposal_reviews_proposal on proposal_reviews(proposal_id)")


MIGRATIONS: list[Migration] = [_m001_core, _m002_retrieval, _m003_services, _m004_curation, _m005_lean_planning,
                                 _m006_ledger_by_recipient, _m007_entry_red_flags, _m_update_inbox,
                                 _m_tips_attempts, _m_users_autoincrement, _m_entry_review_log, _m_web_console]
