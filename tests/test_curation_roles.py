"""Curator and reviewer roles go by numeric Telegram id: every curator command, button and typed step is refused
to anyone else, including a user who took a curator's old username. Driven through the real PTB Application."""

import asyncio
from datetime import date, datetime, timezone

import pytest
from telegram import Update

from bot.messages import Incoming
from bot.telegram_app import build_application
from bot.wiring import build_runtime
from conftest import CONTENT_DIR, FixedClock
from knowledge.curation import Announcements, Workflow
from knowledge.settings import Settings
from knowledge.users import UserStore
from telegram_fake import RecordingRequest, callback_update, message_update
from tipshelpers import subscribed_child
from test_curation_workflow import flying_entry

CURATOR, REVIEWER = 501, 601
OLD_USERNAME = "nurse_li"   # the curator's username until they changed it; someone else has it now
STRANGER = {"id": 900, "username": "just_a_parent"}
IMPOSTOR = {"id": 901, "username": OLD_USERNAME}
COMMANDS = ["review", "propose", "propose sleep-naps-by-age", "stale", "retire sleep-naps-by-age", "gaps", "stats",
            "announce", "web"]
BUTTONS = ["cur:topic:health", "cur:next", "cur:useq", "cur:edit:en_body", "cur:sum", "cur:submit", "cur:cancel",
           "cur:retire", "cur:gap:a:1", "cur:gap:d:1", "cur:att:0", "cur:pub:1", "cur:rej:1", "cur:annr:all",
           "cur:annb:all", "cur:anns:1", "cur:annx:1", "cur:no-such-action"]
REVIEWER_ONLY_BUTTONS = [b for b in BUTTONS if b.split(":")[1] in ("pub", "rej", "annr", "annb", "anns", "annx")]


@pytest.fixture(scope="module")
def staffed(tmp_path_factory, shared_model, shared_parts):
    """One runtime for the module (roles need no search index): roles by id, and a proposal, an announcement with
    a recipient and a gap question, so a wrongly allowed action would change something."""
    base = tmp_path_factory.mktemp("roles")
    settings = Settings(data_dir=base, db_path=base / "sprout.db", content_dir=CONTENT_DIR,
                        curator_ids=frozenset({CURATOR}), reviewer_ids=frozenset({REVIEWER}))
    runtime = build_runtime(settings, clock=FixedClock(datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)),
                            embedder_factory=lambda: shared_model, shared=shared_parts)
    Workflow(runtime.db, runtime.clock).propose(flying_entry(), f"tg:{CURATOR}")
    Announcements(runtime.db, runtime.clock).create({"en": "Clinics are closed on Monday.", "zh": "周一社区诊所休息一天。"},
                                                    None, None, f"tg:{REVIEWER}")
    subscribed_child(runtime.db, "tg:700", date(2026, 6, 1), runtime.clock(), chat_id=700)
    runtime.db.execute("insert into question_log (asked_at, lang, question, kind, score) values "
                       "('2026-11-19T09:00:00Z', 'en', 'how do I get a passport for my baby', 'no_answer', 0.4)")
    yield runtime
    runtime.db.conn.close()


@pytest.fixture(autouse=True)
def fresh_audit(staffed):
    """Each test starts with an empty audit log and no half-finished inputs."""
    staffed.db.execute("delete from audit_log")
    staffed.db.execute("delete from conversations")


def snapshot(db):
    """Everything a curation action could change."""
    return {
        "proposals": db.execute("select id, state from proposals order by id").fetchall(),
        "entries": db.execute("select id, status, content_hash from entries order by id").fetchall(),
        "deliveries": db.execute("select count(*) from deliveries").fetchone()[0],
        "announcements": db.execute("select id, state, queued from announcements").fetchall(),
        "gap_actions": db.execute("select count(*) from gap_actions").fetchone()[0],
    }


def with_username(update, username):
    part = update.get("message") or update["callback_query"]
    part["from"]["username"] = username
    return update


async def drive(runtime, user, payload):
    """Send one update through the real Application; returns the texts sent and any handler error."""
    request = RecordingRequest()
    app = build_application(runtime, request=request, rate_limiter=False)
    errors = []

    async def record(update, context):
        errors.append(context.error)

    app.add_error_handler(record)
    runtime.clock.advance(seconds=5)  # the per-user throttle counts messages per minute of this clock
    async with app:
        await app.process_update(Update.de_json(with_username(payload, user["username"]), app.bot))
    assert errors == []
    return request.texts()


def command_update(user, text):
    return message_update(1, user["id"], f"/{text}")


def refusals(db):
    return db.execute("select actor, action, target from audit_log where action = 'refused'").fetchall()


@pytest.mark.parametrize("user", [STRANGER, IMPOSTOR], ids=["stranger", "same-username-different-id"])
@pytest.mark.parametrize("text", COMMANDS)
def test_a_curator_command_from_anyone_else_is_refused_and_audited(staffed, user, text):
    before = snapshot(staffed.db)
    sent = asyncio.run(drive(staffed, user, command_update(user, text)))
    assert len(sent) == 1 and "only for Sprout's curators" in sent[0]
    assert snapshot(staffed.db) == before
    internal_id = UserStore(staffed.db).find(f"tg:{user['id']}").id
    assert refusals(staffed.db) == [(f"user:{internal_id}", "refused", f"/{text.split()[0]}")]


