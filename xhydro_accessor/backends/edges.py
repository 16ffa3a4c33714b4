"""Edge-weighted accumulations, as earthkit-hydro's ``edge_weights``, in every engine.

``edge[i]`` (one grid) multiplies what moves along the link from cell ``i`` to its
downstream cell; outlets have no link and their value is not read. For an upstream
accumulation (earthkit-hydro's notation, ``x'_j = w_j · x_j``)::

    n_j = x'_j  ⊕  ⊕_{i → j} edge_i · n_i          (⊕ = +, max or min)

so a sum weights each upstream cell's value by the product of the edge weights on
its path (a loss or a partition ratio per link). ``mean`` is the edge-weighted sum
of ``w · x`` over the same sum of ``w``; ``std``/``var`` the moments for the same
path weights (merged with Chan's stable update, where earthkit-hydro takes
``E[x²] - E[x]²``). Along the path to the outlet (``accumulate_downstream``)
``n_i = x'_i ⊕ edge_i · n_{down(i)}``.

Engines: :func:`compute_numba` (compiled passes of :mod:`..kernels.edges`, numpy and
CPU tensors without gradient) and :func:`compute_xp` (level-synchronous, functional,
any Array API library: torch and jax differentiate through it, wrt the field, the
node weights and the edge weights; an edge-weighted *sum* on torch has its own O(cells)
backward pass instead, :func:`_torch_sum`). :func:`run` picks one by the data, as
:func:`~xhydro_accessor.backends.dispatch` does; dask runs each batch chunk in numpy.
"""

from __future__ import annotations

import functools
from math import prod
from typing import Any

import numpy as np

from .. import reductions
from ..network import RiverNetwork
from . import engine_for, library_of, on_one_library
from .generic import as_batch, fill, numpy_dtype, setup
from .scatter import array_namespace, device

OPS = ("accumulate", "accumulate_downstream")


def links(network: RiverNetwork) -> np.ndarray:
    """The flat grid index of every cell with a downstream cell (the cells whose edge
    weight is read), cached.

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> links(RiverNetwork.from_ldd(np.array([[6, 6, 5]]))).tolist()
    [0, 1]
    """
    return network.cached("xhydro_accessor.links", lambda: np.sort(network.nodes[network.downstream >= 0]))


def check_edge_weights(network: RiverNetwork, edges: Any, how: str) -> Any:
    """``edges`` checked: the network's grid shape, numeric, no NaN on a link, and
    non-negative for ``mean``/``std``/``var`` (path weights are then frequency weights;
    a negative one makes a mean or a variance undefined). Values of other libraries
    are read where they can be (not under ``jax.jit``); dask edge weights are computed
    (one grid, which every task needs whole).

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
    >>> check_edge_weights(net, np.array([[0.5, np.nan, np.nan]]), "sum")
    Traceback (most recent call last):
    ...
    ValueError: edge_weights hold NaN on 1 link(s) (first at flat cell 1); NaN only where no link leaves
    """
    edges = reductions.supported_dtype(edges, "edge_weights")
    shape = tuple(edges.shape)
    if shape != tuple(network.shape):
        raise ValueError(
            f"edge_weights must have the network's grid shape {tuple(network.shape)} (one weight per "
            f"cell: its link to the downstream cell), got {shape}"
        )
    library = library_of(edges)
    if library == "dask":  # one grid, needed whole by every task: computed here
        edges = np.asarray(edges.compute())
        library = "numpy"
    if library == "numpy":
        return _check_values(edges, network, how)
    xp = array_namespace(edges)
    try:
        values = xp.reshape(edges, (-1,))
        on_links = xp.take(values, xp.asarray(links(network), device=device(edges)))
        nan = bool(xp.any(xp.isnan(on_links))) if xp.isdtype(on_links.dtype, "real floating") else False
        negative = bool(xp.any(on_links < 0))
    except (TypeError, RuntimeError):  # a jax tracer cannot be read
        return edges
    if nan or negative:
        _check_values(np.asarray(values.tolist() if hasattr(values, "tolist") else values), network, how)
    return edges


