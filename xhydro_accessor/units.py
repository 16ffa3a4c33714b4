"""Units of operation results, CF discharge metadata and cell areas.

Units are parsed and formatted with the pint registry of ``cf_xarray.units``,
which reads CF/UDUNITS strings (``"mm d-1"``, ``"m3 s-1"``, ``"kg m-2 s-1"``).
One rule, :func:`result_units`, serves quantified (pint-xarray) inputs and plain
inputs carrying ``attrs["units"]``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import xarray as xr

from . import reductions
from .geometry import registry

__all__ = ["registry"]  # re-exported: the registry lives at the array level (geometry)

DISCHARGE_STANDARD_NAME = "water_volume_transport_in_river_channel"
#: the units every discharge result is given in (CF)
DISCHARGE_UNITS = "m3 s-1"
DISCHARGE_LONG_NAME = "river discharge (flow accumulated over the upstream area)"


def result_units(op: str, how: str, units: Any, weight_units: Any = None) -> str | None:
    """Units of ``op(field, how, weights)`` given the units of field and weights.

    ``sum`` (and ``min``/``max``, which reduce ``weights * field``) multiply the
    field's units by the weights' units; ``mean`` and ``std`` keep the field's
    units (weights cancel); ``var`` squares them; ``move_upstream`` keeps them.
    ``None`` units count as dimensionless; both ``None`` gives ``None``.

    Examples
    --------
    >>> result_units("accumulate", "sum", "mm d-1", "m2")
    'm2 mm d-1'
    >>> result_units("accumulate", "var", "m3 s-1")
    'm6 s-2'
    >>> result_units("move_downstream", "mean", "K", "m2")
    'K'
    """
    if units is None and weight_units is None:
        return None
    ureg = registry()
    unit = ureg.Unit(_as_str(units))
    weight = ureg.Unit(_as_str(weight_units))
    return format(reductions.result_units(op, how, unit, weight), "cf")  # the declared rule


def _as_str(units: Any) -> str:
    return "1" if units is None else str(units) if isinstance(units, str) else format(units, "cf")


def convert_units(da: xr.DataArray, units: str) -> xr.DataArray:
    """Convert a DataArray with ``attrs["units"]`` to ``units`` (lazily for dask).

    Examples
    --------
    >>> import xarray as xr
    >>> q = convert_units(xr.DataArray([86.4], attrs={"units": "m2 mm d-1"}), "m3 s-1")
    >>> q.values.round(12), q.attrs["units"]
    (array([1.e-06]), 'm3 s-1')
    >>> convert_units(xr.DataArray([1.0], attrs={"units": "mm d-1"}, name="q"), "m3 s-1")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cannot convert 'q' from 'mm d-1' to 'm3 s-1': Cannot convert from ...
    """
    if "units" not in da.attrs:
        raise ValueError(f"{da.name!r} has no units attribute to convert from")
    import pint

    ureg = registry()
    try:
        factor = ureg.Quantity(1.0, str(da.attrs["units"])).to(units).magnitude
    except (pint.errors.DimensionalityError, pint.errors.UndefinedUnitError) as err:
        source = da.attrs["units"]
        raise ValueError(f"cannot convert {da.name!r} from {source!r} to {units!r}: {err}") from None
    if da.dtype.kind == "f":
        factor = da.dtype.type(factor)  # float32 stays float32
    return (da * factor).assign_attrs(da.attrs | {"units": format(ureg.Unit(units), "cf")})


def is_discharge(units: str | None) -> bool:
    """Whether ``units`` are a volume flux, convertible to ``m3 s-1``.

    Examples
    --------
    >>> is_discharge("m2 mm d-1"), is_discharge("mm d-1")
    (True, False)
    """
    return units is not None and registry().Unit(units).is_compatible_with("m3 s-1")


def is_quantity(data: Any) -> bool:
    """Whether ``data`` is a pint quantity (without importing pint)."""
    return type(data).__module__.startswith("pint") and hasattr(data, "magnitude")


def dequantify(da: xr.DataArray) -> tuple[xr.DataArray, Any, str | None]:
    """``(plain DataArray, pint registry or None, units string or None)``."""
    if is_quantity(da.data):
        reg = da.data._REGISTRY
        units = format(da.data.units, "cf") if reg is registry() else str(da.data.units)
        plain = da.copy(data=da.data.magnitude)
        plain.attrs["units"] = units
        return plain, reg, units
    units = da.attrs.get("units")
    return da, None, (str(units) if units is not None else None)


def cell_area(
    obj: xr.DataArray | xr.Dataset,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    *,
    crs: Any = None,
) -> xr.DataArray:
    """Area of each grid cell in m², from 1-D cell-centre coordinates and the CRS.

    ``crs`` defaults to the one the object declares (rioxarray ``spatial_ref``,
    a CF ``grid_mapping``, ``crs_wkt``: :func:`xhydro_accessor.geometry.crs_of`).
    Geographic CRS: exact areas on its ellipsoid; projected CRS: ``|Δx Δy|`` in
    metres (exact on equal-area projections such as ETRS89-LAEA); no CRS:
    WGS84 areas when the coordinates say degrees (CF units, or dims named
    lat/lon), else :class:`~xhydro_accessor.geometry.UnknownGeometryError`.
    See :mod:`xhydro_accessor.geometry` for the earth model.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros((180, 360)), dims=("lat", "lon"),
    ...                   coords={"lat": np.arange(89.5, -90, -1.0), "lon": np.arange(0.5, 360)})
    >>> area = cell_area(da)
    >>> area.attrs["units"], round(float(area.sum()) / 5.10065622e14, 6)  # the WGS84 ellipsoid's area
    ('m2', 1.0)
    """
    from .geometry import as_crs, cell_areas, crs_of, says_degrees
    from .xarray_ops import grid_dims

    y_dim, x_dim = grid_dims(obj, None, x_dim, y_dim)
    x, y = obj[x_dim], obj[y_dim]
    crs = as_crs(crs) if crs is not None else crs_of(obj)
    degrees = says_degrees(x_dim, x.attrs, "x") and says_degrees(y_dim, y.attrs, "y")
    values = cell_areas(y.values, x.values, crs, degrees=degrees)
    attrs = {"units": "m2", "standard_name": "cell_area", "long_name": "area of the grid cell"}
    return xr.DataArray(
        values, dims=(y_dim, x_dim), coords={y_dim: y, x_dim: x}, attrs=attrs, name="cell_area"
    )


def find_cell_area(obj: xr.DataArray, dataset: xr.Dataset | None = None) -> xr.DataArray | None:
    """The cell area named by CF ``cell_measures: "area: NAME"``, or None.

    ``NAME`` is looked up in the DataArray's coordinates, then in ``dataset``.
    """
    measures = str(obj.attrs.get("cell_measures", ""))
    parts = measures.replace(":", " : ").split()
    for i in range(len(parts) - 2):
        if parts[i] == "area" and parts[i + 1] == ":":
            name = parts[i + 2]
            if name in obj.coords:
                return obj.coords[name]
            if dataset is not None and name in dataset.variables:
                return dataset[name]
    return None
