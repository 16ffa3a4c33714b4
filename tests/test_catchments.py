"""Catchment labels, basins, masks and statistics against brute force and pyflwdir."""

import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from xhydro_accessor.hydrology import xarray_layer as hc
from xhydro_accessor.hydrology.catchments import (
    basins,
    catchment_statistics,
    catchments,
    downstream_mask,
    statistic_dtype,
    upstream_mask,
)

STATS = ["sum", "mean", "min", "max", "std", "var", "median", "percentile", "mode"]


def random_network(seed, ny, nx):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    return rng, net, ref.down_of_steps(steps, missing)


def expected_labels(down, gauges, nested):
    out = np.zeros(down.size, int)
    for cell, path in ref.paths(down).items():
        on_path = [p for p in path if p in gauges]
        if on_path:
            out[cell] = gauges.index(on_path[0] if nested else on_path[-1]) + 1
    return out


def reference_statistic(values, how, skipna, q=30.0):
    """One location's statistic over the values of its cells (1-D)."""
    if how in ("sum", "mean", "min", "max", "std", "var"):
        return ref.reduce_set(values, np.ones(values.size), how, skipna)
    if skipna:
        values = values[~np.isnan(values)]
        if values.size == 0:
            return np.nan
    elif np.isnan(values).any():
        return np.nan
    if how == "mode":
        uniq, counts = np.unique(values, return_counts=True)
        return uniq[np.argmax(counts)]
    return np.percentile(values, 50 if how == "median" else q)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(1, 7), nx=st.integers(1, 7), n=st.integers(1, 6))
def test_labels_and_masks_equal_brute_force(seed, ny, nx, n):
    rng, net, down = random_network(seed, ny, nx)
    on = np.flatnonzero(down != -2)
    if on.size == 0:
        return
    gauges = rng.choice(on, size=n).tolist()  # duplicates allowed: the first one labels
    ids = rng.permutation(n) * 2**33 + 7  # the ids' values, beyond int32, label in place of 1..n
    for nested in (False, True):
        got = catchments(net, gauges, nested=nested).reshape(-1)
        want = expected_labels(down, gauges, nested)
        np.testing.assert_array_equal(got, want)
        with_ids = catchments(net, gauges, nested=nested, ids=ids).reshape(-1)
        np.testing.assert_array_equal(with_ids, np.where(want > 0, ids[np.maximum(want, 1) - 1], 0))
        assert with_ids.dtype == ids.dtype
    ups = ref.upstream_sets(down)
    want_up = np.zeros(down.size, bool)
    want_up[[c for g in gauges for c in ups[g]]] = True
    np.testing.assert_array_equal(upstream_mask(net, gauges).reshape(-1), want_up)
    paths = ref.paths(down)
    want_down = np.zeros(down.size, bool)
    want_down[[c for g in gauges for c in paths[g]]] = True
    np.testing.assert_array_equal(downstream_mask(net, gauges).reshape(-1), want_down)
    outlets = sorted(int(p[-1]) for p in paths.values())
    want_basins = np.zeros(down.size, int)
    for cell, path in paths.items():
        want_basins[cell] = sorted(set(outlets)).index(path[-1]) + 1
    np.testing.assert_array_equal(basins(net).reshape(-1), want_basins)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    ny=st.integers(1, 6),
    nx=st.integers(1, 6),
    n=st.integers(1, 5),
    skipna=st.booleans(),
    dtype=st.sampled_from(["float64", "float32", "int32"]),
)
def test_statistics_equal_brute_force(seed, ny, nx, n, skipna, dtype):
    rng, net, down = random_network(seed, ny, nx)
    on = np.flatnonzero(down != -2)
    if on.size == 0:
        return
    gauges = rng.choice(on, size=n).tolist()
    field = rng.integers(0, 4, size=(2, ny * nx)).astype(dtype)  # few values: modes with ties
    if field.dtype.kind == "f":
        field[rng.random(field.shape) < 0.1] = np.nan
    ups = ref.upstream_sets(down)
    for nested in (False, True):
        labels = expected_labels(down, gauges, nested=True)
        for how in STATS:
            q = 30.0 if how == "percentile" else None
            got = catchment_statistics(
                net, field.reshape(2, ny, nx), gauges, how, nested=nested, skipna=skipna, q=q
            )
            assert got.shape == (2, n)
            assert got.dtype == statistic_dtype(how, dtype)
            for j in range(2):
                for k, g in enumerate(gauges):
                    if nested:
                        first = gauges.index(g) + 1
                        cells = [c for c in ups[g] if labels[c] == first]
                    else:
                        cells = ups[g]
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        want = reference_statistic(field[j, cells], how, skipna)
                    np.testing.assert_allclose(
                        got[j, k], want, rtol=1e-5 if dtype == "float32" else 1e-9, atol=1e-6,
                        err_msg=f"{how} nested={nested} gauge {g}",
                    )  # fmt: skip


