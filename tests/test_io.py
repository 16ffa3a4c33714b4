"""Tests of :mod:`xhydro_accessor.io`: real files and small synthetic ones."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests.real_data import BY_NAME, NAMES, VALID_CODES, load, skip_if_missing, valid_mask
from xhydro_accessor import CycleError, InvalidCodeError, RiverNetwork
from xhydro_accessor.io import (
    detect_convention,
    network_to_dataset,
    open_network,
    read_flow_directions,
    write_network,
)

# --------------------------------------------------------------------------- #
# real networks
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", NAMES)
def test_real_file_reads(name: str) -> None:
    net = BY_NAME[name]
    da = load(name)
    assert da.dims == ("y", "x")
    assert da.shape == net.shape
    assert np.issubdtype(da.dtype, np.integer)
    assert int(valid_mask(da, net.convention).sum()) == net.valid_cells
    # every cell is a valid code or the missing value
    allowed = set(VALID_CODES[net.convention]) | {net.nodata}
    assert set(np.unique(da.values).tolist()) <= allowed
    assert da.attrs.get("nodata") == net.declared_nodata
    assert Path(da.attrs["source_file"]) == net.path.resolve()
    if net.path.suffix == ".map":
        assert da.attrs["convention"] == "ldd"
    else:
        assert "convention" not in da.attrs


@pytest.mark.parametrize("name", NAMES)
def test_real_file_coordinates(name: str) -> None:
    net = BY_NAME[name]
    da = load(name)
    for dim, sign in (("y", -1.0), ("x", 1.0)):
        coord = da[dim].values
        assert coord.ndim == 1
        assert coord.dtype == np.float64
        assert np.all(np.isfinite(coord))
        # north-up, west-to-east, regular spacing of the expected resolution
        np.testing.assert_allclose(np.diff(coord), sign * net.resolution, rtol=1e-6)
    if net.latlon:
        assert np.all(np.abs(da["y"].values) < 90)
        assert np.all(np.abs(da["x"].values) <= 180)
    else:  # ETRS89-LAEA metres: inside Europe's false-origin window
        assert 0 < da["x"].min() and da["x"].max() < 8e6
        assert 0 < da["y"].min() and da["y"].max() < 6e6


def test_efas_map_and_nc_hold_the_same_codes() -> None:
    csf = load("efas_europe_map")
    nc = load("efas_europe_nc")
    np.testing.assert_allclose(csf["x"], nc["x"])
    np.testing.assert_allclose(csf["y"], nc["y"])
    valid_csf = valid_mask(csf, "ldd")
    valid_nc = valid_mask(nc, "ldd")
    np.testing.assert_array_equal(valid_csf, valid_nc)
    np.testing.assert_array_equal(csf.values[valid_csf], nc.values[valid_nc])
    # the missing cells: 255 in the uint8 map, -1 (the same byte) in the int8 netCDF
    assert np.all(csf.values[~valid_csf] == 255)
    assert np.all(nc.values[~valid_nc] == -1)


#: PCRaster LDD code -> ESRI D8 code of the same direction
_LDD_TO_D8 = {6: 1, 3: 2, 2: 4, 1: 8, 4: 16, 7: 32, 8: 64, 9: 128, 5: 0}


def test_pyflwdir2020_ldd_and_d8_are_the_same_network() -> None:
    ldd = load("pyflwdir2020_ldd")
    d8 = load("pyflwdir2020_d8")
    np.testing.assert_array_equal(ldd["x"], d8["x"])
    np.testing.assert_array_equal(ldd["y"], d8["y"])
    valid = valid_mask(ldd, "ldd")
    np.testing.assert_array_equal(valid, valid_mask(d8, "esri"))
    translated = np.vectorize(_LDD_TO_D8.get)(ldd.values[valid])
    np.testing.assert_array_equal(translated, d8.values[valid])


def test_waterregions_is_a_cut_out_of_southamerica() -> None:
    cut = load("waterregions")
    full = load("southamerica")
    # both 0.1 degree grids: match cells on rounded centre coordinates
    cut = cut.assign_coords(x=cut["x"].round(4), y=cut["y"].round(4))
    full = full.assign_coords(x=full["x"].round(4), y=full["y"].round(4))
    full_on_cut = full.reindex_like(cut)
    inside = full_on_cut.notnull().values
    assert inside.sum() > 100_000
    valid = valid_mask(cut, "ldd") & inside
    np.testing.assert_array_equal(cut.values[valid], full_on_cut.values[valid])
    # missing in one exactly where missing in the other, on the overlap
    np.testing.assert_array_equal(valid, valid_mask(full_on_cut, "ldd") & inside)


@pytest.mark.parametrize(
    ("codes", "dem"),
    [
        ("pysheds_elkhorn_esri_d8.asc", "pysheds_elkhorn_dem.tif"),
        ("rhine_30s_esri_d8.tif", "rhine_30s_elevation.tif"),
    ],
)
def test_codes_share_the_grid_of_their_dem(codes: str, dem: str) -> None:
    net = next(n for n in BY_NAME.values() if n.filename == codes)
    da = load(net.name)
    elevation = read_flow_directions(net.path.parent / dem)
    assert elevation.shape == da.shape
    np.testing.assert_allclose(elevation["x"], da["x"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(elevation["y"], da["y"], rtol=0, atol=1e-9)
    assert "crs_wkt" in elevation.attrs


# --------------------------------------------------------------------------- #
# synthetic files: PCRaster CSF
# --------------------------------------------------------------------------- #

_CSF_CR = {"u1": 0x00, "i4": 0x26, "f4": 0x5A}


def _csf_bytes(
    values: np.ndarray,
    *,
    x_ul: float = 100.0,
    y_ul: float = 50.0,
    cell: float = 10.0,
    value_scale: int = 0xF0,
    projection: int = 1,
    byteorder: str = "<",
    angle: float = 0.0,
) -> bytes:
    nrows, ncols = values.shape
    code = values.dtype.kind + str(values.dtype.itemsize)
    header = bytearray(256)
    header[:27] = b"RUU CROSS SYSTEM MAP FORMAT"
    struct.pack_into(byteorder + "HIH", header, 32, 2, 0, projection)
    struct.pack_into(byteorder + "I", header, 46, 1)
    struct.pack_into(byteorder + "HH", header, 64, value_scale, _CSF_CR[code])
    struct.pack_into(byteorder + "ddIIddd", header, 84, x_ul, y_ul, nrows, ncols, cell, cell, angle)
    return bytes(header) + values.astype(values.dtype.newbyteorder(byteorder)).tobytes()


def test_csf_ldd_map(tmp_path: Path) -> None:
    codes = np.array([[1, 2, 3], [4, 5, 255]], dtype=np.uint8)
    path = tmp_path / "small.map"
    path.write_bytes(_csf_bytes(codes))
    da = read_flow_directions(path)
    np.testing.assert_array_equal(da.values, codes)
    assert da.dtype == np.uint8
    np.testing.assert_allclose(da["x"], [105.0, 115.0, 125.0])
    np.testing.assert_allclose(da["y"], [45.0, 35.0])
    assert da.attrs["convention"] == "ldd"
    assert da.attrs["nodata"] == 255


def test_csf_big_endian_int4_nominal_y_down(tmp_path: Path) -> None:
    codes = np.array([[1, -2], [3, -2147483648]], dtype=np.int32)
    path = tmp_path / "nominal.map"
    path.write_bytes(_csf_bytes(codes, value_scale=0xE2, projection=0, byteorder=">"))
    da = read_flow_directions(path)
    np.testing.assert_array_equal(da.values, codes)
    assert da.dtype == np.int32
    assert da.attrs["nodata"] == -2147483648
    assert "convention" not in da.attrs
    # projection 0: y increases from top to bottom
    np.testing.assert_allclose(da["y"], [55.0, 65.0])


def test_csf_real4_missing_is_nan(tmp_path: Path) -> None:
    values = np.array([[1.5, np.nan]], dtype=np.float32)
    path = tmp_path / "scalar.map"
    path.write_bytes(_csf_bytes(values, value_scale=0xEB))
    da = read_flow_directions(path)
    assert np.isnan(da.values[0, 1])
    assert "nodata" not in da.attrs


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:100], "truncated"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b"XXX" + b[3:], "signature"),
        (lambda b: b[:46] + b"\x07\x00\x00\x07" + b[50:], "byte-order"),
        (lambda b: b[:66] + b"\x99\x00" + b[68:], "cell representation"),
        (lambda b: b[:64] + b"\x42\x00" + b[66:], "value scale"),
        (lambda b: b[:124] + struct.pack("<d", 30.0) + b[132:], "rotated"),
    ],
)
def test_csf_corrupt(tmp_path: Path, mutate, message: str) -> None:
    path = tmp_path / "bad.map"
    path.write_bytes(mutate(_csf_bytes(np.ones((4, 5), dtype=np.uint8))))
    with pytest.raises(ValueError, match=message) as excinfo:
        read_flow_directions(path)
    assert "bad.map" in str(excinfo.value)


def test_real_map_truncated(tmp_path: Path) -> None:
    net = BY_NAME["waterregions"]
    if not net.path.is_file():
        pytest.skip("shared data not found")
    path = tmp_path / "cut.map"
    path.write_bytes(net.path.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"cut\.map: truncated"):
        read_flow_directions(path)


# --------------------------------------------------------------------------- #
# synthetic files: raw BIL + header
# --------------------------------------------------------------------------- #

_ESRI_HDR = """BYTEORDER      {bo}
LAYOUT         BIL
NROWS          2
NCOLS          3
NBANDS         1
NBITS          {nbits}
PIXELTYPE      {ptype}
ULXMAP         10.5
ULYMAP         20.5
XDIM           1.0
YDIM           1.0
NODATA         {nodata}
"""


@pytest.mark.parametrize(
    ("dtype", "bo", "ptype"),
    [("<u1", "I", "UNSIGNEDINT"), (">i2", "M", "SIGNEDINT"), ("<i4", "I", "SIGNEDINT")],
)
def test_bil_esri_header(tmp_path: Path, dtype: str, bo: str, ptype: str) -> None:
    codes = np.array([[1, 2, 4], [8, 0, 247]], dtype=dtype)
    (tmp_path / "d8.bin").write_bytes(codes.tobytes())
    nbits = codes.dtype.itemsize * 8
    (tmp_path / "d8.hdr").write_text(_ESRI_HDR.format(bo=bo, nbits=nbits, ptype=ptype, nodata=247))
    da = read_flow_directions(tmp_path / "d8.bin")
    np.testing.assert_array_equal(da.values, codes)
    assert da.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_allclose(da["x"], [10.5, 11.5, 12.5])  # ULXMAP is a cell centre
    np.testing.assert_allclose(da["y"], [20.5, 19.5])
    assert da.attrs["nodata"] == 247
    assert "convention" not in da.attrs


def test_bil_envi_header(tmp_path: Path) -> None:
    codes = np.array([[1, 2, 3], [4, 5, 255]], dtype=np.uint8)
    (tmp_path / "ldd.bin").write_bytes(b"\x00" * 4 + codes.tobytes())
    (tmp_path / "ldd.hdr").write_text(
        "ENVI\nsamples = 3\nlines = 2\nbands = 1\nheader offset = 4\n"
        "data type = 1\ninterleave = bsq\nbyte order = 0\n"
        "map info = {Geographic Lat/Lon, 1.0, 1.0, 10.0, 21.0, 1.0, 1.0, WGS-84}\n"
        "data ignore value = 255\n"
    )
    da = read_flow_directions(tmp_path / "ldd.bin")
    np.testing.assert_array_equal(da.values, codes)
    np.testing.assert_allclose(da["x"], [10.5, 11.5, 12.5])
    np.testing.assert_allclose(da["y"], [20.5, 19.5])
    assert da.attrs["nodata"] == 255


def test_bil_truncated(tmp_path: Path) -> None:
    (tmp_path / "d8.bin").write_bytes(bytes(5))
    (tmp_path / "d8.hdr").write_text(_ESRI_HDR.format(bo="I", nbits=8, ptype="UNSIGNEDINT", nodata=247))
    with pytest.raises(ValueError, match=r"d8\.bin: truncated"):
        read_flow_directions(tmp_path / "d8.bin")


def test_bil_without_header(tmp_path: Path) -> None:
    (tmp_path / "lonely.bin").write_bytes(bytes(6))
    with pytest.raises(ValueError, match=r"lonely\.bin: no header"):
        read_flow_directions(tmp_path / "lonely.bin")


def test_bil_corrupt_header(tmp_path: Path) -> None:
    (tmp_path / "d8.bin").write_bytes(bytes(6))
    (tmp_path / "d8.hdr").write_text("NROWS two\nNCOLS 3\n")
    with pytest.raises(ValueError, match=r"d8\.bin: header value NROWS"):
        read_flow_directions(tmp_path / "d8.bin")


# --------------------------------------------------------------------------- #
# synthetic files: ESRI ASCII grid
# --------------------------------------------------------------------------- #


def test_ascii_grid(tmp_path: Path) -> None:
    path = tmp_path / "dir.asc"
    path.write_text(
        "ncols 3\nnrows 2\nxllcorner 100\nyllcorner 50\ncellsize 10\nNODATA_value -9999\n1 2 4\n8 0 -9999\n"
    )
    da = read_flow_directions(path)
    np.testing.assert_array_equal(da.values, [[1, 2, 4], [8, 0, -9999]])
    assert np.issubdtype(da.dtype, np.integer)
    np.testing.assert_allclose(da["x"], [105.0, 115.0, 125.0])
    np.testing.assert_allclose(da["y"], [65.0, 55.0])
    assert da.attrs["nodata"] == -9999


def test_ascii_grid_centre_origin_no_nodata(tmp_path: Path) -> None:
    path = tmp_path / "dir.asc"
    path.write_text("NCOLS 2\r\nNROWS 1\r\nXLLCENTER 0.5\r\nYLLCENTER 0.5\r\nCELLSIZE 1\r\n3 6\r\n")
    da = read_flow_directions(path)
    np.testing.assert_array_equal(da.values, [[3, 6]])
    np.testing.assert_allclose(da["x"], [0.5, 1.5])
    np.testing.assert_allclose(da["y"], [0.5])
    assert "nodata" not in da.attrs


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1 2 4\n8 0\n", "truncated"),
        ("1 2 4\n8 0 1 7\n", "corrupt"),
        ("1 2 4\n8 x 1\n", "corrupt"),
    ],
)
def test_ascii_grid_corrupt(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.asc"
    path.write_text("ncols 3\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\n" + body)
    with pytest.raises(ValueError, match=rf"bad\.asc: .*{message}"):
        read_flow_directions(path)


def test_ascii_grid_missing_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.asc"
    path.write_text("ncols 3\n1 2 3\n")
    with pytest.raises(ValueError, match=r"bad\.asc: .*lacks nrows"):
        read_flow_directions(path)


# --------------------------------------------------------------------------- #
# synthetic files: netCDF
# --------------------------------------------------------------------------- #


def _ldd_dataset(lat: np.ndarray) -> xr.Dataset:
    codes = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int8)
    ds = xr.Dataset(
        {"ldd": (("lat", "lon"), codes, {"long_name": "local drain direction"})},
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", [1.0, 2.0, 3.0], {"units": "degrees_east"}),
        },
    )
    ds["ldd"].encoding["_FillValue"] = np.int8(-1)
    return ds


@pytest.mark.parametrize("engine", ["scipy", "netcdf4"])
def test_netcdf_roundtrip(tmp_path: Path, engine: str) -> None:
    pytest.importorskip({"scipy": "scipy", "netcdf4": "netCDF4"}[engine])
    path = tmp_path / "ldd.nc"
    ds = _ldd_dataset(np.array([20.0, 10.0]))
    ds["elevation"] = (("lat", "lon"), np.linspace(0, 1, 6).reshape(2, 3))
    ds.to_netcdf(path, engine=engine)
    da = read_flow_directions(path)
    assert da.dims == ("y", "x")
    assert da.dtype == np.int8
    np.testing.assert_array_equal(da.values, ds["ldd"].values)
    np.testing.assert_array_equal(da["y"], [20.0, 10.0])
    assert da["y"].attrs["units"] == "degrees_north"
    assert da.attrs["nodata"] == -1
    assert da.name == "ldd"


def test_netcdf_south_up_is_kept_as_stored(tmp_path: Path) -> None:
    # rows stay as stored (fields from the same file align); the codes are read by the coordinates
    path = tmp_path / "ldd.nc"
    ds = _ldd_dataset(np.array([10.0, 20.0]))
    ds.to_netcdf(path, engine="scipy")
    da = read_flow_directions(path)
    np.testing.assert_array_equal(da["y"], [10.0, 20.0])
    np.testing.assert_array_equal(da.values, ds["ldd"].values)
    north_up = RiverNetwork.from_ldd(ds["ldd"].values[::-1])  # the same map stored north up
    net = open_network(path, "ldd")
    np.testing.assert_array_equal(net.coords["lat"], [10.0, 20.0])
    # cell (row 0, col 0) is the south-west corner; code 1 (south-west) leaves the grid
    np.testing.assert_array_equal(net.mask, north_up.mask[::-1])
    flip = np.arange(6).reshape(2, 3)[::-1].reshape(-1)  # stored flat index -> north-up flat index
    down = net.downstream_grid().reshape(-1)
    expected = north_up.downstream_grid().reshape(-1)[flip]
    np.testing.assert_array_equal(np.where(down >= 0, flip[np.maximum(down, 0)], down), expected)


def test_netcdf_transposed_dims(tmp_path: Path) -> None:
    path = tmp_path / "ldd.nc"
    ds = _ldd_dataset(np.array([20.0, 10.0])).transpose("lon", "lat")
    ds.to_netcdf(path, engine="scipy")
    da = read_flow_directions(path)
    assert da.dims == ("y", "x")
    np.testing.assert_array_equal(da.values, [[1, 2, 3], [4, 5, 6]])


def test_netcdf_variable_selection(tmp_path: Path) -> None:
    path = tmp_path / "two.nc"
    codes = np.ones((2, 3), dtype=np.int16)
    xr.Dataset({"a": (("y", "x"), codes), "b": (("y", "x"), 2 * codes)}).to_netcdf(path, engine="scipy")
    with pytest.raises(ValueError, match=r"two\.nc: several candidate"):
        read_flow_directions(path)
    assert int(read_flow_directions(path, variable="b")[0, 0]) == 2
    with pytest.raises(ValueError, match=r"two\.nc: no variable 'c'"):
        read_flow_directions(path, variable="c")


def test_netcdf_no_candidate(tmp_path: Path) -> None:
    path = tmp_path / "float.nc"
    xr.Dataset({"t": (("y", "x"), np.full((2, 2), 0.5))}).to_netcdf(path, engine="scipy")
    with pytest.raises(ValueError, match=r"float\.nc: no two-dimensional integer"):
        read_flow_directions(path)


def test_netcdf_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "bad.nc"
    path.write_bytes(b"not a netcdf file at all")
    with pytest.raises(ValueError, match=r"bad\.nc: not a netCDF file"):
        read_flow_directions(path)


def test_netcdf_truncated(tmp_path: Path) -> None:
    good = tmp_path / "good.nc"
    _ldd_dataset(np.array([20.0, 10.0])).to_netcdf(good, engine="scipy")
    path = tmp_path / "cut.nc"
    path.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cut\.nc"):
        read_flow_directions(path)


# --------------------------------------------------------------------------- #
# GeoTIFF and dispatch
# --------------------------------------------------------------------------- #


def test_geotiff_corrupt(tmp_path: Path) -> None:
    pytest.importorskip("rioxarray")
    path = tmp_path / "bad.tif"
    path.write_bytes(b"II*\x00garbage")
    with pytest.raises(ValueError, match=r"bad\.tif"):
        read_flow_directions(path)


_GRID = np.arange(37 * 53, dtype=np.uint8).reshape(37, 53) % 9  # 37 rows: strips of 5 leave 2
_LAYOUTS = {
    "striped": {"blockysize": 5},
    "striped-deflate": {"blockysize": 5, "compress": "deflate"},
    "tiled": {"tiled": True, "blockxsize": 16, "blockysize": 16},
    "tiled-deflate": {"tiled": True, "blockxsize": 16, "blockysize": 16, "compress": "deflate"},
    "bigtiff-striped-deflate": {"blockysize": 5, "compress": "deflate", "BIGTIFF": "YES"},
    "bigtiff-tiled": {"tiled": True, "blockxsize": 16, "blockysize": 16, "BIGTIFF": "YES"},
    "big-endian-striped": {"blockysize": 5, "ENDIANNESS": "BIG"},
    "lzw": {"blockysize": 5, "compress": "lzw"},
    "band-interleaved": {"blockysize": 5, "interleave": "band"},  # PlanarConfiguration 2 for bands
}


def _written_tiff(tmp_path: Path, layout: str, values: np.ndarray = _GRID) -> Path:
    """``values`` (a 37×53 grid, or bands first) written by rioxarray with the given layout."""
    dims = ("band", "y", "x")[3 - values.ndim :]
    coords = {"y": np.arange(37)[::-1] + 0.5, "x": np.arange(53) + 0.5}
    path = tmp_path / f"{layout}.tif"
    xr.DataArray(values, dims=dims, coords=coords).rio.write_crs(4326).rio.to_raster(path, **_LAYOUTS[layout])
    return path


def _set_tag(path: Path, tag: int, value: int, *, kind: int | None = None, number: int | None = None) -> None:
    """Overwrite the inline value (or the type, or the number) of ``tag`` in a little-endian
    classic TIFF's first IFD."""
    raw = bytearray(path.read_bytes())
    ifd = struct.unpack_from("<I", raw, 4)[0]
    for entry in range(ifd + 2, ifd + 2 + 12 * struct.unpack_from("<H", raw, ifd)[0], 12):
        if struct.unpack_from("<H", raw, entry)[0] == tag:
            struct.pack_into("<H" if raw[entry + 2] == 3 else "<I", raw, entry + 8, value)
            struct.pack_into("<HH", raw, entry, number or tag, kind or raw[entry + 2])
            path.write_bytes(bytes(raw))
            return
    raise AssertionError(f"no tag {tag} in {path}")


