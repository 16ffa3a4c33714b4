"""Node vectors: the values on the network's cells only, in :attr:`RiverNetwork.nodes` order.

For ML pipelines a field on a grid of mostly off-network cells is wasteful: the
flow operations take fields (weights, edge weights) given as node vectors — their
last axis of length ``network.n_nodes``, the ``k``-th value on the cell
``network.nodes[k]`` — and return node vectors with ``output="nodes"``; leading
(batch) dims are kept.

How a field is read
    Trailing dims equal to the grid are a grid. Otherwise a last axis of length
    ``n_nodes`` is a node vector. The grid wins where both hold: on a vector network
    (whose grid *is* ``(n_nodes,)``: fields are read in grid order, the network's
    node labels), and on a 2-D grid ``(ny, nx)`` with ``nx == n_nodes`` for a node
    vector with a batch dim of length ``ny``: pass such a batch as a grid
    (:func:`to_grid` with ``nodes=True``) to resolve it.

Both directions are gathers (``take``), so they run in every array library and keep
gradients (torch, jax). In xarray, ``output="nodes"`` gives a ``node`` dim with the
coordinates of each node's cell, and a DataArray with that ``node`` dim is put back on
the grid by the ``.hydro`` operations when the network is passed
(:func:`xhydro_accessor.xarray_ops.grid_of_nodes`).

Examples
--------
>>> import numpy as np
>>> from xhydro_accessor import RiverNetwork, accumulate
>>> net = RiverNetwork.from_ldd(np.array([[6, 5, 255]]))
>>> net.nodes.tolist()
[0, 1]
>>> accumulate(net, np.array([1.0, 2.0]), output="nodes")  # a node vector in, one out
array([1., 3.])
"""

from __future__ import annotations

from math import prod
from typing import Any, Literal

import numpy as np
from array_api_compat import is_jax_array

from .backends.scatter import array_namespace, device
from .network import RiverNetwork

Output = Literal["grid", "nodes"]
OUTPUTS = ("grid", "nodes")


def check_output(output: Any) -> None:
    """Raise a one-line ``ValueError`` unless ``output`` is ``"grid"`` or ``"nodes"``."""
    if not isinstance(output, str) or output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")


def is_nodes(network: RiverNetwork, shape: tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` is a node vector (see the module docstring: the grid wins).

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5, 255]]))
    >>> is_nodes(net, (4, 2)), is_nodes(net, (1, 3)), is_nodes(net, (4, 3))
    (True, False, False)
    """
    grid = tuple(network.shape)
    shape = tuple(shape)
    if len(shape) >= len(grid) and shape[len(shape) - len(grid) :] == grid:
        return False
    return len(shape) >= 1 and shape[-1] == network.n_nodes


def _index(like: Any, indices: np.ndarray) -> Any:
    """``indices`` as an index array of ``like``'s library and device (numpy under jax)."""
    if isinstance(like, np.ndarray) or is_jax_array(like):
        return indices
    return array_namespace(like).asarray(indices, device=device(like))


def to_grid(network: RiverNetwork, values: Any, nodes: bool | None = None) -> Any:
    """``values`` on the grid: node vectors scattered to their cells (0 off the network, where
    every operation ignores the field), grids as they are. ``nodes=None``: by :func:`is_nodes`.

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5, 255]]))
    >>> to_grid(net, np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[[1., 2., 0.]],
    <BLANKLINE>
           [[3., 4., 0.]]])
    """
    if values is None or not hasattr(values, "shape"):
        return values
    if not (is_nodes(network, tuple(values.shape)) if nodes is None else nodes):
        return values
    xp = array_namespace(values)
    batch = tuple(values.shape[:-1])
    position = network.cached("xhydro_accessor.node_positions", lambda: _positions(network))
    padded = xp.concat([values, xp.zeros((*batch, 1), dtype=values.dtype, device=device(values))], axis=-1)
    return xp.reshape(xp.take(padded, _index(values, position), axis=-1), (*batch, *network.shape))


def _positions(network: RiverNetwork) -> np.ndarray:
    """Each cell's position in ``network.nodes``; ``n_nodes`` off the network."""
    position = np.full(prod(network.shape), network.n_nodes, np.int64)
    position[network.nodes] = np.arange(network.n_nodes)
    return position


def to_nodes(network: RiverNetwork, values: Any) -> Any:
    """A grid-shaped result ``(..., *network.shape)`` as node vectors ``(..., n_nodes)``.

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5, 255]]))
    >>> to_nodes(net, np.array([[1.0, 3.0, np.nan]]))
    array([1., 3.])
    """
    xp = array_namespace(values)
    shape = tuple(values.shape)
    batch = shape[: len(shape) - len(network.shape)]
    flat = xp.reshape(values, (*batch, prod(network.shape)))
    return xp.take(flat, _index(values, network.nodes.astype(np.int64)), axis=-1)
