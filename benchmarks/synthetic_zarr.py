"""A synthetic river network of any size, generated tile by tile into zarr (issue 18 item 5).

The elevation is a function of the cell alone, in integers (so every tile computes the
same value for a cell, halo or not):

    z(r, c) = SLOPE * r + valley[(c + meander[r % MEANDER_PERIOD]) % VALLEY_PERIOD] + noise(r, c)

a slope rising to the south, valleys every ``VALLEY_PERIOD`` columns that wander east
and west down the grid (so rivers cross tile corners diagonally), and hashed noise in
``[0, NOISE)``. Each cell drains to its steepest-descent neighbour among those strictly
lower in the order (z, flat index): a strict order, so there is no cycle and no tie.
A cell with no lower neighbour is a pit (LDD 5): the northern edge's valley floors and
the few hollows the meanders leave. The codes are PCRaster LDD (uint8, north up: row 0
is the northern edge); the runoff is float32 hashed noise in ``[0, 1)``.

Every tile is computed from its own window plus a one-cell halo (one task per zarr
chunk through dask): the whole grid is never held. (The kernels are compiled in each
process, not cached: this file runs as a script and as ``benchmarks.synthetic_zarr``.)

``python benchmarks/synthetic_zarr.py N [--chunk 4096] [--out synthetic_N.zarr]``
writes an N x N grid (variables ``ldd`` and ``runoff``, dims ``y``/``x``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numba
import numpy as np

SLOPE = 1000  # per row
NOISE = 1000  # < SLOPE: the northern neighbour is lower except where a valley turns
VALLEY_PERIOD = 509  # columns between valley floors
VALLEY_DEPTH = 600_000  # cross-valley slope up to ~3.7 SLOPE a column: rivers gather
MEANDER_PERIOD = 2003  # rows per swing of the valleys
MEANDER_WIDTH = 200  # columns each valley swings east and west
# (row step, column step, LDD code) in the order of xhydro_accessor.conventions.STEPS
_DR = np.array([0, 1, 1, 1, 0, -1, -1, -1])
_DC = np.array([1, 1, 0, -1, -1, -1, 0, 1])
_LDD = np.array([6, 3, 2, 1, 4, 7, 8, 9], np.uint8)
PIT = 5


def _tables() -> tuple[np.ndarray, np.ndarray]:
    """The valley profile and the meander offsets, integers (the same in every task)."""
    phase = np.arange(VALLEY_PERIOD) / VALLEY_PERIOD
    valley = np.round(VALLEY_DEPTH * (1 - np.cos(2 * np.pi * phase)) / 2).astype(np.int64)
    swing = np.sin(2 * np.pi * np.arange(MEANDER_PERIOD) / MEANDER_PERIOD)
    meander = np.round(MEANDER_WIDTH * swing).astype(np.int64) + MEANDER_WIDTH
    return valley, meander


@numba.njit(nogil=True, inline="always")
def _hash(r, c, seed):
    """splitmix64 of (row, column, seed)."""
    x = np.uint64(r) * np.uint64(0x9E3779B97F4A7C15) ^ (
        np.uint64(c) + np.uint64(seed) * np.uint64(0xD1B54A32D192ED03)
    )
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@numba.njit(nogil=True)
def _elevation(row0, col0, rows, cols, seed, valley, meander):
    z = np.empty((rows, cols), np.int64)
    for i in range(rows):
        r = row0 + i
        shift = meander[r % meander.size]
        for j in range(cols):
            c = col0 + j
            noise = np.int64(_hash(r, c, seed) % np.uint64(NOISE))
            z[i, j] = SLOPE * r + valley[(c + shift) % valley.size] + noise
    return z


@numba.njit(nogil=True)
def _steepest_descent(z, row0, col0, ny, nx, codes):
    """LDD codes of the cells of ``codes`` (rows ``row0``.., columns ``col0``..) from their
    elevation ``z`` with a one-cell halo."""
    rows, cols = codes.shape
    diagonal = np.sqrt(2.0)
    for i in range(rows):
        for j in range(cols):
            r, c = row0 + i, col0 + j
            here = z[i + 1, j + 1]
            key = r * nx + c
            best, steepest = -1, -1.0
            for k in range(8):
                r2, c2 = r + _DR[k], c + _DC[k]
                if r2 < 0 or r2 >= ny or c2 < 0 or c2 >= nx:
                    continue
                there = z[i + 1 + _DR[k], j + 1 + _DC[k]]
                if there > here or (there == here and r2 * nx + c2 > key):
                    continue  # not lower in the order (z, flat index)
                drop = (here - there) / (diagonal if _DR[k] != 0 and _DC[k] != 0 else 1.0)
                if drop > steepest:
                    best, steepest = k, drop
            codes[i, j] = PIT if best < 0 else _LDD[best]


@numba.njit(nogil=True)
def _runoff(row0, col0, rows, cols, seed, out):
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.float32(_hash(row0 + i, col0 + j, seed + 1) >> np.uint64(40)) / np.float32(2**24)


def tile(rows: slice, cols: slice, shape: tuple[int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """LDD codes (uint8) and runoff (float32) of the cells ``[rows, cols]`` of a grid of ``shape``."""
    ny, nx = shape
    valley, meander = _tables()
    height, width = rows.stop - rows.start, cols.stop - cols.start
    z = _elevation(rows.start - 1, cols.start - 1, height + 2, width + 2, seed, valley, meander)
    codes = np.empty((height, width), np.uint8)
    _steepest_descent(z, rows.start, cols.start, ny, nx, codes)
    del z
    runoff = np.empty((height, width), np.float32)
    _runoff(rows.start, cols.start, height, width, seed, runoff)
    return codes, runoff


def generate(ny: int, nx: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The whole grid in memory: LDD codes and runoff (what :func:`write_zarr` writes)."""
    return tile(slice(0, ny), slice(0, nx), (ny, nx), seed)


