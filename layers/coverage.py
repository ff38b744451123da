"""Where the PM2.5 surface is drawn, and where it is only a guess.

* ``country_mask`` / ``clip_to_country``: a cell belongs to the country when its centre lies
  inside the country's polygon (GDAL's rasteriser: about 0.5 s for the mask of the 6200 × 3600
  national grid and China's 150,000-vertex outline, under 1 s for a clipped quarter).
* ``sparse_areas``: per quarter, the part of the country farther than ``radius_km`` from every
  station used that quarter. The stations' circles are geodesic (``pyproj.Geod`` on WGS-84, so
  no projection distorts them anywhere in the country), united and subtracted from the country,
  then simplified to ``tolerance`` degrees (0.01° ≈ 1 km).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
import xarray as xr
from affine import Affine
from pyproj import Geod
from rasterio.features import geometry_mask
from shapely.geometry.base import BaseGeometry

from lantian.layers.grid import GridSpec

BoolArray = npt.NDArray[np.bool_]
SPARSE_RADIUS_KM = 150.0
CIRCLE_VERTICES = 64  # a 150 km circle's edges then stray < 0.2 km from the true circle
_WGS84 = Geod(ellps="WGS84")


def country_mask(grid: GridSpec, country: BaseGeometry) -> BoolArray:
    """``grid.shape`` booleans, rows north → south: True where the cell centre is inside."""
    return _mask(grid.transform, grid.shape, country)


def clip_to_country(ds: xr.Dataset, country: BaseGeometry) -> xr.Dataset:
    """``ds`` with every ``(lat, lon)`` data variable NaN where the cell centre lies outside
    ``country`` (WGS-84). Coordinates are regular cell centres, latitudes north → south."""
    lat, lon = ds["lat"].to_numpy(), ds["lon"].to_numpy()
    if lat.size < 2 or lon.size < 2 or lat[1] >= lat[0] or lon[1] <= lon[0]:
        raise ValueError("grid needs ≥ 2 cells per axis, lon west → east and lat north → south")
    dx, dy = float(lon[1] - lon[0]), float(lat[0] - lat[1])
    transform = Affine(dx, 0.0, float(lon[0]) - dx / 2, 0.0, -dy, float(lat[0]) + dy / 2)
    inside = xr.DataArray(_mask(transform, (lat.size, lon.size), country),
                          coords={"lat": ds["lat"], "lon": ds["lon"]}, dims=("lat", "lon"))
    gridded = {name: var.where(inside) for name, var in ds.data_vars.items()
               if {"lat", "lon"} <= set(var.dims)}
    return ds.assign(gridded)


def _mask(transform: Affine, shape: tuple[int, int], country: BaseGeometry) -> BoolArray:
    if country.is_empty:
        return np.zeros(shape, bool)
    inside: BoolArray = geometry_mask([country], out_shape=shape, transform=transform,
                                      invert=True)
    return inside


def sparse_areas(
    points: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
    country: BaseGeometry,
    radius_km: float = SPARSE_RADIUS_KM,
    *,
    tolerance: float = 0.01,
) -> gpd.GeoDataFrame:
    """One row per quarter of ``points`` (quarter → station lons, lats; non-finite ones are
    ignored): ``quarter`` and ``geometry``, the part of ``country`` farther than ``radius_km``
    from every station (empty when there is none), EPSG:4326."""
    land = shapely.simplify(country, tolerance)
    rows = []
    for quarter, (lon, lat) in points.items():
        circles = station_circles(lon, lat, radius_km)
        far = shapely.difference(land, shapely.union_all(circles)) if len(circles) else land
        rows.append((quarter, shapely.simplify(far, tolerance)))
    return gpd.GeoDataFrame({"quarter": [q for q, _ in rows]},
                            geometry=[g for _, g in rows], crs="EPSG:4326")


def station_circles(
    lon: npt.ArrayLike, lat: npt.ArrayLike, radius_km: float
) -> npt.NDArray[np.object_]:
    """A geodesic circle of ``radius_km`` (WGS-84) around each finite lon/lat, as polygons."""
    x, y = np.asarray(lon, float).ravel(), np.asarray(lat, float).ravel()
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    azimuths = np.linspace(0.0, 360.0, CIRCLE_VERTICES, endpoint=False)
    shape = (len(x), CIRCLE_VERTICES)
    ring_x, ring_y, _ = _WGS84.fwd(
        np.broadcast_to(x[:, None], shape).ravel(), np.broadcast_to(y[:, None], shape).ravel(),
        np.broadcast_to(azimuths, shape).ravel(), np.full(x.size * CIRCLE_VERTICES,
                                                          radius_km * 1000.0),
    )
    rings = np.stack([np.reshape(ring_x, shape), np.reshape(ring_y, shape)], axis=-1)
    return np.asarray(shapely.polygons(rings), dtype=object)
