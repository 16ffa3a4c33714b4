"""Subnetworks against a brute-force restriction of the downstream pointers."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from xhydro_accessor.hydrology.subnetwork import subnetwork, upstream_subnetwork


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(1, 7), nx=st.integers(1, 7), crop=st.booleans())
def test_subnetwork_equals_restricted_pointers(seed, ny, nx, crop):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    down = ref.down_of_steps(steps, missing)
    mask = rng.random((ny, nx)) < 0.6
    selected = mask.reshape(-1) & (down != -2)
    if not selected.any():
        with pytest.raises(ValueError, match="no network cell"):
            subnetwork(net, mask)
        return
    sub = subnetwork(net, mask, crop=crop)
    # expected downstream pointers in parent indices: outside the selection -> outlet
    got = sub.network.downstream_grid().reshape(-1)
    for k, parent in enumerate(sub.index):
        if not selected[parent]:
            assert got[k] == -2
        elif down[parent] >= 0 and selected[down[parent]]:
            assert sub.index[got[k]] == down[parent]
        else:
            assert got[k] == -1
    assert selected.sum() == sub.network.n_nodes
    if crop:
        rows, cols = np.nonzero(selected.reshape(ny, nx))
        assert sub.network.shape == (np.ptp(rows) + 1, np.ptp(cols) + 1)
    # fields map both ways; accumulation on the subnetwork equals the brute-force one
    field = rng.random((2, ny, nx))
    acc = sub.to_parent(xa.accumulate(sub.network, sub.from_parent(field)))
    sub_down = np.where(selected, np.where((down >= 0) & selected[np.maximum(down, 0)], down, -1), -2)
    for cell, ups in ref.upstream_sets(sub_down).items():
        np.testing.assert_allclose(acc[:, cell // nx, cell % nx], field.reshape(2, -1)[:, ups].sum(axis=1))
    assert np.isnan(acc.reshape(2, -1)[:, ~selected]).all()


def test_upstream_subnetwork_keeps_coordinates_and_recomputes_sources_outlets():
    codes = xr.DataArray(
        [[6, 6, 6, 5], [255, 9, 8, 7]], dims=("lat", "lon"), coords={"lat": [1.0, 0.0], "lon": [0.0, 1, 2, 3]}
    )
    net = xa.RiverNetwork.from_ldd(codes)
    sub = upstream_subnetwork(net, {"gauge": (1.0, 1.0)})
    assert sub.network.shape == (1, 2) and sub.network.coords["lon"].tolist() == [0.0, 1.0]
    assert sub.network.outlets.tolist() == [1] and sub.network.sources.tolist() == [0]
    assert sub.to_parent(np.array([[1, 2]])).tolist()[0][:2] == [1, 2]


def test_vector_subnetwork_keeps_ids():
    net = xa.RiverNetwork.from_downstream(["b", "c", "", "c"], ids=["a", "b", "c", "d"], outlet="")
    sub = subnetwork(net, np.array([True, True, False, True]))
    assert sub.network.ids.tolist() == ["a", "b", "d"]
    assert sorted(sub.network.outlets.tolist()) == [1, 2]
    np.testing.assert_array_equal(sub.to_parent(np.array([1.0, 2.0, 3.0])), [1.0, 2.0, np.nan, 3.0])


def test_xarray_upstream_subnetwork_attaches_the_subnetwork():
    from xhydro_accessor.hydrology import xarray_layer as hc

    codes = xr.DataArray(
        [[6, 6, 6, 5], [255, 9, 8, 7]], dims=("lat", "lon"), coords={"lat": [1.0, 0.0], "lon": [0.0, 1, 2, 3]}
    )
    da = xr.DataArray(np.arange(8.0).reshape(2, 4), coords=codes.coords).hydro.assign_network(
        xa.RiverNetwork.from_ldd(codes)
    )
    sub = hc.upstream_subnetwork(da, {"g": (1.0, 2.0)})
    assert sub.shape == (2, 4) and sub.hydro.network.outlets.tolist() == [2]
    np.testing.assert_array_equal(sub.hydro.accumulate().values[0, :3], [0.0, 1.0, 0 + 1 + 2 + 5 + 6 + 7])
    small = hc.upstream_subnetwork(da, {"g": (1.0, 1.0)})
    assert small.lon.values.tolist() == [0.0, 1.0] and small.hydro.network.n_nodes == 2
