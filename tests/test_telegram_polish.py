"""The bot as parents feel it (issue #22), through the real PTB Application with only HTTP replaced: presses
handled before they are answered, Telegram's brief failures retried and never apologised for, "typing…", the
answer's layout, one message per step, and the small things (ages, one-field edits, labels, 你, previews,
UTF-16 splitting)."""

import asyncio
from datetime import date, timedelta

import pytest

from bot.messages import button_label
from bot.telegram_app import MAX_TEXT, split_text, to_html, utf16_len
from telegram_fake import callback_update
from test_telegram_bot import Bot, add_child, buttons, onboard, run, texts

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def press_on(bot, user, data, message_id=1, markup=None):
    """A press on a button of message `message_id`, whose keyboard is `markup` (the calls' reply_markup)."""
    before = len(bot.request.calls)
    await bot.send(callback_update(bot.next_id(), user, data, message_id=message_id, reply_markup=markup))
    return bot.request.calls[before:]


def last_markup(calls):
    return [p.get("reply_markup") for name, p in calls if name == "sendMessage" and p.get("reply_markup")][-1]


def sorry(bot):
    return [t for t in bot.request.texts() if "went wrong" in t or "出错" in t]


# 1. Button presses --------------------------------------------------------------------------------------------

def test_a_press_is_handled_before_its_query_is_answered(runtime):
    async def script(bot):
        await bot.text(101, "/start")
        calls = await bot.press(101, "lang:en")
        names = [name for name, _ in calls]
        assert names.index("sendMessage") < names.index("answerCallbackQuery")

    asyncio.run(run(runtime, script))


def test_a_query_too_old_is_harmless_the_press_still_works_and_nobody_says_sorry(runtime, caplog):
    async def script(bot):
        await bot.text(102, "/start")
        bot.request.fail("answerCallbackQuery", 400, TOO_OLD)
        calls = await bot.press(102, "lang:zh")
        assert any("region:" in b for b in buttons(calls))

    bot = asyncio.run(run(runtime, script))  # run() fails on any handler error
    assert runtime.engine.users.find("tg:102").language == "zh"
    assert sorry(bot) == []
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR") and "query" in r.getMessage()]


# 2. Retries -----------------------------------------------------------------------------------------------

def test_a_500_is_retried_and_the_reply_arrives(runtime):
    async def script(bot):
        bot.request.fail("sendMessage", 500, "Internal Server Error")
        calls = await bot.text(103, "/help")
        assert len(texts(calls)) == 2 and texts(calls)[0] == texts(calls)[1]

    bot = asyncio.run(run(runtime, script))
    assert sorry(bot) == []


def test_four_429s_in_a_row_are_waited_out_honouring_retry_after(runtime):
    async def script(bot):
        bot.request.fail("sendMessage", 429, "Too Many Requests", retry_after=0, times=4)
        calls = await bot.text(104, "/help")
        assert len(texts(calls)) == 5 and "/child" in texts(calls)[-1]

    asyncio.run(run(runtime, script))


def test_retries_stop_at_the_bound_in_the_settings_and_the_failure_is_logged(runtime, caplog):
    from dataclasses import replace

    runtime.settings = replace(runtime.settings, send_attempts=2)
    bot = Bot(runtime)

    async def script():
        async with bot.app:
            bot.request.fail("sendMessage", 500, "Internal Server Error", times=5)
            await bot.text(105, "/help")

    asyncio.run(script())
    assert len(bot.request.sent()) == 2  # two attempts, no apology after them
    assert sorry(bot) == []
    assert "not delivered after 2 attempts" in caplog.text


def test_a_timeout_after_the_request_was_written_is_not_retried_nor_apologised_for(runtime, caplog):
    async def script(bot):
        bot.request.time_out_after_sending("sendMessage")
        calls = await bot.text(106, "/help")
        assert len(texts(calls)) == 1  # sent once; it may well have arrived

    bot = asyncio.run(run(runtime, script))
    assert sorry(bot) == []
    assert "may not have been delivered" in caplog.text


# 3. Typing ---------------------------------------------------------------------------------------------------

