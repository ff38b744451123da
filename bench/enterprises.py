"""Time and peak memory of the enterprise stages of the demo build, before and after.

Both versions build the real demo (``demo_inputs()``, quarters only) on the same machine in one
run, each in a fresh interpreter and a fresh data dir holding only the derived boundaries (as in
``build.py``). The child passes ``build_release`` a :class:`MemoryReporter`: for every step (a
stage run: ``Runner`` wraps each in ``progress.step(f"{stage} {label}")``) it records the wall
seconds, the RSS at the start and the peak RSS during the step, read from ``/proc/self/status``
(``VmRSS``) by a sampler thread every 20 ms; the process's own peak is ``ru_maxrss``. Memory of
child processes (tippecanoe) is not included.

The report keeps the enterprise stages (``enterprises``, ``enterprise_files``, ``facts``,
``enterprise_tiles``) and the plant counts of each release (rows of
``enterprises/enterprises.csv`` and ``enterprises/enterprise_quarters.csv``).
"before" is a git revision (default ``a2f5452``, the last one before issue 15's plants: GSPT
steel and WRI coal only) checked out with ``git worktree``; "after" is the working tree.
Run: ``scripts/bench enterprises [--before REV]``. Results: ``bench/results/enterprises.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import SEED, _checkout, _fresh
from build import _run as _seed
from common import ROOT, machine, save, table

STAGES = ("enterprises", "enterprise_files", "facts", "enterprise_tiles")
COUNTS = {"plants": "enterprises.csv", "plant_quarters": "enterprise_quarters.csv"}


def rss_mb() -> float:
    """The resident set size of this process now, in MB (``VmRSS``; 0 where there is no /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class StepRecord:
    """One reported step: wall seconds, RSS at its start, and the peak RSS while it ran."""

    name: str
    start_rss_mb: float
    peak_rss_mb: float
    end_rss_mb: float = 0.0
    seconds: float = 0.0

    @property
    def growth_mb(self) -> float:
        return self.peak_rss_mb - self.start_rss_mb


class MemoryReporter:
    """A progress reporter (``lantian.progress.Reporter``) that records every step's time and
    peak RSS; a sampler thread reads the RSS every ``interval`` seconds while it is entered."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.steps: list[StepRecord] = []
        self._open: list[StepRecord] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def __enter__(self) -> MemoryReporter:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _observe(self, rss: float) -> None:
        with self._lock:
            for record in self._open:  # nested steps each see the sample
                record.peak_rss_mb = max(record.peak_rss_mb, rss)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._observe(rss_mb())

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Callable[..., None]]:
        rss = rss_mb()
        record = StepRecord(name, rss, rss)
        with self._lock:
            self._open.append(record)
        start = time.perf_counter()
        try:
            yield lambda n=1: None
        finally:
            record.seconds = time.perf_counter() - start
            record.end_rss_mb = rss_mb()
            self._observe(record.end_rss_mb)
            with self._lock:
                self._open.remove(record)
            self.steps.append(record)


def csv_rows(path: Path) -> int | None:
    """Data rows of a CSV file (quoted newlines counted once), None if it is absent."""
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)


def is_enterprise_step(name: str) -> bool:
    return name.split(" ", 1)[0] in STAGES


def child(data_dir: Path) -> dict[str, Any]:
    """The demo build (quarters only) in this interpreter, measured; imports ``lantian`` from
    ``PYTHONPATH`` first, so the same code measures either version."""
    import lantian
    from lantian.pipeline import BuildOptions, build_release, demo_inputs

    start = time.perf_counter()
    with MemoryReporter() as reporter:
        result = build_release(demo_inputs(), BuildOptions(periods=("quarter",)), data_dir,
                               reporter)
    folder = result.path / "enterprises"
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "release": result.release_id,
        "lantian": lantian.__file__,
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "counts": {key: csv_rows(folder / name) for key, name in COUNTS.items()},
        "steps": [{**asdict(s), "growth_mb": s.growth_mb} for s in reporter.steps],
    }


def _run(root: Path | None, data_dir: Path) -> dict[str, Any]:
    """:func:`child` in a fresh interpreter; ``root`` holds a ``lantian`` to import first."""
    env = dict(os.environ)
    if root is not None:
        env["PYTHONPATH"] = f"{root}{os.pathsep}{env.get('PYTHONPATH', '')}"
    out = subprocess.run([sys.executable, __file__, "--child", str(data_dir)], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def summary(runs: dict[str, dict[str, Any]]) -> str:
    """Markdown: the enterprise steps side by side, then the whole build and the counts."""
    before, after = runs["before"], runs["after"]

    def steps(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in run["steps"] if is_enterprise_step(s["name"])}

    b, a = steps(before), steps(after)
    names = list(b) + [n for n in a if n not in b]
    nan = float("nan")
    rows: list[list[Any]] = []
    for name in names:
        cells: list[Any] = [name]
        for key in ("seconds", "peak_rss_mb", "growth_mb"):
            cells += [float(side[name][key]) if name in side else nan for side in (b, a)]
        rows.append(cells)
    rows.append(["whole build", float(before["seconds"]), float(after["seconds"]),
                 float(before["process_peak_rss_mb"]), float(after["process_peak_rss_mb"]),
                 nan, nan])
    steps_table = table(["step", "before s", "after s", "before peak RSS MB",
                         "after peak RSS MB", "before growth MB", "after growth MB"], rows)
    counts = table(["release rows", "before", "after"],
                   [[f"{key} ({name})", before["counts"][key] or 0, after["counts"][key] or 0]
                    for key, name in COUNTS.items()])
    return f"{steps_table}\n\n{counts}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--before", default="a2f5452")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return 0
    report: dict[str, Any] = {"machine": machine(), "before": args.before, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="lantian-bench-enterprises-") as tmp:
        scratch = Path(tmp)
        before = _checkout(args.before, scratch)
        try:
            seed = scratch / "seed"
            for root in (before, None):  # each version's derived boundaries
                _seed(root, "12", seed, SEED)
            boundaries = sorted((seed / "cache").glob("boundaries-*"))
            for name, root in {"before": before, "after": None}.items():
                run = _run(root, _fresh(scratch, name, boundaries))
                run["loadavg_after"] = list(os.getloadavg())
                report["runs"][name] = run
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(scratch / "tree")], check=False, capture_output=True)
    report["machine"]["loadavg_after"] = list(os.getloadavg())
    path = save("enterprises", report)
    print(summary(report["runs"]))
    print(f"\nload average before / after: {report['machine']['loadavg_1_5_15']} / "
          f"{report['machine']['loadavg_after']}")
    print(f"\n{path} ({time.strftime('%H:%M')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
