from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from lantian.errors import InputError
from lantian.geo.gazetteer import Gazetteer
from lantian.geo.stations import load_stations, merge_names, validate_stations

MATCH1 = "cnemc_stations_1605_versey-sherry_match1.csv"


@pytest.fixture(scope="module")
def validated(demo_data: Path, china_boundaries) -> pd.DataFrame:
    stations = load_stations(demo_data / "stations" / MATCH1)
    names = load_stations(demo_data / "stations" / "cnemc_StationList-2020.01.01.csv")
    return validate_stations(
        merge_names(stations, names), china_boundaries.cities, china_boundaries.provinces,
        Gazetteer(),
    ).set_index("code")


def test_both_layouts_load_with_codes_normalised(demo_data: Path) -> None:
    match1 = load_stations(demo_data / "stations" / MATCH1)
    cnemc = load_stations(demo_data / "stations" / "cnemc_StationList-2020.01.01.csv")
    assert len(match1) == 1605 and match1.loc[0, "code"] == "1001A"
    assert sorted(cnemc.attrs["duplicate_rows"]) == ["3207A"] and cnemc["code"].is_unique
    assert cnemc.set_index("code").loc["1001A", "name"] == "万寿西宫"


def test_wrong_latitude_of_qinhuangdao_station_is_flagged(validated: pd.DataFrame) -> None:
    row = validated.loc["3132A"]
    assert row["status"] == "outside_province"
    assert "37.0308" in row["reason"] and "秦皇岛" in row["reason"]


def test_missing_coordinates_are_flagged_not_dropped(validated: pd.DataFrame) -> None:
    missing = validated[validated["status"] == "missing_coordinates"]
    assert len(missing) == 14 and "1028A" in missing.index
    assert len(validated) == 1605


def test_all_other_real_stations_are_ok(validated: pd.DataFrame) -> None:
    assert validated.loc["1001A", "status"] == "ok"  # Beijing, inside its city polygon
    # 胶南 (merged into 黄岛区) and 博州/克州 (abridged prefecture names) are still found
    assert validated.loc[["1965A", "2693A", "2697A"], "status"].eq("ok").all()
    assert validated["status"].value_counts().to_dict() == {
        "ok": 1590, "missing_coordinates": 14, "outside_province": 1}


def test_each_status_on_a_small_list(tmp_path: Path) -> None:
    path = tmp_path / "stations.csv"
    path.write_text(
        "监测点编码,监测点名称,城市,经度,纬度\n"
        "A,inside,石家庄,114.50,38.50\n"
        "B,1 km east of the border,石家庄,115.01,38.50\n"
        "C,5 km east of the border,石家庄,115.06,38.50\n"
        "D,in Hebei but not in the city list,唐山,118.18,39.63\n"
        "E,Harbin,广州,126.63,45.75\n"
        "F,nowhere,亚特兰蒂斯,116.40,39.90\n"
        "G,no coordinates,太原,-,\n",
        encoding="utf-8",
    )
    cities = gpd.GeoDataFrame({"name": ["石家庄市"]}, geometry=[box(114, 38, 115, 39)], crs=4326)
    provinces = gpd.GeoDataFrame({"name": ["河北省"]}, geometry=[box(113, 36, 120, 42)], crs=4326)
    result = validate_stations(load_stations(path), cities, provinces, Gazetteer())
    assert result.set_index("code")["status"].to_dict() == {
        "A": "ok", "B": "ok", "C": "outside_city", "D": "ok", "E": "far_from_city",
        "F": "unknown_city", "G": "missing_coordinates"}
    assert "from the centre of 广州" in result.loc[4, "reason"]


def test_bad_coordinate_names_file_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "stations.csv"
    path.write_text("监测点编码,监测点名称,城市,经度,纬度\n1001A,万寿西宫,北京,116.36,39.87\n"
                    "1002A,定陵,北京,north,40.29\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_stations(path)
    assert str(err.value) == f"{path}:2: lon: not a coordinate: 'north'"


def test_unknown_header_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "stations.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="unrecognised station list header"):
        load_stations(path)
