"""Locations on a river network (gauges, outlets, points): parsing and snapping.

:func:`locate` turns what users have into flat grid indices of network cells:

- a dict ``{name: (y, x)}`` in the network's coordinates (a network built from a
  DataArray), or in the CRS ``crs=`` (e.g. ``crs="EPSG:4326"`` and
  ``(lat, lon)`` pairs on a projected network: transformed with pyproj);
  without coordinates the pairs are ``(row, col)``; for a vector network
  ``{name: node_id}``;
- an array-like of ``(row, col)`` pairs, shape ``(n, 2)``;
- a 1-D array-like of node ids: labels of a vector network, else flat grid indices;
- an xarray object with a ``station`` dim holding the network's spatial
  coordinates (e.g. ``y(station)``, ``x(station)``), or, 1-D, node ids;
- a :class:`Locations` (returned unchanged).

A point is placed in the cell whose extent contains it (edges halfway between
cell centres). Points off the grid, or on a cell that is not on the network,
raise a :class:`LocationError` naming them; with ``snap=radius`` (cells, or a
length such as ``"5 km"``) each point moves to the network cell of largest
upstream area within the radius (ties: the nearest, then the first in the grid),
or, given ``area=`` (the gauge's reported upstream area in km², GRDC style), to
the cell whose upstream area is closest to it. The :class:`Locations` returned
report per point the cell used, how far it moved (cells and metres), its
upstream area and the relative error to the reported one. A point whose
catchment is 1–2 cells while a neighbour drains over 100 times more warns: it
most likely missed the river (pass ``snap=``).

On a tiled network (a grid chunked in space) :func:`locate` does the same from the
tiled upstream accumulations, computing their last pass only in the tiles under the
points' search windows, and reading back only the windows' cells.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

from .. import geometry
from ..network import RiverNetwork
from ._backend import host

STATION = "station"
#: a point draining at most this many cells next to one draining over _SMALL_RATIO times more warns
_SMALL_CATCHMENT, _SMALL_RATIO = 2, 100


class LocationError(ValueError):
    """Locations off the grid, off the network, or not understood."""


@dataclass(frozen=True)
class Locations:
    """Network cells of named locations, and how they were found.

    Attributes
    ----------
    index : ndarray of int64
        Flat grid index of each location's cell (after snapping).
    names : ndarray
        The locations' names (positions ``0..n-1`` when none were given).
    moved : ndarray of float64
        Distance moved by snapping, in cells (0 without snapping).
    requested : ndarray of int64
        Flat grid index before snapping.
    moved_m : ndarray of float64
        Distance moved in metres between the cell centres (NaN where the grid's
        geometry is unknown: no coordinates, or neither CRS nor degrees).
    upstream_cells : ndarray of float64
        Number of cells draining through each location's cell, itself included.
    upstream_area : ndarray of float64
        Upstream area of each location's cell in km² (NaN where the geometry
        is unknown).
    reported_area : ndarray of float64
        The ``area=`` given per location in km² (NaN where none).
    area_error : ndarray of float64
        ``upstream_area / reported_area - 1`` (NaN where either is unknown).
    """

    index: np.ndarray
    names: np.ndarray
    moved: np.ndarray
    requested: np.ndarray
    # None (the default) becomes NaNs in __post_init__: the attributes are always arrays (hence the ignores)
    moved_m: np.ndarray = field(default=None)  # type: ignore[arg-type]
    upstream_cells: np.ndarray = field(default=None)  # type: ignore[arg-type]
    upstream_area: np.ndarray = field(default=None)  # type: ignore[arg-type]
    reported_area: np.ndarray = field(default=None)  # type: ignore[arg-type]
    area_error: np.ndarray = field(default=None)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        nan = np.full(self.index.size, np.nan)
        for name in ("moved_m", "upstream_cells", "upstream_area", "reported_area", "area_error"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, nan.copy())

    def __len__(self) -> int:
        return int(self.index.size)

    def table(self, network: RiverNetwork) -> str:
        """One line per location: name, cell (row, col), move (cells, m), upstream area, area error.

        Examples
        --------
        >>> import numpy as np
        >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
        >>> print(locate(net, {"a": (0, 1)}).table(net))
        name  row  col  moved_cells  moved_m  upstream_cells  upstream_km2  reported_km2  area_error
        a       0    1          0.0      nan               2           nan           nan         nan
        """
        rows, cols = (
            np.divmod(self.index, network.shape[-1])
            if len(network.shape) == 2
            else (self.index, self.index * 0)
        )
        header = ["name", "row", "col", "moved_cells", "moved_m", "upstream_cells", "upstream_km2",
                  "reported_km2", "area_error"]  # fmt: skip
        lines = [
            [str(n), str(r), str(c), f"{mv:.1f}", f"{mm:.0f}", f"{uc:.0f}", f"{ua:.6g}", f"{ra:.6g}",
             f"{ae:.3g}"]  # fmt: skip
            for n, r, c, mv, mm, uc, ua, ra, ae in zip(
                self.names, rows, cols, self.moved, self.moved_m, self.upstream_cells,
                self.upstream_area, self.reported_area, self.area_error, strict=True,
            )
        ]  # fmt: skip
        width = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        fmt = [str.ljust] + [str.rjust] * (len(header) - 1)
        return "\n".join(
            "  ".join(f(cell, w) for f, cell, w in zip(fmt, line, width, strict=True)).rstrip()
            for line in [header, *lines]
        )

    def coords(self, network: RiverNetwork) -> dict[Hashable, Any]:
        """Coordinates for an xarray output on a ``station`` dim.

        The station names, the network's grid coordinates of each (snapped) cell,
        ``row``/``col`` (or ``node`` ids), ``upstream_cells``, ``upstream_area``
        (km², when the grid's geometry is known), and, after snapping,
        ``snap_distance`` (cells) and ``snap_distance_m``; with reported areas,
        ``reported_area`` and ``area_error``.

        Examples
        --------
        >>> import numpy as np
        >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
        >>> sorted(locate(net, {"a": (0, 1)}).coords(net))
        ['col', 'row', 'station', 'upstream_cells']
        """
        out: dict[Hashable, Any] = {STATION: self.names}
        if len(network.shape) == 1:
            out["node"] = (STATION, self.index if network.ids is None else network.ids[self.index])
        else:
            rows, cols = np.divmod(self.index, network.shape[1])
            for dim, pos in zip(network.dims or (), (rows, cols), strict=False):
                if dim in network.coords:
                    out[dim] = (STATION, network.coords[dim][pos])
            out["row"], out["col"] = (STATION, rows), (STATION, cols)
        out["upstream_cells"] = (
            STATION,
            self.upstream_cells,
            {"long_name": "cells draining through the station"},
        )
        if not np.isnan(self.upstream_area).all():
            out["upstream_area"] = (
                STATION,
                self.upstream_area,
                {"units": "km2", "long_name": "upstream area"},
            )
        if np.any(self.index != self.requested):
            out["snap_distance"] = (
                STATION,
                self.moved,
                {"units": "1", "long_name": "snap distance in cells"},
            )
            if not np.isnan(self.moved_m).all():
                out["snap_distance_m"] = (STATION, self.moved_m, {"units": "m", "long_name": "snap distance"})
        if not np.isnan(self.reported_area).all():
            out["reported_area"] = (STATION, self.reported_area, {"units": "km2"})
            out["area_error"] = (
                STATION,
                self.area_error,
                {"units": "1", "long_name": "upstream area / reported - 1"},
            )
        return out


def locate(
    network: RiverNetwork,
    locations: Any,
    *,
    snap: float | str = 0,
    upstream_area: Any = None,
    area: Any = None,
    crs: Any = None,
) -> Locations:
    """Network cells of ``locations`` (see the module docstring for the forms accepted).

    Parameters
    ----------
    network : RiverNetwork
    locations : dict, array-like, xarray object or Locations
    snap : float or str, default 0
        Search radius: a number of cells, or a length with its unit (``"5 km"``,
        ``"500 m"``; needs the grid's geometry: a CRS, or degrees). Each point
        moves to the network cell of largest upstream area within it (0: no
        snapping; off-network points then raise). Negative, non-finite or
        larger-than-the-grid radii raise at once.
    upstream_area : array of network.shape, optional
        What "largest" means when snapping; default the upstream cell count.
    area : float or array-like of float, optional
        The reported upstream area of each location in km² (NaN: none). With
        ``snap``, the point moves to the cell within the radius whose upstream
        area is closest to it (relative error; ties: the nearest). Needs the
        grid's geometry.
    crs : pyproj.CRS, str or int, optional
        The CRS of coordinate pairs ``(y, x)`` (e.g. ``"EPSG:4326"`` with
        ``(lat, lon)``); default the network's. Points are transformed to the
        network's CRS with pyproj.

    Returns
    -------
    Locations
        With, per point, the cell used, how far it moved (cells and metres), its
        upstream cells and area, and the relative error to ``area``.

    Raises
    ------
    LocationError
        Points off the grid, off the network (without a network cell within
        ``snap``), unknown node ids, or input in no accepted form.
    ValueError
        A bad ``snap``, an unknown CRS, a ``crs`` given to a network without one.

    Warns
    -----
    UserWarning
        A point drains 1–2 cells while a neighbouring cell drains over 100
        times more: it most likely missed the river; pass ``snap=``.

    Examples
    --------
    >>> import numpy as np
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> locate(net, [(1, 1), (0, 2)]).index
    array([4, 2])
    >>> loc = locate(net, {"gauge": (0, 0)}, snap=1.5)
    >>> loc.index, loc.moved.round(3), loc.upstream_cells
    (array([4]), array([1.414]), array([6.]))
    """
    if isinstance(locations, Locations):
        return locations
    radius, in_metres = geometry.parse_length(snap)
    if radius and len(network.shape) == 1:
        raise LocationError("snapping needs a grid network, not a vector network")
    if len(network.shape) == 2 and not in_metres and radius > max(network.shape):
        raise ValueError(f"snap={snap!r} cells is larger than the {network.shape[0]}×{network.shape[1]} grid")
    tiled = getattr(network, "tiled", False)  # spatial tiles: the values the windows need, read lazily
    names, index, by_coordinates = _parse(network, locations, crs)
    index = np.asarray(index, np.int64)
    reported = _reported(area, index.size)
    raster = len(network.shape) == 2
    cells = km2 = None
    if raster:
        cells, km2 = _tiled_upstream(network) if tiled else (_upstream_cells(network), upstream_km2(network))
    if (in_metres or not np.isnan(reported).all()) and km2 is None:
        if raster and geometry.network_grid(network) is not None:
            _geometry_or_raise(network)  # the UnknownGeometryError asking for crs=
        raise ValueError("snap with a unit, or area=, needs a grid network with coordinates (and a CRS)")
    windows = _windows(network, index, names, radius, in_metres)
    on: Any  # a flat grid, or the windows' cells on tiles (:class:`_Cells`)
    score: Any
    if tiled:  # the cells the windows cover (and, to warn, their neighbours): their tiles only
        flat = _window_cells(network.shape, index, windows[1], int(by_coordinates))
        cells, km2, given = _fetch(network, flat, cells, km2, upstream_area if radius else None)
        on, score = _Cells(flat, ~np.isnan(cells.values), False), cells if given is None else given
    else:
        on, score = network.mask.reshape(-1), upstream_area if upstream_area is not None else cells
        if radius:  # only to pick cells
            score = np.where(on, host(score).reshape(-1).astype(np.float64), np.nan)
    if radius:
        snapped, moved = _snap(network, index, names, radius, in_metres, windows, score, km2, reported, on)
    else:
        off = ~on[index]
        if off.any():
            raise LocationError(
                f"{int(off.sum())} locations are not on the network: "
                f"{_describe(network, names[off], index[off])}; pass snap=<radius in cells> to move them"
            )
        snapped, moved = index, np.zeros(index.size)
    if len(network.shape) == 1:
        return Locations(snapped, names, moved, index)
    assert cells is not None  # a raster network
    moved_m = _moved_metres(network, index, snapped)
    up_km2 = km2[snapped] if km2 is not None else np.full(index.size, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = up_km2 / reported - 1
    if by_coordinates:  # gauges placed by coordinates, not cells chosen by index
        _warn_small(network, names, snapped, cells)
    return Locations(snapped, names, moved, index, moved_m, cells[snapped], up_km2, reported, error)


class _Cells:
    """The values of a grid at some cells (ascending flat indices ``flat``), indexed like the
    flat grid; ``fill`` at the other cells."""

    def __init__(self, flat: np.ndarray, values: np.ndarray, fill: Any):
        self.flat, self.values, self.fill = flat, values, fill

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        if not self.flat.size:
            return np.full(np.shape(index), self.fill)
        pos = np.minimum(np.searchsorted(self.flat, index), self.flat.size - 1)
        return np.where(self.flat[pos] == index, self.values[pos], self.fill)


def _tiled_upstream(network: Any) -> tuple[Any, Any]:
    """A tiled network's upstream cells (float64, NaN off the network) and km² (None where
    the grid's geometry is unknown), lazily: tiled accumulations."""
    import dask.array as da

    from ..operations import accumulate
    from .upstream_area import upstream_area

    cells = accumulate(network, da.ones(network.shape, dtype=np.float64, chunks=network.chunks))
    try:
        return cells, upstream_area(network, units="km2")
    except ValueError:  # no coordinates, or neither CRS nor degrees
        return cells, None


def _fetch(network: Any, flat: np.ndarray, cells: Any, km2: Any, score: Any) -> tuple:
    """:class:`_Cells` of a tiled network's lazy upstream cells, km² and ``score`` (None: none;
    NaN off the network) at the cells ``flat``, in one compute: every tile's first pass of
    the accumulations, their last pass only in the tiles holding those cells."""
    import dask
    import dask.array as da

    from ..backends.tiled_catalogue import at_cells

    score = None if score is None else da.asarray(score).rechunk(network.chunks)
    lazy = [a for a in (cells, km2, score) if a is not None]
    got = dask.compute(*[at_cells(a, network, flat) for a in lazy]) if flat.size else [flat * 0.0] * len(lazy)
    found = iter(_Cells(flat, np.asarray(values, np.float64), np.nan) for values in got)
    cells = next(found)
    km2, score = (None if a is None else next(found) for a in (km2, score))
    if score is not None:  # only to pick cells
        score.values[np.isnan(cells.values)] = np.nan
    return cells, km2, score


def _reported(area: Any, n: int) -> np.ndarray:
    if area is None:
        return np.full(n, np.nan)
    values = (
        np.broadcast_to(np.asarray(area, np.float64), (n,))
        if np.ndim(area) == 0
        else np.asarray(area, np.float64)
    )
    if values.shape != (n,):
        raise ValueError(
            f"area= must hold one reported area (km²) per location: {n}, got shape {values.shape}"
        )
    if np.any(values[~np.isnan(values)] <= 0) or np.isinf(values).any():
        raise ValueError("area= must be positive finite areas in km² (NaN: not reported)")
    return values.copy()


def _upstream_cells(network: RiverNetwork) -> np.ndarray:
    from ..operations import accumulate

    def cells() -> np.ndarray:
        # float64 ones (NaN off the network): float32 sums stop counting at 2**24 cells
        counts = np.asarray(accumulate(network, np.ones(network.shape))).reshape(-1)
        counts.flags.writeable = False
        return counts

    return network.cached(("locations", "upstream_cells"), cells)


def upstream_km2(network: RiverNetwork) -> np.ndarray | None:
    """Upstream area in km² of every cell, or None where the grid's geometry is unknown."""
    from .upstream_area import upstream_area

    def km2() -> np.ndarray | None:
        try:
            return upstream_area(network, units="km2").reshape(-1)
        except ValueError:  # no coordinates, or neither CRS nor degrees
            return None

    return network.cached("upstream_km2", km2)


def _geometry_or_raise(network: RiverNetwork) -> None:
    grid = geometry.network_grid(network)
    assert grid is not None  # the caller checked the network has coordinates
    geometry.cell_areas(grid.y[:2], grid.x[:2], grid.crs, degrees=grid.degrees)  # raises UnknownGeometryError


def _moved_metres(network: RiverNetwork, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Metres between the centres of ``start`` and ``end`` (0 where equal), NaN without geometry."""
    grid = geometry.network_grid(network)
    if grid is None:
        return np.full(start.size, np.nan)
    moved = np.flatnonzero(start != end)
    probe = moved if moved.size else np.arange(min(start.size, 1))  # a 0 m probe: is the geometry known?
    (r1, c1), (r2, c2) = np.divmod(start[probe], network.shape[1]), np.divmod(end[probe], network.shape[1])
    try:
        lengths = grid.step_lengths(r1, c1, r2, c2)
    except ValueError:
        return np.full(start.size, np.nan)
    out = np.zeros(start.size)
    out[probe] = lengths
    return out


def _warn_small(network: RiverNetwork, names, index, cells) -> None:
    """Warn of points draining 1-2 cells beside a cell draining over 100 times more
    (``cells``: upstream cells indexed by flat grid indices, NaN off the network)."""
    ny, nx = network.shape
    small = cells[index] <= _SMALL_CATCHMENT
    if not small.any():
        return
    rows, cols = np.divmod(index, nx)
    near = []
    for dr, dc in zip(*_offsets((-1, 1, -1, 1)), strict=True):
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < ny) & (c >= 0) & (c < nx)
        near.append(np.where(inside, np.nan_to_num(cells[np.where(inside, r * nx + c, 0)]), 0))
    bad = small & (np.max(near, axis=0) > _SMALL_RATIO * cells[index])
    if bad.any():
        shown = _pairs(names[bad], [int(c) for c in cells[index][bad]])
        warnings.warn(
            f"{int(bad.sum())} locations drain only 1-2 cells while a neighbouring cell drains over "
            f"{_SMALL_RATIO} times more (upstream cells {shown}): they most likely missed the river; "
            "pass snap=<radius> (and area=<reported km2>) to move them onto it",
            UserWarning,
            stacklevel=3,
        )


# ------------------------------------------------------------------ parsing
def _parse(network: RiverNetwork, locations: Any, crs: Any = None) -> tuple[np.ndarray, np.ndarray, bool]:
    crs = geometry.as_crs(crs)
    grid = geometry.network_grid(network)
    if crs is not None and (grid is None or grid.implied_crs is None):
        raise ValueError(
            f"locations given in {crs.name!r} cannot be placed on a network without a CRS: "
            "build or open the network with crs=..."
        )
    if hasattr(locations, "dims") and hasattr(locations, "coords"):  # before Mapping: a Dataset is one
        return _from_xarray(network, locations, crs)
    if isinstance(locations, Mapping):
        names = np.array(list(locations.keys()))
        given = list(locations.values())
        if len(network.shape) == 1:
            return names, _node_ids(network, np.asarray(given), names), False
        pairs = np.asarray(given, dtype=np.float64).reshape(-1, 2)
        if network.coords and network.dims and all(d in network.coords for d in network.dims):
            return names, _from_coordinates(network, pairs, names, crs), True
        return names, _from_rowcol(network, pairs, names), False
    tuples = _tuple_pairs(locations) if len(network.shape) == 2 else None
    if tuples is not None:  # a list of (row, col) tuples, read without numpy's type inference
        return np.arange(tuples.shape[0]), _from_rowcol(network, tuples, np.arange(tuples.shape[0])), False
    values = host(locations)  # topology: indices, any backend
    if values.ndim == 2 and values.shape[1] == 2 and len(network.shape) == 2:
        return np.arange(values.shape[0]), _from_rowcol(network, values, np.arange(values.shape[0])), False
    values = np.atleast_1d(values)
    if values.ndim != 1:
        raise LocationError(
            f"locations of shape {values.shape} are neither (row, col) pairs of shape (n, 2) nor 1-D node ids"
        )
    return np.arange(values.size), _node_ids(network, values, np.arange(values.size)), False


def _tuple_pairs(locations: Any) -> np.ndarray | None:
    """A non-empty list of 2-tuples of numbers as an ``(n, 2)`` float64 array; None for anything else."""
    if not isinstance(locations, list) or not locations:
        return None
    if set(map(type, locations)) != {tuple} or set(map(len, locations)) != {2}:  # C-level loops
        return None
    try:
        flat = np.fromiter(chain.from_iterable(locations), np.float64, count=2 * len(locations))
    except (TypeError, ValueError):
        return None
    return flat.reshape(-1, 2)


def _from_xarray(network: RiverNetwork, obj, crs: Any = None) -> tuple[np.ndarray, np.ndarray, bool]:
    if STATION not in obj.dims:
        raise LocationError(
            f"an xarray object of locations needs a {STATION!r} dim, got dims {tuple(obj.dims)}"
        )
    n = obj.sizes[STATION]
    names = obj[STATION].values if STATION in obj.coords else np.arange(n)
    dims = network.dims or ()
    if len(network.shape) == 2 and all(d in obj.coords for d in dims) and len(dims) == 2:
        pairs = np.stack([np.asarray(obj[d].values, np.float64).reshape(n) for d in dims], axis=1)
        if all(d in network.coords for d in dims):
            return names, _from_coordinates(network, pairs, names, crs), True
        return names, _from_rowcol(network, pairs, names), False
    if hasattr(obj, "data_vars") or obj.ndim != 1:
        raise LocationError(
            f"cannot read locations from {type(obj).__name__} with coords {list(obj.coords)}: give it "
            f"coordinates named like the network's dims {dims} along {STATION!r}, "
            "or node ids as a 1-D DataArray"
        )
    return names, _node_ids(network, np.asarray(obj.values), names), False


def _node_ids(network: RiverNetwork, values: np.ndarray, names: np.ndarray) -> np.ndarray:
    if network.ids is not None and len(network.shape) == 1:
        order = np.argsort(network.ids, kind="stable")
        pos = np.minimum(np.searchsorted(network.ids[order], values), order.size - 1)
        found = network.ids[order][pos] == values
        if not found.all():
            raise LocationError(f"unknown node ids: {_pairs(names[~found], values[~found])}")
        return order[pos]
    if values.dtype.kind not in "iu" and not (
        values.dtype.kind == "f" and np.all(values == np.round(values))
    ):
        raise LocationError(f"node ids must be integers (flat grid indices), got dtype {values.dtype}")
    values = values.astype(np.int64)
    size = int(np.prod(network.shape))
    bad = (values < 0) | (values >= size)
    if bad.any():
        raise LocationError(
            f"{int(bad.sum())} node ids are off the grid of {size} cells: {_pairs(names[bad], values[bad])}"
        )
    return values


def _from_rowcol(network: RiverNetwork, pairs: np.ndarray, names: np.ndarray) -> np.ndarray:
    if not np.all(pairs == np.round(pairs)):
        raise LocationError("(row, col) grid indices must be integers")
    rows, cols = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    ny, nx = network.shape
    off = (rows < 0) | (rows >= ny) | (cols < 0) | (cols >= nx)
    if off.any():
        where = [(int(r), int(c)) for r, c in zip(rows[off], cols[off], strict=True)]
        raise LocationError(
            f"{int(off.sum())} locations are off the {ny}×{nx} grid: (row, col) {_pairs(names[off], where)}"
        )
    return rows * nx + cols


def _from_coordinates(
    network: RiverNetwork, pairs: np.ndarray, names: np.ndarray, crs: Any = None
) -> np.ndarray:
    given = pairs
    grid = geometry.network_grid(network)
    assert grid is not None and network.dims is not None  # the caller checked the network has coordinates
    if crs is not None and not crs.equals(grid.implied_crs):
        pairs = geometry.transform_points(pairs, crs, grid.implied_crs)
    if grid.transposed:  # (y, x) pairs on a grid stored x first
        pairs = pairs[:, ::-1]
    positions = [_cell_of(network.coords[d], pairs[:, axis]) for axis, d in enumerate(network.dims)]
    off = (positions[0] < 0) | (positions[1] < 0)
    if off.any():
        where = [tuple(p.tolist()) for p in given[off]]
        in_crs = f" in {crs.name!r}" if crs is not None else ""
        raise LocationError(
            f"{int(off.sum())} locations{in_crs} are off the grid (coordinates {network.dims}): "
            f"{_pairs(names[off], where)}"
        )
    return positions[0] * network.shape[1] + positions[1]


def _cell_of(centres: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the cell containing each value (-1 outside), for ascending or descending centres."""
    from ..geometry import cell_edges as _edges

    centres = np.asarray(centres, np.float64)
    if centres.size == 1:
        return np.where(np.isclose(values, centres[0]), 0, -1)
    edges = _edges(centres)
    descending = edges[0] > edges[-1]
    if descending:
        edges = edges[::-1]
    pos = np.searchsorted(edges, values, side="right") - 1
    pos[values == edges[-1]] = centres.size - 1
    pos = np.where((pos >= 0) & (pos < centres.size) & np.isfinite(values), pos, -1)
    return np.where(pos >= 0, centres.size - 1 - pos, -1) if descending else pos


# ----------------------------------------------------------------- snapping
def _windows(network, index, names, radius, in_metres) -> tuple[np.ndarray, list]:
    """Where to look for each point within ``radius`` (cells, or metres): the cells' extents
    (metres, or ones) and ``(points, (row0, row1, col0, col1))`` windows of offsets; one
    window of no offset without a radius."""
    if not radius:
        return np.ones((index.size, 2)), [(slice(None), (0, 0, 0, 0))]
    ny, nx = network.shape
    spacing = _cell_metres(network, index) if in_metres else np.ones((index.size, 2))
    reach = np.floor(radius / spacing + 1e-9).astype(np.int64)  # cells each way (rows, cols)
    too_far = reach.max(axis=1) > max(ny, nx)
    if too_far.any():
        i = int(np.flatnonzero(too_far)[0])
        raise ValueError(
            f"snap={radius:g}{' m' if in_metres else ' cells'} is larger than the {ny}×{nx} grid "
            f"(at location {_py(names[i])!r}: {reach[i, 0]}×{reach[i, 1]} cells each way)"
        )
    rows, cols = np.divmod(index, nx)
    ry, rx = (int(r) for r in reach.max(axis=0))
    if (2 * ry + 1) * (2 * rx + 1) <= 4096:  # one window for all points, in bounded batches
        step = max(1, (1 << 20) // ((2 * ry + 1) * (2 * rx + 1)))
        return spacing, [(slice(s, s + step), (-ry, ry, -rx, rx)) for s in range(0, index.size, step)]
    # large windows: one point at a time, the window clipped to the grid
    return spacing, [
        (slice(i, i + 1), (max(-sy, -r), min(sy, ny - 1 - r), max(-sx, -c), min(sx, nx - 1 - c)))
        for i, (r, c, (sy, sx)) in enumerate(zip(rows.tolist(), cols.tolist(), reach.tolist(), strict=True))
    ]


def _offsets(window: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The ``(row, col)`` offsets of a window ``(row0, row1, col0, col1)``, row-major."""
    r0, r1, c0, c1 = window
    dr, dc = np.mgrid[r0 : r1 + 1, c0 : c1 + 1]
    return dr.reshape(-1), dc.reshape(-1)


def _window_cells(shape, index, windows, margin: int) -> np.ndarray:
    """The flat indices of the grid's cells in the points' windows grown by ``margin``, ascending."""
    ny, nx = shape
    rows, cols = np.divmod(index, nx)
    found = [np.zeros(0, np.int64)]
    for points, (r0, r1, c0, c1) in windows:
        dr, dc = _offsets((r0 - margin, r1 + margin, c0 - margin, c1 + margin))
        rr, cc = rows[points, None] + dr, cols[points, None] + dc
        inside = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
        found.append(np.unique((rr * nx + cc)[inside]))
    return np.unique(np.concatenate(found))


def _snap(network, index, names, radius, in_metres, windows, score, km2, reported, on):
    """Move each point within ``radius`` (cells, or metres; its ``windows``) to the cell of
    largest ``score``, or, where a reported area is given, of upstream area ``km2`` closest
    to it. ``score``, ``km2`` and ``on`` (network cells) are indexed by flat grid indices."""
    spacing, batches = windows
    rows, cols = np.divmod(index, network.shape[1])
    out, moved = np.empty_like(index), np.empty(index.size)
    picks = (score, km2, reported, radius, on, network.shape)
    for part, window in batches:
        dr, dc = _offsets(window)
        out[part], moved[part] = _pick(rows[part], cols[part], dr, dc, spacing[part], reported[part], *picks)
    lost = out < 0
    if lost.any():
        unit = "m" if in_metres else "cells"
        raise LocationError(
            f"{int(lost.sum())} locations have no network cell within {radius:g} {unit}: "
            f"{_describe(network, names[lost], index[lost])}"
        )
    return out, moved


def _pick(rows, cols, dr, dc, spacing, reported, score, km2, all_reported, radius, on, shape):
    """For points at ``(rows, cols)`` and window offsets ``(dr, dc)``: the chosen cell (-1: none)
    and the distance moved in cells. Largest ``score``, or upstream area closest to the
    reported one; ties: the nearest, then the first in the grid."""
    ny, nx = shape
    rr, cc = rows[:, None] + dr, cols[:, None] + dc
    dist = np.hypot(dr * spacing[:, :1], dc * spacing[:, 1:])
    inside = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
    flat = np.where(inside, rr * nx + cc, 0)
    ok = inside & (dist <= radius * (1 + 1e-9)) & on[flat] & ~np.isnan(score[flat])
    target = reported[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        closeness = np.abs(km2[flat] / target - 1) if km2 is not None else np.zeros(flat.shape)
    rank = np.where(np.isnan(target), -score[flat], closeness)
    rank = np.where(ok, rank, np.inf)
    best = np.lexsort((flat, dist, rank), axis=-1)[:, 0]
    take = np.arange(flat.shape[0])
    chosen = np.where(ok[take, best], flat[take, best], -1)
    return chosen, np.hypot(dr[best], dc[best])


def _cell_metres(network: RiverNetwork, index: np.ndarray) -> np.ndarray:
    """``(n, 2)``: the extent in metres of the cell at each index along the stored axes (metric radii)."""
    grid = geometry.network_grid(network)
    assert grid is not None  # locate checked the geometry before snapping in metres
    ny, nx = network.shape
    rows, cols = np.divmod(index, nx)
    up = np.where(rows + 1 < ny, rows + 1, rows - 1)
    right = np.where(cols + 1 < nx, cols + 1, cols - 1)
    along_first = grid.step_lengths(rows, cols, up, cols)
    return np.stack([along_first, grid.step_lengths(rows, cols, rows, right)], axis=1)


# ------------------------------------------------------------------ messages
def _describe(network: RiverNetwork, names, index) -> str:
    if len(network.shape) == 1:
        ids = index if network.ids is None else network.ids[index]
        return f"node {_pairs(names, ids)}"
    rows, cols = np.divmod(np.asarray(index), network.shape[1])
    return f"(row, col) {_pairs(names, [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)])}"


def _pairs(names, values, limit: int = 10) -> str:
    items = [
        f"{_py(n)!r}: {_py(v)!r}" for n, v in zip(list(names)[:limit], list(values)[:limit], strict=True)
    ]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return "{" + ", ".join(items) + "}" + more


def _py(value):
    return value.item() if isinstance(value, np.generic) else value
