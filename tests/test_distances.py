"""Distances and lengths against a brute-force path reference and pyflwdir."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from xhydro_accessor.hydrology import distances as dist


def random_case(seed, ny, nx):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    return rng, net, ref.down_of_steps(steps, missing)


def path_length(paths, w, start, end, per):
    """Along the undirected tree path start..end; None when not connected."""
    a, b = paths[start], paths[end]
    common = set(a) & set(b)
    if not common:
        return None
    lca = next(p for p in a if p in common)
    up_a, up_b = a[: a.index(lca)], b[: b.index(lca)]
    if per == "edge":
        return sum(w[p] for p in up_a + up_b), lca
    return sum(w[p] for p in up_a + up_b) + w[lca], lca


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    ny=st.integers(1, 6),
    nx=st.integers(1, 6),
    per=st.sampled_from(["edge", "cell"]),
)
def test_distances_equal_brute_force(seed, ny, nx, per):
    rng, net, down = random_case(seed, ny, nx)
    on = np.flatnonzero(down != -2)
    if on.size == 0:
        return
    w = rng.random(ny * nx) + 0.1
    paths, ups = ref.paths(down), ref.upstream_sets(down)
    sources = [i for i in paths if len(ups[i]) == 1]
    gauges = rng.choice(on, size=min(3, on.size), replace=False).tolist()
    grid_w = w.reshape(ny, nx)
    to_outlet = dist.distance_to_outlet(net, grid_w, per=per).reshape(-1)
    longest = dist.distance_to_source(net, grid_w, per=per).reshape(-1)
    shortest = dist.distance_to_source(net, grid_w, path="shortest", per=per).reshape(-1)
    got = {
        (d, u, how): dist.distance_from_points(
            net, gauges, grid_w, downstream=d, upstream=u, how=how, per=per
        )
        for d, u, how in [
            (True, False, "min"),
            (True, False, "max"),
            (False, True, "min"),
            (False, True, "max"),
        ]
        + [(True, True, "min")]
    }
    for c in paths:
        np.testing.assert_allclose(to_outlet[c], path_length(paths, w, c, paths[c][-1], per)[0])
        from_sources = [path_length(paths, w, s, c, per)[0] for s in sources if s in ups[c]]
        np.testing.assert_allclose([longest[c], shortest[c]], [max(from_sources), min(from_sources)])
        for (d, u, how), out in got.items():
            found = []
            for g in gauges:
                hit = path_length(paths, w, g, c, per)
                if hit is not None and ((d and hit[1] == c) or (u and hit[1] == g) or (d and u)):
                    found.append(hit[0])
            want = (min if how == "min" else max)(found) if found else np.nan
            np.testing.assert_allclose(out.reshape(-1)[c], want, err_msg=f"{d=} {u=} {how} cell {c}")
    assert np.isnan(to_outlet[down == -2]).all()


def test_hand_checked_and_errors():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 6, 6, 5]]))
    np.testing.assert_array_equal(dist.distance_to_outlet(net), [[4, 3, 2, 1, 0]])
    np.testing.assert_array_equal(dist.distance_from_points(net, [(0, 2)], upstream=True), [[2, 1, 0, 1, 2]])
    with pytest.raises(ValueError, match="needs weights"):
        dist.distance_to_outlet(net, per="cell")
    with pytest.raises(ValueError, match="one direction"):
        dist.distance_from_points(net, [(0, 2)], upstream=True, how="max")
    with pytest.raises(ValueError, match="shape"):
        dist.distance_to_outlet(net, np.ones(3))


def test_geodesic_steps_diagonal_longer_and_wrap():
    import xarray as xr

    ldd = xr.DataArray(
        [[3, 2, 1], [6, 5, 4]], dims=("lat", "lon"), coords={"lat": [0.5, -0.5], "lon": [0.0, 1, 2]}
    )
    steps = dist.step_lengths(xa.RiverNetwork.from_ldd(ldd))
    assert steps[0, 0] > steps[0, 1] > 0 and steps[1, 1] == 0
    np.testing.assert_allclose(steps[0, 1], 110_574.4, rtol=1e-5)  # 1° of meridian at the equator (WGS84)
    np.testing.assert_allclose(steps[0, 0], steps[0, 2])
    wrapped = xa.RiverNetwork.from_ldd(np.array([[4, 6, 6, 6, 5]]), wrap_x=False)
    assert dist.step_lengths(wrapped)[0, 0] == 0  # flows off the grid: an outlet
    wrapped = xa.RiverNetwork.from_ldd(np.array([[5, 255, 255, 255, 6]]), wrap_x=True)
    assert dist.step_lengths(wrapped)[0, 4] == 1  # east edge to west edge: one step


@pytest.mark.parametrize("name", ["lisflood_madeira", "pysheds_elkhorn"])
def test_distance_to_outlet_in_cells_equals_pyflwdir(name):
    from tests.test_against_pyflwdir import _build

    _info, _codes, valid, net, flw = _build(name)
    steps = dist.distance_to_outlet(net, np.ones(net.shape))  # pyflwdir counts steps
    np.testing.assert_array_equal(steps[valid], flw.stream_distance(unit="cell")[valid])


def test_xarray_distances_geodesic_by_default():
    import xarray as xr

    from xhydro_accessor.hydrology import xarray_layer as hc

    codes = xr.DataArray(
        [[3, 2, 1], [6, 5, 4]], dims=("lat", "lon"), coords={"lat": [0.5, -0.5], "lon": [0.0, 1, 2]}
    )
    net = xa.RiverNetwork.from_ldd(codes)
    da = xr.zeros_like(codes, dtype=float).hydro.assign_network(net)
    out = hc.distance_to_outlet(da)
    assert out.attrs["units"] == "m" and out.dims == ("lat", "lon")
    np.testing.assert_allclose(out.values, dist.step_lengths(net))
    up = hc.distance_from_points(da, {"mouth": (-0.5, 1.0)}, upstream=True, downstream=False)
    np.testing.assert_allclose(up.values, out.values)
    assert hc.distance_to_source(da, weights=np.ones((2, 3))).values[1, 1] == 1
