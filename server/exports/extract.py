"""Download what I see: the web map's filters as data files, with citation and licences.

``/api/extract/enterprises.{fmt}`` (GeoParquet, GeoPackage, CSV, GeoJSON),
``/api/extract/pm25.tif`` (a Cloud-Optimized GeoTIFF clip of a quarter's PM2.5 grid) and
``/api/extract.zip`` (both, the enterprises' records, CITATION.txt, LICENCES.md, query.json).
Files are built in a temporary directory, removed before the response is streamed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from ...i18n import Lang
from ...i18n import translate as _
from ...settings import Settings
from ..api.routes import enterprise_mask
from ..deps import PERIOD_PATTERN, EnterpriseFilter, LangDep, ReleaseDep, parse_bbox
from ..errors import ERROR_RESPONSES, InvalidParameterError, NotFoundError
from ..releases.records import FACT_FIELDS, OUTPUT_PATH, VIOLATIONS_PATH
from ..releases.release import ENTERPRISE_FIELDS, Release
from ..tiles.routes import base_url
from .citation import both_languages, built_date, citation, is_synthetic, licence_notes

Format = Literal["parquet", "gpkg", "csv", "geojson"]
READERS = ("parquet", "gpkg", "csv", "geojson")
MEDIA_TYPES: Mapping[str, str] = {
    "parquet": "application/vnd.apache.parquet",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "tif": "image/tiff; application=geotiff; profile=cloud-optimized",
    "zip": "application/zip",
}
LAYER_NAME = "enterprises"
STORED_SUFFIXES = (".tif", ".parquet")  # compressed already
ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)  # the earliest date a ZIP entry can hold
COG_BLOCKSIZE = 256
CHUNK_BYTES = 1 << 20
COPY_ROWS = 512  # rows of the release COG read at a time while clipping
BAND_NAMES = ("pm25", "pm25_uncertainty")
INT_FACTS = ("violations", "violations_12m")
FLOAT_FACTS = ("output_change_pct", "pm25_5km", "pm25_10km", "capacity_operating")
BOOLEAN_FIELDS = ("ever_operated", "coking")
Bbox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Clip:
    """A pixel window of a quarter's PM2.5 COG."""

    source: Path
    col: int
    row: int
    width: int
    height: int
    transform: Any  # affine.Affine of the clip
    bounds: Bbox


# ---------------------------------------------------------------- enterprises


def selected_enterprises(
    release: Release, filters: EnterpriseFilter, settings: Settings
) -> np.ndarray:
    """Indices of the enterprises matching ``filters``; 422 beyond ``max_extract_rows``."""
    index = np.flatnonzero(enterprise_mask(release, filters, settings.max_bbox_area_deg2))
    if len(index) > settings.max_extract_rows:
        raise InvalidParameterError(
            f"the filters (bbox, industry, province, q, has_violations, output_up, status, "
            f"min_capacity, period, coking) match "
            f"{len(index)} enterprises; an extract holds at most {settings.max_extract_rows}"
        )
    return index


def enterprise_table(release: Release, index: Iterable[int], quarter: str | None) -> pd.DataFrame:
    """One row per enterprise: identity, ``lon``/``lat``, ``records`` and, given a quarter, its
    facts (the same values as ``/api/enterprises?quarter=``)."""
    rows = []
    for i in index:
        feature = release.enterprises.features[int(i)]
        props = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"]
        row: dict[str, Any] = {name: props.get(name) for name in ENTERPRISE_FIELDS}
        row |= {"lon": float(lon), "lat": float(lat)}
        row["records"] = int(release.records.counts[int(i)])
        if quarter is not None:
            facts = release.records.facts.get(str(feature["id"]), {}).get(quarter) or {}
            row |= {name: facts.get(name) for name in FACT_FIELDS} | {"quarter": quarter}
        rows.append(row)
    columns = [*ENTERPRISE_FIELDS, "lon", "lat", "records"]
    if quarter is not None:
        columns += list(FACT_FIELDS)
    table = pd.DataFrame(rows, columns=columns)
    for name in columns:
        if name in ("lon", "lat", "capacity", "coking_capacity", *FLOAT_FACTS):
            table[name] = pd.to_numeric(table[name], errors="coerce").astype("float64")
        elif name == "records":
            table[name] = table[name].astype("int64")
        elif name in INT_FACTS:
            table[name] = table[name].astype("Int64")
        elif name in ("cited_and_output_up", "operating", *BOOLEAN_FIELDS):
            table[name] = table[name].astype("boolean")
        else:
            table[name] = table[name].astype(object).where(table[name].notna(), None)
    return table


