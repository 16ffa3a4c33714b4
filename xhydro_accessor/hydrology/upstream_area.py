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
    if cell_area is None and getattr(network, "tiled", False):  # each tile's areas in its task
        area = _tiled_cell_areas(network, crs, latlon)
    elif cell_area is None:
        area = cell_areas(network, crs, latlon=latlon)
    else:
        area = native(_floating, supported_dtype(cell_area, "cell_area"))
        if tuple(area.shape) != tuple(network.shape):
            raise ValueError(f"cell_area must have the network's shape {network.shape}, got {area.shape}")
    if getattr(network, "tiled", False) and isinstance(area, np.ndarray):  # tiles: lazily, on dask
        import dask.array as da

        area = da.from_array(area, chunks=getattr(network, "chunks"))  # noqa: B009
    return accumulate(network, area * _FACTOR[units])


def _tiled_cell_areas(network: Any, crs: Any, latlon: bool | None) -> Any:
    """:func:`cell_areas` of a tiled network, lazily, chunked like its tiles: each tile's from
    its coordinates and their neighbours' (the same edges, the same values), never the grid's."""
    import dask.array as da

    grid = geometry.network_grid(network, crs, latlon)
    if grid is None:
        return cell_areas(network, crs, latlon=latlon)  # raises, naming cell_area=
    geometry.cell_areas(grid.y[:2], grid.x[:2], grid.crs, degrees=grid.degrees)  # an unknown geometry raises
    return da.map_blocks(_tile_areas, grid=grid, chunks=network.chunks, dtype=np.float64,
                         meta=np.empty((0, 0)))  # fmt: skip


def _tile_areas(grid: geometry.NetworkGrid, block_info: Any = None) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    lo_r, lo_c = max(r0 - 1, 0), max(c0 - 1, 0)  # a neighbour each side: the cells' edges
    first, second = (grid.x, grid.y) if grid.transposed else (grid.y, grid.x)
    a, b = first[lo_r : r1 + 1], second[lo_c : c1 + 1]
    areas = geometry.cell_areas(b, a, grid.crs, degrees=grid.degrees).T if grid.transposed else (
        geometry.cell_areas(a, b, grid.crs, degrees=grid.degrees))  # fmt: skip
    return areas[r0 - lo_r : r1 - lo_r, c0 - lo_c : c1 - lo_c]


def _floating(area: Any) -> Any:
    if isinstance(area, np.ndarray):
        return area.astype(np.float64)
    xp = array_namespace(area)
    return area if xp.isdtype(area.dtype, "real floating") else xp.astype(area, xp.float64)
