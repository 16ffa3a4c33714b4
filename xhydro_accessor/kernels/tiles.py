"""Per-tile kernels of the tiled (Barnes 2017) network: one tile of a spatially chunked grid.

A tile sees its direction indices (0..7, 8 pit, 9 missing: :mod:`.topology`) with a
one-cell halo. Inside the tile a cell drains to a tile cell (a local flat index),
is an outlet (:data:`~.topology.OUTLET`), off the network (:data:`~.topology.OFF`)
or leaves the tile (:data:`EXIT`) into the neighbour cell ``target`` (a global flat
index). Flow off the grid or into a missing cell makes an outlet, as in
:func:`.topology.downstream_from_directions`.
"""

import numba
import numpy as np

from ..conventions import STEPS

_DROW = np.array([step[0] for step in STEPS])  # the row and column step of each direction index
_DCOL = np.array([step[1] for step in STEPS])

EXIT = -3
_UNKNOWN, _ON_PATH = -4, -5  # exit_labels' marks


@numba.njit(cache=True, nogil=True)
def tile_down(ext, r0, c0, ny, nx, wrap_cols, wrap_rows, down, target):
    """Local downstream index ``down`` and exit target ``target`` (global, -1 none) of
    each cell of the tile at ``(r0, c0)`` of an ``(ny, nx)`` grid; ``ext`` is the tile's
    direction indices with a one-cell halo (9 beyond the grid unless wrapped). An empty
    ``target`` is not filled (the passes need no targets)."""
    h, w = ext.shape[0] - 2, ext.shape[1] - 2
    targets = target.size > 0
    for r in range(h):
        inner = 0 < r < h - 1
        for c in range(w):
            i = r * w + c
            code = ext[r + 1, c + 1]
            if inner and 0 < c < w - 1 and code < 8:  # its neighbour is in the tile: ~0.55x the time
                dr, dc = _DROW[code], _DCOL[code]
                down[i] = -1 if ext[r + 1 + dr, c + 1 + dc] == 9 else i + dr * w + dc
                if targets:
                    target[i] = -1
            else:
                down[i], to = _link(ext, r, c, r0, c0, ny, nx, wrap_cols, wrap_rows)
                if targets:
                    target[i] = to


@numba.njit(cache=True, nogil=True, inline="always")
def _link(ext, r, c, r0, c0, ny, nx, wrap_cols, wrap_rows):
    """:func:`tile_down`'s ``(down, target)`` of the tile's cell ``(r, c)``."""
    h, w = ext.shape[0] - 2, ext.shape[1] - 2
    code = ext[r + 1, c + 1]
    if code >= 8:
        return (-1 if code == 8 else -2), -1
    dr, dc = _DROW[code], _DCOL[code]
    R, C = r0 + r + dr, c0 + c + dc
    if wrap_cols:
        C = (C + nx) % nx
    if wrap_rows:
        R = (R + ny) % ny
    if R < 0 or R >= ny or C < 0 or C >= nx or ext[r + 1 + dr, c + 1 + dc] == 9:
        return -1, -1
    if r0 <= R < r0 + h and c0 <= C < c0 + w:
        return (R - r0) * w + (C - c0), -1
    return EXIT, R * nx + C


@numba.njit(cache=True, nogil=True)
def halo_down(ext, down):
    """Local downstream index over the whole halo'ed block ``ext`` (flow out of the block
    or into a missing cell: an outlet): right for the inner cells' neighbours, for moves."""
    h, w = ext.shape
    for r in range(h):
        for c in range(w):
            i = r * w + c
            code = ext[r, c]
            if code >= 8:
                down[i] = -1 if code == 8 else -2
                continue
            r2, c2 = r + _DROW[code], c + _DCOL[code]
            if r2 < 0 or r2 >= h or c2 < 0 or c2 >= w or ext[r2, c2] == 9:
                down[i] = -1
            else:
                down[i] = r2 * w + c2


