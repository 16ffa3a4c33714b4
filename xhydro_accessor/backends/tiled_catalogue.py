"""The catalogue on spatially tiled networks: labels at gauges, path lengths, catchment statistics.

Each operation here is a pass over the network run as the accumulations of
:mod:`xhydro_accessor.backends.tiled` are (Barnes 2017), lazily, a fixed number of
passes: pass 1 solves each tile alone and keeps what its perimeter cells need; one
small solve over the perimeter graph (:attr:`TiledNetwork.graph
<xhydro_accessor.tiling.TiledNetwork.graph>`) gives each tile what comes from the
others; pass 2 solves each tile again with that. Results are dask arrays chunked
like the network's tiles.

- :func:`labels`: the label of the first (``nested``) or last gauge on each cell's
  path downstream — values pulled upstream: pass 1 gives each perimeter cell the
  label its in-tile path meets; the solve follows the links downstream first; pass 2
  starts each exit from the label of the cell it enters.
- :func:`paths`: the longest or shortest path length to seeds downstream (``pull``)
  or from seeds upstream (push), :mod:`xhydro_accessor.kernels.paths` in each tile;
  pass 1 also gives each perimeter cell the length of its in-tile path to its exit,
  so the solve extends paths across tiles exactly as the in-memory pass does.
- :func:`group_statistics`: sum … skew of a field over each label, one state per
  label and tile (the accumulation's states, :func:`~xhydro_accessor.backends.tiled.reduction_state`)
  merged across tiles.

Examples
--------
>>> import numpy as np, dask.array as da
>>> from xhydro_accessor import RiverNetwork
>>> net = RiverNetwork.from_ldd(da.from_array(np.array([[6, 6, 6, 5]]), chunks=1))
>>> labels(net, np.array([1, 3]), np.array([1, 2], np.int32), nested=True).compute()
array([[1, 1, 2, 2]], dtype=int32)
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np

from .. import reductions
from ..kernels import paths as path_kernels
from ..kernels import tile_paths
from ..kernels.tiles import EXIT
from ..tiling import TiledNetwork, origins, topology
from .tiled import assemble, reduction_state, tile_shapes

#: where paths start: flat indices of cells (locations), or a kind of cell found in each tile
SEED_KINDS = ("sources", "outlets")


class _Tiles:
    """The tiles of a network as dask tasks, and where cells and perimeter cells lie in them."""

    def __init__(self, network: TiledNetwork):
        self.network = network
        self.at = origins(network.chunks)  # ((i, j), (row, col)) row-major
        self.shapes = tile_shapes(network)
        ext = network.ext.to_delayed().ravel()
        self.topo = [
            dask.delayed(_topology, pure=True)(e, o, network.shape, network.wrap)
            for e, (_, o) in zip(ext, self.at, strict=True)
        ]
        g = network.graph
        self.perimeter = [np.flatnonzero(g["tile"] == t) for t in range(len(self.at))]
        self.perimeter_local = [g["local"][p] for p in self.perimeter]

    def split(self, index: np.ndarray, values: np.ndarray) -> list:
        """``(local indices, values)`` of the cells ``index`` (flat, global) in each tile."""
        ny, nx = self.network.shape
        rows, cols = np.divmod(np.asarray(index, np.int64), nx)
        ends = [np.cumsum(c) for c in self.network.chunks]
        i = np.searchsorted(ends[0], rows, side="right")
        j = np.searchsorted(ends[1], cols, side="right")
        tile = i * len(ends[1]) + j
        out = []
        for t, (_, (r0, c0)) in enumerate(self.at):
            here = tile == t
            w = self.shapes[t][1]
            out.append(((rows[here] - r0) * w + cols[here] - c0, values[here]))
        return out

    def assemble(self, blocks: list, dtype: Any) -> da.Array:
        """One ``(h, w)`` array per tile (delayed, row-major) as a dask array chunked like the tiles."""
        return assemble(self.network, blocks, dtype)


def _topology(ext, origin, shape, wrap) -> tuple:
    down, target, nodes, to, _ = topology(np.asarray(ext), origin[0], origin[1], shape, wrap)
    return down, target, nodes, to


# ---------------------------------------------------------------------- labels
def labels(network: TiledNetwork, cells: np.ndarray, values: np.ndarray, *, nested: bool) -> da.Array:
    """Each cell's label: of the first (``nested``) or the last gauge its flow passes through,
    gauges at the flat indices ``cells`` (unique) with labels ``values`` (int32 > 0); 0 elsewhere.
    As :func:`xhydro_accessor.kernels.labels.label_pass`, lazily on tiles (int32)."""
    tiles = _Tiles(network)
    seeds = tiles.split(cells, np.asarray(values, np.int32))
    calls = _labels(network, tiles, seeds, nested)
    return tiles.assemble([dask.delayed(_labels_pass, pure=True)(*c) for c in calls], np.int32)


def basins(network: TiledNetwork) -> da.Array:
    """Each cell's outlet's basin, ``1..n`` by ascending outlet index (0 off the network), as
    :func:`xhydro_accessor.hydrology.catchments.basins`, lazily: the outlets found in each
    tile, ranked together in one small task, labelled upstream."""
    tiles = _Tiles(network)
    found = [
        dask.delayed(_outlets, pure=True)(topo, o, hw, network.shape[1])
        for topo, (_, o), hw in zip(tiles.topo, tiles.at, tiles.shapes, strict=True)
    ]
    every = dask.delayed(_sorted, pure=True)(*found)
    calls = _labels(network, tiles, found, False, every)
    return tiles.assemble([dask.delayed(_labels_pass, pure=True)(*c) for c in calls], np.int32)


def _outlets(topo, origin, tile_shape, nx):
    """A tile's outlets: their local and global flat indices."""
    local = np.flatnonzero(topo[0] == -1)
    rows, cols = np.divmod(local, tile_shape[1])
    return local, (origin[0] + rows) * nx + origin[1] + cols


