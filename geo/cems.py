"""Online-monitoring (CEMS) hourly stack data → exceedance episodes → violation records.

Concentrations are compared as given with the hourly limit: they must already be the
reference-oxygen ("折算") values the limits table refers to; no oxygen correction is applied.
Every hour of the input is accounted for in the coverage table: valid, invalid by flag,
sentinel, missing, exceeding, and whether a limit could be applied at all.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

POLLUTANTS: dict[str, str] = {
    "pm": "PM", "颗粒物": "PM", "烟尘": "PM", "particulate": "PM", "particulatematter": "PM",
    "so2": "SO2", "so₂": "SO2", "二氧化硫": "SO2",
    "nox": "NOx", "氮氧化物": "NOx",
}
VALID_FLAGS = frozenset({"", "N", "NORMAL", "正常"})
INVALID_FLAGS: dict[str, str] = {  # HJ 212 data flags that mark an hour as not a measurement
    "F": "stopped", "M": "maintenance", "S": "manual input", "D": "fault",
    "C": "calibration", "T": "over range", "B": "communication fault",
}
SENTINELS = (-99.0, -999.0, -9999.0, 9999.0, 99999.0, 999999.0)  # "no data" codes, not values
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
HOUR = pd.Timedelta(hours=1)

LIMIT_COLUMNS = ["industry", "process", "pollutant", "limit_mg_m3", "reference_o2_pct",
                 "standard", "note"]
HOURLY_COLUMNS = ["enterprise_name", "enterprise_id", "industry", "process", "outlet",
                  "pollutant", "time", "concentration", "flag", "status"]
SERIES = ["enterprise_name", "enterprise_id", "outlet", "pollutant"]
EPISODE_COLUMNS = ["enterprise_name", "enterprise_id", "industry", "outlet", "pollutant", "start",
                   "end", "hours", "max_mg_m3", "mean_mg_m3", "limit_mg_m3", "standard",
                   "process"]
COVERAGE_COLUMNS = ["enterprise_name", "enterprise_id", "industry", "process", "outlet",
                    "pollutant", "first_hour", "last_hour", "hours", "valid", "invalid",
                    "sentinel", "missing", "exceeding", "episodes", "limit_mg_m3", "standard",
                    "assessed", "reason"]
RECORD_COLUMNS = ["record_id", "kind", "enterprise_name", "enterprise_id", "province", "city",
                  "industry", "date", "date_precision", "quarter", "authority", "finding",
                  "category", "penalty", "source_url", "source"]
AUTHORITY = "computed by lantian from online-monitoring (CEMS) data"
_UNSAFE = re.compile(r"[^\w.-]+")


def load_limits(path: Path | None = None) -> pd.DataFrame:
    """Hourly concentration limits (``LIMIT_COLUMNS``), the bundled table by default.

    ``industry`` and ``process`` are required text; ``pollutant`` is canonicalised to
    ``PM``/``SO2``/``NOx``; ``limit_mg_m3`` must be positive; an (industry, process, pollutant)
    may appear once. An industry's first row in the table names its default process."""
    if path is not None:
        return _limits(path)
    bundled = resources.files("lantian.geo").joinpath("data", "emission_limits.csv")
    with resources.as_file(bundled) as file:
        return _limits(file)


def load_cems(path: Path) -> pd.DataFrame:
    """Hourly CEMS rows (``HOURLY_COLUMNS``), one per enterprise, outlet, pollutant and hour.

    ``time`` is the hour start in China local time (``2018-12-27 13:00``,
    ``2018-12-27T13:00:00``, ``2018/12/27 13:00``). ``status`` is ``invalid`` for a flag in
    ``INVALID_FLAGS`` (a valid flag is empty, ``N`` or ``normal``), else ``missing`` for an
    empty concentration, ``sentinel`` for a value in ``SENTINELS``, else ``valid``. An empty
    ``process`` means the industry's default process (see ``load_limits``). A non-numeric or
    other negative concentration, a bad time, pollutant or flag, a repeated hour, or an outlet
    whose industry or process changes between rows raises ``InputError``."""
    raw = _read(path, ["enterprise_name", "industry", "outlet", "pollutant", "time",
                       "concentration"])
    for column in ("enterprise_id", "process", "flag"):
        if column not in raw:
            raw[column] = ""
    _require_text(path, raw, ["enterprise_name", "industry", "outlet"])
    concentration, sentinel = _concentrations(path, raw["concentration"])
    flag = raw["flag"].str.strip().str.upper()
    known = flag.isin(VALID_FLAGS) | flag.isin(INVALID_FLAGS.keys())
    _raise_first(path, ~known, raw["flag"], "flag", "unknown validity flag")
    invalid = flag.isin(INVALID_FLAGS.keys())
    status = np.select([invalid.to_numpy(), concentration.isna().to_numpy(),
                        sentinel.to_numpy()], ["invalid", "missing", "sentinel"], "valid")
    hourly = pd.DataFrame({
        "enterprise_name": raw["enterprise_name"].str.strip(),
        "enterprise_id": raw["enterprise_id"].str.strip(),
        "industry": raw["industry"].str.strip(),
        "process": raw["process"].str.strip(),
        "outlet": raw["outlet"].str.strip(),
        "pollutant": _pollutants(path, raw["pollutant"]),
        "time": _times(path, raw["time"]),
        "concentration": concentration,
        "flag": flag,
        "status": status,
    })
    _check_series(path, hourly, raw)
    return hourly


