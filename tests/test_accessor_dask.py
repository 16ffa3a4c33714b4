"""Dask-backed fields: lazy graphs, parallel per-chunk compute, equal to numpy."""

import pickle
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
import xhydro_accessor.accessor  # noqa: F401  (registers .hydro)
from tests import reference as ref
from xhydro_accessor.backends.dask import SpatialChunksWarning

dask = pytest.importorskip("dask")

OPS = ["accumulate", "accumulate_downstream", "move_downstream", "move_upstream"]


@contextmanager
def raise_if_dask_computes(max_computes=0):
    """Like xarray.tests.raise_if_dask_computes: any compute inside raises."""
    count = 0

    def scheduler(dsk, keys, **kwargs):
        nonlocal count
        count += 1
        if count > max_computes:
            raise RuntimeError(f"too many dask computes: {count} > {max_computes}")
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=scheduler):
        yield


@pytest.fixture(scope="module")
def net():
    steps, missing = ref.random_grid_network(np.random.default_rng(3), 12, 15)
    return xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))


@pytest.fixture(scope="module")
def ensemble(net):
    data = np.random.default_rng(0).random((6, 5) + net.shape)
    return xr.DataArray(data, dims=("member", "time", "y", "x"), coords={"member": np.arange(6)}, name="q")


@pytest.mark.parametrize("op", OPS)
def test_lazy_and_equal_to_numpy(ensemble, net, op):
    lazy = ensemble.chunk(member=2, time=-1).hydro.assign_network(net)
    with raise_if_dask_computes():
        out = getattr(lazy.hydro, op)(**({} if op == "move_upstream" else {"how": "mean"}))
    assert isinstance(out.data, dask.array.Array)
    assert out.chunks == lazy.chunks
    expected = getattr(ensemble.hydro, op)(net, **({} if op == "move_upstream" else {"how": "mean"}))
    with dask.config.set(scheduler="threads"):
        xr.testing.assert_identical(out.compute(), expected.hydro.assign_network(net))


def test_one_task_per_chunk_and_the_network_once(ensemble, net):
    lazy = ensemble.chunk(member=1, time=1)
    weights = xr.DataArray(np.ones(net.shape), dims=("y", "x")).chunk()
    with raise_if_dask_computes():
        out = lazy.hydro.accumulate(net, weights=weights)
    graph = dict(out.data.__dask_graph__())
    holding = [k for k, v in graph.items() if v is net or getattr(v, "value", None) is net]
    assert len(holding) == 1  # one key carries the network; every task depends on it
    assert sum(1 for k in graph if isinstance(k, tuple) and k[0] == out.data.name) == 30
    np.testing.assert_allclose(out.values, xa.accumulate(net, ensemble.values))


def test_network_token_is_cheap_and_deterministic(net):
    from dask.base import tokenize

    tokenize(net)
    assert "dask_token" in net._cache
    assert tokenize(net) == tokenize(pickle.loads(pickle.dumps(net)))
    other = xa.RiverNetwork.from_ldd(np.array([[6, 5]]))
    assert tokenize(other) != tokenize(net)


def test_per_member_dask_weights(ensemble, net):
    lazy = ensemble.chunk(member=3)
    weights = (ensemble.isel(time=0) + 1).chunk(member=2)
    with raise_if_dask_computes():
        out = lazy.hydro.accumulate(net, weights=weights, how="sum")
    full = np.broadcast_to((ensemble.isel(time=0) + 1).values[:, None], ensemble.shape)
    np.testing.assert_allclose(out.values, xa.accumulate(net, ensemble.values, weights=full))


def test_spatial_chunks_run_as_tiles(ensemble, net):
    """Issue 18: chunks across space run tile by tile (no longer merged with a warning)."""
    lazy = ensemble.chunk(member=2, y=5, x=7)
    with warnings.catch_warnings(), raise_if_dask_computes():
        warnings.simplefilter("error", SpatialChunksWarning)
        out = lazy.hydro.accumulate(net)
    assert out.chunks == lazy.chunks
    np.testing.assert_allclose(out.values, xa.accumulate(net, ensemble.values))


def test_quantified_dask_stays_lazy(ensemble, net):
    import pint
    import pint_xarray  # noqa: F401

    from xhydro_accessor.units import registry

    lazy = ensemble.assign_attrs(units="mm d-1").chunk(member=2).pint.quantify(unit_registry=registry())
    area = xr.DataArray(np.full(net.shape, 25.0), dims=("y", "x"), attrs={"units": "km2"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", pint.UnitStrippedWarning)
        with raise_if_dask_computes():
            out = lazy.hydro.accumulate(net, weights=area).pint.to("m3 s-1")
        assert isinstance(out.data.magnitude, dask.array.Array)
        expected = xa.accumulate(net, ensemble.values, weights=area.values) * 25e6 / 25 / 1000 / 86400
        np.testing.assert_allclose(out.pint.magnitude.compute(), expected)


def test_distributed_local_cluster(ensemble, net):
    distributed = pytest.importorskip("distributed")
    lazy = ensemble.chunk(member=1).hydro.assign_network(net)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster):
            out = lazy.hydro.accumulate(how="max").compute()
    np.testing.assert_array_equal(out.values, xa.accumulate(net, ensemble.values, how="max"))


def test_example_runs(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / "dask_ensemble_discharge.py"
    spec = importlib.util.spec_from_file_location("dask_ensemble_discharge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(tmp_path)
    with xr.open_dataset(out) as ds, xr.open_dataset(tmp_path / "runoff.nc") as runoff:
        q = ds["discharge"]
        assert q.attrs["units"] == "m3 s-1"
        assert q.attrs["standard_name"] == "water_volume_transport_in_river_channel"
        net = q.hydro.network
        expected = xa.accumulate(net, runoff["runoff"].values[:1], weights=np.full(net.shape, 25e6))
        np.testing.assert_allclose(q.values[:1], expected / 1000 / 86400, rtol=1e-6)