@pytest.mark.parametrize("layout", list(_LAYOUTS))
def test_geotiff_layouts_pass_the_structure_check(tmp_path: Path, layout: str) -> None:
    pytest.importorskip("rioxarray")
    from xhydro_accessor.io.geotiff import check_tiff_structure

    path = _written_tiff(tmp_path, layout)
    assert path.read_bytes()[:4] == {"bigtiff": b"II+\0", "big-end": b"MM\0*"}.get(layout[:7], b"II*\0")
    check_tiff_structure(path)
    assert np.array_equal(read_flow_directions(path).values, _GRID)
    bands = np.stack([_GRID, _GRID + 1])  # two bands, one plane each: strips or tiles of each
    check_tiff_structure(_written_tiff(tmp_path, layout, bands))


@pytest.mark.parametrize(
    "name", ["rhine_30s_esri_d8.tif", "rhine_30s_elevation.tif", "pysheds_elkhorn_dem.tif"]
)
def test_real_geotiffs_pass_the_structure_check(name: str) -> None:
    from tests.real_data import SHARED_DATA
    from xhydro_accessor.io.geotiff import check_tiff_structure

    if not (SHARED_DATA / name).is_file():
        pytest.skip(f"{name} not found")
    check_tiff_structure(SHARED_DATA / name)


