"""Catchment labels, flags and per-catchment reductions (numba, CPU).

``nodes``/``to`` as in :mod:`xhydro_accessor.kernels.flow`: flat grid index of each
network cell in topological order (upstream first) and of its downstream cell (-1).
Every pass is O(n) whatever the number of locations.
"""

import numba
import numpy as np

from .flow import extreme, merge_moments


@numba.njit(cache=True, nogil=True)
def label_pass(nodes, to, labels, nested, parent, visit):
    """Spread gauge labels upstream, one downstream-first pass, in place.

    ``labels`` (flat grid) holds a gauge's label (1..m) at its cell and 0
    elsewhere. ``nested``: a cell takes the label of the first gauge on its path
    downstream (itself included); else of the last one (the most downstream gauge
    wins). ``parent[label]`` receives the label of the next gauge downstream (0 at
    none; meaningful for ``nested``) and ``visit`` the labels in the order met
    (downstream first). Returns the number of labels visited.
    """
    n = nodes.size
    seen = 0
    for step in range(n):
        k = n - 1 - step
        i = nodes[k]
        d = to[k]
        own = labels[i]
        below = labels[d] if d >= 0 else 0
        if own > 0:
            parent[own] = below
            visit[seen] = own
            seen += 1
            if not nested and below > 0:
                labels[i] = below
        else:
            labels[i] = below
    return seen


@numba.njit(cache=True, nogil=True)
def mark_first(index, labels):
    """``labels[index[k]] = k + 1`` where still 0: the first of several locations on a cell wins."""
    for k in range(index.size):
        if labels[index[k]] == 0:
            labels[index[k]] = k + 1


@numba.njit(cache=True, nogil=True)
def labelled_cells(nodes, labels):
    """The cells of ``nodes`` labelled > 0, in their order, and their labels - 1 (both int64)."""
    n = 0
    for k in range(nodes.size):
        if labels[nodes[k]] > 0:
            n += 1
    cells = np.empty(n, np.int64)
    groups = np.empty(n, np.int64)
    j = 0
    for k in range(nodes.size):
        label = labels[nodes[k]]
        if label > 0:
            cells[j] = nodes[k]
            groups[j] = label - 1
            j += 1
    return cells, groups


@numba.njit(cache=True, nogil=True)
def flag_downstream(nodes, to, flags):
    """Set ``flags`` on every cell downstream of a flagged cell (upstream-first pass)."""
    for k in range(nodes.size):
        d = to[k]
        if d >= 0 and flags[nodes[k]]:
            flags[d] = True


@numba.njit(cache=True, nogil=True)
def flag_upstream(nodes, to, flags):
    """Set ``flags`` on every cell upstream of a flagged cell (downstream-first pass)."""
    n = nodes.size
    for step in range(n):
        k = n - 1 - step
        d = to[k]
        if d >= 0 and flags[d]:
            flags[nodes[k]] = True


@numba.njit(cache=True, nogil=True)
def counting_order(keys, n_keys):
    """Positions of ``keys >= 0`` (ints < ``n_keys``) sorted by key, stably; and group starts."""
    counts = np.zeros(n_keys + 1, np.int64)
    for i in range(keys.size):
        if keys[i] >= 0:
            counts[keys[i] + 1] += 1
    for g in range(n_keys):
        counts[g + 1] += counts[g]
    starts = counts.copy()
    order = np.empty(counts[n_keys], np.int64)
    for i in range(keys.size):
        key = keys[i]
        if key >= 0:
            order[counts[key]] = i
            counts[key] += 1
    return order, starts


@numba.njit(cache=True, nogil=True)
def group_sums(cells, groups, x, w, skipna, sums, weights):
    """``sums[j, g] += w·x`` and ``weights[j, g] += w`` over ``cells`` of group ``groups``.

    ``x`` is ``(members, grid cells)``; ``w`` ``(1 or members, grid cells)`` or
    ``(0, 0)`` for unit weights. With ``skipna`` NaN values (or weights) are left out.
    """
    has_w = w.shape[0] > 0
    for j in range(x.shape[0]):
        jw = j if w.shape[0] > 1 else 0
        for k in range(cells.size):
            i = cells[k]
            g = groups[k]
            v = x[j, i]
            wt = w[jw, i] if has_w else 1
            if skipna and (v != v or wt != wt):
                continue
            sums[j, g] += v * wt if has_w else v
            weights[j, g] += wt


@numba.njit(cache=True, nogil=True)
def group_moments(cells, groups, x, w, shift, skipna, weight, mean, m2):
    """Weighted running (weight, mean, M2) per group (West's update) of ``x - shift[member]``.

    Shifting by a typical value keeps the means small: merged moments stay exact to ~eps.
    """
    has_w = w.shape[0] > 0
    for j in range(x.shape[0]):
        jw = j if w.shape[0] > 1 else 0
        for k in range(cells.size):
            i = cells[k]
            g = groups[k]
            v = x[j, i] - shift[j]
            wt = w[jw, i] if has_w else 1.0
            if skipna and (v != v or wt != wt):
                continue
            if wt == 0:
                continue
            if weight[j, g] == 0 and v == v:  # the first value exactly (see flow.merge_moments)
                weight[j, g], mean[j, g] = wt, v
                continue
            total = weight[j, g] + wt
            delta = v - mean[j, g]
            r = delta * wt / total
            mean[j, g] += r
            m2[j, g] += weight[j, g] * delta * r
            weight[j, g] = total


@numba.njit(cache=True, nogil=True)
def group_extremes(cells, groups, x, w, skipna, is_max, out):
    """``out[j, g] = max/min(out[j, g], w·x)`` over the cells of each group."""
    has_w = w.shape[0] > 0
    for j in range(x.shape[0]):
        jw = j if w.shape[0] > 1 else 0
        for k in range(cells.size):
            i = cells[k]
            g = groups[k]
            v = x[j, i] * w[jw, i] if has_w else x[j, i]
            out[j, g] = extreme(out[j, g], v, is_max, skipna)


@numba.njit(cache=True, nogil=True)
def merge_up(order, parent, kind, skipna, a, b, c):
    """Merge each group's state into its parent's, children first (``order`` upstream first).

    ``kind`` 0: sums (``a`` sums, ``b`` weights); 1: extremes of ``a`` (max if
    ``b[0, 0]`` > 0); 2: moments (``a`` weight, ``b`` mean, ``c`` M2, Chan et al.).
    Arrays are ``(members, groups)``; ``parent[g]`` is -1 at roots.
    """
    for g in order:
        p = parent[g]
        if p < 0:
            continue
        for j in range(a.shape[0]):
            if kind == 0:
                a[j, p] += a[j, g]
                b[j, p] += b[j, g]
            elif kind == 1:
                a[j, p] = extreme(a[j, p], a[j, g], b[0, 0] > 0, skipna)
            else:
                a[j, p], b[j, p], c[j, p] = merge_moments(
                    a[j, p], b[j, p], c[j, p], a[j, g], b[j, g], c[j, g]
                )
