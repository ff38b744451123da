"""CEMS hourly stack data → exceedance episodes and computed violation records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lantian.errors import InputError
from lantian.geo.cems import (
    COVERAGE_COLUMNS,
    EPISODE_COLUMNS,
    HOURLY_COLUMNS,
    LIMIT_COLUMNS,
    RECORD_COLUMNS,
    detect_exceedances,
    exceedance_records,
    load_cems,
    load_limits,
)

HEADER = "enterprise_name,enterprise_id,industry,process,outlet,pollutant,time,concentration,flag"
COKING = ("Coking Co", "", "coking", "", "DA001 coke oven chimney", "PM")


def hours(values: list[object], start: str = "2018-12-27 13:00", flags: list[str] | None = None,
          series: tuple[str, ...] = COKING) -> list[str]:
    """CSV lines for consecutive hours; a value of None leaves the hour out of the table."""
    flags = flags or [""] * len(values)
    times = pd.date_range(start, periods=len(values), freq="h")
    return [",".join([*series, f"{t:%Y-%m-%d %H:%M}", "" if v == "" else str(v), f])
            for t, v, f in zip(times, values, flags, strict=True) if v is not None]


def write(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "cems.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def detect(tmp_path: Path, lines: list[str], **options: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return detect_exceedances(load_cems(write(tmp_path, lines)), load_limits(), **options)


def test_bundled_limits_carry_their_standards() -> None:
    table = load_limits()
    assert list(table.columns) == LIMIT_COLUMNS
    limits = table.set_index(["industry", "process", "pollutant"]).sort_index()
    coking = limits.loc[("coking", "coke oven chimney")]
    assert coking["limit_mg_m3"].to_dict() == {"PM": 30, "SO2": 50, "NOx": 500}
    assert set(coking["standard"]) == {"GB 16171-2012"}
    special = limits.loc[("coking", "coke oven chimney (special limits)"), "limit_mg_m3"]
    assert special.to_dict() == {"PM": 15, "SO2": 30, "NOx": 150}
    assert limits.loc[("cement", "kiln"), "limit_mg_m3"].to_dict() == {
        "PM": 10, "SO2": 35, "NOx": 100}
    power = limits.loc[("coal_power", "boiler")]
    assert power["limit_mg_m3"].to_dict() == {"PM": 10, "SO2": 35, "NOx": 50}
    assert set(power["reference_o2_pct"]) == {6}
    national = limits.loc[("cement", "kiln (national standard)")]
    assert national["limit_mg_m3"].to_dict() == {"PM": 30, "SO2": 200, "NOx": 400}
    assert set(national["standard"]) == {"GB 4915-2013"}
    sinter = limits.loc[("steel", "sintering machine head")]
    assert sinter["limit_mg_m3"].to_dict() == {"PM": 10, "SO2": 35, "NOx": 50}
    assert set(sinter["reference_o2_pct"]) == {16}
    assert sinter["standard"].str.contains("环大气〔2019〕35号").all()
    ultra_low = limits["note"].str.contains("ultra-low target, not a national standard")
    assert set(limits.index[ultra_low].get_level_values("industry")) == {
        "cement", "coal_power", "steel"}
    assert limits["standard"].str.strip().ne("").all()


def test_bundled_limits_cover_every_industry_the_map_shows() -> None:
    """Each industry of the enterprise layer has PM, SO2 and NOx limits, each with its source."""
    table = load_limits()
    for industry in ("steel", "coking", "cement", "coal_power", "chemical"):
        rows = table[table["industry"] == industry]
        assert set(rows["pollutant"]) == {"PM", "SO2", "NOx"}, industry
        assert (rows["standard"].str.strip() != "").all(), industry


def test_a_three_hour_run_above_the_coking_limit_is_one_episode(tmp_path: Path) -> None:
    episodes, coverage = detect(tmp_path, hours([20, 45.2, 31, 38.1, 12]))
    assert list(episodes.columns) == EPISODE_COLUMNS and len(episodes) == 1
    episode = episodes.iloc[0]
    assert episode["start"] == pd.Timestamp("2018-12-27 14:00")
    assert episode["end"] == pd.Timestamp("2018-12-27 17:00")
    assert episode["hours"] == 3 and episode["max_mg_m3"] == 45.2
    assert episode["mean_mg_m3"] == pytest.approx((45.2 + 31 + 38.1) / 3)
    assert (episode["limit_mg_m3"], episode["standard"], episode["process"]) == (
        30, "GB 16171-2012", "coke oven chimney")
    row = coverage.iloc[0]
    assert list(coverage.columns) == COVERAGE_COLUMNS
    assert (row["hours"], row["valid"], row["exceeding"], row["episodes"]) == (5, 5, 3, 1)
    assert row["assessed"] and row["reason"] == ""


def test_a_value_exactly_at_the_limit_is_not_an_exceedance(tmp_path: Path) -> None:
    episodes, coverage = detect(tmp_path, hours([30, 30.0, 29.9]))
    assert episodes.empty and coverage.iloc[0]["exceeding"] == 0


def test_a_valid_hour_below_the_limit_splits_runs_even_when_gaps_are_bridged(
    tmp_path: Path
) -> None:
    episodes, _ = detect(tmp_path, hours([40, 41, 25, 42]), max_gap_hours=3)
    assert episodes["hours"].tolist() == [2, 1]
    assert episodes["start"].tolist() == [pd.Timestamp("2018-12-27 13:00"),
                                          pd.Timestamp("2018-12-27 16:00")]


def test_a_missing_hour_splits_a_run_unless_bridged(tmp_path: Path) -> None:
    lines = hours([40, None, 41, "", 42])  # one absent row, one empty concentration
    episodes, coverage = detect(tmp_path, lines)
    assert episodes["hours"].tolist() == [1, 1, 1]
    assert coverage.iloc[0][["hours", "valid", "missing"]].tolist() == [5, 3, 2]
    bridged, _ = detect(tmp_path, lines, max_gap_hours=1)
    assert len(bridged) == 1
    assert bridged.iloc[0][["start", "end", "hours"]].tolist() == [
        pd.Timestamp("2018-12-27 13:00"), pd.Timestamp("2018-12-27 18:00"), 3]
    finding = exceedance_records(bridged, "test")["finding"].iloc[0]
    assert "for 3 h (2018-12-27 13:00–18:00, bridging 2 h without valid data)" in finding
    assert len(detect(tmp_path, hours([40, None, None, 41]), max_gap_hours=1)[0]) == 2
    with pytest.raises(ValueError, match="max_gap_hours"):
        detect(tmp_path, lines, max_gap_hours=-1)


def test_invalid_flag_hours_are_excluded_and_counted(tmp_path: Path) -> None:
    lines = hours([40, 500, 41, 90, 5, 60, 70],
                  flags=["N", "F", "normal", "M", "C", "D", "T"])
    episodes, coverage = detect(tmp_path, lines)
    assert episodes["hours"].tolist() == [1, 1]  # the F hour splits the 40 and 41 hours
    assert episodes["max_mg_m3"].max() == 41
    row = coverage.iloc[0]
    assert row[["hours", "valid", "invalid", "sentinel", "missing", "exceeding"]].tolist() == [
        7, 2, 5, 0, 0, 2]
    hourly = load_cems(write(tmp_path, lines))
    assert hourly["status"].tolist() == ["valid", "invalid", "valid", *["invalid"] * 4]


def test_a_pollutant_or_industry_without_a_limit_is_reported_not_assessed(
    tmp_path: Path
) -> None:
    lines = [*hours([900, 950], series=("Glass Co", "g1", "glass", "", "DA002 furnace", "SO2")),
             *hours([900], series=("Steel Co", "", "steel", "blast furnace", "DA003", "PM"))]
    episodes, coverage = detect(tmp_path, lines)
    assert episodes.empty
    assert coverage["assessed"].tolist() == [False, False]
    assert coverage["valid"].tolist() == [2, 1]
    assert coverage["limit_mg_m3"].isna().all()
    reasons = coverage.set_index("enterprise_name")["reason"]
    assert "no hourly SO2 limit for industry 'glass'" in reasons["Glass Co"]
    assert "process 'blast furnace'" in reasons["Steel Co"]


def test_a_series_with_no_valid_hour_is_not_assessed(tmp_path: Path) -> None:
    _, coverage = detect(tmp_path, hours([40, 41], flags=["F", "F"]))
    assert not coverage.iloc[0]["assessed"] and coverage.iloc[0]["reason"] == "no valid hour"


def test_sentinel_values_are_counted_not_exceedances(tmp_path: Path) -> None:
    episodes, coverage = detect(tmp_path, hours([40, 9999, 41, 99999, -99, 20]))
    assert episodes["max_mg_m3"].tolist() == [40, 41]
    assert coverage.iloc[0][["valid", "sentinel", "exceeding"]].tolist() == [3, 3, 2]


def test_chinese_pollutant_names_and_explicit_processes(tmp_path: Path) -> None:
    special = ("焦化厂", "", "coking", "coke oven chimney (special limits)", "DA001")
    lines = [
        *hours([20], series=(*special, "颗粒物")),
        *hours([40], series=(*special, "二氧化硫")),
        *hours([200], series=(*special, "氮氧化物")),
        *hours([20], series=(*special, "烟尘"), start="2018-12-27 14:00"),
        *hours([0], series=(*special, "NOX"), start="2018-12-27 14:00"),
    ]
    hourly = load_cems(write(tmp_path, lines))
    assert hourly["pollutant"].tolist() == ["PM", "SO2", "NOx", "PM", "NOx"]
    episodes, _ = detect_exceedances(hourly, load_limits())
    assert episodes.set_index("pollutant")["limit_mg_m3"].to_dict() == {
        "NOx": 150, "PM": 15, "SO2": 30}


def test_time_formats_are_all_accepted(tmp_path: Path) -> None:
    lines = [",".join([*COKING, t, "1", ""]) for t in (
        "2018-12-27 13:00", "2018-12-27T14:00:00", "2018/12/27 15:00", "2018-12-27 16:00:00")]
    hourly = load_cems(write(tmp_path, lines))
    assert list(hourly.columns) == HOURLY_COLUMNS
    times = hourly["time"]
    assert times.tolist() == list(pd.date_range("2018-12-27 13:00", periods=4, freq="h"))


def test_synthetic_kangzhuang_like_coke_oven_chimney_episodes(tmp_path: Path) -> None:
    """Synthetic data shaped like the IPE-reported case (no real CEMS data is bundled): a coke
    oven chimney's PM above 30 mg/m³ several times between 2018-12-27 and 2018-12-31."""
    values: list[object] = [12.0] * (5 * 24)
    for first, run in ((13, [45.2, 38.1, 31.0]), (24 + 22, [33.0, 36.5, 40.0]),
                       (3 * 24 + 8, [52.7]), (4 * 24 + 20, [31.5, 30.5])):
        values[first:first + len(run)] = run
    values[4 * 24 + 2] = ""  # an hour without data
    series = ("SYNTHETIC 康庄焦化 (not real data)", "csv:synthetic-kangzhuang", "coking", "",
              "DA001 焦炉烟囱 coke oven chimney", "颗粒物")
    episodes, coverage = detect(tmp_path, hours(values, start="2018-12-27 00:00",
                                                 series=series))
    assert episodes["start"].dt.strftime("%m-%d %H:%M").tolist() == [
        "12-27 13:00", "12-28 22:00", "12-30 08:00", "12-31 20:00"]
    assert episodes["hours"].tolist() == [3, 3, 1, 2]
    assert episodes["end"].iloc[1] == pd.Timestamp("2018-12-29 01:00")  # crosses midnight
    assert coverage.iloc[0][["hours", "valid", "missing", "exceeding", "episodes"]].tolist() == [
        120, 119, 1, 9, 4]
    records = exceedance_records(episodes, "synthetic test data")
    assert records["date"].tolist() == ["2018-12-27", "2018-12-28", "2018-12-30", "2018-12-31"]
    assert records["finding"].iloc[1] == (
        "PM at DA001 焦炉烟囱 coke oven chimney above the 30 mg/m³ hourly limit of GB 16171-2012"
        " for 3 h (2018-12-28 22:00–2018-12-29 01:00), max 40.0, mean 36.5 mg/m³")
    assert records["record_id"].iloc[0] == (
        "cems:csv-synthetic-kangzhuang:DA001-焦炉烟囱-coke-oven-chimney:PM:2018-12-27T13-00")