def _sorted(*found) -> np.ndarray:
    return np.sort(np.concatenate([np.zeros(0, np.int64), *(gid for _, gid in found)]))


def _ranked(found, every):
    """A tile's outlets and their basin numbers: ranks among all outlets, from 1."""
    local, gid = found
    return local, (np.searchsorted(every, gid) + 1).astype(np.int32)


def _labels(network: TiledNetwork, tiles: _Tiles, seeds: list, nested: bool, every: Any = None) -> list:
    """Pass 1 and the solve (its inputs as separate arguments: a list of tasks makes dask copy
    the graph below) of :func:`labels` from each tile's ``(local indices, labels)`` of its
    gauges (or, with the task ``every``, its outlets to rank): the arguments of each tile's
    pass 2 (:func:`_labels_pass`), for a task of its own or inside another tile task — a task
    depending on a task after the solve would make dask copy the graph below into each call."""
    firsts = [
        dask.delayed(_labels_pass, pure=True)(topo, s, None, None, 0, nested, perimeter, None, every)
        for topo, s, perimeter in zip(tiles.topo, seeds, tiles.perimeter_local, strict=True)
    ]
    graph = dask.delayed(network.graph, pure=True, traverse=False)
    # one task, indexed in each tile's task (a task's items, ``nout``, would copy the graph below)
    below = dask.delayed(_labels_solve, pure=True)(graph, nested, tiles.perimeter, *firsts)
    exits = network.graph["exits_local"]
    return [
        (topo, s, exits[t], below, t, nested, None, tiles.shapes[t], every)
        for t, (topo, s) in enumerate(zip(tiles.topo, seeds, strict=True))
    ]


def _labels_pass(topo, seeds, exits, inflow, tile, nested, keep, shape, every=None):
    """A tile's labels (pass 1: at its perimeter cells ``keep``; pass 2: the grid, ``exits`` fed
    ``inflow[tile]``: the solve's list, passed whole; a task's items (``nout``) or a task in a
    tuple would make dask copy the graph below into each call)."""
    down, _, nodes, to = topo
    if every is not None:
        seeds = _ranked(seeds, every)
    out = np.zeros(down.size, np.int32)
    out[seeds[0]] = seeds[1]
    outer = np.zeros(down.size, np.int32)
    if inflow is not None:
        outer[exits] = inflow[tile]
    tile_paths.tile_labels(nodes, to, out, nested, outer)
    return out[keep] if keep is not None else out.reshape(shape)