def _check_values(edges: Any, network: RiverNetwork, how: str) -> Any:
    values = np.asarray(edges).reshape(-1)
    on_links = values[links(network)]
    if on_links.dtype.kind == "f":
        bad = np.flatnonzero(np.isnan(on_links))
        if bad.size:
            raise ValueError(
                f"edge_weights hold NaN on {bad.size} link(s) (first at flat cell {links(network)[bad[0]]}); "
                "NaN only where no link leaves"
            )
    if reductions.REDUCTIONS[how].weights == "frequency" and np.any(on_links < 0):
        found = on_links[on_links < 0][:1].item()
        raise ValueError(
            f"edge_weights of how={how!r} must be non-negative (they weight whole paths), found {found}"
        )
    return edges


def result_dtype(how: str, field: Any, weights: Any, edges: Any) -> np.dtype:
    """The result dtype: :func:`~xhydro_accessor.reductions.output_dtype` promoted by the edge weights'."""
    dtype = reductions.output_dtype(how, field, weights)
    return reductions.result_dtype(
        how, np.result_type(dtype, np.dtype(np.int64 if np.dtype(edges).kind == "b" else edges))
    )


def run(
    network: RiverNetwork,
    op: str,
    field: Any,
    how: str,
    weights: Any,
    skipna: bool,
    edges: Any,
    engine: str = "auto",
) -> Any:
    """``op`` (``accumulate`` or ``accumulate_downstream``) with edge weights, in the engine
    for the arrays' library; arguments checked by the caller (:mod:`xhydro_accessor.operations`)."""
    if op not in OPS:
        raise ValueError(f"edge_weights are supported by {OPS}, not {op}")

    def one(field: Any, weights: Any, edges: Any) -> Any:
        library = library_of(field, weights, edges)
        if library == "dask":
            from .dask import map_batches

            dtype = result_dtype(how, field.dtype, None if weights is None else weights.dtype, edges.dtype)
            return map_batches(
                _block, field, weights, grid_ndim=len(network.shape), core=tuple(network.shape), dtype=dtype,
                network=network, op=op, how=how, skipna=skipna, edges=np.asarray(edges), engine=engine,
                name=f"hydro-{op}-{how}-edges",
            )  # fmt: skip
        x, w, shape = as_batch(network, field, weights)
        xp = array_namespace(x)
        e = xp.reshape(edges, (1, prod(network.shape)))
        label = library if library != "torch" or device(x).type == "cpu" else f"torch on {device(x)}"
        chosen = engine_for(engine, label)  # engine="numba" for arrays off the host raises
        compiled = chosen.__name__.endswith("numba_engine")
        tracked = library == "torch" and any(
            getattr(a, "requires_grad", False) for a in (x, w, e) if a is not None
        )
        if tracked and how == "sum":  # a linear pass: its adjoint in O(cells)
            import torch

            if torch.is_grad_enabled():
                y = _torch_sum().apply(x, w, e, network, op, skipna, compiled)
                return xp.reshape(y, shape)
        if compiled and not tracked:  # other gradients: traced through the xp kernels
            y = compute_numba(network, op, _host(x), how, None if w is None else _host(w), _host(e), skipna)
            y = y if library == "numpy" else xp.asarray(y)
        else:
            y = compute_xp(network, op, x, how, w, e, skipna)
        return xp.reshape(y, shape)

    return on_one_library(one, field, weights, edges)


