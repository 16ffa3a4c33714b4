"""Locations: every accepted form, snapping, and errors naming the bad points."""

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