def detect_exceedances(
    hourly: pd.DataFrame, limits: pd.DataFrame, *, max_gap_hours: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Episodes (``EPISODE_COLUMNS``) and coverage (``COVERAGE_COLUMNS``) of ``load_cems`` rows.

    An episode is a maximal run of valid hours strictly above the limit in one series
    (enterprise, outlet, pollutant). A valid hour at or below the limit always ends it; up to
    ``max_gap_hours`` consecutive hours without a valid value (missing, invalid, sentinel or
    absent) are bridged. ``hours`` counts exceeding hours; ``end`` is the last one's start + 1 h.
    Coverage has one row per series; ``assessed`` is False, with a reason, when no limit
    applies or no hour is valid."""
    if max_gap_hours < 0:
        raise ValueError(f"max_gap_hours must be ≥ 0, got {max_gap_hours}")
    frame = hourly.sort_values([*SERIES, "time"], kind="stable", ignore_index=True)
    sid = frame.groupby(SERIES, sort=False, dropna=False).ngroup().to_numpy()
    first = np.flatnonzero(np.diff(sid, prepend=-1) != 0)
    series = _with_limits(frame.iloc[first].reset_index(drop=True), limits)
    limit = series["limit_mg_m3"].to_numpy(dtype=float)[sid]
    valid = (frame["status"] == "valid").to_numpy()
    exceed = valid & (frame["concentration"].to_numpy(dtype=float) > limit)
    episodes = _episodes(frame, sid, exceed, valid & ~exceed, series, max_gap_hours)
    coverage = _coverage(frame, sid, exceed, series, episodes)
    return episodes[EPISODE_COLUMNS], coverage


def exceedance_records(episodes: pd.DataFrame, source: str) -> pd.DataFrame:
    """Violation records (``RECORD_COLUMNS``, kind ``computed_exceedance``), one per episode.

    ``record_id`` is ``cems:<enterprise>:<outlet>:<pollutant>:<start>``, the enterprise being
    its id when given, else its name; each part is slugged so it holds no ``:`` or spaces."""
    start = pd.to_datetime(episodes["start"])
    records = pd.DataFrame({
        "record_id": [
            "cems:" + ":".join(_slug(part) for part in (i or n, o, p, f"{s:%Y-%m-%dT%H:%M}"))
            for n, i, o, p, s in zip(episodes["enterprise_name"], episodes["enterprise_id"],
                                     episodes["outlet"], episodes["pollutant"], start,
                                     strict=True)],
        "kind": "computed_exceedance",
        "enterprise_name": episodes["enterprise_name"],
        "enterprise_id": episodes["enterprise_id"],
        "province": "",
        "city": "",
        "industry": episodes["industry"],
        "date": start.dt.strftime("%Y-%m-%d"),
        "date_precision": "day",
        "quarter": start.dt.to_period("Q").astype(str),
        "authority": AUTHORITY,
        "finding": [_finding(e) for e in episodes.to_dict("records")],
        "category": "exceedance (computed)",
        "penalty": "",
        "source_url": "",
        "source": source,
    }, columns=RECORD_COLUMNS)
    return records.reset_index(drop=True)


def _limits(path: Path) -> pd.DataFrame:
    raw = _read(path, ["industry", "process", "pollutant", "limit_mg_m3", "standard"])
    for column in ("reference_o2_pct", "note"):
        if column not in raw:
            raw[column] = ""
    _require_text(path, raw, ["industry", "process", "standard"])
    limit = pd.to_numeric(raw["limit_mg_m3"].str.strip(), errors="coerce")
    _raise_first(path, ~(limit > 0), raw["limit_mg_m3"], "limit_mg_m3",
                 "not a positive number")
    o2_text = raw["reference_o2_pct"].str.strip()
    o2 = pd.to_numeric(o2_text, errors="coerce")
    _raise_first(path, (o2_text != "") & ~((o2 >= 0) & (o2 < 21)), raw["reference_o2_pct"],
                 "reference_o2_pct", "not an oxygen percentage in [0, 21)")
    table = pd.DataFrame({
        "industry": raw["industry"].str.strip(),
        "process": raw["process"].str.strip(),
        "pollutant": _pollutants(path, raw["pollutant"]),
        "limit_mg_m3": limit.astype(float),
        "reference_o2_pct": o2.astype(float),
        "standard": raw["standard"].str.strip(),
        "note": raw["note"].str.strip(),
    })
    keys = pd.DataFrame({"industry": _key(table["industry"]), "process": _key(table["process"]),
                         "pollutant": table["pollutant"]})
    _raise_first(path, keys.duplicated(), table["pollutant"], "pollutant",
                 "repeats an earlier row's industry, process and pollutant")
    return table


def _read(path: Path, required: list[str]) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise InputError(path, f"cannot read table: {e}") from e
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise InputError(path, f"missing column(s): {', '.join(missing)}", field=missing[0])
    return raw


def _raise_first(path: Path, bad: pd.Series, text: pd.Series, field: str, message: str) -> None:
    """Raise for the first row where ``bad`` holds, quoting that row's ``text``."""
    hits = np.flatnonzero(bad.to_numpy(dtype=bool))
    if len(hits):
        position = int(hits[0])
        raise InputError(path, f"{message}: {text.iloc[position]!r}", row=position + 1,
                         field=field)


def _require_text(path: Path, raw: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        _raise_first(path, raw[column].str.strip() == "", raw[column], column, "empty value")


def _key(text: pd.Series) -> pd.Series:
    return text.str.strip().str.casefold()


def _pollutants(path: Path, text: pd.Series) -> pd.Series:
    names = {name: POLLUTANTS.get("".join(name.casefold().split())) for name in text.unique()}
    canonical = text.map(names)
    _raise_first(path, canonical.isna(), text, "pollutant",
                 "unknown pollutant (expected PM, SO2 or NOx)")
    return canonical.astype(str)


def _times(path: Path, text: pd.Series) -> pd.Series:
    normal = text.str.strip().str.replace("/", "-", regex=False).str.replace("T", " ", regex=False)
    times = pd.to_datetime(normal, format=TIME_FORMATS[0], errors="coerce")
    for fmt in TIME_FORMATS[1:]:
        unparsed = times.isna()
        times[unparsed] = pd.to_datetime(normal[unparsed], format=fmt, errors="coerce")
    _raise_first(path, times.isna(), text, "time",
                 "not a time like 2018-12-27 13:00 (China local time)")
    _raise_first(path, times != times.dt.floor("h"), text, "time", "not the start of an hour")
    return times


def _concentrations(path: Path, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Values in mg/m³ (NaN when empty) and whether each is a sentinel code."""
    stripped = text.str.strip()
    values = pd.to_numeric(stripped, errors="coerce").astype(float)
    _raise_first(path, (stripped != "") & ~np.isfinite(values), text, "concentration",
                 "not a number")
    sentinel = values.isin(SENTINELS)
    _raise_first(path, (values < 0) & ~sentinel, text, "concentration",
                 "negative concentration")
    return values, sentinel


def _check_series(path: Path, hourly: pd.DataFrame, raw: pd.DataFrame) -> None:
    """One row per series and hour; one industry and process per series."""
    repeated = hourly.duplicated([*SERIES, "time"])
    _raise_first(path, repeated, raw["time"], "time",
                 "a second row for the same enterprise, outlet, pollutant and hour")
    groups = hourly.groupby(SERIES, sort=False)
    for column in ("industry", "process"):
        changed = hourly[column] != groups[column].transform("first")
        _raise_first(path, changed, hourly[column], column,
                     "differs from an earlier row of the same outlet and pollutant")


def _with_limits(series: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Each series with its limit: on (industry, process), an empty process meaning the
    process of the industry's first row in ``limits``. No limit leaves NaN."""
    table = limits.assign(_industry=_key(limits["industry"]), _process=_key(limits["process"]))
    default = table.drop_duplicates("_industry").set_index("_industry")["_process"]
    industry, given = _key(series["industry"]), _key(series["process"])
    process = given.where(given != "", industry.map(default))
    matched = pd.DataFrame({"_industry": industry, "_process": process,
                            "pollutant": series["pollutant"]}).merge(
        table[["_industry", "_process", "pollutant", "process", "limit_mg_m3", "standard"]],
        on=["_industry", "_process", "pollutant"], how="left", validate="many_to_one")
    return series.assign(
        process=matched["process"].fillna(series["process"]).to_numpy(),
        limit_mg_m3=matched["limit_mg_m3"].astype(float).to_numpy(),
        standard=matched["standard"].fillna("").to_numpy(),
    )


def _episodes(frame: pd.DataFrame, sid: np.ndarray, exceed: np.ndarray, below: np.ndarray,
              series: pd.DataFrame, max_gap_hours: int) -> pd.DataFrame:
    """Runs of exceeding hours: a new run at a new series, after a valid hour at or below the
    limit, or after more than ``max_gap_hours`` hours without a valid value."""
    hit = np.flatnonzero(exceed)
    hit_sid = sid[hit]
    below_seen = np.cumsum(below)[hit]
    hours = frame["time"].to_numpy()[hit].astype("datetime64[h]").astype(np.int64)
    new = ((np.diff(hit_sid, prepend=-1) != 0)
           | (np.diff(below_seen, prepend=below_seen[:1]) != 0)
           | (np.diff(hours, prepend=hours[:1]) - 1 > max_gap_hours))
    hits = frame.iloc[hit].assign(_episode=np.cumsum(new), _sid=hit_sid)
    runs = hits.groupby("_episode", sort=False).agg(
        _sid=("_sid", "first"), start=("time", "first"), end=("time", "last"),
        hours=("time", "size"), max_mg_m3=("concentration", "max"),
        mean_mg_m3=("concentration", "mean"))
    info = series[["enterprise_name", "enterprise_id", "industry", "outlet", "pollutant",
                   "limit_mg_m3", "standard", "process"]].iloc[runs["_sid"].to_numpy(dtype=int)]
    return info.reset_index(drop=True).assign(
        _sid=runs["_sid"].to_numpy(), start=runs["start"].to_numpy(),
        end=(runs["end"] + HOUR).to_numpy(), hours=runs["hours"].to_numpy(),
        max_mg_m3=runs["max_mg_m3"].to_numpy(), mean_mg_m3=runs["mean_mg_m3"].to_numpy())


def _coverage(frame: pd.DataFrame, sid: np.ndarray, exceed: np.ndarray, series: pd.DataFrame,
              episodes: pd.DataFrame) -> pd.DataFrame:
    n = len(series)
    counts = {name: np.bincount(sid, weights=(frame["status"] == name).to_numpy(), minlength=n)
              for name in ("valid", "invalid", "sentinel")}
    times = frame.groupby(sid)["time"]
    first_hour, last_hour = times.min().to_numpy(), times.max().to_numpy()
    hours = (last_hour - first_hour) // np.timedelta64(1, "h") + 1
    coverage = series.assign(
        first_hour=first_hour, last_hour=last_hour, hours=hours,
        **{name: c.astype(int) for name, c in counts.items()},
        missing=hours - sum(c.astype(int) for c in counts.values()),
        exceeding=np.bincount(sid, weights=exceed, minlength=n).astype(int),
        episodes=np.bincount(episodes["_sid"].to_numpy(dtype=int), minlength=n),
    )
    has_limit = coverage["limit_mg_m3"].notna()
    coverage["assessed"] = has_limit & (coverage["valid"] > 0)
    coverage["reason"] = [
        "" if assessed else
        "no valid hour" if limited else
        f"no hourly {p} limit for industry {i!r}, process {r or 'default'!r} in the limits table"
        for assessed, limited, p, i, r in zip(
            coverage["assessed"], has_limit, coverage["pollutant"], coverage["industry"],
            coverage["process"], strict=True)]
    return coverage[COVERAGE_COLUMNS]


def _finding(e: dict[str, Any]) -> str:
    start, end = pd.Timestamp(e["start"]), pd.Timestamp(e["end"])
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    bridged = (end - start) // HOUR - e["hours"]
    gap = f", bridging {bridged} h without valid data" if bridged else ""
    return (f"{e['pollutant']} at {e['outlet']} above the {e['limit_mg_m3']:g} mg/m³ hourly "
            f"limit of {e['standard']} for {e['hours']} h ({start:%Y-%m-%d %H:%M}–{until}{gap}), "
            f"max {e['max_mg_m3']:.1f}, mean {e['mean_mg_m3']:.1f} mg/m³")


def _slug(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-")
