"""Catchments of locations: labels, basins, up/downstream masks and statistics.

Every function makes one O(n) pass over the network whatever the number of
locations (see :mod:`xhydro_accessor.kernels.labels`); locations are anything
:func:`~xhydro_accessor.hydrology.locations.locate` accepts.

Label maps
----------
Labels are int32, ``1..n`` in the order of the locations (or the ``ids`` given, in their dtype);
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

from functools import partial
from math import prod
from typing import Any

import numpy as np
from array_api_compat import is_numpy_array

from .. import reductions
from ..backends import Engine, check_engine, generic
from ..backends.order_statistics import METHOD_NAMES, check_quantile
from ..backends.scatter import array_namespace, device, scatter_for
from ..network import RiverNetwork
from ..operations import check_bool, check_options, check_weights, supported_dtype
from ..reductions import REDUCTIONS, Statistic
from ._backend import const, library, move_axis, native
from .locations import Locations, locate

STATISTICS = reductions.names("catchment_statistics")


def catchments(
    network: RiverNetwork,
    locations: Any,
    *,
    nested: bool = False,
    ids: Any = None,
    snap: float | str = 0,
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
    snap : float or str, default 0
        Snapping radius in cells, or a length such as ``"5 km"`` (see
        :func:`~xhydro_accessor.hydrology.locations.locate`).

    Returns
    -------
    ndarray of shape network.shape
        int32 labels ``1..n``, or the ``ids`` in their own dtype (HydroBASINS ids
        such as 7120000010 keep their value); 0 where no location drains (and off
        the network).

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
    from ..kernels.labels import label_pass, mark_first

    check_bool(nested, "nested")
    loc = locate(network, locations, snap=snap)
    if ids is not None:
        ids = np.asarray(ids)
        if ids.shape != (len(loc),) or ids.dtype.kind not in "iu" or np.any(ids == 0):
            raise ValueError(
                f"ids must be {len(loc)} non-zero integers, one per location; got {ids.size} "
                f"of dtype {ids.dtype}{' with a 0' if ids.dtype.kind in 'iu' and np.any(ids == 0) else ''}"
            )
    if getattr(network, "tiled", False):  # spatial tiles, lazily
        return _tiled_labels(network, loc.index, nested, ids)
    # each location's number (1..n) on its cell, the first of several on one cell; spread upstream
    labels = np.zeros(prod(network.shape), np.int32)
    mark_first(loc.index, labels)
    parent, visit = np.zeros(len(loc) + 1, np.int32), np.zeros(len(loc), np.int32)
    label_pass(network.nodes, network.downstream, labels, nested, parent, visit)
    if ids is None:
        return labels.reshape(network.shape)
    names = ids.astype(ids.dtype.newbyteorder("="))  # the ids' values and dtype: 2**40 stays
    lut = np.concatenate([np.zeros(1, names.dtype), names])
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
    if getattr(network, "tiled", False):  # spatial tiles, lazily
        from ..backends.tiled_catalogue import basins as on_tiles

        tiles: Any = network
        lazy: Any = on_tiles(tiles)
        return lazy
    return catchments(network, network.outlets)


def upstream_mask(network: RiverNetwork, locations: Any, *, snap: float | str = 0) -> np.ndarray:
    """True on every cell draining to one of the locations (the locations included).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> upstream_mask(RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]])), [(0, 1)])
    array([[ True,  True, False, False]])
    """
    from ..kernels.labels import flag_upstream

    if getattr(network, "tiled", False):  # spatial tiles, lazily: a path to a location exists
        return _tiled_reach(network, locations, snap, pull=True)
    flags = _flags(network, locations, snap)
    flag_upstream(network.nodes, network.downstream, flags)
    return flags.reshape(network.shape)


def downstream_mask(network: RiverNetwork, locations: Any, *, snap: float | str = 0) -> np.ndarray:
    """True on every cell of the flow paths from the locations to their outlets (locations included).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> downstream_mask(RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]])), [(0, 1)])
    array([[False,  True,  True,  True]])
    """
    from ..kernels.labels import flag_downstream

    if getattr(network, "tiled", False):  # spatial tiles, lazily: a path from a location exists
        return _tiled_reach(network, locations, snap, pull=False)
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
    snap: float | str = 0,
    engine: Engine = "auto",
    method: str | None = None,
) -> Any:
    """Reduce a field over the catchment of each location, batch dims kept.

    Parameters
    ----------
    network : RiverNetwork
    field : array of shape (..., *network.shape)
        Leading dims (members, time) are kept. Any backend: numpy, dask (lazy,
        one task per chunk of the leading dims), torch (differentiable for the
        first six statistics and for median/percentile), jax (under ``jit`` and
        ``grad``), cupy or any Array API array; the result is of the same library,
        on the same device.
    locations : see :func:`~xhydro_accessor.hydrology.locations.locate`
    how : {"sum", "mean", "min", "max", "std", "var", "skew", "median", "percentile", "mode"}
        The first seven follow :mod:`xhydro_accessor.operations` (weights, dtypes;
        std/var/skew are population moments). ``median``/``percentile`` are numpy's
        (``method``, default linear interpolation; float64 for integer fields);
        ``mode`` is the most frequent value, the smallest among ties, in the field's
        dtype.
    nested : bool, default False
        False: each location's whole upstream area, even where other locations
        lie upstream of it; True: only the area between it and those locations.
    weights : array of network.shape or field.shape, optional
        sum, mean, min, max, std and var reduce ``weights · field`` as
        :func:`xhydro_accessor.accumulate` does. With weights, ``median`` and
        ``percentile`` are weighted quantiles by the inverted CDF (numpy's
        ``np.quantile(..., weights=, method="inverted_cdf")``: the smallest value
        whose cumulative weight reaches ``q/100`` of the total) and ``mode`` the
        value of largest total weight (the smallest among ties). Cells with a NaN
        weight count as NaN values (zero weight for integer fields).
    skipna : bool, default False
        False: a NaN in a catchment makes its result NaN. True: NaNs are left
        out (a catchment of NaN only gives NaN, 0 for sums).
    q : float or 1-D array-like, optional
        Percentile(s) in [0, 100] for ``how="percentile"``; several put a leading
        dim of ``len(q)`` on the result.
    method : str, optional
        numpy's quantile method of ``median``/``percentile`` (``"linear"``, the
        default, ``"inverted_cdf"``, ``"lower"``, ``"higher"``, ``"nearest"``,
        ``"midpoint"``); with weights only ``"inverted_cdf"`` (the default then).
    snap : float or str, default 0
        Snapping radius in cells, or a length such as ``"5 km"``.
    engine : {"auto", "numba", "xp"}, default "auto"
        sum … var of numpy fields run compiled kernels (``"auto"``, ``"numba"``) or
        the Array API code every other library runs (``"xp"``); the order
        statistics and the skewness run the latter. See :func:`xhydro_accessor.accumulate`.

    Returns
    -------
    array of shape (..., n_locations), the field's library

    Notes
    -----
    One labelling pass (numpy, on the network) and one pass over the field
    whatever the number of locations. sum … var reduce each sub-catchment by a
    scatter (the compiled kernels on numpy) and, with ``nested=False``, combine
    them along the tree of locations with :func:`xhydro_accessor.accumulate`;
    median / percentile / mode sort each location's cells (each cell once per
    location downstream of it) with array operations of the field's library.

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
    >>> catchment_statistics(net, field, [(0, 3)], "median", weights=np.array([[1.0, 1, 1, 5]]))
    array([4.])
    """
    check_options(how, skipna, "catchment_statistics")
    check_engine(engine)
    check_bool(nested, "nested")
    field = supported_dtype(field, "field")
    if weights is not None:
        weights = check_weights(supported_dtype(weights, "weights"), how)
        kind = getattr(weights.dtype, "kind", "f")  # numpy dtypes (torch's: its backend converts)
        if REDUCTIONS[how].state in ("order", "mode") and kind in "biu":
            weights = weights.astype(np.float64)  # cumulative weights: no unsigned wrap-around
    if REDUCTIONS[how].state in ("order", "mode"):
        method = METHOD_NAMES[check_quantile(how, q, method, weights is not None)[1]]
    elif q is not None or method is not None:
        raise ValueError(f"q and method apply to how='median' and 'percentile' only, not {how!r}")
    loc = locate(network, locations, snap=snap)
    if getattr(network, "tiled", False):  # spatial tiles, lazily
        return _tiled_statistics(network, field, weights, loc.index, how, nested, skipna, q, method)
    options = {"network": network, "loc": loc, "how": how, "nested": nested, "skipna": skipna, "q": q,
               "engine": engine, "method": method}  # fmt: skip
    if engine == "numba" and library(field, weights) not in ("numpy", "dask"):
        raise ValueError("engine='numba' runs numpy (and dask of numpy) fields: pass engine='auto' or 'xp'")
    if library(field, weights) == "dask":
        network.check_grid(tuple(field.shape))
        w_dtype = None if weights is None else weights.dtype
        several = () if np.ndim(q) == 0 else (np.size(q),)
        from ..backends.dask import map_batches

        out = map_batches(
            _block, field, weights, grid_ndim=len(network.shape), core=(*several, len(loc)),
            dtype=statistic_dtype(how, field.dtype, w_dtype), **options,
        )  # fmt: skip
        return out if not several else move_axis(out, -2, 0)
    return native(lambda f, w: _statistics(f, w, **options), field, weights)


def _block(block, *weights, **options):
    """One dask block: the percentiles' dim just before the locations."""
    out = _statistics(block, weights[0] if weights else None, **options)
    return out if np.ndim(options["q"]) == 0 else move_axis(out, 0, -2)


