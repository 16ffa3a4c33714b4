"""The MLX backend: ``mx.array`` in and out, differentiable, works under ``mx.compile``.

On MLX's CPU device (Linux: always), arrays with values run the compiled numba engine
on their zero-copy numpy views (:data:`HOST`, as eager CPU TensorFlow tensors do), which
writes its results and gradients straight into new MLX arrays (an accumulation's; a
move's are still copied) (:func:`_empty`; MLX
imports no host memory without a copy on the CPU, but its arrays' buffers are writable
numpy views once evaluated). Under
``mx.compile`` and ``mx.vmap`` (placeholders without values), on the GPU and with
``engine="xp"``, the level-synchronous kernels of :mod:`.generic` (the "xp" engine)
run through :data:`xp`, a minimal Array API adapter of ``mlx.core`` (whose own
``__array_namespace__`` is ``mlx.core`` itself: no ``bool`` dtype, no ``device=``
arguments, float64 numpy arrays narrowed to float32) holding only the functions
:mod:`.generic` and :mod:`.scatter` use, and the :class:`Scatter` of MLX's
``x.at[...]`` updates. sum, mean, min and max carry an ``mx.custom_function``
whose vjp runs the transposed pass in the forward's engine (as the jax and torch
backends) and sends min/max gradients to the arg-extreme cell, found in the vjp
only (a forward without gradient pays nothing: numba runs the pass again recording
them; xp finds them from the output); std/var are differentiated through the xp
kernels. ``mx.grad``, ``mx.value_and_grad`` and ``mx.compile`` work. MLX arrays have
no device: they live in unified memory and run on the default device (float64
exists on the CPU only).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import mlx.core as mx
import numpy as np

from .. import reductions
from ..network import RiverNetwork
from . import generic, numba_engine
from . import scatter as _scatter
from .host import Host


class _Namespace:
    """``mlx.core`` as the Array API namespace of the functions the package's kernels use
    (:mod:`.generic`, :mod:`.scatter`, the catalogue): nothing else, so a missing one fails
    loudly. ``device=`` arguments are accepted and ignored (MLX arrays have none)."""

    __name__ = "mlx"

    @staticmethod
    def device(x: Any) -> None:
        """MLX arrays have no device (unified memory)."""
        return None

    @staticmethod
    def asarray(obj: Any, dtype: Any = None, device: Any = None) -> mx.array:
        """``obj`` as an MLX array; numpy arrays keep their dtype (``mx.array`` narrows float64)."""
        if isinstance(obj, mx.array):
            return obj if dtype is None else obj.astype(dtype)
        if dtype is None and isinstance(obj, np.ndarray | np.generic):
            dtype = getattr(mx, "bool_" if obj.dtype == bool else obj.dtype.name)
        return mx.array(obj, dtype=dtype)

    @staticmethod
    def full(shape: tuple, value: Any, dtype: Any = None, device: Any = None) -> mx.array:
        return mx.full(shape, value, dtype=dtype)

    @staticmethod
    def zeros(shape: tuple, dtype: Any = None, device: Any = None) -> mx.array:
        return mx.zeros(shape, dtype=dtype or mx.float32)

    @staticmethod
    def arange(n: int, dtype: Any = None, device: Any = None) -> mx.array:
        return mx.arange(n, dtype=dtype or mx.int64)

    @staticmethod
    def zeros_like(x: mx.array, dtype: Any = None) -> mx.array:
        return mx.zeros(x.shape, dtype=dtype or x.dtype)

    @staticmethod
    def ones_like(x: mx.array, dtype: Any = None) -> mx.array:
        return mx.ones(x.shape, dtype=dtype or x.dtype)

    @staticmethod
    def full_like(x: mx.array, value: Any, dtype: Any = None) -> mx.array:
        return mx.full(x.shape, value, dtype=dtype or x.dtype)

    @staticmethod
    def concat(arrays: list, axis: int = 0) -> mx.array:
        return mx.concatenate(arrays, axis=axis)

    @staticmethod
    def take(x: mx.array, indices: mx.array, axis: int | None = None) -> mx.array:
        return mx.take(x, mx.stop_gradient(indices), axis=axis)  # MLX: no vjp through computed indices

    @staticmethod
    def take_along_axis(x: mx.array, indices: mx.array, axis: int = -1) -> mx.array:
        return mx.take_along_axis(x, mx.stop_gradient(indices), axis=axis)

    @staticmethod
    def argsort(x: mx.array, axis: int = -1, descending: bool = False, stable: bool = True) -> mx.array:
        if descending:
            raise NotImplementedError("mlx adapter: descending argsort")
        return mx.argsort(x, axis=axis).astype(mx.int64)  # stable, NaN last (MLX's documentation)

    @staticmethod
    def cumulative_sum(x: mx.array, axis: int = -1, include_initial: bool = False) -> mx.array:
        out = mx.cumsum(x, axis=axis)
        if not include_initial:
            return out
        shape = list(x.shape)
        shape[axis] = 1
        return mx.concatenate([mx.zeros(shape, dtype=out.dtype), out], axis=axis)

    @staticmethod
    def permute_dims(x: mx.array, axes: tuple) -> mx.array:
        return mx.transpose(x, axes)


for _name in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
              "float16", "float32", "float64", "complex64"):  # fmt: skip
    setattr(_Namespace, _name, getattr(mx, _name))
_Namespace.bool = mx.bool_  # type: ignore[attr-defined]
for _name in ("abs", "add", "any", "astype", "broadcast_to", "floor", "isdtype", "isnan", "maximum",
              "minimum", "reshape", "sqrt", "stack", "sum", "where"):  # fmt: skip
    setattr(_Namespace, _name, staticmethod(getattr(mx, _name)))

#: The adapter: :func:`.scatter.array_namespace` of MLX arrays (registered below).
xp = _Namespace()


class Scatter(_scatter.Scatter):
    """MLX: gathers by indexing, out-of-place ``x.at[:, i].add/maximum/minimum``; the indices
    are constants to ``mx.grad`` (a min/max's sources are computed from traced values: MLX
    would refuse a gradient of its gradient, "Cannot calculate VJP with respect to indices")."""

    def index(self, indices: np.ndarray) -> mx.array:
        return mx.array(indices.astype(np.int32 if self.size < 2**31 else np.int64))

    def take(self, x: mx.array, index: mx.array) -> mx.array:
        return x[:, mx.stop_gradient(index)]

    def put(self, x: mx.array, index: mx.array, values: mx.array) -> mx.array:
        out = mx.array(x)  # a new array object: the caller's ``x`` is left as it is
        out[:, mx.stop_gradient(index)] = values
        return out

    def reduce(self, x: mx.array, index: mx.array, values: mx.array, how: str) -> mx.array:
        index = mx.stop_gradient(index)
        out = getattr(x.at[:, index], _scatter._COMBINE[how])(values)
        if how == "add" or not mx.issubdtype(values.dtype, mx.inexact):
            return out
        # MLX's scatter max/min may drop a NaN of x or values (order-dependent): NaN propagates
        nan = mx.isnan(x) | (mx.zeros_like(x).at[:, index].add(mx.isnan(values).astype(x.dtype)) > 0)
        return mx.where(nan, float("nan"), out)


_scatter.ADAPTERS["mlx"] = (xp, Scatter)


def _numpy(x: mx.array) -> np.ndarray:
    """``x``'s values, a zero-copy numpy view (evaluating ``x``); ``ValueError`` for the
    placeholders of ``mx.compile`` and ``mx.vmap``, which have no values."""
    return np.asarray(x)


def _dtype(dtype: np.dtype) -> Any:
    """The MLX dtype of a numpy one (None: MLX has none)."""
    return getattr(mx, "bool_" if dtype.kind == "b" else dtype.name, None)


def _empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """A new MLX array's memory as a writable numpy view, for the numba engine to write into
    (:func:`.numba_engine.allocating`): its result then becomes an MLX array without a copy
    (:func:`_array`). Zero-filled: MLX allocates no uninitialised array (``mx.empty`` is
    ``mx.zeros``). Evaluated here, once: no MLX op writes it later (MLX never re-evaluates an
    array); it is no other array's memory, and only the engine's numpy views (which keep it
    alive) see it until :func:`_array` hands it over."""
    kind = _dtype(dtype)
    if kind is None:
        return None
    out = mx.zeros(shape, dtype=kind)
    mx.eval(out)
    return np.asarray(out)  # MLX's buffer protocol: writable, base a memoryview of ``out``


def _owner(result: np.ndarray) -> tuple[mx.array, int] | None:
    """The MLX array whose memory ``result`` views (one of :func:`_empty`'s, or an input's) and
    ``result``'s offset in it in elements; None for numpy memory."""
    base = result
    while isinstance(base.base, np.ndarray):
        base = base.base
    if not (isinstance(base.base, memoryview) and isinstance(base.base.obj, mx.array)):
        return None
    # row-contiguous: as_strided's flatten of it is the same memory (else a copy: other offsets)
    if not base.flags.c_contiguous or base.dtype != result.dtype or result.size == 0:
        return None
    if any(s % result.itemsize for s in result.strides):
        return None
    return base.base.obj, (result.ctypes.data - base.ctypes.data) // result.itemsize


