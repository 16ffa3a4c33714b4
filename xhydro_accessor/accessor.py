"""The ``.hydro`` accessor on :class:`xarray.DataArray` and :class:`xarray.Dataset`.

Importing this module registers it. Each method resolves the network (given, or
attached as a coordinate), the spatial dims and the weights, then calls
:func:`xhydro_accessor.xarray_ops.apply`.

Examples
--------
>>> import numpy as np, xarray as xr
>>> import xhydro_accessor.accessor
>>> from xhydro_accessor import RiverNetwork
>>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
>>> runoff = xr.DataArray(np.ones((2, 2, 3)), dims=("time", "y", "x"), attrs={"units": "mm"})
>>> runoff = runoff.hydro.assign_network(net)
>>> runoff.hydro.accumulate().isel(time=0).values
array([[1., 1., 1.],
       [1., 6., 1.]])
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Generic, TypeVar

import xarray as xr

from .backend import HydroBackendEntrypoint
from .hydrology import xarray_layer
from .layout import layout_of
from .network import RiverNetwork
from .network_codec import (
    DOWNSTREAM_ID,
    FLOW_DIRECTION,
    decode_network,
    is_network_coordinate,
)
from .network_index import NetworkIndex, network_coordinates
from .operations import How
from .units import cell_area, find_cell_area
from .xarray_ops import align_nodes, apply, check_grid, grid_dims, on_grid

T = TypeVar("T", xr.DataArray, xr.Dataset)

_NO_NETWORK = (
    "no river network given and none attached: pass network=RiverNetwork.from_ldd(...) "
    "or attach one with obj = obj.hydro.assign_network(network)"
)


@xr.register_dataset_accessor("hydro")
@xr.register_dataarray_accessor("hydro")
class HydroAccessor(Generic[T]):
    """River-network operations on xarray objects: ``obj.hydro.<method>``.

    On a Dataset the operations apply to every data variable having the spatial
    dims; the others pass through unchanged.
    """

    __slots__ = ("_obj",)

    def __init__(self, obj: T):
        self._obj = obj

    # ------------------------------------------------------------ the network
    @property
    def network(self) -> RiverNetwork:
        """The attached network, with the object's dims and coordinates.

        Taken from the :class:`~xhydro_accessor.network_index.NetworkIndex` when
        present, else rebuilt from the coordinate (e.g. after reopening a file).

        Raises
        ------
        ValueError
            No network is attached.
        """
        found = self._find()
        if found is None:
            raise ValueError(_NO_NETWORK)
        return found[0]

    def assign_network(
        self,
        network: RiverNetwork | None = None,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        name: Hashable | None = None,
        crs: Any = None,
    ) -> T:
        """Attach ``network`` as a coordinate over the spatial dims, with its index.

        The coordinate (``flow_direction(y, x)``, or ``downstream_id(node)`` for
        vector networks; see :mod:`xhydro_accessor.network_codec`) is named in the
        ``coordinates`` encoding of every data variable on the grid, so it is
        written to files and kept by ``ds.cf[...]``.

        Without ``network``, (re)builds the index of the network coordinate the
        object already has, e.g. after ``xr.open_dataset``, which gives the codes
        back without their index (see :func:`open_dataset`): the network is then
        decoded once, and combining the object with one on another network raises.

        ``crs`` (default: the object's, else the network's) is stored with the
        network: as ``crs_wkt`` on the coordinate, so a file written and reopened
        keeps it.

        Raises
        ------
        GridMismatchError
            The object's grid differs from the network's (shape or coordinates).
        ValueError
            No ``network`` given and no network coordinate on the object.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
        >>> da = xr.DataArray([[1.0, 2.0]], dims=("y", "x")).hydro.assign_network(net)
        >>> da.flow_direction.values, da.flow_direction.attrs["convention"]
        (array([[6, 5]], dtype=uint8), 'ldd')
        >>> da.hydro.network == net
        True
        >>> reopened = da.drop_indexes("flow_direction")  # as xr.open_dataset gives it
        >>> type(reopened.hydro.assign_network().xindexes["flow_direction"]).__name__
        'NetworkIndex'
        """
        if network is None:
            obj = self._index_coordinate()
            return obj if crs is None else obj.hydro.assign_network(obj.hydro.network, crs=crs)
        obj = self.drop_network() if self._find(check=False) is not None else self._obj
        dims = grid_dims(obj, network, x_dim, y_dim)
        network = align_nodes(obj, network, dims)
        check_grid(obj, network, dims)
        if len(dims) == 2:
            network = on_grid(obj, network, dims, crs)
        if name is None:
            name = DOWNSTREAM_ID if len(dims) == 1 else FLOW_DIRECTION
        ids = obj[dims[0]].values if len(dims) == 1 and dims[0] in obj.coords else network.ids
        layout = layout_of(obj, dims)
        obj = obj.assign_coords(network_coordinates(_bare(network, ids), name, dims, layout))
        return _name_in_encoding(obj, name, dims)

    def _index_coordinate(self) -> T:
        obj = self._obj
        names = [n for n, c in obj.coords.items() if is_network_coordinate(c.variable)]
        names += [n for n, i in obj.xindexes.items() if isinstance(i, NetworkIndex) and n not in names]
        if not names:
            raise ValueError(
                "no river network coordinate (attrs hydro_role: flow_direction) to index: "
                "pass the network, obj.hydro.assign_network(network)"
            )
        for name in names:
            coord = obj[name]
            ids = _node_ids(obj, coord.dims)
            if name in obj.xindexes:
                obj = obj.drop_indexes(name)
            options = {"layout": layout_of(obj, coord.dims)} | ({} if ids is None else {"ids": ids})
            obj = obj.set_xindex(name, NetworkIndex, **options)
        return obj

    def drop_network(self) -> T:
        """The object without the network coordinate (and its index)."""
        found = self._find(check=False)
        return self._obj if found is None else self._obj.drop_vars(found[1])

    def _find(self, check: bool = True) -> tuple[RiverNetwork, Hashable, tuple[Hashable, ...]] | None:
        obj = self._obj
        xindexes = obj.xindexes
        for name, index in xindexes.items():
            if isinstance(index, NetworkIndex):
                if check:
                    _check_fresh(obj, name, index, xindexes.variables[name])
                return self._with_grid(index.network, name, index.dims), name, index.dims
        for name, coord in obj.coords.items():
            if is_network_coordinate(coord.variable):
                ids = _node_ids(obj, coord.dims)
                return (
                    self._with_grid(
                        decode_network(coord.variable, ids, layout_of(obj, coord.dims)), name, coord.dims
                    ),
                    name,
                    coord.dims,
                )
        return None

    def _with_grid(self, network: RiverNetwork, name, dims) -> RiverNetwork:
        return on_grid(self._obj, network, tuple(dims))

    # ------------------------------------------------------------- operations
    def accumulate(
        self,
        network: RiverNetwork | None = None,
        how: How = "sum",
        weights: Any = None,
        skipna: bool = False,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        warn_nan: bool = True,
    ) -> T:
        """Reduce over each cell's whole upstream area, the cell itself included.

        The xarray face of :func:`xhydro_accessor.accumulate` (see it for ``how``,
        NaN policy — propagate unless ``skipna`` — dtypes and fill values).

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        how : {"sum", "mean", "min", "max", "std", "var"}
        weights : DataArray, array, or str, optional
            Per-cell (or per-member) weights; a string names a coordinate or
            variable (of a Dataset: that variable is not accumulated itself), and
            ``"area"``, where no coordinate or variable has that name, the CF
            ``cell_measures`` area variable or else
            :func:`~xhydro_accessor.units.cell_area` of the grid.
        skipna : bool, default False
        x_dim, y_dim : hashable, optional
            The spatial dims, if they cannot be found from CF axes or their names.
        warn_nan : bool, default True
            With ``skipna=False``, warn (:class:`~xhydro_accessor.NaNPropagationWarning`)
            when NaN on network cells spread to results (numpy-backed data; see
            :func:`xhydro_accessor.accumulate`).

        Returns
        -------
        DataArray or Dataset
            Same dims, coordinates and attrs; ``units`` per
            :func:`~xhydro_accessor.units.result_units`; a sum with units of
            volume flux gets CF ``standard_name: water_volume_transport_in_river_channel``.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
        >>> da = xr.DataArray([[1.0, 2.0, 3.0, 4.0]], dims=("y", "x"), attrs={"units": "m3 s-1"})
        >>> q = da.hydro.accumulate(net)
        >>> q.values, q.attrs["standard_name"]
        (array([[ 1.,  3.,  6., 10.]]), 'water_volume_transport_in_river_channel')
        """
        return self._apply("accumulate", network, how, weights, skipna, x_dim, y_dim, warn_nan)

    def accumulate_downstream(
        self,
        network: RiverNetwork | None = None,
        how: How = "sum",
        weights: Any = None,
        skipna: bool = False,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        warn_nan: bool = True,
    ) -> T:
        """Reduce along the path from each cell to its outlet, the cell included.

        Parameters and returns as in :meth:`accumulate`.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
        >>> xr.DataArray([[1.0, 2.0, 3.0, 4.0]], dims=("y", "x")).hydro.accumulate_downstream(net).values
        array([[6., 5., 3., 4.]])
        """
        return self._apply("accumulate_downstream", network, how, weights, skipna, x_dim, y_dim, warn_nan)

    def move_downstream(
        self,
        network: RiverNetwork | None = None,
        how: How = "sum",
        weights: Any = None,
        skipna: bool = False,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
    ) -> T:
        """Each cell receives the reduction of its direct upstream neighbours (not itself).

        Parameters and returns as in :meth:`accumulate`; see
        :func:`xhydro_accessor.move_downstream` for the values at sources.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
        >>> xr.DataArray([[1.0, 2.0, 3.0, 4.0]], dims=("y", "x")).hydro.move_downstream(net).values
        array([[0., 1., 2., 3.]])
        """
        return self._apply("move_downstream", network, how, weights, skipna, x_dim, y_dim)

    def move_upstream(
        self,
        network: RiverNetwork | None = None,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
    ) -> T:
        """Each cell receives its downstream cell's value (NaN / fill value at outlets).

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
        >>> xr.DataArray([[1.0, 2.0, 3.0, 4.0]], dims=("y", "x")).hydro.move_upstream(net).values
        array([[ 2.,  3., nan, nan]])
        """
        return self._apply("move_upstream", network, "sum", None, False, x_dim, y_dim)

    def cell_area(
        self, x_dim: Hashable | None = None, y_dim: Hashable | None = None, *, crs: Any = None
    ) -> xr.DataArray:
        """Cell areas in m² of the object's grid (see :func:`xhydro_accessor.units.cell_area`).

        ``crs`` defaults to the object's, else the attached network's.
        """
        if crs is None:
            found = self._find(check=False)
            crs = found[0].crs if found is not None else None
        return cell_area(self._obj, x_dim, y_dim, crs=crs)

    def plot_network(self, **kwargs: Any) -> Any:
        """Draw the attached river network, line width by upstream area (the object's values).

        See :func:`xhydro_accessor.plot.plot_network` for the options (matplotlib needed).
        """
        from .plot import plot_network

        return plot_network(self._obj, **kwargs)

    def plot_catchments(self, **kwargs: Any) -> Any:
        """Colour the object's catchment labels (e.g. from ``.hydro.catchments``), 0 left blank.

        See :func:`xhydro_accessor.plot.plot_catchments` for the options (``gauges=``, ``ax=`` …).
        """
        from .plot import plot_catchments

        return plot_catchments(self._obj, **kwargs)

    # --------------------------------------------------------------- plumbing
    def _apply(self, op, network, how, weights, skipna, x_dim, y_dim, warn_nan=True) -> T:
        obj = self._obj
        found = self._find()
        coord_dims = found[2] if found is not None else None
        if network is None:
            if found is None:
                raise ValueError(_NO_NETWORK)
            network = found[0]
        dims = grid_dims(obj, network, x_dim, y_dim, coord_dims)
        crs = on_grid(obj, network, dims).crs if len(dims) == 2 else None
        if isinstance(obj, xr.DataArray):
            w = _weights(weights, obj, None, dims, crs)
            return apply(op, obj, network, dims, how, w, skipna, warn_nan)
        out = obj.copy()
        for name, var in obj.data_vars.items():
            if set(dims) <= set(var.dims) and not (isinstance(weights, str) and name == weights):
                w = _weights(weights, var, obj, dims, crs)
                out[name] = apply(op, var, network, dims, how, w, skipna, warn_nan)
        return out


#: Catalogue operations (see :mod:`xhydro_accessor.hydrology.xarray_layer`), each a method
#: ``obj.hydro.<name>(...)`` calling ``xarray_layer.<name>(obj, ...)``.
CATALOGUE = (
    "catchments",
    "basins",
    "upstream_mask",
    "downstream_mask",
    "catchment_statistics",
    "strahler",
    "shreve",
    "distance_to_outlet",
    "distance_to_source",
    "distance_from_points",
    "upstream_area",
    "upstream_subnetwork",
    "subnetwork",
)


def _delegate(function):
    def method(self, *args, **kwargs):
        return function(self._obj, *args, **kwargs)

    name = function.__name__
    summary = function.__doc__.strip().split("\n\n")[0]
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"{summary}\n\nSee :func:`xhydro_accessor.hydrology.xarray_layer.{name}`."
    return method


for _name in CATALOGUE:
    setattr(HydroAccessor, _name, _delegate(getattr(xarray_layer, _name)))


def _weights(weights, da: xr.DataArray, dataset: xr.Dataset | None, dims, crs: Any = None) -> Any:
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
        return cell_area(da, x_dim, y_dim, crs=crs)
    raise KeyError(f"weights={weights!r} names no coordinate or variable of the object")


def _name_in_encoding(obj: T, name: Hashable, dims) -> T:
    obj = obj.copy(deep=False)  # new Variable objects: the caller's encodings stay untouched
    variables = [obj.variable] if isinstance(obj, xr.DataArray) else [obj[k].variable for k in obj.data_vars]
    for var in variables:
        if set(dims) <= set(var.dims):
            names = str(var.encoding.get("coordinates", "")).split()
            others = [str(c) for c in obj.coords if c not in obj.dims and set(obj[c].dims) <= set(var.dims)]
            var.encoding["coordinates"] = " ".join(dict.fromkeys([*names, *others, str(name)]))
    return obj


def _bare(network: RiverNetwork, ids) -> RiverNetwork:
    return network.with_grid(network.dims, {}, ids)


def _node_ids(obj, dims) -> Any:
    return obj[dims[0]].values if len(dims) == 1 and dims[0] in obj.coords else None


def _check_fresh(obj, name: Hashable, index: NetworkIndex, variable: xr.Variable) -> None:
    """Raise if the coordinate no longer encodes the network its index caches.

    The index's codes are read-only, so the coordinate it made is checked in O(1);
    a copy costs one comparison of the codes (well under 1 ms for a million cells);
    a dask coordinate (``.chunk()`` chunks it) is not computed for the check.
    """
    if index.matches(variable, _node_ids(obj, variable.dims), compute=False) is False:
        raise ValueError(
            f"the {name!r} coordinate no longer encodes the river network cached by its index "
            "(its values were changed after the network was attached); attach the network "
            "again: obj.hydro.assign_network() rebuilds it from the coordinate, "
            "obj.hydro.assign_network(network) replaces both"
        )


def open_dataset(*args: Any, **kwargs: Any) -> xr.Dataset:
    """``xr.open_dataset(..., engine="hydro")``: the river network indexed again.

    A file written with an attached network holds its codes as a coordinate;
    xarray's own engines read them back without the
    :class:`~xhydro_accessor.network_index.NetworkIndex`. The ``hydro`` engine
    (:class:`~xhydro_accessor.backend.HydroBackendEntrypoint`) opens the file with
    netCDF4, h5netcdf or zarr and decodes the network once, as
    ``obj.hydro.assign_network()`` does. Files without a network coordinate are
    returned as opened. Same arguments as :func:`xarray.open_dataset` (``chunks=``
    …); ``engine=`` names the engine reading the file (the ``backend=`` option of
    ``hydro``).
    """
    return xr.open_dataset(*args, **_hydro_engine(kwargs))


def open_dataarray(*args: Any, **kwargs: Any) -> xr.DataArray:
    """``xr.open_dataarray(..., engine="hydro")``: the network indexed again (see :func:`open_dataset`)."""
    return xr.open_dataarray(*args, **_hydro_engine(kwargs))


def _hydro_engine(kwargs: dict[str, Any]) -> dict[str, Any]:
    engine = kwargs.pop("engine", None)
    return kwargs | {"engine": HydroBackendEntrypoint} | ({} if engine is None else {"backend": engine})
