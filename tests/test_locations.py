"""Locations: every accepted form, snapping, and errors naming the bad points."""

import warnings

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from xhydro_accessor.hydrology.locations import LocationError, Locations, locate

# 3×4 grid: row 0 flows east into (0, 3), a pit; row 1 flows north; (2, 0) missing.
LDD = np.array([[6, 6, 6, 5], [8, 8, 8, 8], [255, 9, 8, 7]])


@pytest.fixture
def net():
    da = xr.DataArray(
        LDD, dims=("lat", "lon"), coords={"lat": [50.0, 49.0, 48.0], "lon": [1.0, 2.0, 3.0, 4.0]}
    )
    return xa.RiverNetwork.from_ldd(da)


def test_forms_agree(net):
    by_coords = locate(net, {"a": (49.0, 2.0), "b": (50.2, 4.4)})
    np.testing.assert_array_equal(by_coords.index, [5, 3])
    np.testing.assert_array_equal(by_coords.names, ["a", "b"])
    np.testing.assert_array_equal(locate(net, [(1, 1), (0, 3)]).index, [5, 3])
    np.testing.assert_array_equal(locate(net, np.array([5, 3])).index, [5, 3])
    points = xr.Dataset(
        coords={"station": ["a", "b"], "lat": ("station", [49.0, 50.0]), "lon": ("station", [2, 4])}
    )
    from_xr = locate(net, points)
    np.testing.assert_array_equal(from_xr.index, [5, 3])
    np.testing.assert_array_equal(from_xr.names, ["a", "b"])
    ids = xr.DataArray([5, 3], dims="station", coords={"station": ["a", "b"]})
    np.testing.assert_array_equal(locate(net, ids).index, [5, 3])
    assert locate(net, by_coords) is by_coords


def test_lists_of_tuples_read_as_arrays(net):
    """(row, col) tuples take a fast reader: the same cells, the same errors as an array."""
    np.testing.assert_array_equal(locate(net, [(1, 1), (0.0, 3.0), (1, 1)]).index, [5, 3, 5])
    with pytest.raises(LocationError, match="must be integers"):
        locate(net, [(1, 1.5)])
    with pytest.raises(LocationError, match=r"off the 3×4 grid: \(row, col\) \{1: \(3, 0\)\}"):
        locate(net, [(0, 0), (3, 0)])
    with pytest.raises(LocationError, match=r"shape \(1, 3\) are neither"):  # not pairs: the generic reader
        locate(net, [(1, 1, 0)])
    # no snapping: moved 0 m on a grid with geometry, NaN without
    np.testing.assert_array_equal(locate(net, [(1, 1), (0, 3)]).moved_m, [0, 0])
    assert np.isnan(locate(xa.RiverNetwork.from_ldd(LDD), [(1, 1)]).moved_m).all()


def test_descending_and_ascending_coordinates_and_cell_edges(net):
    # cell (0, 0) spans lat 49.5..50.5, lon 0.5..1.5
    np.testing.assert_array_equal(locate(net, {"edge": (50.5, 0.5), "in": (49.51, 1.49)}).index, [0, 0])
    flipped = xa.RiverNetwork.from_ldd(
        xr.DataArray(LDD, dims=("y", "x"), coords={"y": [0.0, 1.0, 2.0], "x": [0.0, 10.0, 20.0, 30.0]})
    )
    np.testing.assert_array_equal(locate(flipped, {"p": (2.2, 24.0)}).index, [10])


def test_off_grid_and_off_network_errors_name_the_points(net):
    with pytest.raises(LocationError, match=r"off the grid.*'far'.*\(10\.0, 2\.0\)"):
        locate(net, {"ok": (49.0, 2.0), "far": (10.0, 2.0)})
    with pytest.raises(LocationError, match=r"off the 3×4 grid.*\(3, 0\)"):
        locate(net, [(0, 0), (3, 0)])
    with pytest.raises(LocationError, match=r"not on the network.*'dry'.*\(2, 0\).*snap="):
        locate(net, {"dry": (48.0, 1.0)})
    with pytest.raises(LocationError, match="off the grid of 12 cells"):
        locate(net, [12])
    with pytest.raises(LocationError, match="station"):
        locate(net, xr.DataArray([1, 2], dims="gauge"))


