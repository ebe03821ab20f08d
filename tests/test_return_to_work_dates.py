"""Return-to-work date arithmetic: leave end dates per region, month ends and leap years, the nursing-break end,
the preparation timeline, reminders and calendar UIDs."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from knowledge.leave import load_leave
from knowledge.return_to_work import (DateInputError, KeyDate, age_band, check_birth, check_return, entitlements,
                                      event_uid, key_dates, match_region, parse_day, reminder_rows, timeline)

from knowledge.settings import REPO_ROOT

CONTENT_DIR = REPO_ROOT / "content"
TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def policies():
    loaded, problems = load_leave(CONTENT_DIR)
    assert loaded is not None, problems
    return loaded


# Maternity leave ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("region, total_days", [
    ("CN-BJ", 158), ("CN-SH", 158), ("CN-GD", 178), ("CN-SC", 188),
])
def test_regions_add_their_own_extra_days_to_the_national_98(policies, region, total_days):
    assert entitlements(policies, date(2026, 3, 1), region).total_days == total_days


@pytest.mark.parametrize("birth, region, last_day", [
    (date(2026, 9, 30), "CN-BJ", date(2027, 2, 19)),    # 143 days from the birth, across a year end
    (date(2026, 9, 30), "CN-GD", date(2027, 3, 11)),    # 163 days
    (date(2024, 2, 29), None, date(2024, 5, 21)),       # leap-day birth, national 83 days
    (date(2024, 2, 29), "CN-BJ", date(2024, 7, 20)),
    (date(2025, 1, 31), "CN-GD", date(2025, 7, 12)),    # month-end birth through a 28-day February
    (date(2025, 12, 31), "CN-SC", date(2026, 6, 21)),   # 173 days
    (date(2023, 12, 31), "CN-SH", date(2024, 5, 21)),   # through a leap February
])
def test_leave_ends_after_the_days_left_once_the_prenatal_15_are_taken(policies, birth, region, last_day):
    ent = entitlements(policies, birth, region)
    assert ent.leave_end == last_day


def test_the_first_day_back_is_the_day_after_leave_ends(policies):
    ent = entitlements(policies, date(2026, 9, 30), "CN-BJ")
    assert ent.first_day_back == date(2027, 2, 20)


def test_the_birth_day_counts_as_the_first_day_after_the_prenatal_days(policies):
    ent = entitlements(policies, date(2026, 1, 1), None)
    assert (ent.prenatal_days, ent.after_birth_days) == (15, 83)
    assert ent.leave_end == date(2026, 3, 24)  # 1 January is day 1 of 83


@pytest.mark.parametrize("kind", ["difficult_birth", "each_additional_baby"])
def test_each_extension_gives_the_end_date_if_it_applies(policies, kind):
    ent = entitlements(policies, date(2026, 9, 30), "CN-BJ")
    extension = next(x for x in ent.extensions if x.kind == kind)
    assert extension.days == 15
    assert extension.leave_end_if_applies == date(2027, 3, 6)
    assert extension.text["en"] and extension.text["zh"]


# Unknown regions fall back to the national baseline --------------------------------------------------------

@pytest.mark.parametrize("code", [None, "other", "CN-XX", ""])
def test_an_unknown_region_gets_the_national_baseline(policies, code):
    ent = entitlements(policies, date(2026, 9, 30), code)
    assert ent.region is None
    assert ent.total_days == 98
    assert ent.leave_end == date(2026, 12, 21)


def test_the_national_baseline_has_no_partner_or_childcare_leave_figures(policies):
    ent = entitlements(policies, date(2026, 9, 30), None)
    assert (ent.paternity_days, ent.childcare_days_per_year, ent.childcare_until) == (None, None, None)


@pytest.mark.parametrize("region, paternity, childcare, until_age", [
    ("CN-BJ", 15, None, None), ("CN-SH", 10, None, None), ("CN-SC", None, None, None), ("CN-AH", None, None, None),
])
def test_partner_and_childcare_leave_come_from_the_region(policies, region, paternity, childcare, until_age):
    ent = entitlements(policies, date(2026, 3, 1), region)
    assert (ent.paternity_days, ent.childcare_days_per_year, ent.childcare_until_age) == \
        (paternity, childcare, until_age)


def test_childcare_leave_runs_until_the_birthday_in_the_data(policies):
    # No region's childcare leave is confirmed yet, so a known figure is built here from the loaded Beijing row.
    from dataclasses import replace
    from knowledge.leave import Figure
    beijing = policies.region("CN-BJ")
    figures = {**beijing.figures, "childcare": Figure("childcare", (10, 6), "第X条", None)}
    changed = replace(policies, regions={**policies.regions, "CN-BJ": replace(beijing, figures=figures)})
    assert entitlements(changed, date(2024, 2, 29), "CN-BJ").childcare_until == date(2030, 2, 28)


def test_every_figure_carries_a_source_a_revision_date_and_the_caveat(policies):
    ent = entitlements(policies, date(2026, 3, 1), "CN-GD")
    assert ent.national_source["url"].startswith("https://") and ent.national_effective == date(2012, 4, 28)
    assert ent.region.source["url"].startswith("https://") and ent.region.revision == date(2021, 12, 1)
    assert ent.figure("extra_maternity").article and ent.national_articles["maternity"] == "第七条"
    assert "employer" in ent.caveat["en"] and "单位" in ent.caveat["zh"]


@pytest.mark.parametrize("code", ["CN-HE", "CN-AH", "CN-SN", "CN-HB", "CN-HN", "CN-FJ"])
def test_an_unconfirmed_region_gives_only_the_national_minimum_and_no_end_date_in_the_calendar(policies, code):
    ent = entitlements(policies, date(2026, 9, 30), code)
    assert ent.region.code == code and not ent.extra_known
    assert ent.total_days == 98 and ent.paternity_days is None
    assert all(ent.figure(f).note["en"] and ent.figure(f).note["zh"] for f in ("extra_maternity", "paternity",
                                                                               "childcare", "nursing_leave"))
    plan = timeline(date(2027, 3, 1), TODAY, "yes", "nursery")
    assert "leave_end" not in {k.key for k in key_dates(ent, plan, TODAY)}


@pytest.mark.parametrize("code, total, paternity, nursing_until", [
    ("HK", 98, 5, None), ("TW", 56, 7, date(2028, 9, 30)),
])
def test_hong_kong_and_taiwan_use_their_own_law_not_the_mainland_baseline(policies, code, total, paternity,
                                                                          nursing_until):
    ent = entitlements(policies, date(2026, 9, 30), code)
    assert ent.own_law and ent.total_days == total and ent.paternity_days == paternity
    assert ent.extensions == () and ent.nursing_until == nursing_until
    assert ent.figure("maternity").article and ent.region.revision


@pytest.mark.parametrize("birth, before", [(date(2025, 11, 27), True), (date(2025, 11, 28), False)])
def test_a_birth_before_the_regional_rule_took_effect_is_flagged(policies, birth, before):
    assert entitlements(policies, birth, "CN-SC").born_before_rule is before


# Nursing breaks ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("birth, first_birthday", [
    (date(2026, 9, 30), date(2027, 9, 30)),
    (date(2024, 2, 29), date(2025, 2, 28)),   # no 29 February next year: the last day of February
    (date(2025, 1, 31), date(2026, 1, 31)),
    (date(2025, 12, 31), date(2026, 12, 31)),
])
def test_nursing_breaks_last_until_the_first_birthday(policies, birth, first_birthday):
    ent = entitlements(policies, birth, "CN-BJ")
    assert ent.nursing_until == first_birthday
    assert ent.nursing_minutes == 60


# Typed regions ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, code", [
    ("Beijing", "CN-BJ"), ("beijing", "CN-BJ"), ("北京", "CN-BJ"), ("北京市", "CN-BJ"),
    ("Beijing Municipality", "CN-BJ"), ("  shanghai ", "CN-SH"), ("上海市", "CN-SH"), ("广东", "CN-GD"),
    ("广东省", "CN-GD"), ("Guangdong Province", "CN-GD"), ("CN-GD", "CN-GD"), ("gd", "CN-GD"),
    ("Shaanxi", "CN-SN"), ("陕西", "CN-SN"), ("河南省", "CN-HA"), ("Ｈｕｎａｎ", "CN-HN"),
    ("粤", "CN-GD"), ("沪", "CN-SH"), ("皖", "CN-AH"), ("Shanxi", "CN-SX"), ("云南", "CN-YN"), ("Yunnan", "CN-YN"),
    ("广西壮族自治区", "CN-GX"), ("Inner Mongolia", "CN-NM"), ("内蒙古自治区", "CN-NM"), ("Tibet", "CN-XZ"),
    ("Xinjiang Uyghur Autonomous Region", "CN-XJ"), ("宁夏", "CN-NX"), ("Heilongjiang Province", "CN-HL"),
    ("香港", "HK"), ("Hong Kong", "HK"), ("香港特别行政区", "HK"), ("hk", "HK"),
    ("台湾", "TW"), ("臺灣", "TW"), ("Taiwan", "TW"),
])
def test_a_typed_region_name_in_either_language_is_recognised(policies, typed, code):
    assert match_region(policies, typed).code == code


@pytest.mark.parametrize("typed", ["Atlantis", "火星", "asdf", "", "省", "Macau"])
def test_a_region_without_data_is_not_matched(policies, typed):
    assert match_region(policies, typed) is None


# Typed dates -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, day", [
    ("2025-03-14", date(2025, 3, 14)), ("2025/3/4", date(2025, 3, 4)), ("2025年3月14日", date(2025, 3, 14)),
    (" 2024-02-29 ", date(2024, 2, 29)),
])
def test_dates_can_be_typed_in_common_forms(typed, day):
    assert parse_day(typed) == day


@pytest.mark.parametrize("typed, key", [
    ("2025-02-30", "rtw.error_date_impossible"), ("2023-02-29", "rtw.error_date_impossible"),
    ("2025-13-01", "rtw.error_date_impossible"), ("next monday", "rtw.error_date_format"),
    ("14/03/2025", "rtw.error_date_format"), ("2025-03", "rtw.error_date_format"),
])
def test_impossible_or_unreadable_dates_are_refused_with_a_reason(typed, key):
    with pytest.raises(DateInputError) as caught:
        parse_day(typed)
    assert caught.value.key == key


@pytest.mark.parametrize("birth, key", [
    (date(2023, 11, 20), "rtw.error_birth_too_old"),     # third birthday today
    (date(2027, 9, 17), "rtw.error_birth_future"),        # more than 300 days ahead
])
def test_birth_dates_outside_the_plan_are_refused(birth, key):
    with pytest.raises(DateInputError) as caught:
        check_birth(birth, TODAY)
    assert caught.value.key == key


@pytest.mark.parametrize("birth", [date(2023, 11, 21), date(2026, 11, 20), date(2027, 9, 16)])
def test_births_under_three_and_due_dates_are_accepted(birth):
    assert check_birth(birth, TODAY) == birth


@pytest.mark.parametrize("back, key", [
    (date(2026, 5, 31), "rtw.error_return_before_birth"),
    (date(2026, 6, 1), "rtw.error_return_before_birth"),
    (date(2029, 6, 1), "rtw.error_return_too_late"),
    (date(2030, 1, 1), "rtw.error_return_too_late"),
])
def test_return_dates_must_fall_between_the_birth_and_the_third_birthday(back, key):
    with pytest.raises(DateInputError) as caught:
        check_return(back, date(2026, 6, 1), TODAY)
    assert caught.value.key == key


def test_a_return_more_than_a_year_ago_is_refused():
    with pytest.raises(DateInputError) as caught:
        check_return(date(2025, 11, 19), date(2024, 6, 1), TODAY)
    assert caught.value.key == "rtw.error_return_past"


@pytest.mark.parametrize("birth, back", [
    (date(2025, 6, 1), date(2025, 11, 20)),   # exactly a year ago
    (date(2026, 6, 1), date(2026, 6, 2)),     # the day after the birth
    (date(2026, 6, 1), date(2029, 5, 31)),    # the day before the third birthday
])
def test_return_dates_in_range_are_accepted(birth, back):
    assert check_return(back, birth, TODAY) == back


# The timeline ----------------------------------------------------------------------------------------------

def test_with_plenty_of_time_each_step_keeps_its_lead_time():
    plan = timeline(date(2027, 3, 1), TODAY, "yes", "nursery")
    assert [(s.key, s.day) for s in plan.steps] == [
        ("choose_care", date(2027, 1, 4)), ("enrol", date(2027, 1, 18)), ("bottle", date(2027, 2, 1)),
        ("expressing", date(2027, 2, 8)), ("settling", date(2027, 2, 15)), ("first_day", date(2027, 3, 1)),
        ("checkin", date(2027, 3, 15)),
    ]
    assert not plan.compressed and not any(s.asap for s in plan.steps)


@pytest.mark.parametrize("feeding, care, missing", [
    ("no", "nursery", {"bottle", "expressing"}),
    ("yes", "family", {"enrol"}),
    ("no", "family", {"bottle", "expressing", "enrol"}),
    ("mixed", "employer", set()),
])
def test_steps_that_do_not_apply_are_left_out(feeding, care, missing):
    keys = {s.key for s in timeline(date(2027, 3, 1), TODAY, feeding, care).steps}
    every = {"choose_care", "enrol", "bottle", "expressing", "settling", "first_day", "checkin"}
    assert keys == every - missing


@pytest.mark.parametrize("days_left", [1, 3, 10, 28, 55])
def test_a_soon_return_squeezes_the_steps_so_none_is_in_the_past(days_left):
    back = date.fromordinal(TODAY.toordinal() + days_left)
    plan = timeline(back, TODAY, "yes", "nursery")
    assert plan.compressed
    days = [s.day for s in plan.steps]
    assert min(days) >= TODAY and days == sorted(days)
    assert plan.step("choose_care").asap and plan.step("choose_care").day == TODAY
    assert plan.step("first_day").day == back


def test_steps_that_land_on_today_are_marked_as_soon_as_possible():
    plan = timeline(date(2026, 11, 27), TODAY, "yes", "nursery")
    assert {s.key for s in plan.steps if s.asap} == {"choose_care"}
    assert [s.day for s in plan.steps] == [date(2026, 11, d) for d in (20, 22, 24, 25, 26, 27)] + [date(2026, 12, 11)]


def test_a_return_already_past_keeps_only_what_still_helps():
    plan = timeline(date(2026, 11, 1), TODAY, "yes", "nursery")
    assert plan.already_back
    assert [s.key for s in plan.steps] == ["first_day", "checkin"]
    assert plan.step("checkin").day == TODAY and plan.step("checkin").asap


@pytest.mark.parametrize("birth, day, band", [
    (date(2026, 9, 30), date(2027, 3, 29), 6), (date(2026, 9, 30), date(2027, 3, 30), 12),
    (date(2026, 9, 30), date(2027, 9, 30), 36), (date(2027, 1, 1), date(2026, 12, 1), 6),
])
def test_age_bands_use_whole_months_on_the_day(birth, day, band):
    assert age_band(birth, day, (6, 12, 36)) == band


# Key dates, reminders and calendar UIDs ------------------------------------------------------------------

def test_key_dates_include_leave_end_and_first_birthday_and_skip_past_ones(policies):
    ent = entitlements(policies, date(2026, 9, 30), "CN-BJ")
    dates = key_dates(ent, timeline(date(2027, 2, 20), TODAY, "no", "family"), TODAY)
    assert [(k.key, k.day) for k in dates] == [
        ("choose_care", date(2026, 12, 26)), ("settling", date(2027, 2, 6)), ("leave_end", date(2027, 2, 19)),
        ("first_day", date(2027, 2, 20)), ("checkin", date(2027, 3, 6)), ("nursing_end", date(2027, 9, 30)),
    ]


def test_reminders_are_due_at_nine_local_time_the_day_before():
    now = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
    rows = reminder_rows(7, None, [KeyDate("first_day", date(2027, 3, 1))], "Asia/Shanghai", now)
    assert rows == [("reminder:7:rtw_first_day:2027-03-01", 7, None, "reminder", "rtw_first_day:2027-03-01",
                     "2027-02-28T01:00:00Z")]


def test_reminders_whose_time_has_passed_are_left_out():
    now = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)  # 17:00 in Shanghai
    dates = [KeyDate("first_day", date(2026, 11, 21)), KeyDate("checkin", date(2026, 11, 22))]
    rows = reminder_rows(7, 3, dates, "Asia/Shanghai", now)
    assert [r[0] for r in rows] == ["reminder:7:rtw_checkin:2026-11-22"]


def test_calendar_uids_are_stable_per_user_and_event():
    assert event_uid("tg:1", "first_day") == event_uid("tg:1", "first_day")
    assert event_uid("tg:1", "first_day") != event_uid("tg:2", "first_day")
    assert event_uid("tg:1", "first_day") != event_uid("tg:1", "checkin")
    assert "tg:1" not in event_uid("tg:1", "first_day")