def _labels_solve(graph, nested, perimeter, *firsts) -> list:
    """Each exit's label below it: the perimeter cells' labels, downstream first."""
    out = np.zeros(graph["gid"].size, np.int32)
    for nodes, first in zip(perimeter, firsts, strict=True):
        out[nodes] = first
    tile_paths.tile_labels(graph["order"], graph["to"], out, nested, out)  # links are never EXIT
    return [out[graph["link"][nodes]] for nodes in graph["exits_nodes"]]


def at_cells(array: da.Array, network: TiledNetwork, index: np.ndarray) -> da.Array:
    """``array[..., cells]`` of a dask array ``(..., ny, nx)`` chunked like the tiles, read tile
    by tile: shape ``(..., len(index))``, one chunk along it."""
    tiles = _Tiles(network)
    index = np.asarray(index, np.int64)
    where = tiles.split(index, np.arange(index.size))
    blocks = array.to_delayed()
    parts, order = [], []
    for t, ((i, j), _) in enumerate(tiles.at):
        local, positions = where[t]
        if not local.size:
            continue
        order.append(positions)
        pieces = np.empty((*blocks.shape[:-2], 1), object)  # da.block: the last list along the last axis
        for batch in np.ndindex(blocks.shape[:-2]):
            shape = tuple(c[k] for c, k in zip(array.chunks, batch, strict=False)) + (local.size,)
            taken = dask.delayed(_take, pure=True)(blocks[(*batch, i, j)], local)
            pieces[(*batch, 0)] = da.from_delayed(taken, shape, dtype=array.dtype)
        parts.append(da.block(pieces.tolist()))
    out = da.concatenate(parts, axis=-1)
    return out[..., np.argsort(np.concatenate(order), kind="stable")].rechunk({out.ndim - 1: -1})


def _take(block, local):
    block = np.asarray(block)
    return block.reshape(block.shape[:-2] + (-1,))[..., local]


# ----------------------------------------------------------------------- paths
def paths(
    network: TiledNetwork, weights: da.Array, start: Any, *, per_cell: bool, is_max: bool, pull: bool
) -> da.Array:
    """Path lengths on tiles, :func:`~xhydro_accessor.kernels.paths.spread_up` (``pull``: to
    seeds downstream) or ``spread_down`` (from seeds upstream), float64, NaN where no seed.

    ``weights`` (dask, float64, chunked like the tiles): each cell's step length
    (``per_cell=False``) or own length. ``start``: flat indices of the seeds, one of
    :data:`SEED_KINDS` (the seeds found in each tile), or a dask array of the starting
    values (NaN where none: what another :func:`paths` returned).
    """
    tiles = _Tiles(network)
    g = network.graph
    w = weights.rechunk(network.chunks).to_delayed().ravel()
    if isinstance(start, str):
        entries = g["entries_local"]
        starts: list = [
            dask.delayed(_kind_start, pure=True)(topo, wt, start, entries[t], per_cell)
            for t, (topo, wt) in enumerate(zip(tiles.topo, w, strict=True))
        ]
    elif isinstance(start, da.Array):
        starts = list(start.rechunk(network.chunks).to_delayed().ravel())
    else:
        cells = tiles.split(np.asarray(start, np.int64), np.zeros(np.size(start)))
        starts = [
            dask.delayed(_cell_start, pure=True)(wt, c[0], per_cell) for wt, c in zip(w, cells, strict=True)
        ]
    common = {"per_cell": per_cell, "is_max": is_max, "pull": pull}
    firsts = [
        dask.delayed(_paths_pass, pure=True)(topo, wt, s0, None, None, 0, perimeter, **common)
        for topo, wt, s0, perimeter in zip(tiles.topo, w, starts, tiles.perimeter_local, strict=True)
    ]
    graph = dask.delayed(g, pure=True, traverse=False)
    solved = dask.delayed(_paths_solve, pure=True)(graph, tiles.perimeter, *firsts, **common)
    fed = g["exits_local" if pull else "entries_local"]
    blocks = [
        dask.delayed(_paths_pass, pure=True)(topo, wt, s0, fed[t], solved, t, None, **common)
        for t, (topo, wt, s0) in enumerate(zip(tiles.topo, w, starts, strict=True))
    ]
    return tiles.assemble(blocks, np.float64)


