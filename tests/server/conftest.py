"""Server fixtures: a small release built per session, an app and a TestClient."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from lantian.server.app import create_app
from lantian.settings import Settings


def _load_builder() -> ModuleType:
    path = Path(__file__).with_name("fixture_release.py")
    spec = importlib.util.spec_from_file_location("lantian_fixture_release", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


@pytest.fixture(scope="session")
def fixture_release(tmp_path_factory: pytest.TempPathFactory):
    return builder.build_release(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def settings(fixture_release) -> Settings:
    return Settings(data_dir=fixture_release.data_dir, max_page_size=3, max_bbox_area_deg2=200)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
