from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lantian.layers.stats import COLUMNS, city_key, province_key, regional_stats


def test_name_normalisation() -> None:
    assert city_key("石家庄市") == "石家庄" and city_key("北京") == "北京"
    assert province_key("河北省") == "河北" and province_key("广西壮族自治区") == "广西"
    assert province_key("北京市") == "北京"


def test_hand_computed_example() -> None:
    """City A (2 stations) and B (1 station) in region 2+26; C outside, province from stations."""
    days = pd.date_range("2019-01-01", "2019-06-30", freq="D", name="date")
    q1 = days < pd.Timestamp("2019-04-01")
    daily = pd.DataFrame({
        "a1": np.where(q1, 10.0, 20.0),
        "a2": np.where(q1, 30.0, 40.0),
        "b1": np.where(q1, 50.0, 60.0),
        "c1": np.where(q1, 70.0, 35.0),
    }, index=days)
    daily.loc["2019-01-01", "a2"] = np.nan  # A that day = a1 only
    stations = pd.DataFrame({"code": ["a1", "a2", "b1", "c1"], "city": ["A", "A", "B", "C"],
                             "province": ["P", "P", "P", "Q省"]})
    cities = pd.DataFrame({"name": ["A市", "B市"], "province": ["P省", "P省"],
                           "region": ["2+26", "2+26"]})
    table = regional_stats(daily, stations, cities)
    assert list(table.columns) == COLUMNS
    row = table.set_index(["region_type", "region", "period"])
    city_a_q1 = (10.0 + 20.0 * 89) / 90
    assert row.loc[("city", "A", "2019Q1"), "pm25"] == pytest.approx(city_a_q1)
    region_q1 = (city_a_q1 + 50.0) / 2  # unweighted mean of cities
    assert row.loc[("2+26", "2+26", "2019Q1"), "pm25"] == pytest.approx(region_q1)
    assert row.loc[("2+26", "2+26", "2019Q1"), "n_cities"] == 2
    assert row.loc[("2+26", "2+26", "2019Q1"), "n_stations"] == 3
    region_q2 = (30.0 + 60.0) / 2
    assert row.loc[("2+26", "2+26", "2019Q2"), "qoq_change_pct"] == pytest.approx(
        (region_q2 / region_q1 - 1) * 100)
    assert row["yoy_change_pct"].isna()[("2+26", "2+26", "2019Q2")]
    assert row.loc[("province", "Q", "2019Q2"), "qoq_change_pct"] == pytest.approx(-50.0)
    assert row.loc[("province", "P", "2019-02"), "pm25"] == pytest.approx((20.0 + 50.0) / 2)
    assert set(table["period_type"]) == {"month", "quarter"}
    assert ("Fenwei", "Fenwei", "2019Q1") not in row.index


def test_real_q1_2019(q1_daily: pd.DataFrame, stations: pd.DataFrame, china_boundaries) -> None:
    cities = pd.DataFrame(china_boundaries.cities.drop(columns="geometry"))
    table = regional_stats(q1_daily, stations, cities)
    q1 = table[table["period"] == "2019Q1"].set_index(["region_type", "region"])
    assert q1.loc[("2+26", "2+26"), "n_cities"] == 28
    assert q1.loc[("Fenwei", "Fenwei"), "n_cities"] == 11
    # MEE reported 88 µg/m³ for the 2+26 cities in Jan–Mar 2019
    assert q1.loc[("2+26", "2+26"), "pm25"] == pytest.approx(88.2, abs=0.5)
    assert q1.loc[("Fenwei", "Fenwei"), "pm25"] == pytest.approx(92.7, abs=0.5)
    assert q1.loc[("city", "北京"), "pm25"] == pytest.approx(51.6, abs=0.5)
    assert q1.loc[("province", "河北"), "n_cities"] == 11
    assert q1.loc[("city", "北京"), "n_stations"] == 12
    assert q1["qoq_change_pct"].isna().all()  # 2018Q4 not given
