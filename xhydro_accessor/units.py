"""Unit rules at the array level: units of operation results and CF discharge metadata.

Units are parsed and formatted with the pint registry of ``cf_xarray.units``,
which reads CF/UDUNITS strings (``"mm d-1"``, ``"m3 s-1"``, ``"kg m-2 s-1"``).
One rule, :func:`result_units`, serves quantified (pint-xarray) inputs and plain
inputs carrying ``attrs["units"]``. No xarray here: the DataArray helpers
(:func:`~xhydro_accessor.xarray_ops.dequantify`,
:func:`~xhydro_accessor.xarray_ops.convert_units`,
:func:`~xhydro_accessor.xarray_ops.cell_area`) are in the xarray layer.
"""

from __future__ import annotations

from typing import Any

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
    units (weights cancel); ``var`` squares them; ``skew`` is dimensionless (``"1"``);
    ``move_upstream`` keeps them.
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


def format_units(units: Any) -> str:
    """``units`` in the registry's CF format.

    Examples
    --------
    >>> format_units("m^3/s")
    'm3 s-1'
    """
    return format(registry().Unit(str(units)), "cf")
