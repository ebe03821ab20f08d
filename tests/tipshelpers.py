"""Helpers for the tips tests: a small tips calendar and users with subscribed children."""

from __future__ import annotations

from datetime import date, datetime

from knowledge.subscriptions import SubscriptionStore
from knowledge.tips import Tip
from knowledge.users import UserStore


def calendar() -> list[Tip]:
    """Weekly windows to day 90, then fortnightly to 1095, like the shipped calendar."""
    tips, start = [], 0
    while start <= 1095:
        end = min(start + (6 if start < 91 else 13), 1095)
        tips.append(Tip(f"tip-d{start:04d}", start, end, "sleep-back-to-sleep-every-sleep",
                        {"en": f"Tip for day {start}", "zh": f"第{start}天的贴士"}))
        start = end + 1
    return tips


def subscribed_child(db, key: str, birth: date, now: datetime, weekday: int = 0, hour: int = 9,
                     tz: str = "Asia/Shanghai", premature: int = 0, chat_id: int | None = 1000, lang: str = "en"):
    users = UserStore(db)
    user, _ = users.get_or_create(key, chat_id, lang, "CN")
    users.set_consent(user.id, True)
    child = users.add_child(user.id, key.split(":")[-1], birth, "day", premature)
    SubscriptionStore(db).subscribe(child.id, weekday, hour, tz, now)
    return user, child
