"""Grid layout: which stored axis runs north–south, and which way each axis runs.

Flow-direction codes name geographic directions (LDD 8 is north: towards larger
``y`` or latitude). A grid may be stored north-up (``y`` descending, the classic
raster), south-up (``y`` ascending, common in netCDF), east-to-west, or x-first
(dims ``(x, y)``). Networks keep the grid in its stored order; a :class:`Layout`
maps the geographic steps of the conventions onto steps on the stored axes, so
reading the codes costs nothing more.

The layout of a DataArray is read from its spatial dims (:func:`axis_of`: CF
``axis``, ``standard_name`` and ``units`` attributes, then the names ``y``,
``lat``, ``latitude`` … / ``x``, ``lon``, ``longitude`` …) and the direction of
their coordinates (:func:`layout_of`). A plain array, or dims that tell nothing,
is taken as stored north-up: row 0 is the northern edge, dims ``(y, x)``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .conventions import Convention

#: How an axis is recognised: coordinate attributes first, then the dim name.
AXIS_CRITERIA = {
    "y": {
        "names": ("y", "lat", "latitude", "rlat", "northing", "row", "rows", "nrows"),
        "standard_names": ("latitude", "projection_y_coordinate", "grid_latitude"),
        "units": ("degrees_north", "degree_north", "degree_n", "degrees_n"),
    },
    "x": {
        "names": ("x", "lon", "longitude", "rlon", "easting", "col", "cols", "ncols"),
        "standard_names": ("longitude", "projection_x_coordinate", "grid_longitude"),
        "units": ("degrees_east", "degree_east", "degree_e", "degrees_e"),
    },
}

#: Dim names whose coordinates count cells (row 0 first), not positions on the earth.
_INDEX_NAMES = frozenset({"row", "rows", "nrows", "col", "cols", "ncols"})


def axis_of(name: Hashable, attrs: Mapping[str, Any] | None = None) -> str | None:
    """``"y"``, ``"x"`` or None: the axis a dim stands for, from its coordinate's attrs or name.

    Examples
    --------
    >>> axis_of("lat"), axis_of("t", {"units": "degrees_east"}), axis_of("time")
    ('y', 'x', None)
    """
    attrs = attrs or {}
    for axis, criteria in AXIS_CRITERIA.items():
        if str(attrs.get("axis", "")).lower() == axis:
            return axis
        if str(attrs.get("standard_name", "")).lower() in criteria["standard_names"]:
            return axis
        if str(attrs.get("units", "")).lower() in criteria["units"]:
            return axis
    for axis, criteria in AXIS_CRITERIA.items():
        if str(name).lower() in criteria["names"]:
            return axis
    return None


@dataclass(frozen=True)
class Layout:
    """How a grid is stored: ``transposed`` (axis 0 is x), ``flip_y`` (y ascends), ``flip_x`` (x descends).

    The default is north-up, west to east, dims ``(y, x)``: the layout the
    convention tables (:mod:`xhydro_accessor.conventions`) are written for.

    Examples
    --------
    >>> Layout(flip_y=True).to_storage(1, 0)  # south is one row up on a south-up grid
    (-1, 0)
    >>> Layout(transposed=True).to_storage(1, 0)  # and one column on an x-first grid
    (0, 1)
    """

    transposed: bool = False
    flip_y: bool = False
    flip_x: bool = False

    def to_storage(self, dy: Any, dx: Any) -> tuple[Any, Any]:
        """Steps on the stored axes (0, 1) of a geographic step (rows southwards, columns eastwards)."""
        ry, rx = (-dy if self.flip_y else dy), (-dx if self.flip_x else dx)
        return (rx, ry) if self.transposed else (ry, rx)

    def to_geographic(self, d0: Any, d1: Any) -> tuple[Any, Any]:
        """The geographic step (southwards, eastwards) of a step on the stored axes."""
        ry, rx = (d1, d0) if self.transposed else (d0, d1)
        return (-ry if self.flip_y else ry), (-rx if self.flip_x else rx)

    def reversed(self, axis: int) -> Layout:
        """The layout after reversing stored axis ``axis`` (e.g. ``isel(y=slice(None, None, -1))``)."""
        if (axis == 0) != self.transposed:
            return Layout(self.transposed, not self.flip_y, self.flip_x)
        return Layout(self.transposed, self.flip_y, not self.flip_x)

    def transposed_layout(self) -> Layout:
        """The layout of the same grid with its two axes swapped."""
        return Layout(not self.transposed, self.flip_y, self.flip_x)

    def orient(self, convention: Convention) -> Convention:
        """``convention`` with its steps on the stored axes."""
        if self == NORTH_UP:
            return convention
        return convention.with_steps({code: self.to_storage(*s) for code, s in convention.directions.items()})


NORTH_UP = Layout()


def layout_of(obj: Any, dims: Sequence[Hashable] | None = None) -> Layout:
    """The layout of a DataArray's (or Dataset's) grid over ``dims`` (default: its dims).

    ``dims`` are the two spatial dims in stored order. Their axes come from
    :func:`axis_of`; when only one is recognised the other is the other axis;
    when neither is, the grid is taken as north-up ``(y, x)``. An axis runs the
    way its coordinate's values run; a dim without a coordinate (or of size 1,
    or named ``row``/``col``, counting cells) runs north to south / west to east.
    A plain array (no dims) is north-up.

    Raises
    ------
    ValueError
        Both dims look like the same axis, or a coordinate is not monotonic:
        the direction codes cannot be placed on the grid.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros((3, 2)), dims=("lon", "lat"), coords={"lat": [10.0, 20.0]})
    >>> layout_of(da)
    Layout(transposed=True, flip_y=True, flip_x=False)
    """
    dims = tuple(getattr(obj, "dims", ()) if dims is None else dims)
    coords = getattr(obj, "coords", {})
    values = {d: coords[d].values for d in dims if d in coords}
    return grid_layout(dims, values, {d: coords[d].attrs for d in dims if d in coords})


def grid_layout(
    dims: Sequence[Hashable] | None,
    coords: Mapping[Hashable, Any],
    attrs: Mapping[Hashable, Mapping[str, Any]] | None = None,
) -> Layout:
    """The layout of a grid from its dims, their 1-D coordinate values and attrs (see :func:`layout_of`).

    Examples
    --------
    >>> grid_layout(("y", "x"), {"y": [0.0, 1.0]})
    Layout(transposed=False, flip_y=True, flip_x=False)
    """
    dims = tuple(dims or ())
    if len(dims) != 2:
        return NORTH_UP
    attrs = attrs or {}
    axes = [axis_of(d, attrs.get(d)) for d in dims]
    if axes[0] is not None and axes[0] == axes[1]:
        raise ValueError(
            f"cannot tell the grid's orientation: dims {dims} both look like the {axes[0]} axis; "
            "give their coordinates CF attributes (axis: X / Y) or rename them"
        )
    if axes[0] is None and axes[1] is None:
        return NORTH_UP
    transposed = axes[0] == "x" or axes[1] == "y"
    y_dim, x_dim = (dims[1], dims[0]) if transposed else dims
    return Layout(transposed, _runs(coords, y_dim) > 0, _runs(coords, x_dim) < 0)


def layout_of_network(network: Any, dims: Sequence[Hashable] | None = None) -> Layout:
    """The layout of a :class:`~xhydro_accessor.RiverNetwork`'s grid over ``dims`` (default: its dims).

    Read from the network's dim names and coordinates, as :func:`grid_layout` does.
    """
    dims = tuple(network.dims or ()) if dims is None else tuple(dims)
    own = tuple(network.dims or ())
    coords = network.coords
    values = {d: coords.get(o) for d, o in zip(dims, own, strict=False)} if len(own) == len(dims) else {}
    return grid_layout(dims, values)


def _runs(coords: Mapping, dim: Hashable) -> int:
    """+1 where the coordinate of ``dim`` ascends, -1 where it descends, 0 without one."""
    if coords.get(dim) is None or str(dim).lower() in _INDEX_NAMES:
        return 0
    values = np.asarray(coords[dim])
    if values.ndim != 1 or values.size < 2 or values.dtype.kind not in "iuf":
        return 0
    steps = np.diff(values.astype(np.float64))
    if (steps > 0).all():
        return 1
    if (steps < 0).all():
        return -1
    raise ValueError(
        f"cannot tell the grid's orientation: coordinate {dim!r} is not strictly monotonic "
        f"(values {values[:5].tolist()} ...)"
    )
