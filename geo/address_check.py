"""Given coordinates measured against Chinese street addresses, and the datum they look like.

``compare_addresses`` geocodes each plant's Chinese address with the offline gazetteer (cpca;
the address alone, never the plant's coordinates or the province derived from them) and
measures how far the unit it names lies from the given point. A point farther from its
county's representative point than the county's size (the diameter of a disc of the county's
area) is flagged: the address or the coordinates are wrong.

``datum_check`` asks whether the coordinates read better as WGS-84 or as GCJ-02: of the plants
whose address names a county, count those inside that county's (WGS-84) polygon as given and
after converting them from GCJ-02. The offset (100–700 m) moves only points near a border, so
only plants inside under exactly one reading count; the verdict is the reading more of them
favour when a two-sided sign test gives p < ``SIGNIFICANCE``, else "undecided".
"""

from __future__ import annotations

import math
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .datum import gcj02_to_wgs84
from .gazetteer import Gazetteer
from .sites import haversine_km

ADDRESS_COLUMNS = ["file", "row", "id", "name", "status", "reason", "address",
                   "address_adcode", "address_unit", "address_lon", "address_lat",
                   "address_distance_km", "county_size_km", "address_flag"]
EQUAL_AREA = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global (cylindrical equal-area)
SIGNIFICANCE = 0.05
_CJK = re.compile(r"[\u3400-\u9fff]")


def compare_addresses(layer: gpd.GeoDataFrame, gazetteer: Gazetteer,
                      counties: gpd.GeoDataFrame) -> pd.DataFrame:
    """One ``address_checked`` row (``ADDRESS_COLUMNS``) per plant with a Chinese ``address``
    and a point. Addresses placed to a county get its size and a 0/1 ``address_flag``;
    those placed to a city or province only get the distance to that unit's point and no
    flag; unplaced ones only a reason. A county the gazetteer has no point for (one newer
    than cpca's table) is measured from its polygon's representative point."""
    sizes = county_sizes(counties)
    centres = _by_adcode(counties, counties.geometry.representative_point().to_numpy())
    rows = []
    for plant in _addressed(layer).itertuples():
        found = gazetteer.locate(address=plant.address)
        row: dict[str, Any] = {"file": "", "row": pd.NA, "id": plant.id, "name": plant.name,
                               "status": "address_checked", "address": plant.address}
        if found is None:
            rows.append(row | {"reason": "the address names no admin unit"})
            continue
        code, lon, lat, note = found.adcode[:6], found.lon, found.lat, ""
        if np.isnan(lon) and code in centres.index:  # a unit newer than cpca's points
            centre = centres[code]
            lon, lat, note = centre.x, centre.y, " (its polygon's point: cpca has none)"
        km = float(haversine_km(plant.lon, plant.lat, lon, lat))
        row |= {"address_adcode": code, "address_unit": found.name, "address_lon": lon,
                "address_lat": lat, "address_distance_km": round(km, 3)}
        if np.isnan(km):
            reason = f"address placed to {found.precision} {found.name}, which has no point"
        elif found.precision != "county":
            reason = f"address placed to {found.precision} {found.name} only; not flagged"
        elif code not in sizes.index:
            reason = f"address placed to county {found.name} ({code}), which has no polygon"
        else:
            size = float(sizes[code])
            row |= {"county_size_km": round(size, 3), "address_flag": int(km > size)}
            reason = (f"address placed to county {found.name} ({code}){note}: {km:.1f} km "
                      f"from the coordinates, county size {size:.1f} km"
                      + ("; one of the two is wrong" if km > size else ""))
        rows.append(row | {"reason": reason})
    report = pd.DataFrame(rows, columns=ADDRESS_COLUMNS)
    return report.astype({"address_flag": "Int64"})


def named_counties(layer: gpd.GeoDataFrame, gazetteer: Gazetteer,
                   counties: gpd.GeoDataFrame) -> pd.DataFrame:
    """``id, address_adcode, county_size_km`` of the plants without a Chinese address whose
    ``province``, ``city`` and ``county`` fields (GCPT's, in pinyin) name a county with a
    polygon: more plants for :func:`datum_check`."""
    sizes = county_sizes(counties)
    has_address = layer["id"].isin(set(_addressed(layer)["id"]))
    rows = []
    for plant in layer[~has_address & (layer["county"].fillna("").astype(str) != "")].itertuples():
        found = gazetteer.locate(province=str(plant.province), city=str(plant.city),
                                 county=str(plant.county))
        code = found.adcode[:6] if found is not None else ""
        if found is not None and found.precision == "county" and code in sizes.index:
            rows.append({"id": plant.id, "address_adcode": code,
                         "county_size_km": float(sizes[code])})
    return pd.DataFrame(rows, columns=["id", "address_adcode", "county_size_km"])


