"""The hydrology catalogue on every array backend, against the numpy result.

Each backend gets arrays of its own library and must give back the same type on
the same device; topology inputs (locations, masks) may be of any library.
"""

import warnings

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests import reference as ref
from tests.conftest import STATISTICS
from xhydro_accessor.hydrology.catchments import catchment_statistics
from xhydro_accessor.hydrology.distances import distance_from_points, distance_to_outlet, distance_to_source
from xhydro_accessor.hydrology.subnetwork import subnetwork, upstream_subnetwork
from xhydro_accessor.hydrology.upstream_area import upstream_area

NY, NX = 6, 7


def _network(seed=3):
    steps, missing = ref.random_grid_network(np.random.default_rng(seed), NY, NX)
    return xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))


NET = _network()
RNG = np.random.default_rng(0)
GAUGES = [tuple(int(v) for v in divmod(i, NX)) for i in RNG.choice(np.flatnonzero(NET.mask), 4)]
FIELD = np.round(RNG.normal(size=(2, NY, NX)), 1)  # rounded: ties for the mode
FIELD[RNG.random(FIELD.shape) < 0.1] = np.nan
WEIGHTS = RNG.random((NY, NX)) + 0.5


def check(got, want, rtol=1e-9):
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)


# ---------------------------------------------------------- catchment statistics
@pytest.mark.parametrize("how", STATISTICS)
@pytest.mark.parametrize("weighted", [False, True])
def test_catchment_statistics(backend, how, weighted):
    to, back = backend.to, backend.back
    q = [10, 65] if how == "percentile" else None
    weights = WEIGHTS if weighted else None
    for nested in (False, True):
        for skipna in (False, True):
            options = {"nested": nested, "skipna": skipna, "q": q, "weights": weights}
            want = catchment_statistics(NET, FIELD, GAUGES, how, **options, engine="numba")
            options["weights"] = None if weights is None else to(weights)
            got = back(catchment_statistics(NET, to(FIELD), GAUGES, how, **options, engine=backend.engine))
            check(got, want)


@pytest.mark.parametrize("how", STATISTICS)
def test_catchment_statistics_of_integers(backend, how):
    to, back = backend.to, backend.back
    field = np.random.default_rng(1).integers(0, 5, size=(3, NY, NX)).astype(np.int32)
    q = 40.0 if how == "percentile" else None
    want = catchment_statistics(NET, field, GAUGES, how, q=q, engine="numba")
    check(back(catchment_statistics(NET, to(field), GAUGES, how, q=q, engine=backend.engine)), want)


def test_dask_stays_lazy():
    da = pytest.importorskip("dask.array")
    import dask

    field = da.from_array(np.nan_to_num(FIELD), chunks=(1, NY, NX))
    with dask.config.set(scheduler=_raise_if_computed):
        out = catchment_statistics(NET, field, GAUGES, "percentile", q=[20, 80], weights=WEIGHTS)
        assert isinstance(out, da.Array) and out.shape == (2, 2, len(GAUGES))
    want = catchment_statistics(NET, np.nan_to_num(FIELD), GAUGES, "percentile", q=[20, 80], weights=WEIGHTS)
    np.testing.assert_allclose(out.compute(scheduler="sync"), want)


def _raise_if_computed(*args, **kwargs):
    raise AssertionError("computed")


