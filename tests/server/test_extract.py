"""'Download what I see': filtered extracts with their citation and licences."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile
from rasterio.windows import Window

from lantian.i18n import translate
from lantian.server.app import create_app
from lantian.server.exports.citation import citation, licence_notes
from lantian.server.exports.extract import pm25_clip, write_cog
from lantian.server.releases.release import open_release
from lantian.settings import Settings

from .conftest import builder

SYNTHETIC_NOTE = translate("en", "citation.synthetic")

FACT_COLUMNS = (
    "violations", "violations_12m", "latest_finding_date", "latest_finding",
    "output_change_pct", "output_direction", "output_basis", "pm25_5km", "pm25_10km",
    "cited_and_output_up",
)  # fmt: skip
COMPARED = ("id", "name", "name_zh", "industry", "capacity", "province", "city", "data_source")
FILTERS: list[dict[str, Any]] = [
    {},
    {"quarter": "2019Q1"},
    {"quarter": "2018Q4", "has_violations": "true"},
    {"industry": "steel", "bbox": "115,34,121,41", "quarter": "2019Q2"},
    {"province": "河北省", "output_up": "false", "quarter": "2018Q4"},
    {"q": "rizhao"},
    {"bbox": "100,0,101,1", "quarter": "2019Q1"},  # no enterprise: an empty but valid file
]
READERS = ("parquet", "gpkg", "csv", "geojson")


# ------------------------------------------------------------------ helpers


def api_features(client: TestClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every feature /api/enterprises returns for ``params``, all pages."""
    features: list[dict[str, Any]] = []
    while True:
        doc = client.get("/api/enterprises", params={**params, "offset": len(features)}).json()
        features += doc["features"]
        if len(features) >= doc["total"]:
            return features


def norm(value: Any) -> Any:
    """One representation per value across readers: None, bool, float or str."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return None if math.isnan(value) else round(float(value), 6)
    if value in ("True", "False"):
        return value == "True"
    return str(value)


def expected_rows(client: TestClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for feature in api_features(client, params):
        props = feature["properties"]
        row = {name: norm(props.get(name)) for name in COMPARED}
        lon, lat = feature["geometry"]["coordinates"]
        row |= {"lon": norm(lon), "lat": norm(lat), "records": norm(props["records"])}
        if "quarter" in params:
            facts = props["facts"] or {}
            row |= {name: norm(facts.get(name)) for name in FACT_COLUMNS}
        rows.append(row)
    return rows


def read_table(content: bytes, fmt: str, directory: Path) -> pd.DataFrame:
    """Open an extract with its own reader; lon/lat from the geometry for geo formats."""
    path = directory / f"extract.{fmt}"
    path.write_bytes(content)
    if fmt == "csv":
        return pd.read_csv(path, encoding="utf-8")
    if fmt == "parquet":
        frame = gpd.read_parquet(path)
    elif fmt == "geojson":  # GDAL would turn "2019-02-01" into a datetime, "2018-12" not
        frame = gpd.read_file(path, DATE_AS_STRING="YES")
    else:
        frame = gpd.read_file(path)
    assert frame.crs is not None and frame.crs.to_epsg() == 4326
    if len(frame):
        assert (frame.geometry.geom_type == "Point").all()
    out = pd.DataFrame(frame.drop(columns="geometry"))
    out["lon"], out["lat"] = frame.geometry.x, frame.geometry.y
    return out


def file_rows(frame: pd.DataFrame, quarter: bool) -> list[dict[str, Any]]:
    columns = [*COMPARED, "lon", "lat", "records", *(FACT_COLUMNS if quarter else ())]
    return [{c: norm(row[c]) for c in columns} for row in frame.to_dict(orient="records")]


def zip_members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def snapped(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``bbox`` snapped outwards to the fixture COG's pixels and clipped to its bounds."""
    west0, south0, east0, north0 = builder.BOUNDS
    res = builder.COG_RES
    west, south, east, north = bbox
    col0 = max(0, math.floor((west - west0) / res + 1e-6))
    col1 = min(round((east0 - west0) / res), math.ceil((east - west0) / res - 1e-6))
    row0 = max(0, math.floor((north0 - north) / res + 1e-6))
    row1 = min(round((north0 - south0) / res), math.ceil((north0 - south) / res - 1e-6))
    return west0 + col0 * res, north0 - row1 * res, west0 + col1 * res, north0 - row0 * res


