import os
import sqlite3

from knowledge.db import MIGRATIONS, applied_migrations, migrate, open_database


def test_fresh_database_gets_every_migration(tmp_path):
    db = open_database(tmp_path / "s.db")
    assert applied_migrations(db) == list(range(1, len(MIGRATIONS) + 1))
    for table in ("users", "children", "subscriptions", "deliveries", "question_log", "feedback", "entries",
                  "entry_reviews", "audit_log", "milestone_answers"):
        assert table in db.table_names()


def test_migrating_twice_is_a_no_op(tmp_path):
    db = open_database(tmp_path / "s.db")
    schema = list(db.query("select sql from sqlite_master order by name"))
    assert migrate(db) == []
    assert list(db.query("select sql from sqlite_master order by name")) == schema


def test_pragmas_are_set(tmp_path):
    db = open_database(tmp_path / "s.db")
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert db.execute("pragma foreign_keys").fetchone()[0] == 1
    assert db.execute("pragma busy_timeout").fetchone()[0] >= 5000


def test_deleting_a_user_cascades_to_children(tmp_path):
    db = open_database(tmp_path / "s.db")
    db.execute("insert into users (id, external_id, created_at) values (1, 'local:a', 'now')")
    db.execute("insert into children (user_id, birth_date, created_at) values (1, '2026-01-01', 'now')")
    db.execute("delete from users where id = 1")
    assert db.execute("select count(*) from children").fetchone()[0] == 0


def test_a_second_process_sees_a_migrated_database(tmp_path):
    open_database(tmp_path / "s.db")
    other = sqlite3.connect(tmp_path / "s.db")
    versions = [row[0] for row in other.execute("select version from migrations")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


# Storage faults: each a clear one-line message, and nothing overwritten ------------------------------------------

import hashlib
import subprocess

import pytest
from click.testing import CliRunner

from knowledge.db import StorageError


def _cli(env_dir, *args):
    from bot.cli import cli

    return CliRunner().invoke(cli, list(args), env={"SPROUT_DATA_DIR": str(env_dir)})


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_zero_byte_database_is_an_error_not_a_new_empty_database(tmp_path):
    (tmp_path / "sprout.db").write_bytes(b"")
    with pytest.raises(StorageError, match="empty \\(0 bytes\\)"):
        open_database(tmp_path / "sprout.db")
    result = _cli(tmp_path, "tips", "stats", "--json")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "empty (0 bytes)" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert (tmp_path / "sprout.db").stat().st_size == 0  # still the empty file, not a new database
    assert not (tmp_path / "sprout.db-wal").exists()


def test_a_corrupt_database_is_a_clear_error_and_is_left_as_it_was(tmp_path):
    path = tmp_path / "sprout.db"
    path.write_bytes(b"this is not SQLite at all \x00\xff" * 400)
    before = _digest(path)
    with pytest.raises(StorageError, match="damaged or is not a SQLite database"):
        open_database(path)
    result = _cli(tmp_path, "db", "migrate")
    assert result.exit_code == 1 and "damaged or is not a SQLite database" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert _digest(path) == before


def test_a_database_path_that_is_a_folder_is_a_clear_error(tmp_path):
    (tmp_path / "sprout.db").mkdir()
    result = _cli(tmp_path, "db", "migrate")
    assert result.exit_code == 1 and "is not a file" in result.output and "Traceback" not in result.output


def test_a_read_only_database_is_a_clear_error_and_is_left_as_it_was(tmp_path):
    path = tmp_path / "sprout.db"
    open_database(path).conn.close()
    before = _digest(path)
    path.chmod(0o444)
    # root ignores permission bits; the immutable attribute stops root too (where the file system allows it)
    immutable = os.geteuid() == 0 and subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
    if os.geteuid() == 0 and not immutable:
        pytest.skip("running as root without chattr: the file cannot be made read-only here")
    try:
        result = _cli(tmp_path, "tips", "stats", "--json")
        assert result.exit_code == 1 and "the database is read-only" in result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
        assert _digest(path) == before
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


def test_a_write_refused_by_a_read_only_connection_is_one_line(tmp_path, monkeypatch):
    """The database turns read-only while Sprout runs (a remount): the write fails with SQLite's own error, which
    the CLI reports in one line, and the file keeps what it had."""
    import knowledge.db as dbmodule

    real_open = dbmodule.open_database

    def read_only_after_open(path, migrate_now=True):
        db = real_open(path, migrate_now)
        db.execute("pragma query_only = 1")
        return db

    monkeypatch.setattr("bot.cli.open_database", read_only_after_open)
    result = _cli(tmp_path, "db", "migrate")
    assert result.exit_code == 1
    assert "sprout.db: the database is read-only" in result.output and "Traceback" not in result.output


def test_a_full_disk_during_an_import_is_one_line_and_leaves_the_directory_as_it_was(tmp_path, monkeypatch):
    """'database or disk is full', made real with max_page_count (a tiny file system needs root to mount)."""
    from knowledge import service_import

    path = tmp_path / "sprout.db"
    real_open = open_database

    csv = tmp_path / "services.csv"
    rows = ["id,name_en,type,lat,lon,address_en"] + [
        f"s{i},Nursery {i},private,31.{i:05d},121.4,{i} A rather long road name to take up some room" for i in range(4000)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    first = real_open(path)
    service_import.import_services(first, _small_csv(tmp_path))
    before = first.execute("select count(*) from services").fetchone()[0]
    pages = first.execute("pragma page_count").fetchone()[0]
    first.conn.close()

    def full_disk(db_path, migrate_now=True):
        db = real_open(db_path, migrate_now)
        db.execute(f"pragma max_page_count = {pages + 5}")
        return db

    monkeypatch.setattr("bot.cli_services.open_database", full_disk)
    result = _cli(tmp_path, "services", "import", str(csv))
    assert result.exit_code == 1
    assert "the disk is full" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    after = real_open(path)
    assert after.execute("select count(*) from services").fetchone()[0] == before
    assert after.execute("pragma integrity_check").fetchone()[0] == "ok"
    tables = {r[0] for r in after.execute("select name from sqlite_master where type = 'table'")}
    assert not {t for t in tables if t.endswith(("_next", "_old")) or "_next_" in t or "_old_" in t}
    assert after.execute("select count(*) from leases").fetchone()[0] == 0  # the import lease was given back


def _small_csv(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("id,name_en,type,lat,lon\nkeep-1,Kept nursery,private,31.2,121.4\n", encoding="utf-8")
    return path


def test_the_ledger_claim_is_committed_with_a_full_sync(tmp_path):
    """The claim that marks a row 'sending' before its message leaves must survive a power cut: with NORMAL in
    WAL mode it could roll back, and the message would go out twice."""
    from datetime import datetime, timezone

    from knowledge.deliveries import Ledger

    db = open_database(tmp_path / "s.db")
    seen = []
    db.conn.set_trace_callback(lambda sql: seen.append(sql.strip().lower()))
    Ledger(db, []).claim(datetime(2026, 11, 20, tzinfo=timezone.utc), "w", 5)
    assert seen.index("pragma synchronous = full") < seen.index("begin immediate") < seen.index("commit")
    assert db.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL again for everything else
