from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lantian.errors import InputError
from lantian.layers.observations import (
    daily_means,
    monthly_means,
    quarterly_means,
    read_hourly,
)

HEADER = "date,hour,type,1001A,1002A\n"


def write(tmp_path: Path, body: str, name: str = "f.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    text = header + body
    if name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_q1_daily_means_match_derived_table(q1_daily: pd.DataFrame, shared_data: Path) -> None:
    ref = pd.read_csv(shared_data / "pm25" / "cnemc_pm25_daily_2019Q1_wide.csv",
                      dtype={"date": str})
    ref.index = pd.to_datetime(ref.pop("date"), format="%Y%m%d")
    mine = q1_daily.loc["2019-01-01":"2019-03-31", list(ref.columns)]
    assert mine.shape == (90, 1605)
    assert (mine.isna().to_numpy() == ref.isna().to_numpy()).all()
    assert np.nanmax(np.abs(mine.to_numpy() - ref.to_numpy())) <= 0.05 + 1e-9  # ref has 1 dp
    assert mine.loc["2019-02-20"].isna().all()  # only 7 hours that day


def test_hourly_frame_shape(q1_hourly: pd.DataFrame) -> None:
    assert isinstance(q1_hourly.index, pd.DatetimeIndex)
    assert q1_hourly.index.is_monotonic_increasing and q1_hourly.index.is_unique
    assert (q1_hourly.dtypes == np.float32).all()
    assert len(q1_hourly) == 90 * 24 - 21  # 21 hours missing from the source
    assert q1_hourly.loc["2019-01-01 00:00", "1001A"] == 53


def test_raw_daily_file_keeps_only_pm25(shared_data: Path) -> None:
    path = shared_data / "pm25" / "raw_hourly_samples" / "china_sites_20190101.csv"
    hourly = read_hourly(path)
    assert hourly.shape == (24, 1605)
    raw = pd.read_csv(path)
    expected = raw[raw["type"] == "PM2.5"]["1001A"].to_numpy()
    np.testing.assert_array_equal(hourly["1001A"].to_numpy(), expected)


def test_gzip_blank_missing_and_many_files(tmp_path: Path) -> None:
    a = write(tmp_path, "20190101,0,PM2.5,10,\n20190101,1,PM10,99,99\n", "a.csv.gz")
    b = write(tmp_path, "20190101,1,PM2.5,,4\n", "b.csv")
    hourly = read_hourly([b, a])
    assert list(pd.DatetimeIndex(hourly.index).hour) == [0, 1]
    assert hourly["1001A"].tolist()[0] == 10 and np.isnan(hourly["1001A"].iloc[1])
    assert hourly["1002A"].iloc[1] == 4


def test_identical_duplicates_are_dropped(tmp_path: Path) -> None:
    a = write(tmp_path, "20190101,0,PM2.5,10,\n", "a.csv")
    b = write(tmp_path, "20190101,0,PM2.5,10,\n20190101,1,PM2.5,1,2\n", "b.csv")
    assert len(read_hourly([a, b])) == 2
    same_col = write(tmp_path, "20190101,0,PM2.5,10,10\n", "c.csv",
                     header="date,hour,type,1001A,1001A\n")
    assert list(read_hourly(same_col).columns) == ["1001A"]


@pytest.mark.parametrize(
    ("body", "header", "row", "field", "text"),
    [
        ("20190101,0,PM2.5,10,1\n20190101,1,PM2.5,x,1\n", HEADER, 2, "1001A", "not a number"),
        ("20190101,0,PM2.5,10,-3\n", HEADER, 1, "1002A", "≥ 0"),
        ("20190101,0,PM2.5,10,inf\n", HEADER, 1, "1002A", "finite"),
        ("20190101,0,PM2.5,1,1\n20190231,0,PM2.5,1,1\n", HEADER, 2, "date", "YYYYMMDD"),
        ("20190101,24,PM2.5,1,1\n", HEADER, 1, "hour", "0–23"),
        ("20190101,0,PM2.5,1,1\n20190101,0,PM2.5,2,1\n", HEADER, 2, "hour", "repeated"),
        ("20190101,0,PM2.5,1,2\n", "date,hour,type,1001A,1001A\n", 1, "1001A", "repeated"),
        ("20190101,0,PM2.5,1\n", "day,hour,type,1001A\n", None, None, "header"),
    ],
)
def test_bad_input_is_located(
    tmp_path: Path, body: str, header: str, row: int | None, field: str | None, text: str
) -> None:
    path = write(tmp_path, body, header=header)
    with pytest.raises(InputError, match=text) as info:
        read_hourly(path)
    assert (info.value.file, info.value.row, info.value.field) == (str(path), row, field)


def hours(day: str, values: list[float]) -> pd.DataFrame:
    index = pd.date_range(day, periods=len(values), freq="h", name="time")
    return pd.DataFrame({"S": np.array(values, np.float32)}, index=index)


def test_daily_mean_needs_min_hours() -> None:
    full = hours("2019-01-01", [10.0] * 20 + [np.nan] * 4)
    short = hours("2019-01-02", [30.0] * 19 + [np.nan] * 5)
    daily = daily_means(pd.concat([full, short]))
    assert daily["S"].iloc[0] == 10.0 and np.isnan(daily["S"].iloc[1])
    assert daily_means(short, min_hours=19)["S"].iloc[0] == 30.0


def test_monthly_and_quarterly_rules() -> None:
    days = pd.date_range("2019-01-01", "2019-03-31", freq="D", name="date")
    values = pd.Series(np.arange(len(days), dtype=float), index=days)
    values["2019-02-01":"2019-02-04"] = np.nan  # February keeps 24 of 28 days: invalid
    daily = pd.DataFrame({"A": values, "B": values.where(days.day <= 20)})
    months = monthly_means(daily).set_index(["code", "period"])
    assert months.loc[("A", "2019-01"), "pm25"] == pytest.approx(15.0)
    assert months.loc[("A", "2019-02"), "n_days"] == 24
    assert not months.loc[("A", "2019-02"), "valid"]
    assert months["pm25"].isna()[("A", "2019-02")]
    quarters = quarterly_means(daily).set_index("code")
    assert quarters.loc["A", "valid"] and quarters.loc["A", "n_days"] == 86
    assert quarters.loc["A", "pm25"] == pytest.approx(values.mean())
    assert quarters.loc["B", "n_days"] == 56 and not quarters.loc["B", "valid"]  # < 60 of 90
    assert quarterly_means(daily, min_valid_days=50).set_index("code").loc["B", "valid"]
