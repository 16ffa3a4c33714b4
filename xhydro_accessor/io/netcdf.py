"""netCDF flow-direction variables (netCDF3 via scipy, netCDF4 via netCDF4 or h5netcdf)."""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import xarray as xr

from ..layout import axis_of
from ._common import as_nodata

# --------------------------------------------------------------------------- #
# netCDF (.nc)
# --------------------------------------------------------------------------- #

NETCDF_SUFFIXES = (".nc", ".nc4")
_NETCDF3_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
#: What the engines raise on a corrupt file (a lying size: MemoryError, OverflowError).
READ_ERRORS = (OSError, ValueError, TypeError, KeyError, IndexError, RuntimeError, MemoryError,
               OverflowError, struct.error)  # fmt: skip
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


def netcdf_engine(path: Path, magic: bytes) -> str:
    import importlib.util

    def have(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    if magic.startswith(b"CDF\x05"):  # CDF5 (64-bit data): scipy cannot read it
        candidates = [("netcdf4", "netCDF4")]
    elif magic.startswith(_NETCDF3_MAGIC):
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


#: netCDF3 (classic, 64-bit offset, CDF5) type codes -> bytes per value
_NC3_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8, 7: 1, 8: 2, 9: 4, 10: 8, 11: 8}


def check_netcdf3_header(path: Path) -> None:
    """Raise ``ValueError`` naming the file when a netCDF3 header contradicts itself.

    Each fixed-size variable's header records its size in bytes (``vsize``); a
    dimension length changed by corruption no longer matches it, and the engines
    would silently read a smaller grid. Counts are checked against the file size
    before anything is read, so a lying header allocates nothing.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        version = f.read(4)[3]
        wide = version == 5  # CDF5: 64-bit counts

        def read(fmt: str) -> tuple:
            chunk = f.read(struct.calcsize(fmt))
            if len(chunk) < struct.calcsize(fmt):
                raise ValueError(f"{path}: truncated netCDF3 header")
            return struct.unpack(fmt, chunk)

        def count() -> int:
            n = read(">Q" if wide else ">I")[0]
            if n > size:
                raise ValueError(f"{path}: corrupt netCDF3 header (a count of {n} in a file of {size} bytes)")
            return n

        def skip(nbytes: int) -> None:  # values padded to 4 bytes
            f.seek((nbytes + 3) // 4 * 4, 1)

        def name() -> str:
            n = count()
            text = f.read(n).decode("utf-8", "replace")
            f.seek((4 - n % 4) % 4, 1)
            return text

        def attributes() -> None:
            read(">I")  # NC_ATTRIBUTE or ABSENT
            for _ in range(count()):
                name()
                nc_type = read(">I")[0]
                skip(count() * _NC3_TYPE_SIZES.get(nc_type, 1))

        count()  # numrecs
        read(">I")  # NC_DIMENSION or ABSENT
        dims = [(name(), count()) for _ in range(count())]
        attributes()
        read(">I")  # NC_VARIABLE or ABSENT
        for _ in range(count()):
            var = name()
            dimids = [count() for _ in range(count())]
            attributes()
            nc_type = read(">I")[0]
            vsize = read(">Q" if wide else ">I")[0]
            f.seek(8 if version > 1 else 4, 1)  # begin
            if any(i >= len(dims) for i in dimids):
                raise ValueError(f"{path}: corrupt netCDF3 header (variable {var!r}: unknown dimension)")
            lengths = [dims[i][1] for i in dimids]
            if lengths[:1] == [0]:  # a record variable: one record's size
                lengths = lengths[1:]
            expected = int(np.prod(lengths, dtype=object)) * _NC3_TYPE_SIZES.get(nc_type, 1)
            if vsize not in ((expected + 3) // 4 * 4, expected, 2**32 - 1):
                raise ValueError(
                    f"{path}: corrupt netCDF3 header: variable {var!r} is {vsize} bytes, but its "
                    f"dimensions {dict((dims[i][0], dims[i][1]) for i in dimids)} give {expected}"
                )


_GLOBAL_HEAP = b"GCOL\x01\x00\x00\x00"  # a global heap collection: version 1, 3 reserved zero bytes
_MIN_COLLECTION = 4096  # HDF5 never writes a smaller one (H5HG_MINSIZE): anything else is raw data


def _align8(n: int) -> int:
    return (n + 7) // 8 * 8


def check_hdf5_global_heaps(path: str | Path, file: BinaryIO | None = None) -> None:
    """Raise ``ValueError`` naming the file when one of its HDF5 global heaps would hang HDF5.

    Variable-length attributes (the ``DIMENSION_LIST`` of every netCDF4 variable,
    string attributes) live in global heap collections. The HDF5 library (1.14 and
    2.x, under netCDF-C, h5py and h5netcdf alike) walks a collection's objects by
    the sizes they record; an object whose size brings the walk back where it is
    (a free-space object of size 0, a size wrapping the pointer) makes it loop
    forever below Python, where no timeout reaches. The collections (signature
    ``GCOL``, version 1) are found by reading the file once, 1 MiB at a time, and
    walked as HDF5 walks them before HDF5 ever sees them. ``file``: an open binary
    file to read instead of ``path`` (its position is restored).

    Examples
    --------
    >>> import io
    >>> superblock = b"\\x89HDF\\r\\n\\x1a\\n" + bytes([0, 0, 0, 0, 0, 8, 8])  # version 0, 8-byte sizes
    >>> heap = bytearray(4096)  # a collection of 4096 bytes at byte 2048: object 1 of 8 bytes...
    >>> heap[:16] = b"GCOL\\x01\\0\\0\\0" + (4096).to_bytes(8, "little")
    >>> heap[16], heap[24] = 1, 8  # ...then zeros: a free-space object of size 0 at byte 2088
    >>> check_hdf5_global_heaps("f.nc", io.BytesIO(superblock.ljust(2048, b"\\0") + heap))
    Traceback (most recent call last):
    ...
    ValueError: f.nc: corrupt HDF5 file: its global heap holds an object of 0 bytes at byte 2088,
    which the HDF5 library would read forever
    """
    if file is None:
        with open(path, "rb") as f:
            return check_hdf5_global_heaps(path, f)
    start = file.tell()
    try:
        _walk_global_heaps(path, file)
    finally:
        file.seek(start)


def _walk_global_heaps(path: str | Path, file: BinaryIO) -> None:
    file.seek(0)
    superblock = file.read(16)
    version = superblock[8] if len(superblock) > 8 else -1
    if version not in (0, 1, 2, 3):
        return  # HDF5 refuses the file itself
    length = superblock[14] if version < 2 else superblock[10]  # bytes of a size ("size of lengths")
    header = _align8(8 + length)  # of the collection, as of each object (H5HG_SIZEOF_HDR, _OBJHDR)
    size = file.seek(0, 2)
    found, offset, tail = [], 0, b""
    while offset < size:
        file.seek(offset)
        block = tail + file.read(1 << 20)
        base = offset - len(tail)
        at = block.find(_GLOBAL_HEAP)
        while at >= 0:
            found.append(base + at)
            at = block.find(_GLOBAL_HEAP, at + 1)
        offset, tail = base + len(block), block[-(len(_GLOBAL_HEAP) - 1) :]
    for where in found:
        file.seek(where + 8)
        collection = int.from_bytes(file.read(length), "little")
        if collection > size - where or collection < _MIN_COLLECTION:
            continue  # HDF5 fails reading it, or these bytes are data that happen to spell GCOL
        file.seek(where)
        heap = file.read(collection)
        at = header
        while at + header <= collection:
            index = int.from_bytes(heap[at : at + 2], "little")
            nbytes = int.from_bytes(heap[at + 8 : at + 8 + length], "little")
            step = (header + _align8(nbytes) if index else nbytes) % 2**64  # C size_t
            if step == 0 or step >= 2**63:  # HDF5 stays in place or moves back
                raise ValueError(
                    f"{path}: corrupt HDF5 file: its global heap holds an object of {nbytes} bytes at "
                    f"byte {where + at}, which the HDF5 library would read forever"
                )
            at += step


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


def _crs_wkt(path: Path, ds: xr.Dataset, da: xr.DataArray) -> str | None:
    """WKT of the variable's CF grid mapping (or its own ``esri_pe_string``), or None."""
    from ..geometry import crs_from_attrs

    grid_mapping = str(da.attrs.get("grid_mapping", "")).split(":")[0]
    attrs = ds[grid_mapping].attrs if grid_mapping in ds.variables else da.attrs
    try:
        crs = crs_from_attrs(attrs)
    except ValueError as err:
        raise ValueError(f"{path}: variable {da.name!r}: {err}") from None
    return None if crs is None else crs.to_wkt()


