"""Networks from files and back: open (detecting the convention), to a Dataset, write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..conventions import CONVENTIONS, Convention, get_convention
from ..errors import NetworkError
from ..layout import layout_of_network
from ..network import RiverNetwork, d8_convention
from ..network_codec import FLOW_DIRECTION, decode_network, encode_network, network_steps
from ._common import PathLike, check_georeference, header_count, read_bytes
from .netcdf import NETCDF_SUFFIXES, READ_ERRORS, checked_engine, checking_once, read_netcdf
from .read import read_flow_directions
from .safe_write import write_netcdf

# --------------------------------------------------------------------------- #
# networks: open (detecting the convention), convert to a Dataset, write
# --------------------------------------------------------------------------- #

_CAMA_OUTLET, _CAMA_MISSING = -9, -9999


def detect_convention(codes: Any, nodata: Any = None, source: str = "the codes") -> str:
    """Guess the flow-direction convention of ``codes`` from their values.

    Each registered convention's detection rule (:mod:`xhydro_accessor.conventions`)
    says whether the distinct values fit it: codes 1–9 (with 0 or 255 as missing)
    are a PCRaster ``"ldd"``; powers of two are ESRI D8 (``"esri"``, or ``"merit"``
    when both 247 and 255 occur: MERIT Hydro's missing cells and inland pits;
    ``"whitebox"`` when WhiteboxTools' −32768 fill is found or declared); 1–8 with
    0 or −32768 and no 9 are ``"taudem"``; −8…8 with a negative code ``"grass"``.
    Several fitting conventions that read every present value the same (ESRI and
    MERIT without a 255) give the first registered; otherwise the values are
    ambiguous and the error lists the fits.

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
        The name of a registered convention.

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
    ValueError: dir.asc: the codes [1, 2, 4, 8] fit several conventions (ldd, esri, taudem, grass) ...
    """
    codes = np.asarray(codes)
    declared = [float(v) for v in np.atleast_1d(nodata if nodata is not None else [])]
    if codes.dtype.kind == "f" and declared:  # a float nodata (2.5, -3.4e38) is no code
        codes = codes[~np.isin(codes, declared)]
    values = _distinct_codes(codes, source)
    values -= {int(v) for v in declared if np.isfinite(v) and v.is_integer()}
    shown = sorted(values)[:12]
    nodata_codes = frozenset(int(v) for v in declared if np.isfinite(v) and v.is_integer())
    found = frozenset(values)
    fits = [c for c in CONVENTIONS.values() if c.detect is not None and c.detect(found, nodata_codes)]
    if not fits:
        named = " or ".join(f"convention={n!r}" for n, c in CONVENTIONS.items() if c.kind == "d8")
        raise ValueError(f"{source}: the codes {shown} fit no flow-direction convention; pass {named}")
    readings: dict[tuple, Convention] = {}  # the first fit of each reading of the values
    for conv in fits:
        readings.setdefault(tuple(conv.meaning(v) for v in sorted(values)), conv)
    if len(readings) > 1:  # the fits read some value differently
        fits = list(readings.values())
        raise ValueError(
            f"{source}: the codes {shown} fit several conventions ({', '.join(c.name for c in fits)}) "
            f"that read them differently; pass {' or '.join(f'convention={c.name!r}' for c in fits)}"
        )
    return fits[0].name


def _distinct_codes(values: np.ndarray, source: str) -> set[int]:
    block = 1 << 20  # a block of cells at a time: a sort or bincount copies (intp: 8 bytes a cell)
    flat = values.reshape(-1)
    if values.dtype.itemsize == 1 and values.dtype.kind in "iu":
        counts = np.zeros(256, np.int64)
        for start in range(0, flat.size, block):
            counts += np.bincount(flat[start : start + block].view(np.uint8), minlength=256)
        present = np.flatnonzero(counts)
        return {int(v) - 256 if values.dtype.kind == "i" and v > 127 else int(v) for v in present}
    parts = [np.unique(flat[start : start + block]) for start in range(0, flat.size, block)]
    unique = np.unique(np.concatenate(parts or [flat]))
    if unique.dtype.kind == "f":
        unique = unique[~np.isnan(unique)]
        if (unique != np.round(unique)).any():
            raise ValueError(f"{source}: flow-direction codes must be integers, found {unique[:5].tolist()}")
    elif unique.dtype.kind not in "iu":
        raise ValueError(f"{source}: flow-direction codes must be integers, got dtype {values.dtype}")
    return {int(v) for v in unique}


@checking_once
def open_network(
    path: PathLike,
    convention: str | Convention | None = None,
    variable: str | None = None,
    *,
    nodata: Any = None,
    wrap_x: bool = False,
    crs: Any = None,
    chunks: Any = None,
) -> RiverNetwork:
    """Open a flow-direction file as a :class:`~xhydro_accessor.RiverNetwork`.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`read_flow_directions` reads (``.map``, ``.nc``,
        ``.bin`` + ``.hdr``, ``.asc``, ``.tif``), a netCDF file holding
        CaMa-Flood ``nextx`` and ``nexty``, or a CaMa-Flood ``nextxy.bin``
        with its ``params.txt`` beside it, or a zarr store (read as netCDF
        files are).
    convention : str or Convention, optional
        A registered name (``"ldd"``, ``"esri"``, ``"merit"``, ``"taudem"``,
        ``"grass"``, ``"whitebox"``, ``"cama"``, ``"offset"``, or your own) or a
        :class:`~xhydro_accessor.Convention`. Default: the file's own
        ``convention`` attribute (written by
        :func:`write_network` and ``obj.hydro.assign_network``; a CSF map with
        the LDD value scale), else :func:`detect_convention` on the values.
    variable : str, optional
        netCDF only: the flow-direction variable (default: found by its
        attributes or as the only 2-D integer variable).
    nodata : scalar or sequence, optional
        Further codes marking missing cells, beside the file's declared
        nodata. A convention's ``file_missing`` codes are too (an LDD's 0: the
        LISFLOOD fill).
    wrap_x : bool, default False
        Flow leaving the east or west edge re-enters on the other side.
    crs : pyproj.CRS, str or int, optional
        The grid's coordinate reference system, for files that hold none (CSF
        maps, ESRI ASCII grids or BIL rasters without a ``.prj``) or to override
        the file's. Default: the file's (see :func:`read_flow_directions`).
    chunks : int, tuple or dict, optional
        Tiles (as ``DataArray.chunk`` takes them, over dims ``y``/``x``): the network
        is built tile by tile, a :class:`~xhydro_accessor.tiling.TiledNetwork` for
        spatially chunked fields: from a zarr store or a netCDF file each tile's task
        reads its window of codes, which are never held whole (other formats are read
        whole first, one byte per cell; the topology never is). D8 codes only.

    Returns
    -------
    RiverNetwork
        With the file's dims (``y``/``x`` except for netCDF, which keeps its
        own names), cell-centre coordinates, rows as stored in the file
        (a south-up netCDF stays south-up, so fields from the same file align;
        the codes are read by the coordinates, see
        :meth:`~xhydro_accessor.RiverNetwork.from_ldd`), and CRS
        (:attr:`RiverNetwork.crs`, None when the file holds none). A file
        without coordinates is read north up: row 0 is its first row.

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
    conv: Convention | None = None
    if convention is not None:
        try:
            conv = get_convention(convention)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
    kind = None if conv is None else conv.kind
    if kind == "nextxy" or _is_cama_binary(path) or _has_nextxy(path, variable):
        network = _open_cama(path, variable)
        return network if crs is None else network.with_grid(network.dims, network.coords, crs=crs)
    if isinstance(chunks, tuple | list):  # (rows, columns): by name (xarray deprecates tuples)
        chunks = dict(zip(("y", "x"), chunks, strict=True))
    if _is_zarr(path) or (chunks is not None and path.suffix.lower() in NETCDF_SUFFIXES):
        codes = _open_lazily(path, variable, chunks)  # the tiles read the codes: never held whole
    else:
        codes = read_flow_directions(path, variable)
    extra = [*np.atleast_1d(nodata if nodata is not None else []).tolist()]
    if codes.attrs.get("nodata") is not None:
        extra.append(codes.attrs["nodata"])
    if conv is None:  # the file's own (an unknown one raises: never guessed over), else detected
        said = codes.attrs.get("convention") or detect_convention(
            _distinct(codes.data, path), extra, str(path)
        )
        try:
            conv = get_convention(said)
        except ValueError as err:
            raise ValueError(f"{path}: the file's convention attribute: {err}") from None
    extra += conv.file_missing
    # rows as stored; the orientation from the file's own coordinates (none: row 0 is north)
    # (a CSF map with y growing downwards: its codes name steps on the grid, row 0 up)
    unused = codes.encoding.get("generated_coords", []) + (["y", "x"] if codes.encoding.get("y_down") else [])
    grid = codes.drop_vars(unused)
    try:
        if conv.kind == "offset":
            network = decode_network(grid.assign_attrs(convention="offset"))
        else:
            grid = grid if chunks is None else grid.chunk(chunks)
            network = RiverNetwork.from_d8(grid, conv, nodata=extra, wrap_x=wrap_x)
    except NetworkError as err:
        raise type(err)(f"{path}: as {conv.name} flow directions: {err}") from None
    except ValueError as err:  # an unknown convention
        raise ValueError(f"{path}: {err}") from None
    except (OSError, RuntimeError) as err:  # the tiles reading a damaged file (chunks=)
        raise ValueError(f"{path}: cannot read the flow directions ({err})") from err
    dims, coords, crs, degrees = _grid_of_file(codes, crs)
    return network.with_grid(dims, coords, crs=crs, degrees=degrees)


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and (
        path.suffix.lower() == ".zarr"
        or any((path / f).is_file() for f in ("zarr.json", ".zgroup", ".zarray"))
    )


