"""Maps of river networks and catchments (needs matplotlib, imported on first use).

- :func:`plot_network` draws every river cell as a segment to its downstream
  cell, the line width growing with the upstream area;
- :func:`plot_catchments` colours catchment labels so that neighbours differ,
  with optional gauge markers.

Both accept a :class:`~xhydro_accessor.RiverNetwork` or a DataArray with the
network attached (``da.hydro.assign_network``), draw in the network's
coordinates (cell indices when it has none) and return the matplotlib artist.

Examples
--------
>>> import numpy as np, pytest
>>> matplotlib = pytest.importorskip("matplotlib")  # an optional dependency
>>> matplotlib.use("Agg")
>>> from xhydro_accessor import RiverNetwork, accumulate
>>> net = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
>>> lines = plot_network(net, accumulate(net, np.ones(net.shape)))
>>> len(lines.get_segments())
5
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .layout import layout_of_network
from .network import RiverNetwork

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import LineCollection
    from matplotlib.image import AxesImage

__all__ = ["grid_extent", "plot_catchments", "plot_network"]


def pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from err
    return plt


def _network_of(obj: Any) -> RiverNetwork:
    if isinstance(obj, RiverNetwork):
        return obj
    from .xarray_ops import attached_network

    return attached_network(obj)


def _centres(network: RiverNetwork) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the cell centres (1-D), from the network's coordinates or indices."""
    layout = layout_of_network(network)
    dims, shape = network.dims or ("y", "x"), network.shape
    (y_dim, x_dim), (ny, nx) = (dims[::-1], shape[::-1]) if layout.transposed else (dims, shape)
    coords = network.coords
    y = np.asarray(coords.get(y_dim, -np.arange(ny)), float)
    x = np.asarray(coords.get(x_dim, np.arange(nx)), float)
    return x, y


def _cell_xy(network: RiverNetwork, cells: np.ndarray) -> np.ndarray:
    """``(cells, 2)``: x and y of the centres of flat grid indices, in any layout."""
    x, y = _centres(network)
    first, second = np.divmod(cells, network.shape[1])
    if layout_of_network(network).transposed:
        return np.column_stack([x[first], y[second]])
    return np.column_stack([x[second], y[first]])


def _image(values: np.ndarray, network: RiverNetwork, x: np.ndarray) -> np.ndarray:
    """A stored grid as an image: rows along y, columns west to east."""
    image = values.T if layout_of_network(network).transposed else values
    return image[:, ::-1] if x.size > 1 and x[1] < x[0] else image


def grid_extent(network: Any) -> tuple[float, float, float, float]:
    """``(left, right, bottom, top)`` of the grid's outer edges, for ``imshow(extent=...)``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> codes = xr.DataArray([[6, 5]], dims=("y", "x"), coords={"y": [0.5], "x": [0.5, 1.5]})
    >>> grid_extent(RiverNetwork.from_ldd(codes))
    (0.0, 2.0, 0.0, 1.0)
    """
    x, y = _centres(_network_of(network))
    dx = abs(x[1] - x[0]) if x.size > 1 else 1.0
    dy = abs(y[1] - y[0]) if y.size > 1 else 1.0
    return (
        float(x.min() - dx / 2),
        float(x.max() + dx / 2),
        float(y.min() - dy / 2),
        float(y.max() + dy / 2),
    )


def plot_network(
    network: Any,
    upstream_area: Any = None,
    *,
    ax: Axes | None = None,
    min_area: float | None = None,
    max_width: float = 3.0,
    color: Any = "#1f5fa8",
    **kwargs: Any,
) -> LineCollection:
    """Draw the rivers: one segment per cell to its downstream cell.

    Parameters
    ----------
    network : RiverNetwork or xarray.DataArray
        A DataArray with an attached network also gives ``upstream_area``
        (its values) when that is not passed.
    upstream_area : array-like of the grid's shape, optional
        Sets the line widths (square-root scaled up to ``max_width``); default
        the upstream cell count, ``accumulate(network, 1)``.
    ax : matplotlib.axes.Axes, optional
        Default: the current axes.
    min_area : float, optional
        Cells with less upstream area are not drawn; default 0.1 % of the
        largest (to keep large grids readable).
    max_width : float, default 3.0
        Line width of the largest river, in points.
    color : matplotlib colour, default dark blue
    **kwargs
        Passed to :class:`matplotlib.collections.LineCollection`.

    Returns
    -------
    matplotlib.collections.LineCollection
    """
    from matplotlib.collections import LineCollection

    plt = pyplot()
    if upstream_area is None and not isinstance(network, RiverNetwork):
        upstream_area = network
    network = _network_of(network)
    if upstream_area is None:
        from .operations import accumulate

        upstream_area = accumulate(network, np.ones(network.shape))
    area = np.asarray(getattr(upstream_area, "values", upstream_area), float).reshape(-1)
    ax = ax or plt.gca()
    x, y = _centres(network)
    nodes, down = network.nodes, network.downstream
    largest = np.nanmax(area[nodes]) if nodes.size else 1.0
    threshold = 1e-3 * largest if min_area is None else min_area
    keep = (down >= 0) & (area[nodes] >= threshold)
    nodes, down = nodes[keep], down[keep]
    start, end = _cell_xy(network, nodes), _cell_xy(network, down)
    widths = max_width * np.sqrt(area[nodes] / largest)
    lines = LineCollection(
        list(np.stack([start, end], axis=1)), linewidths=widths, colors=color, capstyle="round", **kwargs
    )
    ax.add_collection(lines)
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    ax.set_aspect("equal")
    return lines


