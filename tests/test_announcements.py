"""Announcements: a reviewer's broadcast to subscribers of a region or age band goes through the deliveries ledger,
exactly once per user, composed in each user's language by the same sender the tips use."""

import asyncio
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from bot.features.tips import compose_delivery
from bot.messages import Incoming
from bot.render import Renderer
from bot.tips_sender import send_due
from knowledge.curation import Announcements, CurationError
from knowledge.deliveries import Ledger
from knowledge.subscriptions import SubscriptionStore
from knowledge.users import UserStore
from tipshelpers import subscribed_child

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
TEXTS = {"en": "The Riverside clinic is closed on Monday 23 November.", "zh": "河滨社区诊所11月23日（周一）休息。"}
REVIEWER = 601


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class Recording:
    """A transport that records every message it is asked to send."""

    def __init__(self):
        self.sent: list[tuple[int, str]] = []

    async def send(self, chat_id, reply):
        self.sent.append((chat_id, reply.text))


@pytest.fixture
def families(db):
    """Three subscribed families: two in China (English and Chinese), one in the UK with an older child."""
    subscribed_child(db, "tg:1", date(2026, 8, 1), NOW, chat_id=1001, lang="en")
    subscribed_child(db, "tg:2", date(2026, 3, 1), NOW, chat_id=1002, lang="zh")
    user, _ = subscribed_child(db, "tg:3", date(2024, 6, 1), NOW, chat_id=1003, lang="en")
    UserStore(db).update(user.id, region="UK")
    return db


def send_pass(db, transport, clock):
    compose = compose_delivery(Renderer(), db, SimpleNamespace(tips=()), {})

    async def no_sleep(seconds):
        clock.now += timedelta(seconds=seconds)

    return asyncio.run(send_due(Ledger(db, []), compose, transport, clock, "w1", sleep=no_sleep))


def test_enqueueing_twice_adds_one_row_per_user(families):
    announcements = Announcements(families, Clock(NOW))
    announcement = announcements.create(TEXTS, None, None, f"tg:{REVIEWER}")
    assert announcements.enqueue(announcement.id, f"tg:{REVIEWER}") == 3
    assert announcements.enqueue(announcement.id, f"tg:{REVIEWER}") == 0
    rows = families.execute("select dedupe_key, kind, item_id, child_id, state, due_at from deliveries "
                            "order by user_id").fetchall()
    assert [r[0] for r in rows] == [f"announcement:{announcement.id}:{u}" for u in (1, 2, 3)]
    assert {r[1:] for r in rows} == {("announcement", str(announcement.id), None, "pending", "2026-11-20T09:00:00Z")}


def test_two_send_passes_deliver_one_message_per_user_in_their_language(families):
    clock = Clock(NOW)
    announcements = Announcements(families, clock)
    announcement = announcements.create(TEXTS, None, None, f"tg:{REVIEWER}")
    announcements.enqueue(announcement.id, f"tg:{REVIEWER}")
    transport = Recording()
    first = send_pass(families, transport, clock)
    announcements.enqueue(announcement.id, f"tg:{REVIEWER}")
    second = send_pass(families, transport, clock)
    assert (first.sent, second.sent) == (3, 0)
    assert sorted(chat for chat, _ in transport.sent) == [1001, 1002, 1003]
    by_chat = dict(transport.sent)
    assert TEXTS["en"] in by_chat[1001] and "Sprout team" in by_chat[1001]
    assert TEXTS["zh"] in by_chat[1002] and "团队" in by_chat[1002]


def test_an_announcement_that_no_longer_exists_is_skipped_not_sent(families):
    clock = Clock(NOW)
    announcements = Announcements(families, clock)
    announcement = announcements.create(TEXTS, "UK", None, f"tg:{REVIEWER}")
    announcements.enqueue(announcement.id, f"tg:{REVIEWER}")
    families.execute("delete from announcements")
    transport = Recording()
    assert send_pass(families, transport, clock).skipped == 1 and transport.sent == []


@pytest.mark.parametrize("region, band, recipients", [
    (None, None, {1, 2, 3}),
    ("CN", None, {1, 2}),
    ("UK", None, {3}),
    (None, "0-3", {1}),          # born 2026-08-01: 3 months old
    (None, "7-12", {2}),         # born 2026-03-01: 8 months old
    (None, "25-36", {3}),        # born 2024-06-01: 29 months old
    ("UK", "0-3", set()),
])
def test_recipients_are_subscribers_in_the_region_and_age_band(families, region, band, recipients):
    assert set(Announcements(families, Clock(NOW)).recipients(region, band)) == recipients