def _open_lazily(path: Path, variable: str | None, chunks: Any) -> xr.DataArray:
    """A zarr store's or netCDF file's flow directions as :func:`read_flow_directions` gives
    them (dims ``y``/``x``, the file's nodata, CRS and dim names), but not read: chunked by
    ``chunks``, each chunk a task reading its window of the file (``chunks=None``: read
    when used)."""
    from ..layout import axis_of
    from ._common import as_nodata
    from .netcdf import crs_wkt, select_variable

    if not path.is_dir():
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        engine = checked_engine(path)  # its header checked (netCDF3, HDF5's global heaps) as read_netcdf does
    try:
        if path.is_dir():
            ds = xr.open_zarr(path, chunks=None, mask_and_scale=False, decode_times=False)
        else:
            ds = xr.open_dataset(path, engine=engine, chunks=None, mask_and_scale=False, decode_times=False)
    except READ_ERRORS as err:
        raise ValueError(f"{path}: cannot read ({err})") from err
    name = select_variable(path, ds, variable)
    codes = ds[name]
    attrs = {
        k: v for k, v in codes.attrs.items() if k not in ("grid_mapping", "coordinates", "esri_pe_string")
    }
    if "scale_factor" in attrs or "add_offset" in attrs:  # packed: decoded (lazily)
        codes = xr.decode_cf(codes.to_dataset(name=name))[name]
        attrs = dict(codes.attrs)
    nodata = attrs.pop("_FillValue", attrs.pop("missing_value", None))
    if nodata is not None:
        attrs["nodata"] = as_nodata(np.ravel(nodata)[0].item(), codes.dtype)
    if (wkt := crs_wkt(path, ds, codes)) is not None:
        attrs["crs_wkt"] = wkt
    dims = [str(d) for d in codes.dims]
    axes = [axis_of(d, codes[d].attrs if d in codes.coords else None) for d in dims]
    if axes[0] == axes[1]:
        axes = [None, None]  # ambiguous: (row, column) order
    if axes.count(None) == 1:
        axes[axes.index(None)] = "y" if "x" in axes else "x"
    elif axes.count(None) == 2:
        axes = ["y", "x"]
    codes = codes.rename(dict(zip(dims, axes, strict=True))).transpose("y", "x")
    codes = codes.drop_vars([c for c in codes.coords if c not in ("y", "x")])
    generated = [axis for axis in ("y", "x") if axis not in codes.coords]
    for axis in ("y", "x"):
        values = np.asarray(codes[axis].values if axis in codes.coords else np.arange(codes.sizes[axis]))
        if not np.issubdtype(values.dtype, np.number):
            raise ValueError(f"{path}: coordinate {axis!r} is not numeric")
        kept = {} if axis in generated else codes[axis].attrs
        kept = {k: v for k, v in kept.items() if k not in ("_FillValue", "missing_value")}
        codes = codes.assign_coords({axis: (axis, values.astype(np.float64), kept)})
    codes = codes if chunks is None else codes.chunk(chunks)
    codes.attrs = attrs
    codes.encoding = {"source_dims": dict(zip(axes, dims, strict=True)), "generated_coords": generated}
    return codes


