"""Security fixtures: the fixture release (plus a copy whose manifest and plants carry HTML/JS),
an app, a TestClient and the OpenAPI schema for schemathesis."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lantian.server.app import STATIC_DIR, create_app
from lantian.settings import Settings

PACKAGE_DIR = Path(__file__).resolve().parents[2]
XSS = '"><img src=x onerror=alert(1)><script>alert(1)</script>'


import lantian_fixture_release as builder  # noqa: E402 (registered by tests/conftest.py)


@pytest.fixture(scope="session")
def security_release(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return builder.build_release(tmp_path_factory.mktemp("secdata"))


@pytest.fixture(scope="session")
def security_settings(security_release: Any) -> Settings:
    return Settings(data_dir=security_release.data_dir, max_page_size=3, max_bbox_area_deg2=200)


@pytest.fixture(scope="session")
def security_app(security_settings: Settings) -> FastAPI:
    return create_app(security_settings)


@pytest.fixture(scope="session")
def security_client(security_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(security_app) as client:
        yield client


@pytest.fixture(scope="session")
def allowed_roots(security_release: Any) -> tuple[Path, ...]:
    """Where the server may open files while answering: the release and the static files."""
    return (security_release.root.resolve(), STATIC_DIR.resolve())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def hostile_release(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The fixture release with HTML/JS in its title, sources, layer titles, colour-scale
    labels and plant names/owners (besides the fixture's own ``<script>`` name and
    ``onerror`` finding)."""
    import geopandas as gpd

    release = builder.build_release(tmp_path_factory.mktemp("hostile"))
    root: Path = release.root
    plants = root / "enterprises" / "enterprises.parquet"
    frame = gpd.read_parquet(plants)
    for column in ("name_en", "owner", "data_source", "city"):
        frame[column] = frame[column].astype(object)
        frame.loc[frame["id"] == builder.TAIYUAN, column] = f"{column}{XSS}"
    frame.to_parquet(plants)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    manifest["title"] = f"Release{XSS}"
    for source in manifest["sources"]:
        source["attribution"] = f"{source['attribution']}{XSS}"
        source["title"] = f"{source['title']}{XSS}"
    for layer in manifest["layers"]:
        layer["title"] = f"{layer['title']}{XSS}"
    for doc in manifest["colormaps"].values():
        doc["title"] = f"{doc.get('title', '')}{XSS}"
        for cls in doc.get("classes", ()):
            cls["label"] = f"{cls.get('label', '')}{XSS}"
    for entry in manifest["files"]:
        if entry["path"] == "enterprises/enterprises.parquet":
            entry["bytes"] = plants.stat().st_size
            entry["sha256"] = _sha256(plants)
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    return release


@pytest.fixture(scope="session")
def hostile_client(hostile_release: Any) -> Iterator[TestClient]:
    settings = Settings(data_dir=hostile_release.data_dir, max_bbox_area_deg2=2_500)
    with TestClient(create_app(settings)) as client:
        yield client
