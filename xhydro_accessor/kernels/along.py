"""Windows and fills along the flow (numba, CPU): :mod:`xhydro_accessor.hydrology.along`.

``down`` is the flat index of each cell's downstream cell (-1 at outlets and off
the network), ``main_up`` of its main upstream cell (-1 at sources); fields are
``(members, cells)`` over the flat grid, NaN for missing values.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def main_upstream(down, upstream_cells, out):
    """``out[d]``: the upstream neighbour of ``d`` with the most upstream cells; a tie goes
    to the lowest flat index (pyflwdir's ``main_upstream``); -1 where none."""
    best = np.zeros(out.size, upstream_cells.dtype)
    out[:] = -1
    for i in range(down.size):
        d = down[i]
        if d >= 0 and upstream_cells[i] > best[d]:
            out[d] = i
            best[d] = upstream_cells[i]


@numba.njit(cache=True, nogil=True)
def smooth(x, w, cells, down, main_up, n, median, out):
    """The mean (weighted by ``w``, ``(0, 0)``: none) or median of the non-NaN values in the
    window of each cell of ``cells``: itself, up to ``n`` cells downstream and up to ``n``
    along its main upstream cells. NaN cells, and windows without a value, give NaN."""
    window = np.empty(2 * n + 1, np.int64)
    values = np.empty(2 * n + 1, np.float64)
    weighted = w.shape[1] == x.shape[1]
    per_member = w.shape[0] > 1
    for i in cells:
        size = 1
        window[0] = i
        for step in (down, main_up):
            c = i
            for _ in range(n):
                c = step[c]
                if c < 0:
                    break
                window[size] = c
                size += 1
        for j in range(x.shape[0]):
            if x[j, i] != x[j, i]:
                out[j, i] = np.nan
                continue
            total = 0.0
            weight = 0.0
            k = 0
            for m in range(size):
                v = x[j, window[m]]
                c = w[j if per_member else 0, window[m]] if weighted else 1.0
                if v == v and c == c:
                    values[k] = v
                    k += 1
                    total += c * v
                    weight += c
            if median:
                out[j, i] = np.median(values[:k]) if k else np.nan
            else:
                out[j, i] = total / weight if weight != 0 else np.nan


@numba.njit(cache=True, nogil=True)
def fill_down(nodes, to, missing, how, out):
    """Values move downstream into missing cells (upstream first): a missing cell takes the
    value of its nearest valid upstream cells, several branches merged by ``how`` (0 max,
    1 min, 2 sum), as pyflwdir's ``fillnodata_downstream``."""
    for k in range(nodes.size):
        i, d = nodes[k], to[k]
        if d < 0:
            continue
        for j in range(out.shape[0]):
            v = out[j, i]
            if v != v or not missing[j, d]:
                continue
            old = out[j, d]
            if old != old:
                out[j, d] = v
            elif how == 0:
                out[j, d] = max(old, v)
            elif how == 1:
                out[j, d] = min(old, v)
            else:
                out[j, d] = old + v


@numba.njit(cache=True, nogil=True)
def fill_up(nodes, to, out):
    """Values move upstream into missing cells (downstream first): a missing cell takes the
    value of its nearest valid downstream cell (one path: no choice to make)."""
    for step in range(nodes.size):
        k = nodes.size - 1 - step
        i, d = nodes[k], to[k]
        if d < 0:
            continue
        for j in range(out.shape[0]):
            if out[j, i] != out[j, i]:
                out[j, i] = out[j, d]