def _distinct(codes: Any, path: Path) -> Any:
    """The values of ``codes``, or of a dask array the distinct values, chunk by chunk."""
    if not type(codes).__module__.startswith("dask."):
        return np.asarray(codes)
    import dask

    def distinct(block: np.ndarray) -> np.ndarray:
        if block.dtype.itemsize == 1 and block.dtype.kind in "iu":  # a count per byte value
            counts = np.bincount(block.view(np.uint8).ravel(), minlength=256)
            return np.flatnonzero(counts).astype(np.uint8).view(block.dtype)
        return np.unique(block)

    try:
        parts = dask.compute(*[dask.delayed(distinct)(b) for b in codes.to_delayed().ravel()])
    except (OSError, RuntimeError) as err:  # a damaged chunk
        raise ValueError(f"{path}: cannot read the flow directions ({err})") from err
    return np.unique(np.concatenate(parts))


def _grid_of_file(codes: xr.DataArray, crs: Any = None) -> tuple[tuple[str, str], dict, Any, bool]:
    """The file's dim names and coordinates (none where the file had none), then CRS and degrees flag."""
    from ..geometry import as_crs, says_degrees

    names = codes.encoding.get("source_dims", {})
    generated = codes.encoding.get("generated_coords", [])
    dims = (str(names.get("y", "y")), str(names.get("x", "x")))
    coords = {
        name: codes[axis].values for axis, name in zip(("y", "x"), dims, strict=True) if axis not in generated
    }
    try:
        crs = as_crs(crs if crs is not None else codes.attrs.get("crs_wkt"))
    except ValueError as err:
        raise ValueError(f"{codes.attrs.get('source_file', 'the file')}: {err}") from None
    degrees = not generated and all(
        says_degrees(name, codes[axis].attrs, axis) for axis, name in zip(("y", "x"), dims, strict=True)
    )
    return dims, coords, crs, degrees


