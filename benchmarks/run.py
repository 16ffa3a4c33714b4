"""Benchmark flow accumulation: xhydro_accessor against pyflwdir and earthkit-hydro.

``python benchmarks/run.py [--quick]`` runs everything in one process, prints a table
and writes it to ``benchmarks/RESULTS.md``. ``--quick`` (a smoke run: a 1000×1000
synthetic network instead of 4000×4000, fewer repeats, no torch) writes
``benchmarks/.cache/RESULTS-quick.md`` instead.

What is measured, per network and library:

- libraries: ours and pyflwdir (numba), earthkit-hydro with numpy arrays and, when
  torch is importable, with torch tensors (``RiverNetwork.to_device("cpu", "torch")``,
  numpy in and out through zero-copy conversions).
- build: from the code array to a network ready to accumulate (pyflwdir's lazily
  computed order ``idxs_seq`` is forced, or its first ``accuflux`` would pay for it).
- accum: one float64 field, grid in and grid out.
- ens50: a (50, ny, nx) float64 ensemble in one call (pyflwdir: a loop over members
  into a preallocated output). When the estimated working set does not fit in memory
  the members go in chunks; when 50 single fields would take over ENSEMBLE_LIMIT
  seconds the ensemble is skipped. The notes say so.
- s: every library first ran on a tiny network (numba JIT, cache loading, torch
  start-up excluded); "1st" is the first call on this network, the other columns the
  median of further calls (at least 0.5 s of them, at most 7, fewer past a time budget).
- MB: of that first call, the rise of the process's peak resident set size (Linux
  VmHWM, reset through /proc/self/clear_refs after malloc_trim) over its resident
  size just before: pages touched, numba, Rust and torch allocations and the result
  included; the inputs, allocated beforehand, not.
- accum s in turn: ours and the fastest peer called in turn, call after call, the
  ratio of their median times: both see the same state of the machine, which on this
  VM can shift between one library's calls and the next's; each call also finds the
  cache holding the other's data, as in a model loop that does other work in between.
- steal: a note says when the hypervisor gave over 2 % of this VM's CPU time to others
  while a library ran on a network (``/proc/stat``): its times are then suspect.
- max|Δ|: the largest absolute difference from pyflwdir's result on valid cells (for
  the ensemble, on the first and last member of its last call). A sanity column: a
  fast wrong answer must be visible.
- order: the real networks first, the 16 M synthetic one last: after its memory-heavy
  runs this VM has served random memory accesses more slowly for a while, which slows
  the peers' passes more than ours (see RESULTS.md), so the real networks are measured
  in the state the machine starts in.
- start-up: fresh interpreters (after one that fills numba's on-disk cache and
  Python's bytecode cache, as an installed package has it) time
  ``import xhydro_accessor``, then reading and building the bundled network and the
  first ``accumulate`` of a float64 field on it.
"""

import argparse
import ctypes
import datetime
import functools
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the synthetic module; the repo's own package
from synthetic import longest_path, synthetic_d8  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data"
MEMBERS = 50
MIN_TIME = 0.5
ENSEMBLE_LIMIT = 300  # s: skip an ensemble estimated (50 single fields) to take longer
NOTES = []

# (row, column) steps to the eight neighbours, clockwise from east, and their codes
CLOCKWISE = [(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)]
STEPS = {
    "esri": dict(zip([1, 2, 4, 8, 16, 32, 64, 128], CLOCKWISE, strict=True)),
    "ldd": dict(zip([6, 3, 2, 1, 4, 7, 8, 9], CLOCKWISE, strict=True)),
}
PIT = {"esri": 0, "ldd": 5}


# --------------------------------------------------------------------------- measuring
def _status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))


LIBC = ctypes.CDLL("libc.so.6")


def measured(fn):
    """Call ``fn()``; return (result, seconds, peak resident-set rise in MB)."""
    LIBC.malloc_trim(0)  # hand freed heap pages back, or a new array reuses them unseen
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    return out, seconds, (_status("VmHWM") - before) / 2**20


