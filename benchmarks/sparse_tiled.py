"""A grid past 2**31 cells, almost all missing, through tiles (issue 18): build, accumulate, zarr.

``flock /work/bigrun.lock env PYTHONPATH=$PWD python benchmarks/sparse_tiled.py [N] [--chunk 4096]``

The N x N grid (default 46341: 2 147 488 281 cells, past 2**31) is missing (LDD 255)
but for one river basin of :data:`RIVER` cells (~10**6): the synthetic network of
:mod:`synthetic_zarr` turned to drain south, set in the grid's south-east so that it
crosses tile borders and its outlets lie on the last row, at flat indices past 2**31.
The codes are a dask array generated block by block (a block outside the basin is one
``np.full``): no process ever holds the grid. The runoff is ``da.ones`` (float32), so
the accumulation is each cell's upstream cell count.

Measured, with the peak resident memory of the process tree (``big.PeakMemory``):
``RiverNetwork.from_ldd(codes)`` (a :class:`~xhydro_accessor.tiling.TiledNetwork`) and
``accumulate`` written to a zarr store. Then checked (not timed): the basin's window of
the stored result equals the in-memory network's accumulation of the same basin, no
cell outside it holds a value, and the largest outlet drains as many cells as in memory.
Target: peak <= 4 GB.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import synthetic_zarr  # noqa: E402
from benchmarks.big import CORES, PeakMemory, report  # noqa: E402

RIVER = (1441, 700)  # rows, columns of the basin's window (1.0e6 cells)
MISSING = 255
_SOUTHWARD = np.arange(256, dtype=np.uint8)  # LDD codes mirrored north-south: 7 8 9 <-> 1 2 3
_SOUTHWARD[[1, 2, 3, 7, 8, 9]] = [7, 8, 9, 1, 2, 3]


def basin(n: int, shape: tuple[int, int] = RIVER) -> tuple[tuple[int, int], np.ndarray]:
    """The basin's window origin (row, column) in the N x N grid and its LDD codes: the
    synthetic network upside down (draining south to its last row, the grid's)."""
    codes, _ = synthetic_zarr.generate(*shape, seed=7)
    origin = (n - shape[0], min(n - shape[1], max(0, n - 1641)))
    return origin, _SOUTHWARD[codes[::-1]]


def sparse_codes(n: int, chunk: int, origin: tuple[int, int], river: np.ndarray):
    """The N x N codes as a dask array: each block all missing but where the basin lies."""
    import dask.array as da

    def block(block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        out = np.full((r1 - r0, c1 - c0), MISSING, np.uint8)
        rows = slice(max(r0, origin[0]), min(r1, origin[0] + river.shape[0]))
        cols = slice(max(c0, origin[1]), min(c1, origin[1] + river.shape[1]))
        if rows.start < rows.stop and cols.start < cols.stop:
            out[rows.start - r0 : rows.stop - r0, cols.start - c0 : cols.stop - c0] = river[
                rows.start - origin[0] : rows.stop - origin[0], cols.start - origin[1] : cols.stop - origin[1]
            ]
        return out

    return da.map_blocks(block, dtype=np.uint8, chunks=da.core.normalize_chunks(chunk, (n, n)),
                         name=f"sparse-ldd-{n}-{chunk}")  # fmt: skip


def run(n: int, chunk: int, workdir: Path) -> tuple[list[dict], dict]:
    import dask.array as da

    import xhydro_accessor as xa

    origin, river = basin(n)
    xa.accumulate(xa.RiverNetwork.from_ldd(sparse_codes(300, 64, (250, 0), river[-50:, :300])),
                  da.ones((300, 300), chunks=64, dtype=np.float32)).compute()  # fmt: skip  # warm up
    out = workdir / "sparse_accumulated.zarr"
    codes = sparse_codes(n, chunk, origin, river)
    with PeakMemory() as mem:
        start = time.perf_counter()
        with PeakMemory() as build:
            net = xa.RiverNetwork.from_ldd(codes)
        built = time.perf_counter() - start
        flow = xa.accumulate(net, da.ones((n, n), chunks=chunk, dtype=np.float32))
        da.to_zarr(flow, str(out), overwrite=True)
        seconds = time.perf_counter() - start
    rows = [{
        "case": f"sparse {n}x{n} ({n * n:,} cells, one basin of {river.size:,} cells), tiles {chunk}², "
                "build + accumulate to zarr",
        "cells": n * n, "seconds": seconds, "peak_bytes": mem.peak,
        "note": f"{net!r}; build {built:.1f} s, its peak {build.peak / 2**30:.2f} GiB",
    }]  # fmt: skip
    return rows, check(out, origin, river, n)


def check(out: Path, origin: tuple[int, int], river: np.ndarray, n: int) -> dict:
    """The stored result against the in-memory network of the same basin."""
    import dask.array as da

    import xhydro_accessor as xa

    stored = da.from_zarr(str(out))
    window = stored[origin[0] :, origin[1] : origin[1] + river.shape[1]].compute()
    memory = xa.RiverNetwork.from_ldd(river)
    expected = xa.accumulate(memory, np.ones(river.shape, np.float32))
    np.testing.assert_array_equal(window, expected)  # upstream counts: exact in float32
    valued = int((~da.isnan(stored)).sum().compute())  # the whole grid, chunk by chunk
    assert valued == memory.n_nodes, (valued, memory.n_nodes)
    r, c = np.unravel_index(int(np.nanargmax(expected)), river.shape)
    flat = (origin[0] + int(r)) * n + origin[1] + int(c)
    return {"river cells": memory.n_nodes, "largest outlet": (origin[0] + int(r), origin[1] + int(c)),
            "its flat index": flat, "past 2**31": flat >= 2**31,
            "its upstream cells": int(expected[r, c]), "cells with a value in the grid": valued}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=46341)
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--workdir", default=None, help="where the result goes (default: a temporary folder)")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="xhydro-sparse-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        rows, checked = run(args.n, args.chunk, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"# {CORES} cores; cells/s/core = cells / seconds / {CORES}")
    report(rows, False)
    print("checked against the in-memory network of the basin:", checked)


if __name__ == "__main__":
    main()
