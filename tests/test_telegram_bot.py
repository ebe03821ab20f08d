"""The real PTB Application driven through a recording transport (only HTTP is replaced)."""

import asyncio

import pytest
from telegram import Update

from bot.telegram_app import build_application
from telegram_fake import RecordingRequest, callback_update, message_update


class Bot:
    """The Application plus what the fake Telegram saw; every handler error is recorded and fails the test."""

    def __init__(self, runtime):
        self.request = RecordingRequest()
        self.app = build_application(runtime, request=self.request, rate_limiter=False)
        self.errors = []
        self.app.add_error_handler(self._record)
        self.runtime = runtime
        self.update_id = 0

    async def _record(self, update, context):
        self.errors.append(context.error)

    async def send(self, payload):
        await self.app.process_update(Update.de_json(payload, self.app.bot))

    def next_id(self):
        self.update_id += 1
        return self.update_id

    async def text(self, user, text, **kw):
        before = len(self.request.calls)
        await self.send(message_update(self.next_id(), user, text, **kw))
        return self.request.calls[before:]

    async def press(self, user, data, **kw):
        before = len(self.request.calls)
        await self.send(callback_update(self.next_id(), user, data, **kw))
        return self.request.calls[before:]


def texts(calls):
    return [p.get("text", p.get("caption", "")) for name, p in calls if name in ("sendMessage", "sendDocument")]


def buttons(calls):
    found = []
    for name, p in calls:
        markup = p.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            found.extend(b["callback_data"] for b in row)
    return found


async def run(runtime, script):
    bot = Bot(runtime)
    async with bot.app:
        await script(bot)
    assert bot.errors == []
    return bot


async def onboard(bot, user, lang="en", consent=True):
    await bot.text(user, "/start")
    await bot.press(user, f"lang:{lang}")
    await bot.press(user, "region:CN")
    await bot.press(user, "consent:yes" if consent else "consent:no")


async def add_child(bot, user, birth, name=None):
    """Onboard, then add a full-term child through /child; returns the new child's id."""
    await onboard(bot, user)
    await bot.text(user, "/child")
    await bot.press(user, "child:add")
    if name:
        await bot.text(user, name)
    else:
        await bot.press(user, "child:noname")
    await bot.text(user, birth)
    await bot.press(user, "child:premature:0")
    return bot.runtime.db.execute("select max(id) from children").fetchone()[0]


def test_start_asks_language_then_region_then_consent(runtime):
    async def script(bot):
        calls = await bot.text(1, "/start")
        assert "Sprout" in texts(calls)[0] and {"lang:en", "lang:zh"} <= set(buttons(calls))
        calls = await bot.press(1, "lang:zh")
        assert any(b.startswith("region:") for b in buttons(calls))
        calls = await bot.press(1, "region:CN")
        assert "consent:yes" in buttons(calls) and "隐私" in texts(calls)[-1]
        calls = await bot.press(1, "consent:yes")
        assert "/child" in "".join(texts(calls))

    asyncio.run(run(runtime, script))
    user = runtime.engine.users.find("tg:1")
    assert user.language == "zh" and user.consented


@pytest.mark.parametrize("question, lang, expect", [
    ("how long should a 4 month old sleep in a day", "en", "Source:"),
    ("宝宝可以吃蜂蜜吗", "zh", "来源："),
])
def test_a_question_gets_a_whole_vetted_entry_with_source_and_feedback_buttons(runtime, question, lang, expect):
    async def script(bot):
        await onboard(bot, 2, lang)
        calls = await bot.text(2, question)
        assert expect in texts(calls)[0]
        assert any(b.startswith("fb:") for b in buttons(calls))

    asyncio.run(run(runtime, script))


def test_an_emergency_gets_the_emergency_number_not_an_article(runtime):
    async def script(bot):
        await onboard(bot, 3)
        calls = await bot.text(3, "my 6 week old has 38.4 and won't feed")
        reply = texts(calls)[0]
        assert "120" in reply
        assert not any(b.startswith("fb:") for b in buttons(calls))

    asyncio.run(run(runtime, script))


def test_feedback_buttons_are_stored(runtime):
    async def script(bot):
        await onboard(bot, 4)
        calls = await bot.text(4, "how do I take my baby's temperature")
        feedback = [b for b in buttons(calls) if b.startswith("fb:") and b.endswith(":0")][0]
        calls = await bot.press(4, feedback)
        assert "Thank you" in texts(calls)[0]

    asyncio.run(run(runtime, script))
    assert runtime.db.execute("select helpful from feedback").fetchall() == [(0,)]


@pytest.mark.parametrize("typed, message", [
    ("2026-02-30", "doesn't exist"),
    ("2030-01-01", "in the future"),
    ("2020-05-05", "under 3"),
    ("someday", "couldn't read"),
])
def test_child_birth_date_validation_explains_the_problem(runtime, typed, message):
    async def script(bot):
        await onboard(bot, 5)
        await bot.text(5, "/child")
        await bot.press(5, "child:add")
        await bot.press(5, "child:noname")
        calls = await bot.text(5, typed)
        assert message in texts(calls)[0]

    asyncio.run(run(runtime, script))
    assert runtime.db.execute("select count(*) from children").fetchone()[0] == 0


