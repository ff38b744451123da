import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lantian.errors import InputError
from lantian.geo.enterprises import load_gem_steel
from lantian.geo.gazetteer import Gazetteer
from lantian.geo.matching import MATCH_COLUMNS, MatchOptions, load_overrides, match_records
from lantian.geo.records import load_output, load_violations

ENTERPRISE_COLUMNS = ["id", "name", "name_zh", "name_en", "industry", "province", "city"]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer()


@pytest.fixture(scope="module")
def gem(demo_data: Path) -> pd.DataFrame:
    plants, _ = load_gem_steel(demo_data / "plants" / "gem_gspt_china_operating_slim.csv")
    return plants


@pytest.fixture(scope="module")
def demo_matches(demo_data: Path, gem: pd.DataFrame, gazetteer: Gazetteer) -> pd.DataFrame:
    """The demo's violation and enterprise-level output records matched to GEM's plants."""
    violations = load_violations(demo_data / "records" / "violations_ipe_report_2019.csv")
    output = load_output(demo_data / "records" / "output_changes_ipe_report_2019.csv")
    output = output[output["level"] == "enterprise"]
    records = pd.concat([
        pd.DataFrame({"record_id": violations["record_id"], "record_kind": "violation",
                      "name": violations["enterprise_name"], "province": violations["province"],
                      "city": violations["city"], "industry": violations["industry"],
                      "enterprise_id": violations["enterprise_id"]}),
        pd.DataFrame({"record_id": output["record_id"], "record_kind": "output",
                      "name": output["subject"], "province": output["province"],
                      "city": output["city"], "industry": "",
                      "enterprise_id": output["enterprise_id"]}),
    ], ignore_index=True)
    return match_records(records, gem, gazetteer=gazetteer).set_index("record_id")


def _records(*rows: dict[str, str]) -> pd.DataFrame:
    defaults = {"record_kind": "violation", "province": "", "city": "", "industry": "",
                "enterprise_id": ""}
    return pd.DataFrame([{"record_id": f"r{i}", **defaults, **row}
                         for i, row in enumerate(rows, start=1)])


def _layer(*rows: tuple[str, ...]) -> pd.DataFrame:
    """Steel enterprises as (id, name_zh, name_en, province, city)."""
    table = pd.DataFrame([(i, zh or en, zh, en, "steel", province, city)
                          for i, zh, en, province, city in rows], columns=ENTERPRISE_COLUMNS)
    return table


def _candidates(row: pd.Series) -> list[dict[str, Any]]:
    return list(json.loads(row["candidates"]))


@pytest.mark.parametrize(
    ("record_id", "enterprise_id"),
    [
        ("violations_ipe_report_2019:1", "gem:P100000120130"),  # Xinwu'an group → Xinhui plant
        ("output_changes_ipe_report_2019:1", "gem:P100000120130"),
        ("violations_ipe_report_2019:2", "gem:P100000120152"),  # Qinhuangdao Hongxing
        ("violations_ipe_report_2019:3", "gem:P100000120152"),
        ("violations_ipe_report_2019:4", "gem:P100000120145"),  # Hebei Rongxin
        ("output_changes_ipe_report_2019:2", "gem:P100000120145"),
        ("violations_ipe_report_2019:6", "gem:P100000120194"),  # Changshu Longteng
    ],
)
def test_demo_records_matched(
    demo_matches: pd.DataFrame, record_id: str, enterprise_id: str
) -> None:
    row = demo_matches.loc[record_id]
    assert (row["status"], row["enterprise_id"]) == ("matched", enterprise_id)
    assert row["score"] >= 0.85 and not row["place_new"]
    candidates = _candidates(row)
    assert candidates[0]["id"] == enterprise_id and candidates[0]["score"] == row["score"]
    assert row["score"] - candidates[1]["score"] >= 0.08


