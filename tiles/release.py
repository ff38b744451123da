"""Atomic release builds: ``releases/<id>/`` built in a temp dir, ``current`` swapped by link."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from ..errors import BuildError, LantianError
from .manifest import MANIFEST_NAME, FileEntry, Manifest, ReleaseContent, media_type

TMP_PREFIX = ".tmp-"
CURRENT = "current"
KEEP_FILE = "releases.keep"
_DIGEST = re.compile(r"^[0-9a-f]{12,}$")
_CHUNK = 1 << 20


class InvalidReleaseError(LantianError):
    """A release directory or its manifest is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Release:
    """A release on disk; ``built`` is False when an existing one was reused."""

    path: Path
    manifest: Manifest
    built: bool = False

    @property
    def id(self) -> str:
        return self.manifest.id


def release_id(inputs_digest: str) -> str:
    """``r-`` + the first 12 hex digits of the inputs digest."""
    if not _DIGEST.match(inputs_digest):
        raise ValueError(f"inputs digest must be ≥ 12 lowercase hex digits, got {inputs_digest!r}")
    return f"r-{inputs_digest[:12]}"


def load_manifest(path: Path) -> Manifest:
    """The validated manifest at ``path`` (a ``manifest.json``)."""
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except OSError as e:
        raise InvalidReleaseError(f"{path}: cannot read manifest: {e.strerror}") from e
    except ValidationError as e:
        raise InvalidReleaseError(f"{path}: invalid manifest: {e}") from e


