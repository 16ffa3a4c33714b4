"""The torch backend: same device out, differentiable, fast on CPU.

Without gradients, CPU tensors run the compiled numpy engine on zero-copy
``tensor.numpy()`` views, and other devices (CUDA, MPS) the level-synchronous
kernels of :mod:`.generic` with in-place torch scatters. With gradients, sum,
mean, min and max run inside :class:`Flow`, a ``torch.autograd.Function`` whose
backward runs the *transposed* pass (the adjoint of the upstream sum is the sum
along the downstream path), so forward and backward are each one O(cells) pass;
min/max send the gradient to the cell holding the extreme. std/var are
differentiated through the generic kernels' out-of-place ops (O(levels · cells)).
"""

from __future__ import annotations

from functools import partial
from types import ModuleType
from typing import Any

import numpy as np
import torch

from .. import reductions
from ..network import RiverNetwork
from . import generic, numba_engine


def run(
    network: RiverNetwork,
    op: str,
    field: torch.Tensor,
    how: str,
    weights: Any,
    skipna: bool,
    engine: ModuleType = numba_engine,
):
    """Operation ``op`` on a tensor (see :mod:`xhydro_accessor.operations`) in ``engine``, the
    engine module the dispatcher chose (:func:`xhydro_accessor.backends.engine_for`): the
    numba engine for CPU tensors unless ``engine="xp"`` was asked for, else :mod:`.generic`."""
    compiled = engine is numba_engine
    x, w, shape = generic.as_batch(network, field, weights)
    tracked = torch.is_grad_enabled() and (x.requires_grad or (w is not None and w.requires_grad))
    if not tracked:
        y = forward(network, op, x, how, w, skipna, compiled)
    elif op != "move_upstream" and reductions.REDUCTIONS[how].gradient == "traced":
        y = generic.compute(network, op, x, how, w, skipna)
    else:
        y = Flow.apply(x, w, network, op, how, skipna, compiled)
    return y.reshape(shape)


def forward(
    network: RiverNetwork,
    op: str,
    x: torch.Tensor,
    how: str,
    w: Any,
    skipna: bool,
    compiled: bool,
) -> torch.Tensor:
    """The operation on ``(members, cells)`` tensors, no gradient, in the numba engine
    (``compiled``: CPU only) or the xp one."""
    if not compiled:
        dtypes = (x.dtype,) if w is None else (x.dtype, w.dtype)
        if op != "move_upstream" and generic.result_dtype(torch, how, *dtypes) == torch.uint64:
            raise NotImplementedError(
                f"torch backend on {x.device}: {op}(how='sum') of unsigned integers gives uint64, "
                "which torch cannot add; cast the field to int64"
            )
        with torch.no_grad():
            return generic.compute(network, op, x, how, w, skipna)
    w = None if w is None else _numpy(w)
    return torch.from_numpy(numba_engine.compute(network, op, _numpy(x), how, w, skipna))


def _with_sources(network, op, x, how, w, skipna, compiled) -> tuple[torch.Tensor, Any]:
    """A min/max and the cells its results come from, from the engine's ``compute_with_sources``."""
    if not compiled:
        with torch.no_grad():
            return generic.compute_with_sources(network, op, x, how, w, skipna)
    w = None if w is None else _numpy(w)
    y, sources = numba_engine.compute_with_sources(network, op, _numpy(x), how, w, skipna)
    return torch.from_numpy(y), sources


def _send(network: RiverNetwork, sources: Any, g: torch.Tensor, compiled: bool) -> torch.Tensor:
    """The engine's ``send``: a min/max's gradient at the cells its results come from."""
    if compiled:
        return torch.from_numpy(numba_engine.send(network, sources, g.numpy()))
    return generic.send(network, sources, g)


def _numpy(x: torch.Tensor) -> np.ndarray:
    x = x.detach()
    return (x.float() if x.dtype == torch.bfloat16 else x).numpy()


class Flow(torch.autograd.Function):
    """A differentiable sum/mean/min/max operation: O(cells) forward and backward."""

    @staticmethod
    def forward(ctx, x, w, network, op, how, skipna, compiled):
        ctx.network, ctx.op, ctx.how, ctx.skipna, ctx.compiled = network, op, how, skipna, compiled
        if op != "move_upstream" and reductions.REDUCTIONS[how].gradient == "arg":
            y, ctx.sources = _with_sources(network, op, x, how, w, skipna, compiled)  # where each comes from
        else:
            y = forward(network, op, x, how, w, skipna, compiled)
        ctx.save_for_backward(x, w, y)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        x, w, y = ctx.saved_tensors
        network, op, how, compiled = ctx.network, ctx.op, ctx.how, ctx.compiled
        xs = x.to(y.dtype)
        ws = None if w is None else w.to(y.dtype)
        aux = None
        reduction = None if op == "move_upstream" else reductions.REDUCTIONS[how]
        if reduction is not None and reduction.state == "mean":  # 1 / Σw, here: forward stays one call
            if w is None and not ctx.skipna and compiled:  # a count: once per network
                aux = _cell_count_scale(network, op, y.dtype)
            else:
                weight = torch.ones_like(y[:1]) if w is None else ws
                if ctx.skipna:
                    nan = x.isnan() if w is None else x.isnan() | w.isnan()
                    weight = torch.where(nan, 0, weight)
                aux = _mean_scale(forward(network, op, weight, "sum", None, False, compiled), compiled)
        elif reduction is not None and reduction.gradient == "arg":
            aux = partial(_send, network, ctx.sources, compiled=compiled)

        need_w = w is not None and ctx.needs_input_grad[1]
        adjoint = _adjoint(network, compiled)
        gx, gw = generic.backward(network, op, how, ctx.skipna, xs, ws, y, aux, g, adjoint, need_w)
        gx = _like(gx, x) if ctx.needs_input_grad[0] else None
        gw = _like(gw, w) if need_w else None
        return gx, gw, None, None, None, None, None


def _cell_count_scale(network: RiverNetwork, op: str, dtype: torch.dtype) -> torch.Tensor:
    """1 / the number of cells an unweighted mean of ``op`` averages, cached on the network."""

    def scale() -> torch.Tensor:
        ones = torch.ones((1, network.mask.size), dtype=dtype)
        return _mean_scale(forward(network, op, ones, "sum", None, False, True), True)

    return network.cached(("torch_mean_scale", op, dtype), scale)


def _mean_scale(denominator: torch.Tensor, compiled: bool) -> torch.Tensor:
    if not compiled:
        return generic.mean_scale(torch, denominator)
    return torch.from_numpy(numba_engine.reciprocal(denominator.numpy()))


def _adjoint(network: RiverNetwork, compiled: bool):
    def adjoint(op: str, g: torch.Tensor, scale: Any = None) -> torch.Tensor:
        if compiled:
            scale = None if scale is None else scale.numpy()
            return torch.from_numpy(numba_engine.transpose(network, op, g.numpy(), scale))
        return generic.transpose(network, op, g, scale)

    return adjoint


def _like(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The gradient in ``x``'s dtype and (contiguous) layout: autograd then keeps it as is."""
    grad = grad.to(x.dtype)
    if not x.is_contiguous() or grad.is_contiguous():
        return grad
    if grad.device.type == "cpu":  # numpy's blocked transpose is ~5x faster than torch's here
        return torch.from_numpy(np.ascontiguousarray(grad.numpy()))
    return grad.contiguous()
