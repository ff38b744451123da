"""PM2.5 grids → classed, paletted 256-px Web-Mercator PNG tiles (bulk and on demand)."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import morecantile
import numpy as np
import numpy.typing as npt
import rasterio
import xarray as xr
from affine import Affine
from PIL import Image
from rasterio.crs import CRS
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from .colormaps import NODATA_CLASS, Colormap

TILE_SIZE = 256
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
WGS84 = CRS.from_epsg(4326)
MAX_LAT = 85.0511287798066
# Metres of Web-Mercator easting per degree of longitude.
_METRES_PER_DEGREE = 2 * math.pi * 6378137.0 / 360
# Cells sampled onto tiles: PM2.5 values or their classes.
_Cell = TypeVar("_Cell", np.float32, np.uint8)


class Tile(NamedTuple):
    """One encoded tile."""

    z: int
    x: int
    y: int
    data: bytes


@dataclass(frozen=True)
class Grid:
    """A single-band geographic grid: rows north → south, NaN = no data, EPSG:4326."""

    values: npt.NDArray[np.float32]
    transform: Affine

    @property
    def res(self) -> float:
        return float(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the cell edges."""
        height, width = self.values.shape
        west, north = self.transform @ (0, 0)
        east, south = self.transform @ (width, height)
        return west, south, east, north


def grid_from_dataset(ds: xr.Dataset, var: str = "pm25") -> Grid:
    """The grid of ``ds[var]`` (dims lat, lon; cell centres; lat descending)."""
    lat = ds["lat"].to_numpy()
    lon = ds["lon"].to_numpy()
    if lat.size < 2 or lon.size < 2 or lat[1] >= lat[0]:
        raise ValueError("grid needs ≥ 2 cells per axis and latitudes running north → south")
    res_x = float(lon[1] - lon[0])
    res_y = float(lat[0] - lat[1])
    transform = Affine(res_x, 0, float(lon[0]) - res_x / 2, 0, -res_y, float(lat[0]) + res_y / 2)
    values = ds[var].transpose("lat", "lon").to_numpy().astype(np.float32, copy=False)
    return Grid(values, transform)


def grid_from_geotiff(path: Path, band: int = 1) -> Grid:
    """Band ``band`` of a GeoTIFF in EPSG:4326; nodata becomes NaN."""
    with rasterio.open(path) as src:
        if src.crs != WGS84:
            raise ValueError(f"{path}: expected EPSG:4326, got {src.crs}")
        values = src.read(band, masked=True).astype(np.float32).filled(np.nan)
        return Grid(values, src.transform)


def native_zoom(res_deg: float) -> int:
    """Highest zoom whose pixels are not finer than a ``res_deg`` cell (east–west, in metres
    of Web-Mercator easting, which is independent of latitude)."""
    cell = res_deg * _METRES_PER_DEGREE
    z0_pixel = 2 * math.pi * 6378137.0 / TILE_SIZE
    return max(0, math.floor(math.log2(z0_pixel / cell) + 1e-9))


def tile_range(
    bounds: tuple[float, float, float, float], z: int
) -> tuple[int, int, int, int]:
    """(xmin, ymin, xmax, ymax), inclusive, of the tiles at zoom ``z`` covering ``bounds``."""
    west, south, east, north = bounds
    eps = 1e-9
    ul = WEB_MERCATOR.tile(west + eps, min(north, MAX_LAT) - eps, z)
    lr = WEB_MERCATOR.tile(east - eps, max(south, -MAX_LAT) + eps, z)
    return ul.x, ul.y, lr.x, lr.y


def encode_png(classes: npt.NDArray[np.uint8], colormap: Colormap) -> bytes:
    """A paletted PNG of class indices; nodata (255) is fully transparent."""
    n = len(colormap.classes)
    pixels = np.where(classes == NODATA_CLASS, n, classes).astype(np.uint8)
    image = Image.frombytes("P", (pixels.shape[1], pixels.shape[0]), pixels.tobytes())
    palette = [v for c in colormap.classes for v in c.rgba[:3]] + [0, 0, 0]
    image.putpalette(palette, rawmode="RGB")
    alpha = bytes([c.rgba[3] for c in colormap.classes] + [0])
    out = io.BytesIO()
    # zlib level 6: a quarter of level 9's time for tiles 18 % larger (bench/README.md)
    image.save(out, format="PNG", transparency=alpha, compress_level=6)
    return out.getvalue()


