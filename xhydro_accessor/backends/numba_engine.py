"""The numba engine: river-network operations on arrays in host memory.

Fields are ``(cells, members)`` states passed over the network's topological order
by the compiled kernels of :mod:`xhydro_accessor.kernels.flow`, across the cores
(:mod:`xhydro_accessor.threads`). One interface with the level-synchronous engine
(:mod:`.generic`): :func:`run` and :func:`compute` (forward), :func:`transpose` (the
adjoint: the transposed pass, the gradient of a sum), :func:`compute_with_sources` and
:func:`send` (a min/max with the cell each result comes from, and its gradient sent
there). numpy arrays (and CPU tensors, as zero-copy views) run here;
the dispatcher (:func:`xhydro_accessor.backends.dispatch`) chooses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from math import prod
from typing import Any

import numba
import numpy as np

from .. import reductions
from ..kernels import flow
from ..network import RiverNetwork
from ..reductions import fill_value, supported_dtype
from ..threads import CORES, in_blocks, in_parallel, last_level_cache_bytes, run_pass
from .generic import as_batch

#: (in_place, reverse) of each operation in the numpy engine.
_PASSES = {
    "accumulate": (True, False),
    "accumulate_downstream": (True, True),
    "move_downstream": (False, False),
    "move_upstream": (False, True),
}


def run(
    network: RiverNetwork,
    op: str,
    field: Any,
    how: str = "sum",
    weights: Any = None,
    skipna: bool = False,
    arg: np.ndarray | None = None,
) -> np.ndarray:
    """Run operation ``op`` (``accumulate``, ``accumulate_downstream``, ``move_downstream``,
    ``move_upstream``) on a numpy field ``(..., *network.shape)``.

    For min/max, ``arg`` (``(cells, members)`` integers, optional) receives the flat
    index of the cell holding each result on the network (-1: none): where a
    gradient goes.
    """
    if op == "move_upstream":
        how, weights, skipna = "max", None, False
    in_place, reverse = _PASSES[op]
    return _reduce(network, field, how, weights, skipna, in_place=in_place, reverse=reverse, arg=arg)


def compute(
    network: RiverNetwork, op: str, x: np.ndarray, how: str, w: Any, skipna: bool, arg: Any = None
) -> np.ndarray:
    """:func:`run` on ``(members, cells)`` arrays, weights ``(1 or members, cells)`` or None
    (the interface of :func:`.generic.compute`)."""
    shape = (x.shape[0], *network.shape)
    w = None if w is None else w.reshape(shape if w.shape[0] > 1 else network.shape)
    return run(network, op, x.reshape(shape), how, w, skipna, arg).reshape(x.shape)


def compute_with_sources(
    network: RiverNetwork, op: str, x: np.ndarray, how: str, w: Any, skipna: bool
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`compute` of a min/max and, for its gradient, the cell each result comes from
    (recorded by the pass itself; ``(cells, members)``, -1 none), for :func:`send`.

    The interface of :func:`.generic.compute_with_sources`.
    """
    sources = np.empty((x.shape[1], x.shape[0]), network.nodes.dtype)
    return compute(network, op, x, how, w, skipna, sources), sources