def dataset(ny: int, nx: int, chunks: int | tuple = 4096, seed: int = 0):
    """An xarray Dataset of dask arrays ``ldd`` and ``runoff``: one task per chunk (the
    chunk and its halo), nothing computed yet."""
    import dask.array as da
    import xarray as xr

    def block(which, block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        return tile(slice(r0, r1), slice(c0, c1), (ny, nx), seed)[which]

    chunks = da.core.normalize_chunks(chunks, (ny, nx))
    ldd = da.map_blocks(block, 0, dtype=np.uint8, chunks=chunks, name=f"synthetic-ldd-{ny}-{nx}-{seed}")
    runoff = da.map_blocks(
        block, 1, dtype=np.float32, chunks=chunks, name=f"synthetic-runoff-{ny}-{nx}-{seed}"
    )
    coords = {
        "y": ("y", ny - 0.5 - np.arange(ny), {"axis": "Y"}),
        "x": ("x", np.arange(nx) + 0.5, {"axis": "X"}),
    }
    return xr.Dataset(
        {"ldd": (("y", "x"), ldd, {"convention": "ldd"}), "runoff": (("y", "x"), runoff)}, coords=coords
    )


def write_zarr(path: str | Path, ny: int, nx: int, chunks: int | tuple = 4096, seed: int = 0) -> Path:
    """Generate the grid tile by tile into a zarr store at ``path`` (overwritten)."""
    dataset(ny, nx, chunks, seed).to_zarr(path, mode="w", consolidated=False)
    return Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=4096, help="grid side (cells)")
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="zarr store (default synthetic_N.zarr)")
    args = parser.parse_args()
    out = args.out or f"synthetic_{args.n}.zarr"
    start = time.perf_counter()
    write_zarr(out, args.n, args.n, args.chunk, args.seed)
    print(f"{args.n}x{args.n} written to {out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
