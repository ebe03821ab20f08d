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
