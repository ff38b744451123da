"""Cache upkeep: drop what no release on disk still references."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from lantian.pipeline.cache import StageCache, tree_bytes
from lantian.tiles.release import ReleaseStore

LEGACY = ("basemap-*.pmtiles", "boundaries-*.gpkg")  # cache files of builds before stages


@dataclass(frozen=True)
class Pruned:
    """What a prune removed (or would remove) and what it kept."""

    removed: list[Path]
    bytes: int
    kept: int


def prune_cache(data_dir: Path, *, dry_run: bool = False) -> Pruned:
    """Remove every stage entry and derived boundary folder that no release under
    ``data_dir`` lists among its stages (``manifest.summary["stages"]``), and the cache files
    of builds older than stages. The geocoding cache is kept: it saves online lookups."""
    cache_dir = data_dir / "cache"
    referenced: set[tuple[str, str]] = set()
    for release in ReleaseStore(data_dir).list_releases():
        for run in release.manifest.summary.get("stages", []):
            referenced.add((str(run.get("stage")), str(run.get("key"))))
    stages = StageCache(cache_dir / "stages")
    gone = stages.prune(referenced, dry_run=True)
    removed = [e.path for e in gone]
    size = sum(e.bytes for e in gone)
    boundary_keys = {key for stage, key in referenced if stage == "boundaries"}
    derived = [p for p in cache_dir.glob("boundaries-*") if p.is_dir()]
    extra = [p for p in derived if p.name not in boundary_keys]
    extra += [p for pattern in LEGACY for p in cache_dir.glob(pattern) if p.is_file()]
    kept = len(stages.entries()) - len(gone) + len(derived) - len(
        [p for p in extra if p.is_dir()])
    size += sum(tree_bytes(p) for p in extra)
    removed += extra
    if not dry_run:
        stages.prune(referenced)
        for path in extra:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return Pruned(removed, size, kept)

