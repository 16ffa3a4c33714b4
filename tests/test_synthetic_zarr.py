"""The out-of-core synthetic generator (benchmarks/synthetic_zarr.py, issue 18 item 5):
tile by tile into zarr equals the whole grid in memory, and it is a valid network."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from benchmarks import synthetic_zarr as synthetic

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")


@settings(max_examples=25, deadline=None)
@given(
    ny=st.integers(1, 40),
    nx=st.integers(1, 40),
    chunk_y=st.integers(1, 17),
    chunk_x=st.integers(1, 17),
    seed=st.integers(0, 2**31),
)
def test_tiles_equal_the_whole_grid(ny, nx, chunk_y, chunk_x, seed):
    codes, runoff = synthetic.generate(ny, nx, seed)
    tiled = synthetic.dataset(ny, nx, (chunk_y, chunk_x), seed)
    np.testing.assert_array_equal(tiled.ldd.values, codes)
    np.testing.assert_array_equal(tiled.runoff.values, runoff)


def test_written_to_zarr_tile_by_tile_equals_in_memory(tmp_path):
    ny, nx = 300, 420
    codes, runoff = synthetic.generate(ny, nx)
    store = synthetic.write_zarr(tmp_path / "synthetic.zarr", ny, nx, chunks=(64, 100))  # ragged edges
    ds = xr.open_zarr(store, consolidated=False)
    assert ds.ldd.chunks == ((64,) * 4 + (44,), (100,) * 4 + (20,))
    np.testing.assert_array_equal(ds.ldd.values, codes)
    np.testing.assert_array_equal(ds.runoff.values, runoff)
    assert ds.runoff.dtype == np.float32 and ((runoff >= 0) & (runoff < 1)).all()
    # a valid network: every code an LDD direction or pit, no cycle, rivers across tiles
    net = xa.RiverNetwork.from_ldd(ds.ldd.load())
    assert net.n_nodes == ny * nx
    assert set(np.unique(codes)) <= set(range(1, 10))
    acc = xa.accumulate(net, np.ones((ny, nx)))
    assert acc.max() > 64 * 100  # some river drains more than a tile
    np.testing.assert_array_equal(net.downstream_grid().reshape(-1) < 0, (codes == 5).reshape(-1))


#: PCRaster LDD keypad: code -> (row step, column step), row 0 north
STEP = {1: (1, -1), 2: (1, 0), 3: (1, 1), 4: (0, -1), 6: (0, 1), 7: (-1, -1), 8: (-1, 0), 9: (-1, 1)}


def test_every_cell_drains_to_its_steepest_lower_neighbour():
    ny, nx = 40, 50
    codes, _ = synthetic.generate(ny, nx, seed=3)
    valley, meander = synthetic._tables()
    z = synthetic._elevation(0, 0, ny, nx, 3, valley, meander)  # the generator's elevation
    for r in range(ny):
        for c in range(nx):
            drops = {}  # neighbours lower in the order (z, flat index): their drop per unit length
            for code, (dr, dc) in STEP.items():
                r2, c2 = r + dr, c + dc
                if 0 <= r2 < ny and 0 <= c2 < nx and (z[r2, c2], r2 * nx + c2) < (z[r, c], r * nx + c):
                    drops[code] = (z[r, c] - z[r2, c2]) / np.hypot(dr, dc)
            if not drops:
                assert codes[r, c] == 5
            else:
                assert drops.get(int(codes[r, c])) == max(drops.values()), (r, c)
