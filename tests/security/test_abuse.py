"""Hostile requests: impossible tile addresses, path traversal and SSRF attempts in every
name-like parameter, oversized requests, abusive Range headers, bounded memory, and HTML/JS
from the data escaped in every HTML answer."""

from __future__ import annotations

import re
import sys
import tempfile
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from lantian.settings import Settings

from .conftest import PACKAGE_DIR, XSS

Q = "2019Q1"
BBOX = "116,38,119,41"
PASSWD = b"root:x:0:0"
LEAKS = ("Traceback", '.py"', 'File "', "site-packages")


def assert_clean(response: Any, *roots: Path) -> None:
    """No 5xx, no /etc/passwd, no path of the server, no traceback."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    body = response.content
    assert PASSWD not in body
    markers = [*LEAKS, str(PACKAGE_DIR), *(str(r) for r in roots)]
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    for marker in markers:
        assert marker.encode() not in body, marker
        assert marker not in headers, marker


# ---- tile addresses --------------------------------------------------------------------------

HUGE = "99999999999999999999"
TILE_ADDRESSES = [
    "-1/0/0", "23/0/0", f"{HUGE}/0/0", "0/-1/0", "0/0/-1", "1/2/0", "1/0/2", "3/8/0", "3/0/8",
    "22/4194304/0", "22/0/4194304", f"0/{HUGE}/0", f"0/0/{HUGE}", "0/0.5/0", "0/0/1e3",
    "0/0/abc", "0/0x1/0", "0/ 1/0", "1.0/0/0", "nan/0/0", "0/inf/0", f"{'9' * 5000}/0/0",
]  # fmt: skip


@pytest.mark.parametrize("address", TILE_ADDRESSES)
@pytest.mark.parametrize(
    "template",
    ["/tiles/pm25/2019Q1/{}.png", "/tiles/enterprises/{}.pbf", "/tiles/boundaries/{}.pbf"],
)
def test_bad_tile_addresses_are_4xx(
    security_client: TestClient, security_release: Any, template: str, address: str
) -> None:
    response = security_client.get(template.format(address))
    assert response.status_code in (404, 422), (address, response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    assert_clean(response, security_release.root)


# ---- path traversal, SSRF, VRT/vsi ----------------------------------------------------------

PAYLOADS = [
    "../", "../../../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2fmanifest.json", "/etc/passwd", "..\\..\\etc\\passwd", "pm25%00.png",
    "C:\\Windows\\win.ini", "/vsicurl/http://169.254.169.254/latest/meta-data/",
    "/vsizip//etc/passwd.zip/x", "<VRTDataset><VRTRasterBand/></VRTDataset>",
    "http://169.254.169.254/", "file:///etc/passwd", "....//....//etc/passwd",
    "%252e%252e%252fetc%252fpasswd", "tiles/../manifest.json", "./manifest.json",
]  # fmt: skip

# (template, kind): ``{}`` takes the payload, already URL-encoded as a path segment (``path``)
# or a query value (``query``); names must be refused (4xx), free text may match nothing (200).
NAME_PARAMS = [
    ("/tiles/{}/2019Q1/0/0/0.png", "path"),
    ("/tiles/pm25/{}/0/0/0.png", "path"),
    ("/tiles/{}/0/0/0.pbf", "path"),
    ("/tiles/{}/tilejson.json", "path"),
    ("/tiles/pm25/{}/tilejson.json", "path"),
    ("/pmtiles/{}.pmtiles", "path"),
    ("/downloads/{}", "path"),
    ("/downloads/pm25/{}", "path"),
    ("/api/enterprises/{}", "path"),
    ("/api/enterprises/{}/card", "path"),
    ("/api/colormaps/{}", "path"),
    ("/api/extract/enterprises.{}", "path"),
    ("/healthz?release={}", "query"),
    ("/downloads/stats/region_stats.csv?release={}", "query"),
    ("/api/pm25/point?lon=117&lat=39&quarter={}", "query"),
    ("/api/extract/pm25.tif?bbox=116,38,119,41&quarter={}", "query"),
    ("/api/extract.zip?format={}", "query"),
    ("/embed?layer={}", "query"),
    ("/embed?mode={}", "query"),
    ("/embed/preview.png?layer={}", "query"),
    ("/api/embed/describe?layer={}", "query"),
    ("/api/enterprises?industry={}", "query"),
    ("/api/enterprises?bbox={}", "query"),
]
TEXT_PARAMS = [
    "/api/enterprises?q={}",
    "/api/enterprises?province={}",
    "/api/stats?region={}&region_type={}",
    "/api/records/match-report?status={}",
    "/embed/markers.json?province={}",
    "/api/embed/describe?q={}",
]


def _encode(payload: str, kind: str) -> str:
    # Keep the payload's own %-escapes (double-encoding is one of the attacks) and slashes in
    # path segments; encode what a client would have to.
    safe = "%/" if kind == "path" else "%"
    return quote(payload, safe=safe)


class OpenAudit:
    """Files and URLs the process opens while ``active`` (audit hook; GDAL through a wrapper
    of ``rasterio.open``, which sees the name it is given, VRT and /vsi…/ paths included)."""

    def __init__(self) -> None:
        self.active = False
        self.paths: list[str] = []
        self.network: list[str] = []
        self._lock = threading.Lock()
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active:
            return
        if event == "open" and args and isinstance(args[0], str | bytes | Path):
            raw = args[0]
            path = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            with self._lock:
                self.paths.append(path)
        elif event.startswith(("socket.connect", "socket.getaddrinfo", "urllib.Request")):
            with self._lock:
                self.network.append(f"{event} {args!r}"[:200])

    def record(self, name: Any) -> None:
        if self.active:
            with self._lock:
                self.paths.append(str(name))

    @contextmanager
    def watching(self) -> Iterator[OpenAudit]:
        with self._lock:
            self.paths.clear()
            self.network.clear()
        self.active = True
        try:
            yield self
        finally:
            self.active = False


_AUDIT: OpenAudit | None = None


@pytest.fixture(scope="session")
def audit() -> OpenAudit:
    global _AUDIT
    if _AUDIT is None:
        _AUDIT = OpenAudit()
    return _AUDIT


@pytest.fixture
def audited(audit: OpenAudit, monkeypatch: pytest.MonkeyPatch) -> OpenAudit:
    import rasterio

    original = rasterio.open

    def recording_open(fp: Any, *args: Any, **kwargs: Any) -> Any:
        audit.record(fp)
        return original(fp, *args, **kwargs)

    monkeypatch.setattr(rasterio, "open", recording_open)
    return audit


def _allowed(path: str, roots: tuple[Path, ...]) -> bool:
    if "://" in path or path.startswith("/vsi") or "<" in path:
        return False
    resolved = Path(path).resolve()
    temp = Path(tempfile.gettempdir()).resolve()
    if resolved.suffix == ".py" and resolved.is_relative_to(PACKAGE_DIR):
        return True  # the server's own source (FastAPI inspects the endpoints)
    if resolved.is_relative_to(temp) and resolved.name.startswith("lantian-"):
        return True  # an extract's own work directory
    if resolved.is_relative_to(temp) and resolved.parent.name.startswith("lantian-extract-"):
        return True
    return any(resolved.is_relative_to(root) for root in roots)


HOSTILE_PATH = re.compile(r"passwd|169\.254|vsicurl|vsizip|VRT|win\.ini")


def _check_opens(audit: OpenAudit, roots: tuple[Path, ...]) -> None:
    assert not audit.network, audit.network
    system = (Path(sys.prefix), Path(sys.base_prefix), Path("/usr/share"), Path("/usr/lib"))
    bad = [p for p in audit.paths if not _allowed(p, (*roots, *system))]
    assert not bad, f"opened outside the release: {bad}"
    hostile = [p for p in audit.paths if HOSTILE_PATH.search(p)]
    assert not hostile, hostile


@pytest.fixture(scope="module")
def warmed(security_client: TestClient) -> TestClient:
    """One valid request of each kind first: lazy imports and caches open their files now."""
    for url in (
        f"/tiles/pm25/{Q}/0/0/0.png", "/tiles/enterprises/0/0/0.pbf", "/api/release",
        f"/api/pm25/point?lon=117&lat=39&quarter={Q}", "/downloads/stats/region_stats.csv",
        f"/embed/preview.png?quarter={Q}", f"/embed?quarter={Q}", "/api/embed/describe",
        f"/api/extract/pm25.tif?quarter={Q}&bbox={BBOX}", "/api/extract.zip",
        "/api/extract/enterprises.csv", "/api/enterprises?q=x", "/embed/markers.json",
        "/pmtiles/boundaries.pmtiles", "/tiles/pm25/2019Q1/tilejson.json", "/api/stats",
    ):  # fmt: skip
        assert security_client.get(url).status_code == 200, url
    return security_client


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize(("template", "kind"), NAME_PARAMS)
def test_traversal_in_names_is_refused(
    warmed: TestClient,
    audited: OpenAudit,
    allowed_roots: tuple[Path, ...],
    security_release: Any,
    template: str,
    kind: str,
    payload: str,
) -> None:
    url = template.format(_encode(payload, kind))
    with audited.watching():
        response = warmed.get(url)
    if response.request.url.path in ("/", "/downloads"):
        pass  # the client collapsed the ``..`` segments (raw ones: test_raw_dot_segments_…)
    else:
        assert 400 <= response.status_code < 500, (url, response.status_code, response.text[:99])
    assert_clean(response, security_release.root)
    _check_opens(audited, allowed_roots)


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("template", TEXT_PARAMS)
def test_traversal_in_text_reads_nothing_outside(
    warmed: TestClient,
    audited: OpenAudit,
    allowed_roots: tuple[Path, ...],
    security_release: Any,
    template: str,
    payload: str,
) -> None:
    url = template.format(*[_encode(payload, "query")] * template.count("{}"))
    with audited.watching():
        response = warmed.get(url)
    assert response.status_code in (200, 404, 422), (url, response.status_code)
    if response.status_code == 200 and "total" in response.json():
        assert response.json()["total"] == 0
    assert_clean(response, security_release.root)
    _check_opens(audited, allowed_roots)


RAW_PATHS = [
    "/downloads/../../../../etc/passwd", "/static/../../../../etc/passwd",
    "/static/..%2f..%2f..%2fetc/passwd", "/downloads/%2e%2e/manifest.json",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/pmtiles/../manifest.json.pmtiles",
    "/downloads/pm25/../../../../../../etc/passwd", "/static//etc/passwd",
]  # fmt: skip


@pytest.mark.parametrize("raw", RAW_PATHS)
def test_raw_dot_segments_do_not_escape(
    warmed: TestClient, audited: OpenAudit, allowed_roots: tuple[Path, ...], raw: str
) -> None:
    """``..`` segments sent as they are (a client would collapse them)."""
    request = warmed.build_request("GET", "/")
    request.url = request.url.copy_with(raw_path=raw.encode())
    with audited.watching():
        response = warmed.send(request)
    assert response.status_code in (400, 404), (raw, response.status_code)
    assert PASSWD not in response.content
    _check_opens(audited, allowed_roots)


# ---- oversized requests ---------------------------------------------------------------------

OVERSIZED = [
    ("/api/enterprises?bbox=-180,-90,180,90", "bbox"),
    ("/api/enterprises?bbox=100,30,130,50", "bbox"),  # 600 deg² > the fixture's 200
    ("/api/enterprises?bbox=1e308,1e308,1e308,1e308", "bbox"),
    ("/api/enterprises?bbox=nan,0,1,1", "bbox"),
    ("/api/enterprises?bbox=" + ",".join(["1"] * 50), "bbox"),
    ("/api/enterprises?limit=1000000000", "limit"),
    ("/api/enterprises?limit=" + "9" * 400, "limit"),
    ("/api/enterprises?offset=99999999999999999999", "offset"),
    ("/api/records/match-report?limit=100000", "limit"),
    ("/api/enterprises?q=" + "a" * 10_000, "q"),
    ("/embed/preview.png?width=100000", "width"),
    ("/embed/preview.png?height=100000", "height"),
    ("/embed/preview.png?width=-1", "width"),
    ("/embed/preview.png?title=" + "x" * 5_000, "title"),
    ("/embed?title=" + "x" * 5_000, "title"),
    ("/embed?bbox=-180,-85,180,85", "bbox"),
    ("/embed/markers.json?bbox=-180,-85,180,85", "bbox"),
    ("/embed?lang=" + "x" * 1_000, "lang"),
    ("/api/extract/pm25.tif?quarter=2019Q1&bbox=-180,-90,180,90", "bbox"),
    ("/api/extract.zip?bbox=0,0,170,80", "bbox"),
    ("/api/pm25/point?lon=1e309&lat=0&quarter=2019Q1", "lon"),
    ("/api/stats?region=" + "x" * 1_000, "region"),
]


@pytest.mark.parametrize(("url", "parameter"), OVERSIZED)
def test_oversized_is_422_naming_the_parameter(
    security_client: TestClient, security_release: Any, url: str, parameter: str
) -> None:
    response = security_client.get(url)
    assert response.status_code == 422, (url, response.status_code)
    assert parameter in response.text, response.text[:300]
    assert len(response.content) < 64_000
    assert_clean(response, security_release.root)


@pytest.fixture(scope="module")
def tight_client(security_release: Any) -> Iterator[TestClient]:
    """Limits small enough that the fixture's 6 plants and grid exceed them."""
    from lantian.server.app import create_app

    settings = Settings(
        data_dir=security_release.data_dir, max_extract_rows=2, max_extract_pixels=100,
        embed_max_markers=2,
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/extract/enterprises.csv", "enterprises"),
        ("/api/extract.zip", "enterprises"),
        (f"/api/extract/pm25.tif?quarter={Q}&bbox={BBOX}", "bbox"),
        (f"/api/extract.zip?quarter={Q}&bbox={BBOX}", "bbox"),
        (f"/embed?quarter={Q}", "bbox"),
        (f"/embed?quarter={Q}&mode=standalone", "bbox"),
        (f"/embed/markers.json?quarter={Q}", "bbox"),
    ],
)
def test_limits_of_extracts_and_embeds(tight_client: TestClient, url: str, parameter: str) -> None:
    response = tight_client.get(url)
    assert response.status_code == 422, (url, response.status_code)
    assert parameter in response.json()["detail"]


