"""Operating periods of plants from their units' status and dates.

A unit operates from its start to its end, both as quarter labels (``2003Q1``):

- a year-only start counts from that year's Q1 (the whole year), a month or day start from
  its quarter;
- an idled or retired date ends the operation at its quarter (a year-only end at that year's
  Q4); the earlier of the two when both are given; a unit whose status says it is running
  (operating, operating pre-retirement) keeps running whatever end date it has (a planned
  retirement, or an idling it came back from);
- a status saying the unit was never built (announced, construction, cancelled, shelved,
  permitted, pre-permit…) means it never operated, whatever its (planned) dates;
- a unit that operated but has no start date operates from the beginning (caveat
  ``no_start``); one retired, mothballed or idled without an end date operates to the end
  (caveat ``no_end``); one with neither status nor dates is shown in every period (caveat
  ``no_dates``).

A plant operates in a quarter when one of its units does; its period is the hull of its
units' periods (``op_from`` empty = unknown start, ``op_to`` empty = still operating).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..geo.trackers import plant_units
from .periods import format_quarter

UNIT_COLUMNS = ["enterprise_id", "unit_id", "capacity", "capacity_unit", "status", "start_date",
                "idled_date", "retired_date"]  # fmt: skip
PERIOD_COLUMNS = ["enterprise_id", "op_from", "op_to", "ever_operated", "dates_caveat"]
OPERATING_COLUMNS = ["enterprise_id", "quarter", "operating", "capacity_operating"]
NEVER_OPERATED = frozenset({
    "announced", "pre-permit", "permitted", "pre-construction", "construction",
    "under construction", "cancelled", "shelved",
})  # fmt: skip
RUNNING = frozenset({"operating", "operating pre-retirement", "operational"})
STOPPED = frozenset({"retired", "mothballed", "idled", "shutdown"})
CAVEATS = ("no_dates", "no_start", "no_end")
_DATE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])(?:-\d{2})?)?$")


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) or (
        value is pd.NA) else str(value).strip()


def _parts(text: str) -> tuple[int, int | None] | None:
    """``"2006"`` → (2006, None), ``"2006-05[-dd]"`` → (2006, 5), ``""`` → None."""
    if not text:
        return None
    match = _DATE.match(text)
    if match is None:
        raise ValueError(f"not a date (expected YYYY, YYYY-MM or YYYY-MM-DD): {text!r}")
    month = match.group(2)
    return int(match.group(1)), int(month) if month else None


def start_quarter(date: object) -> str:
    """First operating quarter of a start date: a year → its Q1, a month or day → its quarter;
    ``""`` when there is no date. ValueError on a value that is not a normalised date."""
    parts = _parts(_text(date))
    if parts is None:
        return ""
    year, month = parts
    return format_quarter(year, 1 if month is None else (month - 1) // 3 + 1)


def end_quarter(date: object) -> str:
    """Last operating quarter of an idled or retired date: a year → its Q4, a month or day →
    its quarter; ``""`` when there is no date."""
    parts = _parts(_text(date))
    if parts is None:
        return ""
    year, month = parts
    return format_quarter(year, 4 if month is None else (month - 1) // 3 + 1)


def unit_periods(units: pd.DataFrame) -> pd.DataFrame:
    """``units`` (:data:`UNIT_COLUMNS`) with ``op_from``, ``op_to``, ``ever_operated`` and
    ``dates_caveat`` per unit (rules in the module docstring)."""
    rows = []
    for unit in units.itertuples(index=False):
        status = _text(unit.status).lower()
        start = start_quarter(unit.start_date)
        ends = [q for q in (end_quarter(unit.idled_date), end_quarter(unit.retired_date)) if q]
        if status in NEVER_OPERATED:
            rows.append(("", "", False, ""))
            continue
        end = "" if status in RUNNING or not ends else min(ends)
        if start and end and end < start:
            end = start  # ended the quarter it started
        if not start and not ends and status not in RUNNING | STOPPED:
            caveat = "no_dates"
        elif not start:
            caveat = "no_start"
        elif not end and status in STOPPED:
            caveat = "no_end"
        else:
            caveat = ""
        rows.append((start, end, True, caveat))
    periods = pd.DataFrame(rows, columns=PERIOD_COLUMNS[1:], index=units.index)
    periods["ever_operated"] = periods["ever_operated"].astype(bool)
    return pd.concat([units, periods], axis=1)


def plant_periods(units: pd.DataFrame) -> pd.DataFrame:
    """One row per plant of ``units``: the hull of its operated units' periods
    (:data:`PERIOD_COLUMNS`). ``op_from`` is empty when a unit's start is unknown, ``op_to``
    when a unit still operates (or its end is unknown); ``dates_caveat`` is ``no_dates`` when
    no operated unit has a date or status, else ``no_start`` when the start is unknown, else
    ``no_end`` when a stopped unit's end is unknown. Plants none of whose units operated have
    ``ever_operated`` False and empty periods."""
    per_unit = unit_periods(units)
    rows = []
    for enterprise_id, group in per_unit.groupby("enterprise_id", sort=True):
        ran = group[group["ever_operated"]]
        if ran.empty:
            rows.append((enterprise_id, "", "", False, ""))
            continue
        starts, ends, caveats = ran["op_from"], ran["op_to"], set(ran["dates_caveat"])
        op_from = "" if (starts == "").any() else str(starts.min())
        op_to = "" if (ends == "").any() else str(ends.max())
        if caveats == {"no_dates"}:
            caveat = "no_dates"
        elif not op_from:
            caveat = "no_start"
        elif not op_to and "no_end" in caveats:
            caveat = "no_end"
        else:
            caveat = ""
        rows.append((enterprise_id, op_from, op_to, True, caveat))
    periods = pd.DataFrame(rows, columns=PERIOD_COLUMNS)
    periods["ever_operated"] = periods["ever_operated"].astype(bool)
    return periods


def operating_in(units: pd.DataFrame, quarters: Sequence[str]) -> pd.DataFrame:
    """One row per plant of ``units`` × quarter (:data:`OPERATING_COLUMNS`): ``operating`` when
    one of its units operated in the quarter, ``capacity_operating`` the summed capacity of the
    units operating (coal units sum MW; NaN when operating units have no capacity, 0 when
    none operates). A plant's units are assumed to share one capacity unit."""
    per_unit = unit_periods(units)
    labels = np.asarray(list(quarters), dtype=object)
    if per_unit.empty or not len(labels):
        return pd.DataFrame(columns=OPERATING_COLUMNS)
    start = per_unit["op_from"].to_numpy(dtype=object)[:, None]
    end = per_unit["op_to"].to_numpy(dtype=object)[:, None]
    on = (per_unit["ever_operated"].to_numpy()[:, None]
          & ((start == "") | (start <= labels[None, :]))
          & ((end == "") | (labels[None, :] <= end)))
    capacity = pd.to_numeric(per_unit["capacity"], errors="coerce").to_numpy(np.float64)
    long = pd.DataFrame({
        "enterprise_id": np.repeat(per_unit["enterprise_id"].to_numpy(), len(labels)),
        "quarter": np.tile(labels, len(per_unit)),
        "operating": on.ravel(),
        "capacity": np.where(on, capacity[:, None], np.nan).ravel(),
    })
    grouped = long.groupby(["enterprise_id", "quarter"], sort=True)
    out = grouped.agg(operating=("operating", "any"),
                      capacity_operating=("capacity", lambda c: c.sum(min_count=1)))
    out = out.reset_index()
    out.loc[~out["operating"], "capacity_operating"] = 0.0
    out["operating"] = out["operating"].astype(bool)
    return out[OPERATING_COLUMNS]


