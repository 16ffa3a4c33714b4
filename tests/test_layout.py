"""One map stored north-up, south-up, x-first, east-to-west or without coordinates: one network.

Each layout stores the same north-up map differently; the network built from the
stored DataArray, mapped back cell by cell to the north-up grid, must equal the
network of the north-up map, and so must accumulations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.reference as ref
import xhydro_accessor as xa
from tests.real_data import BY_NAME, skip_if_missing
from xhydro_accessor import RiverNetwork
from xhydro_accessor.layout import Layout, layout_of
from xhydro_accessor.network_codec import decode_network, encode_network

#: name -> how a north-up DataArray (dims y, x; y descending, x ascending) is stored
LAYOUTS = {
    "north_up": lambda da: da,
    "south_up": lambda da: da.isel(y=slice(None, None, -1)),
    "x_first": lambda da: da.transpose("x", "y"),
    "x_descending": lambda da: da.isel(x=slice(None, None, -1)),
    "all_three": lambda da: da.isel(y=slice(None, None, -1), x=slice(None, None, -1)).transpose("x", "y"),
    "lat_lon_south_up": lambda da: da.isel(y=slice(None, None, -1)).rename(y="lat", x="lon"),
    "lon_lat_first": lambda da: da.transpose("x", "y").rename(y="latitude", x="longitude"),
    "cf_axes_odd_names": lambda da: _cf_axes(da.isel(y=slice(None, None, -1)).transpose("x", "y")),
    "no_coords": lambda da: da.drop_vars(["y", "x"]),
}


def _cf_axes(da: xr.DataArray) -> xr.DataArray:
    da = da.rename(y="northing_m", x="across")
    da["northing_m"].attrs["axis"] = "Y"
    da["across"].attrs["standard_name"] = "projection_x_coordinate"
    return da


def north_up(values: np.ndarray) -> xr.DataArray:
    ny, nx = values.shape
    coords = {"y": 50.0 - np.arange(ny), "x": 5.0 + np.arange(nx)}
    return xr.DataArray(values, dims=("y", "x"), coords=coords)


def back_to_north_up(stored_net: RiverNetwork, layout: str, shape: tuple[int, int]) -> np.ndarray:
    """The stored network's downstream grid as flat north-up indices on the north-up grid."""
    where = np.asarray(LAYOUTS[layout](north_up(np.arange(shape[0] * shape[1]).reshape(shape))))
    perm = where.reshape(-1)  # stored flat position -> north-up flat index
    down = stored_net.downstream_grid().reshape(-1)
    out = np.empty(perm.size, np.int64)
    out[perm] = np.where(down >= 0, perm[np.maximum(down, 0)], down)
    return out.reshape(shape)


def field_back(stored: xr.DataArray, layout: str) -> np.ndarray:
    """A stored field's values on the north-up grid."""
    if layout == "no_coords":
        return stored.values
    y_names = ("lat", "latitude", "northing_m")
    names = {d: ("y" if d in y_names else "x") for d in stored.dims if d not in ("y", "x")}
    da = stored.rename(names).transpose("y", "x")
    return da.sortby("y", ascending=False).sortby("x").values


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("convention", ["ldd", "esri"])
def test_each_layout_gives_the_north_up_network(layout, convention):
    steps, missing = ref.random_grid_network(np.random.default_rng(3), 6, 7)
    codes = ref.encode(steps, missing, convention)
    build = RiverNetwork.from_ldd if convention == "ldd" else RiverNetwork.from_d8
    expected = build(codes)
    stored = LAYOUTS[layout](north_up(codes))
    net = build(stored)
    assert net.shape == stored.shape and net.dims == stored.dims
    np.testing.assert_array_equal(back_to_north_up(net, layout, codes.shape), expected.downstream_grid())
    # accumulations and upstream counts agree once mapped back
    rain = LAYOUTS[layout](north_up(np.random.default_rng(1).random(codes.shape)))
    want = xa.accumulate(expected, field_back(rain, layout))
    np.testing.assert_allclose(field_back(rain.hydro.accumulate(net), layout), want)
    counts = xa.accumulate(net, np.ones(net.shape))
    np.testing.assert_array_equal(
        field_back(stored.copy(data=counts), layout), xa.accumulate(expected, np.ones(codes.shape))
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    ny=st.integers(1, 8),
    nx=st.integers(1, 8),
    layout=st.sampled_from(list(LAYOUTS)),
)
def test_random_networks_in_every_layout(seed, ny, nx, layout):
    steps, missing = ref.random_grid_network(np.random.default_rng(seed), ny, nx)
    codes = ref.encode(steps, missing, "ldd")
    stored = LAYOUTS[layout](north_up(codes))
    net = RiverNetwork.from_ldd(stored)
    expected = ref.down_of_steps(steps, missing).reshape(ny, nx)
    np.testing.assert_array_equal(back_to_north_up(net, layout, (ny, nx)), expected)
    # the attached coordinate decodes back to the same network in the stored order
    attached = stored.astype(float).hydro.assign_network(net)
    assert decode_network(attached.flow_direction) == net.with_grid(None, {})


