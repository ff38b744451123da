"""Per enterprise and quarter: violations, output change, PM2.5 nearby and the combined flag.

Violations count records of both kinds (cited findings and computed CEMS exceedances; the
facility card tells them apart). The output change of a quarter comes from the finest
enterprise-level output record whose period overlaps it (a month before a quarter before a
year), so ``2018-10 vs 2017-10`` stands for 2018Q4 and says so in ``output_basis``.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from .operating import complete_units, operating_in
from .periods import format_quarter, parse_quarter, previous_quarter

FACT_COLUMNS = [
    "id", "quarter", "operating", "capacity_operating", "violations", "violations_12m",
    "latest_finding_date", "latest_finding", "output_change_pct", "output_direction",
    "output_basis", "pm25_5km", "pm25_10km", "cited_and_output_up",
]  # fmt: skip
# Plant attributes of the tiles (see plant_tile_properties).
PLANT_TILE_COLUMNS = ["opf", "opt", "ever", "caveat", "coking", "status"]
RADII_KM = (5.0, 10.0)
EARTH_RADIUS_KM = 6371.0088
_PERIOD_RANK = {"month": 0, "months": 1, "quarter": 2, "year": 3}


def quarter_range(first: str, last: str) -> list[str]:
    """Every quarter from ``first`` to ``last`` inclusive."""
    year, q = parse_quarter(first)
    end = parse_quarter(last)
    quarters: list[str] = []
    while (year, q) <= end:
        quarters.append(format_quarter(year, q))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return quarters


def build_timeline(
    grid_quarters: Sequence[str], record_quarters: Sequence[str], lookback: int = 4
) -> list[str]:
    """The grid quarters plus earlier record quarters up to ``lookback`` quarters before the
    first grid quarter (and any later ones), filled to a contiguous range."""
    if not grid_quarters:
        return sorted(set(record_quarters))
    first, last = min(grid_quarters), max(grid_quarters)
    earliest = first
    for _ in range(lookback):
        earliest = previous_quarter(earliest)
    kept = [q for q in record_quarters if q >= earliest]
    return quarter_range(min([first, *kept]), max([last, *kept]))


def trailing(quarter: str, n: int = 4) -> list[str]:
    """``quarter`` and the ``n - 1`` quarters before it."""
    quarters = [quarter]
    while len(quarters) < n:
        quarters.append(previous_quarter(quarters[-1]))
    return quarters


def quarter_bounds(quarter: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of ``quarter``."""
    year, q = parse_quarter(quarter)
    start = pd.Timestamp(year=year, month=3 * q - 2, day=1)
    return start, start + pd.offsets.QuarterEnd(0)


def violation_facts(violations: pd.DataFrame, ids: Sequence[str], timeline: Sequence[str]) -> (
        pd.DataFrame):
    """``violations``, ``violations_12m`` and the latest finding per (id, quarter)."""
    attached = violations[violations["enterprise_id"].isin(set(ids))]
    counts = attached.groupby(["enterprise_id", "quarter"]).size()
    latest = attached.sort_values(["date", "record_id"]).groupby("enterprise_id")
    rows = []
    for enterprise_id, group in latest:
        dated = group[["quarter", "date", "finding"]].to_numpy()
        for quarter in timeline:
            n = int(counts.get((enterprise_id, quarter), 0))
            n12 = sum(int(counts.get((enterprise_id, q), 0)) for q in trailing(quarter))
            before = dated[dated[:, 0] <= quarter]
            date, finding = (before[-1, 1], before[-1, 2]) if len(before) else ("", "")
            rows.append((enterprise_id, quarter, n, n12, date, finding))
    return pd.DataFrame(rows, columns=["id", "quarter", "violations", "violations_12m",
                                       "latest_finding_date", "latest_finding"])


def output_facts(output: pd.DataFrame, ids: Sequence[str], timeline: Sequence[str]) -> (
        pd.DataFrame):
    """Output change per (id, quarter) from the finest enterprise record covering it."""
    own = output[(output["level"] == "enterprise") & output["enterprise_id"].isin(set(ids))]
    own = own.assign(rank=own["period_type"].map(_PERIOD_RANK),
                     start=pd.to_datetime(own["period_start"]),
                     end=pd.to_datetime(own["period_end"]))
    rows = []
    for quarter in timeline:
        q_start, q_end = quarter_bounds(quarter)
        covering = own[(own["start"] <= q_end) & (own["end"] >= q_start)]
        best = covering.sort_values(["rank", "end"], ascending=[True, False]).groupby(
            "enterprise_id").head(1)
        for r in best.itertuples():
            compared = r.compared_with or "a year before"
            basis = f"{r.period} vs {compared} ({r.direction_basis or 'no figure'})"
            rows.append((r.enterprise_id, quarter, r.change_pct, r.direction, basis))
    return pd.DataFrame(rows, columns=["id", "quarter", "output_change_pct", "output_direction",
                                       "output_basis"])


