from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from lantian.errors import InputError
from lantian.geo.enterprises import (
    combine,
    load_enterprise_table,
    load_gem_steel,
    load_wri_power,
    with_admin_units,
    with_search_keys,
)
from lantian.geo.gazetteer import Gazetteer


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer()


def test_gem_steel_plants_keep_their_coordinates(demo_data: Path) -> None:
    plants, report = load_gem_steel(demo_data / "plants" / "gem_gspt_china_operating_slim.csv")
    assert len(plants) == 289 and report.empty
    assert plants["coordinate_accuracy"].value_counts().to_dict() == {
        "exact": 284, "approximate": 5}
    assert set(plants["geocode_precision"]) == {"point"}
    assert set(plants["data_source"]) == {
        "Global Energy Monitor, Global Steel Plant Tracker (CC BY 4.0)"}
    rongxin = plants.set_index("id").loc["gem:P100000120145"]
    assert rongxin["name_zh"] == "河北荣信钢铁有限公司" and rongxin["industry"] == "steel"
    assert (rongxin.geometry.x, rongxin.geometry.y) == (118.558755, 39.880661)
    assert rongxin["geocode_source"] == "source_coordinates" and rongxin["source_datum"] == "WGS-84"


def test_wri_units_of_one_plant_are_merged_and_reported(demo_data: Path) -> None:
    plants, report = load_wri_power(demo_data / "plants" / "wri_gppd_raw_source_China.csv")
    assert len(plants) + len(report) == 1003  # every coal row accounted for
    assert set(report["status"]) == {"merged"}
    fangchenggang = plants.set_index("id").loc["wri:1070834"]
    assert fangchenggang["capacity"] == 630 + 630 + 660 + 660
    layer, _ = combine([(plants, report)])
    assert layer["id"].is_unique


def test_generic_table_converts_datums_and_geocodes_addresses(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    path = tmp_path / "plants.csv"
    path.write_text(
        "name,industry,province,city,county,address,lat,lon,datum\n"
        "A,coking,,,,,39.916404281501,116.410244499169,GCJ-02\n"
        "B,steel,河北省,邯郸市,武安市,,,,\n"
        "C,coking,Shanxi,临汾,,,,,\n"
        "D,steel,,,,某某工业园,,,\n",
        encoding="utf-8",
    )
    plants, report = load_enterprise_table(path, gazetteer)
    by_name = plants.set_index("name")
    assert by_name.loc["A"].geometry.x == pytest.approx(116.404, abs=1e-6)
    assert by_name.loc["A", "source_datum"] == "GCJ-02"
    wuan = by_name.loc["B"]
    assert (wuan["geocode_source"], wuan["geocode_precision"]) == ("gazetteer", "county")
    assert wuan.geometry.x == pytest.approx(114.2, abs=0.05)
    assert by_name.loc["C", "geocode_precision"] == "city"
    assert list(report["name"]) == ["D"] and report.loc[0, "row"] == 4
    assert "gazetteer found no admin unit" in report.loc[0, "reason"]


def test_bad_latitude_names_file_row_and_field(tmp_path: Path, gazetteer: Gazetteer) -> None:
    path = tmp_path / "plants.csv"
    path.write_text("name,industry,lat,lon\nA,steel,39.9,116.4\nB,steel,139.9,116.4\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_enterprise_table(path, gazetteer)
    assert (err.value.row, err.value.field) == (2, "lat")


def test_unknown_datum_is_an_input_error(tmp_path: Path, gazetteer: Gazetteer) -> None:
    path = tmp_path / "plants.csv"
    path.write_text("name,industry,lat,lon,datum\nA,steel,39.9,116.4,Beijing54\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"plants.csv:1: datum: unknown datum"):
        load_enterprise_table(path, gazetteer)


def test_swapped_coordinates_are_an_input_error(tmp_path: Path, gazetteer: Gazetteer) -> None:
    path = tmp_path / "plants.csv"
    path.write_text("name,industry,lat,lon\nA,steel,116.4,39.9\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"plants.csv:1: lat: .*swapped") as err:
        load_enterprise_table(path, gazetteer)
    assert err.value.field == "lat"


def test_swap_within_valid_ranges_is_reported(tmp_path: Path, gazetteer: Gazetteer) -> None:
    # A Xinjiang plant (lon 80, lat 40) written the wrong way round is a valid lat/lon pair.
    path = tmp_path / "plants.csv"
    path.write_text("name,industry,lat,lon\nA,steel,80.0,40.0\n", encoding="utf-8")
    plants, report = load_enterprise_table(path, gazetteer)
    assert plants.empty and "swapped" in report.loc[0, "reason"]


def test_repeated_id_names_its_row(tmp_path: Path, gazetteer: Gazetteer) -> None:
    path = tmp_path / "plants.csv"
    path.write_text("id,name,industry,lat,lon\nx1,A,steel,39.9,116.4\nx2,B,steel,39.9,116.4\n"
                    "x1,C,steel,39.9,116.4\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_enterprise_table(path, gazetteer)
    assert (err.value.row, err.value.field) == (3, "id")


def test_empty_name_is_an_input_error(tmp_path: Path, gazetteer: Gazetteer) -> None:
    path = tmp_path / "plants.csv"
    path.write_text("name,industry,lat,lon\nA,steel,39.9,116.4\n ,steel,39.9,116.4\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"plants.csv:2: name: empty enterprise name"):
        load_enterprise_table(path, gazetteer)


def test_combine_rejects_repeated_ids(demo_data: Path) -> None:
    steel = load_gem_steel(demo_data / "plants" / "gem_gspt_china_operating_slim.csv")
    with pytest.raises(ValueError, match="not unique: gem:P100000120163"):
        combine([steel, steel])


def test_province_and_city_come_from_the_polygon_a_plant_lies_in() -> None:
    provinces = gpd.GeoDataFrame({"name": ["河北省", "北京市"], "name_en": ["Hebei", "Beijing"]},
                                 geometry=[box(113, 36, 120, 42), box(116, 39.5, 117, 40.5)],
                                 crs=4326).iloc[::-1]  # Beijing first: it lies inside the box
    cities = gpd.GeoDataFrame({"name": ["唐山市"], "name_en": ["Tangshan"]},
                              geometry=[box(117.5, 39, 119.5, 40.5)], crs=4326)
    layer = gpd.GeoDataFrame(
        {"province": ["Hebei", "", "山西"], "city": ["Tangshan", "", "Taiyuan"],
         "name": ["荣信", "Datang Power", "焦化"],
         "name_zh": ["河北荣信钢铁有限公司", "", ""]},
        geometry=[Point(118.56, 39.88), Point(116.4, 39.9), Point(112.55, 37.87)], crs=4326)
    out = with_search_keys(with_admin_units(layer, provinces, cities, Gazetteer()))
    # Taiyuan lies in no polygon given here: its table's names, the province made official
    assert out["province"].tolist() == ["河北省", "北京市", "山西省"]
    assert out["province_en"].tolist() == ["Hebei", "Beijing", ""]
    assert out["city"].tolist() == ["唐山市", "", "Taiyuan"]
    assert out["city_en"].tolist() == ["Tangshan", "", ""]
    assert out["name_pinyin"].tolist() == ["hebeirongxingangtieyouxiangongsi", "", "jiaohua"]
