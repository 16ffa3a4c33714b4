"""The real river network bundled with the package (see ``data/README.md``)."""

from importlib.resources import files
from pathlib import Path

from .network import RiverNetwork

SAMPLE_FILE = "efas_5km_europe_ldd.nc"


def sample_path() -> Path:
    """Path of the bundled EFAS 5 km Europe LDD netCDF file."""
    return Path(str(files("xhydro_accessor") / "data" / SAMPLE_FILE))


def sample_network() -> RiverNetwork:
    """The EFAS 5 km Europe network (950×1000 grid, ETRS89-LAEA coordinates).

    Examples
    --------
    >>> sample_network()
    <RiverNetwork: 950×1000 grid, 366989 cells, 21029 outlets, 551 levels, dims ('y', 'x')>
    """
    from .io import read_flow_directions

    return RiverNetwork.from_ldd(read_flow_directions(sample_path()))
