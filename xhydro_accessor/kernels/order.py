"""Stream orders: one upstream-first pass over the topological order (numba, CPU)."""

import numba


@numba.njit(cache=True, nogil=True)
def strahler_pass(nodes, to, order, top, n_top):
    """Strahler order of every network cell, written to ``order`` (flat grid).

    ``top``/``n_top`` (flat grid, zeros) collect the largest order flowing into
    each cell and how many tributaries bring it: a cell is of that order when one
    does, one more when two or more do, and 1 at a source.
    """
    for k in range(nodes.size):
        i = nodes[k]
        o = 1 if n_top[i] == 0 else (top[i] if n_top[i] == 1 else top[i] + 1)
        order[i] = o
        d = to[k]
        if d >= 0:
            if o > top[d]:
                top[d] = o
                n_top[d] = 1
            elif o == top[d]:
                n_top[d] += 1


@numba.njit(cache=True, nogil=True)
def shreve_pass(nodes, to, magnitude):
    """Shreve magnitude: 1 at sources, the sum of the tributaries' magnitudes below."""
    for k in range(nodes.size):
        i = nodes[k]
        if magnitude[i] == 0:
            magnitude[i] = 1
        d = to[k]
        if d >= 0:
            magnitude[d] += magnitude[i]


@numba.njit(cache=True, nogil=True)
def main_upstream(nodes, to, cells, main):
    """The main upstream cell of every cell, written to ``main`` (flat grid, -1s).

    ``cells`` (flat grid, ones on the network) becomes the number of cells
    draining through each cell; the main upstream cell of a cell is the one of
    most such cells among those flowing into it, the smallest flat index among
    ties (pyflwdir's ``main_upstream``). Upstream-first: a cell's count is
    final when it is met.
    """
    for k in range(nodes.size):
        i = nodes[k]
        d = to[k]
        if d >= 0:
            cells[d] += cells[i]
            m = main[d]
            if m < 0 or cells[i] > cells[m] or (cells[i] == cells[m] and i < m):
                main[d] = i


@numba.njit(cache=True, nogil=True)
def hack_pass(nodes, to, main, order):
    """Hack (classic) order: 1 at outlets, the downstream cell's order on its main
    upstream cell, one more on the other cells flowing into it; downstream-first."""
    n = nodes.size
    for step in range(n):
        k = n - 1 - step
        i = nodes[k]
        d = to[k]
        order[i] = 1 if d < 0 else order[d] + (main[d] != i)
