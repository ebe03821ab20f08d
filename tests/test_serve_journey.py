"""A parent's journey through the real `sprout serve` (polling) against the loopback fake Bot API, with Telegram's
brief failures injected: onboarding, a question, the whole guide, a milestone check-in and tips. No "Sorry", one
message per step (edits, not new messages), and the first answer comes from a process that loaded everything
before it took an update."""

from __future__ import annotations

import shutil
import time
from datetime import date, timedelta

import pytest

from tests.fake_bot_api import FakeBotApi
from tests.faults.inbox_faults import TOKEN, Serve, free_port, minimal_content

from conftest import CONTENT_DIR

USER = 501
WAIT = 60.0  # seconds a reply may take before the test calls it missing (the first answer loads nothing now)
SORRY = ("Sorry", "went wrong", "出错")


class Parent:
    """Telegram's side: updates queued for getUpdates, presses on the buttons the bot really sent."""

    def __init__(self, fake: FakeBotApi):
        self.fake = fake
        self.update_id = 0

    def _next(self) -> int:
        self.update_id += 1
        return self.update_id

    def _user(self) -> dict:
        return {"id": USER, "is_bot": False, "first_name": "Parent", "language_code": "en"}

    def type(self, text: str) -> None:
        message = {"message_id": 10_000 + self._next(), "date": int(time.time()),
                   "chat": {"id": USER, "type": "private"}, "from": self._user(), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self.fake.queue([{"update_id": self.update_id, "message": message}])

    def press(self, message_id: int, data: str) -> None:
        """A press on a button of message `message_id` as it stands in the fake (its text and keyboard)."""
        shown = self.fake.messages[message_id]
        assert data in buttons_of(shown), (data, buttons_of(shown))
        message = {"message_id": message_id, "date": int(time.time()), "chat": {"id": USER, "type": "private"},
                   "from": {"id": 999000, "is_bot": True, "first_name": "Sprout"}, "text": "…"}
        if shown.get("reply_markup"):
            message["reply_markup"] = shown["reply_markup"]
        self.fake.queue([{"update_id": self._next(), "callback_query": {
            "id": f"q{self.update_id}", "from": self._user(), "chat_instance": "c", "data": data,
            "message": message}}])


def buttons_of(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def labels_of(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


class Record:
    """What the bot did since a mark, read from the fake's record."""

    def __init__(self, fake: FakeBotApi):
        self.fake = fake
        self.mark = len(fake.calls)

    def since(self) -> list[tuple[str, dict]]:
        return self.fake.calls[self.mark:]

    def wait(self, done, what: str) -> list[tuple[str, dict]]:
        deadline = time.monotonic() + WAIT
        while not done(self.since()):
            assert time.monotonic() < deadline, f"no {what} within {WAIT:.0f} s: {self.since()}"
            time.sleep(0.02)
        time.sleep(0.2)  # anything sent right after (a second reply) is counted too
        calls = self.since()
        self.mark = len(self.fake.calls)
        return calls


def sends(calls, method: str = "sendMessage") -> list[dict]:
    return [p for m, p in calls if m == method]


def answered(calls) -> bool:
    return any(m == "answerCallbackQuery" for m, _ in calls)


def replied(calls) -> bool:
    return any(m in ("sendMessage", "editMessageText") for m, _ in calls)


@pytest.fixture(scope="module")
def served(tmp_path_factory, built_index):
    """One polling `sprout serve` on a copy of the session's built database and index, the shipped content, and
    the Bot API address in PTB's base_url form (…/bot, the token appended)."""
    work = tmp_path_factory.mktemp("journey")
    data = work / "data"
    shutil.copytree(built_index, data, ignore=shutil.ignore_patterns("sprout.db-*"))
    fake = FakeBotApi().start()
    serve = Serve(work, fake, extra_env={"SPROUT_DATA_DIR": str(data), "SPROUT_CONTENT_DIR": str(CONTENT_DIR),
                                         "SPROUT_TELEGRAM_API_URL": fake.api_url, "SPROUT_LOG_LEVEL": "INFO"})
    serve.start()
    yield serve, fake
    serve.stop()
    fake.stop()


def test_the_process_reaches_the_fake_through_a_base_url_and_loads_everything_before_taking_updates(served):
    serve, fake = served
    assert fake.api_url.endswith("/bot")
    assert all(path == f"/bot{TOKEN}/{method}" for path, method in fake.paths), fake.paths[:3]
    log = serve.log.read_text(errors="replace")
    assert "ready: model and index loaded" in log
    assert log.index("ready: model and index loaded") < log.index("polling mode")


def test_a_parents_journey_has_no_sorry_and_one_message_per_step(served):
    serve, fake = served
    parent = Parent(fake)
    record = Record(fake)

    parent.type("/start")
    calls = record.wait(replied, "welcome")
    welcome = sends(calls)[-1]
    welcome_id = max(fake.messages)
    assert "lang:en" in buttons_of(fake.messages[welcome_id])

    # A press Telegram no longer waits on (the bot was down): still handled, no apology.
    fake.fail("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired or query ID "
                                          "is invalid")
    parent.press(welcome_id, "lang:en")
    calls = record.wait(answered, "the language press")
    assert any("region" in p["text"].lower() or "where do you live" in p["text"].lower() for p in sends(calls))
    assert labels_of(fake.messages[welcome_id]) == ["✓ English"]  # the choice is marked, the rest removed
    region_id = max(m for m, shown in fake.messages.items() if "region:CN" in buttons_of(shown))

    # A 500 from Telegram: the reply is sent again, not dropped.
    fake.fail("sendMessage", 500)
    parent.press(region_id, "region:CN")
    calls = record.wait(answered, "the region press")
    assert len(sends(calls)) >= 3  # the failed attempt, then the region and the privacy notice
    consent_id = max(m for m, shown in fake.messages.items() if "consent:yes" in buttons_of(shown))

    # Four 429s in a row (more than PTB's rate limiter retries on its own): retry_after honoured, then sent.
    fake.fail("sendMessage", 429, retry_after=1, times=4)
    parent.press(consent_id, "consent:yes")
    calls = record.wait(lambda c: answered(c) and any(m == "sendMessage" and "/child" in p.get("text", "")
                                                      for m, p in c), "the consent reply")
    assert "/child" in "".join(p["text"] for p in sends(calls))

    # A question: "typing…" first, then the matching section with one "Read the whole guide" button.
    parent.type("how long should a 4 month old sleep in a day")
    calls = record.wait(replied, "the answer")
    methods = [m for m, _ in calls]
    assert "sendChatAction" in methods and methods.index("sendChatAction") < methods.index("sendMessage")
    answer_id = max(fake.messages)
    answer = fake.messages[answer_id]
    more = [b for b in buttons_of(answer) if b.startswith("more:")]
    assert len(more) == 1 and any(b.startswith("ask:") for b in buttons_of(answer))
    parent.press(answer_id, more[0])
    calls = record.wait(answered, "the whole guide")
    assert sends(calls) and "rest of this guide" in sends(calls)[0]["text"]
    kept = buttons_of(fake.messages[answer_id])
    assert not any(b.startswith("more:") for b in kept) and any(b.startswith("ask:") for b in kept)

    # A child of five weeks, added in a few taps.
    parent.type("/child")
    calls = record.wait(replied, "the children list")
    parent.press(max(fake.messages), "child:add")
    record.wait(answered, "add a child")
    parent.press(max(fake.messages), "child:noname")
    record.wait(answered, "skip the name")
    parent.type((date.today() - timedelta(days=35)).isoformat())
    record.wait(replied, "the born-early question")
    parent.press(max(fake.messages), "child:premature:0")
    calls = record.wait(answered, "the saved child")
    assert "now 5 weeks" in sends(calls)[-1]["text"] and "months" not in sends(calls)[-1]["text"]

    # The milestone check-in: the message with the button becomes the check-in, edited at every answer.
    child_id = 1
    invite_id = max(fake.messages)
    parent_press_start(fake, parent, invite_id, f"ms:start:{child_id}:2")
    calls = record.wait(answered, "the first check-in item")
    assert sends(calls) == []
    assert [int(p["message_id"]) for p in sends(calls, "editMessageText")] == [invite_id]
    for _ in range(40):
        current = fake.messages[invite_id]
        choices = buttons_of(current)
        if not choices:
            break
        parent.press(invite_id, next(b for b in choices if b.endswith(":y")))
        calls = record.wait(answered, "the next check-in item")
        assert sends(calls) == [], "a check-in answer sent a new message instead of editing"
        assert [int(p["message_id"]) for p in sends(calls, "editMessageText")] == [invite_id]
    assert "📋" in fake.messages[invite_id]["text"] and not buttons_of(fake.messages[invite_id])

    # Tips: the menu is one message that becomes the day, the hour and the confirmation.
    parent.type("/tips")
    record.wait(replied, "the tips menu")
    menu_id = max(fake.messages)
    for data in (f"tips:sub:{child_id}", f"tips:day:{child_id}:0", f"tips:hour:{child_id}:0:9"):
        parent.press(menu_id, data)
        calls = record.wait(answered, data)
        assert [p for p in sends(calls) if "tips:pause" not in str(p.get("reply_markup"))] == []
        assert [int(p["message_id"]) for p in sends(calls, "editMessageText")] == [menu_id]
    assert "Monday" in fake.messages[menu_id]["text"]

    texts = [p.get("text", "") for m, p in fake.calls if m in ("sendMessage", "editMessageText")]
    assert not [t for t in texts if any(s in t for s in SORRY)]


def parent_press_start(fake, parent, message_id, data):
    """The check-in invitation comes from the weekly job; here its button is put on the last message the bot sent
    (the fake keeps messages as they stand), and pressed there."""
    with fake._lock:
        fake.messages[message_id]["reply_markup"] = {"inline_keyboard": [[{"text": "Start", "callback_data": data}]]}
    parent.press(message_id, data)
