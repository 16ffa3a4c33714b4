"""Catchments of locations: labels, basins, up/downstream masks and statistics.

Every function makes one O(n) pass over the network whatever the number of
locations (see :mod:`xhydro_accessor.kernels.labels`); locations are anything
:func:`~xhydro_accessor.hydrology.locations.locate` accepts.

Label maps
----------
Labels are int32, ``1..n`` in the order of the locations (or the ``ids`` given);
0 marks cells draining to no location and cells off the network (the convention
of pyflwdir's ``basins`` and PCRaster's ``subcatchment``). Two locations on one cell
share its catchment, labelled by the first of them.

whole (``nested=False``)
    A cell belongs to the *most downstream* location its flow passes through:
    catchments of upstream gauges are swallowed.
nested (``nested=True``)
    A cell belongs to the *first* location its flow reaches (itself included):
    each gauge keeps only the area between it and the gauges upstream of it.
"""

from __future__ import annotations

import warnings
from math import prod
from typing import Any, Literal

import numpy as np

from ..network import RiverNetwork
from ..operations import result_dtype, weights_by_member
from ._numpy_only import as_numpy
from .locations import Locations, locate

Statistic = Literal["sum", "mean", "min", "max", "std", "var", "median", "percentile", "mode"]
STATISTICS = ("sum", "mean", "min", "max", "std", "var", "median", "percentile", "mode")


def catchments(
    network: RiverNetwork,
    locations: Any,
    *,
    nested: bool = False,
    ids: Any = None,
    snap: float = 0,
) -> np.ndarray:
    """Label every cell with the location its flow drains to.

    Parameters
    ----------
    network : RiverNetwork
    locations : see :func:`~xhydro_accessor.hydrology.locations.locate`
    nested : bool, default False
        False: whole catchments, the most downstream location wins; True:
        sub-catchments, each location keeps only its own area.
    ids : array-like of int, optional
        Label of each location (non-zero); default ``1..n``.
    snap : float, default 0
        Snapping radius in cells (see :func:`~xhydro_accessor.hydrology.locations.locate`).

    Returns
    -------
    ndarray of int32, shape network.shape
        0 where no location drains (and off the network).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
    >>> catchments(net, [(0, 1), (0, 3)])
    array([[2, 2, 2, 2]], dtype=int32)
    >>> catchments(net, [(0, 1), (0, 3)], nested=True)
    array([[1, 1, 2, 2]], dtype=int32)
    """
    loc = locate(network, locations, snap=snap)
    labels, _, _, unique = _label(network, loc.index, nested)
    first = unique[1]
    if ids is None:
        names = (first + 1).astype(np.int32)
    else:
        ids = np.asarray(ids)
        if ids.shape != (len(loc),) or ids.dtype.kind not in "iu" or np.any(ids == 0):
            raise ValueError(f"ids must be {len(loc)} non-zero integers, one per location")
        names = ids[first].astype(np.int32)
    lut = np.concatenate([np.zeros(1, np.int32), names])
    return lut[labels].reshape(network.shape)


def basins(network: RiverNetwork) -> np.ndarray:
    """Label every cell with its outlet's basin: ``1..n`` by ascending outlet index, 0 off the network.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> basins(RiverNetwork.from_ldd(np.array([[5, 4, 6, 5], [255, 8, 8, 8]])))
    array([[1, 1, 2, 2],
           [0, 1, 2, 2]], dtype=int32)
    """
    return catchments(network, network.outlets)


def upstream_mask(network: RiverNetwork, locations: Any, *, snap: float = 0) -> np.ndarray:
    """True on every cell draining to one of the locations (the locations included).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> upstream_mask(RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]])), [(0, 1)])
    array([[ True,  True, False, False]])
    """
    from ..kernels.labels import flag_upstream

    flags = _flags(network, locations, snap)
    flag_upstream(network.nodes, network.downstream, flags)
    return flags.reshape(network.shape)


def downstream_mask(network: RiverNetwork, locations: Any, *, snap: float = 0) -> np.ndarray:
    """True on every cell of the flow paths from the locations to their outlets (locations included).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> downstream_mask(RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]])), [(0, 1)])
    array([[False,  True,  True,  True]])
    """
    from ..kernels.labels import flag_downstream

    flags = _flags(network, locations, snap)
    flag_downstream(network.nodes, network.downstream, flags)
    return flags.reshape(network.shape)


