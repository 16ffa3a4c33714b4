"""Peers at the largest size each can do here (issue 18): pyflwdir, earthkit-hydro and ours in memory.

``python benchmarks/peers_largest.py [--sizes 4096 8192 16384 23170] [--cap-gib 18]``

For each library and each size N (ascending) one subprocess, run under
``flock /work/bigrun.lock`` (so no two big runs overlap on the shared machine):

1. generates the synthetic N x N LDD network and its float32 runoff in memory, band by
   band (:mod:`synthetic_zarr`: the same cells as the zarr generator; no N x N
   elevation temporary);
2. builds the library's network from the codes and accumulates the runoff:

   - pyflwdir 0.5.12: ``pyflwdir.from_array(codes, ftype="ldd")`` then ``accuflux(runoff)``
     (its cell order is computed inside ``accuflux``: counted there);
   - earthkit-hydro 1.4: ``RiverNetwork(from_d8(codes, "pcr_d8"))`` (what its
     ``river_network.create`` calls on an array) then ``upstream.array.sum``;
   - ours: ``RiverNetwork.from_ldd(codes)`` then ``accumulate(net, runoff)``, in memory.

The parent samples the resident memory of the subprocess tree every 20 ms and kills it
past ``--cap-gib`` (counted as out of memory, as is a ``MemoryError``); a library stops
at its first failure. Each row: build and accumulate seconds, cells per second (build +
accumulate), the peak RSS of the process tree (inputs included: codes 1 B and runoff
4 B per cell) and the largest accumulated value (all three agree to float rounding).

Each result is printed as a JSON line, then a Markdown table (for ``RESULTS.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import synthetic_zarr  # noqa: E402

LOCK = "/work/bigrun.lock"
LIBRARIES = ("pyflwdir", "earthkit-hydro", "ours")


def inputs(n: int, band: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The N x N synthetic LDD codes and runoff, generated band by band."""
    codes = np.empty((n, n), np.uint8)
    runoff = np.empty((n, n), np.float32)
    for r0 in range(0, n, band):
        rows = slice(r0, min(r0 + band, n))
        codes[rows], runoff[rows] = synthetic_zarr.tile(rows, slice(0, n), (n, n))
    return codes, runoff


def library(name: str):
    """``(build(codes), accumulate(network, runoff))`` of a library."""
    if name == "pyflwdir":
        import pyflwdir

        return (lambda codes: pyflwdir.from_array(codes, ftype="ldd", check_ftype=False),
                lambda net, runoff: net.accuflux(runoff))  # fmt: skip
    if name == "earthkit-hydro":
        from earthkit.hydro import upstream
        from earthkit.hydro._readers import from_d8
        from earthkit.hydro.data_structures import RiverNetwork as EkNetwork

        return lambda codes: EkNetwork(from_d8(codes, "pcr_d8")), upstream.array.sum
    import xhydro_accessor as xa

    return xa.RiverNetwork.from_ldd, xa.accumulate


def one(name: str, n: int) -> dict:
    """Run one library at one size in this process (the subprocess's job)."""
    build, accumulate = library(name)
    small_codes, small_runoff = inputs(300)
    accumulate(build(small_codes), small_runoff)  # warm up: JIT compilation, caches
    start = time.perf_counter()
    codes, runoff = inputs(n)
    generate = time.perf_counter() - start
    start = time.perf_counter()
    net = build(codes)
    built = time.perf_counter() - start
    start = time.perf_counter()
    out = np.asarray(accumulate(net, runoff))
    accumulated = time.perf_counter() - start
    largest = float(np.nanmax(out))
    return {"library": name, "n": n, "cells": n * n, "generate_seconds": generate,
            "build_seconds": built, "accumulate_seconds": accumulated, "max": largest}  # fmt: skip


def tree_rss(process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except Exception:  # ended meanwhile
            pass
    return total


def run_locked(name: str, n: int, cap: int, timeout: float) -> dict:
    """One subprocess under the big-run lock, its tree's RSS watched (killed past ``cap``)."""
    import psutil

    command = ["flock", LOCK, sys.executable, __file__, "--one", name, str(n)]
    root = str(Path(__file__).resolve().parents[1])  # this checkout's package, not an installed one
    env = os.environ | {"PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    watched = psutil.Process(child.pid)
    peak, killed, start = 0, None, None
    while child.poll() is None:
        if start is None and watched.children():  # the lock is taken: the run starts
            start = time.monotonic()
        rss = tree_rss(watched)
        peak = max(peak, rss)
        if rss > cap or (start is not None and time.monotonic() - start > timeout):
            killed = "memory cap" if rss > cap else "timeout"
            for p in [*watched.children(recursive=True), watched]:
                try:
                    p.kill()
                except Exception:
                    pass
            break
        time.sleep(0.02)
    stdout, stderr = child.communicate()
    row = {"library": name, "n": n, "cells": n * n, "peak_bytes": peak}
    if killed:
        return row | {"failed": f"killed at {peak / 2**30:.1f} GiB ({killed})"}
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if child.returncode or not lines:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        return row | {"failed": f"exit {child.returncode}: {last[:200]}"}
    return row | json.loads(lines[-1])


def table(rows: list[dict]) -> str:
    lines = [
        "| library | grid | cells | build s | accumulate s | cells/s (build + accumulate) "
        "| peak RSS GiB | max value |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        head = f"| {r['library']} | {r['n']}² | {r['cells']:.3g} |"
        if "failed" in r:
            lines.append(f"{head} — | — | {r['failed']} | {r['peak_bytes'] / 2**30:.1f} | — |")
            continue
        total = r["build_seconds"] + r["accumulate_seconds"]
        lines.append(
            f"{head} {r['build_seconds']:.1f} | {r['accumulate_seconds']:.1f} | {r['cells'] / total:.3g} "
            f"| {r['peak_bytes'] / 2**30:.2f} | {r['max']:.6g} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192, 16384, 23170])
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=LIBRARIES)
    parser.add_argument("--cap-gib", type=float, default=18.0, help="kill a run past this RSS")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--one", nargs=2, metavar=("LIBRARY", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))), flush=True)
        return
    rows = []
    for name in args.libraries:
        for n in sorted(args.sizes):
            row = run_locked(name, n, int(args.cap_gib * 2**30), args.timeout)
            print(json.dumps(row), flush=True)
            rows.append(row)
            if "failed" in row:
                break
    print(table(rows))


if __name__ == "__main__":
    main()
