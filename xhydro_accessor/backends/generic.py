"""Level-synchronous kernels written once against the Array API (any library, any device).

Arrays are ``(members, cells)`` over the flat grid. The network's edges are
processed level by level (see :mod:`~xhydro_accessor.backends.levels`): an
accumulation scatters each level into its parents, a downstream reduction gathers
each level from its parents, a one-step move is one scatter or one gather. Index
operations go through the :mod:`~xhydro_accessor.backends.scatter` registry; all
else through ``array_api_compat.array_namespace``. Results equal the numpy path's
(same dtypes, NaN policy and fill values); std/var merge (weight, mean, M2) with
Chan's stable update, as the numpy path does.

Every function here is functional (returns new arrays), so libraries that trace
or record (jax, differentiable torch) follow it as written: O(levels · cells).
The torch and jax backends wrap it in a custom gradient that is O(cells).

The "xp" engine: the interface of :mod:`.numba_engine` — :func:`run` and
:func:`compute` (forward), :func:`transpose` (adjoint), :func:`compute_with_sources`
and :func:`send` (a min/max's sources and its gradient sent there).
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np

from .. import reductions
from ..network import RiverNetwork
from .levels import Levels, converted
from .scatter import Scatter, array_namespace, device, scatter_for

OPS = ("accumulate", "accumulate_downstream", "move_downstream", "move_upstream")
#: The transposed operator of each operation's linear (sum) form.
ADJOINT = {
    "accumulate": "accumulate_downstream",
    "accumulate_downstream": "accumulate",
    "move_downstream": "move_upstream",
    "move_upstream": "move_downstream",
}


def run(
    network: RiverNetwork,
    op: str,
    field: Any,
    how: str = "sum",
    weights: Any = None,
    skipna: bool = False,
    engine: str = "xp",
) -> Any:
    """Run operation ``op`` on an Array API array: same library, device and dtype rules out.

    ``weights`` must already be an array of the same library (or None); ``engine`` is
    always this one (the argument completes the engines' common signature).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> run(net, "accumulate", np.ones((2, 3)))
    array([[1., 1., 1.],
           [1., 6., 1.]])
    """
    x, w, shape = as_batch(network, field, weights)
    return array_namespace(x).reshape(compute(network, op, x, how, w, skipna), shape)


def as_batch(network: RiverNetwork, field: Any, weights: Any = None) -> tuple[Any, Any, tuple[int, ...]]:
    """The one batch reshape of every engine: ``field`` as ``(members, cells)``, ``weights``
    as ``(1 or members, cells)`` (None stays None), and the shape to give results back in.

    The grid is checked first; booleans become int64. Any Array API array (numpy included).

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> x, w, shape = as_batch(net, np.ones((3, 1, 4), bool), np.ones((1, 4)))
    >>> x.shape, x.dtype, w.shape, shape
    ((3, 4), dtype('int64'), (1, 4), (3, 1, 4))
    """
    shape = tuple(field.shape)
    network.check_grid(shape)
    xp = array_namespace(field)
    grid = tuple(network.shape)
    w = None if weights is None else as_weights(xp, weights, grid, shape)
    return as_members(xp, field, len(grid)), w, shape


def as_members(xp: Any, field: Any, grid_ndim: int) -> Any:
    """``field`` as ``(members, cells)``; booleans become int64."""
    shape = tuple(field.shape)
    x = xp.reshape(field, (prod(shape[: len(shape) - grid_ndim]), prod(shape[len(shape) - grid_ndim :])))
    return xp.astype(x, xp.int64) if x.dtype == xp.bool else x


def as_weights(xp: Any, weights: Any, grid: tuple, field_shape: tuple) -> Any:
    """Weights as ``(1, cells)`` (one grid) or ``(members, cells)`` (the field's shape)."""
    shape = tuple(weights.shape)
    if shape == grid:
        return xp.reshape(weights, (1, prod(grid)))
    if shape == field_shape:
        return as_members(xp, weights, len(grid))
    raise ValueError(f"weights must have the grid's shape {grid} or the field's {field_shape}, got {shape}")


_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128")  # fmt: skip


def numpy_dtype(xp: Any, dtype: Any) -> np.dtype:
    """The numpy dtype of the same name as ``xp``'s ``dtype``."""
    for name in _NAMES:
        if getattr(xp, name, None) == dtype:
            return np.dtype(name)
    raise TypeError(f"fields must be numeric, got dtype {dtype}")


def result_dtype(xp: Any, how: str | None, *dtypes: Any) -> Any:
    """The output dtype, in ``xp``'s dtypes, by the numpy path's rules (numpy promotion
    included, so every library gives the same dtype)."""
    return getattr(xp, reductions.output_dtype(how, *(numpy_dtype(xp, d) for d in dtypes)).name)


def fill(xp: Any, dtype: Any) -> Any:
    """:func:`~xhydro_accessor.reductions.fill_value` of ``xp``'s ``dtype``, a Python scalar."""
    return reductions.fill_value(numpy_dtype(xp, dtype)).item()


def setup(network: RiverNetwork, x: Any) -> tuple[Any, Scatter, Levels]:
    """The namespace, scatter registry entry and converted network for array ``x``."""
    ops = scatter_for(x, prod(network.shape))
    return array_namespace(x), ops, converted(network, ops)


def compute(network: RiverNetwork, op: str, x: Any, how: str, w: Any, skipna: bool) -> Any:
    """The operation on ``(members, cells)`` arrays; ``w`` ``(1 or members, cells)`` or None."""
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    xp, ops, lv = setup(network, x)
    dtypes = (x.dtype,) if w is None else (x.dtype, w.dtype)
    dtype = result_dtype(xp, None if op == "move_upstream" else how, *dtypes)
    nan = fill(xp, dtype)
    if op == "move_upstream":
        out = xp.full(tuple(x.shape), nan, dtype=dtype, device=device(x))
        return ops.put(out, lv.edges[0], ops.take(xp.astype(x, dtype), lv.edges[1]))
    xs = xp.astype(x, dtype)  # the state: sums and extremes of integers stay integers
    ws = None if w is None else xp.astype(w, dtype)
    reduction = reductions.REDUCTIONS[how]
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 -> NaN is intended
        if reduction.state in ("sum", "mean"):
            y = _sum_mean(xp, ops, lv, op, xs, ws, reduction.state, skipna)
        elif reduction.state == "extreme":
            y = _extreme(xp, ops, lv, op, xs, ws, how, skipna)
        else:
            y = _moments(xp, ops, lv, op, xs, ws, skipna)
            y = xp.sqrt(y) if reduction.finalize == "sqrt" else y
    if op == "move_downstream" and reduction.empty != "zero":
        y = xp.where(lv.has_up, y, xp.asarray(nan, dtype=y.dtype, device=device(y)))
    y = xp.where(lv.mask, y, xp.asarray(nan, dtype=y.dtype, device=device(y)))
    return xp.astype(y, dtype)


# ----------------------------------------------------------------------- passes
def flow_pass(ops: Scatter, lv: Levels, op: str, s: Any, how: str, target: Any = None) -> Any:
    """One pass ``⊕ = how`` (add, max, min): ``accumulate``/``accumulate_downstream``
    reduce ``s`` in place (functionally); ``move_downstream`` reduces into ``target``."""
    if op == "accumulate":
        for child, parent in lv.levels:
            s = ops.reduce(s, parent, ops.take(s, child), how)
        return s
    if op == "accumulate_downstream":
        combine = getattr(ops.xp, {"add": "add", "max": "maximum", "min": "minimum"}[how])
        for child, parent in reversed(lv.levels):
            s = ops.put(s, child, combine(ops.take(s, child), ops.take(s, parent)))
        return s
    return ops.reduce(target, lv.edges[1], ops.take(s, lv.edges[0]), how)


def _nan_of(xp, xs, ws):
    nan = xp.isnan(xs)
    return nan if ws is None else nan | xp.isnan(ws)


def _sum_mean(xp, ops, lv, op, xs, ws, how, skipna):
    s = xs if ws is None else xs * ws
    members = s.shape[0]
    if how == "mean":
        weight = xp.ones_like(s) if ws is None else xp.broadcast_to(ws, tuple(s.shape))
        s = xp.concat([s, weight], axis=0)  # one pass for both sums
    if skipna:
        nan = _nan_of(xp, xs, ws)
        if how == "mean":
            nan = xp.concat([nan, nan], axis=0)
        s = xp.where(nan, xp.zeros_like(s), s)
    target = xp.zeros_like(s) if op == "move_downstream" else None
    y = flow_pass(ops, lv, op, s, "add", target)
    return y if how == "sum" else y[:members, ...] / y[members:, ...]


def _extreme(xp, ops, lv, op, xs, ws, how, skipna):
    s = xs if ws is None else xs * ws
    dev = device(s)
    floating = xp.isdtype(s.dtype, "real floating")
    identity = reductions.identity(how, numpy_dtype(xp, s.dtype))
    how = "max" if reductions.REDUCTIONS[how].largest else "min"  # the scatter's combine
    if not (skipna and floating):  # NaN propagates through maximum/minimum
        target = xp.full(tuple(s.shape), identity, dtype=s.dtype, device=dev)
        return flow_pass(ops, lv, op, s, how, target if op == "move_downstream" else None)
    # skipna: NaN -> identity, and a second half tracking "any valid value" (1 / -1)
    nan = xp.isnan(s)
    flag = 1.0 if how == "max" else -1.0
    valid = xp.where(nan, xp.zeros_like(s), xp.full_like(s, flag))
    stacked = xp.concat([xp.where(nan, xp.full_like(s, identity), s), valid], axis=0)
    target = None
    if op == "move_downstream":
        target = xp.concat([xp.full_like(s, identity), xp.zeros_like(s)], axis=0)
    y = flow_pass(ops, lv, op, stacked, how, target)
    members = s.shape[0]
    return xp.where(y[members:, ...] != 0, y[:members, ...], xp.full_like(s, float("nan")))


def _div(xp, a, w):
    return a / xp.where(w == 0, xp.ones_like(w), w)


def _wsq(xp, w, d):
    return xp.where(w == 0, xp.zeros_like(w), w * d * d)


def _moments(xp, ops, lv, op, xs, ws, skipna):
    """Weighted population variance: states (W, A = Σ w·x, Q = M2), merged stably."""
    weight = xp.ones_like(xs) if ws is None else xp.ones_like(xs) * ws  # a writable copy
    if skipna:
        nan = _nan_of(xp, xs, ws)
        xs = xp.where(nan, xp.zeros_like(xs), xs)
        weight = xp.where(nan, xp.zeros_like(xs), weight)
    sample = ops.take(xs, lv.edges[0])
    xs = xs - reductions.shift(xp, sample[:, : min(1024, sample.shape[1])])
    state = (weight, weight * xs, xs * 0)  # M2 starts NaN where the value is NaN
    if op == "accumulate":
        for (child, parent), up in zip(lv.levels, lv.parents, strict=True):
            state = _merge_children(xp, ops, state, state, child, parent, up)
    elif op == "accumulate_downstream":
        for child, parent in reversed(lv.levels):
            w_, a, q = state
            wc, ac, qc = (ops.take(v, child) for v in state)
            wp, ap, qp = (ops.take(v, parent) for v in state)
            wn, an = wc + wp, ac + ap
            mean = _div(xp, an, wn)
            qn = qc + qp + _wsq(xp, wc, _div(xp, ac, wc) - mean) + _wsq(xp, wp, _div(xp, ap, wp) - mean)
            state = (ops.put(w_, child, wn), ops.put(a, child, an), ops.put(q, child, qn))
    else:
        zeros = tuple(xp.zeros_like(v) for v in state)
        state = _merge_children(xp, ops, state, zeros, *lv.edges, lv.all_parents)
    weight, m2 = state[0], state[2]
    return xp.where(weight == 0, xp.full_like(m2, float("nan")), _div(xp, m2, weight))  # no 0/0 in gradients


def _merge_children(xp, ops, src, dst, child, parent, up):
    """Merge the ``src`` states of ``child`` cells into the ``dst`` states of ``parent``."""
    wc, ac, qc = (ops.take(v, child) for v in src)
    w, a, q = dst
    w0, a0 = ops.take(w, up), ops.take(a, up)
    w, a = ops.reduce(w, parent, wc, "add"), ops.reduce(a, parent, ac, "add")
    wn = ops.take(w, up)
    q = ops.put(q, up, ops.take(q, up) + _wsq(xp, w0, _div(xp, a0, w0) - _div(xp, ops.take(a, up), wn)))
    mean = _div(xp, ops.take(a, parent), ops.take(w, parent))
    return w, a, ops.reduce(q, parent, qc + _wsq(xp, wc, _div(xp, ac, wc) - mean), "add")


# -------------------------------------------------------------------- gradients
def arg_extreme(network: RiverNetwork, op: str, s: Any, y: Any) -> Any:
    """For each output cell of a min/max ``op``, the cell holding the extreme (-1: none).

    ``s`` is the reduced state (w·x) and ``y`` the result, both ``(members, cells)``.
    The cell itself wins ties, then the first upstream (downstream) branch.
    """
    xp, ops, lv = setup(network, s)
    dev = device(s)
    index = xp.broadcast_to(xp.arange(s.shape[1], dtype=xp.int64, device=dev), tuple(s.shape))
    none = xp.full(tuple(s.shape), -1, dtype=xp.int64, device=dev)
    if op == "move_downstream":
        child, parent = lv.edges
        hit = ops.take(s, child) == ops.take(y, parent)
        return ops.reduce(none, parent, xp.where(hit, ops.take(index, child), ops.take(none, child)), "max")
    arg = xp.where(s == y, index, none)
    if op == "accumulate":
        for child, parent in lv.levels:
            hit = (ops.take(arg, parent) < 0) & (ops.take(y, child) == ops.take(y, parent))
            arg = ops.reduce(arg, parent, xp.where(hit, ops.take(arg, child), ops.take(none, child)), "max")
        return arg
    for child, parent in reversed(lv.levels):
        own = ops.take(arg, child)
        hit = (own < 0) & (ops.take(y, child) == ops.take(y, parent))
        arg = ops.put(arg, child, xp.where(hit, ops.take(arg, parent), own))
    return arg


def transpose(network: RiverNetwork, op: str, g: Any, scale: Any = None) -> Any:
    """The transposed operator of ``op``'s sum form on ``g · scale`` ``(members, cells)``, 0
    where the output does not depend on ``g``: the adjoint of an upstream sum is the sum
    along the downstream path, of a one-step move downstream the downstream cell's value."""
    _, ops, lv = setup(network, g)
    out = compute(network, ADJOINT[op], g if scale is None else g * scale, "sum", None, False)
    return ops.zero_outside(out, lv.has_down if op == "move_downstream" else lv.mask)


def compute_with_sources(network: RiverNetwork, op: str, x: Any, how: str, w: Any, skipna: bool) -> Any:
    """:func:`compute` of a min/max and, for its gradient, the cell each result comes from
    (:func:`arg_extreme`, ``(members, cells)``, -1 none), for :func:`send`.

    The interface of :func:`.numba_engine.compute_with_sources`.
    """
    y = compute(network, op, x, how, w, skipna)
    s = _cast(x, y) if w is None else _cast(x, y) * _cast(w, y)
    return y, arg_extreme(network, op, s, y)


def _cast(a: Any, like: Any) -> Any:
    """``a`` in ``like``'s dtype (its library's ``astype``)."""
    return array_namespace(a).astype(a, like.dtype)


def send(network: RiverNetwork, sources: Any, g: Any) -> Any:
    """The gradient of a min/max: ``g`` sent to the cells of :func:`compute_with_sources`'s sources."""
    return scatter_to_arg(sources, g)


def scatter_to_arg(arg: Any, g: Any) -> Any:
    """``out[m, arg[m, i]] += g[m, i]`` for ``arg >= 0``: the gradient of a min/max."""
    xp = array_namespace(g)
    ops = scatter_for(g, prod(g.shape))
    members, size = tuple(g.shape)
    offset = xp.reshape(xp.arange(members, dtype=xp.int64, device=device(g)) * size, (members, 1))
    flat = xp.reshape(xp.where(arg >= 0, arg + offset, xp.zeros_like(arg)), (-1,))
    values = xp.reshape(xp.where(arg >= 0, g, xp.zeros_like(g)), (1, -1))
    out = ops.reduce(xp.zeros_like(values), flat, values, "add")
    return xp.reshape(out, (members, size))


def mean_scale(xp: Any, denominator: Any) -> Any:
    """``1 / denominator``, 0 where it is 0: how a mean's gradient scales."""
    safe = denominator != 0
    return xp.where(
        safe, 1 / xp.where(safe, denominator, xp.ones_like(denominator)), xp.zeros_like(denominator)
    )


def backward(
    network: RiverNetwork,
    op: str,
    how: str,
    skipna: bool,
    x: Any,
    w: Any,
    y: Any,
    aux: Any,
    g: Any,
    adjoint: Any,
    need_w: bool = True,
) -> tuple[Any, Any]:
    """Gradients ``(d field, d weights)`` of a sum/mean/min/max operation, all ``(members, cells)``.

    ``x`` and ``w`` are the inputs in the output's dtype, ``y`` the output.
    ``aux`` is :func:`mean_scale` of the denominator Σw for a mean; for min/max the
    function ``g -> d(w·x)``: the engine's ``send`` of the sources its
    ``compute_with_sources`` found (the same interface in both engines).
    ``adjoint(op, g, scale)`` applies the transposed operator of ``op``'s sum form
    to ``g · scale`` (as :func:`transpose`, in the caller's fastest way), so each gradient costs
    O(cells). The gradient reads ``g`` only where the output depends on the input
    (elsewhere the output is NaN or fill, its arg -1). The weights' gradient is
    summed over members when ``w`` is one grid.
    """
    xp = array_namespace(g)

    def adjoint_(values, scale=None):
        return adjoint(op, values, scale)

    k = None
    reduction = None if op == "move_upstream" else reductions.REDUCTIONS[how]  # a move: a plain sum
    if reduction is not None and reduction.gradient == "arg":
        h = aux(g)
    elif reduction is not None and reduction.state == "mean":  # scaled by 1 / Σw
        scale = aux
        h = adjoint_(g, scale)
        if w is not None and need_w:
            k = adjoint_(g, xp.where(scale != 0, y, xp.zeros_like(y)) * scale)
    else:
        h = adjoint_(g)
    gx = h if w is None else h * w
    gw = None
    if w is not None and need_w:
        gw = h * x if k is None else h * x - k
    if skipna:
        nan = _nan_of(xp, x, w)
        gx = xp.where(nan, xp.zeros_like(gx), gx)
        gw = None if gw is None else xp.where(nan, xp.zeros_like(gw), gw)
    if gw is not None and w.shape[0] == 1 and g.shape[0] > 1:
        gw = xp.sum(gw, axis=0, keepdims=True)
    return gx, gw
