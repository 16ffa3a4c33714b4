"""The jax backend: works under ``jax.jit``, differentiable with ``jax.grad``.

The forward runs the level-synchronous kernels of :mod:`.generic` (unrolled per
level when traced). sum, mean, min and max carry a ``jax.custom_vjp`` whose
backward runs the transposed pass (the downstream path sum for an accumulation)
and sends min/max gradients to the arg-extreme cell; std/var are differentiated
through the kernels themselves. Enable ``jax_enable_x64`` for the int64/float64
results of the dtype rules (jax otherwise narrows them to 32 bits).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import reductions
from ..network import RiverNetwork
from . import generic


def run(
    network: RiverNetwork, op: str, field: Any, how: str, weights: Any, skipna: bool, engine: str = "xp"
) -> jax.Array:
    """Operation ``op`` on a jax array (see :mod:`xhydro_accessor.operations`); jax runs
    the "xp" engine (:mod:`.generic`) only."""
    x, w, shape = generic.as_batch(
        network, jnp.asarray(field), None if weights is None else jnp.asarray(weights)
    )
    reduction = None if op == "move_upstream" else reductions.REDUCTIONS[how]
    if reduction is not None and reduction.gradient == "traced":
        y = generic.compute(network, op, x, how, w, skipna)
    else:
        y = _differentiable(network, op, how, skipna)(x, w)
    return y.reshape(shape)


def _forward(network, op, how, skipna, x, w, sources=True):
    """The result and what the backward pass needs: a mean's denominator Σw, a min/max's sources."""
    floating = jnp.issubdtype(jnp.result_type(x, *([] if w is None else [w])), jnp.floating)
    if sources and floating and op != "move_upstream" and reductions.REDUCTIONS[how].gradient == "arg":
        return generic.compute_with_sources(network, op, x, how, w, skipna)  # where each result comes from
    mean = op != "move_upstream" and reductions.REDUCTIONS[how].state == "mean"
    if not (mean and floating):  # integers: no gradient
        return generic.compute(network, op, x, how, w, skipna), None
    total = generic.compute(network, op, x, "sum", w, skipna)
    weight = jnp.ones((1, x.shape[1]), total.dtype) if w is None else w.astype(total.dtype)
    if skipna:
        nan = jnp.isnan(x) if w is None else jnp.isnan(x) | jnp.isnan(w)
        weight = jnp.where(nan, 0, weight)
    denominator = generic.compute(network, op, weight, "sum", None, False)
    return total / denominator, denominator


def _differentiable(network, op, how, skipna):
    @jax.custom_vjp
    def flow(x, w):  # no gradient asked: no sources of a min/max
        return _forward(network, op, how, skipna, x, w, sources=False)[0]

    def flow_fwd(x, w):
        y, denominator = _forward(network, op, how, skipna, x, w)
        return y, (x, w, y, denominator)

    def flow_bwd(residuals, g):
        x, w, y, aux = residuals
        xs = x.astype(y.dtype)
        ws = None if w is None else w.astype(y.dtype)
        if op != "move_upstream" and reductions.REDUCTIONS[how].gradient == "arg":
            aux = partial(generic.send, network, aux)  # the sources found in the forward pass
        elif aux is not None:
            aux = generic.mean_scale(jnp, aux)

        gx, gw = generic.backward(
            network, op, how, skipna, xs, ws, y, aux, g, partial(generic.transpose, network)
        )
        return _cotangent(gx, x), None if w is None else _cotangent(gw, w)

    flow.defvjp(flow_fwd, flow_bwd)
    return flow


def _cotangent(grad, x):
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return grad.astype(x.dtype)
    return np.zeros(x.shape, jax.dtypes.float0)  # integer inputs have no gradient
