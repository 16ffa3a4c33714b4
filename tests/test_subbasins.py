"""Sub-basins by stream order, area and Pfafstetter: hand-checked cases, a brute force on
random networks, and pyflwdir's three schemes on random grids and the real networks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from tests.real_data import NAMES
from xhydro_accessor.hydrology.stream_order import strahler
from xhydro_accessor.hydrology.subbasins import _down_first, subbasins

pyflwdir = pytest.importorskip("pyflwdir")


def same_partition(a, b, mask) -> bool:
    """Whether two label maps cut ``mask`` into the same pieces (labels may differ)."""
    a, b = a[mask], b[mask]
    pairs = np.unique(np.stack([a, b]), axis=1)
    return pairs.shape[1] == np.unique(a).size == np.unique(b).size


def pyflwdir_like(net, flw):
    """pyflwdir on the same network, walking the cells in our down-to-upstream order.

    pyflwdir sorts its cells by distance to the outlet with numpy's unstable argsort, so
    which of two tributaries of one confluence it visits first is not set; handing it
    ours (distance, then flat index; a valid ``idxs_seq``) makes the comparison exact.
    """
    seq, _ = _down_first(net)
    return pyflwdir.FlwdirRaster(flw.idxs_ds, flw.shape, flw.ftype, idxs_pit=flw.idxs_pit,
                                 idxs_seq=seq.astype(flw.idxs_ds.dtype), transform=flw.transform,
                                 latlon=flw.latlon)  # fmt: skip


# ------------------------------------------------------------------ by hand
def test_by_order_by_hand():
    # vector network: sources 0, 1 (order 1) meet at 2 (order 2), with 3 (order 1) at 4 (order 2, outlet)
    net = xa.RiverNetwork.from_downstream([2, 2, 4, 4, -1], ids=range(5))
    # outlets 0, 1, 3 (order 1 into order 2) and 4; 2-4 is one stretch of order 2: labels by outlet cell
    np.testing.assert_array_equal(subbasins(net, min_sto=1), [1, 2, 4, 3, 4])
    np.testing.assert_array_equal(subbasins(net, min_sto=2), [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(subbasins(net), [1, 2, 4, 3, 4])  # -2: max order 2 - 2 = 0
    # by Hack order (0-2-4 the main stem, order 1; 1 and 3 order 2): outlets 1, 3, 4
    hack_order = xa.hydrology.stream_order.hack(net)
    np.testing.assert_array_equal(subbasins(net, min_sto=1, order=hack_order), [3, 1, 3, 2, 3])


def test_by_area_by_hand():
    # a line of 5 cells: the cut at cell 3 leaves 2 > 1.5 cells below it
    line = xa.RiverNetwork.from_ldd(np.array([[6, 6, 6, 6, 5]]))
    cells = np.array([[1.0, 2, 3, 4, 5]])
    np.testing.assert_array_equal(
        subbasins(line, "area", area_min=1.5, upstream_area=cells), [[1, 1, 1, 2, 2]]
    )
    np.testing.assert_array_equal(subbasins(line, "area", area_min=5, upstream_area=cells), [[1, 1, 1, 1, 1]])
    ldd = np.array([[6, 6, 6, 6, 5], [9, 4, 4, 255, 255]])  # (1, 2) -> (1, 1) -> (1, 0) -> (0, 1)
    net = xa.RiverNetwork.from_ldd(ldd)
    upa = xa.accumulate(net, np.ones(ldd.shape))
    got = subbasins(net, "area", area_min=2.5, upstream_area=upa)
    # (0, 1) drains 5 cells and leaves 3 > 2.5 below it: a cut; above it, the 3-cell branch (the main
    # stem there) would leave only 2 of that unit: no cut. Labels by outlet cell: (0, 1) 1, the pit 2
    np.testing.assert_array_equal(got, [[1, 1, 2, 2, 2], [1, 1, 1, 0, 0]])


def test_pfafstetter_by_hand():
    # a stem along the top row into the pit at (0, 9); tributaries straight up columns 1, 2, 4, 6, 8 of
    # 1, 2, 3, 4, 5 cells (each smaller than the stem above its confluence, so the stem stays the row)
    ldd = np.full((6, 10), 255)
    ldd[0, :9], ldd[0, 9] = 6, 5
    for col, length in zip((1, 2, 4, 6, 8), (1, 2, 3, 4, 5), strict=True):
        ldd[1 : length + 1, col] = 8
    net = xa.RiverNetwork.from_ldd(ldd)
    codes = subbasins(net, "pfafstetter")
    # the 4 largest tributaries from downstream: 2 (col 8), 4, 6, 8 (col 2); the stem's stretches
    # 1 below the first confluence, 3, 5, 7 between, 9 above the last with the smallest tributary
    np.testing.assert_array_equal(codes[0], [9, 9, 7, 7, 5, 5, 3, 3, 1, 1])
    for col, code in zip((1, 2, 4, 6, 8), (9, 8, 6, 4, 2), strict=True):
        assert set(codes[1:, col][net.mask[1:, col]]) == {code}
    assert np.all(codes[~net.mask] == 0)
    # two digits: only unit 9 has a tributary (col 1): 92, the stem above it 93, below 91
    two = subbasins(net, "pfafstetter", depth=2)
    np.testing.assert_array_equal(two[0], [93, 91, 71, 71, 51, 51, 31, 31, 11, 11])
    assert two[1, 1] == 92 and set(two[1:6, 8]) == {21}
    # rivers draining fewer than 4 cells start no unit: only the tributaries at cols 6 and 8 do
    np.testing.assert_array_equal(subbasins(net, "pfafstetter", upa_min=4)[0], [5, 5, 5, 5, 5, 5, 3, 3, 1, 1])


def test_bad_parameters_raise():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
    with pytest.raises(ValueError, match="by must be one of"):
        subbasins(net, "horton")
    with pytest.raises(ValueError, match="area_min do not apply to by='order'"):
        subbasins(net, area_min=3)
    with pytest.raises(ValueError, match="needs area_min"):
        subbasins(net, "area")
    with pytest.raises(ValueError, match="geometry"):
        subbasins(net, "area", area_min=1.0)  # no coordinates: km² unknown
    with pytest.raises(ValueError, match="depth must be an integer from 1 to 9"):
        subbasins(net, "pfafstetter", depth=0)
    with pytest.raises(ValueError, match="network's shape"):
        subbasins(net, "pfafstetter", upstream_area=np.ones(3))
    with pytest.raises(ValueError, match="NaN or infinite on 1 network"):
        subbasins(net, "area", area_min=1, upstream_area=np.array([[1, np.nan, 3]]))
    with pytest.raises(ValueError, match="integer stream orders"):
        subbasins(net, order=np.ones((1, 3)))


# ------------------------------------------------------------- brute force
def first_outlet_labels(down, outlets):
    """Each cell's label: the rank (1..n, ascending cell) of the first outlet on its path, 0 if none."""
    rank = {c: k for k, c in enumerate(sorted(outlets), 1)}
    return {i: next((rank[c] for c in path if c in rank), 0) for i, path in ref.paths(down).items()}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(1, 8), nx=st.integers(1, 8), min_sto=st.integers(-3, 3))
