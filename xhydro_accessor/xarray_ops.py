"""The xarray layer: array-level operations on DataArrays, lazily on dask.

The one place that resolves, for every ``.hydro`` method, the network (given, or
attached as a coordinate: :func:`find_network`, :func:`assign_network`), the
spatial dims (:func:`grid_dims`), the node order and the grid checks
(:func:`resolve`) and the weights (:func:`weights_of`); the DataArray side of
units (:func:`dequantify`, :func:`convert_units`) and cell areas
(:func:`cell_area`). Below it everything is array level (no xarray import):
:mod:`~xhydro_accessor.operations`, the hydrology catalogue,
:mod:`~xhydro_accessor.geometry`, :mod:`~xhydro_accessor.units`.

:func:`apply` moves the spatial dims last, runs an operation of
:mod:`xhydro_accessor.operations` through :func:`xarray.apply_ufunc` with
``dask="allowed"`` and moves them back; coordinates and attributes are kept,
units follow :func:`xhydro_accessor.units.result_units`, discharge gets its
CF ``standard_name`` and the name ``discharge``, other results a name derived
from the field's (:func:`result_name`). Floating-point weights are cast to a
floating-point field's dtype: a float32 field gives float32 results, with
``weights="area"`` too.

Dask
----
A dask-backed field stays lazy: the array-level operation runs in
:mod:`xhydro_accessor.backends.dask`, one task per chunk of the non-spatial dims
(members, time). Chunks across the spatial dims run tile by tile
(:mod:`xhydro_accessor.backends.tiled`, Barnes 2017), the network coordinate
staying a dask array; only an in-memory network with links longer than one cell
merges them, with a :class:`~xhydro_accessor.backends.dask.SpatialChunksWarning`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from . import operations
from .errors import GridMismatchError
from .layout import axis_of, layout_of
from .network import RiverNetwork, label_positions
from .network_codec import DOWNSTREAM_ID, FLOW_DIRECTION, decode_network, is_network_coordinate, node_labels
from .network_index import NetworkIndex, network_coordinates
from .node_vectors import check_output, to_grid
from .units import (
    DISCHARGE_LONG_NAME,
    DISCHARGE_STANDARD_NAME,
    DISCHARGE_UNITS,
    format_units,
    is_discharge,
    is_quantity,
    registry,
    result_units,
)

T = TypeVar("T", xr.DataArray, xr.Dataset)

#: The dim of results on the network's cells only (``output="nodes"``), in ``network.nodes`` order.
NODE = "node"

OPERATIONS = {
    "accumulate": operations.accumulate,
    "accumulate_downstream": operations.accumulate_downstream,
    "move_downstream": operations.move_downstream,
    "move_upstream": lambda network, field, how, weights, skipna, engine, output="grid": (
        operations.move_upstream(network, field, engine, output)
    ),
}


# ----------------------------------------------------------------------- dims
def grid_dims(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    coord_dims: tuple[Hashable, ...] | None = None,
) -> tuple[Hashable, ...]:
    """The spatial dims of ``obj`` in grid order: ``(y, x)``, or ``(node,)`` for vectors.

    Tried in order: explicit ``y_dim``/``x_dim``; the dims of the attached network
    coordinate (``coord_dims``) or of the network itself; cf-xarray's Y/X axes;
    the one dim of each axis by :func:`~xhydro_accessor.layout.axis_of` (CF
    attributes, then names such as ``y/x``, ``lat/lon``, ``latitude/longitude``).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> grid_dims(xr.DataArray(np.zeros((2, 3, 4)), dims=("lat", "time", "lon")), None)
    ('lat', 'lon')
    """
    dims = set(obj.dims)
    vector = network is not None and len(network.shape) == 1
    if vector or (coord_dims is not None and len(coord_dims) == 1):
        for candidate in (x_dim, *(coord_dims or ()), *(network.dims or () if network else ())):
            if candidate in dims:
                return (candidate,)
        sized = [d for d in obj.dims if network is not None and obj.sizes[d] == network.shape[0]]
        if len(sized) == 1:
            return (sized[0],)
        raise ValueError(
            "cannot tell which dim holds the network's nodes: pass x_dim=<node dim> "
            "or build the network from a DataArray"
        )
    if x_dim is not None or y_dim is not None:
        if x_dim not in dims or y_dim not in dims:
            raise ValueError(f"pass both x_dim and y_dim naming dims of the object {tuple(obj.dims)}")
        return (y_dim, x_dim)
    for candidate in (coord_dims, network.dims if network is not None else None):
        if candidate is not None and len(candidate) == 2 and set(candidate) <= dims:
            return tuple(candidate)
    axes = _cf_axes(obj)
    if axes is not None:
        return axes
    found = {axis: [d for d in obj.dims if axis_of(d, obj[d].attrs if d in obj.coords else None) == axis]
             for axis in ("y", "x")}  # fmt: skip
    if len(found["y"]) == 1 and len(found["x"]) == 1:
        return (found["y"][0], found["x"][0])
    raise ValueError(
        f"cannot find the spatial dims among {tuple(obj.dims)}: give the coordinates CF axis "
        "attributes (axis: X / Y), name them x/y, lon/lat or longitude/latitude, or pass x_dim= and y_dim="
    )


def _cf_axes(obj) -> tuple[Hashable, Hashable] | None:
    try:
        import cf_xarray  # noqa: F401  (registers .cf)
    except ImportError:  # pragma: no cover - cf_xarray is optional
        return None
    axes = obj.cf.axes
    found = [[d for d in axes.get(axis, []) if d in obj.dims] for axis in ("Y", "X")]
    return (found[0][0], found[1][0]) if all(len(f) == 1 for f in found) else None


def on_grid(obj: Any, network: RiverNetwork, dims: tuple[Hashable, ...], crs: Any = None) -> RiverNetwork:
    """``network`` with the object's dims, coordinates and CRS.

    The CRS: ``crs``, else the one the object declares
    (:func:`~xhydro_accessor.geometry.crs_of`), else the network's. Without
    any, the object's CF units (degrees) say whether the coordinates are lat/lon.
    """
    from .geometry import as_crs, crs_of, says_degrees

    coords = {d: np.asarray(obj[d].values) for d in dims if d in obj.coords}
    crs = as_crs(crs) if crs is not None else crs_of(obj)
    crs = network.crs if crs is None else crs
    degrees = len(dims) == 2 and all(
        d in obj.coords and says_degrees(d, obj[d].attrs, axis) for d, axis in zip(dims, "yx", strict=True)
    )
    return network.with_grid(tuple(dims), coords, crs=crs, degrees=degrees or network.degrees)


def check_grid(obj: xr.DataArray | xr.Dataset, network: RiverNetwork, dims: tuple[Hashable, ...]) -> None:
    """Raise :class:`GridMismatchError` unless ``obj``'s grid matches ``network``'s.

    The sizes of ``dims`` must be the network's shape, and the dimension
    coordinates the network knows (built from a DataArray) must equal the field's
    (:meth:`RiverNetwork.check_grid`: one rule for both levels).
    """
    shape = tuple(obj.sizes[d] for d in dims)
    if shape != tuple(network.shape):
        raise GridMismatchError(
            f"the field's grid {dict(zip(dims, shape, strict=True))} does not match the network's "
            f"{network.shape}"
        )
    coords = zip(network.dims or dims, dims, strict=True)
    network.check_grid(shape, {mine: obj[theirs].values for mine, theirs in coords if theirs in obj.coords})


def align_nodes(
    obj: xr.DataArray | xr.Dataset, network: RiverNetwork, dims: tuple[Hashable, ...]
) -> RiverNetwork:
    """The network with its nodes in the order of the object's node labels.

    A field on a vector network is matched to it by label, not position: when
    the node dim's coordinate holds the network's labels (:attr:`RiverNetwork.ids`)
    in another order, the network is reordered to it; other labels raise
    :class:`GridMismatchError`. Grids and unlabelled networks are returned as given.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> net = RiverNetwork.from_downstream([20, 30, -1], ids=[10, 20, 30])
    >>> field = xr.DataArray([3.0, 2.0, 1.0], dims="node", coords={"node": [30, 20, 10]})
    >>> align_nodes(field, net, ("node",)).ids
    array([30, 20, 10])
    """
    if len(dims) != 1 or network.ids is None or dims[0] not in obj.coords:
        return network
    labels = np.asarray(obj[dims[0]].values)
    if labels.shape == network.ids.shape and np.array_equal(labels, network.ids):
        return network
    return network.in_order_of(labels)


def align_weights(weights: Any, obj: xr.DataArray | xr.Dataset, dims: tuple[Hashable, ...]) -> Any:
    """Weights (a DataArray) on the object's node labels, in its order (see :func:`align_nodes`)."""
    if len(dims) != 1 or not isinstance(weights, xr.DataArray) or dims[0] not in obj.coords:
        return weights
    dim = dims[0]
    if dim not in weights.coords or np.array_equal(weights[dim].values, obj[dim].values):
        return weights
    return weights.isel(
        {dim: label_positions(weights[dim].values, obj[dim].values, "the weights'", "the field's")}
    )