def plot_catchments(
    labels: Any,
    network: Any = None,
    *,
    gauges: Any = None,
    ax: Axes | None = None,
    cmap: str = "tab20",
    **kwargs: Any,
) -> AxesImage:
    """Colour catchments: one colour per label, 0 (no catchment) left blank.

    Parameters
    ----------
    labels : array-like or xarray.DataArray of the grid's shape
        Integer labels (e.g. from :mod:`xhydro_accessor.catchments`); a
        DataArray with an attached network also gives ``network``.
    network : RiverNetwork or xarray.DataArray, optional
        For the coordinates (default: cell indices).
    gauges : dict, array-like or Locations, optional
        Gauges (or outlets) to mark and number 1, 2, … in their order (the labels
        of :func:`~xhydro_accessor.catchments`): flat grid indices (integers), or
        any form :func:`~xhydro_accessor.locate` takes, e.g. ``{name: (y, x)}``.
    ax : matplotlib.axes.Axes, optional
    cmap : str, default "tab20"
        A qualitative colormap; labels cycle through its colours in an order
        that keeps consecutive labels apart.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.image.AxesImage
    """
    from matplotlib.colors import ListedColormap

    plt = pyplot()
    if network is None and not isinstance(labels, np.ndarray) and hasattr(labels, "hydro"):
        network = labels
    values = np.asarray(getattr(labels, "values", labels))
    ax = ax or plt.gca()
    if network is None:
        network = RiverNetwork.from_ldd(np.full(values.shape, 5))  # only for the grid of indices
    x, y = _centres(_network_of(network))
    colours = np.array(plt.get_cmap(cmap).colors)[:, :3]
    colours = colours[np.ptp(colours, axis=1) > 0.05]  # greys would look like background
    step = next(k for k in (7, 5, 3, 1) if np.gcd(k, len(colours)) == 1)
    order = np.arange(len(colours)) * step % len(colours)  # consecutive labels far apart
    cycled = ListedColormap(colours[order])
    shown = np.ma.masked_less_equal(_image(values, _network_of(network), x), 0)
    image = ax.imshow(
        (shown - 1) % len(colours),
        cmap=cycled,
        vmin=0,
        vmax=len(colours) - 1,
        extent=grid_extent(network),
        origin="lower" if y.size > 1 and y[1] > y[0] else "upper",
        interpolation="nearest",
        **kwargs,
    )
    if gauges is not None:
        gauges = _flat_indices(_network_of(network), gauges)
        where = _cell_xy(_network_of(network), gauges)
        ax.scatter(where[:, 0], where[:, 1], marker="^", s=40, c="black", edgecolors="white", zorder=3)
        for k, (gx, gy) in enumerate(where, start=1):
            ax.annotate(str(k), (gx, gy), xytext=(4, 4), textcoords="offset points", fontsize=8)
    return image


def _flat_indices(network: RiverNetwork, gauges: Any) -> np.ndarray:
    """Flat grid indices of gauges given as integers or in any form ``locate`` takes."""
    values = np.asarray(gauges) if isinstance(gauges, np.ndarray | list | tuple) else None
    if values is not None and values.ndim <= 1 and values.dtype.kind in "iu":
        return values.astype(np.intp).reshape(-1)  # flat indices; (row, col) pairs are 2-D
    from .hydrology.locations import locate

    return locate(network, gauges).index