# ---- Range headers --------------------------------------------------------------------------

RANGES = [
    "bytes=" + ",".join(f"{i}-{i}" for i in range(1000)),
    "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(1000)),
    "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(9)),
    "bytes=" + ",".join(["0-"] * 50),
    "bytes=999999999-",
    "bytes=99999999999999999999999999-",
    "bytes=-0",
    "bytes=-99999999999",
    "bytes=5-1",
    "bytes=0-0,5-1",
    "bytes=--1",
    "bytes=a-b",
    "lines=0-1",
    "garbage",
    "bytes=",
    "bytes=0-" + "9" * 5000,
    "bytes=" + "9" * 5000 + "-",
    "bytes=0-0" + " " * 10_000,
    "x" * 10_000,
]


@pytest.mark.parametrize("header", RANGES, ids=lambda h: h[:24])
@pytest.mark.parametrize(
    "path",
    [
        "/pmtiles/boundaries.pmtiles",
        "/downloads/tiles/boundaries.pmtiles",
        "/downloads/stats/region_stats.csv",
    ],
)
def test_abusive_range_headers_are_bounded(
    security_client: TestClient, security_release: Any, path: str, header: str
) -> None:
    relative = path.removeprefix("/downloads/").replace("/pmtiles/", "tiles/")
    size = (security_release.root / relative).stat().st_size
    response = security_client.get(path, headers={"Range": header})
    assert response.status_code in (200, 206, 400, 416, 422), response.status_code
    # No amplification: at most the file once plus a few multipart part headers.
    echoed = len(header) if response.status_code == 422 else 0  # FastAPI's 422 shows the input
    assert len(response.content) <= size + 2_048 + echoed
    if response.status_code == 200:
        assert len(response.content) == size
    assert_clean(response, security_release.root)


