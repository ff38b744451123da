"""JSON API, downloads, health and static routes."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lantian.server.app import create_app
from lantian.server.errors import ReleaseUnavailableError
from lantian.settings import Settings


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True, "release": "2019-fixture.1"}


def test_release_summary(client: TestClient) -> None:
    doc = client.get("/api/release").json()
    assert doc["id"] == "2019-fixture.1" and doc["synthetic"] is True
    assert (doc["title"], doc["title_zh"]) == ("Fixture release", "")  # no Chinese title given
    assert doc["quarters"] == ["2019Q1", "2019Q2"]
    assert doc["timeline"] == ["2018Q4", "2019Q1", "2019Q2"]
    layers = {layer["id"]: layer for layer in doc["layers"]}
    assert set(layers) == {"pm25", "pm25-cb", "enterprises", "cited", "boundaries"}
    assert layers["cited"]["pmtiles"] == {"all": "http://testserver/pmtiles/cited.pmtiles"}
    assert layers["pm25"]["pmtiles"]["2019Q2"] == "http://testserver/pmtiles/pm25_2019Q2.pmtiles"
    assert layers["enterprises"]["pmtiles"] == {
        "all": "http://testserver/pmtiles/enterprises.pmtiles"
    }
    assert [s["id"] for s in doc["sources"]] == ["gem", "cnemc", "ipe"]
    assert doc["colormaps"] == ["pm25", "pm25-cb"]
    assert "/tmp" not in str(doc)


def test_colormap(client: TestClient) -> None:
    doc = client.get("/api/colormaps/pm25-cb").json()
    assert len(doc["classes"]) == 7
    assert {"lower", "upper", "color", "rgba", "label"} <= set(doc["classes"][0])
    assert doc["classes"][-1]["upper"] is None
    assert client.get("/api/colormaps/viridis").status_code == 404
    assert client.get("/api/colormaps/..%2Fmanifest").status_code in (404, 422)


def test_enterprises_all_paged(client: TestClient) -> None:
    doc = client.get("/api/enterprises").json()
    assert doc["type"] == "FeatureCollection"
    assert doc["total"] == 6 and doc["limit"] == 3 and len(doc["features"]) == 3
    second = client.get("/api/enterprises", params={"offset": 3, "limit": 100}).json()
    ids = [f["id"] for f in doc["features"] + second["features"]]
    assert len(set(ids)) == 6
    feature = doc["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert {"name_zh", "name_en", "geocode_precision", "data_source"} <= set(feature["properties"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "STEEL"}, {"gem:P100000120001", "gem:P100000120002", "gem:P100000120003"}),
        ({"q": "河钢"}, {"gem:P100000120002"}),
        ({"q": "京能"}, {"wri:1000453"}),
        ({"industry": "coal_power"}, {"wri:1000453", "wri:1000454"}),
        ({"province": "河北省", "industry": "steel"}, {"gem:P100000120001", "gem:P100000120002"}),
        ({"bbox": "116,38,118,40"}, {"wri:1000453", "wri:1000454"}),
        ({"bbox": "100,0,101,1"}, set()),
    ],
)
def test_enterprise_filters(client: TestClient, params: dict, expected: set) -> None:
    doc = client.get("/api/enterprises", params={**params}).json()
    assert doc["total"] == len(expected)
    assert {f["id"] for f in doc["features"]} <= expected


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "118,40,116,38"},
        {"bbox": "100,0,200,10"},
        {"bbox": "0,0,nan,1"},
        {"bbox": "100,20,130,50"},  # 900 deg² > max_bbox_area_deg2 = 200
        {"limit": 0},
        {"limit": 100_000},
        {"offset": -1},
        {"industry": "Steel!"},
        {"q": ""},
        {"q": "x" * 101},
    ],
)
def test_enterprise_bad_params(client: TestClient, params: dict) -> None:
    r = client.get("/api/enterprises", params=params)
    assert r.status_code == 422
    assert "detail" in r.json()


def test_enterprise_detail(client: TestClient) -> None:
    doc = client.get("/api/enterprises/wri:1000453").json()
    assert doc["properties"]["name_zh"] == "北京京能热电"
    assert doc["properties"]["capacity_unit"] == "MW"
    assert client.get("/api/enterprises/wri:999").status_code == 404


def test_pm25_point_matches_cog(client: TestClient) -> None:
    from lantian_fixture_release import COG_RES, cog_values

    pm, unc, transform = cog_values("2019Q2")
    row, col = 50, 70
    lon = transform.c + (col + 0.5) * COG_RES
    lat = transform.f - (row + 0.5) * COG_RES
    doc = client.get("/api/pm25/point", params={"lon": lon, "lat": lat, "quarter": "2019Q2"})
    body = doc.json()
    assert math.isclose(body["pm25"], float(pm[row, col]), rel_tol=1e-6)
    assert math.isclose(body["uncertainty"], float(unc[row, col]), rel_tol=1e-6)
    assert body["units"] == "µg/m³"


@pytest.mark.parametrize(("lon", "lat"), [(110.1, 42.9), (50.0, 10.0), (123.0, 38.0)])
def test_pm25_point_null(client: TestClient, lon: float, lat: float) -> None:
    body = client.get("/api/pm25/point", params={"lon": lon, "lat": lat, "quarter": "2019Q1"})
    assert body.status_code == 200
    assert body.json()["pm25"] is None and body.json()["uncertainty"] is None


def test_pm25_point_errors(client: TestClient) -> None:
    get = client.get
    assert get("/api/pm25/point?lon=116&lat=39&quarter=2020Q1").status_code == 404
    assert get("/api/pm25/point?lon=181&lat=39&quarter=2019Q1").status_code == 422
    assert get("/api/pm25/point?lon=116&lat=-91&quarter=2019Q1").status_code == 422
    assert get("/api/pm25/point?lon=116&lat=39&quarter=../x").status_code == 422
    assert get("/api/pm25/point?lon=116&lat=39").status_code == 422


def test_stats(client: TestClient) -> None:
    doc = client.get("/api/stats").json()
    assert doc["total"] == 6
    columns = {"region_type", "region", "period", "period_type", "pm25", "n_cities",
               "n_stations", "qoq_change_pct", "yoy_change_pct"}  # fmt: skip
    assert set(doc["rows"][0]) == columns
    rows = client.get("/api/stats", params={"region": "唐山市", "period": "2019Q2"}).json()["rows"]
    assert len(rows) == 1 and rows[0]["qoq_change_pct"] == -25.0
    assert client.get("/api/stats", params={"region_type": "x" * 40}).status_code == 422


def test_downloads_list(client: TestClient, fixture_release) -> None:
    doc = client.get("/downloads").json()
    listed = {f["path"]: f for f in doc["files"]}
    assert set(listed) == {f["path"] for f in fixture_release.manifest["files"]}
    entry = listed["stats/region_stats.csv"]
    assert entry["url"] == "http://testserver/downloads/stats/region_stats.csv"
    assert entry["media_type"] == "text/csv" and len(entry["sha256"]) == 64


def test_download_file(client: TestClient, fixture_release) -> None:
    r = client.get("/downloads/stats/region_stats.json")
    assert r.status_code == 200
    assert r.content == (fixture_release.root / "stats/region_stats.json").read_bytes()
    assert r.headers["content-type"].startswith("application/json")
    assert "attachment" in r.headers["content-disposition"]


@pytest.mark.parametrize(
    "path",
    [
        "manifest.json",
        "../current/manifest.json",
        "stats/../manifest.json",
        "%2e%2e%2fcurrent%2fmanifest.json",
        "stats%2f..%2f..%2f..%2fetc%2fpasswd",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "stats\\region_stats.json",
        "stats%5cregion_stats.json",
        "stats/region_stats.json%00",
        "stats/region_stats.json%00.csv",
        "stats//region_stats.json",
        "stats",
        "tiles",
    ],
)
def test_download_traversal(client: TestClient, path: str) -> None:
    r = client.get(f"/downloads/{path}")
    assert r.status_code == 404
    assert r.json() == {"detail": "file not found"} or r.json() == {"detail": "Not Found"}


async def _raw_get(app: Any, path: str) -> int:
    """Call the ASGI app with an unnormalised path (HTTP clients would remove dot segments)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode("latin-1", "replace"),
        "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(next(m["status"] for m in sent if m["type"] == "http.response.start"))


