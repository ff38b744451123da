"""Embeds of one month or year: ``/embed?period=…`` (also ``/embed/preview.png`` and
``/api/embed/describe``), ``lantian.embed(period=…)`` and ``lantian embed --period``.

The release is the server fixture with synthetic grids added for the test (as in
test_diff_tiles.py): 2019-01 and 2019 hold the field of 2019Q2 (60 µg/m³ at 34 °N, 110 °E),
2019-04 that of 2019Q1 (140), each with its raster tiles; plant facts stay quarterly (2018Q4,
2019Q1, 2019Q2)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lantian_fixture_release as builder  # registered by tests/conftest.py
import pytest
from fastapi.testclient import TestClient
from lantian_fixture_release import embed_config  # registered by tests/conftest.py
from typer.testing import CliRunner

from lantian.cli import app as cli_app
from lantian.server.app import create_app
from lantian.server.embeds.routes import embed, embed_map
from lantian.server.embeds.view import EmbedLimits, EmbedView, resolve_view
from lantian.server.errors import InvalidParameterError, NotFoundError
from lantian.server.releases.release import Release, open_release
from lantian.settings import Settings

SERVER = "http://maps.example.org:8000"
HEBEI = (113.4, 36.0, 119.9, 42.6)
BBOX = ",".join(map(str, HEBEI))
# synthetic: each added period and the quarter whose field (pm25_value) it copies
ADDED = {"2019-01": "2019Q2", "2019-04": "2019Q1", "2019": "2019Q2"}
OVERLAY = re.compile(r"L\.imageOverlay\(\s*\"(data:image/png;base64,[A-Za-z0-9+/=]+)\"")


@pytest.fixture(scope="module")
def period_release(tmp_path_factory: pytest.TempPathFactory) -> Any:
    release = builder.build_release(tmp_path_factory.mktemp("perioddata"))
    return builder.add_periods(release, ADDED, "tests/server/test_embed_period.py")


@pytest.fixture(scope="module")
def release(period_release: Any) -> Iterator[Release]:
    opened = open_release(period_release.root)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(period_release: Any) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=period_release.data_dir))) as test_client:
        yield test_client


# ---- the builder -----------------------------------------------------------------------------


def test_linked_month_embed_draws_the_months_tiles_and_names_it(release: Release) -> None:
    built = embed_map(release, EmbedView(bbox=HEBEI, period="2019-01"), "linked", SERVER)
    config = embed_config(built.html)
    url = f"{SERVER}/tiles/pm25/2019-01/{{z}}/{{x}}/{{y}}.png?release={release.id}"
    assert config["pm25Tiles"]["url"] == url
    assert config["style"]["sources"]["pm25"]["tiles"] == [url]
    assert built.title.startswith("PM2.5 and plants, January 2019: ")
    assert "Map of monthly mean PM2.5 in January 2019" in built.alt
    assert "The plants' facts are those of 2019 Q1." in built.alt
    assert "Data: PM2.5 January 2019; plant facts 2019 Q1 (Jan–Mar)" in config["titleHtml"]
    assert "PM2.5, January 2019 (µg/m³)" in config["legendHtml"]
    assert "in the 12 months to 2019 Q1" in config["legendHtml"]  # the plants' quarter
    assert "quarter=2019Q1" in config["markersUrl"]  # plants: the month's quarter
    assert built.quarter == "2019Q1" and built.period == "2019-01"


def test_plants_follow_the_periods_quarter_unless_one_is_given(release: Release) -> None:
    limits = EmbedLimits()
    for period, quarter in (("2019-01", "2019Q1"), ("2019-04", "2019Q2"), ("2019Q1", "2019Q1"),
                            ("2019", "2019Q2")):  # fmt: skip
        resolved = resolve_view(release, EmbedView(period=period), limits)
        assert (resolved.quarter, resolved.shown, resolved.has_grid) == (quarter, period, True)
    given = resolve_view(release, EmbedView(period="2019-01", quarter="2019Q2"), limits)
    assert (given.quarter, given.shown) == ("2019Q2", "2019-01")
    plain = resolve_view(release, EmbedView(quarter="2019Q1"), limits)  # as before periods
    assert (plain.quarter, plain.shown, plain.period) == ("2019Q1", "2019Q1", None)


def test_standalone_month_overlay_is_the_months_grid(release: Release) -> None:
    def overlay(**view: Any) -> str:
        found = OVERLAY.findall(embed_map(release, EmbedView(bbox=HEBEI, **view)).html)
        assert len(found) == 1
        return str(found[0])

    month = overlay(period="2019-01")
    assert month == overlay(quarter="2019Q2")  # the same synthetic field
    assert month != overlay(quarter="2019Q1")
    built = embed_map(release, EmbedView(bbox=HEBEI, period="2019-01"))
    assert built.filename == f"lantian-{release.id}-2019-01.html"
    assert built.quarter == "2019Q1"


def test_a_year_in_chinese(release: Release) -> None:
    built = embed_map(release, EmbedView(bbox=HEBEI, period="2019"), "linked", SERVER, lang="zh")
    config = embed_config(built.html)
    assert "/tiles/pm25/2019/{z}/{x}/{y}.png" in config["pm25Tiles"]["url"]
    assert "2019年" in built.title and "2019年PM2.5年均值地图" in built.alt
    assert "2019年PM2.5（µg/m³）" in config["legendHtml"]
    assert "企业信息为2019年第二季度" in config["titleHtml"]


def test_the_python_api_takes_a_period(period_release: Any) -> None:
    built = embed(period_release.data_dir, province="Hebei", period="2019-04")
    assert built.quarter == "2019Q2" and "April 2019" in built.title
    with pytest.raises(InvalidParameterError, match=r"^period: "):
        embed(period_release.data_dir, period="2019-13")
    with pytest.raises(NotFoundError, match=r"^period: "):
        embed(period_release.data_dir, period="2018-07")
    with pytest.raises(InvalidParameterError, match=r"^period: give period or compare"):
        embed(period_release.data_dir, period="2019-01", compare="2019Q1,2019Q2")


# ---- HTTP ------------------------------------------------------------------------------------


def test_embed_endpoint_takes_a_period(client: TestClient, period_release: Any) -> None:
    pinned = {"release": period_release.id, "bbox": BBOX, "lang": "en"}
    page = client.get("/embed", params={**pinned, "period": "2019-01"})
    assert page.status_code == 200, page.text
    config = embed_config(page.text)
    base = str(client.base_url)
    tiles = config["pm25Tiles"]["url"]
    assert f"{base}/tiles/pm25/2019-01/" in tiles
    tile = client.get(tiles.removeprefix(base).replace("{z}/{x}/{y}", "3/6/3"))
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
    markers = client.get(config["markersUrl"].removeprefix(base)).json()
    assert markers["quarter"] == "2019Q1"
    quarter = client.get("/embed", params={**pinned, "quarter": "2019Q1"})
    assert quarter.status_code == 200 and "/tiles/pm25/2019Q1/" in quarter.text
    assert "January 2019" not in quarter.text
    assert page.headers["etag"] != quarter.headers["etag"]
    download = client.get("/embed", params={**pinned, "period": "2019", "mode": "standalone"})
    assert download.status_code == 200
    assert (f'filename="lantian-{period_release.id}-2019.html"'
            in download.headers["content-disposition"])  # fmt: skip


def test_describe_and_preview_take_a_period(client: TestClient) -> None:
    body = client.get("/api/embed/describe",
                      params={"period": "2019-04", "bbox": BBOX, "lang": "en"}).json()  # fmt: skip
    assert (body["period"], body["quarter"], body["has_grid"]) == ("2019-04", "2019Q2", True)
    assert "April 2019" in body["title"] and "monthly mean PM2.5 in April 2019" in body["alt"]
    zh = client.get("/api/embed/describe", params={"period": "2019", "lang": "zh"}).json()
    assert "2019年" in zh["title"] and zh["quarter"] == "2019Q2"
    given = client.get("/api/embed/describe", params={"period": "2019-01", "quarter": "2019Q2"})
    assert given.json()["quarter"] == "2019Q2"
    png = client.get("/embed/preview.png", params={"period": "2019-01", "bbox": BBOX,
                                                   "width": 240, "height": 180})  # fmt: skip
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.headers["x-period"] == "2019-01" and png.headers["x-quarter"] == "2019Q1"
    quarter = client.get("/embed/preview.png", params={"quarter": "2019Q1", "bbox": BBOX,
                                                       "width": 240, "height": 180})  # fmt: skip
    assert quarter.headers["etag"] != png.headers["etag"]


@pytest.mark.parametrize("path", ["/embed", "/embed/preview.png", "/api/embed/describe"])
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"period": "2018-07"}, 404),
        ({"period": "2020"}, 404),
        ({"period": "2019-13"}, 422),
        ({"period": "2019Q5"}, 422),
        ({"period": "Jan 2019"}, 422),
    ],
)
def test_a_bad_period_is_named(client: TestClient, path: str, params: dict[str, str],
                               status: int) -> None:  # fmt: skip
    response = client.get(path, params={"bbox": BBOX, **params})
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    if isinstance(detail, list):  # FastAPI's own check of the pattern
        assert [e["loc"][-1] for e in detail] == ["period"]
    else:
        assert detail.startswith("period: ")


def test_period_and_a_pair_are_one_too_many(client: TestClient) -> None:
    response = client.get("/embed", params={"period": "2019-01", "compare": "2019Q1,2019Q2"})
    assert response.status_code == 422 and response.json()["detail"].startswith("period: ")


# ---- CLI -------------------------------------------------------------------------------------


def test_cli_embed_period_compare_and_diff(period_release: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["embed", "--data-dir", str(period_release.data_dir), "--bbox", BBOX]
    out = tmp_path / "month.html"
    result = runner.invoke(cli_app, [*data, "--period", "2019-01", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "January 2019" in result.output
    page = out.read_text(encoding="utf-8")
    assert len(OVERLAY.findall(page)) == 1 and "/tiles/" not in page  # standalone
    config = embed_config(page)
    assert "January 2019" in config["titleHtml"] and config["markers"]

    swipe = runner.invoke(cli_app, [*data, "--compare", "2019Q1,2019Q2", "--lang", "zh",
                                    "-o", str(tmp_path / "swipe.html")])  # fmt: skip
    assert swipe.exit_code == 0, swipe.output
    assert "2019年第一季度与2019年第二季度" in swipe.output
    assert "compare" in embed_config((tmp_path / "swipe.html").read_text(encoding="utf-8"))
    change = runner.invoke(cli_app, [*data, "--diff", "2019-01,2019-04",
                                     "-o", str(tmp_path / "diff.html")])  # fmt: skip
    assert change.exit_code == 0, change.output
    assert "Change in PM2.5 from January 2019 to April 2019" in change.output

    for args, named in ((["--period", "2018-07"], "period"), (["--period", "bad"], "period"),
                        (["--diff", "2019-01"], "diff")):  # fmt: skip
        bad = runner.invoke(cli_app, [*data, *args, "-o", str(tmp_path / "x.html")])
        assert bad.exit_code == 1 and named in bad.output, bad.output
