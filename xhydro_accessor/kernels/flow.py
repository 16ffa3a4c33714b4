"""Sequential passes over a network in topological order (numba, CPU).

All passes work in grid space on 2-D state arrays of shape ``(cells, members)``:
members innermost, so each cell's update is one contiguous vector. ``nodes`` is
the flat grid index of each network cell in topological order (upstream first)
and ``to`` the flat index of its downstream cell (-1 at outlets).

``reverse=False`` pushes each cell into its downstream cell (``dst[to] ⊕= src[node]``,
upstream first); ``reverse=True`` pulls from the downstream cell
(``dst[node] ⊕= src[to]``, downstream first). With ``src is dst`` the first is an
accumulation over the upstream area and the second a reduction along the path to
the outlet; with separate arrays each is a one-step move.
"""

import numba


@numba.njit(cache=True, nogil=True)
def prepare(out, weights, mask, skipna, multiply, fill, out_weight):
    """Turn ``out``, a ``(cells, members)`` copy of the field, into a state array, in place.

    On the network ``out`` becomes ``weights * field`` (``multiply``) or stays the
    field, and ``out_weight`` (when it has cells) receives the weights; with
    ``skipna`` a NaN in field or weight contributes 0 to both. Off the network
    ``out`` gets ``fill``. ``weights`` is ``(1 or members, cells)``, or ``(0, 0)``.
    """
    size, n_members = out.shape
    has_weights = weights.shape[1] == size
    per_member = weights.shape[0] > 1
    track_weight = out_weight.shape[0] == size
    copy_only = not (has_weights or skipna or track_weight)
    for i in range(size):
        if not mask[i]:
            for j in range(n_members):
                out[i, j] = fill
                if track_weight:
                    out_weight[i, j] = 0
            continue
        if copy_only:
            continue
        for j in range(n_members):
            x = out[i, j]
            w = weights[j if per_member else 0, i] if has_weights else 1
            if skipna and (x != x or w != w):
                x = 0
                w = 0
            elif multiply and has_weights:
                x = x * w
            out[i, j] = x
            if track_weight:
                out_weight[i, j] = w


@numba.njit(cache=True, nogil=True)
def copy_fill(field, mask, fill, out):
    """``out = field`` on the network, ``fill`` off it: one field, no weights (1-D, flat)."""
    for i in range(field.size):
        out[i] = field[i] if mask[i] else fill


@numba.njit(cache=True, nogil=True)
def sum_pass(nodes, to, src, dst, reverse):
    n_members = dst.shape[1]
    n = nodes.size
    for step in range(n):
        k = n - 1 - step if reverse else step
        d = to[k]
        if d < 0:
            continue
        i = nodes[k]
        if reverse:
            i, d = d, i
        for j in range(n_members):
            dst[d, j] += src[i, j]


@numba.njit(cache=True, nogil=True)
def sum_pass_single(nodes, to, src, dst, reverse):
    """:func:`sum_pass` for one member on flat arrays: no inner loop (about 2x faster)."""
    n = nodes.size
    for step in range(n):
        k = n - 1 - step if reverse else step
        d = to[k]
        if d < 0:
            continue
        if reverse:
            dst[nodes[k]] += src[d]
        else:
            dst[d] += src[nodes[k]]


@numba.njit(cache=True, nogil=True, inline="always")
def extreme(a, b, is_max, skipna):
    if b != b:  # NaN
        return a if skipna else b
    if a != a:
        return b if skipna else a
    if is_max:
        return b if b > a else a
    return b if b < a else a


@numba.njit(cache=True, nogil=True)
def extreme_pass(nodes, to, src, dst, reverse, is_max, skipna, arg):
    """Min/max pass; ``arg`` (``(cells, members)`` ints, or ``(0, 0)``: not tracked)
    follows the cell holding each result: a value is replaced only by a strictly
    better one, so the cell itself (see :func:`arg_start`) wins ties, then the first
    cell in the order."""
    n_members = dst.shape[1]
    track = arg.shape[0] > 0
    moving = src is not dst
    n = nodes.size
    for step in range(n):
        k = n - 1 - step if reverse else step
        d = to[k]
        if d < 0:
            continue
        a, b = (nodes[k], d) if reverse else (d, nodes[k])  # a receives from b
        for j in range(n_members):
            old = dst[a, j]
            new = extreme(old, src[b, j], is_max, skipna)
            dst[a, j] = new
            if track and new != old and not (new != new and old != old):
                arg[a, j] = b if moving else arg[b, j]


