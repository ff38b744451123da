"""A release assembled from stage outputs: each stage runs or is reused from the cache, its
files are hard-linked into the release, and the release is moved into place atomically.

Only what decides whether a build is needed is imported here (an unchanged rebuild is decided
in about a second); the stages are imported when a release is written."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from lantian.geo.boundaries import default_boundary_source, source_key
from lantian.pipeline.cache import StageCache
from lantian.pipeline.inputs import BuildInputs, BuildOptions, BuildResult
from lantian.pipeline.stages import ROOT, Runner, stage_key
from lantian.progress import Reporter, SilentProgress
from lantian.tiles.manifest import ReleaseContent
from lantian.tiles.release import ReleaseStore, sha256_file

PIPELINE_CODE = (ROOT, ("pipeline", "geo", "layers", "tiles", "i18n"))


def code_files() -> list[Path]:
    """The modules whose code shapes a release (a change to them means a new release)."""
    root, names = PIPELINE_CODE
    found: list[Path] = []
    for name in names:
        path = root / name
        found += sorted(p for p in path.rglob("*") if p.suffix in (".py", ".json")) \
            if path.is_dir() else [path]
    return found


def file_digests(inputs: BuildInputs) -> dict[Path, str]:
    """SHA-256 of every input file."""
    return {path: sha256_file(path) for path in dict.fromkeys(inputs.files())}


def inputs_digest(inputs: BuildInputs, options: BuildOptions,
                  digests: dict[Path, str] | None = None) -> str:
    """SHA-256 over lantian's version and pipeline code, the options, every input file and the
    boundary source's key: the release's identity."""
    found = digests if digests is not None else file_digests(inputs)
    digest = hashlib.sha256()
    digest.update(stage_key("release", ()).encode())
    digest.update(json.dumps({"options": options.identity(), "periods": options.periods},
                             default=str).encode())
    for path in code_files():
        digest.update(path.read_bytes())
    digest.update(source_key(inputs.boundaries or default_boundary_source()).encode())
    for path in inputs.files():
        digest.update(path.name.encode() + b"\0" + found[path].encode())
    digest.update(json.dumps({"title": inputs.title, "title_zh": inputs.title_zh,
                              "synthetic": inputs.synthetic,
                              "records_source": inputs.records_source}).encode())
    return digest.hexdigest()


def build_release(
    inputs: BuildInputs,
    options: BuildOptions,
    data_dir: Path,
    progress: Reporter | None = None,
) -> BuildResult:
    """Build the release of ``inputs`` under ``data_dir`` (kept when unchanged), reusing every
    stage whose inputs, code and options are unchanged."""
    start = time.perf_counter()
    store = ReleaseStore(data_dir)
    digests = file_digests(inputs)
    digest = inputs_digest(inputs, options, digests)
    runner = Runner(StageCache(data_dir / "cache" / "stages"), progress or SilentProgress())

    def write(tmp: Path) -> ReleaseContent:
        from lantian.pipeline.assemble import assemble

        return assemble(tmp, inputs, options, runner, digests, data_dir / "cache")

    release = store.build(digest, write)
    stages = runner.report() if release.built else [{
        "stage": "release", "label": "unchanged", "status": "reused",
        "seconds": round(time.perf_counter() - start, 2), "bytes": 0, "key": release.id}]
    return BuildResult(release.id, release.path, not release.built, stages)