def _statistics(field, weights, *, network, loc, how, nested, skipna, q, engine, method):
    """:func:`catchment_statistics` on arrays of one library (not dask)."""
    xp = array_namespace(field) if weights is None else array_namespace(field, weights)
    x, w, shape = generic.as_batch(network, field, weights)
    batch = shape[: len(shape) - len(network.shape)]
    plan = _Plan(network, loc.index)
    if REDUCTIONS[how].state in ("order", "mode"):
        out = _order_statistic(xp, x, w, plan, how, q, skipna, nested, method)
    elif REDUCTIONS[how].finalize == "skew":
        out = _skew(xp, x, w, plan, skipna, nested)
    elif is_numpy_array(x) and engine != "xp":
        from ..kernels import labels as kernels

        w = np.empty((0, 0)) if w is None else w
        out = _mergeable(kernels, x, w, plan.cells, plan.groups, plan.parent, plan.upstream_first,
                         plan.m, how, skipna, nested)  # fmt: skip
    else:
        out = _mergeable_xp(xp, x, w, plan, how, skipna, nested)
    out = xp.take(out, const(xp, out, plan.inverse), axis=-1)
    return xp.reshape(out, tuple(out.shape[:-2]) + batch + (plan.inverse.size,))


def statistic_dtype(how: str, dtype: Any, weights_dtype: Any = None) -> np.dtype:
    """The dtype of :func:`catchment_statistics` ``how`` of a field of ``dtype``.

    Examples
    --------
    >>> statistic_dtype("sum", "int16"), statistic_dtype("median", "int16"), statistic_dtype("mode", "int16")
    (dtype('int64'), dtype('float64'), dtype('int16'))
    """
    return reductions.output_dtype(how, dtype, weights_dtype)


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


