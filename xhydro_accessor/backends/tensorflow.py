"""The TensorFlow backend: ``tf.Tensor`` in, ``tf.Tensor`` out, differentiable.

Eager CPU tensors run the compiled numba engine on their numpy values (as CPU torch
tensors do); inside ``tf.function`` (graph mode, ``jit_compile=True`` included), on
other devices and with ``engine="xp"`` the level-synchronous kernels of
:mod:`.generic` run in TensorFlow ops, through :data:`NAMESPACE`, the few Array API
functions they use (array_api_compat has no TensorFlow namespace). sum, mean, min
and max carry a ``tf.custom_gradient`` whose backward runs the transposed pass in the
same engine and sends min/max gradients to the cell holding the extreme; std/var
are differentiated through the xp kernels (re-run under a tape in the backward pass
when the forward pass ran in numba).

Importing this module registers :data:`NAMESPACE` in :mod:`.scatter`; the dispatcher
(:func:`xhydro_accessor.backends.library_of`) imports it when it first sees a tensor.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any

import numpy as np
import tensorflow as tf

from .. import reductions
from ..network import RiverNetwork
from . import generic, scatter
from .host import Host
from .numba_engine import aligned_empty


@tf.autograph.experimental.do_not_convert  # plain Python control flow: autograph must not rewrite it
def run(
    network: RiverNetwork, op: str, field: Any, how: str, weights: Any, skipna: bool, engine: str = "auto"
) -> tf.Tensor:
    """Operation ``op`` on a tensor (see :mod:`xhydro_accessor.operations`): the numba engine for
    eager CPU tensors unless ``engine="xp"``, else the xp one (:mod:`.generic`)."""
    x = _computable(field)
    w = None if weights is None else _computable(weights)
    chosen = _engine(engine, x)
    x, w, shape = generic.as_batch(network, x, w)
    dtypes = (x.dtype,) if w is None else (x.dtype, w.dtype)
    dtype = generic.result_dtype(NAMESPACE, None if op == "move_upstream" else how, *dtypes)
    if not dtype.is_floating:  # integers: no gradient
        y = chosen.compute(network, op, x, how, w, skipna)
    elif op != "move_upstream" and reductions.REDUCTIONS[how].gradient == "traced":
        traced = chosen is generic  # autodiff through the xp kernels; numba: re-run them for it
        y = (
            generic.compute(network, op, x, how, w, skipna)
            if traced
            else _traced(network, op, how, skipna)(x, w)
        )
    else:
        y = _differentiable(network, op, how, skipna, chosen)(x, w)
    return tf.reshape(y, shape)


def _computable(array: Any) -> tf.Tensor:
    """A tensor (a tf.Variable: its value, the tape records the read); bfloat16 as float32, the
    precision float16 results get (numpy has no bfloat16)."""
    x = tf.convert_to_tensor(array)
    return tf.cast(x, tf.float32) if x.dtype == tf.bfloat16 else x


def _engine(engine: str, x: tf.Tensor) -> Any:
    """:mod:`.generic` or :data:`HOST` (the numba engine) for tensor ``x``."""
    host = tf.executing_eagerly() and "GPU" not in x.device.upper()
    if engine == "xp" or (engine == "auto" and not host):
        return generic
    if not host:
        where = "inside tf.function" if not tf.executing_eagerly() else f"on {x.device}"
        raise ValueError(
            f"engine='numba' reads TensorFlow tensors as numpy: eager CPU tensors only, not {where}; "
            "pass engine='auto' or 'xp'"
        )
    return HOST


# ------------------------------------------------------------------- gradients
def _pair(function):
    """``function(x, w)`` with ``w`` optional, as ``tf.custom_gradient`` wants tensors only."""

    def call(x: tf.Tensor, w: Any) -> tf.Tensor:
        if w is None:
            return tf.custom_gradient(lambda x: _drop_w(function(x, None)))(x)
        return tf.custom_gradient(function)(x, w)

    return call


def _drop_w(result):
    y, grad = result
    return y, lambda g: grad(g)[0]


def _differentiable(network: RiverNetwork, op: str, how: str, skipna: bool, engine: Any):
    """sum/mean/min/max/moves with the transposed pass as their gradient, in ``engine``."""
    arg = op != "move_upstream" and reductions.REDUCTIONS[how].gradient == "arg"
    mean = op != "move_upstream" and reductions.REDUCTIONS[how].state == "mean"

    def flow(x, w):
        sources = None
        if arg:
            y, sources = engine.compute_with_sources(network, op, x, how, w, skipna)
        else:
            y = engine.compute(network, op, x, how, w, skipna)

        def grad(g):
            xs = tf.cast(x, y.dtype)
            ws = None if w is None else tf.cast(w, y.dtype)
            host = engine is HOST  # its passes differentiable through the xp kernels (2nd order)
            aux = None
            if arg:
                aux = _host_send(network, sources) if host else partial(generic.send, network, sources)
            elif mean:
                weight = tf.ones_like(y[:1]) if w is None else ws
                if skipna:
                    weight = tf.where(generic._nan_of(NAMESPACE, xs, ws), tf.zeros_like(weight), weight)
                if host:
                    total = _host_compute(network, op, "sum", False)(weight, None)
                else:
                    total = generic.compute(network, op, weight, "sum", None, False)
                aux = generic.mean_scale(NAMESPACE, total)
            adjoint = partial(_host_transpose if host else generic.transpose, network)
            gx, gw = generic.backward(network, op, how, skipna, xs, ws, y, aux, g, adjoint)
            return _cotangent(gx, x), None if w is None else _cotangent(gw, w)

        return y, grad

    return _pair(flow)


def _traced(network: RiverNetwork, op: str, how: str, skipna: bool):
    """std/var: the numba forward pass, the xp kernels re-run under a tape for the gradient."""
    return _host_compute(network, op, how, skipna)


# --------------------------------------- the numba engine, differentiable in TensorFlow ops
def _on_host(host, kernels):
    """``host(a, b)`` (``b`` may be None), a function run in the numba engine, differentiable
    as ``kernels``, the same function in the xp kernels re-run under a tape: the value from
    numba, any derivative of it (second order too) from TensorFlow ops."""

    def flow(a, b):
        y = host(a, b)

        def grad(g):
            inputs = [a] if b is None else [a, b]
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                traced = kernels(a, b)
            grads = tape.gradient(traced, inputs, output_gradients=g)
            return tuple(grads) + ((None,) if b is None else ())

        return y, grad

    return _pair(flow)


def _host_compute(network: RiverNetwork, op: str, how: str, skipna: bool):
    """``(x, w) ->`` operation ``op`` in numba, differentiable through the xp kernels."""
    return _on_host(
        lambda x, w: HOST.compute(network, op, x, how, w, skipna),
        lambda x, w: generic.compute(network, op, x, how, w, skipna),
    )


def _host_transpose(network: RiverNetwork, op: str, g: tf.Tensor, scale: Any = None) -> tf.Tensor:
    """The numba engine's transposed pass of ``g · scale``, differentiable in TF ops."""
    return _on_host(
        lambda g, scale: HOST.transpose(network, op, g, scale),
        lambda g, scale: generic.transpose(network, op, g, scale),
    )(g, scale)


