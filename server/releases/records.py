"""Violation and output records, the match report and per-quarter facts, loaded once."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import numpy as np
import numpy.typing as npt

from ...geo.gazetteer import PROVINCES_EN, short_name
from ..errors import ReleaseUnavailableError, reason

Row = Mapping[str, Any]

VIOLATIONS_PATH = "records/violations.csv"
OUTPUT_PATH = "records/output.csv"
MATCH_REPORT_PATH = "records/match_report.csv"
FACTS_PATHS = ("enterprises/enterprise_quarters.parquet", "enterprises/enterprise_quarters.csv")
UNITS_PATHS = ("enterprises/units.parquet", "enterprises/units.csv")
PM25_SOURCE = "cnemc"  # manifest source id of the PM2.5 grids
RECORDS_SOURCE = "ipe"  # manifest source id of the cited violation and output records

VIOLATION_FIELDS = (
    "record_id", "kind", "date", "date_precision", "quarter", "authority", "finding", "category",
    "penalty", "source_url", "source", "match_status", "match_score",
)  # fmt: skip
OUTPUT_FIELDS = (
    "record_id", "product", "period", "period_type", "compared_with", "change_pct", "value",
    "unit", "direction", "direction_basis", "note", "source",
)  # fmt: skip
FACT_FIELDS = (
    "quarter", "operating", "capacity_operating", "violations", "violations_12m",
    "latest_finding_date", "latest_finding",
    "output_change_pct", "output_direction", "output_basis", "pm25_5km", "pm25_10km",
    "cited_and_output_up",
)  # fmt: skip
CARD_QUARTER_FIELDS = (
    "quarter", "operating", "capacity_operating", "violations", "violations_12m",
    "output_change_pct", "output_direction", "output_basis", "pm25_5km", "pm25_10km",
    "cited_and_output_up",
)  # fmt: skip
MATCH_FIELDS = (
    "record_id", "record_kind", "name", "province", "city", "status", "enterprise_id", "score",
    "candidates", "reason",
)  # fmt: skip
IDENTITY_FIELDS = (
    "name", "name_zh", "name_en", "industry", "capacity", "capacity_unit", "owner", "owner_zh",
    "data_source", "status", "coking", "coking_capacity", "products",
)  # fmt: skip
OPERATION_FIELDS = (
    "status", "start_date", "idled_date", "retired_date", "op_from", "op_to", "ever_operated",
    "dates_caveat",
)  # fmt: skip
# Manifest source of an id prefix other than the source's own id: ``gspt:`` ids are the Global
# Steel Plant Tracker's (source ``gem``); ``gem:`` ids are the GEM tracker of the plant's
# industry when the release lists it (else ``gem``, as in releases of the steel tracker only).
SOURCE_OF_PREFIX: Mapping[str, str] = MappingProxyType({"gspt": "gem"})
GEM_TRACKERS: Mapping[str, str] = MappingProxyType({
    "steel": "gist", "cement": "gcct", "coal_power": "gcpt", "chemical": "gci", "coking": "gci",
})  # fmt: skip
LOCATION_FIELDS = (
    "province", "city", "city_en", "county", "geocode_source", "geocode_precision",
    "coordinate_accuracy", "source_datum",
)  # fmt: skip


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(value != value)  # NaN, pandas NA
    except (TypeError, ValueError):
        return False


def _number(value: Any) -> float | None:
    if _blank(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int:
    return 0 if _blank(value) else int(float(value))


def _boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return not _blank(value) and bool(value)


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value)


def _optional_boolean(value: Any) -> bool | None:
    """A boolean; None when missing (facts from before ``operating``: unknown)."""
    return None if _blank(value) else _boolean(value)


def _candidates(value: Any) -> tuple[Row, ...]:
    parsed = [] if _blank(value) else json.loads(str(value))
    if not isinstance(parsed, list) or not all(isinstance(c, dict) for c in parsed):
        raise ValueError("candidates must be a JSON list of objects")
    return tuple(MappingProxyType(c) for c in parsed)


CONVERTERS: Mapping[str, Callable[[Any], Any]] = {
    "match_score": _number, "score": _number, "change_pct": _number, "value": _number,
    "output_change_pct": _number, "pm25_5km": _number, "pm25_10km": _number,
    "violations": _integer, "violations_12m": _integer, "cited_and_output_up": _boolean,
    "operating": _optional_boolean, "capacity_operating": _number,
    "candidates": _candidates,
}  # fmt: skip


def _row(raw: Mapping[str, Any], fields: Iterable[str]) -> Row:
    """``fields`` of ``raw`` as JSON-ready values (missing or empty text → None)."""
    return MappingProxyType({f: CONVERTERS.get(f, _text)(raw.get(f)) for f in fields})


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV (all values as text) or Parquet file."""
    import pandas as pd

    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return frame.to_dict(orient="records")


