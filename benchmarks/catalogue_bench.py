"""Benchmark catchment labelling and statistics at many gauges.

``python benchmarks/catalogue_bench.py [--gauges 10000] [--size 4000]`` builds the
cached synthetic ESRI D8 network (``benchmarks/.cache``), places the gauges on random
network cells and times, after a warm-up on a tiny network (JIT excluded):

- labels: whole catchments (most downstream gauge wins) and nested ones (each gauge
  its own area) — ours; pyflwdir ``basins(idxs=all gauges)`` (nested); earthkit-hydro
  ``catchments.array.find`` (``overwrite=False`` nested, ``True`` whole);
- mean: the mean of one float64 field over each gauge's catchment — ours (whole and
  nested); earthkit-hydro ``catchments.array.mean`` (whole); pyflwdir has no catchment
  statistics: its labels + ``np.bincount`` (nested);
- check: nested labels equal pyflwdir's; whole means equal earthkit-hydro's;
- percentile upstream on EFAS 5 km (the packaged ``efas_5km_europe_ldd.nc``, 367 k cells):
  the 90th percentile of a float field over every cell's upstream area, ours
  (``accumulate(how="percentile", q=90, method="inverted_cdf")``) against earthkit-hydro's
  ``upstream.array.percentile`` (which must give the same values); ``--percentile-only``
  runs this row alone.

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


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def libraries(codes):
    import pyflwdir
    from earthkit.hydro import catchments as ekc
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork as EkNetwork

    ours = xa.RiverNetwork.from_d8(codes, "esri")
    flw = pyflwdir.from_array(np.where(codes == 247, 247, codes).astype(np.uint8), ftype="d8")
    flw.order_cells()  # pyflwdir computes its order lazily: not part of the timing
    ek = EkNetwork(from_d8(codes, "esri_d8"))
    return ours, flw, ek, ekc


def run(codes, n_gauges, repeat, rows):
    ours, flw, ek, ekc = libraries(codes)
    rng = np.random.default_rng(0)
    gauges = rng.choice(np.flatnonzero(ours.mask), size=n_gauges, replace=False)
    field = rng.random(ours.shape)
    n = gauges.size

    def pyflwdir_mean():
        labels = flw.basins(idxs=gauges).reshape(-1)
        sums = np.bincount(labels, weights=field.reshape(-1), minlength=n + 1)
        return sums[1:] / np.bincount(labels, minlength=n + 1)[1:]

    cases = [
        ("labels whole", "ours", lambda: catchments(ours, gauges)),
        ("labels nested", "ours", lambda: catchments(ours, gauges, nested=True)),
        ("labels nested", "pyflwdir", lambda: flw.basins(idxs=gauges)),
        ("labels whole", "earthkit-hydro", lambda: ekc.array.find(ek, gauges, overwrite=True)),
        ("labels nested", "earthkit-hydro", lambda: ekc.array.find(ek, gauges, overwrite=False)),
        ("mean whole", "ours", lambda: catchment_statistics(ours, field, gauges, "mean")),
        ("mean nested", "ours", lambda: catchment_statistics(ours, field, gauges, "mean", nested=True)),
        ("mean nested", "pyflwdir labels + bincount", pyflwdir_mean),
        ("mean whole", "earthkit-hydro", lambda: ekc.array.mean(ek, field, gauges)),
        (
            "median nested",
            "ours",
            lambda: catchment_statistics(ours, field, gauges, "median", nested=True),
        ),
    ]
    results = {}
    for what, lib, fn in cases:
        try:
            seconds, out = timed(fn, repeat)
        except Exception as error:  # a peer failing is a result, not a crash
            rows.append((what, lib, "failed", f"{type(error).__name__}: {str(error)[:60]}"))
            continue
        results[(what, lib)] = out
        rows.append((what, lib, f"{seconds:.3f}", ""))
    if ("labels nested", "pyflwdir") in results:
        same = np.array_equal(results[("labels nested", "ours")], results[("labels nested", "pyflwdir")])
        rows.append(("check", "nested labels == pyflwdir", str(same), ""))
    if ("mean whole", "earthkit-hydro") in results:
        diff = np.nanmax(
            np.abs(results[("mean whole", "ours")] - np.asarray(results[("mean whole", "earthkit-hydro")]))
        )
        rows.append(("check", "max abs diff, whole mean vs earthkit-hydro", f"{diff:.1e}", ""))
    nested = results[("mean nested", "ours")]
    rows.append(
        (
            "check",
            "max abs diff, nested mean vs pyflwdir+bincount",
            f"{np.max(np.abs(nested - pyflwdir_mean())):.1e}",
            "",
        )
    )


def percentile_rows(repeat, rows):
    """Percentile upstream on EFAS 5 km: ours vs earthkit-hydro (same values required)."""
    import earthkit.hydro as ekh
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork as EkNetwork

    from xhydro_accessor.io import read_flow_directions

    codes = np.asarray(
        read_flow_directions(HERE.parent / "xhydro_accessor" / "data" / "efas_5km_europe_ldd.nc")
    )  # noqa: E501
    ours = xa.RiverNetwork.from_ldd(codes, nodata=-1)
    ek = EkNetwork(from_d8(np.where(np.isin(codes, range(1, 10)), codes, 255).astype(np.uint8), "pcr_d8"))
    field = np.random.default_rng(0).random(ours.shape)
    tiny = xa.RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    xa.accumulate(tiny, np.ones(tiny.shape), "percentile", q=90, method="inverted_cdf")  # JIT
    mine, theirs = (
        timed(lambda: xa.accumulate(ours, field, "percentile", q=90, method="inverted_cdf"), repeat),
        timed(lambda: ekh.upstream.array.percentile(ek, field, 0.9, return_type="gridded"), repeat),
    )
    cells = f"EFAS 5 km, {int(ours.mask.sum())} cells"
    rows.append(("percentile 90 upstream", "ours", f"{mine[0]:.3f}", cells))
    rows.append(("percentile 90 upstream", "earthkit-hydro", f"{theirs[0]:.3f}", cells))
    same = np.array_equal(mine[1][ours.mask], np.asarray(theirs[1])[ours.mask])
    rows.append(("check", "percentile upstream == earthkit-hydro", str(same), ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gauges", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--percentile-only", action="store_true", help="only the EFAS percentile row")
    args = parser.parse_args()
    rows = []
    title = "# Percentile upstream on EFAS 5 km"
    if not args.percentile_only:
        warm = []
        run(synthetic_d8(64, seed=0), 20, 1, warm)  # JIT and caches
        codes = synthetic_d8(args.size, seed=0)
        run(codes, args.gauges, args.repeat, rows)
        title = (
            f"# Catchments at {args.gauges} gauges, synthetic D8 {args.size}×{args.size} "
            f"({int(np.count_nonzero(codes != 247))} cells); percentile upstream on EFAS 5 km"
        )
    percentile_rows(args.repeat, rows)
    lines = [
        title,
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