# ------------------------------------------------------- weighted order statistics
def brute_force(values, weights, how, q=None):
    """Per-catchment weighted median / percentile (inverted CDF) / mode by sorting."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    if how == "mode":
        totals = {}
        for a, b in zip(v, w, strict=True):
            totals[a] = totals.get(a, 0.0) + b
        best = max(totals.values())
        return min(a for a, t in totals.items() if t == best)
    cumulative = np.cumsum(w)
    return v[np.searchsorted(cumulative, (50 if how == "median" else q) / 100 * cumulative[-1])]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("how", ["median", "percentile", "mode"])
def test_weighted_order_statistics_equal_brute_force(seed, how):
    rng = np.random.default_rng(seed)
    net = _network(seed)
    on = np.flatnonzero(net.mask)
    gauges = rng.choice(on, size=5).tolist()
    rowcol = [tuple(int(v) for v in divmod(g, NX)) for g in gauges]
    field = rng.integers(0, 4, size=(2, NY, NX)).astype(np.float64)
    weights = rng.integers(1, 4, size=(2, NY, NX)).astype(np.float64)  # integers: exact ties
    q = 35.0 if how == "percentile" else None
    labels = np.asarray(xa.catchments(net, rowcol, nested=True)).reshape(-1)
    ups = ref.upstream_sets(_down(net))
    for nested in (False, True):
        got = catchment_statistics(net, field, rowcol, how, weights=weights, q=q, nested=nested)
        for j in range(2):
            for k, g in enumerate(gauges):
                cells = [c for c in ups[g] if labels[c] == gauges.index(g) + 1] if nested else list(ups[g])
                want = brute_force(field[j].reshape(-1)[cells], weights[j].reshape(-1)[cells], how, q)
                assert got[j, k] == want, (how, nested, j, g)
                if how != "mode":  # numpy's own weighted quantile agrees
                    qq = (50 if how == "median" else q) / 100
                    values, w = field[j].reshape(-1)[cells], weights[j].reshape(-1)[cells]
                    assert got[j, k] == np.quantile(values, qq, weights=w, method="inverted_cdf")


def _down(net):
    down = np.full(NY * NX, -2, np.int64)
    down[net.nodes] = net.downstream
    return down


# --------------------------------------------------------------- gradients
@pytest.mark.parametrize("how", ["sum", "mean", "min", "max", "std", "var", "median", "percentile"])
def test_torch_gradcheck(how):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    field = torch.tensor(rng.normal(size=(2, NY, NX)), requires_grad=True)  # no ties: min/max defined
    weights = torch.tensor(rng.random((NY, NX)) + 0.5, requires_grad=how not in ("median", "percentile"))
    q = [30.0, 70.0] if how == "percentile" else None
    for nested in (False, True):

        def f(x, w, nested=nested):
            use = w if how not in ("median", "percentile") else None
            return catchment_statistics(NET, x, GAUGES, how, weights=use, nested=nested, q=q)

        assert torch.autograd.gradcheck(f, (field, weights))


def test_jax_jit_and_grad():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    field = np.nan_to_num(FIELD)
    for how in ("sum", "mean", "max", "var", "median", "mode"):

        def f(x, w, how=how):
            return catchment_statistics(NET, x, GAUGES, how, weights=w if how != "median" else None)

        want = f(field, WEIGHTS)  # numpy: the numba engine
        np.testing.assert_allclose(np.asarray(jax.jit(f)(jnp.asarray(field), jnp.asarray(WEIGHTS))), want)
    for how in ("sum", "mean", "max", "var"):

        def loss(x, w, how=how):
            return jnp.sum(catchment_statistics(NET, x, GAUGES, how, weights=w))

        gx, gw = jax.grad(loss, argnums=(0, 1))(jnp.asarray(field), jnp.asarray(WEIGHTS))
        torch = pytest.importorskip("torch")
        x = torch.tensor(field, requires_grad=True)
        w = torch.tensor(WEIGHTS, requires_grad=True)
        catchment_statistics(NET, x, GAUGES, how, weights=w).sum().backward()
        np.testing.assert_allclose(np.asarray(gx), x.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(np.asarray(gw), w.grad.numpy(), atol=1e-12)


def test_torch_distance_gradients():
    torch = pytest.importorskip("torch")
    w = torch.tensor(np.random.default_rng(2).random((NY, NX)) + 0.5, requires_grad=True)

    def f(w):
        return torch.nan_to_num(distance_to_source(NET, w)) + torch.nan_to_num(distance_to_outlet(NET, w))

    assert torch.autograd.gradcheck(f, (w,))


# ---------------------------------------------------- distances, areas, subnetworks
def test_distances(backend):
    to, back = backend.to, backend.back
    w = WEIGHTS.copy()
    w[0, 0] = np.nan
    for per in ("edge", "cell"):
        for function, kwargs in [
            (distance_to_outlet, {}),
            (distance_to_source, {"path": "longest"}),
            (distance_to_source, {"path": "shortest"}),
            (distance_from_points, {"locations": GAUGES, "upstream": True}),
            (distance_from_points, {"locations": GAUGES, "how": "max"}),
            (distance_from_points, {"locations": GAUGES, "upstream": True, "downstream": False}),
        ]:
            if "locations" in kwargs:
                kwargs = dict(kwargs)
                locations = kwargs.pop("locations")

                def run(weights, function=function, kwargs=kwargs, per=per, locations=locations):
                    return function(NET, locations, weights, per=per, **kwargs)
            else:

                def run(weights, function=function, kwargs=kwargs, per=per):
                    return function(NET, weights, per=per, **kwargs)

            check(back(run(to(w))), run(w))


def test_upstream_area_and_subnetworks(backend):
    to, back = backend.to, backend.back
    check(back(upstream_area(NET, to(WEIGHTS), units="km2")), upstream_area(NET, WEIGHTS, units="km2"))
    mask = np.zeros((NY, NX), bool)
    mask[1:5, 2:6] = True
    sub, want = subnetwork(NET, to(mask)), subnetwork(NET, mask)
    assert sub.network == want.network and np.array_equal(sub.index, want.index)
    sub = upstream_subnetwork(NET, GAUGES[:2])
    part = sub.from_parent(FIELD)
    check(back(sub.from_parent(to(FIELD))), part)
    check(back(sub.to_parent(to(part))), sub.to_parent(part))
    ints = np.arange(NY * NX, dtype=np.int32).reshape(NY, NX)
    check(back(sub.to_parent(sub.from_parent(to(ints)))), sub.to_parent(sub.from_parent(ints)))


# ------------------------------------------------------------------- xarray
@pytest.fixture
def grid():
    coords = {"y": np.arange(NY) * 1000.0, "x": np.arange(NX) * 1000.0}
    # metre coordinates: their CRS is needed for areas and metre distances (issue 14)
    field = xr.DataArray(FIELD, dims=("time", "y", "x"), coords=coords)
    return field.hydro.assign_network(NET, crs="EPSG:3035")


def test_xarray_keeps_torch_and_dask(grid):
    torch = pytest.importorskip("torch")
    from xhydro_accessor.torch import unwrap, wrap

    stations = {"a": (1000.0 * GAUGES[0][0], 1000.0 * GAUGES[0][1])}
    want = grid.hydro.catchment_statistics(stations, "percentile", q=[25, 75], skipna=True)
    x = torch.tensor(FIELD, requires_grad=True)
    out = grid.copy(data=wrap(x)).hydro.catchment_statistics(stations, "percentile", q=[25, 75], skipna=True)
    assert isinstance(unwrap(out), torch.Tensor) and out.dims == want.dims
    np.testing.assert_allclose(unwrap(out).detach().numpy(), want.values)
    torch.nan_to_num(unwrap(out)).sum().backward()
    assert x.grad is not None
    weights = xr.DataArray(WEIGHTS, dims=("y", "x"))
    lazy = grid.chunk({"time": 1}).hydro.catchment_statistics(stations, "mean", weights=weights)
    assert lazy.chunks is not None
    want = grid.hydro.catchment_statistics(stations, "mean", weights=weights)
    np.testing.assert_allclose(lazy.values, want.values)
    w = xr.DataArray(WEIGHTS, dims=("y", "x")).chunk()
    distance = grid.hydro.distance_to_outlet(weights=w)
    assert distance.chunks is not None
    np.testing.assert_allclose(distance.values, distance_to_outlet(NET, WEIGHTS))
    w = xr.DataArray(wrap(torch.tensor(WEIGHTS)), dims=("y", "x"))
    distance = grid.hydro.distance_to_outlet(weights=w)
    np.testing.assert_allclose(unwrap(distance).numpy(), distance_to_outlet(NET, WEIGHTS))


def test_grid_outputs_carry_the_network(grid):
    for out in (
        grid.hydro.catchments({"g": (1000.0 * GAUGES[0][0], 1000.0 * GAUGES[0][1])}),
        grid.hydro.basins(),
        grid.hydro.strahler(),
        grid.hydro.distance_to_outlet(),
        grid.hydro.upstream_area(),
    ):
        assert "flow_direction" in out.coords and out.hydro.network == grid.hydro.network
        assert out.hydro.accumulate(how="max") is not None  # the network travels with it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grid.hydro.shreve()
