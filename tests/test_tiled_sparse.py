"""A grid past 2**31 cells, all missing but one river basin, through tiles (issue 18): the
network builds from codes generated block by block and accumulates as the in-memory
network of the basin does."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

import xhydro_accessor as xa
from benchmarks.sparse_tiled import basin, sparse_codes
from xhydro_accessor.tiling import TiledNetwork


def check_sparse_grid(n: int, chunk: int) -> None:
    origin, river = basin(n)  # ~10**6 cells draining south to the grid's last row
    net = xa.RiverNetwork.from_ldd(sparse_codes(n, chunk, origin, river))
    assert isinstance(net, TiledNetwork) and net.shape == (n, n)
    assert net.graph["exit"].any()  # the basin crosses tile borders
    out = xa.accumulate(net, da.ones((n, n), chunks=chunk, dtype=np.float32))  # counts: exact < 2**24
    # the basin's window and one tile far from it (only their second passes run)
    window, corner = dask.compute(out[origin[0] :, origin[1] : origin[1] + river.shape[1]], out.blocks[0, 0])
    memory = xa.RiverNetwork.from_ldd(river)
    expected = xa.accumulate(memory, np.ones(river.shape, np.float32))
    np.testing.assert_array_equal(window, expected)  # upstream cell counts, exact
    assert np.isnan(corner).all() and corner.shape == (chunk, chunk)  # off the network
    r, c = np.unravel_index(int(np.argmax(expected)), river.shape)
    assert (origin[0] + r) * n + origin[1] + c >= 2**31 or n * n < 2**31  # the largest outlet's flat index
    assert expected[r, c] > river.size // 2  # it drains most of the basin
    if n * n > 2**31:
        assert net.graph["gid"].max() >= 2**31  # 64-bit flat indices in the perimeter graph


def test_a_sparse_grid_of_moderate_size():
    check_sparse_grid(2600, 1024)


def test_a_sparse_grid_past_2_31_cells():
    check_sparse_grid(46341, 4096)  # 2 147 488 281 cells in 144 tiles


@pytest.mark.parametrize("how", ["sum", "mean", "max", "std"])
@pytest.mark.parametrize("op", ["accumulate", "accumulate_downstream"])
def test_tiles_without_a_network_cell_run_no_pass_and_give_the_fill_value(op, how):
    rng = np.random.default_rng(7)
    codes = rng.choice(np.array([2, 3, 6], np.uint8), size=(12, 15))  # south, south-east, east: no cycle
    codes[:, :5] = 255  # the first column of tiles: all missing
    codes[8:, 10:] = 255  # and the bottom-right tile
    codes[:4, 10:] = 255  # and the top-right one
    net = xa.RiverNetwork.from_ldd(da.from_array(codes, chunks=(4, 5)))
    assert net.graph["empty"].tolist() == [True, False, True, True, False, False, True, False, True]
    field = rng.integers(0, 100, (2, 12, 15)).astype(np.int64 if how in ("sum", "max") else np.float64)
    out = getattr(xa, op)(net, da.from_array(field, chunks=(1, 4, 5)), how=how)
    names = [str(k[0] if isinstance(k, tuple) else k) for k in out.__dask_graph__()]
    for name in ("_pass1", "_pass2"):  # 4 tiles with network cells × 2 member chunks, not 9 × 2
        assert sum(n.startswith(name) for n in names) == 8
    expected = getattr(xa, op)(xa.RiverNetwork.from_ldd(codes), field, how=how)
    np.testing.assert_allclose(out.compute(), expected, rtol=1e-12)  # the fill value included (NaN, int min)
    assert out.dtype == expected.dtype