# ------------------------------------------------------------------ citation and licences


def test_citation_names_release_url_sources_and_synthetic(fixture_release) -> None:
    release = open_release(fixture_release.root)
    try:
        text = citation(release, "https://example.org/x")
        assert text.startswith('lantian release 2019-fixture.1 "Fixture release" (1 January 2024)')
        assert "https://example.org/x" in text
        for source in fixture_release.manifest["sources"]:
            assert source["attribution"] in text
        assert SYNTHETIC_NOTE in text and "\n" not in text

        real = replace(release, manifest=MappingProxyType({**release.manifest, "synthetic": False}))
        assert SYNTHETIC_NOTE not in citation(real, "u")
        assert SYNTHETIC_NOTE not in licence_notes(real)
    finally:
        release.close()


def test_licence_notes_list_every_source_and_layer(fixture_release) -> None:
    release = open_release(fixture_release.root)
    try:
        notes = licence_notes(release)
        for source in fixture_release.manifest["sources"]:
            for key in ("id", "title", "url", "licence", "attribution"):
                assert source[key] in notes
        assert SYNTHETIC_NOTE in notes
        assert "| `pm25` | PM2.5 (pm25) | `cnemc` |" in notes
        assert "| `enterprises` | Steel and coal plants | `gem`, `ipe` |" in notes

        # a layer entry may name its sources itself
        layers = [dict(layer) for layer in release.manifest["layers"]]
        layers[-1]["sources"] = ["gem"]
        manifest = MappingProxyType({**release.manifest, "layers": layers})
        assert "| `boundaries` | Provinces and cities | `gem` |" in licence_notes(
            replace(release, manifest=manifest)
        )
    finally:
        release.close()


# ------------------------------------------------------------------ enterprises


@pytest.mark.parametrize("fmt", READERS)
@pytest.mark.parametrize("params", FILTERS)
def test_enterprises_extract_equals_api(
    client: TestClient, params: dict[str, Any], fmt: str, tmp_path: Path
) -> None:
    response = client.get(f"/api/extract/enterprises.{fmt}", params=params)
    assert response.status_code == 200, response.text
    quarter = params.get("quarter", "all")
    disposition = response.headers["content-disposition"]
    assert f'filename="lantian-2019-fixture.1-enterprises-{quarter}.{fmt}"' in disposition
    assert disposition.startswith("attachment")
    frame = read_table(response.content, fmt, tmp_path)
    assert file_rows(frame, "quarter" in params) == expected_rows(client, params)
    if "quarter" in params and len(frame):
        assert set(frame["quarter"]) == {params["quarter"]}


def test_enterprises_extract_values(client: TestClient, tmp_path: Path) -> None:
    response = client.get("/api/extract/enterprises.csv", params={"quarter": "2018Q4"})
    frame = read_table(response.content, "csv", tmp_path).set_index("id")
    shougang = frame.loc[builder.SHOUGANG]
    assert shougang["violations"] == 2 and shougang["violations_12m"] == 2
    assert shougang["output_change_pct"] == 12.5 and shougang["output_direction"] == "up"
    assert bool(shougang["cited_and_output_up"]) is True
    assert shougang["records"] == 3 and shougang["name_zh"] == "首钢京唐钢铁"
    assert frame.loc[builder.TAIYUAN, "name"] == "太原焦化<script>"


def test_geoparquet_and_geopackage_carry_citation_and_licence(
    client: TestClient, tmp_path: Path
) -> None:
    params = {"quarter": "2019Q1", "industry": "steel"}
    parquet = client.get("/api/extract/enterprises.parquet", params=params)
    path = tmp_path / "e.parquet"
    path.write_bytes(parquet.content)
    metadata = pq.read_schema(path).metadata
    assert b"geo" in metadata  # still GeoParquet
    assert json.loads(metadata[b"geo"])["primary_column"] == "geometry"
    cite = metadata[b"citation"].decode()
    assert "lantian release 2019-fixture.1" in cite and SYNTHETIC_NOTE in cite
    assert "/api/extract/enterprises.parquet?" in cite and "release=2019-fixture.1" in cite
    assert "CC BY 4.0" in metadata[b"licence"].decode()
    assert metadata[b"release"] == b"2019-fixture.1" and metadata[b"quarter"] == b"2019Q1"

    gpkg = client.get("/api/extract/enterprises.gpkg", params=params)
    path = tmp_path / "e.gpkg"
    path.write_bytes(gpkg.content)
    info = pyogrio.read_info(path, layer="enterprises")
    for key in ("dataset_metadata", "layer_metadata"):
        assert "lantian release 2019-fixture.1" in info[key]["citation"]
        assert "Global Steel Plant Tracker" in info[key]["licence"]
    assert info["features"] == 3