def test_exceedance_records_follow_the_violation_contract(tmp_path: Path) -> None:
    episodes, _ = detect(tmp_path, hours([20, 45.2, 31, 38.1, 12]))
    records = exceedance_records(episodes, "CEMS export of 2019-01-05")
    assert list(records.columns) == RECORD_COLUMNS
    record = records.iloc[0]
    assert record["record_id"] == "cems:Coking-Co:DA001-coke-oven-chimney:PM:2018-12-27T14-00"
    assert record["kind"] == "computed_exceedance"
    assert record["authority"] == "computed by lantian from online-monitoring (CEMS) data"
    assert (record["date"], record["date_precision"], record["quarter"]) == (
        "2018-12-27", "day", "2018Q4")
    assert (record["category"], record["source"]) == (
        "exceedance (computed)", "CEMS export of 2019-01-05")
    assert record[["province", "city", "penalty", "source_url", "enterprise_id"]].eq("").all()
    assert record["finding"] == (
        "PM at DA001 coke oven chimney above the 30 mg/m³ hourly limit of GB 16171-2012 for 3 h"
        " (2018-12-27 14:00–17:00), max 45.2, mean 38.1 mg/m³")
    empty = exceedance_records(episodes.iloc[:0], "none")
    assert empty.empty and list(empty.columns) == RECORD_COLUMNS


