"""Weekly delivery slots in the subscriber's local time, safe across DST changes and time zones."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_slot(day: date, hour: int, tz: str) -> datetime:
    """`hour`:00 on `day` in the zone, as UTC. In a spring-forward gap the wall time maps forward (03:30 -> 04:30);
    in an autumn overlap the first occurrence is used, so a slot is never doubled."""
    local = datetime.combine(day, time(hour), tzinfo=zone(tz))
    return local.astimezone(timezone.utc)


def latest_slot(now: datetime, weekday: int, hour: int, tz: str) -> datetime:
    """The most recent weekly slot (Monday = 0) at or before `now`, in UTC."""
    local_now = now.astimezone(zone(tz))
    day = local_now.date() - timedelta(days=(local_now.weekday() - weekday) % 7)
    slot = local_slot(day, hour, tz)
    if slot > now:
        slot = local_slot(day - timedelta(days=7), hour, tz)
    return slot


def next_slot(now: datetime, weekday: int, hour: int, tz: str) -> datetime:
    slot = latest_slot(now, weekday, hour, tz)
    local_day = slot.astimezone(zone(tz)).date()
    return local_slot(local_day + timedelta(days=7), hour, tz)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
