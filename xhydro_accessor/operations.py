"""Array-level operations on a river network, for any array library.

This module is the public facade: it checks the arguments and calls the one
dispatcher, :func:`xhydro_accessor.backends.dispatch`. Dispatch follows the data:
numpy arrays run the numba engine; dask, torch, jax, cupy and any Array API array
run in their own library and come back as the same type on the same device; torch
and jax are differentiable.

A field's trailing dims are the network's grid ``(ny, nx)`` (or ``(n_nodes,)`` for
a vector network); leading dims (members, time, …) are batch dims processed
together in one pass. Every operation returns an array of the field's shape.

Conventions shared by all operations
------------------------------------
how
    ``"sum"``, ``"mean"``, ``"min"``, ``"max"``, ``"std"`` or ``"var"``. With
    ``weights`` ``w``: ``sum`` is Σ w·x, ``mean`` the weighted mean Σ w·x / Σ w,
    ``std``/``var`` the weighted population (ddof=0) moments, ``min``/``max`` of
    w·x (as earthkit-hydro). std/var use Chan's pairwise update: no cancellation.
    :func:`accumulate` and :func:`accumulate_downstream` also take ``"skew"``
    (the weighted population skewness μ3 / μ2^1.5, scipy.stats.skew's default and
    earthkit-hydro's ``skewness``; NaN where the values of positive weight are all
    equal), and the order statistics ``"median"``, ``"percentile"`` (with ``q``)
    and ``"mode"``, exact (see :mod:`xhydro_accessor.backends.order_statistics`
    for the definitions, weighted ones included, and
    :mod:`xhydro_accessor.kernels.order_statistics` for the algorithm: O(N log σ)
    time and memory for N cells and σ distinct values). The order statistics run
    in the numba engine (numpy, dask, CPU torch; jax outside ``jit``, cupy and Array
    API arrays through a host copy), are not differentiable (a tensor requiring a
    gradient raises), and ``engine="xp"`` raises ``NotImplementedError``.
NaN
    ``skipna=False`` (default): a NaN makes every result it reaches NaN, and
    :func:`accumulate` and :func:`accumulate_downstream` then warn once per call
    (:class:`~xhydro_accessor.NaNPropagationWarning`: how many input values on
    network cells were NaN, how many results they reached); ``warn_nan=False``
    silences it. The check costs nothing for NaN-free fields (it looks at the
    outlets', or sources', results only) and runs on numpy fields: not on dask
    (it would need the values; each task would warn), torch or jax.
    ``skipna=True``: NaNs (in field or weights) are left out of sums, counts
    and extremes; a result over nothing but NaN is NaN (0 for sums).
dtypes
    Sums follow ``numpy.sum``: integer and boolean fields give int64 (uint64
    for unsigned), floats keep their precision. mean/std/var give float64 for
    integer fields. min/max keep the field's dtype (int64 for booleans). Any
    byte order is accepted (results are native); float16 is computed and
    returned as float32, longdouble as float64. Complex, object, string and
    date fields or weights raise ``TypeError`` naming the dtype. Masked cells of
    a numpy masked array are NaN (integer ones become float64).
Weights
    of ``mean``, ``std`` and ``var`` must be non-negative (``ValueError``): over
    weights of mixed signs a weighted mean or moment is undefined (the weights can
    sum to zero). ``sum``, ``min`` and ``max`` reduce ``w·x``: any sign.
engine
    ``"auto"`` (default), ``"numba"`` (the compiled engine for arrays in host
    memory: numpy, dask of numpy, CPU torch) or ``"xp"`` (the level-synchronous
    Array API engine, any library and device: what GPUs and jax run). Both give
    the same results (to rounding).
Parameters
    are checked before any work: an unknown ``how`` raises ``ValueError``, a
    ``skipna`` other than True/False ``TypeError``.
output and node vectors
    ``output="nodes"`` returns the values on the network's cells only, in
    :attr:`~xhydro_accessor.RiverNetwork.nodes` order: ``(..., n_nodes)``, batch dims
    kept. Fields, weights and edge weights may be given that way too (last axis of
    length ``n_nodes``); trailing dims equal to the grid are read as a grid first —
    see :mod:`xhydro_accessor.node_vectors` for the rule and the ambiguous cases.
Off-network cells and empty results
    hold NaN in float outputs and :func:`fill_value` of the dtype in integer
    outputs (its most negative value; the largest for unsigned integers).
"""

from __future__ import annotations

