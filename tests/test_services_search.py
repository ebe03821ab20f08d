"""Searching services: great-circle distances checked by hand, ranking, every filter, paging, opening hours and
place names typed in English or Chinese."""

from __future__ import annotations

import csv
import math
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from knowledge.gazetteer import Gazetteer, street_names
from knowledge.opening_hours import OpeningHoursError, parse_opening_hours
from knowledge.service_import import CSV_COLUMNS, import_services
from knowledge.services import SearchFilters, bounding_boxes, haversine_km, search_services
from knowledge.settings import REPO_ROOT

GAZETTEER = REPO_ROOT / "content" / "services" / "gazetteer.yaml"
CENTRE = (31.2000, 121.4500)
KM_PER_DEGREE = 6371 * math.pi / 180  # 111.19492664 km


def north(km: float) -> tuple[float, float]:
    return CENTRE[0] + km / KM_PER_DEGREE, CENTRE[1]


def east(km: float) -> tuple[float, float]:
    return CENTRE[0], CENTRE[1] + km / (KM_PER_DEGREE * math.cos(math.radians(CENTRE[0])))


def service(id: str, point: tuple[float, float], **fields) -> dict:
    base = {"id": id, "name_en": f"Service {id}", "name_zh": f"机构{id}", "type": "private",
            "lat": f"{point[0]:.7f}", "lon": f"{point[1]:.7f}", "age_min_months": 6, "age_max_months": 36,
            "opening_hours": "Mo-Fr 08:00-18:00", "fee_min_cny": 3000, "fee_max_cny": 5000, "capacity": 40,
            "vacancies": 2, "registration": "registered", "updated": "2026-11-01"}
    return {**base, **fields}


def load(db, tmp_path: Path, rows: list[dict]) -> None:
    path = tmp_path / f"services-{len(rows)}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    report = import_services(db, path)
    assert report.rejected == [], report.rejected


def ids(page) -> list[str]:
    return [r.service.id for r in page.results]


# Distances ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, km", [
    ((0, 0), (1, 0), 111.1949),        # one degree of a meridian: 6371 km x pi/180
    ((0, 0), (0, 1), 111.1949),        # one degree of the equator, the same
    ((0, 0), (0, 90), 10007.543),      # a quarter of the equator: 6371 km x pi/2
    ((0, 0), (0, 180), 20015.087),     # half way round: 6371 km x pi
    ((60, 0), (60, 1), 55.5969),       # 2 x 6371 x asin(cos 60 x sin 0.5 deg) = 12742 x 0.0043633
    ((31.2304, 121.4737), (31.1945, 121.4370), 5.3025),  # People's Square to Xujiahui: sqrt(3.992^2 + 3.490^2)
    ((0, 179.5), (0, -179.5), 111.1949),                 # across the antimeridian, not the long way round
])
def test_great_circle_distances_match_hand_calculations(a, b, km):
    assert haversine_km(*a, *b) == pytest.approx(km, rel=1e-4)


def test_results_are_ranked_by_distance_with_exact_kilometres(db, tmp_path):
    load(db, tmp_path, [service("far", north(2.0)), service("near", north(0.5)), service("east", east(1.5)),
                        service("mid", north(1.0))])
    page = search_services(db, *CENTRE)
    assert ids(page) == ["near", "mid", "east", "far"]
    assert [round(r.distance_km, 3) for r in page.results] == [0.5, 1.0, 1.5, 2.0]


def test_search_ranks_exactly_like_a_brute_force_scan(db, tmp_path):
    rng = random.Random(3)
    rows = [service(f"r{i:03d}", (31.2 + rng.uniform(-0.05, 0.05), 121.45 + rng.uniform(-0.05, 0.05)))
            for i in range(300)]
    load(db, tmp_path, rows)
    expected = sorted((haversine_km(*CENTRE, float(r["lat"]), float(r["lon"])), r["id"]) for r in rows)
    expected = [i for d, i in expected if d <= 3.0]
    page = search_services(db, *CENTRE, radius_km=3.0, page_size=500)
    fast = search_services(db, *CENTRE, radius_km=3.0, page_size=len(expected), count_total=False)
    assert ids(page) == expected and ids(fast) == expected and page.total == len(expected)
    assert all(r.distance_km == pytest.approx(haversine_km(*CENTRE, r.service.lat, r.service.lon), abs=1e-9)
               for r in page.results)