def _cell_start(w, local, per_cell):
    w = np.asarray(w, np.float64)
    out = np.full(w.size, np.nan)
    out[local] = w.reshape(-1)[local] if per_cell else 0.0
    return out.reshape(w.shape)


def _kind_start(topo, w, kind, entries, per_cell):
    """Start values at a tile's sources (no upstream cell, here or in another tile) or outlets."""
    down = topo[0]
    if kind == "outlets":
        seeds = down == -1
    else:
        fed = np.zeros(down.size, bool)
        fed[down[down >= 0]] = True
        fed[entries] = True
        seeds = (down != -2) & ~fed
    return _cell_start(w, np.flatnonzero(seeds), per_cell)


def _paths_pass(topo, w, start, fed, inflow, tile, keep, *, per_cell, is_max, pull):
    """A tile's path lengths. Pass 1 (``keep``: its perimeter cells): their lengths, the
    length of their in-tile path to its exit and their weights; pass 2: the grid, with
    ``inflow[tile]`` (the solve's values) set first at the cells ``fed`` (its exits, or entries)."""
    down, _, nodes, to = topo
    w = np.ascontiguousarray(w, np.float64).reshape(-1)
    out = np.array(start, np.float64).reshape(-1)
    if inflow is not None:
        out[fed] = inflow[tile]
    if pull:
        path_kernels.spread_up(nodes, to, w, is_max, out)
    else:
        path_kernels.spread_down(nodes, to, w, per_cell, is_max, out)
    if keep is None:
        return out.reshape(np.shape(start))
    step = w
    if per_cell and not pull:  # a step's length is the length of the cell it enters
        step = np.full(w.size, np.nan)
        step[down >= 0] = w[down[down >= 0]]
    to_exit = np.where(down == EXIT, 0.0, np.nan)
    path_kernels.spread_up(nodes, to, step, False, to_exit)
    return out[keep], to_exit[keep], w[keep]


def _paths_solve(graph, perimeter, *firsts, per_cell, is_max, pull) -> list:
    """The perimeter graph's path lengths: each tile's at its exits (pull) or entries."""
    n = graph["gid"].size
    own, offset, w = (np.full(n, np.nan) for _ in range(3))
    for nodes, first in zip(perimeter, firsts, strict=True):
        own[nodes], offset[nodes], w[nodes] = first
    exits = np.flatnonzero(graph["exit"])
    # an exit's step: its own length, or (a cell's length, downstream) the length of the cell it enters
    offset[exits] = w[graph["link"][exits]] if per_cell and not pull else w[exits]
    if pull:  # the in-tile passes on the perimeter graph, its links' lengths as steps
        path_kernels.spread_up(graph["order"], graph["to"], offset, is_max, own)
        return [own[nodes] for nodes in graph["exits_nodes"]]
    path_kernels.spread_down(graph["order"], graph["to"], offset, False, is_max, own)
    return [own[nodes] for nodes in graph["entries_nodes"]]


def step_lengths(network: TiledNetwork, lengths: Any) -> da.Array:
    """Each cell's step length to its downstream cell, lazily on tiles: ``lengths(src, dst)``
    of the flat indices of the cells with a downstream cell and of that cell; 0 at
    outlets, NaN off the network (float64)."""
    tiles = _Tiles(network)
    blocks = [
        dask.delayed(_step_lengths, pure=True)(topo, o, hw, network.shape, lengths)
        for topo, (_, o), hw in zip(tiles.topo, tiles.at, tiles.shapes, strict=True)
    ]
    return tiles.assemble(blocks, np.float64)


