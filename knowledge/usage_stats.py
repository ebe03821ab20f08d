"""Usage and helpfulness statistics for curators: counts and rates only, never user ids or question text."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from .schedule import iso

ANSWER_KINDS = ("answer", "no_answer")
SERVICES_NOTE = ("services searches are not logged (knowledge/services.py keeps no search table), so there is "
                 "no count to report")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def usage_stats(db: sqlite_utils.Database, now: datetime, days: int = 30) -> dict[str, Any]:
    """Questions per day, answer rate, helpfulness per entry and topic, most asked topics and scheduled messages
    sent (tips, check-ins, announcements: deliveries by kind), over the last `days` days."""
    since = iso(now - timedelta(days=days))
    per_day = dict(db.execute("select substr(asked_at, 1, 10), count(*) from question_log where asked_at >= ? "
                              "group by 1 order by 1", [since]).fetchall())
    by_kind = dict(db.execute("select kind, count(*) from question_log where asked_at >= ? group by kind",
                              [since]).fetchall())
    by_lang: dict[str, dict[str, int]] = {}
    for lang, kind, n in db.execute("select lang, kind, count(*) from question_log where asked_at >= ? and kind in "
                                    "('answer', 'no_answer') group by lang, kind", [since]):
        by_lang.setdefault(lang, {"answer": 0, "no_answer": 0})[kind] = n
    answered, unanswered = by_kind.get("answer", 0), by_kind.get("no_answer", 0)

    # Votes on answers given in the period; an entry's topic comes from the entries table.
    votes = db.execute(
        "select f.entry_id, coalesce(e.topic, 'unknown'), sum(f.helpful), count(*) from feedback f "
        "join question_log q on q.id = f.question_id left join entries e on e.id = f.entry_id "
        "where q.asked_at >= ? group by f.entry_id order by f.entry_id", [since]).fetchall()
    by_entry = {entry: {"helpful": helpful, "not_helpful": total - helpful, "rate": _rate(helpful, total)}
                for entry, _, helpful, total in votes}
    by_topic: dict[str, dict[str, Any]] = {}
    for _, topic, helpful, total in votes:
        row = by_topic.setdefault(topic, {"helpful": 0, "not_helpful": 0})
        row["helpful"] += helpful
        row["not_helpful"] += total - helpful
    for row in by_topic.values():
        row["rate"] = _rate(row["helpful"], row["helpful"] + row["not_helpful"])
    helpful_total = sum(v[2] for v in votes)
    vote_total = sum(v[3] for v in votes)

    topics = db.execute(
        "select e.topic, count(*) from question_log q join entries e on e.id = q.entry_id where q.asked_at >= ? "
        "and q.kind = 'answer' group by e.topic order by count(*) desc, e.topic", [since]).fetchall()
    sent = dict(db.execute("select kind, count(*) from deliveries where state = 'sent' and finished_at >= ? "
                           "group by kind order by kind", [since]).fetchall())
    return {
        "period": {"from": since, "to": iso(now), "days": days},
        "questions": {"total": sum(per_day.values()), "per_day": per_day, "by_kind": dict(sorted(by_kind.items())),
                      "by_language": by_lang},
        "answer_rate": _rate(answered, answered + unanswered),
        "answer_rate_by_language": {lang: _rate(c["answer"], c["answer"] + c["no_answer"])
                                    for lang, c in sorted(by_lang.items())},
        "helpfulness": {"votes": vote_total, "rate": _rate(helpful_total, vote_total), "by_entry": by_entry,
                        "by_topic": dict(sorted(by_topic.items()))},
        "top_topics": [{"topic": topic, "questions": n} for topic, n in topics],
        "tips_sent": sent,
        "services_searches": None,
        "notes": [SERVICES_NOTE],
    }


def questions_by_day_and_language(db: sqlite_utils.Database, now: datetime, days: int = 30) -> dict[str, dict[str, int]]:
    """{day: {lang: questions}} for every day of the period (days without questions count 0), for the charts."""
    since = now - timedelta(days=days - 1)
    counts: dict[str, dict[str, int]] = {}
    for offset in range(days):
        counts[(since + timedelta(days=offset)).date().isoformat()] = {"en": 0, "zh": 0}
    for day, lang, n in db.execute("select substr(asked_at, 1, 10), lang, count(*) from question_log where "
                                   "asked_at >= ? group by 1, 2", [since.date().isoformat()]):
        if day in counts:
            counts[day][lang] = counts[day].get(lang, 0) + n
    return counts


def least_helpful(stats: dict[str, Any], limit: int = 10) -> list[tuple[str, dict[str, Any]]]:
    """Entries with the most "not helpful" votes, then the lowest rate."""
    rows = [(entry, row) for entry, row in stats["helpfulness"]["by_entry"].items() if row["not_helpful"]]
    return sorted(rows, key=lambda kv: (-kv[1]["not_helpful"], kv[1]["rate"] or 0, kv[0]))[:limit]
