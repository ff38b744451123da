"""Enterprises with operating periods, statuses, coking and units (issue 15): the filters
``status``, ``min_capacity``, ``period`` and ``coking``, facets, the card and the extracts; a
release from before (the plain fixture) treats the new columns as unknown."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import lantian_fixture_release as builder  # registered by tests/conftest.py
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lantian.server.app import create_app
from lantian.settings import Settings

SHOUGANG, HBIS, TAIYUAN = builder.SHOUGANG, builder.HBIS, builder.TAIYUAN
JINGNENG, DAGANG, RIZHAO = "wri:1000453", "wri:1000454", "gem:P100000120003"
ALL = {p["id"] for p in builder.PLANTS}


@pytest.fixture(scope="module")
def periods_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    release = builder.build_release(tmp_path_factory.mktemp("periods"))
    builder.with_operating_periods(release.root)
    with TestClient(create_app(Settings(data_dir=release.data_dir))) as client:
        yield client


def ids(client: TestClient, **params: Any) -> set[str]:
    """Ids of every page of the matching enterprises."""
    found: set[str] = set()
    while True:
        r = client.get("/api/enterprises", params={"offset": len(found), **params})
        assert r.status_code == 200, r.text
        doc = r.json()
        found |= {f["id"] for f in doc["features"]}
        if len(found) >= doc["total"] or not doc["features"]:
            return found


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "operating"}, {SHOUGANG, JINGNENG, RIZHAO}),
    ({"status": "retired,construction"}, {HBIS, DAGANG}),
    ({"status": "Retired"}, {HBIS}),
    ({"coking": "true"}, {SHOUGANG, TAIYUAN}),
    ({"coking": "false"}, ALL - {SHOUGANG, TAIYUAN}),
    ({"industry": "steel", "min_capacity": 9000}, {SHOUGANG, RIZHAO}),
    ({"industry": "coal_power", "min_capacity": 0}, {JINGNENG, DAGANG}),
    # operating in the period: never-built plants never; unknown dates always
    ({"period": "2019Q1"}, {SHOUGANG, HBIS, JINGNENG, TAIYUAN}),
    ({"period": "2019-05"}, {SHOUGANG, JINGNENG, TAIYUAN, RIZHAO}),  # its quarter: 2019Q2
    ({"period": "2019"}, {SHOUGANG, HBIS, JINGNENG, TAIYUAN, RIZHAO}),  # any of its quarters
    ({"period": "2008"}, {HBIS, JINGNENG, TAIYUAN}),
    ({"quarter": "2019Q2"}, {SHOUGANG, JINGNENG, TAIYUAN, RIZHAO}),  # quarter= restricts too
    # a year shown with its last quarter's facts: the year decides who operated (HBIS to Q1)
    ({"period": "2019", "quarter": "2019Q2"}, {SHOUGANG, HBIS, JINGNENG, TAIYUAN, RIZHAO}),
    ({"period": "2019-05", "quarter": "2019Q2"}, {SHOUGANG, JINGNENG, TAIYUAN, RIZHAO}),
])  # fmt: skip
def test_period_status_capacity_and_coking_filters(
    periods_client: TestClient, params: dict[str, Any], expected: set[str]
) -> None:
    assert ids(periods_client, **params) == expected


@pytest.mark.parametrize(("params", "name"), [
    ({"min_capacity": 100}, "min_capacity"),
    ({"industry": "steel", "min_capacity": -1}, "min_capacity"),
    ({"industry": "steel", "min_capacity": "a lot"}, "min_capacity"),
    ({"period": "2019Q5"}, "period"),
    ({"period": "19"}, "period"),
    ({"coking": "perhaps"}, "coking"),
    ({"status": "operating;drop"}, "status"),
])  # fmt: skip
def test_bad_filters_are_422_naming_the_parameter(
    periods_client: TestClient, params: dict[str, Any], name: str
) -> None:
    r = periods_client.get("/api/enterprises", params=params)
    assert r.status_code == 422
    detail = r.json()["detail"]
    if isinstance(detail, str):
        assert detail.startswith(f"{name}:")
    else:
        assert [e["loc"][-1] for e in detail] == [name]


def test_min_capacity_without_industry_names_the_parameter_in_extracts_too(
    periods_client: TestClient,
) -> None:
    r = periods_client.get("/api/extract/enterprises.csv", params={"min_capacity": 5})
    assert r.status_code == 422 and r.json()["detail"].startswith("min_capacity: needs industry")


def test_facets_list_statuses_units_and_coking(periods_client: TestClient) -> None:
    facets = periods_client.get("/api/enterprises/facets").json()
    assert facets["status"] == [
        {"value": "operating", "count": 3}, {"value": "construction", "count": 1},
        {"value": "retired", "count": 1},
    ]  # fmt: skip
    assert facets["capacity_units"] == {"coal_power": "MW", "coking": "ttpa", "steel": "ttpa"}
    assert facets["coking"] == 2


def test_card_has_status_dates_periods_sources_and_units(periods_client: TestClient) -> None:
    doc = periods_client.get(f"/api/enterprises/{SHOUGANG}/card").json()
    identity = doc["identity"]
    assert identity["status"] == "operating" and identity["coking"] is True
    assert identity["coking_capacity"] == 4000.0 and identity["owner_zh"] == "首钢集团"
    assert doc["operation"] == {
        "status": "operating", "start_date": "2009-05", "idled_date": None,
        "retired_date": None, "op_from": "2009Q2", "op_to": None, "ever_operated": True,
        "dates_caveat": None, "units": 1, "capacity_unit": "ttpa",
    }  # fmt: skip
    assert doc["source_ids"] == [
        {"id": SHOUGANG, "source": "gem", "attribution": "Global Energy Monitor <GEM>",
         "url": "https://globalenergymonitor.org"},
        {"id": "gspt:P100000120001", "source": "gem", "attribution": "Global Energy Monitor <GEM>",
         "url": "https://globalenergymonitor.org"},
    ]  # fmt: skip
    quarters = doc["quarters"]
    assert [q["quarter"] for q in quarters] == ["2018Q4", "2019Q1", "2019Q2"]
    assert all(q["operating"] is True and q["capacity_operating"] == 9700.0 for q in quarters)

    retired = periods_client.get(f"/api/enterprises/{HBIS}/card").json()
    assert [q["quarter"] for q in retired["quarters"]] == ["2018Q4", "2019Q1"]  # to 2019-02
    assert retired["operation"]["op_to"] == "2019Q1" and retired["operation"]["units"] == 0
    coal = periods_client.get(f"/api/enterprises/{JINGNENG}/card").json()
    assert coal["operation"]["dates_caveat"] == "no_start" and coal["operation"]["units"] == 2
    assert [(s["id"], s["source"]) for s in coal["source_ids"]] == [
        ("gem:G1", "gem"), ("wri:1000453", "wri")]
    assert coal["source_ids"][1]["attribution"] is None  # the release lists no wri source
    never = periods_client.get(f"/api/enterprises/{DAGANG}/card").json()
    assert never["operation"]["ever_operated"] is False and never["quarters"] == []


def test_extract_has_the_new_columns(periods_client: TestClient) -> None:
    r = periods_client.get("/api/extract/enterprises.csv",
                           params={"period": "2019Q1", "quarter": "2019Q1"})
    assert r.status_code == 200
    table = pd.read_csv(io.StringIO(r.text), dtype={"op_to": str})
    assert set(table["id"]) == {SHOUGANG, HBIS, JINGNENG, TAIYUAN}
    row = table.set_index("id").loc[HBIS]
    assert (row["status"], row["op_from"], row["op_to"]) == ("retired", "1943Q1", "2019Q1")
    assert row["operating"] and row["capacity_operating"] == 8000.0
    for column in ("source_ids", "start_date", "retired_date", "ever_operated", "dates_caveat",
                   "coking", "coking_capacity", "owner_zh", "products"):
        assert column in table.columns


def test_a_release_from_before_has_every_plant_in_every_period(client: TestClient) -> None:
    """The plain fixture has no status, dates or coking columns: unknown, so shown."""
    assert ids(client, period="2008") == ALL
    assert ids(client, coking="true") == {TAIYUAN}  # industry coking
    assert ids(client, status="operating") == set()
    doc = client.get(f"/api/enterprises/{SHOUGANG}/card").json()
    assert doc["operation"]["ever_operated"] is None and doc["operation"]["units"] is None
    assert doc["identity"]["status"] is None and doc["identity"]["coking"] is None
    assert [s["id"] for s in doc["source_ids"]] == [SHOUGANG]
    assert all(q["operating"] is None for q in doc["quarters"])
    facets = client.get("/api/enterprises/facets").json()
    assert facets["status"] == [] and facets["coking"] == 1


def test_a_years_extract_holds_the_plants_the_years_map_shows(periods_client: TestClient) -> None:
    """"Download what I see" of the year 2019 (facts of its last quarter in the timeline):
    every plant operating in any quarter of the year, as on the map; facts where it operated."""
    r = periods_client.get("/api/extract/enterprises.csv",
                           params={"period": "2019", "quarter": "2019Q2"})
    assert r.status_code == 200, r.text
    table = pd.read_csv(io.StringIO(r.text)).set_index("id")
    assert set(table.index) == ids(periods_client, period="2019")
    assert pd.isna(table.loc[HBIS, "operating"])  # retired in 2019Q1: no 2019Q2 facts
    assert table.loc[SHOUGANG, "operating"]
