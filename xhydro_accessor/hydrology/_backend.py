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
    from ..backends import _library, _lift

    if any(getattr(type(a), "__xhydro_wrapper__", False) for a in arrays):
        from ..torch import unwrap, wrap

        return wrap(native(function, *(unwrap(a) for a in arrays)))
    lead = next((a for a in arrays if a is not None and _library(a) != "numpy"), None)
    if lead is None:
        return function(*(None if a is None else np.asarray(a) for a in arrays))
    return function(*(_lift(a, lead) for a in arrays))


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


def map_batches(
    function: Callable,
    field: Any,
    *others: Any,
    grid_ndim: int,
    core: tuple[int, ...],
    dtype: Any,
    **kwargs: Any,
) -> Any:
    """Lazily ``function(block, *other_blocks, **kwargs)`` over the chunks of a dask array's batch dims.

    The last ``grid_ndim`` dims (the grid) are merged into one chunk and replaced
    by dims of sizes ``core``; ``others`` (weights: the grid's shape or the
    field's; None left out) are chunked to match. ``function`` should be a
    module-level function and the network a keyword: both then tokenize cheaply.

    Examples
    --------
    >>> import dask.array as da
    >>> out = map_batches(np.sum, da.ones((4, 3), chunks=1), grid_ndim=1, core=(1,), dtype=float,
    ...                   axis=-1, keepdims=True)
    >>> out.chunks, out.compute().ravel()
    (((1, 1, 1, 1), (1,)), array([3., 3., 3., 3.]))
    """
    import dask.array as da

    field = da.asarray(field)
    field = field.rechunk({i: -1 for i in range(field.ndim - grid_ndim, field.ndim)})
    args = [field]
    for other in others:
        if other is not None:
            other = da.asarray(other)
            args.append(other.rechunk(field.chunks[field.ndim - other.ndim :]))
    batch = field.ndim - grid_ndim
    same = len(core) == grid_ndim
    extra = {} if same else {
        "drop_axis": list(range(batch, field.ndim)),
        "new_axis": list(range(batch, batch + len(core))),
    }  # fmt: skip
    meta = field._meta.astype(dtype).reshape((0,) * (batch + len(core)))
    return da.map_blocks(
        function,
        *args,
        dtype=dtype,
        meta=meta,
        chunks=field.chunks[:batch] + tuple((n,) for n in core),
        **extra,
        **kwargs,
    )


def flat_grid(xp: Any, field: Any, grid_ndim: int) -> Any:
    """``field`` with its grid dims flattened into one last dim."""
    shape = tuple(field.shape)
    return xp.reshape(field, shape[: len(shape) - grid_ndim] + (prod(shape[len(shape) - grid_ndim :]),))
