"""Big grids, zarr to zarr (issue 18 benchmarks): time, rate and peak memory.

``python benchmarks/big.py [N] [--chunk 4096] [--workdir DIR]``
    (a) generates the N x N synthetic network and its float32 runoff into zarr, tile by
    tile (:mod:`synthetic_zarr`); (b) builds the network from the zarr codes and
    accumulates the runoff into a zarr store; (c) reports the wall time, cells per
    second per core end to end (reading, building, accumulating, writing) and for the
    compute alone, and the peak resident memory of the whole process tree.

    Through the tiled path (``xhydro_accessor.backends.tiled``, issue 18 items 1-3) when
    the package has it: ``RiverNetwork.from_ldd`` of the dask-backed codes and
    ``accumulate`` of the dask runoff, written chunk by chunk; its compute-only time is
    the end-to-end time less a pass that reads both inputs and writes a float32 grid.
    Without it, in memory: the codes and runoff are loaded, the network built and the
    runoff accumulated (compute-only: these two), the result written to zarr; the report
    says which path ran.

``python benchmarks/big.py --sparse [N]`` (default N = 46341: 2 147 488 281 cells,
    past 2**31): a grid all missing but one river of 1000 cells, written to zarr (only
    its chunk holds data); the network is built (64-bit indices) and, through the tiled
    path only, the runoff accumulated (in memory, a grid field alone would be 8.6 GB).

``python benchmarks/big.py --pyflwdir N``: pyflwdir (``from_array`` + ``accuflux``) on
    the same synthetic N x N grid in memory, for the table.

Each line printed is a result (also as JSON with ``--json``). Run small sizes only on a
shared machine; N = 32768 (10**9 cells) takes minutes and, in memory, ~20 GB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import synthetic_zarr  # noqa: E402

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def tiled_path_exists() -> bool:
    return importlib.util.find_spec("xhydro_accessor.backends.tiled") is not None


class PeakMemory:
    """Peak resident memory of this process and all its children, sampled every 10 ms;
    this process's own peak is also read exactly from Linux's VmHWM (reset on entry)."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def tree_rss(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # a child that just ended
                pass
        return total

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.tree_rss())

    def __enter__(self) -> PeakMemory:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        self.peak = self.tree_rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        try:
            with open("/proc/self/status") as f:
                hwm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
            self.peak = max(self.peak, hwm)
        except (OSError, StopIteration):
            pass


def report(results: list[dict], as_json: bool) -> None:
    for r in results:
        if as_json:
            print(json.dumps(r))
            continue
        rates = ""
        if r.get("seconds"):
            rates = f", {r['cells'] / r['seconds'] / CORES:.3g} cells/s/core"
        if r.get("compute_seconds"):
            rates += f" ({r['cells'] / r['compute_seconds'] / CORES:.3g} compute only)"
        print(
            f"{r['case']}: {r['cells']:,} cells, {r.get('seconds', 0):.1f} s{rates}, "
            f"peak RSS {r['peak_bytes'] / 2**30:.2f} GiB; {r.get('note', '')}"
        )


def warm_up() -> None:
    """Compile (or load) every kernel before timing."""
    import xhydro_accessor as xa

    codes, runoff = synthetic_zarr.generate(300, 300)
    xa.accumulate(xa.RiverNetwork.from_ldd(codes), runoff)


def dense(n: int, chunk: int, workdir: Path, cluster: bool = False) -> list[dict]:
    import dask.array as da
    import xarray as xr

    import xhydro_accessor as xa

    warm_up()
    results = []
    if cluster:
        return [*clustered(n, chunk, workdir)]
    store = workdir / f"synthetic_{n}.zarr"
    with PeakMemory() as mem:
        start = time.perf_counter()
        synthetic_zarr.write_zarr(store, n, n, chunk)
        seconds = time.perf_counter() - start
    results.append({"case": f"generate {n}x{n} into zarr (chunks {chunk})", "cells": n * n,
                    "seconds": seconds, "peak_bytes": mem.peak, "note": "dask threads"})  # fmt: skip
    out = workdir / f"accumulated_{n}.zarr"
    tiled = tiled_path_exists()
    with PeakMemory() as mem:
        start = time.perf_counter()
        ds = xr.open_zarr(store, consolidated=False)
        if tiled:
            net = xa.RiverNetwork.from_ldd(ds.ldd)
            flow = xa.accumulate(net, ds.runoff.data)
            da.to_zarr(flow, str(out), overwrite=True)
            compute = None
        else:
            codes, runoff = ds.ldd.load(), ds.runoff.values
            begin = time.perf_counter()
            net = xa.RiverNetwork.from_ldd(codes)
            flow = xa.accumulate(net, runoff)
            compute = time.perf_counter() - begin
            del codes, runoff, net
            da.to_zarr(da.from_array(flow, chunks=chunk), str(out), overwrite=True)
        seconds = time.perf_counter() - start
    if tiled:  # the I/O alone: read both inputs, write a float32 grid
        copy = workdir / "io_copy.zarr"
        begin = time.perf_counter()
        ds = xr.open_zarr(store, consolidated=False)
        da.to_zarr((ds.runoff.data + ds.ldd.data).astype(np.float32), str(copy), overwrite=True)
        compute = seconds - (time.perf_counter() - begin)
        shutil.rmtree(copy, ignore_errors=True)
    results.append({
        "case": f"build + accumulate {n}x{n}, zarr to zarr", "cells": n * n, "seconds": seconds,
        "compute_seconds": compute, "peak_bytes": mem.peak,
        "note": "tiled path (dask)" if tiled else "in memory (the tiled path is not in this package)",
    })  # fmt: skip
    return results


