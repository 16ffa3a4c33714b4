"""The real river network bundled with the package (see ``data/README.md``)."""

from importlib.resources import files
from pathlib import Path

from .network import RiverNetwork

SAMPLE_FILE = "efas_5km_europe_ldd.nc"
SAMPLE_VARIABLE = "ec_ldd_repaired"


def sample_path() -> Path:
    """Path of the bundled EFAS 5 km Europe LDD netCDF file."""
    return Path(str(files("xhydro_accessor") / "data" / SAMPLE_FILE))


def sample_network() -> RiverNetwork:
    """The EFAS 5 km Europe network (950×1000 grid, ETRS89-LAEA ``y``/``x`` in metres, its CRS).

    Read with scipy's netCDF3 reader straight into numpy: no xarray machinery on
    this path, so a first call in a fresh process stays fast.

    Examples
    --------
    >>> sample_network()
    <RiverNetwork: 950×1000 grid, 366989 cells, 21029 outlets, 551 levels, dims ('y', 'x')>
    """
    from scipy.io import netcdf_file

    from .geometry import crs_from_attrs

    with netcdf_file(sample_path(), mmap=False) as dataset:
        codes = dataset.variables[SAMPLE_VARIABLE]
        network = RiverNetwork.from_ldd(codes.data, nodata=codes._FillValue)
        coords = {name: dataset.variables[name].data.copy() for name in ("y", "x")}
        mapping = dataset.variables[codes.grid_mapping.decode()]._attributes
        crs = crs_from_attrs({k: v.decode() if isinstance(v, bytes) else v for k, v in mapping.items()})
    return network.with_grid(("y", "x"), coords, crs=crs)
