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
    values = da.data
    valid = values[values != fill] if isinstance(values, np.ndarray) else values[:0]  # lazy: no range
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


# ------------------------------------------------------- orders by name, sub-basins
_ORDER_NAMES = {
    "strahler": ("strahler_order", "Strahler stream order"),
    "shreve": ("shreve_magnitude", "Shreve stream magnitude"),
    "hack": ("hack_order", "Hack (classic) stream order"),
}


def stream_order(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    kind: Literal["strahler", "shreve", "hack"] = "strahler",
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.stream_order(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.stream_order`."""
    from .stream_order import stream_order as _stream_order

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    values = _stream_order(network, kind)  # checks kind
    name, long_name = _ORDER_NAMES[kind]
    order = _grid(values, obj, grid, name, {"long_name": long_name})
    return _labelled(order, fill_value(order.dtype))


_SCHEME_NAMES = {
    "order": ("subbasin", "sub-basin (by stream order)"),
    "area": ("subbasin", "sub-basin (by area)"),
    "pfafstetter": ("pfafstetter_code", "Pfafstetter sub-basin code"),
}


def subbasins(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    by: Literal["order", "area", "pfafstetter"] = "order",
    min_sto: int | None = None,
    order: Any = None,
    area_min: float | None = None,
    depth: int | None = None,
    upa_min: float | None = None,
    upstream_area: Any = None,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.subbasins(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.subbasins`."""
    from .subbasins import subbasins as _subbasins

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    area = _data(upstream_area, grid, obj)
    values = _subbasins(network, by, min_sto=min_sto, order=_data(order, grid, obj), area_min=area_min,
                        depth=depth, upa_min=upa_min, upstream_area=area)  # fmt: skip
    name, long_name = _SCHEME_NAMES[by]
    given = {"min_sto": min_sto, "area_min": area_min, "depth": depth, "upa_min": upa_min}
    attrs = {"long_name": long_name} | {k: v for k, v in given.items() if v is not None}
    return _labelled(_grid(values, obj, grid, name, attrs), 0)


def _along(function, obj, network, x_dim, y_dim, weights=None, **options) -> Any:
    """An array-level function of :mod:`.along` over the spatial dims of every variable."""
    network, dims = resolve(obj, network, x_dim, y_dim)
    if weights is not None:
        weights = _data(weights, dims, obj)

    def core(field):
        return function(network, field, weights=weights, **options) if weights is not None else (
            function(network, field, **options))  # fmt: skip

    out = xr.apply_ufunc(core, obj, input_core_dims=[list(dims)], output_core_dims=[list(dims)],
                         dask="allowed", keep_attrs=True)  # fmt: skip
    return out.transpose(*obj.dims) if isinstance(obj, xr.DataArray) else out


def smooth_along(
    obj: xr.DataArray | xr.Dataset,
    window: int,
    how: Literal["mean", "median"] = "mean",
    weights: Any = None,
    network: RiverNetwork | None = None,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
) -> Any:
    """``obj.hydro.smooth_along(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.smooth_along`."""
    from .along import smooth_along as _smooth

    return _along(_smooth, obj, network, x_dim, y_dim, weights, window=window, how=how)


def fill_along(
    obj: xr.DataArray | xr.Dataset,
    direction: Literal["down", "up"] = "down",
    how: Literal["max", "min", "sum"] = "max",
    network: RiverNetwork | None = None,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
) -> Any:
    """``obj.hydro.fill_along(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.fill_along`."""
    from .along import fill_along as _fill

    return _along(_fill, obj, network, x_dim, y_dim, direction=direction, how=how)


# ------------------------------------------------------ vectors and flow paths
def streams(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    min_area: float | None = None,
    min_order: int | None = None,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
):
    """``obj.hydro.streams(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.streams`."""
    from .vectors import streams as _streams

    network, _ = resolve(obj, network, x_dim, y_dim, crs)
    return _streams(network, min_area, min_order)


def stream_segments(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    min_area: float | None = None,
    min_order: int | None = None,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.stream_segments(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.stream_segments`."""
    from .vectors import stream_segments as _stream_segments

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    ids = _stream_segments(network, min_area, min_order)
    attrs = {"long_name": "stream segment id (streams() segment_id; 0 off the streams)"}
    return _labelled(_grid(ids, obj, grid, "stream_segment", attrs), 0)


def catchment_polygons(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    nodata: int = 0,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
):
    """``obj.hydro.catchment_polygons(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.catchment_polygons`."""
    from .vectors import catchment_polygons as _catchment_polygons

    if not isinstance(obj, xr.DataArray):
        raise TypeError(f"catchment_polygons needs a DataArray of labels, got {type(obj).__name__}")
    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    if set(obj.dims) != set(grid):
        raise ValueError(f"the labels must have only the grid dims {grid}, got {obj.dims}: select one first")
    return _catchment_polygons(network, obj.transpose(*grid).values, nodata=nodata)


def flow_path(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    network: RiverNetwork | None = None,
    *,
    direction: Literal["down", "up"] = "down",
    max_length: float | str | None = None,
    snap: float | str = 0,
    upstream_area: Any = None,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.Dataset:
    """``obj.hydro.flow_path(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.flow_path`."""
    from .paths import flow_path as _flow_path

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    loc = locate(network, locations, snap=snap)
    area = _data(upstream_area, grid, obj)
    paths = _flow_path(network, loc, direction, max_length, upstream_area=area)
    n, counts = len(paths), paths.n_cells
    station = np.repeat(np.arange(n), counts)
    step = np.arange(paths.index.size) - np.repeat(paths.offsets[:-1], counts)

    def padded(values: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full((n, int(counts.max(initial=0))), fill, values.dtype)
        out[station, step] = values
        return out

    along = (STATION, "step")
    cell = padded(paths.index, -1)
    data: dict[Hashable, Any] = {
        "cell": (along, cell, {"long_name": "flat grid index of the path's cells (-1 past its end)"}),
        "distance": (along, padded(paths.distance, np.nan),
                     {"units": paths.units, "long_name": "length along the path from the station"}),
        "n_cells": (STATION, counts, {"long_name": "cells on the path, the station's included"}),
    }  # fmt: skip
    coords = {k: v for k, v in loc.coords(network).items() if k not in (*grid, "row", "col")}
    if len(grid) == 2:
        data["row"], data["col"] = (along, padded(paths.rows, -1)), (along, padded(paths.cols, -1))
        names = grid[::-1] if _transposed(network) else grid
        for name, values in zip(names, (paths.y, paths.x), strict=True):
            coords[name] = (along, padded(values, np.nan), obj[name].attrs if name in obj.coords else {})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["direction"] = direction
    return ds


def main_stem(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    network: RiverNetwork | None = None,
    *,
    snap: float | str = 0,
    upstream_area: Any = None,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataArray:
    """``obj.hydro.main_stem(...)`` as a function of ``obj``; documented once, as the method:
    :meth:`xhydro_accessor.accessor.HydroAccessor.main_stem`."""
    from .paths import main_stem as _main_stem

    network, grid = resolve(obj, network, x_dim, y_dim, crs)
    mask = _main_stem(
        network, locate(network, locations, snap=snap), upstream_area=_data(upstream_area, grid, obj)
    )
    return _grid(mask, obj, grid, "main_stem", {"long_name": "main stem upstream of the stations"})


def _transposed(network: RiverNetwork) -> bool:
    """Whether the network's grid is stored x first (dims ``(x, y)``)."""
    from ..layout import layout_of_network

    return len(network.shape) == 2 and layout_of_network(network).transposed
