"""Order statistics (median, percentile, mode) on spatially tiled networks (issue 18):
exactly the in-memory results, lazily, chunked like the input, within a memory limit."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from xhydro_accessor import RiverNetwork
from xhydro_accessor.hydrology.locations import locate
from xhydro_accessor.tiling import TiledNetwork

from . import real_data
from .test_tiled import no_compute, snake, tiled_case, wrapped_networks

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOWS = ("median", "percentile", "mode")
METHODS = ("linear", "inverted_cdf", "lower", "higher", "nearest", "midpoint")


def same(tiled_out, memory_out):
    """Exactly equal: values (NaN where NaN), dtype and shape."""
    tiled_out = np.asarray(tiled_out)
    assert tiled_out.dtype == memory_out.dtype
    np.testing.assert_array_equal(tiled_out, memory_out)


def fields(rng, shape, integer, weighted):
    """A field with ties (and NaN unless integer), and dyadic weights (exact sums) or None."""
    field = rng.integers(0, 5, shape)
    if not integer:
        field = field.astype(np.float64) + rng.choice([0.0, 0.5], shape)
        field[rng.random(shape) < 0.1] = np.nan
    if weighted is None:
        return field, None
    weights = rng.integers(0, 5, shape[-2:] if weighted == "grid" else shape) * 0.25
    if not integer:
        weights[rng.random(weights.shape) < 0.05] = np.nan  # a NaN weight makes its value NaN
    return field, weights


def options(how, weighted, draw_method, q):
    out = {"q": q} if how == "percentile" else {}
    if how != "mode" and weighted is None:
        out["method"] = draw_method
    return out


@FAST
@given(
    tiled_case(),
    st.sampled_from(("accumulate", "accumulate_downstream")),
    st.sampled_from(HOWS),
    st.sampled_from([None, "grid", "members"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from(METHODS),
    st.sampled_from([30, [0, 50, 93.5, 100]]),
)
def test_accumulate_every_how_equals_memory(case, op, how, weighted, skipna, integer, method, q):
    """Random networks, ragged and 1-cell chunks, three members in two chunks: exactly the
    in-memory result, built without computing, chunked like the field."""
    codes, chunks, seed = case
    rng = np.random.default_rng(seed)
    memory = RiverNetwork.from_ldd(codes)
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    field, weights = fields(rng, (3, *codes.shape), integer, weighted)
    kwargs = options(how, weighted, method, q)
    lazy_w = (
        None if weights is None else da.from_array(weights, chunks=((2, 1),)[: weights.ndim - 2] + chunks)
    )
    with no_compute():
        lazy = getattr(xa, op)(
            net, da.from_array(field, chunks=(2, *chunks)), how=how, weights=lazy_w, skipna=skipna, **kwargs
        )
    expected = getattr(xa, op)(memory, field, how=how, weights=weights, skipna=skipna, **kwargs)
    several = how == "percentile" and np.ndim(q) > 0
    assert lazy.chunks == (((4,),) if several else ()) + ((2, 1), *chunks)
    same(lazy.compute(), expected)


@FAST
@given(
    tiled_case(),
    st.sampled_from(HOWS),
    st.sampled_from([None, "grid", "members"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from(METHODS),
    st.sampled_from([70, [0, 25, 100]]),
    st.data(),
)
def test_catchment_statistics_equal_memory(case, how, weighted, skipna, nested, integer, method, q, data):
    """Locations anywhere on the network (repeated, nested): exactly the in-memory statistics."""
    codes, chunks, seed = case
    rng = np.random.default_rng(seed)
    memory = RiverNetwork.from_ldd(codes)
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    on = np.flatnonzero(memory.mask)
    picks = data.draw(st.lists(st.sampled_from(on.tolist()), min_size=1, max_size=6))
    where = np.column_stack(np.divmod(np.asarray(picks), codes.shape[1]))
    field, weights = fields(rng, (3, *codes.shape), integer, weighted)
    kwargs = options(how, weighted, method, q)
    lazy_w = (
        None if weights is None else da.from_array(weights, chunks=((1, 2),)[: weights.ndim - 2] + chunks)
    )
    args = {"how": how, "nested": nested, "skipna": skipna, **kwargs}
    located = locate(memory, where)  # Locations given: nothing to check, the graph only
    with no_compute():
        lazy = xa.catchment_statistics(
            net, da.from_array(field, chunks=(1, *chunks)), located, weights=lazy_w, **args
        )
    same(lazy.compute(), xa.catchment_statistics(memory, field, where, weights=weights, **args))


@pytest.mark.parametrize("chunks", [1, 2, (3, 2)])
def test_one_river_through_every_tile(chunks):
    """A snake through every cell: each tile's values reach every tile downstream (and each
    exit's way to the outlet crosses every tile below); a numpy field gives numpy."""
    codes = snake(5, 4)
    memory = RiverNetwork.from_ldd(codes)
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    field = np.random.default_rng(1).permutation(20).reshape(5, 4).astype(np.int32)
    for op in ("accumulate", "accumulate_downstream"):
        for how, kwargs in (
            ("median", {}),
            ("percentile", {"q": [10, 60], "method": "nearest"}),
            ("mode", {}),
        ):
            out = getattr(xa, op)(net, field, how=how, **kwargs)
            assert isinstance(out, np.ndarray)
            same(out, getattr(xa, op)(memory, field, how=how, **kwargs))


