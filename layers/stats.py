"""Regional PM2.5 statistics per month, quarter and year, computed the way China's environment
ministry does.

1. Station daily means (given: GB 3095-2012 Table 4, a 24-hour mean needs ≥ 20 hourly values;
   :func:`lantian.layers.observations.daily_means`).
2. City daily mean = arithmetic mean of the city's stations that have a valid day
   (HJ 663-2013, 环境空气质量评价技术规范: a city's concentration is the mean of its
   assessment stations).
3. City period mean = mean of the city's valid days in the period. ``pm25`` is computed whenever
   the city has any valid day; ``valid`` says whether the period meets the data-validity rule
   (:func:`min_days`). The 2019 archive lacks whole days in June, August and September, so some
   periods are shown with their value and flagged invalid rather than left blank.
4. Region (province, group, nation) = unweighted mean of its cities that have a value
   (HJ 663-2013: a region's concentration is the mean of its cities); ``valid`` when every one of
   those cities is valid.

Cities are the prefecture-level units of the boundaries' cities table: each station's city name
(石家庄, 延边州, 吐鲁番地区, 甘孜藏族自治州) is matched to a prefecture by short name, else through
the gazetteer. Station lists also name county-level cities of the old 367-city network (常熟,
义乌, 寿光; 莱芜 and 胶南, merged away since): these get ``city`` rows of their own, coded with
their county adcode, but — like the ministry's rankings and regional figures, which cover the
prefecture-level cities only — they enter no province, group or national mean and no ranking.
Stations whose city the gazetteer does not know (status ``unknown_city`` in the station table)
and station codes missing from the station list are left out; :func:`station_cities` lists who
is counted where.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from lantian.geo.boundaries import english_name, label_name
from lantian.geo.gazetteer import Gazetteer
from lantian.geo.regions import GROUPS, NATIONAL, city_groups, province_names
from lantian.layers import periods

COLUMNS = [
    "region_type", "region", "code", "name_zh", "name_en", "period", "period_type", "pm25",
    "valid", "n_days", "n_cities", "n_valid_cities", "n_stations", "days_over_75",
    "meets_annual_limit", "change_prev_pct", "change_prev_period", "change_year_pct",
    "change_year_period", "rank_national", "rank_group", "rank_province", "n_ranked_national",
    "n_ranked_group", "n_ranked_province",
]
REGION_TYPES = ("city", "province", *GROUPS, "national")
_ORDER = ("national", *GROUPS, "province", "city")  # row order of the table

# GB 3095-2012 Table 1, grade II limits of PM2.5 (µg/m³).
DAILY_LIMIT = 75  # 24-hour mean
ANNUAL_LIMIT = 35  # annual mean
# GB 3095-2012 Table 4 (污染物浓度数据有效性的最低要求), annual mean of PM2.5: at least 324 daily
# values in the year, and at least 27 in every month (25 in February).
YEAR_MIN_DAYS = 324
MONTH_MIN_DAYS = 27
FEBRUARY_MIN_DAYS = 25
# Not a GB 3095-2012 rule: the standard sets no quarterly PM2.5 rule (Table 4 has quarterly means
# for Pb only). The project's convention: ⌈2/3⌉ of the quarter's calendar days.
QUARTER_SHARE = 2 / 3

PREFECTURE, COUNTY = "prefecture", "county"
UNIT_COLUMNS = ["code", "name_zh", "name_en", "level", "province", "province_adcode", "group"]


def min_days(label: str) -> int:
    """Valid city-days a period's mean needs to be ``valid``.

    - month: GB 3095-2012 Table 4's per-month minimum of the annual mean, 27 days (25 in
      February), applied to the month's own mean;
    - quarter: ⌈2/3 × the quarter's days⌉ (60, 61, 62, 62 in 2019) — the project's convention,
      GB 3095-2012 sets no quarterly PM2.5 rule;
    - year: 324 days (GB 3095-2012 Table 4), and :func:`regional_stats` also requires every month
      to meet its minimum.
    """
    kind = periods.period_type(label)
    if kind == "month":
        return FEBRUARY_MIN_DAYS if label.endswith("-02") else MONTH_MIN_DAYS
    if kind == "quarter":
        return math.ceil(QUARTER_SHARE * periods.days_in(label))
    return YEAR_MIN_DAYS


def round_half_even(values: pd.DataFrame) -> pd.DataFrame:
    """Daily means rounded to whole µg/m³ as HJ 663-2013 reports PM2.5 concentrations (integers),
    with the rounding rule of GB/T 8170-2008 it cites (进舍规则: a dropped 5 followed by nothing
    rounds to the even digit, 74.5 → 74, 75.5 → 76) — numpy's round half to even."""
    return values.round(0)


