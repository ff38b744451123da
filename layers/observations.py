"""CNEMC/quotsoft hourly files → hourly wide frame → daily, monthly and quarterly station means.

Files have the header ``date,hour,type,<station codes…>``; ``date`` is YYYYMMDD, ``hour`` 0–23,
blank cells are missing. Only ``type == "PM2.5"`` rows are kept.

Duplicate station columns (``3207A`` appears twice in the real files from June 2019) and
duplicate hours (the same date and hour twice, within a file or across files): if they agree
(missing = missing) the repeat is dropped; if they disagree it is an :class:`InputError`.
Missing-value codes such as 999 or -999 are blanked and reported per station (``read_hourly``).

Validity rules (GB 3095-2012 and HJ 663-2013, carried over to quarters):

* a day counts when it has ≥ ``min_hours`` (20) valid hourly values;
* a month counts with ≥ 27 valid days (≥ 25 in February);
* a quarter counts with ≥ 2/3 of its calendar days valid (60 of 90, 61 of 91/92), which tolerates
  the whole-day gaps of August/September 2019 while still covering each month.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lantian.errors import InputError
from lantian.layers import periods

POLLUTANT = "PM2.5"
DAY_FILE = re.compile(r"china_sites_(\d{8})")  # the source's own daily files
_FIXED = ("date", "hour", "type")
SENTINELS = (999.0, 9999.0, 99999.0, -999.0, -9999.0, -99999.0)
SENTINEL_COLUMNS = ["code", "file", "row", "value", "count"]


@dataclass(frozen=True)
class HourlyFile:
    """One observation file read: hourly values (time × station), the 1-based data row of each
    kept row, and the missing-value codes found (``SENTINEL_COLUMNS``)."""

    path: str
    values: pd.DataFrame
    rows: npt.NDArray[np.int64]
    sentinels: pd.DataFrame


def read_hourly(paths: str | Path | Sequence[str | Path]) -> pd.DataFrame:
    """Hourly PM2.5 from one or many .csv / .csv.gz files: DatetimeIndex ``time`` × station code,
    float32 (µg/m³, NaN = missing), sorted by time.

    Missing-value codes (``SENTINELS``: ±999, ±9999, ±99999) are not measurements: they become
    NaN, and ``attrs["sentinels"]`` lists each station that had any (a dict per station, keys
    ``SENTINEL_COLUMNS``: the file and data row of its first, that value, and how many), so that
    the caller can flag the station rather than average a half-coded series. Any other negative
    or infinite value is an :class:`InputError`."""
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not files:
        raise ValueError("no observation files given")
    return combine([read_file(path) for path in files])


def read_file(path: Path) -> HourlyFile:
    """One file (a day file ``china_sites_YYYYMMDD.csv`` with every pollutant's rows, or a
    monthly file of PM2.5 rows), checked row by row (see :func:`read_hourly`)."""
    values, rows = _read_one(Path(path))
    sentinels = values.attrs.pop("sentinels")
    values.attrs.clear()
    return HourlyFile(str(path), values, rows, sentinels)


def combine(files: Sequence[HourlyFile]) -> pd.DataFrame:
    """The hourly frame of several files (see :func:`read_hourly`)."""
    if not files:
        raise ValueError("no observation files given")
    sentinels = pd.concat([f.sentinels for f in files if len(f.sentinels)]
                          or [pd.DataFrame(columns=SENTINEL_COLUMNS)], ignore_index=True)
    hourly = pd.concat([f.values for f in files], sort=False)
    origin = pd.concat([pd.DataFrame({"file": f.path, "row": f.rows}, index=f.values.index)
                        for f in files])
    hourly = _drop_duplicate_hours(hourly, origin)
    hourly = hourly.sort_index().astype(np.float32)
    hourly.attrs["sentinels"] = _first_per_code(sentinels).to_dict("records")
    return hourly


def _first_per_code(sentinels: pd.DataFrame) -> pd.DataFrame:
    """One row per station: where its first missing-value code was, and how many it had."""
    if not len(sentinels):
        return pd.DataFrame(columns=SENTINEL_COLUMNS)
    counts = sentinels.groupby("code", sort=True)["count"].sum()
    first = sentinels.drop_duplicates("code").set_index("code").drop(columns="count")
    return first.join(counts).reset_index()[SENTINEL_COLUMNS]


def _read_header(path: Path) -> list[str]:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8-sig") as packed:
                line = packed.readline()
        else:
            with path.open(encoding="utf-8-sig") as plain:
                line = plain.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from exc
    return [name.strip() for name in line.rstrip("\r\n").split(",")]


def _read_one(path: Path) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    """One file → (hourly frame, the data row of each kept row)."""
    header = _read_header(path)
    if tuple(header[:3]) != _FIXED:
        raise InputError(path, f"header must start with date,hour,type, got {header[:3]}")
    codes = header[3:]
    if not codes or any(not code for code in codes):
        raise InputError(path, "header has no or empty station codes")
    _check_complete(path, header)
    names = [*_FIXED, *_unique_names(codes)]
    dtypes: dict[str, type | str] = {name: str for name in _FIXED}
    try:
        raw = pd.read_csv(path, header=0, names=names,
                          dtype={**dtypes, **dict.fromkeys(names[3:], "float32")})
    except ValueError:
        raw = pd.read_csv(path, header=0, names=names, dtype=str)
        _raise_first_non_numeric(path, raw, names[3:])
        raise  # pragma: no cover - the slow path always finds the cell
    rows = pd.Series(np.arange(1, len(raw) + 1), index=raw.index)
    keep = raw["type"].str.strip() == POLLUTANT
    raw, rows = raw[keep], rows[keep]
    index = _timestamps(path, raw, rows)
    values = _merge_duplicate_columns(path, raw[names[3:]].set_axis(index), rows)
    values, sentinels = _blank_sentinels(path, values, rows)
    _check_values(path, values, rows)
    values.attrs["sentinels"] = sentinels
    return values, rows.to_numpy(np.int64)


def _lines(path: Path) -> list[str]:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as packed:
                return packed.read().splitlines()
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read (truncated or corrupt?): {exc}") from exc


def _check_complete(path: Path, header: list[str]) -> None:
    """Every data row has the header's number of fields, and a day file
    (``china_sites_YYYYMMDD``) holds only its own day: a file cut short by a failed download
    names its last row and the first field it lacks."""
    lines = [line for line in _lines(path)[1:] if line.strip()]
    for row, line in enumerate(lines, start=1):
        count = line.count(",") + 1
        if count < len(header):
            raise InputError(path, f"row has {count} of {len(header)} fields (file cut short?)",
                             row=row, field=header[count])
        if count > len(header):
            raise InputError(path, f"row has {count} fields, the header {len(header)}",
                             row=row, field=header[-1])
    day = DAY_FILE.fullmatch(path.name.removesuffix(".gz").removesuffix(".csv"))
    if day is not None:
        for row, line in enumerate(lines, start=1):
            if not line.startswith(day.group(1) + ","):
                raise InputError(path, f"a row of {line.split(',', 1)[0]!r} in the file of day "
                                 f"{day.group(1)}", row=row, field="date")


def _blank_sentinels(
    path: Path, values: pd.DataFrame, rows: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cells holding a missing-value code (``SENTINELS``) → NaN, and per station where they
    were: ``code, file, row`` (the first), ``value`` (the first) and ``count``."""
    array = values.to_numpy()
    hit = np.isin(array, SENTINELS)
    found = []
    for j in np.flatnonzero(hit.any(axis=0)):
        cells = np.flatnonzero(hit[:, j])
        found.append({"code": str(values.columns[j]), "file": str(path),
                      "row": int(rows.iloc[cells[0]]), "value": float(array[cells[0], j]),
                      "count": len(cells)})
    if not found:
        return values, pd.DataFrame(columns=SENTINEL_COLUMNS)
    return values.mask(hit), pd.DataFrame(found, columns=SENTINEL_COLUMNS)


