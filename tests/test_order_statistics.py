"""Order statistics and skewness along the network (issue 17 item 1).

median / percentile (numpy's methods) / mode / skew of every cell's upstream area
(``accumulate``), path to its outlet (``accumulate_downstream``) and of catchments,
weighted or not, NaN skipped or propagated, checked against numpy on explicit
ancestor sets (tests/reference.py), by hand, and against earthkit-hydro 1.4.
"""

import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from xhydro_accessor.hydrology.catchments import catchment_statistics

METHODS = ("linear", "inverted_cdf", "lower", "higher", "nearest", "midpoint")
QS = [0, 7, 25, 50, 70, 93.5, 100]


def brute(how, values, weights, skipna, q=None, method=None):
    """The statistic of one area's ``values`` (weights ``weights`` or None) by numpy."""
    values = values.astype(np.float64)
    w = np.ones(values.size) if weights is None else weights.astype(np.float64)
    bad = np.isnan(values) | np.isnan(w)
    if bad.any() and not skipna:
        return np.full(np.size(q), np.nan) if how == "percentile" else np.nan
    values, w = values[~bad], w[~bad]
    if how == "skew":
        positive = w > 0
        if not positive.any() or np.ptp(values[positive]) == 0:
            return np.nan
        mean = (w * values).sum() / w.sum()
        m2 = (w * (values - mean) ** 2).sum() / w.sum()
        return (w * (values - mean) ** 3).sum() / w.sum() / m2**1.5
    if how == "mode":
        if values.size == 0:
            return np.nan
        distinct = np.unique(values)
        totals = np.array([w[values == v].sum() for v in distinct])
        return distinct[np.argmax(totals)]  # the first (smallest) of the largest
    p = np.asarray(50.0 if how == "median" else q, np.float64) / 100
    if values.size == 0 or (weights is not None and w.sum() == 0):
        return np.full(p.shape, np.nan)
    if weights is None:
        return np.quantile(values, p, method=method or "linear")
    return np.quantile(values, p, weights=w, method="inverted_cdf")


def random_case(seed, n_max=40):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, n_max))
    down = ref.random_tree_down(rng, n, p_outlet=0.15)
    net = xa.RiverNetwork.from_downstream_index(down, (n,))
    field = rng.integers(0, 6, (2, n)).astype(np.float64)  # ties: modes and repeated quantiles
    field[0, rng.random(n) < 0.15] = np.nan
    weights = rng.integers(0, 4, n).astype(np.float64)  # zeros too; exact sums
    return net, down, field, weights


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), skipna=st.booleans(), weighted=st.booleans(), several=st.booleans())
def test_against_numpy_on_every_area(seed, skipna, weighted, several):
    net, down, field, weights = random_case(seed)
    w = weights if weighted else None
    q = QS if several else 70
    areas = {"accumulate": ref.upstream_sets(down), "accumulate_downstream": ref.paths(down)}
    for op, sets in areas.items():
        run = getattr(xa, op)
        cases = [("skew", {}), ("mode", {}), ("median", {}), ("percentile", {"q": q})]
        if not weighted:
            cases += [("percentile", {"q": q, "method": m}) for m in METHODS]
            cases += [("median", {"method": m}) for m in METHODS]
        for how, options in cases:
            got = run(net, field, how, weights=w, skipna=skipna, warn_nan=False, **options)
            assert got.shape == ((len(QS),) if how == "percentile" and several else ()) + field.shape
            for cell, members in sets.items():
                for j in range(field.shape[0]):
                    with warnings.catch_warnings(), np.errstate(all="ignore"):
                        warnings.simplefilter("ignore")
                        want = brute(how, field[j, members], None if w is None else w[members], skipna,
                                     options.get("q"), options.get("method"))  # fmt: skip
                    value = got[..., j, cell]
                    if how == "skew":
                        np.testing.assert_allclose(value, want, rtol=1e-9, atol=1e-12, err_msg=f"{op} {cell}")
                    else:
                        np.testing.assert_array_equal(value, want, err_msg=f"{op} {how} {options} {cell}")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), skipna=st.booleans(), weighted=st.booleans(), nested=st.booleans())
