"""The city groups the environment ministry reports on, and who belongs where.

Each group lists its prefecture-level cities by province, by their short names (the cities
table's ``name_zh``, the provinces' names without their level: 河北, 内蒙古). Sources:

- ``2+26``: the Beijing-Tianjin-Hebei air-pollution transport channel, 京津冀大气污染传输通道
  "2+26" 城市 (MEE et al., 京津冀及周边地区2017年大气污染防治工作方案, 环大气〔2017〕29号).
- ``Fenwei``: the Fen-Wei Plain, 汾渭平原 (State Council, 打赢蓝天保卫战三年行动计划,
  国发〔2018〕22号); its 12th member, 杨凌示范区, is a district of 咸阳, not a prefecture.
- ``YRD``: the Yangtze River Delta as the ministry's air-quality reports count it since 2019,
  the 41 cities of Shanghai, Jiangsu, Zhejiang and Anhui (长三角地区2019-2020年秋冬季大气污染
  综合治理攻坚行动方案, 环大气〔2019〕97号).
- ``PRD``: the Pearl River Delta, the 9 cities of 珠江三角洲地区改革发展规划纲要（2008—2020年）
  (NDRC, 2008), as Guangdong's air-quality reports count it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .gazetteer import short_name


@dataclass(frozen=True)
class Group:
    """A city group: its display names and its cities, province → city short names."""

    id: str
    name_zh: str
    name_en: str
    cities: Mapping[str, tuple[str, ...]]

    def __len__(self) -> int:
        return sum(len(names) for names in self.cities.values())


GROUPS: dict[str, Group] = {g.id: g for g in (
    Group("2+26", '京津冀及周边"2+26"城市', "2+26 cities", {
        "北京": ("北京",), "天津": ("天津",),
        "河北": ("石家庄", "唐山", "廊坊", "保定", "沧州", "衡水", "邢台", "邯郸"),
        "山西": ("太原", "阳泉", "长治", "晋城"),
        "山东": ("济南", "淄博", "济宁", "德州", "聊城", "滨州", "菏泽"),
        "河南": ("郑州", "开封", "安阳", "鹤壁", "新乡", "焦作", "濮阳"),
    }),
    Group("Fenwei", "汾渭平原", "Fen-Wei Plain", {
        "山西": ("晋中", "运城", "临汾", "吕梁"),
        "河南": ("洛阳", "三门峡"),
        "陕西": ("西安", "铜川", "宝鸡", "咸阳", "渭南"),
    }),
    Group("YRD", "长三角地区", "Yangtze River Delta", {
        "上海": ("上海",),
        "江苏": ("南京", "无锡", "徐州", "常州", "苏州", "南通", "连云港", "淮安", "盐城", "扬州",
                 "镇江", "泰州", "宿迁"),
        "浙江": ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州",
                 "丽水"),
        "安徽": ("合肥", "淮北", "亳州", "宿州", "蚌埠", "阜阳", "淮南", "滁州", "六安", "马鞍山",
                 "芜湖", "宣城", "铜陵", "池州", "安庆", "黄山"),
    }),
    Group("PRD", "珠三角地区", "Pearl River Delta", {
        "广东": ("广州", "深圳", "珠海", "佛山", "江门", "肇庆", "惠州", "东莞", "中山"),
    }),
)}
GROUP_SIZES = {"2+26": 28, "Fenwei": 11, "YRD": 41, "PRD": 9}  # checked by the tests
NATIONAL = ("national", "全国", "National")  # id (region and code), name_zh, name_en

_GROUP_OF = {(province, city): g.id for g in GROUPS.values()
             for province, names in g.cities.items() for city in names}


def province_short(name: str) -> str:
    """A province's name without its level: 河北省 → 河北, 广西壮族自治区 → 广西."""
    return short_name(str(name))


def group_of(province: str, city: str) -> str:
    """The group of the city ``city`` (short name) in ``province`` (full or short name), or
    ``""``. The groups do not overlap."""
    return _GROUP_OF.get((province_short(province), str(city)), "")


def city_groups(cities: pd.DataFrame) -> pd.Series:
    """The group id of each row of a cities table (``province``, ``name_zh``), ``""`` if none."""
    return pd.Series([group_of(p, c) for p, c in zip(cities["province"], cities["name_zh"],
                                                      strict=True)],
                     index=cities.index, dtype=object)


def province_names(name: str) -> tuple[str, str]:
    """(short Chinese, English) name of a province given its full name (河北省 → 河北, Hebei)."""
    from .boundaries import english_name  # boundaries imports this module

    return province_short(name), english_name(str(name))


def region_membership(cities: pd.DataFrame) -> dict[str, Any]:
    """Who belongs where, for ``stats/regions.json``, from the boundaries' cities table
    (``adcode, name_zh, name_en, province, province_adcode``)::

        {"groups": {id: {"name_zh", "name_en", "cities": [adcode, ...]}},
         "provinces": {adcode: {"name_zh", "name_en", "cities": [adcode, ...]}},
         "cities": {adcode: {"name_zh", "name_en", "province": adcode, "groups": [id, ...]}}}

    Adcodes are strings, cities in adcode order; a group lists the cities of the table only."""
    table = cities.assign(adcode=cities["adcode"].astype(str),
                          province_adcode=cities["province_adcode"].astype(str),
                          group=city_groups(cities)).sort_values("adcode")
    groups = {g.id: {"name_zh": g.name_zh, "name_en": g.name_en,
                     "cities": table.loc[table["group"] == g.id, "adcode"].tolist()}
              for g in GROUPS.values()}
    provinces: dict[str, dict[str, Any]] = {}
    for code, part in table.groupby("province_adcode", sort=True):
        zh, en = province_names(str(part["province"].iloc[0]))
        provinces[str(code)] = {"name_zh": zh, "name_en": en,
                                "cities": part["adcode"].tolist()}
    members = {
        str(row.adcode): {"name_zh": str(row.name_zh), "name_en": str(row.name_en),
                          "province": str(row.province_adcode),
                          "groups": [str(row.group)] if row.group else []}
        for row in table.itertuples(index=False)}
    return {"groups": groups, "provinces": provinces, "cities": members}
