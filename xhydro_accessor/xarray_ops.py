"""The xarray layer: array-level operations on DataArrays, lazily on dask.

:func:`apply` moves the spatial dims last, runs an operation of
:mod:`xhydro_accessor.operations` through :func:`xarray.apply_ufunc` with
``dask="allowed"`` and moves them back; coordinates and attributes are kept,
units follow :func:`xhydro_accessor.units.result_units`, and discharge gets its
CF ``standard_name``.

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
from .network import RiverNetwork, label_positions
from .units import (
    DISCHARGE_LONG_NAME,
    DISCHARGE_STANDARD_NAME,
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

#: (axis, names) tried in order to find the spatial dims after cf-xarray's axes.
_DIM_NAMES = (("x", "y"), ("lon", "lat"), ("longitude", "latitude"))


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
    the names ``y/x``, ``lat/lon``, ``latitude/longitude``.

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
    for x, y in _DIM_NAMES:
        if x in dims and y in dims:
            return (y, x)
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
        if values is not None and theirs in obj.coords and not _same(obj[theirs].values, values):
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


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.allclose(a, b, rtol=1e-9, atol=0))
    return bool(np.array_equal(a, b))


# ---------------------------------------------------------------------- apply
def apply(
    op: str,
    da: xr.DataArray,
    network: RiverNetwork,
    dims: tuple[Hashable, ...],
    how: str = "sum",
    weights: Any = None,
    skipna: bool = False,
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
    how, weights, skipna
        As in :func:`xhydro_accessor.accumulate`; ``weights`` a DataArray
        (broadcast against ``da``) or an array of the grid's shape.

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
    if how not in operations.HOWS:
        raise ValueError(f"how must be one of {operations.HOWS}, got {how!r}")
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
    out = xr.apply_ufunc(
        _apply_core,
        field,
        *([] if weights is None else [weights]),
        input_core_dims=[list(dims)] * (1 if weights is None else 2),
        output_core_dims=[list(dims)],
        dask="allowed",
        keep_attrs=True,
        kwargs={"network": network, "op": op, "how": how, "skipna": skipna, "grid_ndim": len(dims)},
    )
    out = out.transpose(*[d for d in da.dims if d in out.dims], ...)
    out_units = result_units(op, how, units, w_units if op != "move_upstream" else None)
    _set_metadata(out, op, how, units, out_units)
    if reg is not None:
        out = out.pint.quantify(unit_registry=reg)
    return out


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


def _apply_core(field, *weights, network, op, how, skipna, grid_ndim):
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
    return OPERATIONS[op](network, field, how=how, weights=w, skipna=skipna)


def _keep(array):
    """numpy, or a duck array (dask, the torch wrapper, cupy) kept as it is."""
    return array if hasattr(array, "__array_namespace__") or _is_dask(array) else np.asarray(array)


def _is_dask(array) -> bool:
    return type(array).__module__.startswith("dask.")
