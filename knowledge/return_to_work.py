"""Return-to-work planning: leave entitlements from content/policies/leave.yaml, a dated preparation timeline,
and the calendar file. Pure functions over dates and data; no I/O."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from .ages import add_months, whole_months
from .leave import LeavePolicies, RegionPolicy

# How far from today dates may sensibly lie: a due date up to ~10 months ahead, a return that already happened
# up to a year ago, and nothing past the child's third birthday (Sprout is for children under 3).
MAX_DUE_AHEAD_DAYS = 300
MAX_RETURN_PAST_DAYS = 365
MAX_CHILD_YEARS = 3
# Preparation steps, in days before the first day back (negative = after it). Order is the order of the plan.
PREP_STEPS = (("choose_care", 56), ("enrol", 42), ("bottle", 28), ("expressing", 21), ("settling", 14))
FOLLOW_UP_DAYS = 14
FULL_LEAD_DAYS = max(days for _, days in PREP_STEPS)
FEEDING = ("yes", "mixed", "no")
CARE = ("family", "nursery", "employer", "undecided")
PATTERNS = ("full", "part", "shift")


class DateInputError(ValueError):
    """The reason is a catalogue key so the message can be given in the user's language."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


_DAY = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def parse_day(text: str) -> date:
    """'2025-03-14', '2025/3/14' or '2025年3月14日'; DateInputError for anything else or a date that doesn't exist."""
    match = _DAY.match(text or "")
    if not match:
        raise DateInputError("rtw.error_date_format")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise DateInputError("rtw.error_date_impossible") from None


def check_birth(birth: date, today: date) -> date:
    """A birth date (or expected due date) the plan can work with."""
    if (birth - today).days > MAX_DUE_AHEAD_DAYS:
        raise DateInputError("rtw.error_birth_future")
    if today >= add_months(birth, 12 * MAX_CHILD_YEARS):
        raise DateInputError("rtw.error_birth_too_old")
    return birth


def check_return(day: date, birth: date, today: date) -> date:
    """A return date after the birth, before the third birthday and not long in the past."""
    if day <= birth:
        raise DateInputError("rtw.error_return_before_birth")
    if day >= add_months(birth, 12 * MAX_CHILD_YEARS):
        raise DateInputError("rtw.error_return_too_late")
    if (today - day).days > MAX_RETURN_PAST_DAYS:
        raise DateInputError("rtw.error_return_past")
    return day


# Regions ----------------------------------------------------------------------------------------------------

# Administrative suffixes people add or leave off when typing a place name; matching ignores them. Longer first.
_SUFFIXES = ("specialadministrativeregion", "autonomousregion", "municipality", "province", "特别行政区", "特別行政區",
             "自治区", "city", "shi", "sheng", "sar", "省", "市")


def plain(text: str) -> str:
    """Lower case, full-width folded, with spaces, punctuation and emoji removed: for matching typed words."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _normalise(text: str) -> str:
    text = plain(text)
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)]
    return text


def match_region(policies: LeavePolicies, text: str) -> RegionPolicy | None:
    """The region a typed name means ('Beijing', '北京市', 'guangdong province', '粤', '香港', 'CN-GD', 'gd'), or None."""
    wanted = _normalise(text)
    if not wanted:
        return None
    for region in policies.regions.values():
        names = {_normalise(n) for n in (*region.name.values(), *region.aliases)}
        codes = {_normalise(region.code), _normalise(region.code.split("-")[-1])}
        if wanted in names or wanted in codes:
            return region
    return None


# Entitlements -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Extension:
    kind: str
    days: int
    text: dict[str, str]
    leave_end_if_applies: date


@dataclass(frozen=True)
class Entitlements:
    """Leave figures for one birth in one region. `region` is None when only the mainland national baseline is known.
    Hong Kong and Taiwan (`own_law`) use their own maternity leave and nursing rules, never the mainland baseline.
    A figure that is unknown is None; the template then says so and links the official text."""

    birth: date
    region: RegionPolicy | None
    national_days: int        # the baseline maternity leave: the mainland's 98 days, or HK/TW's own
    extra_days: int           # what the mainland region adds (0 when unknown or under its own law)
    extra_known: bool         # False: the region's additional days have not been confirmed
    prenatal_days: int
    leave_end: date           # the last day of statutory maternity leave (the minimum when extra_known is False)
    first_day_back: date      # the day after it
    extensions: tuple[Extension, ...]
    paternity_days: int | None
    childcare_days_per_year: int | None
    childcare_until_age: int | None
    childcare_until: date | None
    nursing_minutes: int | None
    nursing_extra_minutes_per_baby: int | None
    nursing_until: date | None     # while the baby is under one (mainland) or two (Taiwan); None when unknown
    born_before_rule: bool    # an earlier regional rule may apply to this birth
    national_source: dict[str, Any]
    national_effective: date
    national_articles: dict[str, str]
    caveat: dict[str, str]

    @property
    def own_law(self) -> bool:
        return bool(self.region and self.region.own_law)

    @property
    def total_days(self) -> int:
        return self.national_days + self.extra_days

    @property
    def after_birth_days(self) -> int:
        return self.total_days - self.prenatal_days

    def figure(self, name: str) -> Any:
        """The region's Figure by name, or None without a region."""
        return self.region.figures.get(name) if self.region else None


