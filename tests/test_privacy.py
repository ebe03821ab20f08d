"""Private data stays private (issue 20, items 7-10): groups get no personal data and never redirect a user's
messages; withdrawing consent removes the children's details and stops the tips; /delete leaves no bytes behind;
logs hold no personal data or secrets; files are created private. Driven through the real PTB Application where
Telegram is involved (no search index: questions here get the honest no-answer reply)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import stat
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner
from telegram import Update

from bot.logs import configure_logging
from bot.messages import Incoming
from bot.telegram_app import build_application
from bot.wiring import build_runtime
from conftest import CONTENT_DIR
from knowledge.db import MIGRATIONS, migrate, open_database
from knowledge.privacy import anonymise, apply_retention
from knowledge.schedule import iso
from knowledge.settings import Settings
from knowledge.users import UserStore
from telegram_fake import RecordingRequest, callback_update, message_update
from test_telegram_bot import Bot, add_child, buttons, onboard, texts
from test_telegram_bot import run as drive

GROUP = -100777
CHILD, BIRTH = "Wilhelmina", "2026-05-17"  # a date in no bundled content file
TOKEN = "7654321:AAHsecretTOKENvalue_0123456789abcd"
MENTION = [{"type": "mention", "offset": 0, "length": 14}]


@pytest.fixture
def rt(tmp_path, shared_model, shared_parts, clock):
    """A runtime on a fresh database (no search index is needed to test privacy)."""
    settings = Settings(data_dir=tmp_path / "data", db_path=tmp_path / "data" / "sprout.db", content_dir=CONTENT_DIR,
                        messages_per_minute=10_000, telegram_token=TOKEN)
    runtime = build_runtime(settings, clock=clock, embedder_factory=lambda: shared_model, shared=shared_parts)
    yield runtime
    runtime.db.conn.close()


def run(runtime, script):
    return asyncio.run(drive(runtime, script))


def in_group(bot, user, text, **kw):
    return bot.text(user, text, chat_type="group", chat_id=GROUP, **kw)


async def tips_job(bot):
    job = next(j for j in bot.app.job_queue.jobs() if j.name == "sprout-tips")
    before = len(bot.request.calls)
    await job.run(bot.app)
    return bot.request.calls[before:]


def to_chat(calls, chat_id):
    return [p for name, p in calls if name in ("sendMessage", "sendDocument") and int(p["chat_id"]) == chat_id]


# 7. Groups ----------------------------------------------------------------------------------------------------


def test_a_mention_in_a_group_does_not_redirect_the_next_scheduled_tip(rt):
    async def script(bot):
        child_id = await add_child(bot, 21, BIRTH, CHILD)
        await bot.press(21, f"tips:hour:{child_id}:0:9")
        calls = await in_group(bot, 21, "@SproutTestBot how much should a baby sleep", entities=MENTION)
        assert to_chat(calls, GROUP)  # the group got an answer to the general question
        calls = await tips_job(bot)
        assert to_chat(calls, 21) and not to_chat(calls, GROUP)
        assert any(CHILD in p["text"] for p in to_chat(calls, 21))

    run(rt, script)
    assert rt.engine.users.find("tg:21").chat_id == 21


@pytest.mark.parametrize("command", ["/mydata", "/child", "/tips", "/delete", "/privacy", "/start",
                                     "/return_to_work", "/mydata@SproutTestBot"])
def test_personal_commands_in_a_group_post_no_names_or_birth_dates_and_say_message_me_privately(rt, command):
    async def script(bot):
        await add_child(bot, 22, BIRTH, CHILD)
        calls = await in_group(bot, 22, command)
        assert [name for name, _ in calls] == ["sendMessage"]  # no document, no menu of children
        (reply,) = texts(calls)
        assert "privately" in reply and CHILD not in reply and "2026" not in reply and "May" not in reply
        assert not buttons(calls)

    run(rt, script)
    assert len(rt.engine.users.children(rt.engine.users.find("tg:22").id)) == 1


def test_message_me_privately_is_in_chinese_for_a_chinese_user(rt):
    async def script(bot):
        await onboard(bot, 23, "zh")
        (reply,) = texts(await in_group(bot, 23, "/child", language="zh"))
        assert "私聊" in reply

    run(rt, script)


@pytest.mark.parametrize("callback", ["delete:yes", "consent:no", "consent:withdraw_yes", "child:add", "tips:stop:1",
                                      "fb:1:0"])
def test_personal_buttons_pressed_in_a_group_change_nothing(rt, callback):
    async def script(bot):
        await add_child(bot, 24, BIRTH, CHILD)
        payload = callback_update(bot.next_id(), 24, callback)
        payload["callback_query"]["message"]["chat"] = {"id": GROUP, "type": "supergroup", "title": "Parents"}
        before = len(bot.request.calls)
        await bot.send(payload)
        (reply,) = texts(bot.request.calls[before:])
        assert "privately" in reply

    run(rt, script)
    user = rt.engine.users.find("tg:24")
    assert user.consented and user.chat_id == 24 and len(rt.engine.users.children(user.id)) == 1


def test_group_text_never_feeds_a_half_finished_private_input(rt):
    async def script(bot):
        await onboard(bot, 25)
        await bot.text(25, "/child")
        await bot.press(25, "child:add")
        calls = await in_group(bot, 25, "@SproutTestBot Mia", entities=MENTION)
        assert "born" not in " ".join(texts(calls))
        calls = await bot.text(25, "Mia")  # the private input carries on where it was
        assert "born" in texts(calls)[0]

    run(rt, script)


def test_a_first_contact_in_a_group_stores_no_chat_to_send_to(rt):
    async def script(bot):
        await in_group(bot, 26, "@SproutTestBot hello", entities=MENTION)

    run(rt, script)
    assert rt.engine.users.find("tg:26").chat_id is None


# 8. Withdrawing consent ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, says", [("en", ["birth date", "tip"]), ("zh", ["出生日期", "贴士"])])
def test_withdrawing_consent_asks_first_saying_what_goes(rt, lang, says):
    async def script(bot):
        await onboard(bot, 31, lang)
        calls = await bot.text(31, "/privacy", language=lang)
        assert "consent:withdraw" in buttons(calls)
        calls = await bot.press(31, "consent:withdraw", language=lang)
        assert all(word in texts(calls)[0] for word in says)
        assert {"consent:withdraw_yes", "consent:keep"} <= set(buttons(calls))

    run(rt, script)
    assert rt.engine.users.find("tg:31").consented  # nothing changes before the confirmation


def test_withdrawing_consent_removes_the_childrens_details_and_stops_the_tips_at_once(rt):
    async def script(bot):
        child_id = await add_child(bot, 32, BIRTH, CHILD)
        await bot.press(32, f"tips:hour:{child_id}:0:9")
        await bot.press(32, "ms:start:%d:6" % child_id)
        bot.runtime.clock.advance(days=7)  # the next weekly tip is now due, but not yet sent
        from knowledge.deliveries import Ledger

        Ledger(bot.runtime.db, bot.runtime.kb.tips).plan(bot.runtime.clock())
        assert bot.runtime.db.execute("select count(*) from deliveries where state = 'pending'").fetchone()[0]
        await bot.press(32, "consent:no")  # an old "Not now" button from onboarding: also asks first
        await bot.press(32, "consent:withdraw_yes")
        calls = await tips_job(bot)
        assert not to_chat(calls, 32)

    run(rt, script)
    db = rt.db
    user = rt.engine.users.find("tg:32")
    assert not user.consented
    for table in ("children", "subscriptions", "milestone_answers"):
        assert db.execute(f"select count(*) from {table}").fetchone()[0] == 0, table
    assert db.execute("select count(*) from deliveries where state in ('pending', 'sending')").fetchone()[0] == 0
    dump = "\n".join(db.conn.iterdump())
    assert CHILD not in dump and BIRTH not in dump


# 9. /delete leaves no traces ------------------------------------------------------------------------------------


def test_delete_leaves_none_of_the_users_strings_in_the_database_or_wal_bytes(rt):
    secrets = ["Ottoline", "ottoline_quill", CHILD, BIRTH, "zorblaxine", "Bartholomew"]

    def who(payload):
        part = payload.get("message") or payload["callback_query"]
        part["from"].update(first_name="Ottoline", username="ottoline_quill")
        return payload

    async def script(bot):
        send = bot.send
        bot.send = lambda payload: send(who(payload))
        child_id = await add_child(bot, 41, BIRTH, CHILD)
        await bot.press(41, f"tips:hour:{child_id}:0:9")
        await tips_job(bot)
        await bot.text(41, f"does {CHILD} need zorblaxine drops, asks her brother Bartholomew")
        await bot.text(41, "/child")
        await bot.press(41, "child:add")
        await bot.text(41, "Bartholomew")  # a half-finished input, kept in the conversation state
        await bot.text(41, "/mydata")
        await bot.text(41, "/delete")
        await bot.press(41, "delete:yes")

    run(rt, script)
    raw = b""
    for suffix in ("", "-wal"):
        path = rt.settings.db_path.with_name(rt.settings.db_path.name + suffix)
        if path.exists():
            raw += path.read_bytes()
    assert raw
    found = [s for s in secrets if s.lower().encode() in raw.lower()]
    assert found == []


def test_user_ids_are_never_reused(db):
    users = UserStore(db)
    first, _ = users.get_or_create("tg:1", 1, "en", "CN")
    second, _ = users.get_or_create("tg:2", 2, "en", "CN")
    users.delete(second.id)
    third, _ = users.get_or_create("tg:3", 3, "en", "CN")
    assert third.id > second.id


def test_the_autoincrement_migration_keeps_users_their_rows_and_foreign_keys(tmp_path):
    from knowledge import db as dbmodule

    version = next(i for i, step in enumerate(MIGRATIONS, 1) if step.__name__ == "_m_users_autoincrement")
    database = open_database(tmp_path / "old.db", migrate_now=False)
    saved = dbmodule.MIGRATIONS[:]
    try:
        dbmodule.MIGRATIONS[:] = saved[:version - 1]
        migrate(database)
    finally:
        dbmodule.MIGRATIONS[:] = saved
    database.execute("insert into users (id, external_id, chat_id, created_at) values (5, 'tg:5', 5, 'now')")
    database.execute("insert into users (id, external_id, chat_id, created_at) values (9, 'tg:9', 9, 'now')")
    database.execute("insert into children (user_id, name, birth_date, created_at) values (9, 'Ada', '2026-01-01', 'n')")
    database.execute("insert into question_log (user_id, asked_at, lang, question, kind) values (9, 'n', 'en', 'q', 'x')")
    database.execute("delete from users where id = 9")  # id 9 was used once: it must never come back
    database.execute("insert into users (id, external_id, chat_id, created_at) values (9, 'tg:99', 99, 'now')")
    database.execute("insert into children (user_id, name, birth_date, created_at) values (9, 'Bo', '2026-02-02', 'n')")
    migrate(database)
    sql = database.execute("select sql from sqlite_master where name = 'users'").fetchone()[0]
    assert "autoincrement" in sql.lower()
    assert database.execute("select id, external_id from users order by id").fetchall() == [(5, "tg:5"), (9, "tg:99")]
    assert database.execute("select name from children").fetchall() == [("Bo",)]
    assert database.execute("pragma foreign_key_check").fetchall() == []
    assert database.execute("pragma foreign_keys").fetchone()[0] == 1
    new, _ = UserStore(database).get_or_create("tg:100", 100, "en", "CN")
    assert new.id == 10
    database.execute("delete from users where id = 9")  # foreign keys still cascade to the new table
    assert database.execute("select count(*) from children").fetchone()[0] == 0


@pytest.mark.parametrize("text, gone, kept", [
    ("my son Leo has a rash", ["Leo"], ["my son", "rash"]),
    ("my daughter Zoe born 2026-03-04 has a rash", ["Zoe", "2026-03-04"], ["rash"]),
    ("call me on +86 138 1234 5678 or 020-7946-0958", ["138", "1234", "5678", "7946"], ["call me"]),
    ("mail me at jo.smith@example.com about sleep", ["jo.smith", "example.com"], ["sleep"]),
    ("my 6 month old wakes at 5", [], ["6 month", "at 5"]),
    ("我女儿叫小美，2026年3月4日出生，电话13812345678", ["小美", "2026年3月4日", "13812345678"], ["我女儿"]),
    ("see https://example.org/my-baby-blog for @jo_mum", ["example.org", "jo_mum"], ["see"]),
])
def test_anonymised_text_has_no_names_numbers_phone_numbers_or_emails(text, gone, kept):
    anonymous = anonymise(text)
    for piece in gone:
        assert piece not in anonymous
    for piece in kept:
        assert piece in anonymous


def test_a_registered_childs_name_never_reaches_the_question_log_or_the_gaps(rt):
    from datetime import datetime, timezone

    from knowledge.gaps import gap_questions

    async def script(bot):
        await add_child(bot, 42, BIRTH, CHILD)
        await bot.text(42, f"can {CHILD.lower()} go to the zorblaxine pool, call 13812345678")

    run(rt, script)
    stored = rt.db.execute("select question from question_log").fetchall()
    assert len(stored) == 1 and "zorblaxine" in stored[0][0]
    assert CHILD.lower() not in stored[0][0].lower() and "13812345678" not in stored[0][0]
    texts_ = [q.text for q in gap_questions(rt.db, datetime(2026, 1, 1, tzinfo=timezone.utc))]
    assert texts_ and all(CHILD.lower() not in t.lower() for t in texts_)


def test_retention_drops_old_question_text_and_unlinks_it_from_the_user(db, clock):
    users = UserStore(db)
    user, _ = users.get_or_create("tg:1", 1, "en", "CN")
    old = db.execute("insert into question_log (user_id, asked_at, lang, question, kind, entry_id) values "
                     "(?, ?, 'en', 'an old question', 'answer', 'e1')",
                     [user.id, iso(clock() - timedelta(days=181))]).lastrowid
    new = db.execute("insert into question_log (user_id, asked_at, lang, question, kind) values "
                     "(?, ?, 'en', 'a new question', 'no_answer')", [user.id, iso(clock() - timedelta(days=179))]).lastrowid
    db.execute("insert into feedback (user_id, question_id, entry_id, helpful, created_at) values (?, ?, 'e1', 1, 'n')",
               [user.id, old])
    report = apply_retention(db, clock(), 180)
    assert report["questions"] == 1
    assert db.execute("select user_id, question, kind from question_log where id = ?", [old]).fetchone() == \
        (None, "", "answer")  # still counted in the statistics
    assert db.execute("select user_id, question from question_log where id = ?", [new]).fetchone() == \
        (user.id, "a new question")
    assert db.execute("select user_id, helpful from feedback").fetchall() == [(None, 1)]


def test_the_retention_command_applies_the_setting(tmp_path, monkeypatch):
    from bot.cli import cli

    database = open_database(tmp_path / "sprout.db")
    database.execute("insert into question_log (asked_at, lang, question, kind) values "
                     "('2020-01-01T00:00:00Z', 'en', 'ancient question', 'no_answer')")
    database.conn.close()
    monkeypatch.setenv("SPROUT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SPROUT_QUESTION_RETENTION_DAYS", "30")
    result = CliRunner().invoke(cli, ["db", "retention"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["questions"] == 1 and json.loads(result.output)["days"] == 30
    check = open_database(tmp_path / "sprout.db")
    assert check.execute("select question from question_log").fetchone()[0] == ""
    check.conn.close()


def test_the_local_chat_keeps_an_export_private_and_removes_it_when_the_chat_ends(rt, tmp_path):
    from bot.local_chat import LocalChat

    exports = tmp_path / "exports"
    seen = []

    def write(text):
        if str(exports) in text:
            files = list(exports.iterdir())
            seen.append([(f.name, stat.S_IMODE(f.stat().st_mode)) for f in files])
            seen.append(stat.S_IMODE(exports.stat().st_mode))

    chat = LocalChat(rt.engine, "me", write, exports, "en")
    chat.run(io.StringIO("/mydata\n"))
    assert seen == [[("sprout-my-data.json", 0o600)], 0o700]
    assert list(exports.iterdir()) == []


def test_the_local_chat_removes_exports_as_soon_as_the_user_is_deleted(rt, tmp_path):
    from bot.local_chat import LocalChat

    exports = tmp_path / "exports"
    left = []
    chat = LocalChat(rt.engine, "me", lambda text: left.append(sorted(p.name for p in exports.glob("*"))),
                     exports, "en")
    chat.run(io.StringIO("/mydata\n/delete\n1\n"))
    assert ["sprout-my-data.json"] in left and left[-1] == []


# 10. Logs and file modes ------------------------------------------------------------------------------------


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level, factory = root.handlers[:], root.level, logging.getLogRecordFactory()
    loggers = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    for name, old in loggers.items():
        logging.getLogger(name).setLevel(old)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_debug_logs_of_the_real_application_hold_no_personal_data_or_secrets(rt, caplog, restore_logging):
    stream = io.StringIO()
    secret = "right-secret-0123456789abcdefghijklmnop"
    configure_logging("DEBUG", stream=stream, secrets=(TOKEN, secret))
    logging.getLogger().addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    guess = "guessed-secret-Qz81"

    async def script(bot):
        child_id = await add_child(bot, 51, BIRTH, CHILD)
        await bot.press(51, f"tips:hour:{child_id}:0:9")
        await tips_job(bot)
        await bot.text(51, "my daughter Zoe born 2026-03-04 has a zorblaxine rash")
        await bot.text(51, "/mydata")

    run(rt, script)
    fake = RecordingRequest()
    app = build_application(rt, request=fake, rate_limiter=False)
    port = _free_port()

    async def webhook():
        async with app:
            await app.updater.start_webhook(listen="127.0.0.1", port=port, url_path="telegram", secret_token=secret,
                                            webhook_url="https://bot.example.org/telegram")
            await app.start()
            try:
                async with httpx.AsyncClient() as client:
                    body = json.dumps(message_update(1, 52, "my son Bartholomew was born 2026-02-03"))
                    headers = {"content-type": "application/json"}
                    await client.post(f"http://127.0.0.1:{port}/telegram", content=body,
                                      headers={**headers, "X-Telegram-Bot-Api-Secret-Token": guess})
                    await client.post(f"http://127.0.0.1:{port}/telegram", content=body,
                                      headers={**headers, "X-Telegram-Bot-Api-Secret-Token": secret})
                for _ in range(200):
                    if fake.sent():
                        break
                    await asyncio.sleep(0.01)
            finally:
                await app.updater.stop()
                await app.stop()

    asyncio.run(webhook())
    logged = stream.getvalue() + caplog.text
    assert "Processing update" in logged  # DEBUG really was on
    leaks = [s for s in (CHILD, BIRTH, "17 May 2026", "Zoe", "2026-03-04", "zorblaxine", "Bartholomew", "2026-02-03",
                         TOKEN, TOKEN.split(":")[1], secret, guess, "Parent") if s in logged]
    assert leaks == []


def test_the_redacting_filter_scrubs_update_dumps_json_and_exceptions():
    from bot.logs import Redactor

    redactor = Redactor(secrets=("s3cret-value",))
    samples = [
        "Processing update Update(message=Message(chat=Chat(first_name='Ann', id=1, type=<ChatType.PRIVATE>), "
        "text='my son Leo born 2026-01-02', from_user=User(first_name='Ann', username='ann_b')), update_id=1)",
        'Webhook received data: {"message": {"text": "Leo \\"born\\" 2026-01-02", "from": {"first_name": "Ann"}}}',
        "Calling Bot API endpoint `sendMessage` with parameters `{'chat_id': 1, 'text': 'Saved Leo, 2 January 2026'}`",
        "Request had the wrong secret token: abc-guess-123",
        "header was s3cret-value",
    ]
    for sample in samples:
        out = redactor.scrub(sample)
        for leak in ("Leo", "Ann", "ann_b", "2026-01-02", "2 January 2026", "abc-guess-123", "s3cret-value"):
            assert leak not in out, (sample, out)


def test_database_wal_and_folders_are_created_private(tmp_path):
    path = tmp_path / "new" / "deeper" / "sprout.db"
    database = open_database(path)
    UserStore(database).get_or_create("tg:1", 1, "en", "CN")
    for item in (path, path.with_name("sprout.db-wal"), path.with_name("sprout.db-shm")):
        assert stat.S_IMODE(item.stat().st_mode) == 0o600, item
    for folder in (path.parent, path.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    database.conn.close()


def test_an_existing_database_file_is_made_private(tmp_path):
    path = tmp_path / "sprout.db"
    open_database(path).conn.close()
    os.chmod(path, 0o644)
    open_database(path).conn.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_log_file_is_created_private(tmp_path, restore_logging):
    log_file = tmp_path / "logs" / "sprout.log"
    configure_logging("INFO", stream=io.StringIO(), log_file=log_file)
    logging.getLogger("sprout.test").info("hello")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "hello" in log_file.read_text()
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_file.parent.stat().st_mode) == 0o700


def test_incoming_from_a_group_is_marked_not_private(rt):
    """The engine itself refuses personal commands when the front end says the chat is not private."""
    rt.engine.handle(Incoming("tg:60", chat_id=60, command="start"))
    replies = rt.engine.handle(Incoming("tg:60", chat_id=GROUP, command="mydata", private=False))
    assert [r.document for r in replies] == [None] and "privately" in replies[0].text
    assert rt.engine.users.find("tg:60").chat_id == 60
