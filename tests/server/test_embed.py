"""Folium embeds: the builder over the fixture release, ``/embed`` and ``lantian embed``."""

from __future__ import annotations

import html
import json
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
from lantian.server.deps import EnterpriseFilter
from lantian.server.embeds import routes as embed_module
from lantian.server.embeds.assets import script_json
from lantian.server.embeds.content import popup_html
from lantian.server.embeds.describe import describe_view
from lantian.server.embeds.routes import embed, embed_map
from lantian.server.embeds.view import EmbedLimits, EmbedView, resolve_province
from lantian.server.errors import InvalidParameterError, NotFoundError
from lantian.server.releases.release import Release, open_release
from lantian.settings import Settings

EVIL = "</script><script>window.__pwned=1</script>\u2028&"
SERVER = "http://maps.example.org:8000"
# Asset loads: <script src>, <link href>, <img src>, CSS url() and @import.
ASSET_URL = re.compile(
    r"<script[^>]*\ssrc=[\"']?https?:|<link[^>]*\shref=[\"']?https?:|<img[^>]*\ssrc=[\"']?https?:"
    r"|url\(\s*[\"']?https?:|@import",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def release(fixture_release) -> Iterator[Release]:
    opened = open_release(fixture_release.root)
    yield opened
    opened.close()


def test_script_json_cannot_close_the_script() -> None:
    text = script_json({"a": EVIL})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text
    assert json.loads(text) == {"a": EVIL}


def test_standalone_has_legend_title_attribution_and_markers(release: Release) -> None:
    built = embed_map(release, EmbedView(quarter="2019Q1", province="河北省"), "standalone")
    page = built.html
    config = embed_config(page)
    # The legend is the release's colour scale: same classes, colours and labels (as titles,
    # each class shown by its lower bound on one horizontal scale).
    classes = release.colormaps["pm25"]["classes"]
    swatches = re.findall(r'data-class="(\d+)" title="([^"]*)"><span class="lt-sw" '
                          r'style="background:(#\w+)"></span><span>([^<]*)</span>',
                          config["legendHtml"])  # fmt: skip
    assert [(int(i), html.unescape(t), c) for i, t, c, _ in swatches] == [
        (c["index"], c["label"], c["color"]) for c in classes
    ]
    assert [s[3] for s in swatches] == ["0", "15", "35", "75", "115", "150", "250+"]
    # Every source is attributed, escaped for Leaflet's attribution control.
    for source in release.sources:
        assert html.escape(source["attribution"]) in config["attributions"]
    assert "Global Energy Monitor &lt;GEM&gt;" in config["attributions"]
    # Title and alt text are the ones written from the data for /api/embed/describe.
    described = describe_view(release, EnterpriseFilter(province="河北省", quarter="2019Q1"))
    assert built.title == described.title == (
        "PM2.5 and plants, 2019 Q1: 2 plants in Hebei, 1 cited for violations (synthetic data)"
    )
    assert f"<title>{built.title}</title>" in page and '<html lang="en">' in page
    assert built.alt == described.alt and "2 plants in Hebei" in built.alt
    assert "Global Energy Monitor <GEM>" in built.alt  # escaped in the page
    alt = html.escape(built.alt)
    assert f'<meta name="description" content="{alt}">' in page
    assert f'<p id="{config["altId"]}" class="lt-sr-only">{alt}</p>' in page
    assert "2019 Q1 (Jan–Mar)" in config["titleHtml"] and release.id in config["titleHtml"]
    assert "Synthetic data" in config["titleHtml"]  # the fixture is synthetic
    # The boundary lines of an archive before the basemap (no land, no places).
    basemap = config["basemap"]
    assert basemap["lines"] and {k for k, _ in basemap["lines"]} <= {"cities", "provinces"}
    assert all(len(line) >= 2 for _, line in basemap["lines"])
    assert basemap["fills"] == [] and basemap["places"] == []
    assert built.markers == 2 and len(config["markers"]) == 2
    assert config["markersUrl"] is None
    shougang = next(m for m in config["markers"] if m[4] == "Shougang Jingtang Iron and Steel")
    assert shougang[3] & 1  # cited in the 12 months to 2019Q1
    assert "3 violation records" in shougang[5] and "首钢京唐钢铁" in shougang[5]
    # Self-contained: the PM2.5 overlay is inline and nothing is loaded over the network.
    assert "data:image/png;base64," in page
    assert 'url("data:image/png;base64,' in page  # Leaflet's CSS images
    assert not ASSET_URL.search(page), ASSET_URL.search(page)
    assert "sourceMappingURL" not in page
    assert "cdn.jsdelivr" not in page and "jquery" not in page.lower()


def test_linked_references_only_the_server(release: Release) -> None:
    built = embed_map(release, EmbedView(quarter="2019Q2", layer="pm25-cb"), "linked", SERVER)
    page = built.html
    urls = re.findall(r"https?://[^\s\"'<>)]+", page)
    assert urls and all(u.startswith(SERVER) for u in urls), urls
    assert f"{SERVER}/static/vendor/leaflet/leaflet.js" in page
    assert f"{SERVER}/static/vendor/maplibre-gl-leaflet/leaflet-maplibre-gl.js" in page
    config = embed_config(page)
    # MapLibre draws the release's basemap and PM2.5, both pinned to the release.
    sources = config["style"]["sources"]
    assert sources["pm25"]["tiles"] == [
        f"{SERVER}/tiles/pm25-cb/2019Q2/{{z}}/{{x}}/{{y}}.png?release={release.id}"]
    assert sources["basemap"]["tiles"] == [
        f"{SERVER}/tiles/boundaries/{{z}}/{{x}}/{{y}}.pbf?release={release.id}"]
    assert "glyphs" not in config["style"]  # labels drawn with the page's fonts
    assert f"{SERVER}/static/vendor/noto-sans-sc/" in page  # …the vendored one first
    assert config["pm25Tiles"]["url"] == sources["pm25"]["tiles"][0]  # without WebGL
    assert config["markers"] is None and "basemap" not in config
    assert config["markersUrl"].startswith(f"{SERVER}/embed/markers.json?release={release.id}&")
    assert "lang=en" in config["markersUrl"]
    assert "data:image/png" not in page
    assert len(page) < 40_000
    with pytest.raises(InvalidParameterError):
        embed_map(release, EmbedView(), "linked", None)
    with pytest.raises(InvalidParameterError):
        embed_map(release, EmbedView(), "linked", 'http://x"><script>')


def test_record_text_and_title_are_escaped(release: Release) -> None:
    evil = builder.with_enterprise_name(release, 0, EVIL)  # 首钢京唐钢铁, in Hebei
    built = embed_map(evil, EmbedView(quarter="2019Q1", bbox=(110, 34, 122, 43), title=EVIL))
    page = built.html
    assert "window.__pwned" in page
    assert "<script>window.__pwned" not in page
    assert page.count("</script>") == page.count("<script")
    assert "\u2028" not in page.split("<body>", 1)[1]
    assert f"<title>{html.escape(EVIL)}</title>" in page
    assert built.alt and html.escape(built.alt) in page  # the alt text is still the data's
    config = embed_config(page)
    assert html.escape(EVIL) in config["titleHtml"]
    marker = next(m for m in config["markers"] if m[4] == EVIL)
    assert f"<h3>{html.escape(EVIL)}</h3>" in marker[5]
    # The fixture's own hostile record text (a finding with an <img onerror>) and name.
    taiyuan = next(m for m in config["markers"] if m[4] == "Taiyuan Coking & Co")
    assert "<img" not in taiyuan[5] and "&lt;img src=x onerror=" in taiyuan[5]
    assert "太原焦化&lt;script&gt;" in taiyuan[5] and "Taiyuan Coking &amp; Co" in taiyuan[5]
    zh = embed_config(embed_map(evil, EmbedView(quarter="2019Q1", bbox=(110, 34, 122, 43)),
                           lang="zh").html)  # fmt: skip
    taiyuan = next(m for m in zh["markers"] if m[4] == "太原焦化<script>")
    assert "<h3>太原焦化&lt;script&gt;</h3>" in taiyuan[5]


def test_popup_escapes_every_text() -> None:
    props = {"id": "x:1", "name": "<n>", "name_en": "a&b", "industry": "steel", "city": "<c>",
             "province": "p", "data_source": "<s>", "geocode_precision": "<g>"}  # fmt: skip
    facts = {"violations_12m": 1, "latest_finding": "<f>", "latest_finding_date": "<d>",
             "output_change_pct": 12.0, "output_basis": "<o>", "pm25_10km": 50.0}  # fmt: skip
    text = popup_html(props, facts, "2019Q1", approx=True, lang="en")
    for raw in ("<n>", "<c>", "<s>", "<f>", "<d>", "<o>"):
        assert raw not in text and html.escape(raw) in text
    assert "a&amp;b" in text and "+12%" in text and "50 µg/m³" in text
    assert "<g>" not in text and "Approximate location" in text  # an unknown level: not shown
    zh = popup_html(props | {"geocode_precision": "county"}, facts, "2019Q1", True, "zh")
    assert "<h3>&lt;n&gt;</h3>" in zh and "位置为近似（县级）" in zh and "同比+12%" in zh


def test_marker_cap_and_bad_views(release: Release) -> None:
    with pytest.raises(InvalidParameterError, match="at most 2"):
        embed_map(release, EmbedView(quarter="2019Q1"), limits=EmbedLimits(max_markers=2))
    with pytest.raises(InvalidParameterError):
        embed_map(release, EmbedView(quarter="2017Q1"))
    with pytest.raises(InvalidParameterError):
        embed_map(release, EmbedView(layer="enterprises"))
    with pytest.raises(InvalidParameterError):
        embed_map(release, EmbedView(bbox=(0, 0, 100, 80)), limits=EmbedLimits(max_bbox_area=50))
    with pytest.raises(NotFoundError):
        embed_map(release, EmbedView(province="西藏自治区"))
    with pytest.raises(InvalidParameterError):
        embed_map(release, EmbedView(), mode="inline")  # type: ignore[arg-type]


def test_provinces_resolve(release: Release) -> None:
    assert resolve_province(release, "河北省") == "河北省"
    assert resolve_province(release, "河北") == "河北省"
    assert resolve_province(release, "Hebei") == "河北省"
    assert resolve_province(release, "shandong") == "山东省"


def test_no_grid_quarter_shows_plants_only(release: Release) -> None:
    built = embed_map(release, EmbedView(quarter="2018Q4"))
    config = embed_config(built.html)
    assert "No PM2.5 grid for 2018 Q4" in config["legendHtml"]
    assert built.title == "Plants, 2018 Q4: 6 plants, 1 cited for violations (synthetic data)"
    assert "There is no PM2.5 grid for 2018 Q4" in built.alt
    assert not re.search(r'L\.imageOverlay\(\s*"data:', built.html)
    linked = embed_config(embed_map(release, EmbedView(quarter="2018Q4"), "linked", SERVER).html)
    assert "pm25" not in linked["style"]["sources"] and "pm25Tiles" not in linked


def test_overlay_is_capped(release: Release) -> None:
    built = embed_map(release, EmbedView(quarter="2019Q1"), limits=EmbedLimits(max_overlay_side=64))
    import base64
    import io

    from PIL import Image

    uri = re.search(r'L\.imageOverlay\(\s*"(data:image/png;base64,[^"]+)"', built.html)
    assert uri
    image = Image.open(io.BytesIO(base64.b64decode(uri.group(1).split(",", 1)[1])))
    assert max(image.size) <= 64


def test_repr_html_and_save(release: Release, tmp_path: Path) -> None:
    built = embed_map(release, EmbedView(quarter="2019Q1", bbox=(115, 38, 120, 41)))
    assert "<iframe" in built._repr_html_()
    out = built.save(tmp_path / "map.html")
    assert out.read_text(encoding="utf-8") == built.html
    assert built.filename == f"lantian-{release.id}-2019Q1.html"


def test_embed_function_reads_a_data_dir(fixture_release) -> None:
    built = embed(fixture_release.data_dir, province="Hebei", quarter="2019Q1")
    assert built.release == fixture_release.id and built.markers == 2


# ---- HTTP ------------------------------------------------------------------------------------


def test_embed_endpoint_linked(client: TestClient, fixture_release) -> None:
    response = client.get("/embed", params={"quarter": "2019Q1", "province": "河北省"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "x-frame-options" not in response.headers
    assert "content-disposition" not in response.headers
    page = response.text
    base = str(client.base_url)
    assert f"{base}/static/vendor/leaflet/leaflet.js" in page
    assert f"?release={fixture_release.id}" in page
    config = embed_config(page)
    markers = client.get(config["markersUrl"].removeprefix(base))
    assert markers.status_code == 200
    assert markers.headers["access-control-allow-origin"] == "*"
    body = markers.json()
    assert body["release"] == fixture_release.id and body["total"] == 2
    assert {m[4] for m in body["markers"]} == {"Shougang Jingtang Iron and Steel", "HBIS Tangsteel"}
    zh = client.get(config["markersUrl"].removeprefix(base).replace("lang=en", "lang=zh")).json()
    assert zh["lang"] == "zh" and {m[4] for m in zh["markers"]} == {"首钢京唐钢铁", "河钢唐钢"}
    tiles = config["style"]["sources"]["basemap"]["tiles"][0]
    tile = client.get(tiles.removeprefix(base).replace("{z}/{x}/{y}", "0/0/0"))
    assert tile.status_code == 200


def test_embed_endpoint_standalone_download(client: TestClient, fixture_release) -> None:
    response = client.get(
        "/embed",
        params={"quarter": "2019Q1", "bbox": "110,34,122,43", "mode": "standalone",
                "has_violations": "true", "release": fixture_release.id},
    )
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert f'filename="lantian-{fixture_release.id}-2019Q1.html"' in disposition
    assert "immutable" in response.headers["cache-control"] or "max-age" in (
        response.headers["cache-control"]
    )
    config = embed_config(response.text)
    assert {m[4] for m in config["markers"]} == {"Shougang Jingtang Iron and Steel",
                                                 "Taiyuan Coking & Co"}  # fmt: skip
    assert not ASSET_URL.search(response.text)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"quarter": "2017Q1"}, 422),
        ({"quarter": "2019Q5"}, 422),
        ({"bbox": "0,0,100,80"}, 422),  # larger than max_bbox_area_deg2 (200)
        ({"layer": "enterprises"}, 422),
        ({"mode": "inline"}, 422),
        ({"province": "西藏自治区"}, 404),
        ({"release": "no-such-release"}, 404),
    ],
)
def test_embed_endpoint_errors(client: TestClient, params: dict[str, str], status: int) -> None:
    response = client.get("/embed", params=params)
    assert response.status_code == status, response.text
    assert "detail" in response.json()