@pytest.mark.parametrize("user", [STRANGER, IMPOSTOR], ids=["stranger", "same-username-different-id"])
@pytest.mark.parametrize("data", BUTTONS)
def test_a_curation_button_from_anyone_else_is_refused_and_audited(staffed, user, data):
    before = snapshot(staffed.db)
    sent = asyncio.run(drive(staffed, user, callback_update(1, user["id"], data)))
    assert len(sent) == 1 and "only for Sprout's curators" in sent[0]
    assert snapshot(staffed.db) == before
    assert [target for _, _, target in refusals(staffed.db)] == [f"button:cur:{data.split(':')[1]}"]


@pytest.mark.parametrize("data", REVIEWER_ONLY_BUTTONS)
def test_a_curator_cannot_press_a_reviewer_button(staffed, data):
    before = snapshot(staffed.db)
    curator = {"id": CURATOR, "username": "nurse_li_2026"}
    sent = asyncio.run(drive(staffed, curator, callback_update(1, CURATOR, data)))
    assert "only reviewers" in sent[0]
    assert snapshot(staffed.db) == before


def test_announce_is_for_reviewers_only(staffed):
    curator = {"id": CURATOR, "username": "nurse_li_2026"}
    sent = asyncio.run(drive(staffed, curator, command_update(curator, "announce")))
    assert "only reviewers" in sent[0]


@pytest.mark.parametrize("text", [c for c in COMMANDS if c != "announce"])
def test_the_curator_is_recognised_by_id_after_changing_username(staffed, text):
    curator = {"id": CURATOR, "username": "nurse_li_2026"}
    sent = asyncio.run(drive(staffed, curator, command_update(curator, text)))
    assert sent and not any("only for Sprout's curators" in s for s in sent)
    assert refusals(staffed.db) == []


@pytest.mark.parametrize("flow", ["cur_propose", "cur_attach", "cur_announce"])
def test_a_typed_step_from_anyone_else_is_refused_even_with_a_curation_flow_pending(staffed, flow):
    user, _ = UserStore(staffed.db).get_or_create(f"tg:{IMPOSTOR['id']}", IMPOSTOR["id"], "en", "CN")
    staffed.engine.set_pending(user.id, {"flow": flow, "step": "en_title", "mode": "new", "entry_id": None,
                                         "data": {}, "lang": "en", "ids": [1], "examples": ["x"], "suggest": []})
    before = snapshot(staffed.db)
    sent = asyncio.run(drive(staffed, IMPOSTOR, message_update(1, IMPOSTOR["id"], "Flying with a baby")))
    assert "only for Sprout's curators" in sent[0]
    assert snapshot(staffed.db) == before and staffed.engine.pending(user.id) is None


def test_the_local_chat_has_no_telegram_id_so_it_gets_no_curator_role(staffed):
    replies = staffed.engine.handle(Incoming("local:admin", command="review", text="/review"))
    assert "only for Sprout's curators" in replies[0].text


def test_the_lists_above_cover_every_curator_command_and_button(staffed):
    from bot.features.curation import Curation

    assert {c.split()[0] for c in COMMANDS} == set(staffed.engine.curator_commands())
    assert {b.split(":")[1] for b in BUTTONS} - {"no-such-action"} == set(Curation(staffed).buttons)


def test_curator_commands_are_hidden_from_help(staffed):
    help_text = staffed.engine.handle(Incoming("local:parent", command="help"))[0].text
    assert all(f"/{name} " not in help_text for name in staffed.engine.curator_commands())



def test_each_language_is_held_to_its_own_minimum_length_at_its_own_step(staffed):
    """Issue #22: a short English body is refused when the curator presses Next, not only at the summary; a
    Chinese body is measured against the Chinese minimum, not the English 80 characters."""
    from dataclasses import replace

    from knowledge.curation import check_entry, text_limits
    from test_curation_workflow import flying_entry

    def act(**fields):
        staffed.clock.advance(seconds=5)
        replies = staffed.engine.handle(Incoming(f"tg:{CURATOR}", chat_id=CURATOR, telegram_user_id=CURATOR,
                                                 **fields))
        return "\n".join(r.text for r in replies)

    zh_body = "宝宝出生几周后一般就可以坐飞机。起飞和降落时喂奶或用安抚奶嘴，吞咽能帮耳朵适应气压变化。"
    assert text_limits("body", "zh")[0] <= len(zh_body) < text_limits("body", "en")[0]
    act(command="propose", text="/propose")
    act(callback="cur:topic:health")
    act(text="0-36")
    act(text="Flying with a baby")
    act(text="Fly whenever.")
    refused = act(callback="cur:next")
    assert "too short" in refused and "80" in refused
    act(text="Babies can fly from a few weeks old; feed them during take-off and landing to help their ears.")
    asked = act(callback="cur:next")
    assert "too short" not in asked
    act(text="can i fly with my newborn\nis it safe to take a baby on a plane\nbaby ears on a plane")
    act(text="带宝宝坐飞机")
    act(text=zh_body)
    assert "太短" not in act(callback="cur:next")
    act(command="cancel", text="/cancel")
    entry = flying_entry()
    short_zh = replace(entry.texts["zh"], body=zh_body)
    assert "too_short" not in [p.code for p in check_entry(replace(entry, texts={**entry.texts, "zh": short_zh})).problems]
