"""Keyword search: SQLite FTS5 (BM25) over the same texts as the dense index, Chinese segmented with jieba."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
from typing import Iterable

import sqlite_utils

from knowledge.synonyms import Synonyms

# Bump when `Segmenter._segment` changes what it returns: terms saved with an index are reused only while the
# segmenter that wrote them (this number, the stop words, the jieba version) is the one reading them.
SEGMENTER_VERSION = 1

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[\u4e00-\u9fff]+", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Words that carry no topic: dropping them keeps BM25 and the coverage signal about the subject of a question.
_STOP_EN = frozenset("""a about after am an and any are as at baby babies be because been before being but by can
could did do does doing for from get getting give giving go going got had has have having he her him his how i if in
into is it its just kid kids me month months my now of old on once one or our she should so some than that the their
them then there they this to too up us very was we week weeks were what when where which while who why will with
would year years yo you your child toddler son daughter little im i'm ok okay normal much many need needs""".split())
_STOP_ZH = frozenset("""的 了 吗 呢 吧 啊 呀 是 有 在 我 我家 我们 你 他 她 它 宝宝 宝贝 孩子 小孩 娃 个 月 岁 天 周 怎么 怎么办 怎样
什么 为什么 可以 能 能不能 要 会 还 就 都 和 跟 与 或 也 很 太 这 那 这个 那个 一个 一下 没有 不 多 多少 时候 应该 需要 正常
请问 如何 哪些 一 二 三 四 五 六 七 八 九 十 两 半 是不是 有没有 能不能 会不会 要不要 好不好 怎么样 还是 已经 一直
总是 老是 现在 最近 如果 但是 可是 因为 所以 比较 非常 特别 有点 一点 这样 那样 这么 那么 哪里 几 次 给 让 把 对 到 从
说 呀 哦 嗯 么 啥 咋 咋办 该 该怎么办 办 一岁 两岁 三岁 多大 大概 左右 宝 家 我家 我的 我们家""".split())


class Segmenter:
    """Turns text into search terms: lowercase words for English, jieba words for Chinese."""

    def __init__(self, memo_size: int = 4096, synonyms: Synonyms | None = None) -> None:
        # jieba's dictionary takes about a second to load: it is loaded on the first Chinese text, so an English
        # question (or a start that reads the terms saved with the index) never waits for it.
        self._tokenizer = None
        self._lock = threading.Lock()
        # Entry texts come back on every index build and on a reload without saved terms; remembering them
        # keeps those cheap.
        self._memo: dict[str, list[str]] = {}
        self._memo_size = memo_size
        self.synonyms = synonyms or Synonyms()
        # Chinese words with the same meaning are written one way before segmenting (content/synonyms.yaml).
        self.normalize = self.synonyms.normalizer()

    @property
    def jieba_loaded(self) -> bool:
        return self._tokenizer is not None

    def _jieba(self):
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    import jieba

                    logging.getLogger("jieba").setLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    self._tokenizer = tokenizer
        return self._tokenizer

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identifies what this segmenter returns, so saved terms from another version are not trusted."""
        from importlib.metadata import version

        parts = [str(SEGMENTER_VERSION), version("jieba"), _WORD.pattern, _CJK.pattern, " ".join(sorted(_STOP_EN)),
                 " ".join(sorted(_STOP_ZH)), self.synonyms.fingerprint]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]

    def terms(self, text: str) -> list[str]:
        cached = self._memo.get(text)
        if cached is not None:
            return list(cached)
        terms = self._segment(text)
        if len(self._memo) >= self._memo_size:
            self._memo.clear()
        self._memo[text] = terms
        return list(terms)

    def _segment(self, text: str) -> list[str]:
        terms: list[str] = []
        for match in _WORD.finditer(self.normalize(text.lower())):
            word = match.group(0)
            if _CJK.match(word):
                terms.extend(t for t in self._jieba().cut_for_search(word) if t.strip() and t not in _STOP_ZH)
                # Character bigrams as well: parents' wording and the entries' wording are often segmented
                # differently (添加辅食 / 加辅食), and bigrams still overlap.
                terms.extend(word[i:i + 2] for i in range(len(word) - 1) if word[i:i + 2] not in _STOP_ZH)
            elif word not in _STOP_EN:
                terms.append(word)
        return terms

    def index_text(self, text: str) -> str:
        """Text as FTS5 should see it: terms separated by spaces (stop words kept out of the index too)."""
        return " ".join(self.terms(text))


def write_rows(db: sqlite_utils.Database, rows: Iterable[tuple[str, str, str, str]]) -> None:
    """Insert (entry_id, lang, kind, segmented text) rows; the caller owns the transaction."""
    db.conn.executemany("insert into search_fts (entry_id, lang, kind, text) values (?, ?, ?, ?)", list(rows))


def delete_entries(db: sqlite_utils.Database, entry_ids: Iterable[str]) -> None:
    db.conn.executemany("delete from search_fts where entry_id = ?", [(e,) for e in entry_ids])


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def search(db: sqlite_utils.Database, terms: list[str], lang: str, limit: int = 50) -> list[tuple[str, float]]:
    """Entries ranked by BM25 over their keyword documents, best first, as (entry id, score; higher is better)."""
    if not terms:
        return []
    query = " OR ".join(_quote(t) for t in dict.fromkeys(terms))
    rows = db.conn.execute(
        "select entry_id, bm25(search_fts) from search_fts where search_fts match ? and lang = ? "
        "order by bm25(search_fts) limit ?", [query, lang, limit * 8]).fetchall()
    best: dict[str, float] = {}
    for entry_id, score in rows:  # bm25 is lower-is-better; keep each entry's best text
        best.setdefault(entry_id, -score)
    return list(best.items())[:limit]