def test_xinwuan_is_a_group_matched_to_its_plant(demo_matches: pd.DataFrame) -> None:
    row = demo_matches.loc["violations_ipe_report_2019:1"]
    assert "group name matches a plant of the group" in row["reason"]
    # the group's other plants name it in Chinese only: a weaker group match
    others = {c["id"]: c for c in _candidates(row)[1:3]}
    assert set(others) == {"gem:P100000120113", "gem:P100000120137"}
    assert all("(core words only)" in " ".join(c["reasons"]) for c in others.values())


def test_hongxing_is_not_the_gansu_plant(demo_matches: pd.DataFrame) -> None:
    row = demo_matches.loc["violations_ipe_report_2019:2"]
    assert "same city: Qinhuangdao" in row["reason"]
    assert "gem:P100000120082" not in [c["id"] for c in _candidates(row)[:2]]


def test_tangshan_delong_is_ambiguous(demo_matches: pd.DataFrame) -> None:
    row = demo_matches.loc["violations_ipe_report_2019:5"]
    assert (row["status"], row["enterprise_id"], row["place_new"]) == ("ambiguous", "", False)
    first = _candidates(row)[0]
    assert first["id"] == "gem:P100000120121" and first["score"] == row["score"] == 0.75
    assert "city conflict: record Tangshan" in row["reason"] and "Xingtai" in row["reason"]


@pytest.mark.parametrize("record_id", [f"violations_ipe_report_2019:{i}" for i in (7, 8, 9)])
def test_shanxi_coking_plants_are_new(demo_matches: pd.DataFrame, record_id: str) -> None:
    row = demo_matches.loc[record_id]
    assert (row["status"], row["enterprise_id"], row["place_new"]) == ("unmatched", "", True)
    assert row["reason"].startswith("no candidate scored ≥ 0.6; best: ")
    assert row["reason"].endswith(f"({row['score']:.2f})") and row["score"] < 0.6
    assert all("industry conflict: record coking vs enterprise steel" in c["reasons"]
               for c in _candidates(row))


def test_report_shape(demo_matches: pd.DataFrame) -> None:
    assert [demo_matches.index.name, *demo_matches.columns] == MATCH_COLUMNS
    assert len(demo_matches) == 11 and demo_matches["place_new"].dtype == bool
    for text in demo_matches["candidates"]:
        candidates = json.loads(text)
        assert len(candidates) == 5
        scores = [c["score"] for c in candidates]
        assert scores == sorted(scores, reverse=True)
        assert all(set(c) == {"id", "name", "score", "reasons"} for c in candidates)
        assert all(round(s, 3) == s for s in scores)
    hongxing = demo_matches.loc["violations_ipe_report_2019:2", "candidates"]
    assert '"name": "秦皇岛宏兴钢铁有限公司"' in hongxing  # not escaped


def test_chinese_record_matches_english_plant(gazetteer: Gazetteer) -> None:
    layer = _layer(
        ("e1", "", "Qinhuangdao Hongxing Iron and Steel Co Ltd", "Hebei", "Qinhuangdao"),
        ("e2", "", "Hebei Rongxin Steel Co., Ltd.", "Hebei", "Tangshan"),
        ("e3", "", "Gansu Jiu Steel Group Hongxing Iron and Steel Co Ltd", "Gansu", "Jiayuguan"),
    )
    records = _records({"name": "秦皇岛宏兴钢铁有限公司", "province": "河北省"},
                       {"name": "河北荣信钢铁有限公司", "city": "唐山市"},
                       {"name": "Hebei Rongxin Iron and Steel Company Limited"})
    result = match_records(records, layer, gazetteer=gazetteer)
    assert result["status"].tolist() == ["matched"] * 3
    assert result["enterprise_id"].tolist() == ["e1", "e2", "e2"]
    assert "name 1.00 (name_en 'hongxing')" in result.loc[0, "reason"]


