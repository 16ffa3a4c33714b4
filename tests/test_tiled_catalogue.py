"""The catalogue on spatially tiled networks (issue 18): labels at gauges, distances and
catchment statistics, lazily on tiles, equal to the in-memory functions on the gathered network."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from xhydro_accessor import RiverNetwork
from xhydro_accessor.backends.tiled import gather
from xhydro_accessor.hydrology import catchments as cat
from xhydro_accessor.hydrology import distances as dist
from xhydro_accessor.hydrology.locations import LocationError, locate, upstream_km2
from xhydro_accessor.tiling import TiledNetwork

from . import real_data
from .test_tiled import assert_same, no_compute, snake, tiled_case, wrapped_networks

HOWS = ("sum", "mean", "min", "max", "var", "std", "skew")
#: few examples, no shrinking (each example builds graphs of dozens of tiles)
FAST = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


def networks(case):
    """The tiled network of a case and the in-memory network gathered from it."""
    codes, chunks, _ = case
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    assume(isinstance(net, TiledNetwork))  # one chunk: an in-memory network
    memory = gather(net)
    assert memory == RiverNetwork.from_ldd(codes)
    return net, memory


@st.composite
def gauges(draw, case):
    """1-6 gauges on network cells of a case, repeats allowed (a cell named twice)."""
    codes, _, seed = case
    on = np.flatnonzero(np.isin(codes, np.arange(1, 10)).ravel())
    picks = draw(st.lists(st.integers(0, on.size - 1), min_size=1, max_size=6))
    rows, cols = np.divmod(on[picks], codes.shape[1])
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]


@FAST
@given(st.data())
def test_catchments_and_masks_on_tiles(data):
    case = data.draw(tiled_case())
    net, memory = networks(case)
    where = data.draw(gauges(case))
    ids = data.draw(st.sampled_from([None, "wide"]))
    ids = None if ids is None else (np.arange(len(where), dtype=np.int64) + 1) * 2**33
    located = locate(memory, where)
    for nested in (False, True):
        with no_compute():  # Locations given: nothing to check, the graph only
            lazy = cat.catchments(net, located, nested=nested, ids=ids)
        assert lazy.chunks == net.chunks
        assert_same(lazy.compute(), cat.catchments(memory, where, nested=nested, ids=ids))
        assert_same(
            cat.catchments(net, where, nested=nested).compute(), cat.catchments(memory, where, nested=nested)
        )
    with no_compute():
        lazy = cat.basins(net)
    assert lazy.chunks == net.chunks
    assert_same(lazy.compute(), cat.basins(memory))
    for mask in (cat.upstream_mask, cat.downstream_mask):
        with no_compute():
            lazy = mask(net, located)
        assert lazy.chunks == net.chunks
        assert_same(lazy.compute(), mask(memory, where))


def every_distance(network, where, lengths, *, per, path, down, up, how) -> dict:
    return {
        "outlet": dist.distance_to_outlet(network, lengths, per=per),
        "outlet, steps": dist.distance_to_outlet(network),
        "source": dist.distance_to_source(network, lengths, path=path, per=per),
        "source, steps": dist.distance_to_source(network, path=path),
        "points": dist.distance_from_points(
            network, where, lengths, downstream=down, upstream=up, how=how, per=per
        ),
    }


@FAST
@given(st.data())
def test_distances_on_tiles(data):
    case = data.draw(tiled_case())
    net, memory = networks(case)
    codes, chunks, seed = case
    rng = np.random.default_rng(seed)
    lengths = rng.random(codes.shape) * 10
    lazy_lengths = da.from_array(lengths, chunks=chunks)
    where = data.draw(gauges(case))
    located = locate(memory, where)
    per = data.draw(st.sampled_from(["edge", "cell"]))
    path = data.draw(st.sampled_from(["longest", "shortest"]))
    down, up = data.draw(st.sampled_from([(True, False), (False, True), (True, True)]))
    how = "min" if down and up else data.draw(st.sampled_from(["min", "max"]))
    options = {"per": per, "path": path, "down": down, "up": up, "how": how}
    with no_compute():
        lazy = every_distance(net, located, lazy_lengths, **options)
    expected = every_distance(memory, where, lengths, **options)
    for name, out in lazy.items():
        assert out.chunks == net.chunks, name
        assert_same(out.compute(), expected[name])


@FAST
@given(
    st.data(),
    st.sampled_from(HOWS),
    st.sampled_from([None, "grid", "members"]),
    st.booleans(),
    st.booleans(),
)
def test_catchment_statistics_on_tiles(data, how, weighted, skipna, nested):
    case = data.draw(tiled_case())
    net, memory = networks(case)
    codes, chunks, seed = case
    rng = np.random.default_rng(seed)
    field = rng.normal(size=(3, *codes.shape))
    field[rng.random(field.shape) < 0.1] = np.nan
    shapes = {"grid": codes.shape, "members": field.shape}
    weights = None if weighted is None else 0.5 + rng.random(shapes[weighted])
    lazy_w = (
        weights if weights is None else da.from_array(weights, chunks=(-1,) * (weights.ndim - 2) + chunks)
    )
    where = data.draw(gauges(case))
    located = locate(memory, where)
    with no_compute():
        lazy = xa.catchment_statistics(net, da.from_array(field, chunks=(2, *chunks)), located, how,
                                       nested=nested, weights=lazy_w, skipna=skipna)  # fmt: skip
    assert lazy.chunks == ((2, 1), (len(where),))
    expected = xa.catchment_statistics(
        memory, field, where, how, nested=nested, weights=weights, skipna=skipna
    )
    assert_same(lazy.compute(), expected)


@FAST
@given(st.data(), st.sampled_from(["sum", "min", "max"]), st.booleans())
def test_integer_catchment_statistics_are_exact(data, how, nested):
    case = data.draw(tiled_case())
    net, memory = networks(case)
    codes, chunks, seed = case
    field = np.random.default_rng(seed).integers(-(2**40), 2**40, codes.shape)
    where = data.draw(gauges(case))
    lazy = xa.catchment_statistics(net, da.from_array(field, chunks=chunks), where, how, nested=nested)
    assert_same(lazy.compute(), xa.catchment_statistics(memory, field, where, how, nested=nested))


@pytest.mark.parametrize("chunks", [1, 2, (3, 4)])
def test_a_snaking_river_and_diagonal_corners(chunks):
    """Gauges along one river through every tile, and rivers crossing tile corners diagonally."""
    diagonal = np.full((6, 6), 3, np.uint8)
    diagonal[-1, :] = diagonal[:, -1] = 5
    for codes in (snake(7, 9), diagonal):
        net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
        memory = RiverNetwork.from_ldd(codes)
        on = np.flatnonzero(codes.ravel() != 0)[::5]
        where = np.column_stack(np.divmod(on, codes.shape[1]))
        for nested in (False, True):
            assert_same(
                cat.catchments(net, where, nested=nested).compute(),
                cat.catchments(memory, where, nested=nested),
            )
        assert_same(dist.distance_to_source(net).compute(), dist.distance_to_source(memory))
        assert_same(dist.distance_from_points(net, where, upstream=True).compute(),
                    dist.distance_from_points(memory, where, upstream=True))  # fmt: skip


def test_what_tiles_cannot_do_says_so():
    codes = snake(4, 6)
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=2))
    missing = codes.copy()
    missing[0, 0] = 255
    with pytest.raises(LocationError, match=r"not on the network: \(row, col\) \{0: \(0, 0\)\}"):
        cat.catchments(RiverNetwork.from_ldd(da.from_array(missing, chunks=2)), [(0, 0)])
    with pytest.raises(AttributeError, match="catchments, basins, the masks, distances"):
        net.sources  # noqa: B018


@pytest.mark.parametrize("name", ["lisflood_madeira", "lisflood_etrs89"])
def test_real_network_in_tiles(name):
    """A real network opened in spatial chunks: geodesic (or projected) step lengths, labels at
    gauges and catchment statistics equal the in-memory functions."""
    info = real_data.BY_NAME[name]
    real_data.skip_if_missing(info)
    memory = xa.open_network(info.path)
    net = xa.open_network(info.path, chunks=29)  # ragged tiles: 29 does not divide the grid
    assert isinstance(net, TiledNetwork)
    outlets = memory.outlets
    areas = xa.upstream_area(memory).reshape(-1)
    gauges_at = np.sort(np.argsort(-np.nan_to_num(areas))[:40])  # big rivers, nested gauges among them
    where = np.column_stack(np.divmod(np.concatenate([gauges_at, outlets[:5]]), memory.shape[1]))
    for nested in (False, True):
        assert_same(
            cat.catchments(net, where, nested=nested).compute(), cat.catchments(memory, where, nested=nested)
        )
    assert_same(cat.basins(net).compute(), cat.basins(memory))
    assert_same(dist.distance_to_outlet(net).compute(), dist.distance_to_outlet(memory))
    assert_same(dist.distance_to_source(net).compute(), dist.distance_to_source(memory))
    runoff = np.random.default_rng(0).random((2, *memory.shape))
    lazy = da.from_array(runoff, chunks=(1, 37, 23))  # other chunks than the tiles: rechunked
    for how, nested in (("sum", False), ("mean", True), ("max", True), ("std", False)):
        assert_same(
            xa.catchment_statistics(net, lazy, where, how, nested=nested).compute(),
            xa.catchment_statistics(memory, runoff, where, how, nested=nested),
        )


@FAST
@given(st.integers(1, 6), st.integers(2, 7), st.integers(0, 2**16), st.data())
def test_wrap_x_across_the_first_and_last_column_tiles(ny, nx, seed, data):
    """Random codes with wrap_x (cycles rejected as in memory): labels, numpy step lengths
    (wrapped east-west steps are one cell) and statistics equal the in-memory ones."""
    case = wrapped_networks(ny, nx, seed, data)
    if case is None:  # a cycle: refused as in memory (test_tiled)
        return
    codes, memory, _, net = case
    where = data.draw(gauges((codes, None, seed)))
    for nested in (False, True):
        assert_same(
            cat.catchments(net, where, nested=nested).compute(), cat.catchments(memory, where, nested=nested)
        )
        field = np.arange(codes.size, dtype=np.int64).reshape(codes.shape)
        assert_same(
            xa.catchment_statistics(net, field, where, "sum", nested=nested).compute(),
            xa.catchment_statistics(memory, field, where, "sum", nested=nested),
        )
    assert_same(dist.distance_to_outlet(net).compute(), dist.distance_to_outlet(memory))
    steps = dist.step_lengths(memory)
    assert_same(dist.distance_to_source(net, steps, path="shortest").compute(),
                dist.distance_to_source(memory, steps, path="shortest"))  # fmt: skip


def test_the_accessor_on_a_dataset_chunked_in_space():
    """``.hydro`` on a dataset chunked across space: the catalogue stays lazy, in metres, as in memory."""
    import xarray as xr

    codes = snake(6, 8)
    coords = {"y": np.arange(6.0)[::-1] * 1000, "x": np.arange(8.0) * 1000}
    ds = xr.Dataset({"r": (("y", "x"), np.random.default_rng(1).random(codes.shape))}, coords=coords)
    ds = ds.hydro.assign_network(RiverNetwork.from_ldd(codes), crs="EPSG:3035")
    lazy = ds.chunk(y=4, x=3).drop_indexes("flow_direction").hydro.assign_network()
    assert isinstance(lazy.hydro.network, TiledNetwork)
    gauge = {"a": (2000.0, 3000.0), "b": (4000.0, 7000.0)}
    calls = {
        "catchments": lambda d: d.hydro.catchments(gauge, nested=True),
        "upstream_mask": lambda d: d.hydro.upstream_mask(gauge),
        "distance_to_outlet": lambda d: d.hydro.distance_to_outlet(),
        "distance_to_source": lambda d: d.hydro.distance_to_source(),
        "distance_from_points": lambda d: d.hydro.distance_from_points(gauge, upstream=True),
        "statistics": lambda d: d.r.hydro.catchment_statistics(gauge, "mean", nested=True),
    }
    for name, call in calls.items():
        out, expected = call(lazy), call(ds)
        assert isinstance(out.data, da.Array), name
        assert out.attrs.get("units") == expected.attrs.get("units"), name
        assert_same(out.values, expected.values)


# -------------------------------------------------------------------- snapping
def located_alike(memory, net, where, **options):
    """``locate`` on the tiled network equals ``locate`` in memory: every field of the
    Locations, the same small-catchment warnings, or the same error."""
    import dataclasses
    import warnings

    from xhydro_accessor.hydrology.locations import Locations

    outcomes = []
    for network in (memory, net):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            try:
                out: Any = locate(network, where, **options)
            except (LocationError, ValueError) as error:
                out = error
        outcomes.append((out, [str(w.message) for w in seen if "missed the river" in str(w.message)]))
    (expected, expected_warnings), (got, got_warnings) = outcomes
    assert got_warnings == expected_warnings
    if isinstance(expected, Exception):
        assert type(got) is type(expected) and str(got) == str(expected)
        return None
    for f in dataclasses.fields(Locations):
        assert_same(getattr(got, f.name), getattr(expected, f.name))
    return got


def with_metres(codes, chunks, dy=500.0, dx=1000.0):
    """The in-memory and tiled networks of ``codes`` on a projected grid of ``dy`` × ``dx`` m
    cells (areas of 0.5 km²: sums of them are exact, so areas compare exactly)."""
    coords = {"y": np.arange(codes.shape[0])[::-1] * dy, "x": np.arange(codes.shape[1]) * dx}
    memory = RiverNetwork.from_ldd(codes).with_grid(("y", "x"), coords, crs="EPSG:3035")
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    return memory, net.with_grid(("y", "x"), coords, crs="EPSG:3035")


@FAST
@given(st.data())
def test_snapping_on_tiles_equals_memory(data):
    """Random networks, chunkings and points (on the river or not, by coordinates or cells),
    snapped within a radius in cells or metres, to the largest area or a reported one."""
    codes, chunks, seed = data.draw(tiled_case())
    memory, net = with_metres(codes, chunks)
    assume(isinstance(net, TiledNetwork))  # one chunk: an in-memory network
    rng = np.random.default_rng(seed)
    n = data.draw(st.integers(1, 6))
    rows, cols = rng.integers(0, codes.shape[0], n), rng.integers(0, codes.shape[1], n)
    if data.draw(st.booleans()):  # coordinates within the cells: small catchments warn
        y, x = memory.coords["y"][rows] + rng.uniform(-240, 240, n), memory.coords["x"][cols]
        where: Any = {f"g{i}": (float(y[i]), float(x[i])) for i in range(n)}
    else:
        where = np.column_stack([rows, cols])
    snap = data.draw(st.sampled_from([0, 1, 1.5, 2, 3, "1 km", "1600 m", "2.5 km"]))
    km2 = upstream_km2(memory)  # None on a grid of one row: no geometry, area= raises
    km2 = np.ones(memory.mask.size) if km2 is None else km2
    reported = None
    if data.draw(st.booleans()):  # reported areas near some cell's, a few not reported
        reported = km2[rng.choice(np.flatnonzero(memory.mask.reshape(-1)), n)] * rng.uniform(0.8, 1.2, n)
        reported[rng.random(n) < 0.3] = np.nan
    located_alike(memory, net, where, snap=snap, area=reported)
    score = rng.integers(0, 4, codes.shape).astype(float)  # upstream_area=: many ties
    located_alike(memory, net, where, snap=snap, upstream_area=da.from_array(score, chunks=3))


def test_snapping_ties_and_errors_on_tiles():
    """Equal areas within the radius: the nearest, then the first in the grid, wherever the
    tiles cut; no network cell within the radius, or no geometry for metres: the same errors."""
    codes = np.array([[2, 255, 2, 255], [2, 255, 2, 255], [5, 255, 5, 255]], np.uint8)  # two equal rivers
    for chunks in (1, 2, (2, 1), ((1, 2), (1, 3))):
        memory, net = with_metres(codes, chunks, dy=1000.0)
        for col, expected in ((1, 8), (3, 10), (0, 8)):  # (2, 1): both 1 cell away, (2, 0) first
            loc = located_alike(memory, net, [(2, col)], snap=1)
            assert loc.index.tolist() == [expected]
        loc = located_alike(memory, net, [(1, 1)], snap=1.5, area=1.0)  # 1 km²: the sources, nearest first
        assert loc.index.tolist() == [0] and loc.area_error.tolist() == [0.0]
        located_alike(memory, net, [(0, 3)], snap="500 m")  # no network cell within 500 m
        located_alike(memory, net, [(0, 3)], snap=20)  # larger than the grid
    bare = RiverNetwork.from_ldd(da.from_array(codes, chunks=2))
    with pytest.raises(ValueError, match="needs a grid network with coordinates"):
        locate(bare, [(0, 1)], snap="1 km")
    assert locate(bare, [(0, 1)], snap=1).index.tolist() == [0]


def test_snapping_reads_only_the_tiles_of_the_windows(monkeypatch):
    """Snapping computes every tile's first pass of the upstream accumulations, and their
    last pass only where a search window lies."""
    from xhydro_accessor.backends import tiled

    ran: list = []
    pass2 = tiled._pass2

    def counted(*args, **kwargs):
        ran.append(kwargs["index"])
        return pass2(*args, **kwargs)

    monkeypatch.setattr(tiled, "_pass2", counted)
    memory, net = with_metres(snake(12, 12), 4)  # 9 tiles of 4×4
    cases = [([(1, 1)], 1, {0}), ([(1, 1)], "1 km", {0}), ([(1, 1)], "2 km", {0, 3}),  # 500 m rows
             ([(4, 4)], 1, {0, 1, 3, 4}), ([(1, 1), (10, 10)], 1.5, {0, 8})]  # fmt: skip
    for where, snap, tiles in cases:
        ran.clear()
        located_alike(memory, net, where, snap=snap)
        assert sorted(ran) == sorted(2 * list(tiles))  # upstream cells and km², one pass each


@pytest.mark.parametrize("name", ["lisflood_madeira", "lisflood_latlon"])
def test_lat_lon_gauges_snap_on_a_real_network_in_tiles(name):
    """Gauges given in lat/lon near the big rivers of a real (geographic) network opened in
    spatial chunks: snapped in cells, in km and to reported areas as in memory."""
    info = real_data.BY_NAME[name]
    real_data.skip_if_missing(info)
    memory = xa.open_network(info.path)
    net = xa.open_network(info.path, chunks=11)
    assert isinstance(net, TiledNetwork)
    rng = np.random.default_rng(5)
    km2 = xa.upstream_area(memory, units="km2").reshape(-1)
    big = np.argsort(-np.nan_to_num(km2))[:: max(1, np.isfinite(km2).sum() // 40)][:30]
    rows, cols = np.divmod(big, memory.shape[1])
    lat, lon = (np.asarray(memory.coords[d], float) for d in memory.dims)
    rr = np.clip(rows + rng.uniform(-1.4, 1.4, rows.size), 0, memory.shape[0] - 1)  # up to 1.4 cells off
    cc = np.clip(cols + rng.uniform(-1.4, 1.4, cols.size), 0, memory.shape[1] - 1)
    y, x = lat[0] + rr * (lat[1] - lat[0]), lon[0] + cc * (lon[1] - lon[0])  # regular grids
    gauges = {f"g{i}": (float(y[i]), float(x[i])) for i in range(y.size)}
    reported = km2[big] * rng.uniform(0.9, 1.1, big.size)
    for options in ({"snap": 2}, {"snap": "25 km", "area": reported}, {"snap": 0}, {"snap": 1, "crs": 4326}):
        located_alike(memory, net, gauges, **options)
    labels = cat.catchments(net, gauges, snap="25 km", nested=True)
    assert_same(labels.compute(), cat.catchments(memory, gauges, snap="25 km", nested=True))
    field = np.random.default_rng(1).random(memory.shape)
    lazy = xa.catchment_statistics(net, da.from_array(field, chunks=20), gauges, "mean", snap=2)
    assert_same(lazy.compute(), xa.catchment_statistics(memory, field, gauges, "mean", snap=2))


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("geographic", [False, True])
def test_tiled_cell_areas_are_the_in_memory_ones_tile_by_tile(geographic, transposed):
    """upstream_area on tiles: each tile's cell areas in its task, bit-identical to the grid's
    (ragged and one-cell tiles: the edges from the neighbours' coordinates)."""
    import xarray as xr

    from xhydro_accessor.hydrology.upstream_area import _tiled_cell_areas, cell_areas

    dims = ("lat", "lon") if geographic else ("y", "x")
    coords = {dims[0]: np.linspace(60.0, 41.5, 7) if geographic else np.arange(7) * 5000.0,
              dims[1]: np.linspace(-3.0, 9.5, 9) if geographic else np.arange(9) * 3000.0}  # fmt: skip
    codes = xr.DataArray(snake(7, 9), dims=dims, coords=coords)
    codes = codes.transpose() if transposed else codes
    crs = None if geographic else "EPSG:3035"
    memory = RiverNetwork.from_ldd(codes, crs=crs)
    net = RiverNetwork.from_ldd(codes.chunk({dims[0]: (1, 4, 2), dims[1]: (3, 1, 5)}), crs=crs)
    assert isinstance(net, TiledNetwork)
    with no_compute():
        lazy = _tiled_cell_areas(net, None, None)
        up = xa.upstream_area(net)
    np.testing.assert_array_equal(lazy.compute(), cell_areas(memory))
    assert_same(up.compute(), xa.upstream_area(memory))
