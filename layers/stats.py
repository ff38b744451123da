"""Regional PM2.5 statistics computed the way China's environment ministry does.

station daily mean → city daily mean (mean of the city's valid stations) → city monthly /
quarterly mean (mean of the valid city days; a city-period counts only when it meets the same
valid-day rules as a station, see :mod:`lantian.layers.observations`) → region = unweighted
mean of its valid cities.

Region types: ``city``, ``province``, ``2+26``, ``Fenwei``. Names are normalised to the short
forms used in station lists (``石家庄市`` → ``石家庄``, ``河北省`` → ``河北``). A city's province
comes from the cities table, else from the station list.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lantian.layers import periods
from lantian.layers.observations import monthly_means, quarterly_means

COLUMNS = ["region_type", "region", "period", "period_type", "pm25", "n_cities", "n_stations",
           "qoq_change_pct", "yoy_change_pct"]
REGIONS = ("2+26", "Fenwei")
_PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")


def city_key(name: str) -> str:
    """Short city name: ``石家庄市`` → ``石家庄``."""
    name = str(name).strip()
    return name[:-1] if name.endswith("市") and len(name) > 1 else name


def province_key(name: str) -> str:
    """Short province name: ``河北省`` → ``河北``, ``广西壮族自治区`` → ``广西``."""
    return _PROVINCE_SUFFIX.sub("", str(name).strip())


def city_daily_means(daily: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """City daily means (date × short city name): mean of the city's valid station days."""
    city_of = _city_of(stations)
    codes = [c for c in daily.columns if c in city_of.index]
    return daily[codes].T.groupby(city_of[codes].to_numpy()).mean().T


def _city_of(stations: pd.DataFrame) -> pd.Series:
    """Station code → short city name (stations without a city are left out)."""
    table = stations.drop_duplicates("code").dropna(subset=["city"])
    city = table.set_index("code")["city"].map(city_key)
    return city[city != ""]


def regional_stats(
    daily: pd.DataFrame, stations: pd.DataFrame, cities: pd.DataFrame
) -> pd.DataFrame:
    """Monthly and quarterly PM2.5 for every city, province, 2+26 and Fenwei.

    ``daily``: station daily means (date × code); ``stations``: ``code, city, province``;
    ``cities``: ``name, province, region`` (e.g. the properties of the cities GeoJSON).
    """
    city_daily = city_daily_means(daily, stations)
    membership = _membership(stations, cities, list(city_daily.columns))
    contributing = _stations_per_city(daily, stations)
    frames = []
    for period_type, means in (("month", monthly_means), ("quarter", quarterly_means)):
        city_values = means(city_daily).rename(columns={"code": "city"})
        frames.append(_aggregate(city_values, membership, contributing, period_type))
    table = pd.concat(frames, ignore_index=True)
    return _add_changes(table)[COLUMNS]


def _membership(stations: pd.DataFrame, cities: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """city → (region_type, region) rows."""
    table = cities.assign(city=cities["name"].map(city_key)).set_index("city")
    from_stations = (stations.assign(city=stations["city"].map(city_key))
                     .dropna(subset=["province"]).groupby("city")["province"].first())
    rows = []
    for city in names:
        province = table["province"].get(city, from_stations.get(city))
        rows.append(("city", city, city))
        if isinstance(province, str) and province:
            rows.append(("province", province_key(province), city))
        region = table["region"].get(city)
        if region in REGIONS:
            rows.append((region, region, city))
    return pd.DataFrame(rows, columns=["region_type", "region", "city"])


def _stations_per_city(daily: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """Stations with at least one valid day per (city, quarter) and (city, month)."""
    city_of = _city_of(stations)
    has = daily.notna()
    parts = []
    for label in (periods.month_of, periods.quarter_of):
        keys = pd.Index([label(d) for d in daily.index], name="period")
        flags = has.groupby(keys).any().stack(future_stack=True)
        any_valid = pd.DataFrame({"has": flags}).reset_index()
        any_valid.columns = pd.Index(["period", "code", "has"])
        any_valid["city"] = any_valid["code"].map(city_of)
        parts.append(any_valid[any_valid["has"]].groupby(["city", "period"]).size())
    return pd.concat(parts).rename("n_stations").reset_index()


def _aggregate(
    city_values: pd.DataFrame,
    membership: pd.DataFrame,
    contributing: pd.DataFrame,
    period_type: str,
) -> pd.DataFrame:
    valid = city_values[city_values["valid"]].merge(contributing, on=["city", "period"],
                                                    how="left")
    joined = membership.merge(valid, on="city")
    grouped = joined.groupby(["region_type", "region", "period"])
    return pd.DataFrame({
        "pm25": grouped["pm25"].mean(),
        "n_cities": grouped["city"].nunique(),
        "n_stations": grouped["n_stations"].sum().astype(int),
    }).reset_index().assign(period_type=period_type)


def _add_changes(table: pd.DataFrame) -> pd.DataFrame:
    """Period-over-period and year-over-year change in % where both periods exist."""
    value = table.set_index(["region_type", "region", "period"])["pm25"]

    def change(previous: pd.Series) -> pd.Series:
        keys = pd.MultiIndex.from_arrays([table["region_type"], table["region"], previous])
        before = value.reindex(keys).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.Series((table["pm25"].to_numpy() / before - 1.0) * 100.0, index=table.index)

    shifted = [_earlier(p, t) for p, t in zip(table["period"], table["period_type"], strict=True)]
    return table.assign(qoq_change_pct=change(pd.Series([a for a, _ in shifted])),
                        yoy_change_pct=change(pd.Series([b for _, b in shifted])))


def _earlier(period: str, period_type: str) -> tuple[str, str]:
    """(previous period, same period a year before)."""
    if period_type == "quarter":
        return periods.previous_quarter(period), periods.same_quarter_previous_year(period)
    return periods.previous_month(period), periods.same_month_previous_year(period)
