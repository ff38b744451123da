"""Statistics, membership and station tables added to a fixture release (SYNTHETIC values).

``add_statistics(root)`` writes, in the schema of issue 13's statistics,
``stats/region_stats.{json,csv}`` for six cities, their provinces, the 2+26 and Fen-Wei groups
and the nation per month, quarter and year of 2019, plus two months of 2018 (synthetic
prior-year data: 2019-01 has a change on a year before for every city but Rizhao);
``stats/regions.json``; ``stations/stations.csv`` and
``stations/station_{monthly,quarterly,annual}.csv``. The manifest's file list is updated.
Loaded by tests/conftest.py as ``lantian_fixture_stats``.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from lantian.layers.periods import period_type

MONTHS_2019 = tuple(f"2019-{m:02d}" for m in range(1, 13))
PRIOR = ("2018-01", "2018-12")  # synthetic prior-year months
QUARTERS = tuple(f"2019Q{q}" for q in range(1, 5))
SEASON = (1.6, 1.4, 1.0, 0.8, 0.7, 0.6, 0.55, 0.55, 0.7, 0.9, 1.2, 1.5)
# adcode: name_zh, name_en, province adcode, groups, base level (µg/m³)
CITIES: dict[str, tuple[str, str, str, tuple[str, ...], float]] = {
    "110100": ("北京", "Beijing", "110000", ("2+26",), 45.0),
    "120100": ("天津", "Tianjin", "120000", ("2+26",), 50.0),
    "130100": ("石家庄", "Shijiazhuang", "130000", ("2+26",), 70.0),
    "130200": ("唐山", "Tangshan", "130000", ("2+26",), 60.0),
    "140100": ("太原", "Taiyuan", "140000", ("Fenwei",), 55.0),
    "371100": ("日照", "Rizhao", "370000", (), 40.0),
}
PROVINCES = {"110000": ("北京", "Beijing"), "120000": ("天津", "Tianjin"),
             "130000": ("河北", "Hebei"), "140000": ("山西", "Shanxi"),
             "370000": ("山东", "Shandong")}  # fmt: skip
GROUPS = {"2+26": ('京津冀及周边"2+26"城市', "2+26 cities"),
          "Fenwei": ("汾渭平原", "Fen-Wei Plain")}  # fmt: skip
INVALID = {("130200", "2019-07")}  # too few valid days (GB 3095-2012: ≥ 27 a month)
MISSING = {("371100", "2019-08"), ("371100", "2018-01")}  # no data at all
STATIONS = [  # code, name, city, province, lon, lat, status, reason, reason_zh
    ("1001A", "世纪公园", "石家庄", "河北省", 114.53, 38.02, "ok", "", ""),
    ("1002A", "东四", "北京", "北京市", 116.42, 39.93, "ok", "", ""),
    ("1003A", "雷达站", "唐山", "河北省", 118.15, 39.55, "ok", "", ""),
    ("3132A", "文明里", "秦皇岛", "河北", 119.60, 37.03, "outside_province",
     "(119.6000, 37.0300) lies in 青岛 (山东省), not in 秦皇岛 (河北省)",
     "登记坐标（119.6000, 37.0300）位于山东省青岛，不在河北省秦皇岛"),
]  # fmt: skip


def _days(month: str) -> int:
    start = pd.Timestamp(f"{month}-01")
    return int((start + pd.offsets.MonthEnd(0)).day)


def city_month(code: str, month: str) -> tuple[float, int, bool, int]:
    """(pm25, n_days, valid, days_over_75) of a city-month (synthetic)."""
    if (code, month) in MISSING:
        return math.nan, 0, False, 0
    base = CITIES[code][4]
    year, m = int(month[:4]), int(month[5:])
    prior = 1.05 + 0.05 * list(CITIES).index(code)  # 2018 higher, by a different factor
    value = round(base * SEASON[m - 1] * (prior if year == 2018 else 1.0), 1)
    days = 20 if (code, month) in INVALID else _days(month) - 1
    return value, days, (code, month) not in INVALID, min(days, max(0, round((value - 50) / 2)))


def _months_of(label: str) -> list[str]:
    if "Q" in label:
        q = int(label[-1])
        return [f"{label[:4]}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    return [f"{label}-{m:02d}" for m in range(1, 13)]


def city_value(code: str, label: str) -> dict[str, Any]:
    """pm25, valid, n_days, days_over_75 of a city in any period (quarters/years: from months)."""
    if len(label) == 7:
        pm25, days, valid, over = city_month(code, label)
        return {"pm25": pm25, "valid": valid, "n_days": days, "days_over_75": over}
    parts = [city_month(code, m) for m in _months_of(label)]
    days = sum(p[1] for p in parts)
    with_data = [p for p in parts if p[1] > 0]
    pm25 = sum(p[0] * p[1] for p in with_data) / days if days else math.nan
    return {"pm25": round(pm25, 2), "valid": all(p[2] for p in parts), "n_days": days,
            "days_over_75": sum(p[3] for p in parts)}  # fmt: skip


def _previous(label: str) -> str:
    if len(label) == 7:
        year, m = int(label[:4]), int(label[5:])
        return f"{year - 1}-12" if m == 1 else f"{year}-{m - 1:02d}"
    if "Q" in label:
        year, q = int(label[:4]), int(label[-1])
        return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"
    return str(int(label) - 1)


def _year_before(label: str) -> str:
    return f"{int(label[:4]) - 1}{label[4:]}"


def _change(values: dict[str, float], label: str, other: str) -> float | None:
    now, then = values.get(label), values.get(other)
    if now is None or then is None or math.isnan(now) or math.isnan(then):
        return None
    return round((now - then) / then * 100, 2)


def _rank(values: dict[str, float]) -> dict[str, int]:
    present = sorted((c for c, v in values.items() if not math.isnan(v)),
                     key=lambda c: (-values[c], c))  # fmt: skip
    return {c: i for i, c in enumerate(present, start=1)}


def stats_rows() -> list[dict[str, Any]]:
    """Every row of region_stats in the contract's schema (synthetic)."""
    labels = [*PRIOR, *MONTHS_2019, *QUARTERS, "2019"]
    city = {(c, p): city_value(c, p) for c in CITIES for p in labels}
    rows: list[dict[str, Any]] = []
    regions: list[tuple[str, str, str, str, list[str]]] = [
        ("national", "national", "全国", "National", list(CITIES)),
        *[(g, g, zh, en, [c for c in CITIES if g in CITIES[c][3]]) for g, (zh, en) in
          GROUPS.items()],
        *[("province", code, zh, en, [c for c in CITIES if CITIES[c][2] == code])
          for code, (zh, en) in PROVINCES.items()],
    ]  # fmt: skip
    value_of: dict[tuple[str, str], dict[str, float]] = {}
    for label in labels:
        pm = {c: city[(c, label)]["pm25"] for c in CITIES}
        national = _rank(pm)
        groups = {g: _rank({c: pm[c] for c in CITIES if g in CITIES[c][3]}) for g in GROUPS}
        provinces = {p: _rank({c: pm[c] for c in CITIES if CITIES[c][2] == p}) for p in PROVINCES}
        for code, (zh, en, province, member_of, _) in CITIES.items():
            value_of.setdefault(("city", code), {})[label] = pm[code]
            group = member_of[0] if member_of else None
            rows.append({
                "region_type": "city", "region": zh, "code": code, "name_zh": zh, "name_en": en,
                "period": label, **city[(code, label)], "n_cities": 1,
                "n_valid_cities": int(city[(code, label)]["valid"]), "n_stations": 2,
                "rank_national": national.get(code), "n_ranked_national": len(national),
                "rank_group": groups[group].get(code) if group else None,
                "n_ranked_group": len(groups[group]) if group else None,
                "rank_province": provinces[province].get(code),
                "n_ranked_province": len(provinces[province]),
            })  # fmt: skip
        for region_type, code, zh, en, members in regions:
            values = [city[(c, label)] for c in members]
            present = [v["pm25"] for v in values if not math.isnan(v["pm25"])]
            pm25 = round(sum(present) / len(present), 2) if present else math.nan
            value_of.setdefault((region_type, code), {})[label] = pm25
            rows.append({
                "region_type": region_type, "region": zh if region_type == "province" else code,
                "code": code, "name_zh": zh, "name_en": en, "period": label, "pm25": pm25,
                "valid": all(v["valid"] for v in values), "n_days": None,
                "days_over_75": sum(v["days_over_75"] for v in values) / len(values),
                "n_cities": len(values), "n_valid_cities": sum(v["valid"] for v in values),
                "n_stations": 2 * len(values), "rank_national": None, "n_ranked_national": None,
                "rank_group": None, "n_ranked_group": None, "rank_province": None,
                "n_ranked_province": None,
            })  # fmt: skip
    for row in rows:
        label = row["period"]
        series = value_of[(row["region_type"], row["code"])]
        kind = "month" if len(label) == 7 else "quarter" if "Q" in label else "year"
        prev, year = _previous(label), _year_before(label)
        pm25 = row["pm25"]
        row |= {
            "period_type": kind, "pm25": None if math.isnan(pm25) else pm25,
            "meets_annual_limit": None if math.isnan(pm25) else pm25 <= 35,
            "change_prev_pct": _change(series, label, prev), "change_prev_period": prev,
            "change_year_pct": _change(series, label, year), "change_year_period": year,
        }  # fmt: skip
    return rows


