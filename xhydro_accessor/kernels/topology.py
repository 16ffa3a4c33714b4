"""Build the topological order of a network from its downstream pointers.

A network is given as ``down``: for each cell of a flat grid, the flat index of
the cell it drains to, :data:`OUTLET` (-1) for an outlet or :data:`OFF` (-2) for a
cell that is not on the network. Everything here is O(n).
"""

import numba
import numpy as np

OUTLET = -1
OFF = -2
_DROW = np.array([0, 1, 1, 1, 0, -1, -1, -1])
_DCOL = np.array([1, 1, 0, -1, -1, -1, 0, 1])


@numba.njit(cache=True, nogil=True)
def downstream_from_directions(direction, wrap_x, down, wrap_rows=False):
    """Flat downstream index of each cell of a grid of direction indices.

    ``direction`` holds 0..7 (an index into ``conventions.STEPS``), 8 (pit) or
    9 (missing); ``down`` (flat, int32 or int64) receives the result. Flow
    leaving the grid or entering a missing cell makes an outlet; with ``wrap_x``
    flow leaving east or west (the last axis) re-enters on the other side, with
    ``wrap_rows`` flow leaving along the first axis (the x axis of an x-first grid).
    """
    ny, nx = direction.shape
    drow, dcol = _DROW, _DCOL
    for r in range(ny):
        for c in range(nx):
            i = r * nx + c
            code = direction[r, c]
            if code >= 8:
                down[i] = OUTLET if code == 8 else OFF
                continue
            r2 = r + drow[code]
            c2 = c + dcol[code]
            if wrap_x:
                c2 = (c2 + nx) % nx
            if wrap_rows:
                r2 = (r2 + ny) % ny
            if r2 < 0 or r2 >= ny or c2 < 0 or c2 >= nx or direction[r2, c2] == 9:
                down[i] = OUTLET
            else:
                down[i] = r2 * nx + c2


@numba.njit(cache=True, nogil=True)
def topological_order(down):
    """Order the on-network cells so every cell comes after all its upstream cells.

    Scans the grid in row-major order; from each source it follows the river
    downstream, emitting cells, until it reaches a confluence still waiting for
    another branch. Consecutive cells are thus mostly neighbours along a river,
    which keeps the later passes cache-friendly.

    Returns ``(order, to, n_levels, in_degree)``: the flat index of each cell in
    order, the flat index of its downstream cell (-1 at outlets), the number of
    cells on the longest flow path, and what is left of the in-degrees. ``order``
    is shorter than the number of on-network cells iff there are cycles, whose
    cells are exactly those left with ``in_degree > 0``.
    """
    size = down.size
    in_degree = np.zeros(size, np.int32)
    n = 0
    for i in range(size):
        d = down[i]
        if d != OFF:
            n += 1
        if d >= 0:
            in_degree[d] += 1
    order = np.empty(n, down.dtype)
    to = np.empty(n, down.dtype)
    level = np.zeros(size, np.int32)
    k = 0
    top = -1
    for i in range(size):
        if in_degree[i] != 0 or down[i] == OFF:
            continue
        j = i
        while True:
            in_degree[j] = -1  # emitted
            d = down[j]
            order[k] = j
            to[k] = d
            k += 1
            if d < 0:
                top = max(top, level[j])
                break
            level[d] = max(level[d], level[j] + 1)
            in_degree[d] -= 1
            if in_degree[d] != 0:
                break
            j = d
    return order[:k], to[:k], top + 1, in_degree


@numba.njit(cache=True, nogil=True)
def find_cycles(down, in_degree):
    """First cell of each cycle among the cells left with ``in_degree > 0``."""
    visited = np.zeros(down.size, np.uint8)
    firsts = []
    for i in range(down.size):
        if in_degree[i] > 0 and visited[i] == 0:
            firsts.append(i)
            j = i
            while visited[j] == 0:
                visited[j] = 1
                j = down[j]
    return np.array(firsts, np.int64)


@numba.njit(cache=True, nogil=True)
def split_for_threads(nodes, to, size, parts, min_nodes):
    """Reorder a topological order into ``parts`` independent heads and a short tail.

    Cells whose upstream area holds at most ``len(nodes) // (32 * parts)`` cells
    are *light*; a light cell draining into a heavy cell or out of the network is
    the root of a light subtree. The subtrees go whole to the heads, in the order
    they come, cut into ``parts`` runs of about equal area: neighbouring subtrees
    share a head, so two cores seldom write to one cache line (1.1-1.2x faster
    passes than dealing them out by load). The tail holds the roots, then the
    heavy cells (the main stems). So a
    pass may run the heads side by side (no two heads write to one cell: a head
    only reaches its own subtrees' roots) and then the tail. Each part keeps its
    cells' previous relative order, so the result is a topological order too.

    Returns ``(nodes, to, bounds)``: head ``h`` is ``bounds[h]:bounds[h + 1]``
    and the tail ``bounds[-1]:``. Networks under ``min_nodes`` cells get no heads.
    """
    n = nodes.size
    if parts < 2 or n < min_nodes:
        return nodes, to, np.zeros(1, np.int64)
    limit = max(n // (32 * parts), 1)
    area = np.zeros(size, np.int32)
    light = 0  # light cells: each lies in exactly one light subtree
    for k in range(n):
        i = nodes[k]
        area[i] += 1  # now final: the upstream cells came before
        light += area[i] <= limit
        if to[k] >= 0:
            area[to[k]] += area[i]
    heavy = parts + 1  # codes: head h's cells h, the heavy cells parts + 1,
    part = np.empty(size, np.int8)  # and the root of a subtree of head h parts + 2 + h
    section = np.empty(n, np.int8)  # of each position: its head, the roots or the heavy cells
    dealt = 0
    for step in range(n):  # downstream first: a cell's head is known before its upstream's
        k = n - 1 - step
        i, d = nodes[k], to[k]
        if area[i] > limit:
            code = heavy
        elif d < 0 or area[d] > limit:  # a root: its subtree to the head its middle falls in
            h = min(parts - 1, (dealt + area[i] // 2) * parts // light)
            dealt += area[i]
            code = parts + 2 + h
        else:
            code = part[d] if part[d] < parts else part[d] - parts - 2
        part[i] = code
        section[k] = code if code < parts else (parts + 1 if code == heavy else parts)
    # a stable counting sort by section: heads 0..parts-1, roots (parts), heavy cells
    count = np.zeros(parts + 3, np.int64)
    for k in range(n):
        count[section[k] + 1] += 1
    for p in range(parts + 2):
        count[p + 1] += count[p]
    bounds = count[: parts + 1].copy()
    new_nodes = np.empty_like(nodes)
    new_to = np.empty_like(to)
    for k in range(n):
        p = section[k]
        new_nodes[count[p]] = nodes[k]
        new_to[count[p]] = to[k]
        count[p] += 1
    return new_nodes, new_to, bounds
