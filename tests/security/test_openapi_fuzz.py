"""Schemathesis over the whole OpenAPI document, in-process (ASGI) against the fixture release.

Every operation, valid and invalid inputs: no 5xx, status codes, content types and bodies as
declared, and no response leaks a file-system path or a stack trace. Seeded and derandomized,
with modest example counts (the heavy routes render images, maps and files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lantian.server.app import create_app
from lantian.settings import Settings

from .conftest import PACKAGE_DIR

HEAVY = ("/embed", "/embed/preview.png", "/api/extract")  # path prefixes: fewer examples
LEAKS = ("Traceback", '.py"', ".py'", "site-packages", 'File "')


# The OpenAPI document does not depend on the release: read it from an app never started, so
# the operations are known at collection time (the calls go to ``security_app``).
SPEC = create_app(Settings(data_dir=Path("unused"))).openapi()
schema = schemathesis.openapi.from_dict(SPEC)


def no_leak(markers: tuple[str, ...], response: Any) -> None:
    """Neither body nor headers hold a path of the server, nor a traceback."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    body = response.content or b""
    for marker in markers:
        assert marker not in headers, f"header leaks {marker!r}"
        assert marker.encode() not in body, f"body leaks {marker!r}"


def _markers(release_root: Any) -> tuple[str, ...]:
    root = str(release_root)
    data_dir = str(release_root.parent.parent)
    return (root, data_dir, str(PACKAGE_DIR), *LEAKS)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


VALID_PATH = {
    "quarter": "2019Q1", "z": 3, "x": 6, "y": 3, "enterprise_id": "csv:1",
    "path": "stats/region_stats.csv", "fmt": "csv", "lang": "zh", "adcode": "130200",
    "a": "2019Q1", "b": "2019Q2",
}  # fmt: skip


def _valid_path(case: Any) -> None:
    """Every other case gets path parameters the release has, so the generated query
    parameters reach the code behind the lookups (filters, rendering, extracts)."""
    if not case.path_parameters or len(repr(case.query)) % 2:
        return
    path = case.operation.path
    for name in case.path_parameters:
        if name == "layer":
            raster = path.endswith((".png", "{quarter}/tilejson.json"))
            value: Any = "pm25" if raster else "enterprises"
        elif name == "name":
            value = "boundaries" if path.startswith("/pmtiles") else "pm25"
        else:
            value = VALID_PATH[name]
        case.path_parameters[name] = value


def _run(case: Any, app: FastAPI, security_release: Any) -> None:
    _valid_path(case)
    response = case.call(app=app)
    case.validate_response(response, checks=CHECKS)
    no_leak(_markers(security_release.root), response)


def fuzz_settings(max_examples: int) -> Any:
    """Reproducible runs: derandomized, no example database, no deadline."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@schema.exclude(path_regex="^(" + "|".join(HEAVY) + ")").parametrize()
@fuzz_settings(max_examples=25)
def test_light_operations(case: Any, security_app: FastAPI, security_release: Any) -> None:
    _run(case, security_app, security_release)


@schema.include(path_regex="^(" + "|".join(HEAVY) + ")").parametrize()
@fuzz_settings(max_examples=8)
def test_heavy_operations(case: Any, security_app: FastAPI, security_release: Any) -> None:
    _run(case, security_app, security_release)
