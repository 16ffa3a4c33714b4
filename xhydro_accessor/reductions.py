"""The registry of reductions: one declaration per ``how``.

Every part of the package that depends on the reduction reads its
:class:`Reduction` here (after flox's ``Aggregation``): the ``How`` types and
argument checks of :mod:`~xhydro_accessor.operations` and of
:func:`~xhydro_accessor.hydrology.catchments.catchment_statistics`, result dtypes,
fill values and identities, the units of results, the CLI's ``--how`` choices, the
gradients of the torch and jax engines and the tests' parametrisations. The
engines hold one kernel per *state kind* (``sum``, ``mean``, ``extreme``,
``moments``, ``order``, ``mode``).

Adding a reduction is one :class:`Reduction` in :data:`REDUCTIONS` (and its name
in the ``Literal`` below) plus, for a new state kind, its kernels in the engines.

Examples
--------
>>> REDUCTIONS["var"].units, REDUCTIONS["max"].state, names("accumulate")
('squared', 'extreme', ('sum', 'mean', 'min', 'max', 'std', 'var', 'skew', 'median', 'percentile', 'mode'))
>>> result_dtype("mean", "int16"), result_dtype("max", "int16"), result_dtype("sum", "uint8")
(dtype('float64'), dtype('int16'), dtype('uint64'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

#: The array-level operations a reduction can serve.
FLOW_OPERATIONS = ("accumulate", "accumulate_downstream", "move_downstream")
ALL = frozenset((*FLOW_OPERATIONS, "catchment_statistics"))
STATISTICS_ONLY = frozenset({"catchment_statistics"})
#: Order statistics: over upstream areas, paths to the outlet and catchments (not one-step moves).
ORDER_OPERATIONS = frozenset({"accumulate", "accumulate_downstream", "catchment_statistics"})


@dataclass(frozen=True)
class Reduction:
    """The declaration of one ``how``.

    Attributes
    ----------
    name : str
    state : {"sum", "mean", "extreme", "moments", "order", "mode"}
        The kernels' state: a sum; a sum over a sum of weights; an extreme (min/max,
        see ``largest``); weighted moments (weight, mean, M2: Chan's update); a sort
        of each area's cells; the most frequent value.
    dtype : {"sum", "float", "same"}
        The result dtype of an integer (or boolean) field: int64 (uint64 for
        unsigned), float64, or the field's. Floats keep their precision (float16
        gives float32). See :func:`result_dtype`.
    weights : {"product", "frequency"}
        ``product``: the reduction of ``weights · field`` (weights of any sign);
        ``frequency``: weights count how often a value occurs (non-negative).
    units : {"product", "same", "squared", "one"}
        The result's units: the field's times the weights', the field's, the
        field's squared, or none (dimensionless: the skewness).
    empty : {"zero", "fill"}
        A result over no value (a source of ``move_downstream``): 0, or
        :func:`fill_value` (NaN for floats).
    gradient : {"adjoint", "arg", "traced", None}
        How torch and jax differentiate it: the transposed (adjoint) pass, the
        gradient sent to the cell holding the extreme, autograd through the
        kernels themselves, or not at all.
    operations : frozenset of str
        The operations accepting it: ``accumulate``, ``accumulate_downstream``,
        ``move_downstream``, ``catchment_statistics``.
    finalize : {"sqrt", "skew", None}
        Applied to the state's result (``std`` is the root of the variance; ``skew``
        carries the third central moment too, see :func:`skewness`).
    largest : bool
        For extremes: the maximum (True) or the minimum.
    """

    name: str
    state: Literal["sum", "mean", "extreme", "moments", "order", "mode"]
    dtype: Literal["sum", "float", "same"]
    weights: Literal["product", "frequency"]
    units: Literal["product", "same", "squared", "one"]
    empty: Literal["zero", "fill"] = "fill"
    gradient: Literal["adjoint", "arg", "traced"] | None = "adjoint"
    operations: frozenset[str] = ALL
    finalize: Literal["sqrt", "skew"] | None = None
    largest: bool = False

    @property
    def differentiable(self) -> bool:
        return self.gradient is not None


REDUCTIONS: dict[str, Reduction] = {
    r.name: r
    for r in (
        Reduction("sum", "sum", "sum", "product", "product", empty="zero"),
        Reduction("mean", "mean", "float", "frequency", "same"),
        Reduction("min", "extreme", "same", "product", "product", gradient="arg"),
        Reduction("max", "extreme", "same", "product", "product", gradient="arg", largest=True),
        Reduction("std", "moments", "float", "frequency", "same", gradient="traced", finalize="sqrt"),
        Reduction("var", "moments", "float", "frequency", "squared", gradient="traced"),
        Reduction("skew", "moments", "float", "frequency", "one", gradient="traced", finalize="skew",
                  operations=ORDER_OPERATIONS),
        Reduction("median", "order", "float", "frequency", "same", "fill", "traced", ORDER_OPERATIONS),
        Reduction("percentile", "order", "float", "frequency", "same", "fill", "traced", ORDER_OPERATIONS),
        Reduction("mode", "mode", "same", "frequency", "same", "fill", None, ORDER_OPERATIONS),
    )
}  # fmt: skip

#: The ``how`` of the flow operations and of catchment statistics, for type checkers:
#: kept equal to :func:`names` (checked at import).
How = Literal["sum", "mean", "min", "max", "std", "var", "skew", "median", "percentile", "mode"]
Statistic = Literal["sum", "mean", "min", "max", "std", "var", "skew", "median", "percentile", "mode"]


def names(operation: str) -> tuple[str, ...]:
    """The ``how`` names ``operation`` accepts, in declaration order."""
    return tuple(name for name, r in REDUCTIONS.items() if operation in r.operations)


if get_args(How) != names("accumulate") or get_args(Statistic) != names("catchment_statistics"):
    raise ImportError("reductions: How/Statistic differ from the declarations in REDUCTIONS")


def get(how: Any, operation: str) -> Reduction:
    """The declaration of ``how`` if ``operation`` accepts it, else a one-line ``ValueError``.

    Examples
    --------
    >>> get("median", "move_downstream")
    Traceback (most recent call last):
    ...
    ValueError: how must be one of ('sum', 'mean', 'min', 'max', 'std', 'var'), got 'median'
    """
    reduction = REDUCTIONS.get(how) if isinstance(how, str) else None
    if reduction is None or operation not in reduction.operations:
        raise ValueError(f"how must be one of {names(operation)}, got {how!r}")
    return reduction


def result_dtype(how: str, dtype: Any) -> np.dtype:
    """The dtype of reduction ``how`` of a field of ``dtype`` (numpy's sum rules for sums).

    Booleans count as int64; complex, object, string and date dtypes raise ``TypeError``.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        dtype = np.dtype(np.int64)
    if dtype.kind == "f":
        return np.dtype(np.float32) if dtype.itemsize <= 4 else np.dtype(np.float64)
    if dtype.kind not in "iu":
        raise TypeError(f"fields must be numeric, got dtype {dtype}")
    rule = REDUCTIONS[how].dtype
    if rule == "sum":
        return np.dtype(np.uint64 if dtype.kind == "u" else np.int64)
    return np.dtype(np.float64) if rule == "float" else dtype


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


def output_dtype(how: str | None, dtype: Any, weights_dtype: Any = None) -> np.dtype:
    """The dtype of reduction ``how`` of a field of ``dtype`` weighted by ``weights_dtype``
    (``how=None``: no reduction, a move upstream), as every engine gives it.

    Booleans count as int64; weights promote the field's dtype (numpy's rules) unless
    they only count how often a value occurs (order statistics, the mode).

    Examples
    --------
    >>> output_dtype("sum", "bool", "float32"), output_dtype("median", "float32", "float64")
    (dtype('float64'), dtype('float32'))
    """
    dtype = np.dtype(np.int64 if np.dtype(dtype).kind == "b" else dtype)
    if weights_dtype is not None and (how is None or REDUCTIONS[how].state not in ("order", "mode")):
        dtype = np.result_type(dtype, weights_dtype)
    return dtype if how is None else result_dtype(how, dtype)


def fill_value(dtype: Any) -> Any:
    """The value of off-network cells and empty results in an output of ``dtype``.

    Examples
    --------
    >>> fill_value("int32"), fill_value("uint8"), fill_value("float32")
    (np.int32(-2147483648), np.uint8(255), np.float32(nan))
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return dtype.type(np.nan)
    info = np.iinfo(dtype)
    return dtype.type(info.max if dtype.kind == "u" else info.min)


def identity(how: str, dtype: Any) -> float | int:
    """The identity of extreme ``how`` in ``dtype``: ∓inf for floats, the integer limits else.

    Examples
    --------
    >>> identity("max", "float32"), identity("min", "int8")
    (-inf, 127)
    """
    dtype = np.dtype(dtype)
    largest = REDUCTIONS[how].largest
    if dtype.kind == "f":
        return -float("inf") if largest else float("inf")
    info = np.iinfo(dtype)
    return int(info.min if largest else info.max)


def shift(xp: Any, sample: Any) -> Any:
    """The shift of the moments' kernels: each member's mean over ``sample``
    ``(members, k)`` (a few network cells), NaN ignored, 0 if none; ``(members, 1)``.

    Moments are shift-invariant; shifted by a typical value the sums stay small and
    the update is exact to a few ulps.

    Examples
    --------
    >>> shift(np, np.array([[1e9, 1e9 + 2, np.nan], [np.nan, np.nan, np.nan]]))
    array([[1.e+09],
           [0.e+00]])
    """
    ok = ~xp.isnan(sample)
    total = xp.sum(xp.where(ok, sample, xp.zeros_like(sample)), axis=1, keepdims=True)
    count = xp.sum(xp.astype(ok, sample.dtype), axis=1, keepdims=True)
    return total / xp.where(count == 0, xp.ones_like(count), count)


def skewness(xp: Any, weight: Any, m2: Any, m3: Any) -> Any:
    """The population skewness ``(M3 / W) / (M2 / W) ** 1.5`` (scipy.stats.skew's default,
    ``bias=True``, and earthkit-hydro's ``skewness``) from the weight ``W`` and the central
    moments' sums ``M2``, ``M3``; NaN where ``M2 == 0`` (a constant area) or ``W == 0``.

    Examples
    --------
    >>> x = np.array([0.0, 0.0, 1.5])  # M2 = 1.5, M3 = 0.75 about the mean 0.5
    >>> round(float(skewness(np, np.array(3.0), np.array(1.5), np.array(0.75))), 12)  # scipy.stats.skew(x)
    0.707106781187
    """
    zero = (m2 == 0) | (weight == 0)
    ones = xp.ones_like(m2)
    safe = xp.where(zero, ones, m2)
    out = m3 * xp.sqrt(xp.where(zero, ones, weight)) / (safe * xp.sqrt(safe))
    return xp.where(zero, xp.full_like(out, float("nan")), out)


def result_units(op: str, how: str, unit: Any, weight: Any) -> Any:
    """The units of ``op(field, how, weights)`` from pint units of field and weights."""
    rule = "same" if op == "move_upstream" else REDUCTIONS[how].units
    if rule == "one":
        return unit / unit  # dimensionless: "1" in CF
    return unit * weight if rule == "product" else unit**2 if rule == "squared" else unit
