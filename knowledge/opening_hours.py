"""Opening hours in a subset of OpenStreetMap's opening_hours syntax: parse, ask "open at this time?", describe."""

# Supported: "24/7"; rules separated by ";" such as "Mo-Fr 07:30-18:00", "Mo,We 08:00-12:00,13:00-17:00",
# "Sa off", "08:00-18:00" (every day), overnight spans ("22:00-06:00"). Later rules replace earlier ones for the
# days they name, as in OSM. Public and school holiday rules (PH, SH) are skipped: we cannot know those dates.

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
MAX_LENGTH = 500
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_DAY_RANGE = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?$")
_HOLIDAYS = ("PH", "SH")


class OpeningHoursError(ValueError):
    """The text is not in the supported subset; the message says which part."""


@dataclass(frozen=True)
class OpeningHours:
    # week[d] = spans (start, end) in minutes from midnight of day d (Monday = 0); an end past 1440 runs into
    # the next morning.
    week: tuple[tuple[tuple[int, int], ...], ...]
    text: str

    def is_open(self, local: datetime) -> bool:
        """Open at this wall-clock time (the time zone is the service's; the caller converts)."""
        day, minute = local.weekday(), local.hour * 60 + local.minute
        if any(start <= minute < end for start, end in self.week[day]):
            return True
        return any(start <= minute + 1440 < end for start, end in self.week[(day - 1) % 7])

    def groups(self) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]:
        """Runs of consecutive days with the same hours: (first day, last day, spans); closed days left out."""
        runs: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
        for day, spans in enumerate(self.week):
            if not spans:
                continue
            if runs and runs[-1][1] == day - 1 and runs[-1][2] == spans:
                runs[-1] = (runs[-1][0], day, spans)
            else:
                runs.append((day, day, spans))
        return runs

    def describe(self, day_names: list[str], through: str = "–", rule_sep: str = "; ",
                 always: str = "24/7") -> str:
        """A short human description, e.g. "Mon–Fri 07:30–18:00; Sat 08:00–12:00", with localised day names."""
        if all(spans == ((0, 1440),) for spans in self.week):
            return always
        parts = []
        for first, last, spans in self.groups():
            days = day_names[first] if first == last else f"{day_names[first]}{through}{day_names[last]}"
            times = ", ".join(f"{_clock(s)}–{_clock(e)}" for s, e in spans)
            parts.append(f"{days} {times}")
        return rule_sep.join(parts)


def _clock(minutes: int) -> str:
    minutes = minutes if minutes <= 1440 else minutes - 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_days(selector: str) -> list[int] | None:
    """Day numbers named by "Mo-Fr,Su"; None when the selector names only holidays."""
    days: list[int] = []
    named_holiday = False
    for item in selector.split(","):
        item = item.strip()
        if item in _HOLIDAYS:
            named_holiday = True
            continue
        match = _DAY_RANGE.match(item)
        if not match:
            raise OpeningHoursError(f"unsupported day selector {item!r} (use Mo Tu We Th Fr Sa Su, e.g. Mo-Fr)")
        first = DAYS.index(match[1])
        last = DAYS.index(match[2]) if match[2] else first
        day = first
        while True:  # ranges may wrap the week end, e.g. Sa-Mo
            days.append(day)
            if day == last:
                break
            day = (day + 1) % 7
    if not days and named_holiday:
        return None
    return days


def _parse_spans(text: str) -> tuple[tuple[int, int], ...]:
    spans = []
    for item in text.split(","):
        match = _SPAN.match(item.strip())
        if not match:
            raise OpeningHoursError(f"unsupported time span {item.strip()!r} (use HH:MM-HH:MM, e.g. 07:30-18:00)")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise OpeningHoursError(f"impossible time in {item.strip()!r}")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end == start:
            raise OpeningHoursError(f"empty time span {item.strip()!r}")
        if end < start:
            end += 1440  # overnight: runs into the next morning
        spans.append((start, end))
    return tuple(sorted(spans))


def parse_opening_hours(text: str) -> OpeningHours:
    """Parse the supported subset; raises OpeningHoursError naming the part it cannot read."""
    raw = (text or "").strip()
    if not raw:
        raise OpeningHoursError("opening hours are empty")
    if len(raw) > MAX_LENGTH:
        raise OpeningHoursError(f"opening hours are longer than {MAX_LENGTH} characters")
    if raw == "24/7":
        return OpeningHours(tuple(((0, 1440),) for _ in range(7)), raw)
    if "||" in raw:
        raise OpeningHoursError("fallback rules ('||') are not supported")
    week: list[tuple[tuple[int, int], ...]] = [() for _ in range(7)]
    for rule in (r.strip() for r in raw.split(";")):
        if not rule:
            continue
        head, _, rest = rule.partition(" ")
        if head and (head[0].isdigit()):
            selector, times = "Mo-Su", rule
        else:
            selector, times = head.rstrip(":"), rest.strip()
        days = _parse_days(selector)
        if times.lower() in ("off", "closed"):
            spans: tuple[tuple[int, int], ...] = ()
        elif times == "24/7" or times == "00:00-24:00":
            spans = ((0, 1440),)
        elif not times:
            raise OpeningHoursError(f"rule {rule!r} has days but no times")
        else:
            spans = _parse_spans(times)
        if days is None:
            continue  # holiday-only rule: dates unknown, so it cannot change the weekly pattern
        for day in days:
            week[day] = spans  # a later rule replaces an earlier one for the days it names
    return OpeningHours(tuple(week), raw)
