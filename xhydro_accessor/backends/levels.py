"""Level order of a network, and its conversion to an array library and device.

The *level* of a cell is the length of the longest path reaching it from a
source (sources are level 0), so every cell's upstream cells sit on lower levels.
Level-synchronous kernels (GPU, jax, any Array API library) process one level at
a time. Both the numpy level order and each library's copy of the index arrays
are computed once and cached with ``network.cached``.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from ..network import RiverNetwork


@dataclass(frozen=True)
class Levels:
    """Edges ``child -> parent`` (flat grid indices) grouped by the child's level.

    ``levels[l]`` holds the edges whose child is on level ``l`` (outlets have no
    edge); ``edges`` all of them; ``parents[l]`` the distinct parents of level
    ``l``. The masks are over the flat grid: on the network, having a downstream
    cell, having an upstream cell.
    """

    levels: list[tuple[Any, Any]]
    parents: list[Any]
    edges: tuple[Any, Any]
    all_parents: Any
    mask: Any
    has_down: Any
    has_up: Any


def level_order(network: RiverNetwork) -> Levels:
    """The network's edges by level as numpy arrays, computed once in O(n log n).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> [(c.tolist(), p.tolist()) for c, p in level_order(net).levels]
    [([0], [1]), ([1], [2])]
    """
    return network.cached("xhydro_accessor.levels", lambda: _level_order(network))


def _level_order(network: RiverNetwork) -> Levels:
    nodes = network.nodes.astype(np.int64)
    to = network.downstream.astype(np.int64)
    size = prod(network.shape)
    position = np.full(size, -1, np.int64)
    position[nodes] = np.arange(nodes.size)
    parent = np.where(to >= 0, position[np.maximum(to, 0)], -1)  # positions in ``nodes``
    waiting = np.bincount(parent[parent >= 0], minlength=nodes.size)
    level = np.zeros(nodes.size, np.int64)
    frontier = np.flatnonzero(waiting == 0)
    depth = 0
    while frontier.size:  # peel sources level by level: O(n log n) in numpy
        level[frontier] = depth
        up = parent[frontier]
        up = up[up >= 0]
        np.subtract.at(waiting, up, 1)
        up = np.unique(up)
        frontier = up[waiting[up] == 0]
        depth += 1
    order = np.argsort(level, kind="stable")
    order = order[to[order] >= 0]
    bounds = np.searchsorted(level[order], np.arange(depth + 1))
    child, down = nodes[order], to[order]
    levels = [(child[a:b], down[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    levels = [edge for edge in levels if edge[0].size]
    mask = network.mask.reshape(-1)
    has_down = np.zeros(size, bool)
    has_down[child] = True
    has_up = np.zeros(size, bool)
    has_up[down] = True
    return Levels(
        levels, [np.unique(p) for _, p in levels], (child, down), np.unique(down), mask, has_down, has_up
    )


def converted(network: RiverNetwork, ops: Any) -> Levels:
    """:func:`level_order` in the library and on the device of ``ops``, cached.

    ``ops`` (a :class:`~xhydro_accessor.backends.scatter.Scatter`) names the library
    and device in ``ops.key`` and converts index arrays with ``ops.index`` and
    masks with ``ops.asarray``.
    """

    def convert() -> Levels:
        lv = level_order(network)
        index = ops.index
        return Levels(
            [(index(c), index(p)) for c, p in lv.levels],
            [index(p) for p in lv.parents],
            (index(lv.edges[0]), index(lv.edges[1])),
            index(lv.all_parents),
            ops.asarray(lv.mask),
            ops.asarray(lv.has_down),
            ops.asarray(lv.has_up),
        )

    return network.cached(("xhydro_accessor.levels", *ops.key), convert)
