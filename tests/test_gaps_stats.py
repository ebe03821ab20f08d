"""Content gaps (clusters of questions not answered well, and whether a fix answers them) and usage statistics
(counts and rates only, never personal data)."""

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.messages import Incoming
from knowledge.content import load_entries
from knowledge.gaps import cluster_questions, find_gaps, gap_questions, idf_by_language
from knowledge.schedule import iso
from knowledge.usage_stats import usage_stats
from retrieval.keyword import Segmenter

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
CURATOR, REVIEWER = 501, 601
CONTENT = Path(__file__).resolve().parent.parent / "content"
SWIM = ["can my baby swim in a public pool", "is it safe to take a 6 month old swimming",
        "when can babies go swimming in a pool"]
PASSPORT = ["how do I get a passport for my baby", "baby passport application", "newborn passport photo how"]
SWIM_ZH = ["宝宝可以去游泳池游泳吗", "六个月宝宝能游泳吗", "婴儿什么时候可以游泳"]
PASSPORT_ZH = ["怎么给宝宝办护照", "婴儿护照怎么申请"]
DAWN = ["bubs up at dawn every day what do", "bubs up at dawn every day what do",
        "my bub is up at dawn every day, what can i do", "why is my bub up at dawn daily"]


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter()


@pytest.fixture(scope="module")
def idf(segmenter):
    entries, _ = load_entries(CONTENT)
    return idf_by_language({(e.id, lang): frozenset(segmenter.terms(" ".join([t.title, *t.questions, t.body])))
                            for e in entries for lang, t in e.texts.items()})


def log(db, question, lang="en", kind="no_answer", entry_id=None, score=0.5, days_ago=1, user_id=None):
    cursor = db.execute("insert into question_log (user_id, asked_at, lang, question, kind, entry_id, score) values "
                        "(?, ?, ?, ?, ?, ?, ?)", [user_id, iso(NOW - timedelta(days=days_ago)), lang, question, kind,
                                                  entry_id, score])
    return cursor.lastrowid


def add_user(db, key, chat_id=None):
    return db.execute("insert into users (external_id, chat_id, created_at) values (?, ?, ?)",
                      [key, chat_id, iso(NOW)]).lastrowid


def vote(db, question_id, entry_id, helpful, user_id):
    db.execute("insert into feedback (user_id, question_id, entry_id, helpful, created_at) values (?, ?, ?, ?, ?)",
               [user_id, question_id, entry_id, helpful, iso(NOW)])


# Which questions count as gaps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("row, reason", [
    ({"kind": "no_answer"}, "no_answer"),
    ({"kind": "answer", "entry_id": "sleep-naps-by-age", "score": 1.05}, "low_confidence"),
    ({"kind": "answer", "entry_id": "sleep-naps-by-age", "score": 1.8}, None),
    ({"kind": "answer", "entry_id": "sleep-naps-by-age", "score": None}, None),   # a related-entry click
    ({"kind": "emergency", "score": None}, None),                                 # triage: text never kept
    ({"kind": "no_answer", "days_ago": 120}, None),                               # outside the window
])
def test_gap_questions_are_unanswered_unsure_or_outside_the_window(db, row, reason):
    text = "" if row["kind"] == "emergency" else "how many naps should a 7 month old take"
    log(db, text, **row)
    found = gap_questions(db, NOW - timedelta(days=90))
    assert [q.reason for q in found] == ([reason] if reason else [])


def test_a_thumbs_down_makes_a_confident_answer_a_gap(db):
    user = add_user(db, "tg:1")
    question = log(db, "how many naps should a 7 month old take", kind="answer", entry_id="sleep-naps-by-age",
                   score=1.8, user_id=user)
    vote(db, question, "sleep-naps-by-age", 0, user)
    assert [q.reason for q in gap_questions(db, NOW - timedelta(days=90))] == ["unhelpful"]


# Clustering ---------------------------------------------------------------------------------------------------


def seeded(db):
    for text in SWIM + PASSPORT:
        log(db, text)
    for text in SWIM_ZH + PASSPORT_ZH:
        log(db, text, lang="zh")
    log(db, "what car seat should i buy", kind="answer", entry_id="safety-car-seats-rear-facing", score=1.02)


