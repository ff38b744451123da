"""Server fixtures: a small release built per session, an app and a TestClient."""

from __future__ import annotations

from collections.abc import Iterator

import lantian_fixture_release as builder  # registered by tests/conftest.py
import lantian_fixture_stats as stats_builder  # registered by tests/conftest.py
import pytest
from fastapi.testclient import TestClient

from lantian.server.app import create_app
from lantian.settings import Settings


@pytest.fixture(scope="session")
def fixture_release(tmp_path_factory: pytest.TempPathFactory):
    return builder.build_release(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def map_release(tmp_path_factory: pytest.TempPathFactory):
    """The fixture release whose ``boundaries`` archive is a basemap (with place names)."""
    return builder.build_release(tmp_path_factory.mktemp("mapdata"), map_layers=True)


@pytest.fixture(scope="session")
def map_client(map_release) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=map_release.data_dir))) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def settings(fixture_release) -> Settings:
    return Settings(data_dir=fixture_release.data_dir, max_page_size=3, max_bbox_area_deg2=200)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def fresh_client(settings: Settings) -> Iterator[TestClient]:
    """A client of a new app: its caches (tile answers, embed pages) start empty."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def stats_release(tmp_path_factory: pytest.TempPathFactory):
    """The fixture release with statistics, regions and station tables (fixture_stats.py)."""
    release = builder.build_release(tmp_path_factory.mktemp("statsdata"))
    stats_builder.add_statistics(release.root)
    return release


@pytest.fixture(scope="session")
def stats_client(stats_release) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=stats_release.data_dir))) as test_client:
        yield test_client
