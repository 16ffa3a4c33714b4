"""Order statistics (median, percentile, mode) on spatially tiled networks, exactly.

A median over an upstream area needs all its values: no state of fixed size merges
two areas. On a :class:`~xhydro_accessor.tiling.TiledNetwork` the values that cross
tile boundaries travel themselves, in a fixed number of passes:

- pass 1, per tile: for each exit cell, the values (and weights) of the in-tile cells
  draining through it (:func:`~xhydro_accessor.accumulate`); for
  :func:`~xhydro_accessor.accumulate_downstream`, for each
  entry cell, the values on its in-tile path to the exit it leaves by or its outlet;
- the perimeter solve is made when the graph is built, from the perimeter graph held
  in memory (``network.graph``): for each entry, the exits upstream of it (for each
  exit, the entries on its way to the outlet), so each pass-2 task depends on the
  pass-1 tasks of the tiles that feed it and on nothing else;
- pass 2, per tile: the tile's cells and, as extra cells flowing into each entry (a
  chain below each exit, downstream), the values that reach it, then the in-memory
  kernels (:func:`xhydro_accessor.backends.order_statistics.compute`) on that small
  network: every statistic over exactly the multiset the in-memory engine sees.

:func:`~xhydro_accessor.catchment_statistics` gathers each location's own (nested) area by the tiled
labels (:func:`xhydro_accessor.backends.tiled_catalogue.labels`) and its parent
location (the label below it), then runs the in-memory
:func:`~xhydro_accessor.hydrology.catchments.catchment_statistics` code on the
gathered values arranged as a small network of the same nesting.

Results equal the in-memory ones exactly for unweighted statistics (counts only) and
for weights whose sums are exact (integers, dyadic fractions); other weights are summed
in another order than in memory, so a weighted quantile or mode may differ where the
cumulative weight falls within rounding of ``q / 100`` (or two totals tie to rounding).

Memory is that of the values upstream of tile boundaries (up to the whole grid for one
basin): a first lazy pass counts them per tile (topologies only) and raises
``MemoryError`` before any value is read when the estimate exceeds the option
``tiled_order_memory`` (bytes, :func:`xhydro_accessor.set_options`; its value when the
graph is built). Tiles without a network cell run no pass.

Examples
--------
>>> import numpy as np, dask.array as da
>>> from xhydro_accessor import RiverNetwork, accumulate
>>> net = RiverNetwork.from_ldd(da.from_array(np.array([[6, 6, 6, 2], [6, 6, 6, 5]]), chunks=1))
>>> field = da.from_array(np.array([[1.0, 5.0, 2.0, 8.0], [3.0, 4.0, 7.0, 6.0]]), chunks=1)
>>> accumulate(net, field, how="median").compute()
array([[1. , 3. , 2. , 3.5],
       [3. , 3.5, 4. , 4.5]])
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np

from ..kernels.tiles import exit_labels
from ..reductions import fill_value
from ..tiling import TiledNetwork, origins
from . import order_statistics, tiled

_NO_VALUES = np.empty(0)

#: Tree bytes per value of the kernels per level of the tree (nodes of 16-32 bytes).
_NODE_BYTES = 32


def memory_limit() -> int:
    """The option ``tiled_order_memory``: bytes an order statistic on tiles may hold."""
    from ..options import get_options

    return int(get_options()["tiled_order_memory"])


# ------------------------------------------------------------------ accumulate
def run(
    network: TiledNetwork,
    op: str,
    field: Any,
    how: str,
    weights: Any,
    skipna: bool,
    q: Any = None,
    method: str | None = None,
    engine: str = "auto",
) -> Any:
    """``accumulate`` or ``accumulate_downstream`` of ``how`` in ``median``, ``percentile``,
    ``mode`` on a tiled network, lazily; the result chunked like ``field`` (several ``q``:
    a leading axis of ``len(q)``, one chunk). A numpy field gives a numpy result."""
    from . import library_of

    p, code = order_statistics.check_quantile(how, q, method, weights is not None)
    library = library_of(field, weights)
    order_statistics.check_engine(how, engine)
    if library not in ("numpy", "dask"):
        raise NotImplementedError(
            f"a TiledNetwork runs dask and numpy fields, not {library} arrays: gather it into memory "
            "first (xhydro_accessor.backends.tiled.gather(network))"
        )
    if library == "numpy":
        return run(network, op, da.asarray(field), how, weights, skipna, q, method).compute()
    several = q is not None and np.ndim(q) > 0
    field = da.asarray(field)
    network.check_grid(tuple(field.shape))
    chunks = field.chunks
    field, weights = tiled.on_tiles(network, field, weights)
    dtype = _dtype(op, how, field.dtype, weights is not None, skipna, p, code)
    reverse = op == "accumulate_downstream"
    g = network.graph
    keep = g["entries_local" if reverse else "exits_local"]  # pass 1's starts
    inject = g["exits_local" if reverse else "entries_local"]  # where pass 2 adds what arrives
    feeds = _feeds(g, reverse)
    topo = tiled.tile_topologies(network)
    empty = g.get("empty", np.zeros(len(topo), bool))  # tiles without a network cell: no pass
    counts = [
        np.zeros(0, np.int64) if e else dask.delayed(_counts, pure=True)(t, k, reverse)
        for t, k, e in zip(topo, keep, empty, strict=True)
    ]
    members = int(np.prod(field.shape[:-2], dtype=np.int64))
    itemsize = field.dtype.itemsize + (0 if weights is None else 8)
    per_chunk = max(int(np.prod(c, dtype=np.int64)) for c in _batch_shapes(field.chunks[:-2]))
    tile_cells = [h * w for h, w in tiled.tile_shapes(network)]
    ok = dask.delayed(_check, pure=True)(
        counts, feeds, tile_cells, members, per_chunk, itemsize, memory_limit(), op
    )
    field_blocks, w_blocks = _reads(field), None if weights is None else _reads(weights)
    at = origins(network.chunks)
    out = np.empty(field.numblocks, object)
    nq = np.size(q) if several else 0
    for batch in np.ndindex(field.numblocks[:-2]):

        def w_block(i, j, batch=batch):
            return None if w_blocks is None else w_blocks[(i, j) if weights.ndim == 2 else (*batch, i, j)]

        firsts = [
            None
            if empty[t]
            else dask.delayed(_pass1, pure=True)(
                topo[t], field_blocks[(*batch, i, j)], w_block(i, j), keep[t], reverse, ok
            )  # fmt: skip
            for t, ((i, j), _) in enumerate(at)
        ]
        for t, ((i, j), _) in enumerate(at):
            shape = ((nq,) if several else ()) + tuple(
                c[k] for c, k in zip(field.chunks, (*batch, i, j), strict=True)
            )
            if empty[t]:  # off the network everywhere: the fill value
                out[(*batch, i, j)] = da.full(shape, fill_value(dtype), dtype=dtype)
                continue
            sources = sorted(set(feeds[t][1].tolist()))
            block = dask.delayed(_pass2, pure=True)(
                topo[t], field_blocks[(*batch, i, j)], w_block(i, j), inject[t], feeds[t], sources, ok,
                *[firsts[s] for s in sources], op=op, how=how, skipna=skipna, p=p, code=code,
                several=several,
            )  # fmt: skip
            out[(*batch, i, j)] = da.from_delayed(
                block, shape, dtype=dtype, meta=np.empty((0,) * len(shape), dtype)
            )
    result = _block(out, several)
    return result.rechunk((((nq,),) if several else ()) + chunks)


def _dtype(op, how, dtype, weighted, skipna, p, code) -> np.dtype:
    """The dtype of the in-memory kernels' result (one cell computed: the same conversions)."""
    one: Any = _Cells(np.zeros(1, np.int64), np.full(1, -1, np.int64), 1)
    w = np.ones((1, 1)) if weighted else None
    return order_statistics.compute(one, op, np.zeros((1, 1), dtype), how, w, skipna, p, code, False).dtype


