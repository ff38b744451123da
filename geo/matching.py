"""Records → enterprises: which layer enterprise a violation or output record is about.

Names
    Every name is reduced to a *core* of distinctive words, in three steps; a step that
    would leave nothing is skipped.

    1. Legal words go: 股份有限公司, 有限责任公司, 有限公司, 集团, 公司, 分公司, 总厂, 厂, …;
       co, ltd, limited, company, corp(oration), inc, group, holdings, and, of, ….
    2. Generic industry words go: 钢铁, 特钢, 特种钢, 焦化, 焦煤, 冶金, 工业, 实业, 热电, 发电,
       电厂, 能源, 煤化工, …; iron, steel, special, coking, coke, smelt(ing), metallurgy, power,
       plant, thermal, energy, industry, industrial, works, stainless, ….
    3. Place names go. Chinese: province, prefecture and county names (full or short, from the
       gazetteer) at the start of each part of the name, or forming a part of their own
       (中普(邯郸)钢铁); a place is only taken off when at least two characters remain, as a
       Chinese trade name (字号) has at least two. English: the words at the start of the name
       (one word, or two: "Qian an") that read as a province, prefecture or county in pinyin;
       later words are kept, as pinyin homophones abound (鑫汇 Xinhui, a plant of the Xinwu'an
       group, vs 新会 Xinhui, a district). City, county, district… go with the industry words.
       When every remaining word is a place, the last one is kept as the trade name
       ("Tangshan Xinglong" → xinglong, like 唐山兴隆 → xinglong).

    English is lower-cased, accents dropped, apostrophes and hyphens removed (Xinwu'an →
    xinwuan). Chinese parts are written in toneless pinyin (pypinyin), one word per part, so
    that 河北荣信钢铁有限公司 and "Hebei Rongxin Steel Co Ltd" both have the core ``rongxin``.

Name score
    The record's core against each of the enterprise's names (each alternative of
    ``name_zh``, ``name_en``, ``name``); the best counts. Cores are compared with rapidfuzz:
    the mean of ``token_set_ratio`` over letters and ``ratio`` over pinyin syllables, as
    pinyin names share letters easily (kangzhuang, fangjiazhuang: one syllable of five). A
    Chinese record and an enterprise with a Chinese name are compared by their characters;
    alike in pinyin only (鑫荣, 信荣: other companies) they count ×0.75.

    When the record's core words are a strict subset of the enterprise's (a group named, a
    plant of the group in the layer: "Hebei Xinwu'an Iron and Steel" vs "Hebei Xinwuan Iron
    and Steel Group Xinhui Metallurgy Co Ltd") the score is multiplied by 0.95 if the
    record's name (without legal words) appears word for word in the enterprise's name, else
    by 0.85 (河北新武安钢铁集团普阳钢铁: the group only in Chinese).

    For speed every record is first compared with every enterprise name with
    ``process.cdist(token_sort_ratio)`` (equal to token_set_ratio unless a word is shared;
    pairs sharing a word are rescored with token_set_ratio through a word index), halved
    for enterprises in another province; only the best ``POOL`` enterprises per record are
    scored in full. 10⁵ enterprises × 10³ records take about half a minute on two cores.

Place and industry
    Provinces (pinyin or Chinese) and cities (``Gazetteer.locate``, e.g. "Handan (Wu'an)")
    are resolved to adcode prefixes. A record or enterprise without a resolvable city uses
    the places taken out of its name ("Qinhuangdao Hongxing", 常熟市龙腾), within its known
    province only (an enterprise's Chinese names first: pinyin places are often homophones).
    A province disagreement halves the score; the same prefecture adds 0.05, different
    prefectures subtract 0.25; an unresolvable city ("Meili") changes nothing. Different
    industries subtract 0.15 (an empty industry changes nothing). Scores are clipped to 0–1.

Decision
    best ≥ ``accept`` and best − second ≥ ``margin`` → ``matched``; best ≥ ``review`` →
    ``ambiguous`` (the reason names a close second or the best's conflicts); else
    ``unmatched``, to be placed as a new approximate enterprise (``place_new``). An
    override comes first (``none`` → ``excluded``, ``new`` → ``unmatched`` and placed, an
    id → ``pinned``), then an ``enterprise_id`` given in the record (``given_id``, or
    ``unmatched`` and not placed when the layer lacks it). Pinned and given ids score 1.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pypinyin import Style, lazy_pinyin, pinyin
from pypinyin.constants import PINYIN_DICT
from rapidfuzz import fuzz, process

from ..errors import InputError
from .gazetteer import PROVINCES_EN, Gazetteer, GeocodeResult, short_name

RECORD_COLUMNS = ["record_id", "record_kind", "name", "province", "city", "industry",
                  "enterprise_id"]
MATCH_COLUMNS = ["record_id", "record_kind", "name", "province", "city", "status",
                 "enterprise_id", "score", "candidates", "reason", "place_new"]
NONE, NEW = "none", "new"

GROUP_PHRASE = 0.95  # the record's name appears in the plant's name
GROUP_CORE = 0.85  # only the record's core words are among the plant's
HOMOPHONE = 0.75  # two Chinese names alike in pinyin only (鑫荣, 信荣: other companies)
PROVINCE_CONFLICT = 0.5
SAME_CITY = 0.05
CITY_CONFLICT = 0.25
INDUSTRY_CONFLICT = 0.15
POOL = 50  # enterprises per record scored in full (at least 10 × candidates)
_CELLS = 20_000_000  # record × name cells compared at once

_LEGAL_ZH = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "总公司", "分公司", "公司",
             "集团", "股份", "控股", "总厂", "分厂", "厂")
_GENERIC_ZH = ("特种钢铁", "特殊钢铁", "特种钢", "特殊钢", "不锈钢", "钢铁", "特钢", "钢管", "铸管",
               "煤化工", "焦化", "焦煤", "焦炭", "冶金", "工业", "实业", "热电", "发电", "电厂",
               "电力", "能源", "化工", "煤业", "镍业", "铸业", "金属制品", "金属材料", "新材料",
               "材料", "科技", "工贸", "重工", "线材", "板材", "制品", "矿业", "炼钢", "钒钛",
               "本部", "基地")
_LEGAL_EN = frozenset({"co", "ltd", "limited", "company", "corp", "corporation", "inc", "group",
                       "holdings", "holding", "and", "of", "the", "llc", "plc", "enterprise",
                       "enterprises"})
_GENERIC_EN = frozenset({
    "iron", "steel", "special", "stainless", "coking", "coke", "coal", "chemical", "chemicals",
    "smelt", "smelting", "smelter", "metallurgy", "metallurgical", "power", "plant", "thermal",
    "energy", "electric", "electricity", "generation", "industry", "industries", "industrial",
    "works", "factory", "mill", "branch", "base", "headquarters", "nickel", "alloy",
    "vanadium", "titanium", "material", "materials", "metal", "metals", "products",
    "technology", "pipe", "pipes", "ductile", "tube", "casting", "wire", "plate", "plates",
    "heavy", "trade", "trading", "new", "city", "county", "district", "prefecture",
    "province", "municipality", "town"})
_INDUSTRIES = {"iron and steel": "steel", "iron": "steel", "钢铁": "steel", "coke": "coking",
               "焦化": "coking", "焦炭": "coking", "火电": "power", "电力": "power",
               "燃煤发电": "power", "thermal power": "power"}

# Province names in pinyin, in full and short → full Chinese name.
_PROVINCES = PROVINCES_EN | {n: n for n in PROVINCES_EN.values()} | {
    short_name(n): n for n in PROVINCES_EN.values()}

_CJK = re.compile(r"[\u3400-\u9fff]")
_SEPARATORS = re.compile(r"[\W_]+")
_ALTERNATIVES = re.compile(r"[,，;；、]")
_APOSTROPHES = re.compile(r"['’‘`´\-‐‑–]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _alternation(words: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(sorted(words, key=len, reverse=True)))


_LEGAL_ZH_RE = _alternation(_LEGAL_ZH)
_GENERIC_ZH_RE = _alternation(_GENERIC_ZH)


@dataclass(frozen=True)
class MatchOptions:
    """Decision thresholds and how many candidates each report row lists."""

    accept: float = 0.85
    review: float = 0.6
    margin: float = 0.08
    candidates: int = 5


@dataclass(frozen=True)
class Override:
    """One overrides row: a layer id, ``none`` (leave unmatched) or ``new`` (place anew)."""

    enterprise_id: str
    note: str
    row: int


@dataclass(frozen=True)
class Overrides:
    """Overrides by record id and by record name (compared without case and extra spaces)."""

    file: str
    by_record_id: Mapping[str, Override]
    by_name: Mapping[str, Override]

    def find(self, record_id: str, name: str) -> Override | None:
        return self.by_record_id.get(record_id) or self.by_name.get(_name_key(name))


@dataclass(frozen=True)
class _Name:
    """A name as compared: its core words, its words without legal words, its places."""

    core: str  # space-separated core words (pinyin for Chinese)
    words: frozenset[str]
    phrase: str  # the name without legal words, in its own script
    places: tuple[str, ...]  # place names taken out of the core, as written
    hanzi: str = ""  # a Chinese name's core parts in characters, space-separated


_NO_NAME = _Name("", frozenset(), "", ())


@dataclass(frozen=True)
class _Candidate:
    index: int
    score: float
    name_score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Place:
    province: str  # two-digit adcode prefix, or ""
    city: str  # four-digit prefecture prefix, or ""
    city_label: str


def load_overrides(path: Path | str, enterprise_ids: Collection[str]) -> Overrides:
    """Read an overrides CSV: ``name`` and/or ``record_id``, ``enterprise_id``, ``note``."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise InputError(path, f"cannot read table: {e}") from e
    raw.columns = raw.columns.str.strip()
    if "enterprise_id" not in raw:
        raise InputError(path, "missing required column enterprise_id", field="enterprise_id")
    if "name" not in raw and "record_id" not in raw:
        raise InputError(path, "needs a name or a record_id column", field="name")
    ids = set(enterprise_ids)
    by_record_id: dict[str, Override] = {}
    by_name: dict[str, Override] = {}
    for row, rec in enumerate(raw.to_dict("records"), start=1):
        record_id, name = rec.get("record_id", "").strip(), rec.get("name", "").strip()
        if not record_id and not name:
            raise InputError(path, "a row needs a name or a record_id", row=row,
                             field="name" if "name" in raw else "record_id")
        target = rec["enterprise_id"].strip()
        if target.lower() in (NONE, NEW):
            target = target.lower()
        elif target not in ids:
            raise InputError(path, f"unknown enterprise id {target!r}: not in the enterprise "
                             f"layer (use a layer id, {NONE} or {NEW})", row=row,
                             field="enterprise_id")
        field, key, table = ("record_id", record_id, by_record_id) if record_id else (
            "name", _name_key(name), by_name)
        if key in table:
            raise InputError(path, f"{field} {key!r} is overridden twice (first in row "
                             f"{table[key].row})", row=row, field=field)
        table[key] = Override(target, rec.get("note", "").strip(), row)
    return Overrides(str(path), by_record_id, by_name)