def pm25_near(
    lon: npt.ArrayLike, lat: npt.ArrayLike, grid: xr.Dataset, radius_km: float,
    chunk: int = 20_000,
) -> npt.NDArray[np.float64]:
    """Mean ``pm25`` of the grid cells whose centres lie within ``radius_km`` of each point
    (NaN where none has data). Points are processed in chunks against a fixed stencil of cell
    offsets, so the cost grows with the number of points, not the grid size."""
    lons = np.asarray(grid["lon"].to_numpy(), np.float64)
    lats = np.asarray(grid["lat"].to_numpy(), np.float64)
    values = np.asarray(grid["pm25"].to_numpy(), np.float64)
    if lats[0] < lats[-1]:
        lats, values = lats[::-1], values[::-1]
    res = abs(float(lons[1] - lons[0]))
    plon, plat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    out = np.full(plon.shape, np.nan)
    if plon.size == 0:
        return out
    half_rows = int(np.ceil(radius_km / (np.radians(res) * EARTH_RADIUS_KM))) + 1
    widest = np.cos(np.radians(min(float(np.nanmax(np.abs(plat))) + res * half_rows, 89.0)))
    half_cols = int(np.ceil(half_rows / max(widest, 1e-3)))
    d_row, d_col = np.mgrid[-half_rows:half_rows + 1, -half_cols:half_cols + 1]
    d_row, d_col = d_row.ravel(), d_col.ravel()
    for start in range(0, plon.size, chunk):
        sl = slice(start, start + chunk)
        row0 = np.floor((lats[0] + res / 2 - plat[sl]) / res).astype(np.int64)
        col0 = np.floor((plon[sl] - (lons[0] - res / 2)) / res).astype(np.int64)
        rows = row0[:, None] + d_row[None, :]
        cols = col0[:, None] + d_col[None, :]
        inside = (rows >= 0) & (rows < lats.size) & (cols >= 0) & (cols < lons.size)
        r, c = np.clip(rows, 0, lats.size - 1), np.clip(cols, 0, lons.size - 1)
        cell = np.where(inside, values[r, c], np.nan)
        near = _haversine_km(plon[sl, None], plat[sl, None], lons[c], lats[r]) <= radius_km
        cell = np.where(near & inside, cell, np.nan)
        counts = np.sum(np.isfinite(cell), axis=1)
        sums = np.nansum(cell, axis=1)
        out[sl] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return out


def _haversine_km(lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike,
                  lat2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, np.float64))
                              for v in (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)), np.float64)


def pm25_facts(enterprises: pd.DataFrame, grids: Sequence[xr.Dataset]) -> pd.DataFrame:
    """``pm25_5km`` and ``pm25_10km`` per (id, quarter) for each grid quarter."""
    lon = enterprises.geometry.x.to_numpy()
    lat = enterprises.geometry.y.to_numpy()
    frames = [
        pd.DataFrame({
            "id": enterprises["id"].to_numpy(),
            "quarter": ds.attrs["quarter"],
            **{f"pm25_{r:g}km": np.round(pm25_near(lon, lat, ds, r), 1) for r in RADII_KM},
        })
        for ds in grids
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["id", "quarter", *(f"pm25_{r:g}km" for r in RADII_KM)])