def test_enterprise_extract_formats_and_params(client: TestClient) -> None:
    for path in ("/api/extract/enterprises.shp", "/api/extract/enterprises.PARQUET"):
        response = client.get(path)
        assert response.status_code == 422 and "fmt" in response.text
    response = client.get("/api/extract/enterprises.csv", params={"quarter": "2030Q1"})
    assert response.status_code == 422 and "quarter" in response.json()["detail"]
    response = client.get("/api/extract/enterprises.csv", params={"bbox": "100,20,130,50"})
    assert response.status_code == 422 and "bbox" in response.json()["detail"]
    response = client.get("/api/extract/enterprises.csv", params={"industry": "Steel!"})
    assert response.status_code == 422 and "industry" in response.text


# ------------------------------------------------------------------ PM2.5 clip


@contextmanager
def open_tif(content: bytes) -> Iterator[Any]:
    with MemoryFile(content) as memory, memory.open() as ds:
        yield ds


@pytest.mark.parametrize(
    "bbox",
    [
        (115.02, 36.01, 119.98, 40.2),
        (109.0, 41.0, 111.33, 44.0),  # over the north-west corner (NaN block) and the edge
        (113.0, 38.0, 113.05, 38.05),  # exactly one pixel
    ],
)
def test_pm25_clip_is_a_cog_equal_to_the_release_cog(
    client: TestClient, fixture_release, bbox: tuple[float, float, float, float]
) -> None:
    params = {"quarter": "2019Q1", "bbox": ",".join(map(str, bbox))}
    response = client.get("/api/extract/pm25.tif", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/tiff")
    assert 'filename="lantian-2019-fixture.1-pm25-2019Q1.tif"' in (
        response.headers["content-disposition"]
    )
    source = fixture_release.root / "pm25" / "pm25_2019Q1.tif"
    with open_tif(response.content) as ds:
        assert ds.driver == "GTiff"
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.crs.to_epsg() == 4326
        assert ds.count == 2 and ds.dtypes == ("float32", "float32")
        assert math.isnan(ds.nodata)
        assert all(shape[0] == shape[1] for shape in ds.block_shapes)  # tiled blocks
        assert ds.descriptions == ("pm25", "pm25_uncertainty")
        assert tuple(ds.bounds) == pytest.approx(snapped(bbox), abs=1e-9)
        west, _, _, north = ds.bounds
        assert west >= builder.BOUNDS[0] - 1e-9 and north <= builder.BOUNDS[3] + 1e-9
        tags = ds.tags()
        assert "lantian release 2019-fixture.1" in tags["citation"]
        assert "CNEMC hourly data" in tags["licence"] and tags["quarter"] == "2019Q1"
        data = ds.read()
        with rasterio.open(source) as src:
            col = round((west - src.bounds.left) / builder.COG_RES)
            row = round((src.bounds.top - north) / builder.COG_RES)
            expected = src.read(window=Window(col, row, ds.width, ds.height))
        np.testing.assert_array_equal(data, expected)


def test_cog_writer_builds_overviews(fixture_release, tmp_path: Path) -> None:
    release = open_release(fixture_release.root)
    try:
        clip = pm25_clip(release, "2019Q2", builder.BOUNDS, 10**9)
        write_cog(clip, tmp_path / "clip.tif", {"citation": "c"}, blocksize=64)
    finally:
        release.close()
    with rasterio.open(tmp_path / "clip.tif") as ds, rasterio.open(clip.source) as src:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.block_shapes == [(64, 64), (64, 64)]
        assert ds.overviews(1) == [2, 4] and ds.tags()["citation"] == "c"
        np.testing.assert_array_equal(ds.read(), src.read())


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"quarter": "2019Q1"}, 422, "bbox is required"),
        ({"bbox": "115,36,116,37"}, 422, "period is required"),
        ({"quarter": "2018Q4", "bbox": "115,36,116,37"}, 404, "no PM2.5 grid"),
        ({"period": "2019-13", "bbox": "115,36,116,37"}, 422, "period"),
        ({"period": "2018-02", "bbox": "115,36,116,37"}, 404, "'2018-02' has no PM2.5 grid"),
        ({"quarter": "2030Q1", "bbox": "115,36,116,37"}, 422, "quarter"),
        ({"quarter": "2019Q1", "bbox": "100,0,101,1"}, 404, "does not overlap"),
        ({"quarter": "2019Q1", "bbox": "100,20,130,50"}, 422, "bbox area"),
        ({"quarter": "2019Q1", "bbox": "1,2,3"}, 422, "bbox"),
        ({"quarter": "19Q1", "bbox": "115,36,116,37"}, 422, "quarter"),
    ],
)
def test_pm25_clip_errors(
    client: TestClient, fixture_release, params: dict, status: int, words: str
) -> None:
    response = client.get("/api/extract/pm25.tif", params=params)
    assert response.status_code == status
    assert words in response.text
    assert str(fixture_release.data_dir) not in response.text and "/tmp" not in response.text