def regions_doc() -> dict[str, Any]:
    return {
        "groups": {g: {"name_zh": zh, "name_en": en,
                       "cities": [c for c in CITIES if g in CITIES[c][3]]}
                   for g, (zh, en) in GROUPS.items()},
        "provinces": {p: {"name_zh": zh, "name_en": en,
                          "cities": [c for c in CITIES if CITIES[c][2] == p]}
                      for p, (zh, en) in PROVINCES.items()},
        "cities": {c: {"name_zh": zh, "name_en": en, "province": p, "groups": list(g)}
                   for c, (zh, en, p, g, _) in CITIES.items()},
    }  # fmt: skip


def station_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    stations = pd.DataFrame(STATIONS, columns=["code", "name", "city", "province", "lon", "lat",
                                               "status", "reason", "reason_zh"])  # fmt: skip
    values = []
    for i, (code, *_rest) in enumerate(STATIONS[:3]):
        for label in (*MONTHS_2019, *QUARTERS, "2019"):
            values.append({"code": code, "period": label, "pm25": 40.0 + 10 * i + len(label),
                           "n_days": 25, "valid": True})  # fmt: skip
    return stations, pd.DataFrame(values)


def _entry(root: Path, relative: str) -> dict[str, Any]:
    path = root / relative
    media = {".json": "application/json", ".csv": "text/csv"}[path.suffix]
    return {"path": relative, "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "media_type": media,
            "title": relative}  # fmt: skip