def test_snapping_to_largest_upstream_area(net):
    loc = locate(net, {"dry": (48.0, 1.0), "near": (49.0, 3.0)}, snap=1.5)
    # from (2, 0): (1, 0), (1, 1), (2, 1) reachable; (1, 0) drains 1 cell... largest is (1, 1)? no: all 1-2
    up = xa.accumulate(net, np.ones(net.shape)).reshape(-1)
    for start, end in zip(loc.requested, loc.index, strict=True):
        r, c = divmod(int(start), 4)
        window = [
            rr * 4 + cc
            for rr in range(3)
            for cc in range(4)
            if (rr - r) ** 2 + (cc - c) ** 2 <= 1.5**2 and net.mask.reshape(-1)[rr * 4 + cc]
        ]
        assert up[end] == max(up[window])
    np.testing.assert_allclose(
        loc.moved, np.hypot(*np.subtract(np.divmod(loc.index, 4), np.divmod(loc.requested, 4)))
    )
    assert "snap_distance" in loc.coords(net)
    with pytest.raises(LocationError, match="no network cell within 0.5"):
        locate(net, {"dry": (48.0, 1.0)}, snap=0.5)


def test_snapping_ties_prefer_the_nearest():
    net = xa.RiverNetwork.from_ldd(np.array([[5, 5, 5, 5, 5]]))
    assert locate(net, [(0, 2)], snap=2).index.tolist() == [2]
    weights = np.array([[1.0, 3.0, 2.0, 3.0, 1.0]])
    loc = locate(net, [(0, 2)], snap=2, upstream_area=weights)
    assert loc.index.tolist() == [1] and loc.moved.tolist() == [1.0]


def test_vector_network_ids():
    net = xa.RiverNetwork.from_downstream(["b", "c", "", "c"], ids=["a", "b", "c", "d"], outlet="")
    assert locate(net, ["d", "b"]).index.tolist() == [3, 1]
    assert locate(net, {"x": "c"}).index.tolist() == [2]
    assert locate(net, ["b"]).coords(net)["node"][1].tolist() == ["b"]
    with pytest.raises(LocationError, match="unknown node ids.*'zz'"):
        locate(net, ["a", "zz"])
    with pytest.raises(LocationError, match="vector"):
        locate(net, ["a"], snap=1)


def test_coords_for_xarray_outputs(net):
    loc = locate(net, {"a": (49.0, 2.0)})
    coords = loc.coords(net)
    assert coords["lat"][1].tolist() == [49.0] and coords["lon"][1].tolist() == [2.0]
    assert coords["row"][1].tolist() == [1] and "snap_distance" not in coords
    assert isinstance(loc, Locations) and len(loc) == 1


def test_locations_of_other_backends_are_indices(net):
    torch = pytest.importorskip("torch")
    want = locate(net, np.array([[1, 2]])).index
    np.testing.assert_array_equal(locate(net, torch.tensor([[1, 2]])).index, want)


# ------------------------------------------------------------ gauges in any CRS (issue 14)
def _stem_and_tributary():
    """1 km cells (EPSG:3035): a main stem along row 0 flowing east, a 3-cell tributary in
    column 2 joining it from the south. Upstream cells: row 0 1, 2, 6, 7, 8; column 2 3, 2, 1."""
    ldd = np.array([[6, 6, 6, 6, 5]] + [[255, 255, 8, 255, 255]] * 3)
    coords = {"y": [3500.0, 2500.0, 1500.0, 500.0], "x": [500.0, 1500.0, 2500.0, 3500.0, 4500.0]}
    return xa.RiverNetwork.from_ldd(xr.DataArray(ldd, dims=("y", "x"), coords=coords), crs="EPSG:3035")


def test_report_per_gauge():
    net = _stem_and_tributary()
    loc = locate(net, {"mouth": (3500.0, 4500.0), "dry": (1500.0, 3500.0)}, snap=1.5)
    assert loc.index.tolist() == [4, 7]  # "dry" (2, 3) moves to (1, 2), the largest within 1.5 cells
    np.testing.assert_allclose(loc.moved, [0, np.sqrt(2)])
    np.testing.assert_allclose(loc.moved_m, loc.moved * 1000)
    np.testing.assert_array_equal(loc.upstream_cells, [8, 3])
    np.testing.assert_allclose(loc.upstream_area, [8.0, 3.0])  # km² of 1 km cells
    coords = loc.coords(net)
    assert {"snap_distance", "snap_distance_m", "upstream_area", "upstream_cells"} <= set(coords)
    table = loc.table(net).splitlines()
    assert table[0].split()[:3] == ["name", "row", "col"] and table[2].split()[:3] == ["dry", "1", "2"]