def render_tiles(
    grid: Grid,
    colormap: Colormap,
    *,
    minzoom: int = 0,
    maxzoom: int | None = None,
    strip_rows: int = 8,
) -> Iterator[Tile]:
    """Every tile from ``minzoom`` to ``maxzoom`` (default: native zoom) holding data, zoom by
    zoom from ``maxzoom`` down.

    At and above the native zoom each pixel takes the class of the grid cell under its centre
    (zooms above native in strips of ``strip_rows`` tile rows). Each lower zoom is built from
    the one above by 2×2 sums of values and of counts of native pixels with data, so its pixel
    is the mean of the native pixels with data beneath it (NaN-aware), then classified.
    """
    native = native_zoom(grid.res)
    top = native if maxzoom is None else maxzoom
    above = range(top, max(native, minzoom - 1), -1)
    if above:
        classes = colormap.classify(grid.values)
        for z in above:
            xmin, ymin, xmax, ymax = tile_range(grid.bounds, z)
            for row0 in range(ymin, ymax + 1, strip_rows):
                row1 = min(row0 + strip_rows - 1, ymax)
                strip = _sample(classes, grid.transform, z, (xmin, row0, xmax, row1))
                yield from _tiles(z, xmin * TILE_SIZE, row0 * TILE_SIZE, strip, colormap)
        del classes
    if minzoom > native:
        return
    xmin, ymin, xmax, ymax = tile_range(grid.bounds, native)
    values = _sample(grid.values, grid.transform, native, (xmin, ymin, xmax, ymax))
    if native <= top:
        yield from _tiles(native, xmin * TILE_SIZE, ymin * TILE_SIZE, colormap.classify(values),
                          colormap)
    level = _Level.of(native, xmin * TILE_SIZE, ymin * TILE_SIZE, values)
    for _ in range(native - minzoom):
        level = level.halved()
        if level.z <= top:
            yield from _tiles(level.z, level.px, level.py, colormap.classify(level.means()),
                              colormap)


@dataclass(frozen=True)
class _Level:
    """Pixels of zoom ``z`` from world pixel (px, py): sums of the native pixels with data
    beneath each pixel, and their counts (a pixel with count 0 has no data)."""

    z: int
    px: int
    py: int
    sums: npt.NDArray[np.float32]
    counts: npt.NDArray[np.float32] | npt.NDArray[np.uint8]  # uint8 (0/1) at the native zoom

    @classmethod
    def of(cls, z: int, px: int, py: int, values: npt.NDArray[np.float32]) -> _Level:
        """The native level of ``values``, which become its sums (NaN → 0, in place)."""
        finite = np.isfinite(values)
        values[~finite] = 0
        return cls(z, px, py, values, finite.view(np.uint8))

    def halved(self) -> _Level:
        """Zoom ``z - 1``: each pixel sums the 2×2 pixels above it (padded with empty pixels
        to even world-pixel offsets and sizes)."""
        left, top = self.px % 2, self.py % 2
        counts = _sum2x2(_even(self.counts, top, left)).astype(np.float32, copy=False)
        return _Level(self.z - 1, (self.px - left) // 2, (self.py - top) // 2,
                      _sum2x2(_even(self.sums, top, left)), counts)

    def means(self) -> npt.NDArray[np.float32]:
        """Mean values (NaN where no native pixel has data)."""
        with np.errstate(invalid="ignore"):
            return np.divide(self.sums, self.counts, dtype=np.float32)


def _even(a: npt.NDArray[Any], top: int, left: int) -> npt.NDArray[Any]:
    """``a`` with ``top``/``left`` zero rows/columns before it and as many after it as make
    its sides even (no copy when none are needed)."""
    bottom, right = (top + a.shape[0]) % 2, (left + a.shape[1]) % 2
    if top or left or bottom or right:
        return np.pad(a, ((top, bottom), (left, right)))
    return a