def test_catchment_statistics_against_numpy(seed, skipna, weighted, nested):
    net, down, field, weights = random_case(seed)
    w = weights if weighted else None
    rng = np.random.default_rng(seed)
    gauges = sorted({int(i) for i in rng.integers(0, down.size, 4)})
    upstream = ref.upstream_sets(down)
    area = {}
    for g in gauges:  # nested: without the areas of the gauges upstream
        inner = [o for o in gauges if o != g and o in upstream[g]]
        area[g] = [c for c in upstream[g] if not (nested and any(c in upstream[o] for o in inner))]
    cases = [("skew", {}), ("mode", {}), ("median", {}), ("percentile", {"q": QS})]
    if not weighted:
        cases += [("percentile", {"q": QS, "method": m}) for m in METHODS]
    for how, options in cases:
        options |= {"weights": w, "skipna": skipna, "nested": nested}
        got = catchment_statistics(net, field, gauges, how, **options)
        for k, g in enumerate(gauges):
            for j in range(field.shape[0]):
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    want = brute(how, field[j, area[g]], None if w is None else w[area[g]], skipna,
                                 options.get("q"), options.get("method"))  # fmt: skip
                if how == "skew":
                    np.testing.assert_allclose(got[..., j, k], want, rtol=1e-9, atol=1e-12)
                else:
                    np.testing.assert_array_equal(got[..., j, k], want, err_msg=f"{how} {options} {g}")


def test_hand_checked_tiny_network():
    # 0 -> 1 -> 2 (outlet), 3 -> 2; 4 alone
    net = xa.RiverNetwork.from_downstream_index(np.array([1, 2, -1, 2, -1]), (5,))
    x = np.array([4.0, 1.0, 3.0, 10.0, 7.0])
    # upstream of 2: {4, 1, 3, 10}: sorted 1 3 4 10
    np.testing.assert_array_equal(xa.accumulate(net, x, "median"), [4, 2.5, 3.5, 10, 7])
    np.testing.assert_array_equal(xa.accumulate(net, x, "median", method="lower"), [4, 1, 3, 10, 7])
    np.testing.assert_array_equal(xa.accumulate(net, x, "median", method="higher"), [4, 4, 4, 10, 7])
    np.testing.assert_array_equal(xa.accumulate(net, x, "median", method="midpoint"), [4, 2.5, 3.5, 10, 7])
    # inverted_cdf at 50 % of 4 values: the 2nd smallest
    np.testing.assert_array_equal(xa.accumulate(net, x, "median", method="inverted_cdf"), [4, 1, 3, 10, 7])
    # percentile 25 of (1, 3, 4, 10): position 0.75 -> 1 + 0.75 * 2 = 2.5
    np.testing.assert_array_equal(xa.accumulate(net, x, "percentile", q=[25, 100])[:, 2], [2.5, 10])
    # paths: 0 -> {4, 1, 3}, 3 -> {10, 3}
    np.testing.assert_array_equal(xa.accumulate_downstream(net, x, "median"), [3, 2, 3, 6.5, 7])
    # weights: value 10 weighs 5 of 8 at cell 2 -> weighted median 10; mode by weight 10 as well
    w = np.array([1.0, 1.0, 1.0, 5.0, 1.0])
    np.testing.assert_array_equal(xa.accumulate(net, x, "median", weights=w)[2], 10)
    np.testing.assert_array_equal(xa.accumulate(net, x, "mode", weights=w)[2], 10)
    # mode: ties -> the smallest; integers keep their dtype
    k = np.array([2, 1, 2, 1, 5])
    out = xa.accumulate(net, k, "mode")
    assert out.dtype == k.dtype
    np.testing.assert_array_equal(out, [2, 1, 1, 1, 5])
    # skew of (1, 3, 4, 10): population skewness by hand
    v = np.array([1.0, 3.0, 4.0, 10.0])
    d = v - v.mean()
    np.testing.assert_allclose(xa.accumulate(net, x, "skew")[2], (d**3).mean() / (d**2).mean() ** 1.5)
    assert np.isnan(xa.accumulate(net, x, "skew")[[0, 4]]).all()  # one value: no skewness


def test_nan_policy():
    net = xa.RiverNetwork.from_downstream_index(np.array([1, -1]), (2,))
    x = np.array([np.nan, 2.0])
    for how in ("median", "mode", "skew"):
        assert np.isnan(xa.accumulate(net, x, how, warn_nan=False)).all()
    np.testing.assert_array_equal(xa.accumulate(net, x, "median", skipna=True), [np.nan, 2.0])
    np.testing.assert_array_equal(xa.accumulate(net, x, "mode", skipna=True), [np.nan, 2.0])
    with pytest.warns(xa.NaNPropagationWarning):
        xa.accumulate(net, x, "median")


