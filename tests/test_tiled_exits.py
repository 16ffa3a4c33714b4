"""Persisted tiles' exit groups (issue 18): pass 1 reduces each exit's group of cells
instead of passing over the whole tile, with the same exit states and results."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import xhydro_accessor as xa
from xhydro_accessor import RiverNetwork
from xhydro_accessor.backends import tiled
from xhydro_accessor.kernels.tiles import EXIT
from xhydro_accessor.tiling import TiledNetwork, origins

from .test_tiled import FAST, HOWS, assert_same, no_compute, snake, tiled_case


def kept_tiles(codes, chunks):
    """A persisted tiled network of ``codes`` and its kept tiles, computed."""
    net = persisted(codes, chunks)
    return net, dask.compute(*net.tiles)


def persisted(codes, chunks) -> TiledNetwork:
    """``codes`` as a persisted tiled network (one chunk builds an in-memory one: skipped)."""
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    assume(isinstance(net, TiledNetwork))
    return tiled.persist(net)


@FAST
@given(tiled_case())
def test_each_group_holds_the_cells_whose_path_leaves_by_its_exit(case):
    codes, chunks, _ = case
    net, tiles = kept_tiles(codes, chunks)
    for t, (mask, nodes, to, (cells, starts)) in enumerate(tiles):
        down = np.full(mask.size, -2, np.int64)
        down[nodes] = to
        exits = net.graph["exits_local"][t]
        expected = [[] for _ in exits]
        for cell in np.flatnonzero(mask):  # brute force: follow each path to its end
            end = cell
            while down[end] >= 0:
                end = down[end]
            if down[end] == EXIT:
                expected[int(np.flatnonzero(exits == end)[0])].append(cell)
        assert starts[0] == 0 and np.all(np.diff(starts) >= 0)
        assert [cells[a:b].tolist() for a, b in zip(starts[:-1], starts[1:], strict=True)] == expected


@FAST
@given(tiled_case(), st.sampled_from(HOWS), st.integers(1, 3), st.booleans(), st.booleans())
def test_kept_groups_give_pass_1_the_full_pass_exit_states(case, how, members, weighted, skipna):
    codes, chunks, seed = case
    net, tiles = kept_tiles(codes, chunks)
    rng = np.random.default_rng(seed)
    field = rng.normal(size=(members, *codes.shape))
    field[rng.random(field.shape) < 0.1] = np.nan
    weights = rng.random(codes.shape) + 0.5 if weighted else None
    state = tiled.reduction_state(how, skipna, np.float64)
    for t, (_, (r0, c0)) in enumerate(origins(net.chunks)):
        h, w = net.chunks[0][t // len(net.chunks[1])], net.chunks[1][t % len(net.chunks[1])]
        x = field[:, r0 : r0 + h, c0 : c0 + w]
        wt = None if weights is None else weights[r0 : r0 + h, c0 : c0 + w]
        keep = net.graph["exits_local"][t]
        values, nodes, to = tiled._prepared(tiles[t][:3], x, wt, state)  # the full pass
        state.apply(nodes, to, values, values, False)
        grouped = tiled._pass1(tiles[t], x, wt, keep=keep, state=state, reverse=False)
        for full, got in zip(values, grouped, strict=True):
            if full.size:  # an untracked M3 is (0, 0)
                np.testing.assert_allclose(got, full[keep], rtol=1e-9, atol=1e-9, equal_nan=True)


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


def test_the_other_passes_see_the_topologies_without_the_groups():
    net = tiled.persist(RiverNetwork.from_ldd(da.from_array(snake(7, 9), chunks=3)))
    assert tiled.persist(net) is net  # persisting twice keeps what is kept
    for tile, kept in zip(dask.compute(*tiled.tile_topologies(net)), dask.compute(*net.tiles), strict=True):
        assert len(tile) == 3 and all(np.array_equal(a, b) for a, b in zip(tile, kept[:3], strict=True))
    assert_same(xa.strahler(net).compute(), xa.strahler(RiverNetwork.from_ldd(snake(7, 9))))


def test_tile_states_start_on_huge_page_boundaries_from_2_mib():
    big, small = tiled._empty((1000, 1000), np.dtype(np.float32)), tiled._empty((10, 3), np.dtype(np.int64))
    assert big.ctypes.data % (1 << 21) == 0 and big.shape == (1000, 1000) and big.flags.writeable
    assert small.shape == (10, 3) and small.dtype == np.int64