# CaMa-Flood nextxy ---------------------------------------------------------- #


def _is_cama_binary(path: Path) -> bool:
    if path.suffix.lower() != ".bin":
        return False
    return path.name.lower().startswith("nextxy") or (
        (path.parent / "params.txt").is_file() and not path.with_suffix(".hdr").is_file()
    )


def _has_nextxy(path: Path, variable: str | None) -> bool:
    if variable is not None or path.suffix.lower() not in NETCDF_SUFFIXES or not path.is_file():
        return False
    engine = checked_engine(path)
    try:
        with xr.open_dataset(path, engine=engine, decode_cf=False) as ds:
            return {"nextx", "nexty"} <= set(map(str, ds.variables))
    except READ_ERRORS as err:
        raise ValueError(f"{path}: cannot read netCDF file ({err})") from err


def _open_cama(path: Path, variable: str | None) -> RiverNetwork:
    if path.suffix.lower() in NETCDF_SUFFIXES:
        nextx, nexty = (_read_netcdf_nextxy(path, name) for name in ("nextx", "nexty"))
        dims, coords, crs, degrees = _grid_of_file(nextx)
    elif path.suffix.lower() == ".bin":
        nextx, nexty, coords = _read_cama_binary(path)
        dims, crs, degrees = ("y", "x"), None, True  # params.txt: lon/lat degrees
    else:
        raise ValueError(f"{path}: CaMa-Flood nextxy is read from a netCDF file or a nextxy.bin")
    try:
        network = RiverNetwork.from_cama(nextx.values, nexty.values)
    except NetworkError as err:
        raise type(err)(f"{path}: as CaMa-Flood nextxy: {err}") from None
    return network.with_grid(dims, coords, crs=crs, degrees=degrees)


