"""The .hydro accessor: results equal the array level; the network as a coordinate; units."""

import pickle
import warnings

import numpy as np
import pint
import pytest
import xarray as xr

import xhydro_accessor as xa
import xhydro_accessor.accessor  # noqa: F401  (registers .hydro)
from tests import reference as ref
from tests.conftest import HOWS
from xhydro_accessor.network_codec import decode_network, encode_network
from xhydro_accessor.network_index import NetworkIndex
from xhydro_accessor.units import registry
from xhydro_accessor.xarray_ops import cell_area, result_name

OPS = ["accumulate", "accumulate_downstream", "move_downstream", "move_upstream"]


def array_op(op, net, field, how="sum", weights=None, skipna=False):
    if op == "move_upstream":
        return xa.move_upstream(net, field)
    return getattr(xa, op)(net, field, how=how, weights=weights, skipna=skipna)


def random_codes(seed=0, ny=7, nx=9):
    steps, missing = ref.random_grid_network(np.random.default_rng(seed), ny, nx)
    return ref.encode(steps, missing, "ldd")


def grid(codes):
    ny, nx = codes.shape
    return xr.DataArray(
        codes,
        dims=("y", "x"),
        coords={"y": np.arange(ny, 0, -1) * 1000.0, "x": np.arange(nx) * 1000.0},
        attrs={"convention": "ldd"},
    )


@pytest.fixture
def codes():
    return grid(random_codes())


@pytest.fixture
def net(codes):
    return xa.RiverNetwork.from_ldd(codes)


@pytest.fixture
def runoff(codes):
    rng = np.random.default_rng(1)
    data = rng.random((3, 4) + codes.shape)
    coords = {"member": np.arange(3), "time": np.arange(4), **codes.coords}
    attrs = {"units": "mm d-1", "standard_name": "runoff_flux", "note": "kept"}
    return xr.DataArray(data, dims=("member", "time", "y", "x"), coords=coords, attrs=attrs, name="runoff")


# ------------------------------------------------------------------ operations
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("how", HOWS)
def test_accessor_equals_array_level(runoff, net, op, how):
    out = getattr(runoff.hydro, op)(net, **({} if op == "move_upstream" else {"how": how}))
    np.testing.assert_array_equal(out.values, array_op(op, net, runoff.values, how))
    # a derived name (issue 14: results say what they are; "discharge" for volume fluxes)
    assert out.dims == runoff.dims and out.name == result_name(op, how, "runoff", out.attrs.get("units"))
    assert out.name.startswith("runoff_")
    xr.testing.assert_identical(out.coords.to_dataset(), runoff.coords.to_dataset())
    assert out.attrs["note"] == "kept"


def test_spatial_dims_in_any_position_and_weights(runoff, net):
    moved = runoff.transpose("y", "member", "x", "time")
    weights = xr.DataArray(np.arange(1.0, 64.0).reshape(7, 9), dims=("y", "x"))
    out = moved.hydro.accumulate(net, how="mean", weights=weights.T, skipna=True)
    assert out.dims == moved.dims
    expected = xa.accumulate(net, runoff.values, how="mean", weights=weights.values, skipna=True)
    np.testing.assert_allclose(out.transpose(*runoff.dims).values, expected)


def test_per_member_weights(runoff, net):
    weights = runoff.isel(time=0) * 0 + np.arange(1.0, 4.0)[:, None, None]
    out = runoff.hydro.accumulate(net, weights=weights)
    expected = xa.accumulate(
        net, runoff.values, weights=np.broadcast_to(weights.values[:, None], runoff.shape)
    )
    np.testing.assert_allclose(out.values, expected)


