"""Children's ages: chronological and corrected (for babies born early, until 24 months), and birth-date input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

DAYS_PER_MONTH = 30.4375
CORRECT_UNTIL_MONTHS = 24
MAX_AGE_MONTHS = 36


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError("unreachable")


def age_days(birth: date, today: date, weeks_premature: int = 0) -> int:
    """Age in days, corrected for prematurity while the chronological age is under 24 months."""
    days = (today - birth).days
    if weeks_premature and today < add_months(birth, CORRECT_UNTIL_MONTHS):
        days -= weeks_premature * 7
    return days


def age_months(birth: date, today: date, weeks_premature: int = 0) -> float:
    return age_days(birth, today, weeks_premature) / DAYS_PER_MONTH


def whole_months(birth: date, today: date) -> int:
    months = (today.year - birth.year) * 12 + today.month - birth.month
    if add_months(birth, months) > today:
        months -= 1
    return months


@dataclass(frozen=True)
class BirthInput:
    birth_date: date
    precision: str  # 'day' or 'month'


class BirthDateError(ValueError):
    """The reason is a catalogue key so the message can be given in the user's language."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


_FULL = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_MONTH = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*$")


def parse_birth(text: str, today: date) -> BirthInput:
    """Parse '2025-03-14', '2025/3/14', '2025年3月14日' or a month ('2025-03', '2025年3月'); check it is plausible."""
    full, month = _FULL.match(text or ""), _MONTH.match(text or "")
    try:
        if full:
            parsed = BirthInput(date(int(full[1]), int(full[2]), int(full[3])), "day")
        elif month:
            # Only the month is known: the 15th is never more than half a month off.
            parsed = BirthInput(date(int(month[1]), int(month[2]), 15), "month")
        else:
            raise BirthDateError("child.error_format")
    except ValueError as exc:
        if isinstance(exc, BirthDateError):
            raise
        raise BirthDateError("child.error_impossible") from None
    if parsed.birth_date > today and not (parsed.precision == "month" and
                                           (parsed.birth_date.year, parsed.birth_date.month) == (today.year, today.month)):
        raise BirthDateError("child.error_future")
    if parsed.precision == "month" and parsed.birth_date > today:
        parsed = BirthInput(today, "month")
    if whole_months(parsed.birth_date, today) >= MAX_AGE_MONTHS:
        raise BirthDateError("child.error_too_old")
    return parsed
