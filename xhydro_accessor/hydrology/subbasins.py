"""Sub-basins: a network cut into units by stream order, by area, or by Pfafstetter coding.

pyflwdir's three schemes (``FlwdirRaster.subbasins_streamorder``,
``subbasins_area`` and ``subbasins_pfafstetter``), with their parameters and the
same partitions. Labels follow the catchments' conventions
(:mod:`xhydro_accessor.hydrology.catchments`): int32, 0 off the network; the
units are numbered ``1..n`` by the ascending flat index of their outlet cells,
except Pfafstetter codes, which are the codes themselves.

The main stem of a river, which the area and Pfafstetter schemes follow, goes
upstream through the cell of most upstream cells at each confluence (ties: the
smallest flat index; :func:`~xhydro_accessor.hydrology.stream_order.main_upstream`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..network import RiverNetwork
from .stream_order import hack, main_upstream, strahler

SCHEMES = ("order", "area", "pfafstetter")


def subbasins(
    network: RiverNetwork,
    by: Literal["order", "area", "pfafstetter"] = "order",
    *,
    min_sto: int | None = None,
    order: Any = None,
    area_min: float | None = None,
    depth: int | None = None,
    upa_min: float | None = None,
    upstream_area: Any = None,
) -> np.ndarray:
    """Cut the network into sub-basins by stream order, by area or by Pfafstetter coding.

    Parameters
    ----------
    network : RiverNetwork
    by : {"order", "area", "pfafstetter"}, default "order"
        ``"order"``: a sub-basin drains to each cell of order ``min_sto`` or more
        where the order changes downstream (the upstream end of every stretch of
        one order), or to an outlet. ``"area"``: going upstream from the
        outlets, a new sub-basin starts at a cell draining more than
        ``area_min`` when the unit it leaves keeps more than ``area_min`` too
        (a tributary, or a cut of the main stem between confluences).
        ``"pfafstetter"``: the four largest tributaries of each main stem are
        sub-basins 2, 4, 6, 8 (from downstream up), the inter-basins of the main
        stem below and between them 1, 3, 5, 7 and above the last 9, recursively
        ``depth`` digits deep (ties in area between tributaries broken as pyflwdir
        breaks them, so the codes equal pyflwdir's).
    min_sto : int, default -2 (``by="order"``)
        Smallest order of a sub-basin's outlet; negative: counted down from the
        largest order on the network (-2: two below it).
    order : array of network.shape, optional (``by="order"``)
        The stream order to cut by; default :func:`~xhydro_accessor.strahler`.
    area_min : float (``by="area"``, required)
        The smallest upstream area of a new sub-basin, in the unit of ``upstream_area``.
    depth : int, default 1 (``by="pfafstetter"``)
        Number of Pfafstetter digits (levels).
    upa_min : float, default 0 (``by="pfafstetter"``)
        Rivers draining less than this (unit of ``upstream_area``) start no sub-basin.
    upstream_area : array of network.shape, optional
        What "area" means. Default: km² (:func:`~xhydro_accessor.upstream_area`)
        for ``by="area"``, upstream cells for ``by="pfafstetter"`` (pyflwdir's defaults).

    Returns
    -------
    ndarray of int32, network.shape
        Sub-basin labels ``1..n`` (by ascending outlet cell), or Pfafstetter codes
        (``depth`` digits 1–9, each basin of the network coded on its own); 0
        off the network and, by order, on cells draining to no cell of order
        ``min_sto`` or more (small rivers reaching the sea on their own).

    Notes
    -----
    One or two passes over the network plus, for Pfafstetter, a walk of the main
    stems; ``by="area"`` visits tributaries of one confluence in the network's
    order (:attr:`RiverNetwork.nodes` reversed) where which splits first matters,
    as pyflwdir visits them in its own order (its ``idxs_seq``).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> subbasins(net, min_sto=1)  # every source is a sub-basin, the outlet another
    array([[1, 2, 3],
           [4, 5, 6]], dtype=int32)
    >>> subbasins(net, "pfafstetter")  # 4 tributaries meet the main stem (cell 0) at the pit
    array([[3, 2, 4],
           [6, 1, 8]], dtype=int32)
    >>> line = RiverNetwork.from_ldd(np.array([[6, 6, 6, 6, 5]]))  # 1..5 upstream cells
    >>> subbasins(line, "area", area_min=1.5, upstream_area=np.array([[1, 2, 3, 4, 5]]))
    array([[1, 1, 1, 2, 2]], dtype=int32)
    """
    from ..kernels import subbasins as kernels

    if by not in SCHEMES:
        raise ValueError(f"by must be one of {SCHEMES}, got {by!r}")
    given = {"min_sto": min_sto, "order": order, "area_min": area_min, "depth": depth, "upa_min": upa_min}
    own = {"order": ("min_sto", "order"), "area": ("area_min",), "pfafstetter": ("depth", "upa_min")}[by]
    stray = [name for name, value in given.items() if value is not None and name not in own]
    if stray:
        raise ValueError(f"{', '.join(stray)} do not apply to by={by!r} (its parameters: {', '.join(own)})")
    if by == "order" and upstream_area is not None:
        raise ValueError("upstream_area does not apply to by='order'")
    nodes, to = network.nodes, network.downstream
    flat_mask = network.mask.reshape(-1)
    if by == "pfafstetter":
        depth = 1 if depth is None else depth
        if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or not 1 <= depth <= 9:
            raise ValueError(f"depth must be an integer from 1 to 9 (digits of the codes), got {depth!r}")
        main, cells = main_upstream(network)
        _, down = _down_first(network)
        upa = cells.astype(np.float64) if upstream_area is None else _area(network, upstream_area)
        threshold = _number(0.0 if upa_min is None else upa_min, "upa_min")
        classic = hack(network).reshape(-1)
        keep = flat_mask & (upa >= threshold) & (classic <= depth + 1)
        branch = np.zeros(flat_mask.size, np.int64)
        kernels.pfafstetter_branches(down, main, upa, np.where(keep, classic, 0), network.outlets,
                                     depth, branch)  # fmt: skip
        kernels.fill_upstream(nodes, to, branch)
        return (branch % 10**depth).astype(np.int32).reshape(network.shape)
    if by == "order":
        if order is None:
            order = strahler(network)
        values = _grid_array(network, order, "order")
        if values.dtype.kind not in "iu":
            raise ValueError(f"order must hold integer stream orders, got dtype {values.dtype}")
        values = values.astype(np.int64)
        min_sto = -2 if min_sto is None else min_sto
        if isinstance(min_sto, bool) or not isinstance(min_sto, int | np.integer):
            raise ValueError(f"min_sto must be an integer, got {min_sto!r}")
        if min_sto < 0:
            min_sto = int(values[flat_mask].max(initial=0)) + min_sto
        below = np.full(flat_mask.size, -1, np.int64)
        below[nodes] = np.where(to >= 0, values[np.maximum(to, 0)], -1)
        outlet = flat_mask & (values >= min_sto) & (values != below)
    else:
        if area_min is None:
            raise ValueError(
                "by='area' needs area_min=<smallest sub-basin area, in the unit of upstream_area>"
            )
        threshold = _number(area_min, "area_min")
        upa = _km2(network) if upstream_area is None else _area(network, upstream_area)
        outlet = np.zeros(flat_mask.size, bool)
        kernels.area_outlets(*_down_first(network), main_upstream(network)[0], upa, threshold, outlet)
    labels = np.zeros(flat_mask.size, np.int32)
    found = np.flatnonzero(outlet)
    labels[found] = np.arange(1, found.size + 1, dtype=np.int32)
    kernels.fill_upstream(nodes, to, labels)
    return labels.reshape(network.shape)


def _down_first(network: RiverNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Network cells by distance to their outlet (then flat index), and each cell's downstream cell."""
    from ..kernels.subbasins import down_first

    return network.cached(
        ("subbasins", "down_first"), lambda: down_first(network.nodes, network.downstream, network.mask.size)
    )


def _grid_array(network: RiverNetwork, values: Any, name: str) -> np.ndarray:
    from ._backend import host

    array = host(values)
    if array.shape != network.shape:
        raise ValueError(f"{name} must have the network's shape {network.shape}, got {array.shape}")
    return array.reshape(-1)


def _area(network: RiverNetwork, values: Any) -> np.ndarray:
    array = _grid_array(network, values, "upstream_area")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"upstream_area must be numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    bad = network.mask.reshape(-1) & ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"upstream_area is NaN or infinite on {int(bad.sum())} network cells")
    return array


def _km2(network: RiverNetwork) -> np.ndarray:
    from .upstream_area import upstream_area

    try:
        km2 = upstream_area(network, units="km2")
    except ValueError as error:
        raise ValueError(
            f"by='area' measures area_min in km² by default, which needs the grid's geometry ({error}); "
            "pass upstream_area=<array in the unit of area_min> (e.g. upstream cells)"
        ) from error
    return np.asarray(km2, np.float64).reshape(-1)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


__all__ = ["subbasins"]
