"""``xr.open_dataset(path, engine="hydro")``: files opened with their river network indexed.

A file written with an attached network holds its codes as a plain CF coordinate
(:mod:`xhydro_accessor.network_codec`), which xarray reads back without the
:class:`~xhydro_accessor.network_index.NetworkIndex`. The ``hydro`` engine,
registered under ``[project.entry-points."xarray.backends"]``, opens the file with
the netCDF4, h5netcdf or zarr engine (by its signature, or ``backend=``) and
decodes the network with ``ds.hydro.assign_network()`` — the decode step of the
codec, as ``decode_cf`` is xvec's: encode → write → open gives the same object.
``chunks=`` works as for any engine (the codes stay in memory, the data lazy).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import xarray as xr
from xarray.backends import BackendEntrypoint

from .network_codec import is_network_coordinate

_HDF5, _NETCDF3 = b"\x89HDF\r\n\x1a\n", b"CDF"


def delegate_engine(filename_or_obj: Any) -> str:
    """The engine that reads ``filename_or_obj``: ``"zarr"`` for a directory, ``*.zarr`` or a
    store, ``"netcdf4"`` (else ``"h5netcdf"``) for a netCDF/HDF5 file; for an open file object
    (which netCDF4 cannot read) ``"h5netcdf"`` if it is HDF5, else ``"scipy"`` (netCDF3).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> delegate_engine(pathlib.Path(tempfile.mkdtemp()))
    'zarr'
    """
    if hasattr(filename_or_obj, "read") and hasattr(filename_or_obj, "seek"):
        magic = filename_or_obj.read(8)
        filename_or_obj.seek(0)
        return "h5netcdf" if magic == _HDF5 else "scipy"
    if not isinstance(filename_or_obj, str | os.PathLike):
        return "zarr"  # a store or mapping
    path = os.fspath(filename_or_obj)
    if os.path.isdir(path) or path.rstrip("/").endswith(".zarr"):
        return "zarr"
    try:
        with open(path, "rb") as file:
            magic = file.read(8)
    except OSError as error:
        raise FileNotFoundError(f"{path}: cannot open it ({error})") from error
    if magic.startswith(_NETCDF3) or magic == _HDF5:
        engines = xr.backends.list_engines()
        return "netcdf4" if "netcdf4" in engines or "h5netcdf" not in engines else "h5netcdf"
    raise ValueError(
        f"{path}: neither netCDF/HDF5 (its first bytes are {magic!r}) nor zarr; "
        "name the engine that reads it with backend=..."
    )


def check_hdf5_file(filename_or_obj: Any) -> None:
    """Raise ``ValueError`` naming the file when ``filename_or_obj`` is an HDF5 file whose
    global heaps would hang the HDF5 library (netCDF4 and h5netcdf alike): see
    :func:`xhydro_accessor.io.netcdf.check_hdf5_global_heaps`. Anything else passes."""
    from .io.netcdf import check_hdf5_global_heaps

    if hasattr(filename_or_obj, "read") and hasattr(filename_or_obj, "seek"):
        start = filename_or_obj.tell()
        filename_or_obj.seek(0)
        magic = filename_or_obj.read(8)
        filename_or_obj.seek(start)
        if magic == _HDF5:
            check_hdf5_global_heaps(getattr(filename_or_obj, "name", "the file object"), filename_or_obj)
    elif isinstance(filename_or_obj, str | os.PathLike) and os.path.isfile(filename_or_obj):
        with open(filename_or_obj, "rb") as file:
            if file.read(8) == _HDF5:
                check_hdf5_global_heaps(os.fspath(filename_or_obj), file)


class HydroBackendEntrypoint(BackendEntrypoint):
    """The ``hydro`` xarray engine: another engine's dataset with its river network indexed.

    Parameters of ``open_dataset`` beyond xarray's decoders: ``backend`` (the
    engine reading the file, default by its signature: see
    :func:`delegate_engine`) and every option of that engine (``group=``,
    ``consolidated=`` …). Files without a network coordinate open as they are.

    Examples
    --------
    >>> import pathlib, tempfile, numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "q.nc"
    >>> xr.Dataset({"q": (("y", "x"), [[1.0, 2.0]])}).hydro.assign_network(net).to_netcdf(path)
    >>> with xr.open_dataset(path, engine=HydroBackendEntrypoint, chunks={}) as ds:
    ...     ds.hydro.network == net, type(ds.xindexes["flow_direction"]).__name__
    (True, 'NetworkIndex')
    """

    description = "netCDF/zarr files with their river network indexed (xhydro_accessor)"
    open_dataset_parameters = (
        "filename_or_obj",
        "drop_variables",
        "mask_and_scale",
        "decode_times",
        "concat_characters",
        "decode_coords",
        "use_cftime",
        "decode_timedelta",
        "backend",
    )

    def open_dataset(
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        backend: str | None = None,
        **kwargs: Any,
    ) -> xr.Dataset:
        engine = delegate_engine(filename_or_obj) if backend is None else backend
        if engine == "hydro":
            raise ValueError("backend='hydro' would open the file with itself: name netcdf4, h5netcdf, zarr")
        engines = xr.backends.list_engines()
        if engine not in engines:
            raise ValueError(f"backend {engine!r} is not an installed xarray engine: {sorted(engines)}")
        check_hdf5_file(filename_or_obj)
        ds = engines[engine].open_dataset(filename_or_obj, drop_variables=drop_variables, **kwargs)
        if not any(is_network_coordinate(c.variable) for c in ds.coords.values()):
            return ds
        out = ds.hydro.assign_network()
        out.set_close(ds.close)  # closing the result closes the file
        return out

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        return False  # only when asked for: engine="hydro"
