"""Readers for flow-direction rasters.

:func:`read_flow_directions` opens a flow-direction raster as an
:class:`xarray.DataArray` with dims ``("y", "x")`` and 1-D cell-centre
coordinates. The formats are read by code in this module (no GDAL needed),
except GeoTIFF, which goes through the optional dependency ``rioxarray``:

- ``.map``: PCRaster CSF raster (256-byte header, raw row-major cells);
- ``.nc``, ``.nc4``: netCDF3 (scipy engine) or netCDF4 (netCDF4 or h5netcdf);
- ``.bin``, ``.bil``: raw band-interleaved raster with an ESRI BIL or ENVI
  ``.hdr`` header beside it;
- ``.asc``: ESRI ASCII grid (header lines, then rows of numbers);
- ``.tif``, ``.tiff``: GeoTIFF (requires ``rioxarray``).

The codes are returned as stored: the reader neither validates nor translates
them. ``attrs["nodata"]`` holds the missing value the file declares (if any),
``attrs["convention"]`` is ``"ldd"`` when the format says so (a CSF map with
the LDD value scale; a netCDF variable's own attributes, including an explicit
``convention``, are kept), and ``attrs["source_file"]`` is the absolute path.
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["read_flow_directions"]

PathLike = str | os.PathLike[str]


def read_flow_directions(path: PathLike, variable: str | None = None) -> xr.DataArray:
    r"""Read a flow-direction raster into a DataArray.

    Parameters
    ----------
    path : str or os.PathLike
        The raster file. The format is chosen from the suffix (case
        insensitive): ``.map`` (PCRaster CSF), ``.nc``/``.nc4`` (netCDF),
        ``.bin``/``.bil`` (raw BIL with a ``.hdr`` header), ``.asc`` (ESRI
        ASCII grid), ``.tif``/``.tiff`` (GeoTIFF, needs ``rioxarray``).
    variable : str, optional
        netCDF only: the name of the flow-direction variable. By default it is
        found from its attributes (``hydro_role``, ``standard_name``, a
        ``convention`` attribute, an ``ldd``-like name) or as the only
        two-dimensional integer-valued variable.

    Returns
    -------
    xarray.DataArray
        Dims ``("y", "x")`` with 1-D cell-centre coordinates ``y`` and ``x``;
        ``y`` descends for north-up rasters. The values are the codes as
        stored (integer dtype; a float file stays float). ``attrs`` holds
        ``"nodata"`` (the declared missing value, when the file declares one),
        ``"convention"`` (``"ldd"`` for a CSF map with the LDD value scale),
        ``"crs_wkt"`` (when the file holds a coordinate reference system) and
        ``"source_file"``.

    Raises
    ------
    ValueError
        The suffix is unknown, or the file is truncated, corrupt, or not in
        the format its suffix announces. The message names the file.
    ImportError
        A GeoTIFF is read without ``rioxarray`` installed, or a netCDF file
        without a suitable xarray engine.

    Notes
    -----
    netCDF variables are read with ``mask_and_scale=False`` so the integer
    codes survive; ``_FillValue``/``missing_value`` become ``attrs["nodata"]``.
    A netCDF grid stored south-up (ascending ``y``) or east-to-west is flipped
    to north-up, west-to-east, because direction codes name geographic
    directions (north is up). A CSF map whose projection has ``y`` increasing
    downwards is returned as stored (ascending ``y``): PCRaster codes name
    directions on the grid.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "dir.asc"
    >>> header = "ncols 3\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 10\nNODATA_value 255\n"
    >>> _ = path.write_text(header + "1 0 255\n")
    >>> codes = read_flow_directions(path)
    >>> codes.values
    array([[  1,   0, 255]], dtype=uint8)
    >>> codes["x"].values, codes["y"].values
    (array([ 5., 15., 25.]), array([5.]))
    >>> codes.attrs["nodata"]
    255
    """
    path = Path(path)
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        known = ", ".join(sorted(_READERS))
        raise ValueError(
            f"{path}: unknown flow-direction raster suffix {path.suffix!r}; supported suffixes are {known}"
        )
    if variable is not None and suffix not in _NETCDF_SUFFIXES:
        raise ValueError(f"{path}: variable= applies to netCDF files only")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    da = _read_netcdf(path, variable) if suffix in _NETCDF_SUFFIXES else reader(path)
    da.attrs["source_file"] = str(path.resolve())
    return da


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def _make_dataarray(
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


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _number(text: str, path: Path, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}: header value {key} = {text!r} is not a number") from None


def _count(value: float, path: Path, key: str) -> int:
    if not float(value).is_integer() or value <= 0:
        raise ValueError(f"{path}: header value {key} = {value!r} is not a positive integer")
    return int(value)


def _as_nodata(value: float, dtype: np.dtype) -> int | float:
    """A declared nodata value as a Python scalar matching the data's kind."""
    if np.issubdtype(dtype, np.integer) and float(value).is_integer():
        return int(value)
    return float(value)


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