def test_similar_questions_are_clustered_per_language_biggest_first(db, shared_model, segmenter, idf):
    seeded(db)
    calibration = model_calibration(shared_model)
    clusters = find_gaps(db, shared_model, segmenter, NOW, idf=idf, thresholds=calibration.gap_thresholds,
                         dense_weight=calibration.dense_weight)
    groups = [sorted(q.text for q in c.questions) for c in clusters]
    for expected in (SWIM, PASSPORT, SWIM_ZH, PASSPORT_ZH):
        assert sorted(expected) in groups
    assert ["what car seat should i buy"] in groups
    assert [c.count for c in clusters] == sorted((c.count for c in clusters), reverse=True)


def test_a_cluster_reports_count_languages_reasons_and_most_asked_examples(db, shared_model, segmenter):
    for text in SWIM + [SWIM[0]]:
        log(db, text)
    log(db, "can my baby swim in a public pool?", kind="answer", entry_id="safety-bath-water-drowning", score=1.05)
    (cluster,) = find_gaps(db, shared_model, segmenter, NOW, thresholds=model_calibration(shared_model).gap_thresholds)
    data = cluster.as_dict()
    assert data["count"] == 5 and data["distinct"] == 3
    assert data["languages"] == {"en": 5}
    assert data["reasons"] == {"no_answer": 4, "low_confidence": 1}
    assert data["examples"][0] == SWIM[0]
    assert data["entries"] == {"safety-bath-water-drowning": 1}


def model_calibration(model):
    """The calibration shipped for the session's model (its cosine scale sets the cluster thresholds)."""
    from bot.wiring import identity_of
    from retrieval.search import Calibration

    return Calibration.for_model(identity_of(model))


def test_chinese_questions_cluster_on_shared_rare_terms_or_the_multilingual_model(shared_model, segmenter, idf):
    from knowledge.gaps import GapQuestion

    texts = SWIM_ZH + PASSPORT_ZH + ["买什么安全座椅好"]
    questions = [GapQuestion(i, t, "zh", "no_answer", None, iso(NOW)) for i, t in enumerate(texts)]
    calibration = model_calibration(shared_model)
    groups = [sorted(q.text for q in c.questions) for c in cluster_questions(
        questions, shared_model, segmenter, calibration.gap_thresholds, calibration.dense_weight, idf=idf)]
    assert sorted(SWIM_ZH) in groups and sorted(PASSPORT_ZH) in groups and ["买什么安全座椅好"] in groups


@pytest.mark.parametrize("threshold, clusters", [(0.99, 3), (0.6, 1), (-1.0, 1)])
def test_the_cosine_threshold_decides_what_is_similar_enough(db, shared_model, segmenter, threshold, clusters):
    for text in SWIM:
        log(db, text)
    assert len(find_gaps(db, shared_model, segmenter, NOW, thresholds={"en": threshold})) == clusters


# Fixing a gap from the chat -----------------------------------------------------------------------------------


@pytest.fixture
def staffed(runtime):
    runtime.engine.settings = replace(runtime.engine.settings, curator_ids=frozenset({CURATOR}),
                                      reviewer_ids=frozenset({REVIEWER}))
    # Logged as families' unanswered questions (the log is what gaps read; what retrieval makes of them today
    # is what the recheck measures).
    for text in DAWN:
        runtime.db.execute("insert into question_log (asked_at, lang, question, kind, score) values "
                           "(?, 'en', ?, 'no_answer', 0.8)", [iso(runtime.clock()), text])
    return runtime


def act(runtime, user_id, **fields):
    runtime.clock.advance(seconds=5)
    return runtime.engine.handle(Incoming(f"tg:{user_id}", chat_id=user_id, telegram_user_id=user_id, **fields))


def buttons(replies):
    return [b.data for r in replies for row in r.buttons for b in row]


def text_of(replies):
    return "\n".join(r.text for r in replies)


def test_gaps_lists_the_cluster_as_not_answered_with_attach_and_draft_buttons(staffed):
    replies = act(staffed, CURATOR, command="gaps", text="/gaps")
    assert "bubs up at dawn every day what do" in text_of(replies)
    assert "4 questions" in text_of(replies) and "Answered now:" in text_of(replies)
    assert "Answered now: 3 of 3" not in text_of(replies)
    assert any(b.startswith("cur:gap:a:") for b in buttons(replies))
    assert any(b.startswith("cur:gap:d:") for b in buttons(replies))


