"""The cells of a tile below its entries (numba, CPU).

An upstream accumulation on a persisted tile keeps pass 1's state of the whole tile
(each cell reduced over its upstream cells inside the tile); pass 2 then changes only
the cells whose in-tile path comes from an entry, merging into each the inflows of the
entries above it. :func:`below_entries` finds those cells once per tile: the union of
the entries' in-tile paths, in topological order, with its links. ``nodes``/``to`` are
the tile's topological order (upstream first) and each cell's local downstream index
(:mod:`.tiles`: -1 outlet, :data:`~.tiles.EXIT` leaves the tile).
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def below_entries(nodes, to, entries, size):
    """The cells on the in-tile paths from ``entries`` (local indices, in a tile of ``size``
    cells): ``(cells, link_from, link_to, entry_at)``, ``cells`` in topological order,
    each link ``cells[link_from[k]] -> cells[link_to[k]]`` (positions in ``cells``,
    upstream first), ``entry_at[e]`` the position of ``entries[e]``. A cell below several
    entries is listed once.

    Examples
    --------
    >>> import numpy as np
    >>> nodes, to = np.array([0, 2, 1, 3, 4]), np.array([1, 3, 3, -3, -1])  # 0 -> 1 -> 3, 2 -> 3 -> exit
    >>> cells, link_from, link_to, entry_at = below_entries(nodes, to, np.array([2, 1, 2]), 5)
    >>> cells.tolist(), link_from.tolist(), link_to.tolist(), entry_at.tolist()
    ([2, 1, 3], [0, 1], [2, 2], [0, 1, 0])
    """
    down = np.full(size, -2, np.int64)
    for k in range(nodes.size):
        down[nodes[k]] = to[k]
    on = np.zeros(size, np.bool_)
    for e in range(entries.size):  # each path until it leaves, ends, or joins one walked
        c = np.int64(entries[e])
        while c >= 0 and not on[c]:
            on[c] = True
            c = down[c]
    at = np.full(size, -1, np.int64)
    n = links = 0
    for k in range(nodes.size):
        if on[nodes[k]]:
            at[nodes[k]] = n
            n += 1
            links += to[k] >= 0
    cells = np.empty(n, nodes.dtype)
    link_from, link_to = np.empty(links, nodes.dtype), np.empty(links, nodes.dtype)
    links = 0
    for k in range(nodes.size):
        i = nodes[k]
        if on[i]:
            cells[at[i]] = i
            if to[k] >= 0:
                link_from[links], link_to[links] = at[i], at[to[k]]
                links += 1
    entry_at = np.empty(entries.size, nodes.dtype)
    for e in range(entries.size):
        entry_at[e] = at[entries[e]]
    return cells, link_from, link_to, entry_at
