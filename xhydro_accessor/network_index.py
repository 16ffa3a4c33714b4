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

Objects reopened from a file carry the coordinate *without* the index (xarray
cannot attach a custom index on open; :func:`xhydro_accessor.open_dataset` and
``obj.hydro.assign_network()`` put it back). xarray never shows an index the
unindexed same-named coordinate of another operand: alignment overwrites it with
the indexed operand's (``reopened + indexed`` would silently move the reopened
field onto the other network), arithmetic drops two conflicting unindexed ones, and
``ds["q"] = da`` drops ``da``'s network coordinate whenever the Dataset has one,
indexed or not. No :class:`xarray.Index` method is called in these paths, so
importing this module wraps ``Aligner.align`` and ``Dataset.update`` with checks
(:func:`check_alignment`, :func:`check_aligned`, :func:`check_assignment`): network
coordinates that encode different networks raise the same alignment error as two
indexes. Codes are compared only where network coordinates meet; any other
alignment pays one scan of the objects' indexes and coordinates (~10 µs).

The index keeps its codes read-only, so the coordinate it made cannot be edited in
place, and ``.hydro`` checks in O(1) that the coordinate is still that one (a copy
costs one comparison of the codes): a stale network is never used.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from .conventions import get_convention
from .errors import GridMismatchError
from .layout import NORTH_UP, Layout, grid_layout, layout_of, layout_of_network
from .network import RiverNetwork

FLOW_DIRECTION = "flow_direction"
DOWNSTREAM_ID = "downstream_id"
HYDRO_ROLE = "flow_direction"

_LDD = get_convention("ldd")  # the registry's table; a pit is the step (0, 0)
_LDD_OF_STEP = {**{step: code for code, step in _LDD.directions.items()}, (0, 0): _LDD.pits[0]}
_LDD_MEANINGS = " ".join(meaning for _, meaning in sorted(zip(*_LDD.flags(), strict=True)))
_OFFSET_BASE = 2**32
_OFFSET_MISSING = np.iinfo(np.int64).min


