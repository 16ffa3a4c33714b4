"""Along the river: moving windows and gap filling that follow the flow.

:func:`smooth_along` is pyflwdir's ``moving_average`` / ``moving_median``;
:func:`fill_along` its ``fillnodata``. Fields are ``(..., *network.shape)`` arrays
(leading dims are a batch), NaN for missing values; results are float arrays of
the field's shape (float64 for integer fields), NaN off the network. They run in
the compiled kernels of :mod:`xhydro_accessor.kernels.along` on numpy arrays and
chunk by chunk on dask arrays; other libraries' arrays (torch, jax, cupy) are
computed on the host and returned in their library and on their device (no gradient).
"""

from __future__ import annotations

from math import prod
from typing import Any, Literal

import numpy as np

from ..backends.edges import downstream_cells
from ..backends.scatter import array_namespace, device
from ..network import RiverNetwork
from ..node_vectors import Output, check_output, to_grid, to_nodes
from ..operations import accumulate, supported_dtype
from ..threads import in_blocks
from ._backend import host, library, native

_FILL_HOW = {"max": 0, "min": 1, "sum": 2}


def main_upstream(network: RiverNetwork) -> np.ndarray:
    """The flat index of each cell's main upstream cell — the upstream neighbour draining
    the most cells, the lowest flat index on a tie (as pyflwdir) — -1 at sources and off
    the network; cached.

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))  # 5 cells into the centre
    >>> main_upstream(net).reshape(net.shape)
    array([[-1, -1, -1],
           [-1,  0, -1]])
    """

    def compute() -> np.ndarray:
        from ..kernels.along import main_upstream as kernel

        cells = accumulate(network, network.mask.astype(np.int64)).reshape(-1)
        out = np.empty(cells.size, np.int64)
        kernel(downstream_cells(network), cells, out)
        return out

    return network.cached("xhydro_accessor.main_upstream", compute)


def smooth_along(
    network: RiverNetwork,
    field: Any,
    window: int,
    how: Literal["mean", "median"] = "mean",
    weights: Any = None,
    output: Output = "grid",
) -> Any:
    """A moving mean or median along the flow, as pyflwdir's ``moving_average`` /
    ``moving_median`` (without their stream-order restriction).

    The window of a cell is the cell itself, up to ``window`` cells downstream along
    its flow path (fewer near an outlet) and up to ``window`` cells upstream along its
    main upstream cells — at each confluence the branch draining the most cells
    (:func:`main_upstream`) — fewer near a source. NaN values in the window are left
    out; a NaN cell stays NaN (fill it with :func:`fill_along`).

    Parameters
    ----------
    network : RiverNetwork
    field : array of shape (..., *network.shape)
    window : int
        ``n``: the number of cells up and down (a window of at most ``2n + 1`` cells).
    how : {"mean", "median"}
    weights : array of shape network.shape or field.shape, optional
        Weights of the mean (non-negative; a cell whose weights in the window sum to 0
        gives NaN). Not for the median.
    output : {"grid", "nodes"}, default "grid"
        ``"nodes"``: the values on the network's cells only, in ``network.nodes`` order;
        fields and weights may be node vectors too (see :mod:`xhydro_accessor.node_vectors`).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 6, 6, 5]]))
    >>> smooth_along(net, np.array([[1.0, 2.0, 9.0, 4.0, 5.0]]), 1)
    array([[1.5, 4. , 5. , 6. , 4.5]])
    >>> smooth_along(net, np.array([[1.0, 2.0, 9.0, 4.0, 5.0]]), 1, how="median")
    array([[1.5, 2. , 4. , 5. , 4.5]])
    """
    if how not in ("mean", "median"):
        raise ValueError(f"how must be 'mean' or 'median', got {how!r}")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 0:
        raise ValueError(f"window must be a non-negative integer (cells up and down), got {window!r}")
    if weights is not None and how == "median":
        raise ValueError("weights are for how='mean' only")
    check_output(output)
    field = _on_grid(network, supported_dtype(field, "field"))
    network.check_grid(tuple(field.shape))
    if weights is not None:
        weights = _on_grid(network, supported_dtype(weights, "weights"))
        if tuple(weights.shape) not in (tuple(network.shape), tuple(field.shape)):
            raise ValueError(
                f"weights must have the grid's shape {network.shape} or the field's {tuple(field.shape)}, "
                f"got {tuple(weights.shape)}"
            )
        if library(weights) == "numpy" and np.any(np.asarray(weights) < 0):
            raise ValueError("weights of the moving mean must be non-negative")
    out = _run(_smooth, network, field, weights, window=int(window), median=how == "median")
    return out if output == "grid" else native(lambda a: to_nodes(network, a), out)