def test_by_order_equals_brute_force(seed, ny, nx, min_sto):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    down = ref.down_of_steps(steps, missing)
    order = strahler(net).reshape(-1)
    on = list(ref.paths(down))
    threshold = min_sto if min_sto >= 0 else max((order[i] for i in on), default=0) + min_sto
    outlets = [i for i in on if order[i] >= threshold and (down[i] < 0 or order[down[i]] != order[i])]
    want = first_outlet_labels(down, outlets)
    got = subbasins(net, min_sto=min_sto).reshape(-1)
    assert {i: int(got[i]) for i in on} == want
    assert np.all(got[~net.mask.reshape(-1)] == 0) and got.dtype == np.int32
    if 0 < min_sto and max((order[i] for i in on), default=0) < min_sto:  # no river that big: none
        assert not got.any()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(2, 9), nx=st.integers(2, 9), area_min=st.floats(0, 12))
def test_by_area_units_are_whole_and_big(seed, ny, nx, area_min):
    """Each sub-basin drains to one cell (its outlet: an outlet of the network, or a cell
    draining more than area_min), and cutting never leaves a unit upstream of nothing."""
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    down = ref.down_of_steps(steps, missing)
    upa = xa.accumulate(net, np.ones(net.shape))
    got = subbasins(net, "area", area_min=area_min, upstream_area=upa).reshape(-1)
    cells = upa.reshape(-1)
    for label in np.unique(got[got > 0]):
        members = np.flatnonzero(got == label)
        leaving = [i for i in members if down[i] < 0 or got[down[i]] != label]
        assert len(leaving) == 1  # one outlet per unit
        (outlet,) = leaving
        assert outlet == label_outlet(got, down, label)
        assert down[outlet] < 0 or cells[outlet] > area_min
    # labels 1..n by ascending outlet cell
    outlets = [label_outlet(got, down, label) for label in range(1, got.max() + 1)]
    assert outlets == sorted(outlets)


def label_outlet(labels, down, label):
    return next(i for i in np.flatnonzero(labels == label) if down[i] < 0 or labels[down[i]] != label)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(2, 12), nx=st.integers(2, 12), depth=st.integers(1, 3),
       upa_min=st.sampled_from([0.0, 3.0]), area_min=st.floats(0.5, 15))  # fmt: skip
