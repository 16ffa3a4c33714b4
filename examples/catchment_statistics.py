"""Catchment statistics at many gauges on the bundled EFAS 5 km Europe network.

1. reads the network and places 2,000 "gauges" on large rivers, given by name and
   (y, x) coordinates in the grid's projection (ETRS89-LAEA metres), snapped to
   the cell of largest upstream area within 2 cells;
2. labels whole and nested catchments in one pass each;
3. reduces a synthetic precipitation ensemble (member, time) over every catchment:
   mean, max and the 90th percentile, kept per member and time, on a ``station`` dim;
4. adds upstream area (km²) and Strahler order at each gauge.

Run: ``python examples/catchment_statistics.py``.
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

import xhydro_accessor.accessor  # noqa: F401  (registers .hydro)
from xhydro_accessor import RiverNetwork
from xhydro_accessor.hydrology import xarray_layer as hc
from xhydro_accessor.io import read_flow_directions
from xhydro_accessor.samples import sample_path


def main(n_gauges: int = 2000) -> xr.Dataset:
    codes = read_flow_directions(sample_path())
    network = RiverNetwork.from_ldd(codes, nodata=codes.attrs.get("nodata"))
    rng = np.random.default_rng(0)
    precip = xr.DataArray(
        rng.gamma(0.5, 4.0, size=(3, 4, *network.shape)).astype(np.float32),
        dims=("member", "time", *codes.dims),
        coords={"member": [0, 1, 2], "time": np.arange(4), **codes.coords},
        name="precipitation",
        attrs={"units": "mm d-1"},
    ).hydro.assign_network(network)

    area = hc.upstream_area(precip, units="km2")
    big = np.flatnonzero((area.values > 2000).reshape(-1))
    cells = rng.choice(big, size=min(n_gauges, big.size), replace=False)
    rows, cols = np.divmod(cells, network.shape[1])
    y, x = codes.dims
    gauges = {
        f"G{k:05d}": (codes[y].values[r], codes[x].values[c])
        for k, (r, c) in enumerate(zip(rows, cols, strict=True))
    }

    start = time.perf_counter()
    whole = hc.catchments(precip, gauges, snap=2)
    nested = hc.catchments(precip, gauges, snap=2, nested=True)
    print(f"labelled {len(gauges)} whole and nested catchments in {time.perf_counter() - start:.2f} s")

    start = time.perf_counter()
    stats = xr.Dataset(
        {
            "mean": hc.catchment_statistics(precip, gauges, "mean", snap=2),
            "max": hc.catchment_statistics(precip, gauges, "max", snap=2),
            "p90": hc.catchment_statistics(precip, gauges, "percentile", q=90, snap=2),
            "mean_own_area": hc.catchment_statistics(precip, gauges, "mean", nested=True, snap=2),
        }
    )
    print(f"statistics over {stats.sizes} in {time.perf_counter() - start:.2f} s")
    station_cells = {y: stats[y], x: stats[x]}
    stats["upstream_area"] = area.sel(station_cells, method="nearest").drop_vars([y, x], errors="ignore")
    stats["strahler"] = (
        hc.strahler(precip).sel(station_cells, method="nearest").drop_vars([y, x], errors="ignore")
    )
    print(stats)
    print(
        f"largest whole catchment: {np.bincount(whole.values[whole.values > 0]).max()} cells; "
        f"largest nested one: {np.bincount(nested.values[nested.values > 0]).max()} cells"
    )
    return stats


if __name__ == "__main__":
    main()
