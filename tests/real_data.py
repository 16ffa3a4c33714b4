"""The real river networks in ``../shared/data`` and what we know about them.

The expected numbers come from the table in ``../shared/data/README.md``
(counted with flow leaving the grid or entering a missing cell treated as an
outlet). Tests that use :func:`load` skip cleanly when the data folder (or,
for GeoTIFFs, ``rioxarray``) is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import xarray as xr


def _shared_data() -> Path:
    """``$XHYDRO_SHARED_DATA``, else ``../shared/data`` beside the repository, else beside
    the clone's origin (a fresh clone elsewhere, as CI makes, still finds the data)."""
    import os
    import subprocess

    if os.environ.get("XHYDRO_SHARED_DATA"):
        return Path(os.environ["XHYDRO_SHARED_DATA"])
    repo = Path(__file__).resolve().parents[1]
    found = repo.parent / "shared" / "data"
    if not found.is_dir():
        origin = subprocess.run(
            ["git", "-C", str(repo), "config", "--get", "remote.origin.url"], capture_output=True, text=True
        ).stdout.strip()
        if origin and Path(origin).is_dir():
            found = Path(origin).resolve().parent / "shared" / "data"
    return found


SHARED_DATA = _shared_data()

#: codes that make a cell part of the network (directions and pits)
VALID_CODES: dict[str, frozenset[int]] = {
    "ldd": frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9}),
    "esri": frozenset({0, 1, 2, 4, 8, 16, 32, 64, 128}),
    "merit": frozenset({0, 1, 2, 4, 8, 16, 32, 64, 128, 255}),
}

#: pyflwdir's name for each convention (``ftype`` of ``pyflwdir.from_array``)
PYFLWDIR_FTYPE = {"ldd": "ldd", "esri": "d8", "merit": "d8"}


@dataclass(frozen=True)
class RealNetwork:
    """One flow-direction raster of the shared data folder.

    Attributes
    ----------
    name : str
        Short identifier, used as the pytest id.
    filename : str
        File name inside :data:`SHARED_DATA`.
    convention : str
        ``"ldd"``, ``"esri"`` or ``"merit"``.
    shape : tuple of int
        ``(rows, columns)``.
    valid_cells : int
        Cells holding a valid code of the convention.
    outlets : int
        Pits plus cells draining off the grid or into a missing cell.
    longest_path : int
        Cells on the longest flow path (README table).
    resolution : float
        Cell size in the units of the coordinates.
    latlon : bool
        Whether the coordinates are geographic degrees.
    declared_nodata : int or None
        The missing value the file itself declares (``attrs["nodata"]``).
    nodata : int or None
        The extra code to treat as missing when building a network: the
        declared one, or the fill value the README documents when the file
        does not declare it (Madeira: 0).
    """

    name: str
    filename: str
    convention: str
    shape: tuple[int, int]
    valid_cells: int
    outlets: int
    longest_path: int
    resolution: float
    latlon: bool
    declared_nodata: int | None
    nodata: int | None

    @property
    def path(self) -> Path:
        return SHARED_DATA / self.filename


_ARCSEC30 = 1 / 120

REAL_NETWORKS: list[RealNetwork] = [
    RealNetwork("efas_europe_map", "efas_5km_europe_ldd.map", "ldd", (950, 1000),
                366_989, 21_029, 551, 5000.0, False, 255, 255),
    RealNetwork("efas_europe_nc", "efas_5km_europe_ldd.nc", "ldd", (950, 1000),
                366_989, 21_029, 551, 5000.0, False, -1, -1),
    RealNetwork("rhine_d8", "rhine_30s_esri_d8.tif", "merit", (682, 997),
                349_847, 1, 1_675, _ARCSEC30, True, None, 247),
    RealNetwork("pyflwdir2020_ldd", "pyflwdir2020_30s_ldd.bin", "ldd", (678, 776),
                283_029, 1, 1_438, _ARCSEC30, True, 255, 255),
    RealNetwork("pyflwdir2020_d8", "pyflwdir2020_30s_d8.bin", "esri", (678, 776),
                283_029, 1, 1_438, _ARCSEC30, True, 247, 247),
    RealNetwork("southamerica", "southamerica_ldd.nc", "ldd", (700, 476),
                155_499, 5_639, 424, 0.1, True, 0, 0),
    RealNetwork("waterregions", "waterregions_test_ldd.map", "ldd", (339, 490),
                105_527, 1_716, 424, 0.1, True, 255, 255),
    RealNetwork("pysheds_elkhorn", "pysheds_elkhorn_esri_d8.asc", "esri", (359, 367),
                131_753, 451, 639, 1 / 1200, True, 255, 255),
    RealNetwork("lisflood_madeira", "lisflood_madeira_ldd.nc", "ldd", (130, 150),
                18_503, 254, 192, 0.1, True, None, 0),
    RealNetwork("lisflood_etrs89", "lisflood_etrs89_usecase_ldd.nc", "ldd", (57, 80),
                4_462, 149, 113, 5000.0, False, -1, -1),
    RealNetwork("lisflood_latlon", "lisflood_latlon_usecase_ldd.nc", "ldd", (14, 31),
                434, 15, 37, 0.1, True, 0, 0),
]  # fmt: skip

BY_NAME: dict[str, RealNetwork] = {net.name: net for net in REAL_NETWORKS}
NAMES: list[str] = list(BY_NAME)


def skip_if_missing(net: RealNetwork) -> None:
    """Skip the calling test if the file (or what reads it) is unavailable."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} not found")
    if not net.path.is_file():
        pytest.skip(f"{net.path} not found")
    if net.path.suffix.lower() in (".tif", ".tiff"):
        pytest.importorskip("rioxarray", reason="GeoTIFF reading needs rioxarray")


def load(name: str) -> xr.DataArray:
    """Read the named real network with :func:`xhydro_accessor.io.read_flow_directions`.

    Skips the calling test when the data folder, the file or ``rioxarray``
    (for GeoTIFFs) is missing.
    """
    from xhydro_accessor.io import read_flow_directions

    net = BY_NAME[name]
    skip_if_missing(net)
    return read_flow_directions(net.path)


def valid_mask(codes: xr.DataArray | np.ndarray, convention: str) -> np.ndarray:
    """Cells holding a valid code (direction or pit) of ``convention``.

    NaN cells and codes outside the convention are invalid.
    """
    values = np.asarray(codes)
    return np.isin(values, sorted(VALID_CODES[convention]))
