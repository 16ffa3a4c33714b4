"""Upstream area: the area draining through each cell, the cell itself included."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .. import geometry
from ..backends.scatter import array_namespace
from ..network import RiverNetwork
from ..operations import accumulate, check_bool, supported_dtype
from ._backend import native

_FACTOR = {"m2": 1.0, "km2": 1e-6}


def cell_areas(network: RiverNetwork, crs: Any = None, *, latlon: bool | None = None) -> np.ndarray:
    """Area in m² of every cell of the network's grid, from its coordinates and CRS.

    The earth model follows the CRS (default :attr:`RiverNetwork.crs`; see
    :mod:`xhydro_accessor.geometry`): exact ellipsoidal areas on geographic grids
    (the CRS's ellipsoid; WGS84 for coordinates in degrees without a CRS —
    ``latlon=True``, by default recognised from CF units or dims named
    ``lat``/``lon``), ``|Δx Δy|`` in metres on projected grids.

    Raises
    ------
    UnknownGeometryError
        No CRS and the coordinates do not say they are degrees: pass ``crs=``.
    ValueError
        The network has no grid coordinates: pass ``cell_area=`` to
        :func:`upstream_area`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> ldd = xr.DataArray([[6, 2], [255, 5]], dims=("y", "x"), coords={"y": [0.0, 5e3], "x": [0.0, 5e3]})
    >>> cell_areas(RiverNetwork.from_ldd(ldd, crs="EPSG:3035"))
    array([[25000000., 25000000.],
           [25000000., 25000000.]])
    >>> cell_areas(RiverNetwork.from_ldd(ldd))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xhydro_accessor.errors.UnknownGeometryError: cell areas need the grid's coordinate reference system: ...
    """
    grid = geometry.network_grid(network, crs, latlon)
    if grid is None:
        raise ValueError("the network has no grid coordinates: pass cell_area=<area of each cell in m2>")
    return grid.cell_areas()


def upstream_area(
    network: RiverNetwork,
    cell_area: Any = None,
    *,
    units: Literal["m2", "km2"] = "m2",
    crs: Any = None,
    latlon: bool | None = None,
) -> np.ndarray:
    """Area upstream of each cell, itself included, in m² or km².

    Parameters
    ----------
    network : RiverNetwork
    cell_area : array of network.shape, optional
        Area of each cell in m²; default :func:`cell_areas` from the network's
        coordinates and CRS (ellipsoidal on geographic grids). Any backend (dask, torch, jax,
        cupy, Array API): the result is of its library and device.
    units : {"m2", "km2"}
    crs : pyproj.CRS, str or int, optional
        The grid's CRS; default :attr:`RiverNetwork.crs`.
    latlon : bool, optional
        Without a CRS: whether the coordinates are degrees (default: from their
        CF units or dims named lat/lon).

    Returns
    -------
    array of float64 (float32 for a float32 ``cell_area``), NaN off the network

    See Also
    --------
    xhydro_accessor.accumulate : ``accumulate(net, runoff, weights=cell_areas(net))``
        accumulates a field weighted by the cell areas (e.g. mm → mm m²).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> coords = {"lat": [0.5, -0.5], "lon": [0.0, 1.0, 2.0]}
    >>> ldd = xr.DataArray([[6, 6, 2], [255, 255, 5]], dims=("lat", "lon"), coords=coords)
    >>> upstream_area(RiverNetwork.from_ldd(ldd), units="km2").round()
    array([[12308., 24617., 36925.],
           [   nan,    nan, 49234.]])
    """
    if units not in _FACTOR:
        raise ValueError(f"units must be one of {tuple(_FACTOR)}, got {units!r}")
    if latlon is not None:
        check_bool(latlon, "latlon")
    if cell_area is None:
        area = cell_areas(network, crs, latlon=latlon)
    else:
        area = native(_floating, supported_dtype(cell_area, "cell_area"))
        if tuple(area.shape) != tuple(network.shape):
            raise ValueError(f"cell_area must have the network's shape {network.shape}, got {area.shape}")
    return accumulate(network, area * _FACTOR[units])


def _floating(area: Any) -> Any:
    if isinstance(area, np.ndarray):
        return area.astype(np.float64)
    xp = array_namespace(area)
    return area if xp.isdtype(area.dtype, "real floating") else xp.astype(area, xp.float64)
