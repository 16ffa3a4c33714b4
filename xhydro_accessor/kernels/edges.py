"""Edge-weighted passes over a network in topological order (numba, CPU).

As earthkit-hydro's ``edge_weights``: ``edge[i]`` multiplies what moves along the
link from cell ``i`` to its downstream cell. States are ``(members, cells)`` over
the flat grid; ``nodes`` and ``to`` as in :mod:`.flow`. ``reverse=False`` is an
accumulation over the upstream area (``s[to] ⊕= edge[i] · s[i]``, upstream first),
``reverse=True`` one along the path to the outlet (``s[i] ⊕= edge[i] · s[to]``,
downstream first).
"""

import numba

from .flow import extreme, merge_moments

SUM, EXTREME, MOMENTS = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def edge_pass(nodes, to, edge, kind, s, weight, m2, reverse, is_max, skipna):
    """One edge-weighted pass, in place, by ``kind``:

    ``SUM``: ``s[:, a] += edge · s[:, b]``; ``EXTREME``: ``s[:, a] = max(s[:, a], edge · s[:, b])``
    (min unless ``is_max``; NaN propagates unless ``skipna``); ``MOMENTS``: the states
    (``weight``, mean ``s``, ``m2``) merged, the moved one's weight and M2 scaled by the
    edge weight (its mean unchanged). ``a`` receives from ``b``: the downstream cell from
    the cell, or the reverse. ``weight`` and ``m2`` are read for ``MOMENTS`` only.
    """
    n = nodes.size
    for step in range(n):
        k = n - 1 - step if reverse else step
        d = to[k]
        if d < 0:
            continue
        i = nodes[k]
        e = edge[i]
        a, b = (i, d) if reverse else (d, i)
        for j in range(s.shape[0]):
            if kind == SUM:
                s[j, a] += e * s[j, b]
            elif kind == EXTREME:
                s[j, a] = extreme(s[j, a], e * s[j, b], is_max, skipna)
            else:
                weight[j, a], s[j, a], m2[j, a] = merge_moments(
                    weight[j, a], s[j, a], m2[j, a], e * weight[j, b], s[j, b], e * m2[j, b]
                )
