"""Issue-3 API: enterprise filters by quarter and records, facility cards, the match report."""

from __future__ import annotations

import gzip
import json
import math
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from lantian.server.app import create_app
from lantian.settings import Settings

SHOUGANG, HBIS, TAIYUAN = "gem:P100000120001", "gem:P100000120002", "csv:1"
BEIJING, TIANJIN, RIZHAO = "wri:1000453", "wri:1000454", "gem:P100000120003"
ALL_IDS = {SHOUGANG, HBIS, TAIYUAN, BEIJING, TIANJIN, RIZHAO}
XSS = '<img src=x onerror="window.__xss=1">'
CARD_KEYS = {"id", "identity", "location", "operation", "source_ids", "violations", "output",
             "regional_output", "quarters", "sources", "permalink"}  # fmt: skip
VIOLATION_KEYS = {"record_id", "kind", "date", "date_precision", "quarter", "authority",
                  "finding", "category", "penalty", "source_url", "source", "match_status",
                  "match_score"}  # fmt: skip
OUTPUT_KEYS = {"record_id", "product", "period", "period_type", "compared_with", "change_pct",
               "value", "unit", "direction", "direction_basis", "note", "source"}  # fmt: skip
QUARTER_KEYS = {"quarter", "operating", "capacity_operating", "violations", "violations_12m",
                "output_change_pct", "output_direction", "output_basis", "pm25_5km", "pm25_10km",
                "cited_and_output_up", "pm25_source"}  # fmt: skip


def matching_ids(client: TestClient, params: dict[str, Any]) -> set[str]:
    """Ids of every enterprise matching ``params``, read page by page (pages hold 3)."""
    ids: list[str] = []
    while True:
        doc = client.get("/api/enterprises", params={**params, "offset": len(ids)}).json()
        ids += [f["id"] for f in doc["features"]]
        if len(ids) >= doc["total"]:
            assert len(ids) == doc["total"] == len(set(ids))
            return set(ids)


def card(client: TestClient, enterprise_id: str) -> dict[str, Any]:
    r = client.get(f"/api/enterprises/{enterprise_id}/card")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"quarter": "2018Q4", "has_violations": True}, {SHOUGANG}),
        ({"quarter": "2019Q1", "has_violations": True}, {SHOUGANG, TAIYUAN}),
        ({"quarter": "2019Q2", "has_violations": True}, {SHOUGANG, TAIYUAN}),
        ({"has_violations": True}, {SHOUGANG, TAIYUAN}),
        ({"quarter": "2018Q4", "has_violations": False}, ALL_IDS - {SHOUGANG}),
        ({"quarter": "2018Q4", "output_up": True}, {SHOUGANG}),
        ({"quarter": "2019Q1", "output_up": True}, set()),
        ({"output_up": True}, {SHOUGANG}),
        ({"output_up": False}, ALL_IDS - {SHOUGANG}),
        ({"quarter": "2018Q4", "has_violations": True, "output_up": True}, {SHOUGANG}),
        ({"quarter": "2019Q1", "has_violations": True, "industry": "coking"}, {TAIYUAN}),
        ({"quarter": "2019Q1"}, ALL_IDS),
    ],
)
def test_record_filters(client: TestClient, params: dict, expected: set) -> None:
    assert matching_ids(client, params) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("首钢", {SHOUGANG}),
        ("焦化<script>", {TAIYUAN}),
        ("Jingtang Iron", {SHOUGANG}),
        ("tangsteel", {HBIS}),
        ("hegang", {HBIS}),  # pinyin only: the English name is "HBIS Tangsteel"
        ("He Gang Tang-gang", {HBIS}),
        ("shougangjingtanggangtie", {SHOUGANG}),
        ("Shou'gang", {SHOUGANG}),
        ("SHOU’GANG", {SHOUGANG}),
        ("taiyuan jiaohua", {TAIYUAN}),
        ("rizhao gangtie", {RIZHAO}),
        ("fadianchang", {TIANJIN}),
        ("gangtie", {SHOUGANG, RIZHAO}),
        ("rongxin", set()),
    ],
)
def test_search_names_and_pinyin(client: TestClient, q: str, expected: set) -> None:
    assert matching_ids(client, {"q": q}) == expected