def catchment_statistics(
    network: RiverNetwork,
    field: Any,
    locations: Any,
    how: Statistic = "mean",
    *,
    nested: bool = False,
    weights: Any = None,
    skipna: bool = False,
    q: Any = None,
    snap: float = 0,
) -> np.ndarray:
    """Reduce a field over the catchment of each location, batch dims kept.

    Parameters
    ----------
    network : RiverNetwork
    field : array of shape (..., *network.shape)
        Leading dims (members, time) are kept.
    locations : see :func:`~xhydro_accessor.hydrology.locations.locate`
    how : {"sum", "mean", "min", "max", "std", "var", "median", "percentile", "mode"}
        The first six follow :mod:`xhydro_accessor.operations` (weights, dtypes;
        std/var are population moments). ``median``/``percentile`` are numpy's
        (linear interpolation; float64 for integer fields); ``mode`` is the most
        frequent value, the smallest among ties, in the field's dtype.
    nested : bool, default False
        False: each location's whole upstream area, even where other locations
        lie upstream of it; True: only the area between it and those locations.
    weights : array of network.shape or field.shape, optional
        For sum, mean, min, max, std and var.
    skipna : bool, default False
        False: a NaN in a catchment makes its result NaN. True: NaNs are left
        out (a catchment of NaN only gives NaN, 0 for sums).
    q : float or 1-D array-like, optional
        Percentile(s) in [0, 100] for ``how="percentile"``; several put a leading
        dim of ``len(q)`` on the result.
    snap : float, default 0
        Snapping radius in cells.

    Returns
    -------
    ndarray of shape (..., n_locations)

    Notes
    -----
    One labelling pass and one pass over the field whatever the number of
    locations; with ``nested=False`` the mergeable statistics are combined along
    the tree of locations, and median / percentile / mode read each cell once per
    location downstream of it.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
    >>> field = np.array([[1.0, 2.0, 3.0, 4.0]])
    >>> catchment_statistics(net, field, [(0, 1), (0, 3)], "sum")
    array([ 3., 10.])
    >>> catchment_statistics(net, field, [(0, 1), (0, 3)], "sum", nested=True)
    array([3., 7.])
    >>> catchment_statistics(net, np.stack([field, 2 * field]), [(0, 3)], "median")
    array([[2.5],
           [5. ]])
    """
    from ..kernels import labels as kernels

    if how not in STATISTICS:
        raise ValueError(f"how must be one of {STATISTICS}, got {how!r}")
    if weights is not None and how in ("median", "percentile", "mode"):
        raise ValueError(f"weights are not supported for how={how!r}")
    if (q is None) != (how != "percentile"):
        raise ValueError("pass q=<percentile(s) in [0, 100]> with how='percentile', and only then")
    field = as_numpy(field, "field", "catchment_statistics")
    network.check_grid(field.shape)
    if field.dtype.kind == "b":
        field = field.astype(np.int64)
    batch = field.shape[: field.ndim - len(network.shape)]
    size = prod(network.shape)
    x = field.reshape(prod(batch), size)
    if weights is not None:
        weights = as_numpy(weights, "weights", "catchment_statistics")
    w = weights_by_member(weights, network.shape, field.shape)
    loc = locate(network, locations, snap=snap)
    labels, parent, visit, (cells_of, _, inverse) = _label(network, loc.index, True)
    m = cells_of.size
    lab = labels[network.nodes]
    cells = network.nodes[lab > 0].astype(np.int64)
    groups = (lab[lab > 0] - 1).astype(np.int64)
    parent = parent[1:].astype(np.int64) - 1  # group space: -1 at roots
    upstream_first = visit[::-1].astype(np.int64) - 1

    if how in ("median", "percentile", "mode"):
        out = _order_statistic(x, cells, groups, parent, upstream_first, m, how, q, skipna, nested)
    else:
        out = _mergeable(kernels, x, w, cells, groups, parent, upstream_first, m, how, skipna, nested)
    out = out[..., inverse]
    return out.reshape(out.shape[:-2] + batch + (len(loc),))


def statistic_dtype(how: str, dtype: Any, weights_dtype: Any = None) -> np.dtype:
    """The dtype of :func:`catchment_statistics` ``how`` of a field of ``dtype``.

    Examples
    --------
    >>> statistic_dtype("sum", "int16"), statistic_dtype("median", "int16"), statistic_dtype("mode", "int16")
    (dtype('int64'), dtype('float64'), dtype('int16'))
    """
    dtype = np.dtype(np.int64 if np.dtype(dtype).kind == "b" else dtype)
    if how == "mode":
        return dtype
    if how in ("median", "percentile"):
        return result_dtype("mean", dtype)
    return result_dtype(how, dtype if weights_dtype is None else np.result_type(dtype, weights_dtype))