@pytest.mark.parametrize(
    ("layout", "tag", "value", "message"),
    [
        ("striped", 257, 20, r"tag ImageLength says 20 rows: strips of 5 rows, 4 in all, but .* 8 and 8"),
        ("striped", 278, 4, r"ImageLength says 37 rows: strips of 4 rows, 10 in all, but .* 8 and 8"),
        ("striped", 257, 36, r"StripByteCounts: strip 7 has 106 bytes, 53×36 cells of 8 bits .* need 53"),
        ("striped", 256, 54, r"StripByteCounts: strip 0 has 265 bytes, 54×37 cells of 8 bits .* need 270"),
        ("striped", 258, 16, r"StripByteCounts: strip 0 has 265 bytes, 53×37 cells of 16 bits .* need 530"),
        ("striped-deflate", 256, 54, r"strip 0 inflates to 265 bytes, 54×37 cells .* need 270"),
        ("striped-deflate", 257, 36, r"strip 7 inflates to over 53 bytes, 53×36 cells .* need 53"),
        ("striped-deflate", 257, 40, r"strip 7 inflates to 106 bytes, 53×40 cells .* need 265"),
        ("tiled", 256, 80, r"ImageWidth/ImageLength say 80×37 cells: tiles of 16×16, 15 in all"),
        ("tiled", 323, 32, r"say 53×37 cells: tiles of 16×32, 8 in all, but TileOffsets.* hold 12 and 12"),
        ("tiled", 322, 17, r"TileByteCounts: tile 0 has 256 bytes, 53×37 cells of 8 bits .* need 272"),
        ("tiled-deflate", 258, 16, r"tile 0 inflates to 256 bytes, 53×37 cells of 16 bits .* need 512"),
        ("striped", 256, 0, r"tag ImageWidth is \[0\]"),
    ],
)
def test_geotiff_header_lies_are_caught(
    tmp_path: Path, layout: str, tag: int, value: int, message: str
) -> None:
    pytest.importorskip("rioxarray")
    path = _written_tiff(tmp_path, layout)
    _set_tag(path, tag, value)
    with pytest.raises(ValueError, match=rf"{layout}\.tif: TIFF .*{message}"):
        read_flow_directions(path)