def _reduce(network, field, how, weights, skipna, *, in_place, reverse, arg=None):
    reduction = reductions.get(how, "accumulate")
    kind = reduction.state
    field = supported_dtype(np.asarray(field))  # numpy-compatible data (torch CPU: float16 too)
    weights = None if weights is None else supported_dtype(np.asarray(weights), "weights")
    x, w, shape = as_batch(network, field, weights)
    grid_shape = network.shape
    members, size = x.shape
    w = np.empty((0, 0)) if w is None else w  # the kernels' "no weights"
    dtype = reductions.output_dtype(how, x.dtype, w.dtype if w.size else None)
    state = dtype if dtype.kind == "f" else np.dtype(np.int64 if dtype.kind == "i" else np.uint64)
    fill = fill_value(dtype)
    mask = network.mask.reshape(-1)
    nodes = network.nodes
    no_weight = np.empty((0, 0), state)
    plain_sum = kind == "sum" and in_place and not (w.size or skipna)
    if plain_sum and _member_by_member_wins(network, members, size, state):
        out = _sum_member_by_member(network, x, state.type(fill), reverse)
        return out.reshape(shape)
    if kind == "mean" and not (w.size or skipna):  # a plain sum over a cell count shared by all members
        passes = {"in_place": in_place, "reverse": reverse}
        total = _reduce(network, field, "sum", None, False, **passes)
        count = _reduce(network, np.ones(grid_shape, dtype), "sum", None, False, **passes)
        return _divide(total, count, dtype)

    def new_state(multiply, track_weight, zero_nan=skipna):
        out = _state_array(size, members, state)
        weight = _state_array(size, members, state) if track_weight else no_weight
        if members == 1 and not (w.size or zero_nan or track_weight):  # the hot path
            flat = out.reshape(-1)
            in_blocks(
                size,
                size,
                lambda cells: flow.copy_fill(x[0, cells], mask[cells], state.type(fill), flat[cells]),
            )
            return out, weight

        def fill_cells(cells):  # members innermost: numpy's blocked transpose, then weights
            np.copyto(out[cells], x[:, cells].T, casting="unsafe")
            w_cells = w[:, cells] if w.size else w
            weight_cells = weight[cells] if track_weight else no_weight
            flow.prepare(out[cells], w_cells, mask[cells], zero_nan, multiply, state.type(fill), weight_cells)

        in_blocks(size, members * size, fill_cells)
        return out, weight

    def sum_pass(src, dst):
        run_sum_pass(network, src, dst, reverse)

    def target(like, value):
        if in_place:
            return like
        out = np.full_like(like, state.type(value))
        out[~mask] = state.type(fill)
        return out

    if kind in ("sum", "mean"):
        src, src_weight = new_state(True, kind == "mean")
        dst = target(src, 0)
        sum_pass(src, dst)
        if kind == "mean":
            dst_weight = target(src_weight, 0)
            sum_pass(src_weight, dst_weight)
            with np.errstate(invalid="ignore", divide="ignore"):
                dst = np.divide(dst, dst_weight, out=dst)
    elif kind == "extreme":
        src, _ = new_state(True, False, zero_nan=False)  # the pass itself skips NaN
        identity = np.nan if skipna and state.kind == "f" else reductions.identity(how, state)
        dst = target(src, identity)
        if arg is None:
            arg = np.empty((0, 0), nodes.dtype)
        else:
            flow.arg_start(nodes, in_place, arg)
        run_pass(
            network, flow.extreme_pass, src, dst, reverse, reduction.largest, skipna, arg, reverse=reverse
        )
    else:
        if x.dtype.kind == "f":  # shift by a typical value: Welford is then exact to ~eps
            x = x.astype(state) - reductions.shift(np, x[:, nodes[:1024]]).astype(state)
        mean, weight = new_state(False, True)
        third = reduction.finalize == "skew"
        src = (weight, mean, mean * 0, mean * 0 if third else no_weight)  # M2, M3 start NaN at NaN
        dst = src if in_place else (target(weight, 0), target(mean, 0), np.zeros_like(mean), no_weight)
        run_pass(network, flow.moments_pass, src, dst, reverse, reverse=reverse)
        weight, m2 = dst[0], dst[2]
        with np.errstate(invalid="ignore", divide="ignore"):
            dst = reductions.skewness(np, weight, m2, dst[3]) if third else np.divide(m2, weight, out=m2)
        if reduction.finalize == "sqrt":
            dst = np.sqrt(dst, out=dst)
    if not in_place:
        empty = network.outlets if reverse else network.sources
        if reduction.empty != "zero" or reverse:
            dst[empty] = state.type(fill)
    out = dst.T.reshape(shape)
    return out if out.dtype == dtype else out.astype(dtype)


def run_sum_pass(network: RiverNetwork, src: np.ndarray, dst: np.ndarray, reverse: bool) -> None:
    """:func:`.kernels.flow.sum_pass` on ``(cells, members)`` states, across the cores;
    one member runs the flat kernel (about twice as fast)."""
    if src.shape[1] == 1:
        run_pass(network, flow.sum_pass_single, src.reshape(-1), dst.reshape(-1), reverse, reverse=reverse)
    else:
        run_pass(network, flow.sum_pass, src, dst, reverse, reverse=reverse)


