"""Real Q1 2019 data shared by the layers tests (read once per session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lantian.layers.observations import daily_means, quarterly_means, read_hourly


@pytest.fixture(scope="session")
def q1_hourly(demo_data: Path) -> pd.DataFrame:
    folder = demo_data / "pm25"
    return read_hourly([folder / f"china_sites_pm25_20190{m}.csv.gz" for m in (1, 2, 3)])


@pytest.fixture(scope="session")
def q1_daily(q1_hourly: pd.DataFrame) -> pd.DataFrame:
    return daily_means(q1_hourly)


@pytest.fixture(scope="session")
def stations(demo_data: Path) -> pd.DataFrame:
    """match1.csv in the stations contract's shape (code, city, province, lon, lat)."""
    raw = pd.read_csv(demo_data / "stations" / "cnemc_stations_1605_versey-sherry_match1.csv")
    return pd.DataFrame({"code": raw["id"].str.removeprefix("X"), "city": raw["cityid"],
                         "province": raw["provinceid"], "lon": raw["lon"], "lat": raw["lat"]})


@pytest.fixture(scope="session")
def q1_station_means(q1_daily: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """Valid Q1 2019 station means with coordinates (X3132A's bad latitude excluded)."""
    means = quarterly_means(q1_daily)
    table = means[means["valid"]].merge(stations, on="code").dropna(subset=["lon", "lat"])
    return table[table["code"] != "3132A"].reset_index(drop=True)