@dataclass(frozen=True)
class Records:
    """Records attached to enterprises, plus arrays aligned with the enterprise features."""

    violations: Mapping[str, tuple[Row, ...]]  # enterprise id → newest first
    output: Mapping[str, tuple[Row, ...]]  # enterprise id → newest first
    regional_output: Mapping[str, tuple[Row, ...]]  # province_key → newest first
    facts: Mapping[str, Mapping[str, Row]]  # enterprise id → quarter → facts
    units: Mapping[str, int] | None  # enterprise id → units; None: the release has no units
    match_report: tuple[Row, ...]
    counts: npt.NDArray[np.int64]  # violation records per enterprise
    any_output_up: npt.NDArray[np.bool_]  # any output record of the enterprise going up
    violations_12m: npt.NDArray[np.int64]  # (timeline quarter, enterprise)
    output_up: npt.NDArray[np.bool_]  # (timeline quarter, enterprise)


def province_key(name: str) -> str:
    """One key per province however written: Hebei, 河北省 and 河北 → 河北."""
    text = name.strip()
    return short_name(PROVINCES_EN.get(text.lower(), text)) if text else ""


def _grouped(
    rows: Iterable[Mapping[str, Any]],
    key: Callable[[str], str],
    column: str,
    order: str,
    fields: Sequence[str],
) -> Mapping[str, tuple[Row, ...]]:
    """``{key(row[column]): rows newest first by (row[order], record_id)}``; no empty keys."""
    groups: dict[str, list[tuple[str, str, Row]]] = {}
    for raw in rows:
        if group := key(str(raw.get(column) or "")):
            item = (str(raw.get(order) or ""), str(raw.get("record_id") or ""), _row(raw, fields))
            groups.setdefault(group, []).append(item)
    return MappingProxyType(
        {
            group: tuple(item[2] for item in sorted(items, key=lambda t: t[:2], reverse=True))
            for group, items in groups.items()
        }
    )


def _facts(rows: Iterable[Mapping[str, Any]]) -> Mapping[str, Mapping[str, Row]]:
    by_id: dict[str, dict[str, Row]] = {}
    for raw in rows:
        by_id.setdefault(str(raw["id"]), {})[str(raw["quarter"])] = _row(raw, FACT_FIELDS)
    return MappingProxyType({k: MappingProxyType(v) for k, v in by_id.items()})