_CHECKED: ContextVar[dict | None] = ContextVar("checked_netcdf_files", default=None)


def checking_once(function: Callable) -> Callable:
    """``function`` checking each netCDF file once per call (:func:`checked_engine` reads
    the whole of an HDF5 file; a reader may open it several times)."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        token = _CHECKED.set({}) if _CHECKED.get() is None else None
        try:
            return function(*args, **kwargs)
        finally:
            if token is not None:
                _CHECKED.reset(token)

    return call


def checked_engine(path: Path) -> str:
    """The engine reading the netCDF file ``path``, once its header is checked (netCDF3:
    :func:`check_netcdf3_header`; HDF5: :func:`check_hdf5_global_heaps`): once per call
    of a function decorated by :func:`checking_once`."""
    checked = _CHECKED.get()
    if checked is not None and path in checked:
        return checked[path]
    with open(path, "rb") as f:
        magic = f.read(8)
        engine = netcdf_engine(path, magic)
        if magic.startswith(_HDF5_MAGIC):
            check_hdf5_global_heaps(path, f)
    if magic.startswith(_NETCDF3_MAGIC):
        check_netcdf3_header(path)
    if checked is not None:
        checked[path] = engine
    return engine


def read_netcdf(path: Path, variable: str | None = None) -> xr.DataArray:
    engine = checked_engine(path)
    try:
        ds = xr.open_dataset(path, engine=engine, mask_and_scale=False, decode_times=False)
    except READ_ERRORS as err:
        raise ValueError(f"{path}: cannot read netCDF file ({err})") from err
    try:
        name = _select_variable(path, ds, variable)
        try:
            da = ds[name].load()
        except READ_ERRORS as err:
            raise ValueError(f"{path}: cannot read variable {name!r} ({err})") from err
        crs_wkt = _crs_wkt(path, ds, da)
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
    for key in ("grid_mapping", "coordinates", "esri_pe_string"):
        attrs.pop(key, None)

    dims = [str(d) for d in da.dims]
    axes = [axis_of(d, da[d].attrs if d in da.coords else None) for d in dims]
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
    if nodata is not None:
        nodata_arr = np.asarray(nodata).ravel()
        if nodata_arr.size:
            attrs["nodata"] = as_nodata(nodata_arr[0].item(), da.dtype)
    if crs_wkt is not None:
        attrs["crs_wkt"] = str(crs_wkt)
    da.attrs = attrs
    # what open_network needs to restore the file's grid: names, made-up coordinates
    da.encoding = {"source_dims": dict(zip(axes, dims, strict=True))}
    da.encoding["generated_coords"] = generated
    da.name = name
    return da


#: The flow-direction variable a dataset holds and its CRS as WKT (public for
#: :func:`xhydro_accessor.io.networks.open_network`'s lazy reading of zarr and netCDF).
select_variable = _select_variable
crs_wkt = _crs_wkt