@functools.cache
def _torch_sum() -> Any:
    """The ``torch.autograd.Function`` of an edge-weighted sum (torch imported when first needed).

    The pass is linear in the field; its adjoint is the edge-weighted pass the other way
    (``λ = accumulate_downstream(g, edges)`` for ``accumulate``, and back). Then
    ``d/dx' = λ`` and, for the link ``i → d``, ``d/d edge_i = λ_d · n_i`` (upstream
    accumulation) or ``λ_i · n_d`` (along the path): one pass each way, O(cells).
    """
    import torch

    def run(network, op, x, w, e, skipna, compiled):
        if compiled:
            w = None if w is None else _host(w)
            return torch.from_numpy(compute_numba(network, op, _host(x), "sum", w, _host(e), skipna))
        with torch.no_grad():
            return compute_xp(network, op, x, "sum", w, e, skipna)

    class EdgeSum(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, e, network, op, skipna, compiled):
            ctx.network, ctx.op, ctx.skipna, ctx.compiled = network, op, skipna, compiled
            y = run(network, op, x, w, e, skipna, compiled)
            ctx.save_for_backward(x, w, e, y)
            return y

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, g):
            x, w, e, y = ctx.saved_tensors
            network, op = ctx.network, ctx.op
            mask = torch.as_tensor(network.mask.reshape(1, -1).copy(), device=g.device)
            g = torch.where(mask, g, 0)
            other = "accumulate_downstream" if op == "accumulate" else "accumulate"
            adjoint = torch.where(mask, run(network, other, g, None, e.to(g.dtype), False, ctx.compiled), 0)
            xs, ws = x.to(g.dtype), None if w is None else w.to(g.dtype)
            nan = torch.isnan(xs) if ws is None else torch.isnan(xs) | torch.isnan(ws)
            keep = ~nan if ctx.skipna else torch.ones_like(nan)
            gx = torch.where(keep, adjoint if ws is None else adjoint * ws, 0)
            gw = None
            if ws is not None and ctx.needs_input_grad[1]:
                gw = torch.where(keep, adjoint * xs, 0)
                gw = gw.sum(0, keepdim=True) if w.shape[0] == 1 < g.shape[0] else gw
            ge = None
            if ctx.needs_input_grad[2]:
                down = torch.as_tensor(downstream_cells(network), device=g.device)
                has = down >= 0
                at = down.clamp(min=0)
                n = torch.where(mask, y.to(g.dtype), 0)
                if op == "accumulate":  # the link i -> d: λ_d · n_i
                    ge = torch.where(has, adjoint[:, at] * n, 0)
                else:  # λ_i · n_d
                    ge = torch.where(has, adjoint * n[:, at], 0)
                ge = ge.sum(0, keepdim=True).to(e.dtype)
            gx = gx.to(x.dtype) if ctx.needs_input_grad[0] else None
            gw = None if gw is None else gw.to(w.dtype)
            return gx, gw, ge, None, None, None, None

    return EdgeSum


def downstream_cells(network: RiverNetwork) -> np.ndarray:
    """The flat index of each cell's downstream cell, -1 at outlets and off the network (cached).

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> downstream_cells(RiverNetwork.from_ldd(np.array([[6, 5, 255]]))).tolist()
    [1, -1, -1]
    """

    def compute() -> np.ndarray:
        down = np.full(prod(network.shape), -1, np.int64)
        down[network.nodes] = network.downstream
        return down

    return network.cached("xhydro_accessor.down_flat", compute)


def _host(x: Any) -> np.ndarray:
    """A numpy view of a host array (a CPU tensor without gradient: zero-copy)."""
    return x if isinstance(x, np.ndarray) else x.detach().numpy()


def _block(field, *weights, network, op, how, skipna, edges, engine):
    weights = (weights or (None,))[0]
    return run(network, op, field, how, weights, skipna, edges, engine)


