"""A tile's cells grouped by the exit their in-tile path leaves by (numba, CPU).

Pass 1 of an upstream accumulation on tiles needs only each exit's state: the
reduction over the cells whose in-tile path leaves by that exit. With the groups kept
(:func:`exit_groups`, once per tile) pass 1 reduces each group instead of passing over
the whole tile in topological order: no order to follow, the cells of a group read in
ascending order (:func:`sum_by_group`), the cells draining to outlets inside the tile
not read at all. ``nodes``/``to`` are the tile's topological order and each cell's
local downstream index (:mod:`.tiles`: -1 outlet, :data:`~.tiles.EXIT` leaves the tile).
"""

import numba
import numpy as np

from .labels import counting_order


@numba.njit(cache=True, nogil=True)
def exit_groups(nodes, to, exits, size):
    """The cells of a tile of ``size`` cells grouped by exit: ``(cells, starts)``, the
    cells whose path leaves by ``exits[e]`` being ``cells[starts[e]:starts[e + 1]]``,
    ascending; the cells whose path ends in the tile are in no group.

    Examples
    --------
    >>> import numpy as np
    >>> nodes, to = np.array([0, 2, 1, 3]), np.array([1, 3, -3, -3])  # 0 -> 1 -> exit, 2 -> 3 -> exit
    >>> cells, starts = exit_groups(nodes, to, np.array([3, 1]), 5)
    >>> cells.tolist(), starts.tolist()
    ([2, 3, 0, 1], [0, 2, 4])
    """
    label = np.full(size, -1, np.int64)
    for e in range(exits.size):
        label[exits[e]] = e
    for step in range(nodes.size):  # downstream first: a cell takes its downstream cell's exit
        k = nodes.size - 1 - step
        if to[k] >= 0:
            label[nodes[k]] = label[to[k]]
    cells, starts = counting_order(label, exits.size)
    return cells.astype(nodes.dtype), starts


@numba.njit(cache=True, nogil=True)
def sum_by_group(x, cells, starts, out):
    """``out[e] += x[cells[starts[e]:starts[e + 1]]].sum()`` for each group ``e``, in ``out``'s
    dtype (an upstream sum's exit states straight from a flat field: one member, no weights).

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros(2)
    >>> sum_by_group(np.array([1.0, 2.0, 4.0, 8.0]), np.array([2, 3, 0, 1]), np.array([0, 2, 4]), out)
    >>> out.tolist()
    [12.0, 3.0]
    """
    for e in range(out.size):
        acc = out[e]
        for k in range(starts[e], starts[e + 1]):
            acc += x[cells[k]]
        out[e] = acc


def group_labels(starts: np.ndarray, dtype) -> np.ndarray:
    """Each grouped cell's group (``cells``' positions to group indices), for the passes'
    ``to`` argument.

    Examples
    --------
    >>> group_labels(np.array([0, 2, 2, 3]), np.int32).tolist()
    [0, 0, 2]
    """
    return np.repeat(np.arange(starts.size - 1, dtype=dtype), np.diff(starts))
