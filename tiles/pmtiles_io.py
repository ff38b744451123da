"""Write and check PMTiles v3 archives with the ``pmtiles`` package."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pmtiles.reader import MmapSource
from pmtiles.tile import (
    Compression,
    Entry,
    HeaderDict,
    MagicNumberNotFound,
    SpecVersionUnsupported,
    TileType,
    deserialize_directory,
    deserialize_header,
    zxy_to_tileid,
)
from pmtiles.writer import Writer

from ..errors import LantianError
from .colormaps import Colormap
from .raster import Grid, Tile, native_zoom, render_tiles

HEADER_BYTES = 127
MAX_DIRECTORY_DEPTH = 4


class InvalidArchiveError(LantianError):
    """A PMTiles archive is malformed."""


@dataclass(frozen=True)
class ArchiveSpec:
    """Header fields and metadata of an archive; bounds are (west, south, east, north)."""

    tile_type: TileType
    bounds: tuple[float, float, float, float]
    center_zoom: int
    tile_compression: Compression = Compression.NONE
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ArchiveSummary:
    """What ``validate_archive`` found."""

    tile_type: TileType
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]
    addressed_tiles: int
    tile_entries: int
    tile_contents: int


def write_pmtiles(out: BinaryIO, tiles: Iterable[Tile], spec: ArchiveSpec) -> int:
    """Write ``tiles`` in tile-id order (identical contents stored once); return the count."""
    ordered = sorted(((zxy_to_tileid(t.z, t.x, t.y), t.data) for t in tiles), key=lambda p: p[0])
    if not ordered:
        raise ValueError("no tiles to write")
    for (a, _), (b, _) in itertools.pairwise(ordered):
        if a == b:
            raise ValueError(f"tile id {a} given twice")
    writer = Writer(out)
    for tile_id, data in ordered:
        writer.write_tile(tile_id, data)
    west, south, east, north = spec.bounds
    header: dict[str, Any] = {
        "tile_type": spec.tile_type,
        "tile_compression": spec.tile_compression,
        "min_lon_e7": round(west * 1e7),
        "min_lat_e7": round(south * 1e7),
        "max_lon_e7": round(east * 1e7),
        "max_lat_e7": round(north * 1e7),
        "center_zoom": spec.center_zoom,
        "center_lon_e7": round((west + east) / 2 * 1e7),
        "center_lat_e7": round((south + north) / 2 * 1e7),
    }
    writer.finalize(header, dict(spec.metadata))
    return len(ordered)


def write_raster_pmtiles(
    out: BinaryIO,
    grid: Grid,
    colormap: Colormap,
    *,
    name: str,
    description: str,
    attribution: str,
) -> int:
    """Render ``grid`` (zooms 0..native) with ``colormap`` into a PNG archive; the metadata
    carries the colormap legend. Returns the number of tiles."""
    maxzoom = native_zoom(grid.res)
    west, south, east, north = grid.bounds
    spec = ArchiveSpec(
        tile_type=TileType.PNG,
        bounds=(west, south, east, north),
        center_zoom=max(0, maxzoom - 2),
        metadata={
            "name": name,
            "description": description,
            "attribution": attribution,
            "type": "overlay",
            "format": "png",
            "minzoom": 0,
            "maxzoom": maxzoom,
            "bounds": [west, south, east, north],
            "colormap": colormap.to_json(),
        },
    )
    return write_pmtiles(out, render_tiles(grid, colormap, maxzoom=maxzoom), spec)


def validate_archive(path: Path) -> ArchiveSummary:
    """Check magic/version, section offsets, every directory and every tile's byte range."""
    with path.open("rb") as f:
        size = path.stat().st_size
        if size < HEADER_BYTES:
            raise InvalidArchiveError(f"{path}: {size} bytes, shorter than a PMTiles header")
        return _validate(MmapSource(f), size, str(path))


def _validate(get_bytes: Callable[[int, int], bytes], size: int, name: str) -> ArchiveSummary:
    try:
        header = deserialize_header(get_bytes(0, HEADER_BYTES))
    except (MagicNumberNotFound, UnicodeDecodeError) as e:
        raise InvalidArchiveError(f"{name}: not a PMTiles archive") from e
    except SpecVersionUnsupported as e:
        raise InvalidArchiveError(f"{name}: not PMTiles version 3") from e
    for section in ("root", "metadata", "leaf_directory", "tile_data"):
        end = header[f"{section}_offset"] + header[f"{section}_length"]  # type: ignore[literal-required]
        if end > size:
            raise InvalidArchiveError(f"{name}: {section} section ends at {end} > file size {size}")
    try:
        metadata = get_bytes(header["metadata_offset"], header["metadata_length"])
        if header["internal_compression"] == Compression.GZIP:
            metadata = gzip.decompress(metadata)
        json.loads(metadata)
        entries = list(_tile_entries(get_bytes, header, header["root_offset"],
                                     header["root_length"], 0))
    except (OSError, EOFError, ValueError) as e:
        raise InvalidArchiveError(f"{name}: unreadable directory or metadata: {e}") from e
    previous = -1
    for entry in entries:
        if entry.tile_id <= previous:
            raise InvalidArchiveError(f"{name}: tile ids not ascending at {entry.tile_id}")
        if entry.offset + entry.length > header["tile_data_length"]:
            raise InvalidArchiveError(f"{name}: tile {entry.tile_id} lies outside the tile data")
        previous = entry.tile_id + entry.run_length - 1
    addressed = sum(e.run_length for e in entries)
    if addressed != header["addressed_tiles_count"] or len(entries) != header["tile_entries_count"]:
        raise InvalidArchiveError(f"{name}: directory counts disagree with the header")
    return ArchiveSummary(
        tile_type=header["tile_type"],
        min_zoom=header["min_zoom"],
        max_zoom=header["max_zoom"],
        bounds=(
            header["min_lon_e7"] / 1e7,
            header["min_lat_e7"] / 1e7,
            header["max_lon_e7"] / 1e7,
            header["max_lat_e7"] / 1e7,
        ),
        addressed_tiles=addressed,
        tile_entries=len(entries),
        tile_contents=header["tile_contents_count"],
    )


def _tile_entries(
    get_bytes: Callable[[int, int], bytes], header: HeaderDict, offset: int, length: int, depth: int
) -> Iterable[Entry]:
    if depth >= MAX_DIRECTORY_DEPTH:
        raise ValueError("directories nested too deeply")
    for entry in deserialize_directory(get_bytes(offset, length)):
        if entry.run_length > 0:
            yield entry
        else:
            leaf = header["leaf_directory_offset"] + entry.offset
            if entry.offset + entry.length > header["leaf_directory_length"]:
                raise ValueError(f"leaf directory at {leaf} lies outside its section")
            yield from _tile_entries(get_bytes, header, leaf, entry.length, depth + 1)
