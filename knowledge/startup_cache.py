"""What a start loads from content/ (the knowledge base, the sign table), kept in the data folder after a full load
and validation, and reused by the next start while no content file and no loader code has changed.

Reading and checking some 250 content files and the sign table took most of a cold `sprout ask`; a start whose
content is unchanged now reads one file instead. The key is the bytes of every file under content/ (not their
times: a file rewritten within the same clock tick keeps its mtime), the source of the loaders and the versions
of Python and PyYAML, so an edit anywhere means one full load and validation, as before. Only content that passed
validation is kept; a damaged or unreadable cache file is a miss, never an error. The cache is pickled: it lives
beside the database in Sprout's private data folder (0700), which only Sprout writes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

log = logging.getLogger(__name__)

CACHE_VERSION = 1
KEEP = 3  # files kept per name
# content/eval holds the labelled evaluation sets: nothing a start reads.
_SKIPPED = ("eval",)
_CODE_DIR = Path(__file__).resolve().parent  # knowledge/: the loaders and the classes the cache holds


def _mapping_proxy(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


class _Pickler(pickle.Pickler):
    # The sign table's read-only mappings are MappingProxyType, which pickle cannot name on its own.
    dispatch_table = {MappingProxyType: lambda proxy: (_mapping_proxy, (dict(proxy),))}


def _hash_tree(digest, root: Path, skip: tuple[str, ...] = (), suffix: str = "") -> None:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not (here == root and d in skip) and d != "__pycache__")
        for name in sorted(files):
            if suffix and not name.endswith(suffix):
                continue
            path = here / name
            try:
                data = path.read_bytes()
            except OSError:
                data = b"\0unreadable"
            relative = str(path.relative_to(root)).encode("utf-8")
            digest.update(len(relative).to_bytes(4, "little") + relative + len(data).to_bytes(8, "little"))
            digest.update(data)


def content_key(content_dir: Path) -> str:
    """The fingerprint of everything a start's loaders read and of the loaders themselves (a few ms)."""
    import yaml

    # The folder's own path too: entries and problems name their files.
    digest = hashlib.sha256(f"{CACHE_VERSION}\x1f{sys.version}\x1f{yaml.__version__}\x1f"
                            f"{Path(content_dir).resolve()}".encode())
    _hash_tree(digest, Path(content_dir), _SKIPPED)
    digest.update(b"\x1fcode\x1f")
    _hash_tree(digest, _CODE_DIR, suffix=".py")
    return digest.hexdigest()[:24]


class StartupCache:
    """Named objects filed under the content key; `get` returns None on any miss."""

    def __init__(self, folder: Path, content_dir: Path):
        self.folder = Path(folder)
        self.key = content_key(content_dir)

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}-{self.key}.pickle"

    def get(self, name: str) -> Any | None:
        try:
            with self._path(name).open("rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            return None
        except Exception as exc:  # damaged, truncated, or from classes that no longer exist: load afresh
            log.info("start-up cache %s not used: %s", name, exc)
            return None

    def put(self, name: str, value: Any) -> None:
        """Save `value` (atomically) and drop all but the newest few files of this name. A folder that cannot be written
        only means the next start loads everything again."""
        try:
            buffer = io.BytesIO()
            _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            target = self._path(name)
            partial = target.with_name(f".{target.name}.{os.getpid()}")
            handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(handle, "wb") as out:
                out.write(buffer.getvalue())
            os.replace(partial, target)
            # The newest few stay: two checkouts sharing a data folder do not evict each other at every start.
            older = sorted((p for p in self.folder.glob(f"{name}-*.pickle") if p != target),
                           key=lambda p: p.stat().st_mtime, reverse=True)
            for old in older[KEEP - 1:]:
                old.unlink(missing_ok=True)
        except Exception as exc:
            log.info("start-up cache %s not saved: %s", name, exc)
