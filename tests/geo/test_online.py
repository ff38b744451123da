import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lantian.geo.datum import Datum, wgs84_to_gcj02
from lantian.geo.enterprises import load_enterprise_table
from lantian.geo.gazetteer import Gazetteer
from lantian.geo.online import OnlineGeocoder


@dataclass
class Location:
    longitude: float
    latitude: float
    address: str


class FakeAmap:
    """Answers like a GCJ-02 provider would; counts the queries it is asked."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.times: list[float] = []

    def geocode(self, query: str, **kwargs: Any) -> Location | None:
        self.queries.append(query)
        self.times.append(time.monotonic())
        if "不存在" in query:
            return None
        lon, lat = wgs84_to_gcj02(114.2, 36.7)
        return Location(float(lon), float(lat), "河北省邯郸市武安市 " + query[-6:])


def test_answers_are_converted_cached_and_rate_limited(tmp_path: Path) -> None:
    provider = FakeAmap()
    cache = tmp_path / "cache" / "geocode.sqlite"
    online = OnlineGeocoder(provider, cache, provider="amap", datum=Datum.GCJ02,
                            min_delay_seconds=0.0)
    first = online.locate("河北省武安市工业路1号")
    assert first is not None and first.source == "online:amap"
    assert (first.lon, first.lat) == (pytest.approx(114.2, abs=1e-6),
                                      pytest.approx(36.7, abs=1e-6))
    assert online.locate("河北省不存在的地方") is None
    online.close()
    again = OnlineGeocoder(provider, cache, provider="amap", datum=Datum.GCJ02)
    assert again.locate("河北省武安市工业路1号") == first
    assert again.locate("河北省不存在的地方") is None  # a miss is cached too
    assert provider.queries == ["河北省武安市工业路1号", "河北省不存在的地方"]
    again.close()


def test_queries_are_spaced_by_the_minimum_delay(tmp_path: Path) -> None:
    provider = FakeAmap()
    online = OnlineGeocoder(provider, tmp_path / "c.sqlite", provider="amap",
                            min_delay_seconds=0.2)
    for query in ("甲", "乙", "甲"):  # the repeated query is answered from the cache
        online.locate(query)
    online.close()
    assert provider.queries == ["甲", "乙"]
    assert provider.times[1] - provider.times[0] >= 0.19


def test_table_rows_with_addresses_use_the_provider(tmp_path: Path) -> None:
    path = tmp_path / "plants.csv"
    path.write_text("name,industry,province,city,county,address\n"
                    "A,steel,河北省,邯郸市,武安市,工业路1号\n"
                    "B,steel,河北省,邯郸市,武安市,\n"
                    "C,steel,河北省,邯郸市,武安市,不存在\n", encoding="utf-8")
    provider = FakeAmap()
    online = OnlineGeocoder(provider, tmp_path / "c.sqlite", provider="amap",
                            datum=Datum.GCJ02, min_delay_seconds=0.0)
    plants, report = load_enterprise_table(path, Gazetteer(), online)
    by_name = plants.set_index("name")
    assert by_name.loc["A", "geocode_source"] == "online:amap"
    assert by_name.loc["A", "geocode_precision"] == "point"
    # no street address: the provider is not asked; a miss falls back to the gazetteer
    assert by_name.loc["B", "geocode_source"] == "gazetteer"
    assert by_name.loc["C", "geocode_precision"] == "county"
    assert len(provider.queries) == 2 and report.empty
    online.close()