def test_snapping_to_a_reported_area():
    net = _stem_and_tributary()
    gauge = {"trib": (3500.0, 2500.0)}  # (0, 2): on the stem beside the tributary's mouth
    assert locate(net, gauge, snap=1).index.tolist() == [3]  # largest area within 1 cell: (0, 3)
    loc = locate(net, gauge, snap=1, area=3.0)  # reported: the tributary's 3 km²
    assert loc.index.tolist() == [7] and loc.upstream_area.tolist() == [3.0]
    assert loc.reported_area.tolist() == [3.0] and loc.area_error.tolist() == [0.0]
    loc = locate(net, gauge, snap=1, area=2.8)  # the closest area within the radius
    assert loc.index.tolist() == [7] and loc.area_error[0] == pytest.approx(3 / 2.8 - 1)
    not_reported = locate(net, gauge, snap=1, area=[np.nan])
    assert not_reported.index.tolist() == [3] and np.isnan(not_reported.area_error).all()
    with pytest.raises(ValueError, match="one reported area"):
        locate(net, gauge, snap=1, area=[1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        locate(net, gauge, snap=1, area=-3)


def test_snap_with_a_unit():
    net = _stem_and_tributary()
    gauge = {"g": (500.0, 3500.0)}  # (3, 3): off the network
    assert locate(net, gauge, snap="1 km").index.tolist() == [17]  # (3, 2), one cell west
    assert locate(net, gauge, snap="1.5 km").index == locate(net, gauge, snap=1.5).index == [12]
    assert locate(net, gauge, snap="2300 m").index.tolist() == [7]  # (1, 2) at 2.24 km
    with pytest.raises(LocationError, match="no network cell within 500 m"):
        locate(net, gauge, snap="500 m")
    bare = xa.RiverNetwork.from_ldd(np.array([[6, 5]]))
    with pytest.raises(ValueError, match="coordinates"):
        locate(bare, [(0, 0)], snap="1 km")
    no_crs = xa.RiverNetwork.from_ldd(
        xr.DataArray([[6, 5], [8, 8]], dims=("y", "x"), coords={"y": [1.0, 0.0], "x": [0.0, 1.0]})
    )
    with pytest.raises(ValueError, match="crs="):
        locate(no_crs, [(0, 0)], snap="1 km")


@pytest.mark.parametrize("snap", [-1, float("nan"), float("inf"), "5 kg", "far", "-2 km", None, [1, 2]])
def test_bad_snap_values_fail_at_once(net, snap):
    with pytest.raises(ValueError, match="snap must be a finite length"):
        locate(net, {"a": (49.0, 2.0)}, snap=snap)


def test_absurd_snap_radii_fail_fast():
    import time

    net = _stem_and_tributary()
    start = time.perf_counter()
    for snap in (1e9, 6, "10000 km"):
        with pytest.raises(ValueError, match="larger than the 4×5 grid"):
            locate(net, {"g": (500.0, 3500.0)}, snap=snap)
    assert time.perf_counter() - start < 1


def test_small_catchment_beside_a_river_warns():
    wide = xa.RiverNetwork.from_ldd(
        xr.DataArray(
            np.array([[6] * 150 + [5], [255] * 149 + [8, 255]]),
            dims=("y", "x"),
            coords={"y": [1500.0, 500.0], "x": np.arange(151) * 1000.0 + 500},
        ),
        crs="EPSG:3035",
    )
    # (1, 149) drains 1 cell; its neighbour (0, 149) drains 152
    with pytest.warns(UserWarning, match="snap="):
        locate(wide, {"side": (500.0, 149_500.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        locate(wide, [(1, 149)])  # a cell chosen by index: no warning
        locate(wide, {"side": (500.0, 149_500.0)}, snap=1)  # snapped onto the river


def test_lonlat_gauges_on_the_efas_laea_grid():
    from pyproj import Transformer

    from tests.real_data import BY_NAME, skip_if_missing

    info = BY_NAME["efas_europe_nc"]
    skip_if_missing(info)
    efas = xa.open_network(info.path)
    lonlat = {"Lobith": (51.84, 6.11), "Basel": (47.56, 7.59), "Vienna": (48.2, 16.4)}
    lonlat["Mohacs"] = (45.99, 18.69)
    to_laea = Transformer.from_crs("EPSG:4326", efas.crs, always_xy=True)
    projected = {k: to_laea.transform(lon, lat)[::-1] for k, (lat, lon) in lonlat.items()}
    a = locate(efas, lonlat, crs="EPSG:4326", snap="10 km")
    b = locate(efas, projected, snap=2)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.requested, b.requested)
    # network cells given by their centres in lon/lat land exactly on them, without snapping
    cells = efas.nodes[::40_000]
    rows, cols = np.divmod(cells, efas.shape[1])
    y, x = efas.coords["y"][rows], efas.coords["x"][cols]
    lon, lat = Transformer.from_crs(efas.crs, "EPSG:4326", always_xy=True).transform(x, y)
    points = {i: (la, lo) for i, (la, lo) in enumerate(zip(lat, lon, strict=True))}
    with warnings.catch_warnings():  # some of these cells are sources beside rivers: warned
        warnings.simplefilter("ignore", UserWarning)
        found = locate(efas, points, crs=4326)
    np.testing.assert_array_equal(found.index, cells)
    with pytest.raises(LocationError, match=r"in 'WGS 84' are off the grid.*'Sydney'"):
        locate(efas, {"Sydney": (-33.9, 151.2)}, crs="EPSG:4326")
    with pytest.raises(ValueError, match="unknown coordinate reference system"):
        locate(efas, lonlat, crs="EPSG:0")
    bare = xa.open_network(BY_NAME["efas_europe_map"].path)  # CSF: no CRS
    with pytest.raises(ValueError, match="without a CRS"):
        locate(bare, lonlat, crs="EPSG:4326")


def test_rhine_gauge_snaps_to_its_grdc_area():
    from tests.real_data import BY_NAME, skip_if_missing

    info = BY_NAME["rhine_d8"]
    skip_if_missing(info)
    rhine = xa.open_network(info.path)
    loc = locate(rhine, {"Lobith": (51.84, 6.11)}, snap="10 km", area=160_800)
    assert abs(loc.area_error[0]) < 0.01 and loc.moved_m[0] <= 10_000
    km2 = xa.upstream_area(rhine, units="km2").reshape(-1)
    assert loc.upstream_area[0] == pytest.approx(km2[loc.index[0]])


def test_cli_catchments_prints_the_gauge_table(tmp_path, capsys):
    from tests.real_data import BY_NAME, skip_if_missing
    from xhydro_accessor.cli import main

    info = BY_NAME["rhine_d8"]
    skip_if_missing(info)
    gauges = tmp_path / "gauges.csv"
    gauges.write_text("name,y,x,area\nLobith,51.84,6.11,160800\nBasel,47.56,7.59,35897\n")
    main(["catchments", str(info.path), str(gauges), "-o", str(tmp_path / "out.nc"), "--snap", "5 km"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["name", "row", "col", "moved_cells", "moved_m"]
    assert lines[1].startswith("Lobith") and lines[2].startswith("Basel")
    out = xr.open_dataset(tmp_path / "out.nc")
    assert (abs(out.area_error.values) < 0.01).all() and (out.snap_distance_m.values <= 5000).all()


def test_xarray_catchments_report_each_station():
    net = _stem_and_tributary()
    da = xr.DataArray(np.zeros(net.shape), dims=net.dims, coords=net.coords).hydro.assign_network(net)
    lonlat = {"trib": (3500.0, 2500.0)}
    labels = da.hydro.catchments(lonlat, snap="1 km", area=3.0)
    assert labels.attrs["station_row"].tolist() == [1] and labels.attrs["station_col"].tolist() == [2]
    assert labels.attrs["station_snap_distance_m"].tolist() == [1000.0]
    assert labels.attrs["station_upstream_area"].tolist() == [3.0]
    assert (labels.values == 1).sum() == 3  # the tributary's cells
    geographic = xa.geometry.transform_points(np.array([[3500.0, 2500.0]]), net.crs, "EPSG:4326")
    again = da.hydro.catchments({"trib": tuple(geographic[0])}, snap="1 km", area=3.0, locations_crs=4326)
    np.testing.assert_array_equal(again.values, labels.values)


@pytest.mark.parametrize("radius", [1.5, 3, 33.0])  # small windows run in batches, large ones per point
def test_snapping_equals_brute_force(radius):
    from tests import reference as ref

    rng = np.random.default_rng(int(radius * 10))
    steps, missing = ref.random_grid_network(rng, 40, 45)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    score = rng.integers(0, 5, net.shape).astype(float)  # many ties
    points = np.stack([rng.integers(0, 40, 30), rng.integers(0, 45, 30)], axis=1)
    loc = locate(net, points, snap=radius, upstream_area=score)
    rows, cols = np.indices(net.shape)
    for (r, c), got, moved in zip(points, loc.index, loc.moved, strict=True):
        dist = np.hypot(rows - r, cols - c)
        candidates = np.flatnonzero((dist <= radius + 1e-9) & net.mask)
        best = min(candidates, key=lambda i: (-score.flat[i], dist.flat[i], i))
        assert got == best and moved == pytest.approx(dist.flat[best])


def test_snapping_counts_past_float32s_2_to_the_24_cells():
    """One river snaking through a 4097² grid (16,785,409 cells > 2**24): a point two cells
    before the outlet snaps (radius 1 cell) onto the cell downstream of it. The counts were
    float32 sums, which stop at 16,777,216: every cell past that tied with its neighbours
    and the point stayed where it was."""
    n = 4097
    ldd = np.where(np.arange(n)[:, None] % 2 == 0, 6, 4).astype(np.uint8).repeat(n, 1)  # east, west...
    ldd[0::2, -1], ldd[1::2, 0] = 2, 2  # ...down at the ends of the rows
    ldd[-1, -1] = 5  # the last row runs east to the outlet
    net = xa.RiverNetwork.from_ldd(ldd)
    last = n * n - 1
    assert locate(net, [last - 2], snap=1).index.tolist() == [last - 1]
