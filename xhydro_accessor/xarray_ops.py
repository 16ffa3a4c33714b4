"""The xarray layer: array-level operations on DataArrays, lazily on dask.

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
(members, time). It needs the whole grid in every task: **chunks across the
spatial dims are merged into one chunk, with a**
:class:`~xhydro_accessor.backends.dask.SpatialChunksWarning`;
chunk along members or time instead.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from . import operations
from .errors import GridMismatchError
from .layout import axis_of
from .network import RiverNetwork, label_positions, same_coordinates
from .units import (
    DISCHARGE_LONG_NAME,
    DISCHARGE_STANDARD_NAME,
    DISCHARGE_UNITS,
    convert_units,
    dequantify,
    is_discharge,
    result_units,
)

OPERATIONS = {
    "accumulate": operations.accumulate,
    "accumulate_downstream": operations.accumulate_downstream,
    "move_downstream": operations.move_downstream,
    "move_upstream": lambda network, field, how, weights, skipna: operations.move_upstream(network, field),
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
    return network.with_grid(tuple(dims), coords, crs=crs, degrees=degrees or network._degrees)


def check_grid(obj: xr.DataArray, network: RiverNetwork, dims: tuple[Hashable, ...]) -> None:
    """Raise :class:`GridMismatchError` unless ``obj``'s grid matches ``network``'s.

    The sizes of ``dims`` must be the network's shape, and the dimension
    coordinates the network knows (built from a DataArray) must equal the field's.
    """
    shape = tuple(obj.sizes[d] for d in dims)
    if shape != tuple(network.shape):
        raise GridMismatchError(
            f"the field's grid {dict(zip(dims, shape, strict=True))} does not match the network's "
            f"{network.shape}"
        )
    net_dims = network.dims or dims
    for mine, theirs in zip(net_dims, dims, strict=True):
        values = network.coords.get(mine)
        if values is not None and theirs in obj.coords and not same_coordinates(obj[theirs].values, values):
            raise GridMismatchError(
                f"coordinate {theirs!r} of the field differs from the network's: same shape, other grid"
            )


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


# ---------------------------------------------------------------------- apply
def apply(
    op: str,
    da: xr.DataArray,
    network: RiverNetwork,
    dims: tuple[Hashable, ...],
    how: str = "sum",
    weights: Any = None,
    skipna: bool = False,
    warn_nan: bool = True,
) -> xr.DataArray:
    """Run the array-level operation ``op`` on ``da`` over its spatial ``dims``.

    Parameters
    ----------
    op : {"accumulate", "accumulate_downstream", "move_downstream", "move_upstream"}
    da : DataArray
        numpy-, dask- or pint-backed; ``dims`` may sit anywhere.
    network : RiverNetwork
    dims : tuple
        The spatial dims in grid order (see :func:`grid_dims`).
    how, weights, skipna, warn_nan
        As in :func:`xhydro_accessor.accumulate` (``warn_nan`` for the accumulations
        only); ``weights`` a DataArray (broadcast against ``da``) or an array of the
        grid's shape.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> da = xr.DataArray(np.ones((3, 2)), dims=("x", "y"), attrs={"units": "mm"})
    >>> out = apply("accumulate", da, net, ("y", "x"))
    >>> out.dims, out.values[1], out.attrs
    (('x', 'y'), array([1., 6.]), {'units': 'mm'})
    """
    if op not in OPERATIONS:
        raise ValueError(f"op must be one of {tuple(OPERATIONS)}, got {op!r}")
    operations.check_options(how, False)  # the registry's names: xhydro_accessor.reductions
    network = align_nodes(da, network, dims)
    check_grid(da, network, dims)
    field, reg, units = dequantify(da)
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
    out = xr.apply_ufunc(
        _apply_core,
        field,
        *([] if weights is None else [weights]),
        input_core_dims=[list(dims)] * (1 if weights is None else 2),
        output_core_dims=[list(dims)],
        dask="allowed",
        keep_attrs=True,
        kwargs={
            "network": network,
            "op": op,
            "how": how,
            "skipna": skipna,
            "grid_ndim": len(dims),
            "nan_check": {"warn_nan": warn_nan} if op.startswith("accumulate") else {},
        },  # fmt: skip
    )
    out = out.transpose(*[d for d in da.dims if d in out.dims], ...)
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


def format_units(units) -> str:
    from .units import registry

    return format(registry().Unit(str(units)), "cf")


def _apply_core(field, *weights, network, op, how, skipna, grid_ndim, nan_check):
    """The array-level operation on apply_ufunc's arrays (weights broadcast to the field's dims)."""
    field = _keep(field)
    w = _keep(weights[0]) if weights else None
    if w is not None:
        lead = w.ndim - grid_ndim
        strides = getattr(w, "strides", None) or (1,) * w.ndim  # a duck array: no stride tricks
        if all(s == 1 or st == 0 for s, st in zip(w.shape[:lead], strides[:lead], strict=True)):
            w = w[(0,) * lead]  # one grid of weights for every member
        else:
            from array_api_compat import array_namespace

            xp = array_namespace(field, w)
            shape = np.broadcast_shapes(field.shape, w.shape)
            field, w = xp.broadcast_to(field, shape), xp.broadcast_to(w, shape)
    return OPERATIONS[op](network, field, how=how, weights=w, skipna=skipna, **nan_check)


def _keep(array):
    """numpy, or a duck array (dask, the torch wrapper, cupy) kept as it is."""
    return array if hasattr(array, "__array_namespace__") or _is_dask(array) else np.asarray(array)


def _is_dask(array) -> bool:
    return type(array).__module__.startswith("dask.")
