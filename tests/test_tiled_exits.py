"""Persisted tiles (issue 18): pass 1 keeps each tile's state, pass 2 merges what enters
the tile into the cells below its entries only, with the in-memory results."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import xhydro_accessor as xa
from xhydro_accessor import RiverNetwork
from xhydro_accessor.backends import tiled
from xhydro_accessor.tiling import TiledNetwork

from .test_tiled import FAST, HOWS, assert_same, no_compute, snake, tiled_case


def kept_tiles(codes, chunks):
    """A persisted tiled network of ``codes`` and its kept tiles, computed."""
    net = persisted(codes, chunks)
    return net, dask.compute(*net.tiles)


def persisted(codes, chunks) -> TiledNetwork:
    """``codes`` as a persisted tiled network (one chunk builds an in-memory one: skipped)."""
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    if not isinstance(net, TiledNetwork):
        assume(False)
    return tiled.persist(net)


@FAST
@given(tiled_case())
def test_the_cells_below_the_entries_are_the_union_of_their_paths(case):
    codes, chunks, _ = case
    net, tiles = kept_tiles(codes, chunks)
    for t, (mask, nodes, to, (cells, link_from, link_to, entry_at)) in enumerate(tiles):
        down = np.full(mask.size, -2, np.int64)
        down[nodes] = to
        entries = net.graph["entries_local"][t]
        expected = set()
        for cell in entries:  # brute force: follow each entry's path to its end
            while cell >= 0:
                expected.add(int(cell))
                cell = down[cell]
        rank = np.full(mask.size, -1)
        rank[nodes] = np.arange(nodes.size)  # each cell's place in the topological order
        assert sorted(cells.tolist()) == sorted(expected) and np.all(np.diff(rank[cells]) > 0)
        assert cells[entry_at].tolist() == entries.tolist()
        links = {(int(a), int(down[a])) for a in cells if down[a] >= 0}
        assert set(zip(cells[link_from].tolist(), cells[link_to].tolist(), strict=True)) == links
        assert np.all(link_from < link_to)  # upstream first


def two_joining_entries() -> tuple[np.ndarray, np.ndarray]:
    """3 × 4 cells in two 3 × 2 tiles; the right tile's entries (0, 2) and (2, 2) join at
    (1, 2), which flows to the outlet (1, 3); each cell's value is its own bit."""
    codes = np.array([[6, 6, 2, 2], [8, 2, 6, 5], [6, 6, 8, 8]], np.uint8)
    return codes, 2 ** np.arange(12, dtype=np.int64).reshape(3, 4)


def test_two_entries_whose_paths_join_each_merge_their_inflow_once():
    codes, field = two_joining_entries()
    net, tiles = kept_tiles(codes, (3, 2))
    cells, link_from, link_to, entry_at = tiles[1][3]  # the right tile: local (0,0) (2,0) -> (1,0) -> (1,1)
    assert sorted(cells.tolist()) == [0, 2, 3, 4] and cells[entry_at].tolist() == [0, 4]
    links = zip(cells[link_from].tolist(), cells[link_to].tolist(), strict=True)
    assert sorted(links) == [(0, 2), (2, 3), (4, 2)]
    bit = lambda *rc: sum(1 << (4 * r + c) for r, c in rc)  # noqa: E731
    top, bottom = bit((0, 0), (0, 1), (1, 0)), bit((2, 0), (2, 1), (1, 1))  # the inflows
    expected = np.array(
        [
            [bit((0, 0), (1, 0)), bit((0, 0), (0, 1), (1, 0)), top + bit((0, 2)), bit((0, 3))],
            [bit((1, 0)), bit((1, 1)), top + bottom + bit((0, 2), (2, 2), (1, 2)), field.sum()],
            [bit((2, 0)), bit((2, 0), (2, 1), (1, 1)), bottom + bit((2, 2)), bit((2, 3))],
        ]
    )
    out = xa.accumulate(net, da.from_array(field, chunks=(3, 2))).compute()
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(out, xa.accumulate(RiverNetwork.from_ldd(codes), field))
    largest = xa.accumulate(net, da.from_array(field[::-1, ::-1].copy(), chunks=(3, 2)), how="max")
    assert largest.compute()[1, 2] == field.max()  # from the left tile, through both entries


def test_pass_2_run_again_on_its_kept_state_merges_the_inflows_once():
    codes, field = two_joining_entries()
    net, tiles = kept_tiles(codes, (3, 2))
    state = tiled.reduction_state("mean", False, np.float64)
    firsts = [
        tiled._pass1_kept(tile, field[:, 2 * t : 2 * t + 2], None, keep=keep, state=state)
        for t, (tile, keep) in enumerate(zip(tiles, net.graph["exits_local"], strict=True))
    ]
    solved = tiled._solve(net.graph, [f[0] for f in firsts], members=1, state=state, reverse=False)
    once, again = (
        tiled._pass2_kept(tiles[1], firsts[1], solved, index=1, state=state, shape=(3, 2)) for _ in "12"
    )
    expected = xa.accumulate(RiverNetwork.from_ldd(codes), field, how="mean")[:, 2:]
    np.testing.assert_array_equal(once, again)
    np.testing.assert_allclose(once, expected, rtol=1e-12)