def station_cities(stations: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    """Each station's city: ``code`` (station), ``city`` (the city's adcode), and the city's
    ``name_zh, name_en, level`` (``prefecture`` or ``county``), ``province, province_adcode,
    group``. Stations without a city, or whose city matches no unit, are left out.

    ``stations``: ``code, city``; ``cities``: the boundaries' cities table (``adcode, name_zh,
    name_en, province, province_adcode``)."""
    table = stations.drop_duplicates("code")[["code", "city"]].dropna(subset=["city"])
    names = table["city"].astype(str).str.strip()
    units = _units(sorted(set(names) - {""}), cities)
    units = units.rename(columns={"code": "city"})
    matched = table.drop(columns="city").assign(name=names).merge(units, left_on="name",
                                                                  right_index=True)
    return matched.drop(columns="name").reset_index(drop=True)


def _units(names: list[str], cities: pd.DataFrame) -> pd.DataFrame:
    """Station city name → unit (``UNIT_COLUMNS``): a prefecture of ``cities`` by its short name
    (石家庄, 吐鲁番地区 → 吐鲁番), else the gazetteer's prefecture (延边州, 博州) or county-level
    city (常熟 → 320581)."""
    table = cities.assign(code=cities["adcode"].astype(str),
                          province_adcode=cities["province_adcode"].astype(str),
                          group=city_groups(cities), level=PREFECTURE)
    by_name = table.drop_duplicates("name_zh").set_index("name_zh", drop=False)
    by_code = table.set_index("code", drop=False)
    province_of = table.drop_duplicates("province_adcode").set_index("province_adcode")["province"]
    gazetteer: Gazetteer | None = None
    rows: dict[str, pd.Series] = {}
    for name in names:
        short = label_name(name)
        if name in by_name.index or short in by_name.index:
            rows[name] = by_name.loc[name if name in by_name.index else short]
            continue
        gazetteer = gazetteer or Gazetteer()
        hit = gazetteer.centroid_of_city(name)
        code = hit.adcode[:6] if hit is not None else ""
        if code in by_code.index:
            rows[name] = by_code.loc[code]
        elif hit is not None and hit.precision == "county":
            province = f"{code[:2]}0000"
            rows[name] = pd.Series({
                "code": code, "name_zh": short, "name_en": english_name(short),
                "level": COUNTY, "province": province_of.get(province, ""),
                "province_adcode": province, "group": ""})
    # A county-level city stands for its prefecture when the prefecture has no station of its
    # own, as the ministry counts 巴音郭楞 by the stations of its seat 库尔勒.
    covered = {str(r["code"]) for r in rows.values() if r["level"] == PREFECTURE}
    for name, row in list(rows.items()):
        prefecture = f"{str(row['code'])[:4]}00"
        if row["level"] == COUNTY and prefecture in by_code.index and prefecture not in covered:
            rows[name] = by_code.loc[prefecture]
    return pd.DataFrame(rows.values(), index=pd.Index(list(rows), dtype=object),
                        columns=UNIT_COLUMNS)


def regional_stats(
    daily: pd.DataFrame, stations: pd.DataFrame, cities: pd.DataFrame
) -> pd.DataFrame:
    """PM2.5 statistics (``COLUMNS``) of every city, province, group (2+26, Fenwei, YRD, PRD)
    and the nation, for every month, quarter and year the daily index touches.

    ``daily``: station daily means (date × station code, NaN where a day has < 20 hours);
    ``stations``: ``code, city``; ``cities``: the boundaries' cities table without geometry
    (``adcode, name_zh, name_en, province, province_adcode``).

    Per row: ``pm25`` (NaN only without any valid day), ``valid`` (see :func:`min_days`),
    ``n_days`` (valid city-days; regions: NA), ``n_cities`` / ``n_valid_cities`` (cities with a
    value / valid ones), ``n_stations`` (stations with a valid day, summed over those cities),
    ``days_over_75`` (days whose city daily mean, rounded by :func:`round_half_even`, exceeds
    the 24-hour limit; regions: the mean over their cities), ``meets_annual_limit`` (pm25 ≤ 35),
    ``change_prev_pct`` / ``change_year_pct`` (% change against ``change_prev_period`` =
    :func:`periods.previous` and ``change_year_period`` = :func:`periods.year_before`; NaN when
    that period is not in the inputs or has no value), and for prefecture-level city rows their
    rank (1 = highest pm25) among the cities with a value nationally, in their group and in their
    province, with the numbers ranked.
    """
    units = station_cities(stations, cities)
    unit_of = units.set_index("code")["city"]
    codes = [c for c in daily.columns if c in unit_of.index]
    values = daily[codes]
    keys = unit_of[codes].to_numpy()
    city_daily = values.T.groupby(keys).mean().T
    reporting = values.notna()
    index = pd.DatetimeIndex(values.index)
    months = pd.Index(index.strftime("%Y-%m"))
    labels: dict[str, pd.Index] = {
        "month": months,
        "quarter": pd.Index(index.strftime("%Y")) + "Q" + pd.Index(index.quarter.astype(str)),
        "year": pd.Index(index.strftime("%Y")),
    }
    parts = []
    for kind, label in labels.items():
        part = _city_periods(city_daily, reporting, keys, label, kind)
        if kind == "year":
            part = _with_month_rule(part, city_daily, months)
        parts.append(part)
    city = pd.concat(parts, ignore_index=True)
    city = city[city.groupby("code")["pm25"].transform("count") > 0]  # cities never reporting
    info = units.drop(columns="code").drop_duplicates("city").set_index("city")
    city = city.join(info, on="code")
    has = city["pm25"].notna()
    city = _ranked(city.assign(n_cities=has.astype(int),
                               n_valid_cities=(has & city["valid"]).astype(int)))
    regions = _regions(city[city["level"] == PREFECTURE])
    table = pd.concat([city.assign(region_type="city", region=city["name_zh"]), regions],
                      ignore_index=True)
    table["meets_annual_limit"] = table["pm25"] <= ANNUAL_LIMIT
    table = _with_changes(table)
    return _ordered(table)[COLUMNS]


def _city_periods(
    city_daily: pd.DataFrame,
    reporting: pd.DataFrame,
    keys: np.ndarray,
    label: pd.Index,
    kind: str,
) -> pd.DataFrame:
    """One row per (city, period of type ``kind``): pm25, n_days, valid, days_over_75,
    n_stations."""
    has = city_daily.notna()
    means = city_daily.groupby(label).mean()
    days = has.groupby(label).sum()
    over = (round_half_even(city_daily) > DAILY_LIMIT).groupby(label).sum()
    stations = reporting.groupby(label).any().T.groupby(keys).sum().T
    frame = pd.DataFrame({
        "pm25": means.stack(future_stack=True),
        "n_days": days.stack(future_stack=True),
        "days_over_75": over.stack(future_stack=True).astype(float),
        "n_stations": stations.reindex(columns=means.columns).stack(future_stack=True),
    })
    frame.index.names = ["period", "code"]
    frame = frame.reset_index()
    need = frame["period"].map({p: min_days(p) for p in frame["period"].unique()})
    return frame.assign(period_type=kind, valid=frame["n_days"] >= need)


def _with_month_rule(years: pd.DataFrame, city_daily: pd.DataFrame,
                     months: pd.Index) -> pd.DataFrame:
    """GB 3095-2012 Table 4: an annual mean is valid only if every month of the year has its
    minimum of daily values too (27, February 25); a month missing from the data has none."""
    days = city_daily.notna().groupby(months).sum()
    need = np.array([min_days(m) for m in days.index])
    ok = days.ge(need, axis=0).groupby(days.index.str[:4]).sum()  # months meeting the rule
    full = ok.stack(future_stack=True).rename("months_ok")
    full.index.names = ["period", "code"]
    merged = years.join(full, on=["period", "code"])
    return merged.assign(valid=merged["valid"] & (merged["months_ok"] == 12)).drop(
        columns="months_ok")


def _ranked(city: pd.DataFrame) -> pd.DataFrame:
    """Ranks of the prefecture-level cities with a value, per period: 1 = highest pm25."""
    eligible = (city["level"] == PREFECTURE) & city["pm25"].notna()
    ranked = city[eligible]
    out = city.copy()
    scopes: dict[str, list[str]] = {"national": ["period"], "group": ["period", "group"],
                                    "province": ["period", "province_adcode"]}
    for scope, by in scopes.items():
        part = ranked[ranked["group"] != ""] if scope == "group" else ranked
        grouped = part.groupby(by)["pm25"]
        out[f"rank_{scope}"] = grouped.rank(ascending=False, method="min").astype("Int64")
        out[f"n_ranked_{scope}"] = grouped.transform("size").astype("Int64")
    return out


def _regions(city: pd.DataFrame) -> pd.DataFrame:
    """Province, group and national rows: unweighted means of their cities with a value."""
    members = pd.concat([
        city.assign(region_type="province", region_code=city["province_adcode"]),
        city[city["group"] != ""].assign(region_type=city["group"], region_code=city["group"]),
        city.assign(region_type="national", region_code=NATIONAL[0]),
    ], ignore_index=True)
    has = members["pm25"].notna()
    members = members.assign(
        with_value=has.astype(int),
        valid_value=(has & members["valid"]).astype(int),
        n_stations=members["n_stations"].where(has, 0),
        days_over_75=members["days_over_75"].where(has),
    )
    grouped = members.groupby(["region_type", "region_code", "period"], sort=False)
    table = grouped.agg(
        pm25=("pm25", "mean"), n_cities=("with_value", "sum"),
        n_valid_cities=("valid_value", "sum"), n_stations=("n_stations", "sum"),
        days_over_75=("days_over_75", "mean"), period_type=("period_type", "first"),
        province=("province", "first"),
    ).reset_index().rename(columns={"region_code": "code"})
    table["valid"] = (table["n_cities"] > 0) & (table["n_valid_cities"] == table["n_cities"])
    names = _region_names(table)
    return table.assign(region=names["region"], name_zh=names["name_zh"],
                        name_en=names["name_en"]).drop(columns="province")


def _region_names(table: pd.DataFrame) -> pd.DataFrame:
    """``region, name_zh, name_en`` of each province, group and national row."""
    named: dict[tuple[str, str], tuple[str, str, str]] = {}
    for region_type, code, province in table[["region_type", "code", "province"]].drop_duplicates(
            ["region_type", "code"]).itertuples(index=False):
        if region_type == "province":
            zh, en = province_names(str(province))
            named[(region_type, code)] = (zh, zh, en)
        elif region_type in GROUPS:
            group = GROUPS[region_type]
            named[(region_type, code)] = (group.id, group.name_zh, group.name_en)
        else:
            named[(region_type, code)] = NATIONAL
    keys = list(zip(table["region_type"], table["code"], strict=True))
    return pd.DataFrame([named[k] for k in keys], index=table.index,
                        columns=["region", "name_zh", "name_en"])


def _with_changes(table: pd.DataFrame) -> pd.DataFrame:
    """``change_prev_*`` and ``change_year_*``: % change against the previous period and the
    same period a year before, NaN where that period is not in the table or has no value."""
    value = table.set_index(["region_type", "code", "period"])["pm25"]
    labels = table["period"].unique()
    out = table.copy()
    earlier: dict[str, Callable[[str], str]] = {"prev": periods.previous,
                                                "year": periods.year_before}
    for name, shift in earlier.items():
        before_label = table["period"].map({p: shift(p) for p in labels})
        keys = pd.MultiIndex.from_arrays([table["region_type"], table["code"], before_label])
        before = value.reindex(keys).to_numpy()
        now = table["pm25"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(before > 0, (now / before - 1.0) * 100.0, np.nan)
        out[f"change_{name}_pct"] = change
        out[f"change_{name}_period"] = before_label
    return out


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """Nation, groups, provinces, cities; by code; months, then quarters, then years, each in
    time order."""
    order = table["region_type"].map({t: i for i, t in enumerate(_ORDER)})
    when = table["period"].map({p: (periods.PERIOD_TYPES.index(periods.period_type(p)),
                                    periods.sort_key(p)) for p in table["period"].unique()})
    out = table.assign(_order=order, _when=when).sort_values(["_order", "code", "_when"])
    out = out.drop(columns=["_order", "_when"]).reset_index(drop=True)
    for column in ("n_days", "n_cities", "n_valid_cities", "n_stations"):
        out[column] = out[column].astype("Int64")
    out["valid"] = out["valid"].astype(bool)
    out["meets_annual_limit"] = out["meets_annual_limit"].astype(bool)
    return out
