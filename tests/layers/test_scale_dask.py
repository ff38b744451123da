"""The Dask path (layers.scale) against the in-memory interpolation, on a LocalCluster.

All station data here is SYNTHETIC (random values at random points), made up for the tests.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from distributed import Client, LocalCluster
from distributed.diagnostics import MemorySampler

from lantian.layers import scale
from lantian.layers.grid import GridSpec
from lantian.layers.interpolate import Options, interpolate
from lantian.layers.observations import quarterly_means
from lantian.layers.periods import quarter_of
from lantian.layers.writers import write_cog

GRID = GridSpec(110.0, 30.0, 111.2, 30.8, 0.02)  # 40 × 60 cells


def synthetic(
    days: pd.DatetimeIndex, n: int, grid: GridSpec, missing: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC daily station means (date × code) and station coordinates around ``grid``."""
    rng = np.random.default_rng(seed)
    codes = [f"{9000 + i}A" for i in range(n)]
    stations = pd.DataFrame({
        "code": codes,
        "lon": rng.uniform(grid.west - 0.5, grid.east + 0.5, n),
        "lat": rng.uniform(grid.south - 0.5, grid.north + 0.5, n),
        "status": "ok",
    })
    values = rng.gamma(4.0, 15.0, (len(days), n))
    values[rng.random(values.shape) < missing] = np.nan
    return pd.DataFrame(values, index=days.rename("date"), columns=codes), stations


