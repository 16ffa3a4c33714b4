"""Strahler, Shreve and Hack against hand-checked cases, a recursive reference and pyflwdir."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from tests.real_data import NAMES
from xhydro_accessor.hydrology.stream_order import hack, main_upstream, shreve, strahler, stream_order


def reference_orders(down):
    kids = ref.children(down)

    def strahler_of(i):
        orders = [strahler_of(k) for k in kids[i]]
        if not orders:
            return 1
        top = max(orders)
        return top + 1 if orders.count(top) >= 2 else top

    def shreve_of(i):
        return 1 if not kids[i] else sum(shreve_of(k) for k in kids[i])

    return {i: strahler_of(i) for i in kids}, {i: shreve_of(i) for i in kids}


def test_confluence_of_orders_1_1_2_gives_2():
    # vector network: a, b -> c (order 2); c, d, e -> f: orders 2, 1, 1 -> 2 (earthkit-hydro gives 3)
    net = xa.RiverNetwork.from_downstream(["c", "c", "f", "f", "f", ""], ids=list("abcdef"), outlet="")
    np.testing.assert_array_equal(strahler(net), [1, 1, 2, 1, 1, 2])
    np.testing.assert_array_equal(shreve(net), [1, 1, 2, 1, 1, 4])


def test_two_order_2_make_3_and_off_network_fill():
    net = xa.RiverNetwork.from_downstream([2, 2, 6, 5, 5, 6, -1, 6], ids=range(8))
    np.testing.assert_array_equal(strahler(net), [1, 1, 2, 1, 1, 2, 3, 1])
    grid = xa.RiverNetwork.from_ldd(np.array([[6, 5, 255]]))
    np.testing.assert_array_equal(strahler(grid), [[1, 1, xa.fill_value(np.int32)]])
    np.testing.assert_array_equal(shreve(grid), [[1, 1, xa.fill_value(np.int64)]])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(1, 8), nx=st.integers(1, 8))
def test_orders_equal_reference_on_random_grids(seed, ny, nx):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    want_strahler, want_shreve = reference_orders(ref.down_of_steps(steps, missing))
    got_strahler, got_shreve = strahler(net).reshape(-1), shreve(net).reshape(-1)
    for i in want_strahler:
        assert got_strahler[i] == want_strahler[i]
        assert got_shreve[i] == want_shreve[i]
    assert np.all(got_strahler[~net.mask.reshape(-1)] == xa.fill_value(np.int32))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40))
def test_orders_equal_reference_on_random_trees(seed, n):
    down = ref.random_tree_down(np.random.default_rng(seed), n)
    net = xa.RiverNetwork.from_downstream(down)
    want_strahler, want_shreve = reference_orders(down)
    np.testing.assert_array_equal(strahler(net), [want_strahler[i] for i in range(n)])
    np.testing.assert_array_equal(shreve(net), [want_shreve[i] for i in range(n)])


@pytest.mark.parametrize("name", ["lisflood_madeira", "pysheds_elkhorn"])
def test_strahler_equals_pyflwdir(name):
    from tests.test_against_pyflwdir import _build

    _info, _codes, valid, net, flw = _build(name)
    np.testing.assert_array_equal(strahler(net)[valid], flw.stream_order(type="strahler")[valid])


def test_xarray_orders_keep_the_grid():
    import xarray as xr

    from xhydro_accessor.hydrology import xarray_layer as hc

    codes = xr.DataArray(
        [[3, 2, 1], [6, 5, 4]], dims=("lat", "lon"), coords={"lat": [1.0, 0.0], "lon": [0.0, 1, 2]}
    )
    da = xr.zeros_like(codes, dtype=float).hydro.assign_network(xa.RiverNetwork.from_ldd(codes))
    order = hc.strahler(da)
    assert order.dims == ("lat", "lon") and order.lon.values.tolist() == [0.0, 1.0, 2.0]
    assert order.values[1, 1] == 2 and hc.shreve(da).values[1, 1] == 5


def reference_hack(down):
    """Hack order from its definition: upstream sets counted cell by cell, walked from the outlets."""
    kids, count = ref.children(down), {i: len(u) for i, u in ref.upstream_sets(down).items()}
    main = {i: min(k, key=lambda c: (-count[c], c)) for i, k in kids.items() if k}
    order = {}
    for i, path in ref.paths(down).items():
        order[i] = 1 + sum(main[below] != above for above, below in zip(path, path[1:], strict=False))
    return order, main


def test_hack_by_hand():
    # a 3-cell stem (top row, then down the right column) and a 2-cell tributary along the bottom row
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 2], [6, 6, 5], [255, 255, 255]]))
    np.testing.assert_array_equal(hack(net)[:2], [[1, 1, 1], [2, 2, 1]])
    assert hack(net)[2, 0] == xa.fill_value(np.int32)
    # tie at the confluence (two 1-cell tributaries): the smaller flat index is the main stem
    tie = xa.RiverNetwork.from_ldd(np.array([[3, 255, 1], [255, 5, 255]]))
    np.testing.assert_array_equal(hack(tie)[0, [0, 2]], [1, 2])
    # stem 5-4-3-2 (4 cells at 3) beats 0/7-1 (3 cells at 1) at 2; 6 joins 3; 7 ties with 0 at 1: order 3
    deep = xa.RiverNetwork.from_downstream([1, 2, -1, 2, 3, 4, 3, 1], ids=range(8))
    np.testing.assert_array_equal(hack(deep), [2, 2, 1, 1, 1, 1, 2, 3])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(1, 8), nx=st.integers(1, 8))
def test_hack_and_main_stem_equal_reference_on_random_grids(seed, ny, nx):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    down = ref.down_of_steps(steps, missing)
    want, want_main = reference_hack(down)
    got, (main, cells) = hack(net).reshape(-1), main_upstream(net)
    assert {i: int(got[i]) for i in want} == want
    assert {i: int(main[i]) for i in want if main[i] >= 0} == want_main
    assert {i: int(cells[i]) for i in want} == {i: len(u) for i, u in ref.upstream_sets(down).items()}
    assert np.all(got[~net.mask.reshape(-1)] == xa.fill_value(np.int32))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40))
def test_hack_equals_reference_on_random_trees(seed, n):
    down = ref.random_tree_down(np.random.default_rng(seed), n)
    want, _ = reference_hack(down)
    np.testing.assert_array_equal(hack(xa.RiverNetwork.from_downstream(down)), [want[i] for i in range(n)])


@pytest.mark.parametrize("name", NAMES)
def test_hack_equals_pyflwdir_classic_order(name):
    from tests.test_against_pyflwdir import _build

    _info, _codes, valid, net, flw = _build(name)
    ours = hack(net)
    np.testing.assert_array_equal(ours[valid], flw.stream_order(type="classic")[valid])
    np.testing.assert_array_equal(
        main_upstream(net)[0], np.where(flw.idxs_us_main == flw._mv, -1, flw.idxs_us_main.astype(np.int64))
    )


def test_stream_order_by_name():
    net = xa.RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    for kind, function in (("strahler", strahler), ("shreve", shreve), ("hack", hack)):
        np.testing.assert_array_equal(stream_order(net, kind), function(net))
    np.testing.assert_array_equal(stream_order(net), strahler(net))
    with pytest.raises(ValueError, match="kind must be one of"):
        stream_order(net, "horton")
