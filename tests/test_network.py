"""Hand-checked networks for every format and code, and every bad input."""

import pickle

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa

# code -> (row, col) of the cell the centre of a 3×3 grid drains to
LDD_TARGETS = {1: (2, 0), 2: (2, 1), 3: (2, 2), 4: (1, 0), 6: (1, 2), 7: (0, 0), 8: (0, 1), 9: (0, 2)}
ESRI_TARGETS = {1: (1, 2), 2: (2, 2), 4: (2, 1), 8: (2, 0), 16: (1, 0), 32: (0, 0), 64: (0, 1), 128: (0, 2)}
TAUDEM_TARGETS = {1: (1, 2), 2: (0, 2), 3: (0, 1), 4: (0, 0), 5: (1, 0), 6: (2, 0), 7: (2, 1), 8: (2, 2)}


def centre_grid(code, pit):
    codes = np.full((3, 3), pit)
    codes[1, 1] = code
    return codes


def target_of_centre(net):
    grid = net.downstream_grid()
    return divmod(int(grid[1, 1]), 3)


@pytest.mark.parametrize(("code", "target"), LDD_TARGETS.items())
def test_every_ldd_code(code, target):
    assert target_of_centre(xa.RiverNetwork.from_ldd(centre_grid(code, 5))) == target


@pytest.mark.parametrize("convention", ["esri", "merit"])
@pytest.mark.parametrize(("code", "target"), ESRI_TARGETS.items())
def test_every_esri_code(code, target, convention):
    assert target_of_centre(xa.RiverNetwork.from_d8(centre_grid(code, 0), convention)) == target


@pytest.mark.parametrize(("code", "target"), TAUDEM_TARGETS.items())
def test_every_taudem_code(code, target):
    codes = np.full((3, 3), 255)  # TauDEM has no pit code: neighbours are missing
    codes[1, 1] = codes[target] = code  # the target flows on, off the grid
    assert target_of_centre(xa.RiverNetwork.from_d8(codes, "taudem")) == target


def test_pits_edges_and_missing_cells_make_outlets():
    ldd = np.array(
        [
            [7, 2, 255],  # NW off the grid; S; missing
            [6, 6, 5],  # E, E into a pit
            [4, 6, 255],  # W off the grid; E into a missing cell
        ]
    )
    net = xa.RiverNetwork.from_ldd(ldd)
    np.testing.assert_array_equal(net.outlets, [0, 5, 6, 7])
    np.testing.assert_array_equal(net.sources, [0, 1, 3, 6, 7])
    grid = net.downstream_grid()
    np.testing.assert_array_equal(grid, [[-1, 4, -2], [4, 5, -1], [-1, -1, -2]])
    assert net.n_nodes == 7 and net.n_levels == 3 and net.shape == (3, 3)
    np.testing.assert_array_equal(
        xa.accumulate(net, np.ones((3, 3))), [[1, 1, np.nan], [1, 3, 4], [1, 1, np.nan]]
    )


def test_merit_inland_pit_and_esri_missing():
    codes = np.array([[1, 255, 1, 247]], np.uint8)
    assert xa.RiverNetwork.from_d8(codes, "merit").n_nodes == 3
    assert xa.RiverNetwork.from_d8(codes, "esri").n_nodes == 2


def test_wrap_x_only_east_west():
    ldd = np.array([[4, 5, 2], [9, 2, 6]])  # (0,0) W and (1,2) E leave the grid; (1,1) S too
    plain = xa.RiverNetwork.from_ldd(ldd).downstream_grid()
    wrapped = xa.RiverNetwork.from_ldd(ldd, wrap_x=True).downstream_grid()
    np.testing.assert_array_equal(plain, [[-1, -1, 5], [1, -1, -1]])
    np.testing.assert_array_equal(wrapped, [[2, -1, 5], [1, -1, 3]])  # south never wraps


def test_cama():
    nextx = np.array([[2, 3, -9], [2, -10, -9999]])
    nexty = np.array([[1, 1, -9], [1, -10, -9999]])
    net = xa.RiverNetwork.from_cama(nextx, nexty)
    np.testing.assert_array_equal(net.downstream_grid(), [[1, 2, -1], [1, -1, -2]])
    np.testing.assert_array_equal(xa.accumulate(net, np.ones((2, 3))), [[1, 3, 4], [1, 1, np.nan]])


def test_cama_into_missing_and_self_are_outlets():
    nextx = np.array([[2, -9999, 3]])
    nexty = np.array([[1, -9999, 1]])
    np.testing.assert_array_equal(xa.RiverNetwork.from_cama(nextx, nexty).downstream_grid(), [[-1, -2, -1]])


def test_from_downstream_labels():
    net = xa.RiverNetwork.from_downstream(["b", "c", "", "c"], ids=["a", "b", "c", "d"], outlet="")
    np.testing.assert_array_equal(net.outlets, [2])
    np.testing.assert_array_equal(xa.accumulate(net, np.ones(4)), [1, 2, 4, 1])
    assert list(net.ids) == ["a", "b", "c", "d"]
    assert net.shape == (4,)


