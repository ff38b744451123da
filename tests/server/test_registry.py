"""Versioned releases: the current link is followed live, older releases stay addressable."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lantian.server.app import create_app
from lantian.server.releases import registry as registry_module
from lantian.settings import Settings

from .conftest import builder

TILE = "/tiles/enterprises/5/26/12.pbf"
NEW_ID = "20300101T000000Z-newer"


@pytest.fixture
def two_releases(tmp_path: Path) -> tuple[Path, str]:
    release = builder.build_release(tmp_path / "data")
    builder.copy_release(release.root, NEW_ID, "newer release")
    return release.data_dir, release.id


def test_activating_a_release_is_served_without_restart(two_releases: tuple[Path, str]) -> None:
    data_dir, old_id = two_releases
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        assert client.get("/api/release").json()["id"] == old_id
        old_etag = client.get(TILE).headers["etag"]

        builder.activate(data_dir, NEW_ID)

        assert client.get("/api/release").json()["id"] == NEW_ID
        new = client.get(TILE)
        assert new.status_code == 200
        assert new.headers["etag"] != old_etag
        assert client.get(TILE, headers={"If-None-Match": old_etag}).status_code == 200


def test_older_release_stays_addressable_by_id(two_releases: tuple[Path, str]) -> None:
    data_dir, old_id = two_releases
    builder.activate(data_dir, NEW_ID)
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        pinned = client.get("/api/release", params={"release": old_id}).json()
        assert pinned["id"] == old_id
        archive_urls = [u for layer in pinned["layers"] for u in layer["pmtiles"].values()]
        assert archive_urls and all(u.endswith(f"?release={old_id}") for u in archive_urls)
        assert client.get(archive_urls[0]).status_code == 200

        tilejson = client.get("/tiles/pm25/2019Q1/tilejson.json", params={"release": old_id})
        assert tilejson.json()["tiles"][0].endswith(f".png?release={old_id}")
        old_tile = client.get(TILE, params={"release": old_id})
        new_tile = client.get(TILE)
        assert old_tile.content == new_tile.content
        assert old_tile.headers["etag"] != new_tile.headers["etag"]

        files = client.get("/downloads", params={"release": old_id}).json()["files"]
        assert all(f["url"].endswith(f"?release={old_id}") for f in files)


@pytest.mark.parametrize(
    "release_id", ["20990101T000000Z-missing", "..", "../current", "a/b", "%2e%2e", "x" * 200]
)
def test_unknown_or_malformed_release_ids_are_refused(
    two_releases: tuple[Path, str], release_id: str
) -> None:
    data_dir, _ = two_releases
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        response = client.get("/api/release", params={"release": release_id})
        assert response.status_code in (404, 422)
        assert str(data_dir) not in response.text


def test_a_broken_new_release_leaves_the_previous_one_served(
    two_releases: tuple[Path, str],
) -> None:
    data_dir, old_id = two_releases
    (data_dir / "releases" / NEW_ID / "manifest.json").write_text("{", encoding="utf-8")
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        builder.activate(data_dir, NEW_ID)
        assert client.get("/api/release").json()["id"] == old_id
        assert client.get(TILE).status_code == 200


def _open_files_under(folder: Path) -> list[str]:
    """Files of this process open under ``folder`` (deleted ones included)."""
    targets = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue
    return [t for t in targets if t.startswith(str(folder.resolve()))]


@pytest.mark.parametrize("noticed_by", ["pinned request", "next release opened"])
def test_a_deleted_release_is_let_go(two_releases: tuple[Path, str], noticed_by: str) -> None:
    data_dir, old_id = two_releases
    old_dir = data_dir / "releases" / old_id
    builder.activate(data_dir, NEW_ID)
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        assert client.get(TILE, params={"release": old_id}).status_code == 200
        assert _open_files_under(old_dir)  # its archives are open
        shutil.rmtree(old_dir)
        if noticed_by == "pinned request":
            assert client.get(TILE, params={"release": old_id}).status_code == 404
        else:
            builder.copy_release(data_dir / "releases" / NEW_ID, "20300202T000000Z-third")
            builder.activate(data_dir, "20300202T000000Z-third")
            assert client.get("/api/release").json()["id"] == "20300202T000000Z-third"
        gc.collect()
        assert _open_files_under(old_dir) == []
        assert client.get(TILE).status_code == 200


def test_a_swap_between_reading_and_opening_the_link_is_not_remembered_wrongly(
    two_releases: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``current`` moves back right after the registry read its new target: the release read
    is served, and each later move is noticed (CI once saw a stale release after many swaps)."""
    data_dir, old_id = two_releases
    real_readlink = os.readlink
    swapped: list[str] = []

    def readlink_then_swap_back(path: str) -> str:
        target = real_readlink(path)
        if not swapped:
            swapped.append(target)
            builder.activate(data_dir, old_id)
        return target

    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        assert client.get("/api/release").json()["id"] == old_id
        builder.activate(data_dir, NEW_ID)
        monkeypatch.setattr("lantian.server.releases.registry.os.readlink", readlink_then_swap_back)
        assert client.get("/api/release").json()["id"] == NEW_ID
        assert swapped
        assert client.get("/api/release").json()["id"] == old_id
        builder.activate(data_dir, NEW_ID)
        assert client.get("/api/release").json()["id"] == NEW_ID
        assert client.get(TILE).headers["etag"].startswith(f'"{NEW_ID}-')


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every release opened: (id, whether it ran on an event loop's thread)."""
    calls: list[tuple[str, bool]] = []
    real = registry_module.open_release

    def recording(root: Path) -> Any:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        calls.append((root.name, on_loop))
        return real(root)

    monkeypatch.setattr(registry_module, "open_release", recording)
    return calls


def test_releases_are_opened_off_the_event_loop(
    two_releases: tuple[Path, str], opens: list[tuple[str, bool]]
) -> None:
    """Opening checks every archive's SHA-256: on the loop it would stall every request of
    the worker. The fast path leaves a release it has not opened to the routes' threads."""
    data_dir, old_id = two_releases
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        old_tile = client.get(TILE)
        builder.activate(data_dir, NEW_ID)
        for _ in range(3):
            tile = client.get(TILE)
            assert tile.status_code == 200 and tile.headers["etag"] != old_tile.headers["etag"]
        for _ in range(3):
            pinned = client.get(TILE, params={"release": old_id})
            assert pinned.headers["etag"] == old_tile.headers["etag"]
    assert [release for release, _ in opens] == [old_id, NEW_ID]
    assert not any(on_loop for _, on_loop in opens)


def test_a_broken_new_release_is_tried_once(
    two_releases: tuple[Path, str], opens: list[tuple[str, bool]]
) -> None:
    """Each request used to re-open (and re-hash) the broken release before falling back."""
    data_dir, old_id = two_releases
    (data_dir / "releases" / NEW_ID / "manifest.json").write_text("{", encoding="utf-8")
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        builder.activate(data_dir, NEW_ID)
        for _ in range(5):
            assert client.get("/api/release").json()["id"] == old_id
            assert client.get(TILE).status_code == 200
    assert [release for release, _ in opens] == [old_id, NEW_ID]
