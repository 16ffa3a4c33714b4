"""The ``.hydro`` accessor on :class:`xarray.DataArray` and :class:`xarray.Dataset`.

Importing this module registers it. The accessor is thin: each method calls the
xarray layer (:mod:`xhydro_accessor.xarray_ops`, which resolves the network —
given, or attached as a coordinate —, the spatial dims, the weights and the grid
checks once, and :mod:`xhydro_accessor.hydrology.xarray_layer` for the catalogue).
Every method takes the spatial dims as ``x_dim=``/``y_dim=`` (found from CF axes
or names when not given; ``x_dim`` names the node dim of a vector network).

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
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import xarray as xr

from .backend import HydroBackendEntrypoint
from .backends import Engine
from .hydrology import xarray_layer
from .hydrology.catchments import Statistic
from .network import RiverNetwork
from .node_vectors import Output
from .operations import How
from .xarray_ops import apply, assign_network, attached_network, cell_area, drop_network

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import LineCollection
    from matplotlib.image import AxesImage

T = TypeVar("T", xr.DataArray, xr.Dataset)

#: The catalogue methods (:mod:`xhydro_accessor.hydrology.xarray_layer`): ``obj.hydro.<name>(...)``
#: is ``xarray_layer.<name>(obj, ...)``.
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
    "stream_order",
    "subbasins",
    "subnetwork",
    "streams",
    "stream_segments",
    "catchment_polygons",
    "flow_path",
    "main_stem",
)


@xr.register_dataset_accessor("hydro")
@xr.register_dataarray_accessor("hydro")
class HydroAccessor(Generic[T]):
    """River-network operations on xarray objects: ``obj.hydro.<method>``.

    On a Dataset the operations apply to every data variable having the spatial
    dims; the others pass through unchanged.
    """

    __slots__ = ("_obj",)
    _obj: T

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

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
        >>> xr.DataArray([[1.0, 2.0]], dims=("lat", "lon")).hydro.assign_network(net).hydro.network.dims
        ('lat', 'lon')
        """
        return attached_network(self._obj)

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
        return assign_network(self._obj, network, x_dim=x_dim, y_dim=y_dim, name=name, crs=crs)

    def drop_network(self) -> T:
        """The object without the network coordinate (and its index).

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
        >>> da = xr.DataArray([[1.0, 2.0]], dims=("y", "x")).hydro.assign_network(net)
        >>> list(da.coords), list(da.hydro.drop_network().coords)
        (['flow_direction'], [])
        """
        return drop_network(self._obj)

    # ------------------------------------------------------------- operations
    def accumulate(
        self,
        network: RiverNetwork | None = None,
        how: How = "sum",
        weights: Any = None,
        skipna: bool = False,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        warn_nan: bool = True,
        engine: Engine = "auto",
        edge_weights: Any = None,
        output: Output = "grid",
        q: Any = None,
        method: str | None = None,
    ) -> T:
        """Reduce over each cell's whole upstream area, the cell itself included.

        The xarray face of :func:`xhydro_accessor.accumulate` (see it for ``how``,
        NaN policy — propagate unless ``skipna`` — dtypes and fill values).

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        how : {"sum", "mean", "min", "max", "std", "var", "skew", "median", "percentile", "mode"}
        weights : DataArray, array, or str, optional
            Per-cell (or per-member) weights; a string names a coordinate or
            variable (of a Dataset: that variable is not accumulated itself), and
            ``"area"``, where no coordinate or variable has that name, the CF
            ``cell_measures`` area variable or else
            :meth:`cell_area` of the grid.
        skipna : bool, default False
        x_dim, y_dim : hashable, optional
            The spatial dims, if they cannot be found from CF axes or their names.
        warn_nan : bool, default True
            With ``skipna=False``, warn (:class:`~xhydro_accessor.NaNPropagationWarning`)
            when NaN on network cells spread to results (numpy-backed data; see
            :func:`xhydro_accessor.accumulate`).
        engine : {"auto", "numba", "xp"}, default "auto"
            The engine of the array-level operation (see :func:`xhydro_accessor.accumulate`).
        edge_weights : DataArray, array or str, optional
            A weight per cell for the link to its downstream cell, multiplying what moves
            along it (earthkit-hydro's ``edge_weights``; see :func:`xhydro_accessor.accumulate`):
            a DataArray over the spatial dims, an array of the grid's shape, or the name of
            a coordinate or variable.
        output : {"grid", "nodes"}, default "grid"
            ``"nodes"``: a DataArray over a ``node`` dim instead of the spatial dims, the
            network's cells in ``network.nodes`` order, with the coordinates of each
            node's cell (the spatial dims' coordinates, e.g. ``y``/``x``, along ``node``).
        q, method : optional
            Percentile(s) in [0, 100] of ``how="percentile"`` (several: a leading
            ``quantile`` dim, coordinate ``q / 100``) and numpy's quantile method of
            ``median``/``percentile`` (see :func:`xhydro_accessor.accumulate`).

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
        return apply(
            "accumulate",
            self._obj,
            network,
            how,
            weights,
            skipna,
            x_dim=x_dim,
            y_dim=y_dim,
            warn_nan=warn_nan,
            engine=engine,
            edge_weights=edge_weights,
            output=output,
            q=q,
            method=method,
        )

    def accumulate_downstream(
        self,
        network: RiverNetwork | None = None,
        how: How = "sum",
        weights: Any = None,
        skipna: bool = False,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        warn_nan: bool = True,
        engine: Engine = "auto",
        edge_weights: Any = None,
        output: Output = "grid",
        q: Any = None,
        method: str | None = None,
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
        return apply(
            "accumulate_downstream",
            self._obj,
            network,
            how,
            weights,
            skipna,
            x_dim=x_dim,
            y_dim=y_dim,
            warn_nan=warn_nan,
            engine=engine,
            edge_weights=edge_weights,
            output=output,
            q=q,
            method=method,
        )

    def move_downstream(
        self,
        network: RiverNetwork | None = None,
        how: How = "sum",
        weights: Any = None,
        skipna: bool = False,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        engine: Engine = "auto",
        output: Output = "grid",
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
        return apply(
            "move_downstream",
            self._obj,
            network,
            how,
            weights,
            skipna,
            x_dim=x_dim,
            y_dim=y_dim,
            engine=engine,
            output=output,
        )

    def move_upstream(
        self,
        network: RiverNetwork | None = None,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        engine: Engine = "auto",
        output: Output = "grid",
    ) -> T:
        """Each cell receives its downstream cell's value (NaN / fill value at outlets).

        ``engine`` and ``output`` as in :meth:`accumulate`.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
        >>> xr.DataArray([[1.0, 2.0, 3.0, 4.0]], dims=("y", "x")).hydro.move_upstream(net).values
        array([[ 2.,  3., nan, nan]])
        """
        return apply(
            "move_upstream", self._obj, network, x_dim=x_dim, y_dim=y_dim, engine=engine, output=output
        )

    def cell_area(
        self, *, x_dim: Hashable | None = None, y_dim: Hashable | None = None, crs: Any = None
    ) -> xr.DataArray:
        """Area of each grid cell in m², from 1-D cell-centre coordinates and the CRS.

        ``crs`` defaults to the object's (:func:`xhydro_accessor.geometry.crs_of`),
        else the attached network's. See :func:`xhydro_accessor.xarray_ops.cell_area`
        for the earth model and the grids without a CRS.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> coords = {"y": [1000.0, 0.0], "x": [0.0, 1000.0]}
        >>> xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords=coords).hydro.cell_area(crs=3035).values
        array([[1000000., 1000000.],
               [1000000., 1000000.]])
        """
        return cell_area(self._obj, x_dim=x_dim, y_dim=y_dim, crs=crs)

    def plot_network(
        self,
        upstream_area: Any = None,
        *,
        ax: Axes | None = None,
        min_area: float | None = None,
        max_width: float = 3.0,
        color: Any = "#1f5fa8",
        **kwargs: Any,
    ) -> LineCollection:
        """Draw the attached river network, line width by upstream area (the object's values).

        See :func:`xhydro_accessor.plot.plot_network` for the options (matplotlib
        needed); ``**kwargs`` go to :class:`matplotlib.collections.LineCollection`.

        Examples
        --------
        >>> import numpy as np, pytest, xarray as xr
        >>> _ = pytest.importorskip("matplotlib")
        >>> from xhydro_accessor import accumulate
        >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
        >>> area = xr.DataArray(accumulate(net, np.ones((2, 3))), dims=("y", "x")).hydro.assign_network(net)
        >>> len(area.hydro.plot_network(min_area=0).get_segments())  # one segment per cell with a downstream
        5
        """
        from .plot import plot_network

        return plot_network(
            self._obj, upstream_area, ax=ax, min_area=min_area, max_width=max_width, color=color, **kwargs
        )

    def plot_catchments(
        self,
        network: Any = None,
        *,
        gauges: Any = None,
        ax: Axes | None = None,
        cmap: str = "tab20",
        **kwargs: Any,
    ) -> AxesImage:
        """Colour the object's catchment labels (e.g. from :meth:`catchments`), 0 left blank.

        See :func:`xhydro_accessor.plot.plot_catchments` for the options (``gauges=``,
        ``ax=`` …; matplotlib needed); ``**kwargs`` go to :meth:`matplotlib.axes.Axes.imshow`.

        Examples
        --------
        >>> import numpy as np, pytest, xarray as xr
        >>> _ = pytest.importorskip("matplotlib")
        >>> net = RiverNetwork.from_ldd(np.array([[6, 5, 4, 5]]))
        >>> labels = xr.DataArray(np.zeros((1, 4)), dims=("y", "x")).hydro.basins(net)
        >>> labels.hydro.plot_catchments(net).get_array().count()  # every cell is in a basin
        4
        """
        from .plot import plot_catchments

        return plot_catchments(self._obj, network, gauges=gauges, ax=ax, cmap=cmap, **kwargs)

    # -------------------------------------------------------------- catalogue
    def catchments(
        self,
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

        Parameters
        ----------
        locations : dict, array-like, xarray object or Locations
            Gauges or points in any form :func:`~xhydro_accessor.locate` takes, e.g.
            ``{name: (y, x)}`` in the grid's coordinates.
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        nested : bool, default False
            False: each location's whole upstream area; True: only the area between
            it and the locations upstream of it.
        snap : float or str, default 0
            Search radius (cells, or a length such as ``"5 km"``): each location moves
            to the network cell of largest upstream area within it.
        area : float or array-like of float, optional
            The reported upstream area of each location in km², to snap to (see
            :func:`~xhydro_accessor.locate`).
        locations_crs : pyproj.CRS, str or int, optional
            The CRS of the locations' coordinates; default the grid's.
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``catchment`` labels (int32) on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> coords = {"y": [0.5], "x": [0.5, 1.5, 2.5, 3.5]}
        >>> da = xr.DataArray(np.zeros((1, 4)), dims=("y", "x"), coords=coords)
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
        >>> labels = da.hydro.catchments({"up": (0.5, 1.5), "mouth": (0.5, 3.5)}, net, nested=True)
        >>> labels.values, labels.attrs["flag_meanings"]
        (array([[1, 1, 2, 2]], dtype=int32), 'up mouth')
        """
        return xarray_layer.catchments(
            self._obj,
            locations,
            network,
            nested=nested,
            snap=snap,
            area=area,
            locations_crs=locations_crs,
            x_dim=x_dim,
            y_dim=y_dim,
            crs=crs,
        )

    def basins(
        self,
        network: RiverNetwork | None = None,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """Basin labels, one per outlet (see :func:`xhydro_accessor.hydrology.catchments.basins`).

        0 off the network (the ``_FillValue``); ``valid_min``/``valid_max`` give the label range.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``basin`` labels (int32) on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[5, 4, 6, 5]]))
        >>> xr.DataArray(np.zeros((1, 4)), dims=("y", "x")).hydro.basins(net).values
        array([[1, 1, 2, 2]], dtype=int32)
        """
        return xarray_layer.basins(self._obj, network, x_dim=x_dim, y_dim=y_dim, crs=crs)

    def upstream_mask(
        self,
        locations: Any,
        network: RiverNetwork | None = None,
        *,
        snap: float | str = 0,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """True where cells drain to one of the locations.

        See :func:`xhydro_accessor.hydrology.catchments.upstream_mask`.

        Parameters
        ----------
        locations : dict, array-like, xarray object or Locations
            Gauges or points in any form :func:`~xhydro_accessor.locate` takes, e.g.
            ``{name: (y, x)}`` in the grid's coordinates.
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        snap : float or str, default 0
            Search radius (cells, or a length such as ``"5 km"``): each location moves
            to the network cell of largest upstream area within it.
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            Booleans on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
        >>> xr.DataArray(np.zeros((1, 4)), dims=("y", "x")).hydro.upstream_mask([(0, 1)], net).values
        array([[ True,  True, False, False]])
        """
        return xarray_layer.upstream_mask(
            self._obj, locations, network, snap=snap, x_dim=x_dim, y_dim=y_dim, crs=crs
        )

    def downstream_mask(
        self,
        locations: Any,
        network: RiverNetwork | None = None,
        *,
        snap: float | str = 0,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """True on the flow paths from the locations.

        See :func:`xhydro_accessor.hydrology.catchments.downstream_mask`.

        Parameters
        ----------
        locations : dict, array-like, xarray object or Locations
            Gauges or points in any form :func:`~xhydro_accessor.locate` takes, e.g.
            ``{name: (y, x)}`` in the grid's coordinates.
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        snap : float or str, default 0
            Search radius (cells, or a length such as ``"5 km"``): each location moves
            to the network cell of largest upstream area within it.
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            Booleans on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
        >>> xr.DataArray(np.zeros((1, 4)), dims=("y", "x")).hydro.downstream_mask([(0, 1)], net).values
        array([[False,  True,  True,  True]])
        """
        return xarray_layer.downstream_mask(
            self._obj, locations, network, snap=snap, x_dim=x_dim, y_dim=y_dim, crs=crs
        )

    def catchment_statistics(
        self,
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
        engine: Engine = "auto",
        method: str | None = None,
    ) -> xr.DataArray:
        """Reduce a field over the catchment of each location: spatial dims → ``station``.

        The xarray face of :func:`xhydro_accessor.hydrology.catchments.catchment_statistics`
        (see it for ``how``, ``nested``, NaN policy and dtypes). Batch dims (member,
        time) are kept and stay lazy on dask (one task per chunk); several
        percentiles add a leading ``quantile`` dim.

        Parameters
        ----------
        locations : dict, array-like, xarray object or Locations
            Gauges or points in any form :func:`~xhydro_accessor.locate` takes, e.g.
            ``{name: (y, x)}`` in the grid's coordinates.
        how : {"sum", "mean", "min", "max", "std", "var", "skew", "median", "percentile", "mode"}
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        nested : bool, default False
            Only the area between a location and the locations upstream of it.
        weights : DataArray, array or str, optional
            As in :meth:`accumulate` (a string names a coordinate, or ``"area"``).
        skipna : bool, default False
        q : float or 1-D array-like, optional
            Percentile(s) in [0, 100] for ``how="percentile"``.
        snap : float or str, default 0
            Search radius (cells, or a length such as ``"5 km"``): each location moves
            to the network cell of largest upstream area within it.
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.
        engine : {"auto", "numba", "xp"}, default "auto"
            The engine of the array-level statistics (see
            :func:`xhydro_accessor.catchment_statistics`).
        method : str, optional
            numpy's quantile method of ``median``/``percentile`` (see
            :func:`xhydro_accessor.catchment_statistics`).

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
        >>> out = rain.hydro.catchment_statistics({"A": (5.0, 20.0), "B": (5.0, 40.0)}, "max", net)
        >>> out.dims, out.station.values.tolist(), out.x.values.tolist(), out.values
        (('time', 'station'), ['A', 'B'], [20.0, 40.0], array([[2., 4.]]))
        """
        return xarray_layer.catchment_statistics(
            self._obj,
            locations,
            how,
            network,
            nested=nested,
            weights=weights,
            skipna=skipna,
            q=q,
            snap=snap,
            x_dim=x_dim,
            y_dim=y_dim,
            crs=crs,
            engine=engine,
            method=method,
        )

    def strahler(
        self,
        network: RiverNetwork | None = None,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """Strahler order on the object's grid (see :func:`xhydro_accessor.hydrology.stream_order.strahler`).

        Off the network :func:`~xhydro_accessor.fill_value` of the dtype, declared as the
        ``_FillValue`` encoding (written to files as missing); ``valid_min``/``valid_max``
        give the range of the orders, for plots and readers.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``strahler_order`` (integers) on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
        >>> xr.DataArray(np.zeros((2, 3)), dims=("y", "x")).hydro.strahler(net).values
        array([[1, 1, 1],
               [1, 2, 1]], dtype=int32)
        """
        return xarray_layer.strahler(self._obj, network, x_dim=x_dim, y_dim=y_dim, crs=crs)

    def shreve(
        self,
        network: RiverNetwork | None = None,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """Shreve magnitude on the object's grid (see :func:`xhydro_accessor.hydrology.stream_order.shreve`).

        Fill value and ``valid_min``/``valid_max`` as in :meth:`strahler`.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``shreve_magnitude`` (integers) on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
        >>> xr.DataArray(np.zeros((2, 3)), dims=("y", "x")).hydro.shreve(net).values[1]
        array([1, 5, 1])
        """
        return xarray_layer.shreve(self._obj, network, x_dim=x_dim, y_dim=y_dim, crs=crs)

    def distance_to_outlet(
        self,
        network: RiverNetwork | None = None,
        weights: Any = None,
        *,
        per: Literal["edge", "cell"] = "edge",
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """Distance along the network to the outlet.

        See :func:`xhydro_accessor.hydrology.distances.distance_to_outlet`.

        The default weights are step lengths in metres from the grid's CRS
        (geodesic on geographic grids; :func:`~xhydro_accessor.hydrology.distances.step_lengths`),
        in cells (``units: "1"``) on a grid without coordinates.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        weights : DataArray or array of the grid's shape, optional
            Length of each step (``per="edge"``) or of the river in each cell
            (``per="cell"``); default the step lengths.
        per : {"edge", "cell"}, default "edge"
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``distance_to_outlet`` on the object's grid, in metres (``units: "m"``),
            cells (``"1"``) or the weights' units.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> coords = {"lat": [0.0], "lon": [0.0, 1, 2]}
        >>> da = xr.DataArray(np.zeros((1, 3)), dims=("lat", "lon"), coords=coords)
        >>> d = da.hydro.distance_to_outlet(RiverNetwork.from_ldd(np.array([[6, 6, 5]])))
        >>> (d.values / 1000).round(1), d.attrs["units"]
        (array([[222.6, 111.3,   0. ]]), 'm')
        """
        return xarray_layer.distance_to_outlet(
            self._obj, network, weights, per=per, x_dim=x_dim, y_dim=y_dim, crs=crs
        )

    def distance_to_source(
        self,
        network: RiverNetwork | None = None,
        weights: Any = None,
        *,
        path: Literal["longest", "shortest"] = "longest",
        per: Literal["edge", "cell"] = "edge",
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """Distance up to the farthest or nearest source.

        See :func:`xhydro_accessor.hydrology.distances.distance_to_source`.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        weights : DataArray or array of the grid's shape, optional
            Length of each step (``per="edge"``) or of the river in each cell
            (``per="cell"``); default the step lengths.
        per : {"edge", "cell"}, default "edge"
        path : {"longest", "shortest"}, default "longest"
            To the farthest or the nearest source.
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``distance_to_source`` on the object's grid (units as in :meth:`distance_to_outlet`).

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
        >>> xr.DataArray(np.zeros((1, 3)), dims=("y", "x")).hydro.distance_to_source(net).values
        array([[0., 1., 2.]])
        """
        return xarray_layer.distance_to_source(
            self._obj, network, weights, path=path, per=per, x_dim=x_dim, y_dim=y_dim, crs=crs
        )

    def distance_from_points(
        self,
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
        """Distance along the network from or to the locations.

        See :func:`xhydro_accessor.hydrology.distances.distance_from_points`.

        Parameters
        ----------
        locations : dict, array-like, xarray object or Locations
            Gauges or points in any form :func:`~xhydro_accessor.locate` takes, e.g.
            ``{name: (y, x)}`` in the grid's coordinates.
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        weights : DataArray or array of the grid's shape, optional
            Length of each step (``per="edge"``) or of the river in each cell
            (``per="cell"``); default the step lengths.
        downstream, upstream : bool, default True, False
            Measure down the flow paths from the locations, up them, or both.
        how : {"min", "max"}, default "min"
            Where several locations reach a cell: the nearest or the farthest.
        per : {"edge", "cell"}, default "edge"
        snap : float or str, default 0
            Search radius (cells, or a length such as ``"5 km"``): each location moves
            to the network cell of largest upstream area within it.
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``distance`` on the object's grid, NaN where no location reaches.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
        >>> xr.DataArray(np.zeros((1, 3)), dims=("y", "x")).hydro.distance_from_points([(0, 1)], net).values
        array([[nan,  0.,  1.]])
        """
        return xarray_layer.distance_from_points(
            self._obj,
            locations,
            network,
            weights,
            downstream=downstream,
            upstream=upstream,
            how=how,
            per=per,
            snap=snap,
            x_dim=x_dim,
            y_dim=y_dim,
            crs=crs,
        )

    def upstream_area(
        self,
        network: RiverNetwork | None = None,
        *,
        units: Literal["m2", "km2"] = "m2",
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """Upstream area from the grid's cell areas.

        See :func:`xhydro_accessor.hydrology.upstream_area.upstream_area`.

        Cell areas: the CF ``cell_measures`` area variable when named (its ``units``
        converted to m²; a variable without units raises rather than being read as m²), else
        :meth:`cell_area` of the grid from its CRS (see
        :mod:`xhydro_accessor.geometry`); a grid with neither CRS nor degrees raises
        :class:`~xhydro_accessor.geometry.UnknownGeometryError`.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        units : str, default "m2"
            The units of the result, e.g. ``"km2"``.
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``upstream_area`` on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> grid = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords={"y": [1e3, 0.0], "x": [0.0, 1e3]})
        >>> net = RiverNetwork.from_ldd(np.array([[6, 5], [9, 8]]))
        >>> grid.hydro.upstream_area(net, units="km2", crs=3035).values
        array([[1., 4.],
               [1., 1.]])
        >>> da = xr.DataArray(np.zeros((1, 2)), dims=("y", "x"), coords={"y": [0.0], "x": [0.0, 1000.0]})
        >>> da = da.assign_coords(area=(("y", "x"), np.full((1, 2), 1.0), {"units": "km2"}))
        >>> da.attrs["cell_measures"] = "area: area"
        >>> da.hydro.upstream_area(RiverNetwork.from_ldd(np.array([[6, 5]])), units="km2").values
        array([[1., 2.]])
        """
        return xarray_layer.upstream_area(self._obj, network, units=units, x_dim=x_dim, y_dim=y_dim, crs=crs)

    def upstream_subnetwork(
        self,
        locations: Any,
        network: RiverNetwork | None = None,
        *,
        snap: float | str = 0,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> T:
        """The object cropped to the area draining to the locations, with that subnetwork attached.

        Parameters
        ----------
        locations : dict, array-like, xarray object or Locations
            Gauges or points in any form :func:`~xhydro_accessor.locate` takes, e.g.
            ``{name: (y, x)}`` in the grid's coordinates.
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        snap : float or str, default 0
            Search radius (cells, or a length such as ``"5 km"``): each location moves
            to the network cell of largest upstream area within it.
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        T
            The same kind of object as ``obj``, cropped, with the subnetwork attached.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5], [255, 9, 8, 7]]))
        >>> da = xr.DataArray(np.arange(8.0).reshape(2, 4), dims=("y", "x")).hydro.assign_network(net)
        >>> sub = da.hydro.upstream_subnetwork([(0, 1)])
        >>> sub.values, sub.hydro.network.outlets
        (array([[0., 1.]]), array([1]))
        """
        return xarray_layer.upstream_subnetwork(
            self._obj, locations, network, snap=snap, x_dim=x_dim, y_dim=y_dim, crs=crs
        )

    def subnetwork(
        self,
        mask: Any,
        network: RiverNetwork | None = None,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> T:
        """The object cropped to the cells of ``mask``, with their subnetwork attached.

        Flow leaving the selection makes outlets; sources are recomputed.

        Parameters
        ----------
        mask : DataArray or array of booleans of the grid's shape
            The cells to keep.
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        T
            The same kind of object as ``obj``, cropped, with the subnetwork attached.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5], [255, 9, 8, 7]]))
        >>> da = xr.DataArray(np.arange(8.0).reshape(2, 4), dims=("y", "x")).hydro.assign_network(net)
        >>> sub = da.hydro.subnetwork(da > 4)  # the bottom row: each cell drained north, now an outlet
        >>> sub.values, sub.hydro.network.outlets
        (array([[5., 6., 7.]]), array([0, 1, 2]))
        """
        return xarray_layer.subnetwork(self._obj, mask, network, x_dim=x_dim, y_dim=y_dim, crs=crs)

    # ------------------------------------------------- vectors and flow paths
    def streams(
        self,
        network: RiverNetwork | None = None,
        *,
        min_area: float | None = None,
        min_order: int | None = None,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> Any:
        """River segments from confluence to confluence as a GeoDataFrame (the ``vector`` extra).

        See :func:`xhydro_accessor.hydrology.vectors.streams` for the segments, their
        ids (``next_down_id`` 0 at outlets) and the columns.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        min_area : float, optional
            Only cells draining at least this upstream area (km²) are streams.
        min_order : int, optional
            Only cells of at least this Strahler order are streams.
        x_dim, y_dim : hashable, optional
            The spatial dims, when the attached network, CF axes or the dims' names
            do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        geopandas.GeoDataFrame
            ``segment_id``, ``next_down_id``, ``upstream_area`` (km²), ``strahler``,
            ``n_cells``, ``length`` (m) and the LineString geometry in the grid's CRS.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> coords = {"y": [5e3, 0.0], "x": [0.0, 5e3, 1e4]}
        >>> da = xr.DataArray(np.zeros((2, 3)), dims=("y", "x"), coords=coords)
        >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 6, 5]]))
        >>> da.hydro.streams(net, crs="EPSG:3035", min_order=2)[["segment_id", "next_down_id", "length"]]
           segment_id  next_down_id  length
        0           1             0  5000.0
        """
        return xarray_layer.streams(
            self._obj, network, min_area=min_area, min_order=min_order, x_dim=x_dim, y_dim=y_dim, crs=crs
        )

    def stream_segments(
        self,
        network: RiverNetwork | None = None,
        *,
        min_area: float | None = None,
        min_order: int | None = None,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """The segment id of every stream cell: :meth:`streams`' ``segment_id`` on the grid.

        0 off the streams (the ``_FillValue``). Needs no geopandas.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        min_area, min_order : optional
            The filters of :meth:`streams`.
        x_dim, y_dim : hashable, optional
            The spatial dims, when the attached network, CF axes or the dims' names
            do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``stream_segment`` (int32) on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 6, 5]]))
        >>> xr.DataArray(np.zeros((2, 3)), dims=("y", "x")).hydro.stream_segments(net).values
        array([[1, 2, 3],
               [4, 5, 5]], dtype=int32)
        """
        return xarray_layer.stream_segments(
            self._obj, network, min_area=min_area, min_order=min_order, x_dim=x_dim, y_dim=y_dim, crs=crs
        )

    def catchment_polygons(
        self,
        network: RiverNetwork | None = None,
        *,
        nodata: int = 0,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> Any:
        """The labels of this DataArray (e.g. :meth:`catchments`) as polygons (the ``vector`` extra).

        See :func:`xhydro_accessor.hydrology.vectors.catchment_polygons`.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        nodata : int, default 0
            The label of cells in no catchment.
        x_dim, y_dim : hashable, optional
            The spatial dims, when the attached network, CF axes or the dims' names
            do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per label: ``label``, ``area`` (km², the sum of the cells' areas),
            ``n_cells`` and the (multi)polygon in the grid's CRS.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> coords = {"y": [1e3, 0.0], "x": [0.0, 1e3]}
        >>> da = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords=coords)
        >>> da = da.hydro.assign_network(RiverNetwork.from_ldd(np.array([[6, 2], [6, 5]])))
        >>> labels = da.hydro.catchments({"outlet": (0.0, 1e3)})
        >>> labels.hydro.catchment_polygons(crs="EPSG:3035")[["label", "area", "n_cells"]]
           label  area  n_cells
        0      1   4.0        4
        """
        return xarray_layer.catchment_polygons(
            self._obj, network, nodata=nodata, x_dim=x_dim, y_dim=y_dim, crs=crs
        )

    def flow_path(
        self,
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
        """The flow path from each location: its cells in order, their coordinates, the length along it.

        See :func:`xhydro_accessor.hydrology.paths.flow_path` (pyflwdir's ``path()``).
        One Dataset for all the locations, dims ``(station, step)``, each path padded
        past its end (``cell``/``row``/``col`` -1, ``distance`` and coordinates NaN;
        ``n_cells`` is each path's length): ``ds.isel(station=i, step=slice(0,
        int(ds.n_cells[i])))`` is one path.

        Parameters
        ----------
        locations : dict, array-like, xarray object or Locations
            Gauges or points in any form :func:`~xhydro_accessor.locate` takes.
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        direction : {"down", "up"}
            To the outlet, or up the main stem (the upstream cell of largest upstream area).
        max_length : float or str, optional
            A number of steps, or a length such as ``"50 km"``: the path stops before
            the step that would go beyond it.
        snap : float or str, default 0
            Search radius to move the locations onto the network (see :func:`~xhydro_accessor.locate`).
        upstream_area : DataArray or array, optional
            The measure of the main stem; default the upstream area (km²).
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        Dataset
            ``cell`` (flat index), ``row``, ``col``, ``distance`` (m from the station;
            cells without coordinates) over ``(station, step)``, the grid's coordinates
            of each cell, ``n_cells`` and the stations' coordinates.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> coords = {"y": [0.0], "x": [0.0, 1e3, 2e3, 3e3]}
        >>> da = xr.DataArray(np.zeros((1, 4)), dims=("y", "x"), coords=coords)
        >>> da = da.hydro.assign_network(RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]])), crs="EPSG:3035")
        >>> ds = da.hydro.flow_path({"a": (0.0, 1e3), "b": (0.0, 2e3)})
        >>> ds.x.values, ds.distance.values
        (array([[1000., 2000., 3000.],
               [2000., 3000.,   nan]]), array([[   0., 1000., 2000.],
               [   0., 1000.,   nan]]))
        """
        return xarray_layer.flow_path(
            self._obj,
            locations,
            network,
            direction=direction,
            max_length=max_length,
            snap=snap,
            upstream_area=upstream_area,
            x_dim=x_dim,
            y_dim=y_dim,
            crs=crs,
        )

    def main_stem(
        self,
        locations: Any,
        network: RiverNetwork | None = None,
        *,
        snap: float | str = 0,
        upstream_area: Any = None,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """Boolean mask of the main stems upstream of the locations (see :func:`xhydro_accessor.main_stem`).

        Parameters
        ----------
        locations : dict, array-like, xarray object or Locations
            Gauges or points in any form :func:`~xhydro_accessor.locate` takes.
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        snap : float or str, default 0
            Search radius to move the locations onto the network.
        upstream_area : DataArray or array, optional
            The measure of the main stem; default the upstream area (km²).
        x_dim, y_dim : hashable, optional
            The spatial dims (``x_dim`` alone: a vector network's node dim), when the
            attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``main_stem`` (bool) on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2], [6, 6, 5]]))
        >>> xr.DataArray(np.zeros((2, 3)), dims=("y", "x")).hydro.main_stem([(1, 2)], net).values
        array([[ True,  True,  True],
               [False, False,  True]])
        """
        return xarray_layer.main_stem(
            self._obj,
            locations,
            network,
            snap=snap,
            upstream_area=upstream_area,
            x_dim=x_dim,
            y_dim=y_dim,
            crs=crs,
        )

    def smooth_along(
        self,
        window: int,
        how: Literal["mean", "median"] = "mean",
        weights: Any = None,
        network: RiverNetwork | None = None,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
    ) -> T:
        """A moving mean or median along the flow (pyflwdir's ``moving_average`` / ``moving_median``).

        See :func:`xhydro_accessor.hydrology.along.smooth_along` for the window: the cell,
        up to ``window`` cells downstream and up to ``window`` cells up its main upstream
        branch; NaN left out, NaN cells stay NaN.

        Parameters
        ----------
        window : int
            Cells up and down (a window of at most ``2 * window + 1`` cells).
        how : {"mean", "median"}
        weights : DataArray or array of the grid's shape, optional
            Weights of the mean.
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        x_dim, y_dim : hashable, optional
            The spatial dims, if they cannot be found from CF axes or their names.

        Returns
        -------
        DataArray or Dataset
            Same dims, coordinates and attrs.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 6, 5]]))
        >>> da = xr.DataArray([[1.0, 2.0, 9.0, 4.0, 5.0]], dims=("y", "x"))
        >>> da.hydro.smooth_along(1, network=net).values
        array([[1.5, 4. , 5. , 6. , 4.5]])
        """
        return xarray_layer.smooth_along(self._obj, window, how, weights, network, x_dim=x_dim, y_dim=y_dim)

    def fill_along(
        self,
        direction: Literal["down", "up"] = "down",
        how: Literal["max", "min", "sum"] = "max",
        network: RiverNetwork | None = None,
        *,
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
    ) -> T:
        """Fill NaN from the nearest valid cells along the flow (pyflwdir's ``fillnodata``).

        See :func:`xhydro_accessor.hydrology.along.fill_along`: ``direction="down"``
        fills from the nearest valid cells upstream (branches merged by ``how``),
        ``"up"`` from the nearest valid cell downstream.

        Parameters
        ----------
        direction : {"down", "up"}
            The way values travel.
        how : {"max", "min", "sum"}
            How values arriving from several upstream branches merge (``"down"``).
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        x_dim, y_dim : hashable, optional
            The spatial dims, if they cannot be found from CF axes or their names.

        Returns
        -------
        DataArray or Dataset
            Same dims, coordinates and attrs.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
        >>> da = xr.DataArray([[np.nan, 2.0, np.nan, 4.0]], dims=("y", "x"))
        >>> da.hydro.fill_along("up", network=net).values
        array([[2., 2., 4., 4.]])
        """
        return xarray_layer.fill_along(self._obj, direction, how, network, x_dim=x_dim, y_dim=y_dim)

    def stream_order(
        self,
        network: RiverNetwork | None = None,
        *,
        kind: Literal["strahler", "shreve", "hack"] = "strahler",
        x_dim: Hashable | None = None,
        y_dim: Hashable | None = None,
        crs: Any = None,
    ) -> xr.DataArray:
        """Stream order by name on the object's grid (see :func:`xhydro_accessor.stream_order`).

        Fill value and ``valid_min``/``valid_max`` as in :meth:`strahler`.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        kind : {"strahler", "shreve", "hack"}, default "strahler"
            Strahler order, Shreve magnitude, or Hack (classic) order: 1 on each
            basin's main stem, one more per tributary level.
        x_dim, y_dim : hashable, optional
            The spatial dims, when the attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``strahler_order``, ``shreve_magnitude`` or ``hack_order`` (integers) on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2], [6, 6, 5]]))
        >>> xr.DataArray(np.zeros((2, 3)), dims=("y", "x")).hydro.stream_order(net, kind="hack").values
        array([[1, 1, 1],
               [2, 2, 1]], dtype=int32)
        """
        return xarray_layer.stream_order(self._obj, network, kind=kind, x_dim=x_dim, y_dim=y_dim, crs=crs)

    def subbasins(
        self,
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
        """Sub-basins by stream order, area or Pfafstetter coding (see
        :func:`xhydro_accessor.hydrology.subbasins.subbasins`, which documents the parameters).

        Labels as :meth:`basins`: int32, 0 (the ``_FillValue``) off the network;
        ``valid_min``/``valid_max`` their range; the parameters given are kept as attributes.

        Parameters
        ----------
        network : RiverNetwork, optional
            Default: the attached network (:meth:`assign_network`).
        by : {"order", "area", "pfafstetter"}, default "order"
        min_sto, order : by="order"
        area_min : by="area"
        depth, upa_min : by="pfafstetter"
        upstream_area : DataArray or array, optional
            The area ``area_min``/``upa_min`` are measured in (default km² by area,
            upstream cells for Pfafstetter).
        x_dim, y_dim : hashable, optional
            The spatial dims, when the attached network, CF axes or the dims' names do not tell them.
        crs : pyproj.CRS, str or int, optional
            The grid's CRS, when neither the object nor the network declares one.

        Returns
        -------
        DataArray
            ``subbasin`` labels (1..n by outlet cell), or ``pfafstetter_code``, on the object's grid.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> from xhydro_accessor import RiverNetwork
        >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
        >>> xr.DataArray(np.zeros((2, 3)), dims=("y", "x")).hydro.subbasins(net, by="pfafstetter").values
        array([[3, 2, 4],
               [6, 1, 8]], dtype=int32)
        """
        return xarray_layer.subbasins(
            self._obj, network, by=by, min_sto=min_sto, order=order, area_min=area_min, depth=depth,
            upa_min=upa_min, upstream_area=upstream_area, x_dim=x_dim, y_dim=y_dim, crs=crs,
        )  # fmt: skip


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
