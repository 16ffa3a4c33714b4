"""Tiled networks on a ``dask.distributed`` cluster of worker processes (issue 18): the build
and the passes run on the workers, with the in-memory engine's results."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import xhydro_accessor as xa
from benchmarks import synthetic_zarr as synthetic
from xhydro_accessor import RiverNetwork
from xhydro_accessor.tiling import TiledNetwork

distributed = pytest.importorskip("distributed")

SHAPE, CHUNKS = (200, 300), (50, 70)  # 4 x 5 tiles, the last column ragged


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        yield client


@pytest.fixture(scope="module")
def codes() -> np.ndarray:
    """The synthetic LDD (valleys meandering across the tiles' borders and corners), with
    missing cells (255) scattered in: rivers end where they flow into them."""
    ldd, _ = synthetic.generate(*SHAPE, seed=3)
    return np.where(np.random.default_rng(3).random(SHAPE) < 0.02, 255, ldd).astype(np.uint8)


def ran(stream, *names: str) -> bool:
    """Whether the workers ran tasks of each of these functions (a name within a fused task's key)."""
    keys = " ".join(str(task["key"]) for task in stream.data)
    return all(name in keys for name in names)


def test_build_and_accumulate_on_worker_processes(client, codes):
    memory = RiverNetwork.from_ldd(codes)
    rng = np.random.default_rng(4)
    runoff = rng.random((2, *SHAPE))
    weights = rng.uniform(0.5, 2.0, SHAPE)
    assert memory.n_nodes < codes.size and np.nanmax(xa.accumulate(memory, np.ones(SHAPE))) > 2 * max(CHUNKS)
    with distributed.get_task_stream(client) as stream:
        net = RiverNetwork.from_ldd(da.from_array(codes, chunks=CHUNKS))
        field = da.from_array(runoff, chunks=(1, *CHUNKS))
        total = xa.accumulate(net, field).compute()
        mean = xa.accumulate(net, field, how="mean", weights=da.from_array(weights, chunks=CHUNKS)).compute()
    assert isinstance(net, TiledNetwork) and net.n_tiles == 20 and net.graph["exit"].sum() > 100
    assert ran(stream, "_summary", "_pass1", "_solve", "pass2")
    assert len({task["worker"] for task in stream.data}) == 2
    np.testing.assert_allclose(total, xa.accumulate(memory, runoff), rtol=1e-12)
    expected = xa.accumulate(memory, runoff, how="mean", weights=weights)
    np.testing.assert_allclose(mean, expected, rtol=1e-12, equal_nan=True)
    assert np.array_equal(np.isnan(mean), np.isnan(expected)) and np.isnan(expected).any()  # missing cells


def test_accessor_zarr_to_zarr_on_worker_processes(client, codes, tmp_path):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("zarr")
    memory = RiverNetwork.from_ldd(codes)
    runoff = np.random.default_rng(5).random((3, *SHAPE)).astype(np.float32)
    coords = {"y": np.arange(SHAPE[0])[::-1] + 0.5, "x": np.arange(SHAPE[1]) + 0.5}
    ds = xr.Dataset({"runoff": (("member", "y", "x"), runoff), "ldd": (("y", "x"), codes)}, coords=coords)
    ds.chunk(member=1, y=CHUNKS[0], x=CHUNKS[1]).to_zarr(tmp_path / "in.zarr")
    opened = xr.open_zarr(tmp_path / "in.zarr")
    with distributed.get_task_stream(client) as stream:
        attached = opened.hydro.assign_network(RiverNetwork.from_ldd(opened.ldd))
        assert isinstance(attached.hydro.network, TiledNetwork)
        out = attached.runoff.hydro.accumulate(how="mean", weights=opened.runoff.isel(member=0))
        assert out.chunks == opened.runoff.chunks
        out.to_dataset(name="q").to_zarr(tmp_path / "out.zarr")
    assert ran(stream, "_summary", "_pass1", "_solve", "pass2")
    written = xr.open_zarr(tmp_path / "out.zarr")["q"].values
    expected = xa.accumulate(memory, runoff, how="mean", weights=runoff[0])
    assert written.dtype == np.float32
    np.testing.assert_allclose(written, expected, rtol=1e-5, equal_nan=True)
