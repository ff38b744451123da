from __future__ import annotations

import io
import math
from collections.abc import Iterable
from pathlib import Path

import morecantile
import numpy as np
import numpy.typing as npt
import pytest
import rasterio
import xarray as xr
from affine import Affine
from PIL import Image
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject

from lantian.tiles.colormaps import NODATA_CLASS, get_colormap
from lantian.tiles.raster import (
    TILE_SIZE,
    WEB_MERCATOR,
    Grid,
    Tile,
    grid_from_dataset,
    grid_from_geotiff,
    native_zoom,
    render_tile_cog,
    render_tiles,
    tile_range,
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


def mosaic(tiles: Iterable[Tile], z: int, grid: Grid) -> npt.NDArray[np.uint8]:
    """Class indices of zoom ``z`` over the tiles covering ``grid`` (nodata where no tile)."""
    xmin, ymin, xmax, ymax = tile_range(grid.bounds, z)
    out = np.full(((ymax - ymin + 1) * TILE_SIZE, (xmax - xmin + 1) * TILE_SIZE), NODATA_CLASS,
                  dtype=np.uint8)
    for tile in tiles:
        if tile.z == z:
            r, c = (tile.y - ymin) * TILE_SIZE, (tile.x - xmin) * TILE_SIZE
            out[r : r + TILE_SIZE, c : c + TILE_SIZE] = decode(tile.data)
    return out


def reprojected(grid: Grid, z: int) -> npt.NDArray[np.uint8]:
    """Classes of zoom ``z`` as the renderer made them before: the whole grid reprojected with
    GDAL (average below the native zoom, nearest at it) over the same tiles as :func:`mosaic`."""
    xmin, ymin, xmax, ymax = tile_range(grid.bounds, z)
    ul = WEB_MERCATOR.xy_bounds(morecantile.Tile(xmin, ymin, z))
    pixel = (ul.right - ul.left) / TILE_SIZE
    out = np.full(((ymax - ymin + 1) * TILE_SIZE, (xmax - xmin + 1) * TILE_SIZE), np.nan,
                  dtype=np.float32)
    reproject(grid.values, out, src_transform=grid.transform, src_crs=CRS.from_epsg(4326),
              src_nodata=np.nan, dst_transform=Affine(pixel, 0, ul.left, 0, -pixel, ul.top),
              dst_crs=CRS.from_epsg(3857), dst_nodata=np.nan,
              resampling=Resampling.average if z < native_zoom(grid.res) else Resampling.nearest)
    return PM25.classify(out)


def china_grid(res: float) -> Grid:
    """A smooth field over every class in China's box, NaN outside an ellipse and in a disc."""
    lon = 73 + res / 2 + np.arange(round(62 / res)) * res
    lat = 54 - res / 2 - np.arange(round(36 / res)) * res
    lons, lats = np.meshgrid(lon, lat)
    field = 130 + 120 * np.sin(lons / 1.5) * np.cos(lats / 1.2)
    field[((lons - 104) / 29) ** 2 + ((lats - 36) / 16) ** 2 > 1] = np.nan
    field[(lons - 103) ** 2 + (lats - 36.5) ** 2 < 2**2] = np.nan
    return Grid(field.astype(np.float32), Affine(res, 0, 73, 0, -res, 54))


def test_zooms_agree_with_reprojecting_every_zoom() -> None:
    """Below the native zoom tiles are 2×2 means of the zoom above instead of GDAL averages of
    the grid: at 0.02° (a native pixel spans 1.1 cells, as at 0.01°) ≥ 99 % of the pixels
    holding data in either agree in class at every zoom, none by more than one class; the
    native zoom is the same nearest-cell sampling, pixel for pixel."""
    grid = china_grid(0.02)
    native = native_zoom(grid.res)
    tiles = list(render_tiles(grid, PM25))
    for z in range(native + 1):
        new, old = mosaic(tiles, z, grid), reprojected(grid, z)
        data = (new != NODATA_CLASS) | (old != NODATA_CLASS)
        agree = np.mean(new[data] == old[data])
        if z == native:
            assert agree == 1.0
        assert agree >= 0.99, f"z{z}: {agree:.4f}"
        both = (new != NODATA_CLASS) & (old != NODATA_CLASS)
        assert np.abs(new[both].astype(int) - old[both]).max() <= 1


def test_lower_zooms_average_values_and_skip_missing_cells() -> None:
    """Cells alternate between 10 (class 0) and 100 (class 3) with 30 % missing: at z0–4,
    where a pixel averages ≥ 64 native pixels, pixels are class 2 (the mean, 55), which neither
    nearest sampling nor averaging classes gives; a pixel has data where any above it has."""
    rng = np.random.default_rng(0)
    rows, cols = np.indices((400, 600))
    values = np.where((rows + cols) % 2 == 0, 10, 100).astype(np.float32)
    values[rng.random(values.shape) < 0.3] = np.nan
    grid = Grid(values, Affine(0.01, 0, 100, 0, -0.01, 39))
    tiles = list(render_tiles(grid, PM25))
    for z in range(5):
        classes = mosaic(tiles, z, grid)
        assert np.mean(classes[classes != NODATA_CLASS] == 2) >= 0.99
    for z in range(native_zoom(grid.res)):
        below, above = mosaic(tiles, z, grid), mosaic(tiles, z + 1, grid) != NODATA_CLASS
        xmin, ymin = tile_range(grid.bounds, z)[:2]
        xmin1, ymin1 = tile_range(grid.bounds, z + 1)[:2]
        # place zoom z + 1 on zoom z's pixel grid: pixel (r, c) at z covers 2r..2r+1, 2c..2c+1
        r0, c0 = (ymin1 - 2 * ymin) * TILE_SIZE, (xmin1 - 2 * xmin) * TILE_SIZE
        full = np.zeros((below.shape[0] * 2, below.shape[1] * 2), dtype=bool)
        full[r0 : r0 + above.shape[0], c0 : c0 + above.shape[1]] = above
        any_above = full.reshape(below.shape[0], 2, below.shape[1], 2).any(axis=(1, 3))
        assert np.array_equal(below != NODATA_CLASS, any_above)


def test_two_renders_give_identical_bytes() -> None:
    grid = china_grid(0.05)
    first = list(render_tiles(grid, PM25, maxzoom=native_zoom(grid.res) + 1))
    assert first == list(render_tiles(grid, PM25, maxzoom=native_zoom(grid.res) + 1))
    assert {t.z for t in first} == set(range(native_zoom(grid.res) + 2))


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


@pytest.mark.parametrize(("z", "min_agreement"), [(8, 0.98), (7, 0.98), (5, 0.95)])
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
