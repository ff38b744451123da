"""Enterprises made from records that match no plant: placed at their admin unit, approximate.

A record the matcher left ``unmatched`` with ``place_new`` (no candidate came close, or an
override said ``new``) becomes an enterprise of its own at the representative point of the
province, city or county it names. Records naming the same enterprise share one. A record whose
place the gazetteer cannot find stays unmatched, and the report says why.
"""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
from pypinyin import lazy_pinyin

from .enterprises import COLUMNS
from .gazetteer import Gazetteer

NEW_STATUS = "new_enterprise"


def slug(name: str) -> str:
    """A lowercase ASCII id part: ``Fengda Coking Smelt`` → ``fengda-coking-smelt``,
    ``山西鑫升焦化`` → ``shanxi-xin-sheng-jiao-hua``."""
    words = lazy_pinyin(name.strip().lower())
    text = "-".join(w.strip() for w in words if w.strip())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unnamed"


def _key(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.lower())


def place_unmatched(
    records: pd.DataFrame,
    matches: pd.DataFrame,
    gazetteer: Gazetteer,
    taken_ids: set[str],
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """New approximate enterprises for the ``place_new`` matches, and the matches updated:
    placed ones get status ``new_enterprise`` and the new id.

    ``records`` has ``record_id, name, province, city, industry, source``."""
    matches = matches.copy()
    # astype(bool): an empty match table has an object column, which ``[]`` would read as labels
    wanted = matches[matches["place_new"].astype(bool)].merge(
        records[["record_id", "industry", "source"]], on="record_id", how="left")
    rows: list[dict[str, object]] = []
    points: list[tuple[float, float]] = []
    placed: dict[tuple[str, str, str], str] = {}
    for r in wanted.itertuples():
        key = (_key(str(r.name)), str(r.province), str(r.city))
        if key not in placed:
            found = gazetteer.locate(province=str(r.province) or None, city=str(r.city) or None)
            if found is None:
                _note(matches, r.record_id, "; its province/city could not be placed either")
                continue
            new_id = _unique(f"rec:{slug(str(r.name))}", taken_ids)
            taken_ids.add(new_id)
            placed[key] = new_id
            latin = bool(re.search(r"[A-Za-z]", str(r.name)))
            rows.append({
                "id": new_id, "name": r.name, "name_zh": "" if latin else r.name,
                "name_en": r.name if latin else "", "industry": r.industry or "unknown",
                "capacity": float("nan"), "capacity_unit": "", "owner": "",
                "province": r.province, "city": r.city, "county": "", "address": "",
                "geocode_source": "gazetteer", "geocode_precision": found.precision,
                "coordinate_accuracy": "approximate", "source_datum": found.source_datum.value,
                "data_source": r.source, "status": "", "start_date": "", "idled_date": "",
                "retired_date": "", "owner_zh": "", "coking_capacity": float("nan"),
                "coking": int(r.industry == "coking"), "products": "", "source_ids": new_id,
            })
            points.append((found.lon, found.lat))
            reason = (f"; placed as a new enterprise at the {found.precision} point of "
                      f"{found.name} (approximate location)")
        else:
            reason = "; attached to the enterprise placed for an earlier record of this name"
        index = matches.index[matches["record_id"] == r.record_id]
        matches.loc[index, ["status", "enterprise_id"]] = [NEW_STATUS, placed[key]]
        _note(matches, r.record_id, reason)
    layer = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=COLUMNS),
        geometry=gpd.points_from_xy([p[0] for p in points], [p[1] for p in points]),
        crs="EPSG:4326",
    )
    return layer, matches


def _unique(candidate: str, taken: set[str]) -> str:
    number, found = 1, candidate
    while found in taken:
        number += 1
        found = f"{candidate}-{number}"
    return found


def _note(matches: pd.DataFrame, record_id: str, text: str) -> None:
    index = matches.index[matches["record_id"] == record_id]
    matches.loc[index, "reason"] = matches.loc[index, "reason"].astype(str) + text