@numba.njit(cache=True, nogil=True)
def arg_start(nodes, own, arg):
    """Before :func:`extreme_pass`: each network cell holds its own result (``own``) or none (-1)."""
    for k in range(nodes.size):
        i = nodes[k]
        for j in range(arg.shape[1]):
            arg[i, j] = i if own else -1


@numba.njit(cache=True, nogil=True, inline="always")
def merge_moments(wa, ma, m2a, wb, mb, m2b):
    """(weight, mean, M2) of ``a`` merged with ``b``: Chan et al.'s stable pairwise update.

    ``b`` of no weight changes nothing, unless its mean is NaN (a NaN of zero weight: NaN
    propagates, as in the xp engine and numpy). Into an ``a`` of no weight ``b`` is copied
    exactly: ``delta * wb / w`` rounds, and the next equal value would then leave an M2 of
    rounding noise instead of 0 (a constant area's skewness must be NaN, not 0).
    """
    if wb == 0:
        return (wa, ma, m2a) if mb == mb else (wa, mb, mb)
    if wa == 0 and ma == ma:
        return wb, mb, m2b
    w = wa + wb
    delta = mb - ma
    return w, ma + delta * wb / w, m2a + m2b + delta * delta * wa * wb / w


@numba.njit(cache=True, nogil=True, inline="always")
def merge_moments3(wa, ma, m2a, m3a, wb, mb, m2b, m3b):
    """(weight, mean, M2, M3) of ``a`` merged with ``b``: Chan et al.'s pairwise update, with
    the third central moment (Pébay 2008); NaN as :func:`merge_moments`."""
    if wb == 0:
        return (wa, ma, m2a, m3a) if mb == mb else (wa, mb, mb, mb)
    if wa == 0 and ma == ma:
        return wb, mb, m2b, m3b
    if wa == 0 and ma == ma:
        return wb, mb, m2b, m3b
    w = wa + wb
    delta = mb - ma
    m3 = m3a + m3b + delta**3 * wa * wb * (wa - wb) / (w * w) + 3 * delta * (wa * m2b - wb * m2a) / w
    return w, ma + delta * wb / w, m2a + m2b + delta * delta * wa * wb / w, m3


@numba.njit(cache=True, nogil=True)
def moments_pass(nodes, to, src, dst, reverse):
    """Merge (weight, mean, M2, M3) states with Chan et al.'s stable pairwise update.

    ``src`` and ``dst`` are tuples of four ``(cells, members)`` float arrays; the last
    (M3, for the skewness) may be ``(0, 0)``: not tracked.
    """
    sw, sm, s2, s3 = src
    dw, dm, d2, d3 = dst
    third = d3.shape[0] > 0
    n_members = dw.shape[1]
    n = nodes.size
    for step in range(n):
        k = n - 1 - step if reverse else step
        d = to[k]
        if d < 0:
            continue
        a, b = (nodes[k], d) if reverse else (d, nodes[k])
        for j in range(n_members):
            if third:
                dw[a, j], dm[a, j], d2[a, j], d3[a, j] = merge_moments3(
                    dw[a, j], dm[a, j], d2[a, j], d3[a, j], sw[b, j], sm[b, j], s2[b, j], s3[b, j]
                )
            else:
                dw[a, j], dm[a, j], d2[a, j] = merge_moments(
                    dw[a, j], dm[a, j], d2[a, j], sw[b, j], sm[b, j], s2[b, j]
                )


@numba.njit(cache=True, nogil=True)
def transpose_out(src, dst):
    """``dst[m, i] = src[i, m]``: a state array back to members first, in cache-sized blocks."""
    n, members = src.shape
    for start in range(0, n, 64):
        stop = min(start + 64, n)
        for j in range(members):
            for i in range(start, stop):
                dst[j, i] = src[i, j]


@numba.njit(cache=True, nogil=True)
def any_nan_at(values, cells):
    """Whether ``values`` (``(members, cells)``, float) holds NaN in any of the columns ``cells``."""
    for j in range(values.shape[0]):
        for i in cells:
            if values[j, i] != values[j, i]:
                return True
    return False
