"""Valid input is accepted: float32 coordinates, transposed objects, a Dataset's own ``area``."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from xhydro_accessor.network import same_coordinates
from xhydro_accessor.samples import sample_network

# an LDD on a square grid: a transposed field read as (y, x) would give other numbers, same shape
SQUARE = np.array([[3, 2, 1], [6, 5, 4], [9, 8, 7]])


def test_float32_coordinates_of_a_real_grid_match_its_network() -> None:
    efas = sample_network()
    ny, nx = efas.shape  # the real network on a 1 arc-minute lat/lon grid: float32 rounds these
    lat, lon = 72.0 - (np.arange(ny) + 0.5) / 60, -25.0 + (np.arange(nx) + 0.5) / 60
    network = efas.with_grid(("lat", "lon"), {"lat": lat, "lon": lon})
    field = np.random.default_rng(0).random(network.shape)
    expected = xa.accumulate(network, field)
    single = {"lat": lat.astype(np.float32), "lon": lon.astype(np.float32)}
    assert not np.array_equal(single["lon"], lon) and not np.array_equal(single["lat"], lat)
    da = xr.DataArray(field, dims=("lat", "lon"), coords=single)
    np.testing.assert_array_equal(da.hydro.accumulate(network).values, expected)
    np.testing.assert_array_equal(da.hydro.assign_network(network).hydro.accumulate().values, expected)
    network.check_grid(field.shape, single)
    computed = {  # the same grid computed in float32 arithmetic (as a float32 file's writer may)
        "lat": np.float32(72) - (np.arange(ny, dtype=np.float32) + np.float32(0.5)) / np.float32(60),
        "lon": np.float32(-25) + (np.arange(nx, dtype=np.float32) + np.float32(0.5)) / np.float32(60),
    }
    network.check_grid(field.shape, computed)
    shifted = {"lat": single["lat"], "lon": single["lon"] + np.float32(1 / 60)}  # one cell east
    with pytest.raises(xa.GridMismatchError, match="coordinate 'lon'"):
        xr.DataArray(field, dims=("lat", "lon"), coords=shifted).hydro.accumulate(network)
    with pytest.raises(xa.GridMismatchError, match="coordinate 'lon'"):
        network.check_grid(field.shape, shifted)


def test_float32_tolerance_is_no_wider_than_float32() -> None:
    lat = np.array([51.84, 51.83, 51.82])
    net = xa.RiverNetwork.from_ldd(xr.DataArray(SQUARE, dims=("lat", "lon"), coords={"lat": lat, "lon": lat}))
    net.check_grid((3, 3), {"lat": lat.astype(np.float32)})
    with pytest.raises(xa.GridMismatchError):
        net.check_grid((3, 3), {"lat": (lat + 5e-5).astype(np.float32)})  # 1e-6 relative: 8 float32 ulps
    with pytest.raises(xa.GridMismatchError):
        net.check_grid((3, 3), {"lat": lat + 1e-6})  # float64 on both sides stays strict


@pytest.mark.parametrize("ldd", [SQUARE, SQUARE[:2]], ids=["square", "2x3"])
def test_transposed_attached_field_gives_the_same_result(ldd: np.ndarray) -> None:
    ny, nx = ldd.shape
    coords = {"lat": np.arange(ny, 0, -1) - 0.5, "lon": np.arange(nx) + 0.5}
    net = xa.RiverNetwork.from_ldd(xr.DataArray(ldd, dims=("lat", "lon"), coords=coords))
    # integer-valued floats: sums are exact in any order (a network decoded in the transposed
    # storage order adds in another order)
    values = np.random.default_rng(1).integers(0, 1000, (2, ny, nx)).astype(float)
    da = xr.DataArray(values, dims=("member", "lat", "lon"), coords=coords).hydro.assign_network(net)
    expected = xa.accumulate(net, values)
    expected_max = xa.accumulate_downstream(net, values, how="max")
    for order in itertools.permutations(("member", "lat", "lon")):
        indexed, reopened = da.transpose(*order), da.transpose(*order).drop_indexes("flow_direction")
        assert indexed.hydro.network == net  # the index keeps the compiled network
        # without the index the coordinate decodes in its own (stored) dim order: the same river
        stored = reopened["flow_direction"].dims
        assert reopened.hydro.network.shape == tuple(reopened.sizes[d] for d in stored)
        for field in (indexed, reopened):
            out = field.hydro.accumulate()
            assert out.dims == order
            np.testing.assert_array_equal(out.transpose("member", "lat", "lon").values, expected)
            out = field.hydro.accumulate_downstream(how="max").transpose("member", "lat", "lon")
            np.testing.assert_array_equal(out.values, expected_max)


def test_weights_area_takes_the_datasets_own_area_variable() -> None:
    coords = {"lat": [1.5, 0.5], "lon": [0.5, 1.5, 2.5]}
    net = xa.RiverNetwork.from_ldd(xr.DataArray(SQUARE[:2], dims=("lat", "lon"), coords=coords))
    runoff = xr.DataArray(np.ones((2, 3)), dims=("lat", "lon"), coords=coords, attrs={"units": "mm d-1"})
    area = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    ds = xr.Dataset({"runoff": runoff, "area": (("lat", "lon"), area, {"units": "m2"})})
    ds = ds.hydro.assign_network(net)
    out = ds.hydro.accumulate(weights="area")
    mm_per_day = 1e-3 / 86400  # m2 mm d-1 in m3 s-1: a discharge comes out in m3 s-1
    expected = xa.accumulate(net, area) * mm_per_day  # not the spherical areas
    np.testing.assert_allclose(out["runoff"].values, expected, rtol=1e-15)
    assert out["runoff"].attrs["units"] == "m3 s-1"
    np.testing.assert_array_equal(out["area"].values, area)  # the weights are not a field
    without = ds.drop_vars("area").hydro.accumulate(weights="area")["runoff"]  # computed cell areas
    assert float(without.max()) > 1e9 * mm_per_day  # areas over 1e9 m2


@settings(max_examples=200, deadline=None)
@given(
    start=st.floats(-1e7, 1e7, allow_nan=False),
    cells_per_ulp=st.floats(32, 1e6),  # the step in float32 ulps of the largest coordinate
    size=st.integers(2, 50),
    descending=st.booleans(),
)
def test_float32_copies_match_and_one_cell_off_does_not(start, cells_per_ulp, size, descending) -> None:
    magnitude = max(abs(start), 1.0) * 2
    step = cells_per_ulp * np.spacing(np.float32(magnitude)).astype(float) * (-1 if descending else 1)
    coords = start + step * np.arange(size)
    assume(np.abs(coords).max() < magnitude)
    assert same_coordinates(coords.astype(np.float32), coords)
    assert same_coordinates(coords, coords.astype(np.float32))
    assert not same_coordinates((coords + step).astype(np.float32), coords)
    assert not same_coordinates(coords + step / 100, coords)  # float64 on both sides: strict
