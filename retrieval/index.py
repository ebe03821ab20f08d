"""Building and loading the search index: incremental (only changed text is embedded), written beside the old
one and swapped in atomically, with a manifest that ties it to the model and the content it was built from."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import sqlite_utils

from knowledge.content import Entry, EntryText
from knowledge.scope import ScopeTopic, scope_hash
from knowledge.store import EntryStore

from . import keyword
from .dense import DenseIndex
from knowledge.sections import split_sections

from .embedding import Embedder, EmbeddingCache, Identity, text_hash

QUERY_KINDS = ("title", "question", "scope")  # texts embedded as questions (see IndexBuilder._embed)
MANIFEST_VERSION = 3  # 2: the backend and the weights' fingerprint, bodies as whole sections; 3: questions as queries
# Each build also saves every entry text's search terms, so a new process does not segment the whole corpus
# (and load jieba's dictionary) before its first answer.
TERMS_FILE = "terms.json"
TERMS_VERSION = 1
# Subjects the guidance does not cover (content/scope.yaml): their labels and search terms, saved with each build.
SCOPE_FILE = "scope.json"
SCOPE_VERSION = 1
SCOPE_PREFIX = "scope:"  # owner of a subject's texts in the dense index (never an entry id: entry ids have no ':')

log = logging.getLogger(__name__)


def text_id(entry_id: str, lang: str, kind: str, text: str) -> int:
    """A stable 63-bit id for one indexed text, so FAISS ids mean the same thing in every build."""
    digest = hashlib.sha256(f"{entry_id}\x1f{lang}\x1f{kind}\x1f{text}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class TextUnit:
    id: int
    entry_id: str
    lang: str
    kind: str  # title | question | section | scope
    text: str
    section: int = -1  # for a section: its place in the body (see knowledge.sections)


def entry_units(entry: Entry) -> list[TextUnit]:
    units = []
    for lang, t in entry.texts.items():
        pieces = [("title", t.title, -1)] + [("question", q, -1) for q in t.questions]
        # The body as its whole sections: a question about one point (salt at 9 months) meets the section that
        # makes it, and the reply can open with that section.
        pieces += [("section", s.text, i) for i, s in enumerate(split_sections(t.body))]
        for kind, text, section in pieces:
            key = kind if section < 0 else f"{kind}{section}"
            units.append(TextUnit(text_id(entry.id, lang, key, text), entry.id, lang, kind, text, section))
    return list({u.id: u for u in units}.values())


def scope_units(topics: Iterable[ScopeTopic]) -> list[TextUnit]:
    """A subject's label and phrasings, indexed like entry texts under the owner 'scope:<id>'."""
    units = []
    for topic in topics:
        owner = SCOPE_PREFIX + topic.id
        for lang, t in topic.texts.items():
            units += [TextUnit(text_id(owner, lang, "scope", text), owner, lang, "scope", text) for text in t.texts()]
    return list({u.id: u for u in units}.values())


@dataclass(frozen=True)
class ScopeInfo:
    """One subject as the retriever sees it: its label and its search terms in each language."""

    id: str
    labels: dict[str, str]
    terms: dict[str, frozenset[str]]


