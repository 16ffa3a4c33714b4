"""Array backends: dispatch follows the data.

:func:`library_of` names the library of a field (and its weights) without
importing any library; :func:`run` sends an operation to that library's backend,
importing it only then:

========== ============================================================
numpy      the compiled CPU engine in :mod:`xhydro_accessor.operations`
dask       :mod:`.dask` — one task per non-spatial chunk (``map_blocks``)
torch      :mod:`.torch` — differentiable; CPU tensors run the compiled engine
jax        :mod:`.jax` — ``custom_vjp``, works under ``jax.jit`` and ``jax.grad``
cupy, any  :mod:`.generic` — level-synchronous Array API kernels
========== ============================================================

numpy arrays (and lists) combined with another library's arrays are moved into
that library, on its device; two different non-numpy libraries raise ``TypeError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import (
    array_namespace,
    device,
    is_cupy_array,
    is_dask_array,
    is_jax_array,
    is_numpy_array,
    is_torch_array,
)

_DETECT = (
    ("numpy", is_numpy_array),
    ("dask", is_dask_array),
    ("torch", is_torch_array),
    ("jax", is_jax_array),
    ("cupy", is_cupy_array),
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
        return "torch"  # xhydro_accessor.torch.TorchArray, unwrapped by run()
    for name, test in _DETECT:
        if test(array):
            return name
    if hasattr(array, "__array_namespace__"):
        return "array_api"
    if isinstance(array, list | tuple | int | float | complex) or hasattr(array, "__array__"):
        return "numpy"  # numpy arrays, lists, xarray objects, ...
    raise NotImplementedError(
        f"river-network operations do not support {type(array).__module__}.{type(array).__name__} "
        "arrays: use numpy, dask, torch, jax, cupy or an Array API array"
    )


def run(network, op: str, field: Any, how: str, weights: Any, skipna: bool) -> Any:
    """Run ``op`` in the backend of ``field``/``weights`` (not numpy: the caller runs that)."""
    library = library_of(field, weights)
    if library == "torch" and any(getattr(type(a), "__xhydro_wrapper__", False) for a in (field, weights)):
        from ..torch import unwrap, wrap

        return wrap(run(network, op, unwrap(field), how, unwrap(weights), skipna))
    if library != "dask":
        lead = field if _library(field) != "numpy" else weights
        field, weights = (_lift(a, lead) for a in (field, weights))
    if library == "dask":
        from .dask import run as backend
    elif library == "torch":
        from .torch import run as backend
    elif library == "jax":
        from .jax import run as backend
    else:
        from .generic import run as backend
    return backend(network, op, field, how, weights, skipna)


def _lift(array: Any, lead: Any) -> Any:
    """A numpy array (or list) as an array of ``lead``'s library and device."""
    if array is None or array is lead or _library(array) != "numpy":
        return array
    return array_namespace(lead).asarray(np.asarray(array), device=device(lead))
