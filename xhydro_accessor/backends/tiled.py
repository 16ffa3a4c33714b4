"""The tiled dask backend (Barnes 2017): operations on fields chunked across space.

A dask field whose grid dims span several chunks runs here, on a
:class:`~xhydro_accessor.tiling.TiledNetwork` (given, or the in-memory network cut
into the field's tiles), lazily; the result is chunked like the field. An
accumulation is two passes per tile and one small solve per chunk of the batch dims
(members, time), a fixed number of passes: pass 1 reduces each tile alone and keeps
the state at its exit cells; the solve (one task, of the size of the perimeter
graph) carries those states along the perimeter graph in topological order and
gives each tile what enters it; pass 2 reduces each tile again with the inflows
added where they enter (on a persisted network, pass 1 keeps each tile's state and
pass 2 merges the inflows into the cells below the entries only: :func:`persist`).
Every decomposable reduction works this way (sums, means, extremes, moments merged
by Chan's update), and the downstream accumulation symmetrically (the solve gives
each exit what lies below it). Moves need one cell of halo only
(:func:`dask.array.overlap.overlap`). Integer sums are bit-identical to the
in-memory engine; float results equal it to rounding (the order of additions
differs).

Examples
--------
>>> import numpy as np, dask.array as da
>>> from xhydro_accessor import RiverNetwork, accumulate
>>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 2], [6, 6, 6, 5]]))
>>> accumulate(net, da.ones((2, 4), chunks=1, dtype=int)).compute()
array([[1, 2, 3, 4],
       [1, 2, 3, 8]])
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import dask.local
import numpy as np
from dask.delayed import Delayed

from .. import reductions
from ..kernels import flow
from ..kernels.tile_exits import below_entries
from ..kernels.tiles import exit_labels, halo_down, upstream_sum
from ..network import RiverNetwork
from ..tiling import TiledNetwork, from_codes, links, origins, topology
from .numba_engine import aligned

_NO_ARG = np.empty((0, 0), np.int64)


def tiled(network: RiverNetwork, chunks: tuple) -> TiledNetwork | None:
    """The in-memory ``network`` cut into tiles of ``chunks`` (rows, cols), or None when it
    cannot be (a vector network, or links longer than one cell or across a wrapped edge).
    Built in this process (the network is in memory already) with its tiles' topologies
    kept (:func:`persist`: about 9 bytes a cell, beside the network's own), and cached on the
    network."""
    if len(network.shape) != 2:
        return None

    def build() -> TiledNetwork | None:
        from ..conventions import get_convention
        from ..layout import NORTH_UP
        from ..network import direction_indices
        from ..network_codec import encode_network

        var = encode_network(network, ("y", "x"), layout=NORTH_UP)
        if var.attrs["convention"] != "ldd":
            return None
        conv = get_convention("ldd")
        codes = da.from_array(var.values, chunks=chunks, name=f"hydro-codes-{dask.base.tokenize(network)}")
        with dask.config.set(scheduler="sync"):  # the network is in memory: its tiles in this process
            net = from_codes(codes, direction_indices(conv, None), conv, False, False)
            return persist(
                net.with_grid(network.dims, network.coords, crs=network.crs, degrees=network.degrees)
            )

    return network.cached(("tiled", tuple(map(tuple, chunks))), build)


def gather(network: TiledNetwork) -> RiverNetwork:
    """The whole tiled network in memory, as a :class:`~xhydro_accessor.RiverNetwork`."""
    ny, nx = network.shape
    down = np.full(network.shape, -2, np.int64)
    for (i, j), (r0, c0) in origins(network.chunks):
        ext = np.asarray(network.ext.blocks[i, j].compute())
        local, target, *_ = topology(ext, r0, c0, network.shape, network.wrap)
        h, w = ext.shape[0] - 2, ext.shape[1] - 2
        rows, cols = np.divmod(np.maximum(local, 0), w)
        flat = np.where(local >= 0, (r0 + rows) * nx + c0 + cols, np.where(target >= 0, target, local))
        down[r0 : r0 + h, c0 : c0 + w] = flat.reshape(h, w)
    net = RiverNetwork.from_downstream_index(down, network.shape)
    return net.with_grid(network.dims, network.coords, crs=network.crs, degrees=network.degrees)


# ---------------------------------------------------------------------- states
class _State:
    """The state of reduction ``how`` as a tuple of ``(cells, members)`` arrays, and its kernels."""

    def __init__(self, how: str, skipna: bool, dtype: np.dtype):
        self.reduction = reductions.get(how, "accumulate")
        self.kind = self.reduction.state
        self.skew = self.reduction.finalize == "skew"
        self.how, self.skipna, self.dtype = how, skipna, dtype
        self.state = dtype if dtype.kind == "f" else np.dtype(np.int64 if dtype.kind == "i" else np.uint64)
        self.fill = self.state.type(reductions.fill_value(dtype))

    def __dask_tokenize__(self):
        return ("tiled-state", self.how, self.skipna, str(self.dtype))

    def init(self, x: np.ndarray, w: np.ndarray, mask: np.ndarray) -> tuple:
        """The state of a field ``(members, cells)``, weights ``(1 or members, cells)`` or ``(0, 0)``."""
        skipna = self.skipna and self.kind != "extreme"  # the extreme pass skips NaN itself
        out = _empty(x.shape[::-1], self.state)
        if x.shape[0] == 1 and not (w.size or skipna) and self.kind in ("sum", "extreme"):
            flow.copy_fill(x[0], mask, self.fill, out.reshape(-1))  # the hot path: one sweep
            return (out,)
        if x.shape[0] == 1:  # one member: a flat copy (numpy's transposing copy is slow)
            out.reshape(-1)[:] = x[0]
        else:
            np.copyto(out, x.T, casting="unsafe")
        weight = (
            np.empty(out.shape, self.state)
            if self.kind in ("mean", "moments")
            else np.empty((0, 0), self.state)
        )
        flow.prepare(out, w, mask, skipna, self.kind != "moments", self.fill, weight)
        if self.kind == "mean":
            return out, weight
        if self.kind == "moments":  # W, mean, M2 and (skew only) M3
            return weight, out, out * 0, out * 0 if self.skew else np.empty((0, 0), self.state)
        return (out,)

    def identity(self, n: int, members: int) -> tuple:
        shape = (n, members)
        if self.kind == "extreme":  # NaN when skipped: a result over nothing but NaN stays NaN
            skip = self.skipna and self.state.kind == "f"
            return (
                np.full(shape, np.nan if skip else reductions.identity(self.how, self.state), self.state),
            )
        if self.kind == "moments":
            third = shape if self.skew else (0, 0)
            return tuple(np.zeros(s, self.state) for s in (shape, shape, shape, third))
        return tuple(np.zeros(shape, self.state) for _ in range({"sum": 1, "mean": 2}[self.kind]))

    def apply(self, nodes, to, src: tuple, dst: tuple, reverse: bool) -> None:
        """``dst[to] ⊕= src[nodes]`` in order (``reverse``: ``dst[nodes] ⊕= src[to]``, backwards)."""
        if self.kind == "extreme":
            flow.extreme_pass(
                nodes, to, src[0], dst[0], reverse, self.reduction.largest, self.skipna, _NO_ARG
            )
        elif self.kind == "moments":
            flow.moments_pass(nodes, to, src, dst, reverse)
        else:
            for s, d in zip(src, dst, strict=True):
                if s.shape[1] == 1 and s.flags.c_contiguous and d.flags.c_contiguous:  # flat: ~2x faster
                    flow.sum_pass_single(nodes, to, s.reshape(-1), d.reshape(-1), reverse)
                else:
                    flow.sum_pass(nodes, to, s, d, reverse)

    def finalize(self, state: tuple) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.kind == "mean":
                out = state[0] / state[1]
            elif self.skew:
                out = reductions.skewness(np, state[0], state[2], state[3])
            elif self.kind == "moments":
                out = state[2] / state[0]
                if self.reduction.finalize == "sqrt":
                    out = np.sqrt(out)
            else:
                out = state[0]
        return out.astype(self.dtype, copy=False)


# ------------------------------------------------------------------ operations
def run(network: Any, op: str, field: Any, how: str, weights: Any, skipna: bool) -> da.Array | None:
    """Operation ``op`` on a dask ``field`` ``(..., ny, nx)`` tile by tile, lazily; the result
    is chunked like the field."""
    field = da.asarray(field)
    network.check_grid(tuple(field.shape))
    if not isinstance(network, TiledNetwork):
        network = tiled(network, field.chunks[-2:])
        if network is None:
            return None
    chunks = field.chunks
    field, weights = on_tiles(network, field, weights)
    w_dtype = None if weights is None else weights.dtype
    if op == "move_upstream":
        how, skipna = "max", False
    dtype = reductions.output_dtype(None if op == "move_upstream" else how, field.dtype, w_dtype)
    if op.startswith("move"):
        out = _move(network, op, field, how, weights, skipna, dtype)
    elif network.tiles is not None and op == "accumulate":  # persisted: pass 1's states kept
        out = _accumulate_kept(network, field, how, weights, skipna, dtype)
    else:
        out = _accumulate(network, field, how, weights, skipna, dtype, op == "accumulate_downstream")
    return out.rechunk(chunks)


def _accumulate(network, field, how, weights, skipna, dtype, reverse) -> da.Array:
    """Two passes per tile and a perimeter solve per chunk of the batch dims.

    Between the passes only pass 1's perimeter states and the tiles' direction indices
    (1 byte a cell) are held: pass 2 reads its field block again (:class:`_Block`: the
    block's own dask graph, run inside the task) and rebuilds its tile's topology,
    unless the topologies are persisted (:func:`persist`)."""
    graph = dask.delayed(network.graph, pure=True, traverse=False)
    state = _State(how, skipna, dtype)
    field_blocks = field.to_delayed()
    w_blocks = None if weights is None else weights.to_delayed()
    field_rereads = _Rereads(field)
    w_rereads = None if weights is None else _Rereads(weights)
    tiles_at = origins(network.chunks)
    where: list[Any]
    if network.tiles is not None:  # persisted: one kept topology per tile, both passes
        tiles, where = network.tiles, [None] * len(tiles_at)
    else:  # each pass builds its tile's topology from the tile's direction indices
        tiles = list(network.ext.to_delayed().ravel())
        where = [(o, network.shape, network.wrap) for _, o in tiles_at]
    common = {"state": state, "reverse": reverse}
    keep = network.graph["entries_local" if reverse else "exits_local"]
    inject = network.graph["exits_local" if reverse else "entries_local"]
    empty = network.graph.get("empty", np.zeros(len(tiles_at), bool))
    out = np.empty(field_blocks.shape, object)
    for batch in np.ndindex(field_blocks.shape[:-2]):

        def w_index(i, j, batch=batch):
            return (i, j) if weights.ndim == 2 else (*batch, i, j)

        firsts = [
            None  # a tile without a network cell sends nothing and is not read
            if empty[t]
            else dask.delayed(_pass1, pure=True)(
                tiles[t],
                field_blocks[(*batch, i, j)],
                None if w_blocks is None else w_blocks[w_index(i, j)],
                keep=keep[t],
                where=where[t],
                **common,
            )
            for t, ((i, j), _) in enumerate(tiles_at)
        ]
        members = int(np.prod([c[k] for c, k in zip(field.chunks, batch, strict=False)]))
        solved = dask.delayed(_solve, pure=True)(graph, firsts, members=members, state=state, reverse=reverse)
        for t, ((i, j), _) in enumerate(tiles_at):
            shape = tuple(c[k] for c, k in zip(field.chunks, (*batch, i, j), strict=True))
            if empty[t]:  # off the network everywhere: the fill value, memory follows the river
                out[(*batch, i, j)] = da.full(shape, reductions.fill_value(dtype), dtype=dtype)
                continue
            x = field_rereads.block((*batch, i, j))
            w = None if w_rereads is None else w_rereads.block(w_index(i, j))
            block = dask.delayed(_pass2, pure=True)(
                tiles[t], x, w, solved, index=t, inject=inject[t], where=where[t], **common
            )
            out[(*batch, i, j)] = da.from_delayed(
                block, shape, dtype=dtype, meta=np.empty((0,) * len(shape), dtype)
            )
    return da.block(out.tolist())


def _tile(ext, origin, shape, wrap) -> tuple:
    """A tile's topology for the passes: its network mask, order and in-tile links
    (:func:`~xhydro_accessor.tiling.topology` less what only the build needs)."""
    down, _, nodes, to, _ = topology(ext, origin[0], origin[1], shape, wrap, targets=False)
    return down != -2, nodes, to


def _tiles(network: TiledNetwork) -> list:
    """The tasks of each tile's topology (row-major), or the persisted ones."""
    if network.tiles is not None:  # the topologies, without the cells below their entries
        return [tile[:3] for tile in network.tiles]
    return [
        dask.delayed(_tile, pure=True)(ext, o, network.shape, network.wrap)
        for ext, (_, o) in zip(network.ext.to_delayed().ravel(), origins(network.chunks), strict=True)
    ]


def persist(network: TiledNetwork) -> TiledNetwork:
    """``network`` with each tile's topology computed once and kept (``dask.persist``: in
    this process, or on the workers of a ``dask.distributed`` client): later operations
    skip rebuilding them, about half the time of an accumulation.

    Kept per tile (:func:`_kept`): its network mask, order and links (9 bytes a cell)
    and the cells on its entries' in-tile paths (:func:`_pass2_kept`: 12 bytes each, 4
    an entry): at most 21 bytes a cell, about 9 on real tiles (1.6% of the 16 M-cell
    synthetic grid's cells are below an entry of its 1000² tiles).

    An upstream accumulation on a persisted network holds more between its passes than
    one on a network that is not (which holds only the perimeter states and 1 byte a
    cell): pass 1 keeps each tile's whole state (the state's arrays: 4 or 8 bytes a cell
    and member for a sum or an extreme, twice that for a mean, three or four times for
    var/std/skew) until pass 2 of that tile, so that pass 2 only merges what enters the
    tile into the cells below its entries. Up to every tile's state of one chunk of the
    batch dims (members, time) is held at once: the size of that chunk of the field
    (times the state's arrays), not bounded by one tile. The downstream accumulation
    and the other operations hold what they hold without persisting.
    """
    if network.tiles is not None:
        return network
    out = network.with_grid(network.dims, network.coords)
    entries = network.graph["entries_local"]
    out.tiles = list(
        dask.persist(
            *[
                dask.delayed(_kept, pure=True)(ext, o, network.shape, network.wrap, entries[t])
                for t, (ext, (_, o)) in enumerate(
                    zip(network.ext.to_delayed().ravel(), origins(network.chunks), strict=True)
                )
            ]
        )
    )
    return out


def _kept(ext, origin, shape, wrap, entries) -> tuple:
    """A persisted tile: its topology (:func:`_tile`) and the cells below its ``entries``
    (:func:`~xhydro_accessor.kernels.tile_exits.below_entries`)."""
    mask, nodes, to = _tile(ext, origin, shape, wrap)
    if entries.size and not mask[entries].all():  # what enters a tile enters a network cell
        raise AssertionError("a tile's entries differ from the perimeter graph's")
    return mask, nodes, to, below_entries(nodes, to, entries.astype(np.int64), mask.size)


class _Block:
    """One block of a dask array as its own small dask graph, run by the task that
    receives it (synchronously, :func:`_got`): a task reads its block again instead of
    sharing (and so keeping) the block another task read. Not a separate task, which dask
    could run early (as it did cloned reads): opaque to dask (not traversed as tasks);
    the graph's data leaves (a zarr array object, an in-memory block) are not in it but
    come as the task's dependencies."""

    def __init__(self, graph: dict, key: Any, leaves: tuple):
        self.graph, self.key, self.leaves = graph, key, leaves

    def __dask_tokenize__(self):
        return ("tiled-block", self.key)

    def get(self, values: tuple) -> np.ndarray:
        from dask._task_spec import DataNode

        data = {k: DataNode(k, v) for k, v in zip(self.leaves, values, strict=True)}
        return dask.local.get_sync({**self.graph, **data}, self.key)


class _Rereads:
    """Each block of a dask array as ``(_Block or None, [its data leaves])`` for a task
    argument (the array's graph materialized once, culled per block)."""

    def __init__(self, array: da.Array):
        from dask._task_spec import convert_legacy_graph

        self.graph = convert_legacy_graph(dict(array.__dask_graph__()))
        self.name = array.name

    def block(self, index: tuple) -> tuple:
        from dask._task_spec import DataNode
        from dask.optimization import cull

        key = (self.name, *index)
        sub, _ = cull(self.graph, [key])
        if isinstance(sub[key], DataNode):  # the block is data itself: nothing to read again
            return None, [Delayed(key, {key: sub[key]})]
        leaves = tuple(k for k, v in sub.items() if isinstance(v, DataNode))
        tasks = {k: v for k, v in sub.items() if k not in leaves}
        return _Block(tasks, key, leaves), [Delayed(k, {k: sub[k]}) for k in leaves]


def _got(x: Any) -> Any:
    """A block given to a task: an array, or ``(_Block or None, values)`` read here."""
    if isinstance(x, tuple) and len(x) == 2 and (x[0] is None or isinstance(x[0], _Block)):
        return x[1][0] if x[0] is None else x[0].get(tuple(x[1]))
    return x


def _topology(tile, where) -> tuple:
    """A tile's topology: kept (persisted, less the cells below its entries), or built from its direction
    indices ``tile``."""
    return tile[:3] if where is None else _tile(tile, *where)


def _prepared(tile, x, w, state):
    mask, nodes, to = tile
    x = np.asarray(x).reshape(-1, mask.size)
    w = np.empty((0, 0)) if w is None else np.asarray(w).reshape(-1, mask.size)
    return state.init(x, w, mask), nodes, to


def _pass1(tile, x, w, *, keep, state, reverse, where=None):
    """Pass 1: the tile alone; the states at ``keep`` (its exits, or entries downstream)."""
    if _walks(where, x, state, reverse):
        return _walked(tile, where, x, w, state, None, keep)
    values, nodes, to = _prepared(_topology(tile, where), x, w, state)
    state.apply(nodes, to, values, values, reverse)
    return tuple(_at(v, keep) for v in values)


def _solve(graph, firsts, *, members, state, reverse):
    """The perimeter solve: what enters each tile (at its entries; downstream: at its exits)."""
    n = graph["gid"].size
    values = state.identity(n, members)
    for nodes, first in zip(graph["entries_nodes" if reverse else "exits_nodes"], firsts, strict=True):
        if first is None:  # a tile without a network cell
            continue
        for v, f in zip(values, first, strict=True):
            if v.size:  # an untracked M3 is (0, 0)
                v[nodes] = f
    exits = np.flatnonzero(graph["exit"])
    result = state.identity(n, members)
    if reverse:  # each exit: what its entry's path carries, then along the exits' graph
        state.apply(exits, graph["link"][exits], values, result, True)
        state.apply(graph["h_order"], graph["h_to"], result, result, True)
        wanted = graph["exits_nodes"]
    else:  # accumulate over the perimeter graph, then move each exit into its entry
        state.apply(graph["order"], graph["to"], values, values, False)
        state.apply(exits, graph["link"][exits], values, result, False)
        wanted = graph["entries_nodes"]
    return [tuple(_at(r, nodes) for r in result) for nodes in wanted]


def _at(values: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """The rows ``cells`` of a state array; an untracked ``(0, 0)`` one (var's M3) as it is."""
    return values[cells] if values.size else values


def _pass2(tile, x, w, solved, *, index, inject, state, reverse, where=None):
    """Pass 2: the tile again, with what enters it added where it enters; ``x`` and ``w``
    are its blocks or, read here, how to read them again (:class:`_Rereads`)."""
    x, w = _got(x), _got(w)
    if _walks(where, x, state, reverse):
        values = _walked(tile, where, x, w, state, (inject, solved[index]))
    else:
        values, nodes, to = _prepared(_topology(tile, where), x, w, state)
        state.apply(np.arange(inject.size), inject, solved[index], values, False)
        state.apply(nodes, to, values, values, reverse)
    return state.finalize(values).T.reshape(np.shape(x))


def _walks(where, x, state, reverse) -> bool:
    """Whether a pass sums while it walks its tile (no order kept: one member, upstream)."""
    one = np.size(x) == np.shape(x)[-2] * np.shape(x)[-1]
    return where is not None and state.kind == "sum" and not reverse and one


def _walked(ext, where, x, w, state, inflow, keep=None) -> tuple:
    """A pass of an upstream sum over one member: the tile's links (no targets) and its
    state; then pass 1 (no ``inflow``) sums the cells by the exit they leave by
    (:func:`~xhydro_accessor.kernels.tiles.exit_labels`: no order; floats in float64) and
    returns the states at the exits ``keep``; pass 2 adds what enters the tile and sums
    upstream (:func:`~xhydro_accessor.kernels.tiles.upstream_sum`)."""
    (r0, c0), shape, wrap = where
    down = links(ext, r0, c0, shape, wrap)
    x = np.asarray(x).reshape(1, -1)
    w = np.empty((0, 0)) if w is None else np.asarray(w).reshape(1, -1)
    values = state.init(x, w, down != -2)
    flat = values[0].reshape(-1)
    if inflow is None:
        label = np.empty_like(down)
        sums = np.zeros(down.size, np.float64 if state.state.kind == "f" else state.state)
        exit_labels(down, label, flat, sums)
        return (sums[label[keep]].astype(state.state).reshape(-1, 1),)
    state.apply(np.arange(inflow[0].size), inflow[0], inflow[1], values, False)
    upstream_sum(down, flat)
    return values


def _move(network, op, field, how, weights, skipna, dtype) -> da.Array:
    """A move: each tile with one cell of halo (the other edge's across a wrapped axis)."""
    lead = field.ndim - 2
    depth = {lead: 1, lead + 1: 1}
    boundary = {lead + a: "periodic" if network.wrap[a] else 0 for a in (0, 1)}
    args = [da.overlap.overlap(field, depth=depth, boundary=boundary), network.ext]
    if weights is not None:
        wl = weights.ndim - 2
        wb = {wl + a: "periodic" if network.wrap[a] else 0 for a in (0, 1)}
        args.append(da.overlap.overlap(weights, depth={wl: 1, wl + 1: 1}, boundary=wb))
    return da.map_blocks(
        _move_block, *args, op=op, how=how, skipna=skipna, dtype=dtype, chunks=field.chunks,
        meta=np.empty((0,) * field.ndim, dtype),
    )  # fmt: skip


def _move_block(x, ext, w=None, *, op, how, skipna):
    from .numba_engine import run as numba_run

    down = np.empty(ext.size, np.int64)
    halo_down(ext, down)
    net = RiverNetwork.from_downstream_index(down, ext.shape)
    out = numba_run(net, op, x, how, w, skipna)
    return np.ascontiguousarray(out[..., 1:-1, 1:-1])


def shreve(network: Any) -> Any:
    """Shreve magnitude on tiles, lazily: the sources (cells with nothing moved into
    them, a one-cell halo) accumulated."""
    ones = da.ones(network.shape, chunks=network.chunks, dtype=np.int64)
    moved: Any = run(network, "move_downstream", ones, "sum", None, False)
    return run(network, "accumulate", (moved == 0).astype(np.int64), "sum", None, False)


def tile_topologies(network: TiledNetwork) -> list:
    """Each tile's topology ``(mask, nodes, to)`` as a task (row-major), or the persisted
    ones: for the tiled operations of other modules (stream order)."""
    return _tiles(network)


def reduction_state(how: str, skipna: bool, dtype: Any) -> _State:
    """The state the passes carry for reduction ``how`` of a ``dtype`` result (its ``init``,
    ``identity``, ``apply`` and ``finalize``): for the other passes over tiles
    (:mod:`xhydro_accessor.backends.tiled_catalogue`)."""
    return _State(how, skipna, np.dtype(dtype))


def tile_shapes(network: TiledNetwork) -> list[tuple[int, int]]:
    """The ``(rows, cols)`` of each tile, row-major (the order of :func:`origins`)."""
    return [(network.chunks[0][i], network.chunks[1][j]) for (i, j), _ in origins(network.chunks)]


def assemble(network: TiledNetwork, blocks: list, dtype: Any) -> da.Array:
    """One delayed ``(rows, cols)`` block per tile (row-major) as a dask array chunked like the tiles."""
    arrays = [
        da.from_delayed(b, s, dtype=dtype, meta=np.empty((0, 0), dtype))
        for b, s in zip(blocks, tile_shapes(network), strict=True)
    ]
    n_cols = len(network.chunks[1])
    return da.block([arrays[k : k + n_cols] for k in range(0, len(arrays), n_cols)])


def _empty(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """``np.empty(shape, dtype)``, from 2 MiB on starting on a 2 MiB boundary: numpy asks
    Linux for huge pages from 4 MiB on, but a tile's state just under that size (1000²
    float32) would otherwise be faulted in 4 KiB pages, a third of a pass's time. The
    slack before the boundary is never touched; past the end, at most the rest of the
    last huge page is resident (194 KB for a 1000² float32 tile).

    Examples
    --------
    >>> out = _empty((1000, 1000), np.dtype(np.float32))
    >>> out.shape, out.dtype, out.flags.c_contiguous, out.ctypes.data % (1 << 21)
    ((1000, 1000), dtype('float32'), True, 0)
    """
    if int(np.prod(shape)) * dtype.itemsize < 1 << 21:
        return np.empty(shape, dtype)
    return aligned(shape, dtype, 1 << 21)


# ------------------------------------------- upstream accumulation, persisted network
def _accumulate_kept(network, field, how, weights, skipna, dtype) -> da.Array:
    """An upstream accumulation on a persisted network: pass 1 passes over each tile and
    keeps its whole state (:func:`_pass1_kept`), the solve is :func:`_solve`'s, pass 2
    only merges what enters the tile into the cells below its entries and finalizes
    (:func:`_pass2_kept`); each field block is read once. Memory: :func:`persist`.

    The graph is written directly (one layer, keys named from the network's, the field's
    and the weights' tokens): no per-task tokenizing of the perimeter graph and arguments."""
    from operator import getitem

    from dask._task_spec import DataNode, List, Task, TaskRef
    from dask.highlevelgraph import HighLevelGraph

    state = _State(how, skipna, dtype)
    w_name: Any = None if weights is None else weights.name
    token = dask.base.tokenize(network._token, [t.key for t in network.tiles], field.name, w_name, state)
    name, perimeter_key = f"_pass2_kept-{token}", f"hydro-perimeter-{network._token}"
    layer: dict = {perimeter_key: DataNode(perimeter_key, network.graph)}
    keep = network.graph["exits_local"]
    empty = network.graph.get("empty", np.zeros(network.n_tiles, bool))
    fill = reductions.fill_value(dtype)
    nb = field.ndim - 2
    for batch in np.ndindex(field.numblocks[:-2]):
        members = int(np.prod([c[k] for c, k in zip(field.chunks, batch, strict=False)]))
        solve = (f"_solve-{token}", *batch)
        perimeter: list[Any] = []
        for t, ((i, j), _) in enumerate(origins(network.chunks)):
            if empty[t]:  # a tile without a network cell sends nothing and is not read
                perimeter.append(None)
                continue
            w = None if weights is None else TaskRef((w_name, *(() if weights.ndim == 2 else batch), i, j))
            first = (f"_pass1_kept-{token}", *batch, i, j)
            layer[first] = Task(
                first, _pass1_kept, TaskRef(network.tiles[t].key), TaskRef((field.name, *batch, i, j)), w,
                keep=keep[t], state=state,
            )  # fmt: skip
            at_exits = (f"_exits-{token}", *batch, i, j)  # the solve gets the exits' states only
            layer[at_exits] = Task(at_exits, getitem, TaskRef(first), 0)
            perimeter.append(TaskRef(at_exits))
        layer[solve] = Task(
            solve,
            _solve,
            TaskRef(perimeter_key),
            List(*perimeter),
            members=members,
            state=state,
            reverse=False,
        )
        for t, ((i, j), _) in enumerate(origins(network.chunks)):
            key = (name, *batch, i, j)
            shape = tuple(c[k] for c, k in zip(field.chunks, (*batch, i, j), strict=True))
            if empty[t]:  # off the network everywhere: the fill value, memory follows the river
                layer[key] = Task(key, np.full, shape, fill, dtype=dtype)
                continue
            kept = TaskRef((f"_pass1_kept-{token}", *batch, i, j))
            layer[key] = Task(
                key, _pass2_kept, TaskRef(network.tiles[t].key), kept, TaskRef(solve),
                index=t, state=state, shape=shape,
            )  # fmt: skip
    deps = [field, *network.tiles] + ([] if weights is None else [weights])
    graph = HighLevelGraph.from_collections(name, layer, dependencies=deps)
    return da.Array(graph, name, field.chunks, dtype=dtype, meta=np.empty((0,) * (nb + 2), dtype))


class _Kept:
    """Pass 1's state of a whole tile, kept for its pass 2, which merges the tile's inflows
    into it in place, once (``merged``): a pass 2 run again on the same object (as
    ``dask.distributed`` may after losing its result) does not merge them twice."""

    def __init__(self, values: tuple):
        self.values, self.merged = values, False


def _pass1_kept(tile, x, w, *, keep, state) -> tuple:
    """Pass 1 on a persisted tile: the whole tile in topological order; the states at its
    exits ``keep`` for the solve, and the tile's state for its pass 2."""
    values, nodes, to = _prepared(tile[:3], x, w, state)
    state.apply(nodes, to, values, values, False)
    return tuple(_at(v, keep) for v in values), _Kept(values)


def _pass2_kept(tile, first: tuple, solved, *, index, state, shape) -> np.ndarray:
    """Pass 2 on a persisted tile: what enters the tile (``solved[index]``, one row per
    entry) merged into the cells below its entries (:func:`_kept`), each cell taking the
    inflows of every entry above it in the tile (carried down the union of their paths,
    so a cell below several entries merges each once), then the result. Exact for the
    associative merges of :class:`_State` (sums, means, extremes, Chan's moments).
    ``first`` is the tile's pass 1 (:func:`_pass1_kept`)."""
    kept = first[1]
    values = kept.values
    if not kept.merged:
        cells, link_from, link_to, entry_at = tile[3]
        carry = state.identity(cells.size, values[0].shape[1])
        state.apply(np.arange(entry_at.size), entry_at, solved[index], carry, False)
        state.apply(link_from, link_to, carry, carry, False)
        state.apply(np.arange(cells.size), cells, carry, values, False)
        kept.merged = True
    return state.finalize(values).T.reshape(shape)


def on_tiles(network: TiledNetwork, field: da.Array, weights: Any) -> tuple[da.Array, Any]:
    """``field`` and ``weights`` (None, or an array of the grid's or the field's shape)
    chunked in the network's tiles (and the field's other chunks)."""
    tiles = field.chunks[:-2] + network.chunks
    field = field.rechunk(tiles)
    if weights is not None:
        weights = da.asarray(weights)
        if weights.ndim != 2:
            weights = da.broadcast_to(weights, field.shape)
        weights = weights.rechunk(tiles[field.ndim - weights.ndim :])
    return field, weights
