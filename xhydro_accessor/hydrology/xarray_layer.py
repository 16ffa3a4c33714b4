"""The xarray face of the catalogue: catchments, statistics, orders, distances, areas.

Each function takes the xarray object first, as a ``.hydro`` method would, and
resolves the network (given, or attached with ``obj.hydro.assign_network``) and
the spatial dims; the work is done by the array-level modules
(:mod:`~xhydro_accessor.hydrology.catchments`, :mod:`~xhydro_accessor.hydrology.stream_order`,
:mod:`~xhydro_accessor.hydrology.distances`, :mod:`~xhydro_accessor.hydrology.upstream_area`).
Outputs on locations have a ``station`` dim carrying the station names and the
coordinates of their cells.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from ..network import RiverNetwork
from ..operations import fill_value
from ..units import dequantify, result_units
from ..xarray_ops import align_nodes, align_weights, check_grid, grid_dims, on_grid, weights_like
from .catchments import Statistic, _move
from .catchments import basins as _basins
from .catchments import catchment_statistics as _catchment_statistics
from .catchments import catchments as _catchments
from .catchments import downstream_mask as _downstream_mask
from .catchments import upstream_mask as _upstream_mask
from .locations import STATION, locate


def _resolve(obj, network, x_dim=None, y_dim=None, crs=None) -> tuple[RiverNetwork, tuple[Hashable, ...]]:
    """The network (on the object's grid coordinates and CRS, see :func:`on_grid`) and the spatial dims.

    Every function here takes ``x_dim``, ``y_dim`` and ``crs`` (the grid's CRS when
    neither the object nor the network declares it) as keywords.
    """
    if network is None:
        network = obj.hydro.network
    dims = grid_dims(obj, network, x_dim, y_dim)
    network = align_nodes(obj, network, dims)
    check_grid(obj, network, dims)
    return on_grid(obj, network, tuple(dims), crs), tuple(dims)


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
    """Catchment labels of ``locations`` (see :func:`xhydro_accessor.hydrology.catchments.catchments`).

    Label ``k`` is the k-th location (1-based; 0 none, the ``_FillValue``); the
    CF attributes ``flag_values``/``flag_meanings`` name the stations whose
    label is on the map (a station inside another's cell may have none), their
    names made CF words (letters, digits and ``_-.+@``; other characters
    become ``_``). ``valid_min``/``valid_max`` give the label range. ``snap``,
    ``area`` and ``locations_crs`` (the CRS of the locations' coordinates) are
    :func:`~xhydro_accessor.hydrology.locations.locate`'s ``snap``, ``area``
    and ``crs``; ``crs`` is the grid's. Per station, in the order of the
    locations (label ``k`` is entry ``k - 1``), the attributes ``station_row``,
    ``station_col``, ``station_snap_distance`` (cells), ``station_snap_distance_m``
    and ``station_upstream_area`` (km²) report where each location was placed.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> da = xr.DataArray(np.zeros((1, 4)), dims=("y", "x"), coords={"y": [0.5], "x": [0.5, 1.5, 2.5, 3.5]})
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
    >>> labels = catchments(da, {"up": (0.5, 1.5), "mouth": (0.5, 3.5)}, net, nested=True)
    >>> labels.values, labels.attrs["flag_meanings"]
    (array([[1, 1, 2, 2]], dtype=int32), 'up mouth')
    """
    network, dims = _resolve(obj, network, x_dim, y_dim, crs)
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
) -> xr.DataArray:
    """Basin labels, one per outlet (see :func:`xhydro_accessor.hydrology.catchments.basins`).

    0 off the network (the ``_FillValue``); ``valid_min``/``valid_max`` give the label range.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[5, 4, 6, 5]]))
    >>> basins(xr.DataArray(np.zeros((1, 4)), dims=("y", "x")), net).values
    array([[1, 1, 2, 2]], dtype=int32)
    """
    network, dims = _resolve(obj, network, x_dim, y_dim)
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
) -> xr.DataArray:
    """True where cells drain to one of the locations.

    See :func:`xhydro_accessor.hydrology.catchments.upstream_mask`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
    >>> upstream_mask(xr.DataArray(np.zeros((1, 4)), dims=("y", "x")), [(0, 1)], net).values
    array([[ True,  True, False, False]])
    """
    network, dims = _resolve(obj, network, x_dim, y_dim)
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
) -> xr.DataArray:
    """True on the flow paths from the locations.

    See :func:`xhydro_accessor.hydrology.catchments.downstream_mask`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
    >>> downstream_mask(xr.DataArray(np.zeros((1, 4)), dims=("y", "x")), [(0, 1)], net).values
    array([[False,  True,  True,  True]])
    """
    network, dims = _resolve(obj, network, x_dim, y_dim)
    values = _downstream_mask(network, locate(network, locations, snap=snap))
    return _grid(values, obj, dims, "downstream_mask", {"long_name": "downstream of the locations"})


def catchment_statistics(
    obj: xr.DataArray,
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
) -> xr.DataArray:
    """Reduce a field over the catchment of each location: spatial dims → ``station``.

    The xarray face of :func:`xhydro_accessor.hydrology.catchments.catchment_statistics`
    (see it for ``how``, ``nested``, NaN policy and dtypes). Batch dims (member,
    time) are kept and stay lazy on dask (one task per chunk); several
    percentiles add a leading ``quantile`` dim.

    Returns
    -------
    DataArray
        Dims ``(..., station)``; coordinates ``station`` (names), the grid
        coordinates of each station's cell (e.g. ``y``, ``x``), ``row``/``col``,
        and ``snap_distance`` after snapping. ``units`` follow the field's (squared
        for ``var``, times the weights' for ``sum``).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
    >>> rain = xr.DataArray(
    ...     [[[1.0, 2.0, 3.0, 4.0]]], dims=("time", "y", "x"),
    ...     coords={"x": [10.0, 20.0, 30.0, 40.0], "y": [5.0]}, attrs={"units": "mm"},
    ... )
    >>> out = catchment_statistics(rain, {"A": (5.0, 20.0), "B": (5.0, 40.0)}, "max", net)
    >>> out.dims, out.station.values.tolist(), out.x.values.tolist(), out.values
    (('time', 'station'), ['A', 'B'], [20.0, 40.0], array([[2., 4.]]))
    """
    network, dims = _resolve(obj, network, x_dim, y_dim)
    loc = locate(network, locations, snap=snap)
    field, reg, units = dequantify(obj)
    w_units = None
    if isinstance(weights, str):
        from ..accessor import _weights

        weights = _weights(weights, obj, None, dims)
    if isinstance(weights, xr.DataArray):
        weights, _, w_units = dequantify(weights)
        weights = weights_like(weights, field.dtype)
    weights = _data(weights, dims, obj)
    qs = np.atleast_1d(np.asarray(q, np.float64)) if q is not None and np.ndim(q) == 1 else None
    extra = ["quantile"] if qs is not None else []

    def reduce(values):  # numpy, dask (lazy), torch (wrapped), jax, cupy: same type out
        out = _catchment_statistics(
            network, values, loc, how, nested=nested, weights=weights, skipna=skipna, q=q
        )
        return _move(out, 0, -2) if qs is not None else out

    out = xr.apply_ufunc(
        reduce,
        field,
        input_core_dims=[list(dims)],
        output_core_dims=[[*extra, STATION]],
        dask="allowed",
        keep_attrs=True,
    )
    out = out.assign_coords(loc.coords(network))
    if extra:
        out = out.assign_coords(quantile=qs / 100).transpose("quantile", ...)
    rule = how if how in ("sum", "var") else "mean"
    out.attrs.pop("units", None)
    new_units = result_units("accumulate", rule, units, w_units)
    if new_units is not None:
        out.attrs["units"] = new_units
    out.attrs["cell_methods"] = f"area: {how} (over the {'sub-' if nested else ''}catchment of each station)"
    out = out.rename(obj.name)
    return out.pint.quantify(unit_registry=reg) if reg is not None else out


# ------------------------------------------------------------- stream order
def strahler(
    obj: xr.DataArray | xr.Dataset, network: RiverNetwork | None = None, **dims: Any
) -> xr.DataArray:
    """Strahler order on the object's grid (see :func:`xhydro_accessor.hydrology.stream_order.strahler`).

    Off the network :func:`~xhydro_accessor.fill_value` of the dtype, declared as the
    ``_FillValue`` encoding (written to files as missing); ``valid_min``/``valid_max``
    give the range of the orders, for plots and readers.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> strahler(xr.DataArray(np.zeros((2, 3)), dims=("y", "x")), net).values
    array([[1, 1, 1],
           [1, 2, 1]], dtype=int32)
    """
    from .stream_order import strahler as _strahler

    network, grid = _resolve(obj, network, **dims)
    order = _grid(_strahler(network), obj, grid, "strahler_order", {"long_name": "Strahler stream order"})
    return _labelled(order, fill_value(order.dtype))


def shreve(obj: xr.DataArray | xr.Dataset, network: RiverNetwork | None = None, **dims: Any) -> xr.DataArray:
    """Shreve magnitude on the object's grid (see :func:`xhydro_accessor.hydrology.stream_order.shreve`).

    Fill value and ``valid_min``/``valid_max`` as in :func:`strahler`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> shreve(xr.DataArray(np.zeros((2, 3)), dims=("y", "x")), net).values[1]
    array([1, 5, 1])
    """
    from .stream_order import shreve as _shreve

    network, grid = _resolve(obj, network, **dims)
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
    per: str = "edge",
    **dims: Any,
) -> xr.DataArray:
    """Distance along the network to the outlet.

    See :func:`xhydro_accessor.hydrology.distances.distance_to_outlet`.

    The default weights are step lengths in metres from the grid's CRS
    (geodesic on geographic grids; :func:`~xhydro_accessor.hydrology.distances.step_lengths`),
    in cells (``units: "1"``) on a grid without coordinates.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> da = xr.DataArray(np.zeros((1, 3)), dims=("lat", "lon"), coords={"lat": [0.0], "lon": [0.0, 1, 2]})
    >>> d = distance_to_outlet(da, RiverNetwork.from_ldd(np.array([[6, 6, 5]])))
    >>> (d.values / 1000).round(1), d.attrs["units"]
    (array([[222.6, 111.3,   0. ]]), 'm')
    """
    from .distances import distance_to_outlet as _to_outlet

    network, grid = _resolve(obj, network, **dims)
    w, units = _distance_weights(obj, network, grid, weights, per)
    out = _grid(_to_outlet(network, w, per=per), obj, grid, "distance_to_outlet", {})
    return out.assign_attrs(units=units) if units else out


def distance_to_source(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    weights: Any = None,
    *,
    path: str = "longest",
    per: str = "edge",
    **dims: Any,
) -> xr.DataArray:
    """Distance up to the farthest or nearest source.

    See :func:`xhydro_accessor.hydrology.distances.distance_to_source`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
    >>> distance_to_source(xr.DataArray(np.zeros((1, 3)), dims=("y", "x")), net).values
    array([[0., 1., 2.]])
    """
    from .distances import distance_to_source as _to_source

    network, grid = _resolve(obj, network, **dims)
    w, units = _distance_weights(obj, network, grid, weights, per)
    out = _grid(_to_source(network, w, path=path, per=per), obj, grid, "distance_to_source", {})  # type: ignore[arg-type]
    return out.assign_attrs(units=units) if units else out


def distance_from_points(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    network: RiverNetwork | None = None,
    weights: Any = None,
    *,
    downstream: bool = True,
    upstream: bool = False,
    how: str = "min",
    per: str = "edge",
    snap: float | str = 0,
    **dims: Any,
) -> xr.DataArray:
    """Distance along the network from or to the locations.

    See :func:`xhydro_accessor.hydrology.distances.distance_from_points`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
    >>> distance_from_points(xr.DataArray(np.zeros((1, 3)), dims=("y", "x")), [(0, 1)], net).values
    array([[nan,  0.,  1.]])
    """
    from .distances import distance_from_points as _from_points

    network, grid = _resolve(obj, network, **dims)
    w, units = _distance_weights(obj, network, grid, weights, per)
    values = _from_points(
        network, locate(network, locations, snap=snap), w,
        downstream=downstream, upstream=upstream, how=how, per=per,  # type: ignore[arg-type]
    )  # fmt: skip
    out = _grid(values, obj, grid, "distance", {})
    return out.assign_attrs(units=units) if units else out


# ------------------------------------------------------------ upstream area
def upstream_area(
    obj: xr.DataArray | xr.Dataset,
    network: RiverNetwork | None = None,
    *,
    units: str = "m2",
    **dims: Any,
) -> xr.DataArray:
    """Upstream area from the grid's cell areas.

    See :func:`xhydro_accessor.hydrology.upstream_area.upstream_area`.

    Cell areas: the CF ``cell_measures`` area variable when named (its ``units``
    converted to m²; a variable without units raises rather than being read as m²), else
    :func:`xhydro_accessor.units.cell_area` of the grid from its CRS (see
    :mod:`xhydro_accessor.geometry`); a grid with neither CRS nor degrees raises
    :class:`~xhydro_accessor.geometry.UnknownGeometryError`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> grid = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords={"y": [1e3, 0.0], "x": [0.0, 1e3]})
    >>> upstream_area(grid, RiverNetwork.from_ldd(np.array([[6, 5], [9, 8]])), units="km2", crs=3035).values
    array([[1., 4.],
           [1., 1.]])
    >>> da = xr.DataArray(np.zeros((1, 2)), dims=("y", "x"), coords={"y": [0.0], "x": [0.0, 1000.0]})
    >>> da = da.assign_coords(area=(("y", "x"), np.full((1, 2), 1.0), {"units": "km2"}))
    >>> da.attrs["cell_measures"] = "area: area"
    >>> upstream_area(da, RiverNetwork.from_ldd(np.array([[6, 5]])), units="km2").values
    array([[1., 2.]])
    """
    from ..accessor import _weights
    from .upstream_area import upstream_area as _upstream_area

    network, grid = _resolve(obj, network, **dims)
    area = _weights("area", obj if isinstance(obj, xr.DataArray) else obj[list(obj.data_vars)[0]], None, grid,
                    network.crs)  # fmt: skip
    if isinstance(area, xr.DataArray):  # a cell_measures variable: its units, converted to m2
        if "units" not in area.attrs:
            raise ValueError(
                f"the cell area variable {area.name!r} (cell_measures) has no units attribute: "
                "set attrs['units'] (e.g. 'm2' or 'km2')"
            )
        from ..units import convert_units

        area = convert_units(area, "m2")
    area = _data(area if isinstance(area, xr.DataArray) else xr.DataArray(area, dims=grid), grid, obj)
    values = _upstream_area(network, area, units=units)  # type: ignore[arg-type]
    return _grid(values, obj, grid, "upstream_area", {"units": units, "long_name": "upstream area"})


# --------------------------------------------------------------- subnetworks
def upstream_subnetwork(
    obj: xr.DataArray | xr.Dataset,
    locations: Any,
    network: RiverNetwork | None = None,
    *,
    snap: float | str = 0,
    **dims: Any,
):
    """The object cropped to the area draining to the locations, with that subnetwork attached.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5], [255, 9, 8, 7]]))
    >>> da = xr.DataArray(np.arange(8.0).reshape(2, 4), dims=("y", "x")).hydro.assign_network(net)
    >>> sub = upstream_subnetwork(da, [(0, 1)])
    >>> sub.values, sub.hydro.network.outlets
    (array([[0., 1.]]), array([1]))
    """
    from .subnetwork import upstream_subnetwork as _upstream_subnetwork

    network, grid = _resolve(obj, network, **dims)
    return _cut(obj, grid, _upstream_subnetwork(network, locate(network, locations, snap=snap)))


def subnetwork(obj: xr.DataArray | xr.Dataset, mask: Any, network: RiverNetwork | None = None, **dims: Any):
    """The object cropped to the cells of ``mask``, with their subnetwork attached.

    Flow leaving the selection makes outlets; sources are recomputed.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5], [255, 9, 8, 7]]))
    >>> da = xr.DataArray(np.arange(8.0).reshape(2, 4), dims=("y", "x")).hydro.assign_network(net)
    >>> sub = subnetwork(da, da > 4)  # the bottom row: each cell drained north, now an outlet
    >>> sub.values, sub.hydro.network.outlets
    (array([[5., 6., 7.]]), array([0, 1, 2]))
    """
    from .subnetwork import subnetwork as _subnetwork

    network, grid = _resolve(obj, network, **dims)
    if isinstance(mask, xr.DataArray):
        mask = mask.transpose(*grid).values
    return _cut(obj, grid, _subnetwork(network, mask))


def _cut(obj, grid, sub):
    """``obj`` on the subnetwork's grid (a crop or a node selection), the subnetwork attached."""
    if len(grid) == 1:
        return obj.hydro.drop_network().isel({grid[0]: sub.index}).hydro.assign_network(sub.network)
    rows, cols = np.divmod(sub.index[[0, -1]], sub.parent_shape[-1])
    window = {grid[0]: slice(rows[0], rows[1] + 1), grid[1]: slice(cols[0], cols[1] + 1)}
    cropped = obj.hydro.drop_network().isel(window)
    return cropped.hydro.assign_network(sub.network, y_dim=grid[0], x_dim=grid[1])
