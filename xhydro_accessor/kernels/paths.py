"""Path lengths along the network: propagate distances down or up (numba, CPU).

``out`` (flat grid, float64) holds the seeds on entry — the distance at the
starting cells, NaN elsewhere — and the result on exit: NaN where no seed is
reached. ``w`` (flat grid) is the step length from each cell to its downstream
cell (``per_cell=False``) or the length of each cell (``per_cell=True``).
"""

import numba


@numba.njit(cache=True, nogil=True, inline="always")
def _better(a, b, is_max):
    if b != b:
        return a
    if a != a:
        return b
    return (b if b > a else a) if is_max else (b if b < a else a)


@numba.njit(cache=True, nogil=True)
def spread_down(nodes, to, w, per_cell, is_max, out):
    """From seeds downstream: the longest (``is_max``) or shortest distance from a seed upstream."""
    for k in range(nodes.size):
        i = nodes[k]
        d = to[k]
        if d >= 0 and out[i] == out[i]:
            out[d] = _better(out[d], out[i] + (w[d] if per_cell else w[i]), is_max)


@numba.njit(cache=True, nogil=True)
def spread_up(nodes, to, w, is_max, out):
    """From seeds upstream: the distance to the farthest or nearest seed downstream."""
    n = nodes.size
    for step in range(n):
        k = n - 1 - step
        i = nodes[k]
        d = to[k]
        if d >= 0 and out[d] == out[d]:
            out[i] = _better(out[i], out[d] + w[i], is_max)
