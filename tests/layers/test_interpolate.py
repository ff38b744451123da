from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from lantian.layers.grid import CHINA_GRID, GridSpec
from lantian.layers.interpolate import Method, Options, interpolate, to_xyz

SMALL = GridSpec(115.0, 38.0, 117.0, 40.0, 0.1)
LON = np.array([115.25, 116.05, 116.75, 115.55, 116.45])
LAT = np.array([38.25, 38.55, 39.05, 39.65, 39.85])
VAL = np.array([40.0, 55.0, 70.0, 60.0, 80.0])


@pytest.mark.parametrize("method", ["idw", "kriging"])
def test_contract_and_exact_at_stations(method: Method) -> None:
    options = Options(method=method, variogram_model="exponential", max_lag_km=200)
    result = interpolate(LON, LAT, VAL, SMALL, "2019Q1", options)
    ds = result.dataset
    assert ds["pm25"].dims == ("lat", "lon") and ds["pm25"].dtype == np.float32
    assert ds["pm25_uncertainty"].dtype == np.float32
    assert ds.attrs["quarter"] == "2019Q1" and ds.attrs["method"] == method
    assert ds.attrs["n_stations"] == 5 and ds.attrs["cv_rmse"] == result.cv.rmse
    assert result.cv.n == 5 and result.cv.rmse >= abs(result.cv.bias)
    for lon, lat, value in zip(LON, LAT, VAL, strict=True):  # stations sit on cell centres
        cell = ds.sel(lon=lon, lat=lat, method="nearest")
        assert float(cell["pm25"]) == pytest.approx(value, abs=1e-3)
    assert np.isfinite(ds["pm25"].to_numpy()).all()


def test_idw_stays_within_station_range() -> None:
    values = interpolate(LON, LAT, VAL, SMALL, "2019Q1").dataset["pm25"].to_numpy()
    assert VAL.min() - 1e-3 <= values.min() and values.max() <= VAL.max() + 1e-3


def test_idw_uncertainty_is_weighted_spread() -> None:
    ds = interpolate(LON[:3], LAT[:3], [10.0, 10.0, 10.0], SMALL, "2019Q1").dataset
    assert np.nanmax(ds["pm25_uncertainty"].to_numpy()) == pytest.approx(0.0, abs=1e-4)
    ds = interpolate(LON, LAT, VAL, SMALL, "2019Q1").dataset
    assert float(ds["pm25_uncertainty"].max()) > 5.0


def test_kriging_variance_grows_away_from_stations() -> None:
    ds = interpolate(LON, LAT, VAL, SMALL, "2019Q1", Options(method="kriging")).dataset
    at_station = float(ds["pm25_uncertainty"].sel(lon=116.75, lat=39.05, method="nearest"))
    far = float(ds["pm25_uncertainty"].sel(lon=116.95, lat=38.05, method="nearest"))
    assert at_station < far


def test_far_cells_are_nan_and_validation() -> None:
    ds = interpolate(LON, LAT, VAL, SMALL, "2019Q1", Options(max_distance_km=20)).dataset
    corner = float(ds["pm25"].sel(lon=115.0, lat=40.0, method="nearest"))
    assert np.isnan(corner) and np.isnan(float(ds["pm25_uncertainty"].sel(lon=115.0, lat=40.0,
                                                                           method="nearest")))
    with pytest.raises(ValueError, match="at least 3"):
        interpolate(LON[:2], LAT[:2], VAL[:2], SMALL, "2019Q1")
    with pytest.raises(ValueError, match="at least 3"):  # NaN/Inf dropped, duplicates merged
        interpolate([115.2, 115.2, 116.0, 116.5], [38.2, 38.2, 39.0, 39.5],
                    [1.0, 3.0, np.nan, np.inf], SMALL, "2019Q1")
    result = interpolate([*LON, 115.25], [*LAT, 38.25], [*VAL, 50.0], SMALL, "2019Q1")
    assert result.n_merged == 1 and result.n_stations == 5
    cell = result.dataset.sel(lon=115.25, lat=38.25, method="nearest")
    assert float(cell["pm25"]) == pytest.approx(45.0)
    with pytest.raises(ValueError, match="not a period"):
        interpolate(LON, LAT, VAL, SMALL, "2019-1")
    assert interpolate(LON, LAT, VAL, SMALL, "2019-01").dataset.attrs["quarter"] == "2019-01"


@pytest.mark.parametrize("method", ["idw", "kriging"])
def test_real_q1_north_china(q1_station_means: pd.DataFrame, method: Method) -> None:
    grid = CHINA_GRID.subgrid(113.0, 36.0, 118.0, 41.0)
    m = q1_station_means
    result = interpolate(m["lon"], m["lat"], m["pm25"], grid, "2019Q1", Options(method=method))
    assert result.n_stations > 1400 and result.cv.n > 1400
    assert 4.0 < result.cv.rmse < 12.0 and abs(result.cv.bias) < 2.0
    beijing = m[m["code"] == "1001A"].iloc[0]
    row, col = grid.cell_index(beijing["lon"], beijing["lat"])
    value = float(result.dataset["pm25"][row, col])
    assert value == pytest.approx(beijing["pm25"], abs=8.0)
    assert np.isfinite(result.dataset["pm25"].to_numpy()).all()  # dense network here


