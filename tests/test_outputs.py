"""Outputs people can use: dtypes kept, names that say what a result is, CF metadata on maps."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests.conftest import HOWS
from xhydro_accessor import RiverNetwork
from xhydro_accessor.xarray_ops import convert_units

NET = RiverNetwork.from_ldd(np.array([[3, 2, 1, 255], [6, 5, 4, 8], [9, 8, 7, 8]]))
CF_WORD = re.compile(r"^[A-Za-z0-9_.+@-]+$")


def runoff(dtype=np.float32) -> xr.DataArray:
    values = np.random.default_rng(0).random((2, 3, 4)).astype(dtype)
    coords = {"time": [0, 1], "lat": [51.0, 50.0, 49.0], "lon": [5.0, 6.0, 7.0, 8.0]}
    return xr.DataArray(
        values, dims=("time", "lat", "lon"), coords=coords, name="runoff", attrs={"units": "mm d-1"}
    )


# ------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("op", ["accumulate", "accumulate_downstream", "move_downstream"])
@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("weights", [None, "area"])
def test_float32_in_float32_out(op, how, weights):
    da = runoff()
    out = getattr(da.hydro, op)(NET, how=how, weights=weights)
    assert out.dtype == np.float32
    lazy = getattr(da.chunk(time=1).hydro, op)(NET, how=how, weights=weights)
    assert lazy.dtype == np.float32 and lazy.compute().dtype == np.float32
    # the values are the float64 computation's, to float32 precision
    wide = getattr(da.astype(np.float64).hydro, op)(NET, how=how, weights=weights)
    np.testing.assert_allclose(out.values, wide.values, rtol=2e-5, atol=1e-6 * float(np.nanmax(np.abs(wide))))
    array_level = getattr(xa, op)(NET, da.values, how=how)
    assert array_level.dtype == np.float32


@pytest.mark.parametrize("how", [*HOWS, "median"])
@pytest.mark.parametrize("weights", [None, "area"])
def test_float32_catchment_statistics_and_moves(how, weights):
    da = runoff()
    out = da.hydro.catchment_statistics({"a": (50.0, 6.0)}, how=how, network=NET, weights=weights)
    assert out.dtype == np.float32
    assert da.hydro.move_upstream(NET).dtype == np.float32


# -------------------------------------------------------------------- names
def test_discharge_is_named_discharge_and_others_derive_their_name():
    q = runoff().hydro.accumulate(NET, weights="area")
    assert q.name == "discharge"
    assert q.attrs["standard_name"] == "water_volume_transport_in_river_channel"
    in_si = convert_units(q, "m3 s-1")
    assert in_si.name == "discharge" and in_si.attrs["units"] == "m3 s-1"
    # 1 mm/day over the nine cells draining to the pit (1, 1): 3°x3° from 48.5 to 51.5°N
    ones = xr.ones_like(runoff(np.float64))
    q = convert_units(ones.hydro.accumulate(NET, weights="area"), "m3 s-1")
    area = 6_371_008.8**2 * np.deg2rad(3.0) * (np.sin(np.deg2rad(51.5)) - np.sin(np.deg2rad(48.5)))
    assert float(q.isel(time=0, lat=1, lon=1)) == pytest.approx(area * 1e-3 / 86400, rel=0.005)
    da = runoff()
    assert da.hydro.accumulate(NET).name == "runoff_accumulated"
    assert da.hydro.accumulate(NET, how="max").name == "runoff_upstream_max"
    assert da.hydro.accumulate_downstream(NET, how="mean").name == "runoff_downstream_mean"
    assert da.hydro.move_downstream(NET).name == "runoff_moved_downstream"
    assert da.hydro.move_upstream(NET).name == "runoff_moved_upstream"
    assert da.rename(None).hydro.accumulate(NET).name is None
    # a Dataset keeps its variable names; the attributes say what they hold
    ds = da.to_dataset().hydro.accumulate(NET, weights="area")
    assert list(ds.data_vars) == ["runoff"]
    assert ds["runoff"].attrs["standard_name"] == "water_volume_transport_in_river_channel"


# ----------------------------------------------------------- integer maps
def grid() -> xr.DataArray:
    return runoff().isel(time=0)


@pytest.mark.parametrize(
    "make, fill",
    [
        (lambda: grid().hydro.strahler(NET), np.iinfo(np.int32).min),
        (lambda: grid().hydro.shreve(NET), None),
        (lambda: grid().hydro.basins(NET), 0),
        (lambda: grid().hydro.catchments({"a": (50.0, 5.0), "b": (50.0, 6.0)}, NET, nested=True), 0),
    ],
)
def test_integer_maps_declare_fill_and_range(tmp_path: Path, make, fill):
    out = make()
    assert out.dtype.kind == "i"
    fill = xa.fill_value(out.dtype) if fill is None else fill
    assert out.encoding["_FillValue"] == fill and out.encoding["_FillValue"].dtype == out.dtype
    valid = out.values[out.values != fill]
    assert out.attrs["valid_min"] == valid.min() >= 0 and out.attrs["valid_max"] == valid.max()
    assert not NET.mask[1, 1] or out.values[0, 3] == fill  # (0, 3) is off the network
    out.to_netcdf(tmp_path / "map.nc")
    with xr.open_dataarray(tmp_path / "map.nc") as back:
        np.testing.assert_array_equal(np.isnan(back.values), out.values == fill)
        np.testing.assert_array_equal(back.values[out.values != fill], valid)
        assert back.attrs["valid_max"] == valid.max()


def test_label_map_flags_are_cf_and_only_present_labels(tmp_path: Path):
    stations = {
        "Rhine at Lobith": (50.0, 6.0),
        "Köln (gauge)": (51.0, 5.0),
        "same cell": (50.0, 6.0),
        "": (49.0, 5.0),
    }
    labels = grid().hydro.catchments(stations, NET, nested=True)
    present = np.unique(labels.values[labels.values > 0])
    assert {2, 4} <= set(present.tolist()) and len({1, 3} & set(present.tolist())) == 1  # one cell, two names
    np.testing.assert_array_equal(labels.attrs["flag_values"], present)
    words = labels.attrs["flag_meanings"].split()
    assert len(words) == present.size and len(set(words)) == len(words)
    assert all(CF_WORD.match(w) for w in words)
    meaning = dict(zip(present.tolist(), words, strict=True))
    assert meaning[2] == "K_ln_gauge" and meaning[4] == "flag_4"
    assert (
        meaning.get(1, "Rhine_at_Lobith") == "Rhine_at_Lobith" and meaning.get(3, "same_cell") == "same_cell"
    )
    # round trip through netCDF keeps labels, missing cells and flags
    labels.to_netcdf(tmp_path / "labels.nc")
    with xr.open_dataset(tmp_path / "labels.nc", mask_and_scale=False) as raw:
        np.testing.assert_array_equal(raw["catchment"].values, labels.values)
        assert raw["catchment"].attrs["_FillValue"] == 0
    with xr.open_dataarray(tmp_path / "labels.nc") as back:
        np.testing.assert_array_equal(back.attrs["flag_values"], present)
        assert back.attrs["flag_meanings"] == labels.attrs["flag_meanings"]
        np.testing.assert_array_equal(np.nan_to_num(back.values), labels.values)
        cf = back.cf if hasattr(back, "cf") else None
        if cf is not None:  # cf-xarray reads the flags back as a flag variable
            assert cf.is_flag_variable