def test_wrap_x_on_an_x_first_grid():
    codes = np.array([[4, 6, 2], [6, 5, 4]])  # (0, 0) flows west, off the grid: wraps to (0, 2)
    expected = RiverNetwork.from_ldd(codes, wrap_x=True)
    stored = LAYOUTS["x_first"](north_up(codes))
    net = RiverNetwork.from_ldd(stored, wrap_x=True)
    np.testing.assert_array_equal(back_to_north_up(net, "x_first", codes.shape), expected.downstream_grid())
    assert expected.downstream_grid()[0, 0] == 2


def test_layout_reading_and_errors():
    da = north_up(np.zeros((2, 3)))
    assert layout_of(da) == Layout()
    assert layout_of(da.isel(y=slice(None, None, -1)).transpose("x", "y")) == Layout(True, True, False)
    assert layout_of(np.zeros((2, 2))) == Layout()  # a plain array: north up
    odd = xr.DataArray(np.zeros((2, 2)), dims=("a", "b"), coords={"a": [0.0, 1.0]})
    assert layout_of(odd) == Layout()  # dims naming no axis: read as stored, north up
    rows = xr.DataArray(np.zeros((2, 2)), dims=("row", "col"), coords={"row": [0, 1]})
    assert layout_of(rows) == Layout()  # row numbers count from the top
    both_y = xr.DataArray(np.array([[5, 5]]), dims=("lat", "y"))
    with pytest.raises(ValueError, match="both look like the y axis"):
        RiverNetwork.from_ldd(both_y)
    shuffled = north_up(np.full((3, 2), 5)).assign_coords(y=[1.0, 3.0, 2.0])
    with pytest.raises(ValueError, match="'y' is not strictly monotonic"):
        RiverNetwork.from_ldd(shuffled)


def test_repair_reads_the_layout():
    codes = np.array([[6, 2], [8, 5]])  # (1, 0) flows north into (0, 0): fine, nothing to repair
    _, report = xa.repair(LAYOUTS["south_up"](north_up(codes)))
    assert report.n_changed == 0
    _, naive = xa.repair(LAYOUTS["south_up"](north_up(codes)).values)  # read north up: off the grid
    assert naive.n_changed > 0


# ------------------------------------------------------------- coordinates and files
def test_transposed_dataset_keeps_its_network(tmp_path: Path):
    steps, missing = ref.random_grid_network(np.random.default_rng(7), 5, 6)
    codes = ref.encode(steps, missing, "ldd")
    net = RiverNetwork.from_ldd(codes)
    rain = north_up(np.random.default_rng(2).random(codes.shape)).hydro.assign_network(net)
    expected = rain.hydro.accumulate()
    flipped = rain.isel(y=slice(None, None, -1)).transpose("x", "y")  # the index follows
    xr.testing.assert_allclose(flipped.hydro.accumulate().transpose("y", "x").sortby("y", False), expected)
    flipped.to_dataset(name="rain").to_netcdf(tmp_path / "t.nc")
    for reopened in (xr.open_dataset(tmp_path / "t.nc"), xa.open_dataset(tmp_path / "t.nc")):
        assert reopened.flow_direction.dims == ("x", "y")
        back = reopened.hydro.accumulate()["rain"].transpose("y", "x").sortby("y", False)
        xr.testing.assert_allclose(back, expected, check_dim_order=False)
        reopened.close()


