"""Tile serving: lantian vs nginx serving the same tiles as static files, plus in-process
baselines.

For one release (default ``/tmp/lt-var``, i.e. its ``current`` link) this

1. lists the tile addresses of one quarter's PM2.5 archive (z0–7) and of the vector layers
   ``enterprises`` and ``boundaries`` (every tile), and two sets of missing tiles: inside a
   layer's bounds but absent from its archive (lantian answers 204) and outside the bounds or
   zoom range (404);
2. extracts those tiles with the ``pmtiles`` package reader into a static ``z/x/y`` tree
   under the same URL paths lantian serves, and serves it with Debian's nginx (own config:
   ``worker_processes auto``, ``access_log off``, ``sendfile``, gzip ``Content-Encoding``
   on ``.pbf`` as lantian sends it);
3. serves the release with lantian: ``lantian serve`` as shipped (Granian, access log off) with
   1 and 2 workers, with 2 workers and ``--access-log``, and, for comparison, the same app on
   uvicorn (uvloop + httptools, 2 workers, no access log), the server before Granian, and a
   trivial ASGI app on Granian that answers every request with the same bytes (the ceiling
   for any Python app here);
4. runs wrk (64 connections, rotating over the address lists) against each server: req/s,
   p50/p90/p99 latency, errors;
5. measures in-process baselines: ``PMTilesArchive.locate + read`` per second over the same
   addresses, and ``os.pread`` calls per request through the ASGI app (warm) and for a
   synthetic archive with leaf directories.

Run: ``scripts/bench tiles [--data-dir DIR] [--duration 10] [--quick]``. nginx and wrk are
installed with apt-get when missing (needs root). Results: ``bench/results/tiles_http.json``
and a markdown summary on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmtiles.reader import MmapSource, all_tiles
from pmtiles.tile import Compression, TileType, tileid_to_zxy
from pmtiles.writer import Writer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, save, table

from lantian.server.releases import pmtiles_reader
from lantian.server.releases.pmtiles_reader import PMTilesArchive
from lantian.tiles.raster import tile_range

BENCH = Path(__file__).resolve().parent
VENV_BIN = ROOT / ".venv" / "bin"
VECTOR_LAYERS = ("enterprises", "boundaries")


# ---------------------------------------------------------------------------------- addresses


@dataclass(frozen=True)
class Address:
    path: str  # URL path, e.g. /tiles/pm25/2019Q1/3/6/3.png
    archive: str  # archive path relative to the release
    z: int
    x: int
    y: int


def release_root(data_dir: Path) -> Path:
    """The release directory: ``data_dir/current`` resolved, or ``data_dir`` itself."""
    if (data_dir / "current" / "manifest.json").is_file():
        return (data_dir / "current").resolve()
    if (data_dir / "manifest.json").is_file():
        return data_dir.resolve()
    raise SystemExit(f"no release at {data_dir} (expected current/manifest.json)")


def served_layers(root: Path, quarter: str | None) -> list[dict[str, Any]]:
    """``[{id, url, archive, bounds, minzoom, maxzoom}]``: one raster quarter + vector layers."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    layers = {layer["id"]: layer for layer in manifest["layers"]}
    q = quarter or manifest["quarters"][0]
    out = [{
        "id": "pm25", "url": f"/tiles/pm25/{q}/{{z}}/{{x}}/{{y}}.png",
        "archive": layers["pm25"]["files"][q], "bounds": layers["pm25"]["bounds"],
        "minzoom": layers["pm25"]["minzoom"], "maxzoom": layers["pm25"]["maxzoom"],
    }]
    for name in VECTOR_LAYERS:
        layer = layers[name]
        out.append({
            "id": name, "url": f"/tiles/{name}/{{z}}/{{x}}/{{y}}.pbf",
            "archive": layer["files"]["all"], "bounds": layer["bounds"],
            "minzoom": layer["minzoom"], "maxzoom": layer["maxzoom"],
        })
    return out


def _tiles(root: Path, archive: str) -> Iterator[tuple[tuple[int, int, int], bytes]]:
    with (root / archive).open("rb") as f:
        yield from all_tiles(MmapSource(f))