def test_services_outside_the_radius_are_left_out(db, tmp_path):
    load(db, tmp_path, [service("in", north(4.9)), service("out", north(5.1)), service("corner", east(4.0))])
    assert ids(search_services(db, *CENTRE, radius_km=5)) == ["corner", "in"]


def test_a_search_finds_services_across_the_antimeridian(db, tmp_path):
    load(db, tmp_path, [service("west", (0.0, -179.99)), service("east", (0.0, 179.995))])
    assert ids(search_services(db, 0.0, 179.99, radius_km=5)) == ["east", "west"]


@pytest.mark.parametrize("lat", [89.99, -89.99])
def test_a_search_near_a_pole_covers_every_longitude(lat):
    assert bounding_boxes(lat, 10.0, 5.0)[0][2:] == (-180.0, 180.0)


# Filters --------------------------------------------------------------------------------------------------------

@pytest.fixture
def variety(db, tmp_path):
    load(db, tmp_path, [
        service("baby", north(0.1), age_min_months=3, age_max_months=36, type="private"),
        service("toddler", north(0.2), age_min_months=24, age_max_months=36, type="kindergarten_class"),
        service("public", north(0.3), type="public_inclusive", fee_min_cny=1200, fee_max_cny=1800),
        service("community", north(0.4), type="community_centre", fee_min_cny=0, fee_max_cny=300, vacancies=0),
        service("unregistered", north(0.5), registration="unregistered", fee_min_cny=8000, fee_max_cny=9000),
        service("pending", north(0.6), registration="pending", type="home_based", vacancies=0),
        service("unknown-ages", north(0.7), age_min_months="", age_max_months="", opening_hours="",
                fee_min_cny="", fee_max_cny="", vacancies="", registration="unknown"),
        service("weekend", north(0.8), opening_hours="Sa-Su 09:00-17:00", type="employer"),
    ])
    return db


@pytest.mark.parametrize("filters, expected", [
    (SearchFilters(age_months=4.2), ["baby"]),                       # 4 whole months
    (SearchFilters(age_months=30), ["baby", "toddler", "public", "community", "unregistered", "pending", "weekend"]),
    (SearchFilters(age_months=36.9), ["baby", "toddler", "public", "community", "unregistered", "pending",
                                      "weekend"]),                 # still "36 months" for a 6-36 place
    (SearchFilters(age_months=37), []),
    (SearchFilters(types=("kindergarten_class", "home_based")), ["toddler", "pending"]),
    (SearchFilters(public_only=True), ["public", "community"]),
    (SearchFilters(public_only=True, types=("public_inclusive", "private")), ["public"]),
    (SearchFilters(registered_only=True), ["baby", "toddler", "public", "community", "weekend"]),
    (SearchFilters(max_fee=1500), ["public", "community"]),
    (SearchFilters(vacancies=True), ["baby", "toddler", "public", "unregistered", "weekend"]),
    (SearchFilters(age_months=12, registered_only=True, vacancies=True, max_fee=5000), ["baby", "public", "weekend"]),
])
def test_each_filter_keeps_only_matching_services(variety, filters, expected):
    assert ids(search_services(variety, *CENTRE, filters, page_size=20)) == expected


@pytest.mark.parametrize("when, expected", [
    (datetime(2026, 12, 1, 9, 0), ["baby", "toddler", "public", "community", "unregistered", "pending"]),  # Tue
    (datetime(2026, 12, 1, 18, 0), []),                               # closing time is not open
    (datetime(2026, 12, 6, 10, 30), ["weekend"]),                     # Sunday
    (datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc), ["baby", "toddler", "public", "community", "unregistered",
                                                         "pending"]),  # 09:00 in Shanghai
])
def test_open_at_checks_the_opening_hours_in_shanghai_time(variety, when, expected):
    assert ids(search_services(variety, *CENTRE, SearchFilters(open_at=when), page_size=20)) == expected


# Paging ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def twelve(db, tmp_path):
    load(db, tmp_path, [service(f"s{i:02d}", north(0.1 * (i + 1))) for i in range(12)])
    return db


