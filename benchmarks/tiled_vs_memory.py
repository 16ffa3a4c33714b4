"""The 16 M-cell synthetic network (benchmarks/synthetic.py) tiled in 1000 × 1000 chunks
vs in memory (issue 18): build and accumulate times and their ratio, results compared.

Run from the repository root: ``python benchmarks/tiled_vs_memory.py [n] [tile]``.
"""

import sys
import time
from pathlib import Path

import dask.array as da
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import synthetic_d8  # noqa: E402

import xhydro_accessor as xa  # noqa: E402
from xhydro_accessor.backends.tiled import persist  # noqa: E402


def timed(function):
    start = time.perf_counter()
    out = function()
    return out, time.perf_counter() - start


def main(n: int = 4000, tile: int = 1000) -> None:
    d8 = synthetic_d8(n)
    field = np.ones(d8.shape, np.float32)
    memory, build_memory = timed(lambda: xa.RiverNetwork.from_d8(d8))
    tiled, build_tiled = timed(lambda: xa.RiverNetwork.from_d8(da.from_array(d8, chunks=tile)))
    lazy = da.from_array(field, chunks=tile)
    xa.accumulate(memory, field), xa.accumulate(tiled, lazy).compute()  # compile the kernels
    expected, acc_memory = timed(lambda: xa.accumulate(memory, field))
    out, acc_tiled = timed(lambda: xa.accumulate(tiled, lazy).compute())
    kept, persist_time = timed(lambda: persist(tiled))
    kept_out, acc_kept = timed(lambda: xa.accumulate(kept, lazy).compute())
    same = np.array_equal(out, expected, equal_nan=True) and np.array_equal(
        kept_out, expected, equal_nan=True
    )
    print(f"{n}x{n} grid, {tile}x{tile} tiles ({tiled.n_tiles}), results identical: {same}")
    for what, memory_s, tiled_s in (
        ("build", build_memory, build_tiled),
        ("accumulate", acc_memory, acc_tiled),
    ):
        print(
            f"{what:11} in memory {memory_s:6.2f} s   tiled {tiled_s:6.2f} s   ratio {tiled_s / memory_s:.2f}"
        )
    ratio = acc_kept / acc_memory
    print(
        f"  with persisted tile topologies ({persist_time:.2f} s once): {acc_kept:.2f} s, ratio {ratio:.2f}"
    )
    total = (build_tiled + acc_tiled) / (build_memory + acc_memory)
    print(f"build + accumulate ratio {total:.2f}")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