def address_sets(
    root: Path, layers: list[dict[str, Any]], *, n_missing: int = 3000, seed: int = 5
) -> dict[str, list[Address]]:
    """``hits`` (every tile of the layers), ``absent`` (in bounds, not in the archive) and
    ``outside`` (outside bounds or zoom range), the latter two sampled to ``n_missing``."""
    rng = random.Random(seed)
    hits: list[Address] = []
    absent: list[Address] = []
    outside: list[Address] = []
    for layer in layers:
        def address(z: int, x: int, y: int, layer: dict[str, Any] = layer) -> Address:
            path = layer["url"].format(z=z, x=x, y=y)
            return Address(path, layer["archive"], z, x, y)

        present = {zxy for zxy, _ in _tiles(root, layer["archive"])}
        hits += [address(*zxy) for zxy in sorted(present)]
        # absent: random tiles inside the bounds at every zoom, not in the archive
        candidates: list[tuple[int, int, int]] = []
        for z in range(layer["minzoom"], layer["maxzoom"] + 1):
            x0, y0, x1, y1 = tile_range(tuple(layer["bounds"]), z)
            span = (x1 - x0 + 1) * (y1 - y0 + 1)
            for _ in range(min(span, n_missing)):
                t = (z, rng.randint(x0, x1), rng.randint(y0, y1))
                if t not in present:
                    candidates.append(t)
        candidates = sorted(set(candidates))
        rng.shuffle(candidates)
        absent += [address(*t) for t in candidates[: n_missing // len(layers)]]
        # outside: Europe/Atlantic at the layer's zooms, and the layer's area beyond maxzoom
        for _ in range(n_missing // len(layers)):
            if rng.random() < 0.5:
                low = min(max(layer["minzoom"], 4), layer["maxzoom"])
                z = rng.randint(low, layer["maxzoom"])
                x0, y0, x1, y1 = tile_range((-30.0, 30.0, 30.0, 60.0), z)
            else:
                z = rng.randint(layer["maxzoom"] + 1, layer["maxzoom"] + 3)
                x0, y0, x1, y1 = tile_range(tuple(layer["bounds"]), z)
            outside.append(address(z, rng.randint(x0, x1), rng.randint(y0, y1)))
    rng.shuffle(hits)
    return {"hits": hits, "absent": absent, "outside": outside}


def extract_static(root: Path, layers: list[dict[str, Any]], dest: Path) -> tuple[int, int]:
    """Write every tile of the layers to ``dest/<url path>``; returns (files, bytes)."""
    files = size = 0
    for layer in layers:
        for (z, x, y), data in _tiles(root, layer["archive"]):
            path = dest / layer["url"].format(z=z, x=x, y=y).lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files += 1
            size += len(data)
    return files, size


# ---------------------------------------------------------------------------------- in process


def raw_lookup(root: Path, addresses: list[Address], seconds: float) -> dict[str, float]:
    """``locate`` + ``read`` per second, one thread, over ``addresses`` (archives opened once)."""
    archives = {a.archive: PMTilesArchive(root / a.archive) for a in addresses}
    calls = 0
    found = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for a in addresses:
            archive = archives[a.archive]
            ref = archive.locate(a.z, a.x, a.y)
            if ref is not None:
                archive.read(ref)
                found += 1
            calls += 1
    elapsed = time.perf_counter() - start
    for archive in archives.values():
        archive.close()
    return {"calls_per_s": calls / elapsed, "us_per_call": elapsed / calls * 1e6,
            "found_fraction": found / calls}


@contextlib.contextmanager
def counting_pread() -> Iterator[Counter[str]]:
    """Count ``os.pread`` calls made by the PMTiles reader (by byte range kind)."""
    counts: Counter[str] = Counter()
    real = os.pread

    def pread(fd: int, length: int, offset: int) -> bytes:
        counts["pread"] += 1
        return real(fd, length, offset)

    pmtiles_reader.os.pread = pread
    try:
        yield counts
    finally:
        pmtiles_reader.os.pread = real


def pread_per_request(data_dir: Path, sets: dict[str, list[Address]], n: int) -> dict[str, Any]:
    """``os.pread`` calls per HTTP request through the ASGI app, first (cold) and second
    (warm) pass over ``n`` addresses of each set."""
    from fastapi.testclient import TestClient

    from lantian.server.app import create_app
    from lantian.settings import Settings

    out: dict[str, Any] = {}
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        for kind, addresses in sets.items():
            sample = addresses[:n]
            statuses: Counter[int] = Counter()
            passes = []
            for _ in range(2):
                with counting_pread() as counts:
                    for a in sample:
                        statuses[client.get(a.path).status_code] += 1
                passes.append(counts["pread"] / len(sample))
            out[kind] = {"requests": len(sample), "pread_per_request_cold": passes[0],
                         "pread_per_request_warm": passes[1],
                         "statuses": {str(k): v // 2 for k, v in sorted(statuses.items())}}
    return out


def leaf_archive_check(tmp: Path, n_tiles: int, seed: int = 7) -> dict[str, Any]:
    """A synthetic archive large enough to need leaf directories (sparse tile ids, ~4096
    entries per leaf): ``os.pread`` calls and µs per tile for a warm pass over tiles of a few
    leaves and over tiles spread at random across every leaf (the reader caches every leaf of
    the root, up to 512)."""
    path = tmp / "leaves.pmtiles"
    rng = random.Random(seed)
    ids: list[int] = []
    tile_id = 1000
    with path.open("wb") as f:
        writer = Writer(f)
        for _ in range(n_tiles):
            tile_id += rng.randint(1, 3)
            ids.append(tile_id)
            writer.write_tile(tile_id, struct.pack("<Q", tile_id) * rng.randint(1, 4))
        writer.finalize({"tile_type": TileType.PNG, "tile_compression": Compression.NONE,
                         "min_lon_e7": -1800000000, "min_lat_e7": -850000000,
                         "max_lon_e7": 1800000000, "max_lat_e7": 850000000,
                         "center_zoom": 0, "center_lon_e7": 0, "center_lat_e7": 0}, {})
    archive = PMTilesArchive(path)
    leaves = sum(1 for e in archive.root if e.run_length == 0)
    few = [tileid_to_zxy(i) for i in ids[:2000]]
    spread = [tileid_to_zxy(i) for i in rng.sample(ids, 2000)]
    result: dict[str, Any] = {"tiles": n_tiles, "leaf_directories": leaves,
                              "leaf_cache_size": min(leaves, 512)}
    for name, sample in (("few_leaves", few), ("all_leaves_random", spread)):
        for z, x, y in sample:  # cold pass
            archive.read(archive.locate(z, x, y))  # type: ignore[arg-type]
        with counting_pread() as counts:
            start = time.perf_counter()
            for z, x, y in sample:
                ref = archive.locate(z, x, y)
                assert ref is not None
                archive.read(ref)
            elapsed = time.perf_counter() - start
        result[f"pread_per_tile_warm_{name}"] = counts["pread"] / len(sample)
        result[f"us_per_tile_warm_{name}"] = elapsed / len(sample) * 1e6
    archive.close()
    return result


# ---------------------------------------------------------------------------------- servers


def ensure_tools() -> dict[str, str]:
    """nginx and wrk on PATH, installed from Debian with apt-get when missing."""
    missing = [p for p in ("nginx", "wrk") if shutil.which(p) is None
               and not Path(f"/usr/sbin/{p}").exists()]
    if missing:
        packages = ["nginx-light" if p == "nginx" else p for p in missing]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", *packages], env=env).returncode:
            subprocess.run(["apt-get", "update"], env=env, check=True)
            subprocess.run(["apt-get", "install", "-y", *packages], env=env, check=True)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {"nginx": nginx, "nginx_version": version,
            "wrk_version": (wrk_v.stdout or wrk_v.stderr).splitlines()[0]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NGINX_CONF = """\
worker_processes auto;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  types {{ image/png png; application/vnd.mapbox-vector-tile pbf; }}
  server {{
    listen 127.0.0.1:{port};
    root {root};
    add_header Cache-Control "public, max-age=86400";
    location ~ \\.pbf$ {{
      add_header Content-Encoding gzip;
      add_header Cache-Control "public, max-age=86400";
    }}
  }}
}}
"""


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    ready_path: str
    port: int
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path) -> None:
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=subprocess.DEVNULL, stderr=out,
                start_new_session=True, cwd=self.cwd,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the server and workers
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def servers(data_dir: Path, static: Path, tmp: Path, nginx: str, *, quick: bool) -> list[Server]:
    env = {**os.environ, "LANTIAN_DATA_DIR": str(data_dir)}
    env.pop("PYTHONPATH", None)
    ready = "/healthz"
    nginx_port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=nginx_port, root=static))
    out = [Server("nginx (static files)", [nginx, "-c", str(conf), "-p", str(tmp), "-e",
                                           str(tmp / "error.log")], dict(os.environ),
                  "/", nginx_port)]

    def lantian(workers: int, *extra: str) -> list[str]:
        return [str(VENV_BIN / "lantian"), "serve", "--data-dir", str(data_dir),
                "--port", str(port), "--workers", str(workers), *extra]

    port = free_port()
    out.append(Server("lantian serve (as shipped: 1 process)", lantian(1), env, ready, port))
    port = free_port()
    out.append(Server("lantian serve --workers 2", lantian(2), env, ready, port))
    if not quick:
        port = free_port()
        out.append(Server("lantian serve --workers 2 --access-log",
                          lantian(2, "--access-log"), env, ready, port))
        port = free_port()  # the same app on the server lantian used before Granian
        out.append(Server(
            "lantian on uvicorn (uvloop + httptools), 2 workers",
            [str(VENV_BIN / "python"), "-m", "uvicorn", "asgi_app:create", "--factory",
             "--app-dir", str(BENCH), "--host", "127.0.0.1", "--port", str(port),
             "--no-access-log", "--log-level", "warning", "--workers", "2"],
            env, ready, port))
        port = free_port()  # what any Python app can reach on this server and machine
        out.append(Server(
            "ceiling: trivial ASGI app (fixed 475 bytes) on Granian, 2 workers",
            [str(VENV_BIN / "granian"), "--interface", "asgi", "--workers", "2", "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "warning", "ceiling_app:app"],
            env, ready, port, cwd=BENCH))
    # nginx serves "/" as a 403/404 without an index: probe a real tile instead
    return out


def wrk(url: str, paths_file: Path, *, duration: float, connections: int,
        threads: int) -> dict[str, Any]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s",
               "-s", str(BENCH / "rotate.lua"), url, "--", str(paths_file)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("{")][-1]
    data: dict[str, Any] = json.loads(line)
    data["req_per_s"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


def sample_statuses(url: str, addresses: list[Address], n: int) -> dict[str, int]:
    counts: Counter[int] = Counter()
    for a in addresses[:n]:
        try:
            with urllib.request.urlopen(url + a.path, timeout=5) as r:
                counts[r.status] += 1
        except urllib.error.HTTPError as e:
            counts[e.code] += 1
    return {str(k): v for k, v in sorted(counts.items())}


def fetch(url: str, addresses: list[Address], n: int) -> list[bytes]:
    """Raw (still gzip-encoded where stored so) bodies of the first ``n`` addresses."""
    out = []
    for a in addresses[:n]:
        request = urllib.request.Request(url + a.path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=5) as r:
            out.append(bytes(r.read()))
    return out


# ---------------------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = args.data_dir.resolve()
    root = release_root(data_dir)
    if not (data_dir / "current").exists():  # given a release dir: serve it by id
        data_dir = root.parent.parent
    layers = served_layers(root, args.quarter)
    sets = address_sets(root, layers, n_missing=args.missing)
    report: dict[str, Any] = {
        "machine": machine(), "release": root.name, "data_dir": str(data_dir),
        "layers": [{k: v for k, v in layer.items() if k != "bounds"} for layer in layers],
        "addresses": {k: len(v) for k, v in sets.items()},
        "connections": args.connections, "duration_s": args.duration, "threads": args.threads,
        "rounds": args.rounds,
    }
    print(f"release {root.name}: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()),
          flush=True)

    # in-process baselines
    report["raw_lookup"] = {k: raw_lookup(root, v, args.raw_seconds) for k, v in sets.items()}
    report["pread_http"] = pread_per_request(data_dir, sets, args.pread_sample)
    with tempfile.TemporaryDirectory(prefix="lantian-bench-leaf-") as leaf_tmp:
        report["pread_leaf_archive"] = leaf_archive_check(Path(leaf_tmp), args.leaf_tiles)
    print(json.dumps({k: report[k] for k in ("raw_lookup", "pread_http",
                                              "pread_leaf_archive")}, indent=1), flush=True)
    if args.no_http:
        return report

    report["tools"] = ensure_tools()
    tmp = Path(tempfile.mkdtemp(prefix="lantian-bench-http-"))
    os.chmod(tmp, 0o755)  # nginx workers (www-data) must read the static tree
    running: list[Server] = []
    try:
        static = tmp / "static"
        files, size = extract_static(root, layers, static)
        for d, _, _ in os.walk(static):
            os.chmod(d, 0o755)
        report["static_tree"] = {"files": files, "bytes": size}
        lists = {}
        for kind, addresses in sets.items():
            lists[kind] = tmp / f"{kind}.txt"
            lists[kind].write_text("".join(a.path + "\n" for a in addresses))
        runs: dict[str, dict[str, Any]] = {}
        reference: list[bytes] = []
        # Every server runs at once (idle ones cost nothing); the wrk runs are interleaved
        # round by round, so a change of background load hits all servers alike.
        for server in servers(data_dir, static, tmp, report["tools"]["nginx"],
                              quick=args.quick):
            if server.name.startswith("nginx"):
                server.ready_path = sets["hits"][0].path
            server.start(tmp / f"{server.port}.log")
            running.append(server)
            entry: dict[str, Any] = {"command": " ".join(server.command), "rounds": {}}
            bodies = fetch(server.url, sets["hits"], 100)
            if server.name.startswith("nginx"):
                reference = bodies
            else:
                entry["identical_bytes_to_nginx"] = sum(
                    a == b for a, b in zip(bodies, reference, strict=True))
            for kind in sets:
                entry[f"statuses_{kind}"] = sample_statuses(server.url, sets[kind], 100)
                entry["rounds"][kind] = []
            runs[server.name] = entry
        for round_ in range(args.rounds):
            for kind in sets:
                for server in running:
                    wrk(server.url, lists[kind], duration=args.warmup,
                        connections=args.connections, threads=args.threads)
                    r = wrk(server.url, lists[kind], duration=args.duration,
                            connections=args.connections, threads=args.threads)
                    r["loadavg_1"] = os.getloadavg()[0]
                    runs[server.name]["rounds"][kind].append(r)
                    print(f"round {round_ + 1} {kind:8s} {server.name[:44]:44s} "
                          f"{r['req_per_s']:7.0f} req/s  p50 {r['p50_us'] / 1e3:6.2f} ms  "
                          f"p99 {r['p99_us'] / 1e3:7.2f} ms  non-2xx/3xx {r['err_status']}  "
                          f"socket err {r['err_connect'] + r['err_read'] + r['err_write']}  "
                          f"timeouts {r['err_timeout']}  load {r['loadavg_1']:.1f}", flush=True)
        for entry in runs.values():
            for kind, rounds in entry["rounds"].items():
                entry[kind] = {key: statistics.median(r[key] for r in rounds)
                               for key in rounds[0]}
        report["http"] = runs
    finally:
        for server in running:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def summary(report: dict[str, Any]) -> str:
    parts = [f"release `{report['release']}`; addresses: "
             + ", ".join(f"{k} {v:,}" for k, v in report["addresses"].items())]
    raw = report["raw_lookup"]
    parts.append(table(["in-process PMTilesArchive.locate+read", "calls/s", "µs/call"],
                       [[k, v["calls_per_s"], v["us_per_call"]] for k, v in raw.items()]))
    pread = report["pread_http"]
    parts.append(table(["ASGI app, os.pread per request", "cold", "warm", "statuses"],
                       [[k, v["pread_per_request_cold"], v["pread_per_request_warm"],
                         json.dumps(v["statuses"])] for k, v in pread.items()]))
    leaf = report["pread_leaf_archive"]
    parts.append("synthetic archive with leaves: " + json.dumps(leaf))
    http = report.get("http")
    if http:
        nginx = next(v for k, v in http.items() if k.startswith("nginx"))
        rows = []
        parts.append(f"wrk medians of {report.get('rounds', 1)} interleaved rounds")
        for name, entry in http.items():
            for kind in report["addresses"]:
                r = entry[kind]
                n = nginx[kind]
                rows.append([name, kind, r["req_per_s"], r["p50_us"] / 1e3, r["p99_us"] / 1e3,
                             r["req_per_s"] / n["req_per_s"], r["p99_us"] / n["p99_us"],
                             r["err_status"], r["err_connect"] + r["err_read"]
                             + r["err_write"] + r["err_timeout"],
                             json.dumps(entry[f"statuses_{kind}"])])
        parts.append(table(["server", "set", "req/s", "p50 ms", "p99 ms", "req/s ÷ nginx",
                            "p99 ÷ nginx", "non-2xx/3xx", "socket errors+timeouts",
                            "statuses (100 sampled)"], rows))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/lt-var"),
                        help="data dir with a 'current' link, or a release dir")
    parser.add_argument("--quarter", help="PM2.5 quarter (default: the first)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2,
                        help="interleaved rounds over all servers; medians are reported")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--missing", type=int, default=3000, help="missing addresses per set")
    parser.add_argument("--raw-seconds", type=float, default=2.0)
    parser.add_argument("--pread-sample", type=int, default=300)
    parser.add_argument("--leaf-tiles", type=int, default=300_000)
    parser.add_argument("--no-http", action="store_true", help="in-process parts only")
    parser.add_argument("--quick", action="store_true",
                        help="3 s runs, fewer servers and addresses")
    parser.add_argument("--output", default="tiles_http", help="bench/results/<name>.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 3.0)
        args.rounds = 1
        args.raw_seconds = 0.5
        args.leaf_tiles = min(args.leaf_tiles, 30_000)
        args.pread_sample = min(args.pread_sample, 100)
    report = run(args)
    path = save(args.output, report)
    print(summary(report))
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
