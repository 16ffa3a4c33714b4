"""Writing files without destroying any: never over an input, never over an existing file
unless asked, and through a temporary file renamed into place on success only.

An interrupted or failed write (Ctrl-C in the middle of a chunked dask job, a full
disk, an error in the computation) leaves the previous file, if any, as it was and
no partial output beside it.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from ..network_codec import with_grid_mapping
from ._common import PathLike


def check_output(path: PathLike, inputs: Iterable[PathLike] = (), overwrite: bool = False) -> Path:
    """Raise unless ``path`` may be written: not one of ``inputs`` (links resolved), and
    not an existing file unless ``overwrite``.

    Returns
    -------
    pathlib.Path
        ``path`` with symbolic links resolved: the file that will be written.

    Raises
    ------
    ValueError
        ``path`` is one of ``inputs`` (even through a link), whatever ``overwrite`` says.
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    IsADirectoryError, FileNotFoundError
        ``path`` is a directory, or its directory does not exist.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> runoff = pathlib.Path(tempfile.mkdtemp()) / "runoff.nc"
    >>> _ = runoff.write_bytes(b"CDF")
    >>> check_output(runoff, inputs=[runoff], overwrite=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../runoff.nc: the output is an input file; choose another output path
    >>> check_output(runoff)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: .../runoff.nc: exists; pass overwrite=True (--overwrite) to replace it
    """
    path = Path(path)
    target = path.resolve()
    for source in inputs:
        if Path(source).exists() and target.exists() and os.path.samefile(source, target):
            raise ValueError(f"{path}: the output is an input file; choose another output path")
    if target.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not a file")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists; pass overwrite=True (--overwrite) to replace it")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{path}: no such directory {target.parent}")
    return target


@contextmanager
def safe_output(path: PathLike, inputs: Iterable[PathLike] = (), overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on success it replaces ``path``.

    :func:`check_output` runs first. The temporary file (hidden, same suffix, in the
    target's folder so the rename is atomic) is removed if the block raises or is
    interrupted, and the previous ``path``, if any, stays untouched.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "labels.txt"
    >>> with safe_output(out) as tmp:
    ...     _ = tmp.write_text("1 2 3")
    >>> out.read_text()
    '1 2 3'
    >>> try:
    ...     with safe_output(out, overwrite=True) as tmp:
    ...         _ = tmp.write_text("half")
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> out.read_text(), sorted(p.name for p in out.parent.iterdir())
    ('1 2 3', ['labels.txt'])
    """
    target = check_output(path, inputs, overwrite)
    temporary = target.with_name(f".{target.stem}.partial-{secrets.token_hex(4)}{target.suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def netcdf_write_engine() -> Literal["netcdf4", "h5netcdf"]:
    """The engine that writes netCDF4 (uint8, int64, compression): ``"netcdf4"``, else ``"h5netcdf"``.

    scipy, xarray's last resort, writes netCDF3, which holds no unsigned or 64-bit
    integers: a network attached as a coordinate (uint8 codes) cannot be written with it.
    """
    if importlib.util.find_spec("netCDF4"):
        return "netcdf4"
    if importlib.util.find_spec("h5netcdf") and importlib.util.find_spec("h5py"):
        return "h5netcdf"
    raise ImportError("writing netCDF needs netCDF4 (a dependency of xhydro-accessor): pip install netCDF4")


def write_netcdf(
    dataset: Any, path: PathLike, *, inputs: Iterable[PathLike] = (), overwrite: bool = False
) -> Path:
    """``dataset.to_netcdf`` through :func:`safe_output`, with :func:`netcdf_write_engine`.

    A network coordinate's CRS is written as a CF grid mapping too
    (:func:`~xhydro_accessor.network_codec.with_grid_mapping`).

    Parameters
    ----------
    dataset : xarray.Dataset
        Lazy (dask) variables are computed while writing.
    path : str or os.PathLike
        The file to write.
    inputs : iterable of path
        Files the dataset was read from: ``path`` must be none of them.
    overwrite : bool, default False
        Replace an existing ``path`` (still refused when it is an input).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import pathlib, tempfile, xarray as xr
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "codes.nc"
    >>> _ = write_netcdf(xr.Dataset({"codes": ("x", [1, 255])}).astype("uint8"), out)
    >>> xr.open_dataset(out).codes.dtype
    dtype('uint8')
    """
    with safe_output(path, inputs, overwrite) as temporary:
        with_grid_mapping(dataset).to_netcdf(temporary, engine=netcdf_write_engine())
    return Path(path)