# ------------------------------------------------------------------ ZIP


@pytest.mark.parametrize("fmt", ["gpkg", "parquet", "csv"])
def test_zip_holds_what_the_map_shows(client: TestClient, fmt: str, tmp_path: Path) -> None:
    params = {"quarter": "2019Q1", "bbox": "112,35,120,41", "has_violations": "true"}
    response = client.get("/api/extract.zip", params={**params, "format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="lantian-2019-fixture.1-extract-2019Q1.zip"' in (
        response.headers["content-disposition"]
    )
    members = zip_members(response.content)
    assert set(members) == {
        f"enterprises.{fmt}", "violations.csv", "output.csv", "pm25_2019Q1.tif",
        "CITATION.txt", "LICENCES.md", "query.json",
    }  # fmt: skip

    frame = read_table(members[f"enterprises.{fmt}"], fmt, tmp_path)
    assert file_rows(frame, True) == expected_rows(client, params)
    ids = set(frame["id"])
    assert ids == {builder.SHOUGANG, builder.TAIYUAN}

    violations = pd.read_csv(io.BytesIO(members["violations.csv"]), dtype=str)
    expected = [r["record_id"] for r in builder.VIOLATIONS if r["enterprise_id"] in ids]
    assert sorted(violations["record_id"]) == sorted(expected) == ["v:1", "v:2", "v:3", "v:4"]
    assert builder.XSS_FINDING in set(violations["finding"])
    output = pd.read_csv(io.BytesIO(members["output.csv"]), dtype=str)
    assert list(output["record_id"]) == ["o:1"]

    with open_tif(members["pm25_2019Q1.tif"]) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert tuple(ds.bounds) == pytest.approx((112, 35, 120, 41), abs=1e-9)
        assert "lantian release 2019-fixture.1" in ds.tags()["citation"]

    cite = members["CITATION.txt"].decode()  # English first (no lang, no Accept-Language)…
    assert cite.startswith("lantian release 2019-fixture.1") and SYNTHETIC_NOTE in cite
    assert "lantian 数据版本 2019-fixture.1" in cite  # …then Chinese
    licences = members["LICENCES.md"].decode()
    assert "## Sources" in licences and "## This extract" in licences
    assert SYNTHETIC_NOTE in licences

    query = json.loads(members["query.json"])
    assert query["release"] == "2019-fixture.1" and query["synthetic"] is True
    assert query["created"] == "2024-01-01T00:00:00Z" and query["quarter"] == "2019Q1"
    assert query["bbox"] == [112, 35, 120, 41] and query["format"] == fmt
    assert query["filters"]["has_violations"] is True and query["filters"]["q"] is None
    assert query["counts"] == {"enterprises": 2, "violations": 4, "output": 1}
    assert query["pm25"]["included"] is True and query["pm25"]["width"] == 160
    assert query["url"].startswith("http://testserver/api/extract.zip?")
    assert "bbox=112,35,120,41" in query["url"] and "release=2019-fixture.1" in query["url"]
    assert query["url"] in cite
    # the recorded URL re-runs the same extract
    again = zip_members(client.get(query["url"]).content)
    assert json.loads(again["query.json"]) == query
    assert file_rows(read_table(again[f"enterprises.{fmt}"], fmt, tmp_path), True) == file_rows(
        frame, True
    )


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"quarter": "2019Q1"}, "needs both a period (period or quarter) and bbox"),
        ({"bbox": "112,35,120,41"}, "needs both a period (period or quarter) and bbox"),
        ({"quarter": "2018Q4", "bbox": "112,35,120,41"}, "period 2018Q4 has no PM2.5 grid"),
        ({"period": "2018-12", "bbox": "112,35,120,41"}, "period 2018-12 has no PM2.5 grid"),
        ({"quarter": "2019Q1", "bbox": "100,0,101,1"}, "does not overlap"),
    ],
)
def test_zip_without_a_pm25_clip_says_why(client: TestClient, params: dict, reason: str) -> None:
    response = client.get("/api/extract.zip", params=params)
    assert response.status_code == 200, response.text
    members = zip_members(response.content)
    assert "enterprises.gpkg" in members and not any(n.endswith(".tif") for n in members)
    query = json.loads(members["query.json"])
    assert query["pm25"]["included"] is False and reason in query["pm25"]["reason"]


