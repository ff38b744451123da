"""A folder of monthly files that grows: adding December rebuilds only what December touches,
as the build's report and the manifest say; the real 2019 data on a small grid."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from lantian.layers.grid import CHINA_GRID
from lantian.pipeline import BuildOptions, build_release, demo_inputs, observation_files
from lantian.tiles.release import verify_release

GRID = CHINA_GRID.subgrid(114.0, 37.0, 118.0, 41.0)  # Beijing, Tianjin, central Hebei
DECEMBER = "china_sites_pm25_201912.csv.gz"
# What a new month may rebuild: its file, the daily means, the periods holding it (the month,
# its quarter, its year), what is made of every period (cubes, facts, enterprise and station
# tiles, statistics) and the catalog.
NEW_PERIODS = ("2019-12", "2019Q4", "2019")
PERIOD_BOUND = {("grid", p) for p in NEW_PERIODS} | {
    ("raster_tiles", f"{scale} {p}") for p in NEW_PERIODS for scale in ("pm25", "pm25-cb")} | {
    ("cube", kind) for kind in ("month", "quarter", "year")}
EXPECTED_BUILT = PERIOD_BOUND | {
    ("observations", DECEMBER), ("daily", "12 files"), ("facts", ""), ("enterprise_tiles", ""),
    ("station_tiles", ""), ("sparse_tiles", ""), ("statistics", ""), ("station_tables", ""),
    ("catalog", ""),
}
# Of those, the ones no other build of the session shares (they depend on this test's grid);
# the others may come from the session's cache, which other demo builds fill too.
GRID_BOUND = PERIOD_BOUND | {("facts", ""), ("enterprise_tiles", ""), ("station_tables", ""),
                             ("catalog", "")}


def test_adding_december_rebuilds_only_what_it_touches(tmp_path: Path, build_cache: Path) -> None:
    demo = demo_inputs()
    folder = tmp_path / "pm25"
    folder.mkdir()
    for path in demo.observations:
        if path.name != DECEMBER:
            shutil.copy(path, folder / path.name)
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "cache").symlink_to(build_cache)  # the session's boundaries (and stages)
    options = BuildOptions(grid=GRID)

    first = build_release(replace(demo, observations=observation_files([folder])), options,
                          data_dir)
    assert verify_release(first.path).quarters == ["2019Q1", "2019Q2", "2019Q3"]

    shutil.copy(demo.observations[0].parent / DECEMBER, folder / DECEMBER)
    second = build_release(replace(demo, observations=observation_files([folder])), options,
                           data_dir)
    built = {(r["stage"], r["label"]) for r in second.stages if r["status"] == "built"}
    assert GRID_BOUND <= built <= EXPECTED_BUILT
    reused = {(r["stage"], r["label"]) for r in second.stages if r["status"] == "reused"}
    assert {("observations", p.name) for p in demo.observations if p.name != DECEMBER} <= reused
    assert {("grid", q) for q in ("2019Q1", "2019Q2", "2019Q3")} <= reused
    assert {("grid", f"2019-{m:02d}") for m in range(1, 12)} <= reused
    assert {("enterprises", ""), ("stations", ""), ("basemap", "")} <= reused

    manifest = verify_release(second.path, checksums=True)
    assert manifest.quarters == ["2019Q1", "2019Q2", "2019Q3", "2019Q4"]
    assert manifest.periods == {"month": [f"2019-{m:02d}" for m in range(1, 13)],
                                "quarter": manifest.quarters, "year": ["2019"]}
    assert manifest.summary["stages"] == second.stages
    # reused files are the cache's own, hard-linked into both releases
    q1 = "pm25/pm25_2019Q1.tif"
    assert (first.path / q1).stat().st_ino == (second.path / q1).stat().st_ino
    assert (first.path / q1).stat().st_nlink >= 3

    again = build_release(replace(demo, observations=observation_files([folder])), options,
                          data_dir)
    assert again.skipped and again.release_id == second.release_id
    assert [r["status"] for r in again.stages] == ["reused"]
