"""What Sprout keeps of a parent's words: questions are anonymised before they are stored, and after the retention
period their words are dropped and their link to the asker cut, leaving only counts.

"Anonymised" means, here:
- e-mail addresses, web addresses and @handles are replaced by a placeholder;
- dates in any common form (2026-03-04, 4/3/2026, 3月4日, 2026年3月) become "<date>";
- any number of three or more digits, alone or in a run with spaces, dashes, dots or brackets (phone numbers,
  identity, house and postal numbers, years) becomes "<number>";
- names become "<name>": the asker's registered children's names, a capitalised word right after "my son",
  "daughter", "baby", "named", "called" and the like, and in Chinese the word after 叫 / 名叫 / 叫做;
- short numbers (1-2 digits: "6 month old", "wakes at 5") stay: they identify no one, and curators need ages.
The stored row keeps the asker's id only until the retention limit (so /mydata and /delete cover it); what curators
see (gaps, statistics) never shows a user id.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Iterable

import sqlite_utils

from .db import erase_checkpoint
from .schedule import iso

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|cn|uk|io|hk|tw|de|fr)(?:/\S*)?\b",
                  re.I)
_HANDLE = re.compile(r"(?<![\w@])@\w{2,}")
_DATE = re.compile(
    r"\b\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?\b"                 # 2026-03-04, 2026/3, 2026.03.04
    r"|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"                     # 4/3/2026, 04-03-26
    r"|(?:\d{2,4}\s*年\s*)?\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?"  # 2026年3月4日, 3月4日, 3月
    r"|\d{2,4}\s*年(?=\s*\D)(?!\s*(?:级|纪|龄))")               # 2026年 (not 年级, 年龄)
_LONG_NUMBER = re.compile(r"\+?\(?\d[\d\s().-]*\d{2}|\d{3,}")
_AFTER_WORD = re.compile(
    r"(\b(?:son|daughter|baby|babies|boy|girl|child|kid|toddler|newborn|twins?|husband|wife|partner|named|called|"
    r"name is|name's)\s+)([A-Z][\w'-]+)")
# "叫" alone also means "to cry out" (尖叫): only after a word for the child, or in 名叫 / 名字是 / 小名.
_AFTER_ZH = re.compile(r"((?:(?:女儿|儿子|宝宝|孩子|宝贝|闺女|娃|老公|老婆)\s*(?:名叫|叫做|叫)|名叫|名字是|名字叫|小名)\s*)"
                       r"([\u4e00-\u9fff]{1,3}?)(?=[，,。.!！?？\s]|$|[的今]|出生)")


def anonymise(text: str, names: Iterable[str] = ()) -> str:
    """The question without the personal details listed in the module docstring."""
    text = _EMAIL.sub("<email>", text)
    text = _URL.sub("<link>", text)
    text = _HANDLE.sub("<handle>", text)
    text = _DATE.sub("<date>", text)
    text = _LONG_NUMBER.sub(lambda m: "<number>" if sum(c.isdigit() for c in m.group()) >= 3 else m.group(), text)
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        pattern = re.escape(name)
        # Latin names as whole words, whatever the case; Chinese names anywhere.
        if name.isascii():
            pattern = rf"(?<!\w){pattern}(?!\w)"
        text = re.sub(pattern, "<name>", text, flags=re.I)
    text = _AFTER_WORD.sub(lambda m: m.group(1) + "<name>", text)
    text = _AFTER_ZH.sub(lambda m: m.group(1) + "<name>", text)
    return text


def children_names(db: sqlite_utils.Database, user_id: int | None) -> list[str]:
    if user_id is None:
        return []
    return [row[0] for row in db.execute("select name from children where user_id = ? and name is not null",
                                         [user_id])]


def apply_retention(db: sqlite_utils.Database, now: datetime, days: int) -> dict[str, Any]:
    """Questions older than `days`: their words are dropped and they (and their votes) are no longer tied to the
    user; the rows stay so statistics still count them. Returns what changed."""
    cutoff = iso(now - timedelta(days=days))
    with db.conn:
        db.execute("begin immediate")
        votes = db.execute("update feedback set user_id = null where user_id is not null and question_id in "
                           "(select id from question_log where asked_at < ?)", [cutoff]).rowcount
        questions = db.execute("update question_log set question = '', user_id = null where asked_at < ? and "
                               "(question != '' or user_id is not null)", [cutoff]).rowcount
    if questions or votes:
        erase_checkpoint(db)
    return {"days": days, "before": cutoff, "questions": questions, "votes": votes}
