from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from lantian.geo.gazetteer import Gazetteer
from lantian.geo.matching import name_similarity
from lantian.geo.sites import SITE_REPORT_COLUMNS, SiteOptions, haversine_km, merge_sites

KM = 1 / 111.32  # degrees of latitude per km
GCPT, WRI = "GEM, Global Coal Plant Tracker", "WRI Global Power Plant Database"


@dataclass(frozen=True)
class Table:
    layer: gpd.GeoDataFrame
    units: pd.DataFrame


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer()


def plant(id: str, name: str, lat: float, *, lon: float = 114.5, name_zh: str = "",
          industry: str = "coal_power", data_source: str = GCPT, **more: Any) -> dict[str, Any]:
    return {"id": id, "name": name_zh or name, "name_zh": name_zh, "name_en": name,
            "industry": industry, "owner": "", "address": "", "coking_capacity": np.nan,
            "coking": 0, "source_ids": id, "data_source": data_source, "lon": lon,
            "lat": lat} | more


def table(*plants: dict[str, Any], units_each: int = 1) -> Table:
    frame = pd.DataFrame(plants)
    layer = gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), crs="EPSG:4326",
                             geometry=gpd.points_from_xy(frame["lon"], frame["lat"]))
    units = pd.DataFrame([{"enterprise_id": p["id"], "unit_id": f"{p['id']}#{k}",
                           "capacity": 100.0} for p in plants for k in range(units_each)])
    return Table(layer, units)


def merge(gazetteer: Gazetteer, **sources: Table) -> tuple[gpd.GeoDataFrame, pd.DataFrame,
                                                          pd.DataFrame]:
    return merge_sites({f"{k}.csv": t for k, t in sources.items()}, gazetteer=gazetteer)


def test_same_plant_id_is_one_site_with_the_newest_attributes(gazetteer: Gazetteer) -> None:
    gist = table(plant("gem:P1", "Rongxin Steel", 39.0, name_zh="河北荣信钢铁有限公司",
                       industry="steel", address="河北省唐山市迁安市", data_source="GIST"),
                 plant("gem:P2", "Other Steel", 38.0, industry="steel", data_source="GIST"),
                 units_each=2)
    gspt = table(plant("gem:P1", "Hebei Rongxin Steel", 39.001, name_zh="荣信钢铁",
                       industry="steel", owner="Rongxin Group", coking_capacity=600.0, coking=1,
                       source_ids="gspt:P1", data_source="GSPT"))
    layer, units, report = merge(gazetteer, gist=gist, gspt=gspt)
    site = layer.set_index("id").loc["gem:P1"]
    assert len(layer) == 2
    assert (site["name_zh"], site["address"]) == ("河北荣信钢铁有限公司", "河北省唐山市迁安市")
    assert (site["owner"], site["coking_capacity"], site["coking"]) == ("Rongxin Group", 600, 1)
    assert site["source_ids"] == "gem:P1;gspt:P1"
    assert site["data_source"] == "GIST; GSPT"
    assert site.geometry.y == 39.0  # the primary's point
    assert sorted(units["unit_id"]) == ["gem:P1#0", "gem:P1#1", "gem:P2#0", "gem:P2#1"]
    assert list(report.columns) == SITE_REPORT_COLUMNS
    row = report.iloc[0]
    assert (len(report), row["status"], row["score"], row["file"]) == (1, "merged", 1.0,
                                                                      "gspt.csv")
    assert (row["id"], row["other_id"]) == ("gem:P1", "gem:P1")
    assert "same GEM Plant ID" in row["reason"]
    assert row["distance_km"] == pytest.approx(0.111, abs=0.002)


def test_a_cited_source_id_merges_whatever_the_name(gazetteer: Gazetteer) -> None:
    gcpt = table(plant("gem:L7", "Shuicheng power station", 26.0))
    wri = table(plant("wri:5", "Yemazhai power station", 26.03, data_source=WRI,
                      source_ids="wri:5;gem:L7"))
    layer, units, report = merge(gazetteer, gcpt=gcpt, wri=wri)
    assert list(layer["source_ids"]) == ["gem:L7;wri:5"]
    assert list(units["enterprise_id"]) == ["gem:L7"]
    assert report.iloc[0]["reason"] == "same source id (gem:L7)"


def test_same_site_pair_merges_by_score_keeping_both_ids(gazetteer: Gazetteer) -> None:
    gcpt = table(plant("gem:L1", "Hangzhou Banshan power station", 30.0,
                       name_zh="华电杭州半山发电厂", owner="Huadian Hangzhou Banshan Power"),
                 units_each=3)
    wri = table(plant("wri:9", "Banshan Coal", 30.0 + 0.5 * KM, data_source=WRI,
                      owner="Huadian Hangzhou Banshan Power"))
    layer, units, report = merge(gazetteer, gcpt=gcpt, wri=wri)
    assert len(layer) == 1
    site = layer.iloc[0]
    assert (site["id"], site["source_ids"]) == ("gem:L1", "gem:L1;wri:9")
    assert site["data_source"] == f"{GCPT}; {WRI}"
    assert list(units["enterprise_id"]) == ["gem:L1"] * 3  # WRI's unit is not counted twice
    row = report.iloc[0]
    assert (row["status"], row["id"], row["other_id"]) == ("merged", "wri:9", "gem:L1")
    # name 1, 0.5 of 10 km, owners agree: 0.75 + 0.25 · 0.95 + 0.05, clipped
    assert row["score"] == 1.0
    assert row["distance_km"] == pytest.approx(0.5, abs=0.01)
    assert "owner agrees" in row["reason"]


