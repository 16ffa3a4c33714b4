"""smooth_along and fill_along: brute force on random networks, pyflwdir on real ones, backends."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import real_data
from tests import reference as ref


def network(seed, ny=6, nx=7):
    steps, missing = ref.random_grid_network(np.random.default_rng(seed), ny, nx)
    return xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd")), ref.down_of_steps(steps, missing)


def main_up_brute(down):
    """Each cell's upstream neighbour with the most upstream cells (lowest index on ties)."""
    count = {i: len(s) for i, s in ref.upstream_sets(down).items()}
    out = {}
    for parent, kids in ref.children(down).items():
        if kids:
            out[parent] = min(kids, key=lambda k: (-count[k], k))
    return out


def smooth_brute(down, x, w, n, how):
    main = main_up_brute(down)
    out = np.full(x.size, np.nan)
    for i, path in ref.paths(down).items():
        if np.isnan(x[i]):
            continue
        window = path[: n + 1]
        c = i
        for _ in range(n):
            if c not in main:
                break
            c = main[c]
            window.append(c)
        v, ww = x[window], w[window]
        keep = ~np.isnan(v)
        if how == "median":
            out[i] = np.median(v[keep]) if keep.any() else np.nan
        else:
            out[i] = (v[keep] * ww[keep]).sum() / ww[keep].sum() if ww[keep].sum() else np.nan
    return out


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 4), how=st.sampled_from(["mean", "median"]))
def test_smooth_along_equals_brute_force(seed, n, how):
    net, down = network(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=net.shape)
    x[rng.random(net.shape) < 0.15] = np.nan
    w = rng.uniform(0.1, 2, size=net.shape) if how == "mean" else None
    got = xa.smooth_along(net, x, n, how=how, weights=w)
    expected = smooth_brute(down, x.ravel(), np.ones(down.size) if w is None else w.ravel(), n, how)
    np.testing.assert_allclose(got.ravel(), expected, rtol=1e-12)


def fill_brute(down, x, direction, how):
    out = x.copy()
    on = down != -2
    out[~on] = np.nan
    if direction == "up":
        for i, path in ref.paths(down).items():
            if np.isnan(x[i]):
                found = [x[k] for k in path if not np.isnan(x[k])]
                out[i] = found[0] if found else np.nan
        return out
    # down: the valid cells reaching i through missing cells only (i included if missing)
    kids = ref.children(down)
    merge = {"max": max, "min": min, "sum": lambda a, b: a + b}[how]

    def arriving(i):  # the value flowing out of cell i
        if not np.isnan(x[i]):
            return x[i]
        values = [v for k in kids[i] if not np.isnan(v := arriving(k))]
        if not values:
            return np.nan
        total = values[0]
        for v in values[1:]:
            total = merge(total, v)
        return total

    for i in np.flatnonzero(on):
        if np.isnan(x[i]):
            out[i] = arriving(i)
    return out


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), direction=st.sampled_from(["down", "up"]),
       how=st.sampled_from(["max", "min", "sum"]))  # fmt: skip
def test_fill_along_equals_brute_force(seed, direction, how):
    net, down = network(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, *net.shape))
    x[rng.random(x.shape) < 0.5] = np.nan
    got = xa.fill_along(net, x, direction=direction, how=how)
    for m in range(2):
        np.testing.assert_allclose(got[m].ravel(), fill_brute(down, x[m].ravel(), direction, how))


@pytest.fixture(scope="module")
def real():
    pyflwdir = pytest.importorskip("pyflwdir")
    codes = np.asarray(real_data.load("efas_europe_nc").values)
    codes = np.where(np.isin(codes, list(range(1, 10))), codes, 255).astype(np.uint8)
    return xa.RiverNetwork.from_ldd(codes), pyflwdir.from_array(codes, ftype="ldd")


@pytest.mark.parametrize("n", [1, 4])
def test_smooth_along_equals_pyflwdir_moving_average_and_median(real, n):
    net, flw = real
    rng = np.random.default_rng(n)
    x = rng.uniform(0, 100, size=net.shape)
    w = rng.uniform(0.5, 2, size=net.shape)
    mask = net.mask
    np.testing.assert_allclose(xa.smooth_along(net, x, n)[mask], flw.moving_average(x, n)[mask], rtol=1e-12)
    np.testing.assert_allclose(
        xa.smooth_along(net, x, n, weights=w)[mask], flw.moving_average(x, n, weights=w)[mask], rtol=1e-12
    )
    np.testing.assert_array_equal(xa.smooth_along(net, x, n, how="median")[mask],
                                  flw.moving_median(x, n)[mask])  # fmt: skip


@pytest.mark.parametrize("direction", ["down", "up"])
@pytest.mark.parametrize("how", ["max", "sum"])
def test_fill_along_equals_pyflwdir_fillnodata(real, direction, how):
    net, flw = real
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 100, size=net.shape)
    x[rng.random(net.shape) < 0.3] = np.nan
    theirs = flw.fillnodata(np.where(np.isnan(x), -9999.0, x), -9999.0, direction=direction, how=how)
    ours = xa.fill_along(net, x, direction=direction, how=how)
    np.testing.assert_allclose(np.nan_to_num(ours[net.mask], nan=-9999.0), theirs[net.mask], rtol=1e-12)


def test_backends_and_accessor(backend):
    net, _ = network(4)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, *net.shape))
    x[0, 0, :3] = np.nan
    expected = xa.smooth_along(net, x, 2)
    np.testing.assert_allclose(backend.back(xa.smooth_along(net, backend.to(x), 2)), expected)
    np.testing.assert_allclose(
        backend.back(xa.fill_along(net, backend.to(x), "up")), xa.fill_along(net, x, "up")
    )


def test_accessor_methods():
    net, _ = network(5)
    x = np.random.default_rng(5).normal(size=(2, *net.shape))
    da = xr.DataArray(x, dims=("t", "y", "x"), attrs={"units": "m"}).hydro.assign_network(net)
    out = da.hydro.smooth_along(3, how="median")
    assert out.dims == da.dims and out.attrs["units"] == "m"
    np.testing.assert_array_equal(out.values, xa.smooth_along(net, x, 3, how="median"))
    np.testing.assert_array_equal(da.hydro.fill_along(direction="up").values, xa.fill_along(net, x, "up"))
    transposed = da.transpose("x", "t", "y").hydro.smooth_along(2)
    np.testing.assert_allclose(transposed.transpose("t", "y", "x").values, xa.smooth_along(net, x, 2))


def test_bad_arguments_raise():
    net, _ = network(6)
    x = np.ones(net.shape)
    with pytest.raises(ValueError, match="window must be a non-negative integer"):
        xa.smooth_along(net, x, -1)
    with pytest.raises(ValueError, match="window must be"):
        xa.smooth_along(net, x, 1.5)
    with pytest.raises(ValueError, match="how must be 'mean' or 'median'"):
        xa.smooth_along(net, x, 1, how="max")
    with pytest.raises(ValueError, match="weights are for how='mean' only"):
        xa.smooth_along(net, x, 1, how="median", weights=x)
    with pytest.raises(ValueError, match="non-negative"):
        xa.smooth_along(net, x, 1, weights=-x)
    with pytest.raises(ValueError, match="direction must be"):
        xa.fill_along(net, x, direction="sideways")
    with pytest.raises(ValueError, match="how must be one of"):
        xa.fill_along(net, x, how="mean")
    with pytest.raises(Exception, match="shape|grid"):
        xa.smooth_along(net, np.ones((2, 2)), 1)