def clustered(n: int, chunk: int, workdir: Path) -> list[dict]:
    """The 10**9 job under ``LocalCluster(n_workers=2, threads_per_worker=1,
    memory_limit="3.5GB")``: time, peak RSS of the tree (the workers are children),
    and whether a worker was restarted or paused (its pid changed, or the logs say so)."""
    import dask.array as da
    import distributed
    import xarray as xr

    import xhydro_accessor as xa

    store = workdir / f"synthetic_{n}.zarr"
    out = workdir / f"accumulated_{n}.zarr"
    with PeakMemory() as mem:
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, memory_limit="3.5GB", dashboard_address=None
        )
        client = distributed.Client(cluster)
        try:
            synthetic_zarr.write_zarr(store, n, n, chunk)
            client.run(warm_up)
            pids = client.run(os.getpid)
            start = time.perf_counter()
            ds = xr.open_zarr(store, consolidated=False)
            net = xa.RiverNetwork.from_ldd(ds.ldd)
            flow = xa.accumulate(net, ds.runoff.data)
            da.to_zarr(flow, str(out), overwrite=True)
            seconds = time.perf_counter() - start
            after = client.run(os.getpid)
            words = ("restart", "paus", "memory use is high", "spill", "kill", "terminat")
            logs = [
                line
                for worker_logs in client.get_worker_logs().values()
                for _, line in worker_logs
                if any(w in line.lower() for w in words)
            ]
            events = [e for _, e in client.get_events("all")] if hasattr(client, "get_events") else []
        finally:
            client.close()
            cluster.close()
    restarted = sorted(pids.values()) != sorted(after.values())
    note = (
        f"LocalCluster(2 workers x 1 thread, 3.5GB each); worker restarted: {restarted}; "
        f"worker log lines on memory/restarts: {len(logs)} {logs[:5]}; cluster events: {len(events)}"
    )
    return [{"case": f"build + accumulate {n}x{n}, zarr to zarr, LocalCluster", "cells": n * n,
             "seconds": seconds, "peak_bytes": mem.peak, "note": note}]  # fmt: skip


def sparse(n: int, chunk: int, workdir: Path) -> list[dict]:
    import dask.array as da
    import xarray as xr
    import zarr

    import xhydro_accessor as xa

    warm_up()
    store = workdir / f"sparse_{n}.zarr"
    group = zarr.open_group(store, mode="w")
    ldd = group.create_array("ldd", shape=(n, n), chunks=(chunk, chunk), dtype="uint8", fill_value=255,
                             dimension_names=("y", "x"))  # fmt: skip
    river = np.full((1, 1001), 6, np.uint8)
    river[0, -1] = 5
    ldd[n - 1 : n, n - 1341 : n - 340] = river  # past 2**31 in flat indices when n*n > 2**31
    ldd.attrs["convention"] = "ldd"
    runoff = group.create_array("runoff", shape=(n, n), chunks=(chunk, chunk), dtype="float32",
                                fill_value=1.0, dimension_names=("y", "x"))  # fmt: skip
    del runoff
    results = []
    tiled = tiled_path_exists()
    with PeakMemory() as mem:
        start = time.perf_counter()
        ds = xr.open_zarr(store, consolidated=False)
        net = xa.RiverNetwork.from_ldd(ds.ldd if tiled else ds.ldd.values)
        note = f"{net.n_nodes} network cells, {np.dtype(net.nodes.dtype).name} indices"
        if tiled:
            flow = xa.accumulate(net, ds.runoff.data)
            da.to_zarr(flow, str(workdir / "sparse_accumulated.zarr"), overwrite=True)
            note += "; accumulated through the tiled path"
        else:
            note += "; in memory, built only (accumulating a grid field needs the tiled path)"
        seconds = time.perf_counter() - start
    results.append({"case": f"sparse {n}x{n}, one river", "cells": n * n, "seconds": seconds,
                    "peak_bytes": mem.peak, "note": note})  # fmt: skip
    return results


def with_pyflwdir(n: int) -> list[dict]:
    import pyflwdir

    codes, runoff = synthetic_zarr.generate(n, n)
    pyflwdir.from_array(codes[:300, :300], ftype="ldd", check_ftype=False).accuflux(runoff[:300, :300])
    with PeakMemory() as mem:
        start = time.perf_counter()
        flw = pyflwdir.from_array(codes, ftype="ldd", check_ftype=False)
        flow = flw.accuflux(runoff)
        seconds = time.perf_counter() - start
    del flow
    return [{"case": f"pyflwdir from_array + accuflux {n}x{n}", "cells": n * n, "seconds": seconds,
             "compute_seconds": seconds, "peak_bytes": mem.peak,
             "note": "in memory: the process's peak, the input grids included"}]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "n", type=int, nargs="?", default=None, help="grid side (default 32768; sparse 46341)"
    )
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--sparse", action="store_true", help="the sparse past-2**31 grid")
    parser.add_argument("--pyflwdir", action="store_true", help="pyflwdir in memory at size n")
    parser.add_argument(
        "--workdir", default=None, help="where the zarr stores go (default: a temporary folder)"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--cluster", action="store_true", help="under a 2-worker, 3.5 GB each dask.distributed LocalCluster"
    )
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="xhydro-big-"))
    workdir.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    try:
        if args.pyflwdir:
            results = with_pyflwdir(args.n or 4096)
        elif args.sparse:
            results = sparse(args.n or 46341, args.chunk, workdir)
        else:
            results = dense(args.n or 32768, args.chunk, workdir, args.cluster)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    loads = " / ".join(" ".join(f"{x:.2f}" for x in avg) for avg in (load, os.getloadavg()))
    print(f"# {CORES} cores; cells/s/core = cells / seconds / {CORES}; load average before / after: {loads}")
    report(results, args.json)


if __name__ == "__main__":
    main()
