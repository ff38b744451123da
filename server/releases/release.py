"""The release being served: manifest, tile archives, enterprises, records, stats, loaded once."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from ...geo.enterprises import pinyin_key
from ...layers.periods import PERIOD_TYPES
from ...settings import Settings
from ..errors import NotFoundError, ReleaseUnavailableError, reason
from .pmtiles_reader import PMTilesArchive
from .records import Records, load_records

MANIFEST_NAME = "manifest.json"
RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ALL = "all"
ENTERPRISE_FIELDS = (
    "id", "name", "name_zh", "name_en", "industry", "capacity", "capacity_unit", "owner",
    "owner_zh", "province", "province_en", "city", "city_en", "county", "geocode_source",
    "geocode_precision", "coordinate_accuracy", "source_datum", "data_source", "source_ids",
    "status", "start_date", "idled_date", "retired_date", "op_from", "op_to", "ever_operated",
    "dates_caveat", "coking", "coking_capacity", "products",
)  # fmt: skip
# Columns a release from before operating periods lacks: None (unknown), so every plant shows.
FLAG_FIELDS = ("ever_operated", "coking")
SEARCH_NAMES = ("name", "name_zh", "name_en")
# Ignored when searching: case, whitespace, apostrophes and hyphens (Xinwu'an = xinwuan).
SEARCH_IGNORED = re.compile(r"[\s'’‘ʼ`\-‐‑–—]+")


def search_key(text: str) -> str:
    """``text`` lowercased without whitespace, apostrophes and hyphens."""
    return SEARCH_IGNORED.sub("", text.lower())


def safe_relative(path: str) -> bool:
    """True when ``path`` is a plain relative POSIX path with no ``..``, backslash or NUL."""
    if not path or "\\" in path or "\x00" in path or path.startswith("/"):
        return False
    parts = PurePosixPath(path).parts
    return all(p not in ("", ".", "..") for p in parts) and ":" not in parts[0]


@dataclass(frozen=True)
class FileInfo:
    """A file listed in ``manifest.files``."""

    path: str
    bytes: int
    sha256: str
    media_type: str
    title: str


@dataclass(frozen=True)
class LayerInfo:
    """A map layer from ``manifest.layers``."""

    id: str
    kind: str
    title: str
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]
    files: Mapping[str, str]
    units: str | None = None
    colormap: str | None = None
    vector_layers: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Enterprises:
    """Enterprise records as GeoJSON features plus arrays for fast filtering."""

    features: tuple[Mapping[str, Any], ...]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    industry: npt.NDArray[np.str_]
    province: npt.NDArray[np.str_]
    text: npt.NDArray[np.str_]  # search keys of the names and pinyin, one line each
    by_id: Mapping[str, int]
    status: npt.NDArray[np.str_]  # "" = unknown
    capacity: npt.NDArray[np.float64]  # NaN = unknown
    coking: npt.NDArray[np.bool_]  # the coking marker (else industry coking)
    op_from: npt.NDArray[np.str_]  # first operating quarter, "" = unknown start
    op_to: npt.NDArray[np.str_]  # last operating quarter, "" = still operating
    ever: npt.NDArray[np.bool_]  # operated at some time (or unknown)

    @classmethod
    def empty(cls) -> Enterprises:
        none = np.array([], dtype=str)
        zero = np.array([], dtype=np.float64)
        no = np.array([], dtype=bool)
        return cls((), zero, zero, none, none, none, MappingProxyType({}), none, zero, no, none,
                   none, no)

    def operating(self, first: str, last: str) -> npt.NDArray[np.bool_]:
        """Plants operating in some quarter from ``first`` to ``last`` (labels ``2019Q1``);
        an unknown start or end is open."""
        return self.ever & ((self.op_from == "") | (self.op_from <= last)) & (
            (self.op_to == "") | (self.op_to >= first))


@dataclass(frozen=True)
class Release:
    """An immutable view of one built release directory."""

    root: Path
    id: str
    manifest: Mapping[str, Any]
    quarters: tuple[str, ...]
    timeline: tuple[str, ...]  # quarters of the enterprise layer, a superset of ``quarters``
    periods: Mapping[str, tuple[str, ...]]  # PM2.5 periods by type: month, quarter, year
    layers: Mapping[str, LayerInfo]
    files: Mapping[str, FileInfo]
    sources: tuple[Mapping[str, Any], ...]
    colormaps: Mapping[str, Mapping[str, Any]]
    archives: Mapping[str, PMTilesArchive] = field(repr=False)
    enterprises: Enterprises = field(repr=False)
    records: Records = field(repr=False)
    stats: tuple[Mapping[str, Any], ...] = field(repr=False)

    def path(self, relative: str) -> Path:
        """Absolute path of a file listed in the manifest; NotFoundError otherwise."""
        if relative not in self.files or not safe_relative(relative):
            raise NotFoundError("file not found")
        return self.root / relative

    def layer(self, layer_id: str) -> LayerInfo:
        try:
            return self.layers[layer_id]
        except KeyError:
            raise NotFoundError(f"unknown layer {layer_id!r}") from None

    def archive(self, layer: LayerInfo, quarter: str) -> PMTilesArchive:
        """The archive of ``layer`` for ``quarter`` (``all`` for vector layers)."""
        relative = layer.files.get(quarter)
        if relative is None or relative not in self.archives:
            raise NotFoundError(f"layer {layer.id!r} has no quarter {quarter!r}")
        return self.archives[relative]

    @property
    def all_periods(self) -> tuple[str, ...]:
        """Every PM2.5 period of the release, months then quarters then years."""
        return tuple(label for labels in self.periods.values() for label in labels)

    def pm25_cog(self, period: str) -> Path:
        """The grid COG of a period (month, quarter or year label)."""
        if period not in self.all_periods:
            raise NotFoundError(f"unknown period {period!r}")
        return self.path(f"pm25/pm25_{period}.tif")

    @property
    def pmtiles_names(self) -> Mapping[str, str]:
        """``{name: relative path}`` of every served archive (``tiles/<name>.pmtiles``)."""
        return {PurePosixPath(p).stem: p for p in self.archives}

    def close(self) -> None:
        for archive in self.archives.values():
            archive.close()


def release_dir(settings: Settings) -> Path:
    """The directory of the release to serve: ``settings.release`` or the ``current`` link."""
    if settings.release is not None:
        if not RELEASE_ID.match(settings.release):
            raise ReleaseUnavailableError("invalid release id")
        path = settings.releases_dir / settings.release
    else:
        path = settings.current_link
    if not (path / MANIFEST_NAME).is_file():
        raise ReleaseUnavailableError(f"no release manifest at {path}")
    return path.resolve()


def _clean(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        if value != value:  # pandas NA / NaT
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def load_enterprises(path: Path) -> Enterprises:
    """Read the GeoParquet of enterprises into GeoJSON features."""
    import geopandas as gpd

    frame = gpd.read_parquet(path)
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    features: list[Mapping[str, Any]] = []
    texts: list[str] = []
    for row in frame.itertuples(index=False):
        geom = row.geometry
        props = {name: _clean(getattr(row, name, None)) for name in ENTERPRISE_FIELDS}
        props["id"] = str(props["id"])
        for name in FLAG_FIELDS:
            props[name] = _flag(props[name])
        pinyin = _clean(getattr(row, "name_pinyin", None))
        if pinyin is None and props["name_zh"]:
            pinyin = pinyin_key(str(props["name_zh"]))
        names = [props[k] for k in SEARCH_NAMES] + [pinyin]
        texts.append("\n".join(search_key(str(n)) for n in names if n))
        features.append(
            MappingProxyType(
                {
                    "type": "Feature",
                    "id": props["id"],
                    "geometry": {"type": "Point", "coordinates": [geom.x, geom.y]},
                    "properties": MappingProxyType(props),
                }
            )
        )

    def column(name: str) -> npt.NDArray[np.str_]:
        return np.array([str(f["properties"][name] or "") for f in features], dtype=str)

    def number(name: str) -> npt.NDArray[np.float64]:
        values = [f["properties"][name] for f in features]
        return np.array([v if isinstance(v, int | float) else np.nan for v in values],
                        dtype=np.float64)

    industry = column("industry")
    coking = [f["properties"]["coking"] for f in features]
    ever = np.array([f["properties"]["ever_operated"] is not False for f in features], dtype=bool)
    return Enterprises(
        features=tuple(features),
        lon=np.array([f["geometry"]["coordinates"][0] for f in features], dtype=np.float64),
        lat=np.array([f["geometry"]["coordinates"][1] for f in features], dtype=np.float64),
        industry=industry,
        province=column("province"),
        text=np.array(texts, dtype=str),
        by_id=MappingProxyType({f["id"]: i for i, f in enumerate(features)}),
        status=np.char.lower(column("status")),
        capacity=number("capacity"),
        coking=np.array([kind == "coking" if flag is None else flag
                         for kind, flag in zip(industry, coking, strict=True)], dtype=bool),
        op_from=column("op_from"),
        op_to=column("op_to"),
        ever=ever,
    )


def _flag(value: Any) -> bool | None:
    """A 0/1 or boolean column as a bool; None when missing (a release from before it)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        return None if not text else text in ("1", "true", "yes")
    return bool(value)


