"""Chinese synonyms (content/synonyms.yaml): checked on load, written one way before segmenting questions and
entries alike, and a change to them re-segments the keyword index without embedding anything."""

from __future__ import annotations

import pytest

from bot.wiring import refresh_index
from knowledge.synonyms import Synonyms, load_synonyms
from retrieval.keyword import Segmenter

from retrievalhelpers import CountingEmbedder, copy_small_build, small_build, small_runtime, small_settings

COLIC = "crying-colic"


def test_members_are_written_as_the_first_word_of_their_group_longest_first():
    normalize = Synonyms((("母乳", "奶水", "人奶"), ("小睡", "白天睡觉", "睡觉"))).normalizer()
    assert normalize("奶水不够，白天睡觉也少") == "母乳不够，小睡也少"
    assert normalize("no chinese here") == "no chinese here"
    assert Synonyms().normalizer()("奶水") == "奶水"


def test_the_segmenter_fingerprint_changes_with_the_synonyms():
    plain = Segmenter()
    with_groups = Segmenter(synonyms=Synonyms((("母乳", "奶水"),)))
    assert plain.fingerprint != with_groups.fingerprint
    assert "母乳" in with_groups.terms("奶水不够怎么办") and "奶水" not in with_groups.terms("奶水不够怎么办")


@pytest.mark.parametrize("text, message", [
    ("母乳: 奶水\n", "must be a list of groups"),
    ("- [母乳]\n", "a group is 2 to"),
    ("- [母乳, milk]\n", "a group is 2 to"),
    ("- [觉, 小睡]\n", "a group is 2 to"),
    ("- [母乳, 奶水]\n- [奶水, 人奶]\n", "one group only: 奶水"),
])
def test_a_broken_synonyms_file_is_reported(tmp_path, text, message):
    (tmp_path / "synonyms.yaml").write_text(text, encoding="utf-8")
    synonyms, problems = load_synonyms(tmp_path)
    assert any(message in p.message for p in problems), problems
    assert all(p.path == "content/synonyms.yaml" for p in problems)


def test_the_shipped_synonyms_load_without_problems():
    from conftest import CONTENT_DIR

    synonyms, problems = load_synonyms(CONTENT_DIR)
    assert problems == []


def test_a_question_in_a_parents_words_finds_the_entry_in_its_own_words_after_a_keyword_only_rebuild(
        tmp_path, tmp_path_factory, shared_model, shared_parts):
    site = small_settings(copy_small_build(small_build(tmp_path_factory, shared_model, shared_parts),
                                           tmp_path / "site"))
    question = "宝宝肠痉挛哭得厉害怎么办"
    before = small_runtime(site, shared_model, shared_parts)
    coverage_before = next((c.coverage for c in before.retriever.search(question, "zh", limit=7).candidates
                            if c.entry.id == COLIC), 0.0)
    before.db.conn.close()

    (site.content_dir / "synonyms.yaml").write_text("- [肠痉挛, 肠绞痛]\n", encoding="utf-8")
    after = small_runtime(site, CountingEmbedder(shared_model), shared_parts)
    try:
        report = refresh_index(after)
        assert report.embedded == 0  # only the keyword rows were written again
        best = after.retriever.search(question, "zh").candidates[0]
        assert best.entry.id == COLIC and best.coverage > coverage_before + 0.1
        rows = after.db.execute("select text from search_fts where entry_id = ? and lang = 'zh'", [COLIC]).fetchall()
        assert rows and "肠痉挛" in rows[0][0]  # the entry, unchanged, was segmented again
    finally:
        after.db.conn.close()
