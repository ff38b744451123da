import numpy as np
import pytest

from lantian.geo.datum import (
    Datum,
    bd09_to_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)


def test_wgs84_to_gcj02_matches_published_pair() -> None:
    # The reference pair used by eviltransform and most GCJ-02 implementations.
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.410244499169, abs=1e-9)
    assert lat == pytest.approx(39.916404281501, abs=1e-9)


def test_bd09_matches_published_pairs() -> None:
    # The pairs in the README of wandergis/coordtransform, reproduced by many ports.
    assert bd09_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.39762729119315, 39.90865673957631), abs=1e-12)
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-12)


def test_exact_inverse_improves_on_the_one_step_approximation() -> None:
    # coordtransform's one-step gcj02towgs84(116.404, 39.915) is off by ~1e-5°; ours inverts
    # the forward transform to < 1e-6°.
    lon, lat = gcj02_to_wgs84(116.404, 39.915)
    assert (lon, lat) == pytest.approx((116.39775550083061, 39.91359571849836), abs=5e-5)
    assert wgs84_to_gcj02(lon, lat) == pytest.approx((116.404, 39.915), abs=1e-7)


def test_gcj02_inverse_recovers_wgs84_to_a_centimetre() -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(74, 134, 500)
    lat = rng.uniform(19, 53, 500)
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(back_lon - lon).max() < 1e-7
    assert np.abs(back_lat - lat).max() < 1e-7


def test_shift_in_beijing_is_about_600_metres() -> None:
    lon, lat = wgs84_to_gcj02(116.39, 39.91)
    assert 0.004 < lon - 116.39 < 0.008 and 0.0005 < lat - 39.91 < 0.003


def test_points_outside_china_pass_through() -> None:
    lon, lat = gcj02_to_wgs84(2.35, 48.85)
    assert (lon, lat) == (2.35, 48.85)


def test_bd09_round_trip_and_to_wgs84() -> None:
    g_lon, g_lat = wgs84_to_gcj02(114.2037, 36.6965)
    b_lon, b_lat = gcj02_to_bd09(g_lon, g_lat)
    assert b_lon - g_lon == pytest.approx(0.0065, abs=0.002)
    back = bd09_to_gcj02(b_lon, b_lat)
    assert back[0] == pytest.approx(g_lon, abs=2e-6) and back[1] == pytest.approx(g_lat, abs=2e-6)
    w_lon, w_lat = to_wgs84(b_lon, b_lat, "bd09")
    assert w_lon == pytest.approx(114.2037, abs=2e-6) and w_lat == pytest.approx(36.6965, abs=2e-6)


@pytest.mark.parametrize(
    ("text", "datum"),
    [("WGS84", Datum.WGS84), ("EPSG:4326", Datum.WGS84), ("gcj-02", Datum.GCJ02),
     ("火星坐标", Datum.GCJ02), ("BD-09", Datum.BD09), ("baidu", Datum.BD09)],
)
def test_datum_spellings(text: str, datum: Datum) -> None:
    assert Datum.parse(text) is datum


def test_unknown_datum_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown datum 'CGCS2000-ish'"):
        Datum.parse("CGCS2000-ish")