def quarterly_facts(
    enterprises: pd.DataFrame,
    violations: pd.DataFrame,
    output: pd.DataFrame,
    grids: Sequence[xr.Dataset],
    timeline: Sequence[str],
    units: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per enterprise × timeline quarter it operated in, with every column of
    ``FACT_COLUMNS``: ``operating`` and ``capacity_operating`` from its ``units``
    (``layers.operating``; plants without units from their own status and dates, plants
    without either in every quarter)."""
    ids = enterprises["id"].tolist()
    running = operating_in(complete_units(enterprises, units), timeline).rename(
        columns={"enterprise_id": "id"})
    order = {enterprise_id: i for i, enterprise_id in enumerate(ids)}
    frame = running[running["operating"]].sort_values(
        ["id", "quarter"], key=lambda c: c.map(order) if c.name == "id" else c, kind="stable")
    frame = frame.reset_index(drop=True)
    for part in (violation_facts(violations, ids, timeline), output_facts(output, ids, timeline),
                 pm25_facts(enterprises, grids)):
        frame = frame.merge(part, on=["id", "quarter"], how="left")
    for column in ("violations", "violations_12m"):
        frame[column] = frame[column].fillna(0).astype(int)
    for column in ("latest_finding_date", "latest_finding", "output_direction", "output_basis"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["operating"] = frame["operating"].astype(bool)
    frame["capacity_operating"] = pd.to_numeric(frame["capacity_operating"], errors="coerce")
    frame["output_change_pct"] = pd.to_numeric(frame["output_change_pct"], errors="coerce")
    frame["cited_and_output_up"] = (frame["violations_12m"] > 0) & (
        frame["output_direction"] == "up")
    return frame[FACT_COLUMNS]


def tile_properties(facts: pd.DataFrame) -> pd.DataFrame:
    """Flat per-quarter tile attributes (``v_Q, v12_Q, out_Q, up_Q, flag_Q``) by enterprise id;
    zero and unknown values are left out (NaN) to keep tiles small (the plants' own: see
    :func:`tile_layer`)."""
    direction = facts["output_direction"].map({"up": 1, "down": -1, "flat": 0})
    long = pd.DataFrame({
        "id": facts["id"], "quarter": facts["quarter"],
        "v": facts["violations"].where(facts["violations"] > 0),
        "v12": facts["violations_12m"].where(facts["violations_12m"] > 0),
        "out": facts["output_change_pct"],
        "up": direction,
        "flag": facts["cited_and_output_up"].astype(int).where(facts["cited_and_output_up"]),
    })
    wide = long.pivot(index="id", columns="quarter")
    wide.columns = [f"{name}_{quarter}" for name, quarter in wide.columns]
    return wide.dropna(axis=1, how="all")


def tile_layer(plants: gpd.GeoDataFrame, quarter_fields: pd.DataFrame) -> tuple[
        gpd.GeoDataFrame, list[str]]:
    """The plants with their :func:`plant_tile_properties` (which replace the plants' own
    ``status`` and ``coking``) and the per-quarter ``quarter_fields`` (:func:`tile_properties`
    of the facts, by id), and the names of the added tile fields."""
    own = plant_tile_properties(plants)
    quarterly = quarter_fields.drop(columns=[c for c in own.columns if c in quarter_fields])
    added = own.join(quarterly, how="left")
    kept = plants.drop(columns=[c for c in added.columns if c in plants.columns])
    ids = kept["id"].astype(str)
    tiled = kept.assign(**{c: ids.map(added[c]).to_numpy() for c in added.columns})
    return gpd.GeoDataFrame(tiled, crs=plants.crs), list(added.columns)


def quarter_number(label: object) -> float:
    """``"2003Q1"`` → 20031 (``year * 10 + q``); NaN for an empty label."""
    if not isinstance(label, str) or not label:
        return float("nan")
    year, q = parse_quarter(label)
    return float(year * 10 + q)


def plant_tile_properties(plants: pd.DataFrame) -> pd.DataFrame:
    """Per plant (indexed by id): ``opf``/``opt`` first and last operating quarter as
    ``year * 10 + q`` (NaN: unknown start / still operating), ``ever`` (1 operated or unknown,
    0 never), ``caveat`` (``no_dates``, ``no_start``, ``no_end``; None when dates are known),
    ``coking`` (1, else NaN) and ``status`` (None when unknown). Columns the plants lack
    (``op_from``, ``op_to``, ``ever_operated``, ``dates_caveat``, ``coking``, ``status``) are
    unknown: such plants are shown in every period."""
    def column(name: str) -> pd.Series:
        return (plants[name] if name in plants.columns
                else pd.Series([None] * len(plants), index=plants.index, dtype=object))

    def text(name: str) -> list[str | None]:
        return [v.strip() or None if isinstance(v, str) else None for v in column(name)]

    ever = column("ever_operated").map(lambda v: 1 if pd.isna(v) or bool(v) else 0)
    coking = pd.to_numeric(column("coking"), errors="coerce")
    out = pd.DataFrame({
        "opf": column("op_from").map(quarter_number).astype("float64").to_numpy(),
        "opt": column("op_to").map(quarter_number).astype("float64").to_numpy(),
        "ever": ever.astype(int).to_numpy(),
        "caveat": text("dates_caveat"),
        "coking": np.where(coking.fillna(0).astype(float) > 0, 1.0, np.nan),
        "status": [s.lower() if s else None for s in text("status")],
    }, index=pd.Index(plants["id"].astype(str), name="id"))
    return out[PLANT_TILE_COLUMNS]
