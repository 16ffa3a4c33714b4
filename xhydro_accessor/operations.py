"""Array-level operations on a river network, for any array library.

Dispatch follows the data: numpy arrays run the compiled CPU engine below;
dask, torch, jax, cupy and any Array API array run in their own library and come
back as the same type on the same device (see :mod:`xhydro_accessor.backends`);
torch and jax are differentiable.

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
Parameters
    are checked before any work: an unknown ``how`` raises ``ValueError``, a
    ``skipna`` other than True/False ``TypeError``.
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
from .errors import NaNPropagationWarning
from .network import RiverNetwork
from .reductions import REDUCTIONS, How, fill_value, result_dtype
from .threads import CORES, in_blocks, in_parallel, last_level_cache_bytes, run_pass

__all__ = ["HOWS", "How", "fill_value", "result_dtype"]  # re-exported from the registry

HOWS = reductions.names("accumulate")


def accumulate(
    network: RiverNetwork,
    field: Any,
    how: How = "sum",
    weights: Any = None,
    skipna: bool = False,
    warn_nan: bool = True,
) -> np.ndarray:
    """Reduce a field over each cell's whole upstream area, the cell itself included.

    With ``how="sum"`` this is PCRaster's ``accuflux`` and, for a field of
    ones, the number of upstream cells (EFAS upstream area in cells). See the
    module docstring for ``how``, ``weights``, NaN, dtypes and fill values.

    Parameters
    ----------
    network : RiverNetwork
    field : array of shape (..., *network.shape)
    how : {"sum", "mean", "min", "max", "std", "var"}
    weights : array of shape network.shape or field.shape, optional
    skipna : bool, default False
        Leave NaN out (True) or let it make every result it reaches NaN.
    warn_nan : bool, default True
        With ``skipna=False``, warn (:class:`~xhydro_accessor.NaNPropagationWarning`)
        when NaN on network cells reached results; see the module docstring.

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
    """
    return _dispatch("accumulate", network, field, how, weights, skipna, warn_nan)


def accumulate_downstream(
    network: RiverNetwork,
    field: Any,
    how: How = "sum",
    weights: Any = None,
    skipna: bool = False,
    warn_nan: bool = True,
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
    """
    return _dispatch("accumulate_downstream", network, field, how, weights, skipna, warn_nan)