def _step_lengths(topo, origin, tile_shape, shape, lengths):
    down, target = topo[0], topo[1]
    w = tile_shape[1]
    out = np.where(down == -2, np.nan, 0.0)
    has = (down >= 0) | (down == EXIT)
    local = np.flatnonzero(has)
    rows, cols = np.divmod(local, w)
    src = (origin[0] + rows) * shape[1] + origin[1] + cols
    d_rows, d_cols = np.divmod(np.maximum(down[local], 0), w)
    dst = np.where(down[local] == EXIT, target[local], (origin[0] + d_rows) * shape[1] + origin[1] + d_cols)
    out[local] = lengths(src, dst)
    return out.reshape(tile_shape)


# ------------------------------------------------------------------ statistics
def group_statistics(
    network: TiledNetwork, field: da.Array, weights: Any, cells: np.ndarray, how: str, skipna: bool
) -> da.Array:
    """Reduction ``how`` (sum … skew: the accumulations' states) of a dask ``field``
    ``(..., ny, nx)`` over each nested catchment of the gauges at the flat indices ``cells``
    (unique): their :func:`labels` (``nested``), one state per label present in each tile,
    merged across the tiles per chunk of the batch dims. Shape ``(..., cells.size)``, one
    chunk along the gauges."""
    tiles = _Tiles(network)
    m = int(np.size(cells))
    calls = _labels(network, tiles, tiles.split(cells, np.arange(1, m + 1, dtype=np.int32)), True)
    field = field.rechunk(field.chunks[:-2] + network.chunks)
    w_blocks = None
    if weights is not None:
        weights = da.asarray(weights)
        if weights.ndim != 2:
            weights = da.broadcast_to(weights, field.shape)
        w_blocks = weights.rechunk(field.chunks[field.ndim - weights.ndim :]).to_delayed()
    dtype = reductions.output_dtype(how, field.dtype, None if weights is None else weights.dtype)
    state = reduction_state(how, skipna, dtype)
    blocks = field.to_delayed()
    out = np.empty((*blocks.shape[:-2], 1), object)  # da.block: the last list along the last axis
    for batch in np.ndindex(blocks.shape[:-2]):
        parts = []
        for t, ((i, j), _) in enumerate(tiles.at):
            w = None if w_blocks is None else w_blocks[(i, j) if w_blocks.ndim == 2 else (*batch, i, j)]
            parts.append(dask.delayed(_group_pass, pure=True)(blocks[(*batch, i, j)], w, state, *calls[t]))
        shape = tuple(c[k] for c, k in zip(field.chunks, batch, strict=False))
        merged = dask.delayed(_group_merge, pure=True)(m, state, shape, *parts)
        out[(*batch, 0)] = da.from_delayed(
            merged, (*shape, m), dtype=dtype, meta=np.empty((0,) * (len(shape) + 1), dtype)
        )
    return da.block(out.tolist())


def _group_pass(x, w, state, *label_pass):
    """One tile: its labels (pass 2 of :func:`labels`), those present and the state of each over
    its cells."""
    labels = _labels_pass(*label_pass).reshape(-1)
    cells = np.flatnonzero(labels)
    x = np.asarray(x).reshape(-1, labels.size)[:, cells]
    w = np.empty((0, 0)) if w is None else np.asarray(w).reshape(-1, labels.size)[:, cells]
    values = state.init(x, w, np.ones(cells.size, bool))
    present, into = np.unique(labels[cells] - 1, return_inverse=True)
    out = state.identity(present.size, x.shape[0])
    state.apply(np.arange(cells.size), into.reshape(-1).astype(np.int64), values, out, False)
    return present, out


def _group_merge(m, state, shape, *parts):
    """The tiles' states merged per label, finalized: ``(*shape, m)``."""
    members = int(np.prod(shape))
    out = state.identity(m, members)
    for present, values in parts:
        state.apply(np.arange(present.size), present.astype(np.int64), values, out, False)
    return state.finalize(out).T.reshape((*shape, m))
