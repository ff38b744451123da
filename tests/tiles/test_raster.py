from __future__ import annotations

import io
import math
from pathlib import Path

import morecantile
import numpy as np
import numpy.typing as npt
import pytest
import rasterio
import xarray as xr
from PIL import Image

from lantian.tiles.colormaps import NODATA_CLASS, get_colormap
from lantian.tiles.raster import (
    TILE_SIZE,
    WEB_MERCATOR,
    grid_from_dataset,
    grid_from_geotiff,
    native_zoom,
    render_tile_cog,
    render_tiles,
)

PM25 = get_colormap("pm25")


def decode(png: bytes) -> npt.NDArray[np.uint8]:
    """Class indices of a tile (nodata → 255)."""
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P" and image.size == (TILE_SIZE, TILE_SIZE)
    pixels = np.asarray(image)
    return np.where(pixels == len(PM25.classes), NODATA_CLASS, pixels).astype(np.uint8)


@pytest.mark.parametrize("res", [0.01, 0.05, 0.1, 0.25, 1.0])
def test_native_zoom_is_the_finest_zoom_not_finer_than_the_data(res: float) -> None:
    z = native_zoom(res)
    cell = res * 2 * math.pi * 6378137 / 360
    pixel = 2 * math.pi * 6378137 / (TILE_SIZE * 2**z)
    assert pixel >= cell > pixel / 2
    if res == 0.01:
        assert z == 7


def test_grid_from_dataset_georeferences_cell_edges(small_grid: xr.Dataset) -> None:
    grid = grid_from_dataset(small_grid)
    assert grid.values.shape == (400, 600) and grid.values.dtype == np.float32
    assert np.allclose(grid.bounds, (100.0, 35.0, 106.0, 39.0))
    assert grid.res == pytest.approx(0.01)
    with pytest.raises(ValueError, match="north → south"):
        grid_from_dataset(small_grid.isel(lat=slice(None, None, -1)))


def test_render_tiles_covers_zooms_and_skips_empty_tiles(small_grid: xr.Dataset) -> None:
    grid = grid_from_dataset(small_grid)
    tiles = list(render_tiles(grid, PM25))
    assert sorted({t.z for t in tiles}) == list(range(8))
    assert next(t for t in tiles if t.z == 0)[1:3] == (0, 0)
    expected = {
        (7, x, y)
        for x, y in (
            (t.x, t.y) for t in WEB_MERCATOR.tiles(100.001, 35.001, 105.999, 38.999, [7])
        )
    }
    assert {(t.z, t.x, t.y) for t in tiles if t.z == 7} == expected
    for tile in tiles:
        assert (decode(tile.data) != NODATA_CLASS).any()
    again = list(render_tiles(grid, PM25))
    assert again == tiles


def test_tile_pixels_are_classified_where_the_data_is(small_grid: xr.Dataset) -> None:
    grid = grid_from_dataset(small_grid)
    tiles = {(t.z, t.x, t.y): t.data for t in render_tiles(grid, PM25, minzoom=7)}
    for lon, lat in [(101.234, 37.891), (104.5, 35.2), (103.0, 36.5)]:
        tile = WEB_MERCATOR.tile(lon, lat, 7)
        bounds = WEB_MERCATOR.xy_bounds(tile)
        x, y = WEB_MERCATOR.xy(lon, lat)
        col = int((x - bounds.left) / (bounds.right - bounds.left) * TILE_SIZE)
        row = int((bounds.top - y) / (bounds.top - bounds.bottom) * TILE_SIZE)
        value = small_grid["pm25"].sel(lon=lon, lat=lat, method="nearest").item()
        assert decode(tiles[(7, tile.x, tile.y)])[row, col] == PM25.classify([value])[0]


def test_png_is_paletted_with_transparent_nodata(small_grid: xr.Dataset) -> None:
    grid = grid_from_dataset(small_grid)
    tile = WEB_MERCATOR.tile(103.0, 36.5, 7)
    data = next(t.data for t in render_tiles(grid, PM25, minzoom=7) if t[1:3] == tile[:2])
    image = Image.open(io.BytesIO(data))
    palette = image.getpalette()
    assert palette is not None and len(palette) == 3 * (len(PM25.classes) + 1)
    assert palette[:3] == list(PM25.classes[0].rgba[:3])
    assert image.info["transparency"] == len(PM25.classes)
    assert (decode(data) == NODATA_CLASS).any()


@pytest.fixture(scope="module")
def cog(small_grid: xr.Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    grid = grid_from_dataset(small_grid)
    path = tmp_path_factory.mktemp("cog") / "pm25_2019Q1.tif"
    profile = {
        "driver": "COG",
        "width": grid.values.shape[1],
        "height": grid.values.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": grid.transform,
        "nodata": float("nan"),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(grid.values, 1)
    return path


def test_grid_from_geotiff_round_trips(cog: Path, small_grid: xr.Dataset) -> None:
    grid = grid_from_geotiff(cog)
    original = grid_from_dataset(small_grid)
    assert np.array_equal(grid.values, original.values, equal_nan=True)
    assert grid.transform.almost_equals(original.transform)


@pytest.mark.parametrize(("z", "min_agreement"), [(7, 0.98), (5, 0.95)])
def test_bulk_tiles_agree_with_rio_tiler(
    cog: Path, small_grid: xr.Dataset, z: int, min_agreement: float
) -> None:
    bulk = {(t.x, t.y): t.data for t in render_tiles(grid_from_dataset(small_grid), PM25,
                                                     minzoom=z, maxzoom=z)}
    for (x, y), data in sorted(bulk.items())[:4]:
        single = render_tile_cog(cog, z, x, y, PM25)
        assert single is not None
        a, b = decode(data), decode(single)
        assert np.mean(a == b) >= min_agreement
    far = morecantile.Tile(0, 0, z)
    assert render_tile_cog(cog, far.z, far.x, far.y, PM25) is None