def _block(out: np.ndarray, several: bool) -> da.Array:
    """The blocks' array (a leading axis of percentiles if ``several``)."""
    if not several:
        return da.block(out.tolist())
    inner = np.empty((1, *out.shape), object)  # da.block: the leading axis as one more level
    inner[0] = out
    return da.block(inner.tolist())


def _batch_shapes(chunks: tuple) -> list:
    """The shape of each chunk of the batch dims (one empty shape without them)."""
    return [
        tuple(c[k] for c, k in zip(chunks, index, strict=True)) for index in np.ndindex(*map(len, chunks))
    ]


def _feeds(g: dict, reverse: bool) -> list:
    """Per tile, ``(slot, source tile, source index)`` rows: what reaches each slot (its
    entries upstream; its exits downstream, in order along the way) comes from pass 1's
    record ``source index`` of tile ``source tile`` (its exits upstream, entries downstream).

    The perimeter solve, made when the graph is built: from the perimeter graph alone."""
    link, is_exit, tile = g["link"], g["exit"], g["tile"]
    slot_nodes = g["exits_nodes" if reverse else "entries_nodes"]
    record_nodes = g["entries_nodes" if reverse else "exits_nodes"]
    record = np.full(link.size, -1, np.int64)
    for nodes in record_nodes:
        record[nodes] = np.arange(nodes.size)
    reach: dict[int, list] = {}
    if reverse:  # each exit: the entries on its way to the outlet, nearest first
        for x in np.flatnonzero(is_exit)[::-1]:
            chain, cur = [], int(x)
            while cur >= 0 and cur not in reach:
                chain.append(cur)
                e = int(link[cur])
                nxt = e if is_exit[e] else int(link[e])
                cur = nxt
            tail = reach[cur] if cur >= 0 else []
            for node in reversed(chain):
                tail = [int(link[node]), *tail]
                reach[node] = tail
    else:  # each entry: the exits upstream of those flowing into it (not of its own tile's cells)
        above: list[list] = [[] for _ in range(link.size)]
        for node in g["order"]:
            d = link[node]
            if is_exit[node]:
                above[node].append(int(node))
                reach.setdefault(int(d), []).extend(above[node])
            if d >= 0:
                above[d].extend(above[node])
            above[node] = []
    out = []
    for nodes in slot_nodes:
        rows = [(s, tile[n], record[n]) for s, node in enumerate(nodes) for n in reach.get(int(node), [])]
        a = np.array(rows, np.int64).reshape(-1, 3)
        out.append((a[:, 0], a[:, 1], a[:, 2]))
    return out


