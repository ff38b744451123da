"""Embeds, previews, descriptions and citations in Chinese and English, with the basemap's
place names: the ``lang`` parameter, its default from ``Accept-Language``, the messages."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from lantian_fixture_release import embed_config  # registered by tests/conftest.py
from PIL import Image
from shapely import union_all
from shapely.geometry import Point

from lantian.i18n import LANGS, Lang, catalogue
from lantian.server.deps import EnterpriseFilter
from lantian.server.embeds.basemap import read_basemap
from lantian.server.embeds.canvas import mercator
from lantian.server.embeds.describe import describe_view, industry_name
from lantian.server.embeds.preview import render_preview
from lantian.server.embeds.routes import embed_map
from lantian.server.embeds.style import linked_style
from lantian.server.embeds.view import EmbedView
from lantian.server.exports.citation import citation, licence_notes
from lantian.server.releases.release import Release, open_release

HEBEI = (113.4, 36.0, 119.9, 42.6)
BBOX = ",".join(map(str, HEBEI))
SERVER = "http://maps.example.org"
SOURCES = [Path(__file__).resolve().parents[2] / "server" / d for d in ("embeds", "exports")]
OWN = ("describe", "embed", "preview", "citation")
KEY = re.compile(r"""["'](?:%s)\.[a-z0-9_.-]*[a-z0-9_-]["']""" % "|".join(OWN))  # noqa: UP031


@pytest.fixture(scope="module")
def release(map_release) -> Iterator[Release]:
    opened = open_release(map_release.root)
    yield opened
    opened.close()


# ---- the catalogues --------------------------------------------------------------------------


def test_every_message_the_server_writes_is_in_both_catalogues() -> None:
    used = {m.group(0)[1:-1] for d in SOURCES for f in d.glob("*.py")
            for m in KEY.finditer(f.read_text("utf-8"))}  # fmt: skip
    # messages whose key is built from data: every value the code can build
    used |= {f"describe.months.q{q}" for q in range(1, 5)} | {"describe.method.idw",
                                                                 "describe.method.kriging"}
    used |= {f"describe.extent.{k}" for k in ("e", "w", "w_e", "n", "s", "s_n")}
    used |= {f"describe.grid.{k}" for k in ("cnemc", "cnemc_n", "stations", "stations_n")}
    used |= {f"embed.level.{k}" for k in ("county", "city", "province")}
    used |= {f"embed.direction.{k}" for k in ("up", "down", "flat")}
    used |= {f"preview.key.{k}" for k in ("cited", "up", "flag")}
    used |= {f"describe.only.{k}" for k in ("cited", "not_cited", "up", "not_up")}
    used |= {f"describe.alt.{k}" for k in ("up", "more_up")}
    used |= {f"citation.licences.{k}" for k in ("url", "licence", "attribution")}
    used |= {"embed.scale.pm25", "embed.scale.pm25-cb"}
    assert len(used) > 100
    for lang in LANGS:
        missing = sorted(used - set(catalogue(lang)))
        assert not missing, f"{lang}.json lacks {missing}"
    prefixes = {k for lang in LANGS for k in catalogue(lang) if k.split(".")[0] in OWN}
    assert not prefixes - used, f"unused messages: {sorted(prefixes - used)}"


# ---- the lang parameter ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/embed", "/embed/markers.json", "/embed/preview.png",
                                  "/api/embed/describe", "/api/extract.zip"])  # fmt: skip
@pytest.mark.parametrize("value", ["fr", "zh-CN", "", "EN"])
def test_a_bad_lang_is_a_422_naming_lang(client: TestClient, path: str, value: str) -> None:
    response = client.get(path, params={"lang": value, "quarter": "2019Q1"})
    assert response.status_code == 422, response.text
    assert "lang" in response.text


