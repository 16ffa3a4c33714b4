"""Upstream area: the area draining through each cell, the cell itself included."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr
from array_api_compat import array_namespace

from ..network import RiverNetwork
from ..operations import accumulate, check_bool, supported_dtype
from ..units import cell_area as _cell_area
from ._backend import native

_FACTOR = {"m2": 1.0, "km2": 1e-6}


def cell_areas(network: RiverNetwork, latlon: bool | None = None) -> np.ndarray:
    """Area in m² of every cell of the network's grid, from its coordinates.

    Spherical areas on latitude/longitude grids (``latlon``; by default
    recognised from the dim names), ``|Δx Δy|`` in metres on projected grids
    (see :func:`xhydro_accessor.units.cell_area`).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> ldd = xr.DataArray([[6, 2], [255, 5]], dims=("y", "x"), coords={"y": [0.0, 5e3], "x": [0.0, 5e3]})
    >>> cell_areas(RiverNetwork.from_ldd(ldd))
    array([[25000000., 25000000.],
           [25000000., 25000000.]])
    """
    dims, coords = network.dims, network.coords
    if not dims or len(dims) != 2 or not all(d in coords for d in dims):
        raise ValueError("the network has no grid coordinates: pass cell_area=<area of each cell in m2>")
    y, x = dims
    stub = xr.DataArray(
        np.empty(network.shape, np.uint8), dims=dims, coords={y: coords[y], x: coords[x]}, name="stub"
    )
    if latlon:
        stub[y].attrs["units"], stub[x].attrs["units"] = "degrees_north", "degrees_east"
    elif latlon is False:
        stub[y].attrs["units"] = stub[x].attrs["units"] = "m"
    return _cell_area(stub, x, y).values


def upstream_area(
    network: RiverNetwork,
    cell_area: Any = None,
    *,
    units: Literal["m2", "km2"] = "m2",
    latlon: bool | None = None,
) -> np.ndarray:
    """Area upstream of each cell, itself included, in m² or km².

    Parameters
    ----------
    network : RiverNetwork
    cell_area : array of network.shape, optional
        Area of each cell in m²; default :func:`cell_areas` from the network's
        coordinates (spherical on lat/lon grids). Any backend (dask, torch, jax,
        cupy, Array API): the result is of its library and device.
    units : {"m2", "km2"}
    latlon : bool, optional
        Whether the coordinates are degrees (default: from the dim names).

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
    array([[12364., 24727., 37091.],
           [   nan,    nan, 49455.]])
    """
    if units not in _FACTOR:
        raise ValueError(f"units must be one of {tuple(_FACTOR)}, got {units!r}")
    if latlon is not None:
        check_bool(latlon, "latlon")
    if cell_area is None:
        area = cell_areas(network, latlon)
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
