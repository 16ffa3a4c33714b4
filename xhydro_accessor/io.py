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

from .conventions import CONVENTIONS, get_convention
from .errors import NetworkError
from .network import RiverNetwork
from .network_index import FLOW_DIRECTION, decode_network, encode_network

__all__ = ["detect_convention", "network_to_dataset", "open_network", "read_flow_directions", "write_network"]

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
# networks: open (detecting the convention), convert to a Dataset, write
# --------------------------------------------------------------------------- #

#: codes each convention accepts when it is guessed from the values
#: (directions, pits and missing codes); 0 counts as missing in an LDD
_DETECTABLE: dict[str, frozenset[int]] = {
    "ldd": frozenset(range(10)) | {255},
    "esri": frozenset({0, 1, 2, 4, 8, 16, 32, 64, 128, 247, 255}),
    "taudem": frozenset(range(9)) | {255, -32768},
}

#: convention -> (dtype, missing code) of written files
_WRITTEN: dict[str, tuple[type, int]] = {
    "ldd": (np.uint8, 255),
    "esri": (np.uint8, 255),
    "merit": (np.uint8, 247),
    "taudem": (np.int16, -32768),
}

_STEP_NAMES = {
    (0, 1): "east",
    (1, 1): "south_east",
    (1, 0): "south",
    (1, -1): "south_west",
    (0, -1): "west",
    (-1, -1): "north_west",
    (-1, 0): "north",
    (-1, 1): "north_east",
}

_CAMA_OUTLET, _CAMA_MISSING = -9, -9999


def detect_convention(codes: Any, nodata: Any = None, source: str = "the codes") -> str:
    """Guess the flow-direction convention of ``codes`` from their values.

    Only unambiguous values decide: codes 1–9 (with 0 or 255 as missing) are a
    PCRaster ``"ldd"``; powers of two are ESRI D8 (``"esri"``, or ``"merit"``
    when both 247 and 255 occur: MERIT Hydro's missing cells and inland pits);
    1–8 with 0 or −32768 and no 9 are ``"taudem"``.

    Parameters
    ----------
    codes : array-like
        The codes; NaN and the ``nodata`` values are ignored.
    nodata : scalar or sequence, optional
        Values marking missing cells.
    source : str
        Named in the error message (e.g. the file).

    Returns
    -------
    str
        ``"ldd"``, ``"esri"``, ``"merit"`` or ``"taudem"``.

    Raises
    ------
    ValueError
        The values fit no convention, or several: the message lists them and
        asks for ``convention=``.

    Examples
    --------
    >>> import numpy as np
    >>> detect_convention(np.array([[6, 2, 9], [255, 5, 1]]))
    'ldd'
    >>> detect_convention(np.array([[1, 64, 128], [247, 0, 16]]))
    'esri'
    >>> detect_convention(np.array([[1, 2], [4, 8]]), source="dir.asc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: dir.asc: the codes [1, 2, 4, 8] fit several conventions (ldd, esri, taudem); pass ...
    """
    values = _distinct_codes(np.asarray(codes), source)
    values -= {int(v) for v in np.atleast_1d(nodata if nodata is not None else []) if np.isfinite(v)}
    shown = sorted(values)[:12]
    fits = [name for name, allowed in _DETECTABLE.items() if values <= allowed]
    ask = "pass convention='ldd', 'esri', 'merit' or 'taudem'"
    if not fits:
        raise ValueError(f"{source}: the codes {shown} fit no flow-direction convention; {ask}")
    if len(fits) > 1:
        raise ValueError(f"{source}: the codes {shown} fit several conventions ({', '.join(fits)}); {ask}")
    if fits == ["esri"] and 255 in values:
        if 247 not in values:
            raise ValueError(
                f"{source}: ESRI D8 codes with 255, which is missing in ESRI but an inland pit in "
                "MERIT Hydro; pass convention='esri' or convention='merit'"
            )
        return "merit"
    return fits[0]