def _flags(network: RiverNetwork, locations: Any, snap: float | str) -> np.ndarray:
    loc = locate(network, locations, snap=snap)
    flags = np.zeros(prod(network.shape), bool)
    flags[loc.index] = True
    return flags


def _tiled_labels(network: Any, index: np.ndarray, nested: bool, ids: Any = None) -> Any:
    """:func:`catchments` on a tiled network: a dask array chunked like its tiles."""
    from ..backends.tiled_catalogue import labels

    cells, first = np.unique(index, return_index=True)  # the first location on a cell names it
    out = labels(network, cells, (first + 1).astype(np.int32), nested=nested)
    if ids is None:
        return out
    lut = np.concatenate([np.zeros(1, ids.dtype), ids]).astype(ids.dtype.newbyteorder("="))
    import dask.array as da

    return da.map_blocks(_lookup, out, lut=lut, dtype=lut.dtype)


def _lookup(labels: np.ndarray, lut: np.ndarray) -> np.ndarray:
    return lut[labels]


def _tiled_reach(network: Any, locations: Any, snap: float | str, pull: bool) -> Any:
    """upstream_mask (``pull``) or downstream_mask on tiles: where a path of length 0 reaches."""
    import dask.array as da

    from ..backends.tiled_catalogue import paths

    zeros = da.zeros(network.shape, chunks=network.chunks)
    index = locate(network, locations, snap=snap).index
    return ~da.isnan(paths(network, zeros, index, per_cell=False, is_max=False, pull=pull))


