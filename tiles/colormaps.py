"""Classed PM2.5 colour scales shared by the tile renderer, the server and the web legend.

Breakpoints (µg/m³) are the same for every scale and every quarter:

- 15 and 35: GB 3095-2012 annual-mean limits, grade I and grade II;
- 75: GB 3095-2012 24-hour grade II limit (= HJ 633-2012 IAQI 100);
- 115, 150, 250: HJ 633-2012 PM2.5 IAQI band edges 150, 200, 300.

``DIFF_COLORMAPS`` holds the diverging scale of a change between two periods (B − A, µg/m³,
``pm25-diff``): the difference tiles of ``server/tiles/diff.py``, not rendered by the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

NODATA_CLASS = 255
BREAKPOINTS: tuple[float, ...] = (0.0, 15.0, 35.0, 75.0, 115.0, 150.0, 250.0)
UNITS = "µg/m³"

RGBA = tuple[int, int, int, int]

LABELS: tuple[str, ...] = (
    "0–15: within the GB 3095-2012 annual grade I limit",
    "15–35: within the GB 3095-2012 annual grade II limit",
    "35–75: above the annual grade II limit; within the GB 3095-2012 24-h grade II limit",
    "75–115: HJ 633-2012 AQI 101–150, lightly polluted",
    "115–150: HJ 633-2012 AQI 151–200, moderately polluted",
    "150–250: HJ 633-2012 AQI 201–300, heavily polluted",
    "≥ 250: HJ 633-2012 AQI > 300, severely polluted",
)


@dataclass(frozen=True)
class ColorClass:
    """One class: values in [lower, upper) get ``rgba``; ``lower`` or ``upper`` None means
    open-ended."""

    lower: float | None
    upper: float | None
    rgba: RGBA
    label: str

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgba[:3])


@dataclass(frozen=True)
class Colormap:
    """A classed colour scale: class ``i`` covers ``[classes[i].lower, classes[i].upper)``
    (for the PM2.5 scales ``[BREAKPOINTS[i], BREAKPOINTS[i+1])``)."""

    name: str
    title: str
    source: str
    classes: tuple[ColorClass, ...]

    def classify(self, values: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """Class index per value (values below the first bound fall in class 0); NaN → 255."""
        data = np.asarray(values)
        if data.dtype.kind != "f":
            data = data.astype(np.float64)
        index = np.zeros(data.shape, dtype=np.uint8)
        for upper in (c.upper for c in self.classes[:-1] if c.upper is not None):
            index += data >= _bound(upper, data.dtype)
        index[~np.isfinite(data)] = NODATA_CLASS
        return index

    def to_json(self) -> dict[str, Any]:
        """The legend document served at ``/api/colormaps/{name}``."""
        return {
            "name": self.name,
            "title": self.title,
            "units": UNITS,
            "source": self.source,
            "nodata": NODATA_CLASS,
            "classes": [
                {
                    "index": i,
                    "lower": c.lower,
                    "upper": c.upper,
                    "color": c.hex,
                    "rgba": list(c.rgba),
                    "label": c.label,
                }
                for i, c in enumerate(self.classes)
            ],
        }


def _bound(value: float, dtype: np.dtype[Any]) -> np.floating[Any]:
    """A class bound in the data's own float type when exact there (comparisons then run in
    that type, three times faster for float32), else in float64."""
    exact = dtype.type(value)
    return exact if exact == value else np.float64(value)


def class_rgba(
    values: npt.ArrayLike, classes: Sequence[Mapping[str, Any]]
) -> npt.NDArray[np.uint8]:
    """RGBA per value by the ``classes`` of a legend document (``Colormap.to_json()``, or a
    release's copy), as ``Colormap.classify``; NaN → transparent."""
    data = np.asarray(values, dtype=np.float64)
    uppers = np.array([float(c["upper"]) for c in classes[:-1]], dtype=np.float64)
    index = np.searchsorted(uppers, data, side="right")
    palette = np.array([tuple(c["rgba"]) for c in classes], dtype=np.uint8)
    rgba = palette[np.clip(index, 0, len(classes) - 1)]
    rgba[~np.isfinite(data)] = 0
    return rgba


def _scale(name: str, title: str, source: str, colors: tuple[str, ...]) -> Colormap:
    uppers: tuple[float | None, ...] = (*BREAKPOINTS[1:], None)
    classes = tuple(
        ColorClass(lower, upper, (*_rgb(color), 255), label)
        for lower, upper, color, label in zip(BREAKPOINTS, uppers, colors, LABELS, strict=True)
    )
    return Colormap(name, title, source, classes)


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


PM25 = _scale(
    "pm25",
    "PM2.5 (AQI-style colours)",
    "HJ 633-2012 AQI colours (green, yellow, orange, red, purple, maroon); "
    "the 0–35 band is split at the GB 3095-2012 grade I limit, 0–15 in a deeper green.",
    ("#00994c", "#00e400", "#ffff00", "#ff7e00", "#ff0000", "#99004c", "#7e0023"),
)

PM25_CB = _scale(
    "pm25-cb",
    "PM2.5 (colour-blind-safe)",
    "ColorBrewer 2.0 sequential YlOrRd, 7 classes (Brewer & Harrower, colorbrewer2.org; "
    "marked colour-blind safe).",
    ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
)

COLORMAPS: Mapping[str, Colormap] = {c.name: c for c in (PM25, PM25_CB)}

# The change between two periods, B − A (µg/m³): classes symmetric around "within ±5" (little
# change), at 5, 10, 20 and 40 µg/m³ either way; each class is [lower, upper) like the others.
DIFF_BOUNDS: tuple[float, ...] = (-40.0, -20.0, -10.0, -5.0, 5.0, 10.0, 20.0, 40.0)
DIFF_LABELS: tuple[str, ...] = (
    "< −40: at least 40 lower in B (cleaner)",
    "−40 to −20: 20 to 40 lower in B (cleaner)",
    "−20 to −10: 10 to 20 lower in B (cleaner)",
    "−10 to −5: 5 to 10 lower in B (cleaner)",
    "−5 to 5: within 5 (little change)",
    "5 to 10: 5 to 10 higher in B (dirtier)",
    "10 to 20: 10 to 20 higher in B (dirtier)",
    "20 to 40: 20 to 40 higher in B (dirtier)",
    "≥ 40: at least 40 higher in B (dirtier)",
)


def _diverging(name: str, title: str, source: str, colors: tuple[str, ...]) -> Colormap:
    lowers: tuple[float | None, ...] = (None, *DIFF_BOUNDS)
    uppers: tuple[float | None, ...] = (*DIFF_BOUNDS, None)
    classes = tuple(
        ColorClass(lower, upper, (*_rgb(color), 255), label)
        for lower, upper, color, label in zip(lowers, uppers, colors, DIFF_LABELS, strict=True)
    )
    return Colormap(name, title, source, classes)


PM25_DIFF = _diverging(
    "pm25-diff",
    "PM2.5 change between two periods (B − A)",
    "ColorBrewer 2.0 diverging RdBu, 9 classes (Brewer & Harrower, colorbrewer2.org; marked "
    "colour-blind safe): blue = lower in B (cleaner), red = higher (dirtier). The middle class "
    "(within ±5) is a neutral grey instead of RdBu's near-white, so little change stands apart "
    "from the transparent areas without data in A or B.",
    ("#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#dcdcdc", "#fddbc7", "#f4a582", "#d6604d",
     "#b2182b"),
)  # fmt: skip

DIFF_COLORMAPS: Mapping[str, Colormap] = {PM25_DIFF.name: PM25_DIFF}


def get_colormap(name: str) -> Colormap:
    """The registered colour scale ``name`` (a PM2.5 or a difference scale); KeyError lists the
    known names."""
    known = {**COLORMAPS, **DIFF_COLORMAPS}
    try:
        return known[name]
    except KeyError:
        raise KeyError(f"unknown colormap {name!r}; known: {', '.join(known)}") from None
