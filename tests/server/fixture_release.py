"""Build a small synthetic release directory that follows docs/architecture.md (issue-3 layout).

Loaded by tests/server/conftest.py and tests/web/conftest.py (not a test module).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from PIL import Image
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from pypinyin import lazy_pinyin
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

RELEASE_ID = "2019-fixture.1"
QUARTERS = ("2019Q1", "2019Q2")
TIMELINE = ("2018Q4", *QUARTERS)
BOUNDS = (110.0, 34.0, 122.0, 43.0)
RASTER_ZOOMS = (0, 3)
ENTERPRISE_ZOOMS = (0, 8)
BOUNDARY_ZOOMS = (0, 6)
COG_RES = 0.05
BREAKS = (0.0, 15.0, 35.0, 75.0, 115.0, 150.0, 250.0)
COLOURS = {
    "pm25": ("#00994c", "#00e400", "#ffff00", "#ff7e00", "#ff0000", "#99004c", "#7e0023"),
    "pm25-cb": ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
}
LABELS = ("0–15", "15–35", "35–75", "75–115", "115–150", "150–250", "≥ 250")

PLANTS: list[dict[str, Any]] = [
    dict(id="gem:P100000120001", name="首钢京唐钢铁", name_zh="首钢京唐钢铁",
         name_en="Shougang Jingtang Iron and Steel", industry="steel", capacity=9700.0,
         capacity_unit="ttpa", owner="Shougang Group", province="河北省", city="唐山市",
         county="曹妃甸区", geocode_source="source_coordinates", geocode_precision="point",
         source_datum="WGS-84", data_source="Global Energy Monitor, Global Steel Plant Tracker",
         coordinate_accuracy="exact", lon=118.45, lat=39.00),
    dict(id="gem:P100000120002", name="河钢唐钢", name_zh="河钢唐钢", name_en="HBIS Tangsteel",
         industry="steel", capacity=8000.0, capacity_unit="ttpa", owner="HBIS Group",
         province="河北省", city="唐山市", county="路北区", geocode_source="gazetteer",
         geocode_precision="county", source_datum="GCJ-02",
         data_source="Global Energy Monitor, Global Steel Plant Tracker",
         coordinate_accuracy="exact", lon=118.20, lat=39.63),
    dict(id="wri:1000453", name="Beijing Jingneng Thermal Power", name_zh="北京京能热电",
         name_en="Beijing Jingneng Thermal Power", industry="coal_power", capacity=900.0,
         capacity_unit="MW", owner="Jingneng", province="北京市", city="北京市", county="石景山区",
         geocode_source="source_coordinates", geocode_precision="point", source_datum="WGS-84",
         data_source="WRI Global Power Plant Database", coordinate_accuracy="exact",
         lon=116.30, lat=39.90),
    dict(id="wri:1000454", name="Tianjin Dagang Power Plant", name_zh="天津大港发电厂",
         name_en="Tianjin Dagang Power Plant", industry="coal_power", capacity=1300.0,
         capacity_unit="MW", owner=None, province="天津市", city="天津市", county="滨海新区",
         geocode_source="source_coordinates", geocode_precision="point", source_datum="WGS-84",
         data_source="WRI Global Power Plant Database", coordinate_accuracy="exact",
         lon=117.45, lat=38.85),
    dict(id="csv:1", name="太原焦化<script>", name_zh="太原焦化<script>",
         name_en="Taiyuan Coking & Co", industry="coking", capacity=300.0, capacity_unit="ttpa",
         owner=None, province="山西省", city="太原市", county=None,
         geocode_source="online:amap", geocode_precision="city", source_datum="GCJ-02",
         data_source="Sample CSV", coordinate_accuracy="approximate", lon=112.55, lat=37.87),
    dict(id="gem:P100000120003", name="日照钢铁", name_zh="日照钢铁", name_en="Rizhao Steel",
         industry="steel", capacity=15000.0, capacity_unit="ttpa", owner="Rizhao Steel Holding",
         province="山东省", city="日照市", county="岚山区", geocode_source="source_coordinates",
         geocode_precision="point", source_datum="WGS-84",
         data_source="Global Energy Monitor, Global Steel Plant Tracker",
         coordinate_accuracy="exact", lon=119.40, lat=35.10),
]  # fmt: skip

PROVINCES = {
    "河北省": [(114.0, 36.0), (119.5, 36.5), (119.8, 42.0), (114.5, 42.5)],
    "山西省": [(110.5, 35.0), (114.0, 36.0), (114.5, 40.5), (111.0, 40.5)],
}
CITIES = {
    "北京市": [(115.8, 39.6), (117.0, 39.5), (117.2, 40.6), (115.9, 40.8)],
    "唐山市": [(117.6, 39.0), (119.0, 38.9), (119.1, 40.3), (117.8, 40.2)],
}

# The map layers (build_release(map_layers=True)): a small basemap in the layout of
# lantian.tiles.basemap (land, countries, country, provinces, cities, counties, maritime, places),
# monitoring stations and the areas far from every station.
BASEMAP_BOUNDS = (104.0, 30.0, 126.0, 48.0)
STATION_ZOOMS = (0, 8)
BASEMAP_ZOOMS = (0, 8)
LAND = Polygon([(104, 30), (121, 30), (121, 37), (122.6, 37.4), (122.6, 38.2), (121, 38.4),
                (121, 41), (126, 41.5), (126, 48), (104, 48)])  # fmt: skip
CHINA = LAND.intersection(box(104, 30, 126, 44.5))
NEIGHBOURS = [("MNG", "蒙古", "Mongolia", LAND.intersection(box(104, 44.5, 126, 48)))]
PROVINCE_NAMES = {"河北省": ("130000", "河北", "Hebei"), "山西省": ("140000", "山西", "Shanxi")}
CITY_INFO = {  # full name: adcode, name_zh, name_en, province, capital (2 national, 1 provincial)
    "北京市": ("110000", "北京", "Beijing", "北京市", 2),
    "唐山市": ("130200", "唐山", "Tangshan", "河北省", 0),
    "石家庄市": ("130100", "石家庄", "Shijiazhuang", "河北省", 1),
}  # fmt: skip
CITY_RINGS = CITIES | {"石家庄市": [(113.8, 37.4), (115.4, 37.5), (115.5, 38.8), (113.9, 38.7)]}
COUNTY = ("130209", "曹妃甸区", "曹妃甸", "Caofeidian",
          Polygon([(118.2, 38.9), (118.8, 38.9), (118.8, 39.4), (118.2, 39.4)]))
MARITIME = LineString([(123.5, 33.0), (124.5, 36.5)])
PLACES = [  # name_zh, name_en, level, capital, adcode, lon, lat
    ("中国", "China", "country", 0, "100000", 109.0, 35.0),
    ("蒙古", "Mongolia", "country", 0, "", 112.0, 46.5),
    ("河北", "Hebei", "province", 0, "130000", 115.6, 41.3),
    ("山西", "Shanxi", "province", 0, "140000", 112.3, 38.6),
    ("北京", "Beijing", "city", 2, "110000", 116.4, 40.1),
    ("石家庄", "Shijiazhuang", "city", 1, "130100", 114.6, 38.1),
    ("唐山", "Tangshan", "city", 0, "130200", 118.6, 39.8),
    ("曹妃甸", "Caofeidian", "county", 0, "130209", 118.5, 39.15),
]  # fmt: skip
STATIONS = [  # code, name, city, province, status, (reason, reason_zh), lon, lat,
    # {quarter: (pm25, days)}
    ("1001A", "世纪公园", "石家庄", "河北省", "ok", ("", ""), 114.53, 38.02,
     {"2019Q1": (105.3, 88), "2019Q2": (48.0, 90)}),
    ("1002A", "东四", "北京", "北京市", "ok", ("", ""), 116.42, 39.93,
     {"2019Q1": (60.1, 85), "2019Q2": (40.2, 91)}),
    ("1003A", "雷达站", "唐山", "河北省", "ok", ("", ""), 118.15, 39.55, {"2019Q1": (92.0, 70)}),
    ("3132A", "文明里", "秦皇岛", "河北", "outside_province",
     ("(119.6000, 37.0300) lies in 青岛 (山东省), not in 秦皇岛 (河北省)",
      "登记坐标（119.6000, 37.0300）位于山东省青岛，不在河北省秦皇岛"), 119.60, 37.03,
     {"2019Q1": (70.2, 80), "2019Q2": (35.5, 77)}),
]  # fmt: skip
SPARSE = {"2019Q1": box(110.0, 40.5, 112.5, 43.0), "2019Q2": box(110.0, 41.0, 112.0, 43.0)}

SHOUGANG, HBIS, TAIYUAN = "gem:P100000120001", "gem:P100000120002", "csv:1"
Feature = tuple[BaseGeometry, Mapping[str, Any]]  # lon/lat geometry, properties
XSS_FINDING = 'Stack monitor offline <img src=x onerror="window.__xss=1"> (synthetic)'
RECORD_SOURCE = "Synthetic fixture record (IPE-style)"
_V = ("record_id", "kind", "enterprise_name", "enterprise_id", "province", "city", "industry",
      "date", "date_precision", "quarter", "authority", "finding", "category", "penalty",
      "source_url", "source", "match_status", "match_score")  # fmt: skip
VIOLATIONS: list[dict[str, Any]] = [dict(zip(_V, row, strict=True)) for row in [
    ("v:1", "inspection", "首钢京唐钢铁", SHOUGANG, "河北省", "唐山市", "steel", "2018-10-16",
     "day", "2018Q4", "Hebei EPB", "Sinter belt dust collector bypassed (synthetic)", "emissions",
     "", "https://example.org/hebei-epb/2018-10", RECORD_SOURCE, "matched", 0.95),
    ("v:2", "inspection", "首钢京唐", SHOUGANG, "河北省", "唐山市", "steel", "2018-12", "month",
     "2018Q4", "Tangshan EPB", "Open coal yard not covered (synthetic)", "dust", "CNY 200,000",
     "", RECORD_SOURCE, "matched", 0.9),
    ("v:3", "inspection", "首钢京唐钢铁公司", SHOUGANG, "河北省", "唐山市", "steel", "2019-02-01",
     "day", "2019Q1", "MEE inspection team", "Production above the heavy-pollution limit "
     "(synthetic)", "emissions", "", "", RECORD_SOURCE, "matched", 0.92),
    ("v:4", "computed_exceedance", "太原焦化<script>", TAIYUAN, "山西省", "太原市", "coking",
     "2019-01-05", "day", "2019Q1", "computed by lantian from online-monitoring data",
     XSS_FINDING, "exceedance", "", "", "Synthetic CEMS data", "matched", 0.88),
    ("v:5", "inspection", "唐山钢铁", "", "河北省", "唐山市", "steel", "2019-03-10", "day",
     "2019Q1", "Tangshan EPB", "Ambiguous plant name (synthetic)", "emissions", "", "",
     RECORD_SOURCE, "ambiguous", 0.6),
    ("v:6", "inspection", "无名焦化厂", "", "", "", "coking", "2019-04-02", "day", "2019Q2",
     "Unknown EPB", "Unplaceable plant (synthetic)", "emissions", "", "", RECORD_SOURCE,
     "unmatched", 0.1),
]]  # fmt: skip
_O = ("record_id", "subject", "level", "enterprise_id", "province", "city", "product", "period",
      "period_type", "period_start", "period_end", "compared_with", "change_pct", "value", "unit",
      "direction", "direction_basis", "note", "source", "match_status", "match_score")  # fmt: skip
OUTPUT: list[dict[str, Any]] = [dict(zip(_O, row, strict=True)) for row in [
    ("o:1", "首钢京唐钢铁", "enterprise", SHOUGANG, "河北省", "唐山市", "crude steel", "2018-Q4",
     "quarter", "2018-10-01", "2018-12-31", "2017-Q4", 12.5, None, "", "up", "change_pct", "",
     "Synthetic fixture output record", "matched", 0.95),
    ("o:2", "河钢唐钢", "enterprise", HBIS, "河北省", "唐山市", "crude steel", "2019-01", "month",
     "2019-01-01", "2019-01-31", "2018-01", -3.0, None, "", "down", "change_pct", "",
     "Synthetic fixture output record", "matched", 0.9),
    ("o:3", "Hebei", "province", "", "河北省", "", "crude steel", "2019-01/2019-02", "months",
     "2019-01-01", "2019-02-28", "2018-01/2018-02", 17.3, None, "", "up", "change_pct", "",
     "Synthetic provincial statistics", "regional", None),
]]  # fmt: skip
PLANT_BY_ID = {p["id"]: p for p in PLANTS}
CITED = frozenset(r["enterprise_id"] for r in [*VIOLATIONS, *OUTPUT]) - {""}  # any record
# Facts that differ from "no record, no output" per (enterprise, quarter); see records above.
_LATEST = {r["record_id"]: (r["date"], r["finding"]) for r in VIOLATIONS}
FACTS: dict[tuple[str, str], dict[str, Any]] = {
    (SHOUGANG, "2018Q4"): dict(violations=2, violations_12m=2, latest=_LATEST["v:2"],
                               output=(12.5, "up", "2018-Q4 vs 2017-Q4 (change_pct)")),
    (SHOUGANG, "2019Q1"): dict(violations=1, violations_12m=3, latest=_LATEST["v:3"]),
    (SHOUGANG, "2019Q2"): dict(violations_12m=3, latest=_LATEST["v:3"]),
    (HBIS, "2019Q1"): dict(output=(-3.0, "down", "2019-01 vs 2018-01 (change_pct)")),
    (TAIYUAN, "2019Q1"): dict(violations=1, violations_12m=1, latest=_LATEST["v:4"]),
    (TAIYUAN, "2019Q2"): dict(violations_12m=1, latest=_LATEST["v:4"]),
}  # fmt: skip


@dataclass(frozen=True)
class FixtureRelease:
    data_dir: Path
    root: Path
    id: str
    manifest: dict[str, Any]


def pm25_value(lon: float | np.ndarray, lat: float | np.ndarray, quarter: str) -> Any:
    """The synthetic PM2.5 field (µg/m³) shared by the tiles and the COGs."""
    base = 140.0 if quarter.endswith("Q1") else 60.0
    return base - 6.0 * (np.asarray(lat) - 34.0) + 2.0 * (np.asarray(lon) - 110.0)


def cog_values(quarter: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """(pm25, uncertainty, transform) of the COG; a NaN block at the north-west corner."""
    west, south, east, north = BOUNDS
    width = round((east - west) / COG_RES)
    height = round((north - south) / COG_RES)
    lon = west + (np.arange(width) + 0.5) * COG_RES
    lat = north - (np.arange(height) + 0.5) * COG_RES
    grid_lon, grid_lat = np.meshgrid(lon, lat)
    pm = pm25_value(grid_lon, grid_lat, quarter).astype(np.float32)
    unc = (5.0 + 0.1 * (grid_lon - west)).astype(np.float32)
    pm[:10, :10] = np.nan
    unc[:10, :10] = np.nan
    return pm, unc, Affine(COG_RES, 0.0, west, 0.0, -COG_RES, north)


def name_pinyin(name_zh: str) -> str:
    """Toneless pinyin, lowercase, without spaces: 首钢京唐钢铁 → shougangjingtanggangtie."""
    return "".join(lazy_pinyin(name_zh)).lower().replace(" ", "")


def is_approximate(plant: dict[str, Any]) -> bool:
    """Not a surveyed point: a geocoded precision or GEM's "approximate" coordinates."""
    return plant["geocode_precision"] != "point" or plant["coordinate_accuracy"] == "approximate"


