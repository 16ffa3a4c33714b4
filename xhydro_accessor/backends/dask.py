"""The dask backend: one task per chunk of the batch dims (members, time).

Every task needs the whole grid, so chunks across the spatial dims are merged
into one chunk, with a :class:`SpatialChunksWarning` (chunk along members or time
instead). Each block then runs in the backend of its own type (numpy, cupy, …)
and the result keeps the blocks' type (``_meta``). The network enters the graph
once, as a single key every task depends on (tokenized cheaply from a hash
computed once per network), so ``dask.distributed`` ships it once per worker.
"""

from __future__ import annotations

import warnings
from typing import Any

import dask
import dask.array as da
import numpy as np

from .. import operations
from ..network import RiverNetwork


class SpatialChunksWarning(UserWarning):
    """A dask field chunked across its spatial dims was rechunked to one spatial chunk."""


def run(network: RiverNetwork, op: str, field: Any, how: str, weights: Any, skipna: bool) -> da.Array:
    """Operation ``op`` on a dask array, lazily (see :mod:`xhydro_accessor.operations`)."""
    field = da.asarray(field)
    network.check_grid(tuple(field.shape))
    grid_ndim = len(network.shape)
    field = one_spatial_chunk(field, grid_ndim)
    args = [field]
    dtypes = [field.dtype if field.dtype != bool else np.dtype(np.int64)]
    if weights is not None:
        weights = da.asarray(weights)
        chunks = field.chunks[field.ndim - weights.ndim :]
        args.append(
            weights.rechunk(tuple((1,) if s == 1 else c for s, c in zip(weights.shape, chunks, strict=True)))
        )
        dtypes.append(weights.dtype)
    dtype = np.result_type(*dtypes)
    dtype = dtype if op == "move_upstream" else operations.result_dtype(how, dtype)
    return da.map_blocks(
        _block,
        *args,
        dask.delayed(network, pure=True),
        dtype=dtype,
        meta=field._meta.astype(dtype),
        op=op,
        how=how,
        skipna=skipna,
        name=f"hydro-{op}-{how}",
    )


def one_spatial_chunk(array: da.Array, grid_ndim: int) -> da.Array:
    """``array`` with its trailing ``grid_ndim`` dims in one chunk (warning when they were not)."""
    chunks = array.chunks[array.ndim - grid_ndim :]
    if any(len(c) > 1 for c in chunks):
        warnings.warn(
            "the field is chunked across its spatial dims; river-network operations need the whole "
            "grid in one chunk, so it is rechunked to one spatial chunk. Chunk along members or time "
            "instead, e.g. .chunk({'y': -1, 'x': -1, 'member': 1}).",
            SpatialChunksWarning,
            stacklevel=5,
        )
        array = array.rechunk({i: -1 for i in range(array.ndim - grid_ndim, array.ndim)})
    return array


def _block(field, *rest, op, how, skipna):
    *weights, network = rest
    kwargs = (
        {} if op == "move_upstream" else {"how": how, "weights": (weights or (None,))[0], "skipna": skipna}
    )
    result = getattr(operations, op)(network, field, **kwargs)
    # contiguous in the task, in parallel: dask's final concatenation is then a plain copy
    return operations.members_first(result, len(network.shape)) if isinstance(result, np.ndarray) else result