def complete_units(layer: pd.DataFrame, units: pd.DataFrame | None) -> pd.DataFrame:
    """``units`` plus one unit per plant of ``layer`` that has none (the plant itself,
    :func:`lantian.geo.trackers.plant_units`), so every plant has a period; only units of the
    layer's plants are kept."""
    ids = set(layer["id"].astype(str))
    given = (units[units["enterprise_id"].isin(ids)][UNIT_COLUMNS] if units is not None
             else pd.DataFrame(columns=UNIT_COLUMNS))
    missing = layer[~layer["id"].astype(str).isin(set(given["enterprise_id"]))]
    parts = [p for p in (given, plant_units(missing)[UNIT_COLUMNS]) if len(p)]
    if not parts:
        return pd.DataFrame(columns=UNIT_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def with_periods(layer: pd.DataFrame, units: pd.DataFrame | None) -> pd.DataFrame:
    """``layer`` with ``op_from``, ``op_to``, ``ever_operated`` and ``dates_caveat`` from its
    units (plants without units: from their own status and dates)."""
    periods = plant_periods(complete_units(layer, units)).set_index("enterprise_id")
    ids = layer["id"].astype(str)
    out = layer.drop(columns=[c for c in PERIOD_COLUMNS[1:] if c in layer.columns])
    return out.assign(
        op_from=ids.map(periods["op_from"]).fillna("").to_numpy(),
        op_to=ids.map(periods["op_to"]).fillna("").to_numpy(),
        ever_operated=ids.map(periods["ever_operated"]).fillna(True).astype(bool).to_numpy(),
        dates_caveat=ids.map(periods["dates_caveat"]).fillna("no_dates").to_numpy(),
    )
