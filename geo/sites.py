"""One plant per site: rows of several trackers that describe the same plant become one.

Sources are given in order of precedence, the most detailed first (GIST before GSPT, GCPT
before WRI): a merged site keeps the attributes, point and id of its row from the earliest
source (its *primary*), fills that row's empty descriptive fields (names, owner, places,
address, products, coking capacity) from the rows merged into it, and joins every row's
``source_ids`` and ``data_source``. Units come from the primary's source only, so no capacity
is counted twice. Rows of one source are never merged with each other.

1. Same id. A row whose ``id`` or any of its ``source_ids`` is already held by a site of an
   earlier source joins that site (GIST and GSPT share GEM's Plant ID; a WRI row that cites
   its GCPT location, ``gem:L…`` in its source ids, joins that GCPT plant). Score 1.
2. Same site by score. Sites of the same ``industry`` from disjoint sources within
   ``max_km`` are scored

       0.75 · name + 0.25 · (1 − distance / max_km) + 0.05 when the owners agree (≥ 0.8)

   clipped to 1, where name is the matcher's name similarity (``matching.name_similarity``;
   the later row's Chinese and English names against the site's, "station" dropped as it
   is in every GCPT name). Owners only add: trackers write them differently (an operator,
   its parent), so disagreeing owners are listed in the reason but cost nothing. Pairs are
   taken best first; a row joins at most one site, and a site may absorb several rows of a
   later source (WRI lists some plants' phases as plants of their own, GCPT as units of one
   location), never a row of its own source. ≥ ``accept`` → ``merged``; a row left unmerged
   whose best pair scores ≥ ``review`` is listed as a ``near_miss``.

Calibration: 851 WRI coal rows cite their GCPT location; with these weights 787 of them
merge with that location by score alone, 4 with a co-sited plant of the same name, and no
pair scored below 0.6 was a true one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from .gazetteer import Gazetteer
from .matching import name_similarity

SITE_REPORT_COLUMNS = ["file", "row", "id", "name", "status", "reason", "score", "other_id",
                       "distance_km"]
NAME_WEIGHT = 0.75
DISTANCE_WEIGHT = 0.25
OWNER_BONUS = 0.05
OWNER_AGREES = 0.8
EARTH_RADIUS_KM = 6371.0088
# Empty fields of a site's primary row filled from the rows merged into it.
FILLED = ("name_zh", "name_en", "owner", "owner_zh", "province", "city", "county", "address",
          "products", "coking_capacity")
_STATION = re.compile(r"\bstation\b", re.IGNORECASE)


class PlantSource(Protocol):
    """One loader's result (``geo.trackers.PlantTable`` or alike)."""

    @property
    def layer(self) -> gpd.GeoDataFrame: ...

    @property
    def units(self) -> pd.DataFrame: ...


@dataclass(frozen=True)
class SiteOptions:
    """How far apart two rows may be, and the score thresholds of a merge and a near-miss."""

    max_km: float = 10.0
    accept: float = 0.85
    review: float = 0.6


@dataclass
class _Site:
    primary: int  # row position in the combined table
    sources: set[int]
    members: list[int]


