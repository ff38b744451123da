"""Which release answers a request: the ``current`` one, or an older one pinned by id.

The ``current`` link is followed on every request, so a newly activated release is served
without a restart; requests already holding the previous release finish on it. Older releases
stay addressable by id (``?release=<id>``), which keeps versioned permalinks and embeds working.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from ...settings import Settings
from ..errors import NotFoundError, ReleaseUnavailableError
from .release import MANIFEST_NAME, RELEASE_ID, Release, open_release, release_dir

log = logging.getLogger(__name__)


class ReleaseRegistry:
    """Opened releases by id: the current one plus up to ``keep`` recently used others."""

    def __init__(self, settings: Settings, keep: int = 4) -> None:
        self.settings = settings
        self.keep = keep
        self._open: OrderedDict[str, Release] = OrderedDict()
        self._current: Release | None = None
        self._pointed: tuple[str, Release] | None = None  # (link target, its release)
        self._refused: str | None = None  # a link target that could not be opened
        self._link = str(settings.current_link)
        self._lock = threading.Lock()

    def current(self) -> Release:
        """The release the ``current`` link (or ``settings.release``) points at now.

        If the link moved to a release that cannot be opened, the previous one stays served.
        While the link still names the same release this costs one ``readlink``.
        """
        pointer = self._pointer()
        pointed = self._pointed
        if pointed is not None and pointed[0] == pointer:
            return pointed[1]
        if pointer is not None and pointer == self._refused and self._current is not None:
            return self._current  # tried once: a release is immutable, so it stays broken
        try:
            root = self._root(pointer)
        except ReleaseUnavailableError:
            if self._current is None:
                raise
            return self._current
        known = self._current
        if known is not None and known.root == root:
            self._remember(pointer, known)
            return known
        try:
            release = self._opened(root)
        except ReleaseUnavailableError:
            if known is None:
                raise
            log.exception("release %s could not be opened; still serving %s", root, known.id)
            self._refused = pointer
            return known
        self._current = release
        self._remember(pointer, release)
        return release

    def _remember(self, pointer: str | None, release: Release) -> None:
        self._pointed = None if pointer is None else (pointer, release)

    def _pointer(self) -> str | None:
        """What names the current release: the pinned id, or the ``current`` link's target."""
        if self.settings.release is not None:
            return self.settings.release
        try:
            return os.readlink(self._link)
        except OSError:  # no link (yet), or not a symlink: resolve the slow way
            return None

    def _root(self, pointer: str | None) -> Path:
        """The release folder ``pointer`` names. Following the link target already read,
        not the link again, keeps a swap in between from pairing one target with another's
        release."""
        if pointer is None or self.settings.release is not None:
            return release_dir(self.settings)
        path = Path(self._link).parent / pointer
        if not (path / MANIFEST_NAME).is_file():
            raise ReleaseUnavailableError(f"no release manifest at {path}")
        return path.resolve()

    def opened(self, release_id: str | None) -> Release | None:
        """What ``release(release_id)`` gives if that needs no opening, else None.

        For the event loop: opening a release checks every archive's SHA-256, which must run
        in a worker thread (the app's routes), not stall every request of the process.
        """
        pointed = self._pointed
        if pointed is None or pointed[0] != self._pointer():
            return None
        current = pointed[1]
        if release_id is None or release_id == current.id:
            return current
        release = self._open.get(release_id)
        if release is None or not (release.root / MANIFEST_NAME).is_file():
            return None
        return release

    def release(self, release_id: str | None) -> Release:
        """The release pinned by ``release_id``, else the current one."""
        return self.current() if release_id is None else self.get(release_id)

    def get(self, release_id: str) -> Release:
        """The release ``release_id`` from the releases folder; NotFoundError if unknown."""
        if not RELEASE_ID.match(release_id) or len(release_id) > 128:
            raise NotFoundError("unknown release")
        current = self.current()
        if release_id == current.id:
            return current
        root = self.settings.releases_dir / release_id
        if not (root / MANIFEST_NAME).is_file():
            with self._lock:
                self._open.pop(release_id, None)  # deleted: let its files close
            raise NotFoundError(f"unknown release {release_id!r}")
        return self._opened(root.resolve())

    def _opened(self, root: Path) -> Release:
        with self._lock:
            release = self._open.get(root.name)
            if release is not None and release.root == root:
                self._open.move_to_end(root.name)
                return release
            self._forget_deleted()
            release = open_release(root)
            self._open[root.name] = release
            while len(self._open) > self.keep + 1:
                # Dropped, not closed: requests still holding it finish; GC closes its files.
                self._open.popitem(last=False)
            return release

    def _forget_deleted(self) -> None:
        """Drop releases whose folder was deleted (requests still holding one finish on it;
        GC then closes its files), so they do not wait to be pushed out by newer ones."""
        for release_id, release in list(self._open.items()):
            if not (release.root / MANIFEST_NAME).is_file():
                del self._open[release_id]

    def close(self) -> None:
        """Close every opened release (at shutdown)."""
        with self._lock:
            for release in self._open.values():
                release.close()
            self._open.clear()
            self._current = None
            self._pointed = None