def test_errors_name_the_problem():
    net = xa.RiverNetwork.from_downstream_index(np.array([1, -1]), (2,))
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="pass q="):
        xa.accumulate(net, x, "percentile")
    with pytest.raises(ValueError, match="pass q="):
        xa.accumulate(net, x, "median", q=50)
    with pytest.raises(ValueError, match=r"lie in \[0, 100\]"):
        xa.accumulate(net, x, "percentile", q=150)
    with pytest.raises(ValueError, match="method must be one of"):
        xa.accumulate(net, x, "median", method="hazen")
    with pytest.raises(ValueError, match="inverted_cdf"):
        xa.accumulate(net, x, "median", weights=np.ones(2), method="linear")
    with pytest.raises(ValueError, match="q and method apply"):
        xa.accumulate(net, x, "sum", q=50)
    with pytest.raises(ValueError, match="how must be one of"):
        xa.move_downstream(net, x, "median")
    with pytest.raises(NotImplementedError, match="how='median' has no engine='xp'"):
        xa.accumulate(net, x, "median", engine="xp")
    with pytest.raises(ValueError, match="non-negative"):
        xa.accumulate(net, x, "mode", weights=np.array([1.0, -1.0]))


def test_size_limit_is_a_clear_error():
    from xhydro_accessor.kernels.order_statistics import MAX_NODES, capacity

    with pytest.raises(ValueError, match=f"network of 200000000 cells.*limit of {MAX_NODES}"):
        capacity(200_000_000, 200_000_000, 200_000_000)
    assert capacity(10, 1, 10) == 10 * 2 + 1


def test_other_backends():
    torch = pytest.importorskip("torch")
    net, down, field, weights = random_case(3, n_max=30)
    want = xa.accumulate(net, field, "percentile", q=[10, 90], skipna=True)
    got = xa.accumulate(net, torch.from_numpy(field), "percentile", q=[10, 90], skipna=True)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_array_equal(got.numpy(), want)
    with pytest.raises(NotImplementedError, match="not differentiable"):
        xa.accumulate(net, torch.from_numpy(field).requires_grad_(), "median")
    da = pytest.importorskip("dask.array")
    lazy = xa.accumulate(net, da.from_array(field, chunks=(1, field.shape[1])), "percentile", q=[10, 90],
                         skipna=True)  # fmt: skip
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), want)
    jax = pytest.importorskip("jax")
    got = xa.accumulate_downstream(net, jax.numpy.asarray(field), "mode", skipna=True)
    assert isinstance(got, jax.Array)
    np.testing.assert_array_equal(np.asarray(got), xa.accumulate_downstream(net, field, "mode", skipna=True))
    with pytest.raises(NotImplementedError, match="how='mode'.*jax.jit or jax.grad"):
        jax.jit(lambda f: xa.accumulate(net, f, "mode"))(jax.numpy.asarray(field))
    strict = pytest.importorskip("array_api_strict")
    got = xa.accumulate(net, strict.asarray(field), "median", skipna=True)
    np.testing.assert_array_equal(np.asarray(got), xa.accumulate(net, field, "median", skipna=True))


def test_skew_on_every_engine_and_its_gradient():
    torch = pytest.importorskip("torch")
    net, down, field, weights = random_case(5, n_max=30)
    field = np.nan_to_num(field) + np.random.default_rng(0).random(field.shape)
    for op in ("accumulate", "accumulate_downstream"):
        run = getattr(xa, op)
        want = run(net, field, "skew", weights=weights)
        xp = run(net, field, "skew", weights=weights, engine="xp")
        np.testing.assert_allclose(xp, want, rtol=1e-9, atol=1e-12)
        x = torch.tensor(field[:1], requires_grad=True)
        out = run(net, x, "skew")
        np.testing.assert_allclose(out.detach().numpy(), run(net, field[:1], "skew"), rtol=1e-9, atol=1e-12)
        keep = torch.isfinite(out)
        torch.autograd.gradcheck(lambda t, run=run, keep=keep: run(net, t, "skew")[keep], (x,))


def test_skew_of_constant_areas_is_nan_on_both_engines():
    rng = np.random.default_rng(1)
    down = ref.random_tree_down(rng, 200, p_outlet=0.01)
    net = xa.RiverNetwork.from_downstream_index(down, (200,))
    x = np.full(200, 3.1)
    for engine in ("numba", "xp"):
        for op in ("accumulate", "accumulate_downstream"):
            assert np.isnan(getattr(xa, op)(net, x, "skew", weights=rng.random(200), engine=engine)).all()