def _tiled_statistics(network: Any, field: Any, weights: Any, index: np.ndarray, how: str, nested: bool,
                      skipna: bool, q: Any = None, method: Any = None) -> Any:  # fmt: skip
    """:func:`catchment_statistics` on a tiled network: whole catchments read from the tiled
    accumulation at the locations, nested ones reduced over the tiled labels; median,
    percentile and mode over each catchment's values gathered by the tiled labels
    (:func:`~xhydro_accessor.backends.tiled_ostat.catchment_groups`); lazily."""
    import dask.array as da

    from ..backends import tiled, tiled_catalogue, tiled_ostat

    if library(field, weights) not in ("numpy", "dask"):
        raise NotImplementedError(
            "a tiled network runs dask (or numpy) fields, not "
            f"{library(field, weights)} arrays: gather it with xhydro_accessor.backends.tiled.gather(network)"
        )
    field = da.asarray(field)
    network.check_grid(tuple(field.shape))
    field = field.rechunk(field.chunks[:-2] + network.chunks)
    order = REDUCTIONS[how].state in ("order", "mode")
    if not nested and not order:  # a whole catchment is what the accumulation gathers at its outlet
        acc: Any = tiled.run(network, "accumulate", field, how, weights, skipna)  # tiled: never None
        return tiled_catalogue.at_cells(acc.rechunk(field.chunks), network, index)
    cells, inverse = np.unique(index, return_inverse=True)
    if order:  # every catchment's values gathered, then the in-memory code
        dtype = statistic_dtype(how, field.dtype, None if weights is None else weights.dtype)
        reduce = partial(_reduce_groups, how=how, nested=nested, skipna=skipna, q=q, method=method)
        n_q = np.size(q) if np.ndim(q) > 0 else None
        out = tiled_ostat.catchment_groups(network, field, weights, cells, nested, reduce, dtype, n_q)
    else:
        out = tiled_catalogue.group_statistics(network, field, weights, cells, how, skipna)
    picked: Any = out[..., inverse.reshape(-1)]
    return picked.rechunk({out.ndim - 1: -1})


def _reduce_groups(x, w, down, hubs, *, how, nested, skipna, q, method):
    """The in-memory statistic of catchments gathered from tiles: the values as a vector
    network ``down`` in which location ``k`` is the cell ``hubs[k]``."""
    from types import SimpleNamespace

    network = RiverNetwork.from_downstream_index(down, (down.size,))
    loc = SimpleNamespace(index=hubs)
    return _statistics(x, w, network=network, loc=loc, how=how, nested=nested, skipna=skipna, q=q,
                       engine="auto", method=method)  # fmt: skip


def _mergeable(kernels, x, w, cells, groups, parent, upstream_first, m, how, skipna, nested):
    members = x.shape[0]
    dtype = statistic_dtype(how, x.dtype, w.dtype if w.size else None)
    reduction = REDUCTIONS[how]
    if reduction.state == "extreme":
        start = np.nan if skipna and dtype.kind == "f" else reductions.identity(how, dtype)
        out = np.full((members, m), start, dtype)
        kernels.group_extremes(cells, groups, x, w, skipna, reduction.largest, out)
        if not nested:
            flag = np.full((1, 1), 1 if reduction.largest else 0, dtype)  # unsigned: no -1
            kernels.merge_up(upstream_first, parent, 1, skipna, out, flag, out)
        return out
    if reduction.state in ("sum", "mean"):
        state = np.float64 if dtype.kind == "f" else dtype
        sums, total = np.zeros((members, m), state), np.zeros((members, m), state)
        kernels.group_sums(cells, groups, x, w, skipna, sums, total)
        if not nested:
            kernels.merge_up(upstream_first, parent, 0, skipna, sums, total, sums)
        if reduction.state == "sum":
            return sums.astype(dtype, copy=False)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / total).astype(dtype, copy=False)
    weight, mean, m2 = (np.zeros((members, m)) for _ in range(3))
    shift = reductions.shift(np, x[:, cells[:1024]].astype(np.float64))[:, 0]
    kernels.group_moments(cells, groups, x, w, shift, skipna, weight, mean, m2)
    if not skipna:  # NaN propagates: West's update turns the mean NaN; make M2 follow
        m2[np.isnan(mean)] = np.nan
    if not nested:
        kernels.merge_up(upstream_first, parent, 2, skipna, weight, mean, m2)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = m2 / weight
    return (np.sqrt(var) if reduction.finalize == "sqrt" else var).astype(dtype, copy=False)