def test_weights_percentiles_and_errors():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
    field = np.array([[1.0, 2.0, 3.0, 4.0]])
    w = np.array([[1.0, 1.0, 2.0, 0.0]])
    got = catchment_statistics(net, field, [(0, 3)], "mean", weights=w)
    np.testing.assert_allclose(got, [(1 + 2 + 6) / 4])
    got = catchment_statistics(net, field, [(0, 3), (0, 1)], "percentile", q=[0, 100])
    np.testing.assert_array_equal(got, [[1.0, 1.0], [4.0, 2.0]])
    got = catchment_statistics(net, field, [(0, 3)], "median", weights=w)  # weighted: inverted CDF
    np.testing.assert_array_equal(got, [np.quantile(field[0], 0.5, weights=w[0], method="inverted_cdf")])
    np.testing.assert_array_equal(catchment_statistics(net, field, [(0, 3)], "mode", weights=w), [3.0])
    with pytest.raises(ValueError, match="q="):
        catchment_statistics(net, field, [(0, 3)], "percentile")
    with pytest.raises(ValueError, match="how must be"):
        catchment_statistics(net, field, [(0, 3)], "mad")
    with pytest.raises(ValueError, match="non-zero"):
        catchments(net, [(0, 3)], ids=[0])
    np.testing.assert_array_equal(catchments(net, [(0, 3)], ids=[7]), [[7, 7, 7, 7]])


def test_large_values_var_is_stable():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 6, 6, 5]]))
    field = 1e9 + np.array([[0.001, 0.002, 0.003, 0.004, 0.005]])
    want = [np.var(field), np.var(field[0, :2])]  # numpy's two-pass variance of the stored values
    np.testing.assert_allclose(catchment_statistics(net, field, [(0, 4), (0, 1)], "var"), want, rtol=1e-6)


# ------------------------------------------------------------- real networks
@pytest.fixture(scope="module", params=["lisflood_madeira", "pysheds_elkhorn", "efas_europe_nc"])
def built(request):
    from tests.test_against_pyflwdir import _build

    return _build(request.param)


def test_labels_and_masks_equal_pyflwdir(built):
    _info, _codes, valid, net, flw = built
    rng = np.random.default_rng(0)
    gauges = rng.choice(np.flatnonzero(valid), size=500, replace=False)
    np.testing.assert_array_equal(catchments(net, gauges, nested=True), flw.basins(idxs=gauges))
    np.testing.assert_array_equal(upstream_mask(net, gauges), flw.basins(idxs=gauges) > 0)
    np.testing.assert_array_equal(catchments(net, flw.idxs_pit), flw.basins())
    assert np.array_equal(basins(net) > 0, valid)


