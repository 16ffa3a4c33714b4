"""Order statistics along the network: the route of the ``order`` and ``mode`` state kinds.

``median``, ``percentile`` and ``mode`` are not decomposable (no state of fixed size
merges two areas): :func:`run` computes them exactly with the segment trees of
:mod:`xhydro_accessor.kernels.order_statistics` (numba), one field after the other:

- numpy, and dask of numpy (one task per chunk of the batch dims), run the kernels;
- CPU torch tensors run them on a copy and come back as tensors on the CPU; they
  are not differentiable (a tensor requiring a gradient raises); GPU tensors raise;
- jax (outside ``jit``), cupy and other Array API arrays are copied to host memory and
  the result back to their library and device (not differentiable; a traced array
  under ``jax.jit`` raises ``NotImplementedError``);
- ``engine="xp"`` raises ``NotImplementedError``: no level-synchronous kernel.

Definitions (``q`` in percent, ``p = q / 100``; ``n`` values of an area, sorted)
-------------------------------------------------------------------------------
unweighted quantiles
    numpy's ``numpy.quantile(values, p, method=method)`` for the methods of
    :data:`~xhydro_accessor.kernels.order_statistics.METHODS`, same formulas.
weighted quantiles
    numpy's weighted ``inverted_cdf`` (the only weighted method of numpy and the
    percentile of earthkit-hydro): the smallest value whose cumulative weight ``C``
    satisfies ``C / W >= p`` with ``C > 0`` (``W`` the area's total weight); an area of
    zero total weight gives NaN.
mode
    the value of largest count (weighted: largest summed weight), the smallest among
    ties, in the field's dtype.
NaN
    ``skipna=False``: a NaN in the area gives NaN (for the mode of an integer field,
    which cannot hold NaN, no NaN can occur); ``skipna=True``: NaNs are left out and
    an area of NaN only gives NaN (:func:`~xhydro_accessor.reductions.fill_value`).
    A NaN weight makes its cell's value NaN (for integer fields: weight 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import reductions
from ..network import RiverNetwork
from .generic import as_batch

METHOD_NAMES = ("linear", "inverted_cdf", "lower", "higher", "nearest", "midpoint")


def check_quantile(how: str, q: Any, method: Any, weighted: bool) -> tuple[np.ndarray | None, int]:
    """``(p, method code)`` for ``how`` with ``q`` (percent) and ``method``, or a clear error.

    ``p`` is None for the mode; the median is ``q=50``. ``method=None`` is ``"linear"``
    without weights and ``"inverted_cdf"`` with them (the only weighted definition).

    Examples
    --------
    >>> check_quantile("percentile", [10, 90], "lower", False)
    (array([0.1, 0.9]), 2)
    >>> check_quantile("median", None, "linear", True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: weighted quantiles are defined by method='inverted_cdf' only (...), got method='linear'
    """
    order = reductions.REDUCTIONS[how].state == "order"
    if (q is not None) != (how == "percentile"):
        raise ValueError("pass q=<percentile(s) in [0, 100]> with how='percentile', and only then")
    if method is not None and not order:
        raise ValueError(f"method applies to how='median' and 'percentile', not {how!r}")
    if not order:
        return None, 0
    name = method if method is not None else ("inverted_cdf" if weighted else "linear")
    if name not in METHOD_NAMES:
        raise ValueError(f"method must be one of {METHOD_NAMES}, got {method!r}")
    if weighted and name != "inverted_cdf":
        raise ValueError(
            "weighted quantiles are defined by method='inverted_cdf' only (numpy's weighted quantile), "
            f"got method={method!r}"
        )
    if q is None:
        return np.array([0.5]), METHOD_NAMES.index(name)
    qs = np.asarray(q)
    if qs.dtype.kind not in "iuf" or qs.ndim > 1 or qs.size == 0:
        raise ValueError(f"q must be a number or a 1-D sequence of numbers in [0, 100], got {q!r}")
    if not np.all((qs >= 0) & (qs <= 100)):  # NaN fails too
        raise ValueError(f"percentiles must lie in [0, 100], got {q}")
    return np.true_divide(np.atleast_1d(qs).astype(np.float64), 100), METHOD_NAMES.index(name)


def check_engine(how: str, engine: str) -> None:
    """``NotImplementedError`` for ``engine="xp"``: the order statistics have no such kernel."""
    if engine == "xp":
        raise NotImplementedError(
            f"how={how!r} has no engine='xp' kernel: it runs in the numba engine (engine='auto')"
        )


def run(
    network: RiverNetwork,
    op: str,
    field: Any,
    how: str,
    weights: Any,
    skipna: bool,
    q: Any = None,
    method: str | None = None,
    engine: str = "auto",
) -> Any:
    """``op`` (``accumulate``: upstream areas; ``accumulate_downstream``: paths to the outlet)
    of ``how`` in ``median``, ``percentile``, ``mode`` on any supported array (see the module
    docstring). Several ``q`` put a leading axis of ``len(q)`` on the result."""
    from . import library_of

    p, code = check_quantile(how, q, method, weights is not None)
    library = library_of(field, weights)
    check_engine(how, engine)
    if library not in ("numpy", "dask", "torch"):  # jax, cupy, Array API: through host memory
        return _through_host(network, op, field, how, weights, skipna, p, code, q, library)
    several = q is not None and np.ndim(q) > 0
    if library == "dask":
        from .dask import map_batches

        w_dtype = None if weights is None else weights.dtype
        core = tuple(network.shape)
        out = map_batches(
            _dask_block, field, weights, grid_ndim=len(core), core=((np.size(q),) if several else ()) + core,
            dtype=reductions.output_dtype(how, field.dtype, w_dtype), network=network, op=op, how=how,
            skipna=skipna, p=p, code=code, several=several, name=f"hydro-{op}-{how}",
        )  # fmt: skip
        import dask.array as da

        return da.moveaxis(out, -1 - len(core), 0) if several else out
    if library == "torch":
        import torch

        tracked = [a for a in (field, weights) if a is not None and a.requires_grad]
        if tracked and torch.is_grad_enabled():
            raise NotImplementedError(f"how={how!r} is not differentiable: detach the tensors first")
        if field.device.type != "cpu":
            raise NotImplementedError(f"how={how!r} runs on CPU tensors only, not on {field.device}")
        result = compute(network, op, field.numpy(), how, None if weights is None else weights.numpy(),
                         skipna, p, code, several)  # fmt: skip
        return torch.from_numpy(result)
    return compute(network, op, np.asarray(field), how, weights, skipna, p, code, several)


def _through_host(network, op, field, how, weights, skipna, p, code, q, library):
    """The numba kernels on a host copy, the result back in the field's library and device
    (jax outside ``jit``, cupy, any Array API array); traced (jitted) arrays raise."""
    from .scatter import array_namespace, device

    def host(a: Any) -> Any:
        if a is None:
            return None
        try:
            return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)
        except Exception as error:  # a jax tracer, a device without host copies
            raise NotImplementedError(
                f"how={how!r} runs on host memory (numba): cannot copy these {library} arrays there "
                f"({type(error).__name__}: traced by jax.jit or jax.grad? order statistics are not "
                "differentiable; compute them outside)"
            ) from error

    several = q is not None and np.ndim(q) > 0
    out = compute(network, op, host(field), how, host(weights), skipna, p, code, several)
    return array_namespace(field).asarray(out, device=device(field))


def _dask_block(block, *weights, network, op, how, skipna, p, code, several):
    out = compute(network, op, block, how, weights[0] if weights else None, skipna, p, code, several)
    return np.moveaxis(out, 0, -1 - len(network.shape)) if several else out


def compute(
    network: RiverNetwork,
    op: str,
    field: np.ndarray,
    how: str,
    weights: Any,
    skipna: bool,
    p: np.ndarray | None,
    code: int,
    several: bool,
) -> np.ndarray:
    """The numpy path of :func:`run`: each member (leading index) in turn."""
    from ..kernels import order_statistics as kernels

    field = reductions.supported_dtype(np.asarray(field))
    x, w, shape = as_batch(network, field, None if weights is None else np.asarray(weights, np.float64))
    dtype = reductions.output_dtype(how, x.dtype)
    mask = network.mask.reshape(-1)
    cells = network.nodes
    floating = x.dtype.kind == "f"
    is_mode = p is None
    ps = np.zeros(0) if p is None else p
    out = np.full((max(ps.size, 1), x.shape[0], x.shape[1]), reductions.fill_value(dtype), dtype)
    for j in range(x.shape[0]):
        values = x[j, cells]
        wj = None if w is None else w[j if w.shape[0] > 1 else 0, cells]
        nan = np.isnan(values) if floating else np.zeros(values.size, bool)
        if wj is not None:
            bad_w = np.isnan(wj)
            if floating:
                nan |= bad_w
            wj = np.where(bad_w | nan, 0.0, wj)
        valid = ~nan
        distinct, inverse = np.unique(values[valid], return_inverse=True)
        rank = np.full(x.shape[1], -1, np.int32)
        rank[cells[valid]] = inverse.reshape(-1)
        nan_flat = np.zeros(x.shape[1], bool)
        nan_flat[cells] = nan
        w_flat = np.zeros(0)
        if wj is not None:
            w_flat = np.zeros(x.shape[1])
            w_flat[cells] = wj
        n_nodes = kernels.capacity(int(valid.sum()), max(distinct.size, 1), cells.size)
        result = np.full((ps.size, x.shape[1]), np.nan)
        top = np.full(x.shape[1] if is_mode else 0, -1, np.int32)
        sorted_values = distinct.astype(np.float64) if distinct.size else np.zeros(1)
        if op == "accumulate" and not is_mode and wj is None:  # a wavelet matrix: faster
            kernels.upstream_quantiles(cells, network.downstream, rank, nan_flat, skipna, sorted_values,
                                       ps, code, result)  # fmt: skip
        else:
            kernels.statistics_pass(
                cells, network.downstream, rank, w_flat, nan_flat, skipna, op == "accumulate_downstream",
                sorted_values, ps, code, n_nodes, result, top,
            )  # fmt: skip
        if is_mode:
            found = top[cells] >= 0
            out[0, j, cells[found]] = distinct[top[cells[found]]]
        else:
            out[:, j, cells] = result[:, cells]
    out[:, :, ~mask] = reductions.fill_value(dtype)
    out = out.reshape((out.shape[0], *shape))
    return out if several else out[0]
