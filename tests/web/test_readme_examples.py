"""The README's QGIS, xarray and STAC examples, run against `lantian serve` of the real demo.

The server runs in its own process, as a user's would: netCDF's HTTP reader holds the GIL while
it waits, so a server thread in the test process could never answer it.

The xarray and STAC examples run as written. QGIS is not installed here, so its example runs
with a stand-in ``qgis.core`` whose layers check their data source the way QGIS's providers read
it: through GDAL (the WMS/TMS driver for XYZ rasters, /vsicurl/ for COG and GeoPackage, the MVT
driver for vector tiles).
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from io import StringIO
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl

import morecantile
import numpy as np
import pyogrio
import pytest
import rasterio
import xarray as xr
from lantian_served import lantian_serve  # registered by tests/conftest.py
from rasterio.warp import transform
from rasterio.windows import Window

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
DOCUMENTED_BASE = "http://127.0.0.1:8000"
BEIJING = (116.40, 39.90)
WMS_XML = """<GDAL_WMS><Service name="TMS"><ServerUrl>{url}</ServerUrl></Service>
<DataWindow><UpperLeftX>-20037508.34</UpperLeftX><UpperLeftY>20037508.34</UpperLeftY>
<LowerRightX>20037508.34</LowerRightX><LowerRightY>-20037508.34</LowerRightY>
<TileLevel>{zmax}</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY>
<YOrigin>top</YOrigin></DataWindow><Projection>EPSG:3857</Projection>
<BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY><BandsCount>4</BandsCount>
<ZeroBlockHttpCodes>204</ZeroBlockHttpCodes></GDAL_WMS>"""


@pytest.fixture(scope="module")
def demo_server(demo_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``lantian serve`` of the demo release in a child process."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with lantian_serve(demo_release, log) as server:
        yield server.url


def readme_example(name: str, base: str) -> str:
    """The code block after ``<!-- example: name -->``, pointed at ``base``."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- example: {name} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"README has no '{name}' example"
    return match.group(1).replace(DOCUMENTED_BASE, base)


def run(code: str) -> tuple[dict[str, object], str]:
    namespace: dict[str, object] = {"__name__": "readme_example"}
    out = StringIO()
    with redirect_stdout(out):
        exec(compile(code, str(README), "exec"), namespace)
    return namespace, out.getvalue()


def _xyz(uri: str) -> tuple[str, int, int]:
    params = dict(parse_qsl(uri))
    assert params["type"] == "xyz"
    return params["url"], int(params["zmin"]), int(params["zmax"])


def _beijing_pixel_from_xyz(uri: str) -> np.ndarray:
    url, _, zmax = _xyz(uri)
    gdal_url = url.replace("{z}", "${z}").replace("{x}", "${x}").replace("{y}", "${y}")
    with rasterio.open(WMS_XML.format(url=gdal_url, zmax=zmax)) as ds:
        xs, ys = transform("EPSG:4326", "EPSG:3857", [BEIJING[0]], [BEIJING[1]])
        row, col = ds.index(xs[0], ys[0])
        return ds.read(window=Window(col, row, 1, 1)).ravel()


class _Layer:
    def __init__(self, source: str, name: str, provider: str = "") -> None:
        self.source, self._name, self.provider = source, name, provider
        self.valid = self._check()

    def name(self) -> str:
        return self._name

    def isValid(self) -> bool:
        return self.valid

    def _check(self) -> bool:
        raise NotImplementedError


class RasterLayer(_Layer):
    def _check(self) -> bool:
        if self.provider == "wms":
            red, green, blue, alpha = _beijing_pixel_from_xyz(self.source)
            return bool(alpha == 255 and (red, green, blue) != (0, 0, 0))
        with rasterio.open(self.source) as ds:
            return ds.crs is not None and ds.count >= 1 and ds.overviews(1) != []


class VectorLayer(_Layer):
    def _check(self) -> bool:
        return int(pyogrio.read_info(self.source)["features"]) > 0


class VectorTileLayer(_Layer):
    def _check(self) -> bool:
        url, zmin, zmax = _xyz(self.source)
        z = max(zmin, min(zmax, 8))
        tile = morecantile.tms.get("WebMercatorQuad").tile(*BEIJING, z)
        path = "/vsicurl/" + url.format(z=tile.z, x=tile.x, y=tile.y)
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        return "enterprises" in layers and len(pyogrio.read_dataframe(path, layer=layers[0])) > 0