import warnings
from math import prod
from typing import Any

import numpy as np

from . import reductions
from .backends import ENGINES, Engine, check_engine, dispatch, library_of, on_one_library
from .errors import NaNPropagationWarning
from .network import RiverNetwork
from .node_vectors import Output, check_output, to_grid, to_nodes
from .reductions import REDUCTIONS, How, fill_value, result_dtype, supported_dtype

__all__ = ["ENGINES", "HOWS", "Engine", "How", "fill_value", "result_dtype", "supported_dtype"]  # re-exported

HOWS = reductions.names("accumulate")


def accumulate(
    network: RiverNetwork,
    field: Any,
    how: How = "sum",
    weights: Any = None,
    skipna: bool = False,
    warn_nan: bool = True,
    engine: Engine = "auto",
    edge_weights: Any = None,
    output: Output = "grid",
    *,
    q: Any = None,
    method: str | None = None,
) -> np.ndarray:
    """Reduce a field over each cell's whole upstream area, the cell itself included.

    With ``how="sum"`` this is PCRaster's ``accuflux`` and, for a field of
    ones, the number of upstream cells (EFAS upstream area in cells). See the
    module docstring for ``how``, ``weights``, NaN, dtypes and fill values.

    Parameters
    ----------
    network : RiverNetwork
    field : array of shape (..., *network.shape)
    how : {"sum", "mean", "min", "max", "std", "var", "skew", "median", "percentile", "mode"}
    weights : array of shape network.shape or field.shape, optional
    skipna : bool, default False
        Leave NaN out (True) or let it make every result it reaches NaN.
    warn_nan : bool, default True
        With ``skipna=False``, warn (:class:`~xhydro_accessor.NaNPropagationWarning`)
        when NaN on network cells reached results; see the module docstring.
    engine : {"auto", "numba", "xp"}, default "auto"
        The engine (see the module docstring): ``"numba"`` the compiled host-memory
        engine, ``"xp"`` the level-synchronous Array API one; ``"auto"`` picks
        ``"numba"`` for numpy (and dask of numpy, CPU torch) and ``"xp"`` otherwise.
    edge_weights : array of shape network.shape, optional
        earthkit-hydro's ``edge_weights``: ``edge_weights[i]`` multiplies what moves
        along the link from cell ``i`` to its downstream cell (a loss or a partition
        ratio per link; outlets' values are not read), so each upstream value is
        weighted by the product of the edge weights on its path:
        ``n_j = w_j·x_j ⊕ edge_i·n_i`` over the cells ``i`` draining into ``j``
        (``⊕`` = +, max or min; ``mean`` and ``std``/``var`` use the same path weights
        times ``weights``). NaN on a link raises ``ValueError``, and so do negative
        ones for mean/std/var. Every engine and library; torch and jax differentiate
        wrt field, weights and edge weights (through the level-synchronous kernels:
        O(levels · cells)). See :mod:`xhydro_accessor.backends.edges`.
    output : {"grid", "nodes"}, default "grid"
        ``"nodes"``: the result on the network's cells only, ``(..., n_nodes)`` in
        ``network.nodes`` order (see the module docstring).
    q : float or 1-D array-like, optional
        Percentile(s) in [0, 100] of ``how="percentile"`` (and only then); a sequence
        puts a leading axis of ``len(q)`` on the result.
    method : str, optional
        numpy's quantile method of ``median``/``percentile``: ``"linear"`` (default),
        ``"inverted_cdf"`` (earthkit-hydro's percentile), ``"lower"``, ``"higher"``,
        ``"nearest"`` or ``"midpoint"``. Weighted quantiles are ``"inverted_cdf"``
        only (numpy's weighted quantile; the default with weights).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork, accumulate
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> accumulate(net, np.ones((2, 3)))
    array([[1., 1., 1.],
           [1., 6., 1.]])
    >>> accumulate(net, np.array([[1, 2, 3], [4, 5, 6]]), how="max")
    array([[1, 2, 3],
           [4, 6, 6]])
    >>> accumulate(net, np.ones((2, 3)), edge_weights=np.full((2, 3), 0.5))  # half of each inflow
    array([[1. , 1. , 1. ],
           [1. , 3.5, 1. ]])
    >>> accumulate(net, np.array([[1, 2, 3], [4, 5, 6]]), how="percentile", q=[0, 50])
    array([[[1. , 2. , 3. ],
            [4. , 1. , 6. ]],
    <BLANKLINE>
           [[1. , 2. , 3. ],
            [4. , 3.5, 6. ]]])
    """
    options = (warn_nan, engine, edge_weights, output, q, method)
    return _dispatch("accumulate", network, field, how, weights, skipna, *options)