def test_dims_found_by_cf_axes_names_or_arguments(codes):
    net = xa.RiverNetwork.from_ldd(codes.values)  # no coordinates: any grid of its shape fits
    values = np.ones((1,) + net.shape)
    cf = xr.DataArray(values, dims=("t", "row", "col"))
    cf = cf.assign_coords(row=("row", np.arange(7), {"axis": "Y"}), col=("col", np.arange(9), {"axis": "X"}))
    assert cf.hydro.accumulate(net).dims == ("t", "row", "col")
    for y, x in [("lat", "lon"), ("latitude", "longitude")]:
        out = xr.DataArray(values, dims=("t", y, x)).hydro.accumulate(net)
        np.testing.assert_array_equal(out.values, xa.accumulate(net, values))
    plain = xr.DataArray(values, dims=("t", "a", "b"))
    with pytest.raises(ValueError, match="x_dim= and y_dim="):
        plain.hydro.accumulate(net)
    np.testing.assert_array_equal(
        plain.hydro.accumulate(net, y_dim="a", x_dim="b").values, xa.accumulate(net, values)
    )


def test_grid_mismatch(runoff, net):
    with pytest.raises(xa.GridMismatchError, match="does not match"):
        runoff.isel(x=slice(1, None)).hydro.accumulate(net)
    shifted = runoff.assign_coords(x=runoff.x + 1)
    with pytest.raises(xa.GridMismatchError, match="coordinate 'x'"):
        shifted.hydro.accumulate(net)
    with pytest.raises(xa.GridMismatchError):
        shifted.hydro.assign_network(net)


def test_missing_network_and_bad_arguments(runoff, net):
    with pytest.raises(ValueError, match="assign_network"):
        runoff.hydro.accumulate()
    with pytest.raises(ValueError, match="assign_network"):
        _ = runoff.hydro.network
    with pytest.raises(ValueError, match="how must be"):
        runoff.hydro.accumulate(net, how="medain")
    with pytest.raises(KeyError, match="nope"):
        runoff.hydro.accumulate(net, weights="nope")


def test_dataset_applies_to_grid_variables_only(runoff, net):
    ds = xr.Dataset({"runoff": runoff, "snow": runoff.isel(member=0) * 2, "gauge": ("time", np.arange(4.0))})
    out = ds.hydro.accumulate(net)
    xr.testing.assert_identical(out["gauge"], ds["gauge"])
    np.testing.assert_array_equal(out["snow"].values, xa.accumulate(net, ds["snow"].values))
    np.testing.assert_array_equal(out["runoff"].values, xa.accumulate(net, runoff.values))


def test_bool_and_integer_fields(net):
    field = xr.DataArray(np.ones(net.shape, bool), dims=("y", "x"))
    out = field.hydro.accumulate(net)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.values, xa.accumulate(net, np.ones(net.shape, np.int64)))


# ------------------------------------------------------------ network coordinate
def test_assign_network_coordinate_and_index(runoff, net):
    attached = runoff.hydro.assign_network(net)
    coord = attached["flow_direction"]
    assert coord.dims == ("y", "x") and coord.dtype == np.uint8
    assert coord.attrs["hydro_role"] == "flow_direction" and coord.attrs["convention"] == "ldd"
    assert len(coord.attrs["flag_values"]) == len(coord.attrs["flag_meanings"].split()) == 9
    assert isinstance(attached.xindexes["flow_direction"], NetworkIndex)
    assert attached.hydro.network == net
    assert "flow_direction" in attached.encoding["coordinates"]
    assert "coordinates" not in runoff.encoding
    np.testing.assert_array_equal(attached.hydro.accumulate().values, xa.accumulate(net, runoff.values))
    xr.testing.assert_identical(attached.hydro.drop_network(), runoff)


def test_network_survives(runoff, net):
    attached = runoff.hydro.assign_network(net)
    survivors = {
        "arithmetic": attached * 2 + attached,
        "where": attached.where(attached > 0.5),
        "reduction": attached.mean(("member", "time")),
        "concat": xr.concat([attached, attached.assign_coords(time=attached.time + 4)], "time"),
        "concat_member": xr.concat([attached, attached.assign_coords(member=attached.member + 3)], "member"),
        "chunk": attached.chunk(member=1),
        "pickle": pickle.loads(pickle.dumps(attached)),
        "time_isel": attached.isel(time=[0, 2]),
        "dataset": attached.to_dataset()["runoff"],
    }
    for case, obj in survivors.items():
        assert isinstance(obj.xindexes.get("flow_direction"), NetworkIndex), case
        assert obj.hydro.network == net, case
    assert "flow_direction" not in attached.mean("x").coords