class _Project:
    added: ClassVar[list[_Layer]] = []

    @classmethod
    def instance(cls) -> type[_Project]:
        return cls

    @classmethod
    def addMapLayer(cls, layer: _Layer) -> None:
        cls.added.append(layer)


@contextmanager
def qgis_standin() -> Iterator[type[_Project]]:
    core = types.ModuleType("qgis.core")
    core.QgsProject = _Project  # type: ignore[attr-defined]
    core.QgsRasterLayer = RasterLayer  # type: ignore[attr-defined]
    core.QgsVectorLayer = VectorLayer  # type: ignore[attr-defined]
    core.QgsVectorTileLayer = VectorTileLayer  # type: ignore[attr-defined]
    package = types.ModuleType("qgis")
    package.core = core  # type: ignore[attr-defined]
    saved = {name: sys.modules.get(name) for name in ("qgis", "qgis.core")}
    sys.modules.update({"qgis": package, "qgis.core": core})
    _Project.added = []
    try:
        yield _Project
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _release_dir(demo_release: Path) -> Path:
    return (demo_release / "current").resolve()


# rioxarray still multiplies Affines with `*`; affine only hints it will deprecate that.
@pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning")
def test_xarray_example_reads_the_served_cube_and_cog(
    demo_server: str, demo_release: Path
) -> None:
    namespace, printed = run(readme_example("xarray", demo_server))
    local = xr.open_dataset(_release_dir(demo_release) / "pm25" / "pm25_quarterly.nc")
    expected = local["pm25"].sel(lon=BEIJING[0], lat=BEIJING[1], method="nearest")
    beijing = namespace["beijing"]
    assert isinstance(beijing, xr.DataArray)
    np.testing.assert_array_equal(beijing.to_numpy(), expected.to_numpy())
    assert beijing.sizes["time"] == 4 and 30 < float(beijing.mean()) < 150
    assert str(beijing.sizes["time"]) in printed or "2019-01-01" in printed
    with rasterio.open(_release_dir(demo_release) / "pm25" / "pm25_2019Q1.tif") as ds:
        window = rasterio.windows.from_bounds(113.5, 36.0, 119.8, 42.6, ds.transform)
        box = ds.read(1, window=window.round_offsets().round_lengths())
    hebei = namespace["hebei"]
    assert isinstance(hebei, xr.DataArray)
    assert float(hebei.mean()) == pytest.approx(float(np.nanmean(box)), rel=0.01)
    local.close()


def test_qgis_example_sources_open_with_gdal(demo_server: str) -> None:
    with qgis_standin() as project:
        run(readme_example("qgis", demo_server))
    assert [type(layer) for layer in project.added] == [
        RasterLayer, RasterLayer, VectorTileLayer, VectorLayer
    ]
    assert all(layer.isValid() for layer in project.added)


def test_xyz_pixel_has_the_colour_of_the_cog_value(demo_server: str, demo_release: Path) -> None:
    """The tiles QGIS shows carry the colour of the class of the value the COG holds."""
    from lantian.tiles.colormaps import get_colormap

    uri = f"type=xyz&url={demo_server}/tiles/pm25/2019Q1/{{z}}/{{x}}/{{y}}.png&zmin=0&zmax=7"
    pixel = _beijing_pixel_from_xyz(uri)
    with rasterio.open(_release_dir(demo_release) / "pm25" / "pm25_2019Q1.tif") as ds:
        value = next(ds.sample([BEIJING], indexes=1))[0]
    colormap = get_colormap("pm25")
    expected = colormap.classes[int(colormap.classify([value])[0])].rgba
    assert 35 <= value < 75, "Beijing 2019 Q1 sits mid-class, away from a class edge"
    assert tuple(int(v) for v in pixel) == expected


def test_stac_example_walks_the_served_catalog(demo_server: str) -> None:
    _, printed = run(readme_example("stac", demo_server))
    lines = [line for line in printed.splitlines() if line.strip()]
    assert any("2019Q1" in line for line in lines)
    assert len(lines) >= 4
