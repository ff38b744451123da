"""Stages of the station data: the station list, each observation file, daily means."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lantian.geo.boundaries import Boundaries
from lantian.geo.gazetteer import Gazetteer
from lantian.geo.stations import load_stations, merge_names, validate_stations
from lantian.i18n import Lang, translate
from lantian.layers.observations import (
    SENTINEL_COLUMNS,
    HourlyFile,
    combine,
    daily_means,
    period_means,
    read_file,
)
from lantian.layers.periods import PERIOD_TYPES
from lantian.pipeline.cache import Entry
from lantian.pipeline.inputs import BuildInputs
from lantian.pipeline.stages import Runner, stage_key

STATION_CODE = ("geo/stations.py", "geo/gazetteer.py", "geo/boundaries.py", "i18n/en.json",
                "i18n/zh.json", "pipeline/observations.py")
OBSERVATION_CODE = ("layers/observations.py", "layers/periods.py", "pipeline/observations.py")
REASON_COLUMNS: dict[Lang, str] = {"en": "reason", "zh": "reason_zh"}


@dataclass(frozen=True)
class StationData:
    """Stations with their status, daily means and period means."""

    stations: pd.DataFrame
    daily: pd.DataFrame
    means: pd.DataFrame  # period_means(daily, kind) of every month, quarter and year
    key: str  # the daily stage's key: what every later station-derived stage builds on


def station_data(
    runner: Runner, inputs: BuildInputs, boundaries: Boundaries, digests: dict[Path, str]
) -> StationData:
    """The station list checked against the boundaries, every observation file read (each
    its own cached stage, so a new month reads only its files), daily means, and each station's
    monthly, quarterly and annual means; stations whose series hold missing-value codes are
    flagged and left out."""
    stations = _station_list(runner, inputs, boundaries, digests)
    files = [_observation_file(runner, path, digests[path]) for path in inputs.observations]
    key = stage_key("daily", OBSERVATION_CODE, [e.key for _, e in files])

    def write(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
        hourly = combine([f for f, _ in files])
        sentinels = pd.DataFrame(hourly.attrs.pop("sentinels"), columns=SENTINEL_COLUMNS)
        daily = daily_means(hourly)
        daily.to_parquet(folder / "daily.parquet")
        sentinels.astype({"row": "int64", "count": "int64", "value": "float64"}).to_parquet(
            folder / "sentinels.parquet")
        return read(folder)

    def read(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
        return (pd.read_parquet(folder / "daily.parquet"),
                pd.read_parquet(folder / "sentinels.parquet"))

    (daily, sentinels), entry = runner.run("daily", key, write, lambda e: read(e.path),
                                           label=f"{len(files)} files")
    stations, daily = _flag_sentinels(stations, daily, sentinels)
    means = pd.concat([period_means(daily, kind).assign(period_type=kind)
                       for kind in PERIOD_TYPES], ignore_index=True)
    return StationData(stations, daily, means, entry.key)


def _station_list(
    runner: Runner, inputs: BuildInputs, boundaries: Boundaries, digests: dict[Path, str]
) -> pd.DataFrame:
    key = stage_key("stations", STATION_CODE, [(p.name, digests[p]) for p in inputs.stations],
                    boundaries.key)

    def write(folder: Path) -> pd.DataFrame:
        _stations(inputs, boundaries).to_parquet(folder / "stations.parquet")
        return pd.read_parquet(folder / "stations.parquet")

    stations, _ = runner.run("stations", key, write,
                             lambda e: pd.read_parquet(e.file("stations.parquet")))
    return stations


def _observation_file(runner: Runner, path: Path, digest: str) -> tuple[HourlyFile, Entry]:
    """One observation file, read and checked once per content."""
    key = stage_key("observations", OBSERVATION_CODE, path.name, digest)

    def write(folder: Path) -> HourlyFile:
        read = read_file(path)
        read.values.to_parquet(folder / "hourly.parquet")
        np.save(folder / "rows.npy", read.rows)
        read.sentinels.astype({"row": "int64", "count": "int64", "value": "float64"}).to_parquet(
            folder / "sentinels.parquet")
        (folder / "source.json").write_text(json.dumps({"file": str(path)}), encoding="utf-8")
        return load(folder)

    def load(folder: Path) -> HourlyFile:
        sentinels = pd.read_parquet(folder / "sentinels.parquet").assign(file=str(path))
        return HourlyFile(str(path), pd.read_parquet(folder / "hourly.parquet"),
                          np.load(folder / "rows.npy"), sentinels)

    return runner.run("observations", key, write, lambda e: load(e.path), label=path.name)


def _stations(inputs: BuildInputs, boundaries: Boundaries) -> pd.DataFrame:
    """The first list's stations, names filled from the others, each with a status."""
    stations = load_stations(inputs.stations[0])
    repeats: dict[str, list[int]] = stations.attrs.get("duplicate_rows", {})
    for other in inputs.stations[1:]:
        stations = merge_names(stations, load_stations(other))
    checked = validate_stations(stations, boundaries.cities, boundaries.provinces, Gazetteer())
    for code, rows in repeats.items():  # same coordinates (others raise): one station
        at = checked["code"] == code
        for lang, column in REASON_COLUMNS.items():
            note = translate(lang, "station.reason.duplicate", n=len(rows),
                             rows=", ".join(map(str, rows)), file=inputs.stations[0].name)
            checked.loc[at, column] = [f"{r}; {note}" if r else note
                                       for r in checked.loc[at, column]]
    checked.attrs.clear()
    return checked


def _flag_sentinels(
    stations: pd.DataFrame, daily: pd.DataFrame, sentinels: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stations whose hourly series hold missing-value codes (999, -999 …) get status
    ``sentinel_values`` with where they were, and their series is left out entirely: a
    station that codes gaps as numbers cannot be trusted for the hours it does report."""
    if not len(sentinels):
        return stations, daily
    found = sentinels.set_index("code")
    flagged = stations["code"].isin(found.index)
    rows = found.loc[stations.loc[flagged, "code"]]
    stations = stations.copy()
    stations.loc[flagged, "status"] = "sentinel_values"
    for lang, column in REASON_COLUMNS.items():
        stations.loc[flagged, column] = [
            translate(lang, "station.reason.sentinel_values", count=int(s["count"]),
                      value=f"{s['value']:g}", file=Path(str(s["file"])).name, row=int(s["row"]))
            for _, s in rows.iterrows()]
    blank = [c for c in found.index if c in daily.columns]
    return stations, daily.assign(**{c: np.nan for c in blank})