def accumulate_downstream(
    network: RiverNetwork,
    field: Any,
    how: How = "sum",
    weights: Any = None,
    skipna: bool = False,
    warn_nan: bool = True,
    engine: Engine = "auto",
    edge_weights: Any = None,
    output: Output = "grid",
    *,
    q: Any = None,
    method: str | None = None,
) -> np.ndarray:
    """Reduce a field along the path from each cell to its outlet, the cell included.

    Parameters as in :func:`accumulate`.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork, accumulate_downstream
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> accumulate_downstream(net, np.array([[1.0, 2.0, 3.0, 4.0]]))
    array([[6., 5., 3., 4.]])
    >>> accumulate_downstream(net, np.array([[1.0, 2.0, 3.0, 4.0]]), edge_weights=np.full((1, 4), 0.5))
    array([[2.75, 3.5 , 3.  , 4.  ]])
    """
    options = (warn_nan, engine, edge_weights, output, q, method)
    return _dispatch("accumulate_downstream", network, field, how, weights, skipna, *options)


def move_downstream(
    network: RiverNetwork,
    field: Any,
    how: How = "sum",
    weights: Any = None,
    skipna: bool = False,
    engine: Engine = "auto",
    output: Output = "grid",
) -> np.ndarray:
    """Move a field one step downstream: each cell receives the reduction of its
    direct upstream neighbours (not itself).

    Sources (cells without upstream neighbours) receive 0 for ``how="sum"`` (no
    inflow) and NaN / :func:`fill_value` otherwise. Other parameters as in
    :func:`accumulate`.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork, move_downstream
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> move_downstream(net, -np.arange(1.0, 7.0).reshape(2, 3), how="max")
    array([[nan, nan, nan],
           [nan, -1., nan]])
    """
    return _dispatch("move_downstream", network, field, how, weights, skipna, engine=engine, output=output)


def move_upstream(
    network: RiverNetwork, field: Any, engine: Engine = "auto", output: Output = "grid"
) -> np.ndarray:
    """Move a field one step upstream: each cell receives its downstream cell's value.

    Outlets (no downstream cell) receive NaN, or :func:`fill_value` for integers.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork, move_upstream
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> move_upstream(net, np.array([[1.0, 2.0, 3.0, 4.0]]))
    array([[ 2.,  3., nan, nan]])
    """
    return _dispatch("move_upstream", network, field, "max", None, False, engine=engine, output=output)


# ------------------------------------------------------------------- dispatch
def _dispatch(
    op,
    network,
    field,
    how,
    weights,
    skipna,
    warn_nan=False,
    engine="auto",
    edge_weights=None,
    output="grid",
    q=None,
    method=None,
):
    """Check the arguments, then :func:`~xhydro_accessor.backends.dispatch` (the one dispatcher);
    edge weights go to :func:`xhydro_accessor.backends.edges.run`, order statistics to
    :func:`xhydro_accessor.backends.order_statistics.run`."""
    check_options(how, skipna, "accumulate" if op == "move_upstream" else op)
    check_engine(engine)
    check_output(output)
    library_of(field, weights, edge_weights)  # first: an unsupported array type says so
    field = _grid(network, supported_dtype(field, "field"))
    if weights is not None:
        weights = check_weights(_grid(network, supported_dtype(weights, "weights")), how)
    order = REDUCTIONS[how].state in ("order", "mode")
    tiled = getattr(network, "tiled", False)
    if tiled and (edge_weights is not None or output != "grid"):
        what = "output='nodes'" if edge_weights is None else "edge_weights"
        raise NotImplementedError(
            f"{what} does not run on a tiled network yet: gather it first "
            "(xhydro_accessor.backends.tiled.gather(network))"
        )
    if not order and (q is not None or method is not None):
        raise ValueError(f"q and method apply to how='median' and 'percentile' only, not {how!r}")
    if edge_weights is not None:
        if order:
            raise NotImplementedError(f"edge_weights with how={how!r}: order statistics take no edge weights")
        edge_weights = _grid(network, edge_weights)
        from .backends import edges

        edge_weights = edges.check_edge_weights(network, edge_weights, how)
        out = edges.run(network, op, field, how, weights, skipna, edge_weights, engine)
    elif order and tiled:  # spatial tiles: the values crossing tile borders travel (lazily)
        from .backends import tiled_ostat

        out = tiled_ostat.run(network, op, field, how, weights, skipna, q, method, engine)
    elif order:
        from .backends import order_statistics

        def run(field: Any, weights: Any) -> Any:
            return order_statistics.run(network, op, field, how, weights, skipna, q, method, engine)

        out = on_one_library(run, field, weights)
    else:
        out = dispatch(network, op, field, how, weights, skipna, engine)
    if warn_nan and not skipna and isinstance(out, np.ndarray) and not tiled:
        _warn_nan(op, network, field, weights, out)
    return out if output == "grid" else on_one_library(lambda a: to_nodes(network, a), out)


