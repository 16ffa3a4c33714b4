"""The catalogue operations as ``.hydro`` methods equal their xarray-layer functions."""

import numpy as np
import xarray as xr

import xhydro_accessor as xa
from xhydro_accessor.accessor import CATALOGUE
from xhydro_accessor.hydrology import xarray_layer


def test_every_catalogue_operation_is_a_method():
    for name in CATALOGUE:
        assert callable(getattr(xr.DataArray([0]).hydro, name))


def test_methods_use_the_attached_network():
    net = xa.RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4], [9, 8, 7]]))
    da = xr.DataArray(np.arange(9.0).reshape(3, 3), dims=("y", "x")).hydro.assign_network(net)
    gauges = {"centre": (1, 1)}
    xr.testing.assert_identical(da.hydro.catchments(gauges), xarray_layer.catchments(da, gauges, net))
    xr.testing.assert_identical(da.hydro.strahler(), xarray_layer.strahler(da, net))
    stats = da.hydro.catchment_statistics(gauges, "sum")
    assert stats.sel(station="centre").item() == xa.accumulate(net, da.values)[1, 1]
