"""PCRaster CSF ``.map`` rasters, read in pure Python (256-byte header, raw cells)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._common import check_georeference, make_dataarray, read_bytes

# --------------------------------------------------------------------------- #
# PCRaster CSF (.map)
# --------------------------------------------------------------------------- #

_CSF_SIGNATURE = b"RUU CROSS SYSTEM MAP FORMAT"
_CSF_HEADER_SIZE = 256

# cell representation -> (numpy type code, missing value or None for NaN)
_CSF_CELL_REPR: dict[int, tuple[str, int | None]] = {
    0x00: ("u1", 255),  # CR_UINT1
    0x04: ("i1", -128),  # CR_INT1
    0x11: ("u2", 65535),  # CR_UINT2
    0x15: ("i2", -32768),  # CR_INT2
    0x22: ("u4", 4294967295),  # CR_UINT4
    0x26: ("i4", -2147483648),  # CR_INT4
    0x5A: ("f4", None),  # CR_REAL4
    0xDB: ("f8", None),  # CR_REAL8
}

_CSF_VALUE_SCALE = {
    0xE0: "boolean",
    0xE2: "nominal",
    0xF2: "ordinal",
    0xEB: "scalar",
    0xFB: "directional",
    0xF0: "ldd",
    0xFC: "classified",  # CSF version 1
    0xFD: "continuous",  # CSF version 1
    0x00: "notdetermined",  # CSF version 1
}


def read_csf(path: Path) -> xr.DataArray:
    data = read_bytes(path)
    if len(data) < _CSF_HEADER_SIZE:
        raise ValueError(
            f"{path}: truncated PCRaster CSF file ({len(data)} bytes, the header alone is {_CSF_HEADER_SIZE})"
        )
    if not data.startswith(_CSF_SIGNATURE):
        raise ValueError(f"{path}: not a PCRaster CSF map (signature missing)")
    # byte-order field: the integer 1 written in the file's byte order
    if struct.unpack_from("<I", data, 46)[0] == 1:
        bo = "<"
    elif struct.unpack_from(">I", data, 46)[0] == 1:
        bo = ">"
    else:
        raise ValueError(f"{path}: corrupt PCRaster CSF header (invalid byte-order field)")
    version, _gis_id, projection, attr_table = struct.unpack_from(bo + "HIHI", data, 32)
    value_scale, cell_repr = struct.unpack_from(bo + "HH", data, 64)
    x_ul, y_ul, nrows, ncols, cell_x, cell_y = struct.unpack_from(bo + "ddIIdd", data, 84)
    angle = struct.unpack_from(bo + "d", data, 124)[0] if version >= 2 else 0.0

    if cell_repr not in _CSF_CELL_REPR:
        raise ValueError(
            f"{path}: corrupt PCRaster CSF header (unknown cell representation 0x{cell_repr:02X})"
        )
    if value_scale not in _CSF_VALUE_SCALE:
        raise ValueError(f"{path}: corrupt PCRaster CSF header (unknown value scale 0x{value_scale:02X})")
    if nrows == 0 or ncols == 0:
        raise ValueError(f"{path}: corrupt PCRaster CSF header (nrRows {nrows}, nrCols {ncols})")
    check_georeference(path, {"xUL": x_ul, "yUL": y_ul}, {"cellSizeX": cell_x, "cellSizeY": cell_y})
    if angle != 0.0:
        raise ValueError(f"{path}: rotated PCRaster map (angle {angle}) cannot be given 1-D coordinates")
    code, missing = _CSF_CELL_REPR[cell_repr]
    dtype = np.dtype(bo + code)
    nbytes = nrows * ncols * dtype.itemsize
    if len(data) < _CSF_HEADER_SIZE + nbytes:
        raise ValueError(
            f"{path}: truncated PCRaster CSF file: {nrows}x{ncols} cells of "
            f"{dtype.itemsize} byte(s) need {_CSF_HEADER_SIZE + nbytes} bytes, "
            f"found {len(data)}"
        )
    # the cells end the file, or the attribute table (its offset in the header) follows them
    end = _CSF_HEADER_SIZE + nbytes
    if attr_table not in (0, end) or (attr_table == 0 and len(data) != end):
        where = (
            f"the attribute table starts at byte {attr_table}"
            if attr_table
            else f"the file holds {len(data)}"
        )
        raise ValueError(
            f"{path}: corrupt PCRaster CSF header: nrRows x nrCols = {nrows}x{ncols} cells of "
            f"{dtype.itemsize} byte(s) end at byte {end}, but {where}"
        )
    values = np.frombuffer(data, dtype=dtype, count=nrows * ncols, offset=_CSF_HEADER_SIZE)
    values = values.reshape(nrows, ncols).astype(dtype.newbyteorder("="))
    # floating-point missing values are NaN (all bits set) and stay NaN

    x = x_ul + (np.arange(ncols) + 0.5) * cell_x
    # projection 0: y increases from top to bottom; otherwise y decreases
    sign = 1.0 if projection == 0 else -1.0
    y = y_ul + sign * (np.arange(nrows) + 0.5) * cell_y

    scale = _CSF_VALUE_SCALE[value_scale]
    if scale == "ldd" and cell_repr != 0x00:
        raise ValueError(f"{path}: corrupt PCRaster CSF header (LDD map not stored as UINT1)")
    attrs: dict[str, Any] = {}
    if missing is not None:
        attrs["nodata"] = missing
    if scale == "ldd":
        attrs["convention"] = "ldd"
    attrs["csf_value_scale"] = scale
    da = make_dataarray(values, y, x, attrs)
    if projection == 0:  # y grows downwards: the codes name steps on the grid, row 0 at the top
        da.encoding["y_down"] = True
    return da