def test_features_gain_records_and_facts(client: TestClient) -> None:
    doc = client.get("/api/enterprises", params={"q": "首钢", "quarter": "2018Q4"}).json()
    props = doc["features"][0]["properties"]
    assert props["records"] == 3 and props["coordinate_accuracy"] == "exact"
    facts = props["facts"]
    assert facts["quarter"] == "2018Q4" and facts["violations"] == 2
    assert facts["violations_12m"] == 2 and facts["latest_finding_date"] == "2018-12"
    assert facts["output_change_pct"] == 12.5 and facts["output_direction"] == "up"
    assert facts["cited_and_output_up"] is True and facts["pm25_5km"] is None
    plain = client.get("/api/enterprises", params={"q": "hegang"}).json()["features"][0]
    assert plain["properties"]["records"] == 0 and "facts" not in plain["properties"]
    detail = client.get(f"/api/enterprises/{TAIYUAN}").json()
    assert detail["properties"]["records"] == 1
    assert detail["properties"]["coordinate_accuracy"] == "approximate"


@pytest.mark.parametrize(
    "params",
    [
        {"quarter": "2018Q3"},  # well formed, before the timeline
        {"quarter": "2020Q1"},
        {"quarter": "2019Q5"},
        {"quarter": "../x"},
        {"has_violations": "maybe"},
        {"output_up": "2"},
        {"q": "' - ’"},
    ],
)
def test_record_filter_errors(client: TestClient, params: dict) -> None:
    r = client.get("/api/enterprises", params=params)
    assert r.status_code == 422
    assert set(r.json()) == {"detail"} and "/tmp" not in r.text


def test_quarter_outside_timeline_message(client: TestClient) -> None:
    r = client.get("/api/enterprises", params={"quarter": "2018Q3"})
    assert r.json() == {"detail": "quarter '2018Q3' is not in the timeline"}


def test_card_shape_and_order(client: TestClient) -> None:
    doc = card(client, SHOUGANG)
    assert set(doc) == CARD_KEYS and doc["id"] == SHOUGANG
    assert doc["permalink"] == f"/#plant={SHOUGANG}"
    assert set(doc["identity"]) == {"name", "name_zh", "name_en", "industry", "capacity",
                                    "capacity_unit", "owner", "owner_zh", "data_source", "status",
                                    "coking", "coking_capacity", "products"}  # fmt: skip
    assert doc["identity"]["capacity"] == 9700.0 and doc["identity"]["name_zh"] == "首钢京唐钢铁"
    location = doc["location"]
    assert (location["lon"], location["lat"]) == (118.45, 39.0)
    assert location["coordinate_accuracy"] == "exact" and location["approximate"] is False
    assert set(location) == {"lon", "lat", "province", "city", "city_en", "county",
                             "geocode_source", "geocode_precision", "coordinate_accuracy",
                             "source_datum", "approximate"}  # fmt: skip
    violations = doc["violations"]
    assert [v["record_id"] for v in violations] == ["v:3", "v:2", "v:1"]  # newest first
    assert all(set(v) == VIOLATION_KEYS for v in violations)
    assert all(v["source"] and v["date"] and v["quarter"] for v in violations)
    assert violations[1]["date"] == "2018-12" and violations[1]["date_precision"] == "month"
    assert violations[2]["source_url"] == "https://example.org/hebei-epb/2018-10"
    assert violations[0]["source_url"] is None and violations[0]["match_score"] == 0.92
    [output] = doc["output"]
    assert set(output) == OUTPUT_KEYS
    assert (output["period"], output["compared_with"]) == ("2018-Q4", "2017-Q4")
    assert output["change_pct"] == 12.5 and output["direction"] == "up" and output["source"]
    assert output["value"] is None
    [regional] = doc["regional_output"]
    assert regional["record_id"] == "o:3" and regional["change_pct"] == 17.3
    assert regional["period"] == "2019-01/2019-02" and regional["source"]
    assert [s["id"] for s in doc["sources"]] == ["gem", "cnemc", "ipe"]
    assert all(set(s) == {"id", "attribution", "url"} for s in doc["sources"])
    assert client.get("/api/enterprises/gem%3AP100000120001/card").json() == doc  # encoded id


def test_card_quarters_pm25(client: TestClient) -> None:
    from lantian_fixture_release import pm25_value

    quarters = card(client, SHOUGANG)["quarters"]
    assert [q["quarter"] for q in quarters] == ["2018Q4", "2019Q1", "2019Q2"]
    assert all(set(q) == QUARTER_KEYS for q in quarters)
    q4, q1, q2 = quarters
    assert q4["pm25_5km"] is None and q4["pm25_10km"] is None and q4["pm25_source"] is None
    assert q4["violations"] == 2 and q4["cited_and_output_up"] is True
    assert q4["output_basis"] == "2018-Q4 vs 2017-Q4 (change_pct)"
    expected = float(pm25_value(118.45, 39.0, "2019Q1"))
    assert math.isclose(q1["pm25_5km"], expected, abs_tol=0.01)
    assert q1["pm25_source"] == "CNEMC via quotsoft.net"
    assert (q1["violations"], q1["violations_12m"]) == (1, 3)
    assert q1["output_change_pct"] is None and q1["cited_and_output_up"] is False
    assert q2["violations"] == 0 and q2["violations_12m"] == 3 and q2["pm25_source"]