def test_a_question_shows_typing_before_the_answer(runtime):
    async def script(bot):
        await onboard(bot, 108)
        calls = await bot.text(108, "how long should a 4 month old sleep in a day")
        names = [name for name, _ in calls]
        assert names[0] == "sendChatAction" and calls[0][1]["action"] == "typing" and "sendMessage" in names

    asyncio.run(run(runtime, script))


# 4. The answer in Telegram --------------------------------------------------------------------------------

def test_an_answer_has_the_safety_box_the_matching_section_one_read_more_and_related_questions(runtime):
    async def script(bot):
        await onboard(bot, 109)
        calls = await bot.text(109, "my baby has a fever, how do I look after her at home")
        answer = [p for name, p in calls if name == "sendMessage"][-1]
        assert answer["text"].lstrip().startswith("⚠️")
        found = buttons(calls)
        more = [b for b in found if b.startswith("more:")]
        assert len(more) == 1 and any(b.startswith("ask:") for b in found) and any(b.startswith("fb:") for b in found)
        calls = await press_on(bot, 109, more[0], message_id=77, markup=answer["reply_markup"])
        edits = [p for name, p in calls if name == "editMessageReplyMarkup"]
        assert len(edits) == 1 and int(edits[0]["message_id"]) == 77
        left = [b["callback_data"] for row in edits[0]["reply_markup"]["inline_keyboard"] for b in row]
        assert not any(b.startswith("more:") for b in left) and any(b.startswith("fb:") for b in left)
        assert len(texts(calls)) == 1 and "rest of this guide" in texts(calls)[0]

    asyncio.run(run(runtime, script))


# 5. One message per step ----------------------------------------------------------------------------------

def test_the_milestone_check_in_is_one_message_edited_as_the_parent_answers(runtime):
    async def script(bot):
        child = await add_child(bot, 110, (date(2026, 11, 20) - timedelta(days=65)).isoformat())
        calls = await press_on(bot, 110, f"ms:start:{child}:2", message_id=50)
        answered = 0
        while True:
            assert [name for name, _ in calls if name == "sendMessage"] == []
            edits = [p for name, p in calls if name == "editMessageText"]
            assert len(edits) == 1 and int(edits[0]["message_id"]) == 50
            choices = [b["callback_data"] for row in (edits[0].get("reply_markup") or {}).get("inline_keyboard", [])
                       for b in row]
            if not choices:
                break
            calls = await press_on(bot, 110, choices[0], message_id=50, markup=edits[0]["reply_markup"])
            answered += 1
        assert answered > 3 and "📋" in edits[0]["text"]

    asyncio.run(run(runtime, script))


def test_after_a_press_the_choice_is_marked_and_the_other_buttons_removed(runtime):
    async def script(bot):
        calls = await bot.text(111, "/start")
        markup = last_markup(calls)
        calls = await press_on(bot, 111, "lang:en", message_id=9, markup=markup)
        edit = [p for name, p in calls if name == "editMessageReplyMarkup"][0]
        assert edit["reply_markup"]["inline_keyboard"] == [[{"text": "✓ English", "callback_data": "lang:en"}]]

    asyncio.run(run(runtime, script))


def test_an_old_skip_button_does_not_start_adding_a_child(runtime):
    async def script(bot):
        await onboard(bot, 112)
        calls = await bot.press(112, "child:noname")
        assert "out of date" in texts(calls)[0]

    asyncio.run(run(runtime, script))
    assert runtime.engine.pending(runtime.engine.users.find("tg:112").id) is None


def test_the_location_keyboard_is_removed_once_a_location_is_shared(runtime):
    async def script(bot):
        await onboard(bot, 113)
        await bot.text(113, "/nearby")
        calls = await bot.text(113, None, location=(31.2304, 121.4737))
        first = [p for name, p in calls if name == "sendMessage"][0]
        assert first["reply_markup"] == {"remove_keyboard": True}
        if any(name == "editMessageReplyMarkup" for name, _ in calls):  # the results' own buttons, on that message
            assert buttons(calls)

    asyncio.run(run(runtime, script))


# 6. Small things ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("days, lang, shown", [
    (6, "en", "6 days"), (6, "zh", "出生6天"), (35, "en", "5 weeks"), (35, "zh", "5周"), (70, "en", "2.3 months"),
])
def test_young_ages_are_shown_in_days_and_weeks(runtime, days, lang, shown):
    from knowledge.users import Child

    today = date(2026, 11, 20)
    child = Child(1, 1, "Mia", today - timedelta(days=days), "day", 0)
    text = runtime.renderer.render("child_saved", lang, child=child, today=today)
    assert shown in text and "0.2" not in text