@pytest.mark.parametrize("page, expected, has_more", [
    (1, ["s00", "s01", "s02", "s03", "s04"], True),
    (2, ["s05", "s06", "s07", "s08", "s09"], True),
    (3, ["s10", "s11"], False),
    (4, [], False),
])
@pytest.mark.parametrize("count_total", [True, False])
def test_results_come_in_pages_of_five_with_a_more_flag(twelve, page, expected, has_more, count_total):
    found = search_services(twelve, *CENTRE, page=page, count_total=count_total)
    assert (ids(found), found.has_more) == (expected, has_more)
    assert found.total == (12 if count_total else None)


def test_page_numbers_count_on_from_the_previous_page(twelve):
    found = search_services(twelve, *CENTRE, page=2)
    assert (found.first, found.last) == (6, 10)


def test_paging_with_open_at_filters_before_paging(twelve):
    found = search_services(twelve, *CENTRE, SearchFilters(open_at=datetime(2026, 12, 1, 9)), page=3)
    assert (ids(found), found.total, found.has_more) == (["s10", "s11"], 12, False)


# Place names ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gazetteer():
    return Gazetteer.load(GAZETTEER)


@pytest.mark.parametrize("typed, key", [
    ("徐汇", "xuhui"), ("Xuhui", "xuhui"), ("xuhui district", "xuhui"), ("徐汇区", "xuhui"), ("上海市徐汇区", "xuhui"),
    ("静安寺", "jingan-temple"), ("Jing'an Temple", "jingan-temple"), ("jingan temple", "jingan-temple"),
    ("静安", "jingan"), ("Jing'an", "jingan"), ("静安寺附近", "jingan-temple"), ("near Xujiahui", "xujiahui"),
    ("陆家嘴", "lujiazui"), ("Lujiazui", "lujiazui"), ("浦东新区", "pudong"), ("Pudong New Area", "pudong"),
    ("崇明岛", "chongming"), ("ＸＵＨＵＩ", "xuhui"), ("人民广场", "peoples-square"), ("People's Square", "peoples-square"),
    ("南京西路", "nanjing-road-west"), ("我在五角场上班", "wujiaochang"),
])
def test_a_typed_place_resolves_in_either_language(gazetteer, typed, key):
    assert gazetteer.resolve(typed).key == key


@pytest.mark.parametrize("typed", ["Atlantis", "", "   ", "ab", "x"])
def test_an_unknown_place_resolves_to_nothing(gazetteer, typed):
    assert gazetteer.resolve(typed) is None


def test_all_sixteen_districts_are_in_the_gazetteer(gazetteer):
    assert sum(1 for p in gazetteer.places if p.kind == "district") == 16


@pytest.mark.parametrize("typed", ["天钥桥路", "Tianyaoqiao Road", "tianyaoqiao", "天钥桥"])
def test_street_names_from_the_data_resolve_to_their_services(db, tmp_path, gazetteer, typed):
    load(db, tmp_path, [
        service("a", (31.18, 121.44), address_en="10 Tianyaoqiao Road, Xuhui District", address_zh="上海市徐汇区天钥桥路10号"),
        service("b", (31.20, 121.44), address_en="80 Tianyaoqiao Road, Xuhui District", address_zh="上海市徐汇区天钥桥路80号"),
    ])
    place = gazetteer.resolve(typed, db)
    assert place.kind == "street" and (place.lat, place.lon) == pytest.approx((31.19, 121.44))


def test_a_district_known_only_from_the_data_resolves(db, tmp_path, gazetteer):
    load(db, tmp_path, [service("a", (22.54, 114.06), district="Futian")])
    assert gazetteer.resolve("Futian", db).kind == "district"


@pytest.mark.parametrize("en, zh, expected", [
    ("12 Tianyaoqiao Road, Xuhui District, Shanghai", None, ["Tianyaoqiao Road"]),
    ("1309 Ruijin No.2 Road, Huangpu District", None, ["Ruijin No.2 Road"]),
    (None, "上海市浦东新区周祝公路88号", ["周祝公路"]),
    (None, "上海市闵行区七宝镇七莘路1号", ["七莘路"]),
    ("Room 5, somewhere", None, []),
])
def test_street_names_are_read_from_addresses(en, zh, expected):
    assert street_names(en, zh) == expected


