"""A PMTiles v3 reader that parses the header and root directory once and caches leaves."""

from __future__ import annotations

import gzip
import json
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pmtiles.tile import (
    Compression,
    Entry,
    TileType,
    deserialize_directory,
    deserialize_header,
    find_tile,
    zxy_to_tileid,
)

HEADER_BYTES = 127
MAX_DEPTH = 4


@dataclass(frozen=True)
class TileRef:
    """Where a tile's bytes are in the archive (offset is absolute)."""

    offset: int
    length: int


def _leaf_cache(
    archive: weakref.ref[PMTilesArchive], size: int
) -> Callable[[int, int], list[Entry]]:
    """A cache of leaf directories that refers to its archive weakly: a bound method in the
    cache would make a reference cycle, and the archive (its file descriptor) would then live
    until a full garbage collection instead of closing when the release is dropped."""

    @lru_cache(maxsize=size)
    def leaf(offset: int, length: int) -> list[Entry]:
        owner = archive()
        if owner is None:
            raise OSError("PMTiles archive closed")
        return owner._directory(offset, length)

    return leaf


class PMTilesArchive:
    """One archive file, opened once; thread-safe (``os.pread`` and ``lru_cache``)."""

    def __init__(self, path: Path, max_cached_leaves: int = 512) -> None:
        self._fd = -1
        self._fd = os.open(path, os.O_RDONLY)
        try:
            self.header = deserialize_header(self._read(0, HEADER_BYTES))
            self.root: list[Entry] = self._directory(
                self.header["root_offset"], self.header["root_length"]
            )
            self.metadata: dict[str, Any] = self._read_metadata()
        except Exception:
            self.close()
            raise
        # Every leaf the root points at, up to a bound: a random tile request then never
        # re-reads a directory (a leaf holds up to a few thousand entries, ~0.5 MB parsed).
        leaves = sum(1 for entry in self.root if entry.run_length == 0)
        self._leaf = _leaf_cache(weakref.ref(self), max(1, min(leaves, max_cached_leaves)))

    @property
    def tile_type(self) -> TileType:
        return self.header["tile_type"]

    @property
    def tile_compression(self) -> Compression:
        return self.header["tile_compression"]

    @property
    def minzoom(self) -> int:
        return int(self.header["min_zoom"])

    @property
    def maxzoom(self) -> int:
        return int(self.header["max_zoom"])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        h = self.header
        return (
            h["min_lon_e7"] / 1e7,
            h["min_lat_e7"] / 1e7,
            h["max_lon_e7"] / 1e7,
            h["max_lat_e7"] / 1e7,
        )

    @property
    def center(self) -> tuple[float, float, int]:
        h = self.header
        return (h["center_lon_e7"] / 1e7, h["center_lat_e7"] / 1e7, int(h["center_zoom"]))

    def _read(self, offset: int, length: int) -> bytes:
        data = os.pread(self._fd, length, offset)
        if len(data) != length:
            raise OSError("truncated PMTiles archive")
        return data

    def _decompress(self, data: bytes) -> bytes:
        compression = self.header["internal_compression"]
        if compression == Compression.GZIP:
            return gzip.decompress(data)
        if compression == Compression.NONE:
            return data
        raise OSError(f"unsupported PMTiles internal compression {compression.name}")

    def _directory(self, offset: int, length: int) -> list[Entry]:
        # deserialize_directory always gunzips; normalise to gzip for "none" archives.
        raw = self._read(offset, length)
        if self.header["internal_compression"] == Compression.NONE:
            raw = gzip.compress(raw, compresslevel=0, mtime=0)
        return deserialize_directory(raw)

    def _read_metadata(self) -> dict[str, Any]:
        length = self.header["metadata_length"]
        if not length:
            return {}
        data = self._decompress(self._read(self.header["metadata_offset"], length))
        meta = json.loads(data)
        return meta if isinstance(meta, dict) else {}

    def locate(self, z: int, x: int, y: int) -> TileRef | None:
        """Offset and length of tile z/x/y, or None when the archive has no such tile."""
        tile_id = zxy_to_tileid(z, x, y)
        directory = self.root
        for _ in range(MAX_DEPTH):
            entry = find_tile(directory, tile_id)
            if entry is None:
                return None
            if entry.run_length > 0:
                return TileRef(self.header["tile_data_offset"] + entry.offset, entry.length)
            directory = self._leaf(
                self.header["leaf_directory_offset"] + entry.offset, entry.length
            )
        return None

    def read(self, ref: TileRef) -> bytes:
        """The (still compressed, as stored) bytes of a located tile."""
        return self._read(ref.offset, ref.length)

    def close(self) -> None:
        """Close the file; later reads fail. Idempotent."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:  # releases dropped by the registry close when unreferenced
        self.close()