def test_editing_a_child_changes_one_field(runtime):
    async def script(bot):
        child = await add_child(bot, 114, "2026-06-01", "Leo")
        calls = await bot.press(114, f"child:edit:{child}")
        assert {f"child:editname:{child}", f"child:editbirth:{child}", f"child:editweeks:{child}"} <= set(buttons(calls))
        await bot.press(114, f"child:editbirth:{child}")
        calls = await bot.text(114, "2026-06-03")
        assert "Leo" in texts(calls)[0]

    asyncio.run(run(runtime, script))
    row = runtime.db.execute("select name, birth_date, weeks_premature from children").fetchone()
    assert tuple(row) == ("Leo", "2026-06-03", 0)


def test_changing_the_tip_time_does_not_promise_a_tip_on_its_way(runtime):
    async def script(bot):
        child = await add_child(bot, 115, "2026-09-01", "Kai")
        calls = await bot.press(115, f"tips:hour:{child}:0:9")
        first = [p["text"] for name, p in calls if name in ("sendMessage", "editMessageText")][0]
        assert "on its way" in first
        job = next(j for j in bot.app.job_queue.jobs() if j.name == "sprout-tips")
        await job.run(bot.app)  # the first tip goes out
        calls = await bot.press(115, f"tips:hour:{child}:3:18")
        changed = [p["text"] for name, p in calls if name in ("sendMessage", "editMessageText")][0]
        assert "on its way" not in changed and "Thursday" in changed

    asyncio.run(run(runtime, script))


@pytest.mark.parametrize("title, expect", [
    ("How much sleep does a baby need between four and six months of age, day and night", "How much sleep does a "
     "baby need between four and six…"),
    ("宝宝四到六个月大的时候白天和晚上一共需要睡多长时间才算正常呢？如果睡得少了家长应该怎么办才好呢？还有什么要注意的地方吗？"
     "比如午睡", None),
])
def test_related_question_labels_are_cut_at_a_word_or_character_boundary(title, expect):
    label = button_label(title)
    assert len(label) <= 60 and label.endswith("…")
    if expect:
        assert label == expect
    else:
        assert title.startswith(label[:-1])


def test_chinese_templates_and_catalogues_use_ni_not_nin():
    from bot.render import LOCALE_DIR, TEMPLATE_DIR

    for path in [LOCALE_DIR / "zh.yaml", *sorted((TEMPLATE_DIR / "zh").glob("*.j2"))]:
        assert "您" not in path.read_text(encoding="utf-8"), path.name


def test_link_previews_are_off(runtime):
    async def script(bot):
        calls = await bot.text(116, "/help")
        assert all(p.get("link_preview_options") == {"is_disabled": True} for name, p in calls if name == "sendMessage")

    asyncio.run(run(runtime, script))


def test_long_messages_are_split_by_utf16_units_and_never_inside_a_tag():
    text = "\n\n".join(f"**Part {i}** " + "👶 baby & <care> " * 150 for i in range(6))
    parts = split_text(text)
    assert len(parts) > 1
    for part in parts:
        rendered = to_html(part)
        assert utf16_len(rendered) <= MAX_TEXT
        assert rendered.count("<b>") == rendered.count("</b>") and "**" not in rendered
    one = "**" + "宝宝😊" * 3000 + "**"
    for part in split_text(one):
        assert utf16_len(to_html(part)) <= MAX_TEXT and to_html(part).startswith("<b>")
        assert to_html(part).endswith("</b>")


# 7. The Bot API address -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, base", [
    ("http://127.0.0.1:8081", "http://127.0.0.1:8081/bot"),
    ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/bot"),
    ("https://api.example.org/bot/", "https://api.example.org/bot"),
])
def test_the_bot_api_address_takes_the_root_or_ptbs_base_url_form(given, base):
    from knowledge.settings import load_settings

    settings = load_settings({"SPROUT_TELEGRAM_API_URL": given})
    assert settings.telegram_base_urls == (base, base.removesuffix("/bot") + "/file/bot")