def quarter_facts() -> list[dict[str, Any]]:
    """``enterprise_quarters`` rows: every plant × timeline quarter (docs/architecture.md)."""
    rows = []
    for plant in PLANTS:
        for quarter in TIMELINE:
            given = FACTS.get((plant["id"], quarter), {})
            latest_date, latest_finding = given.get("latest", ("", ""))
            change, direction, basis = given.get("output", (math.nan, "", ""))
            pm25 = (
                round(float(pm25_value(plant["lon"], plant["lat"], quarter)), 2)
                if quarter in QUARTERS
                else math.nan
            )
            rows.append({
                "id": plant["id"], "quarter": quarter,
                "violations": given.get("violations", 0),
                "violations_12m": given.get("violations_12m", 0),
                "latest_finding_date": latest_date, "latest_finding": latest_finding,
                "output_change_pct": change, "output_direction": direction,
                "output_basis": basis, "pm25_5km": pm25, "pm25_10km": pm25,
                "cited_and_output_up": given.get("violations_12m", 0) > 0 and direction == "up",
            })  # fmt: skip
    return rows


def match_report() -> list[dict[str, Any]]:
    """One match-report row per violation and enterprise output record."""
    rows = []
    for kind, records in (("violation", VIOLATIONS), ("output", OUTPUT)):
        for r in records:
            status = r["match_status"]
            if status == "regional":
                continue
            ids = [r["enterprise_id"]] if r["enterprise_id"] else []
            if status == "ambiguous":
                ids = [SHOUGANG, HBIS]
            candidates = [
                {"id": i, "name": PLANT_BY_ID[i]["name"], "score": r["match_score"],
                 "reasons": ["name", "province", "city"]}
                for i in ids
            ]  # fmt: skip
            reason = {
                "matched": "best candidate above the threshold",
                "ambiguous": "two candidates score alike",
                "unmatched": "no candidate above the threshold and no place to locate it",
            }[status]
            rows.append({
                "record_id": r["record_id"], "record_kind": kind,
                "name": r.get("enterprise_name", r.get("subject")), "province": r["province"],
                "city": r["city"], "status": status,
                "enterprise_id": r["enterprise_id"] if status == "matched" else "",
                "score": r["match_score"], "candidates": json.dumps(candidates, ensure_ascii=False),
                "reason": reason,
            })  # fmt: skip
    return rows