def test_geotiff_structure_errors(tmp_path: Path) -> None:
    pytest.importorskip("rioxarray")
    from xhydro_accessor.io.geotiff import check_tiff_structure

    path = _written_tiff(tmp_path, "striped")
    raw = path.read_bytes()
    path.write_bytes(raw[:-10])  # the last strip is cut
    with pytest.raises(ValueError, match=r"tag StripOffsets puts strip 7 beyond the end of the file"):
        check_tiff_structure(path)
    path.write_bytes(raw[:2] + b"\x2b\x01" + raw[4:])
    with pytest.raises(ValueError, match=r"striped\.tif: not a TIFF \(header b'II\+\\x01'\)"):
        check_tiff_structure(path)
    path.write_bytes(raw[:6])
    with pytest.raises(
        ValueError, match=r"striped\.tif: TIFF header lies beyond the end of the file \(6 bytes\)"
    ):
        check_tiff_structure(path)
    for kind, number, message in [(2, None, "has type 2, not an integer type"), (None, 65000, "is missing")]:
        path.write_bytes(raw)
        _set_tag(path, 257, 37, kind=kind, number=number)
        with pytest.raises(ValueError, match=rf"striped\.tif: TIFF tag ImageLength {message}"):
            check_tiff_structure(path)
    (tmp_path / "bands").mkdir()
    bands = _written_tiff(tmp_path / "bands", "band-interleaved", np.stack([_GRID, _GRID + 1]))
    _set_tag(bands, 284, 1)  # two planes announced as one: 2 × 8 strips for 8
    with pytest.raises(
        ValueError, match=r"strips of 5 rows, 8 in all, but StripOffsets and StripByteCounts hold 16"
    ):
        check_tiff_structure(bands)


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "codes.xyz"
    path.write_bytes(b"1 2 3")
    with pytest.raises(ValueError, match=r"codes\.xyz: unknown flow-direction raster suffix"):
        read_flow_directions(path)