def _array(result: np.ndarray, like: Any = None) -> mx.array:
    """The numba engine's result as an MLX array of its dtype: a view of the MLX array it was
    written into (:func:`_empty`), else a copy (``mx.array`` would narrow float64)."""
    owned = _owner(result)
    if owned is not None:
        strides = [s // result.itemsize for s in result.strides]
        return mx.as_strided(owned[0], result.shape, strides, owned[1])
    return mx.array(result, dtype=_dtype(result.dtype))


#: The numba engine's interface (compute, compute_with_sources, send, transpose) on MLX arrays
#: with values: their numpy views in, MLX arrays out, written by the engine into MLX memory.
HOST = Host(_numpy, _array, _empty)


def _concrete(*arrays: Any) -> bool:
    """Whether the arrays have values: not the placeholders ``mx.compile``/``mx.vmap`` trace
    (under ``mx.grad`` and ``mx.vjp`` they have)."""
    try:
        for array in arrays:
            if array is not None:
                _numpy(array)
    except ValueError:  # "[eval] Attempting to eval an array during function transformations ..."
        return False
    return True


def _engine(engine: str, *arrays: Any) -> Any:
    """:data:`HOST` (the numba engine) on MLX's CPU device for arrays with values, unless
    ``engine="xp"``; else :mod:`.generic`."""
    if engine == "xp":
        return generic
    if mx.default_device() == mx.cpu and _concrete(*arrays):
        return HOST
    if engine == "numba":
        where = "on the GPU" if mx.default_device() != mx.cpu else "under mx.compile or mx.vmap"
        raise ValueError(
            f"engine='numba' reads MLX arrays as numpy: on the CPU device and with values, not {where}; "
            "pass engine='auto' or 'xp'"
        )
    return generic


def run(
    network: RiverNetwork,
    op: str,
    field: mx.array,
    how: str,
    weights: Any,
    skipna: bool,
    engine: str = "auto",
) -> mx.array:
    """Operation ``op`` on an MLX array (see :mod:`xhydro_accessor.operations`), differentiable
    with ``mx.grad``: the numba engine on the CPU device, else (``engine="xp"``, under
    ``mx.compile``/``mx.vmap``, on the GPU) the "xp" engine (:mod:`.generic`)."""
    for array in (field, weights):
        if array is not None and array.dtype in (mx.bfloat16, mx.complex64):
            raise TypeError(f"the MLX backend computes in numpy's dtypes: cast {array.dtype} to float32")
    x, w, shape = generic.as_batch(network, field, weights)
    chosen = _engine(engine, x, w)
    reduction = None if op == "move_upstream" else reductions.REDUCTIONS[how]
    arrays = (x,) if w is None else (x, w)
    if reduction is not None and reduction.gradient == "traced" and chosen is generic:
        y = generic.compute(network, op, x, how, w, skipna)  # autodiff through the xp kernels
    elif reduction is not None and reduction.gradient == "traced":
        y = _traced(network, op, how, skipna)(*arrays)
    else:
        y = _differentiable(network, op, how, skipna, chosen)(*arrays)
    return y.reshape(shape)


def _differentiable(network: RiverNetwork, op: str, how: str, skipna: bool, engine: Any):
    """sum/mean/min/max/moves in ``engine`` with the transposed pass as their vjp (in the numba
    engine when the forward ran there and the cotangent has values, else in the xp one)."""
    reduction = None if op == "move_upstream" else reductions.REDUCTIONS[how]

    @mx.custom_function
    def flow(x, *w):
        return engine.compute(network, op, x, how, w[0] if w else None, skipna)

    @flow.vjp
    def flow_vjp(primals, g, y):
        x, w = (primals, None) if isinstance(primals, mx.array) else (primals[0], primals[1])
        host = engine is HOST and _concrete(g)
        xs = x.astype(y.dtype)
        ws = None if w is None else w.astype(y.dtype)
        aux = None
        if reduction is not None and reduction.gradient == "arg":  # the sources, found here only
            if host:  # the numba pass again, recording them (a forward alone pays nothing)
                found = numba_engine.compute_with_sources(network, op, _numpy(x), how, HOST.numpy(w), skipna)
                aux = _host_send(network, found[1])
            else:  # from y
                sources = generic.arg_extreme(network, op, xs if ws is None else xs * ws, y)
                aux = partial(generic.send, network, sources)
        elif reduction is not None and reduction.state == "mean":  # 1 / Σw
            weight = mx.ones((1, x.shape[1]), y.dtype) if w is None else ws
            if skipna:
                weight = mx.where(mx.isnan(x) if w is None else mx.isnan(x) | mx.isnan(w), 0, weight)
            total = (_host_compute if host else partial(partial, _compute))(network, op, "sum", False)
            aux = generic.mean_scale(xp, total(weight))
        adjoint = partial(_host_transpose, network) if host else partial(generic.transpose, network)
        gx, gw = generic.backward(network, op, how, skipna, xs, ws, y, aux, g, adjoint)
        return (_cotangent(gx, x),) if w is None else (_cotangent(gx, x), _cotangent(gw, w))

    return flow


# ------------------------------------------- the numba engine, differentiable in MLX ops
def _on_host(host: Any, kernels: Any) -> Any:
    """``host(*arrays)``, a function run in the numba engine, with the vjp of ``kernels``, the
    same function in the xp kernels: the value from numba, any derivative of it (second-order
    gradients through a vjp too) from MLX ops."""

    @mx.custom_function
    def f(*arrays):
        return host(*arrays)

    @f.vjp
    def f_vjp(primals, cotangent, output):
        primals = [primals] if isinstance(primals, mx.array) else list(primals)
        grads = mx.vjp(kernels, primals, [cotangent])[1]
        return grads[0] if len(grads) == 1 else tuple(grads)

    return f


def _compute(network: RiverNetwork, op: str, how: str, skipna: bool, x: Any, *w: Any) -> mx.array:
    return generic.compute(network, op, x, how, w[0] if w else None, skipna)


def _host_compute(network: RiverNetwork, op: str, how: str, skipna: bool) -> Any:
    """``(x, *w) ->`` operation ``op`` in numba, differentiable through the xp kernels."""

    def host(x, *w):
        return HOST.compute(network, op, x, how, w[0] if w else None, skipna)

    return _on_host(host, partial(_compute, network, op, how, skipna))


def _host_transpose(network: RiverNetwork, op: str, g: mx.array, scale: Any = None) -> mx.array:
    """The numba engine's transposed pass of ``g · scale``, differentiable in MLX ops."""
    scales = () if scale is None else (scale,)
    host = _on_host(
        lambda g, *scale: HOST.transpose(network, op, g, *scale),
        lambda g, *scale: generic.transpose(network, op, g, *scale),
    )
    return host(g, *scales)


def _host_send(network: RiverNetwork, sources: np.ndarray) -> Any:
    """``g ->`` the numba engine's ``send`` to its ``(cells, members)`` sources, differentiable
    in MLX ops (the same scatter by :func:`.generic.scatter_to_arg`)."""

    def kernels(g):  # only for a gradient of the gradient: the sources as xp's (members, cells)
        return generic.scatter_to_arg(mx.array(np.where(network.mask.reshape(-1)[:, None], sources, -1).T), g)

    return _on_host(partial(HOST.send, network, sources), kernels)


def _traced(network: RiverNetwork, op: str, how: str, skipna: bool) -> Any:
    """std/var: the numba forward pass; the vjp of the xp kernels for the gradient."""
    return _host_compute(network, op, how, skipna)


def _cotangent(grad: mx.array, x: mx.array) -> mx.array:
    """The gradient in ``x``'s dtype; integer inputs get zeros (they have no gradient)."""
    return grad.astype(x.dtype) if mx.issubdtype(x.dtype, mx.floating) else mx.zeros_like(x)