# ------------------------------------------------------------------- numba
def compute_numba(
    network: RiverNetwork, op: str, x: np.ndarray, how: str, w: Any, e: np.ndarray, skipna: bool
) -> np.ndarray:
    """The operation on ``(members, cells)`` numpy arrays (``w``: ``(1 or members, cells)``
    or None; ``e``: ``(1, cells)``) in the compiled passes."""
    from ..kernels import edges as kernels

    reduction = reductions.REDUCTIONS[how]
    dtype = result_dtype(how, x.dtype, None if w is None else w.dtype, e.dtype)
    state = dtype if dtype.kind == "f" else np.dtype(np.int64 if dtype.kind == "i" else np.uint64)
    reverse = op == "accumulate_downstream"
    nodes, to = network.nodes, network.downstream
    edge = np.ascontiguousarray(e.reshape(-1), state)
    xs = x.astype(state)  # a copy: the state
    ws = None if w is None else w.astype(state)
    nan = (np.isnan(xs) | (False if ws is None else np.isnan(ws))) if state.kind == "f" and skipna else None
    none = np.empty((0, 0), state)
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduction.state in ("sum", "mean", "extreme"):
            s = xs if ws is None else xs * ws
            if reduction.state != "extreme" and nan is not None:
                s[nan] = 0

        def run(kind, state, weight=none, m2=none):
            kernels.edge_pass(nodes, to, edge, kind, state, weight, m2, reverse, reduction.largest, skipna)

        if reduction.state == "sum":
            run(kernels.SUM, s)
            y = s
        elif reduction.state == "mean":
            total = np.ones_like(s) if ws is None else np.array(np.broadcast_to(ws, s.shape))
            if nan is not None:
                total[nan] = 0
            run(kernels.SUM, s)
            run(kernels.SUM, total)
            y = s / total
        elif reduction.state == "extreme":
            run(kernels.EXTREME, s)
            y = s
        else:
            mean = xs - reductions.shift(np, xs[:, nodes[:1024]])  # Welford is then exact to ~eps
            weight = np.ones_like(mean) if ws is None else np.array(np.broadcast_to(ws, mean.shape))
            if nan is not None:
                mean[nan] = 0
                weight[nan] = 0
            m2 = mean * 0  # NaN where the value is NaN
            run(kernels.MOMENTS, mean, weight, m2)
            y = m2 / weight
            y = np.sqrt(y) if reduction.finalize == "sqrt" else y
    off = network.cached("xhydro_accessor.off_network", lambda: np.flatnonzero(~network.mask.reshape(-1)))
    y[:, off] = reductions.fill_value(dtype)
    return y.astype(dtype, copy=False)


# ---------------------------------------------------------------------- xp
def compute_xp(network: RiverNetwork, op: str, x: Any, how: str, w: Any, e: Any, skipna: bool) -> Any:
    """The operation on ``(members, cells)`` arrays of any Array API library, level by
    level and functionally (differentiable by tracing: O(levels · cells))."""
    xp, ops, lv = setup(network, x)
    reduction = reductions.REDUCTIONS[how]
    names = [numpy_dtype(xp, a.dtype) for a in (x, w, e) if a is not None]
    dtype = getattr(xp, result_dtype(how, names[0], names[1] if w is not None else None, names[-1]).name)
    nan_fill = fill(xp, dtype)
    xs, ws, es = xp.astype(x, dtype), None if w is None else xp.astype(w, dtype), xp.astype(e, dtype)
    floating = xp.isdtype(dtype, "real floating")
    nan = None
    if skipna and floating:
        nan = xp.isnan(xs) if ws is None else xp.isnan(xs) | xp.isnan(ws)

    def zeroed(a):
        return a if nan is None else xp.where(nan, xp.zeros_like(a), a)

    if reduction.state in ("sum", "mean"):
        s = zeroed(xs if ws is None else xs * ws)
        y = _sum_levels(xp, ops, lv, op, s, es)
        if reduction.state == "mean":
            total = zeroed(xp.ones_like(xs) if ws is None else xs * 0 + ws)
            y = y / _sum_levels(xp, ops, lv, op, total, es)
    elif reduction.state == "extreme":
        y = _extreme_levels(xp, ops, lv, op, xs if ws is None else xs * ws, es, how, nan is not None)
    else:
        y = _moments_levels(xp, ops, lv, op, xs, ws, es, zeroed)
        y = xp.sqrt(y) if reduction.finalize == "sqrt" else y
    y = xp.where(lv.mask, y, xp.asarray(nan_fill, dtype=y.dtype, device=device(y)))
    return xp.astype(y, dtype)


def _sum_levels(xp, ops, lv, op, s, e):
    if op == "accumulate":
        for child, parent in lv.levels:
            s = ops.reduce(s, parent, ops.take(s, child) * ops.take(e, child), "add")
        return s
    for child, parent in reversed(lv.levels):
        s = ops.put(s, child, ops.take(s, child) + ops.take(e, child) * ops.take(s, parent))
    return s


