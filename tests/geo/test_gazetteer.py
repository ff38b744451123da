import pytest

from lantian.geo.gazetteer import Gazetteer, short_name


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer()


def test_county_from_names(gazetteer: Gazetteer) -> None:
    found = gazetteer.locate(province="Hebei", city="唐山", county="迁安")
    assert found is not None and (found.adcode, found.precision) == ("130283000000", "county")
    # the table's GCJ-02 point (118.701144, 39.999174) shifted to WGS-84
    assert found.lon == pytest.approx(118.6951, abs=0.002)


@pytest.mark.parametrize(
    ("names", "adcode"),
    [
        # as the IPE violation records write it: province, "prefecture (county)"
        ({"province": "Hebei", "city": "Handan (Wu'an)"}, "130481000000"),
        ({"province": "Shanxi", "city": "Changzhi"}, "140400000000"),  # 长 read chang, not zhang
        ({"province": "Shanxi", "city": "Lvliang"}, "141100000000"),  # 吕 written v
        ({"province": "Jiangsu", "city": "Taizhou"}, "321200000000"),  # 泰州, not 台州 (Zhejiang)
        ({"province": "Zhejiang", "city": "Taizhou"}, "331000000000"),
        ({"province": "Hebei", "city": "Tangshan", "county": "Caofeidian District"},
         "130209000000"),
        ({"province": "河北", "city": "邯郸", "county": "武安"}, "130481000000"),
        ({"province": "Hebei", "city": "Atlantis"}, "130000000000"),  # falls back to province
    ],
)
def test_pinyin_and_short_names(gazetteer: Gazetteer, names: dict[str, str], adcode: str) -> None:
    found = gazetteer.locate(**names)
    assert found is not None and found.adcode == adcode


def test_adcode_lookup_and_unknowns(gazetteer: Gazetteer) -> None:
    found = gazetteer.by_adcode("130481")
    assert found is not None and found.name == "武安市"
    assert gazetteer.by_adcode("999999") is None
    assert gazetteer.locate(address="not a place") is None


@pytest.mark.parametrize(
    ("name", "precision"),
    [("秦皇岛", "city"), ("延边州", "city"), ("博州", "city"), ("大兴安岭地区", "city"),
     ("寿光", "county"), ("胶南", "county"), ("北京", "city")],
)
def test_city_names_as_station_lists_write_them(
    gazetteer: Gazetteer, name: str, precision: str
) -> None:
    found = gazetteer.centroid_of_city(name)
    assert found is not None and found.precision == precision


def test_short_names() -> None:
    assert [short_name(n) for n in ("石家庄市", "河北省", "延边朝鲜族自治州", "北京")] == [
        "石家庄", "河北", "延边朝鲜族", "北京"]


def test_province_names_in_english_short_or_full_form_become_official() -> None:
    gazetteer = Gazetteer()
    assert [gazetteer.province_name(t) for t in ("Hebei", "河北", "河北省", "shaanxi")] == [
        "河北省", "河北省", "河北省", "陕西省"]
    assert gazetteer.province_name("Inner Mongolia") == "内蒙古自治区"
    assert gazetteer.province_name("") == gazetteer.province_name("Atlantis") == ""