def _distinct_codes(values: np.ndarray, source: str) -> set[int]:
    if values.dtype.itemsize == 1 and values.dtype.kind in "iu":
        present = np.flatnonzero(np.bincount(values.reshape(-1).view(np.uint8), minlength=256))
        return {int(v) - 256 if values.dtype.kind == "i" and v > 127 else int(v) for v in present}
    unique = np.unique(values)
    if unique.dtype.kind == "f":
        unique = unique[~np.isnan(unique)]
        if (unique != np.round(unique)).any():
            raise ValueError(f"{source}: flow-direction codes must be integers, found {unique[:5].tolist()}")
    elif unique.dtype.kind not in "iu":
        raise ValueError(f"{source}: flow-direction codes must be integers, got dtype {values.dtype}")
    return {int(v) for v in unique}


def open_network(
    path: PathLike,
    convention: str | None = None,
    variable: str | None = None,
    *,
    nodata: Any = None,
    wrap_x: bool = False,
) -> RiverNetwork:
    """Open a flow-direction file as a :class:`~xhydro_accessor.RiverNetwork`.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`read_flow_directions` reads (``.map``, ``.nc``,
        ``.bin`` + ``.hdr``, ``.asc``, ``.tif``), a netCDF file holding
        CaMa-Flood ``nextx`` and ``nexty``, or a CaMa-Flood ``nextxy.bin``
        with its ``params.txt`` beside it.
    convention : {"ldd", "esri", "merit", "taudem", "cama"}, optional
        Default: the file's own ``convention`` attribute (written by
        :func:`write_network` and ``obj.hydro.assign_network``; a CSF map with
        the LDD value scale), else :func:`detect_convention` on the values.
    variable : str, optional
        netCDF only: the flow-direction variable (default: found by its
        attributes or as the only 2-D integer variable).
    nodata : scalar or sequence, optional
        Further codes marking missing cells, beside the file's declared
        nodata. In an LDD, 0 is always missing (LISFLOOD files use it as fill).
    wrap_x : bool, default False
        Flow leaving the east or west edge re-enters on the other side.

    Returns
    -------
    RiverNetwork
        With the file's dims (``y``/``x`` except for netCDF, which keeps its
        own names) and cell-centre coordinates, north up.

    Raises
    ------
    ValueError
        The file is missing, corrupt or truncated, the variable unknown, or the
        convention cannot be told from the values; a
        :class:`~xhydro_accessor.NetworkError` when the codes do not fit the
        convention or contain cycles. Every message names the file.

    Examples
    --------
    >>> from xhydro_accessor.samples import sample_path
    >>> open_network(sample_path())
    <RiverNetwork: 950×1000 grid, 366989 cells, 21029 outlets, 551 levels, dims ('y', 'x')>
    """
    path = Path(path)
    if convention == "cama" or _is_cama_binary(path) or _has_nextxy(path, variable):
        return _open_cama(path, variable)
    codes = read_flow_directions(path, variable)
    extra = [*np.atleast_1d(nodata if nodata is not None else []).tolist()]
    if codes.attrs.get("nodata") is not None:
        extra.append(codes.attrs["nodata"])
    if convention is None:
        convention = codes.attrs.get("convention")
        if convention not in (*CONVENTIONS, "offset"):
            convention = detect_convention(codes.values, extra, str(path))
    if convention == "ldd":
        extra.append(0)
    try:
        if convention == "offset":
            network = decode_network(xr.Variable(("y", "x"), codes.values, {"convention": "offset"}))
        elif convention == "ldd":
            network = RiverNetwork.from_ldd(codes.values, nodata=extra, wrap_x=wrap_x)
        else:
            network = RiverNetwork.from_d8(codes.values, convention, nodata=extra, wrap_x=wrap_x)
    except NetworkError as err:
        raise type(err)(f"{path}: as {convention} flow directions: {err}") from None
    except ValueError as err:  # an unknown convention
        raise ValueError(f"{path}: {err}") from None
    return network.with_grid(*_grid_of_file(codes))


def _grid_of_file(codes: xr.DataArray) -> tuple[tuple[str, str], dict[str, np.ndarray]]:
    """The file's dim names and coordinates (none where the file had none)."""
    names = codes.encoding.get("source_dims", {})
    generated = codes.encoding.get("generated_coords", [])
    dims = (str(names.get("y", "y")), str(names.get("x", "x")))
    coords = {
        name: codes[axis].values for axis, name in zip(("y", "x"), dims, strict=True) if axis not in generated
    }
    return dims, coords


