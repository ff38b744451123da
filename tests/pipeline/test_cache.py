"""The stage cache: entries appear whole or not at all, are checked by digest on use, and
prune keeps what is referenced."""

from __future__ import annotations

from pathlib import Path

import pytest

from lantian.pipeline.cache import StageCache
from lantian.pipeline.stages import Runner, code_digest, frame_digest, stage_key
from lantian.progress import SilentProgress


def _write(text: str):
    def write(folder: Path) -> str:
        (folder / "release").mkdir()
        (folder / "release" / "a.txt").write_text(text)
        return text
    return write


def test_entry_is_committed_whole_and_listed(tmp_path: Path) -> None:
    cache = StageCache(tmp_path)
    entry = cache.put("grid", "k1", _write("hello"))
    assert entry.files == {"release/a.txt": (5, entry.files["release/a.txt"][1])}
    assert cache.get("grid", "k1") == entry
    assert [e.key for e in cache.entries()] == ["k1"]
    assert entry.bytes == 5 and entry.file("release/a.txt").read_text() == "hello"


def test_failed_stage_leaves_no_entry(tmp_path: Path) -> None:
    cache = StageCache(tmp_path)

    def broken(folder: Path) -> None:
        (folder / "half.bin").write_bytes(b"\0" * 100)
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cache.put("grid", "k1", broken)
    assert cache.get("grid", "k1") is None
    assert cache.entries() == [] and list((tmp_path / "grid").iterdir()) == []


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "entry-json"])
def test_damaged_entry_is_not_trusted_and_rebuilt(tmp_path: Path, damage: str) -> None:
    cache = StageCache(tmp_path)
    entry = cache.put("tiles", "k1", _write("hello"))
    target = entry.file("release/a.txt")
    if damage == "flip":
        target.write_text("jello")  # same size, other digest
    elif damage == "truncate":
        target.write_text("hell")
    elif damage == "delete":
        target.unlink()
    else:
        (entry.path / "entry.json").write_text("{")
    assert cache.get("tiles", "k1") is None
    assert not entry.path.exists()  # set aside and removed
    runner = Runner(cache, SilentProgress())
    value, again = runner.run("tiles", "k1", _write("hello"), lambda e: "read")
    assert value == "hello" and again.file("release/a.txt").read_text() == "hello"
    assert [r.status for r in runner.runs] == ["built"]
    value, _ = runner.run("tiles", "k1", _write("hello"), lambda e: "read")
    assert value == "read" and [r.status for r in runner.runs] == ["built", "reused"]


def test_prune_keeps_referenced_entries(tmp_path: Path) -> None:
    cache = StageCache(tmp_path)
    for key in ("a", "b", "c"):
        cache.put("grid", key, _write(key))
    assert [e.key for e in cache.prune({("grid", "b")}, dry_run=True)] == ["a", "c"]
    assert len(cache.entries()) == 3
    cache.prune({("grid", "b")})
    assert [e.key for e in cache.entries()] == ["b"]


def test_keys_follow_code_options_and_data(tmp_path: Path) -> None:
    import pandas as pd

    base = stage_key("grid", ("layers/interpolate.py",), {"method": "idw"}, "2019Q1")
    assert stage_key("grid", ("layers/interpolate.py",), {"method": "idw"}, "2019Q1") == base
    assert stage_key("grid", ("layers/interpolate.py",), {"method": "kriging"}, "2019Q1") != base
    assert stage_key("grid", ("layers/grid.py",), {"method": "idw"}, "2019Q1") != base
    assert stage_key("cube", ("layers/interpolate.py",), {"method": "idw"}, "2019Q1") != base
    assert code_digest(["layers"]) != code_digest(["layers/grid.py"])
    with pytest.raises(FileNotFoundError):
        code_digest(["layers/no_such_module.py"])
    frame = pd.DataFrame({"pm25": [1.0, 2.0]}, index=["1001A", "1002A"])
    assert frame_digest(frame) == frame_digest(frame.copy())
    assert frame_digest(frame) != frame_digest(frame.assign(pm25=[1.0, 2.5]))
    assert frame_digest(frame) != frame_digest(frame.rename(index={"1002A": "1003A"}))