def test_a_few_ranges_still_work(security_client: TestClient) -> None:
    csv = "/downloads/stats/region_stats.csv"
    single = security_client.get(csv, headers={"Range": "bytes=0-3"})
    assert (single.status_code, single.content) == (206, b"regi")
    several = security_client.get(csv, headers={"Range": "bytes=0-0,2-2,4-4"})
    assert several.status_code == 206
    assert several.headers["content-type"].startswith("multipart/byteranges")
    tiles = security_client.get("/pmtiles/boundaries.pmtiles", headers={"Range": "bytes=0-126"})
    assert (tiles.status_code, len(tiles.content)) == (206, 127)


# ---- bounded memory -------------------------------------------------------------------------

WORST = [
    ("/embed/preview.png?width=1600&height=1200&title=" + "W" * 120, {}),
    (f"/embed?quarter={Q}&mode=standalone&bbox=100,30,114,44", {}),
    (f"/api/extract.zip?quarter={Q}&bbox=105,30,119,44", {}),
    (f"/api/extract/pm25.tif?quarter={Q}&bbox=105,30,119,44", {}),
    ("/embed/preview.png?width=1600&height=1200&bbox=105,30,119,44&lang=zh", {}),
    ("/downloads/pm25/pm25_2019Q1.tif", {"Range": "bytes=" + ",".join(["0-"] * 8)}),
    ("/pmtiles/boundaries.pmtiles", {"Range": "bytes=" + ",".join(["0-"] * 1000)}),
    ("/api/enterprises?limit=10000&offset=10000000", {}),
]


