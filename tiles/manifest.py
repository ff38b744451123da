"""The release manifest (``manifest.json``): pydantic models and media types."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT: Literal["lantian-release/1"] = "lantian-release/1"
MANIFEST_NAME = "manifest.json"

MEDIA_TYPES: dict[str, str] = {
    ".pmtiles": "application/vnd.pmtiles",
    ".tif": "image/tiff; application=geotiff; profile=cloud-optimized",
    ".nc": "application/x-netcdf",
    ".parquet": "application/vnd.apache.parquet",
    ".gpkg": "application/geopackage+sqlite3",
    ".geojson": "application/geo+json",
    ".csv": "text/csv",
    ".json": "application/json",
}


def media_type(path: str | Path) -> str:
    """The media type of a release file, by extension."""
    return MEDIA_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _relative(path: str) -> str:
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in path:
        raise ValueError(f"{path!r} is not a relative path inside the release")
    return path


class VectorLayer(_Frozen):
    """A layer inside a vector tileset (TileJSON ``vector_layers`` entry)."""

    id: str
    fields: dict[str, str] = Field(default_factory=dict)


class Layer(_Frozen):
    """A map layer: one raster or vector tileset per quarter (or ``all``)."""

    id: str
    kind: Literal["raster", "vector"]
    title: str
    units: str | None = None
    colormap: str | None = None
    minzoom: int = Field(ge=0, le=30)
    maxzoom: int = Field(ge=0, le=30)
    bounds: tuple[float, float, float, float]
    files: dict[str, str]
    vector_layers: list[VectorLayer] | None = None

    @field_validator("files")
    @classmethod
    def _relative_files(cls, files: dict[str, str]) -> dict[str, str]:
        return {key: _relative(path) for key, path in files.items()}

    @model_validator(mode="after")
    def _zooms(self) -> Layer:
        if self.minzoom > self.maxzoom:
            raise ValueError(f"layer {self.id}: minzoom > maxzoom")
        return self


class Source(_Frozen):
    """A data source credited by the release."""

    id: str
    title: str
    url: str
    licence: str
    attribution: str
    attribution_zh: str = ""  # the attribution in Chinese, for readers of the Chinese map


class FileEntry(_Frozen):
    """One file of the release, with its size and SHA-256."""

    path: str
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str
    title: str

    @field_validator("path")
    @classmethod
    def _relative_path(cls, path: str) -> str:
        return _relative(path)


class ReleaseContent(_Frozen):
    """What a release writer returns: every manifest part not computed by the builder.

    ``file_titles`` maps relative paths to titles; other files are titled by their name.
    """

    title: str
    synthetic: bool
    quarters: list[str]
    layers: list[Layer]
    sources: list[Source]
    title_zh: str = ""
    timeline: list[str] = Field(default_factory=list)
    periods: dict[str, list[str]] = Field(default_factory=dict)  # month, quarter, year labels
    summary: dict[str, Any] = Field(default_factory=dict)
    colormaps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    file_titles: dict[str, str] = Field(default_factory=dict)


class Manifest(_Frozen):
    """The validated ``manifest.json`` of a release."""

    format: Literal["lantian-release/1"] = FORMAT
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    created: datetime
    title: str
    title_zh: str = ""  # the title in Chinese ("" for releases that have none)
    synthetic: bool
    quarters: list[str]
    timeline: list[str] = Field(default_factory=list)
    # PM2.5 periods by type ({"month": [...], "quarter": [...], "year": [...]}); releases made
    # before months and years have none (their periods are the quarters)
    periods: dict[str, list[str]] = Field(default_factory=dict)
    layers: list[Layer]
    files: list[FileEntry]
    sources: list[Source]
    summary: dict[str, Any]
    colormaps: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _layer_files_listed(self) -> Manifest:
        listed = {f.path for f in self.files}
        for layer in self.layers:
            if layer.colormap is not None and layer.colormap not in self.colormaps:
                raise ValueError(f"layer {layer.id}: colormap {layer.colormap} is not described")
            for path in layer.files.values():
                if path not in listed:
                    raise ValueError(f"layer {layer.id}: {path} is not among the release files")
        return self

    def file(self, path: str) -> FileEntry | None:
        """The entry of ``path``, if listed."""
        return next((f for f in self.files if f.path == path), None)
