"""The dask backend: one task per chunk of the batch dims (members, time).

A field chunked across its spatial dims (or a network built from such codes, a
:class:`~xhydro_accessor.tiling.TiledNetwork`) runs tile by tile in
:mod:`.tiled` instead (Barnes 2017: the grid is never gathered). Otherwise every
task needs the whole grid; the few networks that cannot be tiled (links longer
than one cell, or across a wrapped edge, given in memory) merge the spatial
chunks into one chunk, with a :class:`SpatialChunksWarning`. Each block then runs
in the backend of its own type (numpy, cupy, …) and the result keeps the blocks'
type (``_meta``). The network enters the graph
once, as a single key every task depends on (tokenized cheaply from a hash
computed once per network), so ``dask.distributed`` ships it once per worker.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np

from .. import reductions
from ..network import RiverNetwork
from ..tiling import spatially_chunked


class SpatialChunksWarning(UserWarning):
    """A dask field chunked across its spatial dims was rechunked to one spatial chunk."""


def run(
    network: RiverNetwork, op: str, field: Any, how: str, weights: Any, skipna: bool, engine: str = "auto"
) -> da.Array:
    """Operation ``op`` on a dask array, lazily (see :mod:`xhydro_accessor.operations`)."""
    field = da.asarray(field)
    network.check_grid(tuple(field.shape))
    if getattr(network, "tiled", False) or spatially_chunked(field, len(network.shape)):
        from .tiled import run as tiled_run  # tiles and a perimeter graph (Barnes 2017)

        out = tiled_run(network, op, field, how, weights, skipna)
        if out is not None:
            return out
    w_dtype = None if weights is None else weights.dtype
    dtype = reductions.output_dtype(None if op == "move_upstream" else how, field.dtype, w_dtype)
    return map_batches(
        _block, field, weights, grid_ndim=len(network.shape), core=tuple(network.shape), dtype=dtype,
        network=network, op=op, how=how, skipna=skipna, engine=engine, name=f"hydro-{op}-{how}",
    )  # fmt: skip


def map_batches(
    function: Callable,
    field: Any,
    *others: Any,
    grid_ndim: int,
    core: tuple[int, ...],
    dtype: Any,
    network: RiverNetwork,
    **kwargs: Any,
) -> da.Array:
    """Lazily ``function(block, *other_blocks, network=network, **kwargs)`` over the chunks
    of a dask array's batch dims.

    The last ``grid_ndim`` dims (the grid) are merged into one chunk (see
    :func:`one_spatial_chunk`) and replaced by dims of sizes ``core``; ``others``
    (weights: the grid's shape or the field's; None left out) are chunked to match.
    ``function`` should be a module-level function (it then tokenizes cheaply); the
    network enters the graph once, as one key.

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([6, 5]).reshape(1, 2))
    >>> def total(block, network):
    ...     return block.sum(axis=(-2, -1), keepdims=True)[..., 0]
    >>> field = da.ones((4, 1, 2), chunks=(1, 1, 2))
    >>> out = map_batches(total, field, grid_ndim=2, core=(1,), dtype=float, network=net)
    >>> out.chunks, out.compute().ravel()
    (((1, 1, 1, 1), (1,)), array([2., 2., 2., 2.]))
    """
    field = one_spatial_chunk(da.asarray(field), grid_ndim)
    args = [field]
    for other in others:
        if other is not None:
            other = da.asarray(other)
            chunks = field.chunks[field.ndim - other.ndim :]
            args.append(
                other.rechunk(tuple((1,) if n == 1 else c for n, c in zip(other.shape, chunks, strict=True)))
            )
    batch = field.ndim - grid_ndim
    if len(core) != grid_ndim or core != tuple(field.shape[batch:]):
        kwargs |= {
            "drop_axis": list(range(batch, field.ndim)),
            "new_axis": list(range(batch, batch + len(core))),
        }
    return da.map_blocks(
        _with_network,
        *args,
        dask.delayed(network, pure=True),
        function=function,
        dtype=dtype,
        meta=field._meta.astype(dtype).reshape((0,) * (batch + len(core))),
        chunks=field.chunks[:batch] + tuple((n,) for n in core),
        **kwargs,
    )


def _with_network(*blocks, function, **kwargs):
    *blocks, network = blocks
    return function(*blocks, network=network, **kwargs)


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


def _block(field, *weights, network, op, how, skipna, engine):
    """One block in its engine: numba for numpy blocks (unless ``engine="xp"``), else xp."""
    weights = (weights or (None,))[0]
    if type(field) is not np.ndarray or engine == "xp":  # cupy blocks, or the xp engine asked for
        from .generic import run

        return run(network, op, field, how, weights, skipna)
    from .numba_engine import members_first, run

    result = run(network, op, field, how, weights, skipna)
    # contiguous in the task, in parallel: dask's final concatenation is then a plain copy
    return members_first(result, len(network.shape))
