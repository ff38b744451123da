from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lantian.errors import BuildError
from lantian.tiles.colormaps import get_colormap
from lantian.tiles.manifest import Layer, ReleaseContent, Source
from lantian.tiles.release import (
    InvalidReleaseError,
    ReleaseStore,
    load_manifest,
    release_id,
    verify_release,
)

DIGEST_A = "a" * 64
DIGEST_B = "0123456789abcdef" * 4
CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def store(root: Path) -> ReleaseStore:
    return ReleaseStore(root, clock=lambda: CREATED)


def writer(payload: bytes = b"tiles") -> tuple[list[Path], Callable[[Path], ReleaseContent]]:
    calls: list[Path] = []

    def write(tmp: Path) -> ReleaseContent:
        calls.append(tmp)
        (tmp / "tiles").mkdir()
        (tmp / "tiles" / "pm25_2019Q1.pmtiles").write_bytes(payload)
        (tmp / "stats").mkdir()
        (tmp / "stats" / "region_stats.csv").write_text("region,pm25\n北京,42\n", encoding="utf-8")
        return ReleaseContent(
            title="Demo",
            synthetic=True,
            quarters=["2019Q1"],
            layers=[
                Layer(id="pm25", kind="raster", title="PM2.5", units="µg/m³", colormap="pm25",
                      minzoom=0, maxzoom=7, bounds=(100, 30, 125, 45),
                      files={"2019Q1": "tiles/pm25_2019Q1.pmtiles"})
            ],
            sources=[Source(id="s", title="S", url="https://example.org", licence="CC-BY-4.0",
                            attribution="S")],
            summary={"stations": 3},
            colormaps={"pm25": get_colormap("pm25").to_json()},
            file_titles={"tiles/pm25_2019Q1.pmtiles": "PM2.5 tiles, 2019Q1"},
        )

    return calls, write


def test_build_writes_release_manifest_and_current(tmp_path: Path) -> None:
    calls, write = writer()
    release = store(tmp_path).build(DIGEST_A, write)
    assert release.built and release.id == "r-aaaaaaaaaaaa" == release_id(DIGEST_A)
    assert release.path == tmp_path / "releases" / "r-aaaaaaaaaaaa"
    assert calls[0].name.startswith(".tmp-") and not calls[0].exists()
    assert os.readlink(tmp_path / "current") == "releases/r-aaaaaaaaaaaa"
    assert (tmp_path / "current" / "manifest.json").is_file()

    raw = json.loads((release.path / "manifest.json").read_text(encoding="utf-8"))
    assert raw["format"] == "lantian-release/1" and raw["created"] == "2024-05-01T12:00:00Z"
    assert raw["summary"] == {"stations": 3} and raw["synthetic"] is True
    assert raw["colormaps"]["pm25"]["classes"][0]["lower"] == 0
    files = {f["path"]: f for f in raw["files"]}
    assert sorted(files) == ["stats/region_stats.csv", "tiles/pm25_2019Q1.pmtiles"]
    tiles = files["tiles/pm25_2019Q1.pmtiles"]
    assert tiles["bytes"] == 5 and tiles["media_type"] == "application/vnd.pmtiles"
    assert tiles["sha256"] == hashlib.sha256(b"tiles").hexdigest()
    assert tiles["title"] == "PM2.5 tiles, 2019Q1"
    assert files["stats/region_stats.csv"]["media_type"] == "text/csv"
    assert files["stats/region_stats.csv"]["title"] == "region_stats.csv"
    assert verify_release(release.path, checksums=True) == release.manifest
    assert load_manifest(release.path / "manifest.json") == release.manifest
    current = store(tmp_path).current()
    assert current is not None and current.manifest == release.manifest


def test_same_digest_is_skipped(tmp_path: Path) -> None:
    _first_calls, first = writer()
    built = store(tmp_path).build(DIGEST_A, first)
    again_calls, again = writer(b"other")
    reused = store(tmp_path).build(DIGEST_A, again)
    assert not reused.built and again_calls == [] and reused.manifest == built.manifest
    assert [r.id for r in store(tmp_path).list_releases()] == ["r-aaaaaaaaaaaa"]


def test_new_digest_swaps_current_and_keeps_old_release(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.build(DIGEST_A, writer()[1])
    s.build(DIGEST_B, writer(b"newer")[1])
    assert os.readlink(tmp_path / "current") == "releases/r-0123456789ab"
    assert sorted(r.id for r in s.list_releases()) == ["r-0123456789ab", "r-aaaaaaaaaaaa"]
    s.activate("r-aaaaaaaaaaaa")
    current = s.current()
    assert current is not None and current.id == "r-aaaaaaaaaaaa"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_failure_mid_write_leaves_everything_untouched(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.build(DIGEST_A, writer()[1])
    before = os.readlink(tmp_path / "current")

    def crash(tmp: Path) -> ReleaseContent:
        (tmp / "half.pmtiles").write_bytes(b"x")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        s.build(DIGEST_B, crash)
    assert os.readlink(tmp_path / "current") == before
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == ["r-aaaaaaaaaaaa"]


def test_layer_pointing_at_missing_file_fails_the_build(tmp_path: Path) -> None:
    def write(tmp: Path) -> ReleaseContent:
        return ReleaseContent(
            title="t", synthetic=True, quarters=[], sources=[],
            layers=[Layer(id="x", kind="vector", title="x", minzoom=0, maxzoom=12,
                          bounds=(0, 0, 1, 1), files={"all": "tiles/enterprises.pmtiles"})],
        )

    with pytest.raises(BuildError, match="not among the release files"):
        store(tmp_path).build(DIGEST_A, write)
    assert list((tmp_path / "releases").iterdir()) == []
    assert not (tmp_path / "current").exists()


def test_broken_release_dir_is_rebuilt(tmp_path: Path) -> None:
    s = store(tmp_path)
    built = s.build(DIGEST_A, writer()[1])
    (built.path / "tiles" / "pm25_2019Q1.pmtiles").write_bytes(b"truncated!")
    calls, write = writer()
    rebuilt = s.build(DIGEST_A, write)
    assert rebuilt.built and len(calls) == 1
    assert verify_release(rebuilt.path, checksums=True).id == "r-aaaaaaaaaaaa"


def test_prune_removes_only_stale_temp_dirs(tmp_path: Path) -> None:
    s = store(tmp_path)
    stale = tmp_path / "releases" / ".tmp-dead"
    fresh = tmp_path / "releases" / ".tmp-live"
    for path in (stale, fresh):
        path.mkdir(parents=True)
        (path / "f").write_bytes(b"x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    assert s.prune_temp() == [stale]
    assert not stale.exists() and fresh.exists()


def test_invalid_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="hex"):
        release_id("not-a-digest")
    bad = tmp_path / "manifest.json"
    bad.write_text('{"format": "lantian-release/1"}', encoding="utf-8")
    with pytest.raises(InvalidReleaseError, match="invalid manifest"):
        load_manifest(bad)
    with pytest.raises(InvalidReleaseError, match="cannot read"):
        load_manifest(tmp_path / "missing.json")
    with pytest.raises(InvalidReleaseError, match="no valid release"):
        store(tmp_path).activate("r-000000000000")


def test_layer_with_undescribed_colormap_is_rejected(tmp_path: Path) -> None:
    _, write = writer()

    def without_colormaps(tmp: Path) -> ReleaseContent:
        return write(tmp).model_copy(update={"colormaps": {}})

    with pytest.raises(BuildError, match="colormap pm25 is not described"):
        store(tmp_path).build(DIGEST_A, without_colormaps)
    assert not (tmp_path / "current").exists()
