"""Flow paths from locations: the ordered cells down to the outlet, or up the main stem.

:func:`flow_path` follows the flow from each location (gauge) downstream to its
outlet, or upstream along the main stem; :func:`main_stem` marks the main stems
upstream of locations on the grid. pyflwdir's ``FlwdirRaster.path`` does the same
walk (``direction``, ``max_length``) and returns a list of index arrays: so does
:attr:`FlowPaths.paths`; the xarray layer (``.hydro.flow_path``) gives one Dataset
padded along a ``step`` dim.

The main upstream cell of a cell is its upstream cell of largest upstream area
(km² from the grid's geometry, else the upstream cell count; or the measure
given as ``upstream_area=``), compared rounded to 6 decimals (1 m² in km²) so
that the rounding errors of sums added in different orders do not decide. Equal
rounded areas are ties, won by the smallest flat index (pyflwdir's rule: ``main_upstream`` keeps the
first of equal areas in flat order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from math import prod
from typing import Any, Literal

import numpy as np

from .. import geometry
from ..network import RiverNetwork
from ..operations import accumulate
from ._backend import host
from .distances import step_lengths
from .locations import Locations, locate, upstream_km2

Direction = Literal["down", "up"]


@dataclass(frozen=True)
class FlowPaths:
    """Flow paths from locations, stored end to end (ragged).

    Attributes
    ----------
    index : ndarray of int64
        Flat grid index of every cell of every path, path after path, each from
        its location (first) along the flow (``direction="down"``) or up the
        main stem (``"up"``).
    distance : ndarray of float64
        Length along the path from the location to each cell (0 at the
        location): metres on grids whose geometry is known (geodesic on
        geographic grids), cells (1 or √2 per step) on grids without
        coordinates, 1 per edge on vector networks — see :attr:`units`.
    offsets : ndarray of int64
        Path ``g`` is ``index[offsets[g]:offsets[g + 1]]``.
    locations : Locations
        The locations, as :func:`~xhydro_accessor.hydrology.locations.locate` placed them.
    units : str
        ``"m"``, or ``"1"`` where the lengths count cells or edges.
    network : RiverNetwork
        The network walked (for :attr:`y`, :attr:`x`, :attr:`rows`, :attr:`cols`,
        computed when first asked for).
    """

    index: np.ndarray
    distance: np.ndarray
    offsets: np.ndarray
    locations: Locations
    units: str
    network: RiverNetwork = field(repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    @cached_property
    def _centres(self) -> tuple[np.ndarray, np.ndarray]:
        return cell_centres(self.network, self.index)

    @property
    def y(self) -> np.ndarray:
        """The cell-centre ``y`` coordinate (latitude, northing) of each cell (NaN without coordinates)."""
        return self._centres[0]

    @property
    def x(self) -> np.ndarray:
        """The cell-centre ``x`` coordinate (longitude, easting) of each cell (NaN without coordinates)."""
        return self._centres[1]

    @property
    def rows(self) -> np.ndarray:
        """The stored row (first grid axis) of each cell; a vector network's node position."""
        return self.index // self.network.shape[1] if len(self.network.shape) == 2 else self.index

    @property
    def cols(self) -> np.ndarray:
        """The stored column (second grid axis) of each cell; 0 on a vector network."""
        return self.index % self.network.shape[1] if len(self.network.shape) == 2 else self.index * 0

    @property
    def n_cells(self) -> np.ndarray:
        """Number of cells on each path (the location included)."""
        return np.diff(self.offsets)

    @property
    def paths(self) -> list[np.ndarray]:
        """The flat indices of each path, as a list (pyflwdir's ``path()`` output)."""
        return np.split(self.index, self.offsets[1:-1])

    @property
    def lengths(self) -> np.ndarray:
        """Length of each path from its location to its last cell (pyflwdir's distances)."""
        return self.distance[self.offsets[1:] - 1]


def flow_path(
    network: RiverNetwork,
    locations: Any,
    direction: Direction = "down",
    max_length: float | str | None = None,
    *,
    snap: float | str = 0,
    upstream_area: Any = None,
) -> FlowPaths:
    """The ordered cells of the flow path from each location, and the length along it.

    Parameters
    ----------
    network : RiverNetwork
    locations : see :func:`~xhydro_accessor.hydrology.locations.locate`
        ``(y, x)`` coordinates, ``(row, col)`` pairs, flat indices, named gauges...
    direction : {"down", "up"}
        ``"down"``: to the outlet; ``"up"``: up the main stem (the upstream
        cell of largest upstream area at each confluence, see the module
        docstring for ties) to a source.
    max_length : float or str, optional
        Stop before the step that would take the path beyond this length
        (pyflwdir's rule): a number counts steps (cells moved, each 1, as
        pyflwdir's ``unit="cell"``), a string with a unit (``"5 km"``) is a
        length along the path in metres (needs the grid's geometry).
    snap : float or str, default 0
        Snapping radius of the locations (see :func:`locate`).
    upstream_area : array of network.shape, optional
        The measure of the main stem (``direction="up"``); default the upstream
        area in km² (the upstream cell count on grids without geometry).

    Returns
    -------
    FlowPaths
        Per location its cells (flat index, ``rows``/``cols``), their
        coordinates (``y``/``x``) and the length along the path from the
        location. :attr:`FlowPaths.paths` is the list of index arrays
        pyflwdir's ``path()`` returns.

    Raises
    ------
    ValueError
        An unknown direction, a bad ``max_length``, or a length with a unit on a
        grid whose geometry is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> paths = flow_path(net, [(0, 0), (1, 1)])
    >>> paths.paths, paths.distance.round(3)
    ([array([0, 4]), array([4])], array([0.   , 1.414, 0.   ]))
    >>> flow_path(net, [(1, 1)], direction="up").paths  # ties: the smallest flat index
    [array([4, 0])]
    """
    if direction not in ("down", "up"):
        raise ValueError(f"direction must be 'down' or 'up', got {direction!r}")
    loc = locate(network, locations, snap=snap)
    limit, in_metres = (
        (np.inf, True) if max_length is None else geometry.parse_length(max_length, "max_length")
    )
    if in_metres and max_length is not None and _units(network) != "m":
        raise ValueError(
            f"max_length={max_length!r} is a length in metres: the network's grid has no known geometry "
            "(coordinates and a CRS); give max_length as a number of steps"
        )
    nxt = _downstream(network) if direction == "down" else main_upstream(network, upstream_area)
    return _walk(network, loc, nxt, direction == "up", not in_metres, limit)


