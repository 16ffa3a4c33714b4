"""Stream order on a spatially tiled network (Barnes 2017): exact, lazy, a fixed number of passes.

Strahler order is not a sum, so the tiles cannot just pass states along as an
accumulation does (:mod:`.tiled`): what a river carries out of a tile is a
*function* of the orders flowing into it. Pass 1 reduces each tile to a
compressed tree (:func:`~xhydro_accessor.kernels.tile_trees.compress`): its
entries, exits and the confluences of entry paths, each step between them a
lookup table of the order it carries given the order coming in — its size is
that of the tile's perimeter, not the tile. One small task links all tiles'
trees through the perimeter graph (an exit to the entry it flows into) and
evaluates them in topological order (:func:`~xhydro_accessor.kernels.tile_trees.solve`):
the orders entering every tile. Pass 2 is the in-memory Strahler pass over each
tile with those orders added at its entries. The result is chunked like the
tiles, int32, equal to :func:`xhydro_accessor.strahler` of the gathered network.
:func:`distance_to_source` (longest or shortest path up to a source) runs the same
three steps on max-plus (min-plus) sums.

Examples
--------
>>> import numpy as np, dask.array as da
>>> from xhydro_accessor import RiverNetwork, strahler
>>> codes = np.array([[3, 2, 2, 1], [6, 3, 2, 4], [6, 6, 5, 4]])  # two order-2 rivers meet at the pit
>>> net = RiverNetwork.from_ldd(da.from_array(codes, chunks=2))  # ...in a third tile
>>> strahler(net).compute()
array([[1, 1, 1, 1],
       [1, 2, 2, 1],
       [1, 1, 3, 1]], dtype=int32)
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np

from ..kernels import tile_trees
from ..kernels.order import strahler_pass
from ..kernels.topology import topological_order
from ..operations import fill_value
from ..tiling import TiledNetwork, origins
from .tiled import tile_topologies


def strahler(network: TiledNetwork) -> da.Array:
    """Strahler order of every cell of a tiled network, lazily (int32, off-network cells
    hold ``fill_value(np.int32)``), chunked like its tiles."""
    graph = network.graph
    k_max = max_order(network.shape)
    tiles = tile_topologies(network)
    trees = [
        dask.delayed(_compress, pure=True)(
            tiles[t], graph["entries_local"][t], graph["exits_local"][t], k_max
        )
        for t in range(network.n_tiles)
    ]
    solved = dask.delayed(_solve, pure=True)(dask.delayed(graph, pure=True, traverse=False), trees, k_max)
    return _assemble(
        network,
        lambda t, shape: dask.delayed(_pass2, pure=True)(
            tiles[t], solved, t, graph["entries_local"][t], shape
        ),
        np.int32,
    )


def _assemble(network: TiledNetwork, block: Any, dtype: Any) -> da.Array:
    """The dask array of the tasks ``block(tile, shape)``, chunked like the tiles."""
    out = np.empty((len(network.chunks[0]), len(network.chunks[1])), object)
    for t, ((i, j), _) in enumerate(origins(network.chunks)):
        shape = (network.chunks[0][i], network.chunks[1][j])
        out[i, j] = da.from_delayed(block(t, shape), shape, dtype=dtype, meta=np.empty((0, 0), dtype))
    return da.block(out.tolist())


def max_order(shape: tuple[int, ...]) -> int:
    """An upper bound of the Strahler order on a grid of ``shape``: order ``k`` needs
    ``2**(k - 1)`` sources, so at most ``log2(cells) + 1``.

    Examples
    --------
    >>> max_order((1000, 1000))  # 10**6 cells: order 20 at most
    21
    """
    return int(np.prod(shape, dtype=np.int64)).bit_length() + 1


def _compress(tile: Any, entries: np.ndarray, exits: np.ndarray, k_max: int) -> tuple:
    """Pass 1: one tile's compressed tree (:func:`~xhydro_accessor.kernels.tile_trees.compress`)."""
    mask, nodes, to = tile
    return tile_trees.compress(nodes, to, mask.size, entries.astype(np.int64), exits.astype(np.int64), k_max)


def _solve(graph: dict, trees: list, k_max: int) -> list:
    """The trees of all tiles linked exit to entry and evaluated: the state (largest
    order, how many bring it) entering each tile's entries."""
    sizes = [tree[0].size for tree in trees]
    offset = np.cumsum([0, *sizes])
    down = np.concatenate(
        [np.where(tree[1] >= 0, tree[1] + o, -1) for tree, o in zip(trees, offset, strict=False)]
    )
    table = np.concatenate([tree[2] for tree in trees]).reshape(-1, k_max + 1)
    top, count = (np.concatenate([tree[k] for tree in trees]) for k in (3, 4))
    node_of = np.full(graph["gid"].size, -1, np.int64)  # the tree node of each perimeter cell
    for t, tree in enumerate(trees):
        node_of[graph["entries_nodes"][t]] = offset[t] + tree[5]
        node_of[graph["exits_nodes"][t]] = offset[t] + tree[6]
    exits = np.flatnonzero(graph["exit"])
    is_exit = np.zeros(down.size, bool)
    is_exit[node_of[exits]] = True
    down[node_of[exits]] = node_of[graph["link"][exits]]
    order, to, _, _ = topological_order(down)
    ext_top, ext_count = tile_trees.solve(order, to, table, is_exit, top, count, k_max)
    return [(ext_top[node_of[nodes]], ext_count[node_of[nodes]]) for nodes in graph["entries_nodes"]]