def test_describe_follows_lang_then_accept_language(client: TestClient) -> None:
    params = {"quarter": "2019Q1", "province": "河北省"}
    zh = client.get("/api/embed/describe", params={**params, "lang": "zh"})
    en = client.get("/api/embed/describe", params={**params, "lang": "en"},
                    headers={"Accept-Language": "zh-CN,zh;q=0.9"})  # fmt: skip
    browser = client.get("/api/embed/describe", params=params,
                         headers={"Accept-Language": "de, zh-TW;q=0.8, en;q=0.5"})  # fmt: skip
    plain = client.get("/api/embed/describe", params=params)
    assert zh.json()["lang"] == browser.json()["lang"] == "zh"
    assert en.json()["lang"] == plain.json()["lang"] == "en"
    assert zh.json()["title"] == browser.json()["title"] == (
        "2019年第一季度PM2.5与企业：河北省的2家企业，其中1家有违法记录（合成数据）")
    assert en.json()["title"] == plain.json()["title"] == (
        "PM2.5 and plants, 2019 Q1: 2 plants in Hebei, 1 cited for violations (synthetic data)")
    # JSON keys stay English; an answer chosen by the header says so to caches.
    assert set(zh.json()) == set(en.json())
    assert browser.headers["vary"] == "Accept-Language" and "vary" not in zh.headers


def test_alt_text_in_chinese_is_written_from_the_data(client: TestClient) -> None:
    zh = client.get("/api/embed/describe", params={"quarter": "2018Q4", "lang": "zh",
                                                   "province": "河北省"}).json()  # fmt: skip
    head, tail = zh["alt"].split("°，北纬")
    assert head.startswith(
        "合成数据，并非真实情况。2018年第四季度河北省的2家企业分布图，范围为东经")
    assert tail.endswith(
        "°。其中1家在截至季度末的12个月内有环境违法记录。有违法记录的企业中，1家产量同比上升。"
        "2018年第四季度没有PM2.5网格（网格覆盖2019年第一季度至2019年第二季度）。"
        "数据来源：Global Energy Monitor <GEM>；Records: IPE 2019 report and the sources it cites。"
    )
    q1 = client.get("/api/embed/describe", params={"quarter": "2019Q1", "bbox": "112,36,120,41.5",
                                                   "lang": "zh"}).json()  # fmt: skip
    assert "视图内PM2.5为" in q1["alt"] and "µg/m³（网格均值" in q1["alt"]
    assert "含5家企业（燃煤发电2家、钢铁2家、焦化1家）" in q1["alt"]


def test_embed_pages_follow_lang(client: TestClient) -> None:
    params = {"quarter": "2019Q1", "province": "河北省", "mode": "standalone"}
    zh = client.get("/embed", params={**params, "lang": "zh"})
    browser = client.get("/embed", params=params, headers={"Accept-Language": "zh-CN"})
    en = client.get("/embed", params=params)
    assert zh.status_code == browser.status_code == en.status_code == 200
    assert zh.headers["etag"] == browser.headers["etag"] != en.headers["etag"]
    assert browser.headers["vary"] == "Accept-Language" and "vary" not in zh.headers
    page = zh.text
    config = embed_config(page)
    assert '<html lang="zh-CN">' in page and config["lang"] == "zh"
    assert "<title>2019年第一季度PM2.5与企业：河北省的2家企业" in page
    assert "数据：2019年第一季度（1–3月）" in config["titleHtml"]
    assert "合成数据：并非真实测量值" in config["titleHtml"]
    assert "<summary>图例</summary>" in config["legendHtml"]
    assert "截至2019年第一季度的12个月内有违法记录" in config["legendHtml"]
    popup = next(m[5] for m in config["markers"] if m[4] == "首钢京唐钢铁")
    assert "截至2019年第一季度的12个月内3条" in popup and "钢铁，产能 9,700 ttpa" in popup
    assert "最新发现（2019年2月1日）" in popup and "河北省唐山市" in popup
    assert "Shougang Jingtang Iron and Steel" in popup  # the name in the other language
    linked = embed_config(client.get("/embed", params={"province": "河北省", "lang": "zh"}).text)
    assert "lang=zh" in linked["markersUrl"] and linked["texts"]["loading"] == "正在加载企业…"