def test_variable_only_for_netcdf(tmp_path: Path) -> None:
    path = tmp_path / "dir.asc"
    path.write_text("ncols 1\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\n1\n")
    with pytest.raises(ValueError, match="netCDF"):
        read_flow_directions(path, variable="ldd")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.map"):
        read_flow_directions(tmp_path / "nowhere.map")


def test_geotiff_without_rioxarray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "rioxarray", None)
    path = tmp_path / "codes.tif"
    path.write_bytes(b"II*\x00")
    with pytest.raises(ImportError, match="pip install rioxarray"):
        read_flow_directions(path)


# --------------------------------------------------------------------------- #
# networks: open_network, detect_convention, write_network
# --------------------------------------------------------------------------- #

_WRITE_CONVENTIONS = [None, "ldd", "esri", "merit", "taudem", "cama"]


def _explicit(name: str) -> RiverNetwork:
    """The network built with the convention and fill value the README states."""
    info = BY_NAME[name]
    codes = load(name)
    if info.convention == "ldd":
        return RiverNetwork.from_ldd(codes, nodata=info.nodata)
    return RiverNetwork.from_d8(codes, info.convention, nodata=info.nodata)


@pytest.mark.parametrize("name", NAMES)
def test_open_real_network_detects_the_convention(name: str) -> None:
    info = BY_NAME[name]
    expected = _explicit(name)  # the network test_against_pyflwdir checks against pyflwdir
    net = open_network(info.path)
    assert (net.n_nodes, net.outlets.size, net.n_levels) == (
        info.valid_cells,
        info.outlets,
        info.longest_path,
    )
    np.testing.assert_array_equal(net.downstream_grid(), expected.downstream_grid())
    assert len(net.dims) == 2 and set(net.coords) == set(net.dims)


