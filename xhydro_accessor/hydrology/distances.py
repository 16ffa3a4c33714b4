"""Distances and lengths along the river network.

Two kinds of weights, as in earthkit-hydro:

``per="edge"`` (distance)
    ``weights[i]`` is the length of the step from cell ``i`` to its downstream
    cell; a path's distance sums its steps, so a cell is at distance 0 from
    itself. Default: :func:`step_lengths` in metres from the grid's CRS —
    geodesic on the ellipsoid on geographic grids (diagonal steps longer than
    straight ones), Euclidean on projected grids; in cells (1 or √2) on grids
    without coordinates, and 1 per edge on vector networks. A grid with
    coordinates but neither a CRS nor degrees raises
    :class:`~xhydro_accessor.geometry.UnknownGeometryError` asking for ``crs=``.
``per="cell"`` (length)
    ``weights[i]`` is the length of the river inside cell ``i``; a path's length
    sums all its cells, both ends included. There is no default.

Results are float64 grids; cells the distance is not defined for (off the
network, or reaching no location) hold NaN.
"""

from __future__ import annotations

from functools import partial
from math import prod
from typing import Any, Literal

import numpy as np
from array_api_compat import is_numpy_array

from .. import geometry
from ..backends import generic
from ..backends.scatter import array_namespace
from ..network import RiverNetwork
from ..operations import check_bool, supported_dtype
from ._backend import const, library, native
from .locations import locate

Per = Literal["edge", "cell"]


def step_lengths(network: RiverNetwork, crs: Any = None, *, latlon: bool | None = None) -> np.ndarray:
    """Length of the step from each cell to its downstream cell (0 at outlets, NaN off the network).

    In metres between cell centres when the grid has coordinates: geodesic on
    the ellipsoid of a geographic CRS (default :attr:`RiverNetwork.crs`; WGS84
    for coordinates in degrees without a CRS — ``latlon``, by default from CF
    units or dims named lat/lon), Euclidean in metres on a projected one (see
    :mod:`xhydro_accessor.geometry`). In cells (1 or √2) on a grid without
    coordinates; 1 per edge on a vector network.

    Raises
    ------
    UnknownGeometryError
        Coordinates without a CRS that do not say they are degrees.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> coords = {"lat": [1.0, 0.0], "lon": [0.0, 1.0]}
    >>> ldd = xr.DataArray([[3, 2], [6, 5]], dims=("lat", "lon"), coords=coords)
    >>> (step_lengths(RiverNetwork.from_ldd(ldd)) / 1000).round(1)
    array([[156.9, 110.6],
           [111.3,   0. ]])
    """
    if getattr(network, "tiled", False):  # spatial tiles: lazily, a dask array chunked like them
        from ..backends.tiled_catalogue import step_lengths as on_tiles

        tiles: Any = network
        grid = geometry.network_grid(tiles, crs, latlon)
        lazy: Any = on_tiles(tiles, partial(_lengths, grid, tiles.shape[1]))
        return lazy
    out = np.full(prod(network.shape), np.nan)
    nodes, to = network.nodes, network.downstream
    has = to >= 0
    out[nodes[~has]] = 0.0
    if len(network.shape) == 1:
        out[nodes[has]] = 1.0
        return out
    grid = geometry.network_grid(network, crs, latlon)
    out[nodes[has]] = _lengths(grid, network.shape[1], nodes[has], to[has])
    return out.reshape(network.shape)


