"""Array backends: dispatch follows the data.

:func:`library_of` names the library of a field (and its weights) without
importing any library; :func:`dispatch`, the one dispatcher, sends an operation to
that library's backend, importing it only then:

========== ============================================================
numpy      the numba engine, :mod:`.numba_engine` (``engine="xp"``: :mod:`.generic`)
dask       :mod:`.dask` — one task per non-spatial chunk (``map_blocks``)
torch      :mod:`.torch` — differentiable; CPU tensors run the compiled engine
jax        :mod:`.jax` — ``custom_vjp``, works under ``jax.jit`` and ``jax.grad``
mlx        :mod:`.mlx` — ``mx.custom_function``; arrays with values on the CPU device run
           the numba engine, ``mx.compile`` (and the GPU) the xp one
tensorflow :mod:`.tensorflow` — ``tf.custom_gradient``; eager CPU tensors run the
           numba engine, ``tf.function`` (``jit_compile=True`` too) the xp one
cupy, any  :mod:`.generic` — the level-synchronous Array API engine ("xp")
========== ============================================================

numpy arrays (and lists) combined with another library's arrays are moved into
that library, on its device; two different non-numpy libraries raise ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from types import ModuleType
from typing import Any, Literal

import numpy as np
from array_api_compat import (
    is_cupy_array,
    is_dask_array,
    is_jax_array,
    is_numpy_array,
    is_torch_array,
)

from .scatter import array_namespace, device, is_mlx_array

_DETECT = (
    ("numpy", is_numpy_array),
    ("dask", is_dask_array),
    ("torch", is_torch_array),
    ("jax", is_jax_array),
    ("cupy", is_cupy_array),
)

#: Libraries without an Array API namespace: their backend module registers an adapter in
#: :data:`.scatter.ADAPTERS` when imported, here when the first of their arrays is seen.
_ADAPTED = (
    ("tensorflow", lambda array: type(array).__module__.startswith("tensorflow.")),  # tf.Tensor, tf.Variable
    ("mlx", is_mlx_array),
)


def library_of(*arrays: Any) -> str:
    """The backend for these arrays (``None`` entries ignored).

    Examples
    --------
    >>> import numpy as np
    >>> library_of(np.ones(3), None), library_of([1, 2])
    ('numpy', 'numpy')
    """
    found = {_library(a) for a in arrays if a is not None} - {"numpy"}
    if len(found) > 1:
        raise TypeError(f"field and weights are arrays of different libraries: {sorted(found)}")
    return found.pop() if found else "numpy"


def _library(array: Any) -> str:
    if type(array) is np.ndarray:  # the common case, first
        return "numpy"
    if getattr(type(array), "__xhydro_wrapper__", False):
        return "torch"  # xhydro_accessor.torch.TorchArray, unwrapped by on_one_library()
    for name, test in _DETECT:
        if test(array):
            return name
    for name, test in _ADAPTED:
        if test(array):
            import_module(f".{name}", __package__)  # registers its adapter
            return name
    if hasattr(array, "__array_namespace__"):
        return "array_api"
    if isinstance(array, list | tuple | int | float | complex) or hasattr(array, "__array__"):
        return "numpy"  # numpy arrays, lists, xarray objects, ...
    raise NotImplementedError(
        f"river-network operations do not support {type(array).__module__}.{type(array).__name__} "
        "arrays: use numpy, dask, torch, jax, tensorflow, mlx, cupy or an Array API array"
    )


def dispatch(
    network: Any,
    op: str,
    field: Any,
    how: str = "sum",
    weights: Any = None,
    skipna: bool = False,
    engine: Engine = "auto",
) -> Any:
    """Run operation ``op`` in the engine for the arrays' library (the table above).

    ``engine="auto"`` runs numpy arrays and CPU tensors in the numba engine
    (:mod:`.numba_engine`) and everything else in the level-synchronous Array API
    engine (:mod:`.generic`); ``"numba"`` and ``"xp"`` choose one (``"numba"`` only
    for arrays in host memory: numpy, dask of numpy, CPU torch). Arguments are
    checked by the caller (:mod:`xhydro_accessor.operations`).

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> dispatch(net, "accumulate", np.ones((1, 4)), engine="xp")
    array([[1., 2., 3., 1.]])
    """

    def run(field: Any, weights: Any) -> Any:
        library = library_of(field, weights)
        if library == "numpy" and getattr(network, "tiled", False):  # a tiled network: tile the field
            import dask.array as da

            tiles = np.shape(field)[:-2] + network.chunks
            lazy = None if weights is None else da.from_array(weights, chunks=tiles[-np.ndim(weights) :])
            return run(da.from_array(field, chunks=tiles), lazy).compute()
        if library not in ("numpy", "dask") and getattr(network, "tiled", False):
            raise NotImplementedError(
                f"a TiledNetwork runs dask and numpy fields, not {library} arrays: gather it into memory "
                "first (xhydro_accessor.backends.tiled.gather(network))"
            )
        if library == "numpy":
            return engine_for(engine, "numpy").run(network, op, field, how, weights, skipna)
        if library == "dask":
            from .dask import run as dask_run

            return dask_run(network, op, field, how, weights, skipna, engine=engine)
        if library == "tensorflow":
            from .tensorflow import run as tf_run

            return tf_run(network, op, field, how, weights, skipna, engine=engine)
        if library == "mlx":
            from .mlx import run as mlx_run

            return mlx_run(network, op, field, how, weights, skipna, engine=engine)
        host = library == "torch" and device(field).type == "cpu"
        chosen = engine_for(engine, library if host or library != "torch" else f"torch on {device(field)}")
        if library == "torch":
            from .torch import run as torch_run

            return torch_run(network, op, field, how, weights, skipna, engine=chosen)
        if library == "jax":
            from .jax import run as jax_run

            return jax_run(network, op, field, how, weights, skipna)
        return chosen.run(network, op, field, how, weights, skipna)

    return on_one_library(run, field, weights)


Engine = Literal["auto", "numba", "xp"]
ENGINES = ("auto", "numba", "xp")


def engine_for(engine: str, library: str) -> ModuleType:
    """The engine module for arrays of ``library``: :mod:`.numba_engine` for numpy and CPU
    torch (``"torch"``) unless ``engine="xp"``, else :mod:`.generic`. Both offer ``run``,
    ``compute`` and ``transpose``; ``engine="numba"`` for other arrays raises ``ValueError``.

    Examples
    --------
    >>> engine_for("auto", "numpy").__name__, engine_for("xp", "numpy").__name__
    ('xhydro_accessor.backends.numba_engine', 'xhydro_accessor.backends.generic')
    """
    if library in ("numpy", "torch") and engine != "xp":
        from . import numba_engine

        return numba_engine
    if engine == "numba":
        raise ValueError(
            f"engine='numba' runs arrays in host memory (numpy, dask, CPU torch), not {library} "
            "arrays: pass engine='auto' or 'xp'"
        )
    from . import generic

    return generic


def check_engine(engine: Any) -> None:
    """Raise a one-line ``ValueError`` for an engine other than ``"auto"``, ``"numba"``, ``"xp"``."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")


def on_one_library(function: Callable, *arrays: Any) -> Any:
    """``function(*arrays)`` on the arrays' own library, the one place that unwraps and lifts:
    torch-in-xarray wrappers (:class:`xhydro_accessor.torch.TorchArray`) are unwrapped and the
    result wrapped again; numpy operands (and lists) become arrays of the other arrays'
    library, on their device.

    Examples
    --------
    >>> on_one_library(lambda a, b: a + b, np.ones(2), [1.0, 2.0])
    array([2., 3.])
    """
    if any(getattr(type(a), "__xhydro_wrapper__", False) for a in arrays):
        from ..torch import unwrap, wrap

        return wrap(on_one_library(function, *(unwrap(a) for a in arrays)))
    lead = next((a for a in arrays if a is not None and _library(a) != "numpy"), None)
    if lead is None:
        return function(*(None if a is None else np.asarray(a) for a in arrays))
    return function(*(_lift(a, lead) for a in arrays))


def _lift(array: Any, lead: Any) -> Any:
    """A numpy array (or list) as an array of ``lead``'s library and device."""
    if array is None or array is lead or _library(array) != "numpy":
        return array
    return array_namespace(lead).asarray(np.asarray(array), device=device(lead))