@pytest.mark.parametrize("name", NAMES)
def test_real_network_roundtrip_in_each_convention(name: str, tmp_path: Path) -> None:
    skip_if_missing(BY_NAME[name])
    net = open_network(BY_NAME[name].path)
    for convention in _WRITE_CONVENTIONS:
        path = tmp_path / f"{convention}.nc"
        try:
            write_network(net, path, convention)
        except ValueError as err:  # TauDEM has no pit code: interior pits cannot be written
            assert convention == "taudem" and "surrounded by network cells" in str(err)
            continue
        assert open_network(path) == net, convention
        if convention != "cama":
            with xr.open_dataset(path) as ds:
                assert ds.hydro.network == net


def test_written_attributes() -> None:
    net = RiverNetwork.from_ldd(np.array([[6, 2], [255, 5]]))
    ds = network_to_dataset(net, "merit")
    var = ds["flow_direction"]
    assert var.attrs["hydro_role"] == "flow_direction" and var.attrs["convention"] == "merit"
    assert var.encoding["_FillValue"] == 247
    assert len(var.attrs["flag_values"]) == len(var.attrs["flag_meanings"].split()) == 9
    assert set(network_to_dataset(net, "cama").data_vars) == {"nextx", "nexty"}
    with pytest.raises(ValueError, match="unknown convention 'd4'"):
        network_to_dataset(net, "d4")


