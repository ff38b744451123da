"""The whole pipeline on the real bundled demo data, end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lantian.errors import InputError
from lantian.pipeline import BuildOptions, build_release, demo_inputs
from lantian.server.app import create_app
from lantian.settings import Settings
from lantian.tiles.pmtiles_io import validate_archive
from lantian.tiles.release import ReleaseStore, verify_release

if TYPE_CHECKING:
    from conftest import DemoCopy

pytestmark = pytest.mark.slow


def current(data_dir: Path) -> Path:
    return data_dir / "releases" / os.readlink(data_dir / "current").split("/")[-1]


def test_demo_release_holds_every_layer(demo_release: Path) -> None:
    release = current(demo_release)
    manifest = verify_release(release, checksums=True)
    assert manifest.quarters == ["2019Q1", "2019Q2", "2019Q3", "2019Q4"]
    assert not manifest.synthetic
    assert {layer.id for layer in manifest.layers} == {
        "pm25", "pm25-cb", "enterprises", "cited", "boundaries", "stations", "sparse"}
    for entry in manifest.files:
        if entry.path.endswith(".pmtiles"):
            summary = validate_archive(release / entry.path)
            assert summary.addressed_tiles > 0
    pm25 = next(layer for layer in manifest.layers if layer.id == "pm25")
    assert (pm25.minzoom, pm25.maxzoom) == (0, 7)
    assert {s.id for s in manifest.sources} >= {"cnemc", "gem", "wri", "boundaries"}
    assert manifest.title_zh and all(s.attribution_zh for s in manifest.sources)


def test_flagged_stations_are_reported_and_left_out(demo_release: Path) -> None:
    release = current(demo_release)
    stations = pd.read_csv(release / "stations" / "stations.csv", dtype={"code": str})
    flagged = stations.set_index("code")
    assert flagged.loc["3132A", "status"] == "outside_province"
    assert len(stations) == 1605
    summary = json.loads((release / "manifest.json").read_text())["summary"]
    assert summary["stations"]["missing_coordinates"] == 14
    assert 1400 < summary["cross_validation"]["2019Q1"]["n"] <= summary["stations"]["ok"]


def test_regional_q1_figures_follow_the_ministry_method(
    demo_release: Path, china_boundaries
) -> None:
    stats = pd.read_csv(current(demo_release) / "stats" / "region_stats.csv")
    q1 = stats[(stats["period"] == "2019Q1")].set_index(["region_type", "region"])["pm25"]
    # 2+26: the mean of its 28 city means; MEE reported 88 µg/m³ for 2019 Q1.
    assert q1[("2+26", "2+26")] == pytest.approx(88.2, abs=0.3)
    cities = stats[(stats["period"] == "2019Q1") & (stats["region_type"] == "city")]
    members = china_boundaries.cities
    names = {name.removesuffix("市") for name in members.loc[members["region"] == "2+26", "name"]}
    city_means = cities[cities["region"].isin(names)]["pm25"]
    assert len(city_means) == 28
    assert q1[("2+26", "2+26")] == pytest.approx(city_means.mean(), abs=1e-6)


def test_unchanged_rebuild_is_skipped(demo_release: Path) -> None:
    before = current(demo_release)
    mtime = (before / "manifest.json").stat().st_mtime_ns
    result = build_release(demo_inputs(), BuildOptions(), demo_release)
    assert result.skipped and result.path == before
    assert (before / "manifest.json").stat().st_mtime_ns == mtime


def test_bad_input_names_file_row_field_and_keeps_current_release(
    demo_copy: DemoCopy, tmp_path: Path
) -> None:
    inputs = demo_inputs()
    broken = tmp_path / "china_sites_20190101.csv"
    broken.write_text("date,hour,type,1001A\n20190101,0,PM2.5,53\n20190101,1,PM2.5,lots\n")
    bad = type(inputs)(**{**inputs.__dict__, "observations": (broken,)})
    with pytest.raises(InputError) as err:
        build_release(bad, BuildOptions(), demo_copy.data_dir)
    assert (err.value.file, err.value.row, err.value.field) == (str(broken), 2, "1001A")
    demo_copy.assert_kept()
    releases = ReleaseStore(demo_copy.data_dir).list_releases()
    assert [r.id for r in releases] == [demo_copy.current.split("/")[-1]]


def test_server_answers_from_the_demo_release(demo_release: Path) -> None:
    with TestClient(create_app(Settings(data_dir=demo_release))) as client:
        tile = client.get("/tiles/pm25/2019Q1/7/105/48.png")  # Tangshan
        assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
        point = client.get("/api/pm25/point", params={"lon": 116.366, "lat": 39.8673,
                                                      "quarter": "2019Q1"}).json()
        assert 40 < point["pm25"] < 90 and point["uncertainty"] >= 0
        found = client.get("/api/enterprises", params={"q": "荣信"}).json()
        # the steel plant, and a coal-to-methanol works of another 荣信 in Inner Mongolia
        assert {f["id"]: f["properties"]["industry"] for f in found["features"]} == {
            "gem:P100000120145": "steel", "gem:P100000140245": "chemical"}


def test_satellite_grids_replace_interpolation(
    tmp_path: Path, shared_data: Path, build_cache: Path
) -> None:
    """A small synthetic ChinaHighPM2.5-style product (labelled synthetic) becomes the grid."""
    import numpy as np
    import xarray as xr

    lat = np.arange(39.0, 41.0, 0.01) + 0.005
    lon = np.arange(115.0, 118.0, 0.01) + 0.005
    files = []
    for month, level in (("01", 80.0), ("02", 70.0), ("03", 60.0)):
        values = np.full((lat.size, lon.size), level, dtype=np.float32)
        packed = np.round(values * 10).astype(np.int16)
        ds = xr.Dataset({"PM2.5": (("lat", "lon"), packed)}, coords={"lat": lat, "lon": lon})
        ds["PM2.5"].attrs = {"scale_factor": np.float32(0.1), "_FillValue": np.int16(-32768)}
        path = tmp_path / f"SYNTHETIC_CHAP_PM2.5_M1K_2019{month}_V4.nc"
        ds.to_netcdf(path)
        files.append(path)
    demo = demo_inputs()
    inputs = type(demo)(**{
        **demo.__dict__,
        "title": "Synthetic satellite test release",
        "synthetic": True,
        "observations": (shared_data / "pm25" / "raw_hourly_samples" / "china_sites_20190101.csv",),
        "satellite": tuple(files),
    })
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "cache").symlink_to(build_cache)  # the session's boundaries and basemap
    result = build_release(inputs, BuildOptions(), tmp_path / "var")
    manifest = verify_release(result.path)
    assert manifest.synthetic and manifest.quarters == ["2019Q1"]
    assert manifest.summary["method"] == "satellite"
    assert "satellite" in result.timings and "grid" not in result.timings
    with TestClient(create_app(Settings(data_dir=tmp_path / "var"))) as client:
        point = client.get("/api/pm25/point", params={"lon": 116.4, "lat": 39.9,
                                                      "quarter": "2019Q1"}).json()
        assert point["pm25"] == pytest.approx(70.0, abs=0.01)
        # standard error of 80, 70, 60 over 3 months, stored to 0.1 µg/m³
        assert point["uncertainty"] == pytest.approx(round(10 / np.sqrt(3), 1), abs=1e-4)
        outside = client.get("/api/pm25/point", params={"lon": 120.0, "lat": 30.0,
                                                        "quarter": "2019Q1"}).json()
        assert outside["pm25"] is None


def test_digest_follows_inputs_options_and_pipeline_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lantian import pipeline
    from lantian.pipeline import build

    inputs = demo_inputs()
    base = pipeline.inputs_digest(inputs, BuildOptions())
    assert pipeline.inputs_digest(inputs, BuildOptions()) == base
    assert pipeline.inputs_digest(inputs, BuildOptions(method="kriging")) != base
    # where a build runs does not change what it holds
    assert pipeline.inputs_digest(inputs, BuildOptions(workers=4)) == base
    names = {p.name for p in pipeline.code_files()}
    assert {"build.py", "grids.py", "interpolate.py", "stations.py", "raster.py",
            "zh.json"} <= names
    assert "app.py" not in names  # serving code does not change what a release holds
    fake = tmp_path / "pipeline"
    fake.mkdir()
    (fake / "build.py").write_text("changed\n")
    monkeypatch.setattr(build, "PIPELINE_CODE", (tmp_path, ("pipeline",)))
    assert pipeline.inputs_digest(inputs, BuildOptions()) != base