def _lengths(grid: Any, nx: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Lengths of the steps between the flat indices ``src`` and ``dst`` of a grid ``nx`` wide."""
    (r1, c1), (r2, c2) = np.divmod(src, nx), np.divmod(dst, nx)
    if grid is not None:
        return grid.step_lengths(r1, c1, r2, c2)
    dc = (c2 - c1 + nx // 2) % nx - nx // 2 if nx > 2 else c2 - c1  # wrapped east-west steps
    return np.hypot(r2 - r1, dc)


def distance_to_outlet(network: RiverNetwork, weights: Any = None, *, per: Per = "edge") -> Any:
    """Distance (or length) along the flow path from each cell to its outlet.

    ``weights`` may be an array of any backend (numpy, dask, torch, jax, cupy,
    Array API); the result is of its library and device (float64 for integer
    weights), differentiable with torch and jax. The same holds for
    :func:`distance_to_source` and :func:`distance_from_points`.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 3, 255], [255, 255, 5]]))
    >>> distance_to_outlet(net).round(3)  # in cells: the diagonal step is √2
    array([[2.414, 1.414,   nan],
           [  nan,   nan, 0.   ]])
    >>> distance_to_outlet(net, np.full((2, 3), 10.0), per="cell")
    array([[30., 20., nan],
           [nan, nan, 10.]])
    """
    return _dispatch(network, weights, per, "distance_to_outlet", seeds=None, down=False, up=True,
                     is_max=False)  # fmt: skip


def distance_to_source(
    network: RiverNetwork,
    weights: Any = None,
    *,
    path: Literal["longest", "shortest"] = "longest",
    per: Per = "edge",
) -> Any:
    """Distance (or length) from each cell up to its farthest (or nearest) source.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2], [255, 6, 5]]))
    >>> distance_to_source(net, np.ones((2, 3)))
    array([[ 0.,  1.,  2.],
           [nan,  0.,  3.]])
    >>> distance_to_source(net, np.ones((2, 3)), path="shortest")
    array([[ 0.,  1.,  2.],
           [nan,  0.,  1.]])
    """
    if path not in ("longest", "shortest"):
        raise ValueError(f"path must be 'longest' or 'shortest', got {path!r}")
    sources = "sources" if getattr(network, "tiled", False) else network.sources  # tiles: found in each
    return _dispatch(network, weights, per, "distance_to_source", seeds=sources, down=True,
                     up=False, is_max=path == "longest")  # fmt: skip


def distance_from_points(
    network: RiverNetwork,
    locations: Any,
    weights: Any = None,
    *,
    downstream: bool = True,
    upstream: bool = False,
    how: Literal["min", "max"] = "min",
    per: Per = "edge",
    snap: float | str = 0,
) -> Any:
    """Distance along the network between each cell and the locations.

    ``downstream=True``: cells downstream of a location get their distance from
    it; ``upstream=True``: cells upstream of a location get their distance to
    it; both: the shortest distance along the network in either direction
    (through confluences, e.g. to a gauge on a neighbouring tributary).
    ``how="max"`` takes the farthest location instead of the nearest (one
    direction only). Cells no location reaches hold NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 6, 5]]))
    >>> distance_from_points(net, [(0, 1)])
    array([[nan,  0.,  1.,  2.,  3.]])
    >>> distance_from_points(net, [(0, 1), (0, 3)], upstream=True, downstream=False)
    array([[ 1.,  0.,  1.,  0., nan]])
    """
    if how not in ("min", "max"):
        raise ValueError(f"how must be 'min' or 'max', got {how!r}")
    check_bool(downstream, "downstream")
    check_bool(upstream, "upstream")
    if not (upstream or downstream):
        raise ValueError("pass upstream=True and/or downstream=True")
    if upstream and downstream and how == "max":
        raise ValueError("how='max' needs one direction: the longest path both ways is not defined")
    seeds = locate(network, locations, snap=snap).index
    return _dispatch(network, weights, per, "distance_from_points", seeds=seeds, down=downstream,
                     up=upstream, is_max=how == "max")  # fmt: skip


# ------------------------------------------------------------------ helpers
def _dispatch(network: RiverNetwork, weights: Any, per: str, operation: str, **options: Any) -> Any:
    """Check the weights and run :func:`_spread` in their library (lazily on dask)."""
    if per not in ("edge", "cell"):
        raise ValueError(f"per must be 'edge' (step distances) or 'cell' (cell lengths), got {per!r}")
    if weights is None:
        if per == "cell":
            raise ValueError("per='cell' needs weights: the length of the river in each cell")
        if getattr(network, "tiled", False):
            weights = step_lengths(network)
        else:
            weights = network.cached("step_lengths", lambda: step_lengths(network))
    weights = supported_dtype(weights, "weights")
    if tuple(weights.shape if hasattr(weights, "shape") else np.shape(weights)) != tuple(network.shape):
        raise ValueError(f"{operation}: weights must have the network's shape {network.shape}, "
                         f"got {np.shape(weights)}")  # fmt: skip
    if library(weights) == "numpy" and np.any(np.asarray(weights) < 0):
        raise ValueError(f"{operation}: weights are lengths (or travel times) and must be non-negative, "
                         f"found {np.asarray(weights)[np.asarray(weights) < 0][0]}")  # fmt: skip
    options.update(network=network, per=per)
    if getattr(network, "tiled", False):  # spatial tiles, lazily
        return _on_tiles(weights, **options)
    if library(weights) == "dask":
        from ..backends.dask import map_batches

        return map_batches(_spread, weights, grid_ndim=len(network.shape), core=tuple(network.shape),
                           dtype=np.float64, **options)  # numpy blocks  # fmt: skip
    return native(lambda w: _spread(w, **options), weights)


def _on_tiles(weights, *, network, per, seeds, down, up, is_max):
    """:func:`_spread` on a tiled network, a pass over its tiles per direction (dask, float64)."""
    import dask.array as da

    from ..backends.tiled_catalogue import paths

    if library(weights) not in ("numpy", "dask"):
        raise NotImplementedError(
            f"a tiled network runs dask (or numpy) weights, not {library(weights)} arrays: gather it "
            "with xhydro_accessor.backends.tiled.gather(network)"
        )
    w = da.asarray(weights, chunks=network.chunks).astype(np.float64)
    per_cell = per == "cell"
    if seeds is None:  # to the outlet: the one path from each cell
        return paths(network, w, "outlets", per_cell=per_cell, is_max=False, pull=True)
    out = seeds
    if down:
        out = paths(network, w, out, per_cell=per_cell, is_max=is_max, pull=False)
    if up:
        out = paths(network, w, out, per_cell=per_cell, is_max=is_max, pull=True)
    return out


def _spread(weights, *, network, per, seeds, down, up, is_max):
    """Propagate distances from ``seeds`` (None: the outlets, by a sum along the path)."""
    from ..operations import accumulate_downstream

    if is_numpy_array(weights):  # the compiled CPU kernels
        w = np.ascontiguousarray(weights, np.float64).reshape(-1)
    else:
        xp = array_namespace(weights)
        w = weights if xp.isdtype(weights.dtype, "real floating") else xp.astype(weights, xp.float64)
        w = xp.reshape(w, (1, prod(network.shape)))
    if seeds is None:  # to the outlet: a sum along the path (outlets take no step)
        if per == "edge":
            has_down = np.zeros(prod(network.shape), bool)
            has_down[network.nodes[network.downstream >= 0]] = True
            xp = array_namespace(w)
            w = xp.where(const(xp, w, has_down), w, xp.zeros_like(w))
        return accumulate_downstream(network, array_namespace(w).reshape(w, tuple(network.shape)))
    if is_numpy_array(w):
        from ..kernels.paths import spread_down, spread_up

        out = np.full(w.size, np.nan)
        out[seeds] = w[seeds] if per == "cell" else 0.0
        if down:
            spread_down(network.nodes, network.downstream, w, per == "cell", is_max, out)
        if up:
            spread_up(network.nodes, network.downstream, w, is_max, out)
        return out.reshape(network.shape)
    xp, ops, lv = generic.setup(network, w)
    inf = float("inf")
    identity = -inf if is_max else inf
    better = xp.maximum if is_max else xp.minimum

    def step(a, b):  # a path extended by a step: NaN steps lead nowhere
        c = a + b
        return xp.where(xp.isnan(c), xp.full_like(c, identity), c)

    mask = np.zeros(prod(network.shape), bool)
    mask[seeds] = True
    start = w if per == "cell" else xp.zeros_like(w)
    out = xp.where(const(xp, w, mask), start, xp.full_like(w, identity))
    out = xp.where(xp.isnan(out), xp.full_like(out, identity), out)
    if down:
        for child, parent in lv.levels:
            length = ops.take(w, parent if per == "cell" else child)
            out = ops.reduce(out, parent, step(ops.take(out, child), length), "max" if is_max else "min")
    if up:
        for child, parent in reversed(lv.levels):
            extended = step(ops.take(out, parent), ops.take(w, child))
            out = ops.put(out, child, better(ops.take(out, child), extended))
    out = xp.where(xp.abs(out) == inf, xp.full_like(out, float("nan")), out)
    return xp.reshape(out, tuple(network.shape))