def leave_end(birth: date, days_after_birth: int) -> date:
    """The last day of leave when the birth day is the first of `days_after_birth` calendar days."""
    return birth + timedelta(days=days_after_birth - 1)


def entitlements(policies: LeavePolicies, birth: date, region_code: str | None) -> Entitlements:
    """Maternity leave end, possible extensions, partner and childcare leave and nursing breaks for one birth.
    Assumes the prenatal days are taken before the birth and every day is a calendar day."""
    national = policies.national
    region = policies.region(region_code)
    effective = national["effective"]
    effective = effective if isinstance(effective, date) else date.fromisoformat(str(effective))
    revision = region.revision if region else None
    common = dict(birth=birth, region=region, national_source=dict(national["source"]), national_effective=effective,
                  national_articles=dict(policies.national_articles), caveat=dict(policies.caveat),
                  born_before_rule=bool(revision and birth < revision))
    if region is not None and region.own_law:
        days, prenatal = region.figure("maternity").values
        end = leave_end(birth, days - prenatal)
        nursing_minutes, nursing_months = region.figure("nursing_break").values
        return Entitlements(
            national_days=days, extra_days=0, extra_known=True, prenatal_days=prenatal, leave_end=end,
            first_day_back=end + timedelta(days=1), extensions=(), paternity_days=region.paternity_leave_days,
            childcare_days_per_year=None, childcare_until_age=None, childcare_until=None,
            nursing_minutes=nursing_minutes, nursing_extra_minutes_per_baby=None,
            nursing_until=add_months(birth, nursing_months) if nursing_months else None, **common)
    national_days, prenatal = int(national["maternity_leave_days"]), int(national["prenatal_days"])
    extra = region.extra_maternity_days if region else 0
    extra_known = extra is not None
    extra = extra or 0
    after_birth = national_days + extra - prenatal
    end = leave_end(birth, after_birth)
    extensions = tuple(Extension(str(x["kind"]), int(x["days"]), {"en": x["en"], "zh": x["zh"]},
                                 leave_end(birth, after_birth + int(x["days"])))
                       for x in national.get("extensions") or [])
    until_age = region.childcare_leave_until_age_years if region else None
    childcare_days = region.childcare_leave_days_per_year if region else None
    return Entitlements(
        national_days=national_days, extra_days=extra, extra_known=extra_known, prenatal_days=prenatal,
        leave_end=end, first_day_back=end + timedelta(days=1), extensions=extensions,
        paternity_days=region.paternity_leave_days if region else None, childcare_days_per_year=childcare_days,
        childcare_until_age=until_age if childcare_days else None,
        childcare_until=add_months(birth, 12 * until_age) if until_age and childcare_days else None,
        nursing_minutes=int(national["nursing_break_minutes_per_day"]),
        nursing_extra_minutes_per_baby=national.get("nursing_break_extra_minutes_per_additional_baby"),
        nursing_until=add_months(birth, int(national["nursing_break_until_months"])), **common)


# The timeline ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    key: str
    day: date
    asap: bool = False  # there was not enough time left: do it as soon as possible


@dataclass(frozen=True)
class Timeline:
    steps: tuple[Step, ...]
    compressed: bool     # the return is less than eight weeks away, so the steps were squeezed together
    already_back: bool   # the return date is today or already past

    def step(self, key: str) -> Step | None:
        return next((s for s in self.steps if s.key == key), None)


def step_keys(feeding: str, care: str) -> list[str]:
    """The preparation steps that apply: no nursery visits for family care, no bottle practice without breastfeeding."""
    keys = []
    for key, _ in PREP_STEPS:
        if key == "enrol" and care == "family":
            continue
        if key in ("bottle", "expressing") and feeding == "no":
            continue
        keys.append(key)
    return keys


CARE_STEPS = ("choose_care", "enrol", "settling")


