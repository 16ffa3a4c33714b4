"""The river network as a coordinate: code encoding and a custom :class:`xarray.Index`.

A raster network travels with the data as a coordinate over the spatial dims
(``flow_direction(y, x)``); a vector network as ``downstream_id(node)``, the
*label* of each node's downstream node. Three encodings, chosen by
:func:`encode_network`, all rebuild the network exactly (:func:`decode_network`)
and all stay correct when the coordinate is sliced blindly, e.g. by an ``isel``
on a file reopened without the index — flow leaving the subset becomes an outlet:

``convention: ldd``
    PCRaster keypad codes (uint8): 1–9, 5 pit, 255 off the network. Used when
    every cell drains into one of its 8 neighbours.
``convention: offset``
    int64 ``dy * 2**32 + dx``, the row and column step to the downstream cell;
    0 is an outlet, the int64 minimum off the network. Used for grids with longer
    jumps (CaMa-Flood ``nextxy``) or east–west wrapping (``wrap_x=True``).
``convention: downstream_id``
    vector networks: the downstream node's label, the node's own label at outlets.

:class:`NetworkIndex` sits on that coordinate. It caches the compiled
:class:`~xhydro_accessor.RiverNetwork`, compares networks during alignment (two
fields on different networks raise instead of silently losing the network) and
rebuilds network and codes on spatial ``isel``/``sel``/``roll``, so the attached
network is never stale.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from .errors import GridMismatchError
from .network import RiverNetwork

FLOW_DIRECTION = "flow_direction"
DOWNSTREAM_ID = "downstream_id"
HYDRO_ROLE = "flow_direction"

_LDD_OF_STEP = {
    (1, -1): 1,
    (1, 0): 2,
    (1, 1): 3,
    (0, -1): 4,
    (0, 0): 5,
    (0, 1): 6,
    (-1, -1): 7,
    (-1, 0): 8,
    (-1, 1): 9,
}
_LDD_MEANINGS = "south_west south south_east west pit east north_west north north_east"
_OFFSET_BASE = 2**32
_OFFSET_MISSING = np.iinfo(np.int64).min


# ------------------------------------------------------------------- encoding
def encode_network(network: RiverNetwork, dims: tuple[Hashable, ...], ids: Any = None) -> xr.Variable:
    """The coordinate variable holding ``network`` over ``dims``.

    Parameters
    ----------
    network : RiverNetwork
    dims : tuple of hashable
        ``(y_dim, x_dim)`` for a raster network, ``(node_dim,)`` for a vector one.
    ids : array-like, optional
        Node labels of a vector network (default: ``network.ids``, else ``0..n-1``).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_d8(np.array([[1, 4], [247, 0]]))
    >>> var = encode_network(net, ("y", "x"))
    >>> var.values
    array([[  6,   2],
           [255,   5]], dtype=uint8)
    >>> decode_network(var) == net
    True
    """
    if len(network.shape) == 1:
        return _encode_vector(network, dims, ids)
    down = network.downstream_grid().reshape(-1)
    size = down.size
    nx = network.shape[1]
    here = np.arange(size)
    on = down >= 0
    dy = np.zeros(size, np.int64)
    dx = np.zeros(size, np.int64)
    dy[on] = down[on] // nx - here[on] // nx
    dx[on] = down[on] % nx - here[on] % nx
    attrs: dict[str, Any] = {"hydro_role": HYDRO_ROLE, "long_name": "river network flow direction"}
    if (np.abs(dy) <= 1).all() and (np.abs(dx) <= 1).all():
        codes = np.full(size, 255, np.uint8)
        for (sy, sx), code in _LDD_OF_STEP.items():
            codes[(down != -2) & (dy == sy) & (dx == sx)] = code
        attrs |= {
            "convention": "ldd",
            "flag_values": np.array(sorted(_LDD_OF_STEP.values()), np.uint8),
            "flag_meanings": _LDD_MEANINGS,
            "comment": "PCRaster local drain direction (keypad codes); 255: not on the network",
        }
    else:
        codes = dy * _OFFSET_BASE + dx
        codes[down == -2] = _OFFSET_MISSING
        attrs |= {
            "convention": "offset",
            "comment": "dy * 2**32 + dx: row and column step to the downstream cell; "
            "0: outlet; -2**63: not on the network",
        }
    return xr.Variable(dims, codes.reshape(network.shape), attrs)


def _encode_vector(network: RiverNetwork, dims, ids) -> xr.Variable:
    ids = np.asarray(network.ids if ids is None else ids)
    if ids is None or ids.ndim == 0:
        ids = np.arange(network.shape[0])
    down = network.downstream_grid()
    labels = ids[np.where(down >= 0, down, np.arange(down.size))]
    attrs = {
        "hydro_role": HYDRO_ROLE,
        "convention": "downstream_id",
        "long_name": "label of the downstream node",
        "comment": "a node's own label marks an outlet",
    }
    return xr.Variable(dims, labels, attrs)


def decode_network(variable: xr.Variable | xr.DataArray, ids: Any = None) -> RiverNetwork:
    """Rebuild the network from its coordinate (see :func:`encode_network`).

    Codes pointing outside the (possibly subset) grid, or to a label that is not
    a node, make the cell an outlet. ``ids`` are the node labels of a vector
    network (default ``0..n-1``). The result carries no dims nor coordinates.

    Examples
    --------
    >>> import xarray as xr
    >>> decode_network(xr.Variable(("y", "x"), [[6, 6, 2], [9, 8, 5]]))
    <RiverNetwork: 2×3 grid, 6 cells, 1 outlets, 4 levels>
    """
    convention = variable.attrs.get("convention", "ldd")
    codes = np.asarray(variable.values)
    if convention == "downstream_id":
        ids = np.arange(codes.size) if ids is None else np.asarray(ids)
        known = np.isin(codes, ids)
        labels = np.where(known, codes, ids)
        sentinel = _sentinel(ids)
        return RiverNetwork.from_downstream(labels, ids=ids, outlet=sentinel)
    if codes.ndim != 2:
        raise GridMismatchError(f"a raster flow-direction coordinate must be 2-D, got dims {variable.dims}")
    if convention == "ldd":
        return RiverNetwork.from_ldd(codes)
    if convention != "offset":
        return RiverNetwork.from_d8(codes, convention)
    ny, nx = codes.shape
    missing = codes == _OFFSET_MISSING
    dy = (codes + _OFFSET_BASE // 2) // _OFFSET_BASE
    dx = codes - dy * _OFFSET_BASE
    rows, cols = np.indices(codes.shape)
    ty, tx = rows + dy, cols + dx
    outlet = (codes == 0) | (ty < 0) | (ty >= ny) | (tx < 0) | (tx >= nx)
    nextx = np.where(outlet, -9, tx + 1)
    nexty = np.where(outlet, -9, ty + 1)
    nextx[missing] = nexty[missing] = -9999
    return RiverNetwork.from_cama(nextx, nexty)


def _sentinel(ids: np.ndarray) -> Any:
    if ids.dtype.kind in "iuf":
        return -1 if not (ids == -1).any() else ids.min() - 1
    return "\x00" if ids.dtype.kind == "U" else object()


def subset_network(network: RiverNetwork, positions: tuple[np.ndarray, ...]) -> RiverNetwork:
    """The network of the cells at ``positions`` (one integer array per grid dim).

    Cells draining to a cell outside the subset become outlets.

    Examples
    --------
    >>> import numpy as np
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2], [9, 8, 5]]))
    >>> subset_network(net, (np.arange(2), np.arange(2))).outlets
    array([1])
    """
    grid = np.ix_(*positions) if len(positions) > 1 else positions
    old = np.ravel_multi_index(grid, network.shape).reshape(-1)
    new_shape = tuple(p.size for p in positions)
    new_of_old = np.full(int(np.prod(network.shape)), -1, np.int64)
    new_of_old[old] = np.arange(old.size)
    down = network.downstream_grid().reshape(-1)[old]
    down = np.where(down >= 0, new_of_old[np.maximum(down, 0)], down)
    if len(new_shape) == 1:
        ids = network.ids if network.ids is not None else np.arange(network.shape[0])
        ids = ids[positions[0]]
        labels = ids[np.where(down >= 0, down, np.arange(down.size))]
        return RiverNetwork.from_downstream(labels, ids=ids, outlet=_sentinel(ids))
    ny, nx = new_shape
    nextx = np.where(down >= 0, down % nx + 1, -9)
    nexty = np.where(down >= 0, down // nx + 1, -9)
    nextx[down == -2] = nexty[down == -2] = -9999
    return RiverNetwork.from_cama(nextx.reshape(new_shape), nexty.reshape(new_shape))


# ---------------------------------------------------------------------- index
class NetworkIndex(xr.Index):
    """An :class:`xarray.Index` on the flow-direction coordinate caching the network.

    Created by :meth:`HydroAccessor.assign_network
    <xhydro_accessor.accessor.HydroAccessor.assign_network>`, or by hand with
    ``obj.set_xindex("flow_direction", NetworkIndex)`` (pass ``network=`` and,
    for vector networks, ``ids=`` to skip decoding).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.ones((2, 3)), dims=("y", "x"))
    >>> da = da.assign_coords(flow_direction=(("y", "x"), np.array([[6, 6, 2], [9, 8, 5]], "u1")))
    >>> da = da.set_xindex("flow_direction", NetworkIndex)
    >>> da.xindexes["flow_direction"].network
    <RiverNetwork: 2×3 grid, 6 cells, 1 outlets, 4 levels>
    >>> da.isel(x=slice(0, 2)).xindexes["flow_direction"].network.outlets
    array([1])
    """

    def __init__(
        self, network: RiverNetwork, name: Hashable, dims: tuple[Hashable, ...], from_codes: bool = False
    ):
        self.network = network
        self.name = name
        self.dims = tuple(dims)
        self.from_codes = from_codes  # built from the coordinate: keep it; else re-encode

    @classmethod
    def from_variables(cls, variables: Mapping[Any, xr.Variable], *, options: Mapping[str, Any]):
        if len(variables) != 1:
            raise ValueError(f"NetworkIndex indexes one coordinate, got {list(variables)}")
        ((name, var),) = variables.items()
        network = options.get("network")
        if network is None:
            network = decode_network(var, options.get("ids"))
        if tuple(network.shape) != tuple(var.shape):
            raise GridMismatchError(f"network grid {network.shape} differs from coordinate {var.shape}")
        return cls(network, name, var.dims, from_codes=True)

    def create_variables(self, variables: Mapping[Any, xr.Variable] | None = None) -> dict:
        old = (variables or {}).get(self.name)
        if old is not None and self.from_codes:
            return {self.name: old}
        var = encode_network(self.network, self.dims, self.network.ids)
        if old is not None:  # keep user attrs and the encoding; codes and their attrs are new
            extra = {
                k: v for k, v in old.attrs.items() if k not in ("flag_values", "flag_meanings", "comment")
            }
            var.attrs = extra | var.attrs
            var.encoding = {k: v for k, v in old.encoding.items() if k not in ("dtype", "_FillValue")}
        return {self.name: var}

    def isel(self, indexers: Mapping[Any, Any]) -> NetworkIndex | None:
        positions = []
        for dim, size in zip(self.dims, self.network.shape, strict=True):
            indexer = indexers.get(dim, slice(None))
            if isinstance(indexer, xr.Variable) or np.ndim(indexer) == 0 and not isinstance(indexer, slice):
                return None  # a dim is dropped or vectorised: no grid left to index
            positions.append(np.arange(size)[indexer])
        if all(
            p.size == s and (p == np.arange(s)).all()
            for p, s in zip(positions, self.network.shape, strict=True)
        ):
            return self
        return type(self)(subset_network(self.network, tuple(positions)), self.name, self.dims)

    def roll(self, shifts: Mapping[Any, int]) -> NetworkIndex | None:
        return self.isel({d: np.roll(np.arange(self.network.shape[self.dims.index(d)]), s)
                          for d, s in shifts.items() if d in self.dims})  # fmt: skip

    def equals(self, other: xr.Index, *, exclude=None) -> bool:
        if not isinstance(other, NetworkIndex):
            return False
        return self.network is other.network or self.network == other.network

    def join(self, other: NetworkIndex, how: str = "inner") -> NetworkIndex:
        if self.equals(other):
            return self
        raise _alignment_error(self.name)

    def reindex_like(self, other: NetworkIndex) -> dict:
        if self.equals(other):
            return {}
        raise _alignment_error(self.name)

    @classmethod
    def concat(cls, indexes, dim, positions=None) -> NetworkIndex:
        first = indexes[0]
        if dim in first.dims:
            raise NotImplementedError(
                f"cannot concatenate river networks along their spatial dim {dim!r}; "
                "drop the network first (obj.hydro.drop_network()) and attach the merged one"
            )
        if not all(first.equals(other) for other in indexes[1:]):
            raise _alignment_error(first.name)
        return first

    def rename(self, name_dict: Mapping[Any, Hashable], dims_dict: Mapping[Any, Hashable]) -> NetworkIndex:
        name = name_dict.get(self.name, self.name)
        dims = tuple(dims_dict.get(d, d) for d in self.dims)
        if (name, dims) == (self.name, self.dims):
            return self
        return type(self)(self.network, name, dims, self.from_codes)

    def _copy(self, deep: bool = True, memo=None) -> NetworkIndex:
        return type(self)(self.network, self.name, self.dims, self.from_codes)  # the network is immutable

    def _repr_inline_(self, max_width: int) -> str:
        return f"NetworkIndex {self.network!r}"[:max_width]


def _alignment_error(name: Hashable) -> Exception:
    error = getattr(xr, "AlignmentError", ValueError)
    return error(
        f"cannot align objects attached to different river networks (coordinate {name!r}); "
        "attach the same network to both (obj.hydro.assign_network(network)) or drop one "
        "(obj.hydro.drop_network())"
    )
