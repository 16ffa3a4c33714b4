"""Gradient kernels on CPU (numba): transposed passes and min/max arg-extremes.

New kernels beside :mod:`xhydro_accessor.kernels.flow` (whose ``sum_pass`` they
reuse), over the same topological order and, like it, on ``(cells, members)``
state arrays (members innermost). Gradients come back as contiguous ``(members,
cells)`` arrays, the layout of the user's field, through one blocked transpose
(numpy's own is ~4x slower in that direction). :mod:`.generic` holds the
level-synchronous versions for other devices.
"""

import numba
import numpy as np

from ..kernels import flow

#: Operation codes of the kernels.
CODES = {"accumulate": 0, "accumulate_downstream": 1, "move_downstream": 2}


@numba.njit(cache=True, nogil=True)
def _arg_pass(nodes, to, s, y, code, arg):
    n, members = nodes.size, s.shape[1]
    for k in range(n):  # the cell itself wins ties (not for a move)
        i = nodes[k]
        for j in range(members):
            arg[i, j] = i if code != 2 and s[i, j] == y[i, j] else -1
    for step in range(n):
        k = n - 1 - step if code == 1 else step
        d = to[k]
        if d < 0:
            continue
        i = nodes[k]
        for j in range(members):
            if code == 0:
                if arg[d, j] < 0 and y[i, j] == y[d, j]:
                    arg[d, j] = arg[i, j]
            elif code == 1:
                if arg[i, j] < 0 and y[d, j] == y[i, j]:
                    arg[i, j] = arg[d, j]
            elif arg[d, j] < 0 and s[i, j] == y[d, j]:
                arg[d, j] = i


@numba.njit(cache=True, nogil=True)
def _send(arg, g, keep, out):
    """``out[m, arg[i, m]] += g[i, m]``: from ``(cells, members)`` into ``(members, cells)``."""
    n, members = arg.shape
    for start in range(0, n, 64):
        stop = min(start + 64, n)
        for j in range(members):
            for i in range(start, stop):
                if keep[i] and arg[i, j] >= 0:
                    out[j, arg[i, j]] += g[i, j]


def arg_extreme(network, op: str, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The cell holding each result of a min/max ``op`` (-1: none; off-network cells
    are not set). ``s`` the reduced values and ``y`` the results, ``(members, cells)``.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> s = np.array([[3.0, 1.0, 2.0, 0.0]])
    >>> arg_extreme(net, "accumulate", s, np.array([[3.0, 3.0, 3.0, 0.0]]))
    array([[0, 0, 0, 3]], dtype=int32)
    """
    arg = np.empty(s.shape[::-1], network.nodes.dtype)
    _arg_pass(network.nodes, network.downstream, s.T, y.T, CODES[op], arg)
    return arg.T


def extreme_gradient(network, op: str, s: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The gradient of a min/max ``op`` wrt its reduced values ``s``: each result's
    gradient ``g`` sent to its :func:`arg_extreme`. All ``(members, cells)``."""
    arg = arg_extreme(network, op, s, y)
    out = np.zeros(s.shape, np.result_type(g.dtype, s.dtype))
    _send(arg.T, g.T, network.mask.reshape(-1), out)
    return out


def transpose(network, op: str, g: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """The transposed operator of ``op``'s sum form applied to ``g · scale`` ``(members,
    cells)``: the gradient of a sum. 0 where the output does not depend on ``g``.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> transpose(net, "accumulate", np.array([[1.0, 2.0, 3.0, 4.0]]))  # sum along the path
    array([[6., 5., 3., 4.]])
    >>> transpose(net, "move_downstream", np.array([[1.0, 2.0, 3.0, 4.0]]))  # the downstream value
    array([[2., 3., 0., 0.]])
    """
    nodes, to = network.nodes, network.downstream
    state = np.empty(g.shape[::-1], g.dtype)
    if scale is None:
        np.copyto(state, g.T)
    else:  # the scaling rides on the copy
        np.multiply(g.T, scale.T, out=state)
    if op in ("accumulate", "accumulate_downstream"):
        _sum_pass(nodes, to, state, state, op == "accumulate")
        keep = network.mask.reshape(-1)
    elif op == "move_upstream":
        out = np.zeros_like(state)
        _sum_pass(nodes, to, state, out, False)
        state, keep = out, network.mask.reshape(-1)
    else:  # move_downstream: each cell receives its downstream cell's value
        has_down = to >= 0
        out = np.zeros_like(state)
        out[nodes[has_down]] = state[to[has_down]]
        state, keep = out, np.zeros(state.shape[0], bool)
        keep[nodes[has_down]] = True
    return _members_first(state, keep)


def _sum_pass(nodes, to, src, dst, reverse):
    if src.shape[1] == 1:  # one member: the flat kernel, about twice as fast
        flow.sum_pass_single(nodes, to, src.reshape(-1), dst.reshape(-1), reverse)
    else:
        flow.sum_pass(nodes, to, src, dst, reverse)


def _members_first(state: np.ndarray, keep: np.ndarray) -> np.ndarray:
    if state.shape[1] == 1:
        return np.where(keep, state[:, 0], state.dtype.type(0))[None, :]
    out = np.empty(state.shape[::-1], state.dtype)
    _transpose_where(state, keep, out)
    return out


@numba.njit(cache=True, nogil=True)
def _transpose_where(src, keep, dst):
    """``dst[m, i] = src[i, m] if keep[i] else 0``, in cache-sized blocks."""
    n, members = src.shape
    for start in range(0, n, 64):
        stop = min(start + 64, n)
        for j in range(members):
            for i in range(start, stop):
                dst[j, i] = src[i, j] if keep[i] else 0
