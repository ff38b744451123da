"""Regular lon/lat grids (EPSG:4326) described by their edges and cell size."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from affine import Affine  # rasterio's own type, without loading GDAL

UNITS = "ug m-3"  # CF units of every PM2.5 grid
_EPS = 1e-9


@dataclass(frozen=True)
class GridSpec:
    """A grid with edges ``west, south, east, north`` (degrees) and square cells of ``res``
    degrees. Cell centres are used as coordinates; rows run north → south."""

    west: float
    south: float
    east: float
    north: float
    res: float

    def __post_init__(self) -> None:
        if self.res <= 0 or self.east <= self.west or self.north <= self.south:
            raise ValueError(f"empty or inverted grid: {self}")

    @property
    def width(self) -> int:
        return round((self.east - self.west) / self.res)

    @property
    def height(self) -> int:
        return round((self.north - self.south) / self.res)

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) = (rows, columns)."""
        return self.height, self.width

    @property
    def transform(self) -> Affine:
        """Affine from (col, row) to (lon, lat) of the cell's upper-left corner."""
        return Affine(self.res, 0.0, self.west, 0.0, -self.res, self.north)

    @property
    def lons(self) -> npt.NDArray[np.float64]:
        """Cell-centre longitudes, west → east."""
        return np.asarray(self.west + (np.arange(self.width) + 0.5) * self.res, np.float64)

    @property
    def lats(self) -> npt.NDArray[np.float64]:
        """Cell-centre latitudes, north → south."""
        return np.asarray(self.north - (np.arange(self.height) + 0.5) * self.res, np.float64)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.west, self.south, self.east, self.north

    def cell_index(self, lon: float, lat: float) -> tuple[int, int]:
        """(row, col) of the cell containing ``lon, lat``; ValueError when outside the grid.
        A point on an edge between cells belongs to the cell east / south of it."""
        col = math.floor((lon - self.west) / self.res + _EPS)
        row = math.floor((self.north - lat) / self.res + _EPS)
        if not (0 <= row < self.height and 0 <= col < self.width):
            raise ValueError(f"({lon}, {lat}) is outside the grid {self.bounds}")
        return row, col

    def subgrid(self, west: float, south: float, east: float, north: float) -> GridSpec:
        """The smallest grid on this lattice covering the bbox, clipped to this grid."""
        col0 = max(0, math.floor((west - self.west) / self.res + _EPS))
        col1 = min(self.width, math.ceil((east - self.west) / self.res - _EPS))
        row0 = max(0, math.floor((self.north - north) / self.res + _EPS))
        row1 = min(self.height, math.ceil((self.north - south) / self.res - _EPS))
        if col1 <= col0 or row1 <= row0:
            raise ValueError(f"bbox {(west, south, east, north)} does not overlap {self.bounds}")
        return GridSpec(
            west=_snap(self.west + col0 * self.res),
            south=_snap(self.north - row1 * self.res),
            east=_snap(self.west + col1 * self.res),
            north=_snap(self.north - row0 * self.res),
            res=self.res,
        )


def _snap(value: float) -> float:
    """Remove floating-point noise from a lattice coordinate."""
    return round(value, 9)


CHINA_GRID = GridSpec(73.0, 18.0, 135.0, 54.0, 0.01)
