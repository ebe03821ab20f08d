"""The dense index: FAISS IndexIDMap over an exact inner-product index of unit vectors (cosine similarity)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class DenseIndex:
    def __init__(self, index: faiss.Index):
        self._index = index
        self._rows: dict[int, int] | None = None
        self._vectors: np.ndarray | None = None

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

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The stored unit vectors of these text ids (a zero row for an id the index does not hold)."""
        if self._rows is None:
            stored = faiss.vector_to_array(self._index.id_map)
            self._rows = {int(i): row for row, i in enumerate(stored)}
            flat = faiss.downcast_index(self._index.index)
            self._vectors = flat.reconstruct_n(0, flat.ntotal) if flat.ntotal else np.zeros((0, flat.d), np.float32)
        out = np.zeros((len(ids), self._index.d), np.float32)
        for k, i in enumerate(ids):
            row = self._rows.get(int(i))
            if row is not None:
                out[k] = self._vectors[row]
        return out

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        return cls(faiss.read_index(str(path)))
