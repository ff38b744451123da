"""`lantian cache prune`: stage entries no release lists go, the rest stay and still verify."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import lantian_small_inputs as small  # registered by tests/conftest.py
from typer.testing import CliRunner

from lantian.cli import app
from lantian.pipeline.cache import StageCache
from lantian.tiles.release import ReleaseStore, verify_release


def test_cache_prune_keeps_what_releases_reference(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    inputs = small.write_inputs(tmp_path / "in")
    first = small.build(inputs, data_dir)
    second = small.build(replace(inputs, title="Small test release, renamed"), data_dir)
    cache = StageCache(data_dir / "cache" / "stages")
    cubes = {e.key for e in cache.entries() if e.stage == "cube"}
    assert len(cubes) == 2  # the title is in the cube: one each; every other stage is shared
    # (the small builds are of quarters only: one cube a build)
    legacy = data_dir / "cache" / "basemap-0123456789abcdef.pmtiles"  # before stages
    legacy.write_bytes(b"old")
    dry = CliRunner().invoke(app, ["cache", "prune", "--data-dir", str(data_dir), "--dry-run"],
                             env={"COLUMNS": "400"})
    assert dry.exit_code == 0 and "would remove" in dry.output and str(legacy) in dry.output
    assert legacy.exists()

    store = ReleaseStore(data_dir)
    assert [r.id for r in store.prune(1, set())] == [first.release_id]
    result = CliRunner().invoke(app, ["cache", "prune", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    left = cache.entries()
    (kept_cube,) = [e for e in left if e.stage == "cube"]
    listed = {(r["stage"], r["key"]) for r in
              verify_release(second.path).summary["stages"]}
    assert (kept_cube.stage, kept_cube.key) in listed
    assert {(e.stage, e.key) for e in left} <= listed and not legacy.exists()
    assert any((data_dir / "cache").glob("boundaries-*"))  # the kept release's source
    verify_release(second.path, checksums=True)  # its hard links survive the prune
    again = small.build(replace(inputs, title="Small test release, renamed"), data_dir)
    assert again.skipped
