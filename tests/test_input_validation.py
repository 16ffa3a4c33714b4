"""Every value a real input holds: nodata values, masks, dtypes, layouts and parameters.

Each case either gives the right answer (checked against a plain, native-dtype
computation) or raises a clear ``TypeError``/``ValueError`` naming the problem.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from xhydro_accessor import InvalidCodeError, RiverNetwork
from xhydro_accessor.io import detect_convention, open_network

LDD = np.array([[3, 2, 1, 255], [6, 5, 4, 255]])  # 6 network cells, one pit, 2 missing


def _reference() -> RiverNetwork:
    return RiverNetwork.from_ldd(LDD.astype(np.uint8))


# ----------------------------------------------------------------- nodata (4)
@pytest.mark.parametrize(
    ("dtype", "fill"),
    [
        ("float32", np.nan),  # xarray's default _FillValue of floats
        ("float64", np.nan),
        ("float32", np.float32(-3.4028235e38)),  # GDAL's float32 nodata
        ("float64", -9999.0),
        ("int32", -2147483648),  # a CSF INT4 map's missing value
        ("int64", -(2**63)),
        ("uint32", 4294967295),
        (">i4", -2147483648),  # big-endian
        ("int16", -32768),
    ],
)
def test_nodata_from_a_file_marks_missing_cells(dtype: str, fill) -> None:
    codes = LDD.astype(dtype)
    codes[LDD == 255] = fill
    net = RiverNetwork.from_ldd(codes, nodata=fill)
    assert net == _reference()
    da = xr.DataArray(codes, dims=("y", "x"), attrs={"nodata": fill})
    assert RiverNetwork.from_ldd(da).n_nodes == 6


@pytest.mark.parametrize("fill", [np.nan, np.float32(-3.4e38), 1e300, -2147483648])
def test_nodata_that_no_cell_can_hold_is_ignored(fill) -> None:
    assert RiverNetwork.from_ldd(LDD.astype(np.uint8), nodata=fill) == _reference()


def test_nodata_outside_int8_range_with_wide_code_range() -> None:
    codes = LDD.astype(np.int32)
    codes[0, 3] = -2147483648
    codes[1, 3] = 255
    assert RiverNetwork.from_ldd(codes, nodata=-2147483648) == _reference()
    codes[1, 3] = 77  # and an invalid code in such a grid is still reported
    with pytest.raises(InvalidCodeError, match=r"values \[77\]"):
        RiverNetwork.from_ldd(codes, nodata=-2147483648)


def test_non_integral_nodata_is_an_error_not_a_truncation() -> None:
    with pytest.raises(InvalidCodeError, match=r"nodata 2.5 is not an integer"):
        RiverNetwork.from_ldd(LDD.astype(np.uint8), nodata=2.5)
    # float codes: nodata 2.5 matches exactly, code 2 stays a direction
    codes = LDD.astype(np.float64)
    codes[LDD == 255] = 2.5
    assert RiverNetwork.from_ldd(codes, nodata=2.5) == _reference()


def test_detect_convention_keeps_codes_a_non_integral_nodata_would_truncate_to() -> None:
    d8 = np.array([[1, 2, 4, 8], [16, 32, 64, 128]], np.float64)
    assert detect_convention(d8, nodata=[2.5, np.nan]) == "esri"  # 2 is not dropped


def test_masked_array_mask_is_missing() -> None:
    data = LDD.copy()
    data[LDD == 255] = 77  # garbage under the mask
    masked = np.ma.masked_array(data, mask=LDD == 255)
    assert RiverNetwork.from_ldd(masked) == _reference()
    assert RiverNetwork.from_ldd(np.ma.masked_array(masked.astype(float), mask=masked.mask)) == _reference()
    assert RiverNetwork.from_d8(np.ma.masked_array([[1, 99]], mask=[[False, True]])).n_nodes == 1


def test_float_netcdf_with_nan_fill_value(tmp_path) -> None:
    path = tmp_path / "ldd.nc"
    codes = np.where(LDD == 255, np.nan, LDD).astype(np.float32)
    coords = {"y": [1.5, 0.5], "x": np.arange(4) + 0.5}
    xr.Dataset({"ldd": (("y", "x"), codes)}, coords=coords).to_netcdf(path)
    assert np.isnan(xr.open_dataset(path, mask_and_scale=False)["ldd"].attrs["_FillValue"])
    assert np.array_equal(open_network(path, "ldd").downstream_grid(), _reference().downstream_grid())


@pytest.mark.parametrize("dtype", ["float16", "longdouble", ">i2", "<u4", ">f8", "int8"])
def test_codes_of_any_numeric_dtype(dtype: str) -> None:
    codes = np.array([[3, 2, 1], [6, 5, 4]]).astype(dtype)
    assert RiverNetwork.from_ldd(codes) == RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))


@pytest.mark.parametrize("dtype", ["bool", "complex64", "object", "U1", "datetime64[s]"])
def test_codes_of_a_non_integer_dtype_raise_naming_it(dtype: str) -> None:
    codes = np.array([[1, 0]]).astype(dtype)
    with pytest.raises(ValueError, match=re.escape(f"dtype {np.dtype(dtype)}")):
        RiverNetwork.from_d8(codes)


def test_package_exports() -> None:
    assert xa.RiverNetwork is RiverNetwork
