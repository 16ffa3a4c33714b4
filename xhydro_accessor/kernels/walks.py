"""Walks along the network: stream segments and flow paths (numba, CPU).

Arrays are flat over the grid. ``nxt[i]`` is the cell a walk moves to from
``i`` (the downstream cell, or the main upstream cell), negative where it stops;
``step[i]`` is the length of that move.
"""

import numba


@numba.njit(cache=True, nogil=True)
def segment_labels(nodes, to, head, segment):
    """Label every stream cell with the segment of the nearest head at or above it.

    ``segment`` holds each head's id on entry, 0 elsewhere (0 also marks cells off
    the streams); ``head`` flags the cells where a segment starts. One pass in
    topological order (upstream first): a stream cell that is not a head has a
    single stream cell upstream, labelled before it.
    """
    for k in range(nodes.size):
        i = nodes[k]
        d = to[k]
        if d >= 0 and segment[i] != 0 and not head[d]:
            segment[d] = segment[i]


@numba.njit(cache=True, nogil=True)
def walk_counts(starts, nxt, step, upward, per_step, limit, counts):
    """Number of cells on each walk from ``starts``: until ``nxt`` stops, or before the
    move that would take the walked length beyond ``limit`` (counted in moves when
    ``per_step``). ``step[i]`` is the length from ``i`` to its downstream cell: a move
    from ``i`` to ``j`` is ``step[j]`` long when the walk goes ``upward``, else ``step[i]``."""
    for g in range(starts.size):
        i = starts[g]
        total = 0.0
        n = 1
        while nxt[i] >= 0:
            j = nxt[i]
            s = 1.0 if per_step else (step[j] if upward else step[i])
            if total + s > limit:
                break
            total += s
            i = j
            n += 1
        counts[g] = n


@numba.njit(cache=True, nogil=True)
def walk_fill(starts, nxt, step, upward, offsets, index, distance):
    """The walks counted by :func:`walk_counts`: walk ``g`` fills ``offsets[g]:offsets[g + 1]``
    of ``index`` (the cells) and ``distance`` (the length walked to each, 0 at the start)."""
    for g in range(starts.size):
        i = starts[g]
        total = 0.0
        k = offsets[g]
        index[k] = i
        distance[k] = 0.0
        while k + 1 < offsets[g + 1]:
            j = nxt[i]
            total += step[j] if upward else step[i]
            i = j
            k += 1
            index[k] = i
            distance[k] = total
