"""Fixtures shared by every test module: where the bundled and shared data live."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def demo_data() -> Path:
    """Real public data bundled with the demo (see demo/data/ATTRIBUTION.md)."""
    return REPO_ROOT / "demo" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The workplace's ../shared/data folder, beside the repository in CI."""
    path = REPO_ROOT.parent / "shared" / "data"
    assert path.is_dir(), f"expected shared data at {path}"
    return path