def test_uncapped_idw_covers_every_masked_cell() -> None:
    far = GridSpec(100.0, 30.0, 120.0, 42.0, 0.1)  # cells up to ~1,500 km from the stations
    uncapped = Options(max_distance_km=np.inf, search_radius_km=np.inf)
    full = interpolate(LON, LAT, VAL, far, "2019Q1", uncapped).dataset
    assert np.isfinite(full["pm25"].to_numpy()).all()
    assert np.isnan(interpolate(LON, LAT, VAL, far, "2019Q1").dataset["pm25"]).any()
    mask = np.zeros(far.shape, bool)
    mask[:60, :150] = True
    before = mask.copy()
    masked = interpolate(LON, LAT, VAL, far, "2019Q1", uncapped, mask=mask)
    for var in ("pm25", "pm25_uncertainty"):
        values = masked.dataset[var].to_numpy()
        assert np.isnan(values[~mask]).all()
        assert np.array_equal(values[mask], full[var].to_numpy()[mask])
    assert np.array_equal(mask, before)  # the caller's mask is not changed
    assert masked.cv == interpolate(LON, LAT, VAL, far, "2019Q1", uncapped).cv
    capped = interpolate(LON, LAT, VAL, far, "2019Q1", Options(max_distance_km=100), mask=mask)
    assert np.isnan(capped.dataset["pm25"].to_numpy()[mask]).any()  # both limits apply
    with pytest.raises(ValueError, match="mask shape"):
        interpolate(LON, LAT, VAL, far, "2019Q1", mask=mask[1:])


def _per_cell_idw(points: np.ndarray, vals: np.ndarray, targets: np.ndarray, options: Options,
                  leave_out_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The reference: IDW from one KD-tree query per target (the method before blocks)."""
    tree = cKDTree(points)
    k = min(options.k, tree.n - leave_out_self)
    dist, idx = tree.query(targets, k=k + leave_out_self,
                           distance_upper_bound=options.search_radius_km)
    dist, idx = dist.reshape(len(targets), -1)[:, leave_out_self:], idx.reshape(len(targets), -1)
    idx = idx[:, leave_out_self:]
    found = np.isfinite(dist)
    v = np.where(found, vals[np.minimum(idx, tree.n - 1)], 0.0)
    w = np.where(found, 1.0 / np.maximum(dist, 1e-9) ** options.power, 0.0)
    with np.errstate(invalid="ignore"):
        est = (w * v).sum(axis=1) / w.sum(axis=1)
        spread = np.sqrt((w * (v - est[:, None]) ** 2).sum(axis=1) / w.sum(axis=1))
    nearest = tree.query(targets, k=1 + leave_out_self)[0].reshape(len(targets), -1)[:, -1]
    far = nearest >= options.max_distance_km
    return np.where(far, np.nan, est), np.where(far, np.nan, spread)


IDW_CASES = {
    "pipeline (uncapped)": Options(max_distance_km=np.inf, search_radius_km=np.inf),
    "150 km caps": Options(),
    "k=3, power 1.5, search < max": Options(k=3, power=1.5, search_radius_km=60,
                                            max_distance_km=80),
}


@pytest.mark.parametrize("case", IDW_CASES)
@pytest.mark.parametrize("grid", [GridSpec(73.0, 18.0, 135.0, 54.0, 0.1),
                                  CHINA_GRID.subgrid(113.0, 36.0, 118.0, 41.0)],
                         ids=["China 0.1°", "North China 0.01°"])
def test_block_idw_equals_per_cell_queries(q1_station_means: pd.DataFrame, case: str,
                                           grid: GridSpec) -> None:
    """The block-wise grid matches a KD-tree query per cell to 0.001 µg/m³ (values and
    uncertainty band; the same neighbours and arithmetic, float32 storage), with the same NaN
    cells, under an irregular mask; the leave-one-out RMSE is within 0.1 µg/m³."""
    options = IDW_CASES[case]
    m = q1_station_means
    rng = np.random.default_rng(7)
    lons, lats = np.meshgrid(grid.lons, grid.lats)
    mask = (((lons - 110) / 30) ** 2 + ((lats - 36) / 14) ** 2 < 1) & (rng.random(grid.shape) < 0.9)
    result = interpolate(m["lon"], m["lat"], m["pm25"], grid, "2019Q1", options, mask=mask)
    merged = m.round({"lon": 6, "lat": 6}).groupby(["lon", "lat"], as_index=False)["pm25"].mean()
    points, vals = to_xyz(merged["lon"], merged["lat"]), merged["pm25"].to_numpy()
    est, spread = _per_cell_idw(points, vals, to_xyz(lons[mask], lats[mask]), options)
    for name, reference in (("pm25", est), ("pm25_uncertainty", spread)):
        values = result.dataset[name].to_numpy()
        assert np.isnan(values[~mask]).all()
        assert np.array_equal(np.isnan(values[mask]), np.isnan(reference))
        assert np.nanmax(np.abs(values[mask] - reference)) <= 1e-3
    assert np.isfinite(est).mean() > 0.2  # not a comparison of NaNs
    pred, _ = _per_cell_idw(points, vals, points, options, leave_out_self=True)
    ok = np.isfinite(pred)
    assert result.cv.n == ok.sum()
    assert result.cv.rmse == pytest.approx(np.sqrt(np.mean((pred[ok] - vals[ok]) ** 2)), abs=0.1)


def test_idw_with_nothing_to_compute() -> None:
    mask = np.zeros(SMALL.shape, bool)
    result = interpolate(LON, LAT, VAL, SMALL, "2019Q1", mask=mask)
    assert np.isnan(result.dataset["pm25"].to_numpy()).all() and result.cv.n == 5