# ------------------------------------------------------------------ helpers
def _label(network: RiverNetwork, index: np.ndarray, nested: bool):
    """Labels (flat int32 grid, 1..m over unique cells), parent, visit order, np.unique output."""
    from ..kernels.labels import label_pass

    cells_of, first, inverse = np.unique(index, return_index=True, return_inverse=True)
    labels = np.zeros(prod(network.shape), np.int32)
    labels[cells_of] = np.arange(1, cells_of.size + 1, dtype=np.int32)
    parent = np.zeros(cells_of.size + 1, np.int32)
    visit = np.zeros(cells_of.size, np.int32)
    label_pass(network.nodes, network.downstream, labels, nested, parent, visit)
    return labels, parent, visit, (cells_of, first, inverse.reshape(-1))


def _flags(network: RiverNetwork, locations: Any, snap: float) -> np.ndarray:
    loc = locate(network, locations, snap=snap)
    flags = np.zeros(prod(network.shape), bool)
    flags[loc.index] = True
    return flags


def _mergeable(kernels, x, w, cells, groups, parent, upstream_first, m, how, skipna, nested):
    members = x.shape[0]
    dtype = statistic_dtype(how, x.dtype, w.dtype if w.size else None)
    if how in ("min", "max"):
        if dtype.kind == "f":
            start = np.nan if skipna else (-np.inf if how == "max" else np.inf)
        else:
            info = np.iinfo(dtype)
            start = info.min if how == "max" else info.max
        out = np.full((members, m), start, dtype)
        kernels.group_extremes(cells, groups, x, w, skipna, how == "max", out)
        if not nested:
            flag = np.full((1, 1), 1 if how == "max" else -1, dtype)
            kernels.merge_up(upstream_first, parent, 1, skipna, out, flag, out)
        return out
    if how in ("sum", "mean"):
        state = np.float64 if dtype.kind == "f" else dtype
        sums, total = np.zeros((members, m), state), np.zeros((members, m), state)
        kernels.group_sums(cells, groups, x, w, skipna, sums, total)
        if not nested:
            kernels.merge_up(upstream_first, parent, 0, skipna, sums, total, sums)
        if how == "sum":
            return sums.astype(dtype, copy=False)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / total).astype(dtype, copy=False)
    weight, mean, m2 = (np.zeros((members, m)) for _ in range(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN sample
        shift = np.nan_to_num(np.nanmedian(x[:, cells[:1024]], axis=1)).astype(np.float64)
    kernels.group_moments(cells, groups, x, w, shift, skipna, weight, mean, m2)
    if not skipna:  # NaN propagates: West's update turns the mean NaN; make M2 follow
        m2[np.isnan(mean)] = np.nan
    if not nested:
        kernels.merge_up(upstream_first, parent, 2, skipna, weight, mean, m2)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = m2 / weight
    return (np.sqrt(var) if how == "std" else var).astype(dtype, copy=False)


def _order_statistic(x, cells, groups, parent, upstream_first, m, how, q, skipna, nested):
    """Median, percentiles and mode on each location's cells, gathered contiguously."""
    from ..kernels.labels import counting_order, mode_of_sorted

    size = np.ones(m, np.int64)  # locations in each location's subtree
    for g in upstream_first:
        if parent[g] >= 0:
            size[parent[g]] += size[g]
    pos = np.empty(m, np.int64)  # preorder: each subtree is a contiguous run
    next_free = np.empty(m, np.int64)
    counter = 0
    for g in upstream_first[::-1]:
        p = parent[g]
        if p < 0:
            pos[g], counter = counter, counter + size[g]
        else:
            pos[g] = next_free[p]
            next_free[p] += size[g]
        next_free[g] = pos[g] + 1
    order, starts = counting_order(pos[groups], m)
    sorted_cells = cells[order]
    ends = starts[pos + (1 if nested else size)]
    begins = starts[pos]
    if how == "mode":
        out = np.empty((x.shape[0], m), x.dtype)
        for g in range(m):
            block = np.sort(x[:, sorted_cells[begins[g] : ends[g]]], axis=1)
            mode_of_sorted(block, skipna, out[:, g])
        return out
    qs = 50.0 if how == "median" else np.asarray(q, np.float64)
    if np.any((qs < 0) | (qs > 100)):
        raise ValueError(f"percentiles must lie in [0, 100], got {q}")
    reduce = np.nanpercentile if skipna else np.percentile
    out = np.empty(np.shape(qs) + (x.shape[0], m), result_dtype("mean", x.dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN catchments give NaN
        for g in range(m):
            out[..., g] = reduce(x[:, sorted_cells[begins[g] : ends[g]]], qs, axis=1)
    return out


__all__ = [
    "Locations",
    "basins",
    "catchment_statistics",
    "catchments",
    "downstream_mask",
    "upstream_mask",
]
