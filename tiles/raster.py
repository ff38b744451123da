"""PM2.5 grids → classed, paletted 256-px Web-Mercator PNG tiles (bulk and on demand)."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import morecantile
import numpy as np
import numpy.typing as npt
import rasterio
import xarray as xr
from affine import Affine
from PIL import Image
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from .colormaps import NODATA_CLASS, Colormap

TILE_SIZE = 256
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
WGS84 = CRS.from_epsg(4326)
MERCATOR = CRS.from_epsg(3857)
MAX_LAT = 85.0511287798066
# Metres of Web-Mercator easting per degree of longitude.
_METRES_PER_DEGREE = 2 * math.pi * 6378137.0 / 360


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
    image.save(out, format="PNG", transparency=alpha, compress_level=9)
    return out.getvalue()


def render_tiles(
    grid: Grid,
    colormap: Colormap,
    *,
    minzoom: int = 0,
    maxzoom: int | None = None,
    strip_rows: int = 8,
) -> Iterator[Tile]:
    """Every tile from ``minzoom`` to ``maxzoom`` (default: native zoom) holding data.

    Each zoom is reprojected in strips of ``strip_rows`` tile rows (average resampling below
    the native zoom, nearest at and above it), classified and cut into tiles.
    """
    native = native_zoom(grid.res)
    top = native if maxzoom is None else maxzoom
    for z in range(minzoom, top + 1):
        resampling = Resampling.average if z < native else Resampling.nearest
        xmin, ymin, xmax, ymax = tile_range(grid.bounds, z)
        for row0 in range(ymin, ymax + 1, strip_rows):
            row1 = min(row0 + strip_rows - 1, ymax)
            classes = colormap.classify(_warp_strip(grid, z, xmin, xmax, row0, row1, resampling))
            for ty in range(row0, row1 + 1):
                for tx in range(xmin, xmax + 1):
                    r, c = (ty - row0) * TILE_SIZE, (tx - xmin) * TILE_SIZE
                    block = classes[r : r + TILE_SIZE, c : c + TILE_SIZE]
                    if (block != NODATA_CLASS).any():
                        yield Tile(z, tx, ty, encode_png(block, colormap))


def _warp_strip(
    grid: Grid, z: int, xmin: int, xmax: int, row0: int, row1: int, resampling: Resampling
) -> npt.NDArray[np.float32]:
    ul = WEB_MERCATOR.xy_bounds(morecantile.Tile(xmin, row0, z))
    pixel = (ul.right - ul.left) / TILE_SIZE
    shape = ((row1 - row0 + 1) * TILE_SIZE, (xmax - xmin + 1) * TILE_SIZE)
    out = np.full(shape, np.nan, dtype=np.float32)
    reproject(
        source=grid.values,
        destination=out,
        src_transform=grid.transform,
        src_crs=WGS84,
        src_nodata=np.nan,
        dst_transform=Affine(pixel, 0, ul.left, 0, -pixel, ul.top),
        dst_crs=MERCATOR,
        dst_nodata=np.nan,
        resampling=resampling,
    )
    return out


def render_tile_cog(
    path: Path, z: int, x: int, y: int, colormap: Colormap, *, band: int = 1
) -> bytes | None:
    """One tile rendered on demand with rio-tiler from a COG; None when it holds no data."""
    with Reader(str(path)) as src, warnings.catch_warnings():
        # rio-tiler 9 still multiplies Affine by tuples with `*`; affine 3 flags that.
        warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
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
