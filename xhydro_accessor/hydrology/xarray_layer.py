"""The xarray face of the catalogue: catchments, statistics, orders, distances, areas.

Each function is a ``.hydro`` method taking the xarray object first (documented
once, as the method: :class:`~xhydro_accessor.accessor.HydroAccessor`); the
network, the spatial dims and the grid checks come from
:func:`xhydro_accessor.xarray_ops.resolve`, the work from the array-level modules
(:mod:`~xhydro_accessor.hydrology.catchments`, :mod:`~xhydro_accessor.hydrology.stream_order`,
:mod:`~xhydro_accessor.hydrology.distances`, :mod:`~xhydro_accessor.hydrology.upstream_area`).
Outputs on locations have a ``station`` dim carrying the station names and the
coordinates of their cells.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..network import RiverNetwork
from ..operations import fill_value
from ..units import result_units
from ..xarray_ops import (
    align_weights,
    assign_network,
    convert_units,
    dequantify,
    drop_network,
    resolve,
    weights_like,
    weights_of,
)
from ._backend import move_axis
from .catchments import Statistic
from .catchments import basins as _basins
from .catchments import catchment_statistics as _catchment_statistics
from .catchments import catchments as _catchments
from .catchments import downstream_mask as _downstream_mask
from .catchments import upstream_mask as _upstream_mask
from .locations import STATION, locate


def _grid(values: Any, obj, dims, name: str, attrs: dict) -> xr.DataArray:
    """``values`` on the object's grid, with its coordinates there (the network's included)."""
    coords = obj.coords.to_dataset()
    coords = coords.drop_vars([k for k, c in coords.coords.items() if not set(c.dims) <= set(dims)])
    return xr.DataArray(values, dims=dims, coords=coords.coords, name=name, attrs=attrs)


def _labelled(da: xr.DataArray, fill: Any) -> xr.DataArray:
    """An integer map with ``fill`` as its ``_FillValue``, its value range as ``valid_min``/``valid_max``."""
    values = da.values
    valid = values[values != fill]
    if valid.size:
        da.attrs |= {"valid_min": valid.min(), "valid_max": valid.max()}
    da.encoding["_FillValue"] = da.dtype.type(fill)
    return da


def flag_words(names: Any) -> list[str]:
    """Names as CF ``flag_meanings`` words: letters, digits and ``_-.+@``, unique, never empty.

    Examples
    --------
    >>> flag_words(["Rhine at Lobith", "Köln (gauge)", "", "a/b", "a/b"])
    ['Rhine_at_Lobith', 'K_ln_gauge', 'flag_3', 'a_b', 'a_b_5']
    """
    words: list[str] = []
    for k, name in enumerate(names, 1):
        word = re.sub(r"[^A-Za-z0-9_.+@-]+", "_", str(name)).strip("_") or f"flag_{k}"
        words.append(word if word not in words else f"{word}_{k}")
    return words


def _data(array: Any, dims, obj) -> Any:
    """The data of a DataArray over ``dims`` (kept in its library: dask, torch, …), else ``array``;
    on a vector network in the order of ``obj``'s node labels."""
    if not isinstance(array, xr.DataArray):
        return array
    return align_weights(array, obj, tuple(dims)).transpose(*dims).data


