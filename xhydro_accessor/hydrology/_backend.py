"""The catalogue's data arrays on every backend: dispatch follows the data.

Data (fields, weights, cell areas) stay in their library and on their device;
only topology inputs (locations, masks selecting cells) are copied to numpy,
because they define index arrays that are computed once on the CPU and then
moved to the data's library (as :mod:`xhydro_accessor.backends.levels` does).
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

import numpy as np
from array_api_compat import is_jax_array

from ..backends.scatter import array_namespace, device


def library(*arrays: Any) -> str:
    """The backend of the data arrays (see :func:`xhydro_accessor.backends.library_of`).

    Examples
    --------
    >>> library(np.ones(2), None)
    'numpy'
    """
    from ..backends import library_of

    return library_of(*arrays)


def native(function: Callable, *arrays: Any) -> Any:
    """``function(*arrays)`` on the arrays' own library: torch wrappers unwrapped and the
    result wrapped again, numpy operands moved to the library and device of the others.

    Examples
    --------
    >>> native(lambda a, b: a + b, np.ones(2), [1.0, 2.0])
    array([2., 3.])
    """
    from ..backends import on_one_library

    return on_one_library(function, *arrays)


def host(array: Any) -> np.ndarray:
    """A numpy copy of a topology input (locations, a cell mask) from any library.

    Examples
    --------
    >>> host([[1, 2]])
    array([[1, 2]])
    """
    if isinstance(array, np.ndarray):
        return array
    array = getattr(array, "tensor", array)  # xhydro_accessor.torch.TorchArray
    module = type(array).__module__.split(".")[0]
    if module == "torch":
        return array.detach().cpu().numpy()
    if module == "cupy":
        return array.get()
    if module == "dask":
        return np.asarray(array.compute())
    if module not in ("numpy", "builtins", "xarray", "jax", "jaxlib") and hasattr(array, "__dlpack__"):
        return np.from_dlpack(array)
    return np.asarray(getattr(array, "values", array))


def flat_grid(xp: Any, field: Any, grid_ndim: int) -> Any:
    """``field`` with its grid dims flattened into one last dim."""
    shape = tuple(field.shape)
    return xp.reshape(field, shape[: len(shape) - grid_ndim] + (prod(shape[len(shape) - grid_ndim :]),))


def move_axis(array: Any, source: int, destination: int) -> Any:
    """``array`` with axis ``source`` moved to ``destination``, in its own library.

    Examples
    --------
    >>> move_axis(np.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    axes = list(range(array.ndim))
    axes.insert(destination % array.ndim, axes.pop(source % array.ndim))
    return array_namespace(array).permute_dims(array, tuple(axes))


def const(xp: Any, like: Any, array: np.ndarray) -> Any:
    """A numpy index or mask array in ``like``'s library and on its device (as it is under jax.jit)."""
    if is_jax_array(like):
        return array  # a constant under jit
    return xp.asarray(array, device=device(like))