def test_legal_suffix_variants(gazetteer: Gazetteer) -> None:
    layer = _layer(("e1", "河北津西钢铁集团股份有限公司", "", "Hebei", "Tangshan"),
                   ("e2", "河北敬业钢铁有限公司", "", "Hebei", "Shijiazhuang"))
    records = _records({"name": "河北津西钢铁有限公司"}, {"name": "河北津西钢铁集团"},
                       {"name": "Hebei Jinxi Iron and Steel Co., Ltd."})
    result = match_records(records, layer, gazetteer=gazetteer)
    assert result["enterprise_id"].tolist() == ["e1", "e1", "e1"]
    assert result["score"].tolist() == [1.0, 1.0, 1.0]


def test_close_second_is_ambiguous(gazetteer: Gazetteer) -> None:
    layer = _layer(("e1", "", "Hongtai Steel Co Ltd", "Anhui", ""),
                   ("e2", "", "Hongtai Iron and Steel Co Ltd", "Anhui", ""),
                   ("e3", "", "Hongda Steel Co Ltd", "Anhui", ""))
    result = match_records(_records({"name": "Hongtai Steel", "province": "Anhui"}), layer,
                           gazetteer=gazetteer)
    row = result.iloc[0]
    assert (row["status"], row["enterprise_id"], row["place_new"]) == ("ambiguous", "", False)
    assert row["reason"].startswith("close second: Hongtai") and row["score"] == 1.0


def test_homophones_are_other_companies(gazetteer: Gazetteer) -> None:
    layer = _layer(("e1", "河北信荣钢铁有限公司", "Hebei Xinrong Steel Co Ltd", "Hebei", ""),
                   ("e2", "河北鑫荣钢铁有限公司", "", "Hebei", ""))
    records = _records({"name": "鑫荣钢铁"})
    assert match_records(records, layer, gazetteer=gazetteer)["enterprise_id"].tolist() == [
        "e2"]
    alone = match_records(records, layer.iloc[:1], gazetteer=gazetteer).iloc[0]
    assert (alone["status"], alone["score"]) == ("ambiguous", 0.75)
    assert "alike in pinyin only" in alone["candidates"]


def test_pinyin_names_compare_by_syllables(gazetteer: Gazetteer) -> None:
    """kangzhuang and fangjiazhuang share most letters but one syllable of five."""
    layer = pd.DataFrame([("wri:1", "Fangjiazhuang Coal", "", "Fangjiazhuang Coal",
                           "coal_power", "", "")], columns=ENTERPRISE_COLUMNS)
    records = _records({"name": "Kangzhuang Coking", "province": "Shanxi",
                        "industry": "coking"})
    row = match_records(records, layer, gazetteer=gazetteer).iloc[0]
    assert (row["status"], row["place_new"]) == ("unmatched", True)
    assert _candidates(row)[0]["reasons"] == [
        "name 0.59 (name_en 'fangjiazhuang')",
        "industry conflict: record coking vs enterprise power"]


def test_place_decides_among_many_namesakes(gazetteer: Gazetteer) -> None:
    """More namesakes elsewhere than are scored in full: the province still finds it."""
    layer = _layer(*[(f"g{i}", "", "Hongxing Steel Co Ltd", "Gansu", "") for i in range(80)],
                   ("h1", "", "Hongxing Steel Co Ltd", "Hebei", "Qinhuangdao"))
    records = _records({"name": "Hongxing Iron and Steel", "province": "Hebei"})
    row = match_records(records, layer, gazetteer=gazetteer).iloc[0]
    assert (row["status"], row["enterprise_id"]) == ("matched", "h1")
    assert _candidates(row)[1]["score"] == 0.5  # halved: another province


