"""engine="xp" (the level-synchronous Array API engine) equals engine="numba" on numpy
inputs, for every operation and every reduction of the registry (on a real network, for
every library: tests/test_xp_on_every_library.py)."""

import numpy as np
import pytest

import xhydro_accessor as xa
from tests import reference as ref
from tests.conftest import HOWS, STATISTICS

OPS = ["accumulate", "accumulate_downstream", "move_downstream"]


def grid_network(seed=5, ny=6, nx=7):
    return xa.RiverNetwork.from_ldd(
        ref.encode(*ref.random_grid_network(np.random.default_rng(seed), ny, nx), "ldd")
    )


def same(xp, numba):
    assert xp.dtype == numba.dtype and xp.shape == numba.shape
    tol = 1e-5 if numba.dtype == np.float32 else 1e-10
    if numba.dtype.kind == "f":
        np.testing.assert_allclose(xp, numba, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(xp, numba)


def inputs(rng, shape, grid):
    for dtype in ("float64", "float32", "int32", "uint8", "bool"):
        field = rng.normal(size=shape) * 10 if dtype[0] == "f" else rng.integers(0, 9, size=shape)
        field = field.astype(dtype)
        if dtype[0] == "f":
            field[rng.random(shape) < 0.1] = np.nan
        for weights in (None, rng.random(grid) + 0.5, rng.random(shape).astype("float32")):
            yield field, weights


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("op", OPS)
def test_xp_equals_numba(op, how):
    net = grid_network()
    rng = np.random.default_rng(0)
    for field, weights in inputs(rng, (3, *net.shape), net.shape):
        for skipna in (False, True):
            run = getattr(xa, op)
            options = {"how": how, "weights": weights, "skipna": skipna}
            if op != "move_downstream":
                options["warn_nan"] = False
            same(run(net, field, **options, engine="xp"), run(net, field, **options, engine="numba"))


def test_move_upstream_xp_equals_numba():
    net = grid_network()
    for dtype in ("float64", "int16", "bool"):
        field = np.random.default_rng(1).integers(0, 9, size=(2, *net.shape)).astype(dtype)
        same(xa.move_upstream(net, field, engine="xp"), xa.move_upstream(net, field, engine="numba"))


@pytest.mark.parametrize("how", STATISTICS)
def test_catchment_statistics_xp_equals_numba(how):
    net = grid_network(seed=8)
    rng = np.random.default_rng(2)
    gauges = rng.choice(np.flatnonzero(net.mask), 5, replace=False)
    q = [25, 80] if how == "percentile" else None
    for field, weights in inputs(rng, (2, *net.shape), net.shape):
        for skipna in (False, True):
            options = {"weights": weights, "skipna": skipna, "q": q}
            same(
                xa.catchment_statistics(net, field, gauges, how, **options, engine="xp"),
                xa.catchment_statistics(net, field, gauges, how, **options, engine="numba"),
            )


def test_engine_is_checked():
    net = grid_network()
    with pytest.raises(ValueError, match="engine must be one of"):
        xa.accumulate(net, np.ones(net.shape), engine="gpu")
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises(ValueError, match="engine='numba' runs arrays in host memory"):
        xa.accumulate(net, jnp.ones(net.shape), engine="numba")


def test_the_accessor_passes_engine_on(monkeypatch):
    """``engine=`` of every ``.hydro`` operation reaches the dispatcher, and "xp" equals "numba"."""
    import xarray as xr

    from xhydro_accessor import backends

    net = grid_network()
    field = np.random.default_rng(2).random((2, *net.shape))
    da = xr.DataArray(field, dims=("member", "y", "x")).hydro.assign_network(net)
    seen = []
    original = backends.engine_for

    def recording(*args, **kwargs):
        seen.append(args + tuple(kwargs.values()))
        return original(*args, **kwargs)

    monkeypatch.setattr(backends, "engine_for", recording)
    for name in ("accumulate", "accumulate_downstream", "move_downstream", "move_upstream"):
        seen.clear()
        xp, numba = (getattr(da.hydro, name)(engine=engine) for engine in ("xp", "numba"))
        assert any("xp" in call for call in seen) and any("numba" in call for call in seen), name
        same(xp.values, numba.values)
    stats = [
        da.hydro.catchment_statistics([(1, 1), (4, 5)], "mean", engine=engine).values
        for engine in ("xp", "numba")
    ]
    same(*stats)
    with pytest.raises(ValueError, match="engine"):
        da.hydro.accumulate(engine="gpu")


def test_both_engines_offer_one_interface():
    """Forward, adjoint and arg-extreme (sources + send) under the same names and parameters,
    and the sources of a max send its gradient to the same cells in both."""
    import inspect

    from xhydro_accessor.backends import generic, numba_engine

    for name in ("run", "compute", "transpose", "compute_with_sources", "send"):
        numba_params = list(inspect.signature(getattr(numba_engine, name)).parameters)
        xp_params = list(inspect.signature(getattr(generic, name)).parameters)
        assert numba_params[:6] == xp_params[:6], name
    net = grid_network()
    x = np.random.default_rng(3).random((2, net.mask.size))
    g = np.random.default_rng(4).random((2, net.mask.size))
    for op in OPS:
        y_numba, sources_numba = numba_engine.compute_with_sources(net, op, x, "max", None, False)
        y_xp, sources_xp = generic.compute_with_sources(net, op, x, "max", None, False)
        same(y_xp, y_numba)
        sent_numba = numba_engine.send(net, sources_numba, g * ~np.isnan(y_numba))
        sent_xp = generic.send(net, sources_xp, np.where(np.isnan(y_xp), 0, g))
        np.testing.assert_allclose(sent_xp, sent_numba)