def _sum2x2(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return a[0::2, 0::2] + a[0::2, 1::2] + a[1::2, 0::2] + a[1::2, 1::2]


def _tiles(
    z: int, px: int, py: int, classes: npt.NDArray[np.uint8], colormap: Colormap
) -> Iterator[Tile]:
    """The tiles holding data of ``classes`` placed at world pixel (px, py), row by row."""
    left, top = px % TILE_SIZE, py % TILE_SIZE
    right, bottom = -(left + classes.shape[1]) % TILE_SIZE, -(top + classes.shape[0]) % TILE_SIZE
    padded = classes
    if top or left or bottom or right:
        padded = np.pad(classes, ((top, bottom), (left, right)), constant_values=NODATA_CLASS)
    x0, y0 = px // TILE_SIZE, py // TILE_SIZE
    for r in range(padded.shape[0] // TILE_SIZE):
        for c in range(padded.shape[1] // TILE_SIZE):
            block = padded[r * TILE_SIZE : (r + 1) * TILE_SIZE, c * TILE_SIZE : (c + 1) * TILE_SIZE]
            if (block != NODATA_CLASS).any():
                yield Tile(z, x0 + c, y0 + r, encode_png(block, colormap))


def _sample(
    cells: npt.NDArray[_Cell], transform: Affine, z: int, tiles: tuple[int, int, int, int]
) -> npt.NDArray[_Cell]:
    """The cell of ``cells`` (georeferenced by ``transform``, EPSG:4326) under each pixel
    centre of tiles ``tiles`` = (xmin, ymin, xmax, ymax) at zoom ``z``; outside the cells NaN
    (float) or NODATA_CLASS (classes). Web-Mercator columns map to longitudes and rows to
    latitudes independently, so the lookup needs one index per column and one per row."""
    xmin, ymin, xmax, ymax = tiles
    world = TILE_SIZE * 2**z
    px = (np.arange(xmin * TILE_SIZE, (xmax + 1) * TILE_SIZE) + 0.5) / world
    py = (np.arange(ymin * TILE_SIZE, (ymax + 1) * TILE_SIZE) + 0.5) / world
    lon = px * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * py))))
    cols = np.floor((lon - transform.c) / transform.a).astype(np.int64)
    rows = np.floor((lat - transform.f) / transform.e).astype(np.int64)
    height, width = cells.shape
    in_cols = np.flatnonzero((cols >= 0) & (cols < width))
    in_rows = np.flatnonzero((rows >= 0) & (rows < height))
    fill = np.nan if cells.dtype.kind == "f" else NODATA_CLASS
    out = np.full((py.size, px.size), fill, dtype=cells.dtype)
    if in_rows.size and in_cols.size:
        # both indices are monotonic: gather the columns of the rows in reach, then the rows
        top, bottom = rows[in_rows].min(), rows[in_rows].max() + 1
        picked = np.take(cells[top:bottom], cols[in_cols], axis=1)
        inside = out[in_rows[0] : in_rows[-1] + 1, in_cols[0] : in_cols[-1] + 1]
        np.take(picked, rows[in_rows] - top, axis=0, out=inside, mode="clip")
    return out


def quiet_affine() -> None:
    """rio-tiler 9 still multiplies Affine objects with `*`, which affine 3 flags on every call.
    Ignored for good rather than within ``warnings.catch_warnings``: that saves and restores
    the process's filters, so reads at once in several threads (tiles, embeds, previews) would
    undo each other's (and a test's ``error`` filter would then fail the read)."""
    warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)


def render_tile_cog(
    path: Path, z: int, x: int, y: int, colormap: Colormap, *, band: int = 1
) -> bytes | None:
    """One tile rendered on demand with rio-tiler from a COG; None when it holds no data."""
    quiet_affine()
    with Reader(str(path)) as src:
        native = native_zoom(abs(src.dataset.res[0]))
        method = "average" if z < native else "nearest"
        try:
            image = src.tile(x, y, z, indexes=band, reproject_method=method)
        except TileOutsideBounds:
            return None
    values = image.array[0].astype(np.float32).filled(np.nan)
    classes = colormap.classify(values)
    if (classes == NODATA_CLASS).all():
        return None
    return encode_png(classes, colormap)