def steal_ticks():
    """(CPU time the hypervisor gave to others, all CPU time), in ticks, from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return ticks[7], sum(ticks)


def timed(fn, repeats, budget=30.0, check=None):
    """Time ``fn``: return (first call s, median s, first call's peak MB, ``check(first result)``).

    The median is over ``repeats`` calls after the first (more, up to 50, while they add
    up to less than MIN_TIME seconds; fewer once they pass ``budget``).
    """
    out, first, peak = measured(fn)
    checked = check(out) if check else out
    del out
    times = []
    while (len(times) < repeats and sum(times) + first < budget) or (
        sum(times) < MIN_TIME and len(times) < 50
    ):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times or [first]), peak, checked


STARTUP = """
import time
started = time.perf_counter()
import xhydro_accessor
imported = time.perf_counter()
import numpy as np
from xhydro_accessor.samples import sample_network
network = sample_network()
xhydro_accessor.accumulate(network, np.ones(network.shape))
print(imported - started, time.perf_counter() - imported)
"""


def startup(runs=5):
    """A line on ``runs`` fresh interpreters: import, then read + build + first accumulate."""
    path = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode compiled
    command = [sys.executable, "-c", STARTUP]

    def run():
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(done.stderr)
        return [float(t) for t in done.stdout.split()]

    run()  # fills numba's on-disk cache and the bytecode cache if they are empty
    times = np.array([run() for _ in range(runs)])
    imports, calls, totals = times[:, 0], times[:, 1], times.sum(axis=1)

    def spread(t):
        return f"{t.min():.2f}–{t.max():.2f} s (median {np.median(t):.2f})"

    return (
        f"Start-up, {runs} fresh interpreters: `import xhydro_accessor` {spread(imports)}; then reading "
        f"and building the bundled network and the first `accumulate` {spread(calls)}; "
        f"together {spread(totals)}."
    )


# --------------------------------------------------------------------------- networks
def edge_outflow(codes, kind):
    """Mask of the cells whose flow leaves the grid."""
    ny, nx = codes.shape
    dr, dc = np.zeros(256, int), np.zeros(256, int)
    for code, (r, c) in STEPS[kind].items():
        dr[code], dc[code] = r, c
    idx = codes.astype(np.uint8)
    rows = np.arange(ny)[:, None] + dr[idx]
    cols = np.arange(nx)[None, :] + dc[idx]
    return (rows < 0) | (rows >= ny) | (cols < 0) | (cols >= nx)


def networks(quick):
    tif = DATA / "rhine_30s_esri_d8.tif"
    try:
        from xhydro_accessor.io import read_flow_directions

        yield "rhine 30″ D8", read_flow_directions(tif).values, "esri"
    except ImportError as err:
        NOTES.append(f"rhine_30s_esri_d8.tif skipped: {err}")

    yield "EFAS 5 km LDD", ldd_netcdf("efas_5km_europe_ldd.nc"), "ldd"
    raw = np.fromfile(DATA / "pyflwdir2020_30s_d8.bin", dtype=np.uint8)
    yield "pyflwdir2020 D8", raw.reshape(678, 776), "esri"  # 247 = missing
    # smaller, but one cell drains off the grid: shows how earthkit-hydro's wrapping is handled
    yield "South America LDD", ldd_netcdf("southamerica_ldd.nc"), "ldd"

    n = 1000 if quick else 4000
    t0 = time.perf_counter()
    d8 = synthetic_d8(n)
    NOTES.append(f"synthetic {n}²: longest flow path {longest_path(d8):,} cells, {(d8 == 0).sum():,} outlets")
    print(f"synthetic {n}x{n}: {time.perf_counter() - t0:.1f} s; {NOTES[-1]}")
    yield f"synthetic {n}²", d8, "esri"


def ldd_netcdf(name):
    """The 2-D LDD variable of a netCDF3 file as uint8, 255 for missing."""
    import xarray as xr

    with xr.open_dataset(DATA / name, engine="scipy", mask_and_scale=False) as ds:
        ldd = next(v for v in ds.data_vars.values() if v.ndim == 2).values
    return np.where((ldd >= 1) & (ldd <= 9), ldd, 255).astype(np.uint8)


# --------------------------------------------------------------------------- libraries
def ours():
    from xhydro_accessor import RiverNetwork, accumulate

    def build(codes, kind):
        return (
            RiverNetwork.from_d8(codes, convention="esri") if kind == "esri" else RiverNetwork.from_ldd(codes)
        )

    return build, accumulate, accumulate


def pyflwdir_lib():
    import pyflwdir

    def build(codes, kind):
        flw = pyflwdir.from_array(codes, ftype="d8" if kind == "esri" else "ldd", latlon=False)
        flw.idxs_seq  # noqa: B018 - force the lazily computed order
        return flw

    def accumulate(flw, field):
        return flw.accuflux(field)

    def ensemble(flw, field):
        out = np.empty_like(field)
        for m, member in enumerate(field):
            out[m] = flw.accuflux(member)
        return out

    return build, accumulate, ensemble


def earthkit_lib():
    # The public ``river_network.create`` only reads files (through earthkit-data, not
    # installed here); these are the functions it calls on the array it reads.
    from earthkit.hydro import upstream
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork

    def build(codes, kind):
        return RiverNetwork(from_d8(codes, "esri_d8" if kind == "esri" else "pcr_d8"))

    def accumulate(net, field):
        return upstream.array.sum(net, field)

    return build, accumulate, accumulate


def earthkit_torch_lib():
    import torch
    from earthkit.hydro import upstream

    build_numpy = earthkit_lib()[0]
    # one thread like the others; two also spin-wait badly when another process shares the cores
    torch.set_num_threads(1)
    NOTES.append(f"torch {torch.__version__}, CPU, torch.set_num_threads(1) like the other libraries")

    def build(codes, kind):
        return build_numpy(codes, kind).to_device("cpu", "torch")

    def accumulate(net, field):  # numpy in and out: both conversions share memory
        return upstream.array.sum(net, torch.from_numpy(field)).numpy()

    return build, accumulate, accumulate


LIBRARIES = {
    "ours": ours,
    "pyflwdir": pyflwdir_lib,
    "earthkit-hydro": earthkit_lib,
    "earthkit-hydro torch": earthkit_torch_lib,
}
# working set of one ensemble call in multiples of its input (measured ~1, ~1, ~3.9, plus margin)
# torch's out-of-place index_add allocates and copies the whole field at every level:
# one accumulation on the 16 M-cell synthetic network took ~470 s (mostly page faults)
MAX_CELLS = {"earthkit-hydro torch": 2_000_000}
ENSEMBLE_COPIES = {"ours": 1.5, "pyflwdir": 1.5, "earthkit-hydro": 4, "earthkit-hydro torch": 5}


def earthkit_codes(name, codes, kind, build, accumulate, ref, valid):
    """earthkit-hydro wraps flow leaving the grid: record what it does, then recode as pits."""
    off = edge_outflow(codes, kind) & valid
    if not off.any():
        return codes
    try:
        wrapped = accumulate(build(codes, kind), np.ones(codes.shape))
        what = f"max|Δ| {np.nanmax(np.abs(wrapped - ref)[valid]):.3g} on upstream cell counts"
    except Exception as err:  # noqa: BLE001 - record whatever it raises
        what = f"{type(err).__name__}: {err}"
    NOTES.append(
        f"{name}: {off.sum()} cell(s) drain off the grid; earthkit-hydro wraps them to the opposite edge "
        f"({what}); benchmarked with those cells recoded as pits."
    )
    fixed = codes.copy()
    fixed[off] = PIT[kind]
    return fixed


# --------------------------------------------------------------------------- the run
def bench_network(name, codes, kind, libs, repeats, rows):
    field = np.random.default_rng(42).random(codes.shape)
    members = np.random.default_rng(7).random((MEMBERS, *codes.shape))
    builds = {lib: make() for lib, make in libs.items()}
    ref_net = builds["pyflwdir"][0](codes, kind)
    valid = ref_net.mask.reshape(codes.shape)
    ref = ref_net.accuflux(field)
    ref_cells = ref_net.accuflux(np.ones(codes.shape))
    print(f"\n{name}: {codes.shape[0]}×{codes.shape[1]}, {valid.sum():,} valid cells")
    ours, peer = None, None  # (row, call) of ours; (accum s, library, call) of the fastest peer so far
    for lib, (build, accumulate, ensemble) in builds.items():
        if codes.size > MAX_CELLS.get(lib, codes.size):
            NOTES.append(f"{name}, {lib}: skipped, over {MAX_CELLS[lib]:,} cells (see MAX_CELLS)")
            continue
        lib_codes = codes
        if lib.startswith("earthkit"):
            lib_codes = earthkit_codes(name, codes, kind, build, accumulate, ref_cells, valid)
        row = {"network": name, "cells": int(valid.sum()), "library": lib}
        gc.collect()  # once here: it is slow with earthkit-hydro's thousands of level arrays alive
        steal_before = steal_ticks()
        try:
            _, row["build s"], row["build MB"], net = timed(lambda: build(lib_codes, kind), repeats)  # noqa: B023
            row["accum 1st s"], row["accum s"], row["accum MB"], row["max|Δ|"] = timed(
                lambda: accumulate(net, field),  # noqa: B023
                repeats,
                check=lambda out: float(np.max(np.abs(out - ref)[valid])),
            )
            call = functools.partial(accumulate, net, field)
            if lib == "ours":
                ours = row, call
            elif peer is None or row["accum s"] < peer[0]:
                peer = row["accum s"], lib, call
            if row["accum s"] * MEMBERS > ENSEMBLE_LIMIT:
                NOTES.append(
                    f"{name}, {lib}: ensemble skipped, 50 × accum = {row['accum s'] * MEMBERS:.0f} s"
                )
            else:
                row.update(bench_ensemble(name, lib, net, ensemble, members, valid, ref_net, repeats // 2))
        except Exception as err:  # noqa: BLE001 - a failing library is a result too
            NOTES.append(f"{name}, {lib}: {type(err).__name__}: {err}")
        stolen, total = np.subtract(steal_ticks(), steal_before)
        if stolen > 0.02 * total:
            NOTES.append(f"{name}, {lib}: the hypervisor took {stolen / total:.0%} of the CPU time (steal)")
        rows.append(row)
        print("  " + "  ".join(f"{k} {fmt(v)}" for k, v in row.items() if k not in ("network", "cells")))
    if ours and peer:
        ours[0]["accum s in turn"] = in_turn(ours[1], peer[2])
        print(f"  ours / {peer[1]}, called in turn: {ours[0]['accum s in turn']:.2f}")


def in_turn(ours_call, peer_call):
    """Ratio of the median times of two calls made in turn, call after call (at least
    MIN_TIME seconds of each, 20 to 200 pairs): both see the same machine state."""
    times = ([], [])
    while len(times[0]) < 20 or (min(map(sum, times)) < MIN_TIME and len(times[0]) < 200):
        for call, spent in zip((ours_call, peer_call), times, strict=True):
            t0 = time.perf_counter()
            call()
            spent.append(time.perf_counter() - t0)
    return statistics.median(times[0]) / statistics.median(times[1])


def bench_ensemble(name, lib, net, ensemble, field, valid, ref_net, repeats):
    with open("/proc/meminfo") as f:
        available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    chunks = max(1, int(np.ceil(ENSEMBLE_COPIES[lib] * field.nbytes / (0.9 * available))))
    size = -(-MEMBERS // chunks)
    if chunks > 1:
        NOTES.append(f"{name}, {lib}: ensemble in {chunks} calls of ≤{size} members, to fit in memory")

    def run():  # keeps only the last call's result, so the chunks never add up in memory
        for start in range(0, MEMBERS, size):
            out = ensemble(net, field[start : start + size])
        return start, out

    def check(result):  # the first and last member of the last call
        start, out = result
        return max(
            float(np.max(np.abs(out[i] - ref_net.accuflux(field[start + i]))[valid]))
            for i in (0, len(out) - 1)
        )

    keys = ("ens 1st s", "ens50 s", "ens MB", "ens max|Δ|")
    return dict(zip(keys, timed(run, repeats, budget=60, check=check), strict=True))


def fmt(v):
    if isinstance(v, float):
        return f"{v:.1e}" if v and (abs(v) < 1e-2 or abs(v) >= 1e5) else f"{v:.3g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


COLUMNS = [
    "network",
    "cells",
    "library",
    "build s",
    "build MB",
    "accum s",
    "accum 1st s",
    "accum MB",
    "max|Δ|",
    "ens50 s",
    "ens MB",
    "ens max|Δ|",
]
RATIOS = ["build s", "build MB", "accum s", "accum MB", "ens50 s", "ens MB"]


def tables(rows):
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(fmt(r.get(c, "—")) for c in COLUMNS) + " |" for r in rows]
    ratio = [
        "",
        "Ours / best peer (< 1: ours is faster or smaller):",
        "",
        "| network | " + " | ".join(RATIOS) + " | accum s in turn |",
        "|---|" + "---|" * (len(RATIOS) + 1),
    ]
    for name in dict.fromkeys(r["network"] for r in rows):
        mine = next((r for r in rows if r["network"] == name and r["library"] == "ours"), {})
        peers = [r for r in rows if r["network"] == name and r["library"] != "ours"]
        cells = []
        for c in RATIOS:
            best = min((p[c] for p in peers if c in p), default=None)
            cells.append(f"{mine[c] / best:.2f}" if c in mine and best else "—")
        cells.append(f"{mine['accum s in turn']:.2f}" if "accum s in turn" in mine else "—")
        ratio.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines + ratio)


def machine():
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import xhydro_accessor

    libs = ", ".join(f"{p} {version(p)}" for p in ("numpy", "numba", "pyflwdir", "earthkit-hydro"))
    libs = f"xhydro_accessor {xhydro_accessor.__version__} (this tree), {libs}"
    return (
        f"- date: {datetime.date.today()}\n- CPU: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB memory\n"
        f"- Python {platform.python_version()}; {libs}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1000×1000 synthetic, fewer repeats, no torch"
    )
    args = parser.parse_args()
    global MIN_TIME, ENSEMBLE_LIMIT
    repeats, MIN_TIME, ENSEMBLE_LIMIT = (3, 0.1, 2) if args.quick else (7, MIN_TIME, ENSEMBLE_LIMIT)

    start_up = startup()  # first, while the machine is quiet
    print(start_up)
    libs = {}
    for lib, make in LIBRARIES.items():
        if args.quick and "torch" in lib:
            NOTES.append(f"{lib}: full run only (out-of-place index_add per level is slow)")
            continue
        try:  # warm-up on a tiny network: JIT compilation and numba cache loading
            build, accumulate, ensemble = make()
            codes = synthetic_d8(64)
            net = build(codes, "esri")
            accumulate(net, np.ones(codes.shape))
            ensemble(net, np.ones((2, *codes.shape)))
            libs[lib] = make
        except ImportError as err:
            NOTES.append(f"{lib} not benchmarked: {err}")
    rows = []
    for name, codes, kind in networks(args.quick):
        bench_network(name, codes, kind, libs, repeats, rows)

    table = tables(rows)
    notes = "\n".join(f"- {n}" for n in dict.fromkeys(NOTES))
    print("\n" + table + "\n\n" + notes)
    doc = __doc__.split("\n\n", 1)[1]
    text = (
        f"# Flow-accumulation benchmark\n\n`python benchmarks/run.py{' --quick' if args.quick else ''}`\n\n"
        f"{machine()}\n\n{doc}\n{table}\n\n{start_up}\n\nNotes:\n\n{notes}\n"
    )
    out = HERE / (".cache/RESULTS-quick.md" if args.quick else "RESULTS.md")
    out.write_text(text)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