def tile_properties(plant: dict[str, Any], facts: list[dict[str, Any]]) -> dict[str, Any]:
    """Identity plus the issue-3 per-quarter properties; 0/unknown values are left out."""
    props = {k: plant[k] for k in ("id", "name", "name_en", "industry", "capacity", "province")}
    records = sum(1 for r in VIOLATIONS if r["enterprise_id"] == plant["id"])
    extra: dict[str, Any] = {
        "approx": int(is_approximate(plant)),
        "records": records,
    }
    directions: dict[str, int] = {}
    for row in facts:
        if row["id"] != plant["id"]:
            continue
        q = row["quarter"]
        up = {"up": 1, "down": -1, "flat": 0}.get(row["output_direction"])
        extra |= {
            f"v_{q}": row["violations"],
            f"v12_{q}": row["violations_12m"],
            f"out_{q}": None if math.isnan(row["output_change_pct"]) else row["output_change_pct"],
            f"flag_{q}": int(row["cited_and_output_up"]),
        }
        if up is not None:
            directions[f"up_{q}"] = up
    return props | {k: v for k, v in extra.items() if v} | directions


def vector_fields() -> dict[str, str]:
    """``vector_layers[].fields`` of the enterprises and cited layers."""
    fields = {"id": "String", "name": "String", "name_en": "String", "industry": "String",
              "province": "String", "capacity": "Number", "approx": "Number",
              "records": "Number"}  # fmt: skip
    for q in TIMELINE:
        fields |= {f"{p}_{q}": "Number" for p in ("v", "v12", "out", "up", "flag")}
    return fields


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def colormap_doc(name: str) -> dict[str, Any]:
    uppers: list[float | None] = [*BREAKS[1:], None]
    return {
        "name": name,
        "title": "PM2.5 (colour-blind-safe)" if name.endswith("-cb") else "PM2.5",
        "units": "µg/m³",
        "source": "fixture",
        "nodata": 255,
        "classes": [
            {"index": i, "lower": lo, "upper": up, "color": c, "rgba": [*_hex(c), 255],
             "label": label}
            for i, (lo, up, c, label) in enumerate(
                zip(BREAKS, uppers, COLOURS[name], LABELS, strict=True)
            )
        ],
    }  # fmt: skip


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[float, float]:
    n = 1 << z
    x = (lon + 180.0) / 360.0 * n
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return x, y


