"""Differential tests on the real river networks against pyflwdir.

For every file of ``../shared/data`` the network built by
:meth:`RiverNetwork.from_ldd` / :meth:`RiverNetwork.from_d8` must give exactly
pyflwdir's upstream cell counts, outlets and distances to the outlet.

Both libraries agree on the edge rules: a cell whose flow leaves the grid or
enters a missing cell is an outlet (pyflwdir makes it a pit:
``pyflwdir.core_d8.from_array``). pyflwdir only knows its own missing value
(255 for LDD, 247 for D8) and, for D8, treats 0 *and* 255 as pits (the MERIT
convention), so the codes are handed to it with every cell that our convention
calls missing (including a file's own fill value such as -1 or 0 in an int8
netCDF) set to pyflwdir's missing value. None of the files holds a D8 255, so
"esri" (255 missing) and pyflwdir's "d8" (255 pit) never disagree here.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.real_data import BY_NAME, NAMES, PYFLWDIR_FTYPE, load, valid_mask

pyflwdir = pytest.importorskip("pyflwdir")
xa = pytest.importorskip("xhydro_accessor")

_PYFLWDIR_MISSING = {"ldd": 255, "d8": 247}


def _build(name: str):
    """Our network and pyflwdir's FlwdirRaster for one real file."""
    from affine import Affine

    net_info = BY_NAME[name]
    codes = load(name)
    if net_info.convention == "ldd":
        net = xa.RiverNetwork.from_ldd(codes, nodata=net_info.nodata)
    else:
        net = xa.RiverNetwork.from_d8(codes, convention=net_info.convention, nodata=net_info.nodata)

    ftype = PYFLWDIR_FTYPE[net_info.convention]
    valid = valid_mask(codes, net_info.convention)
    pf_codes = np.where(valid, codes.values, _PYFLWDIR_MISSING[ftype]).astype(np.uint8)
    x, y = codes["x"].values, codes["y"].values
    dx, dy = x[1] - x[0], y[1] - y[0]
    transform = Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)
    flw = pyflwdir.from_array(pf_codes, ftype=ftype, transform=transform, latlon=net_info.latlon)
    return net_info, codes, valid, net, flw


@pytest.fixture(scope="module", params=NAMES)
def built(request):
    return _build(request.param)


def test_network_cells_and_outlets(built) -> None:
    info, _codes, valid, net, flw = built
    np.testing.assert_array_equal(net.mask, valid)
    np.testing.assert_array_equal(net.mask, flw.mask.reshape(net.shape))
    assert net.n_nodes == info.valid_cells
    # outlets: the same cells, and as many as the data README counts
    np.testing.assert_array_equal(net.outlets, np.sort(flw.idxs_pit))
    assert net.outlets.size == info.outlets
    assert net.n_levels == info.longest_path


def test_upstream_cell_count_equals_pyflwdir(built) -> None:
    _info, _codes, valid, net, flw = built
    ours = xa.accumulate(net, np.ones(net.shape))
    theirs = flw.upstream_area("cell")
    assert np.all(np.isnan(ours[~valid]))
    assert np.all(theirs[~valid] == -9999)
    np.testing.assert_array_equal(ours[valid], theirs[valid])
    # also through pyflwdir's generic accuflux
    np.testing.assert_array_equal(ours[valid], flw.accuflux(np.ones(net.shape))[valid])


def test_path_to_outlet_equals_pyflwdir_rank(built) -> None:
    _info, _codes, valid, net, flw = built
    # cells from each cell to its outlet, both included; pyflwdir's rank is 0 at a pit
    ours = xa.accumulate_downstream(net, np.ones(net.shape))
    rank = flw.rank.reshape(net.shape)
    np.testing.assert_array_equal(ours[valid], rank[valid] + 1)
    assert int(np.nanmax(ours)) == net.n_levels
