"""Records that match no plant become approximate enterprises at their admin unit."""

from __future__ import annotations

import pandas as pd

from lantian.geo.gazetteer import Gazetteer
from lantian.geo.placement import NEW_STATUS, place_unmatched, slug


def matches(rows: list[tuple[str, str, str, str, bool]]) -> pd.DataFrame:
    return pd.DataFrame([
        {"record_id": rid, "name": name, "province": province, "city": city,
         "status": "unmatched", "enterprise_id": "", "score": 0.2, "place_new": place_new,
         "reason": "no candidate scored ≥ 0.6"}
        for rid, name, province, city, place_new in rows
    ])


def test_unmatched_records_are_placed_once_per_enterprise_at_their_province() -> None:
    found = matches([
        ("v:1", "Fengda Coking Smelt", "Shanxi", "", True),
        ("v:2", "Fengda Coking Smelt", "Shanxi", "", True),
        ("v:3", "Example Coking", "Shanxi", "Linfen", True),  # a made-up plant
        ("v:4", "Tangshan Delong Steel", "Hebei", "Tangshan", False),  # ambiguous: not placed
        ("v:5", "Nowhere Coke", "Atlantis", "", True),
    ])
    records = found[["record_id", "name", "province", "city"]].assign(
        industry="coking", source="IPE (2019)")
    layer, updated = place_unmatched(records, found, Gazetteer(), {"rec:fengda-coking-smelt"})

    assert list(layer["id"]) == ["rec:fengda-coking-smelt-2", "rec:example-coking"]
    fengda, example = layer.iloc[0], layer.iloc[1]
    assert fengda["geocode_precision"] == "province"
    assert example["geocode_precision"] == "city"  # Linfen is read from its pinyin
    assert set(layer["coordinate_accuracy"]) == {"approximate"}
    assert set(layer["data_source"]) == {"IPE (2019)"}
    assert 110 < fengda.geometry.x < 114.5 and 34.5 < fengda.geometry.y < 40.8  # in Shanxi
    assert 110.5 < example.geometry.x < 112.5 and 35.3 < example.geometry.y < 37

    by_id = updated.set_index("record_id")
    assert by_id.loc["v:1", "status"] == by_id.loc["v:2", "status"] == NEW_STATUS
    assert by_id.loc["v:1", "enterprise_id"] == by_id.loc["v:2", "enterprise_id"]
    assert "approximate" in by_id.loc["v:1", "reason"]
    assert by_id.loc["v:4", "status"] == "unmatched" and by_id.loc["v:4", "enterprise_id"] == ""
    assert by_id.loc["v:5", "status"] == "unmatched"
    assert "could not be placed" in by_id.loc["v:5", "reason"]


def test_slug_is_ascii_for_chinese_and_english_names() -> None:
    assert slug("Fengda Coking Smelt") == "fengda-coking-smelt"
    assert slug("山西鑫升焦化") == "shan-xi-xin-sheng-jiao-hua"
    assert slug("  ") == "unnamed"
