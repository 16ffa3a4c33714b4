"""The command line: ``xhydro-accessor demo``, ``accumulate`` and ``catchments``.

Run ``xhydro-accessor --help`` or ``xhydro-accessor COMMAND --help``. No command
writes over one of its inputs or, without ``--overwrite``, over an existing file;
outputs appear only once complete (:mod:`xhydro_accessor.io.safe_write`).
A user error (bad file, argument or grid) ends with exit code 2 and one line on
stderr; Ctrl-C with exit code 130 and the previous output, if any, untouched.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import accessor, reductions  # noqa: F401  (accessor registers .hydro)
from .backend import check_hdf5_file
from .backends.order_statistics import METHOD_NAMES
from .conventions import CONVENTIONS
from .errors import GridMismatchError
from .io import open_network
from .io.safe_write import check_output, write_netcdf
from .network import RiverNetwork, same_coordinates

#: the exceptions that report a user's mistake (a file, an argument, a grid, a missing
#: optional package): one line and exit code 2. Anything else is a bug: a traceback.
USER_ERRORS = (
    ValueError,  # NetworkError and its subclasses, unreadable files, bad arguments
    TypeError,  # a field or argument of the wrong type
    KeyError,  # a variable not in the file
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    ImportError,  # an optional reader (rioxarray) not installed
)

_ACCUMULATE_EPILOG = """\
example (an ensemble of daily runoff in mm d-1 to discharge in m3 s-1, 10 members at a time):
  xhydro-accessor accumulate ldd.map runoff.nc -o discharge.nc \\
      --variable runoff --weights area --units "m3 s-1" --chunks member=10

The output holds the accumulated variable with the network attached as a
coordinate: xr.open_dataset(OUT).hydro.network gives it back.
"""


_CATCHMENTS_EPILOG = """\
gauges.csv, in the network's coordinates (or in --gauges-crs, e.g. EPSG:4326 with
y = latitude, x = longitude; or with columns name,row,col for grid indices), with an
optional column area (the reported upstream area in km2, to snap to):
  name,y,x,area
  Lobith,51.84,6.11,160800
  Basel,47.56,7.59,35897

  xhydro-accessor catchments rhine.tif gauges.csv -o out.nc --snap "5 km"

