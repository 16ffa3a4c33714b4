"""River-network operations on xarray, numpy and friends."""

from . import accessor  # noqa: F401  (registers .hydro on DataArray and Dataset)
from .accessor import open_dataarray, open_dataset
from .conventions import Convention, register_convention
from .errors import (
    CycleError,
    GridMismatchError,
    InvalidCodeError,
    NaNPropagationWarning,
    NetworkError,
    UnknownGeometryError,
)
from .hydrology.along import fill_along, smooth_along
from .hydrology.catchments import basins, catchment_statistics, catchments, downstream_mask, upstream_mask
from .hydrology.distances import distance_from_points, distance_to_outlet, distance_to_source, step_lengths
from .hydrology.locations import LocationError, Locations, locate
from .hydrology.paths import FlowPaths, flow_path, main_stem
from .hydrology.stream_order import hack, shreve, strahler, stream_order
from .hydrology.subbasins import subbasins
from .hydrology.subnetwork import Subnetwork, subnetwork, upstream_subnetwork
from .hydrology.upstream_area import cell_areas, upstream_area
from .hydrology.vectors import catchment_polygons, stream_segments, streams
from .io import network_to_dataset, open_network, write_network
from .network import RiverNetwork
from .operations import (
    accumulate,
    accumulate_downstream,
    fill_value,
    move_downstream,
    move_upstream,
)
from .options import get_options, set_options
from .repair import repair

__all__ = [
    "Convention",
    "CycleError",
    "GridMismatchError",
    "InvalidCodeError",
    "LocationError",
    "NaNPropagationWarning",
    "Locations",
    "Subnetwork",
    "NetworkError",
    "RiverNetwork",
    "UnknownGeometryError",
    "accumulate",
    "accumulate_downstream",
    "basins",
    "catchment_statistics",
    "catchments",
    "cell_areas",
    "distance_from_points",
    "distance_to_outlet",
    "distance_to_source",
    "downstream_mask",
    "locate",
    "shreve",
    "step_lengths",
    "strahler",
    "subnetwork",
    "upstream_area",
    "upstream_mask",
    "upstream_subnetwork",
    "fill_value",
    "get_options",
    "move_downstream",
    "move_upstream",
    "open_dataarray",
    "open_dataset",
    "network_to_dataset",
    "open_network",
    "register_convention",
    "repair",
    "fill_along",
    "hack",
    "stream_order",
    "subbasins",
    "smooth_along",
    "set_options",
    "write_network",
    "FlowPaths",
    "flow_path",
    "main_stem",
    "streams",
    "stream_segments",
    "catchment_polygons",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xhydro-accessor")  # one source: pyproject.toml
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


__version__ = _version()
