"""Rivers and catchments as vectors: stream segments and catchment polygons (GeoDataFrames).

Needs the ``vector`` extra (``pip install xhydro-accessor[vector]``: geopandas and
shapely), imported only when these functions run.

**Segments** follow pyflwdir's ``FlwdirRaster.streams()`` topology: a segment
starts at a source or at a confluence cell (a stream cell with two or more
stream cells upstream) and takes the cells below it down to the cell above the
next confluence cell, or to an outlet. Every stream cell belongs to exactly one
segment (:func:`stream_segments`). A segment's line runs through its cells'
centres and on to the next confluence cell's centre, so lines meet; a segment
of one cell at an outlet is a zero-length line (its point twice), as pyflwdir's
pit features. Ids number the segments ``1..n`` in the order of the flat grid
index of their first cell; ``next_down_id`` is the segment the last cell drains
into, **0 at outlets** (HydroRIVERS' ``NEXT_DOWN``), and 0 marks cells off the
streams in the grid of :func:`stream_segments`.
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np

from .. import geometry
from ..network import RiverNetwork
from ._backend import host
from .locations import upstream_km2
from .paths import cell_centres, flat_step_lengths
from .stream_order import strahler
from .upstream_area import cell_areas


def _vector_libraries(what: str):
    try:
        import geopandas
        import shapely
    except ImportError as error:
        raise ImportError(
            f"{what} needs geopandas and shapely: install the vector extra, "
            f"pip install 'xhydro-accessor[vector]' ({error})"
        ) from None
    return geopandas, shapely


def stream_segments(
    network: RiverNetwork, min_area: float | None = None, min_order: int | None = None
) -> np.ndarray:
    """The segment id of every stream cell (int32 grid, 0 off the streams).

    The ids of :func:`streams` (see the module docstring); needs neither geopandas
    nor coordinates (except for ``min_area``: the grid's geometry).

    Parameters
    ----------
    network : RiverNetwork
        A grid network.
    min_area : float, optional
        Only cells draining at least this upstream area (km²) are streams.
    min_order : int, optional
        Only cells of at least this Strahler order are streams.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> stream_segments(RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 6, 5], [9, 8, 7]])))
    array([[1, 2, 3],
           [4, 5, 5],
           [6, 7, 8]], dtype=int32)
    >>> stream_segments(RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 6, 5], [9, 8, 7]])), min_order=2)
    array([[0, 0, 0],
           [0, 1, 1],
           [0, 0, 0]], dtype=int32)
    """
    return _segments(network, min_area, min_order)[0].reshape(network.shape)


def streams(network: RiverNetwork, min_area: float | None = None, min_order: int | None = None) -> Any:
    """River segments from confluence to confluence as a GeoDataFrame (HydroRIVERS style).

    Parameters
    ----------
    network : RiverNetwork
        A grid network with coordinates whose geometry is known (a CRS, or
        coordinates in degrees).
    min_area : float, optional
        Only cells draining at least this upstream area (km²) are streams.
    min_order : int, optional
        Only cells of at least this Strahler order are streams. Both filters
        keep whole reaches: a stream cell's downstream cell is a stream cell.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per segment, ordered by ``segment_id`` (see the module
        docstring), in the network's CRS (WGS84 for coordinates in degrees
        without one), with columns

        - ``segment_id``, ``next_down_id`` (0 at outlets);
        - ``upstream_area``: km² draining through the segment's last cell
          (:func:`~xhydro_accessor.hydrology.upstream_area.upstream_area`);
        - ``strahler``: the Strahler order of the whole network (filters do not
          renumber it) at the segment's last cell;
        - ``n_cells``: the cells of the segment;
        - ``length``: metres along the line (geodesic on geographic grids,
          Euclidean on projected ones: the step lengths of
          :func:`~xhydro_accessor.hydrology.distances.step_lengths`);
        - ``geometry``: the LineString through the cell centres.

    Raises
    ------
    ImportError
        geopandas or shapely missing (the ``vector`` extra).
    ValueError
        A vector network, a grid without coordinates, or bad filters.
    UnknownGeometryError
        Coordinates without a CRS that do not say they are degrees.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> ldd = xr.DataArray([[3, 2, 1], [6, 6, 5]], dims=("y", "x"),
    ...                    coords={"y": [5e3, 0.0], "x": [0.0, 5e3, 1e4]})
    >>> gdf = streams(RiverNetwork.from_ldd(ldd, crs="EPSG:3035"))
    >>> gdf[["segment_id", "next_down_id", "upstream_area", "strahler", "length"]]
       segment_id  next_down_id  upstream_area  strahler       length
    0           1             5           25.0         1  7071.067812
    1           2             5           25.0         1  5000.000000
    2           3             5           25.0         1  7071.067812
    3           4             5           25.0         1  5000.000000
    4           5             0          150.0         2  5000.000000
    >>> gdf.crs.to_epsg(), gdf.geometry[4].wkt  # the confluence cell (1, 1) down to the outlet
    (3035, 'LINESTRING (5000 0, 10000 0)')
    """
    gpd, shapely = _vector_libraries("streams")
    grid = _grid_with_geometry(network, "streams")
    segment, stream_nodes, heads = _segments(network, min_area, min_order)
    down = network.downstream_grid().reshape(-1)
    ids = segment[stream_nodes]
    order = np.argsort(ids, kind="stable")  # by segment, upstream first within each (topological order)
    cells, ids = stream_nodes[order], ids[order]
    last = np.flatnonzero(np.diff(ids, append=heads.size + 1))  # each segment's last cell
    ends = cells[last]
    next_down = np.where(down[ends] >= 0, segment[np.maximum(down[ends], 0)], 0)
    n_cells = np.diff(np.r_[0, last + 1])
    # vertices: the segment's cells, then the next confluence's cell (a lone outlet cell: itself again)
    extend = (down[ends] >= 0) | (n_cells == 1)
    tail = np.where(down[ends] >= 0, down[ends], ends)[extend]
    vertices = np.insert(cells, (last + 1)[extend], tail)
    offsets = np.r_[0, np.cumsum(n_cells + extend)]
    y, x = cell_centres(network, vertices)
    lines = shapely.from_ragged_array(shapely.GeometryType.LINESTRING, np.stack([x, y], axis=1), (offsets,))
    steps = flat_step_lengths(network)
    length = np.bincount(ids - 1, weights=steps[cells], minlength=heads.size).astype(np.float64)
    km2, order_at = _upstream_km2(network, "streams"), strahler(network).reshape(-1)
    return gpd.GeoDataFrame(
        {
            "segment_id": np.arange(1, heads.size + 1, dtype=np.int32),
            "next_down_id": next_down.astype(np.int32),
            "upstream_area": km2[ends],
            "strahler": order_at[ends],
            "n_cells": n_cells.astype(np.int32),
            "length": length,
        },
        geometry=lines,
        crs=grid.implied_crs,
    )


def catchment_polygons(network: RiverNetwork, labels: Any, *, nodata: int = 0) -> Any:
    """One polygon (or multipolygon, where disconnected) per label of a label grid.

    The cells of each label are merged (row runs of cells, then their union with
    shapely): the cell edges are halfway between the centres of the network's
    coordinates (extrapolated by half a cell at the borders), so irregular grids
    work too. Cells touching only at a corner make a MultiPolygon.

    Parameters
    ----------
    network : RiverNetwork
        A grid network with coordinates (the polygons' CRS: the network's, WGS84
        for degrees without one).
    labels : array of integers of network.shape
        E.g. :func:`~xhydro_accessor.hydrology.catchments.catchments` or
        :func:`~xhydro_accessor.hydrology.catchments.basins`.
    nodata : int, default 0
        The label of cells in no catchment.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per label, ascending: ``label``, ``area`` (km²: the sum of the
        cells' areas from :func:`~xhydro_accessor.hydrology.upstream_area.cell_areas`,
        not the polygon's planar area), ``n_cells`` and the geometry.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> ldd = xr.DataArray([[6, 5, 4], [6, 5, 4]], dims=("y", "x"),
    ...                    coords={"y": [1e3, 0.0], "x": [0.0, 1e3, 2e3]})
    >>> net = RiverNetwork.from_ldd(ldd, crs="EPSG:3035")
    >>> gdf = catchment_polygons(net, np.array([[7, 7, 0], [7, 0, 9]]))
    >>> gdf[["label", "area", "n_cells"]]
       label  area  n_cells
    0      7   3.0        3
    1      9   1.0        1
    >>> gdf.geometry[1].wkt
    'POLYGON ((2500 500, 2500 -500, 1500 -500, 1500 500, 2500 500))'
    """
    gpd, shapely = _vector_libraries("catchment_polygons")
    grid = _grid_with_geometry(network, "catchment_polygons")
    values = host(labels)
    if values.shape != network.shape or values.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be integers of the network's shape {network.shape}, got dtype {values.dtype} "
            f"and shape {values.shape}"
        )
    area = cell_areas(network)
    if grid.transposed:  # storage (x, y): make it (y, x) so rows run along y
        values, area = values.T, area.T
    ny, nx = values.shape
    # row runs: consecutive cells of one label in a row make one rectangle
    starts = np.ones(values.shape, bool)
    starts[:, 1:] = values[:, 1:] != values[:, :-1]
    run_row, run_col = np.nonzero(starts)
    run_end = np.r_[run_col[1:], 0]
    run_end = np.where(np.r_[run_row[1:] != run_row[:-1], True], nx, run_end)
    run_label = values[run_row, run_col]
    keep = run_label != nodata
    run_row, run_col, run_end, run_label = run_row[keep], run_col[keep], run_end[keep], run_label[keep]
    ye, xe = geometry.cell_edges(grid.y), geometry.cell_edges(grid.x)
    boxes = shapely.box(xe[run_col], ye[run_row], xe[run_end], ye[run_row + 1])
    unique, inverse = np.unique(run_label, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(inverse, minlength=unique.size))]
    polygons = [shapely.union_all(boxes[order[a:b]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    cells = values != nodata
    position = np.searchsorted(unique, values[cells])
    return gpd.GeoDataFrame(
        {
            "label": unique,
            "area": np.bincount(position, weights=area[cells], minlength=unique.size) / 1e6,
            "n_cells": np.bincount(position, minlength=unique.size),
        },
        geometry=polygons,
        crs=grid.implied_crs,
    )


# ------------------------------------------------------------------ helpers
def _segments(network: RiverNetwork, min_area, min_order) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment id per flat cell (0 off the streams), the stream cells in topological
    order, and the heads (first cells) in id order."""
    from ..kernels.walks import segment_labels

    if len(network.shape) != 2:
        raise ValueError("stream segments need a grid network, not a vector network")
    on = network.mask.reshape(-1).copy()
    if min_area is not None:
        on &= _upstream_km2(network, "min_area") >= _non_negative(min_area, "min_area")
    if min_order is not None:
        if not isinstance(min_order, int | np.integer) or isinstance(min_order, bool) or min_order < 1:
            raise ValueError(f"min_order must be an integer >= 1, got {min_order!r}")
        on &= strahler(network).reshape(-1) >= min_order
    nodes, to = network.nodes, network.downstream
    keep = on[nodes]
    stream_nodes, stream_to = nodes[keep].astype(np.int64), to[keep].astype(np.int64)
    n_up = np.bincount(stream_to[stream_to >= 0], minlength=prod(network.shape))
    head = on & (n_up != 1)
    heads = np.flatnonzero(head)
    segment = np.zeros(prod(network.shape), np.int32)
    segment[heads] = np.arange(1, heads.size + 1, dtype=np.int32)
    segment_labels(nodes, to, head, segment)
    return segment, stream_nodes, heads


def _upstream_km2(network: RiverNetwork, what: str) -> np.ndarray:
    """Upstream area in km² of every cell (flat, computed once per network)."""
    km2 = upstream_km2(network)
    if km2 is None:
        raise ValueError(f"{what} needs the grid's geometry: coordinates and a CRS (or degrees)")
    return km2


def _non_negative(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (km²), got {value!r}") from None
    if not np.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (km²), got {value!r}")
    return number


def _grid_with_geometry(network: RiverNetwork, what: str) -> geometry.NetworkGrid:
    grid = geometry.network_grid(network) if len(network.shape) == 2 else None
    if grid is None:
        raise ValueError(f"{what} needs a grid network with coordinates (build it from a DataArray)")
    if grid.implied_crs is None:
        geometry.cell_areas(grid.y[:2], grid.x[:2], None)  # raises UnknownGeometryError asking for crs=
    return grid
