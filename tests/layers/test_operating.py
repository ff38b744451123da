"""Operating periods of units and plants: start, idled and retired dates, statuses, caveats."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from lantian.layers.enterprise_facts import quarterly_facts, tile_layer, tile_properties
from lantian.layers.operating import (
    UNIT_COLUMNS,
    operating_in,
    plant_periods,
    unit_periods,
    with_periods,
)


def units(*rows: tuple) -> pd.DataFrame:
    """Units from (enterprise_id, capacity, status, start, idled, retired); unit id = row."""
    return pd.DataFrame(
        [(e, f"{e}#{i}", cap, "MW", status, start, idled, retired)
         for i, (e, cap, status, start, idled, retired) in enumerate(rows)],
        columns=UNIT_COLUMNS)


def one(status: str, start: str = "", idled: str = "", retired: str = "") -> pd.Series:
    return unit_periods(units(("gem:A", 100.0, status, start, idled, retired))).iloc[0]


def test_a_year_only_start_counts_from_its_first_quarter() -> None:
    unit = one("operating", "2006")
    assert (unit["op_from"], unit["op_to"], unit["ever_operated"], unit["dates_caveat"]) == (
        "2006Q1", "", True, "")


@pytest.mark.parametrize(("start", "quarter"), [("2006-05", "2006Q2"), ("2006-12-31", "2006Q4"),
                                                ("2006-01-01", "2006Q1")])
def test_a_month_or_day_start_counts_from_its_quarter(start: str, quarter: str) -> None:
    assert one("operating", start)["op_from"] == quarter


def test_a_retired_year_ends_in_its_fourth_quarter_and_a_month_in_its_quarter() -> None:
    assert one("retired", "1990", retired="2015")["op_to"] == "2015Q4"
    assert one("retired", "1990", retired="2015-02")["op_to"] == "2015Q1"


def test_an_idled_date_ends_the_operation_the_earlier_end_wins() -> None:
    unit = one("mothballed", "2001-07", idled="2019-08-01")
    assert (unit["op_from"], unit["op_to"], unit["dates_caveat"]) == ("2001Q3", "2019Q3", "")
    assert one("retired", "2001", idled="2016-03", retired="2020")["op_to"] == "2016Q1"


def test_a_running_unit_ignores_planned_retirement_and_past_idling() -> None:
    assert one("operating pre-retirement", "1995", retired="2030")["op_to"] == ""
    assert one("operating", "1995", idled="2012")["op_to"] == ""


@pytest.mark.parametrize("status", ["announced", "construction", "cancelled", "shelved",
                                    "permitted", "pre-permit"])
def test_statuses_of_units_never_built_never_operated(status: str) -> None:
    for start in ("", "2025"):  # a planned start is no start
        unit = one(status, start)
        assert not unit["ever_operated"]
        assert (unit["op_from"], unit["op_to"], unit["dates_caveat"]) == ("", "", "")


@pytest.mark.parametrize("status", ["operating", "retired", "mothballed", "idled"])
def test_an_operated_unit_without_start_has_an_unknown_start(status: str) -> None:
    unit = one(status, retired="2018" if status == "retired" else "")
    assert unit["ever_operated"] and unit["op_from"] == ""
    assert unit["dates_caveat"] == "no_start"


def test_a_stopped_unit_without_end_runs_to_the_end_with_a_caveat() -> None:
    unit = one("retired", "1990")
    assert (unit["op_from"], unit["op_to"], unit["dates_caveat"]) == ("1990Q1", "", "no_end")


def test_no_dates_and_no_status_is_shown_in_every_period() -> None:
    table = units(("gem:A", 10.0, "", "", "", ""))
    unit = unit_periods(table).iloc[0]
    assert unit["ever_operated"] and unit["dates_caveat"] == "no_dates"
    quarters = ["1990Q1", "2019Q1", "2024Q4"]
    assert operating_in(table, quarters)["operating"].tolist() == [True, True, True]


def test_a_bad_date_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="2006/05"):
        one("operating", "2006/05")


def coal_plant() -> pd.DataFrame:
    """Three coal units: one since 2005, one 2010 to its retirement in mid-2019, one planned."""
    return units(
        ("gem:L1", 600.0, "operating", "2005", "", ""),
        ("gem:L1", 300.0, "retired", "2010", "", "2019-06"),
        ("gem:L1", 1000.0, "construction", "2025", "", ""),
        ("gem:L2", 50.0, "announced", "", "", ""),
    )


def test_coal_units_sum_their_megawatts_per_quarter() -> None:
    quarters = ["2004Q4", "2005Q1", "2010Q1", "2019Q2", "2019Q3", "2026Q1"]
    got = operating_in(coal_plant(), quarters).set_index(["enterprise_id", "quarter"])
    l1 = got.loc["gem:L1"]
    assert l1["operating"].tolist() == [False, True, True, True, True, True]
    assert l1["capacity_operating"].tolist() == [0.0, 600.0, 900.0, 900.0, 600.0, 600.0]
    assert not got.loc["gem:L2", "operating"].any()  # announced: never


def test_plant_periods_are_the_hull_of_their_operated_units() -> None:
    periods = plant_periods(pd.concat([coal_plant(), units(
        ("gem:R", 5.0, "retired", "1980", "", "1999"),
        ("gem:R", 5.0, "retired", "1985-04", "", "2003-11"),
        ("gem:S", 5.0, "operating", "", "", ""),
        ("gem:S", 5.0, "operating", "2001", "", ""),
    )], ignore_index=True)).set_index("enterprise_id")
    assert periods.loc["gem:L1"].tolist() == ["2005Q1", "", True, ""]
    assert periods.loc["gem:L2"].tolist() == ["", "", False, ""]
    assert periods.loc["gem:R"].tolist() == ["1980Q1", "2003Q4", True, ""]
    assert periods.loc["gem:S"].tolist() == ["", "", True, "no_start"]


def plants() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["gem:L1", "gem:L2", "gem:C", "rec:x"],
         "capacity": [900.0, 50.0, 2.0, np.nan],
         "status": ["operating", "announced", "retired", ""],
         "start_date": ["", "", "2012", ""],
         "retired_date": ["", "", "2019-02", ""],
         "coking": [0, 0, 1, 0]},
        geometry=[Point(115.0, 37.2), Point(114.5, 37.5), Point(116, 38), Point(121.0, 30.0)],
        crs=4326)


def test_plants_without_units_use_their_own_status_and_dates() -> None:
    layer = with_periods(plants(), coal_plant()).set_index("id")
    assert layer.loc["gem:L1", "op_from"] == "2005Q1"  # from the units, not the plant row
    assert layer.loc["gem:C", ["op_from", "op_to", "dates_caveat"]].tolist() == [
        "2012Q1", "2019Q1", ""]
    assert layer.loc["rec:x", ["op_from", "op_to", "ever_operated", "dates_caveat"]].tolist() == [
        "", "", True, "no_dates"]
    assert not layer.loc["gem:L2", "ever_operated"]


def test_facts_keep_only_the_quarters_a_plant_operated() -> None:
    empty = pd.DataFrame(columns=["record_id", "enterprise_id", "date", "quarter", "finding"])
    output = pd.DataFrame(columns=[
        "record_id", "level", "enterprise_id", "period", "period_type", "period_start",
        "period_end", "compared_with", "change_pct", "direction", "direction_basis"])
    timeline = ["2018Q4", "2019Q1", "2019Q2", "2019Q3"]
    facts = quarterly_facts(plants(), empty, output, [], timeline, coal_plant())
    quarters = facts.groupby("id")["quarter"].apply(list).to_dict()
    assert quarters["gem:C"] == ["2018Q4", "2019Q1"]  # retired 2019-02
    assert quarters["rec:x"] == timeline  # no dates: every quarter
    assert quarters["gem:L1"] == timeline and "gem:L2" not in quarters  # never operated
    assert facts["operating"].all()
    l1 = facts[facts["id"] == "gem:L1"].set_index("quarter")["capacity_operating"]
    assert l1.tolist() == [900.0, 900.0, 900.0, 600.0]  # a unit retired in 2019Q2
    assert np.isnan(facts.loc[facts["id"] == "rec:x", "capacity_operating"]).all()


def test_tile_properties_of_plants_and_their_periods() -> None:
    layer = with_periods(plants(), coal_plant())
    empty = pd.DataFrame(columns=["record_id", "enterprise_id", "date", "quarter", "finding"])
    output = pd.DataFrame(columns=[
        "record_id", "level", "enterprise_id", "period", "period_type", "period_start",
        "period_end", "compared_with", "change_pct", "direction", "direction_basis"])
    facts = quarterly_facts(layer, empty, output, [], ["2019Q1"], coal_plant())
    tiled, fields = tile_layer(layer, tile_properties(facts))
    assert fields[:6] == ["opf", "opt", "ever", "caveat", "coking", "status"]
    props = tiled.set_index("id")
    assert props.loc["gem:L1", "opf"] == 20051 and np.isnan(props.loc["gem:L1", "opt"])
    assert props.loc["gem:C", "opt"] == 20191 and props.loc["gem:C", "coking"] == 1
    assert props.loc["gem:C", "status"] == "retired"
    assert props.loc["gem:L2", "ever"] == 0 and props.loc["gem:L1", "ever"] == 1
    assert np.isnan(props.loc["rec:x", "opf"]) and props.loc["rec:x", "caveat"] == "no_dates"
    assert pd.isna(props.loc["rec:x", "status"]) and np.isnan(props.loc["gem:L1", "coking"])
    assert pd.isna(props.loc["gem:L1", "caveat"])  # written as null: absent from the tiles


def test_tile_properties_of_a_layer_without_period_columns_are_unknown() -> None:
    old = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(1, 1)], crs=4326)
    tiled, _ = tile_layer(old, pd.DataFrame(index=pd.Index([], name="id")))
    row = tiled.iloc[0]
    assert np.isnan(row["opf"]) and np.isnan(row["opt"]) and row["ever"] == 1
    assert pd.isna(row["caveat"]) and pd.isna(row["status"]) and np.isnan(row["coking"])
