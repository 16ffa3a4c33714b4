"""Locations on a river network (gauges, outlets, points): parsing and snapping.

:func:`locate` turns what users have into flat grid indices of network cells:

- a dict ``{name: (y, x)}`` in the network's coordinates (a network built from a
  DataArray); without coordinates the pairs are ``(row, col)``; for a vector
  network ``{name: node_id}``;
- an array-like of ``(row, col)`` pairs, shape ``(n, 2)``;
- a 1-D array-like of node ids: labels of a vector network, else flat grid indices;
- an xarray object with a ``station`` dim holding the network's spatial
  coordinates (e.g. ``y(station)``, ``x(station)``), or, 1-D, node ids;
- a :class:`Locations` (returned unchanged).

A point is placed in the cell whose extent contains it (edges halfway between
cell centres). Points off the grid, or on a cell that is not on the network,
raise a :class:`LocationError` naming them; with ``snap=radius`` each point moves
to the network cell of largest upstream area within ``radius`` cells (ties: the
nearest, then the first in the grid), and :attr:`Locations.moved` says how far.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..network import RiverNetwork
from ._backend import host

STATION = "station"


class LocationError(ValueError):
    """Locations off the grid, off the network, or not understood."""


@dataclass(frozen=True)
class Locations:
    """Network cells of named locations.

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
    """

    index: np.ndarray
    names: np.ndarray
    moved: np.ndarray
    requested: np.ndarray

    def __len__(self) -> int:
        return int(self.index.size)

    def coords(self, network: RiverNetwork) -> dict[Hashable, Any]:
        """Coordinates for an xarray output on a ``station`` dim.

        The station names, the network's grid coordinates of each (snapped) cell,
        ``row``/``col`` (or ``node`` ids) and, after snapping, ``snap_distance``.

        Examples
        --------
        >>> import numpy as np
        >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
        >>> sorted(locate(net, {"a": (0, 1)}).coords(net))
        ['col', 'row', 'station']
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
        if np.any(self.index != self.requested):
            out["snap_distance"] = (
                STATION,
                self.moved,
                {"units": "1", "long_name": "snap distance in cells"},
            )
        return out


def locate(
    network: RiverNetwork,
    locations: Any,
    *,
    snap: float = 0,
    upstream_area: Any = None,
) -> Locations:
    """Network cells of ``locations`` (see the module docstring for the forms accepted).

    Parameters
    ----------
    network : RiverNetwork
    locations : dict, array-like, xarray object or Locations
    snap : float, default 0
        Radius in cells: move each point to the network cell of largest upstream
        area within it (0: no snapping; off-network points then raise).
    upstream_area : array of network.shape, optional
        What "largest" means when snapping; default the upstream cell count.

    Raises
    ------
    LocationError
        Points off the grid, off the network (without a network cell within
        ``snap``), unknown node ids, or input in no accepted form.

    Examples
    --------
    >>> import numpy as np
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> locate(net, [(1, 1), (0, 2)]).index
    array([4, 2])
    >>> loc = locate(net, {"gauge": (0, 0)}, snap=1.5)
    >>> loc.index, loc.moved.round(3)
    (array([4]), array([1.414]))
    """
    if isinstance(locations, Locations):
        return locations
    names, index = _parse(network, locations)
    index = np.asarray(index, np.int64)
    if snap:
        if len(network.shape) == 1:
            raise LocationError("snapping needs a grid network, not a vector network")
        snapped, moved = _snap(network, index, names, float(snap), upstream_area)
    else:
        off = ~network.mask.reshape(-1)[index]
        if off.any():
            raise LocationError(
                f"{int(off.sum())} locations are not on the network: "
                f"{_describe(network, names[off], index[off])}; pass snap=<radius in cells> to move them"
            )
        snapped, moved = index, np.zeros(index.size)
    return Locations(snapped, names, moved, index)


