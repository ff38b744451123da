"""``ReleaseStore.prune`` and ``lantian releases list|prune``: old releases go, kept ones stay."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lantian.cli import app as cli_app
from lantian.tiles.manifest import ReleaseContent
from lantian.tiles.release import TMP_PREFIX, ReleaseStore, read_keep_file, release_id

DAY0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# Built in this order, created on these days: ids, build order and creation order all differ.
BUILDS = [("c" * 12, 2), ("a" * 12, 0), ("d" * 12, 3), ("b" * 12, 1), ("e" * 12, 4)]
OLDEST_FIRST = ["r-aaaaaaaaaaaa", "r-bbbbbbbbbbbb", "r-cccccccccccc", "r-dddddddddddd",
                "r-eeeeeeeeeeee"]  # fmt: skip


def on_day(day: int) -> Callable[[], datetime]:
    return lambda: DAY0 + timedelta(days=day)


def write(tmp: Path) -> ReleaseContent:
    (tmp / "grid.txt").write_text(tmp.name, encoding="utf-8")
    return ReleaseContent(title="t", synthetic=True, quarters=["2019Q1"], layers=[], sources=[])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Five releases, one built per day in ``BUILDS`` order; ``current`` → the last built."""
    for digest, day in BUILDS:
        ReleaseStore(tmp_path, clock=on_day(day)).build(digest, write)
    return tmp_path


def ids(store: ReleaseStore) -> list[str]:
    return [r.id for r in store.list_releases()]


def test_keeps_the_newest_by_creation_the_current_and_the_named(root: Path) -> None:
    store = ReleaseStore(root)
    assert ids(store) == OLDEST_FIRST
    store.activate("r-aaaaaaaaaaaa")
    removed = store.prune(2, {"r-bbbbbbbbbbbb"})
    assert [r.id for r in removed] == ["r-cccccccccccc"]
    assert ids(store) == ["r-aaaaaaaaaaaa", "r-bbbbbbbbbbbb", "r-dddddddddddd", "r-eeeeeeeeeeee"]
    assert sorted(p.name for p in store.releases_dir.iterdir()) == ids(store)
    assert os.readlink(store.current_link) == "releases/r-aaaaaaaaaaaa"


def test_keep_zero_leaves_only_current_and_keep_ids(root: Path) -> None:
    store = ReleaseStore(root)
    assert store.prunable(0, set()) == store.list_releases()[:-1]
    removed = store.prune(0, {"r-cccccccccccc", "r-not-a-release"})
    assert [r.id for r in removed] == ["r-aaaaaaaaaaaa", "r-bbbbbbbbbbbb", "r-dddddddddddd"]
    assert ids(store) == ["r-cccccccccccc", "r-eeeeeeeeeeee"]
    assert [r.id for r in store.prune(0, set())] == ["r-cccccccccccc"]
    assert ids(store) == ["r-eeeeeeeeeeee"]


def test_keep_more_than_exist_removes_nothing(root: Path) -> None:
    store = ReleaseStore(root)
    assert store.prune(len(BUILDS) + 3, set()) == []
    assert ids(store) == OLDEST_FIRST
    with pytest.raises(ValueError, match="keep"):
        store.prunable(-1, set())


def test_prune_leaves_unreadable_releases_and_temp_dirs(root: Path) -> None:
    store = ReleaseStore(root)
    broken = store.releases_dir / release_id("f" * 12)
    broken.mkdir()
    (broken / "manifest.json").write_text("{", encoding="utf-8")
    leftover = store.releases_dir / f"{TMP_PREFIX}build"
    leftover.mkdir()
    store.prune(0, set())
    assert broken.is_dir() and leftover.is_dir()
    assert ids(store) == ["r-eeeeeeeeeeee"]


def test_a_crash_while_deleting_leaves_no_half_release(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ReleaseStore(root)

    def crash_midway(path: Path) -> None:
        next(p for p in Path(path).rglob("*") if p.is_file()).unlink()
        raise OSError("disk gone")

    monkeypatch.setattr("lantian.tiles.release.shutil.rmtree", crash_midway)
    with pytest.raises(OSError, match="disk gone"):
        store.prune(4, set())
    # The half-deleted tree is under a .tmp- name: no longer a release, swept by prune_temp.
    assert ids(store) == OLDEST_FIRST[1:]
    assert not (store.releases_dir / OLDEST_FIRST[0]).exists()
    [half] = store.releases_dir.glob(f"{TMP_PREFIX}*")
    monkeypatch.undo()
    assert store.prune_temp(older_than_s=0) == [half]
    assert sorted(p.name for p in store.releases_dir.iterdir()) == OLDEST_FIRST[1:]


def test_read_keep_file(tmp_path: Path) -> None:
    path = tmp_path / "releases.keep"
    assert read_keep_file(path) == set()
    path.write_text(
        "# cited in the 2024 report\nr-aaaaaaaaaaaa\n\n  r-bbbbbbbbbbbb  # blog embed\n#r-c\n",
        encoding="utf-8",
    )
    assert read_keep_file(path) == {"r-aaaaaaaaaaaa", "r-bbbbbbbbbbbb"}


def test_cli_list_and_prune(root: Path) -> None:
    runner = CliRunner()
    (root / "releases.keep").write_text("r-aaaaaaaaaaaa  # pinned\nr-zzzzzzzzzzzz\n", "utf-8")

    listed = runner.invoke(cli_app, ["releases", "list", "--data-dir", str(root)])
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.output.splitlines() if "r-" in line]
    assert [row.split()[1] for row in rows] == OLDEST_FIRST
    assert [("*" in row) for row in rows] == [False] * 4 + [True]

    args = ["releases", "prune", "--keep", "2", "--data-dir", str(root)]
    dry = runner.invoke(cli_app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove r-bbbbbbbbbbbb" in dry.output
    assert "would remove r-cccccccccccc" in dry.output
    assert "r-zzzzzzzzzzzz, not a release here" in dry.output
    assert "would keep 3 of 5 releases" in dry.output
    assert ids(ReleaseStore(root)) == OLDEST_FIRST

    done = runner.invoke(cli_app, args)
    assert done.exit_code == 0, done.output
    assert "removed r-bbbbbbbbbbbb" in done.output and "kept 3 of 5 releases" in done.output
    assert ids(ReleaseStore(root)) == ["r-aaaaaaaaaaaa", "r-dddddddddddd", "r-eeeeeeeeeeee"]

    negative = runner.invoke(cli_app, [*args[:3], "-1", *args[4:]])
    assert negative.exit_code != 0 and "--keep" in negative.output