def test_worst_requests_have_bounded_memory(security_client: TestClient) -> None:
    """Python-side peak allocation (numpy included) of each heavy request stays far below what
    a request could cost without the limits; and each answers without a 5xx."""
    security_client.get("/embed/preview.png")  # fonts, imports
    for url, headers in WORST:
        tracemalloc.start()
        try:
            response = security_client.get(url, headers=headers)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert response.status_code < 500, (url, response.status_code)
        assert peak < 200 * 2**20, (url, peak)


# ---- HTML/JS from the data ------------------------------------------------------------------

DANGEROUS = re.compile(r"<script>alert|<img src=x|onerror=\"?window|<script>\s*</|\"><img", re.I)


def _unescaped(text: str) -> list[str]:
    return [m.group(0) for m in DANGEROUS.finditer(text)]


@pytest.mark.parametrize("mode", ["linked", "standalone"])
@pytest.mark.parametrize("title", [None, XSS])
def test_embed_html_escapes_data(hostile_client: TestClient, mode: str, title: str | None) -> None:
    params = {"mode": mode, "quarter": Q, "province": "山西省"}
    if title:
        params["title"] = title
    response = hostile_client.get("/embed", params=params)
    assert response.status_code == 200, response.text[:300]
    page = response.text
    assert not _unescaped(page), _unescaped(page)[:5]
    head_title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert head_title is not None and "<" not in head_title.group(1)
    if mode == "standalone":  # the plants are inline (linked: from /embed/markers.json)
        assert "太原焦化" in page and "onerror" in page


