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

Along the river, on the EFAS 5 km network (``--efas``; ``--only-efas`` skips the above):

- edge-weighted upstream sum and mean (``edge_weights``): ours (numba and xp engines)
  against earthkit-hydro ``upstream.array.sum/mean(edge_weights=)``;
- ``smooth_along`` (window 5, mean and median) against pyflwdir ``moving_average`` /
  ``moving_median``; ``fill_along`` against pyflwdir ``fillnodata``;
- the 90th percentile of a float field over every cell's upstream area, ours
  (``accumulate(how="percentile", q=90, method="inverted_cdf")``) against earthkit-hydro's
  ``upstream.array.percentile`` (which must give the same values);
- check: the largest differences to the peers.

Each figure is one run (best of ``--repeat``, after a warm-up call: JIT excluded); the
table goes to stdout and ``benchmarks/.cache/CATALOGUE-RESULTS.md``.

``python benchmarks/catalogue_bench.py vectors [--gauges 10000]`` times instead river
segments, catchment polygons and flow paths on EFAS 5 km against pyflwdir
(:func:`run_vectors`; table in ``benchmarks/.cache/VECTORS-RESULTS.md``).
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


def run_along(repeat, rows):
    """Edge-weighted accumulation and smoothing/filling along the river on EFAS 5 km."""
    import pyflwdir
    from earthkit.hydro import upstream
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork as EkNetwork

    codes = efas_codes()
    ours = xa.RiverNetwork.from_ldd(codes)
    ek = EkNetwork(from_d8(codes, "pcr_d8"))
    flw = pyflwdir.from_array(codes, ftype="ldd")
    flw.idxs_us_main  # noqa: B018 - pyflwdir's lazily computed main upstream cells: not timed
    rng = np.random.default_rng(0)
    field = rng.random(ours.shape)
    edges = rng.uniform(0.5, 1.0, ours.shape)
    _, up, eid = ek.data[0]  # earthkit-hydro's edges: each takes its upstream cell's weight
    ek_edges = np.empty(ek.n_edges)
    ek_edges[eid] = edges.reshape(-1)[ek.mask[up]]
    holes = np.where(rng.random(ours.shape) < 0.3, np.nan, field)
    label = f"EFAS 5 km ({ours.n_nodes} cells)"
    cases = [
        ("edge-weighted sum", "ours", lambda: xa.accumulate(ours, field, edge_weights=edges)),
        ("edge-weighted sum", "ours xp", lambda: xa.accumulate(ours, field, edge_weights=edges, engine="xp")),
        ("edge-weighted sum", "earthkit-hydro", lambda: upstream.array.sum(ek, field, edge_weights=ek_edges)),
        ("edge-weighted mean", "ours", lambda: xa.accumulate(ours, field, "mean", edge_weights=edges)),
        ("edge-weighted mean", "earthkit-hydro",
         lambda: upstream.array.mean(ek, field, edge_weights=ek_edges)),
        ("smooth_along mean n=5", "ours", lambda: xa.smooth_along(ours, field, 5)),
        ("smooth_along mean n=5", "pyflwdir moving_average", lambda: flw.moving_average(field, 5)),
        ("smooth_along median n=5", "ours", lambda: xa.smooth_along(ours, field, 5, how="median")),
        ("smooth_along median n=5", "pyflwdir moving_median", lambda: flw.moving_median(field, 5)),
        ("fill_along down", "ours", lambda: xa.fill_along(ours, holes)),
        ("fill_along down", "pyflwdir fillnodata",
         lambda: flw.fillnodata(np.where(np.isnan(holes), -9999.0, holes), -9999.0)),
    ]  # fmt: skip
    results = {}
    for what, lib, fn in cases:
        fn()  # warm-up: JIT and caches
        seconds, results[(what, lib)] = timed(fn, repeat)
        rows.append((f"{what}, {label}", lib, f"{seconds:.4f}", ""))
    mask = ours.mask
    for what, peer in (
        ("edge-weighted sum", "earthkit-hydro"),
        ("edge-weighted mean", "earthkit-hydro"),
        ("smooth_along mean n=5", "pyflwdir moving_average"),
        ("smooth_along median n=5", "pyflwdir moving_median"),
        ("fill_along down", "pyflwdir fillnodata"),
    ):
        a = np.nan_to_num(np.asarray(results[(what, "ours")])[mask], nan=-9999.0)
        b = np.asarray(results[(what, peer)])[mask]
        rows.append(
            (
                "check",
                f"max rel diff, {what} vs {peer}",
                f"{np.max(np.abs(a - b) / np.maximum(1, np.abs(b))):.1e}",
                "",
            )
        )