def test_attaching_a_cluster_then_publishing_answers_its_questions(staffed):
    gaps = act(staffed, CURATOR, command="gaps", text="/gaps")
    attach = next(b for b in buttons(gaps) if b.startswith("cur:gap:a:"))
    act(staffed, CURATOR, callback=attach)
    replies = act(staffed, CURATOR, text="sleep-early-morning-waking")
    assert "proposal #" in text_of(replies)
    live = staffed.answerer.retriever.live.snapshot.entries["sleep-early-morning-waking"]
    assert "bubs up at dawn every day what do" not in live.text("en").questions  # not live before review
    proposal_id = staffed.db.execute("select id from proposals where state = 'in_review'").fetchone()[0]
    assert "Published" in text_of(act(staffed, REVIEWER, callback=f"cur:pub:{proposal_id}"))
    published = staffed.answerer.retriever.live.snapshot.entries["sleep-early-morning-waking"]
    assert "bubs up at dawn every day what do" in published.text("en").questions
    after = text_of(act(staffed, CURATOR, command="gaps", text="/gaps"))
    assert "Attached to sleep-early-morning-waking (published)" in after
    assert "Answered now: 3 of 3 (by sleep-early-morning-waking)" in after
    audited = staffed.db.execute("select actor, action, target from audit_log where action like 'gap_%'").fetchall()
    assert audited == [(f"tg:{CURATOR}", "gap_attach", "sleep-early-morning-waking")]


def test_a_draft_from_a_cluster_offers_its_questions_and_is_remembered(staffed):
    gaps = act(staffed, CURATOR, command="gaps", text="/gaps")
    draft = next(b for b in buttons(gaps) if b.startswith("cur:gap:d:"))
    act(staffed, CURATOR, callback=draft)
    act(staffed, CURATOR, callback="cur:topic:sleep")
    act(staffed, CURATOR, text="6-36")
    act(staffed, CURATOR, text="Up at dawn")
    act(staffed, CURATOR, text="Many babies and toddlers wake very early. A darker room, a later nap and patience "
                               "usually help more than a later bedtime.")
    replies = act(staffed, CURATOR, callback="cur:next")
    assert "cur:useq" in buttons(replies) and "bubs up at dawn every day what do" in text_of(replies)
    act(staffed, CURATOR, callback="cur:useq")
    act(staffed, CURATOR, text="天亮就醒")
    act(staffed, CURATOR, text="很多宝宝和幼儿醒得很早。把房间弄暗一些、调整白天小睡的时间，并耐心坚持，通常比推迟晚上入睡时间更有效。"
                               "如果孩子白天精神好、吃得好、玩得开心，早醒本身通常不是问题，不需要太担心。")
    act(staffed, CURATOR, callback="cur:next")
    act(staffed, CURATOR, text="宝宝天不亮就醒\n娃每天五点就醒\n孩子醒得太早怎么办")
    act(staffed, CURATOR, text="NHS | Helping your baby to sleep | https://www.nhs.uk/baby/sleep/ | 2023")
    submitted = act(staffed, CURATOR, callback="cur:submit")
    assert "waiting for review" in text_of(submitted), text_of(submitted)
    action = staffed.db.execute("select action, entry_id, proposal_id from gap_actions").fetchone()
    assert action[0] == "draft" and action[1] == "sleep-up-at-dawn" and action[2] is not None


# Usage statistics --------------------------------------------------------------------------------------------