def _walk(topo, starts: np.ndarray, reverse: bool) -> tuple:
    """Pass 1's records: the in-tile cells draining through each exit ``starts`` (upstream),
    or on each entry's path to its exit or outlet (``reverse``), one record after the
    other: ``(cells, offsets)``."""
    mask, nodes, to = topo
    n_records = starts.size
    if not reverse:
        down = np.full(mask.size, -2, to.dtype)  # the tile's links (tile_down's) from its order
        down[nodes] = to
        label = np.empty_like(down)
        exits = exit_labels(down, label, _NO_VALUES, _NO_VALUES)[0]
        cells = nodes[label[nodes] >= 0]
        record = np.searchsorted(starts, exits[label[cells]])
    else:
        down = np.full(mask.size, -1, np.int64)
        down[nodes] = to
        cur, rec = np.asarray(starts, np.int64), np.arange(n_records)
        parts, recs = [], []
        while cur.size:
            parts.append(cur)
            recs.append(rec)
            nxt = down[cur]
            cur, rec = nxt[nxt >= 0], rec[nxt >= 0]
        cells = np.concatenate(parts) if parts else np.empty(0, np.int64)
        record = np.concatenate(recs) if recs else np.empty(0, np.int64)
    order = np.argsort(record, kind="stable")  # downstream: along each path, nearest first
    offsets = np.zeros(n_records + 1, np.int64)
    np.cumsum(np.bincount(record, minlength=n_records), out=offsets[1:])
    return cells[order], offsets


