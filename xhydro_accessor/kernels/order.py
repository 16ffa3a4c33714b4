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