def test_long_jumps_need_cama(tmp_path: Path) -> None:
    net = RiverNetwork.from_cama(np.array([[3, 3, -9]]), np.array([[1, 1, -9]]))
    with pytest.raises(ValueError, match="convention='cama'"):
        network_to_dataset(net, "esri")
    path = write_network(net, tmp_path / "jump.nc")  # default: the offset encoding
    assert open_network(path) == net.with_grid(("y", "x"), {})


def test_data_with_attached_network_reopens_with_it(tmp_path: Path) -> None:
    net = open_network(BY_NAME["lisflood_latlon"].path) if BY_NAME["lisflood_latlon"].path.is_file() else None
    if net is None:
        pytest.skip("shared data not found")
    runoff = xr.DataArray(np.ones((2, *net.shape)), dims=("time", *net.dims), coords=net.coords)
    path = tmp_path / "runoff.nc"
    runoff.hydro.assign_network(net).to_dataset(name="runoff").to_netcdf(path)
    with xr.open_dataset(path) as ds:
        assert ds.hydro.network == net
        assert ds["runoff"].hydro.network == net
        np.testing.assert_array_equal(
            ds["runoff"].hydro.accumulate().isel(time=0), xa.accumulate(net, runoff[0])
        )
    assert open_network(path) == net


