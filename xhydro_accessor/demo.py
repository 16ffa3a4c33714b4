"""The main job: build the bundled EFAS network, route a runoff field, summarise."""

import time

import numpy as np

from .operations import accumulate
from .samples import sample_network, sample_path

CELL_AREA_M2 = 5_000.0 * 5_000.0  # the EFAS grid: 5 km LAEA cells
MM_PER_DAY = 1e-3 / 86_400.0  # in m s-1


def laea_to_lonlat(x, y, lat0=52.0, lon0=10.0, false_easting=4_321_000.0, false_northing=3_210_000.0):
    """Approximate (spherical, authalic radius) inverse of the ETRS89-LAEA projection, degrees."""
    radius = 6_371_007.2
    x, y = np.asarray(x) - false_easting, np.asarray(y) - false_northing
    rho = np.hypot(x, y)
    c = 2 * np.arcsin(rho / (2 * radius))
    phi0 = np.radians(lat0)
    lat = np.arcsin(np.cos(c) * np.sin(phi0) + y * np.sin(c) * np.cos(phi0) / rho)
    lon = np.radians(lon0) + np.arctan2(
        x * np.sin(c), rho * np.cos(phi0) * np.cos(c) - y * np.sin(phi0) * np.sin(c)
    )
    return np.degrees(lon), np.degrees(lat)


def run(members: int = 50, top: int = 8) -> None:
    """Print a summary of the bundled network and the discharge of a synthetic runoff."""
    started = time.perf_counter()
    network = sample_network()
    built = time.perf_counter() - started
    print(f"network   {sample_path().name}: {network}")
    print(f"          read + built in {built * 1e3:.0f} ms (first call, JIT cache included)")

    rng = np.random.default_rng(42)
    runoff = rng.gamma(2.0, 0.75, network.shape)  # mm/day, one field
    area = np.full(network.shape, CELL_AREA_M2)
    started = time.perf_counter()
    discharge = accumulate(network, runoff, weights=area) * MM_PER_DAY  # m3 s-1
    first = time.perf_counter() - started
    started = time.perf_counter()
    upstream_km2 = accumulate(network, area) / 1e6
    again = time.perf_counter() - started
    print(f"accumulate one field: {first * 1e3:.1f} ms first call, {again * 1e3:.1f} ms warm")

    ensemble = rng.gamma(2.0, 0.75, (members, *network.shape))
    started = time.perf_counter()
    ensemble_discharge = accumulate(network, ensemble, weights=area) * MM_PER_DAY
    print(
        f"accumulate {members}-member ensemble in one call: {(time.perf_counter() - started) * 1e3:.0f} ms "
        f"(output {ensemble_discharge.shape})"
    )

    outlets = network.outlets
    largest = outlets[np.argsort(upstream_km2.ravel()[outlets])[::-1][:top]]
    ys, xs = network.coords["y"], network.coords["x"]
    rows, cols = np.divmod(largest, network.shape[1])
    lon, lat = laea_to_lonlat(xs[cols], ys[rows])
    spread = ensemble_discharge.reshape(members, -1)[:, largest]
    print(f"\n{network.outlets.size} outlets; the {top} largest basins:")
    print(f"{'(row, col)':>12} {'lat':>7} {'lon':>7} {'area km2':>10} {'Q m3/s':>9} {'ensemble 5-95 %':>18}")
    for k, cell in enumerate(largest):
        lo, hi = np.percentile(spread[:, k], [5, 95])
        print(
            f"{str((int(rows[k]), int(cols[k]))):>12} {lat[k]:7.2f} {lon[k]:7.2f} "
            f"{upstream_km2.ravel()[cell]:10.0f} {discharge.ravel()[cell]:9.0f} {lo:8.0f} – {hi:7.0f}"
        )
