"""``LANTIAN_ALLOWED_HOSTS``: requests naming another Host are refused, tiles included."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lantian.server.app import _env_value, create_app
from lantian.settings import Settings

TILE = "/tiles/enterprises/5/26/12.pbf"


def test_only_allowed_hosts_are_answered(fixture_release) -> None:
    settings = Settings(
        data_dir=fixture_release.data_dir, allowed_hosts=["maps.example.org", "*.example.net"]
    )
    with TestClient(create_app(settings)) as client:
        for path in ("/healthz", TILE, "/tiles/pm25/2019Q1/tilejson.json"):
            assert client.get(path, headers={"Host": "evil.example.com"}).status_code == 400
            assert client.get(path, headers={"Host": "maps.example.org"}).status_code == 200
            assert client.get(path, headers={"Host": "a.example.net"}).status_code == 200
        tilejson = client.get("/tiles/pm25/2019Q1/tilejson.json",
                              headers={"Host": "maps.example.org"}).json()  # fmt: skip
        assert tilejson["tiles"][0].startswith("http://maps.example.org/tiles/pm25/2019Q1/")


def test_every_host_by_default(client: TestClient) -> None:
    assert client.get(TILE, headers={"Host": "anything.example"}).status_code == 200


def test_list_settings_reach_server_workers_intact(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run`` hands settings to worker processes as ``LANTIAN_*`` variables."""
    hosts = ["maps.example.org", "*.example.net"]
    monkeypatch.setenv("LANTIAN_ALLOWED_HOSTS", _env_value(hosts))
    monkeypatch.setenv("LANTIAN_PORT", _env_value(8123))
    assert Settings().allowed_hosts == hosts and Settings().port == 8123
