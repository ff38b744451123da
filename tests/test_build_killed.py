"""A build killed with SIGKILL part-way: the served release stays intact and served, the rerun
completes and activates a new release whose archives are valid PMTiles, and the dead build's
``.tmp-*`` leftovers are ignored, then pruned.

The build runs in a subprocess (``tests/small_inputs.py``: a small release on a 3° × 3° grid,
about 8 s) in its own process group, which is killed as a whole (tippecanoe included) when the
temp release reaches a chosen point, or once the build pauses before a chosen function."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from lantian.pipeline.cache import StageCache
from lantian.server.app import create_app
from lantian.settings import Settings
from lantian.tiles.pmtiles_io import validate_archive
from lantian.tiles.release import ReleaseStore, verify_release

SCRIPT = Path(__file__).with_name("small_inputs.py")
TITLE = "Small test release, second build"


import lantian_small_inputs as small  # noqa: E402 (registered by tests/conftest.py)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with one small release, current."""
    root = tmp_path_factory.mktemp("served")
    small.build(small.write_inputs(root / "in"), root / "var")
    return root / "var"


def _build(inputs: Path, data_dir: Path, pause: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("PAUSE_BEFORE", "PAUSE_MARKER")}
    if pause is not None:
        env |= {"PAUSE_BEFORE": pause, "PAUSE_MARKER": str(data_dir.parent / "paused")}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(inputs), str(data_dir), TITLE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env,
    )


def _paused(data_dir: Path) -> bool:
    return (data_dir.parent / "paused").exists()


def _temp_dirs(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "releases").glob(".tmp-*") if p.is_dir()]


def _cache_has(pattern: str) -> Callable[[Path], bool]:
    """Kill once the build cache holds a file or folder matching ``pattern`` (temporary ones
    included: ``.tmp-…`` names)."""
    def reached(data_dir: Path) -> bool:
        return any((data_dir / "cache").glob(pattern)) or any(
            (data_dir / "cache").glob(f".*{pattern}"))
    return reached


def _tmp_has(*parts: str) -> Callable[[Path], bool]:
    """Kill once a temp release holds ``parts`` (a path inside it; ``()`` = it exists)."""
    def reached(data_dir: Path) -> bool:
        return any(tmp.joinpath(*parts).exists() for tmp in _temp_dirs(data_dir))
    return reached


