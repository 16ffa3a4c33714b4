"""What the format readers share: DataArray construction and header parsing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

PathLike = str | os.PathLike[str]

# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def make_dataarray(
    values: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    attrs: dict[str, Any],
    name: str = "flow_direction",
) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("y", "x"),
        coords={
            "y": np.asarray(y, dtype=np.float64),
            "x": np.asarray(x, dtype=np.float64),
        },
        attrs=attrs,
        name=name,
    )


def read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def header_number(text: str, path: Path, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}: header value {key} = {text!r} is not a number") from None


def header_count(value: float, path: Path, key: str) -> int:
    if not float(value).is_integer() or value <= 0:
        raise ValueError(f"{path}: header value {key} = {value!r} is not a positive integer")
    return int(value)


def check_georeference(path: Path, origin: dict[str, float], cell_size: dict[str, float]) -> None:
    """Raise ``ValueError`` naming the file and the header field for a NaN or infinite
    origin or a cell size that is NaN, infinite, zero or negative."""
    for key, value in origin.items():
        if not np.isfinite(value):
            raise ValueError(f"{path}: corrupt header: {key} = {value!r} is not a finite coordinate")
    for key, value in cell_size.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{path}: corrupt header: cell size {key} = {value!r} is not a positive number")


def as_nodata(value: float, dtype: np.dtype) -> int | float:
    """A declared nodata value as a Python scalar matching the data's kind."""
    if np.issubdtype(dtype, np.integer) and float(value).is_integer():
        return int(value)
    return float(value)