def add_statistics(root: Path) -> None:
    """Write the tables into the release folder ``root`` and list them in its manifest."""
    rows = stats_rows()
    (root / "stats").mkdir(exist_ok=True)
    (root / "stations").mkdir(exist_ok=True)
    (root / "stats" / "region_stats.json").write_text(
        json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    frame = pd.DataFrame(rows)
    for column in ("change_prev_pct", "change_year_pct"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "not available")
    frame.to_csv(root / "stats" / "region_stats.csv", index=False)
    (root / "stats" / "regions.json").write_text(
        json.dumps(regions_doc(), ensure_ascii=False), encoding="utf-8")
    stations, values = station_tables()
    stations.to_csv(root / "stations" / "stations.csv", index=False)
    tables = {"month": "station_monthly", "quarter": "station_quarterly", "year": "station_annual"}
    kinds = values["period"].map(period_type)
    for kind, stem in tables.items():
        values[kinds == kind].to_csv(root / "stations" / f"{stem}.csv", index=False)
    written = ("stats/region_stats.json", "stats/region_stats.csv", "stats/regions.json",
               "stations/stations.csv",
               *(f"stations/{stem}.csv" for stem in tables.values()))  # fmt: skip
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = [f for f in manifest["files"] if f["path"] not in written] + [
        _entry(root, relative) for relative in written]
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                        encoding="utf-8")  # fmt: skip
