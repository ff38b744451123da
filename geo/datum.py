"""Chinese map datums: GCJ-02 ("Mars coordinates") and BD-09 (Baidu) to WGS-84.

No maintained library covers these obfuscated datums, so the standard Krasovsky-ellipsoid
formulas are implemented here, vectorised; GCJ-02 → WGS-84 is inverted iteratively to < 1e-7°.
Points outside China are not shifted by GCJ-02 and pass through unchanged.
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_A = 6378245.0  # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0


class Datum(StrEnum):
    """A horizontal datum as used by Chinese map providers."""

    WGS84 = "WGS-84"
    GCJ02 = "GCJ-02"
    BD09 = "BD-09"

    @classmethod
    def parse(cls, text: str) -> Datum:
        """Parse common spellings: ``wgs84``, ``EPSG:4326``, ``gcj02``, ``火星坐标``, ``bd09``…"""
        key = "".join(ch for ch in text.strip().lower() if ch.isalnum() or ord(ch) > 127)
        for datum, spellings in _SPELLINGS.items():
            if key in spellings:
                return datum
        raise ValueError(f"unknown datum {text!r} (expected WGS-84, GCJ-02 or BD-09)")


_SPELLINGS: dict[Datum, set[str]] = {
    Datum.WGS84: {"wgs84", "wgs", "epsg4326", "gps", "wgs1984"},
    Datum.GCJ02: {"gcj02", "gcj", "mars", "火星坐标", "火星坐标系", "国测局坐标", "amap", "gaode",
                  "高德", "tencent", "腾讯"},
    Datum.BD09: {"bd09", "bd09ll", "baidu", "百度", "百度坐标"},
}


def out_of_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where GCJ-02 applies no shift (the rough bounding box of the algorithm)."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    return ~((x > 73.66) & (x < 135.05) & (y > 3.86) & (y < 53.55))


def _delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * math.pi) + 320 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * math.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS-84 → GCJ-02."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _delta(x, y)
    return x + dlon, y + dlat


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, tolerance: float = 1e-8, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → WGS-84 by fixed-point iteration of the forward transform."""
    gx, gy = np.asarray(lon, float), np.asarray(lat, float)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(max_iter):
        fx, fy = wgs84_to_gcj02(wx, wy)
        ex, ey = fx - gx, fy - gy
        wx, wy = wx - ex, wy - ey
        if np.nanmax(np.abs(np.concatenate([np.ravel(ex), np.ravel(ey)])), initial=0) < tolerance:
            break
    return wx, wy


def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 → GCJ-02 (Baidu's published inverse)."""
    x, y = np.asarray(lon, float) - 0.0065, np.asarray(lat, float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → BD-09 (Baidu's published forward transform)."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, datum: Datum | str
) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates given in ``datum`` to WGS-84."""
    d = datum if isinstance(datum, Datum) else Datum.parse(datum)
    if d is Datum.WGS84:
        return np.asarray(lon, float), np.asarray(lat, float)
    if d is Datum.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