def _counts(topo, starts, reverse) -> np.ndarray:
    """The number of values in each of a tile's pass-1 records (for the memory estimate)."""
    return np.diff(_walk(topo, starts, reverse)[1])


def _check(counts, feeds, tile_cells, members, per_chunk, itemsize, limit, op) -> bool:
    """Raise ``MemoryError`` when the values an order statistic holds exceed ``limit`` bytes:
    pass 1's records (all members) plus the largest tile of pass 2 with what reaches it."""
    held = sum(int(c.sum()) for c in counts) * members * itemsize
    largest = 0
    for cells, (_, src, idx) in zip(tile_cells, feeds, strict=True):
        n = cells + sum(int(counts[s][i]) for s, i in zip(src, idx, strict=True))
        depth = max(1, int(n).bit_length())
        largest = max(largest, n * (per_chunk * (itemsize + 8) + (depth + 1) * _NODE_BYTES))
    need = held + largest
    if need > limit:
        raise MemoryError(
            f"{op} of an order statistic on this tiled network needs about {need:,} bytes "
            f"({need / 2**30:.2f} GiB: the values upstream of tile boundaries travel between tiles), "
            f"more than the limit of {limit:,} bytes. Raise it with "
            "xhydro_accessor.set_options(tiled_order_memory=<bytes>), use larger tiles, or gather the "
            "network into memory (xhydro_accessor.backends.tiled.gather(network))"
        )
    return True


class _reads:
    """Each block of a dask array as what a task reads it from (:class:`.tiled._Rereads`):
    no block is read before the memory check, and pass 2 reads its block again instead
    of keeping pass 1's."""

    def __init__(self, array: da.Array):
        self.rereads = tiled._Rereads(array)

    def __getitem__(self, index: tuple) -> tuple:
        return self.rereads.block(index)


def _members(x, w, n: int) -> tuple:
    """A block ``(..., h, w)`` (or how to read it) as ``(members, cells)``; weights
    ``(1 or members, cells)``."""
    x, w = tiled._got(x), tiled._got(w)
    x = np.asarray(x).reshape(-1, n)
    return x, None if w is None else np.asarray(w, np.float64).reshape(-1, n)


def _pass1(topo, x, w, starts, reverse, ok) -> tuple:
    """Pass 1: the values (and weights) of each of the tile's records, one after the other."""
    cells, offsets = _walk(topo, starts, reverse)
    x, w = _members(x, w, topo[0].size)
    return offsets, x[:, cells], None if w is None else w[:, cells]