# ---- the basemap -----------------------------------------------------------------------------


def test_the_basemap_is_read_from_the_release(release: Release) -> None:
    base = read_basemap(release, HEBEI, max_tiles=16, max_zoom=6)
    assert base.zoom == 6
    assert [kind for kind, _ in base.fills] == ["land", "country"]
    land = union_all(dict(base.fills)["land"])  # the tiles' pieces
    assert land.covers(Point(115.0, 38.0)) and not land.covers(Point(123.0, 36.0))  # sea
    assert {k for k, _ in base.lines} >= {"provinces", "cities", "country"}
    assert "counties" not in {k for k, _ in base.lines}  # not drawn before zoom 7: not read
    caofeidian = read_basemap(release, (118.2, 38.9, 118.8, 39.4), max_tiles=16, max_zoom=8)
    assert caofeidian.zoom == 8 and "counties" in {k for k, _ in caofeidian.lines}
    names = {p.name("zh"): p for p in base.places}
    assert {"石家庄", "唐山", "北京", "河北", "曹妃甸"} <= set(names)
    assert names["石家庄"].name("en") == "Shijiazhuang" and names["石家庄"].capital == 1
    # the national capital from zoom 2, provinces from 3, provincial capitals from 4, other cities
    # from 5, counties from 8
    assert {p.name("en") for p in base.labels(3)} == {"Hebei", "Beijing"}
    assert {p.name("en") for p in base.labels(4)} == {"Hebei", "Beijing", "Shijiazhuang"}
    assert {p.name("en") for p in base.labels(7.9)} == {"Hebei", "Beijing", "Shijiazhuang",
                                                        "Tangshan"}  # fmt: skip
    assert "Caofeidian" in {p.name("en") for p in base.labels(8)}
    ranks = [p.rank for p in base.places]
    assert ranks == sorted(ranks)  # countries, provinces, then cities (capitals first)


def test_standalone_embeds_carry_the_basemap_in_the_language(release: Release) -> None:
    view = EmbedView(quarter="2019Q1", province="河北省", bbox=HEBEI)
    cases: tuple[tuple[Lang, str, str], ...] = (("zh", "石家庄", "河北"),
                                                ("en", "Shijiazhuang", "Hebei"))
    for lang, shijiazhuang, hebei in cases:
        base = embed_config(embed_map(release, view, lang=lang).html)["basemap"]
        places = {p[0]: p for p in base["places"]}
        assert places[shijiazhuang][1:4] == ["city", 1, 4.0]
        assert places[hebei][1:4] == ["province", 0, 3.0]
        assert [kind for kind, _ in base["fills"]] == ["land", "country"]
        assert {kind for kind, _ in base["lines"]} >= {"country", "provinces", "cities"}


def test_linked_style_names_places_in_the_language(release: Release) -> None:
    cases: tuple[tuple[Lang, str, str], ...] = (("zh", "name_zh", "name_en"),
                                                ("en", "name_en", "name_zh"))
    for lang, first, second in cases:
        style = linked_style(SERVER, release, lang, release.layers["pm25"], "2019Q1")
        ids = [layer["id"] for layer in style["layers"]]
        assert ids.index("land-fill") < ids.index("pm25") < ids.index("provinces-line")
        labels = [layer for layer in style["layers"] if layer["type"] == "symbol"]
        assert labels and ids.index("provinces-line") < ids.index(labels[0]["id"])
        for layer in labels:
            field = layer["layout"]["text-field"]
            assert field[2:] == [["get", first], ["get", second]]  # the other as fallback
            assert layer["paint"]["text-halo-width"] > 0
        cities = {layer["minzoom"] for layer in labels if layer["id"].startswith("places-city")}
        assert cities == {2.0, 4.0, 5.0}  # the national capital, provincial capitals, others