def test_different_networks_do_not_align(runoff, net):
    other = xa.RiverNetwork.from_ldd(grid(random_codes(seed=5)))
    a, b = runoff.hydro.assign_network(net), runoff.hydro.assign_network(other)
    for combine in (
        lambda: a + b,
        lambda: xr.concat([a, b], "time", join="outer"),
        lambda: xr.merge([a, b.rename("q")], join="outer"),
    ):
        with pytest.raises(ValueError, match="different river networks"):
            combine()
    xr.testing.assert_identical(a + runoff.hydro.assign_network(net), 2 * a)


@pytest.mark.parametrize(
    "indexer",
    [
        {"x": slice(2, 7), "y": slice(1, 5)},
        {"x": slice(None, None, 2)},
        {"y": [4, 0, 2], "x": [1, 2, 3, 8]},
        {"x": slice(None, None, -1)},
    ],
)
def test_spatial_subset_rebuilds_network(runoff, net, codes, indexer):
    subset = runoff.hydro.assign_network(net).isel(indexer)
    sub_codes = codes.isel(indexer)
    # reference: the downstream pointers of the kept cells, leaving the subset -> outlet
    down = net.downstream_grid()
    rows = np.arange(net.shape[0])[indexer.get("y", slice(None))]
    cols = np.arange(net.shape[1])[indexer.get("x", slice(None))]
    position = {(r, c): (i, j) for i, r in enumerate(rows) for j, c in enumerate(cols)}
    for (r, c), (i, j) in position.items():
        d = down[r, c]
        want = -2 if d == -2 else -1 if d == -1 else position.get(divmod(int(d), net.shape[1]), -1)
        got = subset.hydro.network.downstream_grid()[i, j]
        if isinstance(want, tuple):
            assert got == want[0] * len(cols) + want[1]
        else:
            assert got == want
    assert subset.hydro.network.coords["x"].tolist() == sub_codes.x.values.tolist()
    field = subset.values
    np.testing.assert_array_equal(
        subset.hydro.accumulate().values, xa.accumulate(subset.hydro.network, field)
    )
    # the codes themselves are rebuilt: decoding them (read by their coordinates: a reversed x
    # runs east to west) gives the subset network again
    index = subset.xindexes["flow_direction"]
    assert decode_network(subset.flow_direction.variable, layout=index.layout) == index.network
    if "y" not in indexer:  # coordinates in order: they tell the layout
        assert decode_network(subset.flow_direction) == index.network


def test_contiguous_subset_equals_network_from_subset_codes(runoff, net, codes):
    window = {"y": slice(1, 6), "x": slice(2, 8)}
    subset = runoff.hydro.assign_network(net).sel(y=runoff.y[1:6], x=runoff.x[2:8])
    assert subset.hydro.network == xa.RiverNetwork.from_ldd(codes.isel(window))
    expected = xa.accumulate(xa.RiverNetwork.from_ldd(codes.isel(window)), runoff.isel(window).values)
    np.testing.assert_array_equal(subset.hydro.accumulate().values, expected)


def test_roll_rebuilds_network(runoff, net):
    rolled = runoff.hydro.assign_network(net).roll(x=3, roll_coords=True)
    assert rolled.hydro.network.n_nodes == net.n_nodes
    assert decode_network(rolled.flow_direction.variable) == rolled.xindexes["flow_direction"].network