def test_open_network_keeps_rows_of_a_file_without_coordinates(tmp_path: Path):
    codes = np.array([[2, 2, 1], [6, 6, 5]], np.uint8)  # flows to the south-east pit at (1, 2)
    path = tmp_path / "bare.nc"
    xr.Dataset({"ldd": (("y", "x"), codes)}).to_netcdf(path)
    net = xa.open_network(path, "ldd")
    assert net.coords == {}
    np.testing.assert_array_equal(net.downstream_grid(), RiverNetwork.from_ldd(codes).downstream_grid())


@pytest.mark.parametrize("name", ["lisflood_madeira", "efas_europe_nc", "southamerica"])
def test_real_file_flipped_and_transposed(tmp_path: Path, name: str):
    real = BY_NAME[name]
    skip_if_missing(real)
    original = xa.open_network(real.path, "ldd")
    with xr.open_dataset(real.path) as ds:
        ds = ds.load()
    (var,) = [v for v in ds.data_vars if ds[v].ndim == 2]
    y, x = ds[var].dims
    changed = ds.isel({y: slice(None, None, -1)}).transpose(x, y)
    changed.to_netcdf(tmp_path / "changed.nc")
    net = xa.open_network(tmp_path / "changed.nc", "ldd")
    # rows as stored (south-up now); the reader puts the named dims in (y, x) order
    assert net.dims == (y, x) and net.shape == original.shape
    np.testing.assert_array_equal(net.coords[y], original.coords[y][::-1])
    # back on the original grid: the same network
    perm = np.arange(original.mask.size).reshape(original.shape)[::-1].reshape(-1)
    down = net.downstream_grid().reshape(-1)
    back = np.empty_like(down)
    back[perm] = np.where(down >= 0, perm[np.maximum(down, 0)], down)
    np.testing.assert_array_equal(back.reshape(original.shape), original.downstream_grid())
    # and the same upstream counts, field and network from the same reopened file
    with xr.open_dataset(tmp_path / "changed.nc") as reopened:
        ones = xr.ones_like(reopened[var], dtype=float).drop_attrs()
        counts = ones.hydro.accumulate(net)
    expected = xa.accumulate(original, np.ones(original.shape))
    counts = counts.transpose(y, x).isel({y: slice(None, None, -1)}).values
    np.testing.assert_array_equal(np.where(original.mask, counts, 0), np.where(original.mask, expected, 0))


@pytest.mark.parametrize("convention", [None, "ldd", "esri", "taudem", "cama"])
@pytest.mark.parametrize("layout", ["south_up", "lat_lon_south_up", "x_descending", "x_first"])
def test_written_networks_name_geographic_directions(tmp_path: Path, convention, layout):
    steps, missing = ref.random_grid_network(np.random.default_rng(11), 5, 6)
    codes = ref.encode(steps, missing, "ldd")
    stored = LAYOUTS[layout](north_up(codes))
    net = RiverNetwork.from_ldd(stored)
    path = xa.write_network(net, tmp_path / "net.nc", convention)
    back = xa.open_network(path)
    expected = RiverNetwork.from_ldd(codes).downstream_grid()
    if layout == "x_first":  # the reader puts the dims in (y, x) order: compare on the north-up grid
        assert back.dims == ("y", "x")
        np.testing.assert_array_equal(back_to_north_up(back, "north_up", codes.shape), expected)
    else:
        assert back == net
        np.testing.assert_array_equal(back_to_north_up(back, layout, codes.shape), expected)
    if convention in (None, "ldd"):  # the file's codes are the north-up map's, reordered as stored
        with xr.open_dataset(path, mask_and_scale=False) as ds:
            written = ds["flow_direction"]
            if layout != "x_first":
                north = encode_network(RiverNetwork.from_ldd(codes), ("y", "x")).values
                want = LAYOUTS[layout](north_up(north)).values
                np.testing.assert_array_equal(written.values, want)


