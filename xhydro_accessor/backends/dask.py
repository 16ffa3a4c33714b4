"""The dask backend: one task per chunk of the batch dims (members, time).

Every task needs the whole grid, so the spatial dims are merged into one chunk;
each block then runs in the backend of its own type (numpy, cupy, …), and the
result keeps the blocks' type (``_meta``). The network enters each task as is: it
tokenizes cheaply (``RiverNetwork.__dask_tokenize__``).
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np

from .. import operations
from ..network import RiverNetwork


def run(network: RiverNetwork, op: str, field: Any, how: str, weights: Any, skipna: bool) -> da.Array:
    """Operation ``op`` on a dask array, lazily (see :mod:`xhydro_accessor.operations`)."""
    field = da.asarray(field)
    network.check_grid(tuple(field.shape))
    grid_ndim = len(network.shape)
    field = field.rechunk({i: -1 for i in range(field.ndim - grid_ndim, field.ndim)})
    args = [field]
    dtypes = [field.dtype if field.dtype != bool else np.dtype(np.int64)]
    if weights is not None:
        weights = da.asarray(weights)
        chunks = field.chunks[field.ndim - weights.ndim :]
        args.append(weights.rechunk(chunks))
        dtypes.append(weights.dtype)
    dtype = np.result_type(*dtypes)
    dtype = dtype if op == "move_upstream" else operations.result_dtype(how, dtype)
    return da.map_blocks(
        _block,
        *args,
        dtype=dtype,
        meta=field._meta.astype(dtype),
        network=network,
        op=op,
        how=how,
        skipna=skipna,
        name=f"hydro-{op}-{how}",
    )


def _block(field, *weights, network, op, how, skipna):
    result = getattr(operations, op)(
        network,
        field,
        **(
            {}
            if op == "move_upstream"
            else {"how": how, "weights": (weights or (None,))[0], "skipna": skipna}
        ),
    )
    # contiguous in the task, in parallel: dask's final concatenation is then a plain copy
    return operations.members_first(result, len(network.shape)) if isinstance(result, np.ndarray) else result