def _freeze_layer(raw: Mapping[str, Any]) -> LayerInfo:
    return LayerInfo(
        id=str(raw["id"]),
        kind=str(raw["kind"]),
        title=str(raw.get("title", raw["id"])),
        minzoom=int(raw["minzoom"]),
        maxzoom=int(raw["maxzoom"]),
        bounds=tuple(float(b) for b in raw["bounds"]),  # type: ignore[arg-type]
        files=MappingProxyType(dict(raw["files"])),
        units=raw.get("units"),
        colormap=raw.get("colormap"),
        vector_layers=tuple(MappingProxyType(v) for v in raw.get("vector_layers") or ()),
    )


def load_release(settings: Settings) -> Release:
    """Load the manifest and open every archive of the release chosen by ``settings``."""
    return open_release(release_dir(settings))


def _open_archive(root: Path, info: FileInfo) -> PMTilesArchive:
    """Open one archive after checking its size and SHA-256 against the manifest, so a
    truncated or corrupted file makes the release unavailable instead of failing requests."""
    path = root / info.path
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size != info.bytes:
                raise ReleaseUnavailableError(
                    f"{info.path}: {size} bytes, the manifest lists {info.bytes} (truncated?)")
            if hashlib.file_digest(f, "sha256").hexdigest() != info.sha256:
                raise ReleaseUnavailableError(f"{info.path}: does not match its sha256 (corrupt)")
        return PMTilesArchive(path)
    except ReleaseUnavailableError:
        raise
    except Exception as e:  # OSError, a malformed header or directory …
        message = f"{info.path}: unreadable PMTiles archive: {reason(e)}"
        raise ReleaseUnavailableError(message) from e