def tiles_covering(
    z: int, bounds: tuple[float, float, float, float] = BOUNDS
) -> list[tuple[int, int]]:
    west, south, east, north = bounds
    x0, y0 = lonlat_to_tile(west, north, z)
    x1, y1 = lonlat_to_tile(east, south, z)
    return [(x, y) for x in range(int(x0), int(x1) + 1) for y in range(int(y0), int(y1) + 1)]


def _header(tile_type: TileType, compression: Compression, zooms: tuple[int, int]) -> dict:
    west, south, east, north = BOUNDS
    return {
        "tile_type": tile_type,
        "tile_compression": compression,
        "min_zoom": zooms[0],
        "max_zoom": zooms[1],
        "min_lon_e7": int(west * 1e7),
        "min_lat_e7": int(south * 1e7),
        "max_lon_e7": int(east * 1e7),
        "max_lat_e7": int(north * 1e7),
        "center_zoom": 5,
        "center_lon_e7": int((west + east) / 2 * 1e7),
        "center_lat_e7": int((south + north) / 2 * 1e7),
    }


def write_pmtiles(
    path: Path,
    tiles: dict[tuple[int, int, int], bytes],
    header: dict[str, Any],
    metadata: dict[str, Any],
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        writer = Writer(f)
        for (z, x, y), data in sorted(tiles.items(), key=lambda t: zxy_to_tileid(*t[0])):
            writer.write_tile(zxy_to_tileid(z, x, y), data)
        writer.finalize(header, metadata)


def raster_tile(z: int, x: int, y: int, quarter: str, colormap: str) -> bytes:
    n = 1 << z
    px = (np.arange(256) + 0.5) / 256
    lon = (x + px) / n * 360 - 180
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * (y + px) / n))))
    grid_lon, grid_lat = np.meshgrid(lon, lat)
    values = pm25_value(grid_lon, grid_lat, quarter)
    index = np.clip(np.searchsorted(BREAKS[1:], values, side="right"), 0, 6)
    palette = np.array([(*_hex(c), 190) for c in COLOURS[colormap]], dtype=np.uint8)
    rgba = palette[index]
    west, south, east, north = BOUNDS
    inside = (grid_lon >= west) & (grid_lon <= east) & (grid_lat >= south) & (grid_lat <= north)
    rgba[~inside] = 0
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def _mvt(layers: list[dict[str, Any]]) -> bytes:
    data = mapbox_vector_tile.encode(layers, default_options={"y_coord_down": True})
    return gzip.compress(data, mtime=0)


def _local(lon: float, lat: float, z: int, x: int, y: int) -> tuple[float, float]:
    tx, ty = lonlat_to_tile(lon, lat, z)
    return round((tx - x) * 4096), round((ty - y) * 4096)