def county_sizes(counties: gpd.GeoDataFrame) -> pd.Series:
    """Each county's size in km by adcode: the diameter 2·√(area/π) of a disc of its area,
    the area taken in an equal-area projection."""
    area = counties.geometry.to_crs(EQUAL_AREA).area.to_numpy() / 1e6
    return _by_adcode(counties, 2 * np.sqrt(area / np.pi))


def _by_adcode(counties: gpd.GeoDataFrame, values: Any) -> pd.Series:
    """``values`` (one per county) indexed by adcode, the first of a repeated code."""
    series = pd.Series(values, index=counties["adcode"].astype(str).to_numpy())
    return series[~series.index.duplicated()]


def address_summary(checked: pd.DataFrame) -> dict[str, float | int]:
    """Figures of ``compare_addresses`` rows placed to a county: how many, the median and
    90th-percentile distance (km), how many are flagged."""
    county = checked[checked["county_size_km"].notna()]
    distance = county["address_distance_km"].astype(float)
    return {"checked": len(checked), "county_level": len(county),
            "median_km": float(distance.median()) if len(county) else math.nan,
            "p90_km": float(distance.quantile(0.9)) if len(county) else math.nan,
            "flagged": int(county["address_flag"].sum())}


def datum_check(layer: gpd.GeoDataFrame, checked: pd.DataFrame,
                counties: gpd.GeoDataFrame) -> dict[str, Any]:
    """Whether the layer's coordinates look like WGS-84 or GCJ-02, from the plants that
    ``checked`` (``compare_addresses`` rows, or any rows with ``id``, ``address_adcode`` and
    a ``county_size_km``) places to a county with a polygon: how many
    lie inside it as given and after a GCJ-02 → WGS-84 conversion, how many only under one
    reading, the median shift (m), the sign test's p-value and the verdict."""
    placed = checked[checked["county_size_km"].notna()][["id", "address_adcode"]]
    points = layer.geometry
    plants = pd.DataFrame({"id": layer["id"], "lon": points.x, "lat": points.y}).merge(
        placed.drop_duplicates("id"), on="id")
    shapes = _by_adcode(counties, counties.geometry.to_numpy()).reindex(
        plants["address_adcode"]).to_numpy()
    x, y = plants["lon"].to_numpy(float), plants["lat"].to_numpy(float)
    gx, gy = gcj02_to_wgs84(x, y)
    as_given = shapely.covers(shapes, shapely.points(x, y))
    as_gcj02 = shapely.covers(shapes, shapely.points(gx, gy))
    only_given, only_gcj02 = int((as_given & ~as_gcj02).sum()), int((as_gcj02 & ~as_given).sum())
    p_value = _sign_test(only_given, only_gcj02)
    verdict = "undecided" if p_value >= SIGNIFICANCE else (
        "WGS-84" if only_given > only_gcj02 else "GCJ-02")
    return {"plants": len(plants), "inside_as_given": int(as_given.sum()),
            "inside_as_gcj02": int(as_gcj02.sum()), "only_as_given": only_given,
            "only_as_gcj02": only_gcj02,
            "median_shift_m": float(np.median(haversine_km(x, y, gx, gy)) * 1000)
            if len(plants) else math.nan,
            "p_value": p_value, "verdict": verdict}


def _sign_test(a: int, b: int) -> float:
    """Two-sided p-value of ``a`` against ``b`` successes when each is as likely."""
    n = a + b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(max(a, b), n + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def _addressed(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """``id, name, address, lon, lat`` of the plants with a Chinese address and a point."""
    address = layer["address"].fillna("").astype(str).str.strip() if "address" in layer \
        else pd.Series("", index=layer.index)
    geometry = layer.geometry
    keep = address.map(lambda a: bool(_CJK.search(a))) & geometry.notna() & ~geometry.is_empty
    points = geometry[keep]
    return pd.DataFrame({"id": layer["id"][keep], "name": layer["name"][keep],
                         "address": address[keep], "lon": points.x, "lat": points.y}
                        ).reset_index(drop=True)
