"""Regional statistics: a hand-computed case, regions as means of their cities on generated
data, synthetic prior-year data for year-on-year change, the written files, and the real Q1 2019
figures the ministry published."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lantian.geo.regions import GROUP_SIZES, GROUPS, group_of, region_membership
from lantian.layers.stats import (
    COLUMNS,
    REGION_TYPES,
    min_days,
    regional_stats,
    round_half_even,
    station_cities,
)
from lantian.layers.writers import NOT_AVAILABLE, write_stats

# A few real prefectures (adcodes of the boundaries' cities table).
CITIES = pd.DataFrame(
    [("130100", "石家庄市", "石家庄", "Shijiazhuang", "河北省", "130000", True),
     ("130600", "保定市", "保定", "Baoding", "河北省", "130000", False),
     ("610100", "西安市", "西安", "Xi'an", "陕西省", "610000", True),
     ("310100", "上海市", "上海", "Shanghai", "上海市", "310000", True),
     ("440100", "广州市", "广州", "Guangzhou", "广东省", "440000", True),
     ("440300", "深圳市", "深圳", "Shenzhen", "广东省", "440000", False)],
    columns=["adcode", "name", "name_zh", "name_en", "province", "province_adcode", "capital"])
YEAR_2019 = pd.date_range("2019-01-01", "2019-12-31", freq="D", name="date")


def _row(table: pd.DataFrame, region_type: str, code: str, period: str) -> pd.Series:
    rows = table[(table["region_type"] == region_type) & (table["code"] == code)
                 & (table["period"] == period)]
    assert len(rows) == 1, (region_type, code, period)
    return rows.iloc[0]


def _hand_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    """石家庄 (stations a1, a2), 保定 (b1), 西安 (c1), 常熟 (k1, a county-level city), a station
    of an unknown city (x1) and a station missing from the list (zz)."""
    daily = pd.DataFrame(index=YEAR_2019, dtype=float)
    # 石家庄: a1 40 and a2 60 (city 50), except in January and at the end of February.
    daily["a1"], daily["a2"] = 40.0, 60.0
    daily.loc["2019-01-01":"2019-01-03", ["a1", "a2"]] = [75.0, 76.0]  # city 75.5 → 76 > 75
    daily.loc["2019-01-04":"2019-01-05", ["a1", "a2"]] = [74.0, 75.0]  # city 74.5 → 74
    daily.loc["2019-01-06", "a2"] = np.nan  # the city's day is a1's alone: 40
    daily.loc["2019-02-26":"2019-02-28", ["a1", "a2"]] = np.nan  # February: 25 days, valid
    # 保定: 100 in Q1, 80 in Q2, 60 in Q3, 120 in Q4; March has 26 days, May none.
    quarter = YEAR_2019.quarter
    daily["b1"] = np.select([quarter == 1, quarter == 2, quarter == 3], [100.0, 80.0, 60.0],
                            120.0)
    daily.loc["2019-03-27":"2019-03-31", "b1"] = np.nan
    daily.loc["2019-05-01":"2019-05-31", "b1"] = np.nan
    daily["c1"] = 30.0  # 西安
    daily["k1"] = 200.0  # 常熟
    daily["x1"] = 500.0  # a city no gazetteer knows
    daily["zz"] = 500.0  # a station the list lacks
    stations = pd.DataFrame({"code": ["a1", "a2", "b1", "c1", "k1", "x1"],
                             "city": ["石家庄", "石家庄", "保定", "西安", "常熟", "无此城"],
                             "province": ["河北", "河北", "河北", "陕西", "江苏", "河北"]})
    return daily, stations


def test_hand_computed_month_quarter_and_year() -> None:
    daily, stations = _hand_case()
    table = regional_stats(daily, stations, CITIES)
    assert list(table.columns) == COLUMNS
    assert set(table["region_type"]) == {"city", "province", "2+26", "Fenwei", "national"}
    assert set(table["period_type"]) == {"month", "quarter", "year"}

    # 石家庄, January: 3 days of 75.5, 2 of 74.5, one of 40 (a1 alone), 25 of 50.
    january = (3 * 75.5 + 2 * 74.5 + 40 + 25 * 50) / 31
    sjz = _row(table, "city", "130100", "2019-01")
    assert (sjz["region"], sjz["name_zh"], sjz["name_en"]) == ("石家庄", "石家庄", "Shijiazhuang")
    assert sjz["pm25"] == pytest.approx(january)
    assert sjz["n_days"] == 31 and sjz["valid"] and sjz["n_stations"] == 2
    assert sjz["days_over_75"] == 3  # 75.5 rounds to 76 (over), 74.5 to 74 (not)
    february = _row(table, "city", "130100", "2019-02")
    assert (february["n_days"], february["valid"], february["pm25"]) == (25, True, 50.0)
    q1 = _row(table, "city", "130100", "2019Q1")
    assert q1["pm25"] == pytest.approx((31 * january + 25 * 50 + 31 * 50) / 87)
    assert q1["n_days"] == 87 and q1["valid"]  # ≥ ⌈2/3 × 90⌉ = 60
    year = _row(table, "city", "130100", "2019")
    assert year["pm25"] == pytest.approx((31 * january + 25 * 50 + 306 * 50) / 362)
    assert year["n_days"] == 362 and year["valid"] and year["days_over_75"] == 3

    # 保定: March has 26 days (invalid, value kept); May has none; Q2 has 60 < 61 days.
    march = _row(table, "city", "130600", "2019-03")
    assert (march["n_days"], march["valid"], march["pm25"]) == (26, False, 100.0)
    may = _row(table, "city", "130600", "2019-05")
    assert may["n_days"] == 0 and not may["valid"] and np.isnan(may["pm25"])
    assert np.isnan(may["change_prev_pct"]) and np.isnan(_row(
        table, "city", "130600", "2019-06")["change_prev_pct"])
    q2 = _row(table, "city", "130600", "2019Q2")
    assert (q2["n_days"], q2["valid"], q2["pm25"]) == (60, False, 80.0)
    assert q2["change_prev_pct"] == pytest.approx(-20.0)  # 80 against Q1's 100
    assert q2["change_prev_period"] == "2019Q1" and q2["change_year_period"] == "2018Q2"
    assert np.isnan(q2["change_year_pct"])  # 2018 is not in the inputs
    bd_year = _row(table, "city", "130600", "2019")
    assert bd_year["n_days"] == 365 - 5 - 31 and not bd_year["valid"]  # March and May fail
    assert bd_year["pm25"] == pytest.approx((85 * 100 + 60 * 80 + 92 * 60 + 92 * 120) / 329)
    assert bd_year["days_over_75"] == 85 + 60 + 92  # Q1, Q2 and Q4 days

    # Regions: unweighted means of their cities with a value; valid if every one is.
    hebei = _row(table, "province", "130000", "2019-01")
    assert (hebei["region"], hebei["name_zh"], hebei["name_en"]) == ("河北", "河北", "Hebei")
    assert hebei["pm25"] == pytest.approx((january + 100) / 2)
    assert (hebei["n_cities"], hebei["n_valid_cities"], hebei["n_stations"]) == (2, 2, 3)
    assert hebei["days_over_75"] == pytest.approx((3 + 31) / 2) and pd.isna(hebei["n_days"])
    group = _row(table, "2+26", "2+26", "2019-03")
    assert group["pm25"] == pytest.approx((50 + 100) / 2) and not group["valid"]
    assert (group["n_cities"], group["n_valid_cities"]) == (2, 1)
    assert group["name_zh"] == '京津冀及周边"2+26"城市'
    may_group = _row(table, "2+26", "2+26", "2019-05")  # 保定 has no value: 石家庄 alone
    assert may_group["pm25"] == 50.0 and may_group["n_cities"] == 1 and may_group["valid"]
    national = _row(table, "national", "national", "2019")
    assert national["pm25"] == pytest.approx((year["pm25"] + bd_year["pm25"] + 30) / 3)
    assert national["n_cities"] == 3 and not national["valid"]
    assert _row(table, "Fenwei", "Fenwei", "2019Q3")["pm25"] == 30.0

    # meets_annual_limit: pm25 ≤ 35 (西安's 30 meets it, 石家庄's year does not).
    assert _row(table, "city", "610100", "2019")["meets_annual_limit"]
    assert not year["meets_annual_limit"]

    # Ranks: 1 = most polluted, among prefectures with a value.
    assert (sjz["rank_national"], sjz["n_ranked_national"]) == (2, 3)
    assert (sjz["rank_group"], sjz["n_ranked_group"]) == (2, 2)
    assert (sjz["rank_province"], sjz["n_ranked_province"]) == (2, 2)
    xian = _row(table, "city", "610100", "2019-01")
    assert (xian["rank_national"], xian["rank_group"], xian["rank_province"]) == (3, 1, 1)
    may_sjz = _row(table, "city", "130100", "2019-05")  # 保定 has no May value
    assert (may_sjz["rank_national"], may_sjz["n_ranked_national"]) == (1, 2)
    assert pd.isna(may["rank_national"]) and pd.isna(hebei["rank_national"])


def test_county_level_cities_and_unknown_stations() -> None:
    """常熟 (a county-level city of the old 367-city network) gets its own row under its county
    adcode but enters no region and no ranking; a station of an unknown city and a station
    missing from the list are left out."""
    daily, stations = _hand_case()
    table = regional_stats(daily, stations, CITIES)
    changshu = _row(table, "city", "320581", "2019-01")
    assert (changshu["region"], changshu["pm25"]) == ("常熟", 200.0)
    assert pd.isna(changshu["rank_national"]) and pd.isna(changshu["n_ranked_national"])
    assert not (table["region_type"] == "province").loc[table["code"] == "320000"].any()
    assert table["code"].ne("").all()
    assert table["pm25"].max() < 500  # x1 (unknown city) and zz (not in the list) left out
    matched = station_cities(stations, CITIES).set_index("code")
    assert sorted(matched.index) == ["a1", "a2", "b1", "c1", "k1"]
    assert matched.loc["k1", "level"] == "county" and matched.loc["a1", "level"] == "prefecture"


def test_a_county_level_city_stands_for_a_prefecture_without_stations() -> None:
    """巴音郭楞 has no station of its own: the ministry counts it by its seat 库尔勒."""
    cities = pd.concat([CITIES, pd.DataFrame(
        [("652800", "巴音郭楞蒙古自治州", "巴音郭楞", "Bayingolin", "新疆维吾尔自治区", "650000",
          False)], columns=CITIES.columns)], ignore_index=True)
    stations = pd.DataFrame({"code": ["k1"], "city": ["库尔勒"]})
    daily = pd.DataFrame({"k1": 40.0}, index=YEAR_2019[:31])
    table = regional_stats(daily, stations, cities)
    row = _row(table, "city", "652800", "2019-01")
    assert (row["region"], row["pm25"], row["rank_national"]) == ("巴音郭楞", 40.0, 1)


def test_validity_rules() -> None:
    assert [min_days(m) for m in ("2019-01", "2019-02", "2020-02", "2019-04")] == [27, 25, 25, 27]
    assert [min_days(q) for q in ("2019Q1", "2019Q2", "2019Q3", "2020Q1")] == [60, 61, 62, 61]
    assert min_days("2019") == 324
    rounded = round_half_even(pd.DataFrame({"x": [74.5, 75.5, 76.5, 75.49, 75.0]}))
    assert rounded["x"].tolist() == [74.0, 76.0, 76.0, 75.0, 75.0]


def _generated(cities: pd.DataFrame, days: pd.DatetimeIndex, seed: int, per_city: int = 2
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic station daily means: ``per_city`` stations in every city, gaps at random."""
    rng = np.random.default_rng(seed)
    codes = [f"{adcode}-{i}" for adcode in cities["adcode"] for i in range(per_city)]
    values = rng.gamma(4.0, 12.0, size=(len(days), len(codes)))
    values[rng.random(values.shape) < 0.08] = np.nan
    daily = pd.DataFrame(values, index=days, columns=codes)
    stations = pd.DataFrame({"code": codes,
                             "city": [n for n in cities["name_zh"] for _ in range(per_city)]})
    return daily, stations