def in_memory_daily(
    daily: pd.DataFrame, stations: pd.DataFrame, grid: GridSpec, options: Options,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """The in-memory path: ``interpolate`` each whole day onto the whole grid."""
    where = stations.set_index("code").loc[daily.columns]
    out = np.full((2, len(daily), *grid.shape), np.nan, np.float32)
    for i, day in enumerate(daily.index):
        ok = daily.iloc[i].notna().to_numpy()
        if ok.sum() < 3:
            continue
        ds = interpolate(where["lon"][ok], where["lat"][ok], daily.iloc[i][ok], grid,
                         quarter_of(day), options, mask=mask).dataset
        out[0, i], out[1, i] = ds["pm25"].to_numpy(), ds["pm25_uncertainty"].to_numpy()
    return out


def quarter_means(days: pd.DatetimeIndex, cube: np.ndarray) -> dict[str, np.ndarray]:
    labels = np.array([quarter_of(d) for d in days])
    result = {}
    for q in sorted(set(labels)):
        with warnings.catch_warnings():  # "Mean of empty slice": all-NaN cells stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            result[q] = np.nanmean(cube[:, labels == q], axis=1)
    return result


def test_dask_equals_in_memory_on_a_local_cluster(tmp_path: Path) -> None:
    days = pd.date_range("2019-03-25", "2019-04-06", freq="D")  # spans Q1 → Q2
    daily, stations = synthetic(days, 20, GRID, missing=0.15, seed=5)
    daily.iloc[3, 2:] = np.nan  # a day with 2 stations: no grid that day
    options = Options(max_distance_km=60.0)  # some cells out of reach of every station
    chunks = scale.Chunks(time=5, lat=20, lon=32)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster):
        cube = scale.run(scale.station_table(daily, stations), GRID, tmp_path / "q.zarr",
                         daily_path=tmp_path / "d.zarr", options=options, chunks=chunks)
        assert cube["pm25"].data.numblocks == (3, 2, 2)  # 12 chunks, not one
        quarterly = xr.open_zarr(tmp_path / "q.zarr", consolidated=False).load()
        stored = xr.open_zarr(tmp_path / "d.zarr", consolidated=False)
        assert stored["pm25"].encoding["chunks"] == (5, 20, 32)
        stored = stored.load()
        nc = scale.write(scale.quarterly_from_daily(cube), tmp_path / "q.nc")

    ref = in_memory_daily(daily, stations, GRID, options)
    assert np.isnan(ref[:, 3]).all() and np.isnan(ref[0]).any() and np.isfinite(ref[0]).any()
    np.testing.assert_allclose(stored["pm25"].to_numpy(), ref[0], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(stored["pm25_uncertainty"].to_numpy(), ref[1], rtol=1e-5,
                               atol=1e-4)
    expected = quarter_means(days, ref)
    assert list(quarterly["quarter"].to_numpy()) == ["2019Q1", "2019Q2"]
    for i, q in enumerate(["2019Q1", "2019Q2"]):
        got = quarterly.isel(time=i)
        np.testing.assert_allclose(got["pm25"].to_numpy(), expected[q][0], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(got["pm25_uncertainty"].to_numpy(), expected[q][1],
                                   rtol=1e-5, atol=1e-4)
        in_q = np.array([quarter_of(d) == q for d in days])
        np.testing.assert_array_equal(got["n_days"].to_numpy(),
                                      np.isfinite(ref[0, in_q]).sum(axis=0))
    xr.testing.assert_allclose(xr.open_dataset(nc).load()[["pm25", "n_days"]],
                               quarterly[["pm25", "n_days"]])


def test_daily_path_agrees_with_the_pipeline_quarterly_path() -> None:
    """With every station reporting every day, IDW is linear in the values, so the quarter's
    mean of daily grids equals the pipeline's grid of quarterly station means."""
    days = pd.date_range("2019-06-20", "2019-07-10", freq="D")
    daily, stations = synthetic(days, 15, GRID, missing=0.0, seed=11)
    with dask.config.set(scheduler="synchronous"):
        cube = scale.daily_grids(scale.station_table(daily, stations), GRID,
                                 chunks=scale.Chunks(time=7, lat=20, lon=32))
        grids = list(scale.quarter_grids(scale.quarterly_from_daily(cube)))
    means = quarterly_means(daily, min_valid_days=1).merge(stations, on="code")
    assert [g.attrs["quarter"] for g in grids] == ["2019Q2", "2019Q3"]
    for grid in grids:
        rows = means[means["period"] == grid.attrs["quarter"]]
        expected = interpolate(rows["lon"], rows["lat"], rows["pm25"], GRID,
                               grid.attrs["quarter"]).dataset
        np.testing.assert_allclose(grid["pm25"].to_numpy(), expected["pm25"].to_numpy(),
                                   rtol=1e-5)


def test_quarter_grids_feed_the_release_writers(tmp_path: Path) -> None:
    days = pd.date_range("2019-01-01", periods=4, freq="D")
    daily, stations = synthetic(days, 8, GRID, missing=0.0, seed=3)
    with dask.config.set(scheduler="synchronous"):
        cube = scale.daily_grids(scale.station_table(daily, stations), GRID)
        quarterly = scale.quarterly_from_daily(cube, min_days=4)
        (grid,) = scale.quarter_grids(quarterly)
        url = scale.write(quarterly, "memory://lantian-scale-test/q.zarr")  # an fsspec URL
        stored = xr.open_zarr(url, consolidated=False).load()
    np.testing.assert_array_equal(stored["pm25"].isel(time=0).to_numpy(), grid["pm25"])
    assert grid.attrs == {"quarter": "2019Q1", "method": "daily-idw", "n_stations": 8,
                          "min_days": 4}
    assert write_cog(grid, tmp_path).name == "pm25_2019Q1.tif"


def test_daily_period_grids_on_a_local_cluster_equal_the_synchronous_run(tmp_path: Path) -> None:
    """``daily_period_grids`` on two worker processes (``scale.cluster``) returns exactly, bit
    for bit, what dask's synchronous in-process scheduler returns: the graph (chunks and the
    reduction tree of the means) is the same, only where tasks run differs. Both equal the
    whole-grid ``interpolate`` of each day, averaged in NumPy, to float32 rounding."""
    days = pd.date_range("2019-03-20", "2019-05-03", freq="D")
    daily, stations = synthetic(days, 20, GRID, missing=0.15, seed=13)
    daily.iloc[2, 3:] = np.nan  # 2019-03-22: 3 stations, 1 of them not ok → no grid that day
    stations.loc[0, "status"] = "flagged"  # not used, as in the build
    lat, lon = np.meshgrid(GRID.lats, GRID.lons, indexing="ij")
    mask = (lon - 110.0) + (lat - 30.0) > 1.1  # the south-west chunk is wholly outside
    options = Options(max_distance_km=np.inf, search_radius_km=np.inf)  # as the build
    periods = ["2019Q1", "2019-04"]  # May is left out

    def build(zarr_dir: Path) -> list[xr.Dataset]:
        return scale.daily_period_grids(daily, stations, GRID, periods, zarr_dir,
                                        options=options, mask=mask,
                                        chunks=scale.Chunks(time=6, lat=20, lon=32))

    with scale.cluster(2, None) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        on_cluster = build(tmp_path / "cluster")
    with dask.config.set(scheduler="synchronous"):
        in_process = build(tmp_path / "in-process")
    assert len(on_cluster) == len(in_process) == 2
    for a, b in zip(on_cluster, in_process, strict=True):
        xr.testing.assert_identical(a, b)

    ok = stations[stations["status"] == "ok"]
    used = daily[ok["code"]]
    stored = xr.open_zarr(tmp_path / "cluster" / "daily.zarr", consolidated=False).load()
    in_periods = days[days < "2019-05-01"]
    np.testing.assert_array_equal(stored["time"].to_numpy(), in_periods.to_numpy())
    ref = in_memory_daily(used.loc[in_periods], ok, GRID, options, mask)
    assert np.isnan(ref[:, 2]).all()
    np.testing.assert_allclose(stored["pm25"].to_numpy(), ref[0], rtol=1e-5, atol=1e-4)
    means = xr.open_zarr(tmp_path / "cluster" / "periods.zarr", consolidated=False).load()
    assert list(means["quarter"].to_numpy()) == periods
    for i, (grid, period) in enumerate(zip(on_cluster, periods, strict=True)):
        start, end = scale.period_bounds(period)
        within = (in_periods >= start) & (in_periods < end)
        assert grid.attrs == {"quarter": period, "method": "daily-idw", "min_days": 1,
                              "n_stations": int(used.loc[start:end - pd.Timedelta(days=1)]
                                                .notna().any().sum())}
        assert list(grid.data_vars) == ["pm25", "pm25_uncertainty"]
        assert grid["pm25"].dtype == np.float32
        np.testing.assert_array_equal(np.isfinite(grid["pm25"].to_numpy()), mask)
        expected = quarter_means(in_periods[within], ref[:, within])[quarter_of(start)]
        np.testing.assert_allclose(grid["pm25"].to_numpy(), expected[0], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(grid["pm25_uncertainty"].to_numpy(), expected[1],
                                   rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(means["n_days"].isel(time=i).to_numpy(),
                                      np.where(mask, np.isfinite(ref[0, within, 30, 59]).sum(),
                                               0))


def _worker_metrics(client: Client) -> dict[str, dict]:
    """Per worker: process memory (bytes) and bytes spilled to disk, from the scheduler."""
    return {address: {"memory": info["metrics"]["memory"],
                      "spilled": info["metrics"].get("spilled_bytes", {}).get("disk", 0)}
            for address, info in client.scheduler_info()["workers"].items()}


@pytest.mark.slow
def test_a_cube_larger_than_worker_memory_streams_to_zarr(tmp_path: Path) -> None:
    """Two worker processes with a 700 MB memory limit each (the limit covers the whole
    process, ~330-470 MB of which is Python with numpy/pandas/xarray/scipy/distributed and the
    numba IDW kernel) build a ~920 MB daily cube (two float32 variables, 365 days × 560 × 560
    cells) and its quarterly means, written to Zarr chunk by chunk.

    With distributed's default thresholds a limit near the runtime's size deadlocks: the
    workers' unmanaged memory sits above the 80 % pause threshold, so both pause and never
    resume (450 MB did, once numba came in). Here spilling by managed size is off (the data
    held is a few MB), workers pause at 90 % and are killed at 98 %. At 600 MB with 19 MB
    chunks a busy machine once pushed a worker past 98 % (627 MB) and it was restarted: the
    chunks are now half as large and the limit has 100 MB more headroom."""
    grid = GridSpec(110.0, 30.0, 115.6, 35.6, 0.01)
    days = pd.date_range("2019-01-01", "2019-12-31", freq="D")
    daily, stations = synthetic(days, 24, grid, missing=0.1, seed=7)
    cube_bytes = 2 * 4 * len(days) * grid.height * grid.width
    limit = 700e6
    assert cube_bytes > 1.3 * limit
    chunks = scale.Chunks(time=31, lat=140, lon=280)  # 2 × 31 × 140 × 280 × 4 B = 9.7 MB
    memory = {"distributed.worker.memory.target": False, "distributed.worker.memory.spill": 0.85,
              "distributed.worker.memory.pause": 0.9, "distributed.worker.memory.terminate": 0.98}

    start = time.perf_counter()
    with dask.config.set(memory), LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, memory_limit=limit,
        dashboard_address=":0",
    ) as cluster, Client(cluster) as client:
        workers = set(client.scheduler_info()["workers"])
        sampler = MemorySampler()
        with sampler.sample("run", interval=0.25):
            cube = scale.run(scale.station_table(daily, stations), grid, tmp_path / "q.zarr",
                             daily_path=tmp_path / "d.zarr",
                             options=Options(k=4, max_distance_km=math.inf,
                                             search_radius_km=math.inf),
                             chunks=chunks)
        peak_cluster = float(sampler.to_pandas().max().iloc[0])
        metrics = _worker_metrics(client)
        per_worker = {address: m["memory"] for address, m in metrics.items()}
        spilled = sum(m["spilled"] for m in metrics.values())
        assert set(client.scheduler_info()["workers"]) == workers  # none died or restarted
    elapsed = time.perf_counter() - start

    after = sorted(v // 10**6 for v in per_worker.values())
    print(f"cube {cube_bytes / 1e6:.0f} MB, worker limit {limit / 1e6:.0f} MB, peak cluster "
          f"{peak_cluster / 1e6:.0f} MB, workers after {after} MB, spilled "
          f"{spilled / 1e6:.1f} MB, {elapsed:.0f} s")
    assert cube["pm25"].data.npartitions == 12 * 4 * 2
    assert max(per_worker.values()) < limit
    assert peak_cluster < 2 * limit  # the workers together: sampled every 0.25 s
    stored = xr.open_zarr(tmp_path / "d.zarr", consolidated=False)
    assert stored["pm25"].shape == (365, 560, 560)
    assert np.isfinite(stored["pm25"].isel(time=200).to_numpy()).all()
    quarterly = xr.open_zarr(tmp_path / "q.zarr", consolidated=False)
    assert list(quarterly["quarter"].to_numpy()) == ["2019Q1", "2019Q2", "2019Q3", "2019Q4"]
    assert np.isfinite(quarterly["pm25"].to_numpy()).all()


def test_cli_daily_grids(tmp_path: Path) -> None:
    """``lantian daily-grids`` from SYNTHETIC hourly files and a station table."""
    from typer.testing import CliRunner

    from lantian.cli import app

    days = pd.date_range("2019-03-30", periods=3, freq="D")
    daily, stations = synthetic(days, 6, GRID, missing=0.0, seed=2)
    hours = pd.date_range(days[0], periods=24 * len(days), freq="h")
    hourly = pd.DataFrame({"date": hours.strftime("%Y%m%d"), "hour": hours.hour,
                           "type": "PM2.5"})
    for code in daily.columns:
        hourly[code] = np.repeat(daily[code].to_numpy().round(), 24)
    hourly.to_csv(tmp_path / "hourly.csv", index=False)
    stations.to_csv(tmp_path / "stations.csv", index=False)
    result = CliRunner().invoke(app, [
        "daily-grids", "--observations", str(tmp_path / "hourly.csv"),
        "--stations", str(tmp_path / "stations.csv"), "--out", str(tmp_path / "q.zarr"),
        "--bbox", "110,30,111.2,30.8", "--res", "0.02", "--chunks", "2,20,20",
    ])
    assert result.exit_code == 0, result.output
    quarterly = xr.open_zarr(tmp_path / "q.zarr", consolidated=False)
    assert list(quarterly["quarter"].to_numpy()) == ["2019Q1", "2019Q2"]
    assert quarterly["n_days"].isel(time=0).to_numpy().min() == 2
