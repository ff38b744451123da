"""Every download of a built release, opened with its own reader and checked against the rest.

Runs on a small real build (two quarters of the demo data on a 7° × 6° grid, about 30 s) and,
marked slow, on the full demo release.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pystac
import pytest
import rasterio
import xarray as xr
from fastapi.testclient import TestClient
from PIL import Image
from pmtiles.reader import MemorySource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from lantian.layers.grid import CHINA_GRID
from lantian.layers.periods import quarter_bounds, sort_key
from lantian.layers.stats import COLUMNS
from lantian.pipeline import BuildOptions, build_release, demo_inputs
from lantian.server.app import create_app
from lantian.settings import Settings
from lantian.tiles.manifest import Manifest
from lantian.tiles.release import verify_release

GEO_FORMATS = ("parquet", "gpkg", "geojson")
SMALL_GRID = CHINA_GRID.subgrid(113.0, 36.0, 120.0, 42.0)


@pytest.fixture(scope="module")
def small_release(tmp_path_factory: pytest.TempPathFactory, build_cache: Path) -> Path:
    """The demo inputs for January–June on a grid around Beijing, Tianjin and Hebei."""
    demo = demo_inputs()
    months = tuple(p for p in demo.observations if p.name.removesuffix(".csv.gz")[-2:] <= "06")
    data_dir = tmp_path_factory.mktemp("small")
    (data_dir / "cache").symlink_to(build_cache)  # the session's boundaries and basemap
    return build_release(replace(demo, observations=months), BuildOptions(grid=SMALL_GRID),
                         data_dir).path


@pytest.fixture(scope="module", params=["small", pytest.param("demo", marks=pytest.mark.slow)])
def release(request: pytest.FixtureRequest) -> Path:
    """The release directory (``releases/<id>``) of a small build or of the demo."""
    if request.param == "small":
        path: Path = request.getfixturevalue("small_release")
        return path
    data_dir: Path = request.getfixturevalue("demo_release")
    return data_dir / "releases" / os.readlink(data_dir / "current").split("/")[-1]


@pytest.fixture(scope="module")
def manifest(release: Path) -> Manifest:
    return verify_release(release, checksums=True)


def _read(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_every_layer_is_listed_in_every_format_with_a_title(manifest: Manifest) -> None:
    listed = {f.path: f for f in manifest.files}
    expected = {"pm25/pm25_quarterly.nc", "stats/region_stats.csv", "stac/catalog.json"}
    for q in manifest.quarters:
        expected |= {f"pm25/pm25_{q}.tif", f"tiles/pm25_{q}.pmtiles", f"tiles/pm25-cb_{q}.pmtiles"}
    for stem in ("enterprises/enterprises", "enterprises/enterprise_quarters",
                 "records/violations", "records/output"):
        expected |= {f"{stem}.{fmt}" for fmt in (*GEO_FORMATS, "csv")}
    expected |= {path for layer in manifest.layers for path in layer.files.values()}
    assert expected <= set(listed)
    for entry in listed.values():
        assert entry.title and entry.title != Path(entry.path).name, entry.path


def test_cogs_are_cloud_optimised_and_equal_the_cube(release: Path, manifest: Manifest) -> None:
    with xr.open_dataset(release / "pm25" / "pm25_quarterly.nc") as cube:
        for q in manifest.quarters:
            with rasterio.open(release / "pm25" / f"pm25_{q}.tif") as src:
                assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
                assert src.driver == "GTiff" and src.profile["tiled"]
                assert src.block_shapes == [(256, 256)] * 2 and src.overviews(1)
                assert src.crs.to_epsg() == 4326 and np.isnan(src.nodata)
                assert src.descriptions == ("pm25", "pm25_uncertainty")
                west, south = float(cube["lon_bnds"].min()), float(cube["lat_bnds"].min())
                east, north = float(cube["lon_bnds"].max()), float(cube["lat_bnds"].max())
                assert tuple(src.bounds) == pytest.approx((west, south, east, north), abs=1e-6)
                step = cube.sel(time=cube["quarter"] == q).squeeze("time")
                for band, name in enumerate(("pm25", "pm25_uncertainty"), start=1):
                    np.testing.assert_array_equal(src.read(band), step[name].to_numpy())


def test_netcdf_cube_follows_cf(release: Path, manifest: Manifest) -> None:
    with xr.open_dataset(release / "pm25" / "pm25_quarterly.nc", decode_cf=False) as raw:
        cube = xr.decode_cf(raw)
        assert cube.attrs["Conventions"] == "CF-1.8"
        for name in ("pm25", "pm25_uncertainty"):
            assert cube[name].dims == ("time", "lat", "lon")
            assert cube[name].attrs["units"] == "ug m-3" and cube[name].attrs["grid_mapping"]
        assert cube["pm25"].attrs["cell_methods"] == "time: mean"
        assert cube[cube["pm25"].attrs["grid_mapping"]].attrs["grid_mapping_name"] == (
            "latitude_longitude")
        assert list(cube["quarter"].to_numpy()) == manifest.quarters
        bounds = cube[cube["time"].attrs["bounds"]].to_numpy()
        starts_ends = [tuple(np.datetime64(t, "ns") for t in quarter_bounds(q))
                       for q in manifest.quarters]
        assert [tuple(b) for b in bounds] == starts_ends
        np.testing.assert_array_equal(cube["time"].to_numpy(), bounds[:, 0])
        for axis, units in (("lat", "degrees_north"), ("lon", "degrees_east")):
            assert cube[axis].attrs["units"] == units
            edges = cube[cube[axis].attrs["bounds"]].to_numpy()
            assert np.all(edges[:, 0] != edges[:, 1])
            np.testing.assert_allclose(edges.mean(axis=1), cube[axis].to_numpy(), atol=1e-9)


def test_enterprise_downloads_hold_the_same_plants(release: Path) -> None:
    base = gpd.read_parquet(release / "enterprises" / "enterprises.parquet")
    assert base.crs.to_epsg() == 4326 and base["id"].is_unique
    for fmt in ("gpkg", "geojson"):
        other = _read(release / "enterprises" / f"enterprises.{fmt}")
        assert list(other["id"]) == list(base["id"]), fmt
        assert other.geometry.geom_equals_exact(base.geometry, tolerance=1e-7).all(), fmt
    table = _csv(release / "enterprises" / "enterprises.csv")
    assert list(table["id"]) == list(base["id"])
    np.testing.assert_allclose(table["lon"].astype(float), base.geometry.x, atol=1e-9)
    np.testing.assert_allclose(table["lat"].astype(float), base.geometry.y, atol=1e-9)


@pytest.mark.parametrize(("stem", "key", "row_key"), [
    ("enterprises/enterprise_quarters", "id", ["id", "quarter"]),
    ("records/violations", "enterprise_id", ["record_id"]),
    ("records/output", "enterprise_id", ["record_id"]),
])
def test_fact_and_record_downloads_keep_every_row_at_its_plant(
    release: Path, stem: str, key: str, row_key: list[str]
) -> None:
    points = gpd.read_parquet(release / "enterprises" / "enterprises.parquet").set_index("id")
    table = _csv(release / f"{stem}.csv")
    assert len(table) > 0
    for fmt in GEO_FORMATS:
        frame = _read(release / f"{stem}.{fmt}")
        assert frame.crs.to_epsg() == 4326
        assert set(table.columns) <= set(frame.columns), fmt
        assert frame[row_key].astype(str).to_numpy().tolist() == table[row_key].to_numpy().tolist()
        for owner, geometry in zip(table[key], frame.geometry, strict=True):
            if owner in points.index:
                assert geometry.equals_exact(points.geometry[owner], 1e-7), (fmt, owner)
            else:  # not attached to an enterprise: kept, without a geometry
                assert geometry is None, (fmt, owner)
    if stem == "records/output":  # regional figures attach to no plant
        assert (table[key] == "").any()


def test_region_statistics_csv(release: Path, manifest: Manifest) -> None:
    stats = pd.read_csv(release / "stats" / "region_stats.csv")
    assert list(stats.columns) == COLUMNS
    for kind, labels in manifest.periods.items():  # statistics of every period with a grid
        rows = stats[stats["period_type"] == kind]
        assert set(labels) <= set(rows["period"].astype(str)), kind
        assert rows["pm25"].notna().any()
    # the demo holds 2019 only: no change on a year before, said in words, never 0 or blank
    assert (stats["change_year_pct"] == "not available").all()


def test_pmtiles_archives_open_with_the_pmtiles_reader(
    release: Path, manifest: Manifest
) -> None:
    for layer in manifest.layers:
        for path in layer.files.values():
            reader = Reader(MemorySource((release / path).read_bytes()))
            header = reader.header()
            assert (header["min_zoom"], header["max_zoom"]) == (layer.minzoom, layer.maxzoom)
            (z, x, y), data = next(iter(all_tiles(reader.get_bytes)))
            assert reader.get(z, x, y) == data
            if layer.kind == "raster":
                assert header["tile_type"] == TileType.PNG
                with Image.open(io.BytesIO(data)) as image:
                    assert image.size == (256, 256)
            else:
                assert header["tile_type"] == TileType.MVT
                if header["tile_compression"] == Compression.GZIP:
                    data = gzip.decompress(data)
                names = set(mapbox_vector_tile.decode(data))
                assert names and names <= {v.id for v in layer.vector_layers or []}, path


def test_stac_catalog_describes_every_download(release: Path, manifest: Manifest) -> None:
    listed = {f.path: f for f in manifest.files}
    catalog = pystac.Catalog.from_file(str(release / "stac" / "catalog.json"))
    assert catalog.title == manifest.title
    assert [c.id for c in catalog.get_children()] == ["pm25", "enterprises", "records", "stats"]
    catalog.make_all_asset_hrefs_absolute()
    described = set()
    owners: list[pystac.Collection | pystac.Item] = [*catalog.get_all_collections(),
                                                     *catalog.get_items(recursive=True)]
    for owner in owners:
        for asset in owner.assets.values():
            rel = Path(asset.href).relative_to(release).as_posix()
            entry = listed[rel]
            described.add(rel)
            assert asset.media_type == entry.media_type and asset.title == entry.title
            assert asset.extra_fields["file:checksum"] == "1220" + entry.sha256
            assert asset.extra_fields["file:size"] == entry.bytes
    assert described | {p for p in listed if p.startswith("stac/")} == set(listed)
    pm25 = catalog.get_child("pm25")
    assert isinstance(pm25, pystac.Collection)
    items = list(pm25.get_items())
    labels = sorted((p for kind in manifest.periods.values() for p in kind), key=sort_key)
    assert [i.id for i in items] == [f"pm25_{p}" for p in labels]  # months, quarters, years
    first = quarter_bounds(manifest.quarters[0])[0]
    assert pm25.extent.temporal.intervals[0][0] == first.tz_localize("UTC")
    cog = items[0].assets[f"pm25_{labels[0]}.tif"]
    with rasterio.open(cog.href) as src:
        assert cog.extra_fields["proj:shape"] == [src.height, src.width]
    licences = {link.href for link in pm25.get_links("license")}
    assert licences <= {s.url for s in manifest.sources} and pm25.license == "other"


def test_stac_catalog_walks_over_the_downloads_route(release: Path) -> None:
    with TestClient(create_app(Settings(data_dir=release.parent.parent))) as client:
        seen: set[str] = set()
        assets = 0

        def walk(url: str) -> None:
            nonlocal assets
            response = client.get(url)
            assert response.status_code == 200, url
            doc: dict[str, Any] = response.json()
            seen.add(url)
            for link in doc["links"]:
                target = urljoin(url, link["href"])
                if link["rel"] in ("child", "item") and target not in seen:
                    walk(target)
            for asset in doc.get("assets", {}).values():
                head = client.head(urljoin(url, asset["href"]))
                assert head.status_code == 200, asset["href"]
                assert int(head.headers["content-length"]) == asset["file:size"]
                assets += 1

        walk("/downloads/stac/catalog.json")
    assert "/downloads/stac/pm25/collection.json" in seen and assets > 20
