"""Upstream area from ellipsoidal or projected cell areas, against brute force."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from xhydro_accessor.geometry import UnknownGeometryError
from xhydro_accessor.hydrology.upstream_area import cell_areas, upstream_area

#: WGS84 semi-axes and first eccentricity
_A, _B = 6_378_137.0, 6_356_752.314245179
_E = np.sqrt(1 - (_B / _A) ** 2)
#: the surface area of the WGS84 ellipsoid (closed form)
WGS84_AREA = 2 * np.pi * _A**2 + np.pi * _B**2 / _E * np.log((1 + _E) / (1 - _E))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(2, 6), nx=st.integers(2, 6))
def test_upstream_area_equals_brute_force(seed, ny, nx):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    lat, lon = 60 - np.arange(ny) * 0.5, 10 + np.arange(nx) * 0.5
    codes = xr.DataArray(
        ref.encode(steps, missing, "ldd"), dims=("lat", "lon"), coords={"lat": lat, "lon": lon}
    )
    net = xa.RiverNetwork.from_ldd(codes)
    area = xa.xarray_ops.cell_area(codes).values.reshape(-1)
    got = upstream_area(net, units="km2").reshape(-1)
    for cell, upstream in ref.upstream_sets(ref.down_of_steps(steps, missing)).items():
        np.testing.assert_allclose(got[cell], area[upstream].sum() / 1e6, rtol=1e-12)
    assert np.isnan(got[missing.reshape(-1)]).all()


def test_whole_sphere_and_projected_and_given_areas():
    lat, lon = np.arange(89.5, -90, -1.0), np.arange(0.5, 360)
    pits = xr.DataArray(np.full((180, 360), 5), dims=("y", "x"), coords={"y": lat, "x": lon})
    net = xa.RiverNetwork.from_ldd(pits)
    np.testing.assert_allclose(upstream_area(net, latlon=True).sum(), WGS84_AREA, rtol=1e-12)
    np.testing.assert_allclose(upstream_area(net, crs="EPSG:4326").sum(), WGS84_AREA, rtol=1e-12)
    with pytest.raises(UnknownGeometryError, match="crs="):  # y/x without CRS: never degrees as metres
        upstream_area(net)
    # metre coordinates without a CRS used to give areas in the coordinates' units: now a CRS is needed
    codes = xr.DataArray(
        [[6, 6, 5]] * 2, dims=("y", "x"), coords={"y": [0.0, 1000.0], "x": [0.0, 1000.0, 2000.0]}
    )
    with pytest.raises(UnknownGeometryError, match="crs="):
        cell_areas(xa.RiverNetwork.from_ldd(codes))
    projected = xa.RiverNetwork.from_ldd(codes, crs="EPSG:3035")
    np.testing.assert_array_equal(upstream_area(projected, units="km2"), [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_array_equal(cell_areas(projected), np.full((2, 3), 1e6))
    bare = xa.RiverNetwork.from_ldd(np.array([[6, 5]]))
    np.testing.assert_array_equal(upstream_area(bare, np.array([[2.0, 3.0]])), [[2.0, 5.0]])
    with pytest.raises(ValueError, match="cell_area="):
        upstream_area(bare)
    with pytest.raises(ValueError, match="units"):
        upstream_area(bare, np.ones((1, 2)), units="ha")


def test_xarray_upstream_area_uses_cell_areas():
    from xhydro_accessor.hydrology import xarray_layer as hc

    codes = xr.DataArray([[6, 6, 5]] * 2, dims=("y", "x"), coords={"y": [0.0, 1e3], "x": [0.0, 1e3, 2e3]})
    da = xr.zeros_like(codes, dtype=float).hydro.assign_network(xa.RiverNetwork.from_ldd(codes, crs=3035))
    out = hc.upstream_area(da, units="km2")
    assert out.attrs["units"] == "km2"
    np.testing.assert_array_equal(out.values, [[1, 2, 3], [1, 2, 3]])