def _grid(network: RiverNetwork, values: Any) -> Any:
    """``values`` on the grid, node vectors scattered (:func:`~xhydro_accessor.node_vectors.to_grid`)."""
    return on_one_library(lambda a: to_grid(network, a), values)


def _warn_nan(op: str, network: RiverNetwork, field: Any, weights: Any, out: np.ndarray) -> None:
    """Warn when NaN on network cells reached results (once per call).

    NaN reaches an outlet (a source, for the downstream accumulation) of every
    cell it reaches, so NaN-free results are told apart by those cells alone.
    """
    from .kernels.flow import any_nan_at  # numba, imported when first needed

    if out.dtype.kind != "f":
        return
    size = prod(network.shape)
    result = out.reshape(-1, size)
    if not any_nan_at(result, network.outlets if op == "accumulate" else network.sources):
        return
    mask = network.mask.reshape(-1)
    nan_in = np.zeros((1, int(mask.sum())), bool)
    for values in (field, weights):
        values = np.asarray(values) if values is not None else None
        if values is not None and values.dtype.kind == "f":
            nan_in = nan_in | np.isnan(values.reshape(-1, size)[:, mask])
    n_in = int(np.count_nonzero(nan_in))
    if n_in == 0:  # NaN of another kind (e.g. a mean over zero weights)
        return
    n_out = int(np.count_nonzero(np.isnan(result[:, mask])))
    unit = "cells" if result.shape[0] == 1 else "cell values (all members)"
    warnings.warn(
        NaNPropagationWarning(
            f"{op}: {n_in} network {unit} hold NaN in the field or weights, and the NaN reached "
            f"{n_out} network {unit} of the result; pass skipna=True to leave NaN out of the "
            "reduction, or warn_nan=False to silence this warning"
        ),
        stacklevel=4,
    )


def check_options(how: Any, skipna: Any, operation: str = "accumulate") -> None:
    """Raise a one-line ``ValueError``/``TypeError`` for a ``how`` that ``operation`` does not
    accept (see :mod:`~xhydro_accessor.reductions`) or a non-bool ``skipna``."""
    reductions.get(how, operation)
    check_bool(skipna, "skipna")


def check_bool(value: Any, name: str) -> None:
    """Raise ``TypeError`` unless ``value`` is True or False (``"no"`` or None would pass as truthy)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def check_weights(weights: Any, how: str) -> Any:
    """Weights of mean/std/var (and of quantiles and modes) must be non-negative.

    A weighted mean or moment over weights of mixed signs has no meaning (the
    weights can sum to zero: a division by zero, or a negative variance); sum,
    min and max reduce ``weights · field`` and take any sign. numpy
    weights are checked here; dask weights when computed; the other libraries'
    arrays when they can be read (not under ``jax.jit`` or ``mx.compile``).
    """
    if REDUCTIONS[how].weights != "frequency":
        return weights
    library = library_of(weights)
    if library == "dask":
        return weights.map_blocks(_non_negative, how, dtype=weights.dtype)
    if library == "numpy":
        return _non_negative(weights, how)
    from .backends.scatter import array_namespace  # TensorFlow's and MLX's too

    xp = array_namespace(weights)
    try:
        negative = bool(xp.any(weights < 0))
    except (TypeError, ValueError):  # a jax tracer, a tf.function's symbolic tensor, MLX under mx.compile
        return weights
    if negative:
        _non_negative(np.array([-1.0]), how)
    return weights


def _non_negative(weights: Any, how: str) -> Any:
    values = np.asarray(weights)
    if values.dtype.kind in "if" and np.any(values < 0):
        found = values[values < 0][:1].item()
        raise ValueError(f"weights of how={how!r} must be non-negative (NaN allowed), found {found}")
    return weights