def _pass2(topo, x, w, inject, feed, sources, ok, *firsts, op, how, skipna, p, code, several):
    """Pass 2: the tile with what reaches it as extra cells (into each entry; a chain below
    each exit downstream), the in-memory kernels on that network; the tile's results."""
    mask, nodes, to = topo
    n = mask.size
    x = tiled._got(x)
    shape = np.shape(x)
    x, w = _members(x, w, n)
    slot, src, idx = feed
    where = {s: k for k, s in enumerate(sources)}
    xs, ws, lengths = [x], [w], []
    for s, i in zip(src, idx, strict=True):
        offsets, vx, vw = firsts[where[s]]
        a, b = offsets[i], offsets[i + 1]
        xs.append(vx[:, a:b])
        ws.append(vw[:, a:b] if vw is not None else None)
        lengths.append(b - a)
    extra = int(sum(lengths))
    virtual = n + np.arange(extra, dtype=np.int64)
    to = np.where(to >= 0, to, -1).astype(np.int64)
    owner = np.repeat(np.asarray(inject)[slot], lengths).astype(np.int64)
    if op == "accumulate":  # every value arriving at an entry: a source flowing into it
        all_nodes = np.concatenate([virtual, nodes])
        all_to = np.concatenate([owner, to])
    else:  # below each exit, its way to the outlet as a chain: exit -> v0 -> v1 ... -> -1
        chain_to = virtual + 1
        ends = np.cumsum(np.bincount(np.repeat(slot, lengths), minlength=len(inject)))
        starts = np.concatenate([[0], ends[:-1]])
        has = ends > starts
        chain_to[ends[has] - 1] = -1
        down = np.full(n, -1, np.int64)
        down[nodes] = to
        down[np.asarray(inject)[has]] = n + starts[has]
        all_nodes = np.concatenate([nodes, virtual])
        all_to = np.concatenate([down[nodes], chain_to])
    values = np.concatenate(xs, axis=1)
    weights = None if w is None else np.concatenate(ws, axis=1)
    if weights is not None and weights.shape[0] == 1:  # one grid of weights
        weights = weights[0]
    local: Any = _Cells(all_nodes, all_to, n + extra)
    out = order_statistics.compute(local, op, values, how, weights, skipna, p, code, several)
    return np.ascontiguousarray(out[..., :n]).reshape(out.shape[:-2] + shape)


class _Cells:
    """A small vector network from its topological order (upstream first) and links: what
    :func:`xhydro_accessor.backends.order_statistics.compute` reads of a network."""

    def __init__(self, nodes: np.ndarray, to: np.ndarray, size: int):
        self.nodes, self.downstream, self.shape = nodes, to, (size,)
        self.mask = np.zeros(size, bool)
        self.mask[nodes] = True

    def check_grid(self, shape: tuple) -> None:
        """The field is made here: nothing to check."""


# ------------------------------------------------------------------ catchments
def catchment_groups(
    network: TiledNetwork, field: da.Array, weights: Any, cells: np.ndarray, nested: bool,
    reduce: Any, dtype: Any, n_q: int | None,
) -> da.Array:  # fmt: skip
    """A statistic of each location's catchment on tiles, lazily: the values of each one's
    own (nested) area gathered by the tiled labels, with its parent location, and
    ``reduce(x, w, down, hubs, shape)`` (the caller's in-memory statistic) run on them
    arranged as a vector network (``down``) in which location ``k`` is the cell ``hubs[k]``.

    ``field`` (dask, chunked like the tiles in its grid dims), ``weights`` (grid or field
    shape, or None), ``cells`` the locations' unique flat indices. The result is
    ``(n_q?, ..., len(cells))``, one chunk along the locations, the batch dims chunked as
    the field's."""
    from . import tiled_catalogue

    m = cells.size
    labels = tiled_catalogue.labels(network, cells, np.arange(1, m + 1, dtype=np.int32), nested=True)
    below: Any = tiled.run(network, "move_upstream", labels, "max", None, False)  # the label downstream
    parents = tiled_catalogue.at_cells(below, network, cells)
    lab_blocks = labels.to_delayed()
    at = origins(network.chunks)
    counts = [dask.delayed(_label_counts, pure=True)(lab_blocks[i, j], m) for (i, j), _ in at]
    members = int(np.prod(field.shape[:-2], dtype=np.int64))
    itemsize = field.dtype.itemsize + (0 if weights is None else 8)
    ok = dask.delayed(_check_groups, pure=True)(counts, parents, nested, members, itemsize, memory_limit())
    if weights is not None:
        weights = da.asarray(weights)
        weights = weights.rechunk(field.chunks[field.ndim - weights.ndim :])
    field_blocks, w_blocks = _reads(field), None if weights is None else _reads(weights)
    nx = network.shape[1]
    out = np.empty((*field.numblocks[:-2], 1), object)
    for batch in np.ndindex(field.numblocks[:-2]):
        parts = []
        for (i, j), origin in at:
            w = None if w_blocks is None else w_blocks[(i, j) if weights.ndim == 2 else (*batch, i, j)]
            parts.append(
                dask.delayed(_group, pure=True)(
                    lab_blocks[i, j], field_blocks[(*batch, i, j)], w, origin, nx, ok
                )
            )
        shape = tuple(c[k] for c, k in zip(field.chunks, batch, strict=False))
        block = dask.delayed(_groups_reduce, pure=True)(
            parents, cells, shape, weights is not None and weights.ndim == 2, reduce, *parts
        )
        full = ((n_q,) if n_q is not None else ()) + shape + (m,)
        out[(*batch, 0)] = da.from_delayed(block, full, dtype=dtype, meta=np.empty((0,) * len(full), dtype))
    return _block(out, n_q is not None)


