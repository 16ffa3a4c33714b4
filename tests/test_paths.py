"""Flow paths and main stems: a hand-checked line, a brute force on random networks, pyflwdir's path()."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from tests.test_vectors import SPACING, random_network
from xhydro_accessor.hydrology.paths import flow_path, main_stem


def line_network():
    """Five cells in a row, 1 km apart, flowing east to a pit."""
    codes = xr.DataArray([[6, 6, 6, 6, 5]], dims=("y", "x"), coords={"y": [0.0], "x": SPACING * np.arange(5)})
    return xa.RiverNetwork.from_ldd(codes, crs="EPSG:3035")


def test_a_line_by_hand():
    net = line_network()
    paths = flow_path(net, [(0, 0), (0, 3)])
    assert [p.tolist() for p in paths.paths] == [[0, 1, 2, 3, 4], [3, 4]]
    np.testing.assert_array_equal(paths.distance, [0, 1000, 2000, 3000, 4000, 0, 1000])
    np.testing.assert_array_equal(paths.lengths, [4000, 1000])
    np.testing.assert_array_equal(paths.x, [0, 1000, 2000, 3000, 4000, 3000, 4000])
    assert paths.units == "m" and len(paths) == 2
    for limit, cells in (("2 km", 3), ("2.5 km", 3), ("1999 m", 2), (2, 3), (0, 1)):
        assert flow_path(net, [(0, 0)], max_length=limit).paths[0].tolist() == list(range(cells)), limit
    assert flow_path(net, [(0, 4)], "up", max_length=1).paths[0].tolist() == [4, 3]
    np.testing.assert_array_equal(main_stem(net, [(0, 2)]), [[True, True, True, False, False]])


def reference_main_upstream(down):
    """Per cell: the upstream cell draining the most cells; ties to the smallest index."""
    kids, ups = ref.children(down), ref.upstream_sets(down)
    return {i: min(k, key=lambda c: (-len(ups[c]), c)) for i, k in kids.items() if k}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    ny=st.integers(2, 8),
    nx=st.integers(2, 8),
    limit=st.sampled_from([None, 0, 1, 3, "1 km", "2.5 km"]),
)
def test_paths_equal_brute_force_on_random_grids(seed, ny, nx, limit):
    net, down = random_network(seed, ny, nx)
    main = reference_main_upstream(down)
    starts = np.flatnonzero(down != -2)
    yx = np.array([(SPACING * (ny - 1 - i // nx), SPACING * (i % nx)) for i in range(down.size)])
    metres = None if limit is None else (float(limit.split()[0]) * 1000 if isinstance(limit, str) else None)
    for direction in ("down", "up"):
        got = flow_path(net, starts, direction, limit)
        for start, cells, distance in zip(
            starts, got.paths, np.split(got.distance, got.offsets[1:-1]), strict=True
        ):
            want = [int(start)]
            while (down[want[-1]] >= 0) if direction == "down" else (want[-1] in main):
                want.append(int(down[want[-1]]) if direction == "down" else main[want[-1]])
            walked = np.r_[0, np.cumsum(np.hypot(*np.diff(yx[want], axis=0).T))]
            if metres is not None:
                want, walked = want[: int(np.sum(walked <= metres))], walked[walked <= metres]
            elif isinstance(limit, int):
                want, walked = want[: limit + 1], walked[: limit + 1]
            assert cells.tolist() == want
            np.testing.assert_allclose(distance, walked, rtol=1e-12)
            np.testing.assert_array_equal(got.y[got.offsets[list(starts).index(start)]], yx[start, 0])
    mask = np.zeros(down.size, bool)
    for start in starts:
        cell = int(start)
        mask[cell] = True
        while cell in main:
            cell = main[cell]
            mask[cell] = True
    np.testing.assert_array_equal(main_stem(net, starts).reshape(-1), mask)


def test_vector_networks_count_edges():
    net = xa.RiverNetwork.from_downstream([20, 30, -1, 30], ids=[10, 20, 30, 40])
    paths = flow_path(net, [10])
    assert [p.tolist() for p in paths.paths] == [[0, 1, 2]] and paths.units == "1"
    np.testing.assert_array_equal(paths.distance, [0, 1, 2])
    assert np.isnan(paths.x).all()


def test_bad_input_raises_clearly():
    net = line_network()
    with pytest.raises(ValueError, match="direction must be 'down' or 'up'"):
        flow_path(net, [(0, 0)], "sideways")
    with pytest.raises(ValueError, match="max_length must be a finite length"):
        flow_path(net, [(0, 0)], max_length=-1)
    with pytest.raises(ValueError, match="no known geometry"):
        flow_path(xa.RiverNetwork.from_ldd(np.array([[6, 5]])), [(0, 0)], max_length="5 km")
    with pytest.raises(ValueError, match="upstream_area must have the network's shape"):
        flow_path(net, [(0, 4)], "up", upstream_area=np.ones(3))
    with pytest.raises(xa.LocationError):
        flow_path(xa.RiverNetwork.from_ldd(np.array([[6, 5, 255]])), [(0, 2)])


def test_the_dataset_pads_the_paths(tmp_path):
    net = line_network()
    da = xr.DataArray(np.zeros(net.shape), dims=("y", "x"), coords=net.coords).hydro.assign_network(net)
    ds = da.hydro.flow_path({"a": (0.0, 0.0), "b": (0.0, 3000.0)}, max_length="10 km")
    paths = flow_path(net, [(0, 0), (0, 3)])
    assert ds.sizes == {"station": 2, "step": 5} and list(ds.station.values) == ["a", "b"]
    np.testing.assert_array_equal(ds.n_cells, paths.n_cells)
    np.testing.assert_array_equal(ds.cell.values[1], [3, 4, -1, -1, -1])
    np.testing.assert_array_equal(ds.col.values[0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(ds.distance.values[1, :2], [0, 1000])
    assert np.isnan(ds.distance.values[1, 2:]).all() and np.isnan(ds.x.values[1, 2:]).all()
    assert ds.distance.attrs["units"] == "m" and ds.attrs["direction"] == "down"
    one = ds.isel(station=1, step=slice(0, int(ds.n_cells[1])))
    np.testing.assert_array_equal(one.x, paths.x[paths.offsets[1] :])
    ds.to_netcdf(tmp_path / "paths.nc")
    with xr.open_dataset(tmp_path / "paths.nc") as back:
        xr.testing.assert_identical(back.load(), ds)
    stem = da.hydro.main_stem({"a": (0.0, 2000.0)})
    assert stem.dtype == bool and stem.values.tolist() == [[True, True, True, False, False]]


# ------------------------------------------------------------------ pyflwdir
def _pyflwdir_paths(flw, starts, direction, max_length):
    """pyflwdir's path() in metres. Its FlwdirRaster.path(unit="m") hands numba the Affine
    transform, which numba cannot type (pyflwdir 0.5.x): call the same kernel with a tuple."""
    import pyflwdir

    return pyflwdir.core.path(
        starts.astype(flw.idxs_ds.dtype),
        flw.idxs_ds if direction == "down" else flw.idxs_us_main,
        ncol=flw.shape[1],
        max_length=max_length,
        real_length=True,
        latlon=flw.latlon,
        transform=tuple(flw.transform),
    )


@pytest.mark.parametrize("name", ["efas_europe_nc", "lisflood_madeira"])
@pytest.mark.parametrize("direction", ["down", "up"])
@pytest.mark.parametrize("max_length", [None, 60_000.0])
def test_paths_equal_pyflwdir(name, direction, max_length):
    """The same cells; the same lengths on the projected EFAS grid, within 0.5% on lat/lon
    (pyflwdir's lengths come from a spherical approximation, ours are geodesic). pyflwdir's
    main upstream cell is by upstream cell count: passed as upstream_area on lat/lon."""
    pytest.importorskip("pyflwdir")
    from tests.test_against_pyflwdir import _build

    _info, _codes, _valid, net, flw = _build(name)
    starts = np.random.default_rng(0).choice(np.flatnonzero(net.mask), 500, replace=False)
    cells = xa.accumulate(net, np.ones(net.shape)) if flw.latlon else None
    limit = None if max_length is None else f"{max_length} m"
    ours = flow_path(net, starts, direction, limit, upstream_area=cells)
    theirs, lengths = _pyflwdir_paths(flw, starts, direction, max_length)
    if not flw.latlon or max_length is None:  # near the limit, the two lengths may decide differently
        assert all(np.array_equal(a, b) for a, b in zip(ours.paths, theirs, strict=True))
    common = np.array([np.array_equal(a, b) for a, b in zip(ours.paths, theirs, strict=True)])
    assert np.mean(common) > 0.95
    np.testing.assert_allclose(ours.lengths[common], lengths[common], rtol=5e-3 if flw.latlon else 1e-12)
    if direction == "up" and max_length is None and not flw.latlon:  # km² ∝ cells on EFAS' equal-area grid
        np.testing.assert_array_equal(
            np.flatnonzero(main_stem(net, starts)), np.unique(np.concatenate(theirs))
        )
