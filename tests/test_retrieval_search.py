"""Searching the shipped content with the real model, FAISS and SQLite: the keyword index for Chinese, language
and age in ranking, knowing when not to answer, and the one entry point every front end calls."""

from __future__ import annotations

import pytest

from bot.features.ask import render_result
from bot.wiring import build_runtime
from knowledge.settings import Settings
from retrieval import keyword
from retrieval.answer import KINDS, TRIAGE_KINDS
from retrieval.search import detect_language

from retrievalhelpers import CONTENT_DIR, copy_data

ALLERGENS = "feeding-introducing-allergens"
PLAY_IDEAS = {  # age range -> entry
    (0, 6): "development-play-ideas-0-6-months",
    (7, 12): "development-play-ideas-7-12-months",
    (12, 24): "development-play-ideas-1-2-years",
    (24, 36): "development-play-ideas-2-3-years",
}


@pytest.fixture(scope="module")
def kb(tmp_path_factory, built_index, shared_model, shared_parts):
    """A runtime on a private copy of the session's index of the shipped content (tests here only add rows to the
    question log, and find their own rows by id)."""
    base = copy_data(built_index, tmp_path_factory.mktemp("search"))
    settings = Settings(data_dir=base, db_path=base / "sprout.db", content_dir=CONTENT_DIR)
    runtime = build_runtime(settings, embedder_factory=lambda: shared_model, shared=shared_parts)
    yield runtime
    runtime.db.conn.close()


def logged(runtime, result) -> dict | None:
    rows = list(runtime.db.query("select * from question_log where id = ?", [result.question_id]))
    return rows[0] if rows else None


def rendered(runtime, result) -> str:
    body = runtime.live.snapshot.entries[result.entry_id].text(result.lang).body if result.entry_id else None
    return render_result(runtime.renderer, result, runtime.kb.regions.get("CN"), body)


# The keyword index

def test_the_keyword_index_is_fts5_with_one_segmented_document_per_entry_and_language(kb):
    sql = kb.db.execute("select sql from sqlite_master where name = 'search_fts'").fetchone()[0]
    assert "fts5" in sql.lower()
    rows = kb.db.execute("select entry_id, lang, text from search_fts").fetchall()
    assert sorted((e, lang) for e, lang, _ in rows) == sorted(
        (e, lang) for e in kb.live.snapshot.entries for lang in ("en", "zh"))
    # Chinese is stored as jieba words separated by spaces, so FTS5 can match words inside a sentence.
    zh = next(text for e, lang, text in rows if e == ALLERGENS and lang == "zh")
    assert "花生酱" in zh.split() and "鸡蛋" in zh.split()


@pytest.mark.parametrize("question, expected", [
    ("宝宝什么时候可以吃花生酱", ALLERGENS),
    ("婆婆抽烟，晚上还想搂着宝宝在大床上睡，有关系吗", "sleep-bed-sharing-risks"),
    ("宝宝湿疹很严重，还能吃花生吗", ALLERGENS),
])
def test_a_chinese_question_finds_its_entry_by_keywords_alone(kb, question, expected):
    # Unsegmented, the sentence is one token no document contains; jieba's words find the entry.
    assert keyword.search(kb.db, [question], "zh") == []
    assert keyword.search(kb.db, kb.segmenter.terms(question), "zh")[0][0] == expected

    outcome = kb.retriever.search(question, mode="keyword")
    assert outcome.lang == "zh" and outcome.best.entry.id == expected
    result = kb.answerer.answer(question, mode="keyword", log_question=False)
    assert (result.kind, result.entry_id) == ("answer", expected)


# Language

@pytest.mark.parametrize("text, lang", [
    ("my baby won't stop crying in the evening", "en"),
    ("宝宝晚上一直哭怎么办", "zh"),
    ("宝宝6个月了，可以吃鸡蛋吗", "zh"),
    ("我家baby晚上总是醒", "zh"),
    ("is 奶粉 ok for a 3 month old baby who is breastfed", "en"),
    ("12345", "en"),
])
def test_the_question_language_is_detected(text, lang):
    assert detect_language(text) == lang


