"""/return_to_work end to end through the conversation engine: both languages, back, cancel, a restart in the
middle, invalid input at every step, the calendar file and the reminders."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from icalendar import Calendar

from bot.engine import Engine
from bot.features.profile import Profile
from bot.features.return_to_work import ReturnToWork
from bot.features.tips import compose_delivery
from bot.messages import Incoming, Reply
from bot.render import Renderer
from knowledge.bundle import load_knowledge
from knowledge.db import open_database
from knowledge.deliveries import Delivery
from knowledge.settings import REPO_ROOT

BIRTH = "2026-09-30"           # the clock fixture says 20 November 2026
BEIJING_FIRST_DAY = date(2027, 2, 20)


@pytest.fixture(scope="module")
def kb():
    loaded, _ = load_knowledge(REPO_ROOT / "content", date(2026, 11, 20))
    return loaded


@pytest.fixture(scope="module")
def renderer():
    return Renderer()


def build_engine(settings, kb, renderer, clock, *extra) -> Engine:
    # The clock stands still, so a whole conversation would trip the per-minute flood guard.
    settings = replace(settings, messages_per_minute=10_000)
    engine = Engine(settings, open_database(settings.db_path), kb, renderer, clock)
    engine.add(Profile())
    engine.add(ReturnToWork())
    for feature in extra:
        engine.add(feature)
    return engine


class Chat:
    """One parent talking to the engine; `tap` only presses buttons the last replies actually showed."""

    def __init__(self, engine: Engine, lang: str = "en", key: str = "local:parent"):
        self.engine, self.lang, self.key = engine, lang, key
        self.replies: list[Reply] = []

    def send(self, **fields) -> list[Reply]:
        self.replies = self.engine.handle(Incoming(self.key, language_hint=self.lang, **fields))
        return self.replies

    def say(self, text: str) -> list[Reply]:
        return self.send(text=text)

    def command(self, name: str) -> list[Reply]:
        return self.send(command=name, text=f"/{name}")

    def tap(self, data: str) -> list[Reply]:
        shown = [b.data for r in self.replies for row in r.buttons for b in row]
        assert data in shown, f"{data!r} not among {shown}"
        return self.send(callback=data)

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    @property
    def pending(self):
        user = self.engine.users.find(self.key)
        return self.engine.pending(user.id) if user else None

    def user(self):
        return self.engine.users.find(self.key)


@pytest.fixture
def engine(settings, kb, renderer, clock):
    return build_engine(settings, kb, renderer, clock)


@pytest.fixture
def chat(engine):
    return Chat(engine)


def consent(chat: Chat) -> None:
    chat.send(callback="consent:yes")


ORDER = ("child", "region", "return", "pattern", "feeding", "care")


def answer_between(chat: Chat, first: str, stop: str, birth: str = BIRTH, region: str = "Beijing") -> None:
    """Answer each question from `first` up to (not including) `stop`; 'plan' answers them all."""
    acts = {"child": lambda: chat.say(birth), "region": lambda: chat.say(region),
            "return": lambda: chat.tap("rtw:return:suggested"), "pattern": lambda: chat.tap("rtw:pattern:full"),
            "feeding": lambda: chat.tap("rtw:feeding:yes"), "care": lambda: chat.tap("rtw:care:nursery")}
    end = ORDER.index(stop) if stop in ORDER else len(ORDER)
    for name in ORDER[ORDER.index(first):end]:
        acts[name]()


def answer_up_to(chat: Chat, step: str, birth: str = BIRTH, region: str = "Beijing") -> None:
    """Start the plan and answer every question before `step`."""
    chat.command("return_to_work")
    answer_between(chat, "child", step, birth, region)


def ics_events(reply: Reply) -> dict[str, date]:
    calendar = Calendar.from_ical(reply.document.content)
    return {str(e["uid"]).split("-")[1]: e.decoded("dtstart") for e in calendar.walk("VEVENT")}


def document(replies: list[Reply]) -> Reply:
    return next(r for r in replies if r.document is not None)


# The whole conversation ------------------------------------------------------------------------------------

def test_the_whole_conversation_in_english_ends_with_a_plan_and_a_calendar(chat):
    answer_up_to(chat, "care")
    replies = chat.tap("rtw:care:nursery")
    assert "Maternity leave: 158 days" in chat.text
    assert "19 February 2027" in replies[0].text and "20 February 2027" in replies[1].text
    assert "30 September 2027" in replies[0].text          # nursing breaks until the first birthday
    assert "Breastfeeding at work" in replies[2].text and "up to 4 days" in replies[2].text
    assert chat.engine.kb.leave.caveat["en"] in replies[0].text
    doc = document(replies)
    assert doc.document.mime_type == "text/calendar" and doc.document.filename.endswith(".ics")
    assert chat.pending is None


def test_the_whole_conversation_in_chinese_accepts_typed_choices(settings, kb, renderer, clock):
    chat = Chat(build_engine(settings, kb, renderer, clock), lang="zh")
    chat.command("return_to_work")
    assert "宝宝是哪天出生的" in chat.text
    chat.say("2026年9月30日")
    chat.say("广东省")
    assert "法定产假共 178 天" in chat.text
    chat.say("2027-03-12")
    chat.say("轮班")
    chat.say("混合喂养")
    replies = chat.say("老人")
    assert "**产假：共 178 天**" in replies[0].text and "2027年3月11日" in replies[0].text
    assert "轮班" in replies[2].text and "上班背奶" in replies[2].text
    assert ics_events(document(replies))["first_day"] == date(2027, 3, 12)


@pytest.mark.parametrize("lang, step_texts", [
    ("en", ["(1/6)", "(2/6)", "(3/6)", "(4/6)", "(5/6)", "(6/6)"]),
    ("zh", ["（1/6）", "（2/6）", "（3/6）", "（4/6）", "（5/6）", "（6/6）"]),
])
def test_each_question_says_which_step_it_is(settings, kb, renderer, clock, lang, step_texts):
    chat = Chat(build_engine(settings, kb, renderer, clock), lang=lang)
    for step, expected in zip(ORDER, step_texts):
        answer_up_to(chat, step)
        assert chat.replies[-1].text.startswith(expected), step


def test_every_question_after_the_first_has_back_and_cancel_buttons(chat):
    for step in ("region", "return", "pattern", "feeding", "care"):
        answer_up_to(chat, step)
        data = [b.data for b in chat.replies[-1].buttons[-1]]
        assert data == ["rtw:back", "rtw:cancel"], step


def test_the_first_question_has_cancel(chat):
    chat.command("return_to_work")
    assert [b.data for b in chat.replies[-1].buttons[-1]] == ["rtw:cancel"]


def test_the_suggested_return_button_is_the_day_after_statutory_leave(chat):
    answer_up_to(chat, "return")
    assert "20 February 2027" in chat.replies[-1].buttons[0][0].label
    chat.tap("rtw:return:suggested")
    assert chat.pending["return"] == "2027-02-20"


def test_free_text_outside_the_plan_still_goes_to_the_question_answerer(settings, kb, renderer, clock):
    class FakeAsk:
        def on_text(self, turn):
            return [Reply("an answer")]

    engine = Engine(replace(settings, messages_per_minute=10_000), open_database(settings.db_path), kb, renderer,
                    clock)
    for feature in (Profile(), FakeAsk(), ReturnToWork()):  # the order bot/wiring.py uses
        engine.add(feature)
    chat = Chat(engine)
    assert chat.say("how long should a 4 month old sleep")[0].text == "an answer"
    answer_up_to(chat, "region")
    assert chat.say("Beijing")[0].text.startswith("(3/6)")


# Registered children and consent -----------------------------------------------------------------------------

def test_a_registered_child_is_offered_as_a_button_when_the_user_consented(chat, engine):
    consent(chat)
    child = engine.users.add_child(chat.user().id, "Mei", date(2026, 9, 30), "day", 0)
    chat.command("return_to_work")
    chat.tap(f"rtw:child:{child.id}")
    assert chat.pending == {"flow": "rtw", "step": "region", "birth": BIRTH, "child_id": child.id}


def test_children_are_not_offered_without_consent(chat, engine):
    chat.command("return_to_work")
    engine.users.add_child(chat.user().id, "Mei", date(2026, 9, 30), "day", 0)
    chat.command("return_to_work")
    assert [b.data for r in chat.replies for row in r.buttons for b in row] == ["rtw:cancel"]


def test_another_users_child_cannot_be_chosen(chat, engine):
    other, _ = engine.users.get_or_create("local:other", None, "en", "CN")
    child = engine.users.add_child(other.id, None, date(2026, 9, 30), "day", 0)
    consent(chat)
    chat.command("return_to_work")
    chat.send(callback=f"rtw:child:{child.id}")
    assert chat.pending["step"] == "child"


# Back and cancel ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("step, previous", [
    ("region", "child"), ("return", "region"), ("pattern", "return"), ("feeding", "pattern"), ("care", "feeding"),
])
def test_back_returns_to_the_previous_question_keeping_the_answers(chat, step, previous):
    answer_up_to(chat, step)
    chat.tap("rtw:back")
    assert chat.pending["step"] == previous
    assert chat.pending.get("birth") == BIRTH


def test_going_back_lets_the_answer_be_changed(chat):
    answer_up_to(chat, "pattern")
    chat.tap("rtw:back")
    chat.say("2027-04-01")
    assert chat.pending["return"] == "2027-04-01" and chat.pending["step"] == "pattern"


@pytest.mark.parametrize("step", ["child", "region", "return", "pattern", "feeding", "care"])
def test_cancel_ends_the_conversation_at_any_step(chat, renderer, step):
    answer_up_to(chat, step)
    chat.tap("rtw:cancel")
    assert chat.pending is None
    assert chat.text == renderer.t("rtw.cancelled", "en")


def test_the_cancel_command_also_ends_it(chat):
    answer_up_to(chat, "feeding")
    chat.command("cancel")
    assert chat.pending is None


def test_a_button_from_an_earlier_question_shows_the_current_one_again(chat, renderer):
    answer_up_to(chat, "feeding")
    chat.send(callback="rtw:region:CN-SH")
    assert chat.replies[0].text == renderer.t("rtw.stale", "en")
    assert chat.pending["step"] == "feeding" and chat.pending["region"] == "CN-BJ"


def test_flow_buttons_after_the_conversation_ended_are_stale(chat, renderer):
    answer_up_to(chat, "pattern")
    chat.tap("rtw:cancel")
    chat.send(callback="rtw:pattern:full")
    assert chat.text == renderer.t("error.stale_button", "en")


# A restart in the middle -----------------------------------------------------------------------------------

@pytest.mark.parametrize("step", ORDER)
def test_a_restart_in_the_middle_continues_where_it_stopped(settings, kb, renderer, clock, step):
    first = Chat(build_engine(settings, kb, renderer, clock))
    answer_up_to(first, step)
    first.engine.db.conn.close()
    chat = Chat(build_engine(settings, kb, renderer, clock))
    chat.replies = first.replies  # the buttons the parent still sees in the chat
    assert chat.pending["step"] == step
    answer_between(chat, step, "plan")
    assert ics_events(document(chat.replies))["first_day"] == BEIJING_FIRST_DAY


def test_back_still_works_after_a_restart(settings, kb, renderer, clock):
    first = Chat(build_engine(settings, kb, renderer, clock))
    answer_up_to(first, "feeding")
    first.engine.db.conn.close()
    chat = Chat(build_engine(settings, kb, renderer, clock))
    chat.send(callback="rtw:back")
    assert chat.pending["step"] == "pattern" and chat.pending["return"] == "2027-02-20"


def test_the_answers_given_before_a_restart_are_used_in_the_plan(settings, kb, renderer, clock):
    first = Chat(build_engine(settings, kb, renderer, clock))
    answer_up_to(first, "pattern", region="上海")
    first.engine.db.conn.close()
    chat = Chat(build_engine(settings, kb, renderer, clock))
    chat.say("part-time")
    chat.say("no")
    replies = chat.say("not decided")
    assert "Your leave and entitlements: Shanghai" in replies[0].text
    assert "Part-time" in replies[2].text and "Breastfeeding at work" not in replies[2].text


# Invalid input at every step -------------------------------------------------------------------------------

@pytest.mark.parametrize("step, typed, key", [
    ("child", "yesterday", "rtw.error_date_format"),
    ("child", "2026-02-30", "rtw.error_date_impossible"),
    ("child", "2023-11-20", "rtw.error_birth_too_old"),
    ("child", "2027-12-01", "rtw.error_birth_future"),
    ("region", "x", "rtw.region_too_long"),
    ("region", "a very long sentence that is not a province", "rtw.region_too_long"),
    ("return", "soon", "rtw.error_date_format"),
    ("return", "2027-02-29", "rtw.error_date_impossible"),
    ("return", "2026-09-01", "rtw.error_return_before_birth"),
    ("return", "2029-10-01", "rtw.error_return_too_late"),
    ("pattern", "sometimes", "rtw.error_choose"),
    ("feeding", "perhaps", "rtw.error_choose"),
    ("care", "the moon", "rtw.error_choose"),
])
def test_invalid_input_gets_a_friendly_reason_and_the_same_question_stays(chat, renderer, step, typed, key):
    answer_up_to(chat, step)
    chat.say(typed)
    expected = renderer.t(key, "en", birth=date(2026, 9, 30), limit=date(2029, 9, 30))
    assert chat.text == expected
    assert chat.pending["step"] == step
    assert [b.data for b in chat.replies[-1].buttons[-1]][-1] == "rtw:cancel"


def test_a_return_more_than_a_year_ago_is_refused(chat, renderer):
    answer_up_to(chat, "return", birth="2024-06-01")
    chat.say("2025-11-01")
    assert chat.text == renderer.t("rtw.error_return_past", "en")


@pytest.mark.parametrize("lang, typed, key", [
    ("zh", "2026-02-30", "rtw.error_date_impossible"), ("zh", "明天", "rtw.error_date_format"),
])
def test_errors_are_given_in_the_users_language(settings, kb, renderer, clock, lang, typed, key):
    chat = Chat(build_engine(settings, kb, renderer, clock), lang=lang)
    chat.command("return_to_work")
    chat.say(typed)
    assert chat.text == renderer.t(key, lang)


@pytest.mark.parametrize("typed", ["Atlantis", "火星省"])
def test_an_unknown_region_falls_back_to_the_national_baseline_and_says_so(chat, renderer, typed):
    answer_up_to(chat, "region")
    chat.say(typed)
    assert chat.replies[0].text == renderer.t("rtw.region_unknown", "en", name=typed)
    assert chat.pending["step"] == "return" and chat.pending["region"] == "other"
    chat.tap("rtw:return:suggested")
    chat.tap("rtw:pattern:full")
    chat.tap("rtw:feeding:no")
    replies = chat.tap("rtw:care:family")
    assert f"“{typed}”" in replies[0].text and "national minimums" in replies[0].text
    assert "Maternity leave: 98 days" in replies[0].text


@pytest.mark.parametrize("typed", ["河北", "皖"])
def test_an_unconfirmed_region_says_so_links_the_text_and_never_guesses_a_date(chat, renderer, typed):
    answer_up_to(chat, "region")
    chat.say(typed)
    assert "rtw:return:suggested" not in [b.data for r in chat.replies for row in r.buttons for b in row]
    assert "I haven't confirmed how many days" in chat.text
    chat.say("2027-03-01")
    chat.tap("rtw:pattern:full")
    chat.tap("rtw:feeding:no")
    replies = chat.tap("rtw:care:family")
    plan = replies[0].text
    assert "Maternity leave: at least 98 days" in plan and "Not checked yet" in plan
    assert "人口与计划生育条例" in plan and "I won't guess" in plan
    assert "leave_end" not in ics_events(document(replies))


def test_a_confirmed_figure_shows_its_article_and_revision_date(chat):
    answer_up_to(chat, "care")
    plan = chat.tap("rtw:care:nursery")[0].text
    assert "15 days (第十九条, revision of 26 November 2021)" in plan
    assert "Childcare leave (育儿假):** Not confirmed yet" in plan
    assert "http://www.beijing.gov.cn/zhengce/dfxfg/202111/t20211126_2546761.html" in plan


@pytest.mark.parametrize("lang, typed, expected", [
    ("en", "Hong Kong", ["Maternity leave: 98 days", "(s. 12 (Part III) 第12條", "5 days (Part IIIA",
                         "elegislation.gov.hk/hk/cap57", "do not apply"]),
    ("zh", "台湾", ["产假：共 56 天", "第15條第1項", "7 天（第15條第5項", "law.moj.gov.tw", "不适用"]),
])
def test_hong_kong_and_taiwan_plans_use_their_own_law(settings, kb, renderer, clock, lang, typed, expected):
    chat = Chat(build_engine(settings, kb, renderer, clock), lang=lang)
    chat.command("return_to_work")
    chat.say(BIRTH)
    chat.say(typed)
    chat.tap("rtw:return:suggested")
    chat.tap("rtw:pattern:full")
    chat.tap("rtw:feeding:yes")
    plan = chat.tap("rtw:care:nursery")[0].text
    assert all(part in plan for part in expected), plan
    assert "女职工劳动保护特别规定" not in plan    # no mainland baseline


def test_a_chinese_short_name_of_one_character_is_accepted(chat):
    answer_up_to(chat, "region")
    chat.say("粤")
    assert chat.pending["region"] == "CN-GD" and chat.pending["step"] == "return"


def test_other_region_button_uses_the_national_baseline(chat, renderer):
    answer_up_to(chat, "region")
    chat.tap("rtw:region:other")
    assert chat.replies[0].text == renderer.t("rtw.region_other_chosen", "en")
    assert "98 days" in chat.replies[-1].text


# The plan's content and buttons --------------------------------------------------------------------------

def test_the_plan_links_to_guidance_entries_that_exist(chat, kb):
    answer_up_to(chat, "care")
    replies = chat.tap("rtw:care:nursery")
    links = [b.data for r in replies for row in r.buttons for b in row if b.data.startswith("ask:")]
    assert links == ["ask:work-expressing-milk-at-work", "ask:work-talking-with-your-employer",
                     "ask:care-settling-in-nursery", "ask:work-feelings-about-returning-to-work"]
    assert all(kb.entry(link[4:]).status == "published" for link in links)


def test_a_return_soon_marks_early_steps_as_soon_as_possible(chat):
    answer_up_to(chat, "return", birth="2026-07-01")
    chat.say("2026-12-01")
    chat.tap("rtw:pattern:full")
    chat.tap("rtw:feeding:yes")
    replies = chat.tap("rtw:care:nursery")
    assert "**20 November 2026 (as soon as possible)**" in replies[1].text
    assert "less than eight weeks away" in replies[1].text
    assert min(ics_events(document(replies)).values()) >= date(2026, 11, 20)


def test_a_return_before_statutory_leave_ends_is_pointed_out(chat):
    answer_up_to(chat, "return")
    chat.say("2027-01-04")
    chat.tap("rtw:pattern:full")
    chat.tap("rtw:feeding:no")
    replies = chat.tap("rtw:care:family")
    assert "before your statutory maternity leave ends (19 February 2027)" in replies[1].text


def test_the_nearby_button_hands_over_to_the_nearby_command(settings, kb, renderer, clock):
    class FakeNearby:
        commands = {"nearby": lambda turn: [Reply("where are you?")]}

    chat = Chat(build_engine(settings, kb, renderer, clock, FakeNearby()))
    answer_up_to(chat, "care")
    chat.tap("rtw:care:undecided")
    assert chat.tap("rtw:nearby")[0].text == "where are you?"


def test_no_nearby_button_without_the_nearby_feature(chat):
    answer_up_to(chat, "care")
    chat.tap("rtw:care:nursery")
    assert "rtw:nearby" not in [b.data for r in chat.replies for row in r.buttons for b in row]


def test_no_nearby_button_for_family_care(settings, kb, renderer, clock):
    class FakeNearby:
        commands = {"nearby": lambda turn: []}

    chat = Chat(build_engine(settings, kb, renderer, clock, FakeNearby()))
    answer_up_to(chat, "care")
    chat.tap("rtw:care:family")
    assert "rtw:nearby" not in [b.data for r in chat.replies for row in r.buttons for b in row]


# The calendar file ---------------------------------------------------------------------------------------------

def test_the_calendar_holds_all_day_events_on_the_plan_dates(chat):
    answer_up_to(chat, "care")
    events = ics_events(document(chat.tap("rtw:care:nursery")))
    assert events == {
        "choose_care": date(2026, 12, 26), "enrol": date(2027, 1, 9), "bottle": date(2027, 1, 23),
        "expressing": date(2027, 1, 30), "settling": date(2027, 2, 6), "leave_end": date(2027, 2, 19),
        "first_day": date(2027, 2, 20), "checkin": date(2027, 3, 6), "nursing_end": date(2027, 9, 30),
    }


def test_calendar_events_are_all_day_and_named_in_the_users_language(settings, kb, renderer, clock):
    chat = Chat(build_engine(settings, kb, renderer, clock), lang="zh")
    answer_up_to(chat, "care")
    calendar = Calendar.from_ical(document(chat.tap("rtw:care:family")).document.content)
    first = next(e for e in calendar.walk("VEVENT") if "first_day" in str(e["uid"]))
    assert str(first["summary"]) == renderer.t("rtw.event.first_day", "zh")
    assert first["dtstart"].params.get("VALUE") == "DATE"
    assert (first.decoded("dtend") - first.decoded("dtstart")).days == 1


def test_sending_the_calendar_again_keeps_the_same_uids_for_a_changed_plan(chat, clock):
    answer_up_to(chat, "care")
    first = Calendar.from_ical(document(chat.tap("rtw:care:nursery")).document.content)
    answer_up_to(chat, "return")
    chat.say("2027-03-01")
    chat.tap("rtw:pattern:full")
    chat.tap("rtw:feeding:yes")
    clock.advance(minutes=5)
    second = Calendar.from_ical(document(chat.tap("rtw:care:nursery")).document.content)
    uids = lambda cal: {str(e["uid"]) for e in cal.walk("VEVENT")}  # noqa: E731
    assert uids(first) == uids(second)
    later = {str(e["uid"]): int(e["sequence"]) for e in second.walk("VEVENT")}
    assert all(later[str(e["uid"])] > int(e["sequence"]) for e in first.walk("VEVENT"))


def test_the_calendar_button_sends_the_file_again(chat):
    answer_up_to(chat, "care")
    chat.tap("rtw:care:nursery")
    data = next(b.data for r in chat.replies for row in r.buttons for b in row if b.data.startswith("rtw:ics:"))
    again = chat.tap(data)
    assert ics_events(again[0])["first_day"] == BEIJING_FIRST_DAY


# Reminders -------------------------------------------------------------------------------------------------

def remind_button(chat: Chat) -> str | None:
    return next((b.data for r in chat.replies for row in r.buttons for b in row if b.data.startswith("rtw:remind:")),
                None)


def reminder_rows(engine: Engine, state: str = "pending") -> list[tuple]:
    return engine.db.execute("select dedupe_key, item_id, due_at, child_id from deliveries where kind = 'reminder' "
                             "and state = ? order by due_at", [state]).fetchall()


def test_the_reminder_button_is_only_offered_with_consent(chat):
    answer_up_to(chat, "care")
    chat.tap("rtw:care:nursery")
    assert remind_button(chat) is None


def test_a_reminder_callback_without_consent_asks_for_it_and_stores_nothing(chat, engine, renderer):
    chat.command("return_to_work")
    chat.send(callback="rtw:remind:20260930:20270220:CN-BJ:y:n:0")
    assert chat.replies[0].text == renderer.t("rtw.consent_needed", "en")
    assert reminder_rows(engine) == []


def test_reminders_are_queued_the_day_before_each_key_date_at_nine_local(chat, engine):
    consent(chat)
    answer_up_to(chat, "care")
    chat.tap("rtw:care:nursery")
    chat.tap(remind_button(chat))
    rows = reminder_rows(engine)
    user_id = chat.user().id
    assert rows[0] == (f"reminder:{user_id}:rtw_choose_care:2026-12-26", "rtw_choose_care:2026-12-26",
                       "2026-12-25T01:00:00Z", None)
    assert (f"reminder:{user_id}:rtw_first_day:2027-02-20", "rtw_first_day:2027-02-20", "2027-02-19T01:00:00Z",
            None) in rows
    assert len(rows) == 9


def test_reminders_for_a_registered_child_are_tied_to_the_child(chat, engine):
    consent(chat)
    child = engine.users.add_child(chat.user().id, "Mei", date(2026, 9, 30), "day", 0)
    chat.command("return_to_work")
    chat.tap(f"rtw:child:{child.id}")
    chat.say("Beijing")
    chat.tap("rtw:return:suggested")
    chat.tap("rtw:pattern:full")
    chat.tap("rtw:feeding:yes")
    chat.tap("rtw:care:nursery")
    chat.tap(remind_button(chat))
    assert {row[3] for row in reminder_rows(engine)} == {child.id}
    engine.users.remove_child(chat.user().id, child.id)
    assert reminder_rows(engine) == []


def test_asking_twice_for_the_same_plan_does_not_duplicate_reminders(chat, engine):
    consent(chat)
    answer_up_to(chat, "care")
    chat.tap("rtw:care:nursery")
    button = remind_button(chat)
    chat.tap(button)
    chat.send(callback=button)
    assert len(reminder_rows(engine)) == 9
    assert engine.db.execute("select count(*) from deliveries").fetchone()[0] == 9


def test_a_new_plan_replaces_the_reminders_of_the_old_one(chat, engine):
    consent(chat)
    answer_up_to(chat, "care")
    chat.tap("rtw:care:nursery")
    chat.tap(remind_button(chat))
    answer_up_to(chat, "return")
    chat.say("2027-03-01")
    chat.tap("rtw:pattern:full")
    chat.tap("rtw:feeding:no")
    chat.tap("rtw:care:family")
    chat.tap(remind_button(chat))
    pending = {row[1] for row in reminder_rows(engine)}
    assert "rtw_first_day:2027-03-01" in pending and "rtw_first_day:2027-02-20" not in pending
    assert "rtw_first_day:2027-02-20" in {row[1] for row in reminder_rows(engine, "skipped")}


def test_the_stop_button_cancels_pending_reminders(chat, engine, renderer):
    consent(chat)
    answer_up_to(chat, "care")
    chat.tap("rtw:care:nursery")
    chat.tap(remind_button(chat))
    chat.tap("rtw:unremind")
    assert reminder_rows(engine) == []
    assert chat.text == renderer.t("rtw.reminders_stopped", "en")


@pytest.mark.parametrize("lang, expected", [("en", "First day back at work"), ("zh", "返岗第一天")])
def test_the_tips_sender_composes_a_reminder_in_the_users_language(engine, renderer, kb, lang, expected):
    compose = compose_delivery(renderer, engine.db, kb, {})
    delivery = Delivery(1, "reminder:1:rtw_first_day:2027-02-20", 1, None, "reminder", "rtw_first_day:2027-02-20",
                        "2027-02-19T01:00:00Z", 5, lang)
    reply = compose(delivery)
    assert expected in reply.text and ("20 February 2027" in reply.text or "2027年2月20日" in reply.text)


def test_the_tips_sender_skips_a_reminder_it_does_not_know(engine, renderer, kb):
    compose = compose_delivery(renderer, engine.db, kb, {})
    delivery = Delivery(1, "reminder:1:other:2027-02-20", 1, None, "reminder", "rtw_unknown:2027-02-20",
                        "2027-02-19T01:00:00Z", 5, "en")
    assert compose(delivery) is None


# Callback data ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    "rtw:ics:2026930:20270220:CN-BJ:y:n:0", "rtw:ics:20260230:20270220:CN-BJ:y:n:0", "rtw:remind:x",
    "rtw:ics:20260930:20270220:CN-BJ:q:n:0", "rtw:nonsense",
])
def test_malformed_plan_buttons_are_treated_as_stale(chat, renderer, data):
    chat.send(callback=data)
    assert chat.text == renderer.t("error.stale_button", "en")


def test_every_button_fits_telegrams_64_byte_limit(chat):
    consent(chat)
    answer_up_to(chat, "care")
    chat.tap("rtw:care:undecided")
    assert all(len(b.data.encode()) <= 64 for r in chat.replies for row in r.buttons for b in row)


# The youngest age care takes, from the service data (issue #22) ---------------------------------------------------

def services_engine(settings, kb, renderer, clock):
    from bot.features.nearby import Nearby

    engine = build_engine(settings, kb, renderer, clock)
    engine.add(Nearby(engine.db, settings.content_dir))  # imports the bundled service data
    return engine


def test_a_baby_younger_than_any_employer_nursery_takes_gets_the_age_from_the_data_and_a_plan_for_the_gap(
        settings, kb, renderer, clock):
    from knowledge.services import youngest_care_age

    engine = services_engine(settings, kb, renderer, clock)
    youngest = youngest_care_age(engine.db, "employer")
    assert youngest is not None and youngest > 5  # the bundled data: employer nurseries take older babies
    chat = Chat(engine)
    answer_up_to(chat, "care")
    chat.tap("rtw:care:employer")
    text = chat.text
    assert f"youngest age any employer nursery takes is {youngest} months" in text
    assert "If your leave ends before then" in text and "from about 6 months" not in text
    plan = chat.replies[1].text
    enrol_line = next(line for line in plan.splitlines() if "Register and enrol" in line)
    first_day = next(line for line in plan.splitlines() if "First day back" in line)
    assert plan.index(first_day) < plan.index(enrol_line)  # enrolling comes when the baby is old enough


def test_the_chinese_plan_takes_the_same_age_from_the_data(settings, kb, renderer, clock):
    from knowledge.services import youngest_care_age

    engine = services_engine(settings, kb, renderer, clock)
    chat = Chat(engine, lang="zh")
    chat.send(callback="lang:zh")
    answer_up_to(chat, "care")
    chat.tap("rtw:care:employer")
    assert f"最小收 {youngest_care_age(engine.db, 'employer')} 个月" in chat.text and "假期在这之前就结束" in chat.text