def test_adding_a_child_with_corrected_age(runtime):
    async def script(bot):
        await onboard(bot, 6)
        await bot.text(6, "/child")
        await bot.press(6, "child:add")
        await bot.text(6, "Mia")
        await bot.text(6, "2026-08-01")
        calls = await bot.text(6, "6")
        assert "Mia" in texts(calls)[0] and "6 weeks early" in texts(calls)[0]

    asyncio.run(run(runtime, script))


def test_mydata_sends_a_json_file_and_delete_removes_every_row(runtime):
    async def script(bot):
        child_id = await add_child(bot, 7, "2026-05-10", "Leo")
        await bot.text(7, "/tips")
        await bot.press(7, f"tips:hour:{child_id}:0:9")
        await bot.text(7, "how much should my baby sleep")
        calls = await bot.text(7, "/mydata")
        assert [name for name, _ in calls] == ["sendDocument"]
        calls = await bot.text(7, "/delete")
        assert "delete:yes" in buttons(calls)
        await bot.press(7, "delete:yes")

    asyncio.run(run(runtime, script))
    from knowledge.users import PERSONAL_TABLES

    for table in PERSONAL_TABLES:
        assert runtime.db.execute(f"select count(*) from {table}").fetchone()[0] == 0, table


def test_a_message_over_the_length_cap_is_refused_politely(runtime):
    async def script(bot):
        calls = await bot.text(8, "a" * 5000)
        assert "characters" in texts(calls)[0]

    asyncio.run(run(runtime, script))
    assert runtime.db.execute("select count(*) from question_log").fetchone()[0] == 0


def test_group_messages_without_a_mention_are_ignored(runtime):
    async def script(bot):
        calls = await bot.text(9, "how much should my baby sleep", chat_type="group", chat_id=-100)
        assert calls == []
        text = "@SproutTestBot how much should my baby sleep"
        calls = await bot.text(9, text, chat_type="group", chat_id=-100,
                               entities=[{"type": "mention", "offset": 0, "length": 14}])
        assert texts(calls)

    asyncio.run(run(runtime, script))


def test_a_user_who_blocked_the_bot_is_deactivated(runtime):
    async def script(bot):
        await bot.text(10, "/help")
        bot.request.blocked.add(10)
        await bot.text(10, "/help")

    asyncio.run(run(runtime, script))
    assert runtime.engine.users.find("tg:10").active is False


def test_every_command_is_registered_with_set_my_commands_in_both_languages(runtime):
    async def script(bot):
        await bot.app.post_init(bot.app)

    bot = asyncio.run(run(runtime, script))
    calls = bot.request.sent("setMyCommands")
    languages = {c.get("language_code") for c in calls}
    assert languages == {None, "zh"}
    for call in calls:
        assert {c["command"] for c in call["commands"]} == set(runtime.engine.public_commands())


def test_an_error_in_a_handler_is_logged_without_the_message_and_the_user_is_told(runtime, caplog):
    def broken(incoming):
        raise RuntimeError("boom")

    runtime.engine.handle = broken
    bot = Bot(runtime)

    async def script():
        async with bot.app:
            await bot.text(11, "my secret question about Mia born 2026-01-02")

    asyncio.run(script())
    assert len(bot.errors) == 1
    assert "went wrong" in bot.request.texts()[-1]
    assert sum("went wrong" in text for text in bot.request.texts()) == 1   # one apology, for our own bug
    assert "secret question" not in caplog.text and "2026-01-02" not in caplog.text


def test_the_job_queue_sends_due_tips_through_the_application(runtime):
    async def script(bot):
        child_id = await add_child(bot, 12, "2026-09-01", "Kai")
        await bot.press(12, f"tips:hour:{child_id}:0:9")
        job = next(j for j in bot.app.job_queue.jobs() if j.name == "sprout-tips")
        before = len(bot.request.sent())
        await job.run(bot.app)
        tips = [m["text"] for m in bot.request.sent()[before:]]
        assert any("This week's tip" in text for text in tips)
        await job.run(bot.app)  # a second pass sends nothing new
        assert len(bot.request.sent()) == before + len(tips)

    asyncio.run(run(runtime, script))


def test_removing_a_child_asks_for_confirmation_then_removes(runtime):
    async def script(bot):
        child_id = await add_child(bot, 13, "2026-06-01")
        calls = await bot.press(13, f"child:remove:{child_id}")
        labels = [b["text"] for name, p in calls if name == "sendMessage"
                  for row in p.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        assert "Yes" in labels
        await bot.press(13, f"child:confirm_remove:{child_id}")

    asyncio.run(run(runtime, script))
    assert runtime.db.execute("select count(*) from children").fetchone()[0] == 0


def test_a_health_answer_opens_with_the_safety_box_in_telegram(runtime):
    async def script(bot):
        await onboard(bot, 41, "zh")
        reply = texts(await bot.text(41, "宝宝发烧了在家怎么护理"))[0]
        assert reply.lstrip().startswith("⚠️ 什么时候要就医") and "立即拨打120" in reply

    asyncio.run(run(runtime, script))