def test_cli_embed(fixture_release, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "hebei.html"
    result = runner.invoke(
        cli_app,
        ["embed", "--data-dir", str(fixture_release.data_dir), "--quarter", "2019Q1",
         "--province", "河北省", "--cited-only", "--layer", "pm25-cb", "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = embed_config(out.read_text(encoding="utf-8"))
    assert [m[4] for m in config["markers"]] == ["Shougang Jingtang Iron and Steel"]
    assert "colour-blind" in config["legendHtml"] and config["lang"] == "en"
    zh = runner.invoke(
        cli_app,
        ["embed", "--data-dir", str(fixture_release.data_dir), "--quarter", "2019Q1",
         "--province", "Hebei", "--cited-only", "--lang", "zh", "-o", str(out)],
    )  # fmt: skip
    assert zh.exit_code == 0, zh.output
    page = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "河北省的1家企业" in zh.output
    assert [m[4] for m in embed_config(page)["markers"]] == ["首钢京唐钢铁"]
    assert "图例" in embed_config(page)["legendHtml"]
    bad = runner.invoke(cli_app, ["embed", "--lang", "fr", "-o", str(out)])
    assert bad.exit_code != 0 and "--lang" in bad.output

    linked = runner.invoke(
        cli_app,
        ["embed", "--data-dir", str(fixture_release.data_dir), "--bbox", "115,38,120,41",
         "--mode", "linked", "-o", str(tmp_path / "l.html")],
    )  # fmt: skip
    assert linked.exit_code != 0 and "--server-url" in linked.output
    bad = runner.invoke(
        cli_app,
        ["embed", "--data-dir", str(fixture_release.data_dir), "--province", "西藏",
         "-o", str(tmp_path / "x.html")],
    )  # fmt: skip
    assert bad.exit_code == 1 and "西藏" in bad.output


# ---- ETag and the page cache -----------------------------------------------------------------

STANDALONE = {"quarter": "2019Q1", "bbox": "110,34,122,43", "mode": "standalone"}


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The modes of the pages ``/embed`` built (rather than served from its cache)."""
    calls: list[str] = []
    real = embed_module.embed_map

    def counting(release: Release, view: EmbedView, mode: Any, *args: Any) -> Any:
        calls.append(mode)
        return real(release, view, mode, *args)

    monkeypatch.setattr(embed_module, "embed_map", counting)
    return calls


def test_standalone_page_is_built_once(fresh_client: TestClient, builds: list[str]) -> None:
    first = fresh_client.get("/embed", params=STANDALONE)
    assert first.status_code == 200 and builds == ["standalone"]
    again = fresh_client.get("/embed", params=STANDALONE)
    assert again.status_code == 200 and builds == ["standalone"]  # from the cache
    assert again.content == first.content
    for header in ("etag", "cache-control", "content-disposition", "content-type"):
        assert again.headers[header] == first.headers[header]
    assert first.headers["etag"].startswith('W/"')  # folium names elements at random
    assert first.headers["cache-control"] == "public, max-age=300"  # unpinned

    other = fresh_client.get("/embed", params={**STANDALONE, "has_violations": "true"})
    assert other.status_code == 200 and builds == ["standalone", "standalone"]
    assert other.headers["etag"] != first.headers["etag"] and other.content != first.content
    names = {m[4] for m in embed_config(other.text)["markers"]}
    assert names == {"Shougang Jingtang Iron and Steel", "Taiyuan Coking & Co"}


def test_linked_page_depends_on_the_server_url(
    fresh_client: TestClient, builds: list[str]
) -> None:
    params = {"quarter": "2019Q1", "province": "河北省"}
    here = fresh_client.get("/embed", params=params)
    there = fresh_client.get("/embed", params=params, headers={"Host": "maps.example.org"})
    assert builds == ["linked", "linked"]
    assert here.headers["etag"] != there.headers["etag"]
    assert "http://maps.example.org/static/vendor/" in there.text
    assert "maps.example.org" not in here.text
    assert "content-disposition" not in here.headers
    # The standalone page links nothing: one page whatever the host.
    fresh_client.get("/embed", params=STANDALONE)
    other = fresh_client.get("/embed", params=STANDALONE, headers={"Host": "maps.example.org"})
    assert other.status_code == 200 and builds == ["linked", "linked", "standalone"]


def test_if_none_match_gives_304(
    settings: Settings, fresh_client: TestClient, builds: list[str], fixture_release
) -> None:
    pinned = {**STANDALONE, "release": fixture_release.id}
    first = fresh_client.get("/embed", params=pinned)
    etag = first.headers["etag"]
    for header in (etag, etag.removeprefix("W/"), f'"nope", {etag}', "*"):
        answer = fresh_client.get("/embed", params=pinned, headers={"If-None-Match": header})
        assert answer.status_code == 304 and answer.content == b""
        assert answer.headers["etag"] == etag
        assert answer.headers["cache-control"] == first.headers["cache-control"]
        assert "immutable" in answer.headers["cache-control"] or "max-age" in (
            answer.headers["cache-control"]
        )
    stale = fresh_client.get("/embed", params=pinned, headers={"If-None-Match": '"nope"'})
    assert stale.status_code == 200 and stale.content == first.content
    assert builds == ["standalone"]
    # A new server (nothing cached) answers the ETag without building the page…
    with TestClient(create_app(settings)) as client:
        answer = client.get("/embed", params=pinned, headers={"If-None-Match": etag})
        assert answer.status_code == 304 and answer.headers["etag"] == etag
        # …but only for a valid view.
        bad = client.get("/embed", params={**pinned, "province": "西藏自治区"},
                         headers={"If-None-Match": "*"})  # fmt: skip
        assert bad.status_code == 404
    assert builds == ["standalone"]


def test_release_id_changes_the_etag(tmp_path: Path) -> None:
    fixture = builder.build_release(tmp_path / "data")
    other_id = "20300101T000000Z-copy"
    builder.copy_release(fixture.root, other_id)
    params = {"quarter": "2019Q1", "province": "河北省"}
    with TestClient(create_app(Settings(data_dir=fixture.data_dir))) as client:
        old = client.get("/embed", params={**params, "release": fixture.id})
        new = client.get("/embed", params={**params, "release": other_id})
        assert old.status_code == new.status_code == 200
        assert old.headers["etag"] != new.headers["etag"]
        assert f"release={other_id}" in new.text and f"release={other_id}" not in old.text
        stale = client.get("/embed", params={**params, "release": other_id},
                           headers={"If-None-Match": old.headers["etag"]})  # fmt: skip
        assert stale.status_code == 200 and stale.content == new.content
        current = client.get("/embed", params=params)  # the current release: the fixture's
        assert current.headers["etag"] == old.headers["etag"]
        assert current.headers["cache-control"] != old.headers["cache-control"]


def test_pages_larger_than_the_cache_are_served_uncached(
    settings: Settings, builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embed_module, "PAGE_CACHE_BYTES", 1_000)
    with TestClient(create_app(settings)) as client:
        first = client.get("/embed", params={"quarter": "2019Q1"})
        again = client.get("/embed", params={"quarter": "2019Q1"})
    assert first.status_code == again.status_code == 200
    assert len(first.content) > 1_000 and builds == ["linked", "linked"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.content != first.content  # built anew: folium's element names are random
    assert embed_config(again.text) == embed_config(first.text)