The output holds `catchment` (0: drains to no gauge; i: the i-th gauge of the CSV)
and, on a `station` dim, each gauge's name, row, col, how far it was snapped (cells
and metres), its upstream area and the error to the reported one; the same table
is printed.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``xhydro-accessor``."""
    parser = argparse.ArgumentParser(
        prog="xhydro-accessor",
        description="River-network operations on gridded fields (flow accumulation and friends).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="route synthetic runoff through the bundled EFAS 5 km Europe network",
        description="Route a synthetic runoff through the bundled EFAS 5 km Europe network (no "
        "download), print timings and the largest basins, and write a netCDF file of discharge "
        "and catchments and a PNG map.",
    )
    demo.add_argument(
        "--members", type=int, default=50, help="ensemble members of the timed run (default 50)"
    )
    demo.add_argument(
        "--top", type=int, default=8, help="number of largest basins to list and map (default 8)"
    )
    demo.add_argument(
        "-o",
        "--output-dir",
        default="xhydro_accessor_demo",
        help="directory for demo_discharge.nc and demo_map.png (default ./xhydro_accessor_demo)",
    )
    _overwrite_option(demo)

    acc = commands.add_parser(
        "accumulate",
        help="accumulate a field (e.g. runoff) over a river network, netCDF to netCDF",
        description="Accumulate a gridded field over the upstream area of every cell, the cell "
        "itself included, and write the result to netCDF.",
        epilog=_ACCUMULATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    acc.add_argument(
        "network",
        type=Path,
        help="flow-direction file: PCRaster .map, netCDF, .bin + .hdr, ESRI .asc, GeoTIFF, CaMa nextxy",
    )
    acc.add_argument("field", type=Path, help="netCDF file holding the field on the network's grid")
    acc.add_argument("-o", "--output", type=Path, required=True, help="netCDF file to write")
    acc.add_argument("--convention", choices=_file_conventions(), help=_CONVENTION_HELP)
    acc.add_argument("--network-variable", help="netCDF NETWORK only: the flow-direction variable")
    acc.add_argument(
        "--crs", help="the grid's CRS when neither file holds one (for --weights area), e.g. EPSG:3035"
    )
    acc.add_argument(
        "--variable",
        help="the variable of FIELD to accumulate (default: the only one on the spatial grid)",
    )
    acc.add_argument(
        "--how",
        default="sum",
        choices=reductions.names("accumulate"),
        help="the reduction over each upstream area (default sum)",
    )
    acc.add_argument(
        "--q",
        type=float,
        nargs="+",
        metavar="Q",
        help="--how percentile only: the percentile(s) in [0, 100], e.g. '--q 90' or '--q 10 50 90' "
        "(several: a leading 'quantile' dim, coordinate Q / 100)",
    )
    acc.add_argument(
        "--method",
        choices=METHOD_NAMES,
        help="--how median or percentile only: numpy's quantile method (default linear; with "
        "--weights the only weighted one, inverted_cdf)",
    )
    acc.add_argument(
        "--weights",
        help="'area' (cell areas in m2, from the grid or a cell_measures variable) or the name of a "
        "variable of FIELD; the field is multiplied by it before the reduction",
    )
    acc.add_argument("--skipna", action="store_true", help="leave NaNs out instead of propagating them")
    acc.add_argument("--units", help="convert the result to these units, e.g. 'm3 s-1' (needs a units attr)")
    acc.add_argument(
        "--chunks",
        help="process lazily with dask in chunks along non-spatial dims, e.g. 'member=10,time=100'; "
        "shows a progress bar",
    )
    acc.add_argument("--name", help="name of the output variable (default: the input's)")
    acc.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    _overwrite_option(acc)

    cat = commands.add_parser(
        "catchments",
        help="label the catchments of gauges listed in a CSV file, netCDF out",
        description="Label every cell with the gauge its flow drains to (one pass for any number "
        "of gauges) and write the labels and a table of the gauges to netCDF.",
        epilog=_CATCHMENTS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cat.add_argument("network", type=Path, help="flow-direction file (any format of `accumulate`)")
    cat.add_argument(
        "gauges",
        type=Path,
        help="CSV with a header: name,y,x (coordinates of the network's grid) or name,row,col",
    )
    cat.add_argument("-o", "--output", type=Path, required=True, help="netCDF file to write")
    cat.add_argument("--convention", choices=_file_conventions(), help=_CONVENTION_HELP)
    cat.add_argument("--network-variable", help="netCDF NETWORK only: the flow-direction variable")
    cat.add_argument(
        "--nested",
        action="store_true",
        help="each gauge keeps only its own area between it and the gauges upstream "
        "(default: whole catchments, the most downstream gauge wins)",
    )
    cat.add_argument(
        "--snap",
        default="0",
        help="move each gauge to the cell of largest upstream area (or, with an area column, of the "
        "closest upstream area) within this radius: cells, or a length such as '5 km' (default 0)",
    )
    cat.add_argument("--crs", help="the network's CRS when its file holds none, e.g. EPSG:3035")
    cat.add_argument("--gauges-crs", help="CRS of the gauges' y,x (default: the network's), e.g. EPSG:4326")
    cat.add_argument("--quiet", action="store_true", help="no summary")
    _overwrite_option(cat)
    return parser


_CONVENTION_HELP = "flow-direction convention of NETWORK (default: from its attributes or values)"


def _file_conventions() -> list[str]:
    """The registered conventions a file can hold (read when the parser is built: registered
    conventions of your own are choices too)."""
    return [name for name, conv in CONVENTIONS.items() if conv.kind != "downstream_id"]


def _overwrite_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing output files (never an input file); without it an existing output is an error",
    )


def main(argv: list[str] | None = None) -> None:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = {"demo": demo_files, "accumulate": accumulate_file, "catchments": catchments_file}[args.command]
    try:
        run(args)
    except USER_ERRORS as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        parser.exit(2, f"xhydro-accessor {args.command}: error: {message}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"xhydro-accessor {args.command}: interrupted; nothing written\n")


def demo_files(args: argparse.Namespace) -> list[Path]:
    """The ``demo`` command (see :func:`xhydro_accessor.demo.run`)."""
    from . import demo

    return demo.run(members=args.members, top=args.top, output_dir=args.output_dir, overwrite=args.overwrite)


def accumulate_file(args: argparse.Namespace) -> Path:
    """The ``accumulate`` command: read, attach the network, accumulate, write."""
    inputs = (args.network, args.field)
    check_output(args.output, inputs, args.overwrite)  # before any work
    quantiles = _quantile_options(args.how, args.q, args.method)
    network = open_network(args.network, args.convention, args.network_variable, crs=args.crs)
    chunks = _parse_chunks(args.chunks)
    check_hdf5_file(args.field)  # a corrupt heap would hang netCDF-C
    with xr.open_dataset(args.field, chunks=chunks) as ds:
        name = args.variable or _only_variable(ds, network, args.field)
        if name not in ds.data_vars:
            raise KeyError(f"{args.field}: no variable {name!r}; it holds {sorted(map(str, ds.data_vars))}")
        ds, network = _on_network_grid(ds, network, args.field)
        try:
            field = ds.hydro.assign_network(network)[name]
        except GridMismatchError as err:
            raise GridMismatchError(f"{args.field}: {err}") from None
        weights = ds[args.weights] if args.weights and args.weights in ds.data_vars else args.weights
        result = field.hydro.accumulate(how=args.how, weights=weights, skipna=args.skipna, **quantiles)
        if args.units:
            result = _convert_units(result, args.units, args.weights)
        out = result.to_dataset(name=args.name or name)
        _write(out, args.output, inputs, args.overwrite, show_progress=chunks is not None and not args.quiet)
    if not args.quiet:
        how = args.how if args.q is None else f"{args.how} {' '.join(f'{q:g}' for q in args.q)}"
        print(f"wrote {args.output}: {how} of {name!r} over {network}")
    return args.output


def catchments_file(args: argparse.Namespace) -> Path:
    """The ``catchments`` command: read network and gauges, label, write, print the gauge table."""
    from .hydrology.catchments import catchments
    from .hydrology.locations import locate

    check_output(args.output, (args.network, args.gauges), args.overwrite)  # before any work
    network = open_network(args.network, args.convention, args.network_variable, crs=args.crs)
    gauges, area = _read_gauges(args.gauges, network)
    snap = float(args.snap) if _is_number(args.snap) else args.snap
    located = locate(network, gauges, snap=snap, area=area, crs=args.gauges_crs)
    labels = catchments(network, located, nested=args.nested)
    dims = network.dims or ("y", "x")
    rows, cols = np.divmod(located.index, network.shape[-1])
    out = xr.Dataset(
        {
            "catchment": (dims, labels, {"long_name": "catchment of the gauge", "flag_meanings": "0: none"}),
            "row": ("station", rows),
            "col": ("station", cols),
            "snap_distance": ("station", located.moved, {"units": "cells"}),
            "snap_distance_m": ("station", located.moved_m, {"units": "m"}),
            "upstream_cells": ("station", located.upstream_cells),
            "upstream_area": ("station", located.upstream_area, {"units": "km2"}),
            "reported_area": ("station", located.reported_area, {"units": "km2"}),
            "area_error": ("station", located.area_error, {"units": "1"}),
        },
        coords={"station": located.names.astype(str), **network.coords},
    )
    write_netcdf(out, args.output, inputs=(args.network, args.gauges), overwrite=args.overwrite)
    if not args.quiet:
        print(located.table(network))
        print(f"wrote {args.output}: catchments of {len(located.index)} gauges on {network}")
    return args.output


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_gauges(path: Path, network: RiverNetwork) -> tuple[dict[str, tuple[float, float]], Any]:
    """``{name: (y, x)}`` from a CSV ``name,y,x`` or ``name,row,col``, and its ``area`` column (or None)."""
    import csv

    with open(path, newline="") as file:
        table = list(csv.DictReader(file))
    columns = set(table[0]) if table else set()
    names = [r["name"] for r in table] if "name" in columns else []
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        shown = ", ".join(map(repr, repeated))
        raise ValueError(f"{path}: gauge names repeated: {shown}; each must be unique")
    area = None
    if "area" in columns:
        try:
            area = [float(r["area"]) if r["area"].strip() else float("nan") for r in table]
        except ValueError:
            raise ValueError(f"{path}: column area must hold numbers (km2)") from None
    return _gauge_points(path, network, table, columns), area


def _gauge_points(path: Path, network: RiverNetwork, table: list, columns: set) -> dict:
    if {"name", "y", "x"} <= columns:
        return {r["name"]: (float(r["y"]), float(r["x"])) for r in table}
    if {"name", "row", "col"} <= columns:
        rows = {r["name"]: (int(r["row"]), int(r["col"])) for r in table}
        dims = network.dims or ()
        if not all(d in network.coords for d in dims):
            return rows  # a grid without coordinates takes (row, col) pairs as they are
        y, x = (network.coords[d] for d in dims)
        if any(not (0 <= r < y.size and 0 <= c < x.size) for r, c in rows.values()):
            raise ValueError(f"{path}: (row, col) outside the {y.size}×{x.size} grid")
        return {name: (float(y[r]), float(x[c])) for name, (r, c) in rows.items()}
    raise ValueError(f"{path}: columns {sorted(columns)}; expected a header name,y,x or name,row,col")


def _quantile_options(how: str, q: list[float] | None, method: str | None) -> dict[str, Any]:
    """``q=`` and ``method=`` of the API from ``--q`` and ``--method``: one ``--q`` value is a
    number (no ``quantile`` dim), several a list; either where ``--how`` takes none is an error.

    Examples
    --------
    >>> _quantile_options("percentile", [10.0, 90.0], None)
    {'q': [10.0, 90.0], 'method': None}
    >>> _quantile_options("percentile", None, None)
    Traceback (most recent call last):
    ...
    ValueError: --how percentile needs --q: percentile(s) in [0, 100], e.g. --q 90 or --q 10 50 90
    """
    if how == "percentile" and q is None:
        raise ValueError("--how percentile needs --q: percentile(s) in [0, 100], e.g. --q 90 or --q 10 50 90")
    if how != "percentile" and q is not None:
        raise ValueError(f"--q applies to --how percentile only, not --how {how}")
    if method is not None and how not in ("median", "percentile"):
        raise ValueError(f"--method applies to --how median and percentile only, not --how {how}")
    return {"q": q if q is None or len(q) > 1 else q[0], "method": method}


def _parse_chunks(text: str | None) -> dict[str, int] | None:
    if not text:
        return None
    try:
        return {key.strip(): int(size) for key, size in (item.split("=") for item in text.split(","))}
    except ValueError:
        raise ValueError(f"--chunks {text!r}: expected DIM=SIZE[,DIM=SIZE...]") from None


def _only_variable(ds: xr.Dataset, network: RiverNetwork, path: Path) -> str:
    gridded = [str(k) for k, v in ds.data_vars.items() if v.ndim >= 2 and v.shape[-2:] == network.shape]
    if not gridded:
        shapes = ", ".join(f"{k} {dict(v.sizes)}" for k, v in ds.data_vars.items()) or "no variables"
        raise GridMismatchError(f"{path}: no variable is on the network's {network.shape} grid ({shapes})")
    if len(gridded) != 1:
        raise ValueError(
            f"{path}: {len(gridded)} variables on the network's {network.shape} grid {gridded}; "
            "choose one with --variable"
        )
    return gridded[0]


def _on_network_grid(ds: xr.Dataset, network: RiverNetwork, path: Path) -> tuple[xr.Dataset, RiverNetwork]:
    """The field flipped where its spatial dims run opposite to the network's coordinates,
    and the network on the field's dims."""
    from .xarray_ops import grid_dims

    dims = grid_dims(ds, network)
    for dim, network_dim in zip(dims, network.dims or (), strict=False):
        mine = network.coords.get(network_dim)
        if mine is None or dim not in ds.coords or ds.sizes[dim] != mine.size:
            continue
        theirs = ds[dim].values
        if ds.sizes[dim] > 1 and same_coordinates(theirs[::-1], mine) and not same_coordinates(theirs, mine):
            ds = ds.isel({dim: slice(None, None, -1)})
        elif not same_coordinates(theirs, mine):
            raise GridMismatchError(f"{path}: coordinate {dim!r} differs from the network's {network_dim!r}")
    return ds, network.with_grid(tuple(dims), {d: ds[d].values for d in dims if d in ds.coords})


def _convert_units(result: xr.DataArray, units: str, weights: str | None) -> xr.DataArray:
    from .xarray_ops import convert_units

    try:
        return convert_units(result, units)
    except ValueError as err:
        hint = "" if weights else "; a rate per area (e.g. mm d-1) becomes a discharge with --weights area"
        raise ValueError(f"--units {units!r}: {err}{hint}") from None


def _write(ds: xr.Dataset, path: Path, inputs: tuple[Path, ...], overwrite: bool, show_progress: bool):
    if not show_progress:
        write_netcdf(ds, path, inputs=inputs, overwrite=overwrite)
        return
    from dask.diagnostics import ProgressBar

    with ProgressBar():
        write_netcdf(ds, path, inputs=inputs, overwrite=overwrite)