# ------------------------------------------------------------------ parsing
def _parse(network: RiverNetwork, locations: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(locations, "dims") and hasattr(locations, "coords"):  # before Mapping: a Dataset is one
        return _from_xarray(network, locations)
    if isinstance(locations, Mapping):
        names = np.array(list(locations.keys()))
        values = list(locations.values())
        if len(network.shape) == 1:
            return names, _node_ids(network, np.asarray(values), names)
        pairs = np.asarray(values, dtype=np.float64).reshape(-1, 2)
        if network.coords and network.dims and all(d in network.coords for d in network.dims):
            return names, _from_coordinates(network, pairs, names)
        return names, _from_rowcol(network, pairs, names)
    values = host(locations)  # topology: indices, any backend
    if values.ndim == 2 and values.shape[1] == 2 and len(network.shape) == 2:
        return np.arange(values.shape[0]), _from_rowcol(network, values, np.arange(values.shape[0]))
    values = np.atleast_1d(values)
    if values.ndim != 1:
        raise LocationError(
            f"locations of shape {values.shape} are neither (row, col) pairs of shape (n, 2) nor 1-D node ids"
        )
    return np.arange(values.size), _node_ids(network, values, np.arange(values.size))


def _from_xarray(network: RiverNetwork, obj) -> tuple[np.ndarray, np.ndarray]:
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
            return names, _from_coordinates(network, pairs, names)
        return names, _from_rowcol(network, pairs, names)
    if hasattr(obj, "data_vars") or obj.ndim != 1:
        raise LocationError(
            f"cannot read locations from {type(obj).__name__} with coords {list(obj.coords)}: give it "
            f"coordinates named like the network's dims {dims} along {STATION!r}, "
            "or node ids as a 1-D DataArray"
        )
    return names, _node_ids(network, np.asarray(obj.values), names)


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


def _from_coordinates(network: RiverNetwork, pairs: np.ndarray, names: np.ndarray) -> np.ndarray:
    positions = [_cell_of(network.coords[d], pairs[:, axis]) for axis, d in enumerate(network.dims)]
    off = (positions[0] < 0) | (positions[1] < 0)
    if off.any():
        where = [tuple(p.tolist()) for p in pairs[off]]
        raise LocationError(
            f"{int(off.sum())} locations are off the grid (coordinates {network.dims}): "
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
def _snap(network, index, names, radius, upstream_area):
    from ..operations import accumulate

    if upstream_area is None:
        if "upstream_cells" not in network._cache:
            network._cache["upstream_cells"] = accumulate(network, np.ones(network.shape, np.float32))
        upstream_area = network._cache["upstream_cells"]
    area = host(upstream_area).reshape(-1).astype(np.float64)  # only to pick cells
    area = np.where(network.mask.reshape(-1) & ~np.isnan(area), area, -np.inf)
    r = int(np.floor(radius))
    dr, dc = np.mgrid[-r : r + 1, -r : r + 1]
    disc = dr**2 + dc**2 <= radius**2 + 1e-9
    dr, dc = dr[disc], dc[disc]
    dist = np.sqrt(dr**2 + dc**2)
    ny, nx = network.shape
    out, moved = np.empty_like(index), np.empty(index.size)
    for start in range(0, index.size, 4096):  # bounded memory for large radii
        rows, cols = np.divmod(index[start : start + 4096, None], nx)
        rr, cc = rows + dr, cols + dc
        inside = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
        flat = np.where(inside, rr * nx + cc, 0)
        score = np.where(inside, area[flat], -np.inf)
        # the largest area; among equal ones the nearest; then the first in the grid
        best = np.lexsort((flat, np.broadcast_to(dist, flat.shape), -score), axis=-1)[:, 0]
        take = np.arange(flat.shape[0])
        lost = np.isneginf(score[take, best])
        if lost.any():
            chunk = slice(start, start + flat.shape[0])
            raise LocationError(
                f"{int(lost.sum())} locations have no network cell within {radius} cells: "
                f"{_describe(network, names[chunk][lost], index[chunk][lost])}"
            )
        out[start : start + flat.shape[0]] = flat[take, best]
        moved[start : start + flat.shape[0]] = dist[best]
    return out, moved


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
