"""Sub-basin outlets by upstream area and Pfafstetter codes, and the upstream fill (numba, CPU).

``nodes``/``to`` as in :mod:`xhydro_accessor.kernels.flow` (upstream first);
``seq`` the network cells downstream first, by distance to their outlet (in
cells) then flat index, and ``down`` the downstream cell of each cell (flat grid,
-1 at outlets and off the network), both from :func:`down_first`; ``main`` the
main upstream cell of each cell (flat grid, -1 at sources,
:func:`~xhydro_accessor.hydrology.stream_order.main_upstream`). The algorithms
are pyflwdir's (``pyflwdir.basins``) walking ``seq`` where pyflwdir walks its
``idxs_seq`` (sorted by the same distance, ties in no set order).
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def fill_upstream(nodes, to, labels):
    """Give every cell labelled 0 the label of its downstream cell, in place (downstream first)."""
    n = nodes.size
    for step in range(n):
        k = n - 1 - step
        d = to[k]
        if d >= 0 and labels[nodes[k]] == 0:
            labels[nodes[k]] = labels[d]


@numba.njit(cache=True, nogil=True)
def down_first(nodes, to, size):
    """``(seq, down)``: network cells by distance to their outlet then flat index; downstream cells."""
    n = nodes.size
    dist = np.full(size, -1, np.int64)
    down = np.full(size, -1, np.int64)
    longest = 0
    for step in range(n):
        k = n - 1 - step
        i, d = nodes[k], to[k]
        down[i] = d
        dist[i] = 0 if d < 0 else dist[d] + 1
        longest = max(longest, dist[i])
    start = np.zeros(longest + 2, np.int64)
    for i in range(size):
        if dist[i] >= 0:
            start[dist[i] + 1] += 1
    for level in range(longest + 1):
        start[level + 1] += start[level]
    seq = np.empty(n, np.int64)
    for i in range(size):
        if dist[i] >= 0:
            seq[start[dist[i]]] = i
            start[dist[i]] += 1
    return seq, down


@numba.njit(cache=True, nogil=True)
def area_outlets(seq, down, main, upa, area_min, outlet):
    """Flag in ``outlet`` the sub-basin outlets of pyflwdir's ``subbasins_area``.

    Going upstream from the outlets, a cell starts a new sub-basin where both it
    and the rest of the unit it leaves (the unit's area at its outlet minus the
    cell's upstream area) exceed ``area_min``: on a tributary, or on the main stem
    away from a confluence with such a tributary.
    """
    upa_out = upa.copy()
    for i in seq:
        d = down[i]
        if d < 0:
            outlet[i] = True
            continue
        upa0 = upa_out[d]
        u = upa[i]
        if upa0 - u > area_min and u > area_min:
            conf = upa[d] - u > area_min
            trib = main[d] != i
            if not conf or trib:
                outlet[i] = True
                upa_out[i] = u
            if trib:
                upa_out[d] -= u
                upa_out[main[d]] = upa_out[d]
        else:
            upa_out[i] = upa0


@numba.njit(cache=True, nogil=True)
def _walk_main(start, main, order, branch, code):
    """Label ``start`` and the main stem above it while the stream order is > 0."""
    branch[start] = code
    c = main[start]
    while c >= 0 and order[c] != 0:
        branch[c] = code
        c = main[c]


@numba.njit(cache=True, nogil=True)
def pfafstetter_branches(down, main, upa, order, pits, depth, branch):
    """Pfafstetter codes on the river branches (``branch``, flat int64 zeros), as pyflwdir's
    ``subbasins_pfafstetter`` before its upstream fill: returns the number of sub-basin outlets.

    ``order`` is the Hack order where it is at most ``depth + 1`` (and the cell
    counted), else 0. Each basin's code starts with its number (``pits``' order)
    above ``depth`` digits of 1s. A branch's tributaries are its four of largest
    ``upa`` (ties as pyflwdir's: numba's quicksort of them in ``seq`` order, which
    is the order met walking the branch upstream, ascending flat index at one cell),
    numbered 2, 4, 6, 8 from downstream, the main-stem stretches below and
    between them 1, 3, 5, 7, 9, one digit per level.
    """
    size = branch.size
    joins = np.zeros(size + 1, np.int64)  # tributaries joining each cell (CSR, ascending flat index)
    for i in range(size):
        d = down[i]
        if d >= 0 and order[i] > 0 and order[i] > order[d]:
            joins[d + 1] += 1
    for c in range(size):
        joins[c + 1] += joins[c]
    tribs = np.empty(joins[size], np.int64)
    fill = joins[:-1].copy()
    for i in range(size):
        d = down[i]
        if d >= 0 and order[i] > 0 and order[i] > order[d]:
            tribs[fill[d]] = i
            fill[d] += 1
    is_outlet = np.zeros(size, np.bool_)
    most = pits.size + 2 * tribs.size  # outlets: the pits, and per tributary itself and a stretch
    q_code = np.empty(most, np.int64)
    q_depth = np.empty(most, np.int64)
    q_start = np.empty(most, np.int64)
    head = tail = 0
    base = 0
    for d0 in range(depth):
        base += 10**d0
    for b in range(pits.size):
        code = base + (b + 1) * 10**depth
        is_outlet[pits[b]] = True
        _walk_main(pits[b], main, order, branch, code)
        q_code[tail], q_depth[tail], q_start[tail] = code, 1, pits[b]
        tail += 1
    outlets = pits.size
    while head < tail:
        code, d0, c = q_code[head], q_depth[head], q_start[head]
        head += 1
        m = 0
        walk = c
        while walk >= 0 and branch[walk] == code:
            for j in range(joins[walk], joins[walk + 1]):
                if branch[tribs[j]] == 0:
                    m += 1
            walk = main[walk]
        if m == 0:
            continue
        cand = np.empty(m, np.int64)
        m = 0
        walk = c
        while walk >= 0 and branch[walk] == code:
            for j in range(joins[walk], joins[walk + 1]):
                if branch[tribs[j]] == 0:
                    cand[m] = tribs[j]
                    m += 1
            walk = main[walk]
        # met upstream along the branch (distance to the outlet, then flat index): pyflwdir's seq
        cand = cand[np.argsort(-upa[cand])][:4]  # numba's quicksort: pyflwdir's order among ties
        cand = cand[np.argsort(-upa[down[cand]])]
        below = code  # the main-stem stretch downstream of the next tributary
        step10 = 10 ** (depth - d0)
        for j in range(cand.size):
            t = cand[j]
            up_main = main[down[t]]
            sub = code + (2 * j + 1) * step10
            is_outlet[t] = True
            outlets += 1
            _walk_main(t, main, order, branch, sub)
            if d0 < depth:
                q_code[tail], q_depth[tail], q_start[tail] = sub, d0 + 1, t
                tail += 1
            if not is_outlet[up_main]:
                is_outlet[up_main] = True
                outlets += 1
                inter = code + (j + 1) * 2 * step10
                branch[up_main] = inter
                s = main[up_main]
                while s >= 0 and branch[s] == below:
                    branch[s] = inter
                    s = main[s]
                below = inter
                if d0 < depth:
                    q_code[tail], q_depth[tail], q_start[tail] = inter, d0 + 1, up_main
                    tail += 1
    return outlets
