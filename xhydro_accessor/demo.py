"""The main job: build the bundled EFAS network, route a runoff field, summarise, write.

:func:`run` prints a summary (timings, the largest basins and their discharge)
and writes, into ``output_dir``, ``demo_discharge.nc`` (discharge, upstream area
and the catchments of the largest basins, with the network attached as a
coordinate) and ``demo_map.png`` (when matplotlib is installed).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import xarray as xr

from .io.safe_write import check_output, safe_output, write_netcdf
from .network import RiverNetwork
from .operations import accumulate, accumulate_downstream
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


def run(
    members: int = 50,
    top: int = 8,
    output_dir: str | Path | None = "xhydro_accessor_demo",
    overwrite: bool = False,
) -> list[Path]:
    """Print a summary of the bundled network and the discharge of a synthetic runoff.

    Parameters
    ----------
    members : int, default 50
        Ensemble members of the timed ensemble run.
    top : int, default 8
        Number of largest basins listed, mapped and labelled as catchments.
    output_dir : str or Path, optional
        Where the netCDF file and the PNG map are written (created if needed);
        ``None`` writes nothing.
    overwrite : bool, default False
        Replace the files of an earlier run (else: :class:`FileExistsError`, raised
        before any work). Each file appears only once complete.

    Returns
    -------
    list of Path
        The files written.
    """
    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        for name in ("demo_discharge.nc", "demo_map.png"):
            check_output(output_dir / name, overwrite=overwrite)
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
    if output_dir is None:
        return []
    labels = largest_basins(network, largest)
    dataset = demo_dataset(network, discharge, upstream_km2, labels, largest)
    written = [output_dir / "demo_discharge.nc"]
    write_netcdf(dataset, written[0], overwrite=overwrite)
    print(f"\nwrote {written[0]}: discharge (m3 s-1), upstream_area (km2), catchment; network attached")
    try:
        png = output_dir / "demo_map.png"
        written.append(save_map(network, upstream_km2, labels, largest, png, overwrite=overwrite))
        print(f"wrote {written[1]}: rivers by upstream area, the {top} largest catchments and their outlets")
    except ImportError:
        print("no PNG map: matplotlib is not installed (pip install matplotlib)")
    return written


def largest_basins(network: RiverNetwork, outlets: np.ndarray) -> np.ndarray:
    """Catchment labels: ``k`` for cells draining to ``outlets[k - 1]``, 0 elsewhere.

    Examples
    --------
    >>> net = RiverNetwork.from_ldd(np.array([[5, 4, 6, 5], [255, 8, 8, 8]]))
    >>> largest_basins(net, np.array([3]))
    array([[0, 0, 1, 1],
           [0, 0, 1, 1]], dtype=int32)
    """
    field = np.zeros(network.shape)
    field.flat[outlets] = np.arange(1, len(outlets) + 1)
    labels = accumulate_downstream(network, field, how="max")  # the outlet's label along each path
    return np.nan_to_num(labels, nan=0.0).astype(np.int32)


def demo_dataset(network, discharge, upstream_km2, labels, outlets) -> xr.Dataset:
    """The demo's results as a CF Dataset with the network attached."""
    dims = network.dims
    rows, cols = np.divmod(outlets, network.shape[1])
    discharge_attrs = {
        "standard_name": "water_volume_transport_in_river_channel",
        "units": "m3 s-1",
        "long_name": "discharge of a synthetic runoff (gamma, mean 1.5 mm d-1)",
    }
    catchment_attrs = {"long_name": f"catchment of the {len(outlets)} largest basins (1: largest; 0: none)"}
    ds = xr.Dataset(
        {
            "discharge": (dims, discharge.astype(np.float32), discharge_attrs),
            "upstream_area": (dims, upstream_km2.astype(np.float32), {"units": "km2"}),
            "catchment": (dims, labels, catchment_attrs),
            "outlet_row": ("outlet", rows, {"long_name": "grid row of the basin outlet"}),
            "outlet_col": ("outlet", cols, {"long_name": "grid column of the basin outlet"}),
        },
        coords={"outlet": np.arange(1, len(outlets) + 1)},
        attrs={"title": "xhydro_accessor demo on the EFAS 5 km Europe network", "Conventions": "CF-1.10"},
    )
    for dim, axis in zip(dims, "yx", strict=True):
        attrs = {"standard_name": f"projection_{axis}_coordinate", "units": "m"}
        ds = ds.assign_coords({dim: (dim, network.coords[dim], attrs)})
    return ds.hydro.assign_network(network)


def save_map(network, upstream_km2, labels, outlets, path: Path, overwrite: bool = False) -> Path:
    """A PNG map: land, catchments, rivers by upstream area, numbered outlets."""
    from .plot import grid_extent, plot_catchments, plot_network, pyplot

    plt = pyplot()
    figure, ax = plt.subplots(figsize=(9, 8.5), dpi=110)
    land = np.where(network.mask, 1.0, np.nan)
    ax.imshow(land, cmap="Greys", vmin=0, vmax=6, extent=grid_extent(network), interpolation="nearest")
    plot_catchments(labels, network, gauges=outlets, ax=ax, alpha=0.6)
    plot_network(network, upstream_km2, ax=ax, min_area=1000.0, max_width=2.5)
    ax.set_title(f"EFAS 5 km Europe: rivers over 1000 km², the {len(outlets)} largest basins")
    ax.set_xlabel("x (ETRS89-LAEA, m)")
    ax.set_ylabel("y (m)")
    figure.tight_layout()
    with safe_output(path, overwrite=overwrite) as temporary:
        figure.savefig(temporary)
    plt.close(figure)
    return path