@pytest.mark.parametrize("engine", ["netcdf4", "zarr"])
def test_file_round_trip(tmp_path, runoff, net, engine):
    ds = runoff.hydro.assign_network(net).to_dataset()
    path = tmp_path / f"runoff.{'nc' if engine == 'netcdf4' else 'zarr'}"
    if engine == "zarr":
        ds.to_zarr(path, consolidated=False)
    else:
        ds.to_netcdf(path)
    with xr.open_dataset(
        path, engine=engine, **({"consolidated": False} if engine == "zarr" else {})
    ) as reopened:
        assert reopened["runoff"].hydro.network == net
        assert reopened.hydro.network == net
        np.testing.assert_array_equal(
            reopened["runoff"].hydro.accumulate().values, xa.accumulate(net, runoff.values)
        )
        # blind slicing of the reopened codes (no index yet) still gives the subset's network
        window = {"y": slice(1, 6), "x": slice(2, 8)}
        assert reopened["runoff"].isel(window).hydro.network == xa.RiverNetwork.from_ldd(
            grid(net_codes(net)).isel(window)
        )


def net_codes(net):
    return encode_network(net, ("y", "x")).values


def test_cf_selection_keeps_network(runoff, net):
    ds = runoff.hydro.assign_network(net).to_dataset()
    selected = ds.cf["runoff_flux"]
    assert selected.hydro.network == net


def test_offset_encoding_for_cama_and_wrap_x():
    nextx = np.array([[3, 3, -9], [1, -9999, 1]])
    nexty = np.array([[1, 1, -9], [1, -9999, 1]])
    cama = xa.RiverNetwork.from_cama(nextx, nexty)
    var = encode_network(cama, ("y", "x"))
    assert var.attrs["convention"] == "offset" and var.dtype == np.int64
    assert decode_network(var) == cama
    wrap = xa.RiverNetwork.from_ldd(np.array([[4, 2, 2], [6, 5, 4]]), wrap_x=True)
    var = encode_network(wrap, ("y", "x"))
    assert var.attrs["convention"] == "offset" and decode_network(var) == wrap
    # the wrapped edge cell becomes an outlet in a subset that cuts the wrap
    assert decode_network(var[:, :2]).outlets.tolist() == [0, 3]
    da = xr.DataArray(np.ones((2, 3)), dims=("y", "x")).hydro.assign_network(cama)
    np.testing.assert_array_equal(da.hydro.accumulate().values, xa.accumulate(cama, np.ones((2, 3))))


def test_vector_network():
    ids = np.array([10, 20, 30, 40, 50])
    down = np.array([20, 30, -1, 30, 40])
    net = xa.RiverNetwork.from_downstream(down, ids)
    flow = xr.DataArray(np.arange(10.0).reshape(2, 5), dims=("time", "node"), coords={"node": ids})
    attached = flow.hydro.assign_network(net)
    coord = attached["downstream_id"]
    assert coord.dims == ("node",) and coord.values.tolist() == [20, 30, 30, 30, 40]
    np.testing.assert_array_equal(attached.hydro.accumulate().values, xa.accumulate(net, flow.values))
    subset = attached.sel(node=[20, 30, 50])  # 50 drained to 40, now outside: an outlet
    sub_net = subset.hydro.network
    assert sub_net.ids.tolist() == [20, 30, 50] and sub_net.outlets.tolist() == [1, 2]
    assert subset["downstream_id"].values.tolist() == [30, 30, 50]
    reopened = attached.drop_indexes("downstream_id")
    assert reopened.hydro.network == attached.hydro.network


def test_index_rejects_other_network_size(net):
    var = encode_network(net, ("y", "x"))
    other = xa.RiverNetwork.from_ldd(np.array([[5]]))
    with pytest.raises(xa.GridMismatchError):
        NetworkIndex.from_variables({"flow_direction": var}, options={"network": other})


# ------------------------------------------------------------------------ units
@pytest.fixture
def strict_units():
    with warnings.catch_warnings():
        warnings.simplefilter("error", pint.UnitStrippedWarning)
        yield


@pytest.mark.parametrize(
    ("how", "units"),
    [("sum", "mm d-1"), ("mean", "mm d-1"), ("max", "mm d-1"), ("std", "mm d-1"), ("var", "mm2 d-2")],
)
def test_units_attr_rule(runoff, net, how, units):
    out = runoff.hydro.accumulate(net, how=how)
    assert registry().Unit(out.attrs["units"]) == registry().Unit(units)
    assert ("standard_name" in out.attrs) == (how in ("sum", "mean", "max", "std"))