def test_by_hand_downstream_median_across_tiles():
    """One river east then south, 1-cell tiles: each path's median, checked by hand."""
    net = RiverNetwork.from_ldd(da.from_array(np.array([[6, 6, 2], [5, 4, 4]]), chunks=1))
    field = np.array([[4.0, 1.0, 9.0], [2.0, 7.0, 3.0]])
    # paths: (0,0): 4 1 9 3 7 2 -> 3.5; (0,1): 1 9 3 7 2 -> 3; (0,2): 9 3 7 2 -> 5; (1,2): 3 7 2 -> 3
    expected = np.array([[3.5, 3.0, 5.0], [2.0, 4.5, 3.0]])
    np.testing.assert_array_equal(
        xa.accumulate_downstream(net, da.from_array(field, chunks=1), how="median"), expected
    )


def test_memory_limit_raises_before_reading_values():
    """Above the option's bytes, computing raises MemoryError naming the bytes and gather();
    no field block is read (the field's blocks would raise)."""
    codes = snake(6, 6)
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=2))

    def unreadable(block):
        raise AssertionError("a field block was read")

    field = da.map_blocks(unreadable, da.zeros((6, 6), chunks=2), dtype=float)
    with xa.set_options(tiled_order_memory=1000):  # the limit when the graph is built
        lazy = xa.accumulate(net, field, how="median")
        with pytest.raises(MemoryError, match=r"needs about [\d,]+ bytes .*gather\(network\)"):
            lazy.compute()
        with pytest.raises(MemoryError, match="accumulate_downstream"):
            xa.accumulate_downstream(net, field, how="percentile", q=[5, 50]).compute()
        with pytest.raises(MemoryError, match=r"catchment_statistics .*\(tiled_order_memory="):
            xa.catchment_statistics(net, field, [(5, 0)], "mode").compute()
    with pytest.raises(TypeError, match="tiled_order_memory"):
        xa.set_options(tiled_order_memory="1 GB")
    ok = np.arange(36.0).reshape(6, 6)
    same(xa.accumulate(net, da.from_array(ok, chunks=3), how="median").compute(),
         xa.accumulate(RiverNetwork.from_ldd(codes), ok, how="median"))  # fmt: skip


def test_unsupported_inputs_raise_clearly():
    net = RiverNetwork.from_ldd(da.from_array(snake(3, 3), chunks=2))
    with pytest.raises(NotImplementedError, match="engine='xp'"):
        xa.accumulate(net, np.ones((3, 3)), how="median", engine="xp")
    with pytest.raises(ValueError, match="method='inverted_cdf' only"):
        xa.accumulate(net, np.ones((3, 3)), how="median", weights=np.ones((3, 3)), method="linear")