@pytest.fixture(scope="module")
def period_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The fixture with synthetic grids for January 2019 and the year 2019 (the field of
    2019Q2, not of 2019Q1, January's quarter)."""
    release = builder.build_release(tmp_path_factory.mktemp("monthdata"))
    builder.add_periods(release, {"2019-01": "2019Q2", "2019": "2019Q2"},
                        "tests/server/test_extract.py")  # fmt: skip
    with TestClient(create_app(Settings(data_dir=release.data_dir))) as test_client:
        yield test_client


@pytest.mark.parametrize(("period", "quarter"), [("2019-01", "2019Q1"), ("2019", "2019Q2")])
def test_zip_of_a_month_or_year_holds_that_periods_grid(
    period_client: TestClient, period: str, quarter: str
) -> None:
    params = {"period": period, "quarter": quarter, "bbox": "112,35,120,41"}
    response = period_client.get("/api/extract.zip", params=params)
    assert response.status_code == 200, response.text
    assert f'filename="lantian-2019-fixture.1-extract-{period}.zip"' in (
        response.headers["content-disposition"]
    )
    members = zip_members(response.content)
    assert f"pm25_{period}.tif" in members and f"pm25_{quarter}.tif" not in members
    alone_params = {"period": period, "bbox": params["bbox"]}
    grid = period_client.get("/api/extract/pm25.tif", params=alone_params)
    assert grid.status_code == 200, grid.text
    with open_tif(members[f"pm25_{period}.tif"]) as zipped, open_tif(grid.content) as alone:
        np.testing.assert_array_equal(zipped.read(), alone.read())
        # January holds the synthetic 2019Q2 field: 60 - 6 * (lat - 34) + 2 * (lon - 110)
        row, col = zipped.index(116.0, 38.0)
        value = float(zipped.read(1)[row, col])
    assert value == pytest.approx(float(builder.pm25_value(116.0, 38.0, "2019Q2")), abs=1.0)
    query = json.loads(members["query.json"])
    assert (query["period"], query["quarter"]) == (period, quarter)
    assert query["pm25"]["file"] == f"pm25_{period}.tif"


def test_zip_bad_params(client: TestClient) -> None:
    response = client.get("/api/extract.zip", params={"format": "shp"})
    assert response.status_code == 422 and "format" in response.text
    response = client.get("/api/extract.zip", params={"bbox": "100,20,130,50"})
    assert response.status_code == 422 and "bbox" in response.json()["detail"]
    response = client.get("/api/extract.zip", params={"quarter": "2030Q1"})
    assert response.status_code == 422 and "quarter" in response.json()["detail"]


# ------------------------------------------------------------------ limits, cleanup, pinning


def test_row_and_pixel_limits(fixture_release) -> None:
    settings = Settings(
        data_dir=fixture_release.data_dir, max_extract_rows=2, max_extract_pixels=100
    )
    with TestClient(create_app(settings)) as client:
        for path in ("/api/extract/enterprises.gpkg", "/api/extract.zip"):
            response = client.get(path, params={"industry": "steel"})
            assert response.status_code == 422
            detail = response.json()["detail"]
            assert "3 enterprises" in detail and "at most 2" in detail and "industry" in detail
            assert client.get(path, params={"industry": "coal_power"}).status_code == 200
        params = {"quarter": "2019Q1", "bbox": "115,36,116,37"}  # 20 × 20 pixels
        for path in ("/api/extract/pm25.tif", "/api/extract.zip"):
            response = client.get(path, params={**params, "q": "rizhao"})
            assert response.status_code == 422
            assert "400 PM2.5 pixels" in response.json()["detail"]
            assert "bbox" in response.json()["detail"]
        small = {"quarter": "2019Q1", "bbox": "115,36,115.4,36.4"}  # 8 × 8 pixels
        assert client.get("/api/extract/pm25.tif", params=small).status_code == 200


def test_no_temporary_files_are_left(client: TestClient, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    params = {"quarter": "2019Q1", "bbox": "112,35,120,41"}
    assert client.get("/api/extract.zip", params=params).status_code == 200
    assert client.get("/api/extract/pm25.tif", params=params).status_code == 200
    assert client.get("/api/extract/enterprises.gpkg", params=params).status_code == 200
    assert client.get("/api/extract/pm25.tif", params={"quarter": "2019Q1"}).status_code == 422
    assert list(tmp_path.iterdir()) == []


def test_the_same_query_gives_the_same_bytes(client: TestClient) -> None:
    """An extract is a function of the release and the query, not of the time it was asked
    for: GeoPackage dates and ZIP entry dates are the release's build time, so analysts can
    checksum and cache downloads. Two passes 2.1 s apart (GDAL dates to the millisecond, ZIP
    to two seconds: the pause changes both)."""
    area = {"quarter": "2019Q1", "bbox": "112,35,120,41"}
    urls = [*(("/api/extract.zip", {**area, "format": fmt}) for fmt in READERS),
            *((f"/api/extract/enterprises.{fmt}", area) for fmt in READERS),
            ("/api/extract/pm25.tif", area)]
    first = [client.get(url, params=params) for url, params in urls]
    time.sleep(2.1)
    second = [client.get(url, params=params) for url, params in urls]
    for (url, params), a, b in zip(urls, first, second, strict=True):
        assert a.status_code == b.status_code == 200, (url, params)
        assert a.content == b.content, (url, params)
    built = client.get("/api/release").json()["created"]
    with zipfile.ZipFile(io.BytesIO(first[READERS.index("gpkg")].content)) as archive:
        dated = {info.date_time[:4] for info in archive.infolist()}
        gpkg = archive.read("enterprises.gpkg")
    stamp = datetime.fromisoformat(built)
    assert dated == {(stamp.year, stamp.month, stamp.day, stamp.hour)}
    assert built[:19].encode() in gpkg  # gpkg_contents.last_change


NEW_ID = "20300101T000000Z-newer"

@pytest.fixture
def two_releases(tmp_path: Path) -> tuple[Path, str]:
    """The fixture release plus a newer copy (another title) that ``current`` points at."""
    release = builder.build_release(tmp_path / "data")
    data_dir = release.data_dir
    dst = data_dir / "releases" / NEW_ID
    shutil.copytree(release.root, dst)
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    manifest |= {"id": NEW_ID, "title": "newer release", "synthetic": False}
    (dst / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    link = data_dir / ".tmp-link"
    link.symlink_to(Path("releases") / NEW_ID)
    os.replace(link, data_dir / "current")
    return data_dir, release.id


def test_release_pinning(two_releases: tuple[Path, str]) -> None:
    data_dir, old_id = two_releases
    params = {"quarter": "2019Q1", "bbox": "112,35,120,41"}
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        current = zip_members(client.get("/api/extract.zip", params=params).content)
        assert json.loads(current["query.json"])["release"] == NEW_ID
        assert SYNTHETIC_NOTE not in current["CITATION.txt"].decode()
        assert '"newer release"' in current["CITATION.txt"].decode()

        response = client.get("/api/extract.zip", params={**params, "release": old_id})
        assert f"lantian-{old_id}-extract-2019Q1.zip" in response.headers["content-disposition"]
        pinned = zip_members(response.content)
        query = json.loads(pinned["query.json"])
        assert query["release"] == old_id and query["url"].endswith(f"release={old_id}")
        assert '"Fixture release"' in pinned["CITATION.txt"].decode()
        assert SYNTHETIC_NOTE in pinned["CITATION.txt"].decode()

        tif = client.get("/api/extract/pm25.tif", params={**params, "release": old_id})
        assert f"lantian-{old_id}-pm25-2019Q1.tif" in tif.headers["content-disposition"]
        with open_tif(tif.content) as ds:
            assert ds.tags()["release"] == old_id
        gone = client.get("/api/extract.zip", params={**params, "release": "20990101T0-x"})
        assert gone.status_code == 404 and str(data_dir) not in gone.text
