"""The real IPE-cited records in the demo release: matched, placed, counted per quarter."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import TYPE_CHECKING

import mapbox_vector_tile
import morecantile
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pmtiles.reader import MmapSource, Reader

from lantian.errors import InputError
from lantian.pipeline import BuildOptions, build_release, demo_inputs
from lantian.server.app import create_app
from lantian.settings import Settings
from lantian.tiles.pmtiles_io import validate_archive
from lantian.tiles.release import verify_release

if TYPE_CHECKING:
    from conftest import DemoCopy

pytestmark = pytest.mark.slow

XINWUAN, HONGXING, RONGXIN, LONGTENG, DELONG = (
    "gem:P100000120130", "gem:P100000120152", "gem:P100000120145", "gem:P100000120194",
    "gem:P100000120122")


def current(data_dir: Path) -> Path:
    return data_dir / "releases" / os.readlink(data_dir / "current").split("/")[-1]


@pytest.fixture(scope="module")
def release(demo_release: Path) -> Path:
    return current(demo_release)


def test_every_demo_record_is_matched_placed_or_reported(release: Path) -> None:
    report = pd.read_csv(release / "records" / "match_report.csv", keep_default_na=False)
    violations = pd.read_csv(release / "records" / "violations.csv", keep_default_na=False)
    output = pd.read_csv(release / "records" / "output.csv", keep_default_na=False)
    assert len(violations) == 9 and len(output) == 6
    by_name = violations.groupby("enterprise_name")["enterprise_id"].agg(set).to_dict()
    assert by_name["Hebei Xinwu'an Iron and Steel"] == {XINWUAN}
    assert by_name["Qinhuangdao Hongxing Iron and Steel"] == {HONGXING}
    assert by_name["Hebei Rongxin Iron and Steel"] == {RONGXIN}
    assert by_name["Changshu Longteng Special Steel"] == {LONGTENG}
    # GSPT 2019 had only the Delong plant in Xingtai; GIST 2025 has 唐山市德龙钢铁 in Tangshan
    assert by_name["Tangshan Delong Steel"] == {DELONG}
    xinwuan = report[report["name"] == "Hebei Xinwu'an Iron and Steel"]
    # the report names the group, of which GIST lists several plants: the demo's override
    # pins the hand match (demo/data/records/match_overrides_ipe_2019.csv)
    assert set(xinwuan["status"]) == {"pinned"}
    assert "gem:P100000120133" in xinwuan["candidates"].iloc[0]  # 文安, another of its plants
    coking = violations[violations["industry"] == "coking"]
    assert set(coking["match_status"]) == {"new_enterprise"}
    assert all(i.startswith("rec:") for i in coking["enterprise_id"])
    assert set(output[output["level"] == "enterprise"]["enterprise_id"]) == {XINWUAN, RONGXIN}
    assert set(output[output["level"] != "enterprise"]["match_status"]) == {"regional"}
    # every record is in the report, none silently dropped
    enterprise_rows = len(violations) + (output["level"] == "enterprise").sum()
    assert len(report) == enterprise_rows
    assert set(report["record_id"]) == set(violations["record_id"]) | set(
        output[output["level"] == "enterprise"]["record_id"])


def test_coking_plants_are_placed_in_shanxi_and_marked_approximate(release: Path) -> None:
    enterprises = pd.read_csv(release / "enterprises" / "enterprises.csv", keep_default_na=False)
    placed = enterprises[enterprises["id"].str.startswith("rec:")]
    assert len(placed) == 3
    assert set(placed["industry"]) == {"coking"}
    assert set(placed["coordinate_accuracy"]) == {"approximate"}
    assert set(placed["geocode_precision"]) == {"province"}
    assert placed["lon"].between(110.2, 114.6).all() and placed["lat"].between(34.5, 40.8).all()
    assert set(placed["approx"]) == {1}


def test_quarterly_facts_put_the_winter_side_by_side(release: Path) -> None:
    manifest = verify_release(release)
    assert manifest.timeline == ["2018Q4", "2019Q1", "2019Q2", "2019Q3", "2019Q4"]
    assert manifest.quarters == ["2019Q1", "2019Q2", "2019Q3", "2019Q4"]
    facts = pd.read_parquet(release / "enterprises" / "enterprise_quarters.parquet")
    facts = facts.set_index(["id", "quarter"])
    xinwuan = facts.loc[(XINWUAN, "2018Q4")]
    assert xinwuan["violations"] == 1 and xinwuan["output_change_pct"] == 100.0
    assert bool(xinwuan["cited_and_output_up"])
    rongxin = facts.loc[(RONGXIN, "2018Q4")]
    assert rongxin["output_direction"] == "up" and pd.isna(rongxin["output_change_pct"])
    assert bool(rongxin["cited_and_output_up"])
    assert facts.loc[(HONGXING, "2018Q4"), "violations"] == 2
    assert facts.loc[(HONGXING, "2019Q1"), "violations_12m"] == 2
    assert not facts.loc[(HONGXING, "2018Q4"), "cited_and_output_up"]  # no output record
    assert facts["cited_and_output_up"].sum() == 2
    assert pd.isna(facts.loc[(RONGXIN, "2018Q4"), "pm25_5km"])  # no grid for 2018Q4
    assert 40 < facts.loc[(RONGXIN, "2019Q1"), "pm25_10km"] < 150


def test_cited_tiles_carry_the_facts(release: Path) -> None:
    path = release / "tiles" / "cited.pmtiles"
    assert validate_archive(path).addressed_tiles > 0
    with path.open("rb") as f:
        reader = Reader(MmapSource(f))
        tile = morecantile.tms.get("WebMercatorQuad").tile(118.56, 39.88, 6)  # Rongxin
        data = reader.get(tile.z, tile.x, tile.y)
        layer = mapbox_vector_tile.decode(gzip.decompress(data))["cited"]
    props = {f["properties"]["id"]: f["properties"] for f in layer["features"]}
    assert {RONGXIN, HONGXING} <= set(props)
    assert props[RONGXIN]["flag_2018Q4"] == 1 and props[RONGXIN]["up_2018Q4"] == 1
    assert props[HONGXING]["v_2018Q4"] == 2 and "flag_2018Q4" not in props[HONGXING]


def test_card_and_filters_from_the_demo_server(demo_release: Path) -> None:
    with TestClient(create_app(Settings(data_dir=demo_release))) as client:
        card = client.get(f"/api/enterprises/{RONGXIN}/card").json()
        assert card["violations"][0]["date"] == "2018-10-26"
        assert card["violations"][0]["source_url"].startswith("http://www.hebhb.gov.cn/")
        assert card["output"][0]["direction"] == "up"
        assert any(r["period"] == "2019-01/2019-02" for r in card["regional_output"])
        flagged = client.get("/api/enterprises", params={
            "quarter": "2018Q4", "has_violations": "true", "output_up": "true"}).json()
        assert {f["id"] for f in flagged["features"]} == {XINWUAN, RONGXIN}
        # other 荣信/融鑫 works (chemical, coal power) share the pinyin; one steel plant does
        found = client.get("/api/enterprises", params={"q": "rongxin"}).json()["features"]
        assert RONGXIN in {f["id"] for f in found}
        steel = client.get("/api/enterprises", params={"q": "rongxin", "industry": "steel"})
        assert [f["id"] for f in steel.json()["features"]] == [RONGXIN]


def test_bad_record_names_file_row_field_and_keeps_current_release(
    demo_copy: DemoCopy, tmp_path: Path
) -> None:
    broken = tmp_path / "violations.csv"
    broken.write_text("enterprise_name,date,finding\n"
                      "Hebei Rongxin Iron and Steel,2018-10-26,dust\n"
                      "Hebei Rongxin Iron and Steel,2018-13-01,dust\n", encoding="utf-8")
    inputs = demo_inputs()
    bad = type(inputs)(**{**inputs.__dict__, "violations": (broken,)})
    with pytest.raises(InputError) as err:
        build_release(bad, BuildOptions(), demo_copy.data_dir)
    assert (err.value.file, err.value.row, err.value.field) == (str(broken), 2, "date")
    demo_copy.assert_kept()