@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_skew_of_a_constant_area_after_an_empty_cell_is_nan(engine):
    # 0 -> 1 -> 2 (outlet), 3 alone; values (0.3, NaN skipped, 0.3) weigh 3 each: one value,
    # no skewness. The numba engine gave 0: merging 0.3 into cell 1's empty state rounded its
    # mean (delta * 3 / 3), and the second 0.3 then left an M2 of 1e-32 instead of 0.
    net = xa.RiverNetwork.from_downstream_index(np.array([1, 2, -1, -1]), (4,))
    x, w = np.array([0.3, np.nan, 0.3, 0.0]), np.array([3.0, 0.0, 3.0, 1.0])
    options = {"weights": w, "skipna": True, "engine": engine, "warn_nan": False}
    assert np.isnan(xa.accumulate_downstream(net, x, "skew", **options)[:3]).all()
    assert np.isnan(xa.accumulate(net, x, "skew", **options)[[0, 2, 3]]).all()
    assert xa.accumulate(net, x, "var", **options)[2] == 0  # exactly
    x[1], w[1] = 1.3, 0.0  # a value of no weight changes nothing
    assert np.isnan(xa.accumulate_downstream(net, x, "skew", **options)[0])


def test_xarray_quantile_dim():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    da = xr.DataArray(np.array([[[1.0, 0, 7, 3]], [[2.0, 2, 2, 2]]]), dims=("time", "y", "x"),
                      attrs={"units": "mm"}).hydro.assign_network(net)  # fmt: skip
    out = da.hydro.accumulate(how="percentile", q=[10, 50])
    assert out.dims == ("quantile", "time", "y", "x")
    np.testing.assert_array_equal(out["quantile"].values, [0.1, 0.5])
    np.testing.assert_array_equal(out.values, xa.accumulate(net, da.values, "percentile", q=[10, 50]))
    assert out.attrs["units"] == "mm"
    lazy = da.chunk(time=1).hydro.accumulate_downstream(how="median", method="lower")
    want = xa.accumulate_downstream(net, da.values, "median", method="lower")
    np.testing.assert_array_equal(lazy.values, want)
    assert da.hydro.accumulate(how="skew").attrs["units"] == "1"
    stats = da.hydro.catchment_statistics([(0, 2)], "percentile", q=[10, 50], method="lower")
    assert stats.dims == ("quantile", "time", "station")


@pytest.fixture(scope="module")
def southamerica():
    ek = pytest.importorskip("earthkit.hydro")
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork as EkNetwork

    from tests import real_data

    codes = np.asarray(real_data.load("southamerica").values)
    ours = xa.RiverNetwork.from_ldd(codes, nodata=0)
    theirs = EkNetwork(from_d8(np.where(np.isin(codes, range(1, 10)), codes, 255).astype(np.uint8), "pcr_d8"))
    return ek, ours, theirs


@pytest.mark.parametrize("op, module", [("accumulate", "upstream"), ("accumulate_downstream", "downstream")])
def test_against_earthkit_hydro(southamerica, op, module):
    ek, ours, theirs = southamerica
    rng = np.random.default_rng(0)
    field = np.round(rng.random(ours.shape) * 10, 1)  # ties
    weights = rng.random(ours.shape)
    mask = ours.mask
    run, peer = getattr(xa, op), getattr(ek, module).array
    for p in (0.0, 0.1, 0.5, 0.95, 1.0):
        for w in (None, weights):
            got = run(ours, field, "percentile", q=100 * p, weights=w, method="inverted_cdf")
            want = np.asarray(peer.percentile(theirs, field, p, node_weights=w, return_type="gridded"))
            np.testing.assert_array_equal(got[mask], want[mask], err_msg=f"p={p} weighted={w is not None}")
    classes = rng.integers(0, 6, ours.shape)
    want = np.asarray(peer.mode(theirs, classes, return_type="gridded"))
    np.testing.assert_array_equal(run(ours, classes, "mode")[mask], want[mask])
    with np.errstate(all="ignore"):
        want = np.asarray(peer.skewness(theirs, field, return_type="gridded"))
    got = run(ours, field, "skew")
    np.testing.assert_array_equal(np.isnan(got[mask]), np.isnan(want[mask]))
    np.testing.assert_allclose(got[mask], want[mask], rtol=1e-6, atol=1e-7)  # theirs: online power sums
