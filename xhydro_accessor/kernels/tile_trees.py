"""Compressed trees of a tile, for stream order on a spatially tiled network.

Strahler order is not a sum: a cell's order is ``F(m, n)`` of the state merged at it,
``m`` the largest order flowing in and ``n`` how many inflows bring it (only
``n >= 2`` matters): 1 at a source (``m = 0``), ``m + 1`` when ``n >= 2``, else
``m``. Inside a tile only the cells downstream of an *entry* (a cell that
another tile flows into) wait on other tiles: each tile keeps those cells as a
*compressed tree* whose nodes are its entries, its exits and the confluences
of two or more entry paths (at most one fewer than the entries), each node with
its *side state* (the merged orders of the inflows whose upstream lies wholly in
the tile) and with the step to its next node as a table ``f[o]``, ``o = 0..K``:
the order arriving at the next node given order ``o`` at this one, composed cell
by cell along the chain between them. :func:`solve` evaluates every tile's trees,
linked exit to entry, in one topological pass.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _order(m, n):
    """A cell's order from the largest inflowing order ``m`` and how many bring it."""
    return 1 if m == 0 else m + (n >= 2)


@numba.njit(cache=True, nogil=True)
def _merge(top, count, i, o, k):
    """Merge ``k`` inflows of order ``o`` into cell ``i``'s state (``count`` capped at 2)."""
    if o > top[i]:
        top[i], count[i] = o, min(k, 2)
    elif o == top[i] and o > 0:
        count[i] = min(count[i] + k, 2)


@numba.njit(cache=True, nogil=True)
def compress(nodes, to, size, entries, exits, k_max):
    """The compressed tree of one tile (local indices; ``nodes``/``to`` its topological
    order and downstream cells, EXIT/-1 for leaving the tile/outlets).

    Returns ``(cells, down, table, top, count, entry_at, exit_at)``: the tree's nodes
    (ascending local cells), each node's next node (-1: none in the tile), its step
    table ``(nodes, k_max + 1)`` (uint8, orders capped at ``k_max``), its side state,
    and the node of each entry and exit.
    """
    top = np.zeros(size, np.uint8)
    count = np.zeros(size, np.uint8)
    tainted = np.zeros(size, np.bool_)  # downstream of an entry: waits on other tiles
    inflows = np.zeros(size, np.uint8)  # tainted inflows, capped at 2
    down = np.full(size, -2, np.int64)
    is_node = np.zeros(size, np.bool_)
    for e in entries:
        tainted[e] = is_node[e] = True
    for x in exits:
        is_node[x] = True
    for k in range(nodes.size):
        i, d = nodes[k], to[k]
        down[i] = d
        if d < 0:
            continue
        if tainted[i]:
            tainted[d] = True
            inflows[d] = min(inflows[d] + 1, 2)
        else:
            _merge(top, count, d, min(_order(top[i], count[i]), k_max), 1)
    for k in range(nodes.size):
        i = nodes[k]
        if inflows[i] >= 2:
            is_node[i] = True
    cells = np.flatnonzero(is_node)
    index = np.full(size, -1, np.int64)
    index[cells] = np.arange(cells.size)
    next_node = np.full(cells.size, -1, np.int64)
    table = np.empty((cells.size, k_max + 1), np.uint8)
    for j in range(cells.size):
        for o in range(k_max + 1):
            table[j, o] = o
        c = down[cells[j]]
        while c >= 0 and not is_node[c]:  # a chain cell: one tainted inflow and its side state
            for o in range(k_max + 1):
                x = table[j, o]
                m, n = top[c], count[c]
                if x > m:
                    m, n = x, 1
                elif x == m and x > 0:
                    n += 1
                table[j, o] = min(_order(m, n), k_max)
            c = down[c]
        if c >= 0:
            next_node[j] = index[c]
    return cells, next_node, table, top[cells], count[cells], index[entries], index[exits]


@numba.njit(cache=True, nogil=True)
def solve(order, to, table, is_exit, top, count, k_max):
    """Evaluate the linked trees in topological ``order`` (``to``: each node's next node,
    an exit's the entry it flows into); ``top``/``count`` (the side states) become each
    node's merged state. Returns the state entering each node from other tiles."""
    ext_top = np.zeros(top.size, np.uint8)
    ext_count = np.zeros(top.size, np.uint8)
    for k in range(order.size):
        i, d = order[k], to[k]
        if d < 0:
            continue
        o = table[i, min(_order(top[i], count[i]), k_max)]
        _merge(top, count, d, o, 1)
        if is_exit[i]:
            _merge(ext_top, ext_count, d, o, 1)
    return ext_top, ext_count


@numba.njit(cache=True, nogil=True)
def inject(entries, ext_top, ext_count, top, count):
    """Merge the states entering a tile at its ``entries`` into ``top``/``count``."""
    for j in range(entries.size):
        _merge(top, count, entries[j], ext_top[j], ext_count[j])