def timeline(return_day: date, today: date, feeding: str, care: str, care_start: date | None = None) -> Timeline:
    """Dated steps relative to the first day back. With less than eight weeks to go, the lead times shrink in
    proportion so no step falls in the past; a step that lands on today is marked 'as soon as possible'.

    `care_start`, when later than the return (the baby is younger than any nursery takes), is the first day care
    can start: choosing, enrolling and settling in are dated from it instead, and the steps are put in date order."""
    if care_start is not None and care != "family" and care_start > return_day:
        base = timeline(return_day, today, feeding, care)
        if base.already_back:
            return base
        offsets = dict(PREP_STEPS)
        steps = []
        for step in base.steps:
            if step.key in CARE_STEPS:
                day = care_start - timedelta(days=offsets[step.key])
                step = Step(step.key, max(day, today), asap=day <= today)
            steps.append(step)
        return Timeline(tuple(sorted(steps, key=lambda s: s.day)), compressed=base.compressed, already_back=False)
    lead = (return_day - today).days
    offsets = dict(PREP_STEPS)
    follow_up = return_day + timedelta(days=FOLLOW_UP_DAYS)
    if lead <= 0:
        steps = [Step("first_day", return_day)]
        steps.append(Step("checkin", max(follow_up, today), asap=follow_up <= today))
        return Timeline(tuple(steps), compressed=False, already_back=True)
    compressed = lead < FULL_LEAD_DAYS
    steps = []
    for key in step_keys(feeding, care):
        before = offsets[key] if not compressed else offsets[key] * lead // FULL_LEAD_DAYS
        day = return_day - timedelta(days=before)
        steps.append(Step(key, max(day, today), asap=day <= today))
    steps += [Step("first_day", return_day), Step("checkin", follow_up)]
    return Timeline(tuple(steps), compressed=compressed, already_back=False)


def age_band(birth: date, day: date, bounds: Iterable[int]) -> int:
    """The first bound (in whole months) the child's age on `day` is below, or the last bound if none."""
    months = whole_months(birth, day) if day >= birth else 0
    bounds = tuple(bounds)
    return next((b for b in bounds if months < b), bounds[-1])


# Key dates, reminders and the calendar file ----------------------------------------------------------------

@dataclass(frozen=True)
class KeyDate:
    key: str   # stable per kind of event: the calendar UID and the reminder key are built from it
    day: date


def key_dates(ent: Entitlements, plan: Timeline, today: date) -> list[KeyDate]:
    """Every dated event of the plan from today on, in date order (the calendar and the reminders use these)."""
    found = [KeyDate(s.key, s.day) for s in plan.steps]
    # A date worked out from figures nobody has confirmed would only mislead, so it is left out.
    if ent.extra_known:
        found.append(KeyDate("leave_end", ent.leave_end))
    if ent.nursing_until is not None:
        found.append(KeyDate("nursing_end", ent.nursing_until))
    return sorted((k for k in found if k.day >= today), key=lambda k: (k.day, k.key))


def reminder_rows(user_id: int, child_id: int | None, dates: Iterable[KeyDate], tz: str, now: datetime,
                  hour: int = 9) -> list[tuple[Any, ...]]:
    """Deliveries rows (dedupe_key, user_id, child_id, kind, item_id, due_at) for reminders at `hour` local time
    the day before each date; reminders whose time has already passed are left out."""
    rows = []
    for item in dates:
        local = datetime.combine(item.day - timedelta(days=1), time(hour), tzinfo=ZoneInfo(tz))
        due = local.astimezone(timezone.utc)
        if due <= now:
            continue
        event = f"rtw_{item.key}"
        rows.append((f"reminder:{user_id}:{event}:{item.day.isoformat()}", user_id, child_id, "reminder",
                     f"{event}:{item.day.isoformat()}", due.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return rows


def event_uid(user_key: str, event: str) -> str:
    """Stable per user and event, so importing a newer plan replaces the old event instead of adding one.
    The user key is hashed so the file does not carry the Telegram id."""
    digest = hashlib.sha256(f"{user_key}|rtw".encode()).hexdigest()[:16]
    return f"rtw-{event}-{digest}@sprout"


def calendar_ics(user_key: str, events: Iterable[tuple[KeyDate, str, str]], now: datetime,
                 name: str) -> bytes:
    """An iCalendar file of all-day events: (date, summary, description) per key date."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Sprout//Return to work plan//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    stamp = now.astimezone(timezone.utc).replace(microsecond=0)
    for item, summary, description in events:
        event = Event()
        event.add("uid", event_uid(user_key, item.key))
        event.add("dtstamp", stamp)
        # A later export must win when a calendar app compares two versions of the same event.
        event.add("sequence", int(stamp.timestamp()) // 60)
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
        event.add("summary", summary)
        event.add("description", description)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()