def test_cama_indices_on_an_x_first_grid():
    steps, missing = ref.random_grid_network(np.random.default_rng(5), 4, 6)
    net = RiverNetwork.from_ldd(LAYOUTS["x_first"](north_up(ref.encode(steps, missing, "ldd"))))
    ds = xa.network_to_dataset(net, "cama")
    assert ds.nextx.dims == ("x", "y")
    rebuilt = RiverNetwork.from_cama(ds.nextx, ds.nexty)
    assert rebuilt == net
    # nextx counts columns of the north-up map: the same as on the north-up network's file
    north = xa.network_to_dataset(RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd")), "cama")
    np.testing.assert_array_equal(ds.nextx.transpose("y", "x").values, north.nextx.values)


@pytest.mark.parametrize("layout", ["south_up", "lon_lat_first", "all_three", "lat_lon_south_up"])
def test_area_weights_in_every_layout(layout):
    steps, missing = ref.random_grid_network(np.random.default_rng(9), 5, 6)
    codes = ref.encode(steps, missing, "ldd")
    names = {"y": "lat", "x": "lon"}
    north = north_up(codes).rename(names)
    north["lat"].attrs["units"], north["lon"].attrs["units"] = "degrees_north", "degrees_east"
    rain = north.copy(data=np.random.default_rng(4).random(codes.shape)).assign_attrs(units="mm d-1")
    expected = rain.hydro.accumulate(RiverNetwork.from_ldd(north), weights="area")
    to_lat_lon = {"y": "lat", "x": "lon", "latitude": "lat", "longitude": "lon"}

    def stored(da):
        return LAYOUTS[layout](da.rename({v: k for k, v in names.items()}))

    out = stored(rain).hydro.accumulate(RiverNetwork.from_ldd(stored(north)), weights="area")
    out = out.rename({d: to_lat_lon[d] for d in out.dims if d in to_lat_lon})
    xr.testing.assert_allclose(
        out.transpose("lat", "lon").sortby("lat", ascending=False).sortby("lon"), expected
    )
    area = stored(rain).hydro.upstream_area(RiverNetwork.from_ldd(stored(north)))
    area = area.rename({d: to_lat_lon[d] for d in area.dims if d in to_lat_lon})
    want = north.hydro.upstream_area(RiverNetwork.from_ldd(north))
    np.testing.assert_allclose(
        area.transpose("lat", "lon").sortby("lat", ascending=False).sortby("lon"), want
    )


def test_geometry_of_an_x_first_lat_lon_grid_is_the_transposed_north_up_one() -> None:
    """Cell areas, step lengths and gauges by coordinates read y from the second dim of an
    (x, y)-stored grid: latitude is never taken for longitude."""
    lat, lon = np.array([60.5, 60.0, 59.5]), np.array([10.0, 10.5, 11.0, 11.5])
    ldd = np.array([[3, 2, 1, 4], [6, 5, 4, 4], [9, 8, 7, 8]])
    coords = {"lat": lat, "lon": lon}
    north_up = xa.RiverNetwork.from_ldd(xr.DataArray(ldd, dims=("lat", "lon"), coords=coords))
    x_first = xa.RiverNetwork.from_ldd(xr.DataArray(ldd.T, dims=("lon", "lat"), coords=coords))
    areas = xa.cell_areas(north_up)
    assert areas[0, 0] < areas[2, 0]  # cells shrink northwards
    np.testing.assert_allclose(xa.cell_areas(x_first), areas.T, rtol=1e-12)
    np.testing.assert_allclose(xa.step_lengths(x_first), xa.step_lengths(north_up).T, rtol=1e-12)
    np.testing.assert_allclose(xa.upstream_area(x_first), xa.upstream_area(north_up).T, rtol=1e-12)
    gauges = {"a": (60.0, 10.5), "b": (59.5, 11.5)}
    rows, cols = np.divmod(xa.locate(north_up, gauges).index, 4)
    cols_t, rows_t = np.divmod(xa.locate(x_first, gauges).index, 3)
    np.testing.assert_array_equal((rows, cols), (rows_t, cols_t))
    moved = xa.locate(north_up, {"a": (60.5, 10.0)}, snap="60 km")
    moved_t = xa.locate(x_first, {"a": (60.5, 10.0)}, snap="60 km")
    np.testing.assert_allclose(moved_t.moved_m, moved.moved_m)