def open_release(root: Path) -> Release:
    """Load the manifest and open every archive of the release directory ``root``."""
    try:
        manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
        files = {
            f["path"]: FileInfo(
                f["path"], int(f["bytes"]), f["sha256"], f["media_type"], f.get("title", "")
            )
            for f in manifest["files"]
            if safe_relative(f["path"])
        }
        layers = {raw["id"]: _freeze_layer(raw) for raw in manifest["layers"]}
        quarters = tuple(str(q) for q in manifest["quarters"])
        timeline = tuple(str(q) for q in manifest.get("timeline") or quarters)
        periods = _periods(manifest, quarters)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReleaseUnavailableError(f"invalid release manifest: {reason(e)}") from e
    if manifest.get("id") != root.name:
        raise ReleaseUnavailableError("manifest id does not match the release directory")

    archives: dict[str, PMTilesArchive] = {}
    try:
        for layer in layers.values():
            for relative in layer.files.values():
                if relative not in files or not relative.endswith(".pmtiles"):
                    raise ReleaseUnavailableError(f"layer {layer.id}: {relative} not listed")
                if relative not in archives:
                    archives[relative] = _open_archive(root, files[relative])
        enterprises_path = "enterprises/enterprises.parquet"
        enterprises = (
            load_enterprises(root / enterprises_path)
            if enterprises_path in files
            else Enterprises.empty()
        )
        stats_path = "stats/region_stats.json"
        stats: tuple[Mapping[str, Any], ...] = ()
        if stats_path in files:
            rows = json.loads((root / stats_path).read_text(encoding="utf-8"))
            stats = tuple(MappingProxyType({k: _clean(v) for k, v in r.items()}) for r in rows)
        ids = [str(f["id"]) for f in enterprises.features]
        records = load_records(root, files, ids, timeline)
    except Exception:
        for archive in archives.values():
            archive.close()
        raise

    colormaps = manifest.get("colormaps") or {}
    return Release(
        root=root,
        id=str(manifest["id"]),
        manifest=MappingProxyType(manifest),
        quarters=quarters,
        timeline=timeline,
        periods=MappingProxyType(periods),
        layers=MappingProxyType(layers),
        files=MappingProxyType(files),
        sources=tuple(MappingProxyType(s) for s in manifest.get("sources", ())),
        colormaps=MappingProxyType({str(k): MappingProxyType(v) for k, v in colormaps.items()}),
        archives=MappingProxyType(archives),
        enterprises=enterprises,
        records=records,
        stats=stats,
    )


def _periods(manifest: Mapping[str, Any], quarters: tuple[str, ...]) -> dict[
        str, tuple[str, ...]]:
    """The manifest's periods by type; a release from before months and years has quarters."""
    raw = manifest.get("periods") or {"quarter": quarters}
    return {kind: tuple(str(p) for p in raw.get(kind, ())) for kind in PERIOD_TYPES}


def plain(value: Any) -> Any:
    """A deep copy of frozen mappings/tuples as JSON-ready dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
