"""A content-addressed cache of stage outputs: ``<data dir>/cache/stages/<stage>/<key>/``.

An entry is a folder of files plus ``entry.json`` listing each file's size and SHA-256. It is
written into a ``.tmp-*`` folder beside it and renamed into place only once complete, so a
build killed part-way leaves nothing a later build would trust; on use every file is checked
against its digest, and an entry that fails is set aside and rebuilt.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lantian.errors import BuildError
from lantian.tiles.release import sha256_file

ENTRY_FILE = "entry.json"
TMP_PREFIX = ".tmp-"
STALE_SECONDS = 3600  # a temporary folder this old was left by a killed build


@dataclass(frozen=True)
class Entry:
    """A complete, verified cache entry."""

    stage: str
    key: str
    path: Path
    files: dict[str, tuple[int, str]]  # relative name → (bytes, sha256)

    @property
    def bytes(self) -> int:
        return sum(size for size, _ in self.files.values())

    def file(self, name: str) -> Path:
        if name not in self.files:
            raise KeyError(f"{self.stage}/{self.key} has no file {name!r}")
        return self.path / name


def tree_bytes(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (0 if absent)."""
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(p.stat().st_size for p in files if p.is_file())


@dataclass(frozen=True)
class StageCache:
    """Entries under ``root`` (``<data dir>/cache/stages``)."""

    root: Path

    def get(self, stage: str, key: str) -> Entry | None:
        """The entry of ``stage`` for ``key`` if present and intact; a damaged one is removed."""
        path = self.root / stage / key
        if not path.is_dir():
            return None
        entry = _read_entry(stage, key, path)
        if entry is None:
            _remove(path)
        return entry

    def put(self, stage: str, key: str, make: Callable[[Path], None]) -> Entry:
        """Run ``make(folder)`` into a temporary folder and commit it as the entry."""
        parent = self.root / stage
        parent.mkdir(parents=True, exist_ok=True)
        _prune_stale(parent)
        scratch = parent / f"{TMP_PREFIX}{secrets.token_hex(6)}-{key}"
        scratch.mkdir()
        try:
            make(scratch)
            files = {
                p.relative_to(scratch).as_posix(): (p.stat().st_size, sha256_file(p))
                for p in sorted(scratch.rglob("*")) if p.is_file()
            }
            record = {"stage": stage, "key": key, "created": time.time(),
                      "files": {name: {"bytes": size, "sha256": sha}
                                for name, (size, sha) in files.items()}}
            (scratch / ENTRY_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
            _fsync_tree(scratch)
            final = parent / key
            if final.exists():  # another build committed it meanwhile, or a damaged one
                _remove(final)
            scratch.rename(final)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return Entry(stage, key, final, files)

    def entries(self) -> list[Entry]:
        """Every committed entry (intact or not is checked on use, not here)."""
        found = []
        if not self.root.is_dir():
            return []
        for stage in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(stage.iterdir()):
                if path.name.startswith(TMP_PREFIX) or not (path / ENTRY_FILE).is_file():
                    continue
                files = _listed(path)
                if files is not None:
                    found.append(Entry(stage.name, path.name, path, files))
        return found

    def prune(self, keep: Iterable[tuple[str, str]], *, dry_run: bool = False) -> list[Entry]:
        """Remove every entry whose ``(stage, key)`` is not in ``keep``; returns them."""
        wanted = set(keep)
        gone = [e for e in self.entries() if (e.stage, e.key) not in wanted]
        if not dry_run:
            for entry in gone:
                _remove(entry.path)
            for stage in self.root.iterdir():
                if stage.is_dir():
                    _prune_stale(stage)
        return gone


def _listed(path: Path) -> dict[str, tuple[int, str]] | None:
    try:
        record = json.loads((path / ENTRY_FILE).read_text(encoding="utf-8"))
        return {name: (int(f["bytes"]), str(f["sha256"])) for name, f in record["files"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_entry(stage: str, key: str, path: Path) -> Entry | None:
    files = _listed(path)
    if files is None:
        return None
    for name, (size, sha) in files.items():
        file = path / name
        if not file.is_file() or file.stat().st_size != size or sha256_file(file) != sha:
            return None
    return Entry(stage, key, path, files)


def _remove(path: Path) -> None:
    """Rename aside, then delete: a crash mid-delete leaves only a ``.tmp-`` folder."""
    aside = path.parent / f"{TMP_PREFIX}{secrets.token_hex(6)}-gone"
    try:
        path.rename(aside)
    except OSError as e:
        raise BuildError(f"cannot remove cache entry {path}: {e}") from e
    shutil.rmtree(aside, ignore_errors=True)


def _prune_stale(parent: Path, older_than_s: float = STALE_SECONDS) -> None:
    cutoff = time.time() - older_than_s
    for stale in parent.glob(f"{TMP_PREFIX}*"):
        try:
            if stale.stat().st_mtime <= cutoff:
                shutil.rmtree(stale, ignore_errors=True)
        except FileNotFoundError:
            continue


def _fsync_tree(root: Path) -> None:
    for path in [*root.rglob("*"), root]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
