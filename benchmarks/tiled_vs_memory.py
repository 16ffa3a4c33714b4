"""The 16 M-cell synthetic network (benchmarks/synthetic.py) tiled in 1000 × 1000 chunks
vs in memory (issue 18): accumulate times and their ratio, results compared.

Run from the repository root: ``PYTHONPATH=$PWD python benchmarks/tiled_vs_memory.py [n] [tile]``.

The comparison is of the accumulation alone, both networks built beforehand (build
times are printed apart), the kernels compiled, best of seven, wall and process CPU time
(on a shared machine read the CPU ratios):

- *in memory*: ``accumulate(network, field)`` on numpy arrays;
- *tiled*: ``accumulate(network, dask field chunked in tiles).compute()`` (dask threads),
  the two passes per tile and the perimeter solve, the field's blocks read from the numpy
  array and the result gathered into one numpy array, for
  (a) the in-memory network cut into the field's tiles (its tile topologies kept: built
  once and cached on the network, as an in-memory network does by itself);
  (b) a ``TiledNetwork`` built from dask codes, its topologies persisted (``persist``);
  (c) the same without persisted topologies (each pass rebuilds its tile's: what the
  10⁹-cell run does, where they would not fit in memory);
  and (b) once more with its tiles computed but not gathered into one numpy array
  (``dask.persist``: what a zarr write gets; the gather is dask's, one thread).

Then, for (b), where the time goes: each step alone on one thread (all tiles one after
the other, wall and CPU time), beside the in-memory engine on one thread (it runs on
every core by itself, as dask's threads do for the tiles): building the graph, pass 1
(the whole tile, its state kept), the perimeter solve, pass 2 (the cells below the
entries merged into pass 1's state, and for comparison the pass over the whole tile
of a network not persisted), and gathering the 16 blocks into one array. The load
average is printed before and after: on a shared machine compare ratios of one run.
"""

import sys
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import synthetic_d8  # noqa: E402

import xhydro_accessor as xa  # noqa: E402
from xhydro_accessor import threads  # noqa: E402
from xhydro_accessor.backends import tiled as tiled_backend  # noqa: E402
from xhydro_accessor.backends.tiled import persist  # noqa: E402
from xhydro_accessor.tiling import origins  # noqa: E402


def timed(function, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = function()
        best = min(best, time.perf_counter() - start)
    return out, best


def wall_cpu(function, repeat: int = 5, setup=lambda: None) -> tuple[float, float]:
    """Best wall and best CPU (process) time of ``function(setup())``, in ms (``setup`` untimed)."""
    wall = cpu = np.inf
    for _ in range(repeat):
        given = setup()
        start, start_cpu = time.perf_counter(), time.process_time()
        function() if given is None else function(given)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return 1e3 * wall, 1e3 * cpu


def steps(network, memory, field, lazy) -> None:
    """Each step of the tiled accumulation on a persisted ``network``, on one thread."""
    tiles = dask.compute(*network.tiles)
    state = tiled_backend.reduction_state("sum", False, field.dtype)
    g = network.graph
    at = zip(origins(network.chunks), tiled_backend.tile_shapes(network), strict=True)
    blocks = [field[r : r + h, c : c + w] for (_, (r, c)), (h, w) in at]
    common = {"state": state, "reverse": False}

    def pass1():  # the whole tile, its state kept
        return [
            tiled_backend._pass1_kept(tile, x, None, keep=g["exits_local"][t], state=state)
            for t, (tile, x) in enumerate(zip(tiles, blocks, strict=True))
        ]

    firsts = pass1()
    perimeter = [f[0] for f in firsts]
    solved = tiled_backend._solve(g, perimeter, members=1, **common)

    def kept_states():  # pass 1's kept states, fresh (pass 2 merges into them)
        return [(f[0], tiled_backend._Kept(tuple(v.copy() for v in f[1].values))) for f in firsts]

    def pass2(kept):  # the cells below the entries, then the result
        return [
            tiled_backend._pass2_kept(tile, k, solved, index=t, state=state, shape=x.shape)
            for t, (tile, k, x) in enumerate(zip(tiles, kept, blocks, strict=True))
        ]

    def full_pass2():  # what pass 2 is without a persisted network: the whole tile again
        for t, (tile, x) in enumerate(zip(tiles, blocks, strict=True)):
            tiled_backend._pass2(tile, x, None, solved, index=t, inject=g["entries_local"][t], **common)

    seconds = pass2(kept_states())
    below = sum(tile[3][0].size for tile in tiles)
    n_cols = len(network.chunks[1])

    def gather():
        return np.block([seconds[k : k + n_cols] for k in range(0, len(seconds), n_cols)])

    cores = threads.CORES
    threads.CORES = 1  # the in-memory engine on one thread, like one of dask's
    try:
        one = wall_cpu(lambda: xa.accumulate(memory, field))
    finally:
        threads.CORES = cores
    rows = {
        "in memory, one thread": one,
        "build the graph (no compute)": wall_cpu(lambda: xa.accumulate(network, lazy)),
        "pass 1, state kept": wall_cpu(pass1),
        "solve": wall_cpu(lambda: tiled_backend._solve(g, perimeter, members=1, **common)),
        "pass 2, cells below entries": wall_cpu(pass2, setup=kept_states),
        "(pass 2 over the whole tile)": wall_cpu(full_pass2),
        "gather the blocks": wall_cpu(gather),
    }
    print(f"cells below the tiles' entries: {below} ({below / field.size:.1%} of the grid)")
    print("(b) step by step on one thread, best of 5: wall ms, CPU ms, each / in memory on one thread")
    for name, (wall, cpu) in rows.items():
        print(f"  {name:32s} {wall:7.1f} {cpu:7.1f} {wall / one[0]:6.2f} {cpu / one[1]:6.2f}")


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
    acc_memory, cpu_memory = wall_cpu(lambda: xa.accumulate(memory, field), 7)
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")
    print(f"{n}x{n} grid, {tile}x{tile} tiles ({tiled.n_tiles}); networks built beforehand")
    print(f"build: in memory {build_memory:.2f} s, tiled {build_tiled:.2f} s, persist {persist_time:.2f} s, "
          f"cutting the in-memory network (first call) {cut_time:.2f} s")  # fmt: skip
    print(f"accumulate in memory (numpy field), best of 7: {acc_memory:.1f} ms wall, {cpu_memory:.1f} ms CPU")
    for name, net in cases.items():
        same = np.array_equal(xa.accumulate(net, lazy).compute(), expected, equal_nan=True)
        wall, cpu = wall_cpu(lambda net=net: xa.accumulate(net, lazy).compute(), 7)
        print(
            f"accumulate tiled {name}: {wall:.1f} ms wall (ratio {wall / acc_memory:.2f}), "
            f"{cpu:.1f} ms CPU (ratio {cpu / cpu_memory:.2f}), identical: {same}"
        )
    wall, cpu = wall_cpu(lambda: dask.persist(xa.accumulate(kept, lazy)), 7)
    print(
        f"accumulate tiled (b), its tiles computed, not gathered into one array (dask.persist, as "
        f"a zarr write): {wall:.1f} ms wall (ratio {wall / acc_memory:.2f}), {cpu:.1f} ms CPU "
        f"(ratio {cpu / cpu_memory:.2f})"
    )
    steps(kept, memory, field, lazy)
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
