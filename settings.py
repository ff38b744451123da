"""Runtime settings (environment variables prefixed ``LANTIAN_``), passed to ``create_app``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where releases live and what a request may cost."""

    model_config = SettingsConfigDict(env_prefix="LANTIAN_", frozen=True)

    data_dir: Path = Field(Path("var"), description="Holds releases/ and the 'current' link.")
    release: str | None = Field(None, description="Serve this release id instead of 'current'.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_page_size: int = Field(500, ge=1, le=10_000)
    max_bbox_area_deg2: float = Field(2_500.0, gt=0)
    max_extract_rows: int = Field(100_000, ge=1, description="Enterprises per extract.")
    max_extract_pixels: int = Field(
        16_000_000, ge=1, description="PM2.5 pixels per extract clip."
    )
    embed_max_markers: int = Field(5_000, ge=1, description="Plants per embed (/embed).")
    embed_max_overlay_side: int = Field(2_048, ge=16, description="PM2.5 overlay px a side.")
    tile_cache_control: str = "public, max-age=86400"
    tile_cache_bytes: int = Field(
        64 * 2**20, ge=0, description="Ready tile answers kept in memory, per server process."
    )
    public_url: str | None = Field(None, description="Absolute base URL used in TileJSON.")
    allowed_hosts: list[str] = Field(
        ["*"],
        description="Host headers answered (others get 400), e.g. maps.example.org, *.example.org;"
        " links in TileJSON and embeds are built from Host unless public_url is set.",
    )

    @property
    def releases_dir(self) -> Path:
        return self.data_dir / "releases"

    @property
    def current_link(self) -> Path:
        return self.data_dir / "current"