# Opening hours --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, when, is_open", [
    ("Mo-Fr 07:30-18:00", datetime(2026, 12, 1, 7, 30), True),
    ("Mo-Fr 07:30-18:00", datetime(2026, 12, 1, 7, 29), False),
    ("Mo-Fr 07:30-18:00", datetime(2026, 12, 5, 10, 0), False),            # Saturday
    ("Mo-Fr 07:30-18:00; Sa 08:00-12:00", datetime(2026, 12, 5, 10, 0), True),
    ("Mo-Sa 08:00-18:00; Sa 08:00-12:00", datetime(2026, 12, 5, 13, 0), False),  # the later rule replaces
    ("Mo-Fr 09:00-11:30,13:30-16:30", datetime(2026, 12, 1, 12, 0), False),
    ("Mo-Fr 09:00-11:30,13:30-16:30", datetime(2026, 12, 1, 14, 0), True),
    ("Fr 22:00-06:00", datetime(2026, 12, 5, 5, 0), True),                 # overnight into Saturday
    ("Sa-Mo 10:00-12:00", datetime(2026, 12, 7, 11, 0), True),             # a range over the weekend
    ("08:00-18:00", datetime(2026, 12, 6, 9, 0), True),                     # no days: every day
    ("Mo-Su 08:00-18:00; Su off", datetime(2026, 12, 6, 9, 0), False),
    ("24/7", datetime(2026, 12, 6, 3, 0), True),
    ("Mo-Fr 08:00-17:00; PH off", datetime(2026, 12, 1, 9, 0), True),      # holidays are not known
])
def test_opening_hours_answer_open_or_closed(text, when, is_open):
    assert parse_opening_hours(text).is_open(when) is is_open


@pytest.mark.parametrize("text", ["", "Jan-Jun Mo-Fr 08:00-17:00", "Mo-Fr 8am-5pm", "Mo-Fr 25:00-26:00",
                                  "Mo-Fr 09:00-09:00", "Mo-Fr", "Mo-Fr 08:00-12:00 || Sa off", "x" * 600])
def test_opening_hours_outside_the_subset_are_refused(text):
    with pytest.raises(OpeningHoursError):
        parse_opening_hours(text)


@pytest.mark.parametrize("text, expected", [
    ("Mo-Fr 07:30-18:00; Sa 08:00-12:00", "Mon–Fri 07:30–18:00; Sat 08:00–12:00"),
    ("Mo,We,Fr 09:00-11:30,13:30-16:30", "Mon 09:00–11:30, 13:30–16:30; Wed 09:00–11:30, 13:30–16:30; "
                                         "Fri 09:00–11:30, 13:30–16:30"),
    ("24/7", "24/7"),
])
def test_opening_hours_are_described_for_people(text, expected):
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert parse_opening_hours(text).describe(days) == expected


# The command line -----------------------------------------------------------------------------------------------

def run_near(tmp_path, *args):
    from click.testing import CliRunner

    from bot.cli import cli

    return CliRunner().invoke(cli, ["services", "near", *args], env={"SPROUT_DATA_DIR": str(tmp_path / "var")},
                              catch_exceptions=False)


def test_cli_near_a_place_loads_the_demo_data_first(tmp_path):
    import json

    result = run_near(tmp_path, "--place", "徐家汇", "--age-months", "14", "--registered-only", "--json")
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["centre"]["place"]["key"] == "xujiahui" and data["total"] > 5
    assert len(data["results"]) == 5 and all(r["is_demo"] and r["registration"] == "registered"
                                             for r in data["results"])
    assert [r["distance_km"] for r in data["results"]] == sorted(r["distance_km"] for r in data["results"])


def test_cli_near_coordinates_pages_through_results(tmp_path):
    first = run_near(tmp_path, "--lat", "31.2304", "--lon", "121.4737", "--open-at", "2026-12-01T09:00")
    second = run_near(tmp_path, "--lat", "31.2304", "--lon", "121.4737", "--open-at", "2026-12-01T09:00", "--page", "2")
    assert "more: --page 2" in first.output and "  6. " in second.output and "[DEMO DATA]" in second.output


@pytest.mark.parametrize("args, message", [
    ((), "give --lat and --lon, or --place"),
    (("--lat", "31.2"), "give --lat and --lon, or --place"),
    (("--place", "Xuhui", "--lat", "31.2", "--lon", "121.4"), "not both"),
    (("--place", "Atlantis"), "no place called 'Atlantis'"),
])
def test_cli_near_explains_what_is_missing(tmp_path, args, message):
    result = run_near(tmp_path, *args)
    assert result.exit_code != 0 and message in result.output
