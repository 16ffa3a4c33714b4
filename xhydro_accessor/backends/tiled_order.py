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

Hack order (:func:`hack`) needs no trees: which inflow is a confluence's main stem
depends on the inflows' upstream cells only (a one-cell halo around the tiled
accumulation), and the order is 1 plus the number of side branches on the path to
the outlet (a path length, :func:`~xhydro_accessor.backends.tiled_catalogue.paths`).

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
from ..tiling import TiledNetwork
from .tiled import assemble, run, tile_shapes, tile_topologies
from .tiled_catalogue import paths


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
    blocks = [
        dask.delayed(_pass2, pure=True)(tiles[t], solved, t, graph["entries_local"][t], shape)
        for t, shape in enumerate(tile_shapes(network))
    ]
    return assemble(network, blocks, np.int32)


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


def hack(network: TiledNetwork) -> da.Array:
    """Hack order of every cell of a tiled network, lazily (int32, off-network cells hold
    ``fill_value(np.int32)``), chunked like its tiles: equal to
    :func:`xhydro_accessor.hydrology.stream_order.hack` of the gathered network.

    The main stem into each cell is its inflow of most upstream cells, the smallest flat
    index among ties: the upstream cells (a tiled accumulation), their largest among
    each cell's siblings (the inflows of its downstream cell: a move down and back up,
    one-cell halos), then the smallest flat index among the siblings that have it (two
    more moves). A cell off its downstream cell's main stem is a side branch; the order
    is 1 plus the side branches on the path to the outlet (a path length).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from xhydro_accessor import RiverNetwork
    >>> codes = np.array([[6, 6, 2], [6, 6, 5]])  # a 3-cell stem and a 1-cell tributary meet at the pit
    >>> hack(RiverNetwork.from_ldd(da.from_array(codes, chunks=1))).compute()
    array([[1, 1, 1],
           [2, 2, 1]], dtype=int32)
    """
    low, high = np.iinfo(np.int64).min, np.iinfo(np.int64).max  # low: the moves' and sums' fill

    def siblings(field: da.Array, how: str) -> Any:  # ``how`` over the inflows of each cell's downstream cell
        return run(network, "move_upstream", run(network, "move_downstream", field, how, None, False), "max",
                   None, False)  # fmt: skip

    ny, nx = network.shape
    rows = da.from_array(np.arange(ny, dtype=np.int64) * nx, chunks=(network.chunks[0],))
    flat = rows[:, None] + da.from_array(np.arange(nx, dtype=np.int64), chunks=(network.chunks[1],))
    ones = da.ones(network.shape, dtype=np.int64, chunks=network.chunks)
    cells: Any = run(network, "accumulate", ones, "sum", None, False)
    top = siblings(cells, "max")
    first = siblings(da.where(cells == top, flat, high), "min")
    side = (top != low) & (flat != first)  # not an outlet, and not its downstream cell's main stem
    # the side branches down to the outlet: a path length (exact: sums of 0 and 1), not run()'s
    # accumulate_downstream, whose pass 2 would compute its field's whole graph again in each tile
    order = paths(network, side.astype(np.float64), "outlets", per_cell=False, is_max=False, pull=True)
    return da.where(cells == low, fill_value(np.int32), order + 1).astype(np.int32)