def test_many_gauge_statistics_equal_a_per_gauge_loop(built):
    _info, _codes, valid, net, _flw = built
    rng = np.random.default_rng(1)
    gauges = rng.choice(np.flatnonzero(valid), size=40, replace=False)
    field = rng.normal(size=(2, *net.shape))
    for how in ("sum", "mean", "max", "std", "median"):
        together = catchment_statistics(net, field, gauges, how)
        reduce = {"sum": np.sum, "mean": np.mean, "max": np.max, "std": np.std, "median": np.median}[how]
        for k, g in enumerate(gauges):
            alone = catchment_statistics(net, field, [g], how)[:, 0]
            np.testing.assert_allclose(together[:, k], alone, rtol=1e-9)
            mask = upstream_mask(net, [g])
            np.testing.assert_allclose(together[:, k], reduce(field[:, mask], axis=1), rtol=1e-9)


# ------------------------------------------------------------------- xarray
@pytest.fixture
def rain():
    ldd = xr.DataArray(
        [[6, 6, 6, 5], [9, 8, 7, 8]],
        dims=("lat", "lon"),
        coords={"lat": [45.0, 44.0], "lon": [5.0, 6.0, 7.0, 8.0]},
    )
    net = xa.RiverNetwork.from_ldd(ldd)
    field = xr.DataArray(
        np.arange(16.0).reshape(2, 2, 4),
        dims=("member", "lat", "lon"),
        coords={"member": [1, 2], "lat": ldd.lat, "lon": ldd.lon},
        attrs={"units": "mm"},
        name="rain",
    )
    return field.hydro.assign_network(net)


def test_xarray_statistics_carry_station_names_and_coordinates(rain):
    stations = {"upper": (45.0, 6.0), "mouth": (45.0, 8.0)}
    out = hc.catchment_statistics(rain, stations, "sum")
    assert out.dims == ("member", "station") and out.name == "rain"
    assert out.station.values.tolist() == ["upper", "mouth"]
    assert out.lat.values.tolist() == [45.0, 45.0] and out.lon.values.tolist() == [6.0, 8.0]
    assert out.attrs["units"] == "mm" and "sum" in out.attrs["cell_methods"]
    want = catchment_statistics(rain.hydro.network, rain.values, [(0, 1), (0, 3)], "sum")
    np.testing.assert_array_equal(out.values, want)
    var = hc.catchment_statistics(rain, stations, "var")
    assert var.attrs["units"] == "mm2"
    pct = hc.catchment_statistics(rain, stations, "percentile", q=[10, 90])
    assert pct.dims == ("quantile", "member", "station") and pct["quantile"].values.tolist() == [0.1, 0.9]
    points = xr.Dataset(coords={"station": ["g"], "lat": ("station", [44.1]), "lon": ("station", [4.8])})
    snapped = hc.catchment_statistics(rain, points, "max", snap=1.5)
    np.testing.assert_allclose(snapped.snap_distance.values, [np.sqrt(2)])
    assert snapped.lon.values.tolist() == [6.0] and snapped.lat.values.tolist() == [45.0]


def test_xarray_statistics_stay_lazy_on_dask(rain):
    pytest.importorskip("dask")
    lazy = hc.catchment_statistics(rain.chunk({"member": 1}), [(0, 3)], "mean")
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, hc.catchment_statistics(rain, [(0, 3)], "mean").values)


def test_xarray_label_maps(rain):
    labels = hc.catchments(rain, {"upper": (45.0, 6.0), "mouth": (45.0, 8.0)}, nested=True)
    assert labels.dims == ("lat", "lon") and labels.attrs["flag_meanings"] == "upper mouth"
    np.testing.assert_array_equal(labels.values, [[1, 1, 2, 2], [1, 1, 1, 2]])
    assert hc.basins(rain).values.max() == 1
    assert hc.upstream_mask(rain, [(0, 1)]).values.sum() == 5
    assert hc.downstream_mask(rain, [(0, 1)]).lon.values.tolist() == [5.0, 6.0, 7.0, 8.0]