def merge_sites(
    sources: Mapping[str, PlantSource],
    options: SiteOptions = SiteOptions(),
    gazetteer: Gazetteer | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """The plants of ``sources`` (file name → loader result, in order of precedence) as one
    layer with one row per site, the units of each site's primary, and a report
    (``SITE_REPORT_COLUMNS``) with a ``merged`` row for every row merged into another source's
    site and a ``near_miss`` row for every unmerged row whose best pair scored ≥ review."""
    files = list(sources)
    rows = _combined([sources[f].layer for f in files])
    sites, report = _same_id(rows, files)
    report += _by_score(rows, sites, files, options, gazetteer)
    layer = _site_layer(rows, sites)
    kept = [set(rows["id"].iloc[[s.primary for s in sites if rows["_source"].iat[s.primary] == k]])
            for k in range(len(files))]
    units = [u[u["enterprise_id"].isin(kept[k])] for k, u in
             enumerate(sources[f].units for f in files)]
    return (layer, pd.concat(units, ignore_index=True) if units else pd.DataFrame(),
            pd.DataFrame(report, columns=SITE_REPORT_COLUMNS))


def haversine_km(lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike,
                 lat2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Great-circle distances in km between WGS-84 points, element by element."""
    x1, y1, x2, y2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin((x2 - x1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)), dtype=float)


def _combined(layers: Sequence[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Every row of every layer, tagged with its source's position (``_source``), with
    ``source_ids`` (the row's own id where the loader gave none)."""
    parts = [layer.assign(_source=k) for k, layer in enumerate(layers)]
    rows = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326") if parts \
        else gpd.GeoDataFrame({"id": [], "_source": []}, geometry=[], crs="EPSG:4326")
    given = rows["source_ids"].fillna("").astype(str) if "source_ids" in rows else pd.Series(
        "", index=rows.index)
    return rows.assign(source_ids=given.where(given.str.strip() != "", rows["id"]))


def _tokens(source_ids: str) -> list[str]:
    return [t.strip() for t in source_ids.split(";") if t.strip()]


def _same_id(rows: gpd.GeoDataFrame, files: list[str]) -> tuple[list[_Site],
                                                                 list[dict[str, Any]]]:
    """Sites from rows in order, a row joining the earliest site of another source that
    holds one of its ids."""
    sites: list[_Site] = []
    holder: dict[str, list[int]] = {}  # id → sites holding it, oldest first
    report: list[dict[str, Any]] = []
    for i, (own, source, ids) in enumerate(zip(rows["id"], rows["_source"],
                                               rows["source_ids"], strict=True)):
        tokens = list(dict.fromkeys([str(own), *_tokens(str(ids))]))
        found = next(((t, s) for t in tokens for s in holder.get(t, [])
                      if source not in sites[s].sources), None)
        if found is None:
            sites.append(_Site(i, {source}, [i]))
            target = len(sites) - 1
        else:
            token, target = found
            site = sites[target]
            site.members.append(i)
            site.sources.add(source)
            reason = f"same GEM Plant ID ({token})" if token.startswith("gem:P") \
                else f"same source id ({token})"
            report.append(_report_row(rows, files, i, site.primary, "merged", 1.0, reason))
        for t in tokens:
            if target not in holder.setdefault(t, []):
                holder[t].append(target)
    return sites, report


@dataclass(frozen=True)
class _Pair:
    score: float
    primary: int  # site positions
    other: int
    distance_km: float
    reason: str


def _by_score(rows: gpd.GeoDataFrame, sites: list[_Site], files: list[str],
              options: SiteOptions, gazetteer: Gazetteer | None) -> list[dict[str, Any]]:
    """Merge sites of disjoint sources by score (best pair first), in place; report rows
    for the merges and the near-misses."""
    pairs = sorted(_pairs(rows, sites, options, gazetteer),
                   key=lambda p: (-p.score, p.primary, p.other))
    alive = [True] * len(sites)
    report: list[dict[str, Any]] = []
    best: dict[int, _Pair] = {}  # the best pair of each site that is the later one
    merged_into: dict[int, int] = {}
    for pair in pairs:
        best.setdefault(pair.other, pair)
        site, other = sites[pair.primary], sites[pair.other]
        if pair.score < options.accept or not (alive[pair.primary] and alive[pair.other]) \
                or min(other.sources) <= min(site.sources):
            continue
        alive[pair.other] = False
        merged_into[pair.other] = pair.primary
        site.members += other.members
        site.sources |= other.sources
        report += [_report_row(rows, files, m, site.primary, "merged", pair.score, pair.reason)
                   for m in other.members]
    for index, pair in sorted(best.items()):
        if not alive[index] or pair.score < options.review:
            continue
        why = [pair.reason]
        if pair.score < options.accept:
            why.append(f"below {options.accept:g}")
        elif pair.primary in merged_into:
            why.append(f"{rows['id'].iat[sites[pair.primary].primary]} merged into "
                       f"{rows['id'].iat[sites[merged_into[pair.primary]].primary]}")
        else:
            why.append(f"{rows['id'].iat[sites[pair.primary].primary]} took a better pair")
        report.append(_report_row(rows, files, sites[index].primary,
                                  sites[pair.primary].primary, "near_miss", pair.score,
                                  "; ".join(why)))
    sites[:] = [s for s, keep in zip(sites, alive, strict=True) if keep]
    return report


def _pairs(rows: gpd.GeoDataFrame, sites: list[_Site], options: SiteOptions,
           gazetteer: Gazetteer | None) -> Iterable[_Pair]:
    """Scored pairs of sites of one industry, of disjoint sources, within ``max_km``: the
    site of the earlier source first. Candidates come from an STRtree (a radius in degrees
    wide enough at every latitude up to 60°), then exact great-circle distances."""
    primary = np.asarray([s.primary for s in sites], dtype=np.intp)
    if len(primary) < 2:
        return
    points = rows.geometry.to_numpy()[primary]
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    radius = options.max_km / (np.pi * EARTH_RADIUS_KM / 180) / np.cos(np.radians(60))
    left, right = shapely.STRtree(points).query(points, predicate="dwithin", distance=radius)
    industry = rows["industry"].to_numpy()[primary]
    rank = [min(s.sources) for s in sites]
    keep = (left < right) & (industry[left] == industry[right])
    left, right = left[keep], right[keep]
    distance = haversine_km(lon[left], lat[left], lon[right], lat[right])
    for a, b, km in zip(left, right, distance, strict=True):
        if km > options.max_km or sites[a].sources & sites[b].sources:
            continue
        first, later = (a, b) if rank[a] <= rank[b] else (b, a)
        yield _scored(rows, primary[first], primary[later], int(first), int(later), float(km),
                      options, gazetteer)


def _scored(rows: gpd.GeoDataFrame, site_row: int, row: int, site: int, other: int, km: float,
            options: SiteOptions, gazetteer: Gazetteer | None) -> _Pair:
    names = name_similarity(_names(rows, row), _names(rows, site_row), gazetteer)
    owners_a, owners_b = _owners(rows, row), _owners(rows, site_row)
    owner = name_similarity(owners_a, owners_b, gazetteer) if owners_a and owners_b else None
    score = NAME_WEIGHT * names + DISTANCE_WEIGHT * (1 - km / options.max_km)
    reasons = [f"name {names:.2f}", f"{km:.2f} km apart"]
    if owner is None:
        reasons.append("owner unknown")
    elif owner >= OWNER_AGREES:
        score += OWNER_BONUS
        reasons.append(f"owner agrees ({owner:.2f})")
    else:
        reasons.append(f"owner differs ({owner:.2f})")
    return _Pair(round(min(score, 1.0), 3), site, other, km, "; ".join(reasons))


def _texts(rows: gpd.GeoDataFrame, row: int, columns: Sequence[str]) -> list[str]:
    values = (rows[c].iat[row] for c in columns if c in rows)
    return list(dict.fromkeys(v.strip() for v in values if isinstance(v, str) and v.strip()))


def _names(rows: gpd.GeoDataFrame, row: int) -> list[str]:
    return [_STATION.sub(" ", t) for t in _texts(rows, row, ("name_zh", "name_en", "name"))]


def _owners(rows: gpd.GeoDataFrame, row: int) -> list[str]:
    return _texts(rows, row, ("owner_zh", "owner"))


def _report_row(rows: gpd.GeoDataFrame, files: list[str], row: int, site_row: int,
                status: str, score: float, reason: str) -> dict[str, Any]:
    a, b = rows.geometry.iat[row], rows.geometry.iat[site_row]
    return {"file": files[int(rows["_source"].iat[row])], "row": pd.NA,
            "id": rows["id"].iat[row], "name": rows["name"].iat[row], "status": status,
            "reason": reason, "score": score, "other_id": rows["id"].iat[site_row],
            "distance_km": round(float(haversine_km(a.x, a.y, b.x, b.y)), 3)}


def _site_layer(rows: gpd.GeoDataFrame, sites: list[_Site]) -> gpd.GeoDataFrame:
    """One row per site: its primary's, blanks filled and source columns joined."""
    out = rows.iloc[[s.primary for s in sites]].copy()
    for position, site in enumerate(sites):
        index = out.index[position]
        members = sorted(site.members, key=lambda m: (rows["_source"].iat[m], m))
        for column in FILLED:
            if column in out and _blank(out.at[index, column]):
                filled = next((v for m in members if not _blank(v := rows[column].iat[m])), None)
                if filled is not None:
                    out.at[index, column] = filled
        ids = [t for m in members for t in _tokens(str(rows["source_ids"].iat[m]))]
        out.at[index, "source_ids"] = ";".join(dict.fromkeys(ids))
        if "data_source" in out:
            names = [t.strip() for m in members
                     for t in str(rows["data_source"].iat[m]).split(";") if t.strip()]
            out.at[index, "data_source"] = "; ".join(dict.fromkeys(names))
        if "coking" in out:
            out.at[index, "coking"] = int(max(_number(rows["coking"].iat[m]) for m in members))
    return gpd.GeoDataFrame(out.drop(columns="_source").reset_index(drop=True),
                            geometry=rows.geometry.name, crs="EPSG:4326")


def _number(value: object) -> float:
    number = pd.to_numeric(value, errors="coerce")
    return 0.0 if pd.isna(number) else float(number)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and np.isnan(value))