def percentile_rows(repeat, rows):
    """Percentile upstream on EFAS 5 km: ours vs earthkit-hydro (same values required)."""
    import earthkit.hydro as ekh
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork as EkNetwork

    codes = efas_codes()
    ours = xa.RiverNetwork.from_ldd(codes)
    ek = EkNetwork(from_d8(codes, "pcr_d8"))
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
    parser.add_argument("--efas", action="store_true", help="also the rows along the river on EFAS 5 km")
    parser.add_argument("--only-efas", action="store_true", help="only the rows on EFAS 5 km")
    args = parser.parse_args()
    lines = []

    def table(title, rows):
        lines.extend([title, "", "| operation | library | seconds | note |", "|---|---|---|---|"])
        lines.extend([f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows] + [""])

    if not args.only_efas:
        run(synthetic_d8(64, seed=0), 20, 1, [])  # JIT and caches
        efas, rows = efas_codes(), []
        run(efas, args.gauges, args.repeat, rows, kind="ldd")
        table(
            f"# Catchments at {args.gauges} gauges, EFAS 5 km LDD "
            f"({int(np.count_nonzero(efas != 255))} cells)",
            rows,
        )
        codes, rows = synthetic_d8(args.size, seed=0), []
        run(codes, args.gauges, args.repeat, rows)
        table(
            f"# Catchments at {args.gauges} gauges, synthetic D8 {args.size}×{args.size} "
            f"({int(np.count_nonzero(codes != 247))} cells)",
            rows,
        )
    if args.efas or args.only_efas:
        rows = []
        run_along(args.repeat, rows)
        percentile_rows(args.repeat, rows)
        table("# Along the river on EFAS 5 km", rows)
    text = "\n".join(lines)
    print(text)
    (HERE / ".cache").mkdir(exist_ok=True)
    (HERE / ".cache" / "CATALOGUE-RESULTS.md").write_text(text + "\n")


def run_vectors(n_gauges, repeat, rows):
    """Issue 17 items 4-5 on EFAS 5 km (the real network in ../shared/data): river segments as a
    GeoDataFrame vs pyflwdir's ``streams()`` features (and its bare segment kernel), flow paths from
    ``n_gauges`` cells vs pyflwdir's ``path`` (down and up the main stem, lengths in metres)."""
    import geopandas as gpd
    import pyflwdir

    from tests.test_against_pyflwdir import _build
    from tests.test_paths import _pyflwdir_paths
    from xhydro_accessor.hydrology.vectors import catchment_polygons, stream_segments, streams

    warm = xa.RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 6, 5]]))  # JIT of the walks
    xa.flow_path(warm, [0], "up")
    stream_segments(warm)
    _info, _codes, _valid, net, flw = _build("efas_europe_nc")
    flw.order_cells()
    flw.idxs_us_main  # noqa: B018  (pyflwdir computes its main upstream cells once, lazily)
    net_order = xa.strahler(net)
    gauges = np.random.default_rng(0).choice(np.flatnonzero(net.mask), n_gauges, replace=False)
    xa.flow_path(net, gauges[:1], "up", max_length="1 km")  # cached once per network: main upstream
    xa.flow_path(net, gauges[:1])  # cells, step lengths, downstream indices; pint's registry loaded
    cases = [
        ("streams GeoDataFrame", "ours", lambda: streams(net)),
        ("streams GeoDataFrame", "pyflwdir streams() + from_features",
         lambda: gpd.GeoDataFrame.from_features(flw.streams())),
        ("streams, order >= 4", "ours", lambda: streams(net, min_order=4)),
        ("streams, order >= 4", "pyflwdir streams(min_sto=4) + from_features",
         lambda: gpd.GeoDataFrame.from_features(flw.streams(min_sto=4, strord=net_order))),
        ("segment cells only", "ours stream_segments (grid)", lambda: stream_segments(net)),
        ("segment cells only", "pyflwdir streams kernel (lists)",
         lambda: pyflwdir.streams.streams(flw.idxs_ds, flw.idxs_seq)),
        ("catchment polygons, all basins", "ours", lambda: catchment_polygons(net, xa.basins(net))),
        ("flow_path down", "ours", lambda: xa.flow_path(net, gauges)),
        ("flow_path down", "pyflwdir path (m)", lambda: _pyflwdir_paths(flw, gauges, "down", None)),
        ("flow_path up", "ours", lambda: xa.flow_path(net, gauges, "up")),
        ("flow_path up", "pyflwdir path (m)", lambda: _pyflwdir_paths(flw, gauges, "up", None)),
        ("flow_path down 50 km", "ours", lambda: xa.flow_path(net, gauges, max_length="50 km")),
        ("flow_path down 50 km", "pyflwdir path (m)", lambda: _pyflwdir_paths(flw, gauges, "down", 5e4)),
    ]  # fmt: skip
    out = {}
    for what, lib, fn in cases:
        seconds, out[(what, lib)] = timed(fn, repeat)
        rows.append((what, lib, f"{seconds:.3f}", ""))
    ours, (theirs, _) = out[("flow_path down", "ours")], out[("flow_path down", "pyflwdir path (m)")]
    same = all(np.array_equal(a, b) for a, b in zip(ours.paths, theirs, strict=True))
    rows.append(("check", "flow_path down cells == pyflwdir", str(same), ""))
    n_ours, n_theirs = (
        len(out[("streams GeoDataFrame", "ours")]),
        len(out[("segment cells only", "pyflwdir streams kernel (lists)")]),
    )
    rows.append(
        ("check", "segments ours / pyflwdir lists (+1 [pit, pit] per outlet)", f"{n_ours} / {n_theirs}", "")
    )


def main_vectors():
    """``python benchmarks/catalogue_bench.py vectors [--gauges 10000]``: :func:`run_vectors` only."""
    parser = argparse.ArgumentParser(description=run_vectors.__doc__.splitlines()[0])
    parser.add_argument("--gauges", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(sys.argv[2:])
    rows = []
    run_vectors(args.gauges, args.repeat, rows)
    lines = [
        f"# Vectors and flow paths on EFAS 5 km (366,989 cells), {args.gauges} gauges",
        "",
        "| operation | library | seconds | note |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ]
    text = "\n".join(lines)
    print(text)
    (HERE / ".cache").mkdir(exist_ok=True)
    (HERE / ".cache" / "VECTORS-RESULTS.md").write_text(text + "\n")


if __name__ == "__main__":
    main_vectors() if sys.argv[1:2] == ["vectors"] else main()