def test_overrides_and_given_ids(tmp_path: Path, gazetteer: Gazetteer) -> None:
    layer = _layer(("e1", "德龙钢铁有限公司", "Delong Steel Co Ltd", "Hebei", "Xingtai"),
                   ("e2", "河北荣信钢铁有限公司", "Hebei Rongxin Steel Co Ltd", "Hebei",
                    "Tangshan"))
    path = tmp_path / "overrides.csv"
    path.write_text("record_id,name,enterprise_id,note\n"
                    "r1,,e1,confirmed by the Xingtai EPB\n"
                    ",  fengda   coking smelt ,NEW,\n"
                    "r3,,none,not a plant\n", encoding="utf-8")
    overrides = load_overrides(path, layer["id"])
    records = _records(
        {"name": "Tangshan Delong Steel", "province": "Hebei", "city": "Tangshan"},
        {"name": "Fengda Coking Smelt", "province": "Shanxi", "industry": "coking"},
        {"name": "Hebei Rongxin Iron and Steel"},
        {"name": "Rongxin", "enterprise_id": "e2"},
        {"name": "Rongxin", "enterprise_id": "gem:P1"},
    )
    result = match_records(records, layer, overrides, gazetteer=gazetteer)
    assert result["status"].tolist() == [
        "pinned", "unmatched", "excluded", "given_id", "unmatched"]
    assert result["enterprise_id"].tolist() == ["e1", "", "", "e2", ""]
    assert result["place_new"].tolist() == [False, True, False, False, False]
    assert result["reason"].tolist() == [
        "override: pinned (confirmed by the Xingtai EPB)",
        "override: place as a new enterprise",
        "override: leave unmatched (not a plant)",
        "enterprise_id given in the record",
        "given enterprise_id gem:P1 is not in the enterprise layer",
    ]
    assert result.loc[0, "score"] == 1.0 and result.loc[3, "score"] == 1.0
    assert _candidates(result.iloc[2])[0]["id"] == "e2"  # the scorer's view is still shown


def test_options_change_the_decision(gazetteer: Gazetteer) -> None:
    layer = _layer(("e1", "德龙钢铁有限公司", "", "Hebei", "Xingtai"))
    records = _records({"name": "Tangshan Delong Steel", "province": "Hebei",
                        "city": "Tangshan"})
    strict = match_records(records, layer, options=MatchOptions(review=0.8, candidates=1),
                           gazetteer=gazetteer).iloc[0]
    assert (strict["status"], strict["place_new"]) == ("unmatched", True)
    assert strict["reason"] == "no candidate scored ≥ 0.8; best: 德龙钢铁有限公司 (0.75)"
    assert len(_candidates(strict)) == 1


@pytest.mark.parametrize(
    ("text", "row", "field", "message"),
    [
        ("name,enterprise_id\nA,e1\nB,gem:P404\n", 2, "enterprise_id", "unknown enterprise id"),
        ("name,record_id,enterprise_id\nA,,e1\n,,new\n", 2, "name", "a name or a record_id"),
        ("record_id,enterprise_id\n,e1\n", 1, "record_id", "a name or a record_id"),
        ("name,enterprise_id\nA,e1\n a ,none\n", 2, "name", "overridden twice"),
        ("name,enterprise_id\nA,\n", 1, "enterprise_id", "unknown enterprise id ''"),
        ("name,note\nA,x\n", None, "enterprise_id", "missing required column"),
        ("enterprise_id,note\ne1,x\n", None, "name", "a name or a record_id column"),
    ],
)
def test_bad_overrides(
    tmp_path: Path, text: str, row: int | None, field: str, message: str
) -> None:
    path = tmp_path / "overrides.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        load_overrides(path, ["e1"])
    assert (err.value.file, err.value.row, err.value.field) == (str(path), row, field)


def test_empty_layer_leaves_records_unmatched() -> None:
    result = match_records(_records({"name": "Kangzhuang Coking"}), _layer())  # own gazetteer
    assert result[["status", "candidates", "score"]].iloc[0].tolist() == [
        "unmatched", "[]", 0.0]
    assert result.loc[0, "reason"] == "no candidate scored ≥ 0.6"
