"""Strahler and Hack order on spatially tiled networks (issue 18): equal to the in-memory order, lazily."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from xhydro_accessor import RiverNetwork
from xhydro_accessor.backends.tiled import gather
from xhydro_accessor.errors import CycleError
from xhydro_accessor.tiling import TiledNetwork

from . import reference as ref
from .test_tiled import FAST, any_codes, assert_same, chunking, no_compute, snake, tiled_case

FILL = xa.fill_value(np.int32)


def tiled_order(codes: np.ndarray, chunks, wrap_x: bool = False, kind: str = "strahler") -> np.ndarray:
    """Strahler (or ``kind``) order on ``codes`` cut into ``chunks``, checked lazy, int32 and
    chunked like the tiles, and checked equal to the in-memory order of the gathered network
    and of ``codes``."""
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks), wrap_x=wrap_x)
    assert isinstance(net, TiledNetwork)
    with no_compute():
        lazy = xa.stream_order(net, kind)
    assert isinstance(lazy, da.Array) and lazy.chunks == net.chunks and lazy.dtype == np.int32
    out = lazy.compute()
    assert_same(out, xa.stream_order(gather(net), kind))
    assert_same(out, xa.stream_order(RiverNetwork.from_ldd(codes, wrap_x=wrap_x), kind))
    return out


@st.composite
def dendritic(draw, max_side: int = 24):
    """One-basin-per-edge-cell trees (every cell drains north, west or north-west, off the
    grid at the top and left edges): long rivers and high orders, across many tiles."""
    ny, nx = draw(st.integers(2, max_side)), draw(st.integers(2, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    steps = np.array([(-1, 0), (0, -1), (-1, -1)])[rng.integers(0, 3, (ny, nx))]
    missing = rng.random((ny, nx)) < draw(st.sampled_from([0.0, 0.05]))
    codes = ref.encode(steps, missing, "ldd")
    return codes, (draw(chunking(ny)), draw(chunking(nx)))


@FAST
@given(tiled_case())
@pytest.mark.parametrize("kind", ["strahler", "hack"])
def test_orders_on_random_networks_and_chunkings(kind, case):
    codes, chunks, _ = case
    if all(len(c) == 1 for c in chunks):  # one tile is not a tiled network
        chunks = (chunks[0], (1, codes.shape[1] - 1))
    tiled_order(codes, chunks, kind=kind)


@settings(max_examples=40, deadline=None)
@given(dendritic())
@pytest.mark.parametrize("kind", ["strahler", "hack"])
def test_orders_on_high_order_trees_across_many_tiles(kind, case):
    codes, chunks = case
    if all(len(c) == 1 for c in chunks):
        chunks = (chunks[0], (1, codes.shape[1] - 1))
    tiled_order(codes, chunks, kind=kind)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(2, 8), st.integers(0, 2**16), st.data())
@pytest.mark.parametrize("kind", ["strahler", "hack"])
def test_orders_with_wrap_x(kind, ny, nx, seed, data):
    codes = any_codes(seed, ny, nx)
    chunks = (data.draw(chunking(ny)), data.draw(chunking(nx - 1)) + (1,))  # the last column its own tile
    try:
        RiverNetwork.from_ldd(codes, wrap_x=True)
    except CycleError:
        return
    tiled_order(codes, chunks, wrap_x=True, kind=kind)


def test_the_highest_order_made_in_a_tile_no_tributary_lies_in():
    """Three order-2 rivers from three tiles meet at the corner cell of a fourth (an entry
    from three tiles at once): order 3 there; the 2 from its own tile joins it below."""
    codes = np.array([[3, 2, 2, 1], [6, 3, 2, 4], [6, 6, 3, 1], [9, 6, 6, 5]], np.uint8)
    expected = [[1, 1, 1, 1], [1, 2, 2, 1], [1, 2, 3, 1], [1, 1, 2, 3]]
    for chunks in (2, 1, (3, 1), (1, 3)):
        np.testing.assert_array_equal(tiled_order(codes, chunks), expected)


@pytest.mark.parametrize("chunks", [(4, 2), (4, 3), 1, (2, 3), (3, 4), ((1, 3), (5, 1))])
def test_an_order_arriving_from_upstream_tiles_meets_an_equal_tributary(chunks):
    """An order-2 main stem crosses two tiles; in the third it meets an order-2 tributary
    (order 3) — at an entry, or one cell down a chain (chunks (4, 3))."""
    codes = np.array(
        [[2, 2, 2, 2, 3, 2], [2, 2, 2, 2, 6, 1], [2, 1, 2, 2, 2, 1], [6, 6, 6, 6, 6, 5]], np.uint8
    )
    expected = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 2], [1, 1, 1, 1, 2, 1], [2, 2, 2, 2, 3, 3]]
    np.testing.assert_array_equal(tiled_order(codes, chunks), expected)
    codes[0, 4], codes[1, 4] = 6, 8  # the tributary now one line, order 1: the stem stays 2
    expected[1][5], expected[2][4], expected[3][4:] = 1, 1, [2, 2]
    np.testing.assert_array_equal(tiled_order(codes, chunks), expected)


@pytest.mark.parametrize("chunks", [((4,), (3, 3, 1)), ((2, 2), (3, 3, 1)), 1])
def test_an_order_made_down_a_chain_leaves_for_the_next_tile(chunks):
    """The stem enters the middle tile with order 2, meets an order-2 tributary one cell
    down its in-tile chain (order 3) and carries 3 out into the last tile: what leaves
    depends on what entered, through the chain's table."""
    codes = np.array(
        [[2, 2, 2, 2, 2, 1, 2], [2, 2, 2, 2, 2, 2, 2], [2, 1, 2, 2, 2, 2, 2], [6, 6, 6, 6, 6, 6, 5]], np.uint8
    )
    expected = np.ones(codes.shape, np.int32)
    expected[1:3, 4], expected[3] = 2, [2, 2, 2, 2, 3, 3, 3]
    np.testing.assert_array_equal(tiled_order(codes, chunks), expected)
    codes[0, 5] = 2  # the tributary order 1: the stem stays 2
    expected[1:3, 4], expected[3, 4:] = 1, 2
    np.testing.assert_array_equal(tiled_order(codes, chunks), expected)