def _unique_names(codes: list[str]) -> list[str]:
    """Codes with repeats renamed ``code#2``, ``code#3`` … (merged again later)."""
    seen: dict[str, int] = {}
    names = []
    for code in codes:
        seen[code] = seen.get(code, 0) + 1
        names.append(code if seen[code] == 1 else f"{code}#{seen[code]}")
    return names


def _merge_duplicate_columns(path: Path, values: pd.DataFrame, rows: pd.Series) -> pd.DataFrame:
    """Drop repeated station columns that agree with the first; raise if they differ.
    (Real 2019 files list ``3207A`` twice from June on, with identical values.)"""
    repeats = [name for name in values.columns if "#" in name]
    for name in repeats:
        code = name.split("#")[0]
        a, b = values[code].to_numpy(), values[name].to_numpy()
        differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if differ.any():
            raise InputError(path, "station column repeated with different values",
                             row=int(rows.iloc[np.argmax(differ)]), field=code)
    return values.drop(columns=repeats)


def _timestamps(path: Path, raw: pd.DataFrame, rows: pd.Series) -> pd.DatetimeIndex:
    day = pd.to_datetime(raw["date"].str.strip(), format="%Y%m%d", errors="coerce")
    bad = day.isna()
    if bad.any():
        raise InputError(path, f"not a date YYYYMMDD: {raw['date'][bad].iloc[0]!r}",
                         row=int(rows[bad].iloc[0]), field="date")
    hour = pd.to_numeric(raw["hour"].str.strip(), errors="coerce")
    bad = ~hour.between(0, 23) | (hour % 1 != 0)
    if bad.any():
        raise InputError(path, f"hour must be an integer 0–23, got {raw['hour'][bad].iloc[0]!r}",
                         row=int(rows[bad].iloc[0]), field="hour")
    return pd.DatetimeIndex(day + pd.to_timedelta(hour, unit="h"), name="time")