def test_each_region_is_the_mean_of_its_cities(china_boundaries) -> None:
    """On synthetic data for every prefecture of the real table: every province, group and the
    nation equals the unweighted mean of its member cities, for every period."""
    cities = pd.DataFrame(china_boundaries.cities.drop(columns="geometry"))
    daily, stations = _generated(cities, YEAR_2019, seed=13)
    daily.loc["2019-06-01":"2019-06-20", daily.columns[:40]] = np.nan  # some invalid months
    table = regional_stats(daily, stations, cities)
    membership = region_membership(cities)
    city = table[table["region_type"] == "city"].set_index(["code", "period"])
    assert set(table["region_type"]) == set(REGION_TYPES)
    members = {**{(g, g): m["cities"] for g, m in membership["groups"].items()},
               **{("province", code): m["cities"] for code, m in membership["provinces"].items()},
               ("national", "national"): list(membership["cities"])}
    checked = 0
    for row in table[table["region_type"] != "city"].itertuples():
        rows = city.xs(row.period, level="period").reindex(members[(row.region_type, row.code)])
        with_value = rows[rows["pm25"].notna()]
        assert row.pm25 == pytest.approx(with_value["pm25"].mean()), row
        assert row.n_cities == len(with_value) and row.valid == with_value["valid"].all()
        assert row.n_valid_cities == with_value["valid"].sum()
        assert row.days_over_75 == pytest.approx(with_value["days_over_75"].mean())
        assert row.n_stations == with_value["n_stations"].sum()
        checked += 1
    assert checked == 17 * (len(GROUPS) + 1 + cities["province_adcode"].nunique())
    june = table[(table["period"] == "2019-06") & (table["region_type"] == "city")]
    assert (~june["valid"]).sum() == 20  # the first 40 stations: 20 cities


