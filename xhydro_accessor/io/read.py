"""Read a flow-direction raster: the format chosen by the file suffix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import xarray as xr

from ._common import PathLike
from .ascii_grid import read_ascii_grid
from .bil import read_bil
from .csf import read_csf
from .geotiff import read_geotiff
from .netcdf import NETCDF_SUFFIXES, read_netcdf


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
        Dims ``("y", "x")`` with 1-D cell-centre coordinates ``y`` and ``x``
        (a netCDF file without them gets 0, 1, …, listed in
        ``encoding["generated_coords"]``); ``y`` descends for north-up
        rasters. The values are the codes as stored (integer dtype; a float file stays float). ``attrs`` holds
        ``"nodata"`` (the declared missing value, when the file declares one),
        ``"convention"`` (``"ldd"`` for a CSF map with the LDD value scale),
        ``"crs_wkt"`` (when the file holds a coordinate reference system:
        GeoTIFF tags, a netCDF CF grid mapping or ``esri_pe_string``, an ENVI
        ``coordinate system string`` or geographic/UTM ``map info``, a ``.prj``
        beside a ``.asc``/``.bin``; a CSF map holds none) and
        ``"source_file"``.

    Raises
    ------
    ValueError
        The suffix is unknown, or the file is truncated, corrupt, or not in
        the format its suffix announces; its header contradicts the file
        (rows × columns that do not match the bytes the file holds, checked
        before any cell is read) or holds a NaN, infinite, zero or negative cell
        size or a non-finite origin. The message names the file and the field.
    ImportError
        A GeoTIFF is read without ``rioxarray`` installed, or a netCDF file
        without a suitable xarray engine.

    Notes
    -----
    netCDF variables are read with ``mask_and_scale=False`` so the integer
    codes survive; ``_FillValue``/``missing_value`` become ``attrs["nodata"]``.
    Rows are returned as stored: a south-up (ascending ``y``) or east-to-west
    netCDF grid stays so, and :func:`~xhydro_accessor.io.open_network` reads
    its codes by the coordinates (see :mod:`xhydro_accessor.layout`); netCDF
    dims are put in ``(y, x)`` order. A CSF map whose projection has ``y``
    increasing downwards is returned as stored (ascending ``y``, marked
    ``encoding["y_down"]``): PCRaster codes name directions on the grid there.

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
    if variable is not None and suffix not in NETCDF_SUFFIXES:
        raise ValueError(f"{path}: variable= applies to netCDF files only")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    da = read_netcdf(path, variable) if suffix in NETCDF_SUFFIXES else reader(path)
    prj = path.with_suffix(".prj")
    if "crs_wkt" not in da.attrs and suffix in (".asc", ".bin", ".bil") and prj.is_file():
        da.attrs["crs_wkt"] = _read_prj(prj)
    da.attrs["source_file"] = str(path.resolve())
    return da


def _read_prj(prj: Path) -> str:
    """The WKT (ESRI or OGC) of a ``.prj`` file, checked by pyproj."""
    from ..geometry import as_crs

    try:
        return as_crs(prj.read_text(errors="replace").strip()).to_wkt()
    except ValueError as err:
        raise ValueError(f"{prj}: {err}") from None


_READERS: dict[str, Callable[[Path], xr.DataArray]] = {
    ".map": read_csf,
    ".nc": read_netcdf,
    ".nc4": read_netcdf,
    ".bin": read_bil,
    ".bil": read_bil,
    ".asc": read_ascii_grid,
    ".tif": read_geotiff,
    ".tiff": read_geotiff,
}