def test_near_miss_is_listed_and_not_merged(gazetteer: Gazetteer) -> None:
    gcpt = table(plant("gem:L2", "Qingzhen power station", 26.5))
    wri = table(plant("wri:3", "Qinzhen Coal", 26.5 + 0.1 * KM, data_source=WRI))
    layer, units, report = merge(gazetteer, gcpt=gcpt, wri=wri)
    assert sorted(layer["id"]) == ["gem:L2", "wri:3"]
    assert sorted(units["enterprise_id"]) == ["gem:L2", "wri:3"]
    row = report.iloc[0]
    assert (len(report), row["status"], row["id"], row["other_id"]) == (
        1, "near_miss", "wri:3", "gem:L2")
    assert 0.6 <= row["score"] < 0.85
    assert "below 0.85" in row["reason"] and "owner unknown" in row["reason"]
    assert row["score"] == pytest.approx(
        0.75 * name_similarity("Qinzhen Coal", "Qingzhen power ", gazetteer) + 0.25 * 0.99,
        abs=0.002)


@pytest.mark.parametrize(("other", "why"), [
    (plant("wri:1", "Handan power station", 36.6 + 30 * KM, data_source=WRI), "far"),
    (plant("wri:1", "Handan power station", 36.6, industry="steel", data_source=WRI),
     "another industry"),
    (plant("gem:L9", "Handan power station", 36.6), "same source"),
])
def test_pairs_that_never_merge(gazetteer: Gazetteer, other: dict[str, Any], why: str) -> None:
    first = plant("gem:L1", "Handan power station", 36.6)
    sources = {"gcpt": table(first, other)} if why == "same source" else {
        "gcpt": table(first), "wri": table(other)}
    layer, _, report = merge(gazetteer, **sources)
    assert len(layer) == 2 and report.empty, why


def test_each_row_merges_once_with_its_best_pair(gazetteer: Gazetteer) -> None:
    gcpt = table(plant("gem:L1", "Handan power station", 36.6),
                 plant("gem:L2", "Handan power station", 36.6 + 3 * KM))
    wri = table(plant("wri:1", "Handan power station", 36.6 + 2.9 * KM, data_source=WRI),
                plant("wri:2", "Handan power station", 36.6 + 0.2 * KM, data_source=WRI))
    layer, _, report = merge(gazetteer, gcpt=gcpt, wri=wri)
    assert sorted(layer["source_ids"]) == ["gem:L1;wri:2", "gem:L2;wri:1"]
    merged = report[report["status"] == "merged"].set_index("id")["other_id"].to_dict()
    assert merged == {"wri:1": "gem:L2", "wri:2": "gem:L1"}


def test_a_site_absorbs_the_phases_a_later_source_lists_apart(gazetteer: Gazetteer) -> None:
    """WRI lists some plants' phases as plants; GCPT has them as units of one location."""
    gcpt = table(plant("gem:L1", "Handan power station", 36.6))
    wri = table(plant("wri:1", "Handan power station", 36.6 + 2 * KM, data_source=WRI),
                plant("wri:2", "Handan power station", 36.6 + 0.2 * KM, data_source=WRI))
    layer, units, report = merge(gazetteer, gcpt=gcpt, wri=wri)
    assert list(layer["source_ids"]) == ["gem:L1;wri:1;wri:2"]
    assert list(report["status"]) == ["merged", "merged"]
    assert list(units["enterprise_id"]) == ["gem:L1"]  # the primary's units only


def test_thresholds_are_options(gazetteer: Gazetteer) -> None:
    gcpt = table(plant("gem:L2", "Qingzhen power station", 26.5))
    wri = table(plant("wri:3", "Qinzhen Coal", 26.5 + 0.1 * KM, data_source=WRI))
    layer, _, report = merge_sites({"gcpt.csv": gcpt, "wri.csv": wri},
                                   SiteOptions(accept=0.7), gazetteer)
    assert len(layer) == 1 and list(report["status"]) == ["merged"]


def test_thousands_of_plants_merge_each_with_its_own_site(gazetteer: Gazetteer) -> None:
    rng = np.random.default_rng(15)
    lon, lat = rng.uniform(110, 118, 1800), rng.uniform(28, 40, 1800)
    gcpt = table(*[plant(f"gem:L{i}", f"Plant {i} power station", y, lon=x)
                   for i, (x, y) in enumerate(zip(lon, lat, strict=True))])
    wri = table(*[plant(f"wri:{i}", f"Plant {i} Coal", lat[i] + 0.3 * KM, lon=lon[i],
                        data_source=WRI) for i in range(1000)])
    layer, _, report = merge(gazetteer, gcpt=gcpt, wri=wri)
    merged = report[report["status"] == "merged"]
    assert len(merged) >= 950 and len(layer) == 2800 - len(merged)
    assert (merged["other_id"].str[5:] == merged["id"].str[4:]).mean() > 0.95


def test_haversine() -> None:
    assert haversine_km(116.0, 40.0, 116.0, 41.0)[()] == pytest.approx(111.2, abs=0.1)
