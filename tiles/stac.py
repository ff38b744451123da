"""A self-contained STAC catalog of a release (``stac/catalog.json``, relative hrefs).

Every asset points at a release file; assets carry ``file:size`` and a ``file:checksum``
(SHA-256 multihash), COGs also their projection and bands. Nothing depends on the clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pystac
import rasterio
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, NoDataStrings, RasterBand, RasterExtension
from shapely.geometry import box, mapping

from lantian.layers.periods import bounds as period_bounds

from .manifest import Source, media_type
from .release import sha256_file

STAC_DIR = "stac"
CATALOG_ID = "lantian"
BBOX_DECIMALS = 6
_SHA256_MULTIHASH = "1220"  # multihash prefix: sha2-256, 32 bytes

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class AssetSpec:
    """A release file (``path`` relative to the release root) as a STAC asset."""

    path: str
    title: str
    roles: tuple[str, ...] = ("data",)


@dataclass(frozen=True)
class ItemSpec:
    """One STAC item: a footprint, the periods it covers (first, last: months, quarters or
    years) and its files."""

    id: str
    title: str
    bbox: Bounds
    quarters: tuple[str, str]
    assets: Mapping[str, AssetSpec]


@dataclass(frozen=True)
class CollectionSpec:
    """A STAC collection of items; ``sources`` are manifest source ids (licence, providers)."""

    id: str
    title: str
    description: str
    sources: tuple[str, ...]
    items: tuple[ItemSpec, ...]
    assets: Mapping[str, AssetSpec] = field(default_factory=dict)


def write_catalog(
    root: Path,
    title: str,
    description: str,
    collections: Sequence[CollectionSpec],
    sources: Sequence[Source],
) -> dict[str, str]:
    """Write ``root/stac/``; returns a title for every asset file and every STAC file."""
    root = root.resolve()  # pystac makes hrefs absolute: a relative --data-dir must match them
    catalog = pystac.Catalog(id=CATALOG_ID, title=title, description=description)
    titles: dict[str, str] = {}
    for spec in collections:
        catalog.add_child(_collection(root, spec, sources))
        titles |= {a.path: a.title for a in spec.assets.values()}
        titles |= {a.path: a.title for item in spec.items for a in item.assets.values()}
    catalog.normalize_hrefs((root / STAC_DIR).as_posix())
    catalog.make_all_asset_hrefs_relative()
    objects: list[pystac.Catalog | pystac.Item] = [catalog, *catalog.get_all_collections(),
                                                   *catalog.get_items(recursive=True)]
    for obj in objects:
        kind = "item" if isinstance(obj, pystac.Item) else obj.STAC_OBJECT_TYPE.value.lower()
        name = obj.properties.get("title") if isinstance(obj, pystac.Item) else obj.title
        titles[Path(obj.get_self_href() or "").relative_to(root).as_posix()] = (
            f"STAC {kind}: {name}")
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return titles


def _collection(root: Path, spec: CollectionSpec, sources: Sequence[Source]) -> pystac.Collection:
    used = [s for s in sources if s.id in spec.sources]
    starts, ends = zip(*(_period(item.quarters) for item in spec.items), strict=True)
    bbox = [round(v, BBOX_DECIMALS) for v in (
        min(i.bbox[0] for i in spec.items), min(i.bbox[1] for i in spec.items),
        max(i.bbox[2] for i in spec.items), max(i.bbox[3] for i in spec.items))]
    collection = pystac.Collection(
        id=spec.id,
        title=spec.title,
        description=spec.description,
        extent=pystac.Extent(pystac.SpatialExtent([bbox]),
                             pystac.TemporalExtent([[min(starts), max(ends)]])),
        license="other",
        providers=[
            *(pystac.Provider(name=s.attribution, description=s.title, url=s.url,
                              roles=[pystac.ProviderRole.LICENSOR, pystac.ProviderRole.PRODUCER])
              for s in used),
            pystac.Provider(name="lantian", roles=[pystac.ProviderRole.PROCESSOR]),
        ],
    )
    for source in used:
        collection.add_link(pystac.Link(pystac.RelType.LICENSE, source.url,
                                        media_type="text/html",
                                        title=f"{source.title}: {source.licence}"))
    for key, asset in spec.assets.items():
        _add_asset(collection, key, asset, root)
    for item_spec in spec.items:
        collection.add_item(_item(root, item_spec))
    return collection


def _item(root: Path, spec: ItemSpec) -> pystac.Item:
    start, end = _period(spec.quarters)
    west, south, east, north = (round(v, BBOX_DECIMALS) for v in spec.bbox)
    item = pystac.Item(
        id=spec.id, geometry=mapping(box(west, south, east, north)),
        bbox=[west, south, east, north], datetime=None,
        start_datetime=start, end_datetime=end, properties={"title": spec.title},
    )
    for key, asset in spec.assets.items():
        _add_asset(item, key, asset, root)
    return item


def _add_asset(
    owner: pystac.Item | pystac.Collection, key: str, spec: AssetSpec, root: Path
) -> None:
    path = root / spec.path
    asset = pystac.Asset(href=path.as_posix(), title=spec.title, media_type=media_type(path),
                         roles=list(spec.roles))
    owner.add_asset(key, asset)
    FileExtension.ext(asset, add_if_missing=True).apply(
        size=path.stat().st_size, checksum=_SHA256_MULTIHASH + sha256_file(path))
    if path.suffix == ".tif":
        _describe_raster(asset, path)


def _describe_raster(asset: pystac.Asset, path: Path) -> None:
    """``proj:code``, ``proj:shape``, ``proj:transform`` and ``raster:bands`` of a GeoTIFF."""
    with rasterio.open(path) as src:
        ProjectionExtension.ext(asset, add_if_missing=True).apply(
            code=src.crs.to_string(), shape=[src.height, src.width],
            transform=list(src.transform)[:6])
        nodata = NoDataStrings.NAN if src.nodata is not None and math.isnan(src.nodata) else (
            src.nodata)
        RasterExtension.ext(asset, add_if_missing=True).bands = [
            RasterBand.create(nodata=nodata, data_type=DataType(src.dtypes[i]),
                              unit=src.units[i] or None)
            for i in range(src.count)
        ]


def _period(quarters: tuple[str, str]) -> tuple[datetime, datetime]:
    """First instant of the first quarter, last second of the last (STAC ends are inclusive)."""
    start = period_bounds(quarters[0])[0].to_pydatetime().replace(tzinfo=UTC)
    end = period_bounds(quarters[1])[1].to_pydatetime().replace(tzinfo=UTC)
    return start, end - timedelta(seconds=1)

