"""Benchmark catchment labelling and statistics at many gauges.

``python benchmarks/catalogue_bench.py [--gauges 10000] [--size 4000] [--repeat 1]`` times
the bundled EFAS 5 km network (950×1000 LDD, 367 k cells), then the cached synthetic
ESRI D8 network of ``--size`` (``benchmarks/.cache``), the gauges on random network
cells, after a warm-up on a tiny network (JIT excluded):

- labels: whole catchments (most downstream gauge wins) and nested ones (each gauge
  its own area) — ours; pyflwdir ``basins(idxs=all gauges)`` (nested); earthkit-hydro
  ``catchments.array.find`` (``overwrite=False`` nested, ``True`` whole);
- mean: the mean of one float64 field over each gauge's catchment — ours (whole and
  nested); earthkit-hydro ``catchments.array.mean`` (whole); pyflwdir has no catchment
  statistics: its labels + ``np.bincount`` (nested);
- labels nested, (row, col) tuples: ours given the gauges as a list of Python tuples;
- Hack order (pyflwdir's ``stream_order(type="classic")``), Pfafstetter sub-basins and
  sub-basins by area (ours and pyflwdir, upstream cells as the area; both libraries keep
  the main stem they derive, so the times are of warm calls);
- check: nested labels equal pyflwdir's (and ours / pyflwdir's time); whole means equal
  earthkit-hydro's.

Each figure is one run (best of ``--repeat``); the table goes to stdout and
``benchmarks/.cache/CATALOGUE-RESULTS.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
from synthetic import synthetic_d8  # noqa: E402

import xhydro_accessor as xa  # noqa: E402
from xhydro_accessor.hydrology.catchments import catchment_statistics, catchments  # noqa: E402
from xhydro_accessor.hydrology.stream_order import hack  # noqa: E402
from xhydro_accessor.hydrology.subbasins import subbasins  # noqa: E402


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def libraries(codes, kind="esri"):
    """Ours, pyflwdir's and earthkit-hydro's network of ESRI D8 (247 missing) or LDD (255) codes."""
    import pyflwdir
    from earthkit.hydro import catchments as ekc
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork as EkNetwork

    ours = xa.RiverNetwork.from_d8(codes, "esri") if kind == "esri" else xa.RiverNetwork.from_ldd(codes)
    flw = pyflwdir.from_array(codes.astype(np.uint8), ftype="d8" if kind == "esri" else "ldd")
    flw.order_cells()  # pyflwdir computes its order lazily: not part of the timing
    ek = EkNetwork(from_d8(codes, "esri_d8" if kind == "esri" else "pcr_d8"))
    return ours, flw, ek, ekc


def efas_codes():
    """The bundled EFAS 5 km LDD as uint8, 255 where missing."""
    from xhydro_accessor.io import read_flow_directions
    from xhydro_accessor.samples import sample_path

    ldd = np.asarray(read_flow_directions(sample_path()).values)
    return np.where((ldd >= 1) & (ldd <= 9), ldd, 255).astype(np.uint8)


def run(codes, n_gauges, repeat, rows, kind="esri"):
    ours, flw, ek, ekc = libraries(codes, kind)
    rng = np.random.default_rng(0)
    gauges = rng.choice(np.flatnonzero(ours.mask), size=n_gauges, replace=False)
    field = rng.random(ours.shape)
    n = gauges.size
    cells = flw.upstream_area("cell").astype(np.float64)
    nodes = np.searchsorted(np.flatnonzero(ours.mask), gauges)  # earthkit-hydro: indices of network cells
    pairs = list(zip(*(np.divmod(gauges, ours.shape[1])[k].tolist() for k in (0, 1)), strict=True))

    def pyflwdir_mean():
        labels = flw.basins(idxs=gauges).reshape(-1)
        sums = np.bincount(labels, weights=field.reshape(-1), minlength=n + 1)
        return sums[1:] / np.bincount(labels, minlength=n + 1)[1:]

    cases = [
        ("labels whole", "ours", lambda: catchments(ours, gauges)),
        ("labels nested", "ours", lambda: catchments(ours, gauges, nested=True)),
        ("labels nested", "pyflwdir", lambda: flw.basins(idxs=gauges)),
        ("labels nested, (row, col) tuples", "ours", lambda: catchments(ours, pairs, nested=True)),
        ("labels whole", "earthkit-hydro", lambda: ekc.array.find(ek, nodes, overwrite=True)),
        ("labels nested", "earthkit-hydro", lambda: ekc.array.find(ek, nodes, overwrite=False)),
        ("mean whole", "ours", lambda: catchment_statistics(ours, field, gauges, "mean")),
        ("mean nested", "ours", lambda: catchment_statistics(ours, field, gauges, "mean", nested=True)),
        ("mean nested", "pyflwdir labels + bincount", pyflwdir_mean),
        ("mean whole", "earthkit-hydro", lambda: ekc.array.mean(ek, field, nodes)),
        (
            "median nested",
            "ours",
            lambda: catchment_statistics(ours, field, gauges, "median", nested=True),
        ),
        ("hack order", "ours", lambda: hack(ours)),
        ("hack order", "pyflwdir classic", lambda: flw.stream_order(type="classic")),
        (
            "pfafstetter depth 2, upa_min 200 cells",
            "ours",
            lambda: subbasins(ours, "pfafstetter", depth=2, upa_min=200),
        ),
        (
            "pfafstetter depth 2, upa_min 200 cells",
            "pyflwdir",
            lambda: flw.subbasins_pfafstetter(depth=2, upa_min=200)[0],
        ),
        (
            "subbasins area_min 1000 cells",
            "ours",
            lambda: subbasins(ours, "area", area_min=1000, upstream_area=cells),
        ),
        ("subbasins area_min 1000 cells", "pyflwdir", lambda: flw.subbasins_area(1000, uparea=cells)[0]),
    ]
    results, times = {}, {}
    for what, lib, fn in cases:
        try:
            seconds, out = timed(fn, repeat)
        except Exception as error:  # a peer failing is a result, not a crash
            rows.append((what, lib, "failed", f"{type(error).__name__}: {str(error)[:60]}"))
            continue
        results[(what, lib)], times[(what, lib)] = out, seconds
        rows.append((what, lib, f"{seconds:.4f}", ""))
    if ("labels nested", "pyflwdir") in results:
        same = np.array_equal(results[("labels nested", "ours")], results[("labels nested", "pyflwdir")])
        rows.append(("check", "nested labels == pyflwdir", str(same), ""))
        ratio = times[("labels nested", "ours")] / times[("labels nested", "pyflwdir")]
        rows.append(("check", "nested labels: ours / pyflwdir time", f"{ratio:.2f}", ""))
    if ("mean whole", "earthkit-hydro") in results:
        diff = np.nanmax(
            np.abs(results[("mean whole", "ours")] - np.asarray(results[("mean whole", "earthkit-hydro")]))
        )
        rows.append(("check", "max abs diff, whole mean vs earthkit-hydro", f"{diff:.1e}", ""))
    for what in ("hack order", "pfafstetter depth 2, upa_min 200 cells"):
        pair = [results.get((what, lib)) for lib in ("ours", "pyflwdir classic", "pyflwdir")]
        ours_out, theirs = pair[0], pair[1] if pair[1] is not None else pair[2]
        if ours_out is not None and theirs is not None:
            same = np.array_equal(ours_out[ours.mask], theirs[ours.mask])
            rows.append(("check", f"{what} == pyflwdir", str(same), ""))
    nested = results[("mean nested", "ours")]
    rows.append(
        (
            "check",
            "max abs diff, nested mean vs pyflwdir+bincount",
            f"{np.max(np.abs(nested - pyflwdir_mean())):.1e}",
            "",
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gauges", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    warm = []
    run(synthetic_d8(64, seed=0), 20, 1, warm)  # JIT and caches
    efas = efas_codes()
    rows = []
    run(efas, args.gauges, args.repeat, rows, kind="ldd")
    lines = [
        f"# Catchments at {args.gauges} gauges, EFAS 5 km LDD 950×1000 "
        f"({int(np.count_nonzero(efas != 255))} cells)",
        "",
        "| operation | library | seconds | note |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ]
    codes = synthetic_d8(args.size, seed=0)
    rows = []
    run(codes, args.gauges, args.repeat, rows)
    lines += [
        "",
        f"# Catchments at {args.gauges} gauges, synthetic D8 {args.size}×{args.size} "
        f"({int(np.count_nonzero(codes != 247))} cells)",
        "",
        "| operation | library | seconds | note |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ]
    text = "\n".join(lines)
    print(text)
    (HERE / ".cache").mkdir(exist_ok=True)
    (HERE / ".cache" / "CATALOGUE-RESULTS.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
