from pathlib import Path

import pytest

from lantian.errors import InputError
from lantian.geo.records import (
    OUTPUT_COLUMNS,
    VIOLATION_COLUMNS,
    load_output,
    load_violations,
    quarters_between,
)

VIOLATIONS_HEADER = "enterprise_name,province,city,date,finding,source_url\n"
OUTPUT_HEADER = "subject,level,product,period,compared_with,change_pct,value,unit,note,source\n"


def _write(tmp_path: Path, text: str, name: str = "records.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_violations(demo_data: Path) -> None:
    path = demo_data / "records" / "violations_ipe_report_2019.csv"
    table = load_violations(path)
    assert list(table.columns) == VIOLATION_COLUMNS and len(table) == 9
    assert table["record_id"].tolist()[:2] == [
        "violations_ipe_report_2019:1", "violations_ipe_report_2019:2"]
    assert set(table["kind"]) == {"inspection"}
    hongxing = table.iloc[2]  # "2018-12": the month of a penalty, no day given
    assert (hongxing["date"], hongxing["date_precision"], hongxing["quarter"]) == (
        "2018-12", "month", "2018Q4")
    longteng = table.iloc[5]
    assert (longteng["date"], longteng["quarter"]) == ("2016-09", "2016Q3")
    assert table.iloc[0][["date", "date_precision"]].tolist() == ["2018-10-16", "day"]
    assert table.iloc[4]["source_url"] == ""  # Tangshan Delong: no URL cited
    assert set(table["source"]) == {"violations_ipe_report_2019.csv"}
    assert load_violations(path, source="IPE (2019)")["source"].eq("IPE (2019)").all()


def test_demo_output(demo_data: Path) -> None:
    table = load_output(demo_data / "records" / "output_changes_ipe_report_2019.csv")
    assert list(table.columns) == OUTPUT_COLUMNS and len(table) == 6
    by_row = table.set_index("record_id")
    xinwuan = by_row.loc["output_changes_ipe_report_2019:1"]
    assert (xinwuan["period"], xinwuan["period_type"], xinwuan["compared_with"]) == (
        "2018-10", "month", "2017-10")
    assert (xinwuan["change_pct"], xinwuan["direction"], xinwuan["direction_basis"]) == (
        100.0, "up", "change_pct")
    rongxin = by_row.loc["output_changes_ipe_report_2019:2"]  # a note only
    assert (rongxin["period"], rongxin["compared_with"]) == ("2018Q4", "2017Q4")
    assert (rongxin["period_start"], rongxin["period_end"]) == ("2018-10-01", "2018-12-31")
    assert (rongxin["direction"], rongxin["direction_basis"]) == ("up", "note")
    months = by_row.loc["output_changes_ipe_report_2019:5"]
    assert (months["period_type"], months["period_start"], months["period_end"]) == (
        "months", "2019-01-01", "2019-02-28")
    assert (months["value"], months["unit"]) == (37.311, "Mt")
    shanxi = by_row.loc["output_changes_ipe_report_2019:6"]
    assert (shanxi["level"], shanxi["province"], shanxi["compared_with"]) == (
        "province", "Shanxi", "")
    assert (shanxi["direction"], shanxi["direction_basis"]) == ("up", "note")
    assert table["level"].tolist() == ["enterprise"] * 2 + ["province"] * 4


@pytest.mark.parametrize(
    ("text", "date", "precision", "quarter"),
    [("2018/10/16", "2018-10-16", "day", "2018Q4"), ("20181016", "2018-10-16", "day", "2018Q4"),
     ("2018年1月6日", "2018-01-06", "day", "2018Q1"), ("2018年12月", "2018-12", "month", "2018Q4"),
     ("2019-04", "2019-04", "month", "2019Q2")],
)
def test_date_forms(
    tmp_path: Path, text: str, date: str, precision: str, quarter: str
) -> None:
    path = _write(tmp_path, f"{VIOLATIONS_HEADER}某钢铁公司,河北,唐山,{text},未落实,\n")
    row = load_violations(path).iloc[0]
    assert (row["date"], row["date_precision"], row["quarter"]) == (date, precision, quarter)
    assert row["record_id"] == "records:1" and row["enterprise_name"] == "某钢铁公司"


def test_partial_output_rows_load(tmp_path: Path) -> None:
    path = _write(tmp_path, OUTPUT_HEADER
                  + "A Steel,,crude steel,2018Q4,2017Q4,-3.5%,,,,S\n"  # change % only
                  + "B Steel,,crude steel,2018,,,5,Mt,,S\n"  # a value, no comparison
                  + "C Steel,,coke,2018-Q4,2017-Q4,,,,产量同比下降,S\n"  # a note only
                  + "D Steel,,coke,2018,2017,,,,output rose sharply,S\n")
    table = load_output(path)
    assert table["direction"].tolist() == ["down", "", "down", "up"]
    assert table["direction_basis"].tolist() == ["change_pct", "", "note", "note"]
    assert table["change_pct"].iloc[0] == -3.5 and table["value"].isna().tolist() == [
        True, False, True, True]
    assert table["period"].tolist() == ["2018Q4", "2018", "2018Q4", "2018"]
    assert set(table["level"]) == {"enterprise"}


def test_stated_direction(tmp_path: Path) -> None:
    path = _write(tmp_path, "subject,product,period,direction,note,source\n"
                  "A Steel,crude steel,2018-10,Down,cut under the heavy-pollution plan,S\n")
    row = load_output(path).iloc[0]
    assert (row["direction"], row["direction_basis"]) == ("down", "stated")


def test_quarters_between() -> None:
    assert quarters_between("2018-10-01", "2019-02-28") == ["2018Q4", "2019Q1"]
    assert quarters_between("2018-12-31", "2018-12-31") == ["2018Q4"]
    assert quarters_between("2017-03-31", "2018-04-01") == [
        "2017Q1", "2017Q2", "2017Q3", "2017Q4", "2018Q1", "2018Q2"]
    with pytest.raises(ValueError, match="before"):
        quarters_between("2019-01-01", "2018-01-01")


@pytest.mark.parametrize(
    ("body", "row", "field", "message"),
    [
        ("A,Hebei,,2018-10-16,x,\n,Hebei,,2018-10-16,x,\n", 2, "enterprise_name", "empty"),
        ("A,Hebei,,2018-10-16,,\n", 1, "finding", "empty"),
        ("A,Hebei,,2018-13-01,x,\n", 1, "date", r"2018-10-16.*2018年12月"),
        ("A,Hebei,,Oct 2018,x,\n", 1, "date", "unparseable date 'Oct 2018'"),
        ("A,Hebei,,,x,\n", 1, "date", "unparseable date"),
        ("A,Hebei,,2018-10,x,\nB,,,2018-10,x,ftp://example.org/a\n", 2, "source_url", "http"),
        ("A,Hebei,,2018-10,x,www.hebhb.gov.cn\n", 1, "source_url", "http"),
    ],
)
def test_bad_violations(
    tmp_path: Path, body: str, row: int, field: str, message: str
) -> None:
    path = _write(tmp_path, VIOLATIONS_HEADER + body)
    with pytest.raises(InputError, match=message) as err:
        load_violations(path)
    assert (err.value.file, err.value.row, err.value.field) == (str(path), row, field)


def test_missing_column_and_repeated_id(tmp_path: Path) -> None:
    path = _write(tmp_path, "enterprise_name,date\nA,2018-10\n")
    with pytest.raises(InputError, match="missing required column") as err:
        load_violations(path)
    assert (err.value.row, err.value.field) == (None, "finding")
    path = _write(tmp_path, "record_id,enterprise_name,date,finding\nv1,A,2018-10,x\n"
                  "v1,B,2018-11,y\n")
    with pytest.raises(InputError, match="repeated") as err:
        load_violations(path)
    assert (err.value.row, err.value.field) == (2, "record_id")


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (",enterprise,crude steel,2018,2017,5,,,,S", "subject", "empty subject"),
        ("A,enterprise,,2018,2017,5,,,,S", "product", "empty product"),
        ("A,enterprise,crude steel,2018,2017,5,,,,", "source", "empty source"),
        ("A,enterprise,crude steel,Q4 2018,2017,5,,,,S", "period",
         r"2018-Q4 or 2018Q4, 2018-10, or a month range 2019-01/2019-02"),
        ("A,enterprise,crude steel,2019-02/2019-01,,5,,,,S", "period", "ends before"),
        ("A,enterprise,crude steel,2018-10,2018,5,,,,S", "compared_with", "not earlier"),
        ("A,enterprise,crude steel,2018,2018-Q4,5,,,,S", "compared_with", "not earlier"),
        ("A,enterprise,crude steel,2018,2017,about 20,,,,S", "change_pct", "not a number"),
        ("A,enterprise,crude steel,2018,2017,,n/a,Mt,,S", "value", "not a number"),
        ("A,enterprise,crude steel,2018,2017,,237,,,S", "unit", "no unit"),
        ("A,enterprise,crude steel,2018,2017,,,,,S", "change_pct",
         "a change_pct, a value or a note"),
        ("A,country,crude steel,2018,2017,5,,,,S", "level", "unknown level 'country'"),
    ],
)
def test_bad_output(tmp_path: Path, line: str, field: str, message: str) -> None:
    path = _write(tmp_path, OUTPUT_HEADER + "Hebei,province,crude steel,2018,2017,0.8,,,,S\n"
                  + line + "\n")
    with pytest.raises(InputError, match=message) as err:
        load_output(path)
    assert (err.value.file, err.value.row, err.value.field) == (str(path), 2, field)


@pytest.mark.parametrize(
    ("direction", "change", "message"),
    [("sideways", "", "unknown direction 'sideways'"), ("down", "20", "contradicts")],
)
def test_bad_direction(tmp_path: Path, direction: str, change: str, message: str) -> None:
    path = _write(tmp_path, "subject,product,period,change_pct,direction,note,source\n"
                  f"A,steel,2018,{change},{direction},a note,S\n")
    with pytest.raises(InputError, match=message) as err:
        load_output(path)
    assert (err.value.row, err.value.field) == (1, "direction")


def test_output_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "subject,product,period\nA,steel,2018\n")
    with pytest.raises(InputError, match="missing required column") as err:
        load_output(path)
    assert (err.value.file, err.value.row, err.value.field) == (str(path), None, "source")