def _read_csf(path: Path) -> xr.DataArray:
    data = _read_bytes(path)
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
    version, _gis_id, projection = struct.unpack_from(bo + "HIH", data, 32)
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
        raise ValueError(f"{path}: corrupt PCRaster CSF header ({nrows} rows, {ncols} columns)")
    if not (np.isfinite(cell_x) and np.isfinite(cell_y) and cell_x > 0 and cell_y > 0):
        raise ValueError(f"{path}: corrupt PCRaster CSF header (cell size {cell_x}, {cell_y})")
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
    return _make_dataarray(values, y, x, attrs)


# --------------------------------------------------------------------------- #
# netCDF (.nc)
# --------------------------------------------------------------------------- #

_NETCDF_SUFFIXES = (".nc", ".nc4")
_NETCDF3_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

_FLOW_DIRECTION_NAMES = re.compile(r"(^|_)(ldd|fdir|flwdir|flowdir|d8|flow_?dir(ection)?s?)($|_)")

# (description, test on a 2-D variable) tried in order: the first criterion
# matched by exactly one variable selects it
_NETCDF_CRITERIA: tuple[tuple[str, Callable[[str, xr.DataArray], bool]], ...] = (
    (
        "hydro_role: flow_direction",
        lambda n, v: v.attrs.get("hydro_role") == "flow_direction",
    ),
    (
        "standard_name ldd / flow direction",
        lambda n, v: (
            str(v.attrs.get("standard_name", "")).lower()
            in ("ldd", "flow_direction", "local_drain_direction")
        ),
    ),
    ("a convention attribute", lambda n, v: "convention" in v.attrs),
    ("an ldd-like name", lambda n, v: bool(_FLOW_DIRECTION_NAMES.search(n.lower()))),
)