def _kill_when(process: subprocess.Popen[bytes], data_dir: Path,
               reached: Callable[[Path], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not reached(data_dir):
        assert process.poll() is None, (
            f"build ended before the kill point: {process.communicate()[1].decode()[-2000:]}")
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL


def check_archive(path: Path) -> int:
    """Header and directories parse, every entry lies inside the file (lantian's validator),
    and every tile the pmtiles reader iterates decodes; returns the number of tiles."""
    summary = validate_archive(path)
    with path.open("rb") as f:
        source = MmapSource(f)
        reader = Reader(source)
        header = reader.header()
        assert isinstance(reader.metadata(), dict)
        count = 0
        for (z, x, y), data in all_tiles(source):
            assert header["min_zoom"] <= z <= header["max_zoom"] and data, (path, z, x, y)
            if header["tile_compression"] == Compression.GZIP:
                data = gzip.decompress(data)
            if header["tile_type"] == TileType.PNG:
                with Image.open(io.BytesIO(data)) as image:
                    image.load()
            else:
                assert header["tile_type"] == TileType.MVT
                assert mapbox_vector_tile.decode(data)
            count += 1
    assert count == summary.addressed_tiles == header["addressed_tiles_count"] > 0
    return count


def _serves(data_dir: Path, release_id: str) -> None:
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        assert client.get("/api/release").json()["id"] == release_id
        tile = client.get("/tiles/pm25/2019Q1/7/105/48.png")  # Beijing
        assert tile.status_code == 200 and tile.content.startswith(b"\x89PNG")
        assert client.get("/tiles/enterprises/0/0/0.pbf").status_code in (200, 204)


@dataclass(frozen=True)
class KillPoint:
    """Kill the build when ``reached`` (polled every 5 ms), or once it pauses before
    ``pause`` (``module:attr``); ``complete`` if the new release was already in place;
    ``cold`` to empty the build cache first (so cached stages run again)."""

    reached: Callable[[Path], bool] = _paused
    pause: str | None = None
    complete: bool = False
    cold: bool = False


KILL_POINTS = [
    pytest.param(KillPoint(_tmp_has()), id="temp-dir-created"),
    pytest.param(KillPoint(pause="lantian.pipeline.observations:read_file", cold=True),
                 id="reading-observations"),
    pytest.param(KillPoint(_cache_has("stages/grid/.tmp-*/release/pm25/*.tif"), cold=True),
                 id="writing-grid"),
    pytest.param(KillPoint(_cache_has("stages/raster_tiles/.tmp-*/release/tiles/*"), cold=True),
                 id="writing-pmtiles"),
    pytest.param(KillPoint(_cache_has("stages/enterprise_tiles/.tmp-*"), cold=True),
                 id="tippecanoe-running"),
    pytest.param(KillPoint(pause="lantian.pipeline.assemble:build_basemap", cold=True),
                 id="building-basemap"),
    pytest.param(KillPoint(_cache_has("boundaries-*"), cold=True), id="deriving-boundaries"),
    pytest.param(KillPoint(pause="lantian.pipeline.grids:build_station_tiles", cold=True),
                 id="between-archives"),
    pytest.param(KillPoint(pause="lantian.pipeline.assemble:_link_entry"), id="linking-entries"),
    pytest.param(KillPoint(pause="lantian.pipeline.assemble:write_catalog"), id="before-catalog"),
    pytest.param(KillPoint(pause="lantian.tiles.release:ReleaseStore._move_into_place"),
                 id="manifest-written-not-moved"),
    pytest.param(KillPoint(pause="lantian.tiles.release:ReleaseStore.activate", complete=True),
                 id="moved-not-activated"),
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_build_leaves_served_release_and_rerun_completes(
    served: Path, tmp_path: Path, point: KillPoint
) -> None:
    data_dir = tmp_path / "var"
    shutil.copytree(served, data_dir, symlinks=True)
    link = os.readlink(data_dir / "current")
    previous = data_dir / link
    inputs = tmp_path / "in"
    if point.cold:
        shutil.rmtree(data_dir / "cache")

    _kill_when(_build(inputs, data_dir, point.pause), data_dir, point.reached)

    # the served release: unchanged, complete, still current and served
    assert os.readlink(data_dir / "current") == link
    verify_release(previous, checksums=True)
    store = ReleaseStore(data_dir)
    listed = [r.id for r in store.list_releases()]
    leftovers = _temp_dirs(data_dir)
    if point.complete:  # in place but never activated: listed, not served
        assert len(listed) == 2 and listed[0] == previous.name and not leftovers
    else:  # the temp dir is ignored
        assert listed == [previous.name] and len(leftovers) == 1
    _serves(data_dir, previous.name)

    # a leftover younger than an hour is left alone (it could be a running build); an old one
    # is pruned by the next build
    assert store.prune_temp() == []
    old = time.time() - 2 * 3600
    for leftover in leftovers:
        os.utime(leftover, (old, old))

    rerun = _build(inputs, data_dir)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()[-3000:]
    new_id = out.decode().split()[-1]
    assert new_id != previous.name
    assert os.readlink(data_dir / "current") == f"releases/{new_id}"
    new = data_dir / "releases" / new_id
    manifest = verify_release(new, checksums=True)
    assert manifest.title == TITLE
    archives = [e.path for e in manifest.files if e.path.endswith(".pmtiles")]
    assert {"tiles/pm25_2019Q1.pmtiles", "tiles/pm25-cb_2019Q1.pmtiles",
            "tiles/enterprises.pmtiles", "tiles/boundaries.pmtiles"} <= set(archives)
    for archive in archives:
        check_archive(new / archive)
    cache = StageCache(data_dir / "cache" / "stages")  # every entry whole, by its digests
    entries = cache.entries()
    assert {"grid", "raster_tiles", "basemap", "enterprise_tiles"} <= {e.stage for e in entries}
    for entry in entries:
        assert cache.get(entry.stage, entry.key) == entry
        for name in entry.files:
            if name.endswith(".pmtiles"):
                check_archive(entry.path / name)
    assert not _temp_dirs(data_dir) and not list(data_dir.glob(".tmp-*"))
    verify_release(previous, checksums=True)
    _serves(data_dir, new_id)


def test_half_written_release_directory_is_replaced(served: Path, tmp_path: Path) -> None:
    """``releases/<id>`` without a valid manifest (an interrupted copy, a full disk) is not
    reused nor served: the build sets it aside and writes the release anew."""
    data_dir = tmp_path / "var"
    shutil.copytree(served, data_dir, symlinks=True)
    link = os.readlink(data_dir / "current")
    inputs = small.write_inputs(tmp_path / "in")
    from dataclasses import replace

    from lantian.pipeline import inputs_digest
    from lantian.tiles.release import release_id

    inputs = replace(inputs, title=TITLE)
    rid = release_id(inputs_digest(inputs, small.OPTIONS))
    partial = data_dir / "releases" / rid
    (partial / "tiles").mkdir(parents=True)
    (partial / "tiles" / "pm25_2019Q1.pmtiles").write_bytes(b"PMTiles\x03" + b"\0" * 50)
    assert [r.id for r in ReleaseStore(data_dir).list_releases()] == [Path(link).name]
    _serves(data_dir, Path(link).name)

    result = small.build(inputs, data_dir)
    assert result.release_id == rid and not result.skipped
    assert os.readlink(data_dir / "current") == f"releases/{rid}"
    for entry in verify_release(partial, checksums=True).files:
        if entry.path.endswith(".pmtiles"):
            check_archive(partial / entry.path)
    assert not list((data_dir / "releases").glob(".tmp-*"))
