"""The embeds take the enterprise search's filters (status, min_capacity, coking) and show the
plants operating in the ``period`` shown, as the web map and ``/api/enterprises`` do: the
linked page loads them, the standalone page, the CLI and the python API hold them, the alt
text names them (the fixture release with operating periods of test_enterprise_periods.py,
and the PM2.5 of 2019-01 and 2019)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lantian_fixture_release as builder  # registered by tests/conftest.py
import pytest
from fastapi.testclient import TestClient
from lantian_fixture_release import embed_config  # registered by tests/conftest.py
from typer.testing import CliRunner

from lantian.cli import app as cli_app
from lantian.server.app import create_app
from lantian.server.embeds.routes import embed
from lantian.server.errors import InvalidParameterError
from lantian.settings import Settings

SHOUGANG, HBIS, TAIYUAN = builder.SHOUGANG, builder.HBIS, builder.TAIYUAN
JINGNENG, DAGANG, RIZHAO = "wri:1000453", "wri:1000454", "gem:P100000120003"
PLACES = {p["id"]: (round(p["lat"], 5), round(p["lon"], 5)) for p in builder.PLANTS}
Q2 = {"quarter": "2019Q2"}


@pytest.fixture(scope="module")
def periods_release(tmp_path_factory: pytest.TempPathFactory) -> Any:
    release = builder.build_release(tmp_path_factory.mktemp("embedfilters"))
    builder.add_periods(release, {"2019-01": "2019Q1", "2019": "2019Q2"},
                        "tests/server/test_embed_filters.py")  # fmt: skip
    builder.with_operating_periods(release.root)
    return release


@pytest.fixture(scope="module")
def client(periods_release: Any) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=periods_release.data_dir))) as test_client:
        yield test_client


def searched(client: TestClient, params: dict[str, Any]) -> set[str]:
    """Ids of the plants ``/api/enterprises`` finds for ``params`` (one page: six plants)."""
    r = client.get("/api/enterprises", params=params)
    assert r.status_code == 200, r.text
    return {f["id"] for f in r.json()["features"]}


def places(rows: list[list[Any]]) -> set[tuple[float, float]]:
    """(lat, lon) of marker rows ``[lat, lon, industry, flags, name, popup]``."""
    return {(row[0], row[1]) for row in rows}


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "operating", **Q2}, {SHOUGANG, JINGNENG, RIZHAO}),
    ({"status": "retired,construction", "quarter": "2019Q1"}, {HBIS}),  # Dagang never ran
    ({"industry": "steel", "min_capacity": 9000, **Q2}, {SHOUGANG, RIZHAO}),
    ({"coking": "true", **Q2}, {SHOUGANG, TAIYUAN}),
    ({"coking": "false", **Q2}, {JINGNENG, RIZHAO}),
    # the year decides who operated (Hbis to 2019Q1), its last quarter the facts
    ({"period": "2019", **Q2}, {SHOUGANG, HBIS, JINGNENG, TAIYUAN, RIZHAO}),
    ({"period": "2019-01", "quarter": "2019Q1"}, {SHOUGANG, HBIS, JINGNENG, TAIYUAN}),
    ({"period": "2019", "status": "operating", "industry": "steel", "min_capacity": 9000,
      "coking": "false", **Q2}, {RIZHAO}),
])  # fmt: skip
def test_markers_are_the_plants_the_search_finds(
    client: TestClient, params: dict[str, Any], expected: set[str]
) -> None:
    assert searched(client, params) == expected
    r = client.get("/embed/markers.json", params={**params, "lang": "en"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(expected) and body["quarter"] == params["quarter"]
    assert places(body["markers"]) == {PLACES[i] for i in expected}


def test_a_years_embed_without_quarter_shows_every_plant_of_the_year(client: TestClient) -> None:
    body = client.get("/embed/markers.json", params={"period": "2019"}).json()
    assert body["quarter"] == "2019Q2"  # the facts of the year's last quarter
    assert places(body["markers"]) == {PLACES[i] for i in searched(client, {"period": "2019"})}
    assert PLACES[HBIS] in places(body["markers"])  # retired in 2019Q1: operated in 2019


def test_linked_page_loads_the_filtered_plants(client: TestClient, periods_release: Any) -> None:
    params = {"release": periods_release.id, "period": "2019", "status": "operating",
              "industry": "steel", "min_capacity": "9000", "coking": "false", "lang": "en"}
    page = client.get("/embed", params=params)
    assert page.status_code == 200, page.text
    url = embed_config(page.text)["markersUrl"]
    query = parse_qs(urlsplit(url).query)
    assert {k: query[k] for k in ("status", "min_capacity", "coking", "period", "quarter")} == {
        "status": ["operating"], "min_capacity": ["9000.0"], "coking": ["false"],
        "period": ["2019"], "quarter": ["2019Q2"]}  # fmt: skip
    markers = client.get(url.removeprefix(str(client.base_url))).json()
    assert places(markers["markers"]) == {PLACES[RIZHAO]}
    alt = "(only those with status operating and of at least 9,000 thousand t/yr and " \
          "without coke ovens or coke-oven gas)"
    assert alt in page.text  # the page's description and the map's alt text
    del params["status"], params["coking"]
    unfiltered = client.get("/embed", params=params)
    assert unfiltered.status_code == 200
    assert unfiltered.headers["etag"] != page.headers["etag"]


def test_standalone_page_holds_the_years_plants(client: TestClient) -> None:
    page = client.get("/embed", params={"mode": "standalone", "period": "2019", "coking": "true"})
    assert page.status_code == 200, page.text
    assert places(embed_config(page.text)["markers"]) == {PLACES[SHOUGANG], PLACES[TAIYUAN]}


@pytest.mark.parametrize("path", ["/embed", "/embed/markers.json", "/embed/preview.png",
                                  "/api/embed/describe"])  # fmt: skip
@pytest.mark.parametrize(("params", "name"), [
    ({"min_capacity": 100}, "min_capacity"),
    ({"industry": "steel", "min_capacity": -1}, "min_capacity"),
    ({"status": "operating;drop"}, "status"),
    ({"coking": "perhaps"}, "coking"),
])  # fmt: skip
def test_bad_filters_are_422_naming_the_parameter(
    client: TestClient, path: str, params: dict[str, Any], name: str
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    if isinstance(detail, str):
        assert detail.startswith(f"{name}:")
    else:
        assert [e["loc"][-1] for e in detail] == [name]


def test_describe_names_the_filters(client: TestClient) -> None:
    params = {"status": "operating,construction", "coking": "true", "period": "2019"}
    en = client.get("/api/embed/describe", params={**params, "lang": "en"}).json()
    assert en["counts"]["plants"] == len(searched(client, {**params, **Q2})) == 1  # Shougang
    assert ("(only those with status operating or under construction and with coke ovens or "
            "coke-oven gas)") in en["alt"]  # fmt: skip
    zh = client.get("/api/embed/describe", params={**params, "lang": "zh"}).json()
    assert "（仅限状态为运行或在建且有焦炉或使用焦炉煤气的企业）" in zh["alt"]
    capacity = {"industry": "coal_power", "min_capacity": "800", "coking": "false", "lang": "zh"}
    coal = client.get("/api/embed/describe", params=capacity).json()
    assert "（仅限产能不低于800 兆瓦且无焦炉且不使用焦炉煤气的企业）" in coal["alt"]
    year = client.get("/api/embed/describe", params={"period": "2019"}).json()
    assert year["counts"]["plants"] == 5  # Hbis ran in 2019Q1, Rizhao from 2019Q2


def test_preview_draws_the_filtered_plants(client: TestClient) -> None:
    size: dict[str, Any] = {"width": 240, "height": 180, "bbox": "110,34,122,43"}
    every = client.get("/embed/preview.png", params={**size, "period": "2019"})
    some = client.get("/embed/preview.png", params={**size, "period": "2019", "status": "retired"})
    assert every.status_code == some.status_code == 200
    assert every.headers["etag"] != some.headers["etag"]
    assert every.content != some.content  # fewer plants drawn


def test_the_python_api_takes_the_filters(periods_release: Any) -> None:
    built = embed(periods_release.data_dir, industry="steel", min_capacity=9000, period="2019",
                  status="operating", coking=True)  # fmt: skip
    assert built.markers == 1 and "with coke ovens or coke-oven gas" in built.alt  # Shougang
    with pytest.raises(InvalidParameterError, match=r"^min_capacity: needs industry"):
        embed(periods_release.data_dir, min_capacity=10)


def test_cli_embed_writes_only_the_filtered_plants(periods_release: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["embed", "--data-dir", str(periods_release.data_dir)]
    out = tmp_path / "operating.html"
    result = runner.invoke(cli_app, [*data, "--status", "operating", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = embed_config(out.read_text(encoding="utf-8"))["markers"]
    assert places(rows) == {PLACES[i] for i in (SHOUGANG, JINGNENG, RIZHAO)}

    year = tmp_path / "year.html"
    result = runner.invoke(cli_app, [*data, "--period", "2019", "--industry", "steel",
                                     "--min-capacity", "9000", "--no-coking", "-o", str(year)])
    assert result.exit_code == 0, result.output
    assert places(embed_config(year.read_text(encoding="utf-8"))["markers"]) == {PLACES[RIZHAO]}
    coking = tmp_path / "coking.html"
    result = runner.invoke(cli_app, [*data, "--coking", "-o", str(coking)])
    assert result.exit_code == 0, result.output
    rows = embed_config(coking.read_text(encoding="utf-8"))["markers"]
    assert places(rows) == {PLACES[SHOUGANG], PLACES[TAIYUAN]}

    bad = runner.invoke(cli_app, [*data, "--min-capacity", "10", "-o", str(tmp_path / "x.html")])
    assert bad.exit_code == 1 and "min_capacity: needs industry" in bad.output, bad.output


def test_the_title_names_the_filters_and_a_count_of_none(client: TestClient) -> None:
    params = {"industry": "coal_power", "status": "operating", "period": "2019"}
    en = client.get("/api/embed/describe", params={**params, "lang": "en"}).json()
    assert en["title"] == ("PM2.5 and plants, 2019: 1 coal power plant (only those with status "
                           "operating), none cited for violations (synthetic data)")  # Jingneng
    zh = client.get("/api/embed/describe", params={**params, "lang": "zh"}).json()
    assert zh["title"] == ("2019年PM2.5与企业：1家燃煤发电企业（仅限状态为运行的企业），"
                           "均无违法记录（合成数据）")