@pytest.fixture
def usage(db):
    """Two families asking, voting and receiving messages; every personal detail is a string the output
    must not contain."""
    db.execute("insert into entries (id, topic, age_min, age_max, status, author, sources, content_hash, updated_at) "
               "values ('sleep-naps-by-age', 'sleep', 0, 36, 'published', 'a', '[]', 'h', 'now'), "
               "('feeding-honey-before-12-months', 'feeding', 0, 12, 'published', 'a', '[]', 'h', 'now')")
    ana = add_user(db, "tg:424242", chat_id=424242)
    bo = add_user(db, "local:bo-private-name")
    db.execute("insert into children (user_id, name, birth_date, created_at) values (?, 'Secretchildname', "
               "'2026-05-01', 'now')", [ana])
    q1 = log(db, "Ana asks about naps", kind="answer", entry_id="sleep-naps-by-age", score=1.6, user_id=ana)
    q2 = log(db, "Bo asks about naps", kind="answer", entry_id="sleep-naps-by-age", score=1.7, user_id=bo, days_ago=2)
    q3 = log(db, "Bo asks about honey", kind="answer", entry_id="feeding-honey-before-12-months", score=1.9,
             user_id=bo, days_ago=2)
    log(db, "Ana asks the unanswerable", kind="no_answer", user_id=ana)
    log(db, "", kind="emergency", score=None, user_id=ana)
    log(db, "Long ago", kind="answer", entry_id="sleep-naps-by-age", score=1.6, days_ago=60)
    vote(db, q1, "sleep-naps-by-age", 1, ana)
    vote(db, q2, "sleep-naps-by-age", 0, bo)
    vote(db, q3, "feeding-honey-before-12-months", 1, bo)
    for n, (kind, state) in enumerate([("tip", "sent"), ("tip", "sent"), ("milestone", "sent"), ("tip", "failed"),
                                       ("announcement", "sent")]):
        db.execute("insert into deliveries (dedupe_key, user_id, kind, item_id, due_at, state, finished_at) values "
                   "(?, ?, ?, 'x', ?, ?, ?)", [f"k{n}", ana, kind, iso(NOW), state, iso(NOW)])
    return db


def test_stats_count_questions_per_day_and_the_answer_rate(usage):
    stats = usage_stats(usage, NOW, 30)
    assert stats["questions"]["per_day"] == {"2026-11-18": 2, "2026-11-19": 3}
    assert stats["questions"]["by_kind"] == {"answer": 3, "emergency": 1, "no_answer": 1}
    assert stats["answer_rate"] == 0.75 and stats["answer_rate_by_language"] == {"en": 0.75}


def test_stats_give_helpfulness_per_entry_and_topic(usage):
    helpfulness = usage_stats(usage, NOW, 30)["helpfulness"]
    assert helpfulness["votes"] == 3 and helpfulness["rate"] == 0.667
    assert helpfulness["by_entry"]["sleep-naps-by-age"] == {"helpful": 1, "not_helpful": 1, "rate": 0.5}
    assert helpfulness["by_topic"] == {"feeding": {"helpful": 1, "not_helpful": 0, "rate": 1.0},
                                       "sleep": {"helpful": 1, "not_helpful": 1, "rate": 0.5}}


def test_stats_give_most_asked_topics_and_messages_sent_by_kind(usage):
    stats = usage_stats(usage, NOW, 30)
    assert stats["top_topics"] == [{"topic": "sleep", "questions": 2}, {"topic": "feeding", "questions": 1}]
    assert stats["tips_sent"] == {"announcement": 1, "milestone": 1, "tip": 2}


def test_service_searches_are_reported_as_not_logged_rather_than_invented(usage):
    stats = usage_stats(usage, NOW, 30)
    assert stats["services_searches"] is None
    assert any("not logged" in note for note in stats["notes"])


@pytest.mark.parametrize("secret", ["424242", "bo-private-name", "Secretchildname", "Ana asks", "Bo asks",
                                    "unanswerable", "user_id", "chat_id"])
def test_stats_contain_no_personal_data(usage, secret):
    assert secret not in json.dumps(usage_stats(usage, NOW, 30), ensure_ascii=False)


def test_stats_cli_prints_the_same_json(usage, tmp_path):
    result = CliRunner().invoke(cli, ["stats", "--json", "--days", "3650"], env={"SPROUT_DATA_DIR": str(tmp_path),
                                                                                  "SPROUT_DB_PATH": str(tmp_path / "sprout.db")})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["helpfulness"]["votes"] == 3 and data["services_searches"] is None


def test_stats_in_the_chat_show_rates_without_question_text(staffed):
    replies = act(staffed, CURATOR, command="stats", text="/stats")
    text = text_of(replies)
    assert "Answer rate: 0%" in text and "Questions: 4" in text
    assert "dawn" not in text


def test_gaps_cli_json_lists_clusters_with_answered_now(staffed):
    # The command uses the real clock: a wide window keeps the questions logged on the test clock's day in it.
    result = CliRunner().invoke(cli, ["gaps", "--json", "--days", "3650"],
                                env={"SPROUT_DATA_DIR": str(staffed.settings.data_dir)})
    assert result.exit_code == 0, result.output
    (cluster,) = json.loads(result.stdout)["clusters"]
    assert cluster["count"] == 4 and cluster["languages"] == {"en": 4} and cluster["checked"] == 3