def move_downstream(
    network: RiverNetwork,
    field: Any,
    how: How = "sum",
    weights: Any = None,
    skipna: bool = False,
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
    return _dispatch("move_downstream", network, field, how, weights, skipna)


def move_upstream(network: RiverNetwork, field: Any) -> np.ndarray:
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
    return _dispatch("move_upstream", network, field, "max", None, False)


# ------------------------------------------------------------------- dispatch
#: (in_place, reverse) of each operation in the numpy engine.
_PASSES = {
    "accumulate": (True, False),
    "accumulate_downstream": (True, True),
    "move_downstream": (False, False),
    "move_upstream": (False, True),
}


def _dispatch(op, network, field, how, weights, skipna, warn_nan=False):
    from .backends import library_of, run

    check_options(how, skipna)
    library = library_of(field, weights)  # first: an unsupported array type says so
    field = supported_dtype(field, "field")
    if weights is not None:
        weights = check_weights(supported_dtype(weights, "weights"), how)
    if library == "numpy":
        out = numpy_op(op, network, field, how, weights, skipna)
        if warn_nan and not skipna:
            _warn_nan(op, network, field, weights, out)
        return out
    return run(network, op, field, how, weights, skipna)


def _warn_nan(op: str, network: RiverNetwork, field: Any, weights: Any, out: np.ndarray) -> None:
    """Warn when NaN on network cells reached results (once per call).

    NaN reaches an outlet (a source, for the downstream accumulation) of every
    cell it reaches, so NaN-free results are told apart by those cells alone.
    """
    from .kernels.flow import any_nan_at

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


def supported_dtype(array: Any, name: str = "field") -> Any:
    """``array`` in a dtype the engines compute in, or a ``TypeError`` naming its dtype.

    Booleans, integers and floats of any byte order are accepted: non-native byte
    order becomes native, float16 becomes float32 and longdouble float64 (the
    precision of the result, see the module docstring); complex, object, string
    and date dtypes raise. A numpy masked array's masked cells become NaN (an
    integer or boolean one becomes float64). Arrays of other libraries keep their dtype (their
    backend converts it), but a non-numeric one raises here all the same.

    Examples
    --------
    >>> supported_dtype(np.ones(2, ">f8")).dtype, supported_dtype(np.ones(2, np.float16)).dtype
    (dtype('float64'), dtype('float32'))
    >>> supported_dtype(np.ones(2, complex))
    Traceback (most recent call last):
    ...
    TypeError: field must be boolean, integer or float, got dtype complex128
    """
    dtype = getattr(array, "dtype", None)
    if dtype is None:  # lists, scalars
        array = np.asarray(array)
        dtype = array.dtype
    if not isinstance(dtype, np.dtype):  # torch dtypes: the torch backend checks them
        return array
    if dtype.kind not in "biuf":
        raise TypeError(f"{name} must be boolean, integer or float, got dtype {dtype}")
    if np.ma.isMaskedArray(array):  # masked cells are missing values: NaN
        array = np.ma.filled(array.astype(dtype if dtype.kind == "f" else np.float64), np.nan)
        dtype = array.dtype
    native = dtype.newbyteorder("=")
    if dtype.kind == "f" and dtype.itemsize not in (4, 8):
        native = np.dtype(np.float32 if dtype.itemsize < 4 else np.float64)
    if native == dtype or not hasattr(array, "astype"):
        return array
    return array.astype(native)


def check_weights(weights: Any, how: str) -> Any:
    """Weights of mean/std/var (and of quantiles and modes) must be non-negative.

    A weighted mean or moment over weights of mixed signs has no meaning (the
    weights can sum to zero: a division by zero, or a negative variance); sum,
    min and max reduce ``weights · field`` and take any sign. numpy
    weights are checked here; dask weights when computed; the other libraries'
    arrays when they can be read (not under ``jax.jit``).
    """
    if REDUCTIONS[how].weights != "frequency":
        return weights
    from .backends import library_of

    library = library_of(weights)
    if library == "dask":
        return weights.map_blocks(_non_negative, how, dtype=weights.dtype)
    if library == "numpy":
        return _non_negative(weights, how)
    from array_api_compat import array_namespace

    xp = array_namespace(weights)
    try:
        negative = bool(xp.any(weights < 0))
    except TypeError:  # a jax tracer: cannot be read
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


def numpy_op(
    op: str,
    network: RiverNetwork,
    field: Any,
    how: str,
    weights: Any,
    skipna: bool,
    arg: np.ndarray | None = None,
) -> np.ndarray:
    """Run operation ``op`` (a function name of this module) in the numpy engine.

    For min/max, ``arg`` (``(cells, members)`` integers, optional) receives the flat
    index of the cell holding each result on the network (-1: none): where a
    gradient goes.
    """
    if op == "move_upstream":
        how, weights, skipna = "max", None, False
    in_place, reverse = _PASSES[op]
    return _reduce(network, field, how, weights, skipna, in_place=in_place, reverse=reverse, arg=arg)


# --------------------------------------------------------------------- engine
def _reduce(network, field, how, weights, skipna, *, in_place, reverse, arg=None):
    from .kernels import flow

    reduction = reductions.get(how, "accumulate")
    kind = reduction.state
    field = supported_dtype(np.asarray(field))  # numpy-compatible data (torch CPU: float16 too)
    weights = None if weights is None else supported_dtype(np.asarray(weights), "weights")
    network.check_grid(field.shape)
    grid_shape = network.shape
    batch_shape = field.shape[: field.ndim - len(grid_shape)]
    size, members = prod(grid_shape), prod(batch_shape)
    if field.dtype.kind == "b":
        field = field.astype(np.int64)
    x = field.reshape(members, size)
    w = weights_by_member(None if weights is None else np.asarray(weights), grid_shape, field.shape)
    dtype = result_dtype(how, np.result_type(x.dtype, w.dtype) if w.size else x.dtype)
    state = dtype if dtype.kind == "f" else np.dtype(np.int64 if dtype.kind == "i" else np.uint64)
    fill = fill_value(dtype)
    mask = network.mask.reshape(-1)
    nodes = network.nodes
    no_weight = np.empty((0, 0), state)
    plain_sum = kind == "sum" and in_place and not (w.size or skipna)
    if plain_sum and _member_by_member_wins(network, members, size, state):
        out = _sum_member_by_member(network, x, state.type(fill), reverse)
        return out.reshape(batch_shape + grid_shape)
    if kind == "mean" and not (w.size or skipna):  # a plain sum over a cell count shared by all members
        passes = {"in_place": in_place, "reverse": reverse}
        total = _reduce(network, field, "sum", None, False, **passes)
        count = _reduce(network, np.ones(grid_shape, dtype), "sum", None, False, **passes)
        return _divide(total, count, dtype)

    def new_state(multiply, track_weight, zero_nan=skipna):
        out = _state_array(size, members, state)
        weight = _state_array(size, members, state) if track_weight else no_weight
        if members == 1 and not (w.size or zero_nan or track_weight):  # the hot path
            flat = out.reshape(-1)
            in_blocks(
                size,
                size,
                lambda cells: flow.copy_fill(x[0, cells], mask[cells], state.type(fill), flat[cells]),
            )
            return out, weight

        def fill_cells(cells):  # members innermost: numpy's blocked transpose, then weights
            np.copyto(out[cells], x[:, cells].T, casting="unsafe")
            w_cells = w[:, cells] if w.size else w
            weight_cells = weight[cells] if track_weight else no_weight
            flow.prepare(out[cells], w_cells, mask[cells], zero_nan, multiply, state.type(fill), weight_cells)

        in_blocks(size, members * size, fill_cells)
        return out, weight

    def sum_pass(src, dst):
        run_sum_pass(network, src, dst, reverse)

    def target(like, value):
        if in_place:
            return like
        out = np.full_like(like, state.type(value))
        out[~mask] = state.type(fill)
        return out

    if kind in ("sum", "mean"):
        src, src_weight = new_state(True, kind == "mean")
        dst = target(src, 0)
        sum_pass(src, dst)
        if kind == "mean":
            dst_weight = target(src_weight, 0)
            sum_pass(src_weight, dst_weight)
            with np.errstate(invalid="ignore", divide="ignore"):
                dst = np.divide(dst, dst_weight, out=dst)
    elif kind == "extreme":
        src, _ = new_state(True, False, zero_nan=False)  # the pass itself skips NaN
        identity = np.nan if skipna and state.kind == "f" else reductions.identity(how, state)
        dst = target(src, identity)
        if arg is None:
            arg = np.empty((0, 0), nodes.dtype)
        else:
            flow.arg_start(nodes, in_place, arg)
        run_pass(
            network, flow.extreme_pass, src, dst, reverse, reduction.largest, skipna, arg, reverse=reverse
        )
    else:
        if x.dtype.kind == "f":  # shift by a typical value: Welford is then exact to ~eps
            x = x.astype(state) - reductions.shift(np, x[:, nodes[:1024]]).astype(state)
        mean, weight = new_state(False, True)
        src = (weight, mean, mean * 0)  # M2 starts NaN where the value is NaN
        dst = src if in_place else (target(weight, 0), target(mean, 0), np.zeros_like(mean))
        run_pass(network, flow.moments_pass, src, dst, reverse, reverse=reverse)
        weight, _, m2 = dst
        with np.errstate(invalid="ignore", divide="ignore"):
            dst = np.divide(m2, weight, out=m2)
        if reduction.finalize == "sqrt":
            dst = np.sqrt(dst, out=dst)
    if not in_place:
        empty = network.outlets if reverse else network.sources
        if reduction.empty != "zero" or reverse:
            dst[empty] = state.type(fill)
    out = dst.T.reshape(batch_shape + grid_shape)
    return out if out.dtype == dtype else out.astype(dtype)


def run_sum_pass(network: RiverNetwork, src: np.ndarray, dst: np.ndarray, reverse: bool) -> None:
    """:func:`.kernels.flow.sum_pass` on ``(cells, members)`` states, across the cores;
    one member runs the flat kernel (about twice as fast)."""
    from .kernels import flow

    if src.shape[1] == 1:
        run_pass(network, flow.sum_pass_single, src.reshape(-1), dst.reshape(-1), reverse, reverse=reverse)
    else:
        run_pass(network, flow.sum_pass, src, dst, reverse, reverse=reverse)


def _divide(total: np.ndarray, count: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``total / count`` as ``dtype``, ``count`` over the grid (shared by the batch); in
    place and across the cores when ``total`` is a C-contiguous array of ``dtype``."""

    def divide(a, b, **out):
        with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0: the sources of a move
            return np.divide(a, b, **out)

    if total.dtype != dtype:  # an integer sum
        return divide(total, count, dtype=dtype)
    if not total.flags.c_contiguous:
        return divide(total, count, out=total)
    flat, count = total.reshape(-1, count.size), count.reshape(-1)
    in_blocks(count.size, total.size, lambda cells: divide(flat[:, cells], count[cells], out=flat[:, cells]))
    return total


#: Large batches run member by member while the topology and one member's field per core
#: fit in this many bytes (5/8 of the last-level cache): each pass then stays in cache
#: (measured with 32 MiB: 1.1-1.25x faster on the real networks at up to 13 MB, slower on
#: a 1000² synthetic one at 23 MB).
MEMBER_BY_MEMBER_UP_TO_BYTES = last_level_cache_bytes() * 5 // 8


def _member_by_member_wins(network: RiverNetwork, members: int, size: int, state: np.dtype) -> bool:
    topology = network.nodes.nbytes + network.downstream.nbytes
    working_set = topology + min(members, CORES) * size * state.itemsize
    return members > MEMBERS_FIRST_UP_TO and working_set <= MEMBER_BY_MEMBER_UP_TO_BYTES


def _sum_member_by_member(network: RiverNetwork, x: np.ndarray, fill: Any, reverse: bool) -> np.ndarray:
    """Sum passes over a ``(members, cells)`` batch one member at a time, the members
    spread over the cores: on a grid that fits in cache each member's field stays there
    through its pass, and the result is C-contiguous."""
    from .kernels import flow

    out = np.empty(x.shape, fill.dtype)
    nodes, to, mask = network.nodes, network.downstream, network.mask.reshape(-1)

    def run(members: range) -> None:
        for j in members:
            flow.copy_fill(x[j], mask, fill, out[j])
            flow.sum_pass_single(nodes, to, out[j], out[j], reverse)

    in_parallel(run, [range(core, len(x), CORES) for core in range(CORES)])
    return out


#: Batches up to this many members keep them first in the state arrays (the passes stride
#: over a few cache lines per cell; the result comes out C-contiguous); larger batches put
#: them innermost (one contiguous vector per cell; the result is a transposed view).
MEMBERS_FIRST_UP_TO = 8


def _state_array(size: int, members: int, dtype) -> np.ndarray:
    """A ``(cells, members)`` state array, members first in memory for small batches."""
    if 1 < members <= MEMBERS_FIRST_UP_TO:
        return np.empty((members, size), dtype).T
    return np.empty((size, members), dtype)


def members_first(result: np.ndarray, grid_ndim: int) -> np.ndarray:
    """A result of the numpy engine, C-contiguous: for a batch the engine returns a
    transposed view of its ``(cells, members)`` state; this copies it in cache-sized
    blocks (several times faster than numpy's copy), across the cores.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork, accumulate
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> out = accumulate(net, np.ones((12, 1, 4)), how="max")  # over 8 members: innermost
    >>> out.flags.c_contiguous, members_first(out, 2).flags.c_contiguous
    (False, True)
    >>> bool((members_first(out, 2) == out).all())
    True
    """
    from .kernels import flow

    if result.flags.c_contiguous:
        return result
    state = result.reshape(prod(result.shape[: result.ndim - grid_ndim]), -1).T
    if not state.flags.c_contiguous:  # not the engine's layout
        return np.ascontiguousarray(result)
    out = np.empty((state.shape[1], state.shape[0]), result.dtype)
    in_blocks(state.shape[0], state.size, lambda cells: flow.transpose_out(state[cells], out[:, cells]))
    return out.reshape(result.shape)


def weights_by_member(
    weights: np.ndarray | None, grid_shape: tuple[int, ...], field_shape: tuple[int, ...]
) -> np.ndarray:
    """Weights as ``(1 or members, cells)``: one grid for all members, or one per member.

    ``(0, 0)`` for no weights, as the kernels expect.
    """
    if weights is None:
        return np.empty((0, 0))
    size = prod(grid_shape)
    if weights.shape == tuple(grid_shape):
        return weights.reshape(1, size)
    if weights.shape == tuple(field_shape):
        return weights.reshape(-1, size)
    raise ValueError(
        f"weights must have the grid's shape {tuple(grid_shape)} or the field's {tuple(field_shape)}, "
        f"got {weights.shape}"
    )