def verify_release(path: Path, *, checksums: bool = False) -> Manifest:
    """Load ``path/manifest.json`` and check its id and every listed file's size (and hash)."""
    manifest = load_manifest(path / MANIFEST_NAME)
    if manifest.id != path.name:
        raise InvalidReleaseError(f"{path}: manifest id {manifest.id!r} ≠ directory name")
    for entry in manifest.files:
        file = path / entry.path
        if not file.is_file() or file.stat().st_size != entry.bytes:
            raise InvalidReleaseError(f"{path}: {entry.path} missing or not {entry.bytes} bytes")
        if checksums and sha256_file(file) != entry.sha256:
            raise InvalidReleaseError(f"{path}: {entry.path} does not match its sha256")
    return manifest


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class ReleaseStore:
    """``root/releases/<id>/`` directories and the ``root/current`` symlink."""

    root: Path
    clock: Callable[[], datetime] = field(default=_utcnow)

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def current_link(self) -> Path:
        return self.root / CURRENT

    def build(self, inputs_digest: str, write: Callable[[Path], ReleaseContent]) -> Release:
        """Build (or reuse) the release of ``inputs_digest`` and make it current.

        ``write(tmpdir)`` writes the release files and returns the manifest parts. On any
        error the temp dir is removed and ``current`` and existing releases stay untouched.
        """
        rid = release_id(inputs_digest)
        final = self.releases_dir / rid
        existing = self._valid(final)
        if existing is not None:
            self.activate(rid)
            return Release(final, existing)
        self.releases_dir.mkdir(parents=True, exist_ok=True)
        self.prune_temp()
        tmp = self.releases_dir / f"{TMP_PREFIX}{secrets.token_hex(6)}"
        tmp.mkdir()
        try:
            manifest = self._finish(tmp, rid, write(tmp))
            self._move_into_place(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.activate(rid)
        return Release(final, manifest, built=True)

    def activate(self, rid: str) -> None:
        """Point ``current`` at ``releases/<rid>`` atomically."""
        if self._valid(self.releases_dir / rid) is None:
            raise InvalidReleaseError(f"no valid release {rid} in {self.releases_dir}")
        link = self.root / f"{TMP_PREFIX}{CURRENT}-{secrets.token_hex(6)}"
        os.symlink(Path("releases") / rid, link)
        try:
            os.replace(link, self.current_link)
        except BaseException:
            link.unlink(missing_ok=True)
            raise
        _fsync_dir(self.root)

    @property
    def keep_file(self) -> Path:
        return self.root / KEEP_FILE

    def current(self) -> Release | None:
        """The release ``current`` points at, if any."""
        rid = self.current_id()
        if rid is None:
            return None
        path = self.releases_dir / rid
        return Release(path, verify_release(path))

    def current_id(self) -> str | None:
        """The id ``current`` points at (valid or not), if any."""
        if not self.current_link.is_symlink():
            return None
        return Path(os.readlink(self.current_link)).name

    def list_releases(self) -> list[Release]:
        """Every release with a valid manifest, oldest first."""
        if not self.releases_dir.is_dir():
            return []
        found = [
            Release(path, manifest)
            for path in self.releases_dir.iterdir()
            if not path.name.startswith(".") and (manifest := self._valid(path)) is not None
        ]
        return sorted(found, key=lambda r: (r.manifest.created, r.id))

    def prunable(self, keep: int, keep_ids: set[str]) -> list[Release]:
        """Releases ``prune`` would remove, oldest first: all but the newest ``keep`` (by
        ``manifest.created``), the current one and those in ``keep_ids``."""
        if keep < 0:
            raise ValueError(f"keep must be ≥ 0, got {keep}")
        releases = self.list_releases()
        kept = keep_ids | {r.id for r in releases[max(0, len(releases) - keep) :]}
        current = self.current_id()
        return [r for r in releases if r.id not in kept and r.id != current]

    def prune(self, keep: int, keep_ids: set[str]) -> list[Release]:
        """Remove the ``prunable`` releases; the removed ones, oldest first.

        Each is renamed to a ``.tmp-`` name before its tree is deleted, so a crash leaves no
        half release (``prune_temp`` clears the rest). One that became current meanwhile stays.
        """
        removed: list[Release] = []
        for release in self.prunable(keep, keep_ids):
            if release.id == self.current_id():
                continue
            doomed = self.releases_dir / f"{TMP_PREFIX}pruned-{secrets.token_hex(6)}"
            release.path.rename(doomed)
            _fsync_dir(self.releases_dir)
            shutil.rmtree(doomed)
            removed.append(release)
        return removed

    def prune_temp(self, older_than_s: float = 3600.0) -> list[Path]:
        """Remove ``.tmp-*`` leftovers of crashed builds untouched for ``older_than_s``."""
        removed: list[Path] = []
        cutoff = time.time() - older_than_s
        for parent in (self.releases_dir, self.root):
            if not parent.is_dir():
                continue
            for path in parent.glob(f"{TMP_PREFIX}*"):
                if path.lstat().st_mtime > cutoff:
                    continue
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def _valid(self, path: Path) -> Manifest | None:
        try:
            return verify_release(path) if path.is_dir() else None
        except InvalidReleaseError:
            return None

    def _finish(self, tmp: Path, rid: str, content: ReleaseContent) -> Manifest:
        files = [
            _file_entry(tmp, path, content.file_titles)
            for path in sorted(tmp.rglob("*"))
            if path.name != MANIFEST_NAME or path.parent != tmp
            if not path.is_dir() or path.is_symlink()
        ]
        try:
            manifest = Manifest(
                id=rid,
                created=self.clock(),
                title=content.title,
                title_zh=content.title_zh,
                synthetic=content.synthetic,
                quarters=content.quarters,
                timeline=content.timeline or content.quarters,
                periods=content.periods or {"quarter": content.quarters},
                layers=content.layers,
                files=files,
                sources=content.sources,
                summary=content.summary,
                colormaps=content.colormaps,
            )
        except ValidationError as e:
            raise BuildError(f"release {rid}: inconsistent manifest: {e}") from e
        text = json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False)
        (tmp / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")
        for path in tmp.rglob("*"):
            if path.is_dir():
                _fsync_dir(path)
            else:
                _fsync_file(path)
        _fsync_dir(tmp)
        return manifest

    def _move_into_place(self, tmp: Path, final: Path) -> None:
        if final.exists():  # a broken leftover: set it aside, then drop it
            stale = self.releases_dir / f"{TMP_PREFIX}stale-{secrets.token_hex(6)}"
            final.rename(stale)
            shutil.rmtree(stale, ignore_errors=True)
        tmp.rename(final)
        _fsync_dir(self.releases_dir)


def read_keep_file(path: Path) -> set[str]:
    """Release ids listed in ``path``, one a line, ``#`` starting a comment; none if absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    return {line.split("#", 1)[0].strip() for line in text.splitlines()} - {""}


def _file_entry(root: Path, path: Path, titles: dict[str, str]) -> FileEntry:
    if path.is_symlink() or not path.is_file():
        raise BuildError(f"{path}: release files must be regular files")
    rel = path.relative_to(root).as_posix()
    return FileEntry(
        path=rel,
        bytes=path.stat().st_size,
        sha256=sha256_file(path),
        media_type=media_type(path),
        title=titles.get(rel, path.name),
    )


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