@pytest.mark.parametrize("chunks", [1, 2, 3, (2, 5)])
def test_a_river_snaking_through_every_tile_keeps_order_1(chunks):
    codes = snake(7, 9)
    np.testing.assert_array_equal(tiled_order(codes, chunks), np.ones(codes.shape, np.int32))


def test_rivers_crossing_tile_corners_diagonally():
    """South-east rivers cross every 1-cell tile at a corner; three order-2 rivers from
    three other tiles make the order-3 outlet."""
    codes = np.full((8, 8), 3, np.uint8)
    codes[-1, :], codes[:, -1], codes[-1, -1] = 6, 2, 5  # the last row east, the last column south
    codes[2, 0], codes[0, 2] = 9, 1  # north-east and south-west into (1, 1): order 2 down the diagonal
    expected = np.ones((8, 8), np.int32)
    expected[range(1, 7), range(1, 7)] = expected[1:7, 7] = expected[7, 1:7] = 2
    expected[7, 7] = 3
    for chunks in (1, (3, 2), (5, 3)):
        np.testing.assert_array_equal(tiled_order(codes, chunks), expected)


def test_off_network_cells_hold_the_fill_value():
    codes = np.array([[6, 3, 255], [255, 6, 5]], np.uint8)  # two rivers meet at the pit
    out = tiled_order(codes, 1)
    np.testing.assert_array_equal(out, [[1, 1, FILL], [FILL, 1, 2]])