def fill_along(
    network: RiverNetwork,
    field: Any,
    direction: Literal["down", "up"] = "down",
    how: Literal["max", "min", "sum"] = "max",
    output: Output = "grid",
) -> Any:
    """Fill NaN from the nearest valid cells along the flow, as pyflwdir's ``fillnodata``.

    ``direction`` is the way values travel:

    ``"down"``
        a missing cell takes the value of its nearest valid cells *upstream*: the value
        flows down through missing cells until a valid cell. Where several upstream
        branches bring a value to a missing cell, ``how`` merges them (``"max"``,
        ``"min"`` or ``"sum"``). Missing sources stay NaN.
    ``"up"``
        a missing cell takes the value of its nearest valid cell *downstream* (one path,
        no choice); missing cells with no valid cell downstream stay NaN.

    Valid values are never changed. Integer fields have no missing values: returned as
    float64 copies. ``output`` and node-vector fields as in :func:`smooth_along`.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
    >>> field = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 6.0]])
    >>> fill_along(net, field)
    array([[ 1., nan,  3.],
           [nan,  6.,  6.]])
    >>> fill_along(net, field, how="sum")[1, 1]
    np.float64(10.0)
    >>> line = RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))
    >>> fill_along(line, np.array([[np.nan, 2.0, np.nan, 4.0]]), direction="up")
    array([[2., 2., 4., 4.]])
    """
    if direction not in ("down", "up"):
        raise ValueError(f"direction must be 'down' (values flow downstream) or 'up', got {direction!r}")
    if how not in _FILL_HOW:
        raise ValueError(f"how must be one of {tuple(_FILL_HOW)}, got {how!r}")
    check_output(output)
    field = _on_grid(network, supported_dtype(field, "field"))
    network.check_grid(tuple(field.shape))
    out = _run(_fill, network, field, None, down=direction == "down", how=_FILL_HOW[how])
    return out if output == "grid" else native(lambda a: to_nodes(network, a), out)


def _on_grid(network: RiverNetwork, values: Any) -> Any:
    """Node vectors scattered to the grid (:func:`~xhydro_accessor.node_vectors.to_grid`)."""
    return native(lambda a: to_grid(network, a), values)


# ------------------------------------------------------------------ helpers
def _run(function, network: RiverNetwork, field: Any, weights: Any, **options: Any) -> Any:
    """``function`` on numpy blocks: directly, per dask chunk, or on the host for other libraries."""
    kind = library(field, weights)
    if kind == "dask":
        from ..backends.dask import map_batches

        dtype = np.dtype(field.dtype) if np.dtype(field.dtype).kind == "f" else np.dtype(np.float64)
        return map_batches(
            function, field, weights, grid_ndim=len(network.shape), core=tuple(network.shape),
            dtype=dtype, network=network, **options,
        )  # fmt: skip
    if kind == "numpy":
        return function(np.asarray(field), *([] if weights is None else [np.asarray(weights)]),
                        network=network, **options)  # fmt: skip
    lead = field if library(field) != "numpy" else weights
    xp = array_namespace(getattr(lead, "tensor", lead))
    out = function(host(field), *([] if weights is None else [host(weights)]), network=network, **options)
    return xp.asarray(out, device=device(getattr(lead, "tensor", lead)))


def _as_state(network: RiverNetwork, field: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """A float ``(members, cells)`` copy of ``field`` and the shape to give results back in."""
    shape = tuple(field.shape)
    dtype = field.dtype if field.dtype.kind == "f" else np.float64
    x = np.array(field.reshape(-1, prod(network.shape)), dtype=dtype)
    return x, shape


def _smooth(field, *weights, network, window, median):
    from ..kernels.along import smooth

    x, shape = _as_state(network, field)
    w = np.empty((0, 0), np.float64)
    if weights:
        w = np.asarray(weights[0], np.float64).reshape(-1, x.shape[1])
    out = np.full_like(x, np.nan)
    cells = np.sort(network.nodes).astype(np.int64)
    down, up = downstream_cells(network), main_upstream(network)
    in_blocks(
        cells.size,
        cells.size * x.shape[0] * (2 * window + 1),
        lambda block: smooth(x, w, cells[block], down, up, window, median, out),
    )
    return out.reshape(shape)


def _fill(field, network, down, how):
    from ..kernels.along import fill_down, fill_up

    x, shape = _as_state(network, field)
    x[:, ~network.mask.reshape(-1)] = np.nan
    if down:
        fill_down(network.nodes, network.downstream, np.isnan(x), how, x)
    else:
        fill_up(network.nodes, network.downstream, x)
    return x.reshape(shape)