def match_records(
    records: pd.DataFrame,
    enterprises: pd.DataFrame,
    overrides: Overrides | None = None,
    options: MatchOptions = MatchOptions(),
    gazetteer: Gazetteer | None = None,
) -> pd.DataFrame:
    """One row per record (columns ``MATCH_COLUMNS``): status, enterprise, score, candidates
    (JSON, best first) and the reason; ``place_new`` flags records that should become
    approximate enterprises of their own."""
    missing = [c for c in RECORD_COLUMNS if c not in records]
    if missing:
        raise ValueError(f"records lack column(s): {', '.join(missing)}")
    vocabulary = _vocabulary(gazetteer or _gazetteer())
    layer = _Layer(enterprises, vocabulary)
    table = [{k: str(rec[k]).strip() for k in RECORD_COLUMNS}
             for rec in records[RECORD_COLUMNS].fillna("").to_dict("records")]
    names = [vocabulary.name(record["name"]) for record in table]
    provinces = [layer.places.province_of(r["province"], n.places)[1]
                 for r, n in zip(table, names, strict=True)]
    pools = _pools(names, _codes(provinces), layer, max(POOL, 10 * options.candidates))
    rows = []
    for record, name, pool in zip(table, names, pools, strict=True):
        place = layer.places.of(record["province"], record["city"], name.places)
        candidates = sorted(
            (_score(record, name, place, layer, int(i)) for i in pool),
            key=lambda c: (-c.score, -c.name_score, layer.ids[c.index]))
        rows.append(_decide(record, candidates, layer, overrides, options))
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def name_similarity(a: str | Sequence[str], b: str | Sequence[str],
                    gazetteer: Gazetteer | None = None) -> float:
    """How alike two enterprises' names are, 0–1, scored as a record's name against an
    enterprise's (see Name score): the best of ``a``'s names against all of ``b``'s, without
    the place and industry adjustments; 0 when either has no name."""
    vocabulary = _vocabulary(gazetteer or _gazetteer())
    texts_a = [a] if isinstance(a, str) else list(a)
    texts_b = [b] if isinstance(b, str) else list(b)
    others = [("name", vocabulary.name(t)) for t in texts_b if t.strip()]
    return max((_name_score(vocabulary.name(t), others)[0] for t in texts_a if t.strip()),
               default=0.0)


