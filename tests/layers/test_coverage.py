from __future__ import annotations

import numpy as np
import pytest
import shapely
import xarray as xr
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon, box

from lantian.layers.coverage import clip_to_country, country_mask, sparse_areas, station_circles
from lantian.layers.grid import GridSpec

GRID = GridSpec(120.0, 28.0, 124.0, 32.0, 0.1)
# land west of 122 °E, sea east of it with one island around (123.5, 30.5)
COUNTRY = MultiPolygon([box(120.0, 28.0, 122.0, 32.0), box(123.3, 30.3, 123.7, 30.7)])
GEOD = Geod(ellps="WGS84")


def grid_dataset(grid: GridSpec) -> xr.Dataset:
    lons, lats = np.meshgrid(grid.lons, grid.lats)
    pm25 = (lons + lats).astype(np.float32)
    return xr.Dataset(
        {
            "pm25": (("lat", "lon"), pm25, {"units": "ug m-3"}),
            "pm25_uncertainty": (("lat", "lon"), pm25 / 10),
            "station_value": (("station",), np.array([1.0, 2.0])),
        },
        coords={"lat": grid.lats, "lon": grid.lons},
        attrs={"quarter": "2019Q1", "cv_rmse": 7.5},
    )


def at(ds: xr.Dataset, var: str, lon: float, lat: float) -> float:
    return float(ds[var].sel(lon=lon, lat=lat, method="nearest"))


def test_clip_to_country_blanks_the_sea_and_keeps_the_land() -> None:
    ds = grid_dataset(GRID)
    clipped = clip_to_country(ds, COUNTRY)
    for var in ("pm25", "pm25_uncertainty"):
        assert np.isnan(at(clipped, var, 123.0, 30.0))  # sea
        assert at(clipped, var, 121.0, 30.0) == at(ds, var, 121.0, 30.0)  # land
        assert at(clipped, var, 123.5, 30.5) == at(ds, var, 123.5, 30.5)  # island
        assert clipped[var].dtype == np.float32
    # cells belong to the country by their centre: 121.95 is inside, 122.05 is not
    assert at(clipped, "pm25", 121.95, 30.05) == pytest.approx(152.0)
    assert np.isnan(at(clipped, "pm25", 122.05, 30.05))
    assert clipped.attrs == ds.attrs and clipped["pm25"].attrs == {"units": "ug m-3"}
    assert clipped["station_value"].equals(ds["station_value"])  # not a grid variable
    kept = np.isfinite(clipped["pm25"].to_numpy())
    assert kept.sum() == 20 * 40 + 4 * 4  # land columns and the island's cells
    assert np.isfinite(ds["pm25"].to_numpy()).all()  # the input is not changed


def test_country_mask_is_cell_centres_inside() -> None:
    triangle = Polygon([(120.13, 28.21), (123.87, 29.02), (121.4, 31.93)])
    lons, lats = np.meshgrid(GRID.lons, GRID.lats)
    expected = shapely.contains_xy(triangle, lons, lats)
    mask = country_mask(GRID, triangle)
    assert mask.shape == GRID.shape and mask.sum() > 300
    assert (mask == expected).all()
    assert not country_mask(GRID, Polygon()).any()


def test_clip_to_country_needs_north_to_south_rows() -> None:
    ds = grid_dataset(GRID).sortby("lat")
    with pytest.raises(ValueError, match="north → south"):
        clip_to_country(ds, COUNTRY)


def offset(lon: float, lat: float, azimuth: float, km: float) -> Point:
    x, y, _ = GEOD.fwd(lon, lat, azimuth, km * 1000)
    return Point(x, y)


def test_sparse_areas_are_farther_than_the_radius_from_every_station() -> None:
    country = box(95.0, 30.0, 105.0, 40.0)
    areas = sparse_areas(
        {
            "2019Q1": (np.array([100.0, np.nan]), np.array([35.0, 36.0])),  # NaN: ignored
            "2019Q2": (np.array([100.0, 102.0]), np.array([35.0, 35.0])),
        },
        country,
        radius_km=150.0,
    )
    assert list(areas["quarter"]) == ["2019Q1", "2019Q2"] and areas.crs.to_epsg() == 4326
    q1, q2 = areas.geometry
    assert q1.contains(offset(100, 35, 90, 200)) and q1.contains(offset(100, 35, 0, 200))
    assert not q1.contains(offset(100, 35, 90, 50)) and not q1.contains(Point(100, 35))
    assert q1.contains(offset(100, 35, 30, 154)) and not q1.contains(offset(100, 35, 30, 146))
    # a second station covers the point 200 km east of the first
    assert not q2.contains(offset(100, 35, 90, 200)) and q2.contains(offset(100, 35, 270, 200))
    assert q1.within(country.buffer(1e-9)) and q2.area < q1.area


def test_sparse_areas_when_stations_cover_the_country() -> None:
    small = box(99.5, 34.5, 100.5, 35.5)
    areas = sparse_areas({"2019Q1": ([100.0], [35.0])}, small)
    assert areas.geometry.iloc[0].is_empty
    nobody = sparse_areas({"2019Q1": ([], [])}, small)
    assert nobody.geometry.iloc[0].equals(small)


def test_station_circles_are_geodesic() -> None:
    (circle,) = station_circles([100.0], [45.0], 150.0)
    x, y = np.asarray(circle.exterior.coords).T
    _, _, dist = GEOD.inv(np.full(x.size, 100.0), np.full(y.size, 45.0), x, y)
    assert np.allclose(dist, 150_000.0)
    assert circle.contains(offset(100, 45, 45, 149)) and not circle.contains(
        offset(100, 45, 45, 151))
