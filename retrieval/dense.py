"""The dense index: FAISS IndexIDMap over an exact inner-product index of unit vectors (cosine similarity)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class DenseIndex:
    def __init__(self, index: faiss.Index):
        self._index = index

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dimension: int) -> "DenseIndex":
        index = faiss.IndexIDMap(faiss.IndexFlatIP(dimension))
        if len(ids):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
        return cls(index)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.size == 0:
            return []
        scores, ids = self._index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), min(k, self.size))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        return cls(faiss.read_index(str(path)))