_AXIS_CRITERIA = {
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


def _netcdf_engine(path: Path, magic: bytes) -> str:
    import importlib.util

    def have(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    if magic.startswith(_NETCDF3_MAGIC):
        candidates = [("scipy", "scipy"), ("netcdf4", "netCDF4")]
    elif magic.startswith(_HDF5_MAGIC):
        candidates = [("netcdf4", "netCDF4"), ("h5netcdf", "h5py")]
    else:
        raise ValueError(f"{path}: not a netCDF file (neither netCDF3 nor HDF5 signature)")
    for engine, module in candidates:
        if have(module) and (engine != "h5netcdf" or have("h5netcdf")):
            return engine
    needs = " or ".join(module if module != "h5py" else "h5netcdf and h5py" for _, module in candidates)
    raise ImportError(f"reading {path} needs {needs}: install it with pip")


def _is_integer_valued(da: xr.DataArray) -> bool:
    if np.issubdtype(da.dtype, np.integer):
        return True
    if not np.issubdtype(da.dtype, np.floating):
        return False
    values = np.asarray(da.values)
    finite = values[np.isfinite(values)]
    return bool(np.all(finite == np.round(finite)))


def _select_variable(path: Path, ds: xr.Dataset, variable: str | None) -> str:
    if variable is not None:
        if variable not in ds.variables:
            raise ValueError(
                f"{path}: no variable {variable!r}; the file holds {sorted(map(str, ds.variables))}"
            )
        if ds[variable].ndim != 2:
            raise ValueError(
                f"{path}: variable {variable!r} has dims {ds[variable].dims}, expected two spatial dims"
            )
        return variable
    two_d = {str(k): v for k, v in ds.data_vars.items() if v.ndim == 2}
    for _description, test in _NETCDF_CRITERIA:
        found = [name for name, v in two_d.items() if test(name, v)]
        if len(found) == 1:
            return found[0]
    integer = [name for name, v in two_d.items() if _is_integer_valued(v)]
    if len(integer) == 1:
        return integer[0]
    if not integer:
        raise ValueError(f"{path}: no two-dimensional integer-valued variable to read as flow directions")
    raise ValueError(
        f"{path}: several candidate flow-direction variables {integer}; choose one with variable="
    )


def _axis_of(name: str, coord: xr.DataArray | None) -> str | None:
    attrs = coord.attrs if coord is not None else {}
    for axis, criteria in _AXIS_CRITERIA.items():
        if str(attrs.get("axis", "")).lower() == axis:
            return axis
        if str(attrs.get("standard_name", "")).lower() in criteria["standard_names"]:
            return axis
        if str(attrs.get("units", "")).lower() in criteria["units"]:
            return axis
    for axis, criteria in _AXIS_CRITERIA.items():
        if name.lower() in criteria["names"]:
            return axis
    return None


def _read_netcdf(path: Path, variable: str | None = None) -> xr.DataArray:
    with open(path, "rb") as f:
        magic = f.read(8)
    engine = _netcdf_engine(path, magic)
    try:
        ds = xr.open_dataset(path, engine=engine, mask_and_scale=False, decode_times=False)
    except (OSError, ValueError, TypeError, KeyError, IndexError, struct.error) as err:
        raise ValueError(f"{path}: cannot read netCDF file ({err})") from err
    try:
        name = _select_variable(path, ds, variable)
        try:
            da = ds[name].load()
        except (OSError, ValueError, TypeError, IndexError, RuntimeError) as err:
            raise ValueError(f"{path}: cannot read variable {name!r} ({err})") from err
        crs_wkt = None
        grid_mapping = da.attrs.get("grid_mapping")
        if grid_mapping in ds.variables:
            gm = ds[grid_mapping].attrs
            crs_wkt = gm.get("crs_wkt", gm.get("spatial_ref"))
    finally:
        ds.close()

    attrs = dict(da.attrs)
    if "scale_factor" in attrs or "add_offset" in attrs:
        # packed data: decode it (codes become float, missing become NaN)
        da = xr.decode_cf(da.to_dataset(name=name))[name]
        attrs = dict(da.attrs)
    nodata = attrs.pop("_FillValue", None)
    missing_value = attrs.pop("missing_value", None)
    if nodata is None:
        nodata = missing_value
    for key in ("grid_mapping", "coordinates"):
        attrs.pop(key, None)

    dims = [str(d) for d in da.dims]
    axes = [_axis_of(d, da.coords.get(d)) for d in dims]
    if axes[0] == axes[1]:
        axes = [None, None]  # ambiguous: fall back on (row, column) order
    if axes.count(None) == 1:
        axes[axes.index(None)] = "y" if "x" in axes else "x"
    elif axes.count(None) == 2:
        axes = ["y", "x"]  # assume (row, column) order
    da = da.rename(dict(zip(dims, axes, strict=True))).transpose("y", "x")
    da = da.drop_vars([c for c in da.coords if c not in ("y", "x")])
    for axis, size in (("y", da.sizes["y"]), ("x", da.sizes["x"])):
        if axis not in da.coords:
            da = da.assign_coords({axis: np.arange(size, dtype=np.float64)})
        else:
            values = np.asarray(da[axis].values)
            if not np.issubdtype(values.dtype, np.number):
                raise ValueError(f"{path}: coordinate {axis!r} is not numeric")
            coord_attrs = {
                k: v for k, v in da[axis].attrs.items() if k not in ("_FillValue", "missing_value")
            }
            da = da.assign_coords({axis: (axis, values.astype(np.float64), coord_attrs)})
    # north-up, west-to-east
    if da.sizes["y"] > 1 and da["y"].values[1] > da["y"].values[0]:
        da = da.isel(y=slice(None, None, -1))
    if da.sizes["x"] > 1 and da["x"].values[1] < da["x"].values[0]:
        da = da.isel(x=slice(None, None, -1))

    if nodata is not None:
        nodata_arr = np.asarray(nodata).ravel()
        if nodata_arr.size:
            attrs["nodata"] = _as_nodata(nodata_arr[0].item(), da.dtype)
    if crs_wkt is not None:
        attrs["crs_wkt"] = str(crs_wkt)
    da.attrs = attrs
    da.encoding = {}
    da.name = name
    return da


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
    dtype_code = int(_number(get("data type"), path, "data type"))
    if dtype_code not in envi_types:
        raise ValueError(f"{path}: unsupported ENVI data type {dtype_code}")
    bo = ">" if int(_number(get("byte order", "0"), path, "byte order")) == 1 else "<"
    dtype = np.dtype(bo + envi_types[dtype_code])
    ncols = _count(_number(get("samples"), path, "samples"), path, "samples")
    nrows = _count(_number(get("lines"), path, "lines"), path, "lines")
    nbands = _count(_number(get("bands", "1"), path, "bands"), path, "bands")
    info: dict[str, Any] = {
        "dtype": dtype,
        "nrows": nrows,
        "ncols": ncols,
        "nbands": nbands,
        "skip": int(_number(get("header offset", "0"), path, "header offset")),
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
    if "data ignore value" in fields:
        info["nodata"] = _number(fields["data ignore value"], path, "data ignore value")
    return info


def _parse_esri_bil_header(path: Path, hdr: Path, text: str) -> dict[str, Any]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            fields[parts[0].upper()] = parts[1]
        elif parts:
            raise ValueError(f"{path}: cannot parse header line {line!r} in {hdr.name}")

    def num(key: str, default: float | None = None) -> float:
        if key in fields:
            return _number(fields[key], path, key)
        if default is None:
            raise ValueError(f"{path}: header {hdr.name} lacks {key}")
        return default

    nrows = _count(num("NROWS"), path, "NROWS")
    ncols = _count(num("NCOLS"), path, "NCOLS")
    nbands = _count(num("NBANDS", 1), path, "NBANDS")
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
    if band_row_bytes < ncols * dtype.itemsize:
        raise ValueError(f"{path}: BANDROWBYTES {band_row_bytes} is smaller than one row of cells")
    dx = num("XDIM", 1.0)
    dy = num("YDIM", 1.0)
    return {
        "dtype": dtype,
        "nrows": nrows,
        "ncols": ncols,
        "nbands": nbands,
        "skip": int(num("SKIPBYTES", 0)),
        "row_bytes": int(num("TOTALROWBYTES", band_row_bytes * nbands)),
        # ULXMAP/ULYMAP are the centre of the upper-left cell
        "x_ul_centre": num("ULXMAP", 0.0),
        "y_ul_centre": num("ULYMAP", nrows - 1.0),
        "dx": dx,
        "dy": dy,
        "nodata": num("NODATA") if "NODATA" in fields else None,
    }


def _read_bil(path: Path) -> xr.DataArray:
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
    needed = info["skip"] + (nrows - 1) * row_bytes + ncols * dtype.itemsize
    data = _read_bytes(path)
    if len(data) < needed:
        raise ValueError(
            f"{path}: truncated raster: {nrows}x{ncols} cells of {dtype.itemsize} byte(s) "
            f"(header {hdr.name}) need {needed} bytes, found {len(data)}"
        )
    raw = np.frombuffer(data, dtype=np.uint8, count=needed - info["skip"], offset=info["skip"])
    raw = np.concatenate([raw, np.zeros(row_bytes * nrows - raw.size, np.uint8)])
    rows = raw.reshape(nrows, row_bytes)[:, : ncols * dtype.itemsize]
    values = np.ascontiguousarray(rows).view(dtype).astype(dtype.newbyteorder("="))
    x = info["x_ul_centre"] + np.arange(ncols) * info["dx"]
    y = info["y_ul_centre"] - np.arange(nrows) * info["dy"]
    attrs: dict[str, Any] = {}
    if info["nodata"] is not None:
        attrs["nodata"] = _as_nodata(info["nodata"], values.dtype)
    return _make_dataarray(values, y, x, attrs)


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


def _read_ascii_grid(path: Path) -> xr.DataArray:
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
        header[key] = _number(match.group(2), path, match.group(1))
        pos = match.end()
    for key in ("ncols", "nrows"):
        if key not in header:
            raise ValueError(f"{path}: ESRI ASCII grid header lacks {key}")
    ncols = _count(header["ncols"], path, "ncols")
    nrows = _count(header["nrows"], path, "nrows")
    dx = header.get("dx", header.get("cellsize"))
    dy = header.get("dy", header.get("cellsize"))
    if dx is None or dy is None:
        raise ValueError(f"{path}: ESRI ASCII grid header lacks cellsize")
    if "xllcorner" in header:
        x0 = header["xllcorner"] + 0.5 * dx
    elif "xllcenter" in header:
        x0 = header["xllcenter"]
    else:
        raise ValueError(f"{path}: ESRI ASCII grid header lacks xllcorner/xllcenter")
    if "yllcorner" in header:
        y0 = header["yllcorner"] + 0.5 * dy
    elif "yllcenter" in header:
        y0 = header["yllcenter"]
    else:
        raise ValueError(f"{path}: ESRI ASCII grid header lacks yllcorner/yllcenter")

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
        attrs["nodata"] = _as_nodata(nodata, values.dtype)
    return _make_dataarray(values, y, x, attrs)


# --------------------------------------------------------------------------- #
# GeoTIFF (.tif) through rioxarray
# --------------------------------------------------------------------------- #


def _read_geotiff(path: Path) -> xr.DataArray:
    try:
        import rioxarray
    except ImportError as err:
        raise ImportError(
            f"reading the GeoTIFF {path} needs rioxarray (and rasterio): pip install rioxarray"
        ) from err
    with warnings.catch_warnings():
        # rioxarray multiplies affine transforms with `*` (deprecated in affine 3)
        warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
        return _open_geotiff(path, rioxarray)


def _open_geotiff(path: Path, rioxarray: Any) -> xr.DataArray:
    try:
        opened = rioxarray.open_rasterio(path, masked=False, cache=False)
    except Exception as err:  # rasterio raises its own RasterioIOError etc.
        raise ValueError(f"{path}: cannot read GeoTIFF ({err})") from err
    if not isinstance(opened, xr.DataArray):
        raise ValueError(f"{path}: GeoTIFF with subdatasets is not supported")  # noqa: TRY004
    try:
        if "band" in opened.dims:
            if opened.sizes["band"] != 1:
                raise ValueError(
                    f"{path}: {opened.sizes['band']} bands; only single-band rasters are supported"
                )
            opened = opened.isel(band=0)
        transform = opened.rio.transform()
        if transform.b != 0 or transform.d != 0:
            raise ValueError(f"{path}: rotated GeoTIFF cannot be given 1-D coordinates")
        nodata = opened.rio.nodata
        crs = opened.rio.crs
        try:
            values = np.asarray(opened.values)
        except Exception as err:
            raise ValueError(f"{path}: cannot read GeoTIFF cells ({err})") from err
        y = np.asarray(opened["y"].values)
        x = np.asarray(opened["x"].values)
    finally:
        opened.close()
    attrs: dict[str, Any] = {}
    if nodata is not None:
        attrs["nodata"] = _as_nodata(nodata, values.dtype)
    if crs is not None:
        attrs["crs_wkt"] = crs.to_wkt()
    return _make_dataarray(values, y, x, attrs)


_READERS: dict[str, Callable[[Path], xr.DataArray]] = {
    ".map": _read_csf,
    ".nc": _read_netcdf,
    ".nc4": _read_netcdf,
    ".bin": _read_bil,
    ".bil": _read_bil,
    ".asc": _read_ascii_grid,
    ".tif": _read_geotiff,
    ".tiff": _read_geotiff,
}
