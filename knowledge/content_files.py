"""Writing an entry's content file together with the database, so the two never disagree: the new file is
written beside the old one first, the database rows go in one transaction, and the file is renamed into place
just before that transaction commits (and put back if the commit fails)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import sqlite_utils

from .content import Entry, parse_entry, render_entry_file


def entry_file(content_dir: Path, entry: Entry, current: Entry | None = None) -> tuple[Path, str]:
    """Where an entry's file lives (its current file when it has one under content_dir) and the path the store
    records for it (relative to the content folder's parent, as `load_entries` records it)."""
    target = content_dir / "guidance" / entry.topic / f"{entry.id}.md"
    if current is not None and current.path:
        existing = content_dir.parent / current.path
        if existing.parent.parent == content_dir / "guidance" and existing.exists():
            target = existing
    return target, str(target.relative_to(content_dir.parent))


class EntryFileError(ValueError):
    """The entry, written as a file, is one `sprout content validate` refuses; `problems` are its messages."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def file_hash(text: str, rel: str) -> str:
    """The hash the content sync computes for this file, so a restart sees the file as unchanged. EntryFileError
    when the validator refuses the file: nothing is written then."""
    parsed, problems = parse_entry(text, rel)
    errors = [p.message for p in problems if p.level == "error"]
    if parsed is None or errors:
        raise EntryFileError(errors or ["the entry could not be read back from its file"])
    return parsed.content_hash


class StagedFile:
    """A file written under a temporary name in its final folder; `swap` renames it into place, `restore` undoes."""

    def __init__(self, target: Path, text: str):
        self.target = target
        self.temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        self.old: bytes | None = None
        self.swapped = False
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(self.temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    def swap(self) -> None:
        self.old = self.target.read_bytes() if self.target.exists() else None
        os.replace(self.temporary, self.target)
        self.swapped = True

    def restore(self) -> None:
        if not self.swapped:
            self.temporary.unlink(missing_ok=True)
            return
        if self.old is None:
            self.target.unlink(missing_ok=True)
        else:
            self.target.write_bytes(self.old)


@contextmanager
def file_and_rows(db: sqlite_utils.Database, target: Path, text: str) -> Iterator[None]:
    """`with file_and_rows(db, path, text): <database writes>`: both happen or neither does."""
    staged = StagedFile(target, text)
    try:
        with db.conn:
            db.execute("begin immediate")
            yield
            staged.swap()  # the commit follows as the block ends; a failed commit lands in the except below
    except BaseException:
        staged.restore()
        raise


def write_entry_with_rows(content_dir: Path, entry: Entry, current: Entry | None):
    """(entry with its path, target, text, hash): what `file_and_rows` needs for this entry."""
    target, rel = entry_file(content_dir, entry, current)
    placed = replace(entry, path=rel)
    text = render_entry_file(placed)
    return placed, target, text, file_hash(text, rel)
