from __future__ import annotations

from datetime import date

import pytest

from lantian.layers import periods


def test_parse_and_format() -> None:
    assert periods.parse_quarter("2019Q1") == (2019, 1)
    assert periods.parse_month("2019-12") == (2019, 12)
    assert periods.format_quarter(2019, 4) == "2019Q4"


@pytest.mark.parametrize("bad", ["2019Q5", "2019Q0", "2019-Q1", "19Q1", " 2019Q1"])
def test_bad_quarter(bad: str) -> None:
    with pytest.raises(ValueError, match="not a quarter"):
        periods.parse_quarter(bad)


@pytest.mark.parametrize("bad", ["2019-13", "2019-1", "201901", "2019-00"])
def test_bad_month(bad: str) -> None:
    with pytest.raises(ValueError, match="not a month"):
        periods.parse_month(bad)


def test_quarter_arithmetic() -> None:
    assert periods.quarter_of(date(2019, 3, 31)) == "2019Q1"
    assert periods.quarter_of(date(2019, 4, 1)) == "2019Q2"
    assert periods.previous_quarter("2019Q1") == "2018Q4"
    assert periods.previous_quarter("2019Q3") == "2019Q2"
    assert periods.same_quarter_previous_year("2019Q2") == "2018Q2"
    assert periods.previous_month("2019-01") == "2018-12"
    assert periods.same_month_previous_year("2019-03") == "2018-03"
    assert periods.quarter_months("2019Q3") == ["2019-07", "2019-08", "2019-09"]


def test_days() -> None:
    assert [periods.days_in_quarter(f"2019Q{q}") for q in (1, 2, 3, 4)] == [90, 91, 92, 92]
    assert periods.days_in_quarter("2020Q1") == 91
    assert periods.days_in_month("2019-02") == 28
    assert periods.days_in_month("2020-02") == 29


@pytest.mark.parametrize(("label", "kind", "days", "before", "year_before"), [
    ("2019-01", "month", 31, "2018-12", "2018-01"),
    ("2020-02", "month", 29, "2020-01", "2019-02"),
    ("2019Q1", "quarter", 90, "2018Q4", "2018Q1"),
    ("2019Q3", "quarter", 92, "2019Q2", "2018Q3"),
    ("2019", "year", 365, "2018", "2018"),
    ("2020", "year", 366, "2019", "2019"),
])
def test_any_period(label: str, kind: str, days: int, before: str, year_before: str) -> None:
    assert periods.period_type(label) == kind
    assert periods.days_in(label) == days
    assert periods.previous(label) == before
    assert periods.year_before(label) == year_before
    assert periods.label_of(periods.bounds(label)[0], kind) == label


@pytest.mark.parametrize("bad", ["2019-13", "19", "2019Q5", "2019-1", "Q1", ""])
def test_bad_period(bad: str) -> None:
    with pytest.raises(ValueError, match="not a period"):
        periods.period_type(bad)


def test_periods_sort_by_their_end() -> None:
    labels = ["2019", "2019Q2", "2019-04", "2019Q1", "2019-03", "2019-01", "2018-12"]
    assert sorted(labels, key=periods.sort_key) == [
        "2018-12", "2019-01", "2019-03", "2019Q1", "2019-04", "2019Q2", "2019"]