@pytest.mark.parametrize(
    "path",
    [
        "/downloads/../manifest.json",
        "/downloads/stats/../manifest.json",
        "/downloads/stats/../../../../etc/passwd",
        "/downloads/./stats/region_stats.json",
        "/downloads/stats/./region_stats.json",
        "/downloads//etc/passwd",
        "/downloads/stats\\region_stats.json",
        "/downloads/stats/region_stats.json\x00",
        "/downloads/C:/stats/region_stats.json",
    ],
)
def test_download_raw_traversal(client: TestClient, path: str) -> None:
    """Dot segments, backslashes and NUL reaching the app are refused."""
    assert asyncio.run(_raw_get(client.app, path)) == 404
    assert asyncio.run(_raw_get(client.app, "/downloads/stats/region_stats.json")) == 200


def test_index_and_static(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/static/app.js" in r.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/vendor/pmtiles/pmtiles.js").status_code == 200
    assert client.get("/static/../settings.py").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"] == "lantian"


def test_missing_release(tmp_path) -> None:
    empty = Settings(data_dir=tmp_path)
    with pytest.raises(ReleaseUnavailableError), TestClient(create_app(empty)):
        pass
    bad = Settings(data_dir=tmp_path, release="../x")
    with pytest.raises(ReleaseUnavailableError), TestClient(create_app(bad)):
        pass


def test_explicit_release_id(settings: Settings) -> None:
    chosen = settings.model_copy(update={"release": "2019-fixture.1"})
    with TestClient(create_app(chosen)) as other:
        assert other.get("/healthz").json()["release"] == "2019-fixture.1"


def test_message_catalogues_are_served_per_language(client) -> None:
    from lantian.i18n import catalogue

    for lang in ("zh", "en"):
        r = client.get(f"/i18n/{lang}.json")
        assert r.status_code == 200
        assert r.json() == catalogue(lang)
        assert "max-age" in r.headers["cache-control"]
    bad = client.get("/i18n/fr.json")
    assert bad.status_code == 422 and "lang" in bad.text