class _Vocabulary:
    """Place names of the gazetteer, and name normalisation with them."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        table = gazetteer.units
        names = {str(n) for n in (*table["name"], *table["short"]) if len(str(n)) >= 2}
        self.gazetteer = gazetteer
        self.zh_places = frozenset(names)
        self.longest = max(map(len, names), default=0)
        readings = {r for n in table["short"] for r in _readings(str(n))}
        provinces = {p.replace(" ", "") for p in PROVINCES_EN}
        self.en_places = frozenset(readings | provinces)

    def name(self, text: str) -> _Name:
        return self._chinese(text) if _CJK.search(text) else self._english(text)

    def _english(self, text: str) -> _Name:
        words = _ascii(text).split()
        legal = [w for w in words if w not in _LEGAL_EN] or words
        generic = [w for w in legal if w not in _GENERIC_EN] or legal
        core, places = self._english_places(generic)
        return _Name(" ".join(core), frozenset(core), " ".join(legal), tuple(places))

    def _english_places(self, words: list[str]) -> tuple[list[str], list[str]]:
        places: list[str] = []
        while words:
            pair = "".join(words[:2])
            size = 2 if len(words) > 1 and pair in self.en_places else int(
                words[0] in self.en_places)
            if not size:
                break
            places.append(pair if size == 2 else words[0])
            words = words[size:]
        if not words and places:  # every word a place: the last one is the trade name
            words = [places.pop()]
        return words, places

    def _chinese(self, text: str) -> _Name:
        parts = [p for p in _SEPARATORS.split(text) if p]
        legal = _split(parts, _LEGAL_ZH_RE) or parts
        generic = _split(legal, _GENERIC_ZH_RE) or legal
        core, places = self._chinese_places(generic)
        spelled = "".join(lazy_pinyin(" ".join(core))).lower()
        words = [w for w in _NON_WORD.split(spelled) if w]
        return _Name(" ".join(words), frozenset(words), "".join(legal), tuple(places),
                    " ".join(core))

    def _chinese_places(self, parts: list[str]) -> tuple[list[str], list[str]]:
        core: list[str] = []
        places: list[str] = []
        whole: list[str] = []  # parts that are place names only
        for part in parts:
            while (n := self._place_prefix(part)) and len(part) - n >= 2:
                places.append(part[:n])
                part = part[n:]
            (whole if self._all_places(part) else core).append(part)
        if not core:  # every part a place: the last one is the trade name
            core = [whole.pop()]
        return core, places + whole

    def _place_prefix(self, text: str) -> int:
        """Length of the longest place name ``text`` starts with (0 if none)."""
        for n in range(min(len(text), self.longest), 1, -1):
            if text[:n] in self.zh_places:
                return n
        return 0

    def _all_places(self, text: str) -> bool:
        while text:
            n = self._place_prefix(text)
            if not n:
                return False
            text = text[n:]
        return True


class _Places:
    """Provinces and prefectures of records and enterprises, resolved once per name."""

    def __init__(self, vocabulary: _Vocabulary) -> None:
        self._gazetteer = vocabulary.gazetteer
        self._provinces: dict[str, str] = {}
        self._cities: dict[tuple[str, str], GeocodeResult | None] = {}

    def province_of(self, province: str, places: Sequence[str]) -> tuple[str, str]:
        """The province named by ``province``, else by one of ``places``: (its name as
        written, its two-digit adcode prefix), or ("", "")."""
        if prefix := self._province(province):
            return province, prefix
        return next(((p, c) for p in places if (c := self._province(p))), ("", ""))

    def of(self, province: str, city: str, places: Sequence[str]) -> _Place:
        """The place of a record or enterprise from its own fields; without a resolvable
        city, from the places taken out of its name, but only within a known province (a
        pinyin place name alone is too often another county's homophone)."""
        scope, prefix = self.province_of(province, places)
        for text in [city] if city else []:
            if found := self._city(scope, prefix, text):
                return _Place(prefix, found.adcode[:4], f"{text} ({found.name})")
        for text in places if prefix else ():
            found = None if self._province(text) else self._city(scope, prefix, text)
            # a Chinese place from a name is a unit's name: anything else is a misreading
            if found and (found.name.startswith(text) or not _CJK.search(text)):
                return _Place(prefix, found.adcode[:4], f"{text} ({found.name})")
        return _Place(prefix, "", "")

    def _province(self, text: str) -> str:
        """The two-digit adcode prefix of the province ``text`` names, or ""."""
        if text not in self._provinces:
            name = _PROVINCES.get(text.strip().lower(), text)  # 吉林: the province, not the city
            found = self._gazetteer.locate(province=name) if text else None
            self._provinces[text] = found.adcode[:2] if found is not None \
                and found.precision == "province" else ""
        return self._provinces[text]

    def _city(self, scope: str, prefix: str, text: str) -> GeocodeResult | None:
        """The prefecture or county ``text`` names (within ``scope``, a province name, and
        its adcode ``prefix`` when known), or None."""
        key = (scope, text)
        if key not in self._cities:
            found = self._gazetteer.locate(province=scope or None, city=text)
            self._cities[key] = found if found is not None and found.precision != "province" \
                and found.adcode.startswith(prefix) else None
        return self._cities[key]


class _Layer:
    """The enterprise layer prepared for scoring: names, places, industries, word index."""

    def __init__(self, enterprises: pd.DataFrame, vocabulary: _Vocabulary) -> None:
        def column(name: str) -> list[str]:
            values = enterprises[name] if name in enterprises else pd.Series(
                "", index=enterprises.index)
            return [str(v).strip() for v in values.fillna("")]

        self.ids, self.names = column("id"), column("name")
        self.id_set = frozenset(self.ids)
        self.provinces, self.cities = column("province"), column("city")
        self.industries = [_industry(i) for i in column("industry")]
        self.places = _Places(vocabulary)
        self.variants: list[list[tuple[str, _Name]]] = []
        for zh, en, name in zip(column("name_zh"), column("name_en"), self.names, strict=True):
            labelled = [("name_zh", a.strip()) for a in _ALTERNATIVES.split(zh) if a.strip()]
            labelled += [("name_en", en)] if en else []
            labelled += [("name", name)] if name and name not in (zh, en) else []
            self.variants.append([(label, vocabulary.name(text)) for label, text in labelled])
        self.name_places = [_name_places(v) for v in self.variants]
        self.province_codes = _codes([
            self.places.province_of(p, n)[1]
            for p, n in zip(self.provinces, self.name_places, strict=True)])
        self._place_cache: dict[int, _Place] = {}

    def flat(self) -> tuple[list[_Name], np.ndarray]:
        """Every enterprise's names in order (an empty one for a nameless enterprise), and
        where each enterprise's names start."""
        flat: list[_Name] = []
        starts = []
        for variants in self.variants:
            starts.append(len(flat))
            flat += [n for _, n in variants] or [_NO_NAME]
        return flat, np.asarray(starts, dtype=np.intp)

    def place(self, index: int) -> _Place:
        if index not in self._place_cache:
            self._place_cache[index] = self.places.of(
                self.provinces[index], self.cities[index], self.name_places[index])
        return self._place_cache[index]


def _name_places(variants: list[tuple[str, _Name]]) -> tuple[str, ...]:
    """Places in an enterprise's names; Chinese ones (exact) are preferred to pinyin ones
    (often homophones of other places)."""
    chinese = [n for label, n in variants if label == "name_zh"]
    return tuple(p for n in chinese or [n for _, n in variants] for p in n.places)


def _codes(prefixes: Sequence[str]) -> np.ndarray:
    """Two-digit province prefixes as integers, 0 where unknown."""
    return np.asarray([int(p) if p else 0 for p in prefixes], dtype=np.int16)


def _pools(names: list[_Name], provinces: np.ndarray, layer: _Layer,
           size: int) -> list[np.ndarray]:
    """For each record, the ``size`` enterprises whose best name scores highest, halved in
    another province (record ``provinces`` as from ``_codes``)."""
    if not layer.ids:
        return [np.empty(0, dtype=np.intp) for _ in names]
    size = min(size, len(layer.ids))
    flat, starts = layer.flat()
    cores, core_index = np.unique([n.core for n in flat], return_inverse=True)
    index: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(flat):
        for word in n.words:
            index[word].append(i)
    pools: list[np.ndarray] = []
    chunk = max(1, _CELLS // len(flat))
    for first in range(0, len(names), chunk):
        block = names[first:first + chunk]
        dense = process.cdist([n.core for n in block], list(cores),
                              scorer=fuzz.token_sort_ratio, dtype=np.uint8, workers=-1)
        scores = dense[:, core_index]
        for row, name in enumerate(block):
            shared = sorted({i for w in name.words for i in index.get(w, ())})
            if shared:
                exact = process.cdist([name.core], [flat[i].core for i in shared],
                                      scorer=fuzz.token_set_ratio, dtype=np.uint8)[0]
                scores[row, shared] = np.maximum(scores[row, shared], exact)
        best = np.maximum.reduceat(scores, starts, axis=1).astype(np.int16)
        mine, theirs = provinces[first:first + chunk, None], layer.province_codes[None, :]
        best[(mine > 0) & (theirs > 0) & (mine != theirs)] //= 2
        top = np.argpartition(-best, size - 1, axis=1)[:, :size]
        pools += [top[row] if name.core else top[row, :0] for row, name in enumerate(block)]
    return pools


def _score(record: dict[str, str], name: _Name, place: _Place, layer: _Layer,
           index: int) -> _Candidate:
    """The full score of one enterprise for one record, with its reasons."""
    name_score, reasons = _name_score(name, layer.variants[index])
    score = name_score
    other = layer.place(index)
    if place.province and other.province and place.province != other.province:
        score *= PROVINCE_CONFLICT
        reasons.append(f"province conflict: record {record['province'] or '(from name)'} "
                       f"vs enterprise {layer.provinces[index] or '(from name)'}")
    if place.city and other.city:
        if place.city == other.city:
            score += SAME_CITY
            reasons.append(f"same city: {place.city_label}")
        else:
            score -= CITY_CONFLICT
            reasons.append(f"city conflict: record {place.city_label} "
                           f"vs enterprise {other.city_label}")
    industry = _industry(record["industry"])
    if industry and layer.industries[index] and industry != layer.industries[index]:
        score -= INDUSTRY_CONFLICT
        reasons.append(f"industry conflict: record {industry} "
                       f"vs enterprise {layer.industries[index]}")
    return _Candidate(index, min(max(score, 0.0), 1.0), name_score, tuple(reasons))


def _name_score(name: _Name, variants: list[tuple[str, _Name]]) -> tuple[float, list[str]]:
    """The best score over the enterprise's names. A Chinese record and an enterprise with
    a Chinese name compare characters; alike in pinyin only (in any of its names) they
    count ×``HOMOPHONE``."""
    chinese = bool(name.hanzi) and any(other.hanzi for _, other in variants)
    best: tuple[float, list[str]] = (0.0, ["no name in common"])
    for label, other in variants:
        if not name.core or not other.core:
            continue
        sound = _pinyin_score(name, other)
        chars = fuzz.token_set_ratio(name.hanzi, other.hanzi) / 100 if chinese else sound
        score = max(chars, HOMOPHONE * sound)
        shown = other.hanzi if chinese and other.hanzi else other.core
        reasons = [f"name {score:.2f} ({label} '{shown}')"] + (
            ["alike in pinyin only"] if chars < score else [])
        if name.words < other.words:
            contained = _contains(other.phrase, name.phrase)
            score *= GROUP_PHRASE if contained else GROUP_CORE
            reasons.append("group name matches a plant of the group"
                           + ("" if contained else " (core words only)"))
        if score > best[0]:
            best = (score, reasons)
    return best[0], list(best[1])


def _pinyin_score(name: _Name, other: _Name) -> float:
    """The mean of ``token_set_ratio`` over letters and ``ratio`` over pinyin syllables (1
    when one name's words are among the other's): kangzhuang vs fangjiazhuang share most
    letters but one syllable of five."""
    letters = fuzz.token_set_ratio(name.core, other.core) / 100
    if name.words <= other.words or other.words <= name.words:
        return letters
    syllables = fuzz.ratio(_spelled(name.core), _spelled(other.core)) / 100
    return (letters + syllables) / 2


def _spelled(core: str) -> list[str]:
    """A core's words, sorted, cut into pinyin syllables (a word that is not pinyin whole)."""
    return [s for word in sorted(core.split()) for s in _cut(word) or (word,)]


@lru_cache(maxsize=1 << 16)
def _cut(word: str) -> tuple[str, ...] | None:
    """``word`` as pinyin syllables, longest first, or None if it is not pinyin."""
    if not word:
        return ()
    for n in range(min(6, len(word)), 0, -1):
        if word[:n] in _syllables() and (rest := _cut(word[n:])) is not None:
            return word[:n], *rest
    return None


@cache
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable with a vowel (ü written u or v)."""
    readings = {r for value in PINYIN_DICT.values() for r in value.split(",")}
    plain = {_ascii(r) for r in readings} | {"lv", "nv", "lve", "nve"}
    return frozenset(s for s in plain if re.search("[aeiouv]", s))


def _decide(record: dict[str, str], candidates: list[_Candidate], layer: _Layer,
            overrides: Overrides | None, options: MatchOptions) -> dict[str, Any]:
    best = candidates[0] if candidates else None
    second = candidates[1] if len(candidates) > 1 else None
    row: dict[str, Any] = {
        **{k: record[k] for k in ("record_id", "record_kind", "name", "province", "city")},
        "enterprise_id": "", "score": round(best.score, 3) if best else 0.0,
        "candidates": json.dumps([_candidate_json(c, layer) for c in
                                  candidates[:options.candidates]], ensure_ascii=False),
        "place_new": False,
    }
    override = overrides.find(record["record_id"], record["name"]) if overrides else None
    given = override.enterprise_id if override else record["enterprise_id"]
    note = f" ({override.note})" if override and override.note else ""
    if override and given == NONE:
        return row | {"status": "excluded", "reason": f"override: leave unmatched{note}"}
    if override and given == NEW:
        return row | {"status": "unmatched", "place_new": True,
                      "reason": "override: place as a new enterprise"}
    if given:
        source = "override" if override else "given"
        if given not in layer.id_set:
            return row | {"status": "unmatched", "reason":
                          f"{source} enterprise_id {given} is not in the enterprise layer"}
        reason = f"override: pinned{note}" if override else "enterprise_id given in the record"
        return row | {"status": "pinned" if override else "given_id", "enterprise_id": given,
                      "score": 1.0, "reason": reason}
    if best is None or best.score < options.review:
        shown = f"; best: {_label(best, layer)}" if best else ""
        return row | {"status": "unmatched", "place_new": True,
                      "reason": f"no candidate scored ≥ {options.review:g}{shown}"}
    close = second is not None and best.score - second.score < options.margin
    if best.score >= options.accept and not close:
        return row | {"status": "matched", "enterprise_id": layer.ids[best.index],
                      "reason": "; ".join(best.reasons)}
    why = [] if best.score >= options.accept else [
        f"best {_label(best, layer)} is below {options.accept:g}",
        *(r for r in best.reasons if "conflict" in r)]
    if close and second is not None:
        why.append(f"close second: {_label(second, layer)}")
    return row | {"status": "ambiguous", "reason": "; ".join(why)}


def _candidate_json(candidate: _Candidate, layer: _Layer) -> dict[str, Any]:
    return {"id": layer.ids[candidate.index], "name": layer.names[candidate.index],
            "score": round(candidate.score, 3), "reasons": list(candidate.reasons)}


def _label(candidate: _Candidate, layer: _Layer) -> str:
    return f"{layer.names[candidate.index]} ({candidate.score:.2f})"


def _split(parts: list[str], words: re.Pattern[str]) -> list[str]:
    """``parts`` cut at every occurrence of ``words``, without empty pieces."""
    return [piece for part in parts for piece in words.split(part) if piece]


def _contains(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text``: whole words in English, characters in Chinese."""
    if not phrase:
        return False
    if _CJK.search(phrase):
        return phrase in text
    return f" {phrase} " in f" {text} "


def _ascii(text: str) -> str:
    """Lower case, apostrophes and hyphens removed, accents dropped, words split."""
    text = _APOSTROPHES.sub("", text.lower())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(_NON_WORD.split(text)).strip()


def _readings(name: str, limit: int = 16) -> set[str]:
    """Toneless pinyin spellings of a place name, every heteronym, ü as v and u."""
    syllables = pinyin(name, style=Style.NORMAL, heteronym=True)
    spellings = {"".join(p) for p in itertools.islice(itertools.product(*syllables), limit)}
    return {s.lower() for s in spellings | {s.replace("v", "u") for s in spellings}}


def _industry(text: str) -> str:
    key = text.strip().lower().replace("_", " ")
    return "power" if key.endswith("power") else _INDUSTRIES.get(key, key)


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


@cache
def _vocabulary(gazetteer: Gazetteer) -> _Vocabulary:
    return _Vocabulary(gazetteer)


@cache
def _gazetteer() -> Gazetteer:
    return Gazetteer()
