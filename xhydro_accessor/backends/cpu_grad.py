"""Gradient kernels on CPU (numba): transposed passes and the min/max scatter.

Beside :mod:`xhydro_accessor.kernels.flow` (whose sum pass they reuse), over the same
topological order and across the cores (:mod:`xhydro_accessor.threads`). Gradients
come back as contiguous ``(members, cells)`` arrays, the layout of the user's field:
many members run one fused members-first pass, one member a flat copy and pass, moves
a ``(cells, members)`` state and one blocked transpose back. :mod:`.generic` holds the
level-synchronous versions for other devices.
"""

import numba
import numpy as np

from ..kernels import flow
from ..operations import members_first, run_sum_pass
from ..threads import in_blocks, run_pass


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


def send(network, arg: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The gradient of a min/max wrt its reduced values: each result's gradient ``g``
    ``(members, cells)`` sent to the cell holding it, ``arg`` ``(cells, members)``
    (as :func:`.operations.numpy_op` gives it)."""
    out = np.zeros(g.shape, g.dtype)
    keep = network.mask.reshape(-1)
    in_blocks(g.shape[0], g.size, lambda members: _send(arg[:, members], g[members].T, keep, out[members]))
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
    mask = network.mask.reshape(-1)
    no_scale = np.empty((0, 0), g.dtype)
    if g.shape[0] > 1 and op in ("accumulate", "accumulate_downstream"):  # one pass, members first
        out = np.zeros(g.shape, g.dtype)
        scale = no_scale if scale is None else scale
        pull = op == "accumulate"
        run_pass(network, _members_first_pass, g, scale, out, pull, reverse=pull)
        return out
    state = np.empty(g.shape[::-1], g.dtype)
    if g.shape[0] == 1:  # one field: a flat copy
        flat = state.reshape(-1)
        if scale is None:
            in_blocks(
                flat.size, flat.size, lambda cells: flow.copy_fill(g[0, cells], mask[cells], 0, flat[cells])
            )
        else:
            in_blocks(
                flat.size,
                flat.size,
                lambda cells: _scaled_copy(g[0, cells], scale[0, cells], mask[cells], flat[cells]),
            )
    else:  # members innermost; the scaling rides on the copy
        scale = no_scale if scale is None else scale
        in_blocks(
            state.shape[0],
            g.size,
            lambda cells: _transpose_in(g[:, cells], scale[:, cells], mask[cells], state[cells]),
        )
    if op in ("accumulate", "accumulate_downstream"):
        run_sum_pass(network, state, state, op == "accumulate")
    elif op == "move_upstream":
        out = np.zeros_like(state)
        run_sum_pass(network, state, out, False)
        state = out
    else:  # move_downstream: each cell receives its downstream cell's value
        has_down = to >= 0
        out = np.zeros_like(state)
        out[nodes[has_down]] = state[to[has_down]]
        state = out
    return members_first(state.T, 1)  # 0 wherever no pass wrote


@numba.njit(cache=True, nogil=True)
def _members_first_pass(nodes, to, g, scale, out, pull):
    """The transposed sum pass on ``(members, cells)`` arrays, fused with its copy-in.

    ``pull`` (the adjoint of ``accumulate``): ``out[:, i] = g·scale[:, i] + out[:, to[i]]``,
    downstream first; else (of ``accumulate_downstream``) an upstream accumulation of
    ``g·scale`` into ``out``, which starts at 0. Strided, but consecutive cells are
    mostly neighbours, so the cache lines of all members stay in cache: for many members
    this beats two transposing copies of fresh arrays.
    """
    members = g.shape[0]
    scaled = scale.shape[1] == g.shape[1]
    per_member = scale.shape[0] > 1
    n = nodes.size
    for step in range(n):
        k = n - 1 - step if pull else step
        i, d = nodes[k], to[k]
        for j in range(members):
            v = g[j, i] * scale[j if per_member else 0, i] if scaled else g[j, i]
            if pull:
                out[j, i] = v + out[j, d] if d >= 0 else v
            else:
                v += out[j, i]
                out[j, i] = v
                if d >= 0:
                    out[j, d] += v


@numba.njit(cache=True, nogil=True)
def _scaled_copy(src, scale, keep, dst):
    """``dst = src · scale`` where ``keep``, else 0 (flat arrays)."""
    for i in range(src.size):
        dst[i] = src[i] * scale[i] if keep[i] else 0


def reciprocal(denominator: np.ndarray) -> np.ndarray:
    """``1 / denominator``, 0 where it is 0 or NaN (a mean's gradient scale), across the cores.

    Examples
    --------
    >>> reciprocal(np.array([[2.0, 0.0, np.nan]]))
    array([[0.5, 0. , 0. ]])
    """
    flat = denominator.reshape(-1)
    out = np.empty_like(flat)
    in_blocks(flat.size, flat.size, lambda cells: _reciprocal(flat[cells], out[cells]))
    return out.reshape(denominator.shape)


@numba.njit(cache=True, nogil=True)
def _reciprocal(d, out):
    for i in range(d.size):
        out[i] = 1 / d[i] if d[i] != 0 and d[i] == d[i] else 0


@numba.njit(cache=True, nogil=True)
def _transpose_in(src, scale, keep, dst):
    """``dst[i, m] = src[m, i] · scale[m or 0, i] if keep[i] else 0`` (no ``scale``: shape ``(0, 0)``)."""
    members, n = src.shape
    scaled = scale.shape[1] == n
    per_member = scale.shape[0] > 1
    for start in range(0, n, 64):
        stop = min(start + 64, n)
        for j in range(members):
            for i in range(start, stop):
                if not keep[i]:
                    dst[i, j] = 0
                elif scaled:
                    dst[i, j] = src[j, i] * scale[j if per_member else 0, i]
                else:
                    dst[i, j] = src[j, i]