def _read_netcdf_nextxy(path: Path, name: str) -> xr.DataArray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return read_netcdf(path, name)


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
    nx, ny = header_count(nx, params, "nx"), header_count(ny, params, "ny")
    check_georeference(params, {"west": west, "north": north}, {"gsize": size})
    found = path.stat().st_size  # checked before reading: a lying params.txt allocates nothing
    if found != 8 * nx * ny:
        raise ValueError(
            f"{path}: {'truncated' if found < 8 * nx * ny else 'corrupt'} CaMa-Flood nextxy: {ny}x{nx} "
            f"cells (nx, ny in {params.name}) need {8 * nx * ny} bytes, found {found}"
        )
    data = read_bytes(path)
    values = np.frombuffer(data, "<i4", count=2 * nx * ny).reshape(2, ny, nx)
    if not ((values[0] <= nx) & (values[0] >= _CAMA_MISSING)).all():  # not little-endian
        values = values.byteswap()
    x = west + (np.arange(nx) + 0.5) * size
    y = north - (np.arange(ny) + 0.5) * size
    nextx, nexty = (xr.DataArray(v.astype(np.int32), dims=("y", "x")) for v in values)
    return nextx, nexty, {"y": y, "x": x}


# writing -------------------------------------------------------------------- #


def network_to_dataset(network: RiverNetwork, convention: str | Convention | None = None) -> xr.Dataset:
    """The network as a CF Dataset, the codes a ``flow_direction`` coordinate.

    Parameters
    ----------
    network : RiverNetwork
        A raster network.
    convention : str or Convention, optional
        A registered code table (``"ldd"``, ``"esri"``, ``"merit"``,
        ``"taudem"``, ``"grass"``, ``"whitebox"``, your own) or a
        :class:`~xhydro_accessor.Convention`, written in its dtype with its
        missing code. Default: PCRaster ``"ldd"`` codes when every cell drains
        into a neighbour, else the ``"offset"`` encoding of
        :mod:`xhydro_accessor.network_codec`. ``"cama"`` writes data variables
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
    transposed = layout_of_network(network, dims).transposed
    coords = {d: xr.Variable(d, network.coords[d], _axis_attrs(network, str(d), axis))
              for d, axis in zip(dims, "XY" if transposed else "YX", strict=True)
              if d in network.coords}  # fmt: skip
    if network.crs is not None:  # a CF grid mapping, as GDAL, rioxarray and cf-xarray read it
        from ..geometry import crs_to_cf

        coords[_GRID_MAPPING] = xr.Variable((), np.int32(0), crs_to_cf(network.crs))
    conv = None if convention is None else _writable(convention)
    if conv is not None and conv.kind == "nextxy":
        variables = _cama_variables(network, dims, transposed)
        for variable in variables.values():
            _set_grid_mapping(network, variable)
        return xr.Dataset(variables, coords=coords)
    if conv is None:
        variable = encode_network(network, dims)
        written = get_convention(variable.attrs["convention"])
        if written.fill is not None:
            variable.encoding["_FillValue"] = written.dtype(written.fill)
    else:
        variable = _d8_variable(network, dims, conv)
    _set_grid_mapping(network, variable)
    return xr.Dataset(coords={**coords, FLOW_DIRECTION: variable})


#: name of the written CF grid-mapping variable (rioxarray's default)
_GRID_MAPPING = "spatial_ref"


def _set_grid_mapping(network: RiverNetwork, variable: xr.Variable) -> None:
    if network.crs is not None:
        variable.attrs.pop("crs_wkt", None)  # the grid-mapping variable holds it
        variable.attrs["grid_mapping"] = _GRID_MAPPING


def write_network(
    network: RiverNetwork, path: PathLike, convention: str | None = None, *, overwrite: bool = False
) -> Path:
    """Write the network to a netCDF file that :func:`open_network` reads back equal.

    The file is written under a temporary name beside ``path`` and renamed on
    success only (see :mod:`xhydro_accessor.io.safe_write`).

    Parameters
    ----------
    network : RiverNetwork
    path : str or os.PathLike
        The netCDF file to write (``.nc``).
    convention : str, optional
        As in :func:`network_to_dataset`.
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.

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
    if path.suffix.lower() not in NETCDF_SUFFIXES:
        raise ValueError(f"{path}: networks are written to netCDF (.nc); got suffix {path.suffix!r}")
    return write_netcdf(network_to_dataset(network, convention), path, overwrite=overwrite)


