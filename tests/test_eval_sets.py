"""The labelled question sets retrieval is measured on: well-formed, labelled with entries that exist, and
written as parents ask rather than copied from the entries' own example questions."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from knowledge.content import load_entries
from retrieval.evaluate import load_eval_files

from conftest import CONTENT_DIR

SETS = {"dev": sorted((CONTENT_DIR / "eval" / "retrieval").glob("*.jsonl")),
        "calibration": sorted((CONTENT_DIR / "eval" / "calibration").glob("*.jsonl")),
        "held_out_a": sorted((CONTENT_DIR / "eval" / "holdout").glob("set_a_*.jsonl")),
        "held_out_b": sorted((CONTENT_DIR / "eval" / "holdout").glob("set_b_*.jsonl"))}


def normalised(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


@pytest.fixture(scope="module")
def published():
    entries, _ = load_entries(CONTENT_DIR)
    return {e.id: e for e in entries if e.status == "published"}


@pytest.mark.parametrize("name", SETS)
def test_every_question_is_labelled_with_published_entries_or_no_answer(name, published):
    items = load_eval_files(SETS[name])
    assert len({item["id"] for item in items}) == len(items), "ids must be unique"
    for item in items:
        assert item["lang"] in ("en", "zh") and item["question"].strip()
        if item.get("expected") == "no_answer":
            assert not item.get("expected_ids")
        else:
            assert item["expected_ids"] and set(item["expected_ids"]) <= set(published), item["id"]


@pytest.mark.parametrize("name", SETS)
def test_no_question_is_an_entrys_own_example_question(name, published):
    examples = {normalised(q) for e in published.values() for t in e.texts.values() for q in (t.title, *t.questions)}
    copied = [item["id"] for item in load_eval_files(SETS[name]) if normalised(item["question"]) in examples]
    assert copied == []


def test_the_dev_set_has_the_size_and_mix_issue_4_asks_for():
    items = load_eval_files(SETS["dev"])
    langs = Counter(item["lang"] for item in items)
    assert len(items) >= 200 and 0.3 <= langs["zh"] / len(items) <= 0.45
    assert sum(1 for item in items if item.get("expected") == "no_answer") >= 30


@pytest.mark.parametrize("name", ["calibration", "held_out_a", "held_out_b"])
def test_a_set_written_apart_shares_no_question_with_the_other_sets(name):
    others = {normalised(item["question"]) for other in SETS if other != name for item in load_eval_files(SETS[other])}
    assert not [item["id"] for item in load_eval_files(SETS[name]) if normalised(item["question"]) in others]