def _check_values(path: Path, values: pd.DataFrame, rows: pd.Series) -> None:
    array = values.to_numpy()
    bad = (array < 0) | np.isinf(array)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(path, f"value must be finite and ≥ 0, got {array[i, j]}",
                         row=int(rows.iloc[i]), field=str(values.columns[j]))


def _raise_first_non_numeric(path: Path, raw: pd.DataFrame, codes: list[str]) -> None:
    for i, record in enumerate(raw[codes].itertuples(index=False), start=1):
        for code, cell in zip(codes, record, strict=True):
            if isinstance(cell, str) and cell.strip():
                try:
                    float(cell)
                except ValueError:
                    raise InputError(path, f"not a number: {cell!r}", row=i,
                                     field=code.split("#")[0]) from None


def _drop_duplicate_hours(hourly: pd.DataFrame, origin: pd.DataFrame) -> pd.DataFrame:
    dup = hourly.index.duplicated(keep="first")
    if not dup.any():
        return hourly
    first = hourly[~dup]
    for position in np.flatnonzero(dup):
        stamp = hourly.index[int(position)]
        again = hourly.iloc[position]
        kept = first.loc[stamp]
        if not np.array_equal(again.to_numpy(), kept.to_numpy(), equal_nan=True):
            where = origin.iloc[position]
            raise InputError(where["file"], f"hour {stamp} repeated with different values",
                             row=int(where["row"]), field="hour")
    return first


def daily_means(hourly: pd.DataFrame, min_hours: int = 20) -> pd.DataFrame:
    """Daily mean per station (DatetimeIndex ``date``); NaN unless ≥ ``min_hours`` valid hours."""
    day = pd.DatetimeIndex(hourly.index).normalize().rename("date")
    grouped = hourly.astype(np.float64).groupby(day)
    means = grouped.mean().where(grouped.count() >= min_hours)
    return means


def monthly_means(daily: pd.DataFrame, min_valid_days: int | None = None) -> pd.DataFrame:
    """Per station and month: ``code, period, pm25, n_days, valid``. ``pm25`` is the mean of the
    valid days, NaN unless ``n_days`` ≥ ``min_valid_days`` (default 27, 25 in February)."""
    labels = [periods.month_of(d) for d in daily.index]
    return _period_means(daily, labels, lambda m: min_valid_days or _month_rule(m))


def quarterly_means(daily: pd.DataFrame, min_valid_days: int | None = None) -> pd.DataFrame:
    """Per station and quarter: ``code, period, pm25, n_days, valid``. ``pm25`` is the mean of the
    valid days, NaN unless ``n_days`` ≥ ``min_valid_days`` (default ⌈2/3 of the quarter's days⌉)."""
    labels = [periods.quarter_of(d) for d in daily.index]
    return _period_means(daily, labels, lambda q: min_valid_days or quarter_rule(q))


def period_means(daily: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Per station and period of type ``kind`` (month, quarter, year): ``code, period, pm25,
    n_days, valid``, valid with ≥ ⌈2/3⌉ of the period's calendar days (:func:`map_rule`)."""
    labels = [periods.label_of(d, kind) for d in daily.index]
    return _period_means(daily, labels, map_rule)


def map_rule(period: str) -> int:
    """Minimum valid days of a station's mean on the map (any period): ⌈2/3 × its days⌉. Not a
    GB 3095-2012 rule (the statistics apply those, :mod:`lantian.layers.stats`): it tolerates the
    whole-day gaps of the 2019 archive (June, August, September) while still covering the period."""
    return math.ceil(2 * periods.days_in(period) / 3)


def quarter_rule(quarter: str) -> int:
    """Minimum valid days for a quarter: ⌈2/3 × days in the quarter⌉."""
    return math.ceil(2 * periods.days_in_quarter(quarter) / 3)


def _month_rule(month: str) -> int:
    return 25 if periods.parse_month(month)[1] == 2 else 27


def _period_means(
    daily: pd.DataFrame, labels: list[str], rule: Callable[[str], int]
) -> pd.DataFrame:
    grouped = daily.groupby(pd.Index(labels, name="period"))
    table = pd.DataFrame({
        "pm25": grouped.mean().stack(future_stack=True),
        "n_days": grouped.count().stack(future_stack=True).astype(int),
    })
    table.index.names = ["period", "code"]
    table = table.reset_index()
    table["valid"] = table["n_days"] >= table["period"].map(rule)
    table["pm25"] = table["pm25"].where(table["valid"])
    return table[["code", "period", "pm25", "n_days", "valid"]]