@pytest.mark.parametrize("name", ["lisflood_madeira"])
def test_real_network_in_space_chunks(name):
    """A real network opened in ragged spatial chunks, two members: upstream and downstream
    order statistics and catchment statistics at the big rivers equal the in-memory ones."""
    info = real_data.BY_NAME[name]
    real_data.skip_if_missing(info)
    memory = xa.open_network(info.path)
    net = xa.open_network(info.path, chunks=29)
    assert isinstance(net, TiledNetwork)
    rng = np.random.default_rng(0)
    runoff = np.round(rng.random((2, *memory.shape)), 2)  # ties among 101 values
    weights = rng.integers(1, 4, memory.shape) * 0.5
    lazy = da.from_array(runoff, chunks=(1, 37, 23))  # other chunks than the tiles: rechunked
    for op in ("accumulate", "accumulate_downstream"):
        for how, kwargs in (
            ("median", {}),
            ("percentile", {"q": [5, 95], "method": "midpoint"}),
            ("mode", {}),
        ):
            same(getattr(xa, op)(net, lazy, how=how, **kwargs).compute(),
                 getattr(xa, op)(memory, runoff, how=how, **kwargs))  # fmt: skip
        same(getattr(xa, op)(net, lazy, how="median", weights=weights).compute(),
             getattr(xa, op)(memory, runoff, how="median", weights=weights))  # fmt: skip
    areas = xa.upstream_area(memory).reshape(-1)
    gauges = np.sort(np.argsort(-np.nan_to_num(areas))[:20])
    where = np.column_stack(np.divmod(np.concatenate([gauges, memory.outlets[:3]]), memory.shape[1]))
    for how, nested in (("median", False), ("percentile", True), ("mode", False)):
        kwargs = {"q": 90} if how == "percentile" else {}
        same(xa.catchment_statistics(net, lazy, where, how, nested=nested, **kwargs).compute(),
             xa.catchment_statistics(memory, runoff, where, how, nested=nested, **kwargs))  # fmt: skip


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 6), st.integers(2, 7), st.integers(0, 2**16), st.data())
def test_wrap_x_and_persisted_tiles(ny, nx, seed, data):
    """Rivers across the wrapped east-west edge, on tiles whose topologies are persisted:
    the same order statistics as in memory."""
    from xhydro_accessor.backends.tiled import persist

    case = wrapped_networks(ny, nx, seed, data)
    if case is None:  # a cycle: refused as in memory (test_tiled)
        return
    codes, memory, chunks, net = case
    net = persist(net)
    field = np.random.default_rng(seed).integers(0, 4, (2, ny, nx))
    for op in ("accumulate", "accumulate_downstream"):
        for how in HOWS:
            kwargs = {"q": [20, 80]} if how == "percentile" else {}
            same(getattr(xa, op)(net, da.from_array(field, chunks=(1, *chunks)), how=how, **kwargs).compute(),
                 getattr(xa, op)(memory, field, how=how, **kwargs))  # fmt: skip


def test_the_accessor_on_a_dataset_chunked_in_space():
    """``.hydro`` on data chunked across space: median, percentiles and mode stay lazy and
    equal the in-memory ones (coordinates and the percentile dim as in memory)."""
    import xarray as xr

    codes = snake(6, 8)
    coords = {"y": np.arange(6.0)[::-1] * 1000, "x": np.arange(8.0) * 1000}
    runoff = np.round(np.random.default_rng(1).random((2, *codes.shape)), 1)
    ds = xr.Dataset({"r": (("member", "y", "x"), runoff)}, coords=coords)
    ds = ds.hydro.assign_network(RiverNetwork.from_ldd(codes), crs="EPSG:3035")
    lazy = ds.chunk(member=1, y=4, x=3).drop_indexes("flow_direction").hydro.assign_network()
    assert isinstance(lazy.hydro.network, TiledNetwork)
    gauge = {"a": (2000.0, 3000.0), "b": (4000.0, 7000.0)}
    calls = {
        "median": lambda d: d.r.hydro.accumulate(how="median"),
        "percentile": lambda d: d.r.hydro.accumulate_downstream(how="percentile", q=[10, 90]),
        "mode": lambda d: d.r.hydro.accumulate(how="mode", skipna=True),
        "statistics": lambda d: d.r.hydro.catchment_statistics(gauge, "median"),
        "nested": lambda d: d.r.hydro.catchment_statistics(gauge, "percentile", q=[25, 75], nested=True),
    }
    for name, call in calls.items():
        out, expected = call(lazy), call(ds)
        assert isinstance(out.data, da.Array), name
        assert out.dims == expected.dims, name
        same(out.values, expected.values)
