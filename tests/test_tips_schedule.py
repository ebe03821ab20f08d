"""Slots in local time across DST and time zones, and children's ages (leap days, month ends, prematurity)."""

from datetime import date, datetime, timezone

import pytest

from knowledge.ages import BirthDateError, add_months, age_days, parse_birth, whole_months
from knowledge.deliveries import TipPicker, child_plan
from knowledge.schedule import latest_slot, next_slot
from tipshelpers import calendar

UTC = timezone.utc


@pytest.mark.parametrize("now, weekday, hour, tz, expected", [
    # Monday 09:00 in Shanghai is 01:00 UTC.
    (datetime(2026, 11, 23, 2, 0, tzinfo=UTC), 0, 9, "Asia/Shanghai", datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),
    (datetime(2026, 11, 23, 0, 59, tzinfo=UTC), 0, 9, "Asia/Shanghai", datetime(2026, 11, 16, 1, 0, tzinfo=UTC)),
    # London, before and after the clocks go forward on 29 March 2026.
    (datetime(2026, 3, 23, 12, 0, tzinfo=UTC), 0, 9, "Europe/London", datetime(2026, 3, 23, 9, 0, tzinfo=UTC)),
    (datetime(2026, 3, 30, 12, 0, tzinfo=UTC), 0, 9, "Europe/London", datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),
    # New York after the clocks go back on 1 November 2026 (EST, UTC-5).
    (datetime(2026, 11, 2, 18, 0, tzinfo=UTC), 0, 9, "America/New_York", datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
])
def test_latest_slot_is_the_local_hour_in_utc(now, weekday, hour, tz, expected):
    assert latest_slot(now, weekday, hour, tz) == expected


def test_a_slot_inside_the_spring_gap_still_happens_once():
    # 01:30 on Sunday 29 March 2026 does not exist in London; the slot still falls once that day.
    slot = latest_slot(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), 6, 1, "Europe/London")
    assert slot.date() == date(2026, 3, 29)
    assert next_slot(slot, 6, 1, "Europe/London").date() == date(2026, 4, 5)


def test_a_slot_inside_the_autumn_overlap_is_not_doubled():
    # 01:00 happens twice on 25 October 2026 in London; consecutive slots stay a week apart.
    first = latest_slot(datetime(2026, 10, 25, 3, 0, tzinfo=UTC), 6, 1, "Europe/London")
    assert first == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    assert (next_slot(first, 6, 1, "Europe/London") - first).days == 7


@pytest.mark.parametrize("birth, months, expected", [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2025, 8, 31), 3, date(2025, 11, 30)),
])
def test_adding_months_clamps_to_month_end(birth, months, expected):
    assert add_months(birth, months) == expected


def test_a_leap_day_baby_turns_one_month_on_the_29th_of_march():
    assert whole_months(date(2024, 2, 29), date(2024, 3, 28)) == 0
    assert whole_months(date(2024, 2, 29), date(2024, 3, 29)) == 1


def test_a_leap_day_baby_is_one_on_28_february():
    assert whole_months(date(2024, 2, 29), date(2025, 2, 28)) == 12


def test_corrected_age_subtracts_weeks_premature_until_24_months():
    birth = date(2025, 1, 1)
    assert age_days(birth, date(2025, 4, 1), weeks_premature=8) == 90 - 56
    after = date(2027, 1, 2)
    assert age_days(birth, after, weeks_premature=8) == (after - birth).days


def test_premature_baby_gets_the_tip_for_corrected_age():
    picker = TipPicker(calendar())
    tip, _, _ = child_plan(date(2026, 9, 1), 6, date(2026, 11, 20), picker)
    # 80 days old, 6 weeks early: corrected age 38 days -> the week-5 tip (days 35-41).
    assert tip == "tip-d0035"


def test_milestone_check_in_uses_corrected_age():
    picker = TipPicker(calendar())
    _, checkin, _ = child_plan(date(2026, 7, 1), 4, date(2026, 10, 1), picker)
    assert checkin == 2  # 3 months old, 4 weeks early: corrected 2 months


def test_a_child_turning_three_finishes_the_subscription():
    picker = TipPicker(calendar())
    assert child_plan(date(2023, 11, 20), 0, date(2026, 11, 20), picker) == (None, None, True)


@pytest.mark.parametrize("text, key", [
    ("2026-02-30", "child.error_impossible"),
    ("2027-01-01", "child.error_future"),
    ("2022-01-01", "child.error_too_old"),
    ("last tuesday", "child.error_format"),
    ("2026-13", "child.error_impossible"),
])
def test_bad_birth_dates_are_explained(text, key):
    with pytest.raises(BirthDateError) as error:
        parse_birth(text, date(2026, 11, 20))
    assert error.value.key == key


@pytest.mark.parametrize("text, expected, precision", [
    ("2025-03-14", date(2025, 3, 14), "day"),
    ("2025/3/14", date(2025, 3, 14), "day"),
    ("2025年3月14日", date(2025, 3, 14), "day"),
    ("2025-03", date(2025, 3, 15), "month"),
    ("2024年2月", date(2024, 2, 15), "month"),
    ("2024-02-29", date(2024, 2, 29), "day"),
])
def test_birth_dates_are_read_in_common_formats(text, expected, precision):
    parsed = parse_birth(text, date(2026, 11, 20))
    assert (parsed.birth_date, parsed.precision) == (expected, precision)
