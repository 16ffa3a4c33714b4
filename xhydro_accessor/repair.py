"""Repair real-world flow-direction defects and report every change.

:func:`repair` turns codes that :class:`~xhydro_accessor.RiverNetwork` would
reject (or silently reinterpret) into explicit ones:

- codes outside the convention become missing;
- cells draining off the grid (a cropped grid) become pits;
- cells draining into a missing cell become pits;
- one cell of every cycle becomes a pit, which breaks the cycle.

The network built from the repaired codes is the one the builders would make
of the original codes wherever they accept them: only invalid codes and cycles
change its topology.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .conventions import MISSING as _MISSING
from .conventions import PIT as _PIT
from .conventions import STEPS, Convention, get_convention
from .layout import layout_of

__all__ = ["RepairReport", "repair"]


@dataclass(frozen=True)
class RepairReport:
    """What :func:`repair` changed: the flat grid indices of the cells, per defect.

    Attributes
    ----------
    shape : tuple of int
        The grid shape (to turn flat indices into ``(row, col)``).
    invalid : numpy.ndarray
        Cells holding a code outside the convention, now missing.
    off_grid : numpy.ndarray
        Cells draining off the grid, now pits.
    into_missing : numpy.ndarray
        Cells draining into a missing cell, now pits.
    cycles : numpy.ndarray
        One cell of each cycle, now a pit.
    """

    shape: tuple[int, int]
    invalid: np.ndarray
    off_grid: np.ndarray
    into_missing: np.ndarray
    cycles: np.ndarray

    @property
    def n_changed(self) -> int:
        """Number of cells whose code changed."""
        return sum(getattr(self, k).size for k in ("invalid", "off_grid", "into_missing", "cycles"))

    def __str__(self) -> str:
        lines = [f"repaired {self.n_changed} cells"]
        for key, what in (
            ("invalid", "codes outside the convention -> missing"),
            ("off_grid", "draining off the grid -> pits"),
            ("into_missing", "draining into a missing cell -> pits"),
            ("cycles", "cycles broken (one cell each -> pit)"),
        ):
            cells = getattr(self, key)
            if cells.size:
                first = tuple(int(v) for v in np.unravel_index(cells[0], self.shape))
                lines.append(f"  {cells.size:>8} {what}; first at (row, col) {first}")
        return "\n".join(lines)


def repair(codes: Any, convention: str | Convention = "ldd", *, nodata: Any = None, wrap_x: bool = False):
    """Repair flow-direction codes; return the repaired codes and a report.

    Parameters
    ----------
    codes : numpy.ndarray or xarray.DataArray
        Flow-direction codes on a 2-D grid: an array north up, a DataArray read
        by its coordinates as in :meth:`~xhydro_accessor.RiverNetwork.from_ldd`
        (south-up, east-to-west and x-first grids are repaired as stored).
    convention : str or Convention
        A registered code table with a pit code (``"ldd"``, ``"esri"``,
        ``"merit"``, ``"grass"``, ``"whitebox"``, your own; TauDEM has none) or
        a :class:`~xhydro_accessor.Convention`.
    nodata : scalar or sequence, optional
        Further codes marking missing cells (default: a DataArray's
        ``attrs["nodata"]``).
    wrap_x : bool, default False
        East–west wrapping: flow leaving east or west is not off the grid.

    Returns
    -------
    repaired : same type as ``codes``
        The codes with the changes of the report; a DataArray keeps its dims,
        coordinates and attrs. The dtype is kept (NaN for missing in floats).
    report : RepairReport
        The changed cells per defect; ``print(report)`` summarises them.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[6, 4, 2], [6, 0, 3]])  # a two-cell cycle, a 0, flow off the grid
    >>> fixed, report = repair(codes, "ldd")
    >>> fixed
    array([[  5,   4,   2],
           [  5, 255,   5]])
    >>> print(report)
    repaired 4 cells
             1 codes outside the convention -> missing; first at (row, col) (1, 1)
             1 draining off the grid -> pits; first at (row, col) (1, 2)
             1 draining into a missing cell -> pits; first at (row, col) (1, 0)
             1 cycles broken (one cell each -> pit); first at (row, col) (0, 0)
    """
    from .kernels.topology import downstream_from_directions, find_cycles, topological_order

    layout = layout_of(codes)
    conv = layout.orient(get_convention(convention))
    if conv.kind != "d8" or not conv.pits:
        raise ValueError(f"repair needs a table of direction codes with a pit code; {conv.name} has none")
    if nodata is None:
        nodata = getattr(codes, "attrs", {}).get("nodata")
    values = np.array(getattr(codes, "values", codes))
    if values.ndim != 2:
        raise ValueError(f"flow directions must be a 2-D grid, got shape {values.shape}")
    extra = np.atleast_1d(nodata if nodata is not None else []).tolist()
    missing_codes = [*conv.missing, *extra]
    direction = np.full(values.shape, -1, np.int64)
    for code, step in conv.directions.items():
        direction[values == code] = STEPS.index(step)
    direction[np.isin(values, list(conv.pits))] = _PIT
    missing = np.isin(values, missing_codes) | (np.isnan(values) if values.dtype.kind == "f" else False)
    direction[missing] = _MISSING
    invalid = np.flatnonzero(direction == -1)
    direction.reshape(-1)[invalid] = _MISSING

    ny, nx = values.shape
    rows, cols = np.indices(values.shape)
    flows = direction < _PIT
    offsets = np.array(STEPS)[np.where(flows, direction, 0)]
    r2, c2 = rows + offsets[..., 0], cols + offsets[..., 1]
    if wrap_x and layout.transposed:
        r2 %= ny
    elif wrap_x:
        c2 %= nx
    outside = flows & ((r2 < 0) | (r2 >= ny) | (c2 < 0) | (c2 >= nx))
    into = flows & ~outside
    into[into] = direction[r2[into], c2[into]] == _MISSING
    off_grid, into_missing = np.flatnonzero(outside), np.flatnonzero(into)
    direction[outside | into] = _PIT

    down = np.empty(values.size, np.int64)
    transposed = layout.transposed
    downstream_from_directions(
        direction.astype(np.uint8), wrap_x and not transposed, down, wrap_x and transposed
    )
    *_, in_degree = topological_order(down)
    cycles = find_cycles(down, in_degree) if (in_degree > 0).any() else np.array([], np.int64)

    pit = conv.pits[0]
    gone = _missing_code(values.dtype, [*extra, *sorted(conv.missing)]) if invalid.size else 0
    changed = np.concatenate([off_grid, into_missing, cycles])
    out = values.copy()
    out.reshape(-1)[changed] = pit
    out.reshape(-1)[invalid] = gone
    report = RepairReport((ny, nx), invalid, off_grid, into_missing, np.asarray(cycles, np.int64))
    if hasattr(codes, "copy") and hasattr(codes, "dims"):
        return codes.copy(data=out), report
    return out, report


def _missing_code(dtype: np.dtype, candidates: list) -> Any:
    """The code written into invalid cells: NaN for floats, else the first nodata (then
    missing) value the dtype holds exactly (NaN, 2.5 or -3.4e38 cannot mark an integer cell)."""
    if dtype.kind == "f":
        return np.nan
    info = np.iinfo(dtype)
    for value in candidates:
        if np.isfinite(float(value)) and float(value).is_integer() and info.min <= value <= info.max:
            return int(value)
    raise ValueError(f"no nodata value among {candidates} fits dtype {dtype}: pass nodata= one that does")
