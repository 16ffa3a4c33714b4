"""River-network operations on xarray, numpy and friends."""

from . import accessor  # noqa: F401  (registers .hydro on DataArray and Dataset)
from .errors import CycleError, GridMismatchError, InvalidCodeError, NetworkError
from .io import open_network, write_network
from .network import RiverNetwork
from .operations import (
    accumulate,
    accumulate_downstream,
    fill_value,
    move_downstream,
    move_upstream,
)
from .repair import repair

__all__ = [
    "CycleError",
    "GridMismatchError",
    "InvalidCodeError",
    "NetworkError",
    "RiverNetwork",
    "accumulate",
    "accumulate_downstream",
    "fill_value",
    "move_downstream",
    "move_upstream",
    "open_network",
    "repair",
    "write_network",
]
__version__ = "0.1.0"
