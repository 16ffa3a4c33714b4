"""``open_network(path, chunks=)`` on zarr stores and netCDF files (issue 18): the codes are
read by the tiles' tasks, never whole in the opening process."""

from __future__ import annotations

import cloudpickle
import dask.array as da
import numpy as np
import pytest

import xhydro_accessor as xa
from xhydro_accessor.io.networks import network_to_dataset
from xhydro_accessor.samples import sample_path
from xhydro_accessor.tiling import TiledNetwork

xr = pytest.importorskip("xarray")


@pytest.fixture(scope="module")
def memory():
    return xa.open_network(sample_path())  # the EFAS 5 km network shipped with the package


def graph_bytes(array: da.Array) -> int:
    """The size of a dask array's graph, pickled: what the opening process holds of it."""
    return len(cloudpickle.dumps(dict(array.__dask_graph__())))


def assert_same_network(net, memory):
    assert isinstance(net, TiledNetwork) and net.shape == memory.shape
    assert net.dims == memory.dims and net.crs == memory.crs
    for name in memory.dims:
        np.testing.assert_array_equal(net.coords[name], memory.coords[name])
    field = np.random.default_rng(0).random(memory.shape)
    out = xa.accumulate(net, da.from_array(field, chunks=net.chunks), how="mean").compute()
    np.testing.assert_allclose(out, xa.accumulate(memory, field, how="mean"), rtol=1e-12, equal_nan=True)


def test_zarr_codes_are_read_by_the_tiles(memory, tmp_path):
    zarr = pytest.importorskip("zarr")
    store = tmp_path / "network.zarr"
    network_to_dataset(memory).to_zarr(store)
    net = xa.open_network(store, chunks=300)
    assert net.chunks == ((300, 300, 300, 50), (300, 300, 300, 100))
    assert_same_network(net, memory)
    # the graph holds no copy of the grid's 950 000 codes: a reference to the store
    assert graph_bytes(net.ext) < memory.shape[0] * memory.shape[1] / 20
    # and its tasks read the store: codes changed there are what they see
    zarr.open_group(store, mode="r+")["flow_direction"][:] = 255  # every cell missing
    assert (net.ext.compute() == 9).all()


def test_netcdf_codes_are_read_by_the_tiles(memory, tmp_path):
    path = tmp_path / "network.nc"
    xa.write_network(memory, path)
    net = xa.open_network(path, chunks=(400, 300))
    assert graph_bytes(net.ext) < memory.shape[0] * memory.shape[1] / 20
    assert_same_network(net, memory)
    eager = xa.open_network(path, chunks=(400, 300), convention="ldd")  # given: no detection pass
    assert eager.graph["gid"].size == net.graph["gid"].size


def test_zarr_without_a_convention_is_detected_chunk_by_chunk(tmp_path):
    pytest.importorskip("zarr")
    codes = np.array([[6, 6, 3, 255], [9, 8, 6, 2], [255, 8, 6, 5]], np.uint8)
    store = tmp_path / "plain.zarr"
    xr.Dataset({"ldd": (("y", "x"), codes)}).to_zarr(store)
    net = xa.open_network(store, chunks=2)
    assert isinstance(net, TiledNetwork) and net.n_tiles == 4
    expected = xa.accumulate(xa.RiverNetwork.from_ldd(codes), np.ones(codes.shape, int))
    np.testing.assert_array_equal(xa.accumulate(net, da.ones(codes.shape, chunks=2, dtype=int)), expected)
    whole = xa.open_network(store)  # a zarr store without chunks=: in memory
    np.testing.assert_array_equal(xa.accumulate(whole, np.ones(codes.shape, int)), expected)


def test_a_damaged_zarr_chunk_is_named(tmp_path):
    pytest.importorskip("zarr")
    store = tmp_path / "damaged.zarr"
    codes = np.array([[6, 6, 3, 255], [9, 8, 6, 2], [255, 8, 6, 5]], np.uint8)
    xr.Dataset({"ldd": (("y", "x"), codes)}).chunk(2).to_zarr(store)
    (store / "ldd" / "c" / "1" / "0").write_bytes(b"garbage!")  # zarr 3's chunk (1, 0)
    for convention in (None, "ldd"):  # found by the detection pass, or by the build's
        with pytest.raises(ValueError, match=r"damaged\.zarr: cannot read the flow directions"):
            xa.open_network(store, chunks=2, convention=convention)