def _table(root: Path, files: Iterable[str], candidates: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of the first of ``candidates`` listed in the manifest, else no rows."""
    listed = set(files)
    for relative in candidates:
        if relative in listed:
            try:
                return read_rows(root / relative)
            except (OSError, ValueError, KeyError) as e:
                raise ReleaseUnavailableError(f"cannot read {relative}: {reason(e)}") from e
    return []


def _unit_counts(root: Path, files: Sequence[str]) -> Mapping[str, int] | None:
    """Units per enterprise from ``enterprises/units.*``; None when the release has none."""
    if not set(UNITS_PATHS) & set(files):
        return None
    counts: dict[str, int] = {}
    for row in _table(root, files, UNITS_PATHS):
        key = str(row["enterprise_id"]).strip()
        counts[key] = counts.get(key, 0) + 1
    return MappingProxyType(counts)


def source_ids(props: Mapping[str, Any], enterprise_id: str, sources: Sequence[Row]) -> list[
        dict[str, Any]]:
    """Every source id of a plant (``source_ids``, ``;``-joined; else its own id) with the
    attribution and URL of the manifest source it comes from (:data:`SOURCE_OF_PREFIX`,
    :data:`GEM_TRACKERS`)."""
    ids = [i.strip() for i in str(props.get("source_ids") or "").split(";") if i.strip()]
    by_id = {str(s.get("id")): s for s in sources}
    tracker = GEM_TRACKERS.get(str(props.get("industry") or ""), "gem")
    out = []
    for one in ids or [enterprise_id]:
        prefix = one.partition(":")[0]
        source = SOURCE_OF_PREFIX.get(prefix, prefix)
        if source == "gem" and prefix == "gem" and tracker in by_id:
            source = tracker
        found = by_id.get(source, {})
        out.append({"id": one, "source": source, "attribution": found.get("attribution"),
                    "url": found.get("url")})
    return out


def load_records(
    root: Path, files: Iterable[str], ids: Sequence[str], timeline: Sequence[str]
) -> Records:
    """Read the record tables of a release; arrays follow the order of ``ids``."""
    files = tuple(files)
    violations = _table(root, files, (VIOLATIONS_PATH,))
    output = _table(root, files, (OUTPUT_PATH,))
    try:
        report = tuple(_row(r, MATCH_FIELDS) for r in _table(root, files, (MATCH_REPORT_PATH,)))
        facts = _facts(_table(root, files, FACTS_PATHS))
        units = _unit_counts(root, files)
        by_violation = _grouped(violations, str.strip, "enterprise_id", "date", VIOLATION_FIELDS)
        plants = [r for r in output if (r.get("level") or "enterprise") == "enterprise"]
        by_output = _grouped(plants, str.strip, "enterprise_id", "period_start", OUTPUT_FIELDS)
        provinces = [r for r in output if r.get("level") == "province"]
        regional = _grouped(provinces, province_key, "province", "period_start", OUTPUT_FIELDS)
    except (ValueError, KeyError, TypeError) as e:
        raise ReleaseUnavailableError(f"invalid records: {e}") from e

    def cell(enterprise_id: str, quarter: str, name: str) -> Any:
        return facts.get(enterprise_id, {}).get(quarter, {}).get(name)

    shape = (len(timeline), len(ids))
    return Records(
        violations=by_violation,
        output=by_output,
        regional_output=regional,
        facts=facts,
        units=units,
        match_report=report,
        counts=np.array([len(by_violation.get(i, ())) for i in ids], dtype=np.int64),
        any_output_up=np.array(
            [any(r["direction"] == "up" for r in by_output.get(i, ())) for i in ids], dtype=bool
        ),
        violations_12m=np.array(
            [[cell(i, q, "violations_12m") or 0 for i in ids] for q in timeline], dtype=np.int64
        ).reshape(shape),
        output_up=np.array(
            [[cell(i, q, "output_direction") == "up" for i in ids] for q in timeline], dtype=bool
        ).reshape(shape),
    )


def facility_card(
    feature: Row,
    records: Records,
    timeline: Sequence[str],
    pm25_source: str | None,
    sources: Sequence[Row],
) -> dict[str, Any]:
    """The facility card of one enterprise (docs/architecture.md, HTTP additions)."""
    props = feature["properties"]
    enterprise_id = str(feature["id"])
    lon, lat = feature["geometry"]["coordinates"]
    approximate = (
        props.get("geocode_precision") != "point"
        or props.get("coordinate_accuracy") == "approximate"
    )
    province = province_key(str(props.get("province") or ""))
    violations = [dict(r) for r in records.violations.get(enterprise_id, ())]
    output = [dict(r) for r in records.output.get(enterprise_id, ())]
    regional = [dict(r) for r in records.regional_output.get(province, ())]
    facts = records.facts.get(enterprise_id, {})
    quarters = []
    for quarter in timeline:
        if quarter in facts:
            row = {f: facts[quarter][f] for f in CARD_QUARTER_FIELDS}
            has_pm25 = row["pm25_5km"] is not None or row["pm25_10km"] is not None
            quarters.append(row | {"pm25_source": pm25_source if has_pm25 else None})
    ids = source_ids(props, enterprise_id, sources)
    wanted = {i["source"] for i in ids}
    if violations or output or regional:
        wanted.add(RECORDS_SOURCE)
    if any(q["pm25_source"] for q in quarters):
        wanted.add(PM25_SOURCE)
    return {
        "id": enterprise_id,
        "identity": {f: props.get(f) for f in IDENTITY_FIELDS}
        | {f: _text(props.get(f)) for f in ("status", "owner_zh", "products")},
        "location": {"lon": lon, "lat": lat}
        | {f: props.get(f) for f in LOCATION_FIELDS}
        | {"approximate": approximate},
        "operation": {f: None if _blank(props.get(f)) else props.get(f)
                      for f in OPERATION_FIELDS} | {
            "units": None if records.units is None else records.units.get(enterprise_id, 0),
            "capacity_unit": props.get("capacity_unit"),
        },
        "source_ids": ids,
        "violations": violations,
        "output": output,
        "regional_output": regional,
        "quarters": quarters,
        "sources": [
            {"id": s.get("id"), "attribution": s.get("attribution"), "url": s.get("url")}
            for s in sources
            if s.get("id") in wanted
        ],
        "permalink": f"/#plant={quote(enterprise_id, safe=':')}",
    }
