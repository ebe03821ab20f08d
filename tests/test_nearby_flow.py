"""The /nearby conversation on the real engine, database and demo data: location or place name, cards, filters,
paging, guidance links, and a shared location never reaching the database or the logs."""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from bot.engine import Engine, Turn
from bot.features.nearby import Nearby, NearbyOptions
from bot.features.profile import Profile
from bot.messages import Incoming, Reply
from bot.render import Renderer
from knowledge.bundle import load_knowledge
from knowledge.db import open_database
from knowledge.settings import REPO_ROOT

# A shared location with digits that the demo data does not contain.
HOME = (31.226543, 121.458761)
CARD = re.compile(r"^\d+\. \*\*", re.M)


class Answerer:
    """Stands in for the Ask feature: whatever free text reaches it is 'answered'."""

    commands: dict = {}
    callbacks: dict = {}
    flows: dict = {}

    def on_text(self, turn: Turn) -> list[Reply]:
        return [Reply("answered: " + turn.incoming.text)]


@pytest.fixture(scope="module")
def kb():
    """The shipped content, loaded once: it is read-only and slow to validate."""
    knowledge, _ = load_knowledge(REPO_ROOT / "content", date(2026, 11, 20))
    return knowledge


@pytest.fixture
def parts(settings, clock, kb):
    settings = replace(settings, messages_per_minute=600)
    db = open_database(settings.db_path)
    engine = Engine(settings, db, kb, Renderer(), clock)
    nearby = Nearby(db, settings.content_dir)
    for feature in (Profile(), Answerer(), nearby):
        engine.add(feature)
    yield engine, nearby
    db.conn.close()


@pytest.fixture
def engine(parts):
    return parts[0]


def send(engine: Engine, user: str = "local:amy", **fields) -> list[Reply]:
    return engine.handle(Incoming(user, **fields))


def button(reply: Reply, label: str):
    return next(b for row in reply.buttons for b in row if label in b.label)


def press(engine: Engine, reply: Reply, label: str, user: str = "local:amy") -> Reply:
    (answer,) = send(engine, user, callback=button(reply, label).data)
    return answer


def share(engine: Engine, user: str = "local:amy", location=HOME) -> Reply:
    send(engine, user, command="nearby")
    (answer,) = send(engine, user, location=location)
    return answer


def distances_km(text: str) -> list[float]:
    found = re.findall(r"^📍 ([\d.]+) (m|km)", text, re.M)
    return [float(v) / 1000 if unit == "m" else float(v) for v, unit in found]


# Asking and answering -------------------------------------------------------------------------------------------

def test_nearby_asks_to_share_a_location_or_type_a_place(engine):
    (reply,) = send(engine, command="nearby")
    assert reply.request_location and reply.location_label == "📍 Share my location"
    assert "type a district" in reply.text and reply.buttons == ()


def test_a_shared_location_lists_five_services_nearest_first(engine):
    reply = share(engine)
    assert len(CARD.findall(reply.text)) == 5 and "Infant care near you" in reply.text
    assert distances_km(reply.text) == sorted(distances_km(reply.text))


@pytest.mark.parametrize("language, label", [("en", "🧪 Demo data – not a real service"),
                                             ("zh", "🧪 演示数据，并非真实机构")])
def test_every_card_from_demo_data_says_so(engine, language, label):
    send(engine, command="nearby", language_hint=language)
    (reply,) = send(engine, location=HOME)
    assert reply.text.count(label) == len(CARD.findall(reply.text)) == 5


def test_a_card_shows_everything_a_family_needs(engine):
    text = share(engine).text
    first = text[CARD.search(text).start():].split("\n\n")[0]
    for marker in ("📍", "👶 Ages", "🕒 ", "💴 ¥", "🪑 ", "☎️ 021-5550", "🏠 ", "Source: Sprout demo data"):
        assert marker in first, marker
    assert re.search(r"^(✅ Registered|⚠️ Not registered|❔ Registration status unknown)", first, re.M)
    assert re.search(r"🗺 https://www\.openstreetmap\.org/\?mlat=[\d.]+&mlon=[\d.]+#map=17/[\d.]+/[\d.]+", first)


@pytest.mark.parametrize("typed, heading", [
    ("Xuhui", "Infant care near Xuhui"),
    ("徐汇", "Infant care near Xuhui"),
    ("静安寺", "Infant care near Jing'an Temple"),
    ("Tianyaoqiao Road", "Infant care near Tianyaoqiao Road"),  # a street known only from the data
])
def test_a_typed_place_name_searches_around_it(engine, typed, heading):
    send(engine, command="nearby")
    (reply,) = send(engine, text=typed)
    assert heading in reply.text and len(CARD.findall(reply.text)) == 5