@pytest.mark.parametrize(("kind", "pyflwdir_type"), [("strahler", "strahler"), ("hack", "classic")])
def test_a_real_network_in_tiles_equals_memory_and_pyflwdir(kind, pyflwdir_type):
    """Strahler and Hack order of the Rhine in 25 tiles."""
    from tests.real_data import BY_NAME, load

    info = BY_NAME["rhine_d8"]  # one basin over the whole grid: high orders, rivers through every tile
    codes = load(info.name)
    memory = RiverNetwork.from_d8(codes, convention=info.convention, nodata=info.nodata)
    net = RiverNetwork.from_d8(codes.chunk(y=150, x=230), convention=info.convention, nodata=info.nodata)
    assert isinstance(net, TiledNetwork) and net.n_tiles == 25
    with no_compute():
        lazy = xa.stream_order(net, kind)
    out = lazy.compute()
    expected = xa.stream_order(memory, kind)
    assert_same(out, expected)
    assert expected.max() >= 5
    pytest.importorskip("pyflwdir")
    from tests.test_against_pyflwdir import _build

    *_, valid, _, flw = _build(info.name)
    np.testing.assert_array_equal(out[valid], flw.stream_order(type=pyflwdir_type)[valid])


def test_accessor_strahler_on_a_tiled_network_stays_lazy():
    import xarray as xr

    codes = ref.encode(*ref.random_grid_network(np.random.default_rng(3), 9, 11), "ldd")
    coords = {"y": np.arange(9.0)[::-1], "x": np.arange(11.0)}
    grid = xr.DataArray(np.ones(codes.shape), dims=("y", "x"), coords=coords)
    memory = RiverNetwork.from_ldd(codes).with_grid(("y", "x"), coords)
    attached = grid.hydro.assign_network(memory).chunk(y=4, x=5).drop_indexes("flow_direction")
    attached = attached.hydro.assign_network()
    assert isinstance(attached.hydro.network, TiledNetwork)
    with no_compute():
        order = attached.hydro.strahler()
        hack = attached.hydro.stream_order(kind="hack")
    assert isinstance(order.data, da.Array) and isinstance(hack.data, da.Array)
    assert_same(order.values, xa.strahler(memory))
    assert_same(hack.values, xa.hack(memory))


def test_persisted_topologies_give_the_same_orders():
    from xhydro_accessor.backends.tiled import persist

    codes = ref.encode(*ref.random_grid_network(np.random.default_rng(11), 12, 10), "ldd")
    net = persist(RiverNetwork.from_ldd(da.from_array(codes, chunks=(5, 4))))
    with no_compute():
        order, hack = xa.strahler(net), xa.hack(net)
    assert_same(order.compute(), xa.strahler(RiverNetwork.from_ldd(codes)))
    assert_same(hack.compute(), xa.hack(RiverNetwork.from_ldd(codes)))


# ------------------------------------------------------------------------ Hack
@pytest.mark.parametrize("chunks", [1, (1, 2), (2, 1), ((2, 1), (1, 2)), ((1, 2), (2, 1))])
def test_hack_ties_go_to_the_smallest_flat_index(chunks):
    """Five one-cell inflows meet at (1, 1): the main stem is the first in the grid, (0, 0),
    wherever the tiles cut; one more cell above (1, 2) makes it the main stem instead; one
    more below (1, 0) makes a tie of two cells each: (1, 0), the smaller index, wins."""
    codes = np.array([[3, 2, 1], [6, 2, 4], [255, 5, 255]], np.uint8)
    expected = np.array([[1, 2, 2], [2, 1, 2], [FILL, 1, FILL]], np.int32)
    np.testing.assert_array_equal(tiled_order(codes, chunks, kind="hack"), expected)
    codes = np.array([[3, 2, 2], [6, 2, 4], [255, 5, 255]], np.uint8)  # (0, 2) now drains into (1, 2)
    expected = np.array([[2, 2, 1], [2, 1, 1], [FILL, 1, FILL]], np.int32)
    np.testing.assert_array_equal(tiled_order(codes, chunks, kind="hack"), expected)
    codes = np.array([[3, 2, 2], [6, 2, 4], [8, 5, 255]], np.uint8)  # (2, 0) now drains into (1, 0)
    expected = np.array([[2, 2, 2], [1, 1, 2], [1, 1, FILL]], np.int32)  # (1, 0) and (1, 2): 2 cells each
    np.testing.assert_array_equal(tiled_order(codes, chunks, kind="hack"), expected)