# ------------------------------------------------------------------- encoding
def encode_network(
    network: RiverNetwork, dims: tuple[Hashable, ...], ids: Any = None, layout: Layout | None = None
) -> xr.Variable:
    """The coordinate variable holding ``network`` over ``dims``.

    Parameters
    ----------
    network : RiverNetwork
    dims : tuple of hashable
        ``(y_dim, x_dim)`` for a raster network, ``(node_dim,)`` for a vector one,
        in the network's stored order (``(x_dim, y_dim)`` for an x-first grid).
    ids : array-like, optional
        Node labels of a vector network (default: ``network.ids``, else ``0..n-1``).
    layout : Layout, optional
        How the grid is stored (see :mod:`xhydro_accessor.layout`); default: from
        ``dims`` and the network's coordinates. The codes name geographic
        directions (8 is north), so they mean the same on a flipped or
        transposed copy of the grid.

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
    down, dy, dx = geographic_steps(network, layout_of_network(network, dims) if layout is None else layout)
    size = down.size
    attrs: dict[str, Any] = {"hydro_role": HYDRO_ROLE, "long_name": "river network flow direction"}
    if (np.abs(dy) <= 1).all() and (np.abs(dx) <= 1).all():
        codes = np.full(size, _LDD.fill, _LDD.dtype)
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
            "comment": "dy * 2**32 + dx: step to the downstream cell, dy rows southwards, "
            "dx columns eastwards; 0: outlet; -2**63: not on the network",
        }
    if network.crs is not None:  # the grid's CRS travels with the codes (decode_network reads it)
        attrs["crs_wkt"] = network.crs.to_wkt()
    return xr.Variable(dims, codes.reshape(network.shape), attrs)


def geographic_steps(network: RiverNetwork, layout: Layout = NORTH_UP) -> tuple[np.ndarray, ...]:
    """Flat downstream index, and geographic step (rows southwards, columns eastwards) of every cell."""
    down = network.downstream_grid().reshape(-1)
    nx = network.shape[1]
    here = np.arange(down.size)
    on = down >= 0
    d0 = np.zeros(down.size, np.int64)
    d1 = np.zeros(down.size, np.int64)
    d0[on] = down[on] // nx - here[on] // nx
    d1[on] = down[on] % nx - here[on] % nx
    dy, dx = layout.to_geographic(d0, d1)
    return down, dy, dx


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


def decode_network(
    variable: xr.Variable | xr.DataArray, ids: Any = None, layout: Layout | None = None
) -> RiverNetwork:
    """Rebuild the network from its coordinate (see :func:`encode_network`).

    Codes pointing outside the (possibly subset) grid, or to a label that is not
    a node, make the cell an outlet. ``ids`` are the node labels of a vector
    network (default ``0..n-1``). The grid's ``layout`` defaults to what the
    variable tells (:func:`~xhydro_accessor.layout.layout_of`: a DataArray's
    coordinates, a Variable's dim names), so a coordinate reopened after
    ``Dataset.transpose`` or a flip decodes in its own dim order. The result
    carries no dims nor coordinates.

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
    crs = variable.attrs.get("crs_wkt")
    layout = layout_of(variable) if layout is None else layout
    if convention != "offset":
        return RiverNetwork._from_directions(codes, convention, None, False, crs, layout)
    ny, nx = codes.shape
    missing = codes == _OFFSET_MISSING
    dy = (codes + _OFFSET_BASE // 2) // _OFFSET_BASE
    dx = codes - dy * _OFFSET_BASE
    d0, d1 = layout.to_storage(dy, dx)
    rows, cols = np.indices(codes.shape)
    ty, tx = rows + d0, cols + d1
    outlet = (codes == 0) | (ty < 0) | (ty >= ny) | (tx < 0) | (tx >= nx)
    nextx = np.where(outlet, -9, tx + 1)
    nexty = np.where(outlet, -9, ty + 1)
    nextx[missing] = nexty[missing] = -9999
    return RiverNetwork.from_cama(nextx, nexty, crs=crs)


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
    return RiverNetwork.from_cama(nextx.reshape(new_shape), nexty.reshape(new_shape), crs=network.crs)


# ---------------------------------------------------------------------- index
class NetworkIndex(xr.Index):
    """An :class:`xarray.Index` on the flow-direction coordinate caching the network.

    Created by :meth:`HydroAccessor.assign_network
    <xhydro_accessor.accessor.HydroAccessor.assign_network>`, or by hand with
    ``obj.set_xindex("flow_direction", NetworkIndex)`` (pass ``network=`` and,
    for vector networks, ``ids=`` to skip decoding). The codes name geographic
    directions; by hand, the index sees only the coordinate's dim names, so pass
    ``layout=layout_of(obj, dims)`` (:mod:`xhydro_accessor.layout`) for a
    south-up or east-to-west grid. The index follows its layout through
    ``isel`` (a reversed axis) and a transposed coordinate.

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
        self,
        network: RiverNetwork,
        name: Hashable,
        dims: tuple[Hashable, ...],
        from_codes: bool = False,
        codes: np.ndarray | None = None,
        convention: str | None = None,
        layout: Layout | None = None,
    ):
        self.network = network
        self.name = name
        self.dims = tuple(dims)
        # how the grid is stored: the codes name geographic directions
        self.layout = grid_layout(self.dims, {}) if layout is None else layout
        self.from_codes = from_codes  # built from the coordinate: keep it; else re-encode
        self._codes = codes  # read-only: the coordinate values this index stands for
        self._convention = convention  # their ``convention`` attribute

    @classmethod
    def from_variables(cls, variables: Mapping[Any, xr.Variable], *, options: Mapping[str, Any]):
        if len(variables) != 1:
            raise ValueError(f"NetworkIndex indexes one coordinate, got {list(variables)}")
        ((name, var),) = variables.items()
        network, layout = options.get("network"), options.get("layout")
        layout = layout_of(var) if layout is None else layout
        if network is None:
            network = decode_network(var, options.get("ids"), layout)
        if tuple(network.shape) != tuple(var.shape):
            raise GridMismatchError(f"network grid {network.shape} differs from coordinate {var.shape}")
        codes = _read_only(np.array(var.values))  # a private copy: the caller's array stays writable
        convention = var.attrs.get("convention", "downstream_id" if var.ndim == 1 else "ldd")
        return cls(network, name, var.dims, True, codes, convention, layout)

    @property
    def codes(self) -> np.ndarray:
        """The (read-only) coordinate values encoding :attr:`network`."""
        if self._codes is None:
            self._set_codes(encode_network(self.network, self.dims, self.network.ids, self.layout))
        return self._codes

    def _set_codes(self, var: xr.Variable) -> None:
        self._codes, self._convention = _read_only(var.values), var.attrs["convention"]

    def matches(self, variable: xr.Variable, ids: Any = None, compute: bool = True) -> bool | None:
        """Whether the coordinate ``variable`` encodes this index's network.

        O(1) for the coordinate the index made (its read-only :attr:`codes`), one
        comparison of the codes for a copy, a decode only when the codes differ
        (another convention, or codes sliced blindly: flow out of a subset reads as
        an outlet). A lazy (dask) coordinate is computed, or with ``compute=False``
        left unchecked (``None``).
        """
        codes = self.codes
        if variable._data is codes:
            return True
        if variable.dims != self.dims and sorted(map(str, variable.dims)) == sorted(map(str, self.dims)):
            variable = variable.transpose(*self.dims)  # the object was transposed, not its network
        if not compute and type(variable._data).__module__.startswith("dask."):
            return None
        if variable.dims != self.dims and set(variable.dims) == set(self.dims):
            variable = variable.transpose(*self.dims)  # e.g. after Dataset.transpose
        values = np.asarray(variable.values)
        if values.shape != codes.shape:
            return False
        convention = variable.attrs.get("convention", self._convention)
        if convention == self._convention and np.array_equal(values, codes):
            return True
        try:
            return decode_network(variable, ids, self.layout) == self.network
        except ValueError:
            return False

    def create_variables(self, variables: Mapping[Any, xr.Variable] | None = None) -> dict:
        old = (variables or {}).get(self.name)
        if old is not None and self.from_codes:
            codes = self.codes
            if old.dims != self.dims and set(old.dims) == set(self.dims):  # after Dataset.transpose
                codes = np.transpose(codes, [self.dims.index(d) for d in old.dims])
            return {self.name: old.copy(deep=False, data=codes)}
        var = encode_network(self.network, self.dims, self.network.ids, self.layout)
        if self._codes is None:
            self._set_codes(var)
        var = var.copy(deep=False, data=self._codes)
        if old is not None:  # keep user attrs and the encoding; codes and their attrs are new
            extra = {
                k: v for k, v in old.attrs.items() if k not in ("flag_values", "flag_meanings", "comment")
            }
            var.attrs = extra | var.attrs
            var.encoding = {k: v for k, v in old.encoding.items() if k not in ("dtype", "_FillValue")}
        return {self.name: var}

    def isel(self, indexers: Mapping[Any, Any]) -> NetworkIndex | None:
        positions = []
        layout = self.layout
        for axis, (dim, size) in enumerate(zip(self.dims, self.network.shape, strict=True)):
            indexer = indexers.get(dim, slice(None))
            if isinstance(indexer, xr.Variable) or np.ndim(indexer) == 0 and not isinstance(indexer, slice):
                return None  # a dim is dropped or vectorised: no grid left to index
            positions.append(np.arange(size)[indexer])
            if len(self.dims) == 2 and positions[-1].size > 1 and (np.diff(positions[-1]) < 0).all():
                layout = layout.reversed(axis)  # the axis now runs the other way
        if all(
            p.size == s and (p == np.arange(s)).all()
            for p, s in zip(positions, self.network.shape, strict=True)
        ):
            return self
        subset = subset_network(self.network, tuple(positions))
        return type(self)(subset, self.name, self.dims, layout=layout)

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
        return type(self)(
            self.network, name, dims, self.from_codes, self._codes, self._convention, self.layout
        )

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"_codes": None, "_convention": None, "layout": NORTH_UP} | state)
        if self._codes is not None:  # unpickled arrays are writable; the coordinate shares it
            self._codes.flags.writeable = False

    def _copy(self, deep: bool = True, memo=None) -> NetworkIndex:  # network and codes are immutable
        return type(self)(
            self.network, self.name, self.dims, self.from_codes, self._codes, self._convention, self.layout
        )

    def _repr_inline_(self, max_width: int) -> str:
        return f"NetworkIndex {self.network!r}"[:max_width]


def _alignment_error(name: Hashable, unindexed: bool = False) -> Exception:
    error = getattr(xr, "AlignmentError", ValueError)
    why = (
        "; one of them holds the coordinate without its index (e.g. reopened from a file) "
        "and its codes encode another network"
        if unindexed
        else ""
    )
    return error(
        f"cannot align objects attached to different river networks (coordinate {name!r}{why}); "
        "attach the same network to both (obj.hydro.assign_network(network)) or drop one "
        "(obj.hydro.drop_network())"
    )


def _read_only(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    values.flags.writeable = False
    return values


# -------------------------------------------------- unindexed network coordinates
def with_grid_mapping(dataset: xr.Dataset, name: str = "spatial_ref") -> xr.Dataset:
    """``dataset`` with a CF grid-mapping variable for the CRS its network coordinate carries.

    The ``flow_direction`` coordinate keeps its ``crs_wkt`` (from which the
    network is decoded); the grid-mapping variable ``name`` (``crs_wkt`` and
    GDAL's ``spatial_ref``), named by a ``grid_mapping`` attribute of every data
    variable on the grid, is what GDAL, rioxarray and cf-xarray read. A dataset
    without such a coordinate, or with a variable ``name`` already, is returned
    as it is.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]), crs="EPSG:3035")
    >>> ds = xr.Dataset({"q": (("y", "x"), [[1.0, 2.0]])}).hydro.assign_network(net)
    >>> out = with_grid_mapping(ds)
    >>> out["q"].attrs["grid_mapping"], int(out["spatial_ref"].attrs["crs_wkt"].count("LAEA"))
    ('spatial_ref', 1)
    """
    found = [c for c in dataset.coords.values() if is_network_coordinate(c.variable) and "crs_wkt" in c.attrs]
    if not found or name in dataset.variables:
        return dataset
    from .geometry import as_crs, crs_to_cf

    grid, crs = set(found[0].dims), as_crs(found[0].attrs["crs_wkt"])
    out = dataset.assign_coords({name: xr.Variable((), np.int32(0), crs_to_cf(crs))})
    for key, variable in dataset.data_vars.items():
        if grid <= set(variable.dims):
            out[key] = out[key].assign_attrs(grid_mapping=name)
    return out


def is_network_coordinate(variable: xr.Variable) -> bool:
    """Whether ``variable`` holds a river network (``hydro_role: flow_direction``)."""
    return variable.attrs.get("hydro_role") == HYDRO_ROLE


def _coords(obj) -> Mapping[Hashable, xr.Variable]:
    """The coordinate variables of a DataArray, Dataset or Coordinates (all get aligned)."""
    return obj.variables if isinstance(obj, xr.Coordinates) else obj.coords.variables


def _indexes(obj) -> Mapping[Hashable, xr.Index]:
    """``obj.xindexes`` as a plain mapping (its private dict when present: 10× cheaper)."""
    indexes = getattr(obj, "_indexes", None)
    return indexes if isinstance(indexes, dict) else obj.xindexes


def _node_ids(coords: Mapping[Hashable, xr.Variable], dims) -> Any:
    labels = coords.get(dims[0]) if len(dims) == 1 else None
    return None if labels is None else labels.values


def _agree(index: NetworkIndex, variable: xr.Variable, ids: Any) -> bool:
    if variable.dims != index.dims:
        if set(variable.dims) != set(index.dims):
            return False
        variable = variable.transpose(*index.dims)
    return index.matches(variable, ids) is not False


def check_alignment(
    objects: Iterable[Any],
    indexes: Iterable[xr.Index] = (),
    join: Any = "inner",
    exclude_dims: Iterable[Hashable] = (),
) -> None:
    """Raise if an unindexed network coordinate disagrees with a network index.

    Run before every :func:`xarray.align` (so arithmetic, ``where``, ``merge``,
    ``concat``, ``broadcast``, ``reindex_like`` …). Two :class:`NetworkIndex` are
    compared by the index itself (:meth:`NetworkIndex.join`); a network coordinate
    *without* index (reopened from a file) is never shown to it: xarray would
    overwrite it with the indexed object's coordinate and network (or, with
    ``join="exact"``, ``merge`` would keep the indexed variable), silently.
    :func:`check_aligned` then compares unindexed coordinates with each other.

    Not checked: ``join="override"`` (the caller's word that the coordinates are the
    same, as for two indexes), and alignments of :class:`xarray.Coordinates`
    (``assign_coords``/``coords.update``: the new coordinate replaces the old one).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
    >>> a = xr.DataArray([[1.0, 2.0]], dims=("y", "x")).hydro.assign_network(net)
    >>> reopened = a.drop_indexes("flow_direction").copy(deep=True)  # as read from a file
    >>> (a + reopened).hydro.network == net
    True
    >>> reopened.flow_direction.values[0, 0] = 5  # another network: two outlets
    >>> a + reopened  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    AlignmentError: cannot align objects attached to different river networks (coordinate ...
    """
    objects = tuple(objects)
    if _unchecked(objects, join):
        return
    exclude = set(exclude_dims)
    own = [_indexes(obj) for obj in objects]
    found: dict[Hashable, NetworkIndex] = {}
    for index in (*indexes, *(i for xindexes in own for i in xindexes.values())):
        if isinstance(index, NetworkIndex) and not exclude & set(index.dims):
            found.setdefault(index.name, index)
    for name, index in found.items():
        for obj, xindexes in zip(objects, own, strict=True):
            coords = _coords(obj)
            variable = coords.get(name)
            if variable is None or isinstance(xindexes.get(name), NetworkIndex):
                continue
            if not _agree(index, variable, _node_ids(coords, variable.dims)):
                raise _alignment_error(name, unindexed=True)


def check_aligned(results: Iterable[Any], join: Any = "inner", exclude_dims: Iterable[Hashable] = ()) -> None:
    """Raise if aligned objects hold unindexed network coordinates of different networks.

    Run after :func:`xarray.align`, on the common grid (so codes sliced blindly
    from the same file agree): arithmetic would otherwise drop the network coordinate
    silently. Same exceptions as :func:`check_alignment`.
    """
    results = tuple(results)
    if len(results) < 2 or _unchecked(results, join):
        return
    exclude = set(exclude_dims)
    first: dict[Hashable, tuple[xr.Variable, Any]] = {}
    for obj in results:
        coords = _coords(obj)
        for name, variable in coords.items():
            if not is_network_coordinate(variable) or exclude & set(variable.dims):
                continue
            seen = first.setdefault(name, (variable, coords))
            if seen[0] is not variable and not _same_codes(seen[0], variable, seen[1], coords):
                raise _alignment_error(name, unindexed=True)


def _unchecked(objects: tuple, join: Any) -> bool:
    return join == "override" or any(isinstance(obj, xr.Coordinates) for obj in objects)


def check_assignment(dataset: xr.Dataset, other: Mapping[Any, Any]) -> None:
    """Raise if ``dataset.update(other)`` would drop a DataArray's different network.

    ``ds["q"] = da`` (and ``ds.assign``/``ds.update`` with DataArrays) drops every
    coordinate of ``da`` that the Dataset also has, so ``q`` would silently land on
    the Dataset's network. Same networks (or no network on either side) pass.
    """
    for key, value in other.items():
        if not isinstance(value, xr.DataArray):
            continue
        for name in value.coords:
            if name in value.dims or name not in dataset.coords:
                continue
            mine, theirs = dataset.variables[name], value.coords[name].variable
            my_index, their_index = dataset.xindexes.get(name), value.xindexes.get(name)
            indexed = [i for i in (my_index, their_index) if isinstance(i, NetworkIndex)]
            if not indexed and not (is_network_coordinate(mine) or is_network_coordinate(theirs)):
                continue
            if len(indexed) == 2:
                same = indexed[0].equals(indexed[1])
            elif indexed:
                plain, plain_obj = (theirs, value) if indexed[0] is my_index else (mine, dataset)
                same = _agree(indexed[0], plain, _node_ids(_coords(plain_obj), plain.dims))
            else:
                same = _same_codes(mine, theirs, _coords(dataset), _coords(value))
            if not same:
                raise _assignment_error(key, name)


def _same_codes(a: xr.Variable, b: xr.Variable, coords_a: Mapping, coords_b: Mapping) -> bool:
    """Whether network coordinates ``a`` and ``b`` (of objects with ``coords_a``, ``coords_b``) agree."""
    if a._data is b._data:
        return True
    if a.attrs.get("convention") == b.attrs.get("convention") and a.dims == b.dims and a.equals(b):
        return True
    if set(a.dims) == set(b.dims):
        b = b.transpose(*a.dims)
    try:
        return _decode(a, coords_a) == _decode(b, coords_b)
    except ValueError:
        return False


def _decode(variable: xr.Variable, coords: Mapping[Hashable, xr.Variable]) -> RiverNetwork:
    """The network of an unindexed coordinate, read by the coordinates of its object."""
    dims = variable.dims
    own = [d for d in dims if d in coords]
    layout = grid_layout(dims, {d: coords[d].values for d in own}, {d: coords[d].attrs for d in own})
    return decode_network(variable, _node_ids(coords, dims), layout)


def _assignment_error(key: Hashable, name: Hashable) -> Exception:
    error = getattr(xr, "AlignmentError", ValueError)
    return error(
        f"cannot assign {key!r}: it is attached to another river network than the Dataset "
        f"(coordinate {name!r}), and xarray would drop its network silently; attach the "
        "Dataset's network to it (da.hydro.assign_network(ds.hydro.network)) or drop its own "
        "first (da.hydro.drop_network())"
    )


def _install_guards() -> None:
    """Wrap ``Aligner.align`` and ``Dataset.update`` with the checks above (once).

    ``Aligner`` is private to xarray: if it moves, the guard is skipped (the tests of
    ``tests/test_accessor_alignment.py`` then fail) rather than breaking the import.
    """
    try:
        from xarray.structure.alignment import Aligner
    except ImportError:  # xarray < 2025.3
        try:
            from xarray.core.alignment import Aligner
        except ImportError:  # pragma: no cover
            Aligner = None

    align = getattr(Aligner, "align", None)
    if align is not None and not getattr(align, "_xhydro_guard", False):

        @functools.wraps(align)
        def guarded_align(self, *args, **kwargs):
            join, exclude = getattr(self, "join", "inner"), getattr(self, "exclude_dims", ())
            indexes = getattr(self, "indexes", {}).values()
            check_alignment(getattr(self, "objects", ()), indexes, join, exclude)
            out = align(self, *args, **kwargs)
            check_aligned(getattr(self, "results", ()), join, exclude)
            return out

        guarded_align._xhydro_guard = True  # type: ignore[attr-defined]
        Aligner.align = guarded_align

    update = xr.Dataset.update
    if not getattr(update, "_xhydro_guard", False):

        @functools.wraps(update)
        def guarded_update(self, other, *args, **kwargs):
            if not isinstance(other, xr.Dataset):
                other = dict(other)
                check_assignment(self, other)
            return update(self, other, *args, **kwargs)

        guarded_update._xhydro_guard = True  # type: ignore[attr-defined]
        xr.Dataset.update = guarded_update


_install_guards()
