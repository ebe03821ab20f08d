"""Helpers for the retrieval tests: a small copy of the shipped content, an index built from it once per session
with the real model, and a thin wrapper that counts what the real embedder is asked to encode."""

from __future__ import annotations

import shutil
import threading
from datetime import date
from pathlib import Path

from knowledge.bundle import load_knowledge
from knowledge.settings import REPO_ROOT, Settings

CONTENT_DIR = REPO_ROOT / "content"
TODAY = date(2026, 11, 20)

# Seven published entries (two with an age range each side of 6 months, English and Chinese texts): enough for
# ranking, age preference and abstention to mean something, small enough to embed in a few seconds on 2 cores.
SMALL_ENTRIES = (
    "feeding/feeding-introducing-allergens",
    "feeding/feeding-first-foods",
    "sleep/sleep-bed-sharing-risks",
    "development/development-play-ideas-0-6-months",
    "development/development-play-ideas-7-12-months",
    "crying/crying-colic",
    "behaviour/behaviour-tantrums",
)
# Shipped entries outside the small set, for tests that add one.
EXTRA_ENTRY = "sleep/sleep-swaddling-safety"


def entry_file(content_dir: Path, name: str) -> Path:
    return content_dir / "guidance" / f"{name}.md"


def copy_small_content(target: Path, names=SMALL_ENTRIES) -> Path:
    """The chosen entries plus the data files every runtime needs (regions for emergency numbers, the gazetteer
    the nearby feature loads, the safety sign table); tips, milestones and policies are left out."""
    for name in names:
        add_entry(target, name)
    shutil.copy2(CONTENT_DIR / "regions.yaml", target / "regions.yaml")
    shutil.copytree(CONTENT_DIR / "safety", target / "safety", dirs_exist_ok=True)
    (target / "services").mkdir(parents=True, exist_ok=True)
    shutil.copy2(CONTENT_DIR / "services" / "gazetteer.yaml", target / "services" / "gazetteer.yaml")
    return target


def add_entry(content_dir: Path, name: str) -> Path:
    path = entry_file(content_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(entry_file(CONTENT_DIR, name), path)
    return path


def copy_data(source: Path, target: Path) -> Path:
    """A private copy of a data directory (database, index builds and the `current` link)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name.startswith("sprout.db-"):
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, symlinks=True)
        else:
            shutil.copy2(item, target / item.name)
    return target


def small_settings(base: Path, **changes) -> Settings:
    return Settings(data_dir=base / "data", db_path=base / "data" / "sprout.db", content_dir=base / "content",
                    **changes)


class CountingEmbedder:
    """The real embedder, with every text it is asked to encode recorded; a lock keeps two threads from using the
    model's tokenizer at the same time."""

    def __init__(self, real, model_id: str | None = None):
        self.real = real
        self.name = getattr(real, "name", None)
        self.backend = real.backend
        self.multilingual = real.multilingual
        self.model_id = model_id or real.model_id
        self.dimension = real.dimension
        self.encoded: list[str] = []
        self.calls = 0
        self._lock = threading.Lock()

    def encode(self, texts):
        with self._lock:
            self.calls += 1
            self.encoded.extend(texts)
            return self.real.encode(texts)

    def encode_query(self, texts):
        with self._lock:
            self.calls += 1
            self.encoded.extend(texts)
            return self.real.encode_query(texts)


def shared_for(settings: Settings, shared_parts):
    """The session's templates, triage and segmenter with the entries of `settings.content_dir` (read now, so a
    test that edits files calls this again)."""
    from bot.wiring import Shared

    kb, _ = load_knowledge(settings.content_dir, TODAY)
    segmenter = shared_parts.segmenter
    if kb.synonyms != segmenter.synonyms:  # the segmenter writes the content's synonyms one way
        from retrieval.keyword import Segmenter

        segmenter = Segmenter(synonyms=kb.synonyms)
    return Shared(kb, shared_parts.renderer, shared_parts.triage, segmenter, shared_parts.models,
                  shared_parts.chatter)


def small_runtime(settings: Settings, embedder, shared_parts):
    from bot.wiring import build_runtime

    from bot.wiring import identity_of

    return build_runtime(settings, embedder_factory=lambda: embedder, shared=shared_for(settings, shared_parts),
                         identity=identity_of(embedder))


_SMALL_BUILD: dict[str, Path] = {}


def small_build(tmp_path_factory, shared_model, shared_parts) -> Path:
    """A directory holding `content/` (the small set) and `data/` (its database and index), built with the real
    model once per session; tests copy it rather than build again."""
    if "base" not in _SMALL_BUILD:
        from bot.wiring import refresh_index

        base = tmp_path_factory.mktemp("small-built")
        copy_small_content(base / "content")
        runtime = small_runtime(small_settings(base), shared_model, shared_parts)
        refresh_index(runtime)
        runtime.db.conn.close()
        _SMALL_BUILD["base"] = base
    return _SMALL_BUILD["base"]


def copy_small_build(source: Path, target: Path) -> Path:
    shutil.copytree(source / "content", target / "content")
    copy_data(source / "data", target / "data")
    return target