def _host_send(network: RiverNetwork, sources: np.ndarray):
    """``g ->`` the numba engine's ``send`` to its ``(cells, members)`` sources, differentiable
    in TF ops (the same scatter by :func:`.generic.scatter_to_arg`)."""

    def kernels(g, _):  # only for a gradient of the gradient: the sources as xp's (members, cells)
        arg = np.where(network.mask.reshape(-1)[:, None], sources, -1).T.astype(np.int64)
        return generic.scatter_to_arg(tf.constant(arg), g)

    send = _on_host(lambda g, _: HOST.send(network, sources, g), kernels)
    return lambda g: send(g, None)


def _cotangent(grad: tf.Tensor, x: tf.Tensor) -> Any:
    return tf.cast(grad, x.dtype) if x.dtype.is_floating else None  # integer inputs: no gradient


# -------------------------------------------------------- the numba engine, eagerly
def _tensor(array: np.ndarray, like: tf.Tensor) -> tf.Tensor:
    """The engine's result as a CPU tensor through DLPack: zero-copy when C-contiguous and
    64-byte aligned (TensorFlow aborts on less), else after one numpy copy into such a buffer
    (``tf.convert_to_tensor`` copies several times slower); a result in the engine's
    ``(cells, members)`` layout goes through ``tf.transpose`` (far faster than numpy's)."""
    if array.ndim == 2 and not array.flags.c_contiguous and array.T.flags.c_contiguous:
        return tf.transpose(_tensor(array.T, like))
    if array.dtype.kind not in "fiu":  # bool: no DLPack import
        with tf.device(like.device):
            return tf.convert_to_tensor(array)
    if not (array.flags.c_contiguous and array.ctypes.data % 64 == 0):
        aligned = aligned_empty(array.shape, array.dtype)  # (the engine's own results already are)
        np.copyto(aligned, array)
        array = aligned
    return tf.experimental.dlpack.from_dlpack(array.__dlpack__())


