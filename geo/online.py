"""Optional online geocoding through geopy: rate-limited, with a persistent sqlite cache.

Off by default: the pipeline geocodes offline from the gazetteer and only asks a provider when
one is configured. Each answer is cached by provider and query, so a rebuild asks nothing again
and works offline once the cache holds every query.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from geopy.extra.rate_limiter import RateLimiter

from .datum import Datum, to_wgs84


class Geocoder(Protocol):
    """What lantian needs of a geopy geocoder."""

    def geocode(self, query: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class OnlineResult:
    """A WGS-84 point from a provider, tagged ``online:<provider>``."""

    lon: float
    lat: float
    source: str
    address: str
    source_datum: Datum


class OnlineGeocoder:
    """A geopy geocoder wrapped with a rate limit and a persistent cache.

    ``datum`` declares the provider's coordinate datum (Amap and Tencent answer in GCJ-02,
    Baidu in BD-09, Nominatim in WGS-84); answers are converted to WGS-84.
    """

    def __init__(
        self,
        geocoder: Geocoder,
        cache_path: Path,
        *,
        provider: str,
        datum: Datum = Datum.WGS84,
        min_delay_seconds: float = 1.0,
        max_retries: int = 2,
    ) -> None:
        self.provider = provider
        self.datum = datum
        self._geocode = RateLimiter(
            geocoder.geocode, min_delay_seconds=min_delay_seconds, max_retries=max_retries,
            swallow_exceptions=False,
        )
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(cache_path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (provider TEXT, query TEXT, answer TEXT, "
            "PRIMARY KEY (provider, query))"
        )

    def locate(self, query: str) -> OnlineResult | None:
        """The provider's point for ``query`` (cached, also when it found nothing)."""
        row = self._db.execute(
            "SELECT answer FROM answers WHERE provider = ? AND query = ?", (self.provider, query)
        ).fetchone()
        answer: dict[str, Any] | None
        if row is None:
            found = self._geocode(query)
            answer = None if found is None else {
                "lon": float(found.longitude), "lat": float(found.latitude),
                "address": str(found.address),
            }
            with self._db:
                self._db.execute("INSERT INTO answers VALUES (?, ?, ?)",
                                 (self.provider, query, json.dumps(answer, ensure_ascii=False)))
        else:
            answer = json.loads(row[0])
        if answer is None:
            return None
        lon, lat = to_wgs84(answer["lon"], answer["lat"], self.datum)
        return OnlineResult(float(lon), float(lat), f"online:{self.provider}", answer["address"],
                            self.datum)

    def close(self) -> None:
        self._db.close()
