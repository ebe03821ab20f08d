"""Search terms saved with each index build: the same terms a fresh segmentation gives, never trusted when stale,
and jieba's dictionary loaded only for Chinese text."""

import json
from dataclasses import replace

import pytest
from conftest import CONTENT_DIR

from bot.wiring import build_runtime, refresh_index
from knowledge.store import EntryStore
from knowledge.synonyms import load_synonyms
from retrieval import keyword
from retrieval.index import TERMS_FILE, load_snapshot, read_terms, terms_source
from retrieval.keyword import Segmenter


def new_segmenter() -> Segmenter:
    """A segmenter like the runtime's: with the shipped Chinese synonyms."""
    return Segmenter(synonyms=load_synonyms(CONTENT_DIR)[0])


def fresh_terms(entries) -> dict:
    segmenter = new_segmenter()
    return {(e.id, lang): frozenset(segmenter.terms(terms_source(t))) for e in entries for lang, t in e.texts.items()}


def current_build(runtime):
    return (runtime.settings.index_dir / "current").resolve()


def test_saved_terms_equal_freshly_segmented_terms(runtime):
    snapshot = runtime.live.reload()
    assert (current_build(runtime) / TERMS_FILE).is_file()
    assert snapshot.terms == fresh_terms(snapshot.entries.values())


def test_a_start_with_saved_terms_segments_no_entry_text(runtime):
    segmenter = new_segmenter()
    snapshot = load_snapshot(runtime.settings.index_dir, runtime.db, segmenter, runtime.builder.identity)
    assert snapshot.terms and segmenter._memo == {}
    assert not segmenter.jieba_loaded


def test_a_missing_terms_file_is_recomputed_and_written_by_the_next_refresh(runtime):
    (current_build(runtime) / TERMS_FILE).unlink()
    snapshot = load_snapshot(runtime.settings.index_dir, runtime.db, new_segmenter(), runtime.builder.identity)
    assert snapshot.terms == fresh_terms(snapshot.entries.values())

    report = refresh_index(runtime)
    assert report.path == str(current_build(runtime)) and report.embedded == 0
    assert read_terms(current_build(runtime), runtime.segmenter)


@pytest.mark.parametrize("change", ["other segmenter", "other version", "not json"])
def test_terms_from_another_segmenter_or_file_version_are_not_trusted(runtime, change):
    path = current_build(runtime) / TERMS_FILE
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved["terms"] = {digest: ["bogus"] for digest in saved["terms"]}
    if change == "other segmenter":
        saved["segmenter"] = "0000000000000000"
    elif change == "other version":
        saved["version"] = -1
    path.write_text("{" if change == "not json" else json.dumps(saved), encoding="utf-8")

    snapshot = load_snapshot(runtime.settings.index_dir, runtime.db, new_segmenter(), runtime.builder.identity)
    assert snapshot.terms == fresh_terms(snapshot.entries.values())


def test_a_new_segmenter_version_changes_the_fingerprint(monkeypatch, runtime):
    before = new_segmenter().fingerprint
    monkeypatch.setattr(keyword, "SEGMENTER_VERSION", keyword.SEGMENTER_VERSION + 1)
    after = new_segmenter()
    assert after.fingerprint != before
    assert read_terms(current_build(runtime), after) == {}


def test_an_entry_edited_since_the_build_gets_terms_from_its_new_text(runtime):
    entry = append_to_first_entry(runtime, "Zebrafinch paragraph added after the build.")

    snapshot = runtime.live.reload()  # the index was not rebuilt: its saved terms are for the old text
    assert "zebrafinch" in snapshot.terms[(entry.id, "en")]
    assert snapshot.terms == fresh_terms(snapshot.entries.values())


def test_an_unchanged_refresh_keeps_the_current_build(runtime):
    before = current_build(runtime)
    builds = sorted(p.name for p in runtime.settings.index_dir.glob("build-*"))
    report = refresh_index(runtime)
    assert report.path == str(before) and report.embedded == 0 and report.reused == report.texts
    assert sorted(p.name for p in runtime.settings.index_dir.glob("build-*")) == builds


def test_a_rebuild_saves_terms_for_the_changed_text_and_keeps_the_others(runtime):
    entry = append_to_first_entry(runtime, "Zebrafinch paragraph.")
    before = read_terms(current_build(runtime), runtime.segmenter)

    report = runtime.builder.build()
    assert report.changed == [entry.id] and report.path == str(current_build(runtime))
    after = read_terms(current_build(runtime), runtime.segmenter)
    assert len(set(after) - set(before)) == 1
    assert runtime.live.reload().terms == fresh_terms(EntryStore(runtime.db).published())


def test_an_english_question_does_not_load_jieba(runtime, shared_model, shared_parts, clock):
    segmenter = new_segmenter()
    fresh = build_runtime(runtime.settings, clock=clock, embedder_factory=lambda: shared_model,
                          shared=replace(shared_parts, segmenter=segmenter))
    try:
        refresh_index(fresh)
        result = fresh.answerer.answer("how much should a 6 month old sleep", log_question=False)
        assert result.kind == "answer"
        assert not segmenter.jieba_loaded

        result = fresh.answerer.answer("六个月的宝宝要睡多久", log_question=False)
        assert segmenter.jieba_loaded
    finally:
        fresh.db.conn.close()


def append_to_first_entry(runtime, paragraph: str):
    """Edit the first published entry's English body in the database, as a curator would."""
    store = EntryStore(runtime.db)
    entry = store.published()[0]
    texts = dict(entry.texts)
    texts["en"] = replace(texts["en"], body=texts["en"].body + "\n\n" + paragraph)
    store.save(replace(entry, texts=texts), "tester", "edit")
    return entry