def _geodataframe(table: pd.DataFrame) -> Any:
    import geopandas as gpd

    geometry = gpd.points_from_xy(table["lon"], table["lat"], crs="EPSG:4326")
    return gpd.GeoDataFrame(table, geometry=geometry, crs="EPSG:4326")


def write_enterprises(
    table: pd.DataFrame, fmt: str, path: Path, notes: Mapping[str, str], stamp: datetime
) -> None:
    """Write ``table`` as ``fmt``; ``notes`` (citation, licence, …) go into the file's metadata
    where the format has a place for them (GeoParquet, GeoPackage). Dates written into the file
    are ``stamp`` (the release's), so the same release and query give the same bytes."""
    if fmt == "csv":
        table.to_csv(path, index=False, encoding="utf-8")
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        _geodataframe(table).to_parquet(path, index=False)
        written = pq.read_table(path)
        metadata = dict(written.schema.metadata or {})
        metadata |= {k.encode(): v.encode("utf-8") for k, v in notes.items()}
        pq.write_table(written.replace_schema_metadata(metadata), path)
    elif fmt == "gpkg":
        import pyogrio

        pyogrio.write_dataframe(
            _geodataframe(table), path, layer=LAYER_NAME, driver="GPKG",
            dataset_metadata=dict(notes), layer_metadata=dict(notes),
        )  # fmt: skip
        _date_geopackage(path, stamp)
    elif fmt == "geojson":
        import pyogrio

        pyogrio.write_dataframe(
            _geodataframe(table).drop(columns=["lon", "lat"]), path, driver="GeoJSON",
            layer=LAYER_NAME, layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"},
        )  # fmt: skip
    else:  # pragma: no cover - the routes only pass known formats
        raise InvalidParameterError(f"format must be one of {', '.join(MEDIA_TYPES)}")


def release_stamp(release: Release) -> datetime:
    """When the release was built (manifest ``created``, UTC), else the ZIP format's epoch."""
    try:
        stamp = datetime.fromisoformat(str(release.manifest.get("created")))
    except ValueError:
        return ZIP_EPOCH
    return max(stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC), ZIP_EPOCH)


def _date_geopackage(path: Path, stamp: datetime) -> None:
    """Replace the write time GDAL puts in a GeoPackage's contents and metadata tables."""
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE gpkg_contents SET last_change = ?", (text,))
        db.execute("UPDATE gpkg_metadata_reference SET timestamp = ?", (text,))