# CaMa-Flood nextxy ---------------------------------------------------------- #


def _is_cama_binary(path: Path) -> bool:
    if path.suffix.lower() != ".bin":
        return False
    return path.name.lower().startswith("nextxy") or (
        (path.parent / "params.txt").is_file() and not path.with_suffix(".hdr").is_file()
    )


def _has_nextxy(path: Path, variable: str | None) -> bool:
    if variable is not None or path.suffix.lower() not in _NETCDF_SUFFIXES or not path.is_file():
        return False
    with open(path, "rb") as f:
        engine = _netcdf_engine(path, f.read(8))
    try:
        with xr.open_dataset(path, engine=engine, decode_cf=False) as ds:
            return {"nextx", "nexty"} <= set(map(str, ds.variables))
    except (OSError, ValueError, TypeError, KeyError, IndexError, struct.error) as err:
        raise ValueError(f"{path}: cannot read netCDF file ({err})") from err


def _open_cama(path: Path, variable: str | None) -> RiverNetwork:
    if path.suffix.lower() in _NETCDF_SUFFIXES:
        nextx, nexty = (_read_netcdf_nextxy(path, name) for name in ("nextx", "nexty"))
        dims, coords = _grid_of_file(nextx)
    elif path.suffix.lower() == ".bin":
        nextx, nexty, coords = _read_cama_binary(path)
        dims = ("y", "x")
    else:
        raise ValueError(f"{path}: CaMa-Flood nextxy is read from a netCDF file or a nextxy.bin")
    try:
        network = RiverNetwork.from_cama(nextx.values, nexty.values)
    except NetworkError as err:
        raise type(err)(f"{path}: as CaMa-Flood nextxy: {err}") from None
    return network.with_grid(dims, coords)


def _read_netcdf_nextxy(path: Path, name: str) -> xr.DataArray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    codes = _read_netcdf(path, name)
    flipped = codes.encoding["flipped"]
    axis = "x" if name == "nextx" else "y"
    if flipped[axis]:  # the reader flipped the grid: renumber the targets
        size = codes.sizes[axis]
        codes = codes.where(codes < 1, size + 1 - codes)
    return codes


def _read_cama_binary(path: Path) -> tuple[xr.DataArray, xr.DataArray, dict[str, np.ndarray]]:
    """``nextxy.bin``: two int32 records (nextx, nexty), north up; ``params.txt`` gives the grid."""
    params = path.parent / "params.txt"
    if not params.is_file():
        raise ValueError(f"{path}: a CaMa-Flood nextxy.bin needs params.txt beside it for its grid")
    try:
        numbers = [float(line.split()[0]) for line in params.read_text().splitlines() if line.split()]
        nx, ny, _layers, size, west, _east, north, _south = numbers[:8]
    except ValueError:
        raise ValueError(f"{params}: not a CaMa-Flood params.txt (8 numbers, one a line)") from None
    nx, ny = _count(nx, params, "nx"), _count(ny, params, "ny")
    data = _read_bytes(path)
    if len(data) < 8 * nx * ny:
        raise ValueError(
            f"{path}: truncated CaMa-Flood nextxy: {ny}x{nx} cells need {8 * nx * ny} bytes, "
            f"found {len(data)}"
        )
    values = np.frombuffer(data, "<i4", count=2 * nx * ny).reshape(2, ny, nx)
    if not ((values[0] <= nx) & (values[0] >= _CAMA_MISSING)).all():  # not little-endian
        values = values.byteswap()
    x = west + (np.arange(nx) + 0.5) * size
    y = north - (np.arange(ny) + 0.5) * size
    nextx, nexty = (xr.DataArray(v.astype(np.int32), dims=("y", "x")) for v in values)
    return nextx, nexty, {"y": y, "x": x}


# writing -------------------------------------------------------------------- #


