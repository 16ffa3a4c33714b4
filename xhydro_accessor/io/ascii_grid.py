"""ESRI ASCII grids (``.asc``): six header lines, then rows of numbers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._common import as_nodata, check_georeference, header_count, header_number, make_dataarray

# --------------------------------------------------------------------------- #
# ESRI ASCII grid (.asc)
# --------------------------------------------------------------------------- #

_ASC_KEYS = {
    "ncols",
    "nrows",
    "xllcorner",
    "yllcorner",
    "xllcenter",
    "yllcenter",
    "cellsize",
    "dx",
    "dy",
    "nodata_value",
}


def _smallest_integer_dtype(lo: float, hi: float) -> np.dtype:
    for dtype in (
        np.uint8,
        np.int8,
        np.uint16,
        np.int16,
        np.uint32,
        np.int32,
        np.int64,
    ):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.float64)


def read_ascii_grid(path: Path) -> xr.DataArray:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not an ESRI ASCII grid (binary content)") from None
    header: dict[str, float] = {}
    pos = 0
    while True:
        match = re.compile(r"[ \t]*([A-Za-z_]+)[ \t]+(\S+)[ \t]*\r?(\n|$)").match(text, pos)
        if match is None:
            break
        key = match.group(1).lower()
        if key not in _ASC_KEYS:
            raise ValueError(f"{path}: unknown ESRI ASCII grid header key {match.group(1)!r}")
        header[key] = header_number(match.group(2), path, match.group(1))
        pos = match.end()
    for key in ("ncols", "nrows"):
        if key not in header:
            raise ValueError(f"{path}: ESRI ASCII grid header lacks {key}")
    ncols = header_count(header["ncols"], path, "ncols")
    nrows = header_count(header["nrows"], path, "nrows")
    dx = header.get("dx", header.get("cellsize"))
    dy = header.get("dy", header.get("cellsize"))
    if dx is None or dy is None:
        raise ValueError(f"{path}: ESRI ASCII grid header lacks cellsize")
    x0 = _lower_left_centre(header, "x", dx, path)
    y0 = _lower_left_centre(header, "y", dy, path)
    check_georeference(
        path,
        {k: v for k, v in header.items() if k[1:] in ("llcorner", "llcenter")},
        {k: v for k, v in header.items() if k in ("cellsize", "dx", "dy")},
    )

    tokens = text[pos:].split()
    if len(tokens) != nrows * ncols:
        problem = "truncated" if len(tokens) < nrows * ncols else "corrupt"
        raise ValueError(
            f"{path}: {problem} ESRI ASCII grid: header announces {nrows}x{ncols} = "
            f"{nrows * ncols} values, found {len(tokens)}"
        )
    try:
        values = np.array(tokens, dtype=np.float64).reshape(nrows, ncols)
    except ValueError as err:
        raise ValueError(f"{path}: corrupt ESRI ASCII grid ({err})") from None
    nodata = header.get("nodata_value")
    finite = values[np.isfinite(values)]
    if finite.size == values.size and np.all(finite == np.round(finite)):
        bounds = [finite.min(), finite.max()] if finite.size else [0.0, 0.0]
        if nodata is not None and float(nodata).is_integer():
            bounds += [nodata]
        dtype = _smallest_integer_dtype(min(bounds), max(bounds))
        values = values.astype(dtype)
    x = x0 + np.arange(ncols) * dx
    y = y0 + (nrows - 1 - np.arange(nrows)) * dy
    attrs: dict[str, Any] = {}
    if nodata is not None:
        attrs["nodata"] = as_nodata(nodata, values.dtype)
    return make_dataarray(values, y, x, attrs)


def _lower_left_centre(header: dict, axis: str, step: float, path: Path) -> float:
    """The centre of the lower-left cell along ``axis`` from ``{axis}llcorner`` or ``{axis}llcenter``."""
    if f"{axis}llcorner" in header:
        return header[f"{axis}llcorner"] + 0.5 * step
    if f"{axis}llcenter" in header:
        return header[f"{axis}llcenter"]
    raise ValueError(f"{path}: ESRI ASCII grid header lacks {axis}llcorner/{axis}llcenter")
