"""`lantian build --method daily-idw`: every day interpolated on a local Dask cluster inside
the build gives the same grid as the same computation in process (dask's synchronous
scheduler). Inputs are the small SYNTHETIC release of tests/small_inputs.py."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import dask
import lantian_small_inputs as small  # registered by tests/conftest.py
import numpy as np
import pandas as pd
import pytest
import rasterio

from lantian.geo.boundaries import load_boundaries
from lantian.layers import scale
from lantian.layers.coverage import country_mask
from lantian.layers.interpolate import Options
from lantian.layers.observations import daily_means, read_hourly
from lantian.layers.writers import DECIMALS
from lantian.pipeline import BuildOptions
from lantian.tiles.release import verify_release


def test_daily_idw_build_on_a_local_cluster_equals_the_in_process_run(tmp_path: Path) -> None:
    inputs = small.write_inputs(tmp_path / "in")
    result = small.build(inputs, tmp_path / "var", BuildOptions(method="daily-idw", workers=2))
    manifest = verify_release(result.path, checksums=True)
    assert manifest.summary["method"] == "daily-idw" and manifest.quarters == ["2019Q1"]
    assert [(r["label"], r["status"]) for r in result.stages if r["stage"] == "grid"] == [
        (f"{p} daily-idw", "built") for p in ("2019-01", "2019-02", "2019-03", "2019Q1")]
    assert manifest.periods["month"] == ["2019-01", "2019-02", "2019-03"]
    assert not list((tmp_path / "var" / "cache" / "stages").glob(".tmp-zarr-*"))

    stations = pd.read_csv(result.path / "stations" / "stations.csv", dtype={"code": str})
    daily = daily_means(read_hourly(inputs.observations))
    country = load_boundaries(inputs.boundaries, tmp_path / "b").country.union_all()
    with dask.config.set(scheduler="synchronous"):
        (expected,) = scale.daily_period_grids(
            daily, stations, small.SMALL_GRID, ["2019Q1"], tmp_path / "zarr",
            options=Options(max_distance_km=math.inf, search_radius_km=math.inf),
            mask=country_mask(small.SMALL_GRID, country))
    with rasterio.open(result.path / "pm25" / "pm25_2019Q1.tif") as src:
        built = src.read()
    for band, name in enumerate(("pm25", "pm25_uncertainty")):
        want = np.round(expected[name].to_numpy(), DECIMALS)
        assert np.isfinite(want).sum() > 1000
        np.testing.assert_array_equal(built[band], want)


def test_workers_and_a_scheduler_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        replace(BuildOptions(), workers=2, scheduler="tcp://127.0.0.1:8786")