@pytest.mark.parametrize("change", ["pause", "stop", "blocked"])
def test_families_who_paused_stopped_or_blocked_are_left_out(families, change):
    if change == "blocked":
        UserStore(families).deactivate(1)
    else:
        child = UserStore(families).children(1)[0]
        SubscriptionStore(families).set_status(child.id, {"pause": "paused", "stop": "stopped"}[change], NOW)
    assert 1 not in Announcements(families, Clock(NOW)).recipients(None, None)


def test_a_family_with_two_children_gets_it_once(families):
    users = UserStore(families)
    second = users.add_child(1, "Twin", date(2026, 8, 1), "day", 0)
    SubscriptionStore(families).subscribe(second.id, 0, 9, "Asia/Shanghai", NOW)
    announcements = Announcements(families, Clock(NOW))
    announcement = announcements.create(TEXTS, "CN", None, f"tg:{REVIEWER}")
    assert announcements.enqueue(announcement.id, f"tg:{REVIEWER}") == 2


@pytest.mark.parametrize("texts, code", [
    ({"en": TEXTS["en"]}, "missing_language"),
    ({**TEXTS, "en": "Book now at https://cheap-vaccines.example.com"}, "link_domain"),
    ({**TEXTS, "zh": "退烧可以吃 5 毫升布洛芬。"}, "dose"),
    ({**TEXTS, "en": "x" * 900}, "too_long"),
])
def test_unsafe_announcements_are_refused(db, texts, code):
    with pytest.raises(CurationError) as refused:
        Announcements(db, Clock(NOW)).create(texts, None, None, f"tg:{REVIEWER}")
    assert code in [p.code for p in refused.value.detail["check"].problems]
    assert db.execute("select count(*) from announcements").fetchone()[0] == 0


# The /announce conversation ------------------------------------------------------------------------------------


@pytest.fixture
def staffed(runtime):
    runtime.engine.settings = replace(runtime.engine.settings, reviewer_ids=frozenset({REVIEWER}))
    subscribed_child(runtime.db, "tg:1", date(2026, 8, 1), runtime.clock(), chat_id=1001, lang="en")
    subscribed_child(runtime.db, "tg:2", date(2026, 3, 1), runtime.clock(), chat_id=1002, lang="zh")
    return runtime


def act(runtime, **fields):
    runtime.clock.advance(seconds=5)
    return runtime.engine.handle(Incoming(f"tg:{REVIEWER}", chat_id=REVIEWER, telegram_user_id=REVIEWER, **fields))


def announce_to_babies_in_china(runtime):
    replies = act(runtime, command="announce", text="/announce")
    assert "cur:annr:CN" in [b.data for r in replies for row in r.buttons for b in row]
    act(runtime, callback="cur:annr:CN")
    act(runtime, callback="cur:annb:0-3")
    act(runtime, text=TEXTS["en"])
    return act(runtime, text=TEXTS["zh"])


def test_announce_previews_both_languages_with_the_recipient_count(staffed):
    preview = announce_to_babies_in_china(staffed)[0]
    assert TEXTS["en"] in preview.text and TEXTS["zh"] in preview.text
    assert "Recipients now: 1 family" in preview.text
    assert [b.label for row in preview.buttons for b in row][0] == "📣 Send to 1"
    assert staffed.db.execute("select count(*) from deliveries where kind = 'announcement'").fetchone()[0] == 0


def test_confirming_twice_queues_the_announcement_once(staffed):
    preview = announce_to_babies_in_china(staffed)[0]
    send = next(b.data for row in preview.buttons for b in row if b.data.startswith("cur:anns:"))
    first = act(staffed, callback=send)
    second = act(staffed, callback=send)
    assert "Queued for 1 family" in first[0].text and "already" in second[0].text
    assert staffed.db.execute("select count(*) from deliveries where kind = 'announcement'").fetchone()[0] == 1
    actions = [a for (a,) in staffed.db.execute("select action from audit_log where target like 'announcement:%' "
                                                 "order by id")]
    assert actions == ["announcement_draft", "announcement_queued", "announcement_queued"]


def test_an_announcement_with_a_link_outside_the_allowed_sources_is_refused_in_the_chat(staffed):
    act(staffed, command="announce", text="/announce")
    act(staffed, callback="cur:annr:all")
    act(staffed, callback="cur:annb:all")
    act(staffed, text="Free samples at https://formula-deals.example.com")
    replies = act(staffed, text=TEXTS["zh"])
    assert "not on the list of allowed sources" in replies[0].text
    assert staffed.db.execute("select count(*) from announcements").fetchone()[0] == 0