def test_an_empty_table_gives_empty_results(tmp_path: Path) -> None:
    episodes, coverage = detect(tmp_path, [])
    assert episodes.empty and coverage.empty
    assert list(episodes.columns) == EPISODE_COLUMNS


@pytest.mark.parametrize(("row", "field", "message"), [
    (",".join([*COKING, "2018-12-27 15:00", "-5", ""]), "concentration", "negative"),
    (",".join([*COKING, "2018-12-27 15:00", "abc", ""]), "concentration", "not a number"),
    (",".join([*COKING, "27.12.2018 15h", "5", ""]), "time", "not a time"),
    (",".join([*COKING, "2018-12-27 15:30", "5", ""]), "time", "start of an hour"),
    (",".join([*COKING[:-1], "CO", "2018-12-27 15:00", "5", ""]), "pollutant", "unknown"),
    (",".join([*COKING, "2018/12/27 14:00", "5", ""]), "time", "a second row"),
    (",".join([*COKING, "2018-12-27 15:00", "5", "X"]), "flag", "unknown validity flag"),
    (",".join([" ", *COKING[1:], "2018-12-27 15:00", "5", ""]), "enterprise_name", "empty"),
    (",".join(["Coking Co", "", "steel", *COKING[3:], "2018-12-27 15:00", "5", ""]), "industry",
     "differs"),
])
def test_bad_hourly_values_name_file_row_and_field(
    tmp_path: Path, row: str, field: str, message: str
) -> None:
    path = write(tmp_path, [*hours([1, 2]), row])  # rows 1 and 2: 13:00 and 14:00
    with pytest.raises(InputError, match=message) as caught:
        load_cems(path)
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(path), 3, field)