# -------------------------------------------------------------------- network
NO_NETWORK = (
    "no river network given and none attached: pass network=RiverNetwork.from_ldd(...) "
    "or attach one with obj = obj.hydro.assign_network(network)"
)


def resolve(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> tuple[RiverNetwork, tuple[Hashable, ...]]:
    """The network and the spatial dims of ``obj``, checked once for every operation.

    The network: ``network``, else the attached one (:func:`attached_network`);
    the dims by :func:`grid_dims`; a vector network put in the order of the
    object's node labels (:func:`align_nodes`); the grid checked
    (:func:`check_grid`); the network given the object's dims, coordinates and
    CRS (:func:`on_grid`, ``crs`` the grid's when neither declares one).

    Raises
    ------
    ValueError
        No network given and none attached, or an attached network coordinate
        changed after it was attached.
    GridMismatchError
        The object's grid differs from the network's.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
    >>> resolve(xr.DataArray(np.zeros((3, 1, 2)), dims=("time", "lat", "lon")), net)[1]
    ('lat', 'lon')
    """
    network, dims = _checked(obj, network, x_dim, y_dim)
    return on_grid(obj, network, dims, crs), dims


def _checked(obj, network, x_dim, y_dim) -> tuple[RiverNetwork, tuple[Hashable, ...]]:
    """:func:`resolve` but for :func:`on_grid`: a network given is kept as it is on a grid."""
    _no_mlx(obj)
    found = find_network(obj)
    if network is None:
        if found is None:
            raise ValueError(NO_NETWORK)
        network = found[0]
    dims = grid_dims(obj, network, x_dim, y_dim, found[2] if found is not None else None)
    network = align_nodes(obj, network, dims)
    check_grid(obj, network, dims)
    return network, dims


def _no_mlx(obj: xr.DataArray | xr.Dataset) -> None:
    """Raise ``TypeError`` for MLX arrays inside ``obj`` (xarray keeps them, half-working)."""
    from .backends.scatter import is_mlx_array

    for var in obj.data_vars.values() if isinstance(obj, xr.Dataset) else [obj]:
        if is_mlx_array(var.data):
            raise TypeError(
                f"MLX arrays cannot live inside a DataArray: xarray keeps an mx.array, but its dtype "
                f"({var.data.dtype}) is no numpy dtype, so xarray's where() and reductions and the .hydro "
                "methods' dtype rules fail on it. Run the array-level functions on the array, e.g. "
                "xa.accumulate(da.hydro.network, da.data) (differentiable with mx.grad), and put the "
                "result back with da.copy(data=result)"
            )


def attached_network(obj: xr.DataArray | xr.Dataset) -> RiverNetwork:
    """The attached network, with the object's dims and coordinates (see :attr:`HydroAccessor.network
    <xhydro_accessor.accessor.HydroAccessor.network>`)."""
    found = find_network(obj)
    if found is None:
        raise ValueError(NO_NETWORK)
    return found[0]


def find_network(
    obj: xr.DataArray | xr.Dataset, check: bool = True
) -> tuple[RiverNetwork, Hashable, tuple[Hashable, ...]] | None:
    """``(network on the object's grid, coordinate name, its dims)`` of the attached network, or None.

    Taken from the :class:`~xhydro_accessor.network_index.NetworkIndex` when present
    (``check``: raise if the coordinate no longer encodes it), else decoded from the
    network coordinate (e.g. after reopening a file).
    """
    xindexes = obj.xindexes
    for name, index in xindexes.items():
        if isinstance(index, NetworkIndex):
            if check:
                _check_fresh(obj, name, index, xindexes.variables[name])
            return on_grid(obj, index.network, tuple(index.dims)), name, index.dims
    for name, coord in obj.coords.items():
        if is_network_coordinate(coord.variable):
            network = decode_network(
                coord.variable, node_labels(obj.coords, coord.dims), layout_of(obj, coord.dims)
            )
            return on_grid(obj, network, tuple(coord.dims)), name, coord.dims
    return None


def assign_network(
    obj: T,
    network: RiverNetwork | None = None,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    name: Hashable | None = None,
    crs: Any = None,
) -> T:
    """See :meth:`HydroAccessor.assign_network <xhydro_accessor.accessor.HydroAccessor.assign_network>`."""
    if network is None:
        obj = _index_coordinate(obj)
        return obj if crs is None else assign_network(obj, attached_network(obj), crs=crs)
    obj = drop_network(obj)
    dims = grid_dims(obj, network, x_dim, y_dim)
    network = align_nodes(obj, network, dims)
    check_grid(obj, network, dims)
    if len(dims) == 2:
        network = on_grid(obj, network, dims, crs)
    if name is None:
        name = DOWNSTREAM_ID if len(dims) == 1 else FLOW_DIRECTION
    ids = obj[dims[0]].values if len(dims) == 1 and dims[0] in obj.coords else network.ids
    layout = layout_of(obj, dims)
    obj = obj.assign_coords(network_coordinates(network.with_grid(network.dims, {}, ids), name, dims, layout))
    return _name_in_encoding(obj, name, dims)


def drop_network(obj: T) -> T:
    """The object without the network coordinate (and its index)."""
    found = find_network(obj, check=False)
    return obj if found is None else obj.drop_vars([found[1]])


def _index_coordinate(obj: T) -> T:
    names = [n for n, c in obj.coords.items() if is_network_coordinate(c.variable)]
    names += [n for n, i in obj.xindexes.items() if isinstance(i, NetworkIndex) and n not in names]
    if not names:
        raise ValueError(
            "no river network coordinate (attrs hydro_role: flow_direction) to index: "
            "pass the network, obj.hydro.assign_network(network)"
        )
    for name in names:
        coord = obj[name]
        ids = node_labels(obj.coords, coord.dims)
        if name in obj.xindexes:
            obj = obj.drop_indexes(name)
        options = {"layout": layout_of(obj, coord.dims)} | ({} if ids is None else {"ids": ids})
        obj = obj.set_xindex([name], NetworkIndex, **options)
    return obj


def _name_in_encoding(obj: T, name: Hashable, dims) -> T:
    obj = obj.copy(deep=False)  # new Variable objects: the caller's encodings stay untouched
    variables = [obj.variable] if isinstance(obj, xr.DataArray) else [obj[k].variable for k in obj.data_vars]
    for var in variables:
        if set(dims) <= set(var.dims):
            names: list[str] = str(var.encoding.get("coordinates", "")).split()
            others: list[str] = [
                str(c) for c in obj.coords if c not in obj.dims and set(obj[c].dims) <= set(var.dims)
            ]
            var.encoding["coordinates"] = " ".join(dict.fromkeys([*names, *others, str(name)]))
    return obj


def _check_fresh(obj, name: Hashable, index: NetworkIndex, variable: xr.Variable) -> None:
    """Raise if the coordinate no longer encodes the network its index caches.

    The index's codes are read-only, so the coordinate it made is checked in O(1);
    a copy costs one comparison of the codes (well under 1 ms for a million cells);
    a dask coordinate (``.chunk()`` chunks it) is not computed for the check.
    """
    if index.matches(variable, node_labels(obj.coords, variable.dims), compute=False) is False:
        raise ValueError(
            f"the {name!r} coordinate no longer encodes the river network cached by its index "
            "(its values were changed after the network was attached); attach the network "
            "again: obj.hydro.assign_network() rebuilds it from the coordinate, "
            "obj.hydro.assign_network(network) replaces both"
        )


# ------------------------------------------------------- weights, units, areas
def weights_of(
    weights: Any, da: xr.DataArray, dataset: xr.Dataset | None, dims: tuple[Hashable, ...], crs: Any = None
) -> Any:
    """The weights a ``weights=`` argument names (see :meth:`HydroAccessor.accumulate
    <xhydro_accessor.accessor.HydroAccessor.accumulate>`); other values as given."""
    if type(weights).__module__.startswith("tensorflow."):
        raise TypeError(
            "weights: a tf.Tensor cannot live in xarray (xarray would copy it to numpy, dropping the "
            "gradient tape and the device); call xhydro_accessor.accumulate (or the other "
            "array-level functions) on the tensors themselves"
        )
    if not isinstance(weights, str):
        return weights
    if weights in da.coords:
        return da.coords[weights]
    if dataset is not None and weights in dataset.variables:
        return dataset[weights]
    if weights == "area":
        found = find_cell_area(da, dataset)
        if found is not None:
            return found
        y_dim, x_dim = dims[::-1] if len(dims) == 2 and layout_of(da, dims).transposed else dims
        return cell_area(da, x_dim=x_dim, y_dim=y_dim, crs=crs)
    raise KeyError(f"weights={weights!r} names no coordinate or variable of the object")


def convert_units(da: xr.DataArray, units: str) -> xr.DataArray:
    """Convert a DataArray with ``attrs["units"]`` to ``units`` (lazily for dask).

    Examples
    --------
    >>> import xarray as xr
    >>> q = convert_units(xr.DataArray([86.4], attrs={"units": "m2 mm d-1"}), "m3 s-1")
    >>> q.values.round(12), q.attrs["units"]
    (array([1.e-06]), 'm3 s-1')
    >>> convert_units(xr.DataArray([1.0], attrs={"units": "mm d-1"}, name="q"), "m3 s-1")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cannot convert 'q' from 'mm d-1' to 'm3 s-1': Cannot convert from ...
    """
    if "units" not in da.attrs:
        raise ValueError(f"{da.name!r} has no units attribute to convert from")
    import pint

    ureg = registry()
    try:
        factor = ureg.Quantity(1.0, str(da.attrs["units"])).to(units).magnitude
    except (pint.errors.DimensionalityError, pint.errors.UndefinedUnitError) as err:
        source = da.attrs["units"]
        raise ValueError(f"cannot convert {da.name!r} from {source!r} to {units!r}: {err}") from None
    if da.dtype.kind == "f":
        factor = da.dtype.type(factor)  # float32 stays float32
    return (da * factor).assign_attrs(da.attrs | {"units": format(ureg.Unit(units), "cf")})


def dequantify(da: xr.DataArray) -> tuple[xr.DataArray, Any, str | None]:
    """``(plain DataArray, pint registry or None, units string or None)``."""
    if is_quantity(da.data):
        reg = da.data._REGISTRY
        units = format(da.data.units, "cf") if reg is registry() else str(da.data.units)
        plain = da.copy(data=da.data.magnitude)
        plain.attrs["units"] = units
        return plain, reg, units
    attr = da.attrs.get("units")
    return da, None, (str(attr) if attr is not None else None)


def cell_area(
    obj: xr.DataArray | xr.Dataset,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """Area of each grid cell in m², from 1-D cell-centre coordinates and the CRS.

    ``crs`` defaults to the one the object declares (rioxarray ``spatial_ref``,
    a CF ``grid_mapping``, ``crs_wkt``: :func:`xhydro_accessor.geometry.crs_of`),
    else the attached network's.
    Geographic CRS: exact areas on its ellipsoid; projected CRS: ``|Δx Δy|`` in
    metres (exact on equal-area projections such as ETRS89-LAEA); no CRS:
    WGS84 areas when the coordinates say degrees (CF units, or dims named
    lat/lon), else :class:`~xhydro_accessor.geometry.UnknownGeometryError`.
    See :mod:`xhydro_accessor.geometry` for the earth model.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros((180, 360)), dims=("lat", "lon"),
    ...                   coords={"lat": np.arange(89.5, -90, -1.0), "lon": np.arange(0.5, 360)})
    >>> area = cell_area(da)
    >>> area.attrs["units"], round(float(area.sum()) / 5.10065622e14, 6)  # the WGS84 ellipsoid's area
    ('m2', 1.0)
    """
    from .geometry import as_crs, cell_areas, crs_of, says_degrees

    y_dim, x_dim = grid_dims(obj, None, x_dim, y_dim)
    x, y = obj[x_dim], obj[y_dim]
    crs = as_crs(crs) if crs is not None else crs_of(obj)
    if crs is None:
        found = find_network(obj, check=False)
        crs = found[0].crs if found is not None else None
    degrees = says_degrees(x_dim, x.attrs, "x") and says_degrees(y_dim, y.attrs, "y")
    values = cell_areas(y.values, x.values, crs, degrees=degrees)
    attrs = {"units": "m2", "standard_name": "cell_area", "long_name": "area of the grid cell"}
    return xr.DataArray(
        values, dims=(y_dim, x_dim), coords={y_dim: y, x_dim: x}, attrs=attrs, name="cell_area"
    )


def find_cell_area(obj: xr.DataArray, dataset: xr.Dataset | None = None) -> xr.DataArray | None:
    """The cell area named by CF ``cell_measures: "area: NAME"``, or None.

    ``NAME`` is looked up in the DataArray's coordinates, then in ``dataset``.
    """
    measures = str(obj.attrs.get("cell_measures", ""))
    parts = measures.replace(":", " : ").split()
    for i in range(len(parts) - 2):
        if parts[i] == "area" and parts[i + 1] == ":":
            name = parts[i + 2]
            if name in obj.coords:
                return obj.coords[name]
            if dataset is not None and name in dataset.variables:
                return dataset[name]
    return None


# ---------------------------------------------------------------------- apply
def apply(
    op: str,
    obj: T,
    network: RiverNetwork | None = None,
    how: str = "sum",
    weights: Any = None,
    skipna: bool = False,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    warn_nan: bool = True,
    engine: str = "auto",
    edge_weights: Any = None,
    output: str = "grid",
    q: Any = None,
    method: str | None = None,
) -> T:
    """Run the array-level operation ``op`` on ``obj`` over its spatial dims.

    ``obj.hydro.<op>(...)`` as a function: see :meth:`HydroAccessor.accumulate
    <xhydro_accessor.accessor.HydroAccessor.accumulate>` for the arguments; the
    network, dims and grid are checked once (:func:`resolve`), ``weights`` named
    by a string found by :func:`weights_of`. On a Dataset every data variable
    having the spatial dims is run, the others (and a variable used as weights)
    pass through unchanged.

    Parameters
    ----------
    op : {"accumulate", "accumulate_downstream", "move_downstream", "move_upstream"}

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> da = xr.DataArray(np.ones((3, 2)), dims=("x", "y"), attrs={"units": "mm"})
    >>> out = apply("accumulate", da, net)
    >>> out.dims, out.values[1], out.attrs
    (('x', 'y'), array([1., 6.]), {'units': 'mm'})
    """
    if op not in OPERATIONS:
        raise ValueError(f"op must be one of {tuple(OPERATIONS)}, got {op!r}")
    operations.check_options(how, False, "accumulate" if op == "move_upstream" else op)  # the registry
    if network is not None and isinstance(obj, xr.DataArray):
        obj = grid_of_nodes(obj, network)  # a node DataArray back on the grid
    network, dims = _checked(obj, network, x_dim, y_dim)  # the network given runs itself (dask holds it once)
    crs = on_grid(obj, network, dims).crs if len(dims) == 2 else None
    check_output(output)
    extra = {"output": output} if output != "grid" else {}
    if edge_weights is not None:
        extra["edge_weights"] = edge_weights_of(edge_weights, obj, dims)
    extra |= {"q": q} if q is not None else {}
    extra |= {"method": method} if method is not None else {}
    if isinstance(obj, xr.DataArray):
        w = weights_of(weights, obj, None, dims, crs)
        return _apply(op, obj, network, dims, how, w, skipna, warn_nan, engine, extra)
    if output != "grid":
        raise ValueError("output='nodes' is for a DataArray: select a variable first")
    out = obj.copy()
    for name, var in obj.data_vars.items():
        if set(dims) <= set(var.dims) and not (isinstance(weights, str) and name == weights):
            w = weights_of(weights, var, obj, dims, crs)
            out[name] = _apply(op, var, network, dims, how, w, skipna, warn_nan, engine, extra)
    return out


def node_coordinates(out: xr.DataArray, obj: Any, network: RiverNetwork, dims: tuple[Hashable, ...]) -> Any:
    """A result with a :data:`NODE` dim (in ``network.nodes`` order), given the coordinates
    of each node's cell: the values of ``obj``'s spatial dim coordinates there (``y``/``x``,
    ``lat``/``lon``, a vector network's node labels), named as those dims.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5, 255]]))
    >>> da = xr.DataArray(np.ones((1, 3)), dims=("y", "x"), coords={"y": [10.0], "x": [0.0, 1, 2]})
    >>> node_coordinates(xr.DataArray([1.0, 2.0], dims=NODE), da, net, ("y", "x")).coords["x"].values
    array([0., 1.])
    """
    at = np.divmod(network.nodes, network.shape[1]) if len(dims) == 2 else (network.nodes,)
    coords = {dim: (NODE, np.asarray(obj[dim].values)[where]) for dim, where in zip(dims, at, strict=True)
              if dim in obj.coords}  # fmt: skip
    return out.assign_coords(coords)


def grid_of_nodes(obj: xr.DataArray, network: RiverNetwork) -> xr.DataArray:
    """A DataArray on a grid network's cells only — a :data:`NODE` dim of length
    ``network.n_nodes`` in ``network.nodes`` order, as ``output="nodes"`` gives — back on
    the grid (the network's dims, ``y``/``x`` if it has none, and its coordinates; 0 off
    the network, which no operation reads). Other objects are returned as they are.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5, 255]]))
    >>> grid_of_nodes(xr.DataArray([1.0, 2.0], dims=NODE), net).values
    array([[1., 2., 0.]])
    """
    dims = tuple(network.dims) if network.dims else ("y", "x")
    if len(network.shape) != 2 or NODE not in obj.dims or obj.sizes[NODE] != network.n_nodes or NODE in dims:
        return obj
    if set(dims) & set(obj.dims):
        raise ValueError(
            f"the field has both a {NODE!r} dim and the grid's dims {dims}: which is the network?"
        )
    values = obj.drop_vars([name for name, c in obj.coords.items() if NODE in c.dims])
    grid = xr.apply_ufunc(
        lambda a: to_grid(network, a, nodes=True), values, input_core_dims=[[NODE]],
        output_core_dims=[list(dims)], dask="allowed", keep_attrs=True,
        dask_gufunc_kwargs={"output_sizes": dict(zip(dims, network.shape, strict=True))},
    )  # fmt: skip
    return grid.assign_coords({d: network.coords[d] for d in dims if d in network.coords})


def edge_weights_of(edge_weights: Any, obj: xr.DataArray | xr.Dataset, dims: tuple[Hashable, ...]) -> Any:
    """The array of an ``edge_weights=`` argument over the spatial ``dims``, in their order: a
    name (a coordinate or variable of ``obj``), a DataArray (transposed by its dims) or an array."""
    if isinstance(edge_weights, str):
        if edge_weights not in obj.coords and edge_weights not in getattr(obj, "data_vars", {}):
            raise KeyError(f"edge_weights={edge_weights!r} names no coordinate or variable of the object")
        edge_weights = obj[edge_weights]
    if isinstance(edge_weights, xr.DataArray):
        edge_weights = align_weights(edge_weights, obj, dims)  # a vector network's labels
        if set(edge_weights.dims) != set(dims):
            raise ValueError(
                f"edge_weights must have exactly the spatial dims {dims}, got {edge_weights.dims}"
            )
        return edge_weights.transpose(*dims).data
    return edge_weights


def _apply(
    op, da: xr.DataArray, network: RiverNetwork, dims, how, weights, skipna, warn_nan, engine, extra=None
) -> xr.DataArray:
    """``op`` on a DataArray whose network and dims :func:`resolve` gave; ``weights`` a
    DataArray (broadcast against ``da``) or an array of the grid's shape. Several
    percentiles ``q`` add a leading ``quantile`` dim (coordinate ``q / 100``, as
    ``DataArray.quantile``)."""
    field, reg, units = dequantify(da)
    extra = extra or {}
    gridded = extra.get("output", "grid") == "grid"
    w_units = None
    if weights is not None:
        if not isinstance(weights, xr.DataArray):
            weights = xr.DataArray(getattr(weights, "magnitude", weights), dims=dims)
        missing = [d for d in dims if d not in weights.dims]
        if missing:
            raise ValueError(f"weights lack the spatial dims {missing}")
        weights, _, w_units = dequantify(align_weights(weights, da, dims))
        weights = weights.drop_vars([c for c in weights.coords if c not in weights.dims])
    if field.dtype.kind == "b":
        field = field.astype(np.int64)
    weights = weights_like(weights, field.dtype)
    q = extra.get("q")  # the percentiles of an order statistic
    several = q is not None and np.ndim(q) == 1
    out = xr.apply_ufunc(
        _apply_core,
        field,
        *([] if weights is None else [weights]),
        input_core_dims=[list(dims)] * (1 if weights is None else 2),
        output_core_dims=[[*(["quantile"] if several else []), *(dims if gridded else ["__hydro_node__"])]],
        dask="allowed",
        keep_attrs=True,
        kwargs={
            "network": network,
            "op": op,
            "how": how,
            "skipna": skipna,
            "grid_ndim": len(dims),
            "options": {"engine": engine}
            | extra
            | ({"warn_nan": warn_nan} if op.startswith("accumulate") else {}),
        },  # fmt: skip
        dask_gufunc_kwargs=None if gridded else {"output_sizes": {"__hydro_node__": network.n_nodes}},
    )
    if several:
        out = out.assign_coords(quantile=np.asarray(q, np.float64) / 100)
    out = out.transpose(*(["quantile"] if several else []), *[d for d in da.dims if d in out.dims], ...)
    if not gridded:
        out = node_coordinates(out.rename({"__hydro_node__": NODE}), da, network, dims)
    out_units = result_units(op, how, units, w_units if op != "move_upstream" else None)
    _set_metadata(out, op, how, units, out_units)
    if out.attrs.get("standard_name") == DISCHARGE_STANDARD_NAME and out_units != DISCHARGE_UNITS:
        out = convert_units(out, DISCHARGE_UNITS)  # a discharge comes out in m3 s-1
        out_units = out.attrs["units"]
    out.name = result_name(op, how, da.name, out_units)
    if reg is not None:
        out = out.pint.quantify(unit_registry=reg)
    return out


def weights_like(weights: xr.DataArray | None, dtype: Any) -> xr.DataArray | None:
    """Floating-point weights in a floating-point field's precision: float32 in, float32 out.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> weights_like(xr.DataArray(np.ones(2)), np.float32).dtype
    dtype('float32')
    """
    if weights is None or np.dtype(dtype).kind != "f" or weights.dtype.kind != "f":
        return weights
    return weights.astype(dtype) if weights.dtype.itemsize > np.dtype(dtype).itemsize else weights


def result_name(op: str, how: str, name: Hashable | None, out_units: str | None) -> Hashable | None:
    """A result's name: ``discharge`` for a sum in units of volume flux, else derived from ``name``.

    Examples
    --------
    >>> result_name("accumulate", "sum", "runoff", "m3 s-1"), result_name("accumulate", "sum", "runoff", "mm")
    ('discharge', 'runoff_accumulated')
    >>> result_name("accumulate", "max", "t", None), result_name("move_upstream", "sum", None, None)
    ('t_upstream_max', None)
    """
    if op == "accumulate" and how == "sum" and out_units is not None and is_discharge(out_units):
        return "discharge"
    if name is None:
        return None
    suffix = {
        "accumulate": "accumulated" if how == "sum" else f"upstream_{how}",
        "accumulate_downstream": f"downstream_{how}",
        "move_downstream": "moved_downstream" if how == "sum" else f"moved_downstream_{how}",
        "move_upstream": "moved_upstream",
    }[op]
    return f"{name}_{suffix}"


def _set_metadata(out: xr.DataArray, op: str, how: str, units, out_units) -> None:
    if out_units is None:
        return
    out.attrs["units"] = out_units
    if op == "accumulate" and how == "sum" and is_discharge(out_units):
        out.attrs["standard_name"] = DISCHARGE_STANDARD_NAME
        out.attrs["long_name"] = DISCHARGE_LONG_NAME
    elif units is None or out_units != format_units(units):
        out.attrs.pop("standard_name", None)  # another quantity now


def _apply_core(field, *weights, network, op, how, skipna, grid_ndim, options):
    """The array-level operation on apply_ufunc's arrays (weights broadcast to the field's dims)."""
    field = _keep(field)
    w = _keep(weights[0]) if weights else None
    if w is not None:
        lead = w.ndim - grid_ndim
        strides = getattr(w, "strides", None) or (1,) * w.ndim  # a duck array: no stride tricks
        if all(s == 1 or st == 0 for s, st in zip(w.shape[:lead], strides[:lead], strict=True)):
            w = w[(0,) * lead]  # one grid of weights for every member
        else:
            from .backends.scatter import array_namespace

            xp = array_namespace(field, w)
            shape = np.broadcast_shapes(field.shape, w.shape)
            field, w = xp.broadcast_to(field, shape), xp.broadcast_to(w, shape)
    out = OPERATIONS[op](network, field, how=how, weights=w, skipna=skipna, **options)
    if np.ndim(options.get("q")) == 1:  # the percentiles' axis first; apply_ufunc's core dims last
        from .backends.scatter import array_namespace

        axes = (*range(1, out.ndim - grid_ndim), 0, *range(out.ndim - grid_ndim, out.ndim))
        out = array_namespace(out).permute_dims(out, axes)
    return out


def _keep(array):
    """numpy, or a duck array (dask, the torch wrapper, cupy) kept as it is."""
    return array if hasattr(array, "__array_namespace__") or _is_dask(array) else np.asarray(array)


def _is_dask(array) -> bool:
    return type(array).__module__.startswith("dask.")