def test_chinese_users_get_chinese_cards_for_a_typed_place(engine):
    send(engine, "local:li", command="nearby", language_hint="zh")
    (reply,) = send(engine, "local:li", text="静安寺")
    assert "静安寺附近的托育服务" in reply.text and "（演示）" in reply.text and "个月" in reply.text


def test_a_place_can_follow_the_command_directly(engine):
    (reply,) = send(engine, command="nearby", args="陆家嘴")
    assert "Infant care near Lujiazui" in reply.text


def test_an_unknown_place_asks_again_and_keeps_listening(engine):
    send(engine, command="nearby")
    (reply,) = send(engine, text="Atlantis")
    assert "I couldn't find “Atlantis”" in reply.text
    (reply,) = send(engine, text="Xuhui")
    assert "Infant care near Xuhui" in reply.text


def test_a_question_typed_instead_of_a_place_goes_to_the_question_answerer(engine):
    send(engine, command="nearby")
    (reply,) = send(engine, text="how much should my baby sleep?")
    assert reply.text == "answered: how much should my baby sleep?"
    (reply,) = send(engine, text="Xuhui")  # no longer waiting for a place
    assert reply.text == "answered: Xuhui"


def test_an_impossible_location_is_refused(engine):
    send(engine, command="nearby")
    (reply,) = send(engine, location=(95.0, 10.0))
    assert "doesn't look right" in reply.text


def test_nothing_nearby_widens_the_search_to_20_km(engine):
    reply = share(engine, location=(31.70, 121.50))  # Chongming's north shore
    assert "Nothing within 5 km, so I looked up to 20 km away" in reply.text and CARD.search(reply.text)
    assert all(5 < km <= 20 for km in distances_km(reply.text))


def test_nothing_within_20_km_says_so(engine):
    reply = share(engine, location=(32.20, 122.40))  # out at sea
    assert "No services within 20 km" in reply.text and not CARD.search(reply.text)


# Filters and paging ---------------------------------------------------------------------------------------------

def test_more_shows_the_next_five(engine):
    first = share(engine)
    second = press(engine, first, "More")
    assert re.findall(r"^(\d+)\. ", second.text, re.M) == ["6", "7", "8", "9", "10"]
    assert min(distances_km(second.text)) >= max(distances_km(first.text))


def test_registered_only_leaves_only_registered_services(engine):
    reply = press(engine, share(engine), "Registered only")
    assert "Filters: registered only" in reply.text
    assert reply.text.count("✅ Registered") == len(CARD.findall(reply.text)) == 5
    assert button(reply, "Registered only").label.startswith("✅")


def test_pressing_a_filter_again_turns_it_off(engine):
    on = press(engine, share(engine), "Registered only")
    off = press(engine, on, "Registered only")
    assert "Filters:" not in off.text and button(off, "Registered only").label.startswith("▫️")


def test_public_only_shows_public_and_community_services(engine):
    reply = press(engine, share(engine), "Public / inclusive")
    kinds = re.findall(r"^📍 [\d.]+ k?m · (.+)$", reply.text, re.M)
    assert kinds and set(kinds) <= {"public / inclusive centre", "community childcare point"}


def test_has_vacancies_hides_full_services(engine):
    reply = press(engine, share(engine), "Has vacancies")
    assert "No vacancies now" not in reply.text and reply.text.count("free") >= 5


def test_the_fee_button_steps_through_maximum_fees(engine):
    reply = share(engine)
    fees = []
    for _ in range(4):
        reply = press(engine, reply, "💰")
        fees.append(button(reply, "💰").label)
    assert fees == ["💰 Up to ¥3,000/month", "💰 Up to ¥5,000/month", "💰 Up to ¥8,000/month", "💰 Any fee"]


def test_a_maximum_fee_leaves_out_dearer_services(engine):
    reply = press(engine, share(engine), "💰")
    lowest = [int(v.replace(",", "")) for v in re.findall(r"^💴 ¥([\d,]+)", reply.text, re.M)]
    assert lowest and max(lowest) <= 3000


def test_open_now_uses_the_time_in_shanghai(engine, clock):
    clock.now = datetime(2026, 11, 22, 4, 0, tzinfo=timezone.utc)  # Sunday noon in Shanghai
    reply = press(engine, share(engine), "Open now")
    assert "Filters: open now" in reply.text and "No services match" in reply.text


def test_fits_my_childs_age_uses_the_youngest_child(engine):
    send(engine, command="nearby")
    user = engine.users.find("local:amy")
    engine.users.set_consent(user.id, True)
    engine.users.add_child(user.id, "Older", date(2024, 6, 1), "day", 0)
    engine.users.add_child(user.id, "Mia", date(2025, 9, 5), "day", 6)  # 14 months by date of birth
    reply = press(engine, share(engine), "Fits my child's age")
    assert "fits a 14-month-old" in reply.text
    ranges = [(int(a), int(b)) for a, b in re.findall(r"^👶 Ages (\d+)–(\d+) months", reply.text, re.M)]
    assert len(ranges) == 5 and all(a <= 14 <= b for a, b in ranges)