def test_card_approximate_and_finding_verbatim(client: TestClient) -> None:
    r = client.get(f"/api/enterprises/{TAIYUAN}/card")
    assert r.headers["content-type"] == "application/json"
    assert XSS.replace('"', '\\"') in r.text  # JSON string escaping only; HTML is the web's job
    doc = r.json()
    assert doc["location"]["approximate"] is True
    assert doc["location"]["coordinate_accuracy"] == "approximate"
    assert doc["identity"]["name"] == "太原焦化<script>"
    [violation] = doc["violations"]
    assert XSS in violation["finding"] and violation["kind"] == "computed_exceedance"
    assert doc["output"] == [] and doc["regional_output"] == []
    assert [s["id"] for s in doc["sources"]] == ["cnemc", "ipe"]
    assert doc["permalink"] == "/#plant=csv:1"


def test_card_output_down_and_plant_without_records(client: TestClient) -> None:
    hbis = card(client, HBIS)
    assert hbis["violations"] == [] and hbis["output"][0]["direction"] == "down"
    assert hbis["location"]["approximate"] is True  # county precision, exact GEM accuracy
    assert hbis["location"]["coordinate_accuracy"] == "exact"
    assert hbis["output"][0]["change_pct"] == -3.0
    assert hbis["quarters"][1]["output_direction"] == "down"
    quiet = card(client, TIANJIN)
    assert quiet["violations"] == quiet["output"] == quiet["regional_output"] == []
    assert [q["violations_12m"] for q in quiet["quarters"]] == [0, 0, 0]
    assert [s["id"] for s in quiet["sources"]] == ["cnemc"]


@pytest.mark.parametrize("enterprise_id", ["wri:999", "nope", "csv:1%2Fcard", "x" * 129])
def test_card_unknown(client: TestClient, enterprise_id: str) -> None:
    r = client.get(f"/api/enterprises/{enterprise_id}/card")
    assert r.status_code in (404, 422)
    assert set(r.json()) == {"detail"} and "/tmp" not in r.text
    if enterprise_id == "wri:999":
        assert r.status_code == 404


def test_match_report_paging(client: TestClient) -> None:
    first = client.get("/api/records/match-report").json()
    assert first["total"] == 8 and first["limit"] == 3 and len(first["rows"]) == 3
    rows = list(first["rows"])
    while len(rows) < first["total"]:
        page = client.get("/api/records/match-report", params={"offset": len(rows)}).json()
        assert page["offset"] == len(rows) and page["rows"]
        rows += page["rows"]
    assert len({r["record_id"] for r in rows}) == 8 and "o:3" not in {r["record_id"] for r in rows}
    assert set(rows[0]) == {"record_id", "record_kind", "name", "province", "city", "status",
                            "enterprise_id", "score", "candidates", "reason"}  # fmt: skip
    assert all(isinstance(r["candidates"], list) for r in rows)
    beyond = client.get("/api/records/match-report", params={"offset": 50}).json()
    assert beyond["total"] == 8 and beyond["rows"] == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [("matched", 6), ("ambiguous", 1), ("unmatched", 1), ("regional", 0), ("given_id", 0)],
)
def test_match_report_status(client: TestClient, status: str, expected: int) -> None:
    doc = client.get("/api/records/match-report", params={"status": status, "limit": 3}).json()
    assert doc["total"] == expected
    assert all(r["status"] == status for r in doc["rows"])


def test_match_report_candidates(client: TestClient) -> None:
    def rows(status: str) -> list[dict[str, Any]]:
        return client.get("/api/records/match-report", params={"status": status}).json()["rows"]

    [row] = rows("ambiguous")
    assert row["record_id"] == "v:5" and row["enterprise_id"] is None
    assert [c["id"] for c in row["candidates"]] == [SHOUGANG, HBIS]
    assert set(row["candidates"][0]) == {"id", "name", "score", "reasons"}
    [unmatched] = rows("unmatched")
    assert unmatched["candidates"] == [] and unmatched["reason"]


@pytest.mark.parametrize("params", [{"status": "Matched!"}, {"limit": 0}, {"offset": -1}])
def test_match_report_bad_params(client: TestClient, params: dict) -> None:
    assert client.get("/api/records/match-report", params=params).status_code == 422


def _decode(content: bytes) -> dict[str, Any]:
    raw = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    return mapbox_vector_tile.decode(raw)


