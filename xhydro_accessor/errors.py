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


def cycle_text(n_cycles: int, n_cells: int, where: object, path: list) -> str:
    """The message of :class:`CycleError`: ``path`` the first (up to 8) cells of the
    first cycle from ``where``, (row, col) pairs on a grid, node positions else."""
    kind = "(row, col) " if isinstance(where, tuple) else "node "
    return (
        f"the flow directions contain {n_cycles} cycle(s) over {n_cells} cells; "
        f"the first cycle starts at {kind}{where} and runs through {path}{' …' if len(path) == 8 else ''}"
    )


def bad_codes_text(count: int, values: object, where: tuple[int, int], conv: object) -> str:
    """The message of :class:`InvalidCodeError` for ``count`` cells holding codes
    ``values`` (sorted, distinct) outside ``conv``'s table, the first at ``where``."""
    return (
        f"{count} cells hold codes outside the {conv.describe()}: "  # type: ignore[attr-defined]
        f"values {values[:10].tolist()}, first at (row, col) {where}; "  # type: ignore[index]
        "pass nodata=... if one of them marks missing cells"
    )