@pytest.mark.usefixtures("strict_units")
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("how", ["sum", "min", "std", "var"])
def test_quantified_inputs_stay_quantified(runoff, net, op, how):
    import pint_xarray  # noqa: F401

    q = runoff.pint.quantify(unit_registry=registry())
    out = getattr(q.hydro, op)(net, **({} if op == "move_upstream" else {"how": how}))
    power = 2 if how == "var" and op != "move_upstream" else 1
    assert out.pint.units == registry().Unit("mm/d") ** power
    np.testing.assert_array_equal(out.pint.magnitude, array_op(op, net, runoff.values, how))


@pytest.mark.usefixtures("strict_units")
def test_area_weighted_sum_is_discharge(runoff, net):
    import pint_xarray  # noqa: F401

    with pytest.raises(ValueError, match="crs="):  # metre-looking y/x without a CRS: no guess
        cell_area(runoff)
    area = cell_area(runoff, crs="EPSG:3035")
    np.testing.assert_allclose(area.values, 1e6)
    q = runoff.pint.quantify(unit_registry=registry()).hydro.accumulate(net, weights=area.pint.quantify())
    q = q.pint.to("m3 s-1")
    expected = xa.accumulate(net, runoff.values, weights=area.values) / 1000 / 86400
    np.testing.assert_allclose(q.pint.magnitude, expected)
    assert q.attrs["standard_name"] == "water_volume_transport_in_river_channel"
    plain = runoff.hydro.accumulate(net, weights=area)
    assert registry().Unit(plain.attrs["units"]).is_compatible_with("m3/s")
    assert (
        plain.attrs["standard_name"] == "water_volume_transport_in_river_channel"
        and "long_name" in plain.attrs
    )


def test_cell_measures_and_area_keyword(runoff, net):
    area = xr.DataArray(np.full(net.shape, 4.0), dims=("y", "x"), attrs={"units": "km2"})
    ds = xr.Dataset({"runoff": runoff.assign_attrs(cell_measures="area: areacella")}, {"areacella": area})
    out = ds.hydro.accumulate(net, weights="area")
    km2_mm_per_day = 1e6 * 1e-3 / 86400  # in m3 s-1: a discharge comes out in m3 s-1
    expected = xa.accumulate(net, runoff.values, weights=area.values) * km2_mm_per_day
    np.testing.assert_allclose(out["runoff"].values, expected)
    assert out["runoff"].attrs["units"] == "m3 s-1"
    with pytest.raises(ValueError, match="crs="):  # computed areas need the CRS
        runoff.hydro.accumulate(net, weights="area")
    laea = net.with_grid(net.dims, net.coords, crs="EPSG:3035")
    computed = runoff.hydro.accumulate(laea, weights="area")  # no cell_measures: computed areas
    np.testing.assert_allclose(computed.values, xa.accumulate(net, runoff.values) * 1e6 * 1e-3 / 86400)
    assert computed.name == "discharge" and computed.attrs["units"] == "m3 s-1"


def test_ellipsoidal_cell_area():
    from pyproj import Geod

    from tests.test_upstream_area import WGS84_AREA

    lat = np.linspace(-89.75, 89.75, 360)
    da = xr.DataArray(np.zeros((360, 720)), dims=("lat", "lon"),
                      coords={"lat": lat, "lon": np.linspace(0.25, 359.75, 720)})  # fmt: skip
    area = cell_area(da)  # lat/lon without a CRS: WGS84
    np.testing.assert_allclose(float(area.sum()), WGS84_AREA, rtol=1e-12)
    equator, _ = Geod(ellps="WGS84").polygon_area_perimeter([0, 0.5, 0.5, 0], [0, 0, 0.5, 0.5])
    # the geodesic polygon's northern edge bows off the parallel: 6e-6 larger
    np.testing.assert_allclose(area.sel(lat=0.25, method="nearest").values, abs(equator), rtol=1e-5)
