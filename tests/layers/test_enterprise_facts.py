"""Per-quarter enterprise facts: timeline, violation counts, output change, PM2.5 nearby."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from shapely.geometry import Point

from lantian.layers.enterprise_facts import (
    FACT_COLUMNS,
    build_timeline,
    pm25_near,
    quarterly_facts,
    tile_properties,
)


def grid(quarter: str, res: float = 0.01) -> xr.Dataset:
    """A small synthetic grid whose PM2.5 equals 100 × longitude offset (east is dirtier)."""
    lons = 114.0 + (np.arange(200) + 0.5) * res
    lats = 38.0 - (np.arange(160) + 0.5) * res
    pm = np.tile(100.0 * (lons - 114.0), (lats.size, 1)).astype(np.float32)
    pm[:20, :20] = np.nan
    return xr.Dataset({"pm25": (("lat", "lon"), pm)}, coords={"lat": lats, "lon": lons},
                      attrs={"quarter": quarter})


def brute_force(lon: float, lat: float, ds: xr.Dataset, radius_km: float) -> float:
    glon, glat = np.meshgrid(ds["lon"].to_numpy(), ds["lat"].to_numpy())
    p1, p2 = np.radians(lat), np.radians(glat)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(
        np.radians(glon - lon) / 2) ** 2
    dist = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    values = ds["pm25"].to_numpy().astype(np.float64)[dist <= radius_km]
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def test_pm25_near_matches_a_brute_force_disk_mean() -> None:
    ds = grid("2019Q1")
    lon = np.array([115.0, 114.05, 114.25, 115.99, 120.0])  # centre, nodata, half nodata, edge, out
    lat = np.array([37.2, 37.95, 37.9, 36.45, 37.0])
    for radius in (5.0, 10.0):
        got = pm25_near(lon, lat, ds, radius, chunk=2)
        want = [brute_force(x, y, ds, radius) for x, y in zip(lon, lat, strict=True)]
        np.testing.assert_allclose(got, want, rtol=1e-9, equal_nan=True)
    assert np.isnan(pm25_near(np.array([120.0]), np.array([37.0]), ds, 10.0)[0])
    # symmetric field around the centre: the disk mean is the centre value
    assert pm25_near(np.array([115.005]), np.array([37.205]), ds, 5.0)[0] == pytest.approx(100.5)


def test_timeline_adds_record_quarters_up_to_a_year_back() -> None:
    grids = ["2019Q1", "2019Q2", "2019Q3", "2019Q4"]
    assert build_timeline(grids, ["2018Q4", "2016Q3"]) == ["2018Q4", *grids]
    assert build_timeline(grids, ["2018Q2"]) == ["2018Q2", "2018Q3", "2018Q4", *grids]
    assert build_timeline(grids, []) == grids
    assert build_timeline(grids, ["2020Q2"]) == [*grids, "2020Q1", "2020Q2"]


@pytest.fixture
def plants() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["gem:A", "gem:B", "rec:c"]},
        geometry=[Point(115.0, 37.2), Point(114.5, 37.5), Point(121.0, 30.0)], crs=4326)


def violations() -> pd.DataFrame:
    rows = [
        ("v1", "gem:A", "2018-10-16", "2018Q4", "open slag hole"),
        ("v2", "gem:A", "2018-12", "2018Q4", "dust not collected"),
        ("v3", "gem:A", "2019-02-01", "2019Q1", "stockpile uncovered"),
        ("v4", "", "2019-01-01", "2019Q1", "ambiguous: never attached"),
        ("v5", "gem:B", "2016-09", "2016Q3", "old exceedance"),
    ]
    return pd.DataFrame(rows, columns=["record_id", "enterprise_id", "date", "quarter", "finding"])


def output() -> pd.DataFrame:
    rows = [
        ("o1", "enterprise", "gem:A", "2018", "year", "2018-01-01", "2018-12-31", "2017", 5.0,
         "up", "change_pct"),
        ("o2", "enterprise", "gem:A", "2018-10", "month", "2018-10-01", "2018-10-31", "2017-10",
         100.0, "up", "change_pct"),
        ("o3", "enterprise", "gem:B", "2019-Q1", "quarter", "2019-01-01", "2019-03-31", "",
         np.nan, "down", "note"),
        ("o4", "province", "", "2019-01/2019-02", "months", "2019-01-01", "2019-02-28",
         "2018-01/2018-02", 17.3, "up", "change_pct"),
    ]
    return pd.DataFrame(rows, columns=[
        "record_id", "level", "enterprise_id", "period", "period_type", "period_start",
        "period_end", "compared_with", "change_pct", "direction", "direction_basis"])


def test_quarterly_facts(plants: gpd.GeoDataFrame) -> None:
    timeline = ["2018Q3", "2018Q4", "2019Q1"]
    facts = quarterly_facts(plants, violations(), output(), [grid("2019Q1")], timeline)
    assert list(facts.columns) == FACT_COLUMNS
    assert len(facts) == 3 * 3
    a = facts[facts["id"] == "gem:A"].set_index("quarter")
    assert a["violations"].tolist() == [0, 2, 1]
    assert a["violations_12m"].tolist() == [0, 2, 3]
    assert a.loc["2018Q4", "latest_finding"] == "dust not collected"  # 2018-12 after 2018-10-16
    assert a.loc["2018Q3", "latest_finding"] == ""
    # the month record beats the year record in 2018Q4; the year record alone covers 2018Q3
    assert a.loc["2018Q4", "output_change_pct"] == 100.0
    assert a.loc["2018Q4", "output_basis"] == "2018-10 vs 2017-10 (change_pct)"
    assert a.loc["2018Q3", "output_change_pct"] == 5.0
    assert a["cited_and_output_up"].tolist() == [False, True, False]
    b = facts[facts["id"] == "gem:B"].set_index("quarter")
    assert b.loc["2019Q1", "output_direction"] == "down"
    assert np.isnan(b.loc["2019Q1", "output_change_pct"])
    assert b["violations_12m"].tolist() == [0, 0, 0]  # 2016 is outside every trailing year
    assert b.loc["2019Q1", "latest_finding_date"] == "2016-09"
    # PM2.5 only where a grid exists; none far from the grid
    assert np.isnan(a.loc["2018Q4", "pm25_5km"])
    assert a.loc["2019Q1", "pm25_5km"] == pytest.approx(100.0, abs=0.6)
    c = facts[facts["id"] == "rec:c"].set_index("quarter")
    assert np.isnan(c.loc["2019Q1", "pm25_10km"])


def test_tile_properties_leave_out_zero_and_unknown(plants: gpd.GeoDataFrame) -> None:
    facts = quarterly_facts(plants, violations(), output(), [], ["2018Q4", "2019Q1"])
    props = tile_properties(facts)
    assert props.loc["gem:A", "v_2018Q4"] == 2
    assert props.loc["gem:A", "v12_2019Q1"] == 3
    assert props.loc["gem:A", "up_2018Q4"] == 1
    assert props.loc["gem:A", "flag_2018Q4"] == 1
    assert props.loc["gem:B", "up_2019Q1"] == -1
    assert np.isnan(props.loc["gem:B", "v_2018Q4"])
    assert np.isnan(props.loc["rec:c"]).all()
    assert "flag_2019Q1" not in props.columns  # nobody flagged then