def test_markers_and_describe_are_json(hostile_client: TestClient) -> None:
    markers = hostile_client.get("/embed/markers.json", params={"quarter": Q})
    assert markers.headers["content-type"] == "application/json"
    for row in markers.json()["markers"]:
        assert not _unescaped(row[5]), row[5]  # popup HTML, built escaped
    described = hostile_client.get("/api/embed/describe", params={"province": "山西省"})
    assert described.headers["content-type"] == "application/json"
    assert described.status_code == 200


def test_preview_title_is_drawn_not_served(hostile_client: TestClient) -> None:
    response = hostile_client.get("/embed/preview.png", params={"title": XSS[:120]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert XSS.encode() not in response.content


def test_tilejson_attribution_escaped(hostile_client: TestClient) -> None:
    doc = hostile_client.get(f"/tiles/pm25/{Q}/tilejson.json").json()
    assert not _unescaped(doc["attribution"]), doc["attribution"]


def test_errors_echo_input_only_as_json(hostile_client: TestClient) -> None:
    for url in (f"/api/colormaps/{quote(XSS)}", f"/api/enterprises/{quote(XSS)}",
                f"/embed?province={quote(XSS)}", f"/tiles/{quote(XSS)}/0/0/0.pbf"):  # fmt: skip
        response = hostile_client.get(url)
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"] == "application/json"


# ---- the checks themselves ------------------------------------------------------------------


def test_the_audit_sees_what_the_server_opens(
    warmed: TestClient, audited: OpenAudit, security_release: Any
) -> None:
    """Positive control: GDAL opens (through rasterio) and Python opens are both recorded."""
    with audited.watching():
        assert warmed.get(f"/api/pm25/point?lon=117&lat=39&quarter={Q}").status_code == 200
        assert warmed.get("/downloads/stats/region_stats.csv").status_code == 200
    opened = {Path(p).resolve() for p in audited.paths}
    assert security_release.root / "pm25" / f"pm25_{Q}.tif" in opened
    assert security_release.root / "stats" / "region_stats.csv" in opened


def test_the_escaping_check_would_catch_raw_data() -> None:
    assert _unescaped(f"<p>{XSS}</p>")
    assert _unescaped('<p>Stack monitor offline <img src=x onerror="window.__xss=1"></p>')
    assert not _unescaped("<p>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>")