def _label_counts(labels, m) -> np.ndarray:
    """How many cells of a tile lie in each location's own area."""
    return np.bincount(np.asarray(labels).reshape(-1), minlength=m + 1)[1:]


def _check_groups(counts, parents, nested, members, itemsize, limit) -> bool:
    """``MemoryError`` when the gathered values (each repeated per location downstream of
    it unless ``nested``) exceed ``limit`` bytes."""
    own = np.sum(counts, axis=0)
    total = own.copy()
    if not nested:  # a location's area counts again in every location downstream of it
        parent = np.asarray(parents, np.int64) - 1
        repeats = np.ones(own.size, np.int64)
        for k in range(own.size):
            p, seen = parent[k], 0
            while 0 <= p < own.size and seen <= own.size:
                repeats[k] += 1
                p, seen = parent[p], seen + 1
        total = own * repeats
    need = int(own.sum()) * members * (itemsize + 12) + int(total.sum()) * members * 4 * (itemsize + 8)
    if need > limit:
        raise MemoryError(
            f"catchment_statistics of an order statistic on this tiled network needs about {need:,} bytes "
            f"({need / 2**30:.2f} GiB: every catchment's values gathered), more than the limit of "
            f"{limit:,} bytes. Raise it with xhydro_accessor.set_options(tiled_order_memory=<bytes>), "
            "or gather the network into memory (xhydro_accessor.backends.tiled.gather(network))"
        )
    return True


def _group(labels, x, w, origin, nx, ok) -> tuple:
    """A tile's labelled cells: ``(labels, global flat indices, values, weights)``."""
    wd = np.shape(labels)[-1]
    labels = np.asarray(labels).reshape(-1)
    cells = np.flatnonzero(labels)
    x, w = _members(x, w, labels.size)
    gid = (origin[0] + cells // wd) * nx + origin[1] + cells % wd
    return labels[cells], gid, x[:, cells], None if w is None else w[:, cells]


def _groups_reduce(parents, cells, shape, grid_weights, reduce, *parts):
    """All tiles' groups as one vector network (each cell into its location's cell, each
    location's cell into its parent's), reduced by the caller's ``reduce``."""
    labels = np.concatenate([p[0] for p in parts])
    gid = np.concatenate([p[1] for p in parts])
    x = np.concatenate([p[2] for p in parts], axis=1)
    w = None if parts[0][3] is None else np.concatenate([p[3] for p in parts], axis=1)
    is_hub = gid == cells[labels - 1]
    hubs = np.empty(cells.size, np.int64)
    hubs[labels[is_hub] - 1] = np.flatnonzero(is_hub)
    down = hubs[labels - 1]
    parent = np.asarray(parents, np.int64)
    has = (parent >= 1) & (parent <= cells.size)
    down[hubs] = np.where(has, hubs[np.clip(parent - 1, 0, cells.size - 1)], -1)
    x = x.reshape(shape + (labels.size,))
    if w is not None:
        w = w.reshape(((1,) if grid_weights else shape) + (labels.size,))
        w = w[0] if grid_weights else w
    return reduce(x, w, down, hubs)