def _divide(total: np.ndarray, count: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``total / count`` as ``dtype``, ``count`` over the grid (shared by the batch); in
    place and across the cores when ``total`` is a C-contiguous array of ``dtype``."""

    def divide(a, b, **out):
        with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0: the sources of a move
            return np.divide(a, b, **out)

    if total.dtype != dtype:  # an integer sum
        return divide(total, count, dtype=dtype)
    if not total.flags.c_contiguous:
        return divide(total, count, out=total)
    flat, count = total.reshape(-1, count.size), count.reshape(-1)
    in_blocks(count.size, total.size, lambda cells: divide(flat[:, cells], count[cells], out=flat[:, cells]))
    return total


#: Large batches run member by member while the topology and one member's field per core
#: fit in this many bytes (5/8 of the last-level cache): each pass then stays in cache
#: (measured with 32 MiB: 1.1-1.25x faster on the real networks at up to 13 MB, slower on
#: a 1000² synthetic one at 23 MB).
MEMBER_BY_MEMBER_UP_TO_BYTES = last_level_cache_bytes() * 5 // 8


def _member_by_member_wins(network: RiverNetwork, members: int, size: int, state: np.dtype) -> bool:
    topology = network.nodes.nbytes + network.downstream.nbytes
    working_set = topology + min(members, CORES) * size * state.itemsize
    return members > MEMBERS_FIRST_UP_TO and working_set <= MEMBER_BY_MEMBER_UP_TO_BYTES


def _sum_member_by_member(network: RiverNetwork, x: np.ndarray, fill: Any, reverse: bool) -> np.ndarray:
    """Sum passes over a ``(members, cells)`` batch one member at a time, the members
    spread over the cores: on a grid that fits in cache each member's field stays there
    through its pass, and the result is C-contiguous."""
    out = aligned_empty(x.shape, fill.dtype)
    nodes, to, mask = network.nodes, network.downstream, network.mask.reshape(-1)

    def run(members: range) -> None:
        for j in members:
            flow.copy_fill(x[j], mask, fill, out[j])
            flow.sum_pass_single(nodes, to, out[j], out[j], reverse)

    in_parallel(run, [range(core, len(x), CORES) for core in range(CORES)])
    return out


#: Batches up to this many members keep them first in the state arrays (the passes stride
#: over a few cache lines per cell; the result comes out C-contiguous); larger batches put
#: them innermost (one contiguous vector per cell; the result is a transposed view).
MEMBERS_FIRST_UP_TO = 8


def _state_array(size: int, members: int, dtype) -> np.ndarray:
    """A ``(cells, members)`` state array, members first in memory for small batches."""
    if 1 < members <= MEMBERS_FIRST_UP_TO:
        return aligned_empty((members, size), dtype).T
    return aligned_empty((size, members), dtype)


def aligned_empty(shape: tuple[int, ...], dtype: Any, zeros: bool = False) -> np.ndarray:
    """``np.empty(shape, dtype)`` (``zeros``: ``np.zeros``) starting on a 64-byte boundary:
    the engine's results can then be handed to TensorFlow without a copy (it takes no less
    through DLPack). Within :func:`allocating`, the zero-filled array its function gives.

    Examples
    --------
    >>> out = aligned_empty((3, 5), np.float32)
    >>> out.shape, out.dtype, out.ctypes.data % 64, out.flags.c_contiguous
    ((3, 5), dtype('float32'), 0, True)
    """
    dtype = np.dtype(dtype)
    allocate = _ALLOCATE.get()
    if allocate is not None and (out := allocate(tuple(shape), dtype)) is not None:
        return out
    return aligned(shape, dtype, 64, zeros)


def aligned(shape: tuple[int, ...], dtype: Any, alignment: int, zeros: bool = False) -> np.ndarray:
    """``np.empty(shape, dtype)`` (``zeros``: ``np.zeros``) starting on an ``alignment``-byte
    boundary (the slack before it is never touched).

    Examples
    --------
    >>> out = aligned((1000, 1000), np.float32, 1 << 21)
    >>> out.shape, out.dtype, out.ctypes.data % (1 << 21), out.flags.c_contiguous
    ((1000, 1000), dtype('float32'), 0, True)
    """
    dtype = np.dtype(dtype)
    nbytes = prod(shape) * dtype.itemsize
    raw = (np.zeros if zeros else np.empty)(nbytes + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def members_first(result: np.ndarray, grid_ndim: int) -> np.ndarray:
    """A result of the numpy engine, C-contiguous: for a batch the engine returns a
    transposed view of its ``(cells, members)`` state; this copies it in cache-sized
    blocks (several times faster than numpy's copy), across the cores.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork, accumulate
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> out = accumulate(net, np.ones((12, 1, 4)), how="max")  # over 8 members: innermost
    >>> out.flags.c_contiguous, members_first(out, 2).flags.c_contiguous
    (False, True)
    >>> bool((members_first(out, 2) == out).all())
    True
    """
    if result.flags.c_contiguous:
        return result
    state = result.reshape(prod(result.shape[: result.ndim - grid_ndim]), -1).T
    if not state.flags.c_contiguous:  # not the engine's layout
        return np.ascontiguousarray(result)
    out = aligned_empty((state.shape[1], state.shape[0]), result.dtype)
    in_blocks(state.shape[0], state.size, lambda cells: flow.transpose_out(state[cells], out[:, cells]))
    return out.reshape(result.shape)


# -------------------------------------------------------------------- gradients
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


def send(network: RiverNetwork, sources: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The gradient of a min/max wrt its reduced values: each result's gradient ``g``
    ``(members, cells)`` sent to the cell holding it, ``sources`` ``(cells, members)``
    (as :func:`compute_with_sources` gives them)."""
    out = aligned_empty(g.shape, g.dtype, zeros=True)
    keep = network.mask.reshape(-1)
    in_blocks(
        g.shape[0], g.size, lambda members: _send(sources[:, members], g[members].T, keep, out[members])
    )
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
        out = aligned_empty(g.shape, g.dtype, zeros=True)
        scale = no_scale if scale is None else scale
        pull = op == "accumulate"
        run_pass(network, _members_first_pass, g, scale, out, pull, reverse=pull)
        return out
    state = aligned_empty(g.shape[::-1], g.dtype)
    if g.shape[0] == 1:  # one field: a flat copy
        flat = state.reshape(-1)
        if scale is None:
            in_blocks(
                flat.size, flat.size, lambda cells: flow.copy_fill(g[0, cells], mask[cells], 0, flat[cells])
            )
        else:
            scaled = scale  # bound here: not None in this branch
            in_blocks(
                flat.size,
                flat.size,
                lambda cells: _scaled_copy(g[0, cells], scaled[0, cells], mask[cells], flat[cells]),
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


#: The allocator of :func:`aligned_empty` in this context (see :func:`allocating`); None: numpy.
_ALLOCATE: ContextVar[Callable[[tuple[int, ...], np.dtype], np.ndarray | None] | None] = ContextVar(
    "allocate", default=None
)


@contextmanager
def allocating(allocate: Callable[[tuple[int, ...], np.dtype], np.ndarray | None] | None) -> Iterator[None]:
    """Within, the engine's arrays (its results, states and gradients' outputs) come from
    ``allocate(shape, dtype)``: a zero-filled, writable, C-contiguous array (e.g. a view of
    another library's memory, into which the engine then writes its result instead of
    having it copied there), or None for numpy's. In this thread (context) only.

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> memory = np.zeros(8)
    >>> with allocating(lambda shape, dtype: memory[: prod(shape)].reshape(shape)):
    ...     out = compute(net, "accumulate", np.ones((1, 4)), "sum", None, False)
    >>> out, memory
    (array([[1., 2., 3., 1.]]), array([1., 2., 3., 1., 0., 0., 0., 0.]))
    """
    token = _ALLOCATE.set(allocate)
    try:
        yield
    finally:
        _ALLOCATE.reset(token)