class _Plan:
    """The topology of a statistic, numpy: labelled cells, their groups (unique location
    cells), the tree of groups, and each group's cells for the order statistics."""

    def __init__(self, network: RiverNetwork, index: np.ndarray):
        from ..kernels.labels import labelled_cells

        labels, parent, visit, (cells_of, _, inverse) = _label(network, index, True)
        self.network, self.m, self.inverse = network, cells_of.size, inverse
        self.cells, self.groups = labelled_cells(network.nodes, labels)
        self.parent = parent[1:].astype(np.int64) - 1  # group space: -1 at roots
        self.upstream_first = visit[::-1].astype(np.int64) - 1

    def tree(self) -> RiverNetwork:
        """The groups as a vector network: each flows to the next group downstream."""
        return RiverNetwork.from_downstream(self.parent)

    def runs(self, nested: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each group's cells (nested: its own; else its whole subtree's) one group after
        the other: (cells, start of each group's run, length of each run)."""
        from ..kernels.labels import counting_order

        m, parent = self.m, self.parent
        size = np.ones(m, np.int64)  # groups in each group's subtree
        for g in self.upstream_first:
            if parent[g] >= 0:
                size[parent[g]] += size[g]
        pos = np.empty(m, np.int64)  # preorder: each subtree is a contiguous run
        next_free = np.empty(m, np.int64)
        counter = 0
        for g in self.upstream_first[::-1]:
            p = parent[g]
            if p < 0:
                pos[g], counter = counter, counter + size[g]
            else:
                pos[g] = next_free[p]
                next_free[p] += size[g]
            next_free[g] = pos[g] + 1
        order, starts = counting_order(pos[self.groups], m)
        begins = starts[pos]
        lengths = starts[pos + (1 if nested else size)] - begins
        first = np.cumsum(lengths) - lengths
        within = np.arange(lengths.sum()) - np.repeat(first, lengths)
        return self.cells[order][np.repeat(begins, lengths) + within], first, lengths


def _safe_div(xp, a, b):
    """a / b, NaN where b == 0, with no NaN leaking into gradients."""
    zero = b == 0
    return xp.where(zero, xp.full_like(a, float("nan")), a / xp.where(zero, xp.ones_like(b), b))


def _mergeable_xp(xp, x, w, plan: _Plan, how, skipna, nested):
    """sum … var on any library: scatters into the groups, then the tree of groups."""
    from ..operations import accumulate

    dtype = generic.result_dtype(xp, how, x.dtype, *([] if w is None else [w.dtype]))
    ops = scatter_for(x, plan.m)
    into = ops.index(plan.groups)
    cells = const(xp, x, plan.cells)
    xs = xp.astype(xp.take(x, cells, axis=-1), dtype)
    s = xs if w is None else xs * xp.astype(xp.take(w, cells, axis=-1), dtype)
    members, dev = s.shape[0], device(s)
    floating = xp.isdtype(dtype, "real floating")
    nan = xp.isnan(s) if floating else None  # x or w NaN
    if skipna and floating:
        s = xp.where(nan, xp.zeros_like(s), s)

    def group_sum(v):
        return ops.reduce(xp.zeros((v.shape[0], plan.m), dtype=v.dtype, device=dev), into, v, "add")

    def merge(v, kind="sum"):
        return v if nested else accumulate(plan.tree(), v, how=kind, skipna=skipna, warn_nan=False)

    reduction = REDUCTIONS[how]
    if reduction.state == "sum":
        return merge(group_sum(s))
    if reduction.state == "extreme":
        identity = reductions.identity(how, generic.numpy_dtype(xp, dtype))
        start = xp.full((members, plan.m), identity, dtype=dtype, device=dev)
        s = s if nan is None else xp.where(nan, xp.full_like(s, identity), s)
        out = ops.reduce(start, into, s, "max" if reduction.largest else "min")
        if nan is not None:  # floating
            counted = group_sum(xp.astype(~nan if skipna else nan, dtype))
            out = xp.where((counted == 0) if skipna else (counted > 0), xp.full_like(out, float("nan")), out)
        return merge(out, how)
    weight = xp.ones_like(s) if w is None else xp.ones_like(s) * xp.astype(xp.take(w, cells, axis=-1), dtype)
    if skipna:
        weight = xp.where(nan, xp.zeros_like(s), weight)
    if reduction.state == "mean":
        both = merge(xp.concat([group_sum(s), group_sum(weight)], axis=0))
        return _safe_div(xp, both[:members, ...], both[members:, ...])
    # std/var: shifted sums, each group's M2 by two passes, then Chan's merge along the tree
    if skipna:
        xs = xp.where(nan, xp.zeros_like(xs), xs)
    d = xs - reductions.shift(xp, xs[:, : min(1024, xs.shape[1])])
    total, first = group_sum(weight), group_sum(weight * d)
    mean = _safe_div(xp, first, total)
    spread = d - xp.take(xp.where(total == 0, xp.zeros_like(mean), mean), const(xp, x, plan.groups), axis=-1)
    m2 = group_sum(xp.where(weight == 0, xp.zeros_like(d), weight * spread * spread))
    if not nested:
        merged = merge(xp.concat([total, first, m2 + xp.where(total == 0, xp.zeros_like(m2), first * mean)]))
        total, first, m2 = (merged[k * members : (k + 1) * members, ...] for k in range(3))
        m2 = m2 - first * xp.where(total == 0, xp.zeros_like(first), _safe_div(xp, first, total))
        m2 = xp.where(m2 < 0, xp.zeros_like(m2), m2)
    var = _safe_div(xp, m2, total)
    return xp.sqrt(var) if reduction.finalize == "sqrt" else var


def _skew(xp, x, w, plan: _Plan, skipna, nested):
    """Skewness of each location's cells, two passes over them (each cell once per location
    downstream of it, as the order statistics): the mean, then the central sums; NaN where
    the cells of positive weight hold one value (max == min: exact, unlike the rounded M2)."""
    cells, first, lengths = plan.runs(nested)
    dtype = generic.result_dtype(xp, "skew", x.dtype, *([] if w is None else [w.dtype]))
    ops = scatter_for(x, plan.m)
    into = ops.index(np.repeat(np.arange(plan.m), lengths))
    segment = const(xp, x, np.repeat(np.arange(plan.m), lengths))
    v = xp.astype(xp.take(x, const(xp, x, cells), axis=-1), dtype)
    weight = (
        xp.ones_like(v)
        if w is None
        else xp.ones_like(v) * xp.astype(xp.take(w, const(xp, x, cells), axis=-1), dtype)
    )
    if skipna:
        nan = xp.isnan(v) | xp.isnan(weight)
        v, weight = xp.where(nan, xp.zeros_like(v), v), xp.where(nan, xp.zeros_like(v), weight)
    v = v - reductions.shift(xp, v[:, : min(1024, v.shape[1])])

    def group_sum(a):
        return ops.reduce(xp.zeros((a.shape[0], plan.m), dtype=a.dtype, device=device(a)), into, a, "add")

    total = group_sum(weight)
    e = v - xp.take(_safe_div(xp, group_sum(weight * v), total), segment, axis=-1)
    skew = reductions.skewness(xp, total, group_sum(weight * e * e), group_sum(weight * e * e * e))
    inf = xp.full_like(v, float("inf"))
    counted = (weight > 0) & ~xp.isnan(v)
    spread = _segments(xp, xp.where(counted, v, -inf), "max", first, lengths) + _segments(
        xp, xp.where(counted, -v, -inf), "max", first, lengths
    )
    return xp.where(spread == 0, xp.full_like(skew, float("nan")), skew)


def _scan(xp, a, combine, first: np.ndarray):
    """Inclusive segmented scan along the last axis (segments start at ``first``), log steps."""
    size = a.shape[-1]
    position = np.arange(size)
    shift = 1
    while shift < size:
        ok = const(xp, a, position - shift >= first)
        previous = xp.concat([a[:, :shift], a[:, :-shift]], axis=-1)
        a = xp.where(ok, combine(a, previous), a)
        shift *= 2
    return a


def _segments(xp, a, how: str, first: np.ndarray, lengths: np.ndarray):
    """max / min of each segment (``first``, ``lengths``) along the last axis: ``(members, m)``."""
    if is_numpy_array(a):
        return getattr(np, {"max": "maximum", "min": "minimum"}[how]).reduceat(a, first, axis=-1)
    scanned = _scan(xp, a, xp.maximum if how == "max" else xp.minimum, np.repeat(first, lengths))
    return xp.take(scanned, const(xp, a, first + lengths - 1), axis=-1)


def _order_statistic(xp, x, w, plan: _Plan, how, q, skipna, nested, method="linear"):
    """Median, percentiles and mode: each location's cells sorted in one go."""
    cells, first, lengths = plan.runs(nested)
    segment = np.repeat(np.arange(plan.m), lengths)
    last = first + lengths - 1
    c = partial(const, xp, x)
    values = xp.take(x, c(cells), axis=-1)
    members, size = values.shape[0], values.shape[1]
    floating = xp.isdtype(values.dtype, "real floating")
    weight = None
    if w is not None:
        weight = xp.take(w, c(cells), axis=-1) * xp.ones_like(values, dtype=w.dtype)
        if xp.isdtype(w.dtype, "real floating"):
            if floating:
                values = xp.where(xp.isnan(weight), xp.full_like(values, float("nan")), values)
            weight = xp.where(xp.isnan(weight), xp.zeros_like(weight), weight)
    # sort by value (NaN last; ties in any order), then stably by segment (numpy: a radix sort)
    order = xp.argsort(values, axis=-1, stable=False)
    small = is_numpy_array(values) and plan.m <= 2**16
    segment_keys = c(segment.astype(np.uint16)) if small else c(segment)
    by_segment = xp.reshape(xp.take(segment_keys, xp.reshape(order, (-1,))), (members, size))
    order = xp.take_along_axis(order, xp.argsort(by_segment, axis=-1, stable=True), axis=-1)
    values = xp.take_along_axis(values, order, axis=-1)
    if weight is not None:
        weight = xp.take_along_axis(weight, order, axis=-1)
    bad = xp.isnan(values) if floating else xp.zeros(values.shape, dtype=xp.bool, device=device(values))

    def per_segment(a):  # sums over each segment, exact for integers
        total = xp.cumulative_sum(a, axis=-1, include_initial=True)
        return xp.take(total, c(last + 1), axis=-1) - xp.take(total, c(first), axis=-1)

    n_bad = per_segment(xp.astype(bad, xp.int64))
    n = c(lengths) - n_bad if skipna else xp.broadcast_to(c(lengths), n_bad.shape)
    undefined = (n == 0) if skipna else (n_bad > 0)
    if weight is not None:
        weight = xp.where(bad, xp.zeros_like(weight), weight)
    if how == "mode":
        out = _mode(xp, values, weight, bad, first, lengths, c)
    else:
        dtype = getattr(xp, statistic_dtype(how, generic.numpy_dtype(xp, values.dtype)).name)
        values = xp.astype(values, dtype)
        qs = [50.0] if how == "median" else [float(v) for v in np.atleast_1d(np.asarray(q, np.float64))]
        one = _weighted_quantile if weight is not None else partial(_quantile, method=method)
        ps = np.true_divide(np.asarray(qs, np.float64), 100)  # numpy's percentile: q / 100
        out = xp.stack([one(xp, values, weight, n, float(p), first, last, segment, c) for p in ps])
        out = out[0, ...] if np.ndim(q) == 0 else out
    if not floating:
        return out
    return xp.where(undefined, xp.full_like(out, float("nan")), out)


def _quantile(xp, values, weight, n, quantile, first, last, segment, c, method="linear"):
    """numpy's quantile ``method`` (its formulas) of each segment's ``n`` first (valid) values."""
    count = xp.astype(n, values.dtype)
    top = xp.where(n > 0, n - 1, xp.zeros_like(n))

    def at(index):  # the index-th value of each segment (clipped to the valid ones)
        index = xp.where(index < 0, xp.zeros_like(index), xp.where(index > top, top, index))
        return xp.take_along_axis(values, c(first) + index, axis=-1)

    position = xp.astype(top, values.dtype) * quantile
    if method in ("lower", "higher", "nearest", "inverted_cdf"):
        if method == "inverted_cdf":
            index = count * quantile - 1
            below = xp.floor(index)
            position = xp.where(index - below == 0, below, below + 1)
        elif method == "nearest":
            position = xp.round(position)  # half to even, as np.around
        else:
            position = (xp.floor if method == "lower" else xp.ceil)(position)
        return at(xp.astype(position, xp.int64))
    if method == "midpoint":
        position = 0.5 * (xp.floor(position) + xp.ceil(position))
    below = xp.floor(position)
    low = xp.astype(below, xp.int64)
    t = position - below
    if method == "midpoint":
        t = xp.where(t == 0, xp.zeros_like(t), xp.full_like(t, 0.5))
    a, b = at(low), at(xp.where(low + 1 < n, low + 1, low))
    diff = b - a
    return xp.where(t >= 0.5, b - diff * (1 - t), a + diff * t)  # numpy's _lerp


def _weighted_quantile(xp, values, weight, n, quantile, first, last, segment, c):
    """The first value whose cumulative weight ``C`` within its segment satisfies
    ``C / W >= quantile`` and ``C > 0`` (``W`` the segment's total: numpy's weighted
    ``inverted_cdf``); NaN where ``W`` is 0."""
    total = xp.cumulative_sum(weight, axis=-1, include_initial=True)
    base = xp.take(total, c(first), axis=-1)
    within = total[:, 1:] - xp.take(base, c(segment), axis=-1)
    whole = xp.take(xp.take(total, c(last + 1), axis=-1) - base, c(segment), axis=-1)
    reached = (within > 0) & (within / xp.where(whole > 0, whole, xp.ones_like(whole)) >= quantile)
    short = xp.astype(~reached, xp.int64)
    counted = xp.cumulative_sum(short, axis=-1, include_initial=True)
    count = xp.take(counted, c(last + 1), axis=-1) - xp.take(counted, c(first), axis=-1)
    index = xp.where(count < n, count, xp.where(n > 0, n - 1, xp.zeros_like(n)))
    out = xp.take_along_axis(values, c(first) + index, axis=-1)
    weightless = (xp.take(total, c(last + 1), axis=-1) - base) <= 0
    return xp.where(weightless, xp.full_like(out, float("nan")), out)


def _mode(xp, values, weight, bad, first, lengths, c):
    """The value of largest (weighted) count in each segment of sorted values; ties: the smallest."""
    members, size = values.shape[0], values.shape[1]
    segment = c(np.repeat(np.arange(first.size), lengths))
    position = xp.broadcast_to(c(np.arange(size)), (members, size))
    previous = xp.concat([values[:, :1], values[:, :-1]], axis=-1)
    starts_run = c(np.isin(np.arange(size), first)) | (values != previous)
    run_start = xp.where(starts_run, position, xp.zeros_like(position))
    if is_numpy_array(values):
        run_start = np.maximum.accumulate(run_start, axis=-1)
    else:
        run_start = _scan(xp, run_start, xp.maximum, np.zeros(size, np.int64))
    if weight is None:
        count = xp.astype(position - run_start + 1, xp.float64)
    else:
        total = xp.cumulative_sum(weight, axis=-1, include_initial=True)
        count = total[:, 1:] - xp.take_along_axis(total, run_start, axis=-1)
    count = xp.where(bad, xp.full_like(count, -1), count)
    best = xp.take(_segments(xp, count, "max", first, lengths), segment, axis=-1)
    hit = xp.where((count == best) & ~bad, position, xp.full_like(position, size))
    index = _segments(xp, hit, "min", first, lengths)
    return xp.take_along_axis(values, xp.where(index < size, index, c(first)), axis=-1)


__all__ = [
    "Locations",
    "basins",
    "catchment_statistics",
    "catchments",
    "downstream_mask",
    "upstream_mask",
]