def _extreme_levels(xp, ops, lv, op, s, e, how, skipna):
    largest = reductions.REDUCTIONS[how].largest
    combine = "max" if largest else "min"
    better = xp.maximum if largest else xp.minimum
    if not skipna:  # NaN propagates through maximum/minimum
        valid = None
    else:  # NaN -> the identity; "any valid value" tracked beside
        valid = xp.astype(~xp.isnan(s), s.dtype)
        s = xp.where(valid > 0, s, xp.full_like(s, reductions.identity(how, numpy_dtype(xp, s.dtype))))
    identity = xp.full_like(s, reductions.identity(how, numpy_dtype(xp, s.dtype)))

    def moved(at, by):  # the value moving along a link: invalid ones stay the identity
        value = ops.take(s, at) * ops.take(e, by)
        return value if valid is None else xp.where(ops.take(valid, at) > 0, value, ops.take(identity, at))

    if op == "accumulate":
        for child, parent in lv.levels:
            incoming = moved(child, child)
            s = ops.reduce(s, parent, incoming, combine)
            if valid is not None:
                valid = ops.reduce(valid, parent, ops.take(valid, child), "max")
    else:
        for child, parent in reversed(lv.levels):
            s = ops.put(s, child, better(ops.take(s, child), moved(parent, child)))
            if valid is not None:
                valid = ops.put(valid, child, xp.maximum(ops.take(valid, child), ops.take(valid, parent)))
    return s if valid is None else xp.where(valid > 0, s, xp.full_like(s, float("nan")))


def _safe_div(xp, a, b):
    return a / xp.where(b == 0, xp.ones_like(b), b)


def _moments_levels(xp, ops, lv, op, xs, ws, e, zeroed):
    """Weighted moments in sums (W, A = Σ w·x, Q = M2); a moved state is scaled by its
    link's weight. Merging groups: Q = Σ Q_g + Σ W_g (m_g - m)²."""
    sample = ops.take(xs, lv.edges[0])
    shifted = xs - reductions.shift(xp, sample[:, : min(1024, sample.shape[1])])
    weight = zeroed(xp.ones_like(xs) if ws is None else xs * 0 + ws)
    shifted = zeroed(shifted)
    W, A, Q = weight, weight * shifted, shifted * 0  # Q starts NaN where the value is NaN

    def spread(w, d):  # W · d², 0 where W is 0
        return xp.where(w == 0, xp.zeros_like(w), w * d * d)

    if op == "accumulate":
        for (child, parent), up in zip(lv.levels, lv.parents, strict=True):
            ec = ops.take(e, child)
            wc, ac, qc = (ops.take(v, child) * ec for v in (W, A, Q))
            w0, a0 = ops.take(W, up), ops.take(A, up)  # the parents' own group, before the merge
            W, A = ops.reduce(W, parent, wc, "add"), ops.reduce(A, parent, ac, "add")  # (in place or not)
            m1 = _safe_div(xp, ops.take(A, up), ops.take(W, up))
            Q = ops.put(Q, up, ops.take(Q, up) + spread(w0, _safe_div(xp, a0, w0) - m1))
            m = _safe_div(xp, ops.take(A, parent), ops.take(W, parent))
            Q = ops.reduce(Q, parent, qc + spread(wc, _safe_div(xp, ac, wc) - m), "add")
    else:
        for child, parent in reversed(lv.levels):
            ec = ops.take(e, child)
            wc, ac, qc = (ops.take(v, child) for v in (W, A, Q))
            wp, ap, qp = (ops.take(v, parent) * ec for v in (W, A, Q))
            wn, an = wc + wp, ac + ap
            mn = _safe_div(xp, an, wn)
            qn = qc + qp + spread(wc, _safe_div(xp, ac, wc) - mn) + spread(wp, _safe_div(xp, ap, wp) - mn)
            W, A, Q = ops.put(W, child, wn), ops.put(A, child, an), ops.put(Q, child, qn)
    return xp.where(W == 0, xp.full_like(Q, float("nan")), _safe_div(xp, Q, W))
