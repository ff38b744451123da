from __future__ import annotations

import io
from pathlib import Path

import pytest
import xarray as xr
from pmtiles.reader import MemorySource, Reader, all_tiles
from pmtiles.tile import Compression, TileType, zxy_to_tileid

from lantian.tiles.colormaps import get_colormap
from lantian.tiles.pmtiles_io import (
    ArchiveSpec,
    InvalidArchiveError,
    validate_archive,
    write_pmtiles,
    write_raster_pmtiles,
)
from lantian.tiles.raster import Tile, grid_from_dataset

SPEC = ArchiveSpec(
    tile_type=TileType.PNG,
    bounds=(100.0, 30.0, 125.0, 45.0),
    center_zoom=4,
    metadata={"name": "test", "attribution": "me"},
)


def sample_tiles() -> list[Tile]:
    """Out of tile-id order, with two identical payloads."""
    return [
        Tile(2, 3, 1, b"c"),
        Tile(0, 0, 0, b"a"),
        Tile(1, 1, 0, b"b"),
        Tile(2, 3, 0, b"same"),
        Tile(2, 0, 3, b"same"),
    ]


def test_round_trip_in_memory() -> None:
    out = io.BytesIO()
    assert write_pmtiles(out, sample_tiles(), SPEC) == 5
    reader = Reader(MemorySource(out.getvalue()))
    for tile in sample_tiles():
        assert reader.get(tile.z, tile.x, tile.y) == tile.data
    assert reader.get(2, 1, 1) is None
    header = reader.header()
    assert header["tile_type"] == TileType.PNG
    assert header["tile_compression"] == Compression.NONE
    assert (header["min_zoom"], header["max_zoom"], header["center_zoom"]) == (0, 2, 4)
    assert (header["min_lon_e7"], header["max_lat_e7"]) == (1_000_000_000, 450_000_000)
    assert (header["center_lon_e7"], header["center_lat_e7"]) == (1_125_000_000, 375_000_000)
    assert header["clustered"] is True
    assert header["addressed_tiles_count"] == 5
    assert header["tile_contents_count"] == 4  # "same" stored once
    assert header["tile_data_length"] == len(b"abcsame")
    assert reader.metadata() == {"name": "test", "attribution": "me"}
    ids = [zxy_to_tileid(*zxy) for zxy, _ in all_tiles(MemorySource(out.getvalue()))]
    assert ids == sorted(ids)


def test_rejects_empty_and_repeated_tiles() -> None:
    with pytest.raises(ValueError, match="no tiles"):
        write_pmtiles(io.BytesIO(), [], SPEC)
    with pytest.raises(ValueError, match="given twice"):
        write_pmtiles(io.BytesIO(), [Tile(1, 0, 0, b"x"), Tile(1, 0, 0, b"y")], SPEC)


def test_validate_archive(tmp_path: Path) -> None:
    path = tmp_path / "ok.pmtiles"
    with path.open("wb") as f:
        write_pmtiles(f, sample_tiles(), SPEC)
    summary = validate_archive(path)
    assert (summary.min_zoom, summary.max_zoom, summary.tile_type) == (0, 2, TileType.PNG)
    assert (summary.addressed_tiles, summary.tile_entries, summary.tile_contents) == (5, 5, 4)
    assert summary.bounds == SPEC.bounds

    data = path.read_bytes()
    truncated = tmp_path / "truncated.pmtiles"
    truncated.write_bytes(data[:-3])
    with pytest.raises(InvalidArchiveError, match="tile_data section ends"):
        validate_archive(truncated)
    wrong_magic = tmp_path / "magic.pmtiles"
    wrong_magic.write_bytes(b"PMTilez" + data[7:])
    with pytest.raises(InvalidArchiveError, match="not a PMTiles archive"):
        validate_archive(wrong_magic)
    v2 = tmp_path / "v2.pmtiles"
    v2.write_bytes(data[:7] + b"\x02" + data[8:])
    with pytest.raises(InvalidArchiveError, match="version 3"):
        validate_archive(v2)
    tiny = tmp_path / "tiny.pmtiles"
    tiny.write_bytes(data[:50])
    with pytest.raises(InvalidArchiveError, match="shorter"):
        validate_archive(tiny)


def test_raster_archive_carries_colormap_and_zooms(small_grid: xr.Dataset, tmp_path: Path) -> None:
    path = tmp_path / "pm25_2019Q1.pmtiles"
    colormap = get_colormap("pm25-cb")
    with path.open("wb") as f:
        count = write_raster_pmtiles(
            f, grid_from_dataset(small_grid), colormap,
            name="PM2.5 2019Q1", description="synthetic", attribution="lantian",
        )
    summary = validate_archive(path)
    assert summary.addressed_tiles == count
    assert (summary.min_zoom, summary.max_zoom) == (0, 7)
    assert summary.bounds == pytest.approx((100.0, 35.0, 106.0, 39.0))
    metadata = Reader(MemorySource(path.read_bytes())).metadata()
    assert metadata["colormap"] == colormap.to_json()
    assert metadata["name"] == "PM2.5 2019Q1" and metadata["maxzoom"] == 7


def test_raster_archive_bytes_are_stable(small_grid: xr.Dataset) -> None:
    def build() -> bytes:
        out = io.BytesIO()
        write_raster_pmtiles(out, grid_from_dataset(small_grid), get_colormap("pm25"),
                             name="PM2.5 2019Q1", description="synthetic", attribution="lantian")
        return out.getvalue()

    assert build() == build()
