"""The river network as a coordinate: encoding and decoding its codes.

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

The coordinate is plain CF data: written as it is (:func:`with_grid_mapping` adds
the CF grid mapping GDAL and rioxarray read the CRS from), and decoded on open by
``xr.open_dataset(path, engine="hydro")`` or ``obj.hydro.assign_network()``, which
put the :class:`~xhydro_accessor.network_index.NetworkIndex` back on it.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from .conventions import PIT, STEPS, get_convention
from .errors import GridMismatchError
from .geometry import as_crs, crs_to_cf
from .layout import NORTH_UP, Layout, layout_of, layout_of_network
from .network import RiverNetwork
from .tiling import spatially_chunked

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
    if getattr(network, "tiled", False):
        return _encode_tiled(network, dims, layout_of_network(network, dims) if layout is None else layout)
    nodes, dy, dx = network_steps(network, layout_of_network(network, dims) if layout is None else layout)
    size = int(np.prod(network.shape))
    attrs: dict[str, Any] = {"hydro_role": HYDRO_ROLE, "long_name": "river network flow direction"}
    if (np.abs(dy) <= 1).all() and (np.abs(dx) <= 1).all():
        table = np.full((3, 3), _LDD.fill, _LDD.dtype)  # the code of each step (dy + 1, dx + 1)
        for (sy, sx), code in _LDD_OF_STEP.items():
            table[sy + 1, sx + 1] = code
        codes = np.full(size, _LDD.fill, _LDD.dtype)
        codes[nodes] = table[dy + 1, dx + 1]
        attrs |= {
            "convention": "ldd",
            "flag_values": np.array(sorted(_LDD_OF_STEP.values()), np.uint8),
            "flag_meanings": _LDD_MEANINGS,
            "comment": "PCRaster local drain direction (keypad codes); 255: not on the network",
        }
    else:
        codes = np.full(size, _OFFSET_MISSING, np.int64)
        codes[nodes] = dy * _OFFSET_BASE + dx
        attrs |= {
            "convention": "offset",
            "comment": "dy * 2**32 + dx: step to the downstream cell, dy rows southwards, "
            "dx columns eastwards; 0: outlet; -2**63: not on the network",
        }
    if network.crs is not None:  # the grid's CRS travels with the codes (decode_network reads it)
        attrs["crs_wkt"] = network.crs.to_wkt()
    return xr.Variable(dims, codes.reshape(network.shape), attrs)


def _encode_tiled(network: Any, dims: tuple[Hashable, ...], layout: Layout) -> xr.Variable:
    """LDD codes of a :class:`~xhydro_accessor.tiling.TiledNetwork`, lazily, tile by tile."""
    import dask.array as da

    if any(network.wrap):
        raise NotImplementedError(
            "a tiled network with wrap_x=True cannot be written as LDD codes: attach it from its "
            "coordinate (obj.hydro.assign_network() on codes with wrap) or gather it first"
        )
    table = np.full(256, _LDD.fill, _LDD.dtype)  # direction index on the stored axes -> LDD code
    for index, (d0, d1) in enumerate(STEPS):
        table[index] = _LDD_OF_STEP[layout.to_geographic(d0, d1)]
    table[PIT] = _LDD.pits[0]
    codes = da.map_blocks(_ldd_of_tile, network.ext, table, chunks=network.chunks, dtype=_LDD.dtype)
    attrs = {"hydro_role": HYDRO_ROLE, "long_name": "river network flow direction", "convention": "ldd",
             "flag_values": np.array(sorted(_LDD_OF_STEP.values()), np.uint8), "flag_meanings": _LDD_MEANINGS,
             "comment": "PCRaster local drain direction (keypad codes); 255: not on the network"}  # fmt: skip
    if network.crs is not None:
        attrs["crs_wkt"] = network.crs.to_wkt()
    return xr.Variable(dims, codes, attrs)


def _ldd_of_tile(ext: np.ndarray, table: np.ndarray) -> np.ndarray:
    return table[ext[1:-1, 1:-1]]


def network_steps(network: RiverNetwork, layout: Layout = NORTH_UP) -> tuple[np.ndarray, ...]:
    """The network cells (flat indices, in network order) and the geographic step (rows
    southwards, columns eastwards) of each to its downstream cell, (0, 0) at outlets:
    memory for the network cells only."""
    nodes, to = network.nodes.astype(np.int64), network.downstream
    nx = network.shape[1]
    on = to >= 0
    d0 = np.where(on, to // nx - nodes // nx, 0)
    d1 = np.where(on, to % nx - nodes % nx, 0)
    dy, dx = layout.to_geographic(d0, d1)
    return nodes, dy, dx


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
    data = variable.data
    if spatially_chunked(data) and convention not in ("offset", "downstream_id"):  # lazy: tiles
        layout = layout_of(variable) if layout is None else layout
        return RiverNetwork.from_d8(data, convention, crs=variable.attrs.get("crs_wkt"), layout=layout)
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
        return RiverNetwork.from_d8(codes, convention, crs=crs, layout=layout)
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
    grid, crs = set(found[0].dims), as_crs(found[0].attrs["crs_wkt"])
    out = dataset.assign_coords({name: xr.Variable((), np.int32(0), crs_to_cf(crs))})
    for key, variable in dataset.data_vars.items():
        if grid <= set(variable.dims):
            out[key] = out[key].assign_attrs(grid_mapping=name)
    return out


def node_labels(coords: Any, dims: tuple[Hashable, ...]) -> Any:
    """The node labels of a vector network's coordinate over ``dims`` (the node dim's
    coordinate values in ``coords``), or None for a raster or unlabelled nodes."""
    labels = coords.get(dims[0]) if len(dims) == 1 else None
    return None if labels is None else labels.values


def is_network_coordinate(variable: xr.Variable) -> bool:
    """Whether ``variable`` holds a river network (``hydro_role: flow_direction``)."""
    return variable.attrs.get("hydro_role") == HYDRO_ROLE
