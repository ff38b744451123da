from __future__ import annotations

import pytest

from lantian.layers.grid import CHINA_GRID, GridSpec


def test_china_grid_shape_and_transform() -> None:
    assert CHINA_GRID.shape == (3600, 6200)
    assert CHINA_GRID.transform @ (0, 0) == (73.0, 54.0)
    assert CHINA_GRID.lons[0] == pytest.approx(73.005)
    assert CHINA_GRID.lats[0] == pytest.approx(53.995)
    assert CHINA_GRID.lats[-1] == pytest.approx(18.005)


def test_cell_index_round_trips_through_centres() -> None:
    row, col = CHINA_GRID.cell_index(116.366, 39.8673)  # 1001A 万寿西宫
    assert (row, col) == (1413, 4336)
    assert abs(CHINA_GRID.lons[col] - 116.366) <= 0.005
    assert abs(CHINA_GRID.lats[row] - 39.8673) <= 0.005
    lon, lat = CHINA_GRID.transform @ (col + 0.5, row + 0.5)
    assert CHINA_GRID.cell_index(lon, lat) == (row, col)


def test_cell_index_outside() -> None:
    with pytest.raises(ValueError, match="outside"):
        CHINA_GRID.cell_index(140.0, 40.0)


def test_subgrid_snaps_to_lattice() -> None:
    sub = CHINA_GRID.subgrid(113.456, 36.001, 119.9999, 42.5)
    assert sub.bounds == (113.45, 36.0, 120.0, 42.5)
    assert sub.shape == (650, 655)
    row, col = sub.cell_index(116.366, 39.8673)
    assert sub.lons[col] == pytest.approx(CHINA_GRID.lons[4336])
    assert sub.lats[row] == pytest.approx(CHINA_GRID.lats[1413])


def test_subgrid_clips_and_rejects() -> None:
    assert CHINA_GRID.subgrid(60, 10, 80, 20).bounds == (73.0, 18.0, 80.0, 20.0)
    with pytest.raises(ValueError, match="overlap"):
        CHINA_GRID.subgrid(0, 0, 10, 10)
    with pytest.raises(ValueError, match="empty"):
        GridSpec(10, 10, 5, 20, 0.1)