def test_detect_convention_errors() -> None:
    with pytest.raises(ValueError, match="fit no flow-direction convention"):
        detect_convention(np.array([[3, 300]]))
    with pytest.raises(ValueError, match="convention='esri' or convention='merit'"):
        detect_convention(np.array([[1, 16, 255]]))
    assert detect_convention(np.array([[1, 16, 255, 247]])) == "merit"
    assert detect_convention(np.array([[1, 16, 255]]), nodata=255) == "esri"
    assert detect_convention(np.array([[0, 1, 2, 3, 8, -32768]], np.int16)) == "taudem"
    assert detect_convention(np.array([[0.0, 9.0, np.nan]])) == "ldd"


def test_open_network_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "dir.asc"
    path.write_text("ncols 2\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 2\n")
    with pytest.raises(ValueError, match=r"dir\.asc: the codes \[1, 2\] fit several conventions"):
        open_network(path)
    assert open_network(path, "esri").n_nodes == 2
    path.write_text("ncols 2\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\n3 2\n")
    with pytest.raises(InvalidCodeError, match=r"dir\.asc: as esri flow directions: 1 cells hold codes"):
        open_network(path, "esri")
    with pytest.raises(ValueError, match=r"dir\.asc: unknown flow-direction convention 'd4'"):
        open_network(path, "d4")
    path.write_text("ncols 2\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\n6 4\n")
    with pytest.raises(CycleError, match=r"dir\.asc: as ldd flow directions: the flow directions contain 1"):
        open_network(path, "ldd")
    nc = write_network(RiverNetwork.from_ldd(np.array([[6, 5]])), tmp_path / "net.nc")
    with pytest.raises(ValueError, match=r"net\.nc: no variable 'ldd'"):
        open_network(nc, variable="ldd")
    truncated = tmp_path / "cut.nc"
    truncated.write_bytes(nc.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"cut\.nc"):
        open_network(truncated)


def _cama_grid() -> tuple[np.ndarray, np.ndarray]:
    # row 0 drains east into (col 3, row 1); the last cell is a mouth; one missing cell
    nextx = np.array([[2, 3, -9999], [3, 3, -9]], np.int32)
    nexty = np.array([[1, 2, -9999], [2, 2, -9]], np.int32)
    return nextx, nexty


def test_cama_netcdf_south_up(tmp_path: Path) -> None:
    nextx, nexty = _cama_grid()
    expected = RiverNetwork.from_cama(nextx, nexty)
    ds = xr.Dataset(
        {
            "nextx": (("lat", "lon"), nextx[::-1]),
            "nexty": (("lat", "lon"), np.where(nexty > 0, 3 - nexty, nexty)[::-1]),
        },
        coords={"lat": [10.0, 20.0], "lon": [1.0, 2.0, 3.0]},
    )  # the same network stored south-up: rows renumbered
    ds.to_netcdf(tmp_path / "nextxy.nc")
    net = open_network(tmp_path / "nextxy.nc")  # kept as stored, south-up
    np.testing.assert_array_equal(net.coords["lat"], [10.0, 20.0])
    flip = np.arange(6).reshape(2, 3)[::-1].reshape(-1)  # stored flat index -> north-up flat index
    down = net.downstream_grid().reshape(-1)
    back = np.where(down >= 0, flip[np.maximum(down, 0)], down)
    np.testing.assert_array_equal(back, expected.downstream_grid().reshape(-1)[flip])


def test_cama_binary(tmp_path: Path) -> None:
    nextx, nexty = _cama_grid()
    (tmp_path / "params.txt").write_text(
        "3 !! grid number (east-west)\n2 !! (north-south)\n1 !! layers\n0.5 !! grid size [deg]\n"
        "0.0 !! west\n1.5 !! east\n1.0 !! north\n0.0 !! south\n"
    )
    path = tmp_path / "nextxy.bin"
    path.write_bytes(np.stack([nextx, nexty]).astype("<i4").tobytes())
    net = open_network(path)
    np.testing.assert_array_equal(
        net.downstream_grid(), RiverNetwork.from_cama(nextx, nexty).downstream_grid()
    )
    np.testing.assert_allclose(net.coords["x"], [0.25, 0.75, 1.25])
    np.testing.assert_allclose(net.coords["y"], [0.75, 0.25])
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(ValueError, match=r"nextxy\.bin: truncated CaMa-Flood nextxy"):
        open_network(path)
    (tmp_path / "params.txt").unlink()
    with pytest.raises(ValueError, match=r"nextxy\.bin: .*needs params\.txt"):
        open_network(path)
