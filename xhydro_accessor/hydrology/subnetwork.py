"""Subnetworks: part of a network as a network of its own, and fields mapped between them.

A subnetwork keeps the selected cells and their flow directions; a cell whose
downstream cell is not selected becomes an outlet, and sources are those of the
selection (both recomputed, never inherited). A grid subnetwork is by default
cropped to the bounding box of the selection, with the matching coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from ..backends.generic import numpy_dtype
from ..backends.scatter import array_namespace, device
from ..network import RiverNetwork
from ..operations import check_bool, fill_value
from ._backend import const, flat_grid, host, native
from .catchments import upstream_mask


@dataclass(frozen=True)
class Subnetwork:
    """A network cut out of a parent network.

    Attributes
    ----------
    network : RiverNetwork
        The subnetwork, on its own (cropped) grid.
    parent_shape : tuple of int
        The parent network's grid shape.
    index : ndarray of int64
        Flat parent index of every cell of the subnetwork's grid.
    """

    network: RiverNetwork
    parent_shape: tuple[int, ...]
    index: np.ndarray

    def from_parent(self, field: Any) -> Any:
        """The part of a parent field on the subnetwork's grid (batch dims kept).

        A gather: any backend, the result of the field's library and device.

        Examples
        --------
        >>> import numpy as np
        >>> sub = subnetwork(RiverNetwork.from_ldd(np.array([[6, 6, 5]])), np.array([[False, True, True]]))
        >>> sub.from_parent(np.array([[1.0, 2.0, 3.0]]))
        array([[2., 3.]])
        """
        return native(self._from_parent, field)

    def _from_parent(self, field: Any) -> Any:
        xp = array_namespace(field)
        flat = flat_grid(xp, field, len(self.parent_shape))
        out = xp.take(flat, const(xp, flat, self.index), axis=-1)
        return xp.reshape(out, tuple(flat.shape[:-1]) + tuple(self.network.shape))

    def to_parent(self, field: Any, fill: Any = None) -> Any:
        """A subnetwork field on the parent grid; ``fill`` (default NaN / fill_value) elsewhere.

        Only the subnetwork's own cells are copied (a gather from the field and
        one fill value: any backend, the field's library and device out).

        Examples
        --------
        >>> import numpy as np
        >>> from xhydro_accessor import accumulate
        >>> sub = subnetwork(RiverNetwork.from_ldd(np.array([[6, 6, 5]])), np.array([[False, True, True]]))
        >>> sub.to_parent(accumulate(sub.network, np.ones(sub.network.shape)))
        array([[nan,  1.,  2.]])
        """
        return native(lambda f: self._to_parent(f, fill), field)

    def _to_parent(self, field: Any, fill: Any) -> Any:
        xp = array_namespace(field)
        flat = flat_grid(xp, field, len(self.network.shape))
        batch = tuple(flat.shape[:-1])
        dtype = field.dtype if isinstance(field.dtype, np.dtype) else numpy_dtype(xp, field.dtype)
        fill = np.asarray(fill_value(dtype) if fill is None else fill).item()  # a Python scalar
        column = xp.full(batch + (1,), fill, dtype=flat.dtype, device=device(flat))
        padded = xp.concat([flat, column], axis=-1)
        on = self.network.mask.reshape(-1)
        slot = np.full(prod(self.parent_shape), on.size, np.int64)  # the fill value's slot
        slot[self.index[on]] = np.flatnonzero(on)
        return xp.reshape(xp.take(padded, const(xp, flat, slot), axis=-1), batch + self.parent_shape)


def subnetwork(network: RiverNetwork, mask: Any, *, crop: bool = True) -> Subnetwork:
    """The network of the cells selected by ``mask`` (network cells only).

    Parameters
    ----------
    network : RiverNetwork
    mask : bool array of network.shape, any backend (copied to numpy)
    crop : bool, default True
        Crop a grid subnetwork to the bounding box of the selection (else keep
        the parent's grid).

    Examples
    --------
    >>> import numpy as np
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5], [255, 9, 8, 7]]))
    >>> sub = subnetwork(net, np.array([[False, True, True, False], [False, True, True, False]]))
    >>> sub.network.shape, sub.network.outlets, sub.network.sources
    ((2, 2), array([1]), array([0, 2, 3]))
    """
    from ..network import index_dtype

    check_bool(crop, "crop")
    mask = host(mask).astype(bool)  # topology: the index arrays are built in numpy
    if mask.shape != tuple(network.shape):
        raise ValueError(f"mask must have the network's shape {network.shape}, got {mask.shape}")
    selected = (mask & network.mask).reshape(-1)
    if not selected.any():
        raise ValueError("the mask selects no network cell")
    dims, coords = network.dims, network.coords
    if len(network.shape) == 2 and crop:
        rows, cols = np.nonzero(selected.reshape(network.shape))
        window = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        grid = np.arange(prod(network.shape)).reshape(network.shape)[window]
        shape, index = grid.shape, grid.reshape(-1)
        coords = {d: coords[d][w] for d, w in zip(dims or (), window, strict=False) if d in coords}
    elif len(network.shape) == 1:
        index = np.flatnonzero(selected)
        shape = (index.size,)
    else:
        shape, index = network.shape, np.arange(selected.size)
    down = np.full(prod(network.shape), -2, np.int64)
    down[network.nodes] = network.downstream
    position = np.full(prod(network.shape), -1, np.int64)  # parent cell -> subnetwork cell
    position[index[selected[index]]] = np.flatnonzero(selected[index])
    sub_down = np.where(selected[index], -1, -2).astype(index_dtype(index.size))
    flows = selected[index] & (down[index] >= 0)
    sub_down[flows] = position[down[index][flows]]
    sub_down[flows & (position[np.maximum(down[index], 0)] < 0)] = -1
    sub = RiverNetwork.from_downstream_index(sub_down, shape)
    ids = (network.ids[index] if network.ids is not None else index) if len(network.shape) == 1 else None
    sub = sub.with_grid(dims, coords, ids, crs=network.crs, degrees=network.degrees)
    return Subnetwork(sub, tuple(network.shape), index.astype(np.int64))


def upstream_subnetwork(
    network: RiverNetwork, locations: Any, *, crop: bool = True, snap: float | str = 0
) -> Subnetwork:
    """The subnetwork of everything draining to the locations (their outlets are the locations).

    Examples
    --------
    >>> import numpy as np
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5], [255, 9, 8, 7]]))
    >>> sub = upstream_subnetwork(net, [(0, 2)])
    >>> sub.network.shape, sub.network.n_nodes, sub.network.outlets
    ((2, 4), 6, array([2]))
    """
    return subnetwork(network, upstream_mask(network, locations, snap=snap), crop=crop)