def enterprise_tiles(
    facts: list[dict[str, Any]], layer: str = "enterprises", cluster: bool = True
) -> dict[tuple[int, int, int], bytes]:
    """Points per tile; below z4 nearby points merge into clusters with point_count."""
    plants = PLANTS if layer == "enterprises" else [p for p in PLANTS if p["id"] in CITED]
    tiles: dict[tuple[int, int, int], bytes] = {}
    for z in range(ENTERPRISE_ZOOMS[0], ENTERPRISE_ZOOMS[1] + 1):
        groups: dict[tuple[int, int], dict[tuple[int, int], list[dict[str, Any]]]] = {}
        for plant in plants:
            tx, ty = lonlat_to_tile(plant["lon"], plant["lat"], z)
            key = (int(tx), int(ty))
            cell = (int(tx * 8), int(ty * 8)) if cluster and z < 4 else (id(plant), 0)
            groups.setdefault(key, {}).setdefault(cell, []).append(plant)
        for (x, y), cells in groups.items():
            features = []
            for members in cells.values():
                lon = sum(p["lon"] for p in members) / len(members)
                lat = sum(p["lat"] for p in members) / len(members)
                if len(members) > 1:
                    props: dict[str, Any] = {
                        "clustered": True,
                        "point_count": len(members),
                        "sqrt_point_count": math.sqrt(len(members)),
                    }
                else:
                    props = tile_properties(members[0], facts)
                geom = Point(_local(lon, lat, z, x, y))
                features.append({"geometry": geom, "properties": props})
            tiles[(z, x, y)] = _mvt([{"name": layer, "features": features}])
    return tiles


def boundary_tiles() -> dict[tuple[int, int, int], bytes]:
    tiles: dict[tuple[int, int, int], bytes] = {}
    for z in range(BOUNDARY_ZOOMS[0], BOUNDARY_ZOOMS[1] + 1):
        for x, y in tiles_covering(z):
            layers = []
            for layer, shapes in (("provinces", PROVINCES), ("cities", CITIES)):
                features = [
                    {
                        "geometry": Polygon([_local(lon, lat, z, x, y) for lon, lat in ring]),
                        "properties": {"name": name},
                    }
                    for name, ring in shapes.items()
                ]
                layers.append({"name": layer, "features": features})
            tiles[(z, x, y)] = _mvt(layers)
    return tiles