@pytest.mark.parametrize("tile", [(0, 0, 0), (4, 13, 6), (8, 212, 97)])
def test_cited_tiles_are_never_clustered(client: TestClient, tile: tuple[int, int, int]) -> None:
    z, x, y = tile
    r = client.get(f"/tiles/cited/{z}/{x}/{y}.pbf")
    assert r.status_code == 200
    features = _decode(r.content)["cited"]["features"]
    assert all("point_count" not in f["properties"] for f in features)
    assert {f["properties"]["id"] for f in features} <= {SHOUGANG, HBIS, TAIYUAN}
    if z == 0:
        assert {f["properties"]["id"] for f in features} == {SHOUGANG, HBIS, TAIYUAN}


def test_enterprise_tiles_carry_quarter_properties(client: TestClient) -> None:
    features = _decode(client.get("/tiles/enterprises/8/212/97.pbf").content)["enterprises"]
    props = {f["properties"]["id"]: f["properties"] for f in features["features"]}
    shougang = props[SHOUGANG]
    assert shougang["records"] == 3 and shougang["v_2018Q4"] == 2 and shougang["v12_2019Q1"] == 3
    assert shougang["out_2018Q4"] == 12.5 and shougang["up_2018Q4"] == 1
    assert shougang["flag_2018Q4"] == 1 and "flag_2019Q1" not in shougang
    assert "approx" not in shougang and "v_2019Q2" not in shougang
    assert props[HBIS]["up_2019Q1"] == -1 and "records" not in props[HBIS]
    assert props[HBIS]["approx"] == 1


def _copy_release(fixture_release, tmp_path: Path, drop: tuple[str, ...]) -> Settings:
    """A copy of the fixture release without the files starting with ``drop``, no timeline,
    and an enterprises parquet without ``name_pinyin``."""
    root = tmp_path / "releases" / fixture_release.id
    shutil.copytree(fixture_release.root, root)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = [f for f in manifest["files"] if not f["path"].startswith(drop)]
    del manifest["timeline"]
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    frame = gpd.read_parquet(root / "enterprises" / "enterprises.parquet")
    frame.drop(columns="name_pinyin").to_parquet(root / "enterprises" / "enterprises.parquet")
    return Settings(data_dir=tmp_path, release=fixture_release.id, max_page_size=10)


def test_release_without_records(fixture_release, tmp_path: Path) -> None:
    settings = _copy_release(
        fixture_release, tmp_path, ("records/", "enterprises/enterprise_quarters")
    )
    with TestClient(create_app(settings)) as other:
        assert other.get("/api/release").json()["timeline"] == ["2019Q1", "2019Q2"]
        doc = other.get("/api/enterprises", params={"q": "hegang"}).json()  # pypinyin fallback
        assert [f["id"] for f in doc["features"]] == [HBIS]
        assert doc["features"][0]["properties"]["records"] == 0
        empty = card(other, SHOUGANG)
        assert empty["violations"] == empty["output"] == empty["quarters"] == []
        assert other.get("/api/enterprises", params={"has_violations": True}).json()["total"] == 0
        assert other.get("/api/enterprises", params={"quarter": "2018Q4"}).status_code == 422
        assert other.get("/api/records/match-report").json() == {
            "total": 0, "limit": 10, "offset": 0, "rows": []
        }  # fmt: skip


def test_facts_from_csv(fixture_release, client: TestClient, tmp_path: Path) -> None:
    parquet = ("enterprises/enterprise_quarters.parquet",)
    settings = _copy_release(fixture_release, tmp_path, parquet)
    with TestClient(create_app(settings)) as other:
        for enterprise_id in (SHOUGANG, TAIYUAN):
            from_csv = card(other, enterprise_id)["quarters"]
            assert [q["quarter"] for q in from_csv] == ["2019Q1", "2019Q2"]  # timeline = quarters
            assert from_csv == card(client, enterprise_id)["quarters"][1:]


@pytest.mark.parametrize("name", ["Hebei", "hebei ", "河北省", "河北"])
def test_province_key(name: str) -> None:
    from lantian.server.releases.records import province_key

    assert province_key(name) == "河北"
    assert province_key("Shaanxi") != province_key("Shanxi") == province_key("山西省")


def test_facets_count_industries_and_provinces(client: TestClient) -> None:
    facets = client.get("/api/enterprises/facets").json()
    assert facets["industry"][0] == {"value": "steel", "count": 3}
    assert {f["value"] for f in facets["industry"]} == {"steel", "coal_power", "coking"}
    assert sum(f["count"] for f in facets["province"]) == 6
    assert facets["province"][0] == {"value": "河北省", "count": 2}
