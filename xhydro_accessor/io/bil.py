"""Raw band-interleaved rasters with an ESRI BIL or ENVI ``.hdr`` header."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._common import (
    as_nodata,
    check_georeference,
    header_count,
    header_number,
    make_dataarray,
    read_bytes,
)

# --------------------------------------------------------------------------- #
# raw BIL with an ESRI or ENVI header (.bin, .bil)
# --------------------------------------------------------------------------- #


def _find_header(path: Path) -> Path:
    for candidate in (
        path.with_suffix(".hdr"),
        path.with_suffix(".HDR"),
        Path(f"{path}.hdr"),
    ):
        if candidate.is_file():
            return candidate
    raise ValueError(f"{path}: no header file {path.with_suffix('.hdr').name} beside it")


def _parse_envi_header(path: Path, hdr: Path, text: str) -> dict[str, Any]:
    fields: dict[str, str] = {}
    for match in re.finditer(r"^\s*([^=\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, re.MULTILINE):
        fields[match.group(1).strip().lower()] = match.group(2).strip()

    def get(key: str, default: str | None = None) -> str:
        if key in fields:
            return fields[key]
        if default is None:
            raise ValueError(f"{path}: ENVI header {hdr.name} lacks {key!r}")
        return default

    envi_types = {
        1: "u1",
        2: "i2",
        3: "i4",
        4: "f4",
        5: "f8",
        12: "u2",
        13: "u4",
        14: "i8",
        15: "u8",
    }
    dtype_code = int(header_number(get("data type"), path, "data type"))
    if dtype_code not in envi_types:
        raise ValueError(f"{path}: unsupported ENVI data type {dtype_code}")
    bo = ">" if int(header_number(get("byte order", "0"), path, "byte order")) == 1 else "<"
    dtype = np.dtype(bo + envi_types[dtype_code])
    ncols = header_count(header_number(get("samples"), path, "samples"), path, "samples")
    nrows = header_count(header_number(get("lines"), path, "lines"), path, "lines")
    nbands = header_count(header_number(get("bands", "1"), path, "bands"), path, "bands")
    info: dict[str, Any] = {
        "dtype": dtype,
        "nrows": nrows,
        "ncols": ncols,
        "nbands": nbands,
        "skip": int(header_number(get("header offset", "0"), path, "header offset")),
        "row_bytes": ncols * dtype.itemsize * nbands,
        "x_ul_centre": 0.5,
        "y_ul_centre": nrows - 0.5,
        "dx": 1.0,
        "dy": 1.0,
        "nodata": None,
    }
    if "map info" in fields:
        parts = [p.strip() for p in fields["map info"].strip("{}").split(",")]
        try:
            ref_col, ref_row, easting, northing, dx, dy = (float(p) for p in parts[1:7])
        except (ValueError, IndexError):
            raise ValueError(f"{path}: cannot parse ENVI 'map info' {fields['map info']!r}") from None
        # ENVI reference pixel is 1-based; (1, 1) is the outer corner of the first cell
        info["x_ul_centre"] = easting + (1.5 - ref_col) * dx
        info["y_ul_centre"] = northing - (1.5 - ref_row) * dy
        info["dx"], info["dy"] = dx, dy
        check_georeference(
            path, {"map info easting": easting, "map info northing": northing},
            {"map info x pixel size": dx, "map info y pixel size": dy},
        )  # fmt: skip
    if "data ignore value" in fields:
        info["nodata"] = header_number(fields["data ignore value"], path, "data ignore value")
    info["crs_wkt"] = _envi_crs(fields)
    return info


def _envi_crs(fields: dict[str, str]) -> str | None:
    """WKT of the ENVI ``coordinate system string``, else of a geographic or UTM ``map info``."""
    if fields.get("coordinate system string"):
        return fields["coordinate system string"].strip("{} ")
    parts = [p.strip() for p in fields.get("map info", "").strip("{}").split(",")]
    datum = next((p for p in parts[7:] if p.upper().replace("-", "").replace(" ", "") == "WGS84"), None)
    if not parts[0] or datum is None:  # other datums have no unambiguous EPSG code
        return None
    from ..geometry import as_crs

    name = parts[0].lower()
    if name == "geographic lat/lon":
        return as_crs("EPSG:4326").to_wkt()
    if name == "utm" and len(parts) > 8 and parts[7].isdigit():
        south = parts[8].lower().startswith("s")
        return as_crs(f"EPSG:{(32700 if south else 32600) + int(parts[7])}").to_wkt()
    return None


def _parse_esri_bil_header(path: Path, hdr: Path, text: str) -> dict[str, Any]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            fields[parts[0].upper()] = parts[1]
        elif parts:  # one keyword, one value: "NCOLS 4 776" is a lie, not 4 columns
            raise ValueError(f"{path}: cannot parse header line {line!r} in {hdr.name}")

    def num(key: str, default: float | None = None) -> float:
        if key in fields:
            return header_number(fields[key], path, key)
        if default is None:
            raise ValueError(f"{path}: header {hdr.name} lacks {key}")
        return default

    nrows = header_count(num("NROWS"), path, "NROWS")
    ncols = header_count(num("NCOLS"), path, "NCOLS")
    nbands = header_count(num("NBANDS", 1), path, "NBANDS")
    nbits = int(num("NBITS", 8))
    pixeltype = fields.get("PIXELTYPE", "UNSIGNEDINT").upper()
    kind = {"UNSIGNEDINT": "u", "SIGNEDINT": "i", "FLOAT": "f"}.get(pixeltype)
    if kind is None or nbits not in (8, 16, 32, 64) or (kind == "f" and nbits < 32):
        raise ValueError(f"{path}: unsupported PIXELTYPE {pixeltype} with NBITS {nbits}")
    byteorder = fields.get("BYTEORDER", "I").upper()
    if byteorder not in ("I", "M"):
        raise ValueError(f"{path}: BYTEORDER must be I or M, not {byteorder!r}")
    dtype = np.dtype(("<" if byteorder == "I" else ">") + f"{kind}{nbits // 8}")
    layout = fields.get("LAYOUT", "BIL").upper()
    if layout not in ("BIL", "BIP", "BSQ") or (nbands > 1 and layout != "BIL"):
        raise ValueError(f"{path}: unsupported LAYOUT {layout} with {nbands} band(s)")
    band_row_bytes = int(num("BANDROWBYTES", ncols * dtype.itemsize))
    row_bytes = int(num("TOTALROWBYTES", band_row_bytes * nbands))
    for key, value, cells in (("BANDROWBYTES", band_row_bytes, ncols * dtype.itemsize),
                              ("TOTALROWBYTES", row_bytes, band_row_bytes * nbands)):  # fmt: skip
        if value != cells:  # rows padded (legal, never seen) or NCOLS/NBITS/NBANDS lie: refuse
            raise ValueError(
                f"{path}: corrupt header {hdr.name}: {key} {value} does not fit {ncols} columns "
                f"of {dtype.itemsize} byte(s) in {nbands} band(s) (NCOLS, NBITS, NBANDS)"
            )
    dx = num("XDIM", 1.0)
    dy = num("YDIM", 1.0)
    origin = {key: num(key, 0.0) for key in ("ULXMAP", "ULYMAP")}
    check_georeference(path, origin, {"XDIM": dx, "YDIM": dy})
    return {
        "dtype": dtype,
        "nrows": nrows,
        "ncols": ncols,
        "nbands": nbands,
        "skip": int(num("SKIPBYTES", 0)),
        "row_bytes": row_bytes,
        # ULXMAP/ULYMAP are the centre of the upper-left cell
        "x_ul_centre": num("ULXMAP", 0.0),
        "y_ul_centre": num("ULYMAP", nrows - 1.0),
        "dx": dx,
        "dy": dy,
        "nodata": num("NODATA") if "NODATA" in fields else None,
    }


def read_bil(path: Path) -> xr.DataArray:
    hdr = _find_header(path)
    text = hdr.read_text(errors="replace")
    if text.lstrip().upper().startswith("ENVI"):
        info = _parse_envi_header(path, hdr, text)
    else:
        info = _parse_esri_bil_header(path, hdr, text)
    if info["nbands"] != 1:
        raise ValueError(f"{path}: {info['nbands']} bands; only single-band rasters are supported")
    dtype: np.dtype = info["dtype"]
    nrows, ncols = info["nrows"], info["ncols"]
    row_bytes = max(info["row_bytes"], ncols * dtype.itemsize)
    if info["skip"] < 0:
        raise ValueError(f"{path}: corrupt header {hdr.name}: negative offset {info['skip']} to the cells")
    needed = info["skip"] + (nrows - 1) * row_bytes + ncols * dtype.itemsize
    size = path.stat().st_size  # checked before reading: an absurd header allocates nothing
    if size < needed:
        raise ValueError(
            f"{path}: truncated raster: {nrows}x{ncols} cells of {dtype.itemsize} byte(s) "
            f"(header {hdr.name}) need {needed} bytes, found {size}"
        )
    if size > info["skip"] + nrows * row_bytes:  # more cells than rows x columns: a wrong header
        raise ValueError(
            f"{path}: corrupt header {hdr.name}: {nrows} rows x {ncols} columns of {dtype.itemsize} "
            f"byte(s) need {needed} bytes, but the file holds {size}"
        )
    data = read_bytes(path)
    raw = np.frombuffer(data, dtype=np.uint8, count=needed - info["skip"], offset=info["skip"])
    raw = np.concatenate([raw, np.zeros(row_bytes * nrows - raw.size, np.uint8)])
    rows = raw.reshape(nrows, row_bytes)[:, : ncols * dtype.itemsize]
    values = np.ascontiguousarray(rows).view(dtype).astype(dtype.newbyteorder("="))
    x = info["x_ul_centre"] + np.arange(ncols) * info["dx"]
    y = info["y_ul_centre"] - np.arange(nrows) * info["dy"]
    attrs: dict[str, Any] = {}
    if info["nodata"] is not None:
        attrs["nodata"] = as_nodata(info["nodata"], values.dtype)
    if info.get("crs_wkt"):
        attrs["crs_wkt"] = info["crs_wkt"]
    return make_dataarray(values, y, x, attrs)