def main_stem(
    network: RiverNetwork, locations: Any, *, snap: float | str = 0, upstream_area: Any = None
) -> np.ndarray:
    """Boolean grid: the main stems upstream of the locations, the locations included.

    The union of :func:`flow_path` ``(direction="up")`` from every location: at each
    confluence the upstream cell of largest upstream area (``upstream_area=``,
    ties as in the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> ldd = np.array([[3, 2, 2], [6, 6, 2], [6, 6, 5]])  # at (1, 1) three single cells tie
    >>> main_stem(RiverNetwork.from_ldd(ldd), [(2, 2)]).astype(int)
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    paths = flow_path(network, locations, "up", snap=snap, upstream_area=upstream_area)
    mask = np.zeros(prod(network.shape), bool)
    mask[paths.index] = True
    return mask.reshape(network.shape)


def main_upstream(network: RiverNetwork, upstream_area: Any = None) -> np.ndarray:
    """Flat index of each cell's main upstream cell (-1 at sources and off the network).

    The upstream cell of largest ``upstream_area`` (default: km² from the grid's
    geometry, else the upstream cell count); ties (equal once rounded to 6 decimals) to the
    smallest flat index.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> main_upstream(RiverNetwork.from_ldd(np.array([[6, 5, 4, 4]])))  # cell 1: 2 drains 2 cells, 0 one
    array([-1,  2,  3, -1])
    """
    if upstream_area is None:
        return network.cached(
            ("paths", "main_upstream"), lambda: main_upstream(network, _default_area(network))
        )
    score = host(upstream_area).astype(np.float64).reshape(-1)
    if score.size != prod(network.shape):
        raise ValueError(
            f"upstream_area must have the network's shape {network.shape}, got {np.shape(upstream_area)}"
        )
    has = network.downstream >= 0
    child, parent = network.nodes[has].astype(np.int64), network.downstream[has].astype(np.int64)
    order = np.lexsort((child, -np.round(score[child], 6), parent))
    parent, child = parent[order], child[order]
    first = np.ones(parent.size, bool)
    first[1:] = parent[1:] != parent[:-1]
    out = np.full(prod(network.shape), -1, np.int64)
    out[parent[first]] = child[first]
    return out


def cell_centres(network: RiverNetwork, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(y, x)`` cell-centre coordinates of flat grid indices (NaN without grid coordinates).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> ldd = xr.DataArray([[6, 5]], dims=("y", "x"), coords={"y": [10.0], "x": [1.0, 2.0]})
    >>> cell_centres(RiverNetwork.from_ldd(ldd), np.array([1]))
    (array([10.]), array([2.]))
    """
    index = np.asarray(index, np.int64)
    grid = geometry.network_grid(network) if len(network.shape) == 2 else None
    if grid is None:
        return np.full(index.size, np.nan), np.full(index.size, np.nan)
    first, second = np.divmod(index, network.shape[1])
    return (grid.y[second], grid.x[first]) if grid.transposed else (grid.y[first], grid.x[second])


# ------------------------------------------------------------------ helpers
def _walk(network, loc: Locations, nxt, upward: bool, per_step: bool, limit: float) -> FlowPaths:
    from ..kernels.walks import walk_counts, walk_fill

    steps = flat_step_lengths(network)
    starts = loc.index.astype(np.int64)
    counts = np.empty(starts.size, np.int64)
    walk_counts(starts, nxt, steps, upward, per_step, float(limit), counts)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    index, distance = np.empty(offsets[-1], np.int64), np.empty(offsets[-1])
    walk_fill(starts, nxt, steps, upward, offsets, index, distance)
    return FlowPaths(index, distance, offsets, loc, _units(network), network)


def _units(network: RiverNetwork) -> str:
    return "m" if len(network.shape) == 2 and geometry.network_grid(network) is not None else "1"


def flat_step_lengths(network: RiverNetwork) -> np.ndarray:
    """:func:`~xhydro_accessor.hydrology.distances.step_lengths`, flat and computed once per network."""
    return network.cached("step_lengths", lambda: step_lengths(network)).reshape(-1)


def _downstream(network: RiverNetwork) -> np.ndarray:
    return network.cached(("paths", "downstream"), lambda: network.downstream_grid().reshape(-1))


def _default_area(network: RiverNetwork) -> np.ndarray:
    """Upstream area in km², or the upstream cell count where the geometry is unknown."""
    km2 = upstream_km2(network) if len(network.shape) == 2 else None
    if km2 is not None:
        return km2
    return np.asarray(accumulate(network, np.ones(network.shape)), np.float64)
