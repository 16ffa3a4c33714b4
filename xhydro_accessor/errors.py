"""Exceptions raised for invalid river networks and fields, and grids of unknown geometry."""


class NetworkError(ValueError):
    """Base class: the network or a field given with it is invalid."""


class CycleError(NetworkError):
    """The flow directions contain one or more cycles."""


class InvalidCodeError(NetworkError):
    """Flow-direction codes outside the convention (or not integral)."""


class GridMismatchError(NetworkError):
    """A field's grid (shape or coordinates) does not match the network."""


class NaNPropagationWarning(UserWarning):
    """NaN in a field spread through an accumulation (``skipna=False``) to downstream results."""


class UnknownGeometryError(ValueError):
    """Areas or metre lengths asked of a grid whose coordinates have no CRS and do not say
    they are degrees: pass ``crs=`` (see :mod:`xhydro_accessor.geometry`)."""