def test_a_chinese_question_is_answered_in_chinese_and_an_english_one_in_english(kb):
    zh = kb.answerer.answer("宝宝什么时候可以吃花生酱", log_question=False)
    en = kb.answerer.answer("when can my baby try peanut butter", log_question=False)
    entry = kb.live.snapshot.entries[ALLERGENS]
    assert (zh.kind, zh.entry_id, zh.lang, zh.title) == ("answer", ALLERGENS, "zh", entry.texts["zh"].title)
    assert (en.kind, en.entry_id, en.lang, en.title) == ("answer", ALLERGENS, "en", entry.texts["en"].title)
    # Each reply opens with the section of its language's body that answers the question.
    assert zh.lead in rendered(kb, zh) and zh.lead in entry.texts["zh"].body and "来源：" in rendered(kb, zh)
    assert en.lead in rendered(kb, en) and en.lead in entry.texts["en"].body and "Source: " in rendered(kb, en)


@pytest.mark.parametrize("question, user_lang", [
    ("when can my baby try peanut butter", "zh"),
    ("宝宝什么时候可以吃花生酱", "en"),
])
def test_the_answer_is_in_the_users_language_whatever_language_the_question_is_in(kb, question, user_lang):
    result = kb.answerer.answer(question, user_lang, log_question=False)
    entry = kb.live.snapshot.entries[ALLERGENS]
    assert (result.kind, result.entry_id, result.lang) == ("answer", ALLERGENS, user_lang)
    assert result.question_lang == detect_language(question) != user_lang
    assert result.title == entry.texts[user_lang].title
    assert all(r["title"] == kb.live.snapshot.entries[r["id"]].texts[user_lang].title for r in result.related)
    assert result.lead in rendered(kb, result) and result.lead in entry.texts[user_lang].body
    # ... and says, in the question's language, how to get replies in it
    hint = kb.renderer.t("language.switch_hint", result.question_lang)
    assert rendered(kb, result).startswith(hint + "\n\n") and "/language" in hint


def test_an_answer_in_the_questions_own_language_has_no_switch_hint(kb):
    result = kb.answerer.answer("宝宝什么时候可以吃花生酱", "zh", log_question=False)
    assert result.kind == "answer" and kb.renderer.t("language.switch_hint", "zh") not in rendered(kb, result)


# Age

def covers(age_range, age) -> bool:
    return age_range[0] <= age < age_range[1] + 1


def first_play_ideas(outcome) -> str:
    return next(c.entry.id for c in outcome.candidates if c.entry.id in PLAY_IDEAS.values())


@pytest.mark.parametrize("question, age, expected", [
    ("what games can I play with my baby", 3, PLAY_IDEAS[(0, 6)]),
    ("what games can I play with my baby", 10, PLAY_IDEAS[(7, 12)]),
    ("what games can I play with my baby", 20, PLAY_IDEAS[(12, 24)]),
    ("what games can I play with my baby", 30, PLAY_IDEAS[(24, 36)]),
    ("宝宝玩什么游戏好", 4, PLAY_IDEAS[(0, 6)]),
    ("宝宝玩什么游戏好", 20, PLAY_IDEAS[(12, 24)]),
])
def test_the_childs_age_from_the_profile_prefers_entries_whose_range_covers_it(kb, question, age, expected):
    result = kb.answerer.answer(question, age_months=age, log_question=False)
    assert result.kind == "answer" and result.age_months == age
    assert covers(result.age_range, age), (result.entry_id, result.age_range)
    assert first_play_ideas(kb.retriever.search(question, age_months=age, limit=10)) == expected


@pytest.mark.xfail(strict=False, reason="known regression with the graded age preference: an 8-month-old one month past the 0-6 range can get it")
@pytest.mark.parametrize("question, age, expected", [
    ("what games can I play with my 8 month old", 8, PLAY_IDEAS[(7, 12)]),
    ("宝宝10个月，玩什么游戏好", 10, PLAY_IDEAS[(7, 12)]),
    ("宝宝3个月，玩什么游戏好", 3, PLAY_IDEAS[(0, 6)]),
])
def test_the_childs_age_in_the_question_prefers_entries_whose_range_covers_it(kb, question, age, expected):
    result = kb.answerer.answer(question, log_question=False)
    assert result.age_months == age
    assert (result.kind, result.entry_id) == ("answer", expected)


def test_without_an_age_no_entry_is_penalised_for_its_range(kb):
    outcome = kb.retriever.search("what games can I play with my baby", limit=10)
    assert all(c.covers_age is None for c in outcome.candidates)


# Knowing when not to answer

