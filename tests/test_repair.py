"""Tests of :func:`xhydro_accessor.repair.repair` on small grids and the real networks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.real_data import BY_NAME, NAMES
from xhydro_accessor import CycleError, RiverNetwork
from xhydro_accessor.io import open_network, read_flow_directions
from xhydro_accessor.repair import repair


def test_each_defect_is_reported_and_fixed() -> None:
    codes = np.array([[6, 4, 2], [6, 0, 3]], np.uint8)
    with pytest.raises(CycleError):
        RiverNetwork.from_ldd(codes, nodata=0)
    fixed, report = repair(codes)
    assert fixed.dtype == np.uint8
    assert [report.invalid.tolist(), report.off_grid.tolist()] == [[4], [5]]
    assert [report.into_missing.tolist(), report.cycles.tolist()] == [[3], [0]]
    assert report.n_changed == 4
    net = RiverNetwork.from_ldd(fixed)
    assert net.outlets.tolist() == [0, 3, 5]


def test_float_codes_and_wrap_x() -> None:
    codes = np.array([[4.0, 6.0, np.nan]])
    fixed, report = repair(codes, "ldd", wrap_x=True)
    assert report.into_missing.tolist() == [0, 1] and report.n_changed == 2  # 0 wraps onto NaN
    assert np.array_equal(fixed, [[5.0, 5.0, np.nan]], equal_nan=True)
    assert repair(codes, "ldd")[1].off_grid.tolist() == [0]
    fixed, report = repair(np.array([[128.0, 3.0]]), "esri")
    assert np.isnan(fixed[0, 1]) and report.invalid.tolist() == [1]


def test_taudem_is_refused() -> None:
    with pytest.raises(ValueError, match="pit code"):
        repair(np.ones((2, 2)), "taudem")


@pytest.mark.parametrize("name", NAMES)
def test_real_networks_keep_their_topology(name: str) -> None:
    info = BY_NAME[name]
    if not info.path.is_file():
        pytest.skip("shared data not found")
    net = open_network(info.path)
    codes = read_flow_directions(info.path)
    convention = "esri" if info.convention == "merit" else info.convention
    fixed, report = repair(codes, convention, nodata=info.nodata)
    assert report.invalid.size == report.cycles.size == 0  # the README: no file holds a cycle
    assert report.off_grid.size + report.into_missing.size <= info.outlets
    assert fixed.dims == codes.dims and fixed.attrs == codes.attrs
    if convention == "ldd":
        rebuilt = RiverNetwork.from_ldd(fixed, nodata=info.nodata)
    else:
        rebuilt = RiverNetwork.from_d8(fixed, convention, nodata=info.nodata)
    np.testing.assert_array_equal(rebuilt.downstream_grid(), net.downstream_grid())


def test_a_cycle_in_a_real_network_is_broken() -> None:
    info = BY_NAME["lisflood_etrs89"]
    if not info.path.is_file():
        pytest.skip("shared data not found")
    codes = read_flow_directions(info.path)
    net = open_network(info.path)
    outlet = int(np.intersect1d(net.outlets, net.downstream)[0])
    row, col = divmod(outlet, net.shape[1])
    upstream = net.nodes[net.downstream == outlet]
    assert upstream.size  # reverse the last step: outlet -> its upstream neighbour
    r2, c2 = divmod(int(upstream[0]), net.shape[1])
    ldd = {(1, -1): 1, (1, 0): 2, (1, 1): 3, (0, -1): 4, (0, 1): 6, (-1, -1): 7, (-1, 0): 8, (-1, 1): 9}
    codes[row, col] = ldd[(r2 - row, c2 - col)]
    with pytest.raises(CycleError):
        RiverNetwork.from_ldd(codes)
    fixed, report = repair(codes)
    assert report.cycles.size == 1
    assert RiverNetwork.from_ldd(fixed).n_nodes == net.n_nodes
