"""The shipped knowledge base: complete, bilingual, sourced, dose-free, and covering every age band and topic."""

import csv
from datetime import date

import pytest

from knowledge.bundle import content_stats, load_knowledge
from knowledge.content import LANGUAGES, TOPICS, find_doses
from knowledge.milestones import CHECKIN_AGES
from knowledge.settings import REGIONS
from knowledge.tips import LAST_TIP_DAY

from conftest import CONTENT_DIR


@pytest.fixture(scope="module")
def kb():
    kb, problems = load_knowledge(CONTENT_DIR, date(2026, 11, 29), thorough=True)
    assert [str(p) for p in problems if p.level == "error"] == []
    return kb


def test_at_least_180_published_entries_in_both_languages(kb):
    published = kb.published()
    assert len(published) >= 180
    for entry in published:
        assert set(entry.texts) == set(LANGUAGES), entry.id
        assert entry.sources and all(s.url.startswith(("https://", "http://")) for s in entry.sources), entry.id
        assert entry.review_by and entry.review_log and entry.review_log[0].by == entry.author, entry.id
        if entry.review_state != "drafted":  # a check or approval by someone other than the author, with its date
            assert entry.reviewer and entry.reviewer != entry.author and entry.reviewed, entry.id


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_has_at_least_8_entries(kb, topic):
    assert sum(1 for e in kb.published() if e.topic == topic) >= 8


@pytest.mark.parametrize("low, high", [(0, 3), (4, 6), (7, 12), (13, 24), (25, 36)])
def test_every_age_band_is_covered_by_many_entries(kb, low, high):
    assert sum(1 for e in kb.published() if e.age_min <= high and e.age_max >= low) >= 40


def test_no_entry_contains_a_medicine_dose(kb):
    for entry in kb.entries:
        for text in entry.texts.values():
            assert find_doses(text.body) == [], entry.id


def test_each_entry_has_3_to_6_example_questions_per_language(kb):
    for entry in kb.entries:
        for text in entry.texts.values():
            assert 3 <= len(text.questions) <= 6, entry.id


def test_tips_cover_every_day_to_36_months_in_both_languages(kb):
    tips = sorted(kb.tips, key=lambda t: t.start_day)
    assert len(tips) >= 80
    assert tips[0].start_day == 0 and tips[-1].end_day == LAST_TIP_DAY
    for before, after in zip(tips, tips[1:]):
        assert after.start_day == before.end_day + 1
    ids = {e.id for e in kb.entries}
    assert all(t.entry_id in ids and t.text["en"] and t.text["zh"] for t in tips)
    assert all(find_doses(t.text[lang]) == [] for t in tips for lang in LANGUAGES)


def test_milestone_checklists_for_every_check_in_age(kb):
    assert [c.age_months for c in kb.milestones] == list(CHECKIN_AGES)
    for checklist in kb.milestones:
        assert {item.area for item in checklist.items} == {"social", "language", "cognitive", "movement"}
        assert checklist.act_early["en"] and checklist.act_early["zh"]


def test_leave_policies_have_a_sourced_baseline_and_regions(kb):
    assert kb.leave.national["maternity_leave_days"] == 98
    mainland = {c for c, r in kb.leave.regions.items() if r.system == "mainland"}
    assert len(mainland) == 31 and {"HK", "TW"} <= set(kb.leave.regions)
    assert all(r.source.get("url") and r.revision for r in kb.leave.regions.values() if r.checked)


def test_regions_table_matches_the_settings(kb):
    assert set(kb.regions.codes()) == set(REGIONS)


def test_demo_services_are_300_plus_and_all_labelled_demo():
    with (CONTENT_DIR / "services" / "demo_shanghai.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 300
    names = [value for row in rows for key, value in row.items() if key.startswith("name")]
    assert all("Demo" in n or "演示" in n for n in names if n)


def test_stats_report_the_counts(kb):
    stats = content_stats(kb, CONTENT_DIR)
    assert stats["entries"]["published_bilingual"] >= 180
    assert stats["services"] >= 300