# --------------------------------------------------------------- catchments
def catchments(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    network: RiverNetwork | None = None,
    *,
    nested: bool = False,
    snap: float | str = 0,
    area: Any = None,
    locations_crs: Any = None,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.catchments(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.catchments`."""
    network, dims = resolve(obj, network, x_dim, y_dim, crs)
    loc = locate(network, locations, snap=snap, area=area, crs=locations_crs)
    labels = _catchments(network, loc, nested=nested)
    present = np.flatnonzero(np.bincount(labels.reshape(-1), minlength=len(loc) + 1)[1:]) + 1
    attrs = {
        "long_name": "nested sub-catchment" if nested else "catchment",
        "flag_values": present.astype(labels.dtype),
        "flag_meanings": " ".join(np.asarray(flag_words(loc.names), object)[present - 1]),
    }
    return _labelled(_grid(labels, obj, dims, "catchment", attrs | _station_report(loc, network)), 0)


def _station_report(loc, network: RiverNetwork) -> dict[str, np.ndarray]:
    """Where each location was placed, as attributes (one value per station)."""
    rows, cols = np.divmod(loc.index, network.shape[-1])
    return {
        "station_row": rows, "station_col": cols, "station_snap_distance": loc.moved,
        "station_snap_distance_m": loc.moved_m, "station_upstream_area": loc.upstream_area,
    }  # fmt: skip


def basins(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.basins(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.basins`."""
    network, dims = resolve(obj, network, x_dim, y_dim, crs)
    labels = _grid(_basins(network), obj, dims, "basin", {"long_name": "basin (one per outlet)"})
    return _labelled(labels, 0)


def upstream_mask(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    network: RiverNetwork | None = None,
    *,
    snap: float | str = 0,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.upstream_mask(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.upstream_mask`."""
    network, dims = resolve(obj, network, x_dim, y_dim, crs)
    values = _upstream_mask(network, locate(network, locations, snap=snap))
    return _grid(values, obj, dims, "upstream_mask", {"long_name": "upstream of the locations"})


def downstream_mask(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    network: RiverNetwork | None = None,
    *,
    snap: float | str = 0,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.downstream_mask(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.downstream_mask`."""
    network, dims = resolve(obj, network, x_dim, y_dim, crs)
    values = _downstream_mask(network, locate(network, locations, snap=snap))
    return _grid(values, obj, dims, "downstream_mask", {"long_name": "downstream of the locations"})


def catchment_statistics(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    how: Statistic = "mean",
    network: RiverNetwork | None = None,
    *,
    nested: bool = False,
    weights: Any = None,
    skipna: bool = False,
    q: Any = None,
    snap: float | str = 0,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
    engine: str = "auto",
    method: str | None = None,
) -> xr.DataArray:
    """``obj.hydro.catchment_statistics(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.catchment_statistics`."""
    if not isinstance(obj, xr.DataArray):
        raise TypeError("catchment_statistics reduces one field: call it on a DataArray, ds[name].hydro...")
    network, dims = resolve(obj, network, x_dim, y_dim, crs)
    loc = locate(network, locations, snap=snap)
    field, reg, units = dequantify(obj)
    w_units = None
    if isinstance(weights, str):
        weights = weights_of(weights, obj, None, dims, network.crs)
    if isinstance(weights, xr.DataArray):
        weights, _, w_units = dequantify(weights)
        weights = weights_like(weights, field.dtype)
    weights = _data(weights, dims, obj)
    qs = np.atleast_1d(np.asarray(q, np.float64)) if q is not None and np.ndim(q) == 1 else None
    extra = ["quantile"] if qs is not None else []

    def reduce(values):  # numpy, dask (lazy), torch (wrapped), jax, cupy: same type out
        out = _catchment_statistics(
            network, values, loc, how, nested=nested, weights=weights, skipna=skipna, q=q, engine=engine,
            method=method,
        )  # fmt: skip
        return move_axis(out, 0, -2) if qs is not None else out

    out = xr.apply_ufunc(
        reduce,
        field,
        input_core_dims=[list(dims)],
        output_core_dims=[[*extra, STATION]],
        dask="allowed",
        keep_attrs=True,
    )
    out = out.assign_coords(loc.coords(network))
    if qs is not None:  # (extra is ["quantile"])
        out = out.assign_coords(quantile=qs / 100).transpose("quantile", ...)
    rule = how if how in ("sum", "var", "skew") else "mean"
    out.attrs.pop("units", None)
    new_units = result_units("accumulate", rule, units, w_units)
    if new_units is not None:
        out.attrs["units"] = new_units
    out.attrs["cell_methods"] = f"area: {how} (over the {'sub-' if nested else ''}catchment of each station)"
    out = out.rename(obj.name)
    return out.pint.quantify(unit_registry=reg) if reg is not None else out


# ------------------------------------------------------------- stream order
def strahler(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.strahler(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.strahler`."""
    from .stream_order import strahler as _strahler

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    order = _grid(_strahler(network), obj, grid, "strahler_order", {"long_name": "Strahler stream order"})
    return _labelled(order, fill_value(order.dtype))


def shreve(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.shreve(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.shreve`."""
    from .stream_order import shreve as _shreve

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    magnitude = _grid(
        _shreve(network), obj, grid, "shreve_magnitude", {"long_name": "Shreve stream magnitude"}
    )
    return _labelled(magnitude, fill_value(magnitude.dtype))


# ---------------------------------------------------------------- distances
def _distance_weights(obj, network, dims, weights, per) -> tuple[Any, str | None]:
    """Weights as an array and the units of the distances (metres, or cells without coordinates)."""
    from .distances import step_lengths

    if weights is not None:
        return _data(weights, dims, obj), getattr(weights, "attrs", {}).get("units")
    if per == "cell" or len(dims) == 1:
        return None, None
    return step_lengths(network), "m" if all(d in obj.coords for d in dims) else "1"


def distance_to_outlet(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    weights: Any = None,
    *,
    per: Literal["edge", "cell"] = "edge",
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.distance_to_outlet(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.distance_to_outlet`."""
    from .distances import distance_to_outlet as _to_outlet

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    w, units = _distance_weights(obj, network, grid, weights, per)
    out = _grid(_to_outlet(network, w, per=per), obj, grid, "distance_to_outlet", {})
    return out.assign_attrs(units=units) if units else out


def distance_to_source(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    weights: Any = None,
    *,
    path: Literal["longest", "shortest"] = "longest",
    per: Literal["edge", "cell"] = "edge",
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.distance_to_source(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.distance_to_source`."""
    from .distances import distance_to_source as _to_source

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    w, units = _distance_weights(obj, network, grid, weights, per)
    out = _grid(_to_source(network, w, path=path, per=per), obj, grid, "distance_to_source", {})
    return out.assign_attrs(units=units) if units else out


def distance_from_points(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    network: RiverNetwork | None = None,
    weights: Any = None,
    *,
    downstream: bool = True,
    upstream: bool = False,
    how: Literal["min", "max"] = "min",
    per: Literal["edge", "cell"] = "edge",
    snap: float | str = 0,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.distance_from_points(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.distance_from_points`."""
    from .distances import distance_from_points as _from_points

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    w, units = _distance_weights(obj, network, grid, weights, per)
    values = _from_points(
        network, locate(network, locations, snap=snap), w,
        downstream=downstream, upstream=upstream, how=how, per=per,
    )  # fmt: skip
    out = _grid(values, obj, grid, "distance", {})
    return out.assign_attrs(units=units) if units else out


# ------------------------------------------------------------ upstream area
def upstream_area(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    units: Literal["m2", "km2"] = "m2",
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.upstream_area(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.upstream_area`."""
    from .upstream_area import upstream_area as _upstream_area

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    da = obj if isinstance(obj, xr.DataArray) else obj[list(obj.data_vars)[0]]
    area = weights_of("area", da, None, grid, network.crs)
    if isinstance(area, xr.DataArray):  # a cell_measures variable: its units, converted to m2
        if "units" not in area.attrs:
            raise ValueError(
                f"the cell area variable {area.name!r} (cell_measures) has no units attribute: "
                "set attrs['units'] (e.g. 'm2' or 'km2')"
            )
        area = convert_units(area, "m2")
    area = _data(area if isinstance(area, xr.DataArray) else xr.DataArray(area, dims=grid), grid, obj)
    values = _upstream_area(network, area, units=units)
    return _grid(values, obj, grid, "upstream_area", {"units": units, "long_name": "upstream area"})


# --------------------------------------------------------------- subnetworks
def upstream_subnetwork(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    network: RiverNetwork | None = None,
    *,
    snap: float | str = 0,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
):
    """``obj.hydro.upstream_subnetwork(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.upstream_subnetwork`."""
    from .subnetwork import upstream_subnetwork as _upstream_subnetwork

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    return _cut(obj, grid, _upstream_subnetwork(network, locate(network, locations, snap=snap)))


def subnetwork(
    obj: xr.DataArray | xr.Dataset,
    mask: Any,
    network: RiverNetwork | None = None,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
):
    """``obj.hydro.subnetwork(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.subnetwork`."""
    from .subnetwork import subnetwork as _subnetwork

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    if isinstance(mask, xr.DataArray):
        mask = mask.transpose(*grid).values
    return _cut(obj, grid, _subnetwork(network, mask))


def _cut(obj, grid, sub):
    """``obj`` on the subnetwork's grid (a crop or a node selection), the subnetwork attached."""
    if len(grid) == 1:
        return assign_network(drop_network(obj).isel({grid[0]: sub.index}), sub.network)
    rows, cols = np.divmod(sub.index[[0, -1]], sub.parent_shape[-1])
    window = {grid[0]: slice(rows[0], rows[1] + 1), grid[1]: slice(cols[0], cols[1] + 1)}
    return assign_network(drop_network(obj).isel(window), sub.network, y_dim=grid[0], x_dim=grid[1])