def _pass2(tile: Any, solved: list, index: int, entries: np.ndarray, shape: tuple) -> np.ndarray:
    """Pass 2: the tile's Strahler pass with the orders entering it merged at its entries."""
    mask, nodes, to = tile
    order = np.full(mask.size, fill_value(np.int32), np.int32)
    top, count = np.zeros(mask.size, np.int32), np.zeros(mask.size, np.int32)
    ext_top, ext_count = solved[index]
    tile_trees.inject(entries.astype(np.int64), ext_top, ext_count, top, count)
    strahler_pass(nodes, to, order, top, count)
    return order.reshape(shape)


# ------------------------------------------------------------ distance to source
def distance_to_source(network: TiledNetwork, weights: Any, *, is_max: bool, per_cell: bool) -> da.Array:
    """Distance from each cell up to its farthest (``is_max``) or nearest source on a tiled
    network, lazily (float64, NaN off the network), chunked like its tiles: pass 1 gives
    each tile's perimeter cells their in-tile distance and their path's length to the exit
    it leaves by; the solve spreads them over the perimeter graph; pass 2 spreads each tile
    again from its sources and its entries. Equal to the in-memory distance to rounding
    (a path's length across a tile is summed apart from what flows into it).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from xhydro_accessor import RiverNetwork, distance_to_source
    >>> net = RiverNetwork.from_ldd(da.from_array(np.array([[6, 6, 2], [6, 6, 5]]), chunks=1))
    >>> distance_to_source(net, np.ones((2, 3))).compute()
    array([[0., 1., 2.],
           [0., 1., 3.]])
    """
    graph = network.graph
    weights = da.asarray(weights).astype(np.float64).rechunk(network.chunks)
    w_blocks = weights.to_delayed().ravel()
    tiles = tile_topologies(network)
    by_tile = np.argsort(graph["tile"], kind="stable")  # each tile's perimeter cells
    ends = np.cumsum(np.bincount(graph["tile"], minlength=network.n_tiles))
    ps = np.split(by_tile, ends[:-1])
    common = {"is_max": is_max, "per_cell": per_cell}
    firsts = [
        dask.delayed(_distance_pass1, pure=True)(
            tiles[t], w_blocks[t], graph["local"][ps[t]], graph["entries_local"][t], **common
        )
        for t in range(network.n_tiles)
    ]
    solved = dask.delayed(_distance_solve, pure=True)(
        dask.delayed(graph, pure=True, traverse=False), firsts, ps, **common
    )
    return _assemble(
        network,
        lambda t, shape: dask.delayed(_distance_pass2, pure=True)(
            tiles[t], w_blocks[t], solved, t, graph["entries_local"][t], shape, **common
        ),
        np.float64,
    )


def _spread_tile(tile, w, entries, seeds, *, is_max, per_cell):
    """The tile's distances from its sources (not its entries) and the ``seeds`` at its
    entries (None: none), and its flat weights."""
    from ..kernels.paths import spread_down

    mask, nodes, to = tile
    w = np.ascontiguousarray(w, np.float64).reshape(-1)
    has_up = np.zeros(mask.size, bool)
    has_up[to[to >= 0]] = True
    sources = nodes[~has_up[nodes]]
    out = np.full(mask.size, np.nan)
    out[sources] = w[sources] if per_cell else 0.0
    out[entries] = np.nan if seeds is None else seeds  # an entry's upstream lies in another tile
    spread_down(nodes, to, w, per_cell, is_max, out)
    return out, w


def _distance_pass1(tile, w, perimeter, entries, *, is_max, per_cell):
    """Pass 1: at the tile's perimeter cells, their in-tile distance, the length of their
    path to the exit it leaves by, and their weight."""
    out, w = _spread_tile(tile, w, entries, None, is_max=is_max, per_cell=per_cell)
    _, nodes, to = tile
    dist = np.full(w.size, np.nan)
    tile_trees.to_exit(nodes, to, w, per_cell, dist)
    return out[perimeter], dist[perimeter], w[perimeter]


def _distance_solve(graph, firsts, ps, *, is_max, per_cell):
    """The perimeter solve: the distance entering each tile at its entries."""
    from ..kernels.paths import spread_down

    values, lengths, w = (np.full(graph["gid"].size, np.nan) for _ in range(3))
    for p, (a, d, wp) in zip(ps, firsts, strict=True):
        values[p], lengths[p], w[p] = a, d, wp
    exit = graph["exit"]
    values[~exit] = np.nan  # the other cells' in-tile distances reach their exits already
    crossing = w[graph["link"]] if per_cell else w  # the step from an exit into its entry
    steps = np.where(exit, crossing, lengths)
    spread_down(graph["order"], graph["to"], steps, False, is_max, values)
    return [values[nodes] for nodes in graph["entries_nodes"]]


def _distance_pass2(tile, w, solved, index, entries, shape, *, is_max, per_cell):
    """Pass 2: the tile again, from its sources and with what enters it at its entries."""
    out, _ = _spread_tile(tile, w, entries, solved[index], is_max=is_max, per_cell=per_cell)
    return out.reshape(shape)
