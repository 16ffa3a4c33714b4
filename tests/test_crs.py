"""Coordinate reference systems (issue 14): found wherever users keep them, carried with the
network, and deciding the geometry; real files against pyflwdir."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests.real_data import BY_NAME, load, skip_if_missing
from xhydro_accessor.geometry import UnknownGeometryError

pyproj = pytest.importorskip("pyproj")

#: real files and the CRS they hold (EPSG code), or None: no CRS in the file
FILE_CRS = {
    "efas_europe_nc": "laea",
    "lisflood_etrs89": "laea",
    "rhine_d8": 4326,
    "southamerica": 4326,  # ESRI esri_pe_string on the variable
    "lisflood_madeira": 4326,
    "lisflood_latlon": 4326,
    "efas_europe_map": None,  # CSF: no CRS in the header
    "waterregions": None,
    "pyflwdir2020_ldd": None,  # ESRI BIL header, no .prj
    "pyflwdir2020_d8": None,
    "pysheds_elkhorn": None,  # .asc, no .prj
}
#: the CRS to give the files that hold none
GIVEN = {"efas_europe_map": "EPSG:3035"}


def _open(name: str, crs=None) -> xa.RiverNetwork:
    info = BY_NAME[name]
    skip_if_missing(info)
    return xa.open_network(info.path, nodata=info.nodata, crs=crs)


@pytest.mark.parametrize("name", list(FILE_CRS))
def test_each_real_file_gives_its_crs(name):
    net = _open(name)
    expected = FILE_CRS[name]
    if expected is None:
        assert net.crs is None
    elif expected == "laea":
        proj = net.crs.to_proj4()
        assert net.crs.is_projected and "+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000" in proj
    else:
        assert net.crs.is_geographic and net.crs.ellipsoid.name.startswith("WGS")


@pytest.mark.parametrize("name", list(FILE_CRS))
def test_upstream_area_equals_pyflwdir_within_half_a_percent(name):
    """Files with a CRS: no extra argument; files without: a clear error, then ``crs=`` works."""
    from tests.test_against_pyflwdir import _build

    _info, _codes, valid, _net, flw = _build(name)
    net = _open(name)
    if FILE_CRS[name] is None:
        with pytest.raises(UnknownGeometryError, match="crs="):
            xa.upstream_area(net)
        net = _open(name, crs=GIVEN.get(name, "EPSG:4326"))
    ours = xa.upstream_area(net, units="km2")
    theirs = flw.upstream_area("km2")
    assert np.isnan(ours[~valid]).all()
    np.testing.assert_allclose(ours[valid], theirs[valid], rtol=5e-3)


@pytest.mark.parametrize("name", ["rhine_d8", "lisflood_madeira", "efas_europe_nc", "pysheds_elkhorn"])
def test_distance_to_outlet_equals_pyflwdir_within_half_a_percent(name):
    from tests.test_against_pyflwdir import _build

    _info, _codes, valid, _net, flw = _build(name)
    flw.transform = tuple(flw.transform)[:6]  # its numba kernels take a plain tuple, not an Affine
    net = _open(name, crs=None if FILE_CRS[name] else "EPSG:4326")
    ours = xa.distance_to_outlet(net)
    theirs = flw.stream_distance(unit="m")
    far = valid & (theirs > 0)
    np.testing.assert_allclose(ours[far], theirs[far], rtol=5e-3)
    assert (ours[valid & (theirs == 0)] == 0).all()


def test_rhine_basin_area_and_discharge():
    net = _open("rhine_d8")
    area = xa.upstream_area(net, units="km2")
    np.testing.assert_allclose(np.nanmax(area), 195_450, rtol=0.01)
    # 1 mm/day over the basin at the outlet: ~2,260 m3/s
    runoff = xr.DataArray(np.ones(net.shape), dims=net.dims, coords=net.coords, attrs={"units": "mm d-1"})
    q = runoff.hydro.assign_network(net).hydro.accumulate(weights="area")
    outlet = np.unravel_index(net.outlets[0], net.shape)
    discharge = xa.xarray_ops.convert_units(q, "m3 s-1").values[outlet]
    np.testing.assert_allclose(discharge, 195_450e6 * 1e-3 / 86_400, rtol=0.01)


def test_rioxarray_field_carries_its_crs():
    rioxarray = pytest.importorskip("rioxarray")
    info = BY_NAME["rhine_d8"]
    skip_if_missing(info)
    da = rioxarray.open_rasterio(info.path).isel(band=0)  # dims y/x, spatial_ref coordinate
    net = xa.RiverNetwork.from_d8(da, "merit", nodata=247)
    assert net.crs.to_epsg() == 4326
    np.testing.assert_allclose(np.nanmax(xa.upstream_area(net, units="km2")), 195_450, rtol=0.01)
    field = xr.ones_like(da, dtype=float).hydro.assign_network(xa.RiverNetwork.from_d8(da.values, "merit"))
    area = field.hydro.upstream_area(units="km2")  # the CRS from the field's spatial_ref
    np.testing.assert_allclose(float(area.max()), 195_450, rtol=0.01)


# ------------------------------------------------------------------ where the CRS is kept
def _small(dims=("y", "x"), y=(52.0, 51.0), x=(5.0, 6.0, 7.0)):
    return xr.DataArray([[6, 6, 2], [6, 6, 5]], dims=dims, coords={dims[0]: list(y), dims[1]: list(x)})


def test_cf_grid_mappings_and_attributes():
    codes = _small()
    cases = {
        "crs_wkt": {"crs_wkt": pyproj.CRS(4326).to_wkt()},
        "spatial_ref": {"spatial_ref": pyproj.CRS(4326).to_wkt()},
        "epsg_code": {"epsg_code": "EPSG:4326"},
        "grid_mapping_name": {"grid_mapping_name": "latitude_longitude", "semi_major_axis": 6378137.0,
                              "inverse_flattening": 298.257223563},
    }  # fmt: skip
    for name, attrs in cases.items():
        da = codes.assign_coords(crs=xr.Variable((), 0, attrs)).assign_attrs(grid_mapping="crs")
        net = xa.RiverNetwork.from_ldd(da)
        assert net.crs is not None and net.crs.is_geographic, name
    assert xa.RiverNetwork.from_ldd(codes.assign_attrs(crs_wkt=pyproj.CRS(3035).to_wkt())).crs.is_projected
    assert xa.RiverNetwork.from_ldd(codes, crs=32631).crs.to_epsg() == 32631


def test_unknown_crs_and_no_crs_errors():
    with pytest.raises(ValueError, match="unknown coordinate reference system 'EPSG:999999'"):
        xa.RiverNetwork.from_ldd(_small(), crs="EPSG:999999")
    net = xa.RiverNetwork.from_ldd(_small())  # y/x of degrees, but nothing says so
    for call in (xa.upstream_area, xa.cell_areas, xa.step_lengths, xa.distance_to_outlet):
        with pytest.raises(UnknownGeometryError, match=r"crs="):
            call(net)
    da = xr.zeros_like(_small(), dtype=float).hydro.assign_network(net)
    with pytest.raises(UnknownGeometryError, match=r"crs="):
        da.hydro.accumulate(weights="area")
    with pytest.raises(UnknownGeometryError, match=r"crs="):
        da.hydro.distance_to_outlet()
    # given the CRS, the same calls work; CF units alone also say degrees
    assert da.hydro.upstream_area(crs=4326).attrs["units"] == "m2"
    cf = _small().copy()
    cf["y"].attrs["units"], cf["x"].attrs["units"] = "degrees_north", "degrees_east"
    np.testing.assert_allclose(xa.cell_areas(xa.RiverNetwork.from_ldd(cf)), xa.cell_areas(net, "EPSG:4326"))


def test_grid_without_coordinates_measures_in_cells():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 3, 255], [255, 255, 5]]))
    np.testing.assert_allclose(xa.distance_to_outlet(net)[0, 0], 1 + np.sqrt(2))
    out = xr.zeros_like(xr.DataArray(np.zeros(net.shape), dims=("y", "x"))).hydro.distance_to_outlet(net)
    assert out.attrs["units"] == "1"  # cells, never metres
    with pytest.raises(ValueError, match="cell_area="):
        xa.upstream_area(net)


def test_projected_feet_give_metres():
    feet = xr.DataArray([[6, 5]], dims=("y", "x"), coords={"y": [0.0], "x": [0.0, 100.0]})
    feet = xr.concat([feet, feet.assign_coords(y=[100.0])], "y")  # 2×2 cells of 100 US survey feet
    net = xa.RiverNetwork.from_ldd(feet, crs="EPSG:2229")  # California zone 5, US survey feet
    us_foot = 1200 / 3937
    np.testing.assert_allclose(xa.cell_areas(net), (100 * us_foot) ** 2)
    np.testing.assert_allclose(xa.step_lengths(net)[:, 0], 100 * us_foot)


def test_spherical_crs_uses_its_sphere():
    sphere = "+proj=longlat +R=6371000 +no_defs"
    net = xa.RiverNetwork.from_ldd(_small(), crs=sphere)
    lat_edges = np.deg2rad([52.5, 51.5, 50.5])
    expected = 6_371_000.0**2 * np.deg2rad(1.0) * -np.diff(np.sin(lat_edges))
    np.testing.assert_allclose(xa.cell_areas(net), np.repeat(expected[:, None], 3, axis=1), rtol=1e-12)


# ------------------------------------------------------------------------- travelling CRS
def test_crs_travels_with_the_network(tmp_path):
    net = _open("rhine_d8")
    assert pickle.loads(pickle.dumps(net)).crs == net.crs
    assert net.with_grid(net.dims, net.coords).crs == net.crs
    da = xr.DataArray(np.zeros(net.shape), dims=net.dims, coords=net.coords).hydro.assign_network(net)
    assert da.hydro.network.crs == net.crs
    assert da.isel(x=slice(100, 400), y=slice(50, 300)).hydro.network.crs == net.crs  # a subset
    assert xa.hydrology.subnetwork.upstream_subnetwork(net, [net.outlets[0]]).network.crs == net.crs
    # a DataArray with the network coordinate, written and reopened
    path = tmp_path / "field.nc"
    da.to_netcdf(path)
    reopened = xr.open_dataset(path)
    assert reopened.hydro.network.crs == net.crs
    np.testing.assert_allclose(
        reopened.hydro.upstream_area(units="km2").values, xa.upstream_area(net, units="km2"), equal_nan=True
    )


@pytest.mark.parametrize("convention", [None, "esri", "cama"])
def test_write_network_round_trip_and_gdal_readers(tmp_path, convention):
    pytest.importorskip("rioxarray")
    pytest.importorskip("cf_xarray")
    for name in ("rhine_d8", "efas_europe_nc"):
        net = _open(name)
        path = xa.write_network(net, tmp_path / f"{name}.nc", convention)
        back = xa.open_network(path)
        assert back.crs == net.crs and back == net
        ds = xr.open_dataset(path)
        assert "grid_mapping" in ds[next(iter({"flow_direction", "nextx"} & set(ds.variables)))].attrs
        read = ds.rio.crs  # rioxarray reads the CF grid mapping we wrote
        assert pyproj.CRS(read.to_wkt()).equals(net.crs)
        if name == "rhine_d8":
            assert read.to_epsg() == 4326
        assert ds.cf.grid_mapping_names  # cf-xarray finds the grid mapping
        if convention is None:  # GDAL's netCDF driver reads the CRS too
            import rasterio

            with rasterio.open(f"netcdf:{path}:flow_direction") as opened:
                assert pyproj.CRS(opened.crs.to_wkt()).equals(net.crs)


def test_readers_find_prj_and_envi_map_info(tmp_path):
    codes = np.array([[1, 4], [64, 0]], np.uint8)
    asc = tmp_path / "d8.asc"
    asc.write_text("ncols 2\nnrows 2\nxllcorner 600000\nyllcorner 5700000\ncellsize 1000\nNODATA_value 255\n"
                   "1 4\n64 0\n")  # fmt: skip
    assert xa.open_network(asc, "esri").crs is None
    asc.with_suffix(".prj").write_text(pyproj.CRS(32631).to_wkt("WKT1_ESRI"))
    net = xa.open_network(asc, "esri")
    assert net.crs.is_projected and "31N" in net.crs.name
    np.testing.assert_allclose(xa.cell_areas(net), 1e6)
    binary = tmp_path / "d8.bin"
    binary.write_bytes(codes.tobytes())
    header = "ENVI\nsamples = 2\nlines = 2\nbands = 1\ndata type = 1\nbyte order = 0\n"
    binary.with_suffix(".hdr").write_text(
        header + "map info = {Geographic Lat/Lon, 1, 1, 5.0, 52.0, 0.5, 0.5, WGS-84, units=Degrees}\n"
    )
    assert xa.open_network(binary, "esri").crs.to_epsg() == 4326
    binary.with_suffix(".hdr").write_text(
        header + "map info = {UTM, 1, 1, 600000, 5700000, 1000, 1000, 31, North, WGS-84, units=Meters}\n"
    )
    assert xa.open_network(binary, "esri").crs.to_epsg() == 32631
    csf = BY_NAME["efas_europe_map"]
    skip_if_missing(csf)
    assert xa.open_network(csf.path).crs is None
    given = xa.open_network(csf.path, crs="EPSG:3035")
    np.testing.assert_allclose(
        xa.upstream_area(given), xa.upstream_area(_open("efas_europe_nc")), equal_nan=True, rtol=1e-12
    )


def test_load_helper_keeps_file_crs():
    assert "crs_wkt" in load("rhine_d8").attrs and "crs_wkt" in load("southamerica").attrs


def test_field_grid_mapping_gives_the_crs_to_a_network_without_one():
    """A CF field (grid_mapping on its variables) measures a network read from a CSF map."""
    info = BY_NAME["efas_europe_nc"]
    skip_if_missing(info)
    bare = _open("efas_europe_map")  # the same grid, no CRS
    expected = xa.upstream_area(_open("efas_europe_nc"), units="km2")
    ds = xr.open_dataset(info.path)  # the grid-mapping variable stays a data variable
    ds["runoff"] = xr.ones_like(ds["ec_ldd_repaired"], dtype=float).assign_attrs(
        grid_mapping="lambert_azimuthal_equal_area", units="1"
    )
    area = ds[["runoff", "lambert_azimuthal_equal_area"]].hydro.accumulate(bare, weights="area")["runoff"]
    np.testing.assert_allclose(area.values / 1e6, expected, rtol=1e-12)
    field = xr.open_dataset(info.path, decode_coords="all")["ec_ldd_repaired"]  # grid mapping: a coordinate
    np.testing.assert_allclose(field.hydro.upstream_area(bare, units="km2").values, expected, rtol=1e-12)
    with pytest.raises(UnknownGeometryError, match="crs="):  # without it: no guess
        field.drop_vars("lambert_azimuthal_equal_area").hydro.upstream_area(bare)


def test_cli_accumulate_area_needs_and_takes_a_crs(tmp_path, capsys):
    from xhydro_accessor.cli import main

    info = BY_NAME["efas_europe_map"]
    skip_if_missing(info)
    net = _open("efas_europe_map")
    field = xr.Dataset({"runoff": (net.dims, np.ones(net.shape), {"units": "mm d-1"})}, coords=net.coords)
    field.to_netcdf(tmp_path / "runoff.nc")
    command = ["accumulate", str(info.path), str(tmp_path / "runoff.nc"), "-o", str(tmp_path / "q.nc"),
               "--weights", "area", "--units", "m3 s-1", "--quiet"]  # fmt: skip
    with pytest.raises(SystemExit):  # the CSF map and the field hold no CRS: a clear error
        main(command)
    assert "crs=" in capsys.readouterr().err
    main([*command, "--crs", "EPSG:3035"])
    q = xr.open_dataset(tmp_path / "q.nc")["runoff"]
    expected = xa.upstream_area(_open("efas_europe_nc")) * 1e-3 / 86_400  # 1 mm/day
    np.testing.assert_allclose(q.values, expected, rtol=1e-6)
    # the output carries the CRS as a CF grid mapping too: GDAL/rioxarray and cf-xarray read it
    rioxarray = pytest.importorskip("rioxarray")
    with xr.open_dataset(tmp_path / "q.nc", decode_coords="all") as written:
        assert written["runoff"].attrs.get("grid_mapping") == "spatial_ref" or (
            written["runoff"].encoding.get("grid_mapping") == "spatial_ref"
        )
        assert written["runoff"].rio.crs.to_epsg() == 3035
    with rioxarray.open_rasterio(tmp_path / "q.nc", variable="runoff") as raster:
        crs = raster["runoff"].rio.crs if hasattr(raster, "data_vars") else raster.rio.crs
        assert crs.to_epsg() == 3035
    assert xa.open_dataset(tmp_path / "q.nc").hydro.network.crs.to_epsg() == 3035