@pytest.mark.parametrize("question", [
    "bugaboo or uppababy? which pram brand is better for cobbled streets and a small car boot",
    "when can we get our baby girl's ears pierced, is 6 months too early",
    "are those baby sign language classes worth paying for or is it just a gimmick",
    "婴儿推车哪个牌子好，想买个轻便能折叠的",
    "医院推销脐带血储存，要不要自费存，值不值",
])
def test_an_on_topic_question_without_a_vetted_answer_gets_no_answer_and_goes_to_the_curators(kb, question):
    result = kb.answerer.answer(question, user_id=None)
    lang = detect_language(question)
    assert result.kind == "no_answer" and result.entry_id is None and result.title is None
    # Up to three related entries to choose from, except for a subject the guidance does not cover at all.
    assert len(result.related) == 0 if result.out_of_scope else 1 <= len(result.related) <= 3
    for related in result.related:
        assert related["title"] == kb.live.snapshot.entries[related["id"]].texts[lang].title
    row = logged(kb, result)
    assert row is not None
    assert (row["kind"], row["question"], row["lang"], row["entry_id"]) == ("no_answer", question, lang, None)
    assert "content team" in rendered(kb, result) or "内容" in rendered(kb, result)


def test_an_answer_is_logged_with_its_entry(kb):
    question = "when can my baby try peanut butter"
    result = kb.answerer.answer(question)
    row = logged(kb, result)
    assert (row["kind"], row["entry_id"], row["question"]) == ("answer", ALLERGENS, question)


@pytest.mark.parametrize("question", [
    "I have a migraine, what should I take for my headache",
    "我头疼得厉害，吃什么药好",
    "can you help me with my maths homework",
    "帮我做一下数学作业",
    "tell me a joke",
    "给我讲个笑话",
    "what is the capital of France",
    "how do I change the oil in my car",
    "红烧肉怎么做才好吃",
])
def test_an_off_topic_question_is_not_answered_from_the_knowledge_base(kb, question):
    result = kb.answerer.answer(question, log_question=False)
    assert result.kind != "answer"
    assert result.entry_id is None and result.title is None and result.sources == []


# The one entry point

def test_an_answer_carries_everything_a_front_end_shows(kb):
    result = kb.answerer.answer("when can my baby try peanut butter", "en", 6)
    entry = kb.live.snapshot.entries[ALLERGENS]
    assert result.kind == "answer" and result.kind in KINDS
    assert result.entry_id == ALLERGENS
    assert result.title == entry.texts["en"].title
    assert result.topic == "feeding"
    assert result.age_range == [entry.age_min, entry.age_max] == [4, 12]
    assert isinstance(result.score, float) and result.score > 0
    assert result.sources == [s.as_dict() for s in entry.sources] and result.sources[0]["url"].startswith("https://")
    assert result.reviewed == entry.reviewed.isoformat()
    assert 1 <= len(result.related) <= 3 and ALLERGENS not in {r["id"] for r in result.related}
    assert all(r["title"] == kb.live.snapshot.entries[r["id"]].texts["en"].title for r in result.related)
    assert result.age_months == 6 and result.question_id is not None
    text = rendered(kb, result)
    # a health entry opens with its safety box, then the entry
    assert text.startswith(entry.texts["en"].title) or text.startswith("⚠️ When to get help\n")
    assert f"\n{entry.texts['en'].title}\n" in f"\n{text}" and result.lead in text and result.lead in entry.texts["en"].body
    assert entry.sources[0].publisher in text

    data = result.as_dict()
    for field in ("kind", "entry_id", "title", "topic", "age_range", "score", "text", "sources", "reviewed",
                  "related"):
        assert field in data


def test_the_entry_point_returns_the_rendered_text(kb):
    result = kb.answerer.answer("when can my baby try peanut butter", "en", log_question=False)
    assert result.text == rendered(kb, result)


@pytest.mark.parametrize("question, kinds", [
    ("my baby is having a seizure and not breathing", ("emergency",)),
    ("宝宝抽搐了，叫不醒", ("emergency",)),
    ("my 2 month old has a fever of 38.5", ("urgent", "emergency")),
])
def test_urgent_text_gets_triage_and_never_a_knowledge_base_answer(kb, monkeypatch, question, kinds):
    searched = []
    real_search = kb.retriever.search
    monkeypatch.setattr(kb.retriever, "search", lambda *a, **kw: searched.append(a) or real_search(*a, **kw))

    result = kb.answerer.answer(question)
    assert result.kind in kinds and result.kind in TRIAGE_KINDS
    assert searched == []
    assert (result.entry_id, result.title, result.sources, result.related) == (None, None, [], [])
    assert result.signs
    assert "120" in rendered(kb, result)  # the emergency number for the default region (CN)
    row = logged(kb, result)
    assert row["kind"] == result.kind and row["question"] == ""  # counted, but the text is not kept