def write_scope(build_dir: Path, topics: Iterable[ScopeTopic], segmenter: keyword.Segmenter) -> None:
    payload = {"version": SCOPE_VERSION, "segmenter": segmenter.fingerprint, "topics": [
        {"id": t.id, "labels": {lang: x.label for lang, x in t.texts.items()},
         "texts": {lang: list(x.texts()) for lang, x in t.texts.items()},
         "terms": {lang: sorted({term for text in x.texts() for term in segmenter.terms(text)})
                   for lang, x in t.texts.items()}} for t in topics]}
    (build_dir / SCOPE_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")


def read_scope(build_dir: Path, segmenter: keyword.Segmenter) -> dict[str, ScopeInfo]:
    """The subjects saved with a build; their terms are segmented again only if another segmenter wrote them."""
    try:
        saved = json.loads((build_dir / SCOPE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict) or saved.get("version") != SCOPE_VERSION:
        return {}
    fresh = saved.get("segmenter") == segmenter.fingerprint
    topics = {}
    for topic in saved.get("topics", []):
        terms = {lang: frozenset(topic["terms"][lang] if fresh else
                                 (term for text in texts for term in segmenter.terms(text)))
                 for lang, texts in topic["texts"].items()}
        topics[topic["id"]] = ScopeInfo(topic["id"], dict(topic["labels"]), terms)
    return topics


def keyword_document(text) -> str:
    return "\n".join([text.title, text.title, *text.questions, *text.questions, text.body])


def terms_source(text: EntryText) -> str:
    """The text an entry's coverage terms come from (one language)."""
    return " ".join([text.title, *text.questions, text.body])


def read_terms(build_dir: Path, segmenter: keyword.Segmenter) -> dict[str, list[str]]:
    """Terms saved with a build, keyed by the hash of their source text; empty when missing, unreadable or written
    by a different segmenter."""
    try:
        saved = json.loads((build_dir / TERMS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if (not isinstance(saved, dict) or saved.get("version") != TERMS_VERSION
            or saved.get("segmenter") != segmenter.fingerprint or not isinstance(saved.get("terms"), dict)):
        return {}
    return saved["terms"]


def entry_terms(entries: Iterable[Entry], segmenter: keyword.Segmenter,
                saved: dict[str, list[str]]) -> dict[tuple[str, str], frozenset[str]]:
    """(entry id, lang) -> search terms: the saved terms of a text whose hash matches, else segmented now."""
    terms = {}
    for entry in entries:
        for lang, text in entry.texts.items():
            source = terms_source(text)
            known = saved.get(text_hash(source))
            terms[(entry.id, lang)] = frozenset(known if isinstance(known, list) else segmenter.terms(source))
    return terms


def write_terms(build_dir: Path, entries: Iterable[Entry], segmenter: keyword.Segmenter,
                previous: dict[str, list[str]]) -> None:
    """Save the terms of every text in this build; texts unchanged since the previous build are not segmented."""
    terms: dict[str, list[str]] = {}
    for entry in entries:
        for text in entry.texts.values():
            source = terms_source(text)
            digest = text_hash(source)
            if digest not in terms:
                known = previous.get(digest)
                terms[digest] = known if isinstance(known, list) else sorted(set(segmenter.terms(source)))
    payload = {"version": TERMS_VERSION, "segmenter": segmenter.fingerprint, "terms": terms}
    (build_dir / TERMS_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")


@dataclass
class BuildReport:
    entries: int = 0
    texts: int = 0
    embedded: int = 0
    reused: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    full_rebuild: bool = False
    seconds: float = 0.0
    path: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def read_manifest(index_dir: Path) -> dict | None:
    try:
        return json.loads((index_dir / "current" / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, NotADirectoryError):
        return None


def manifest_matches(manifest: dict | None, identity: Identity) -> bool:
    """The build was made by this backend with these very weights (a manifest from before backends were recorded
    never matches)."""
    return (bool(manifest) and manifest.get("version") == MANIFEST_VERSION
            and all(manifest.get(key) == value for key, value in identity.as_dict().items()))


def _swap_current(index_dir: Path, new_dir: Path) -> None:
    """Point index_dir/current at new_dir in one rename, so a reader sees the old index or the new, never half."""
    link = index_dir / "current"
    tmp = index_dir / f".current-{os.getpid()}-{threading.get_ident()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(new_dir.name)
    os.replace(tmp, link)


def _prune(index_dir: Path, keep: set[str]) -> None:
    for path in index_dir.glob("build-*"):
        if path.name not in keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


class IndexBuilder:
    def __init__(self, db: sqlite_utils.Database, index_dir: Path, identity: Identity,
                 embedder_factory: Callable[[], Embedder], segmenter: keyword.Segmenter,
                 scope: Iterable[ScopeTopic] = ()):
        self.db, self.index_dir, self.identity = db, index_dir, identity
        self.scope = tuple(scope)
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self.segmenter = segmenter
        self._lock = threading.Lock()

    def embedder(self) -> Embedder:
        # Loaded only when some text is new: an unchanged index is refreshed without touching the model.
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def build(self, entries: Iterable[Entry] | None = None,
              progress: Callable[[int, int], None] | None = None) -> BuildReport:
        """Index the published entries (from `entries`, else the database) and swap the new index in."""
        with self._lock:
            return self._build(list(entries) if entries is not None else EntryStore(self.db).published(), progress)

    def _build(self, entries: list[Entry], progress: Callable[[int, int], None] | None) -> BuildReport:
        started = time.perf_counter()
        self.index_dir.mkdir(parents=True, exist_ok=True)
        report = BuildReport(entries=len(entries))
        previous = read_manifest(self.index_dir)
        report.full_rebuild = not manifest_matches(previous, self.identity)
        old_hashes: dict[str, str] = {} if report.full_rebuild else previous["entries"]
        new_hashes = {e.id: e.content_hash for e in entries}
        report.added = sorted(set(new_hashes) - set(old_hashes))
        report.removed = sorted(set(old_hashes) - set(new_hashes))
        report.changed = sorted(e for e in new_hashes if e in old_hashes and old_hashes[e] != new_hashes[e])

        current = self.index_dir / "current"
        previous_dir = current.resolve() if previous is not None else None
        scope_version = scope_hash(self.scope)
        # Keyword rows segmented by another segmenter (new stop words, jieba or synonyms) are all written again.
        resegment = report.full_rebuild or previous.get("segmenter") != self.segmenter.fingerprint
        unchanged = not (resegment or report.added or report.changed or report.removed
                         or previous.get("scope") != scope_version)
        if (unchanged and previous_dir is not None and (previous_dir / "dense.faiss").is_file()
                and (read_terms(previous_dir, self.segmenter) or not entries)
                and (previous_dir / SCOPE_FILE).is_file()):
            # Nothing changed and the current build is complete: keep it rather than write an identical copy
            # on every start (which also spares readers of older builds from being pruned under them). Its texts
            # are the ones these entries and subjects give (not split again at every start).
            report.texts = report.reused = len(previous.get("texts", {}))
            report.path = str(previous_dir)
            report.seconds = round(time.perf_counter() - started, 3)
            return report
        units = [u for e in entries for u in entry_units(e)] + scope_units(self.scope)
        report.texts = len(units)
        vectors = self._embed(units, report, progress)

        # Keyword index: rewrite only what changed, in one transaction.
        touched = report.removed + report.changed + report.added
        by_id = {e.id: e for e in entries}
        with self.db.conn:
            self.db.execute("begin immediate")
            if resegment:
                self.db.execute("delete from search_fts")
                touched = list(new_hashes)
            else:
                keyword.delete_entries(self.db, touched)
            fresh = set(touched) & set(new_hashes)
            # One keyword document per entry and language: BM25 over the whole entry (title and example
            # questions repeated to weigh more) ranks better than the best single sentence.
            keyword.write_rows(self.db, ((entry_id, lang, "doc", self.segmenter.index_text(keyword_document(t)))
                                         for entry_id in sorted(fresh) for lang, t in by_id[entry_id].texts.items()))

        # Dense index: a new directory, then one atomic swap of the `current` link.
        dimension = self._dimension(vectors, previous)
        new_dir = self.index_dir / f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.perf_counter_ns()}"
        new_dir.mkdir()
        DenseIndex.build(np.array([u.id for u in units], dtype=np.int64), vectors, dimension).save(new_dir / "dense.faiss")
        write_terms(new_dir, entries, self.segmenter, read_terms(previous_dir, self.segmenter) if previous_dir else {})
        write_scope(new_dir, self.scope, self.segmenter)
        manifest = {
            "version": MANIFEST_VERSION, **self.identity.as_dict(), "dimension": dimension,
            "entries": new_hashes, "scope": scope_version, "segmenter": self.segmenter.fingerprint,
            "texts": {str(u.id): [u.entry_id, u.lang, u.kind, u.section] for u in units},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (new_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        old_target = os.readlink(current) if current.is_symlink() else None
        _swap_current(self.index_dir, new_dir)
        _prune(self.index_dir, {new_dir.name, old_target or ""})
        report.path = str(new_dir)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _embed(self, units: list[TextUnit], report: BuildReport, progress) -> np.ndarray:
        if not units:
            return np.zeros((0, 1), np.float32)
        # Look the texts up in the cache first; the model is loaded only if something is missing. Titles, example
        # questions and out-of-scope phrasings are questions: an asymmetric model (e5) embeds them as it embeds a
        # parent's question, so question meets question; sections are passages.
        caches = {as_query: EmbeddingCache(self.db, _LazyEmbedder(self.identity.key + ("|query" if as_query else ""),
                                                                  self.embedder, as_query))
                  for as_query in (False, True)}
        vectors = np.zeros((len(units), 0), np.float32)
        rows: dict[bool, list[int]] = {False: [], True: []}
        for i, unit in enumerate(units):
            rows[unit.kind in QUERY_KINDS].append(i)
        done = 0
        step = 256
        for as_query, indices in rows.items():
            for start in range(0, len(indices), step):
                chunk = indices[start:start + step]
                matrix, new = caches[as_query].embed([units[i].text for i in chunk])
                if vectors.shape[1] == 0:
                    vectors = np.zeros((len(units), matrix.shape[1]), np.float32)
                vectors[chunk] = matrix
                report.embedded += new
                done += len(chunk)
                if progress:
                    progress(done, len(units))
        report.reused = len(units) - report.embedded
        return vectors

    def _dimension(self, vectors: np.ndarray, previous: dict | None) -> int:
        if len(vectors):
            return int(vectors.shape[1])
        if self._embedder is not None:
            return self._embedder.dimension
        return int(previous["dimension"]) if previous else 384


class _LazyEmbedder:
    """Looks like an Embedder to the cache but loads the real one only when asked to encode (passages, or
    questions when `as_query`)."""

    def __init__(self, model_id: str, load: Callable[[], Embedder], as_query: bool = False):
        self.model_id, self._load, self._as_query = model_id, load, as_query

    @property
    def dimension(self) -> int:
        return self._load().dimension

    def encode(self, texts):
        model = self._load()
        return model.encode_query(texts) if self._as_query else model.encode(texts)


@dataclass(frozen=True)
class Snapshot:
    """One consistent view for answering: the dense index, what its ids mean, and the entries it was built from."""

    dense: DenseIndex
    texts: dict[int, tuple[str, str, str, int]]  # text id -> (owner, lang, kind, section)
    entries: dict[str, Entry]
    terms: dict[tuple[str, str], frozenset[str]]  # (entry id, lang) -> its search terms
    idf: dict[str, dict[str, float]]               # lang -> term -> inverse document frequency
    unseen_idf: dict[str, float]                   # lang -> the weight of a term no entry contains
    model_id: str
    path: str
    scope: dict[str, ScopeInfo] = field(default_factory=dict)  # subjects the guidance does not cover


def load_snapshot(index_dir: Path, db: sqlite_utils.Database, segmenter: keyword.Segmenter,
                  identity: Identity, entries: Iterable[Entry] | None = None) -> Snapshot | None:
    """The current build, or None when there is none or it was built for another model (its vectors would not be
    comparable with the questions' and must be rebuilt, never used). `entries`: the published entries, when the
    caller has just read them from the database (else they are read here)."""
    current = index_dir / "current"
    try:
        target = current.resolve(strict=True)
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        if not manifest_matches(manifest, identity):
            log.warning("the index in %s was built by another model or backend; run `sprout index build`", target)
            return None
        dense = DenseIndex.load(target / "dense.faiss")
    except (FileNotFoundError, OSError, json.JSONDecodeError, RuntimeError):
        return None
    published = {e.id: e for e in (EntryStore(db).published() if entries is None else entries)
                 if e.id in manifest["entries"]}
    # Terms saved by this very build (same directory), checked against each text's hash; anything missing,
    # edited since or written by another segmenter is segmented here as before.
    terms = entry_terms(published.values(), segmenter, read_terms(target, segmenter))
    texts = {int(k): tuple(v) for k, v in manifest["texts"].items()}
    idf = inverse_document_frequency(terms)
    unseen = {lang: max(values.values(), default=0.0) + 1.0 for lang, values in idf.items()}
    return Snapshot(dense, texts, published, terms, idf, unseen, manifest["model_id"], str(target),
                    read_scope(target, segmenter))


def inverse_document_frequency(terms: dict[tuple[str, str], frozenset[str]]) -> dict[str, dict[str, float]]:
    counts: dict[str, Counter] = {}
    for (_, lang), entry_terms in terms.items():
        counts.setdefault(lang, Counter()).update(entry_terms)
    idf = {}
    for lang, counter in counts.items():
        n = sum(1 for (_, l) in terms if l == lang)
        idf[lang] = {term: math.log((n + 1) / (df + 0.5)) for term, df in counter.items()}
    return idf


class LiveIndex:
    """Holds the snapshot readers use; `reload` builds a new one off to the side and swaps the reference."""

    def __init__(self, index_dir: Path, db: sqlite_utils.Database, segmenter: keyword.Segmenter, identity: Identity):
        self.index_dir, self.db, self.segmenter, self.identity = index_dir, db, segmenter, identity
        self._snapshot: Snapshot | None = None

    @property
    def snapshot(self) -> Snapshot | None:
        if self._snapshot is None:
            self._snapshot = load_snapshot(self.index_dir, self.db, self.segmenter, self.identity)
        return self._snapshot

    def reload(self, entries: Iterable[Entry] | None = None) -> Snapshot | None:
        fresh = load_snapshot(self.index_dir, self.db, self.segmenter, self.identity, entries)
        if fresh is not None:
            self._snapshot = fresh
        return self._snapshot