def network_to_dataset(network: RiverNetwork, convention: str | None = None) -> xr.Dataset:
    """The network as a CF Dataset, the codes a ``flow_direction`` coordinate.

    Parameters
    ----------
    network : RiverNetwork
        A raster network.
    convention : {"ldd", "esri", "merit", "taudem", "cama"}, optional
        Default: PCRaster ``"ldd"`` codes when every cell drains into a
        neighbour, else the ``"offset"`` encoding of
        :mod:`xhydro_accessor.network_index`. ``"cama"`` writes data variables
        ``nextx`` and ``nexty`` (1-based, −9 outlet, −9999 missing) instead.

    Returns
    -------
    xarray.Dataset
        The network's dims and coordinates (``y``/``x`` when it has none),
        and ``flow_direction`` with ``hydro_role: flow_direction``,
        ``convention``, ``flag_values``, ``flag_meanings`` and the missing code
        as ``encoding["_FillValue"]``. Outlets are written as pits (TauDEM,
        which has none, points them off the grid or into a missing cell).
        ``xr.open_dataset`` of the written file gives ``ds.hydro.network``.

    Raises
    ------
    ValueError
        The convention cannot express the network: cells draining to a cell
        that is not a neighbour (CaMa-Flood or ``wrap_x`` networks: use
        ``"cama"``), or TauDEM pits with no way off the network.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5], [8, 255]]))
    >>> ds = network_to_dataset(net, "esri")
    >>> ds.flow_direction.values
    array([[  1,   0],
           [ 64, 255]], dtype=uint8)
    >>> ds.flow_direction.attrs["flag_meanings"]
    'pit east south_east south south_west west north_west north north_east'
    >>> ds.hydro.network == net.with_grid(("y", "x"), {})
    True
    """
    if len(network.shape) != 2:
        raise NotImplementedError("writing vector networks is not supported yet")
    dims = tuple(network.dims or ("y", "x"))
    coords = {d: xr.Variable(d, network.coords[d], _axis_attrs(str(d), axis))
              for d, axis in zip(dims, "YX", strict=True) if d in network.coords}  # fmt: skip
    if convention == "cama":
        return xr.Dataset(_cama_variables(network, dims), coords=coords)
    if convention is None:
        variable = encode_network(network, dims)
        if variable.attrs["convention"] == "ldd":
            variable.encoding["_FillValue"] = np.uint8(255)
    else:
        variable = _d8_variable(network, dims, convention)
    return xr.Dataset(coords={**coords, FLOW_DIRECTION: variable})


def write_network(network: RiverNetwork, path: PathLike, convention: str | None = None) -> Path:
    """Write the network to a netCDF file that :func:`open_network` reads back equal.

    Parameters
    ----------
    network : RiverNetwork
    path : str or os.PathLike
        The netCDF file to write (``.nc``).
    convention : str, optional
        As in :func:`network_to_dataset`.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5], [8, 255]]))
    >>> path = write_network(net, pathlib.Path(tempfile.mkdtemp()) / "net.nc", "taudem")
    >>> open_network(path) == net.with_grid(("y", "x"), {})
    True
    """
    path = Path(path)
    if path.suffix.lower() not in _NETCDF_SUFFIXES:
        raise ValueError(f"{path}: networks are written to netCDF (.nc); got suffix {path.suffix!r}")
    network_to_dataset(network, convention).to_netcdf(path)
    return path


def _axis_attrs(name: str, axis: str) -> dict[str, str]:
    attrs = {"axis": axis}
    if name.lower() in ("lat", "latitude", "lon", "longitude"):
        attrs["units"] = "degrees_north" if axis == "Y" else "degrees_east"
    return attrs