@FAST
@given(tiled_case(), st.sampled_from(HOWS), st.integers(1, 3), st.sampled_from((0, 2, 3)), st.booleans())
def test_persisted_upstream_accumulations_give_the_in_memory_results(case, how, members, w_ndim, skipna):
    """Weights: none, one per cell (2-D) or per member and cell (3-D)."""
    codes, chunks, seed = case
    net = persisted(codes, chunks)
    rng = np.random.default_rng(seed)
    field = rng.normal(size=(members, *codes.shape))
    field[rng.random(field.shape) < 0.1] = np.nan
    weights = rng.random(field.shape[3 - w_ndim :]) + 0.5 if w_ndim else None
    lazy_w = (
        None if weights is None else da.from_array(weights, chunks=((1,) * members)[: w_ndim - 2] + chunks)
    )
    with no_compute():
        lazy = xa.accumulate(
            net, da.from_array(field, chunks=(1, *chunks)), how=how, weights=lazy_w, skipna=skipna
        )
    memory = xa.accumulate(
        RiverNetwork.from_ldd(codes), field, how=how, weights=weights, skipna=skipna, warn_nan=False
    )
    assert_same(lazy.compute(), memory)


@FAST
@given(tiled_case(), st.sampled_from(("sum", "min", "max")), st.integers(1, 3), st.booleans())
def test_persisted_integer_accumulations_are_bit_identical(case, how, members, weighted):
    codes, chunks, seed = case
    net = persisted(codes, chunks)
    rng = np.random.default_rng(seed)
    field = rng.integers(-(2**40), 2**40, (members, *codes.shape))
    weights = rng.integers(0, 9, codes.shape) if weighted else None
    lazy_w = None if weights is None else da.from_array(weights, chunks=chunks)
    lazy = xa.accumulate(net, da.from_array(field, chunks=(members, *chunks)), how=how, weights=lazy_w)
    assert_same(lazy.compute(), xa.accumulate(RiverNetwork.from_ldd(codes), field, how=how, weights=weights))


@FAST
@given(tiled_case(), st.sampled_from(("accumulate", "accumulate_downstream")), st.sampled_from(HOWS))
def test_persisted_networks_give_the_in_memory_results(case, op, how):
    codes, chunks, seed = case
    net = persisted(codes, chunks)
    field = np.random.default_rng(seed).normal(size=(2, *codes.shape))
    with no_compute():
        lazy = getattr(xa, op)(net, da.from_array(field, chunks=(1, *chunks)), how=how)
    assert_same(lazy.compute(), getattr(xa, op)(RiverNetwork.from_ldd(codes), field, how=how))


@FAST
@given(tiled_case(), st.sampled_from([np.int32, np.int64, np.uint8, np.float32, bool]))
def test_one_member_sums_read_in_place_keep_the_dtypes(case, dtype):
    """The hot path (one member, no weights): integer sums bit-identical, dtypes as in memory."""
    codes, chunks, seed = case
    net = persisted(codes, chunks)
    field = (np.random.default_rng(seed).integers(0, 100, codes.shape)).astype(dtype)
    out = xa.accumulate(net, da.from_array(field, chunks=chunks)).compute()
    assert_same(out, xa.accumulate(RiverNetwork.from_ldd(codes), field))


def test_the_other_passes_see_the_topologies_without_the_cells_below_entries():
    net = tiled.persist(RiverNetwork.from_ldd(da.from_array(snake(7, 9), chunks=3)))
    assert tiled.persist(net) is net  # persisting twice keeps what is kept
    for tile, kept in zip(dask.compute(*tiled.tile_topologies(net)), dask.compute(*net.tiles), strict=True):
        assert len(tile) == 3 and all(np.array_equal(a, b) for a, b in zip(tile, kept[:3], strict=True))
    assert_same(xa.strahler(net).compute(), xa.strahler(RiverNetwork.from_ldd(snake(7, 9))))


def test_tile_states_start_on_huge_page_boundaries_from_2_mib():
    big, small = tiled._empty((1000, 1000), np.dtype(np.float32)), tiled._empty((10, 3), np.dtype(np.int64))
    assert big.ctypes.data % (1 << 21) == 0 and big.shape == (1000, 1000) and big.flags.writeable
    assert small.shape == (10, 3) and small.dtype == np.int64


@pytest.mark.parametrize("weighted", [False, True])
def test_persisted_pass_2_reads_nothing_and_keeps_only_its_tiles_pass_1_state(weighted):
    """Persisted networks: each field (and weights) block is read once, by pass 1; pass 2
    depends on the solve and on its own tile's pass 1 only (the kept state, held between)."""
    from dask._task_spec import convert_legacy_graph

    codes, ones = two_joining_entries()
    field, weights = np.stack([ones, ones[::-1]]), ones.astype(float) / 7
    net = tiled.persist(RiverNetwork.from_ldd(da.from_array(codes, chunks=(3, 2))))
    lazy, w = da.from_array(field, chunks=(1, 3, 2)) + 1, da.from_array(weights, chunks=(3, 2)) * 1
    w = w if weighted else None
    graph = convert_legacy_graph(dict(xa.accumulate(net, lazy, weights=w, how="mean").__dask_graph__()))
    named = lambda prefix: {k for k in graph if str(k[0] if isinstance(k, tuple) else k).startswith(prefix)}  # noqa: E731
    first, second, solves = named("_pass1_kept-"), named("_pass2_kept-"), named("_solve-")
    assert len(first) == len(second) == 4 and len(solves) == 2
    reads = set(lazy.__dask_graph__()) | (set(w.__dask_graph__()) if weighted else set())
    users = {k for k in graph if graph[k].dependencies & reads}
    assert users - reads - named("_non_negative-") == first  # (the weights checked as they pass)
    for k in second:
        deps = graph[k].dependencies - solves - {t.key for t in net.tiles}
        (kept,) = deps  # pass 1 of this tile (its kept state), nothing else
        assert kept in first and kept[1:] == k[1:]
    out = xa.accumulate(net, lazy, weights=w, how="mean").compute()
    expected = xa.accumulate(
        RiverNetwork.from_ldd(codes), field + 1, weights=weights if weighted else None, how="mean"
    )
    assert_same(out, expected)