def record_rows(release: Release, relative: str, ids: set[str]) -> pd.DataFrame | None:
    """Rows of a release record table (as text) attached to one of ``ids``; None if absent."""
    if relative not in release.files:
        return None
    frame = pd.read_csv(
        release.path(relative), dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    if "enterprise_id" not in frame.columns:
        return frame.iloc[0:0]
    return frame[frame["enterprise_id"].str.strip().isin(ids)]


# ---------------------------------------------------------------- PM2.5 clip


def _apply(affine: Any, x: float, y: float) -> tuple[float, float]:
    return affine.a * x + affine.b * y + affine.c, affine.d * x + affine.e * y + affine.f


def _window_transform(transform: Any, col: int, row: int) -> Any:
    """``transform`` moved to start at pixel (col, row) (rasterio's own helper warns)."""
    from affine import Affine

    x, y = _apply(transform, col, row)
    return Affine(transform.a, transform.b, x, transform.d, transform.e, y)


def pm25_clip(release: Release, quarter: str, bbox: Bbox, max_pixels: int) -> Clip:
    """The pixels of ``quarter``'s COG covering ``bbox`` (snapped outwards to whole pixels)."""
    import rasterio

    if quarter not in release.all_periods:
        raise NotFoundError(f"period {quarter!r} has no PM2.5 grid")
    source = release.pm25_cog(quarter)
    with rasterio.open(source) as ds:
        inv = ~ds.transform
        west, south, east, north = bbox
        c0, r0 = _apply(inv, west, north)
        c1, r1 = _apply(inv, east, south)
        eps = 1e-6
        col0 = max(0, math.floor(min(c0, c1) + eps))
        col1 = min(ds.width, math.ceil(max(c0, c1) - eps))
        row0 = max(0, math.floor(min(r0, r1) + eps))
        row1 = min(ds.height, math.ceil(max(r0, r1) - eps))
        if col1 <= col0 or row1 <= row0:
            left, bottom, right, top = (round(v, 6) for v in ds.bounds)
            raise NotFoundError(
                f"bbox does not overlap the PM2.5 grid of {quarter} "
                f"({left},{bottom},{right},{top})"
            )
        width, height = col1 - col0, row1 - row0
        if width * height > max_pixels:
            raise InvalidParameterError(
                f"bbox covers {width} × {height} = {width * height} PM2.5 pixels; an extract "
                f"holds at most {max_pixels}: choose a smaller bbox"
            )
        transform = _window_transform(ds.transform, col0, row0)
    left, top = _apply(transform, 0, 0)
    right, bottom = _apply(transform, width, height)
    return Clip(source, col0, row0, width, height, transform, (left, bottom, right, top))


def write_cog(
    clip: Clip, path: Path, tags: Mapping[str, str], blocksize: int = COG_BLOCKSIZE
) -> None:
    """Copy ``clip`` into a Cloud-Optimized GeoTIFF at ``path`` (deflate, internal overviews
    where the clip spans more than one block), with ``tags`` in its GDAL metadata."""
    import rasterio
    import rasterio.shutil
    from rasterio.windows import Window

    staging = path.with_name(path.stem + ".staging.tif")
    with rasterio.open(clip.source) as src:
        profile = {
            "driver": "GTiff", "width": clip.width, "height": clip.height, "count": src.count,
            "dtype": src.dtypes[0], "crs": src.crs, "nodata": src.nodata,
            "transform": clip.transform,
            "tiled": True, "blockxsize": blocksize, "blockysize": blocksize, "compress": "deflate",
        }  # fmt: skip
        with rasterio.open(staging, "w", **profile) as dst:
            for start in range(0, clip.height, COPY_ROWS):
                rows = min(COPY_ROWS, clip.height - start)
                data = src.read(window=Window(clip.col, clip.row + start, clip.width, rows))
                dst.write(data, window=Window(0, start, clip.width, rows))
            dst.update_tags(**src.tags())
            dst.update_tags(**tags)
            for band in range(1, src.count + 1):
                default = BAND_NAMES[band - 1] if band <= len(BAND_NAMES) else f"band{band}"
                dst.set_band_description(band, src.descriptions[band - 1] or default)
                dst.update_tags(band, **({"units": "µg/m³"} | src.tags(band)))
    try:
        rasterio.shutil.copy(
            staging, path, driver="COG", compress="DEFLATE", predictor="YES",
            blocksize=blocksize, overview_resampling="AVERAGE", bigtiff="IF_SAFER",
        )  # fmt: skip
    finally:
        staging.unlink(missing_ok=True)


# ---------------------------------------------------------------- helpers


def rerun_url(request: Request, settings: Settings, release: Release) -> str:
    """The request's URL with ``release=<id>`` pinned, so it re-runs on the same data."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "release"]
    params.append(("release", release.id))
    return f"{base_url(request, settings)}{request.url.path}?{urlencode(params, safe=',')}"


def file_notes(release: Release, url: str, quarter: str | None, lang: Lang) -> dict[str, str]:
    """Key-value metadata written into every extract file that can hold it, in ``lang``."""
    return {
        "citation": citation(release, url, lang),
        "licence": licence_notes(release, lang),
        "release": release.id,
        "quarter": quarter or "",
        "synthetic": "true" if is_synthetic(release) else "false",
        "source_url": url,
    }


def stem(release: Release, what: str, quarter: str | None) -> str:
    return f"lantian-{release.id}-{what}-{quarter or 'all'}"


@contextmanager
def workdir() -> Iterator[Path]:
    """A temporary directory, removed if building the response fails."""
    path = Path(tempfile.mkdtemp(prefix="lantian-extract-"))
    try:
        yield path
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def send(path: Path, directory: Path, media_type: str, filename: str) -> StreamingResponse:
    """Stream ``path``; ``directory`` is removed before the first byte is sent (the open file
    stays readable), so nothing is left behind even when the client goes away."""
    handle = path.open("rb")
    size = os.fstat(handle.fileno()).st_size
    shutil.rmtree(directory, ignore_errors=True)

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=media_type,
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


def _required(value: str | None, name: str) -> str:
    if value is None:
        raise InvalidParameterError(f"{name} is required")
    return value


def _filters_doc(filters: EnterpriseFilter) -> dict[str, Any]:
    names = ("industry", "province", "q", "has_violations", "output_up", "status",
             "min_capacity", "period", "coking")
    return {name: getattr(filters, name) for name in names}


def _bbox(filters: EnterpriseFilter, settings: Settings) -> Bbox | None:
    return parse_bbox(filters.bbox, settings.max_bbox_area_deg2)


# ---------------------------------------------------------------- router


def extract_router(settings: Settings) -> APIRouter:
    """Routes ``/api/extract/enterprises.{fmt}``, ``/api/extract/pm25.tif`` and
    ``/api/extract.zip``."""
    router = APIRouter(tags=["extracts"], responses=ERROR_RESPONSES)

    @router.get(
        "/api/extract/enterprises.{fmt}",
        response_class=StreamingResponse,
        responses={200: {"content": {MEDIA_TYPES[f]: {} for f in READERS}}},
    )
    def extract_enterprises(
        release: ReleaseDep,
        request: Request,
        filters: Annotated[EnterpriseFilter, Depends()],
        fmt: Format,
        lang: LangDep,
    ) -> StreamingResponse:
        """The enterprises matching the filters (and, with ``quarter``, their facts for it) as
        GeoParquet, GeoPackage, CSV or GeoJSON. GeoParquet and GeoPackage carry the citation
        and licences (in ``lang``) in their metadata; for CSV and GeoJSON take
        ``/api/extract.zip``."""
        index = selected_enterprises(release, filters, settings)
        table = enterprise_table(release, index, filters.quarter)
        notes = file_notes(release, rerun_url(request, settings, release), filters.quarter, lang)
        name = f"{stem(release, 'enterprises', filters.quarter)}.{fmt}"
        with workdir() as directory:
            path = directory / name
            write_enterprises(table, fmt, path, notes, release_stamp(release))
            return send(path, directory, MEDIA_TYPES[fmt], name)

    @router.get(
        "/api/extract/pm25.tif",
        response_class=StreamingResponse,
        responses={200: {"content": {MEDIA_TYPES["tif"]: {}}}},
    )
    def extract_pm25(
        release: ReleaseDep,
        request: Request,
        filters: Annotated[EnterpriseFilter, Depends()],
        lang: LangDep,
        period: Annotated[str | None, Query(
            pattern=PERIOD_PATTERN, description="A month, quarter or year (or quarter=).",
        )] = None,
    ) -> StreamingResponse:
        """The PM2.5 grid of ``period`` (a month 2019-01, quarter 2019Q1 or year 2019; or
        ``quarter``) (band 1 PM2.5, band 2 its uncertainty, µg/m³, NaN = no data) clipped to
        ``bbox`` (required, snapped outwards to whole pixels), as a Cloud-Optimized GeoTIFF
        whose metadata holds the citation and licences (in ``lang``)."""
        quarter = period or _required(filters.quarter, "period")
        bbox = _bbox(filters, settings)
        if bbox is None:
            raise InvalidParameterError("bbox is required")
        enterprise_mask(release, filters, settings.max_bbox_area_deg2)  # validates the rest
        clip = pm25_clip(release, quarter, bbox, settings.max_extract_pixels)
        notes = file_notes(release, rerun_url(request, settings, release), quarter, lang)
        name = f"{stem(release, 'pm25', quarter)}.tif"
        with workdir() as directory:
            path = directory / name
            write_cog(clip, path, notes)
            return send(path, directory, MEDIA_TYPES["tif"], name)

    @router.get(
        "/api/extract.zip",
        response_class=StreamingResponse,
        responses={200: {"content": {MEDIA_TYPES["zip"]: {}}}},
    )
    def extract_zip(
        release: ReleaseDep,
        request: Request,
        filters: Annotated[EnterpriseFilter, Depends()],
        lang: LangDep,
        fmt: Annotated[
            Format, Query(alias="format", description="Format of the enterprises file in the ZIP.")
        ] = "gpkg",
    ) -> StreamingResponse:
        """One ZIP of what the map shows: the matching enterprises (``format``), their
        violation and output records (CSV), the PM2.5 clip of the period shown (``period``, a
        month or year, else ``quarter``) when it has a grid and ``bbox`` is given,
        ``CITATION.txt``, ``LICENCES.md`` and ``query.json``.

        ``CITATION.txt`` and ``LICENCES.md`` hold both Chinese and English, ``lang`` first (a
        ZIP travels further than the page it came from); the files' metadata is in ``lang``."""
        quarter, bbox = filters.quarter, _bbox(filters, settings)
        shown = filters.period or quarter
        index = selected_enterprises(release, filters, settings)
        clip = None
        pm25_note: dict[str, Any] = {"included": False}
        if shown is None or bbox is None:
            pm25_note["reason"] = "needs both a period (period or quarter) and bbox"
        elif shown not in release.all_periods:
            pm25_note["reason"] = f"period {shown} has no PM2.5 grid"
        else:
            try:
                clip = pm25_clip(release, shown, bbox, settings.max_extract_pixels)
            except NotFoundError as e:  # bbox outside the grid: still a valid extract
                pm25_note["reason"] = str(e)

        url = rerun_url(request, settings, release)
        notes = file_notes(release, url, quarter, lang)
        table = enterprise_table(release, index, quarter)
        ids = {str(i) for i in table["id"]}
        name = f"{stem(release, 'extract', shown)}.zip"
        stamp = release_stamp(release)
        with workdir() as directory:
            members: list[tuple[str, Path | str | bytes]] = []
            enterprises_name = f"enterprises.{fmt}"
            write_enterprises(table, fmt, directory / enterprises_name, notes, stamp)
            members.append((enterprises_name, directory / enterprises_name))
            counts: dict[str, int] = {"enterprises": len(table)}
            for label, relative in (("violations", VIOLATIONS_PATH), ("output", OUTPUT_PATH)):
                rows = record_rows(release, relative, ids)
                if rows is not None:
                    members.append((f"{label}.csv", rows.to_csv(index=False)))
                    counts[label] = len(rows)
            if clip is not None:
                tif = f"pm25_{shown}.tif"
                write_cog(clip, directory / tif, notes)
                members.append((tif, directory / tif))
                pm25_note = {
                    "included": True, "file": tif, "bounds": list(clip.bounds),
                    "width": clip.width, "height": clip.height,
                    "bands": list(BAND_NAMES), "units": "µg/m³",
                }  # fmt: skip
            query = {
                "release": release.id,
                "title": release.manifest.get("title"),
                "created": release.manifest.get("created"),
                "synthetic": is_synthetic(release),
                "quarter": quarter,
                "period": shown,
                "bbox": list(bbox) if bbox is not None else None,
                "filters": _filters_doc(filters),
                "format": fmt,
                "url": url,
                "counts": counts,
                "pm25": pm25_note,
                "files": [m[0] for m in members] + ["CITATION.txt", "LICENCES.md", "query.json"],
            }
            members += [
                ("CITATION.txt", both_languages(lang, lambda lg: citation(release, url, lg))),
                ("LICENCES.md", both_languages(lang, lambda lg: licence_notes(release, lg) + "\n"
                                               + _extract_notes(release, query, lg))),
                ("query.json", json.dumps(query, ensure_ascii=False, indent=2) + "\n"),
            ]
            path = directory / name
            _write_zip(path, members, stamp)
            return send(path, directory, MEDIA_TYPES["zip"], name)

    return router


def _extract_notes(release: Release, query: Mapping[str, Any], lang: Lang) -> str:
    """The LICENCES.md section about this extract's own files, in ``lang``."""
    lines = [
        f"## {_(lang, 'citation.extract.heading')}",
        "",
        _(lang, "citation.extract.made", id=release.id, date=built_date(release, lang),
          url=query["url"]),
        "",
        f"- {_(lang, 'citation.extract.enterprises')}",
        f"- {_(lang, 'citation.extract.records')}",
    ]  # fmt: skip
    if query["pm25"].get("included"):
        lines.append(f"- {_(lang, 'citation.extract.pm25', file=query['pm25']['file'])}")
    lines.append("")
    return "\n".join(lines)


def _write_zip(
    path: Path, members: Sequence[tuple[str, Path | str | bytes]], stamp: datetime
) -> None:
    """Write ``members`` (file paths or contents), each dated ``stamp``; already-compressed
    files are stored."""
    with zipfile.ZipFile(path, "w") as archive:
        for arcname, content in members:
            info = zipfile.ZipInfo(arcname, date_time=stamp.timetuple()[:6])
            packed = arcname.endswith(STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # rw-r--r--, not the temp file's mode
            if isinstance(content, Path):
                info.file_size = content.stat().st_size  # decides ZIP64 before writing
                with content.open("rb") as source, archive.open(info, "w") as target:
                    shutil.copyfileobj(source, target, CHUNK_BYTES)
            else:
                archive.writestr(info, content)
