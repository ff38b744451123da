"""Synthetic PM2.5 grids for the tiles tests."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr


def synthetic_grid(west: float, south: float, east: float, north: float) -> xr.Dataset:
    """A smooth 0.01° field spanning every class, with a NaN disc around (103 °E, 36.5 °N)."""
    res = 0.01
    lon = np.round(np.arange(west + res / 2, east, res), 6)
    lat = np.round(np.arange(north - res / 2, south, -res), 6)
    lons, lats = np.meshgrid(lon, lat)
    field = 130 + 120 * np.sin(lons / 1.5) * np.cos(lats / 1.2)
    field[(lons - 103) ** 2 + (lats - 36.5) ** 2 < 0.5**2] = np.nan
    pm25 = field.astype(np.float32)
    return xr.Dataset(
        {
            "pm25": (("lat", "lon"), pm25),
            "pm25_uncertainty": (("lat", "lon"), (pm25 * 0.1).astype(np.float32)),
        },
        coords={"lat": lat, "lon": lon},
        attrs={"quarter": "2019Q1"},
    )


@pytest.fixture(scope="session")
def small_grid() -> xr.Dataset:
    return synthetic_grid(100.0, 35.0, 106.0, 39.0)