# ---- the previews ----------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "names"), [("zh", ("石家庄", "唐山", "河北")),
                                             ("en", ("Shijiazhuang", "Tangshan", "Hebei"))])
def test_previews_label_the_places_in_the_language(
    release: Release, lang: str, names: tuple[str, ...]
) -> None:
    filters = EnterpriseFilter(quarter="2019Q1", bbox=BBOX)
    view = describe_view(release, filters, lang=lang)  # type: ignore[arg-type]
    drawn = render_preview(release, view, filters, 800, 500)
    assert set(names) <= set(drawn.labels)
    pixels = np.asarray(Image.open(io.BytesIO(drawn.png)).convert("RGB")).astype(int)
    # dark label ink at Shijiazhuang's label point (114.6, 38.1), where the map has no other
    (x,), (y,) = drawn.frame.pixel(*mercator(np.array([114.6]), np.array([38.1])))
    box = pixels[round(y) - 8:round(y) + 8, round(x) - 25:round(x) + 25]
    assert (box.max(axis=-1) < 80).sum() > 20
    other = describe_view(release, filters, lang="zh" if lang == "en" else "en")
    assert not set(names) & set(render_preview(release, other, filters, 800, 500).labels)


def test_preview_png_follows_lang(map_client: TestClient) -> None:
    params: dict[str, str | int] = {"quarter": "2019Q1", "bbox": BBOX, "width": 400,
                                    "height": 300}  # fmt: skip
    zh = map_client.get("/embed/preview.png", params={**params, "lang": "zh"})
    en = map_client.get("/embed/preview.png", params=params,
                        headers={"Accept-Language": "en-GB"})  # fmt: skip
    assert zh.status_code == en.status_code == 200
    assert zh.headers["content-language"] == "zh" and en.headers["content-language"] == "en"
    assert zh.headers["etag"] != en.headers["etag"] and zh.content != en.content
    assert en.headers["vary"] == "Accept-Language"


# ---- citation and licences -------------------------------------------------------------------


def test_citation_and_licences_in_both_languages(release: Release) -> None:
    assert citation(release, "https://x.org/a", "zh").startswith(
        "lantian 数据版本 2019-fixture.1《Fixture release》（2024年1月1日），https://x.org/a。")
    assert citation(release, "u", "en").startswith(
        'lantian release 2019-fixture.1 "Fixture release" (1 January 2024), u.')
    notes = licence_notes(release, "zh")
    assert notes.startswith("# 数据来源与许可") and "- 许可：CC BY 4.0" in notes
    assert "| 图层 | 标题 | 数据来源 |" in notes and "`gem`、`ipe`" in notes


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_zip_cites_in_both_languages_the_chosen_first(client: TestClient, lang: str) -> None:
    response = client.get("/api/extract.zip", params={"quarter": "2019Q1", "bbox": "112,35,120,41",
                                                      "lang": lang})  # fmt: skip
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        cite = archive.read("CITATION.txt").decode()
        licences = archive.read("LICENCES.md").decode()
    zh, en = cite.index("lantian 数据版本"), cite.index("lantian release")
    assert (zh < en) == (lang == "zh") and "\n---\n" in cite
    assert f"lang={lang}" in cite  # the re-run URL keeps the language
    zh, en = licences.index("## 本次导出"), licences.index("## This extract")
    assert (zh < en) == (lang == "zh")


def test_every_industry_the_map_names_is_named_in_both_languages() -> None:
    """The embeds, previews and descriptions name industries as the map does (``industry.*``)."""
    for lang in LANGS:
        for industry in ("steel", "coal_power", "coking", "cement", "chemical", "other"):
            assert industry_name(lang, industry) == catalogue(lang)[f"industry.{industry}"]
    assert industry_name("zh", "cement") == "水泥"
    assert industry_name("zh", "glass_wool") == "glass wool"  # unknown: as written