def test_from_downstream_dataarray_uses_coordinate_labels():
    da = xr.DataArray([20, -1, 20], dims="node", coords={"node": [10, 20, 30]})
    net = xa.RiverNetwork.from_downstream(da)
    np.testing.assert_array_equal(xa.accumulate(net, np.ones(3)), [1, 3, 1])


def test_dataarray_keeps_grid_coordinates():
    da = xr.DataArray([[6, 5]], dims=("lat", "lon"), coords={"lat": [1.0], "lon": [10.0, 11.0]})
    net = xa.RiverNetwork.from_ldd(da)
    assert net.dims == ("lat", "lon")
    np.testing.assert_array_equal(net.coords["lon"], [10.0, 11.0])
    with pytest.raises(xa.GridMismatchError, match="lon"):
        net.check_grid((1, 2), {"lon": [10.0, 12.0]})


def test_nan_and_nodata_are_missing():
    codes = np.array([[6.0, 5.0, np.nan]])
    assert xa.RiverNetwork.from_ldd(codes).n_nodes == 2
    assert xa.RiverNetwork.from_ldd(np.array([[6, 5, -1]], np.int8), nodata=-1).n_nodes == 2
    da = xr.DataArray(np.array([[6, 5, 0]]), dims=("y", "x"), attrs={"nodata": 0})
    assert xa.RiverNetwork.from_ldd(da).n_nodes == 2


def test_network_is_immutable_and_pickles():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
    with pytest.raises(ValueError):
        net.nodes[0] = 1
    with pytest.raises(AttributeError):
        net.foo = 1
    assert pickle.loads(pickle.dumps(net)) == net
    assert net != xa.RiverNetwork.from_ldd(np.array([[6, 5, 4]]))
    assert "3 cells" in repr(net) and "1 outlets" in repr(net)


def test_storage_is_compact():
    net = xa.RiverNetwork.from_ldd(np.full((50, 40), 2))
    assert net.nodes.dtype == np.int32 and net.downstream.dtype == np.int32
    kept = net.nodes.nbytes + net.downstream.nbytes + net.mask.nbytes
    assert kept <= 16 * net.n_nodes


# ------------------------------------------------------------------ bad input
def test_cycle_reports_count_and_first_cell():
    # two cycles no source reaches: (0,0)<->(0,1) and (1,2)<->(1,3); plus a valid river
    ldd = np.array([[6, 4, 2, 5], [5, 5, 6, 4]])
    with pytest.raises(xa.CycleError, match=r"2 cycle\(s\) over 4 cells.*\(row, col\) \(0, 0\)"):
        xa.RiverNetwork.from_ldd(ldd)


def test_cycle_fed_by_a_river():
    ldd = np.array([[6, 6, 2], [5, 8, 4]])  # (0,0)->(0,1)->(0,2)->(1,2)->(1,1)->(0,1)
    with pytest.raises(xa.CycleError, match=r"1 cycle\(s\) over 4 cells.*\(0, 1\)"):
        xa.RiverNetwork.from_ldd(ldd)


def test_vector_cycle():
    with pytest.raises(xa.CycleError, match="node 1"):
        xa.RiverNetwork.from_downstream([1, 2, 1, -1])


@pytest.mark.parametrize(
    ("codes", "convention", "message"),
    [
        (np.array([[6, 0, 10]]), "ldd", r"values \[0, 10\]"),
        (np.array([[1, 3, 0]]), "esri", r"values \[3\]"),
        (np.array([[1, -1, 0]], np.int16), "esri", r"values \[-1\].*nodata"),
        (np.array([[9, 1]]), "taudem", r"values \[9\]"),
        (np.array([[1, 2**40]]), "esri", r"1099511627776"),
    ],
)
def test_invalid_codes_are_named(codes, convention, message):
    with pytest.raises(xa.InvalidCodeError, match=message):
        xa.RiverNetwork.from_d8(codes, convention) if convention != "ldd" else xa.RiverNetwork.from_ldd(codes)


def test_non_integral_codes():
    with pytest.raises(xa.InvalidCodeError, match=r"non-integer values \[2.5\]"):
        xa.RiverNetwork.from_ldd(np.array([[6.0, 2.5, 5.0]]))


def test_unknown_convention():
    with pytest.raises(ValueError, match="unknown flow-direction convention"):
        xa.RiverNetwork.from_d8(np.array([[1]]), "arcgis")


def test_cama_errors():
    with pytest.raises(xa.GridMismatchError, match="one shape"):
        xa.RiverNetwork.from_cama(np.ones((2, 3), int), np.ones((3, 2), int))
    with pytest.raises(xa.InvalidCodeError, match=r"\(5, 1\)"):
        xa.RiverNetwork.from_cama(np.array([[5, -9]]), np.array([[1, -9]]))


def test_downstream_label_errors():
    with pytest.raises(xa.InvalidCodeError, match=r"\['zz'\]"):
        xa.RiverNetwork.from_downstream(["b", "zz", ""], ids=["a", "b", "c"], outlet="")
    with pytest.raises(xa.InvalidCodeError, match="not unique"):
        xa.RiverNetwork.from_downstream([-1, -1], ids=[3, 3])


def test_grid_must_be_2d():
    with pytest.raises(xa.GridMismatchError, match="2-D"):
        xa.RiverNetwork.from_ldd(np.array([5, 5]))