def test_fits_my_childs_age_without_consent_explains_how_to_add_a_child(engine):
    reply = press(engine, share(engine), "Fits my child's age")
    assert "add your child with /child" in reply.text and "Filters:" not in reply.text


def test_the_guidance_on_choosing_care_is_one_tap_away(engine):
    reply = share(engine)
    assert [b.data for b in reply.buttons[-1]] == ["ask:care-questions-to-ask-nursery-visit",
                                                   "ask:care-types-of-childcare-under-3"]


def test_every_button_fits_telegrams_callback_limit(engine):
    reply = press(engine, press(engine, share(engine), "Registered only"), "💰")
    assert all(len(b.data.encode()) <= 64 for row in reply.buttons for b in row)


# A shared location is never kept -------------------------------------------------------------------------------

def test_old_buttons_after_a_restart_ask_for_the_location_again(engine, settings):
    reply = share(engine)
    restarted = Nearby(engine.db, settings.content_dir)
    engine.add(restarted)
    answer = press(engine, reply, "More")
    assert answer.request_location and "expired" in answer.text


def test_a_search_token_expires_after_half_an_hour(engine, clock):
    reply = share(engine)
    clock.advance(minutes=31)
    assert "expired" in press(engine, reply, "More").text


def test_another_user_cannot_reuse_my_search(engine):
    reply = share(engine)
    assert "expired" in press(engine, reply, "More", user="local:eve").text


def test_place_name_searches_survive_a_restart(engine, settings):
    send(engine, command="nearby")
    (reply,) = send(engine, text="Xuhui")
    engine.add(Nearby(engine.db, settings.content_dir))
    assert "Infant care near Xuhui" in press(engine, reply, "More").text


def _needles() -> list[str]:
    lat, lon = HOME
    return [repr(lat), repr(lon), f"{lat:.5f}", f"{lon:.5f}", f"{lat:.4f}", f"{lon:.4f}", str(lat)[:7], str(lon)[:8],
            str(lat).replace(".", ""), str(lon).replace(".", "")]


def _dump(db) -> str:
    rows = []
    for (table,) in db.execute("select name from sqlite_master where type in ('table', 'view')").fetchall():
        rows += [repr(row) for row in db.execute(f"select * from [{table}]").fetchall()]
    return "\n".join(rows)


def test_a_shared_location_reaches_neither_the_database_nor_the_logs(engine, settings, caplog):
    caplog.set_level(logging.DEBUG)
    # Counted before and after, so a coincidence in the demo data cannot hide a leak or fake one.
    before = {needle: _dump(engine.db).count(needle) for needle in _needles()}
    reply = share(engine)
    for label in ("Registered only", "More", "Has vacancies", "💰"):
        reply = press(engine, reply, label)
    after = {needle: _dump(engine.db).count(needle) for needle in _needles()}
    assert after == before and before[repr(HOME[0])] == 0
    engine.db.execute("pragma wal_checkpoint(passive)")
    raw = b"".join(p.read_bytes() for p in settings.db_path.parent.glob(settings.db_path.name + "*"))
    for value in HOME:  # neither as text nor as a stored 8-byte float
        assert struct.pack(">d", value) not in raw and repr(value).encode() not in raw
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert [needle for needle in _needles() if needle in logged] == []


def test_waiting_for_a_location_stores_no_location(engine):
    send(engine, command="nearby")
    user = engine.users.find("local:amy")
    assert engine.pending(user.id) == {"flow": "nearby_place"}
    send(engine, location=HOME)
    assert engine.pending(user.id) is None


# For other features and /help -----------------------------------------------------------------------------------

def test_other_features_can_show_results_around_a_point(parts, clock):
    engine, nearby = parts
    user, _ = engine.users.get_or_create("local:amy", None, "en", "CN")
    turn = Turn(Incoming("local:amy"), user, False, engine, clock())
    reply = nearby.search_reply(turn, (31.2397, 121.4998), NearbyOptions(registered_only=True, max_fee=8000))
    assert "Filters: registered only · up to ¥8,000 a month" in reply.text
    assert button(reply, "Registered only").label.startswith("✅")


def test_nearby_is_listed_in_help_in_both_languages(engine):
    (en,) = send(engine, command="help")
    (zh,) = send(engine, "local:zh", command="help", language_hint="zh")
    assert "/nearby – find infant-care services" in en.text and "/nearby – 查找你附近" in zh.text


def test_the_guidance_entries_behind_the_buttons_are_published(kb):
    from bot.features.nearby import GUIDANCE

    assert all(kb.entry(entry_id).status == "published" for entry_id, _ in GUIDANCE)
