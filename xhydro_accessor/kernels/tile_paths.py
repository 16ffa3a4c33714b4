"""Gauge labels on a tile of a tiled network, or on its perimeter graph (numba, CPU).

In a tile, ``nodes``/``to`` are its topological order (upstream first) and each
cell's local downstream index (:mod:`.tiles`: -1 outlet, :data:`~.tiles.EXIT` leaves
the tile). On the perimeter graph they are its topological order and each perimeter
cell's link (-1 where its path ends in its tile). Path lengths need no kernel of
their own: :mod:`.paths` runs on both.
"""

import numba

from .tiles import EXIT


@numba.njit(cache=True, nogil=True)
def tile_labels(nodes, to, labels, nested, outer):
    """:func:`.labels.label_pass` in place: a cell keeps its label (``nested``: a gauge's own) or
    takes its downstream cell's; an exit's downstream label is ``outer[exit]``."""
    n = nodes.size
    for step in range(n):
        k = n - 1 - step
        i, d = nodes[k], to[k]
        below = labels[d] if d >= 0 else (outer[i] if d == EXIT else 0)
        if labels[i] == 0 or (not nested and below > 0):
            labels[i] = below
