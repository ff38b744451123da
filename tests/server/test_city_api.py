"""The city panel (/api/cities/{adcode}), the city list, the province summary and the city chart
(SVG and PNG) over the fixture release with statistics (fixture_stats.py: synthetic values)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

import lantian_fixture_release as builder  # registered by tests/conftest.py
import lantian_fixture_stats as stats_fixture  # registered by tests/conftest.py
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from lantian.server.api.regions import CityFinder, Region

SVG = "{http://www.w3.org/2000/svg}"


def month_groups(root: ET.Element) -> set[str]:
    """Ids of the chart's per-month marker groups (``month-<n>-valid|invalid``)."""
    ids = (g.get("id") or "" for g in root.iter(f"{SVG}g"))
    return {i for i in ids if i.startswith("month-")}


def city(client: TestClient, adcode: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/api/cities/{adcode}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_city_panel_names_series_and_region_mean(stats_client: TestClient) -> None:
    doc = city(stats_client, "130100", period="2019-01")
    assert (doc["name_zh"], doc["name_en"]) == ("石家庄", "Shijiazhuang")
    assert doc["province"] == {"adcode": "130000", "name_zh": "河北", "name_en": "Hebei"}
    assert [g["id"] for g in doc["groups"]] == ["2+26"]
    assert doc["period"] == "2019-01" and doc["period_type"] == "month"
    assert doc["series_region"]["code"] == "2+26" and doc["series_region"]["type"] == "group"
    months = [p["period"] for p in doc["series"]]
    assert months == [*stats_fixture.PRIOR, *stats_fixture.MONTHS_2019]
    assert sum(p["period"].startswith("2019") for p in doc["series"]) == 12
    january = doc["series"][2]
    members = ["110100", "120100", "130100", "130200"]
    mean = sum(stats_fixture.city_month(c, "2019-01")[0] for c in members) / len(members)
    assert january["pm25"] == stats_fixture.city_month("130100", "2019-01")[0]
    assert january["region_pm25"] == pytest.approx(mean, abs=0.01)
    assert doc["limits"]["annual"] == 35 and doc["limits"]["daily"] == 75
    current = doc["current"]
    assert current["pm25"] == january["pm25"] and current["valid"] is True
    assert current["change_prev_period"] == "2018-12" and current["change_year_pct"] is not None


def test_city_panel_marks_invalid_months_and_ranks(stats_client: TestClient) -> None:
    doc = city(stats_client, "130200", period="2019-07")
    july = next(p for p in doc["series"] if p["period"] == "2019-07")
    assert july["valid"] is False and july["n_days"] == 20
    assert doc["current"]["valid"] is False
    january = city(stats_client, "130200", period="2019-01")
    assert january["rank"]["national"] == {"rank": 2, "of": 6}
    assert january["rank"]["group"]["id"] == "2+26"
    assert (january["rank"]["group"]["rank"], january["rank"]["group"]["of"]) == (2, 4)
    assert january["rank"]["province"] == {"rank": 2, "of": 2}
    rizhao = city(stats_client, "371100", period="2019-08")
    assert rizhao["current"]["pm25"] is None and rizhao["rank"]["national"] is None
    assert rizhao["series_region"]["type"] == "province"  # in no group: beside its province
    assert rizhao["rank"]["group"] is None


def test_city_panel_stations_and_plants(stats_client: TestClient) -> None:
    tangshan = city(stats_client, "130200", period="2019-01")
    assert [s["code"] for s in tangshan["stations"]] == ["1003A"]
    station = tangshan["stations"][0]
    assert station["name"] == "雷达站" and station["status"] == "ok"
    assert station["pm25"] is not None and station["n_days"] == 25 and station["valid"] is True
    plants = {p["id"]: p for p in tangshan["plants"]}
    assert set(plants) == {builder.SHOUGANG, builder.HBIS} and tangshan["plants_total"] == 2
    assert plants[builder.SHOUGANG]["violations"] == 3
    assert plants[builder.SHOUGANG]["output_records"] == 1
    assert plants[builder.HBIS]["approximate"] is True
    assert tangshan["plants"][0]["id"] == builder.SHOUGANG  # most records first
    beijing = city(stats_client, "110100", period="2019Q1")
    assert [s["code"] for s in beijing["stations"]] == ["1002A"]
    assert [p["id"] for p in beijing["plants"]] == ["wri:1000453"]
    assert city(stats_client, "140100")["plants"][0]["id"] == builder.TAIYUAN


def test_city_panel_links_and_default_period(stats_client: TestClient) -> None:
    doc = city(stats_client, "130100")
    assert doc["period"] == "2019-12"  # the latest month
    links = doc["links"]
    assert links["permalink"] == "/?city=130100&period=2019-12"
    assert links["chart_svg"] == "http://testserver/api/cities/130100/chart.svg?period=2019-12"
    assert links["chart_png"].endswith("/api/cities/130100/chart.png?period=2019-12")
    assert links["feed"] == "http://testserver/feeds/cities/130100.atom"
    assert links["province_feed"] == "http://testserver/feeds/provinces/130000.atom"
    for key in ("chart_svg", "chart_png", "feed", "province_feed", "rankings_csv"):
        assert stats_client.get(links[key]).status_code == 200, key
    pinned = city(stats_client, "130100", period="2019", release="2019-fixture.1")["links"]
    assert pinned["permalink"] == "/?city=130100&period=2019&release=2019-fixture.1"
    assert pinned["chart_png"].endswith("chart.png?period=2019&release=2019-fixture.1")
    assert pinned["feed"] == "http://testserver/feeds/cities/130100.atom"  # follows releases


def test_city_list_and_province(stats_client: TestClient) -> None:
    listed = stats_client.get("/api/cities").json()
    assert [c["adcode"] for c in listed["cities"]] == sorted(stats_fixture.CITIES)
    shijiazhuang = next(c for c in listed["cities"] if c["adcode"] == "130100")
    assert shijiazhuang["province"]["name_en"] == "Hebei" and shijiazhuang["groups"] == ["2+26"]
    hebei = stats_client.get("/api/provinces/130000", params={"period": "2019-07"}).json()
    assert hebei["name_en"] == "Hebei" and hebei["current"]["n_cities"] == 2
    assert hebei["current"]["valid"] is False  # Tangshan's July is not valid
    assert [c["code"] for c in hebei["cities"]] == ["130100", "130200"]
    assert len([p for p in hebei["series"] if p["period"].startswith("2019")]) == 12
    assert hebei["links"]["feed"] == "http://testserver/feeds/provinces/130000.atom"


@pytest.mark.parametrize(
    ("url", "status", "parameter"),
    [
        ("/api/cities/13010", 422, "adcode"),
        ("/api/cities/abcdef", 422, "adcode"),
        ("/api/cities/1301000", 422, "adcode"),
        ("/api/cities/999999", 404, "999999"),
        ("/api/cities/130100?period=2030-01", 422, "period"),
        ("/api/cities/130100?period=Q1", 422, "period"),
        ("/api/provinces/999999", 404, "999999"),
        ("/api/provinces/13?period=2019", 422, "adcode"),
        ("/api/provinces/130000?period=1999", 422, "period"),
        ("/api/cities/999999/chart.svg", 404, "999999"),
        ("/api/cities/130100/chart.svg?period=2030", 422, "period"),
        ("/api/cities/130100/chart.png?lang=fr", 422, "lang"),
        ("/api/cities/x/chart.png", 422, "adcode"),
    ],
)
def test_bad_city_parameters(stats_client: TestClient, url: str, status: int,
                             parameter: str) -> None:  # fmt: skip
    response = stats_client.get(url)
    assert response.status_code == status, response.text
    assert parameter in response.text


def test_chart_svg_has_title_hollow_months_and_both_languages(stats_client: TestClient) -> None:
    response = stats_client.get("/api/cities/130200/chart.svg",
                                params={"period": "2019-07", "lang": "en"})  # fmt: skip
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    assert response.headers["content-language"] == "en"
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == "Tangshan: monthly mean PM2.5, 2019"
    desc = root.findtext(f"{SVG}desc") or ""
    assert "2019-fixture.1" in desc and "SYNTHETIC" in desc
    months = month_groups(root)
    assert "month-7-invalid" in months and "month-1-valid" in months and len(months) == 12
    zh = ET.fromstring(stats_client.get("/api/cities/130200/chart.svg",
                                        params={"period": "2019-07", "lang": "zh"}).content)
    assert zh.findtext(f"{SVG}title") == "唐山 2019年逐月 PM2.5 平均浓度"
    gap = ET.fromstring(stats_client.get("/api/cities/371100/chart.svg",
                                         params={"period": "2019-08", "lang": "en"}).content)
    ids = month_groups(gap)
    assert len(ids) == 11 and not any(i.startswith("month-8-") for i in ids)  # no August value

def test_chart_png_is_cached(stats_client: TestClient) -> None:
    params = {"period": "2019-01", "lang": "zh"}
    response = stats_client.get("/api/cities/130100/chart.png", params=params)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1200, 720)
    again = stats_client.get("/api/cities/130100/chart.png", params=params,
                             headers={"If-None-Match": response.headers["etag"]})  # fmt: skip
    assert again.status_code == 304
    assert stats_client.get("/api/cities/130100/chart.png", params=params).content == (
        response.content)
    negotiated = stats_client.get("/api/cities/130100/chart.png", params={"period": "2019-01"},
                                  headers={"Accept-Language": "zh-CN"})  # fmt: skip
    assert negotiated.headers["vary"] == "Accept-Language"
    assert negotiated.headers["content-language"] == "zh"


def test_city_finder_matches_names_as_sources_write_them() -> None:
    cities = {
        "130100": Region("city", "130100", "石家庄", "Shijiazhuang", province="130000"),
        "222400": Region("city", "222400", "延边", "Yanbian", province="220000"),
        "110100": Region("city", "110100", "北京", "Beijing", province="110000"),
    }
    provinces = {"130000": Region("province", "130000", "河北", "Hebei"),
                 "220000": Region("province", "220000", "吉林", "Jilin"),
                 "110000": Region("province", "110000", "北京", "Beijing")}  # fmt: skip
    finder = CityFinder(cities, provinces)
    assert finder.find("河北省", "石家庄市") == "130100"
    assert finder.find("Hebei", "石家庄") == "130100"
    assert finder.find("吉林省", "延边朝鲜族自治州") == "222400"
    assert finder.find("北京市", "北京市") == "110100"
    assert finder.find("山西省", "石家庄市") == ""  # another province
    assert finder.find("河北省", "") == ""