def _steps(network: RiverNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat downstream index, row step and column step of every grid cell."""
    down = network.downstream_grid().reshape(-1)
    nx = network.shape[1]
    here = np.arange(down.size)
    on = down >= 0
    dy = np.zeros(down.size, np.int64)
    dx = np.zeros(down.size, np.int64)
    dy[on] = down[on] // nx - here[on] // nx
    dx[on] = down[on] % nx - here[on] % nx
    return down, dy, dx


def _d8_variable(network: RiverNetwork, dims: tuple, convention: str) -> xr.Variable:
    if convention not in _WRITTEN:
        raise ValueError(f"unknown convention {convention!r}; choose one of {sorted(_WRITTEN)} or 'cama'")
    conv = get_convention(convention)
    down, dy, dx = _steps(network)
    far = (np.abs(dy) > 1) | (np.abs(dx) > 1)
    if far.any():
        raise ValueError(
            f"{int(far.sum())} cells drain to a cell that is not a neighbour (a CaMa-Flood or "
            f"wrap_x network), which {convention} codes cannot express: use convention='cama'"
        )
    dtype, missing = _WRITTEN[convention]
    codes = np.full(down.size, missing, dtype)
    for code, step in conv.directions.items():
        codes[(down >= 0) & (dy == step[0]) & (dx == step[1])] = code
    outlets = np.flatnonzero(down == -1)
    if conv.pits:
        pit = min(conv.pits)
        codes[outlets] = pit
        values, meanings = [pit], ["pit"]
    else:
        codes[outlets] = _codes_off_network(network, outlets, conv)
        values, meanings = [], []
    values += list(conv.directions)
    meanings += [_STEP_NAMES[step] for step in conv.directions.values()]
    attrs = {
        "hydro_role": "flow_direction",
        "convention": convention,
        "long_name": "river network flow direction",
        "flag_values": np.array(values, dtype),
        "flag_meanings": " ".join(meanings),
    }
    return xr.Variable(dims, codes.reshape(network.shape), attrs, encoding={"_FillValue": dtype(missing)})


def _codes_off_network(network: RiverNetwork, outlets: np.ndarray, conv: Any) -> np.ndarray:
    """For each outlet, a direction code leading off the grid or into a missing cell."""
    ny, nx = network.shape
    rows, cols = np.divmod(outlets, nx)
    codes = np.zeros(outlets.size, np.int64)
    found = np.zeros(outlets.size, bool)
    mask = np.pad(network.mask, 1)  # False around the grid
    for code, (sy, sx) in conv.directions.items():
        leaves = ~found & ~mask[rows + 1 + sy, cols + 1 + sx]
        codes[leaves] = code
        found |= leaves
    if not found.all():
        first = outlets[~found][0]
        raise ValueError(
            f"{int((~found).sum())} outlets are surrounded by network cells, which {conv.name} codes "
            f"(no pit code) cannot express; first at (row, col) {divmod(int(first), nx)}"
        )
    return codes


def _cama_variables(network: RiverNetwork, dims: tuple) -> dict[str, xr.Variable]:
    down = network.downstream_grid()
    nx = network.shape[1]
    nextx = np.where(down >= 0, down % nx + 1, _CAMA_OUTLET).astype(np.int32)
    nexty = np.where(down >= 0, down // nx + 1, _CAMA_OUTLET).astype(np.int32)
    nextx[down == -2] = nexty[down == -2] = _CAMA_MISSING
    comment = "1-based column and row of the downstream cell; -9: outlet; -9999: not on the network"
    return {
        name: xr.Variable(
            dims,
            values,
            {"long_name": f"{axis} index of the downstream cell", "convention": "cama", "comment": comment},
            encoding={"_FillValue": np.int32(_CAMA_MISSING)},
        )
        for name, axis, values in (("nextx", "column", nextx), ("nexty", "row", nexty))
    }


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
    # a network attached as a coordinate (obj.hydro.assign_network, write_network)
    two_d |= {
        str(k): v
        for k, v in ds.coords.items()
        if v.ndim == 2 and v.attrs.get("hydro_role") == "flow_direction"
    }
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
    generated = [axis for axis in ("y", "x") if axis not in da.coords]
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
    # north-up, west-to-east; not a network coordinate: its codes are steps on the stored grid
    flipped = {"y": False, "x": False}
    if attrs.get("hydro_role") != "flow_direction":
        flipped["y"] = da.sizes["y"] > 1 and bool(da["y"].values[1] > da["y"].values[0])
        flipped["x"] = da.sizes["x"] > 1 and bool(da["x"].values[1] < da["x"].values[0])
    da = da.isel({axis: slice(None, None, -1) for axis, flip in flipped.items() if flip})

    if nodata is not None:
        nodata_arr = np.asarray(nodata).ravel()
        if nodata_arr.size:
            attrs["nodata"] = _as_nodata(nodata_arr[0].item(), da.dtype)
    if crs_wkt is not None:
        attrs["crs_wkt"] = str(crs_wkt)
    da.attrs = attrs
    # what open_network needs to restore the file's grid: names, flips, made-up coordinates
    da.encoding = {"source_dims": dict(zip(axes, dims, strict=True)), "flipped": flipped}
    da.encoding["generated_coords"] = generated
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
