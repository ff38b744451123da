import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import box

from lantian.geo.address_check import (
    ADDRESS_COLUMNS,
    address_summary,
    compare_addresses,
    county_sizes,
    datum_check,
    named_counties,
)
from lantian.geo.datum import wgs84_to_gcj02
from lantian.geo.gazetteer import Gazetteer
from lantian.geo.sites import haversine_km

ADDRESS = "河南省信阳市平桥区明港镇新民路34号"
COUNTY = box(114.0, 32.0, 114.24, 32.2)  # a synthetic 平桥区, WGS-84


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    """A tiny adcode table (points in GCJ-02, as cpca's); cpca parses the addresses."""
    return Gazetteer(pd.DataFrame({
        "adcode": ["410000000000", "411500000000", "411503000000"],
        "name": ["河南省", "信阳市", "平桥区"],
        "longitude": [113.75, 114.09, 114.126], "latitude": [34.76, 32.15, 32.101]}))


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"adcode": ["411503"], "name": ["平桥区"]}, geometry=[COUNTY],
                            crs="EPSG:4326")


def layer(points: list[tuple[str, str, float, float]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(points, columns=["id", "address", "lon", "lat"])
    return gpd.GeoDataFrame(frame[["id", "address"]].assign(name=frame["id"]), crs="EPSG:4326",
                            geometry=gpd.points_from_xy(frame["lon"], frame["lat"]))


def test_addresses_against_coordinates(gazetteer: Gazetteer,
                                       counties: gpd.GeoDataFrame) -> None:
    county = gazetteer.by_adcode("411503")
    assert county is not None
    plants = layer([
        ("near", ADDRESS, county.lon + 0.03, county.lat),  # ≈ 2.8 km east
        ("far", ADDRESS, county.lon + 0.9, county.lat),  # ≈ 85 km east: wrong
        ("city", "河南省信阳市", 114.1, 32.1),
        ("nowhere", "某某路1号", 114.1, 32.1),
        ("english", "No. 34 Xinmin Road", 114.1, 32.1),
        ("blank", "", 114.1, 32.1),
    ])
    checked = compare_addresses(plants, gazetteer, counties)
    assert list(checked.columns) == ADDRESS_COLUMNS
    report = checked.set_index("id")
    assert sorted(report.index) == ["city", "far", "near", "nowhere"]
    assert set(report["status"]) == {"address_checked"}
    size = 2 * math.sqrt(abs(Geod(ellps="WGS84").geometry_area_perimeter(COUNTY)[0])
                         / 1e6 / math.pi)
    near, far = report.loc["near"], report.loc["far"]
    assert (near["address_adcode"], near["address_unit"]) == ("411503", "平桥区")
    assert (near["address_lon"], near["address_lat"]) == (county.lon, county.lat)
    assert near["address_distance_km"] == pytest.approx(
        haversine_km(county.lon + 0.03, county.lat, county.lon, county.lat)[()], abs=0.001)
    assert near["county_size_km"] == pytest.approx(size, rel=0.005)
    assert (near["address_flag"], far["address_flag"]) == (0, 1)
    assert far["address_distance_km"] > far["county_size_km"]
    assert "one of the two is wrong" in far["reason"]
    city = report.loc["city"]
    assert city["address_adcode"] == "411500" and pd.isna(city["address_flag"])
    assert pd.isna(city["county_size_km"]) and "city 信阳市 only" in city["reason"]
    assert city["address_distance_km"] > 0
    assert pd.isna(report.loc["nowhere", "address_distance_km"])
    summary = address_summary(checked)
    assert summary == {"checked": 4, "county_level": 2, "flagged": 1,
                       "median_km": pytest.approx((near["address_distance_km"]
                                                   + far["address_distance_km"]) / 2),
                       "p90_km": pytest.approx(near["address_distance_km"] + 0.9 * (
                           far["address_distance_km"] - near["address_distance_km"]))}


def test_a_county_without_a_gazetteer_point_is_measured_from_its_polygon(
        counties: gpd.GeoDataFrame) -> None:
    gazetteer = Gazetteer(pd.DataFrame({
        "adcode": ["410000000000", "411500000000", "411503000000"],
        "name": ["河南省", "信阳市", "平桥区"],
        "longitude": [113.75, 114.09, np.nan], "latitude": [34.76, 32.15, np.nan]}))
    centre = COUNTY.representative_point()
    row = compare_addresses(layer([("p", ADDRESS, centre.x + 0.03, centre.y)]), gazetteer,
                            counties).iloc[0]
    assert (row["address_lon"], row["address_lat"]) == (centre.x, centre.y)
    assert row["address_flag"] == 0 and "polygon's point" in row["reason"]
    assert row["address_distance_km"] == pytest.approx(2.83, abs=0.01)


def test_county_size_is_the_diameter_of_a_disc_of_its_area(
        counties: gpd.GeoDataFrame) -> None:
    area = abs(Geod(ellps="WGS84").geometry_area_perimeter(COUNTY)[0]) / 1e6
    assert county_sizes(counties)["411503"] == pytest.approx(2 * math.sqrt(area / math.pi),
                                                             rel=0.005)


def border_plants(gcj02: bool) -> gpd.GeoDataFrame:
    """Ten plants 200 m inside the east border and ten inside the west border of the county,
    their coordinates written in GCJ-02 (shifted ≈ 560 m east) or in WGS-84."""
    lat = np.linspace(32.02, 32.18, 10)
    lon = np.concatenate([np.full(10, 114.24 - 0.002), np.full(10, 114.0 + 0.002)])
    lat = np.concatenate([lat, lat])
    x, y = wgs84_to_gcj02(lon, lat) if gcj02 else (lon, lat)
    return layer([(f"p{i}", ADDRESS, a, b) for i, (a, b) in enumerate(zip(x, y, strict=True))])


@pytest.mark.parametrize(("gcj02", "verdict"), [(True, "GCJ-02"), (False, "WGS-84")])
def test_datum_check_finds_the_datum(gazetteer: Gazetteer, counties: gpd.GeoDataFrame,
                                     gcj02: bool, verdict: str) -> None:
    plants = border_plants(gcj02)
    result = datum_check(plants, compare_addresses(plants, gazetteer, counties), counties)
    assert result["plants"] == 20 and result["verdict"] == verdict
    only = (result["only_as_gcj02"], result["only_as_given"])
    assert only == ((10, 0) if gcj02 else (0, 10))
    assert (result["inside_as_given"], result["inside_as_gcj02"]) == (
        (10, 20) if gcj02 else (20, 10))
    assert result["p_value"] == pytest.approx(2 / 2 ** 10)
    assert 500 < result["median_shift_m"] < 650


def test_datum_check_undecided_on_little_evidence(gazetteer: Gazetteer,
                                                  counties: gpd.GeoDataFrame) -> None:
    plants = border_plants(gcj02=True).iloc[8:12]  # two decisive plants, two not
    result = datum_check(plants, compare_addresses(plants, gazetteer, counties), counties)
    assert (result["plants"], result["only_as_gcj02"]) == (4, 2)
    assert result["verdict"] == "undecided" and result["p_value"] == pytest.approx(0.5)


def test_plants_named_to_a_county_feed_the_datum_check(gazetteer: Gazetteer,
                                                       counties: gpd.GeoDataFrame) -> None:
    """GCPT gives no address but its county in pinyin: the county, not the point, places it."""
    plants = layer([("gcpt", "", 114.1, 32.1), ("addressed", ADDRESS, 114.1, 32.1),
                    ("unknown", "", 114.1, 32.1)]).assign(
        province=["Henan", "Henan", "Henan"], city=["Xinyang", "Xinyang", "Xinyang"],
        county=["Pingqiao", "Pingqiao", "Nowhere"])
    named = named_counties(plants, gazetteer, counties)
    assert list(named["id"]) == ["gcpt"]  # addressed plants are compare_addresses' business
    assert named["address_adcode"].tolist() == ["411503"]
    assert named["county_size_km"].iloc[0] == pytest.approx(county_sizes(counties)["411503"])
    check = datum_check(plants, named, counties)
    assert check["plants"] == 1 and check["inside_as_given"] == 1
