"""The source's own daily files (``china_sites_YYYYMMDD.csv``, every pollutant) are read as
published; a file cut short or holding another day is an error naming file, row and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lantian.errors import InputError
from lantian.layers.observations import daily_means, read_file, read_hourly
from lantian.pipeline import observation_files


@pytest.fixture(scope="module")
def day_file(shared_data: Path) -> Path:
    return shared_data / "pm25" / "raw_hourly_samples" / "china_sites_20190101.csv"


def test_day_file_gives_the_monthly_files_pm25(day_file: Path, shared_data: Path) -> None:
    day = read_file(day_file)
    assert day.values.shape == (24, 1605)  # 15 pollutant rows an hour, PM2.5 kept
    assert list(day.rows[:2]) == [2, 17]  # data rows of the PM2.5 lines
    month = read_hourly(shared_data / "pm25" / "china_sites_pm25_201901.csv.gz")
    same = month.loc[day.values.index, day.values.columns]
    assert np.array_equal(same.to_numpy(), day.values.to_numpy(), equal_nan=True)
    means = daily_means(read_hourly([day_file]))
    assert means.index.strftime("%Y%m%d").tolist() == ["20190101"]


def test_cut_short_day_file_names_row_and_field(day_file: Path, tmp_path: Path) -> None:
    text = day_file.read_text(encoding="utf-8")
    cut = tmp_path / day_file.name
    cut.write_text(text[: len(text) * 2 // 3], encoding="utf-8")  # a download that stopped
    last = len(cut.read_text(encoding="utf-8").splitlines()) - 1  # data rows
    with pytest.raises(InputError) as caught:
        read_file(cut)
    error = caught.value
    assert error.file == str(cut) and error.row == last
    header = text.split("\n", 1)[0].split(",")
    assert error.field in header[3:] and "fields" in error.message


def test_day_file_with_another_days_rows_is_refused(day_file: Path, tmp_path: Path) -> None:
    lines = day_file.read_text(encoding="utf-8").splitlines()
    lines[40] = lines[40].replace("20190101", "20190102", 1)
    wrong = tmp_path / day_file.name
    wrong.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_file(wrong)
    assert (caught.value.row, caught.value.field) == (40, "date")


def test_truncated_gzip_is_an_input_error(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / "pm25" / "china_sites_pm25_201902.csv.gz"
    broken = tmp_path / source.name
    broken.write_bytes(source.read_bytes()[:20_000])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_file(broken)


def test_folders_expand_to_their_files_in_order(tmp_path: Path) -> None:
    for name in ("china_sites_20190102.csv", "china_sites_20190101.csv", "notes.txt",
                 "china_sites_pm25_201901.csv.gz"):
        (tmp_path / name).write_text("")
    other = tmp_path / "elsewhere.csv"
    found = observation_files([tmp_path, other])
    assert [p.name for p in found] == ["china_sites_20190101.csv", "china_sites_20190102.csv",
                                       "china_sites_pm25_201901.csv.gz", "elsewhere.csv"]
