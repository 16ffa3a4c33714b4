"""The 16 M-cell synthetic network (benchmarks/synthetic.py) tiled in 1000 × 1000 chunks
vs in memory (issue 18): accumulate times and their ratio, results compared.

Run from the repository root: ``PYTHONPATH=$PWD python benchmarks/tiled_vs_memory.py [n] [tile]``.

The comparison is of the accumulation alone, both networks built beforehand (build
times are printed apart), the kernels compiled, best of three:

- *in memory*: ``accumulate(network, field)`` on numpy arrays;
- *tiled*: ``accumulate(network, dask field chunked in tiles).compute()`` (dask threads),
  the two passes per tile and the perimeter solve, the field's blocks read from the numpy
  array and the result gathered into one numpy array, for
  (a) the in-memory network cut into the field's tiles (its tile topologies kept: built
  once and cached on the network, as an in-memory network does by itself);
  (b) a ``TiledNetwork`` built from dask codes, its topologies persisted (``persist``);
  (c) the same without persisted topologies (each pass rebuilds its tile's: what the
  10⁹-cell run does, where they would not fit in memory).
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


def timed(function, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = function()
        best = min(best, time.perf_counter() - start)
    return out, best


def main(n: int = 4000, tile: int = 1000) -> None:
    d8 = synthetic_d8(n)
    field = np.ones(d8.shape, np.float32)
    lazy = da.from_array(field, chunks=tile)
    memory, build_memory = timed(lambda: xa.RiverNetwork.from_d8(d8))
    tiled, build_tiled = timed(lambda: xa.RiverNetwork.from_d8(da.from_array(d8, chunks=tile)))
    kept, persist_time = timed(lambda: persist(tiled))
    _, cut_time = timed(lambda: xa.accumulate(memory, lazy))  # cuts and caches the in-memory network
    expected = xa.accumulate(memory, field)
    cases = {
        "(a) in-memory network, tiles kept": memory,
        "(b) TiledNetwork, persisted": kept,
        "(c) TiledNetwork, rebuilt per pass": tiled,
    }
    for net in cases.values():  # compile every kernel
        xa.accumulate(net, lazy).compute()
    _, acc_memory = timed(lambda: xa.accumulate(memory, field), 3)
    print(f"{n}x{n} grid, {tile}x{tile} tiles ({tiled.n_tiles}); best of 3, networks built beforehand")
    print(f"build: in memory {build_memory:.2f} s, tiled {build_tiled:.2f} s, persist {persist_time:.2f} s, "
          f"cutting the in-memory network (first call) {cut_time:.2f} s")  # fmt: skip
    print(f"accumulate in memory (numpy field): {acc_memory:.3f} s")
    for name, net in cases.items():
        out, seconds = timed(lambda net=net: xa.accumulate(net, lazy).compute(), 3)
        same = np.array_equal(out, expected, equal_nan=True)
        print(
            f"accumulate tiled {name}: {seconds:.3f} s, ratio {seconds / acc_memory:.2f}, identical: {same}"
        )


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
