"""Open a river network from each file format, and write one in each convention.

1. cuts a piece of the bundled EFAS network and writes it as an ESRI ASCII grid,
   a CaMa-Flood ``nextxy.bin`` (+ ``params.txt``) and netCDF in every convention;
2. opens every file with ``open_network`` (the convention detected from the file's
   attributes or values) and checks that each gives back the same network;
3. opens the real files of ``../shared/data`` when that folder is there
   (PCRaster ``.map``, netCDF, ``.bin`` + ``.hdr``, ``.asc``, GeoTIFF).

Run: ``python examples/read_each_format.py [output directory]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from xhydro_accessor.io import network_to_dataset, open_network, write_network
from xhydro_accessor.network_codec import subset_network
from xhydro_accessor.samples import sample_path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_ascii_grid(path: Path, codes: np.ndarray, x0: float, y0: float, cell: float) -> Path:
    """An ESRI ASCII grid: six header lines, then the rows north to south."""
    header = f"ncols {codes.shape[1]}\nnrows {codes.shape[0]}\nxllcorner {x0}\nyllcorner {y0}\n"
    rows = "\n".join(" ".join(map(str, row)) for row in codes)
    path.write_text(f"{header}cellsize {cell}\nNODATA_value 255\n{rows}\n")
    return path


def write_cama_binary(path: Path, network, west: float, north: float, cell: float) -> Path:
    """CaMa-Flood ``nextxy.bin``: two int32 records, 1-based (x, y) of the downstream cell."""
    down = network.downstream_grid()
    ny, nx = network.shape
    nextx = np.where(down >= 0, down % nx + 1, -9)
    nexty = np.where(down >= 0, down // nx + 1, -9)
    nextx[down == -2] = nexty[down == -2] = -9999
    path.write_bytes(np.stack([nextx, nexty]).astype("<i4").tobytes())
    numbers = [nx, ny, 1, cell, west, west + nx * cell, north, north - ny * cell]
    (path.parent / "params.txt").write_text("".join(f"{v} !!\n" for v in numbers))
    return path


def main(directory: str | Path) -> dict[str, bool]:
    directory = Path(directory)
    europe = open_network(sample_path())
    rows, cols = np.arange(380, 470), np.arange(250, 360)  # the Rhine mouth and its neighbours
    y, x = europe.coords["y"][rows], europe.coords["x"][cols]
    piece = subset_network(europe, (rows, cols)).with_grid(("y", "x"), {"y": y, "x": x})
    cell = float(x[1] - x[0])
    print(f"a piece of the EFAS network: {piece}")

    files = {f"netCDF, {c or 'default'}": write_network(piece, directory / f"net_{c}.nc", c)
             for c in (None, "ldd", "esri", "merit", "cama")}  # fmt: skip
    codes = network_to_dataset(piece, "ldd")["flow_direction"].values
    files["ESRI ASCII grid"] = write_ascii_grid(
        directory / "ldd.asc", codes, x[0] - cell / 2, y[-1] - cell / 2, cell
    )
    files["CaMa-Flood nextxy.bin"] = write_cama_binary(
        directory / "nextxy.bin", piece, x[0] - cell / 2, y[0] + cell / 2, cell
    )
    same = {}
    for kind, path in files.items():
        network = open_network(path)
        same[kind] = network == piece
        print(f"{kind:>24}: {path.name:<14} same network: {same[kind]}")

    if SHARED_DATA.is_dir():
        print(f"\nreal files in {SHARED_DATA}:")
        for path in sorted(SHARED_DATA.iterdir()):
            is_raster = path.suffix in (".map", ".nc", ".asc", ".bin", ".tif")
            if is_raster and not any(word in path.stem for word in ("elevation", "_dem")):
                try:
                    print(f"  {path.name:<34} {open_network(path)}")
                except ImportError as err:  # GeoTIFF without rioxarray
                    print(f"  {path.name:<34} skipped: {err}")
    assert all(same.values()), same
    return same


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