def test_three_schemes_equal_pyflwdir_on_random_grids(seed, ny, nx, depth, upa_min, area_min):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    codes = ref.encode(steps, missing, "ldd")
    net = xa.RiverNetwork.from_ldd(codes)
    valid = net.mask
    flw = pyflwdir_like(net, pyflwdir.from_array(np.where(valid, codes, 255).astype(np.uint8), ftype="ldd"))
    theirs, _ = flw.subbasins_pfafstetter(depth=depth, upa_min=upa_min)
    np.testing.assert_array_equal(
        subbasins(net, "pfafstetter", depth=depth, upa_min=upa_min)[valid], theirs[valid]
    )
    upa = flw.upstream_area("cell").astype(np.float64)
    theirs, _ = flw.subbasins_area(area_min, uparea=upa)
    assert same_partition(subbasins(net, "area", area_min=area_min, upstream_area=upa), theirs, valid)
    theirs, _ = flw.subbasins_streamorder()
    assert same_partition(subbasins(net), theirs, valid)


# ---------------------------------------------------------- real networks
@pytest.fixture(scope="module", params=NAMES)
def built(request):
    from tests.test_against_pyflwdir import _build

    _info, _codes, valid, net, flw = _build(request.param)
    return request.param, valid, net, flw


def test_by_order_equals_pyflwdir(built):
    _name, valid, net, flw = built
    for min_sto in (-2, 2, 4):
        theirs, outlets = flw.subbasins_streamorder(min_sto=min_sto)
        ours = subbasins(net, min_sto=min_sto)
        assert same_partition(ours, theirs, valid)
        assert np.all(ours[~valid] == 0) and ours.max() == outlets.size


def test_by_area_equals_pyflwdir(built):
    _name, valid, net, flw = built
    flw = pyflwdir_like(net, flw)
    km2 = flw.upstream_area("km2")
    for area_min in (100.0, 10_000.0):
        theirs, outlets = flw.subbasins_area(area_min, uparea=km2)
        ours = subbasins(net, "area", area_min=area_min, upstream_area=np.where(valid, km2, np.nan))
        assert same_partition(ours, theirs, valid)
        assert ours.max() == outlets.size


def test_pfafstetter_equals_pyflwdir(built):
    name, valid, net, flw = built
    cases = ((1, 0.0), (2, 0.0), (3, 50.0))
    if name.startswith(("efas", "southamerica")):  # pyflwdir scans every tributary per unit: minutes
        cases = ((2, 200.0), (3, 2000.0))  # on 5,000+ basins, unless small rivers are left out
    flw = pyflwdir_like(net, flw)
    for depth, upa_min in cases:
        theirs, outlets = flw.subbasins_pfafstetter(depth=depth, upa_min=upa_min)
        ours = subbasins(net, "pfafstetter", depth=depth, upa_min=upa_min)
        np.testing.assert_array_equal(ours[valid], theirs[valid])
        assert np.all(ours[~valid] == 0)


# ------------------------------------------------------------------ xarray
def test_xarray_subbasins_and_orders_carry_the_label_attrs():
    import xarray as xr

    codes = xr.DataArray(
        [[3, 2, 1], [6, 5, 4]], dims=("lat", "lon"), coords={"lat": [1.0, 0.0], "lon": [0.0, 1, 2]}
    )
    net = xa.RiverNetwork.from_ldd(codes)
    da = xr.zeros_like(codes, dtype=float).hydro.assign_network(net)
    pfaf = da.hydro.subbasins(by="pfafstetter", depth=1)
    np.testing.assert_array_equal(pfaf.values, subbasins(net, "pfafstetter"))
    assert (
        pfaf.name == "pfafstetter_code"
        and pfaf.dims == ("lat", "lon")
        and pfaf.lon.values.tolist() == [0, 1, 2]
    )
    assert pfaf.attrs["depth"] == 1 and (pfaf.attrs["valid_min"], pfaf.attrs["valid_max"]) == (1, 8)
    assert pfaf.encoding["_FillValue"] == 0 and pfaf.dtype == np.int32
    # upstream area given as a DataArray (transposed: aligned by dims), on lat/lon the default is km²
    cells = xa.accumulate(net, np.ones(net.shape))
    upa = xr.DataArray(cells.T, dims=("lon", "lat"), coords={"lat": codes.lat, "lon": codes.lon})
    by_area = da.hydro.subbasins(by="area", area_min=0.5, upstream_area=upa)
    np.testing.assert_array_equal(by_area.values, subbasins(net, "area", area_min=0.5, upstream_area=cells))
    assert by_area.name == "subbasin" and by_area.attrs["long_name"] == "sub-basin (by area)"
    km2 = da.hydro.subbasins(by="area", area_min=1.0)
    np.testing.assert_array_equal(
        km2.values, subbasins(net, "area", area_min=1.0, upstream_area=xa.upstream_area(net, units="km2"))
    )
    hack = da.hydro.stream_order(kind="hack")
    assert hack.name == "hack_order" and hack.encoding["_FillValue"] == xa.fill_value(np.int32)
    np.testing.assert_array_equal(hack.values, xa.hack(net))
    xr.testing.assert_identical(da.hydro.stream_order(), da.hydro.strahler().rename("strahler_order"))
