from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from lantian.tiles.colormaps import BREAKPOINTS, COLORMAPS, NODATA_CLASS, get_colormap


def test_classify_uses_half_open_classes_and_nodata() -> None:
    values = [-3.0, 0.0, 14.99, 15.0, 34.9, 35.0, 75.0, 114.9, 115.0, 150.0, 249.9, 250.0, 900.0]
    classes = get_colormap("pm25").classify(np.array(values))
    assert classes.tolist() == [0, 0, 0, 1, 1, 2, 3, 3, 4, 5, 5, 6, 6]
    assert classes.dtype == np.uint8
    nodata = get_colormap("pm25").classify(np.array([[np.nan, np.inf], [1.0, np.nan]]))
    assert nodata.tolist() == [[NODATA_CLASS, NODATA_CLASS], [0, NODATA_CLASS]]


@pytest.mark.parametrize("shift", [0.0, 0.1])
def test_classify_float32_values_against_float64_bounds(shift: float) -> None:
    """Float32 values at and beside every bound fall where float64 comparisons put them, also
    for bounds a float32 cannot hold (15.1, 35.1…: float32(35.1) < 35.1)."""
    scale = get_colormap("pm25")
    shifted = dataclasses.replace(scale, classes=tuple(
        dataclasses.replace(c, upper=None if c.upper is None else c.upper + shift)
        for c in scale.classes))
    uppers = np.array([c.upper for c in shifted.classes[:-1]], dtype=np.float64)
    assert shift == 0 or (uppers.astype(np.float32) < uppers).any()
    at = uppers.astype(np.float32)
    values = np.concatenate([at, np.nextafter(at, np.float32(-np.inf)),
                             np.nextafter(at, np.float32(np.inf)), [np.nan, np.inf]])
    expected = np.searchsorted(uppers, values.astype(np.float64), side="right")
    expected[~np.isfinite(values)] = NODATA_CLASS
    assert shifted.classify(values).tolist() == expected.tolist()
    assert shifted.classify(values.astype(np.float64)).tolist() == expected.tolist()


@pytest.mark.parametrize("name", ["pm25", "pm25-cb"])
def test_scales_share_breakpoints_and_are_distinct(name: str) -> None:
    scale = COLORMAPS[name]
    assert [c.lower for c in scale.classes] == list(BREAKPOINTS)
    assert [c.upper for c in scale.classes] == [*BREAKPOINTS[1:], None]
    assert len({c.rgba for c in scale.classes}) == len(scale.classes)
    assert all(c.rgba[3] == 255 for c in scale.classes)


def test_labels_cite_the_standards() -> None:
    labels = [c.label for c in get_colormap("pm25-cb").classes]
    assert "GB 3095-2012" in labels[0] and "grade I " in labels[0]
    assert "GB 3095-2012" in labels[1] and "grade II" in labels[1]
    assert "24-h" in labels[2]
    assert all("HJ 633-2012" in label for label in labels[3:])


def test_cb_scale_is_monotone_in_lightness() -> None:
    rgb = np.array([c.rgba[:3] for c in get_colormap("pm25-cb").classes], dtype=float)
    luminance = rgb @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) < 0)


def test_to_json_is_a_legend() -> None:
    doc = json.loads(json.dumps(get_colormap("pm25").to_json()))
    assert doc["name"] == "pm25" and doc["units"] == "µg/m³" and doc["nodata"] == 255
    assert doc["classes"][0] == {
        "index": 0,
        "lower": 0.0,
        "upper": 15.0,
        "color": "#00994c",
        "rgba": [0, 153, 76, 255],
        "label": "0–15: within the GB 3095-2012 annual grade I limit",
    }
    assert doc["classes"][-1]["upper"] is None


def test_unknown_colormap_lists_known_names() -> None:
    with pytest.raises(KeyError, match="pm25-cb"):
        get_colormap("viridis")
