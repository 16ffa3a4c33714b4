"""Dask scaling: a 50-member ensemble through ``.hydro.accumulate`` on 1 vs 2 workers.

``python benchmarks/dask_scaling.py [--members 50] [--chunk 5]`` — the bundled EFAS
network (950×1000 grid), a float64 runoff ensemble chunked along ``member``, computed
with dask's threaded scheduler on 1 and on 2 threads (the numba kernels release the
GIL), and with no dask at all. Two ways to finish: ``compute()`` (the chunk results
concatenated into one numpy array in this process, as in a notebook) and ``persist()``
(the results stay in dask's memory, chunked, as on a cluster before writing or reducing
them), and ``store`` (``dask.array.store`` into a fresh numpy array: one array like
``compute()``'s, each task writing its own block, so dask has nothing to concatenate).
Prints medians and the speed-ups. Not a test.
"""

import argparse
import os
import time

import dask.array
import numpy as np
import xarray as xr

import xhydro_accessor  # noqa: F401  (registers .hydro)
from xhydro_accessor.samples import sample_network


def median_time(compute, repeat=5):
    compute()  # warm-up: JIT cache, thread pool
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        compute()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--chunk", type=int, default=5, help="members per dask chunk")
    args = parser.parse_args()
    network = sample_network()
    rng = np.random.default_rng(0)
    runoff = xr.DataArray(rng.random((args.members, *network.shape)), dims=("member", "y", "x"))
    runoff = runoff.assign_coords(network.coords).hydro.assign_network(network)
    lazy = runoff.chunk(member=args.chunk).hydro.accumulate()

    eager = median_time(lambda: runoff.hydro.accumulate())
    np.testing.assert_allclose(lazy.compute().values, runoff.hydro.accumulate().values)
    print(f"{args.members} members, chunks of {args.chunk}, {network} on {os.cpu_count()} cores")
    print(f"numpy, one call                  {eager * 1e3:6.0f} ms")

    def store(**scheduler):
        target = np.empty(lazy.shape, lazy.dtype)
        dask.array.store(lazy.data, target, lock=False, **scheduler)
        return target

    np.testing.assert_array_equal(store(), lazy.values)
    for finish in ("compute", "persist", "store"):
        run = store if finish == "store" else getattr(lazy, finish)
        one, two = (median_time(lambda k=k, run=run: run(scheduler="threads", num_workers=k)) for k in (1, 2))
        print(f"dask {finish + ',':8s} 1 worker (thread) {one * 1e3:6.0f} ms")
        print(f"dask {finish + ',':8s} 2 workers         {two * 1e3:6.0f} ms  over 1: {one / two:.2f}×")


if __name__ == "__main__":
    main()
