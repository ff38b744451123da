"""/api/stats and /api/rankings over a release with statistics in the issue-13 schema
(tests/server/fixture_stats.py: synthetic values, six cities, 2019 plus two months of 2018)."""

from __future__ import annotations

import csv
import io
from typing import Any

import lantian_fixture_stats as stats_fixture  # registered by tests/conftest.py
import pytest
from fastapi.testclient import TestClient


def rows_of(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/rankings", params=params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def assert_names(response: Any, parameter: str) -> None:
    """A 4xx whose body names ``parameter``."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert parameter in response.text, response.text


# ---- /api/stats ----------------------------------------------------------------------------


def test_stats_filters_rows_in_the_contract_schema(stats_client: TestClient) -> None:
    doc = stats_client.get("/api/stats", params={"code": "130100", "period": "2019-01"}).json()
    assert doc["total"] == 1
    row = doc["rows"][0]
    assert row["region_type"] == "city" and row["name_en"] == "Shijiazhuang"
    assert row["period_type"] == "month" and row["valid"] is True
    assert row["change_prev_period"] == "2018-12" and row["change_year_period"] == "2018-01"
    years = stats_client.get("/api/stats", params={"period_type": "year"}).json()["rows"]
    assert years and {r["period"] for r in years} == {"2019"}
    groups = stats_client.get("/api/stats", params={"region_type": "2+26",
                                                    "period": "2019Q1"}).json()  # fmt: skip
    assert groups["total"] == 1 and groups["rows"][0]["n_cities"] == 4


def test_stats_answers_are_cached_by_etag(stats_client: TestClient) -> None:
    first = stats_client.get("/api/stats", params={"period": "2019"})
    assert first.headers["cache-control"] == "public, max-age=300"
    again = stats_client.get("/api/stats", params={"period": "2019"},
                             headers={"If-None-Match": first.headers["etag"]})  # fmt: skip
    assert again.status_code == 304 and not again.content
    pinned = stats_client.get("/api/stats", params={"period": "2019",
                                                    "release": "2019-fixture.1"})  # fmt: skip
    assert "immutable" in pinned.headers["cache-control"]
    assert pinned.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"period": "2020-01"}, "period"),  # not in the statistics
        ({"period": "2019-13"}, "period"),
        ({"period": "x" * 40}, "period"),
        ({"period_type": "week"}, "period_type"),
        ({"period_type": "x" * 40}, "period_type"),
        ({"region_type": "county"}, "region_type"),
        ({"region_type": "x" * 40}, "region_type"),
        ({"period": "2019-01", "period_type": "year"}, "period"),
        ({"code": "1" * 40}, "code"),
        ({"region": "x" * 100}, "region"),
        ({"release": "no-such-release"}, "release"),
    ],
)
def test_stats_bad_parameters_are_4xx_naming_them(
    stats_client: TestClient, params: dict[str, str], parameter: str
) -> None:
    assert_names(stats_client.get("/api/stats", params=params), parameter)


def test_stats_without_the_new_schema_still_filter(client: TestClient) -> None:
    """An older release (rows without code, no regions.json): filters still work."""
    rows = client.get("/api/stats", params={"region_type": "city", "period": "2019Q1"}).json()
    assert rows["total"] == 2
    assert client.get("/api/stats", params={"period": "2019-01"}).status_code == 422


# ---- /api/rankings --------------------------------------------------------------------------


def test_rankings_sorted_by_level(stats_client: TestClient) -> None:
    doc = stats_client.get("/api/rankings", params={"period": "2019-01"}).json()
    assert doc["period"] == "2019-01" and doc["group"]["code"] == "national"
    rows = doc["rows"]
    assert len(rows) == doc["total"] == len(stats_fixture.CITIES)
    values = [r["pm25"] for r in rows]
    assert values == sorted(values, reverse=True)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    top = rows[0]
    assert top["code"] == "130100" and top["name_zh"] == "石家庄"
    assert top["province"] == "130000" and top["province_name_en"] == "Hebei"
    assert top["n_days"] == 30 and isinstance(top["n_days"], int)
    assert top["days_over_75"] is not None and top["rank_national"] == 1
    ascending = rows_of(stats_client, period="2019-01", order="asc")
    assert [r["code"] for r in ascending] == [r["code"] for r in reversed(rows)]


def test_rankings_by_change_put_not_available_last(stats_client: TestClient) -> None:
    rows = rows_of(stats_client, period="2019-01", sort="change_year")
    changes = [r["change_year_pct"] for r in rows]
    assert changes[-1] is None and rows[-1]["code"] == "371100"  # Rizhao: no 2018-01 value
    assert rows[-1]["rank"] is None
    known = changes[:-1]
    assert known == sorted(known, reverse=True)
    assert [r["rank"] for r in rows[:-1]] == list(range(1, len(known) + 1))
    ascending = rows_of(stats_client, period="2019-01", sort="change_year", order="asc")
    assert ascending[-1]["code"] == "371100"
    assert [r["change_year_pct"] for r in ascending[:-1]] == sorted(known)
    previous = rows_of(stats_client, period="2019-02", sort="change_prev")
    assert all(r["change_prev_pct"] is not None for r in previous)


def test_rankings_of_a_group_or_a_province(stats_client: TestClient) -> None:
    group = stats_client.get("/api/rankings", params={"period": "2019Q1", "group": "2+26"}).json()
    assert group["group"]["name_en"] == "2+26 cities"
    assert {r["code"] for r in group["rows"]} == {"110100", "120100", "130100", "130200"}
    fenwei = rows_of(stats_client, period="2019", group="Fenwei")
    assert [r["code"] for r in fenwei] == ["140100"]
    hebei = rows_of(stats_client, period="2019", group="130000")
    assert [r["code"] for r in hebei] == ["130100", "130200"]
    assert rows_of(stats_client, period="2019", group="YRD") == []  # no member in the fixture


def test_rankings_default_to_the_latest_month(stats_client: TestClient) -> None:
    assert stats_client.get("/api/rankings").json()["period"] == "2019-12"


def test_rankings_csv(stats_client: TestClient) -> None:
    params = {"period": "2019-01", "group": "national", "sort": "change_year", "format": "csv"}
    response = stats_client.get("/api/rankings", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="rankings_2019-01_national_change_year_desc.csv"')
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    as_json = rows_of(stats_client, **(params | {"format": "json"}))
    assert [r["code"] for r in rows] == [r["code"] for r in as_json]
    rizhao = rows[-1]
    assert rizhao["name_zh"] == "日照" and rizhao["change_year_pct"] == "not available"
    assert rizhao["rank"] == "not available"
    assert all(r["change_prev_pct"] not in ("", "0", "0.0") for r in rows)
    assert rows[0]["rank"] == "1" and rows[0]["pm25"] != ""
    group = stats_client.get("/api/rankings", params={"period": "2019-01", "group": "2+26",
                                                      "format": "csv"})  # fmt: skip
    assert "rankings_2019-01_2plus26_pm25_desc.csv" in group.headers["content-disposition"]
    assert stats_client.get("/api/rankings", params=params).headers["etag"] == (
        response.headers["etag"])


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"period": "2030-01"}, "period"),
        ({"period": "2019-1"}, "period"),
        ({"period": "x" * 40}, "period"),
        ({"group": "999999"}, "group"),  # no such province
        ({"group": "Yangtze"}, "group"),
        ({"group": "x" * 40}, "group"),
        ({"sort": "name"}, "sort"),
        ({"order": "up"}, "order"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_rankings_bad_parameters_are_4xx_naming_them(
    stats_client: TestClient, params: dict[str, str], parameter: str
) -> None:
    assert_names(stats_client.get("/api/rankings", params=params), parameter)