#: The numba engine's interface (compute, compute_with_sources, send, transpose) on eager CPU
#: tensors: their numpy values in, tensors out.
HOST = Host(np.asarray, _tensor)  # np.asarray: a zero-copy view (Tensor.numpy() copies)


# ------------------------------------------------------------ the xp namespace
def _on(device: Any):
    return tf.device(device) if device else contextlib.nullcontext()


def _scalar_like(value: Any, other: Any) -> Any:
    if isinstance(value, bool | int | float) and isinstance(other, tf.Tensor | tf.Variable):
        return tf.constant(value, other.dtype)
    return value


_KINDS = {"bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu",
          "real floating": "f", "complex floating": "c", "numeric": "iufc"}  # fmt: skip


class _Namespace:
    """The Array API functions :mod:`.generic`, :mod:`.scatter` and the catalogue call, in
    TensorFlow ops (each maps to one ``tf`` function)."""

    __name__ = "tensorflow"

    def __init__(self) -> None:
        for name in generic._NAMES:
            setattr(self, name, getattr(tf, name))

    @staticmethod
    def device(x: Any) -> str:
        return x.device

    @staticmethod
    def asarray(obj: Any, dtype: Any = None, device: Any = None, copy: Any = None) -> tf.Tensor:
        with _on(device):
            return tf.identity(tf.convert_to_tensor(obj, dtype=dtype))

    @staticmethod
    def full(shape: Any, fill_value: Any, dtype: Any = None, device: Any = None) -> tf.Tensor:
        with _on(device):
            return tf.fill(shape, tf.constant(fill_value, dtype))

    @staticmethod
    def zeros(shape: Any, dtype: Any = None, device: Any = None) -> tf.Tensor:
        with _on(device):
            return tf.zeros(shape, dtype or tf.float64)

    @staticmethod
    def arange(stop: int, dtype: Any = None, device: Any = None) -> tf.Tensor:
        with _on(device):
            return tf.range(stop, dtype=dtype or tf.int64)

    @staticmethod
    def full_like(x: Any, fill_value: Any, dtype: Any = None) -> tf.Tensor:
        return tf.fill(tf.shape(x), tf.constant(fill_value, dtype or x.dtype))

    @staticmethod
    def zeros_like(x: Any, dtype: Any = None) -> tf.Tensor:
        return tf.zeros_like(x, dtype)

    @staticmethod
    def ones_like(x: Any, dtype: Any = None) -> tf.Tensor:
        return tf.ones_like(x, dtype)

    @staticmethod
    def astype(x: Any, dtype: Any, copy: bool = True) -> tf.Tensor:
        return tf.cast(x, dtype)

    @staticmethod
    def isdtype(dtype: Any, kind: Any) -> bool:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        code = np.dtype(dtype.as_numpy_dtype).kind
        return any(code in _KINDS[k] if isinstance(k, str) else dtype == k for k in kinds)

    @staticmethod
    def where(condition: Any, x1: Any, x2: Any) -> tf.Tensor:
        return tf.where(condition, _scalar_like(x1, x2), _scalar_like(x2, x1))

    @staticmethod
    def isnan(x: Any) -> tf.Tensor:
        return tf.math.is_nan(x) if x.dtype.is_floating else tf.zeros_like(x, tf.bool)

    @staticmethod
    def take(x: Any, indices: Any, axis: int = 0) -> tf.Tensor:
        return tf.gather(x, indices, axis=axis)

    @staticmethod
    def take_along_axis(x: Any, indices: Any, axis: int = -1) -> tf.Tensor:
        axis = axis % len(x.shape)
        return tf.gather(x, indices, axis=axis, batch_dims=axis)

    @staticmethod
    def concat(arrays: Any, axis: int = 0) -> tf.Tensor:
        return tf.concat(list(arrays), axis)

    @staticmethod
    def sum(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> tf.Tensor:
        return tf.reduce_sum(x if dtype is None else tf.cast(x, dtype), axis, keepdims)

    @staticmethod
    def any(x: Any, axis: Any = None, keepdims: bool = False) -> tf.Tensor:
        return tf.reduce_any(x, axis, keepdims)

    @staticmethod
    def argsort(x: Any, axis: int = -1, descending: bool = False, stable: bool = True) -> tf.Tensor:
        direction = "DESCENDING" if descending else "ASCENDING"
        if not x.dtype.is_floating:
            return tf.cast(tf.argsort(x, axis, direction, stable=True), tf.int64)
        # NaN last, as numpy: by value (NaN as ±inf), then stably by NaN-ness
        nan = tf.math.is_nan(x)
        order = tf.argsort(tf.where(nan, tf.constant(-np.inf if descending else np.inf, x.dtype), x),
                           axis, direction, stable=True)  # fmt: skip
        last = tf.argsort(tf.cast(tf.gather(nan, order, axis=axis, batch_dims=axis % len(x.shape)), tf.int8),
                          axis, stable=True)  # fmt: skip
        return tf.cast(tf.gather(order, last, axis=axis, batch_dims=axis % len(x.shape)), tf.int64)

    @staticmethod
    def cumulative_sum(
        x: Any, axis: Any = None, dtype: Any = None, include_initial: bool = False
    ) -> tf.Tensor:
        out = tf.cumsum(x if dtype is None else tf.cast(x, dtype), axis)
        if not include_initial:
            return out
        return tf.concat([tf.zeros_like(tf.gather(out, [0], axis=axis)), out], axis)

    @staticmethod
    def permute_dims(x: Any, axes: Any) -> tf.Tensor:
        return tf.transpose(x, axes)

    @staticmethod
    def reshape(x: Any, shape: Any, copy: Any = None) -> tf.Tensor:
        return tf.reshape(x, shape)

    @staticmethod
    def broadcast_to(x: Any, shape: Any) -> tf.Tensor:
        return tf.broadcast_to(x, shape)

    stack = staticmethod(tf.stack)
    add = staticmethod(tf.add)
    maximum = staticmethod(tf.maximum)
    minimum = staticmethod(tf.minimum)
    sqrt = staticmethod(tf.sqrt)
    abs = staticmethod(tf.abs)
    floor = staticmethod(tf.floor)


NAMESPACE = _Namespace()
for _name, _function in vars(_Namespace).items():  # autograph (tf.function) must not rewrite them
    if isinstance(_function, staticmethod):
        setattr(NAMESPACE, _name, tf.autograph.experimental.do_not_convert(getattr(NAMESPACE, _name)))


class Scatter(scatter.Scatter):
    """TensorFlow: ``gather`` and ``tensor_scatter_nd_*`` on the flattened ``(members, cells)``
    array. The network's index arrays stay numpy constants: created inside a ``tf.function``,
    tensors would leak out of its graph through the cache."""

    def index(self, indices: np.ndarray) -> np.ndarray:
        return indices.astype(np.int64)

    def asarray(self, array: np.ndarray) -> np.ndarray:
        return array

    def take(self, x, index):
        return tf.gather(x, index, axis=-1)

    def put(self, x, index, values):
        return self._scatter(tf.tensor_scatter_nd_update, x, index, values)

    def reduce(self, x, index, values, how):
        scatter_ = {"add": tf.tensor_scatter_nd_add, "max": tf.tensor_scatter_nd_max,
                    "min": tf.tensor_scatter_nd_min}[how]  # fmt: skip
        out = self._scatter(scatter_, x, index, values)
        if how == "add" or not x.dtype.is_floating:
            return out
        # tensor_scatter_nd_max/min drop NaN updates; numpy's maximum.at propagates them
        nan = tf.cast(tf.math.is_nan(values), x.dtype)
        nan = self._scatter(tf.tensor_scatter_nd_max, tf.zeros_like(x), index, nan)
        return tf.where(nan > 0, tf.constant(np.nan, x.dtype), out)

    @staticmethod
    def _scatter(function, x, index, values):
        shape = tf.shape(x, out_type=tf.int64)
        flat = tf.range(shape[0])[:, None] * shape[1] + tf.cast(index, tf.int64)[None, :]
        out = function(tf.reshape(x, [-1]), tf.reshape(flat, [-1, 1]), tf.reshape(values, [-1]))
        return tf.reshape(out, shape)


scatter.ADAPTERS["tensorflow"] = (NAMESPACE, Scatter)
