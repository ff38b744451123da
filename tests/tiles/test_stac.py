"""The STAC catalog writer on a tiny release folder: readable by pystac, relative, portable."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pystac
import pytest
import xarray as xr

from lantian.layers.writers import write_cog
from lantian.tiles.manifest import Source, media_type
from lantian.tiles.stac import AssetSpec, CollectionSpec, ItemSpec, write_catalog

from .conftest import synthetic_grid

SOURCES = [
    Source(id="cnemc", title="CNEMC hourly PM2.5", url="https://air.cnemc.cn:18007/",
           licence="none stated", attribution="PM2.5: CNEMC"),
    Source(id="gem", title="GEM steel tracker", url="https://globalenergymonitor.org/",
           licence="CC BY 4.0", attribution="Global Energy Monitor (CC BY 4.0)"),
    Source(id="unused", title="Not used", url="https://example.org/", licence="MIT",
           attribution="nobody"),
]


QUARTERS = ("2019Q1", "2019Q2")
SPECS = [
    CollectionSpec(
        id="pm25", title="PM2.5", description="Quarterly PM2.5", sources=("cnemc",),
        items=tuple(
            ItemSpec(id=f"pm25_{q}", title=f"PM2.5 {q}", bbox=(102.5, 36.0, 103.5, 37.0),
                     quarters=(q, q),
                     assets={"cog": AssetSpec(f"pm25/pm25_{q}.tif", f"PM2.5 {q} (COG)")})
            for q in QUARTERS
        ),
        assets={"stations": AssetSpec("enterprises/enterprises.csv", "A CSV", ("metadata",))},
    ),
    CollectionSpec(
        id="enterprises", title="Enterprises", description="Plants", sources=("gem", "cnemc"),
        items=(ItemSpec(id="enterprises", title="Enterprises", bbox=(103.1, 36.4, 103.1, 36.4),
                        quarters=("2018Q4", "2019Q2"),
                        assets={"geojson": AssetSpec("enterprises/enterprises.geojson",
                                                     "Enterprises (GeoJSON)")}),),
    ),
]


def _write_files(root: Path) -> None:
    """Two COGs, a CSV and a GeoJSON in release layout."""
    (root / "pm25").mkdir(parents=True)
    grid: xr.Dataset = synthetic_grid(102.5, 36.0, 103.5, 37.0)
    for quarter in QUARTERS:
        write_cog(grid.assign_attrs(quarter=quarter), root / "pm25")
    (root / "enterprises").mkdir()
    (root / "enterprises" / "enterprises.csv").write_text("id,lon,lat\ngem:P1,103.1,36.4\n")
    (root / "enterprises" / "enterprises.geojson").write_text(json.dumps({
        "type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"id": "gem:P1"},
            "geometry": {"type": "Point", "coordinates": [103.1, 36.4]}}]}))


@pytest.fixture
def catalog_dir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "release"
    _write_files(root)
    titles = write_catalog(root, "Test release", "Every file", SPECS, SOURCES)
    return root, titles


def test_catalog_is_self_contained_with_relative_hrefs(
    catalog_dir: tuple[Path, dict[str, str]]
) -> None:
    root, _ = catalog_dir
    for path in (root / "stac").rglob("*.json"):
        text = path.read_text()
        assert str(root) not in text and '"rel": "self"' not in text, path
    catalog = pystac.Catalog.from_file(str(root / "stac" / "catalog.json"))
    assert catalog.title == "Test release"
    assert [c.id for c in catalog.get_children()] == ["pm25", "enterprises"]
    item = next(catalog.get_items("pm25_2019Q1", recursive=True))
    assert item.assets["cog"].href == "../../../pm25/pm25_2019Q1.tif"


def test_every_asset_resolves_to_its_file_with_size_and_checksum(
    catalog_dir: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, titles = catalog_dir
    moved = tmp_path / "downloaded"
    shutil.copytree(root, moved)  # a downloaded copy elsewhere works the same
    catalog = pystac.Catalog.from_file(str(moved / "stac" / "catalog.json"))
    catalog.make_all_asset_hrefs_absolute()
    owners: list[pystac.Collection | pystac.Item] = [*catalog.get_all_collections(),
                                                     *catalog.get_items(recursive=True)]
    seen = set()
    for owner in owners:
        for asset in owner.assets.values():
            path = Path(asset.href)
            rel = path.relative_to(moved).as_posix()
            seen.add(rel)
            assert asset.media_type == media_type(path) and asset.title == titles[rel]
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert asset.extra_fields["file:checksum"] == "1220" + digest
            assert asset.extra_fields["file:size"] == path.stat().st_size
    assert seen == {"pm25/pm25_2019Q1.tif", "pm25/pm25_2019Q2.tif",
                    "enterprises/enterprises.csv", "enterprises/enterprises.geojson"}
    stac_files = {p.relative_to(root).as_posix() for p in (root / "stac").rglob("*.json")}
    assert set(titles) == seen | stac_files
    assert titles["stac/pm25/pm25_2019Q2/pm25_2019Q2.json"] == "STAC item: PM2.5 2019Q2"


def test_cog_assets_carry_projection_and_bands(
    catalog_dir: tuple[Path, dict[str, str]]
) -> None:
    root, _ = catalog_dir
    item = json.loads((root / "stac/pm25/pm25_2019Q1/pm25_2019Q1.json").read_text())
    cog = item["assets"]["cog"]
    assert cog["proj:code"] == "EPSG:4326" and cog["proj:shape"] == [100, 100]
    assert cog["proj:transform"] == pytest.approx([0.01, 0, 102.5, 0, -0.01, 37.0])
    assert cog["raster:bands"] == [{"nodata": "nan", "data_type": "float32", "unit": "ug m-3"}] * 2
    assert item["properties"]["start_datetime"] == "2019-01-01T00:00:00Z"
    assert item["properties"]["end_datetime"] == "2019-03-31T23:59:59Z"
    assert item["properties"]["datetime"] is None


def test_collections_carry_extent_licences_and_providers(
    catalog_dir: tuple[Path, dict[str, str]]
) -> None:
    root, _ = catalog_dir
    catalog = pystac.Catalog.from_file(str(root / "stac" / "catalog.json"))
    pm25 = catalog.get_child("pm25")
    assert isinstance(pm25, pystac.Collection)
    assert pm25.extent.spatial.bboxes == [[102.5, 36.0, 103.5, 37.0]]
    interval = pm25.extent.temporal.intervals[0]
    assert [d.isoformat() if d else None for d in interval] == [
        "2019-01-01T00:00:00+00:00", "2019-06-30T23:59:59+00:00"]
    assert pm25.license == "other"
    assert [(link.href, link.title) for link in pm25.get_links("license")] == [
        ("https://air.cnemc.cn:18007/", "CNEMC hourly PM2.5: none stated")]
    assert pm25.assets["stations"].roles == ["metadata"]
    plants = catalog.get_child("enterprises")
    assert isinstance(plants, pystac.Collection)
    assert [p.name for p in plants.providers or []] == [
        "PM2.5: CNEMC", "Global Energy Monitor (CC BY 4.0)", "lantian"]  # in manifest order


def test_catalog_is_deterministic(catalog_dir: tuple[Path, dict[str, str]]) -> None:
    root, _ = catalog_dir
    before = {p: p.read_bytes() for p in sorted((root / "stac").rglob("*.json"))}
    shutil.rmtree(root / "stac")
    write_catalog(root, "Test release", "Every file", SPECS, SOURCES)
    assert {p: p.read_bytes() for p in sorted((root / "stac").rglob("*.json"))} == before


def test_a_relative_release_dir_gives_the_same_catalog(
    catalog_dir: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lantian build --data-dir var` passes a relative path (make demo does)."""
    root, titles = catalog_dir
    before = {p: p.read_bytes() for p in sorted((root / "stac").rglob("*.json"))}
    shutil.rmtree(root / "stac")
    monkeypatch.chdir(root.parent)
    assert write_catalog(Path(root.name), "Test release", "Every file", SPECS, SOURCES) == titles
    assert {p: p.read_bytes() for p in sorted((root / "stac").rglob("*.json"))} == before