@numba.njit(cache=True, nogil=True)
def exit_labels(down, label, values, sums):
    """Number the tile's exit cells and ``label`` each cell with the number of the exit
    its in-tile path leaves by (``down`` as :func:`tile_down`'s), -1 when the path ends
    in the tile (and off the network, on a cycle). Each cell is labelled once: a path is
    followed down to the first cell known, then labelled with what that cell leads to
    (no order, no in-degrees). Unless empty, ``sums[k]`` (zeros, one per cell) adds the
    ``values`` of the cells leaving by exit ``k``, itself included: the exits' states of
    an upstream sum. Returns the exit cells by number, the number of cycles, of cells on
    them, and the smallest cell on one (-1: none)."""
    add = values.size > 0
    label[:] = _UNKNOWN
    exits = np.empty(down.size, down.dtype)
    n_exits = 0
    cycles, on_cycles, first = 0, 0, -1
    for i in range(down.size):
        j = i
        while label[j] == _UNKNOWN:  # down the path to a cell known, an exit or an end
            d = down[j]
            if d == EXIT:
                label[j] = n_exits
                exits[n_exits] = j
                n_exits += 1
            elif d < 0:
                label[j] = -1
            else:
                label[j] = _ON_PATH
                j = d
        if label[j] == _ON_PATH:  # the path runs into itself at j: a cycle
            cycles += 1
            while label[j] == _ON_PATH:
                label[j] = -1
                on_cycles += 1
                first = j if first < 0 else min(first, j)
                j = down[j]
        end = label[j]
        j = i
        while label[j] == _ON_PATH:
            label[j] = end
            j = down[j]
        if add and end >= 0:
            sums[end] += values[i]
    return exits[:n_exits], cycles, on_cycles, first


@numba.njit(cache=True, nogil=True)
def exit_path(down, i):
    """The cells on cell ``i``'s in-tile path up to its end (inclusive), and the smallest."""
    cells, least = 1, i
    while down[i] >= 0:
        i = down[i]
        cells += 1
        least = min(least, i)
    return cells, least


@numba.njit(cache=True, nogil=True)
def tile_order(down, in_degree, lanes):
    """A topological order of one tile's cells (``down`` local, -2 off the network) and
    each one's downstream cell: ``(nodes, to)``, as :func:`.topology.topological_order`
    but ``lanes`` rivers walked side by side (a walk chases pointers: the lanes' memory
    loads overlap, ~2x faster on a 4096² tile) and without the levels. ``in_degree``
    (zeros, int8 holds D8's at most 8) is left -1 on the emitted cells, > 0 on cycles."""
    n = down.size
    nodes = np.empty(n, down.dtype)
    to = np.empty(n, down.dtype)
    for i in range(n):
        if down[i] >= 0:
            in_degree[down[i]] += 1
    cur = np.full(lanes, -1, np.int64)
    k = 0
    i = 0
    busy = True
    while busy:
        busy = False
        for lane in range(lanes):
            j = cur[lane]
            if j < 0:  # the next source of the scan
                while i < n and (in_degree[i] != 0 or down[i] == -2):
                    i += 1
                if i == n:
                    continue
                j = i
                in_degree[j] = -1
                i += 1
            busy = True
            d = down[j]
            nodes[k] = j
            to[k] = d
            k += 1
            cur[lane] = -1
            if d >= 0:
                in_degree[d] -= 1
                if in_degree[d] == 0:  # its last upstream branch: the walk goes on
                    in_degree[d] = -1
                    cur[lane] = d
    return nodes[:k], to[:k]


@numba.njit(cache=True, nogil=True)
def upstream_sum(down, values):
    """Add each cell's ``values`` into its downstream cell's, upstream cells first
    (``down`` as :func:`tile_down`'s; no cycles): one member's accumulation over a
    tile. The order: each cell's path followed down to the first cell seen, recorded
    downstream first (no in-degrees, ~0.4-0.8x the time of :func:`tile_order`'s walk on
    a 4096² tile); then read backwards."""
    order = np.empty(down.size, down.dtype)
    seen = np.zeros(down.size, np.bool_)
    k = 0
    for i in range(down.size):
        start, j = k, i
        while not seen[j] and down[j] != -2:
            seen[j] = True
            order[k] = j
            k += 1
            if down[j] < 0:
                break
            j = down[j]
        a, b = start, k - 1
        while a < b:  # the path downstream first
            order[a], order[b] = order[b], order[a]
            a += 1
            b -= 1
    for m in range(k - 1, -1, -1):
        j = order[m]
        if down[j] >= 0:
            values[down[j]] += values[j]
