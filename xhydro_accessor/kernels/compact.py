"""Build a network in memory proportional to the river, not the grid.

The grid is seen through a bit per cell (on the network or not) and a running
count per 64-bit word of those bits: 1/4 byte per grid cell. Network cells are
numbered in row-major order (their *compact* index, the rank of their bit);
the topology is built on compact indices (arrays of network cells only) and
turned into flat grid indices at the end.
The order of the cells is the one :func:`.topology.topological_order` gives on
the whole grid: both scan the cells row-major.
"""

import numba
import numpy as np

PIT = 8
MISSING = 9


@numba.njit(cache=True, nogil=True, inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(cache=True, nogil=True, inline="always")
def _is_set(bits, i):
    return (bits[i >> 6] >> np.uint64(i & 63)) & np.uint64(1) != np.uint64(0)


@numba.njit(cache=True, nogil=True, inline="always")
def _rank(bits, prefix, i):
    """Compact index of the network cell at flat index ``i``."""
    below = bits[i >> 6] & ((np.uint64(1) << np.uint64(i & 63)) - np.uint64(1))
    return prefix[i >> 6] + _popcount(below)


@numba.njit(cache=True, nogil=True)
def mark_directions(direction, start, bits):
    """Set the bit of every non-missing cell of a block of direction indices whose first
    cell has flat index ``start``; return how many there are."""
    flat = direction.reshape(-1)
    count = 0
    for j in range(flat.size):
        if flat[j] != MISSING:
            i = start + j
            bits[i >> 6] |= np.uint64(1) << np.uint64(i & 63)
            count += 1
    return count


@numba.njit(cache=True, nogil=True)
def mark_down(down, bits):
    """Set the bit of every cell of a flat downstream grid that is on the network (>= -1)."""
    count = 0
    for i in range(down.size):
        if down[i] >= -1:
            bits[i >> 6] |= np.uint64(1) << np.uint64(i & 63)
            count += 1
    return count


@numba.njit(cache=True, nogil=True)
def word_prefix(bits):
    """Number of set bits before each word (and the total, last)."""
    prefix = np.empty(bits.size + 1, np.int64)
    total = 0
    for w in range(bits.size):
        prefix[w] = total
        total += _popcount(bits[w])
    prefix[bits.size] = total
    return prefix


@numba.njit(cache=True, nogil=True)
def compact_directions(direction, row0, ny, nx, wrap_x, wrap_rows, bits, prefix, k, down):
    """Compact downstream index of each network cell of a block of rows (from ``row0``)
    of direction indices, written to ``down`` from position ``k``; returns the next
    position. The rules of :func:`.topology.downstream_from_directions`: flow leaving
    the grid or entering a missing cell makes an outlet (-1)."""
    rows = direction.shape[0]
    for rr in range(rows):
        r = row0 + rr
        for c in range(nx):
            code = direction[rr, c]
            if code == MISSING:
                continue
            target = -1
            if code != PIT:
                r2 = r + (0, 1, 1, 1, 0, -1, -1, -1)[code]
                c2 = c + (1, 1, 0, -1, -1, -1, 0, 1)[code]
                if wrap_x:
                    c2 = (c2 + nx) % nx
                if wrap_rows:
                    r2 = (r2 + ny) % ny
                if 0 <= r2 < ny and 0 <= c2 < nx:
                    i2 = r2 * nx + c2
                    if _is_set(bits, i2):
                        target = _rank(bits, prefix, i2)
            down[k] = target
            k += 1
    return k


@numba.njit(cache=True, nogil=True)
def compact_down(down, bits, prefix, out):
    """Compact downstream index of each network cell of a flat downstream grid (-1 at
    outlets). Returns the first cell draining into a cell off the network, or -1."""
    k = 0
    for i in range(down.size):
        d = down[i]
        if d >= -1:
            if d >= 0 and not _is_set(bits, d):
                return i
            out[k] = -1 if d < 0 else _rank(bits, prefix, d)
            k += 1
    return -1


@numba.njit(cache=True, nogil=True)
def not_targets(nodes, to, size):
    """The cells of ``nodes`` that no cell drains into (in the order of ``nodes``)."""
    bits = np.zeros((size + 63) // 64, np.uint64)
    for k in range(to.size):
        if to[k] >= 0:
            bits[to[k] >> 6] |= np.uint64(1) << np.uint64(to[k] & 63)
    found = np.empty(nodes.size, np.int64)
    n = 0
    for k in range(nodes.size):
        if not _is_set(bits, nodes[k]):
            found[n] = nodes[k]
            n += 1
    return found[:n]


@numba.njit(cache=True, nogil=True)
def flat_indices(bits, itype):
    """The flat grid index of every network cell (of every set bit), in order."""
    total = 0
    for w in range(bits.size):
        total += _popcount(bits[w])
    out = np.empty(total, itype)
    k = 0
    for w in range(bits.size):
        word = bits[w]
        while word != np.uint64(0):
            low = word & (~word + np.uint64(1))
            out[k] = (w << 6) + _popcount(low - np.uint64(1))
            word ^= low
            k += 1
    return out


@numba.njit(cache=True, nogil=True)
def gather(table, values, out):
    """``out[k] = table[values[k]]`` (negative values kept); ``out`` may be ``values``."""
    for k in range(values.size):
        out[k] = values[k] if values[k] < 0 else table[values[k]]


@numba.njit(cache=True, nogil=True)
def topological_order(down, in_degree, emitted):
    """Order the network cells so every cell comes after all its upstream cells.

    Scans the cells in order (row-major on a grid); from each source it follows the
    river downstream, emitting cells, until it reaches a confluence still waiting for
    another branch. Consecutive cells are thus mostly neighbours along a river, which
    keeps the later passes cache-friendly. Cells with ``down`` -2 are off the network.

    ``in_degree`` (zeros, of a dtype holding the largest in-degree and ``emitted``) is
    left holding ``emitted`` on the emitted cells: the others are on cycles. Returns
    ``(order, n_levels)``: the cells in order and the number of cells on the longest
    flow path. ``order`` misses the cells of cycles (and only those).
    """
    n = down.size
    for i in range(n):
        if down[i] >= 0:
            in_degree[down[i]] += 1
    order = np.empty(n, down.dtype)
    level = np.zeros(n, down.dtype)
    k = 0
    top = -1
    for i in range(n):
        if in_degree[i] != 0 or down[i] == -2:
            continue
        j = i
        while True:
            in_degree[j] = emitted
            d = down[j]
            order[k] = j
            k += 1
            if d < 0:
                top = max(top, level[j])
                break
            level[d] = max(level[d], level[j] + 1)
            in_degree[d] -= 1
            if in_degree[d] != 0:
                break
            j = d
    return order[:k], top + 1


@numba.njit(cache=True, nogil=True)
def cycle_starts(down, in_degree, emitted):
    """First cell of each cycle (cells left with ``0 < in_degree != emitted``)."""
    visited = np.zeros(down.size, np.uint8)
    firsts = []
    for i in range(down.size):
        if in_degree[i] != 0 and in_degree[i] != emitted and visited[i] == 0:
            firsts.append(i)
            j = i
            while visited[j] == 0:
                visited[j] = 1
                j = down[j]
    return np.array(firsts, np.int64)