def test_the_whole_year_for_1640_stations_takes_seconds(china_boundaries) -> None:
    cities = pd.DataFrame(china_boundaries.cities.drop(columns="geometry"))
    daily, stations = _generated(cities, YEAR_2019, seed=1, per_city=5)
    daily = daily.iloc[:, :1640]  # the demo's size: 1,640 stations × 365 days
    start = time.perf_counter()
    table = regional_stats(daily, stations, cities)
    assert time.perf_counter() - start < 10
    assert table["n_stations"].max() == 1640  # national, any period


def _two_years() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic 2018 (石家庄 80, 西安 40) followed by 2019's hand case values (石家庄 60,
    西安 30); 2018 is generated, not observed."""
    days = pd.date_range("2018-01-01", "2019-12-31", freq="D", name="date")
    in_2018 = days.year == 2018
    daily = pd.DataFrame({"a1": np.where(in_2018, 80.0, 60.0), "c1": np.where(in_2018, 40.0, 30.0)},
                         index=days)
    stations = pd.DataFrame({"code": ["a1", "c1"], "city": ["石家庄", "西安"]})
    return daily, stations


def test_synthetic_prior_year_gives_year_on_year_change() -> None:
    daily, stations = _two_years()
    table = regional_stats(daily, stations, CITIES)
    for period, before in (("2019-01", "2018-01"), ("2019Q1", "2018Q1"), ("2019", "2018")):
        row = _row(table, "city", "130100", period)
        assert row["change_year_period"] == before
        assert row["change_year_pct"] == pytest.approx((60 / 80 - 1) * 100)  # −25 %
        national = _row(table, "national", "national", period)
        assert national["change_year_pct"] == pytest.approx(((60 + 30) / (80 + 40) - 1) * 100)
    january = _row(table, "city", "130100", "2019-01")
    assert january["change_prev_period"] == "2018-12"
    assert january["change_prev_pct"] == pytest.approx(-25.0)
    assert _row(table, "city", "130100", "2019-02")["change_prev_pct"] == 0.0  # a real 0
    assert np.isnan(_row(table, "city", "130100", "2018-05")["change_year_pct"])


def test_without_a_prior_year_change_is_not_available(tmp_path: Path) -> None:
    daily, stations = _two_years()
    table = regional_stats(daily.loc["2019"], stations, CITIES)
    assert table["change_year_pct"].isna().all()
    assert table.loc[table["period"] == "2019-01", "change_prev_pct"].isna().all()
    paths = write_stats(table, tmp_path, cities=CITIES)
    csv = pd.read_csv(paths["csv"], dtype=str, keep_default_na=False)
    assert (csv["change_year_pct"] == NOT_AVAILABLE).all()
    january = csv[csv["period"] == "2019-01"]
    assert (january["change_prev_pct"] == NOT_AVAILABLE).all()
    february = csv[(csv["period"] == "2019-02") & (csv["code"] == "130100")]
    assert float(february["change_prev_pct"].iloc[0]) == 0.0  # available: a number
    records = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert len(records) == len(table)
    assert all(r["change_year_pct"] is None for r in records)
    first = next(r for r in records if r["code"] == "130100" and r["period"] == "2019-01")
    assert first["n_days"] == 31 and first["rank_national"] == 1 and first["valid"] is True
    assert first["change_year_period"] == "2018-01"


def test_regions_json_membership(tmp_path: Path, china_boundaries) -> None:
    cities = pd.DataFrame(china_boundaries.cities.drop(columns="geometry"))
    paths = write_stats(regional_stats(*_two_years(), cities), tmp_path, cities=cities)
    membership = json.loads(paths["regions"].read_text(encoding="utf-8"))
    assert membership == region_membership(cities)
    groups = membership["groups"]
    assert {g: len(m["cities"]) for g, m in groups.items()} == GROUP_SIZES
    assert groups["2+26"]["name_zh"] == '京津冀及周边"2+26"城市'
    assert groups["PRD"]["name_en"] == "Pearl River Delta"
    names = {code: m["name_zh"] for code, m in membership["cities"].items()}
    assert sorted(names[c] for c in groups["PRD"]["cities"]) == sorted(
        ["广州", "深圳", "珠海", "佛山", "江门", "肇庆", "惠州", "东莞", "中山"])
    provinces_of_yrd = {membership["cities"][c]["province"] for c in groups["YRD"]["cities"]}
    assert provinces_of_yrd == {"310000", "320000", "330000", "340000"}
    assert len(membership["provinces"]["340000"]["cities"]) == 16  # all of Anhui is in the YRD
    assert membership["cities"]["130100"] == {"name_zh": "石家庄", "name_en": "Shijiazhuang",
                                              "province": "130000", "groups": ["2+26"]}
    assert membership["cities"]["130300"]["groups"] == []  # 秦皇岛
    assert membership["provinces"]["130000"]["name_zh"] == "河北"
    assert membership["provinces"]["150000"]["name_en"] == "Inner Mongolia"
    assert "130100" in membership["provinces"]["130000"]["cities"]
    # The boundaries' region column comes from the same definitions.
    assert (cities["region"] == [group_of(p, c) for p, c in zip(
        cities["province"], cities["name_zh"], strict=True)]).all()


def test_real_q1_2019(q1_daily: pd.DataFrame, stations: pd.DataFrame, china_boundaries) -> None:
    cities = pd.DataFrame(china_boundaries.cities.drop(columns="geometry"))
    table = regional_stats(q1_daily, stations, cities)
    q1 = table[table["period"] == "2019Q1"].set_index(["region_type", "region"])
    assert q1.loc[("2+26", "2+26"), "n_cities"] == 28
    assert q1.loc[("Fenwei", "Fenwei"), "n_cities"] == 11
    assert q1.loc[("YRD", "YRD"), "n_cities"] == 41
    assert q1.loc[("PRD", "PRD"), "n_cities"] == 9
    # MEE reported 88 µg/m³ for the 2+26 cities in Jan–Mar 2019
    assert q1.loc[("2+26", "2+26"), "pm25"] == pytest.approx(88.2, abs=0.5)
    assert q1.loc[("Fenwei", "Fenwei"), "pm25"] == pytest.approx(92.7, abs=0.5)
    assert q1.loc[("city", "北京"), "pm25"] == pytest.approx(51.6, abs=0.5)
    assert q1.loc[("city", "北京"), "code"] == "110100"
    assert q1.loc[("province", "河北"), "n_cities"] == 11
    assert q1.loc[("city", "北京"), "n_stations"] == 12
    assert q1["change_prev_pct"].isna().all()  # 2018Q4 not given
    assert q1["change_year_pct"].isna().all()
    january = table[(table["period"] == "2019-01") & (table["region_type"] == "city")]
    ranked = january.dropna(subset=["rank_national"]).sort_values("rank_national")
    assert ranked["rank_national"].iloc[0] == 1 and ranked["pm25"].is_monotonic_decreasing