def test_a_missing_column_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, ["a,coking,DA001,PM,2018-12-27 13:00"],
                 header="enterprise_name,industry,outlet,pollutant,time")
    with pytest.raises(InputError, match="missing column") as caught:
        load_cems(path)
    assert (caught.value.row, caught.value.field) == (None, "concentration")


LIMITS_HEADER = "industry,process,pollutant,limit_mg_m3,reference_o2_pct,standard,note"


@pytest.mark.parametrize(("row", "field", "message"), [
    ("coking,coke oven chimney,SO2,abc,,GB 16171-2012,", "limit_mg_m3", "not a positive"),
    ("coking,coke oven chimney,SO2,0,,GB 16171-2012,", "limit_mg_m3", "not a positive"),
    ("coking,coke oven chimney,Hg,1,,GB 16171-2012,", "pollutant", "unknown pollutant"),
    ("Coking,Coke oven chimney,颗粒物,20,,GB 16171-2012,", "pollutant", "repeats"),
    ("coking,coke oven chimney,SO2,50,25,GB 16171-2012,", "reference_o2_pct", "oxygen"),
    ("coking,coke oven chimney,SO2,50,,,", "standard", "empty"),
])
def test_bad_limit_tables_name_file_row_and_field(
    tmp_path: Path, row: str, field: str, message: str
) -> None:
    path = write(tmp_path, ["coking,coke oven chimney,PM,30,,GB 16171-2012,", row],
                 header=LIMITS_HEADER, name="limits.csv")
    with pytest.raises(InputError, match=message) as caught:
        load_limits(path)
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(path), 2, field)


def test_a_custom_limits_table_and_its_default_process(tmp_path: Path) -> None:
    path = write(tmp_path, ["steel,sintering machine head,PM,20,16,local rule,",
                            "steel,pelletising,PM,5,,local rule,"],
                 header=LIMITS_HEADER, name="limits.csv")
    hourly = load_cems(write(tmp_path, hours([25], series=("S", "", "steel", "", "DA1", "PM"))))
    episodes, _ = detect_exceedances(hourly, load_limits(path))
    assert episodes[["process", "limit_mg_m3"]].iloc[0].tolist() == [
        "sintering machine head", 20]


def test_a_year_of_hourly_data_counts_every_exceeding_hour_once() -> None:
    outlets, times = 30, pd.date_range("2018-01-01", periods=8760, freq="h")
    rng = np.random.default_rng(0)
    hourly = pd.DataFrame({
        "enterprise_name": np.repeat([f"E{i // 3}" for i in range(outlets)], len(times)),
        "enterprise_id": "",
        "industry": "coking",
        "process": "",
        "outlet": np.repeat([f"DA{i % 3}" for i in range(outlets)], len(times)),
        "pollutant": "PM",
        "time": np.tile(times, outlets),
        "concentration": rng.gamma(4, 5, outlets * len(times)),
        "flag": "",
        "status": "valid",
    })
    episodes, coverage = detect_exceedances(hourly, load_limits())
    assert len(coverage) == outlets and coverage["hours"].eq(8760).all()
    assert episodes["hours"].sum() == (hourly["concentration"] > 30).sum()