def _tile_geometry(geom: BaseGeometry, z: int, x: int, y: int) -> BaseGeometry | None:
    """``geom`` (lon/lat) clipped to tile z/x/y plus a small buffer, in tile coordinates."""
    n = 1 << z
    pad = 0.05

    def lon(tx: float) -> float:
        return tx / n * 360.0 - 180.0

    def lat(ty: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    clipped = geom.intersection(box(lon(x - pad), lat(y + 1 + pad), lon(x + 1 + pad), lat(y - pad)))
    if clipped.is_empty:
        return None
    return shapely.transform(clipped, lambda coords: _local_array(coords, z, x, y))


def _local_array(coords: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """N×2 lon/lat → N×2 tile coordinates (extent 4096, y down)."""
    n = 1 << z
    tx = (coords[:, 0] + 180.0) / 360.0 * n
    ty = (1 - np.arcsinh(np.tan(np.radians(coords[:, 1]))) / np.pi) / 2 * n
    return np.round(np.column_stack([(tx - x) * 4096, (ty - y) * 4096]))


def _contains_tile(lon: float, lat: float, z: int, x: int, y: int) -> bool:
    tx, ty = lonlat_to_tile(lon, lat, z)
    return (int(tx), int(ty)) == (x, y)


def basemap_layers() -> Mapping[str, Sequence[Feature]]:
    """Every basemap source-layer as (lon/lat geometry, properties) pairs."""
    provinces = [
        (Polygon(ring), {"adcode": PROVINCE_NAMES[name][0], "name": name,
                         "name_zh": PROVINCE_NAMES[name][1], "name_en": PROVINCE_NAMES[name][2]})
        for name, ring in PROVINCES.items()
    ]  # fmt: skip
    cities = [
        (Polygon(ring), {"adcode": CITY_INFO[name][0], "name": name, "name_zh": CITY_INFO[name][1],
                         "name_en": CITY_INFO[name][2], "province": CITY_INFO[name][3],
                         "capital": CITY_INFO[name][4] > 0})
        for name, ring in CITY_RINGS.items()
    ]  # fmt: skip
    adcode, name, name_zh, name_en, shape = COUNTY
    return {
        "land": [(LAND, {})],
        "countries": [
            (g, {"iso3": iso, "name_zh": zh, "name_en": en}) for iso, zh, en, g in NEIGHBOURS
        ],
        "country": [(CHINA, {"name_zh": "中国", "name_en": "China"})],
        "provinces": provinces,
        "cities": cities,
        "counties": [(shape, {"adcode": adcode, "name": name, "name_zh": name_zh,
                              "name_en": name_en, "city_adcode": "130200"})],
        "maritime": [(MARITIME, {})],
        "places": [
            (Point(lon, lat), {"name_zh": zh, "name_en": en, "level": level, "capital": capital,
                               "adcode": code})
            for zh, en, level, capital, code, lon, lat in PLACES
        ],
    }  # fmt: skip


def station_features() -> Sequence[Feature]:
    rows = []
    for code, name, city, province, status, (reason, reason_zh), lon, lat, values in STATIONS:
        props: dict[str, Any] = {"code": code, "name": name, "city": city, "province": province,
                                 "status": status, "reason": reason,
                                 "reason_zh": reason_zh}  # fmt: skip
        for quarter, (pm25, days) in values.items():
            props |= {f"pm25_{quarter}": pm25, f"days_{quarter}": days}
        rows.append((Point(lon, lat), props))
    return rows


def feature_tiles(
    layers: Mapping[str, Sequence[Feature]],
    zooms: tuple[int, int],
    bounds: tuple[float, float, float, float],
) -> dict[tuple[int, int, int], bytes]:
    """MVT tiles of lon/lat features; a point only in the tile that holds it."""
    tiles: dict[tuple[int, int, int], bytes] = {}
    for z in range(zooms[0], zooms[1] + 1):
        for x, y in tiles_covering(z, bounds):
            encoded = []
            for name, features in layers.items():
                found = []
                for geom, props in features:
                    if isinstance(geom, Point):
                        if not _contains_tile(geom.x, geom.y, z, x, y):
                            continue
                        local: BaseGeometry | None = Point(_local(geom.x, geom.y, z, x, y))
                    else:
                        local = _tile_geometry(geom, z, x, y)
                    if local is not None:
                        found.append({"geometry": local, "properties": props})
                if found:
                    encoded.append({"name": name, "features": found})
            if encoded:
                tiles[(z, x, y)] = _mvt(encoded)
    return tiles


def _fields(features: Sequence[Feature]) -> dict[str, str]:
    def kind(value: Any) -> str:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return "Number" if number else "String"

    return {key: kind(value) for _, props in features for key, value in props.items()}


def map_layer_archives(root: Path) -> list[dict[str, Any]]:
    """Write the basemap (over ``boundaries``), stations and sparse archives; their layers."""
    basemap = basemap_layers()
    stations = {"stations": station_features()}
    sparse = {"sparse": [(shape, {"quarter": q}) for q, shape in SPARSE.items()]}
    layers = []
    for layer_id, title, data, zooms in (
        ("boundaries", "Basemap: land, countries, boundaries and place names", basemap,
         BASEMAP_ZOOMS),
        ("stations", "Monitoring stations", stations, STATION_ZOOMS),
        ("sparse", "Farther than 150 km from every station used", sparse, BOUNDARY_ZOOMS),
    ):  # fmt: skip
        vector_layers = [{"id": name, "fields": _fields(rows)} for name, rows in data.items()]
        write_pmtiles(
            root / "tiles" / f"{layer_id}.pmtiles",
            feature_tiles(data, zooms, BASEMAP_BOUNDS),
            _header(TileType.MVT, Compression.GZIP, zooms),
            {"name": layer_id, "vector_layers": vector_layers},
        )
        layers.append({
            "id": layer_id, "kind": "vector", "title": title, "minzoom": zooms[0],
            "maxzoom": zooms[1], "bounds": list(BASEMAP_BOUNDS),
            "files": {"all": f"tiles/{layer_id}.pmtiles"}, "vector_layers": vector_layers,
        })  # fmt: skip
    return layers


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


MEDIA = {
    ".pmtiles": "application/vnd.pmtiles",
    ".tif": "image/tiff; application=geotiff; profile=cloud-optimized",
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
    ".csv": "text/csv",
}


def _write_grid(root: Path, label: str, like: str, tags: Mapping[str, str] | None = None) -> None:
    """The COG ``pm25/pm25_<label>.tif`` and the raster archives of ``label`` in both colour
    scales, with the field of quarter ``like``."""
    pm, unc, transform = cog_values(like)
    with rasterio.open(
        root / "pm25" / f"pm25_{label}.tif", "w", driver="GTiff", width=pm.shape[1],
        height=pm.shape[0], count=2, dtype="float32", crs="EPSG:4326", transform=transform,
        nodata=float("nan"), tiled=True, blockxsize=128, blockysize=128, compress="deflate",
    ) as ds:  # fmt: skip
        ds.write(pm, 1)
        ds.write(unc, 2)
        if tags:
            ds.update_tags(**tags)
    name = label if label == like else f"{label} (synthetic)"
    for cmap in ("pm25", "pm25-cb"):
        tiles = {
            (z, x, y): raster_tile(z, x, y, like, cmap)
            for z in range(RASTER_ZOOMS[0], RASTER_ZOOMS[1] + 1)
            for x, y in tiles_covering(z)
        }
        write_pmtiles(
            root / "tiles" / f"{cmap}_{label}.pmtiles", tiles,
            _header(TileType.PNG, Compression.NONE, RASTER_ZOOMS),
            {"name": f"{cmap} {name}", "format": "png"},
        )  # fmt: skip


def build_release(data_dir: Path, map_layers: bool = False) -> FixtureRelease:
    """Write ``data_dir/releases/<id>/`` and point ``data_dir/current`` at it; with
    ``map_layers``, the boundaries archive is a basemap and stations and sparse areas are added."""
    root = data_dir / "releases" / RELEASE_ID
    (root / "pm25").mkdir(parents=True)
    for quarter in QUARTERS:
        _write_grid(root, quarter, quarter)
    facts = quarter_facts()
    fields = vector_fields()
    cited_fields = vector_fields()
    write_pmtiles(
        root / "tiles" / "enterprises.pmtiles",
        enterprise_tiles(facts, cluster=False),  # every plant at every zoom, as built
        _header(TileType.MVT, Compression.GZIP, ENTERPRISE_ZOOMS),
        {"name": "enterprises", "vector_layers": [{"id": "enterprises", "fields": fields}]},
    )
    write_pmtiles(
        root / "tiles" / "cited.pmtiles",
        enterprise_tiles(facts, layer="cited", cluster=False),
        _header(TileType.MVT, Compression.GZIP, ENTERPRISE_ZOOMS),
        {"name": "cited", "vector_layers": [{"id": "cited", "fields": cited_fields}]},
    )
    boundary_layers = [{"id": n, "fields": {"name": "String"}} for n in ("provinces", "cities")]
    write_pmtiles(
        root / "tiles" / "boundaries.pmtiles",
        boundary_tiles(),
        _header(TileType.MVT, Compression.GZIP, BOUNDARY_ZOOMS),
        {"name": "boundaries", "vector_layers": boundary_layers},
    )
    extra_layers = map_layer_archives(root) if map_layers else []

    (root / "enterprises").mkdir()
    frame = gpd.GeoDataFrame(
        [
            {k: v for k, v in p.items() if k not in ("lon", "lat")}
            | {"name_pinyin": name_pinyin(p["name_zh"])}
            for p in PLANTS
        ],
        geometry=[Point(p["lon"], p["lat"]) for p in PLANTS],
        crs="EPSG:4326",
    )
    frame.to_parquet(root / "enterprises" / "enterprises.parquet")
    quarters = pd.DataFrame(facts)
    quarters.to_csv(root / "enterprises" / "enterprise_quarters.csv", index=False)
    quarters.to_parquet(root / "enterprises" / "enterprise_quarters.parquet", index=False)

    (root / "records").mkdir()
    for name, rows in (("violations", VIOLATIONS), ("output", OUTPUT)):
        pd.DataFrame(rows).to_csv(root / "records" / f"{name}.csv", index=False)
    pd.DataFrame(match_report()).to_csv(root / "records" / "match_report.csv", index=False)

    (root / "stats").mkdir()
    stats = []
    for region_type, region in (("province", "河北省"), ("city", "唐山市"), ("city", "北京市")):
        for i, quarter in enumerate(QUARTERS):
            stats.append({
                "region_type": region_type, "region": region, "period": quarter,
                "period_type": "quarter", "pm25": 80.0 - 20 * i + len(region),
                "n_cities": 11 if region_type == "province" else 1, "n_stations": 5,
                "qoq_change_pct": None if i == 0 else -25.0, "yoy_change_pct": None,
            })  # fmt: skip
    (root / "stats" / "region_stats.json").write_text(
        json.dumps(stats, ensure_ascii=False), encoding="utf-8"
    )
    (root / "stats" / "region_stats.csv").write_text(
        "region_type,region,period\nprovince,河北省,2019Q1\n", encoding="utf-8"
    )

    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    layers: list[dict[str, Any]] = [
        {
            "id": cmap, "kind": "raster", "title": f"PM2.5 ({cmap})", "units": "µg/m³",
            "colormap": cmap, "minzoom": RASTER_ZOOMS[0], "maxzoom": RASTER_ZOOMS[1],
            "bounds": list(BOUNDS), "files": {q: f"tiles/{cmap}_{q}.pmtiles" for q in QUARTERS},
        }
        for cmap in ("pm25", "pm25-cb")
    ] + [
        {
            "id": "enterprises", "kind": "vector", "title": "Steel and coal plants",
            "minzoom": ENTERPRISE_ZOOMS[0], "maxzoom": ENTERPRISE_ZOOMS[1],
            "bounds": list(BOUNDS), "files": {"all": "tiles/enterprises.pmtiles"},
            "vector_layers": [{"id": "enterprises", "fields": fields}],
        },
        {
            "id": "cited", "kind": "vector", "title": "Plants with records",
            "minzoom": ENTERPRISE_ZOOMS[0], "maxzoom": ENTERPRISE_ZOOMS[1],
            "bounds": list(BOUNDS), "files": {"all": "tiles/cited.pmtiles"},
            "vector_layers": [{"id": "cited", "fields": cited_fields}],
        },
        {
            "id": "boundaries", "kind": "vector", "title": "Provinces and cities",
            "minzoom": BOUNDARY_ZOOMS[0], "maxzoom": BOUNDARY_ZOOMS[1],
            "bounds": list(BOUNDS), "files": {"all": "tiles/boundaries.pmtiles"},
            "vector_layers": boundary_layers,
        },
    ]  # fmt: skip
    if extra_layers:
        layers = [layer for layer in layers if layer["id"] != "boundaries"] + extra_layers
    manifest = {
        "format": "lantian-release/1",
        "id": RELEASE_ID,
        "created": "2024-01-01T00:00:00Z",
        "title": "Fixture release",
        "synthetic": True,
        "quarters": list(QUARTERS),
        "timeline": list(TIMELINE),
        "layers": layers,
        "files": [
            {
                "path": f,
                "bytes": (root / f).stat().st_size,
                "sha256": _sha256(root / f),
                "media_type": MEDIA.get(Path(f).suffix, "application/octet-stream"),
                "title": f,
            }
            for f in files
        ],
        "sources": [
            {
                "id": "gem",
                "title": "Global Steel Plant Tracker",
                "url": "https://globalenergymonitor.org",
                "licence": "CC BY 4.0",
                "attribution": "Global Energy Monitor <GEM>",
            },
            {
                "id": "cnemc",
                "title": "CNEMC hourly data",
                "url": "https://quotsoft.net/air/",
                "licence": "public",
                "attribution": "CNEMC via quotsoft.net",
            },
            {
                "id": "ipe",
                "title": "Violation and output records cited by IPE (2019)",
                "url": "https://www.ipe.org.cn",
                "licence": "cited facts",
                "attribution": "Records: IPE 2019 report and the sources it cites",
            },
        ],
        "summary": {"enterprises": len(PLANTS)},
        "colormaps": {name: colormap_doc(name) for name in COLOURS},
    }
    (root / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    os.symlink(Path("releases") / RELEASE_ID, data_dir / "current")
    return FixtureRelease(data_dir, root, RELEASE_ID, manifest)


def with_enterprise_name(release: Any, index: int, name: str) -> Any:
    """A copy of a loaded ``lantian.server.releases.release.Release``, plant ``index`` renamed
    (in every language)."""
    from dataclasses import replace
    from types import MappingProxyType

    features = list(release.enterprises.features)
    feature = dict(features[index])
    names = {"name": name, "name_zh": name, "name_en": name}
    feature["properties"] = MappingProxyType({**feature["properties"], **names})
    features[index] = MappingProxyType(feature)
    return replace(release, enterprises=replace(release.enterprises, features=tuple(features)))


# Operating periods, statuses, sources and units of a release built since issue 15 (the plain
# fixture is a release from before: those columns are absent, i.e. unknown).
PERIODS: dict[str, dict[str, Any]] = {
    SHOUGANG: dict(status="operating", start_date="2009-05", idled_date="", retired_date="",
                   op_from="2009Q2", op_to="", ever_operated=True, dates_caveat="", coking=1,
                   coking_capacity=4000.0, owner_zh="首钢集团", products="BF; BOF",
                   source_ids=f"{SHOUGANG};gspt:P100000120001"),
    HBIS: dict(status="retired", start_date="1943", idled_date="", retired_date="2019-02",
               op_from="1943Q1", op_to="2019Q1", ever_operated=True, dates_caveat="", coking=0,
               coking_capacity=math.nan, source_ids=HBIS),
    "wri:1000453": dict(status="operating", start_date="", op_from="", op_to="",
                        ever_operated=True, dates_caveat="no_start", coking=0,
                        source_ids="gem:G1;wri:1000453"),
    "wri:1000454": dict(status="construction", start_date="2026", op_from="", op_to="",
                        ever_operated=False, dates_caveat="", coking=0),
    TAIYUAN: dict(status="", op_from="", op_to="", ever_operated=True, dates_caveat="no_dates",
                  coking=1),
    "gem:P100000120003": dict(status="operating", start_date="2019-05", op_from="2019Q2",
                              op_to="", ever_operated=True, dates_caveat="", coking=0),
}  # fmt: skip
UNITS = [  # enterprise_id, unit_id, capacity, capacity_unit, status, start, idled, retired
    ("wri:1000453", "gem:G1-1", 600.0, "MW", "operating", "", "", ""),
    ("wri:1000453", "gem:G1-2", 300.0, "MW", "operating", "", "", ""),
    (SHOUGANG, f"{SHOUGANG}#operating", 9700.0, "ttpa", "operating", "2009-05", "", ""),
]  # fmt: skip


def with_operating_periods(root: Path) -> None:
    """Give the release at ``root`` the plant columns of issue 15 (:data:`PERIODS`), a units
    table (:data:`UNITS`) and facts only for the quarters each plant operated (with
    ``operating`` and ``capacity_operating``); the manifest lists the new files."""
    from lantian.layers.operating import UNIT_COLUMNS

    path = root / "enterprises" / "enterprises.parquet"
    frame = gpd.read_parquet(path)
    for column in sorted({c for values in PERIODS.values() for c in values}):
        frame[column] = [PERIODS[i].get(column) for i in frame["id"]]
    frame.to_parquet(path)
    pd.DataFrame(UNITS, columns=UNIT_COLUMNS).to_csv(root / "enterprises" / "units.csv",
                                                    index=False)
    facts = pd.DataFrame(quarter_facts())
    running = facts.apply(lambda r: _operating(PERIODS[r["id"]], r["quarter"]), axis=1)
    capacity = facts["id"].map({p["id"]: p["capacity"] for p in PLANTS})
    facts = facts.assign(operating=True, capacity_operating=capacity)[running.to_numpy()]
    facts.to_csv(root / "enterprises" / "enterprise_quarters.csv", index=False)
    facts.to_parquet(root / "enterprises" / "enterprise_quarters.parquet", index=False)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["path"] for f in manifest["files"]}
    manifest["files"] += [{"path": "enterprises/units.csv", "media_type": "text/csv",
                           "title": "units", "bytes": 0, "sha256": ""}] * (
        "enterprises/units.csv" not in listed)
    for entry in manifest["files"]:
        entry["bytes"] = (root / entry["path"]).stat().st_size
        entry["sha256"] = _sha256(root / entry["path"])
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                        encoding="utf-8")


def _operating(plant: dict[str, Any], quarter: str) -> bool:
    start, end = plant.get("op_from") or "", plant.get("op_to") or ""
    return bool(plant.get("ever_operated", True)) and (not start or start <= quarter) and (
        not end or quarter <= end)


def copy_release(root: Path, new_id: str, title: str | None = None) -> Path:
    """A sibling of the release folder ``root`` under ``new_id``: the same files, and a
    manifest that names the new id (and ``title``, when given)."""
    target = root.parent / new_id
    shutil.copytree(root, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["id"] = new_id
    if title is not None:
        manifest["title"] = title
    (target / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False), encoding="utf-8"
    )
    return target


def activate(data_dir: Path, release_id: str) -> None:
    """Point ``current`` at ``releases/<release_id>`` atomically (a new link renamed over the
    old one), unchecked: unlike ``ReleaseStore.activate``, broken releases too."""
    link = data_dir / f".tmp-link-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(Path("releases") / release_id)
    os.replace(link, data_dir / "current")


def add_periods(release: FixtureRelease, added: Mapping[str, str], made_for: str) -> FixtureRelease:
    """Give ``release`` a synthetic grid (its COG, and its raster archives in both colour
    scales) for each period of ``added``, a copy of the field of the quarter it maps to, and
    list them in the manifest: months and years beside the fixture's quarters."""
    root = release.root
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))  # as now on disk
    for label, like in added.items():
        _write_grid(root, label, like, {"SYNTHETIC": f"generated for {made_for}"})
    manifest["periods"] = {
        kind: sorted(label for label in added if len(label) == width)
        for kind, width in (("month", 7), ("year", 4))
    } | {"quarter": list(QUARTERS)}
    for layer in manifest["layers"]:
        if layer["kind"] == "raster":
            layer["files"] |= {label: f"tiles/{layer['id']}_{label}.pmtiles" for label in added}
    listed = {f["path"]: f for f in manifest["files"]}
    for label in added:
        for path in (f"pm25/pm25_{label}.tif", f"tiles/pm25_{label}.pmtiles",
                     f"tiles/pm25-cb_{label}.pmtiles"):  # fmt: skip
            data = (root / path).read_bytes()
            listed[path] = {"path": path, "bytes": len(data),
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "media_type": MEDIA.get(Path(path).suffix, "application/octet-stream"),
                            "title": path}  # fmt: skip
    manifest["files"] = list(listed.values())
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    release.manifest.clear()
    release.manifest.update(manifest)
    return release


def embed_config(page: str) -> dict[str, Any]:
    """The JSON config handed to an embed page's script (the last argument of its IIFE)."""
    match = re.search(r"\}\)\(map_[0-9a-f]+, (\{.*\})\);\s*$", page, re.MULTILINE)
    assert match, "embed config not found"
    return dict(json.loads(match.group(1)))
