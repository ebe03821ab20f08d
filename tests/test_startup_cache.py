"""The start-up cache: content and the sign table validated by one start are read back by the next, and any change
to content/ (even one that keeps a file's size and time) means a full load and validation again."""

from __future__ import annotations

import os
import shutil
import stat
from datetime import date

import pytest

from knowledge.bundle import ContentError, load_knowledge, load_valid_knowledge
from knowledge.safety import SignTableError, Triage
from knowledge.startup_cache import StartupCache

from knowledge.settings import REPO_ROOT

CONTENT_DIR = REPO_ROOT / "content"

TODAY = date(2026, 12, 8)
MESSAGES = ["my 6 week old has 38.4 and won't feed", "宝宝三个月，发烧39度，怎么办", "how do I start solids",
            "she had a seizure and is now sleepy", "can I give honey to my 8 month old", "how to prevent choking"]


@pytest.fixture
def content(tmp_path):
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target, ignore=shutil.ignore_patterns("eval"))
    return target


def cache_for(tmp_path, content) -> StartupCache:
    return StartupCache(tmp_path / "data" / "cache", content)


def an_entry(content):
    return sorted((content / "guidance" / "sleep").glob("*.md"))[0]


def test_a_second_start_reads_the_validated_content_back(tmp_path, content):
    first, warnings = load_valid_knowledge(content, TODAY, cache_for(tmp_path, content))
    assert cache_for(tmp_path, content).get("knowledge") is not None
    again, again_warnings = load_valid_knowledge(content, TODAY, cache_for(tmp_path, content))
    assert again == first == load_knowledge(content, TODAY)[0]
    assert again_warnings == warnings


def test_the_cache_file_is_private(tmp_path, content):
    load_valid_knowledge(content, TODAY, cache_for(tmp_path, content))
    files = list((tmp_path / "data" / "cache").glob("knowledge-*.pickle"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data" / "cache").stat().st_mode) == 0o700


def test_an_edit_that_keeps_size_and_time_is_still_seen(tmp_path, content):
    load_valid_knowledge(content, TODAY, cache_for(tmp_path, content))
    path = an_entry(content)
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    at = text.rindex("the ")  # a letter of the body, changed for another
    edited = text[:at] + "tha " + text[at + 4:]
    assert len(edited.encode()) == len(text.encode())
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    kb, _ = load_valid_knowledge(content, TODAY, cache_for(tmp_path, content))
    assert kb == load_knowledge(content, TODAY)[0]
    assert kb != load_knowledge(CONTENT_DIR, TODAY)[0]


def test_a_file_broken_after_a_cached_start_still_stops_the_next_start(tmp_path, content):
    load_valid_knowledge(content, TODAY, cache_for(tmp_path, content))
    path = an_entry(content)
    path.write_text(path.read_text(encoding="utf-8").replace("topic: sleep", "topic: napping"), encoding="utf-8")
    with pytest.raises(ContentError, match="unknown topic 'napping'"):
        load_valid_knowledge(content, TODAY, cache_for(tmp_path, content))


def test_stale_entries_are_judged_against_the_day_of_each_start(tmp_path, content):
    load_valid_knowledge(content, TODAY, cache_for(tmp_path, content))
    _, warnings = load_valid_knowledge(content, date(2099, 1, 1), cache_for(tmp_path, content))
    assert any("has passed" in p.message for p in warnings)
    assert [str(p) for p in warnings] == [str(p) for p in load_valid_knowledge(content, date(2099, 1, 1))[1]]


def test_a_damaged_cache_file_is_a_miss_not_an_error(tmp_path, content):
    cache = cache_for(tmp_path, content)
    load_valid_knowledge(content, TODAY, cache)
    for path in (tmp_path / "data" / "cache").glob("*.pickle"):
        path.write_bytes(b"not a pickle")
    kb, _ = load_valid_knowledge(content, TODAY, cache_for(tmp_path, content))
    assert kb == load_knowledge(content, TODAY)[0]


def test_the_sign_table_read_back_triages_exactly_as_a_full_load(tmp_path, content):
    fresh = Triage.from_content(content)
    Triage.from_content(content, cache_for(tmp_path, content))
    cached = Triage.from_content(content, cache_for(tmp_path, content))
    assert cache_for(tmp_path, content).get("sign_table") == fresh.table
    examples = [t for row in fresh.table.rows for texts in (row.examples | row.near_misses).values() for t in texts]
    for text in MESSAGES + examples[:400]:
        assert cached.check(text) == fresh.check(text), text


def test_rows_that_only_fail_to_compile_together_are_refused_at_load(tmp_path, content):
    """Each pattern compiles on its own, but the row's patterns joined reuse a group name: refused where the table
    is loaded, although rows are otherwise compiled only when a message first needs them."""
    signs = content / "safety" / "signs.yaml"
    text = signs.read_text(encoding="utf-8")
    marker = "    patterns:\n"
    at = text.index(marker) + len(marker)
    signs.write_text(text[:at] + "      - '(?P<dup>zzqx)'\n      - '(?P<dup>qqzx)'\n" + text[at:], encoding="utf-8")
    with pytest.raises(SignTableError, match="together do not compile"):
        Triage.from_content(content, cache_for(tmp_path, content))