def _axis_attrs(network: RiverNetwork, name: str, axis: str) -> dict[str, str]:
    """CF attributes of a grid coordinate: units and standard name from the CRS (or the dim name)."""
    from ..geometry import names_say_degrees

    attrs = {"axis": axis}
    crs = network.crs
    degrees = network.degrees or names_say_degrees(network.dims or ())
    geographic = crs.is_geographic if crs is not None else degrees
    if geographic:
        attrs["units"] = "degrees_north" if axis == "Y" else "degrees_east"
        attrs["standard_name"] = "latitude" if axis == "Y" else "longitude"
    elif crs is not None and crs.is_projected:
        unit = crs.axis_info[0].unit_name
        attrs["units"] = "m" if unit in ("metre", "meter") else unit
        attrs["standard_name"] = f"projection_{axis.lower()}_coordinate"
    return attrs


def _writable(convention: str | Convention) -> Convention:
    try:
        conv = get_convention(convention)
    except ValueError:
        raise ValueError(f"unknown convention {convention!r}; choose one of {list(CONVENTIONS)}") from None
    if conv.kind in ("offset", "downstream_id"):
        raise ValueError(f"{conv.name} is written when needed (convention=None); pass a code table or 'cama'")
    return conv


def _d8_variable(network: RiverNetwork, dims: tuple, convention: str | Convention) -> xr.Variable:
    conv = d8_convention(convention)
    layout = layout_of_network(network, dims)
    nodes, dy, dx = network_steps(network, layout)
    far = (np.abs(dy) > 1) | (np.abs(dx) > 1)
    if far.any():
        raise ValueError(
            f"{int(far.sum())} cells drain to a cell that is not a neighbour (a CaMa-Flood or "
            f"wrap_x network), which {conv.name} codes cannot express: use convention='cama'"
        )
    dtype, missing = conv.dtype, conv.fill
    codes = np.full(int(np.prod(network.shape)), missing, dtype)
    flows = network.downstream >= 0
    for code, step in conv.directions.items():
        codes[nodes[flows & (dy == step[0]) & (dx == step[1])]] = code
    outlets = np.sort(nodes[~flows])
    if conv.pits:
        codes[outlets] = conv.pits[0]
    else:
        codes[outlets] = _codes_off_network(network, outlets, layout.orient(conv))
    values, meanings = conv.flags()
    attrs = {
        "hydro_role": "flow_direction",
        "convention": conv.name,
        "long_name": "river network flow direction",
        "flag_values": np.array(values, dtype),
        "flag_meanings": " ".join(meanings),
    }
    return xr.Variable(dims, codes.reshape(network.shape), attrs, encoding={"_FillValue": dtype(missing)})


def _codes_off_network(network: RiverNetwork, outlets: np.ndarray, conv: Any) -> np.ndarray:
    """For each outlet, a direction code leading off the grid or into a missing cell.

    ``conv`` has its steps on the stored axes (:meth:`~xhydro_accessor.layout.Layout.orient`).
    """
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


def _cama_variables(network: RiverNetwork, dims: tuple, transposed: bool = False) -> dict[str, xr.Variable]:
    down = network.downstream_grid()
    index0, index1 = np.divmod(down, network.shape[1])
    x_index, y_index = (index0, index1) if transposed else (index1, index0)  # an x-first grid
    nextx = np.where(down >= 0, x_index + 1, _CAMA_OUTLET).astype(np.int32)
    nexty = np.where(down >= 0, y_index + 1, _CAMA_OUTLET).astype(np.int32)
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
