"""The registry of reductions: every layer reads it, and a new declaration runs end to end."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests import reference as ref
from xhydro_accessor import reductions
from xhydro_accessor.cli import build_parser
from xhydro_accessor.hydrology.catchments import STATISTICS, catchment_statistics
from xhydro_accessor.operations import HOWS
from xhydro_accessor.units import result_units

NET = xa.RiverNetwork.from_ldd(ref.encode(*ref.random_grid_network(np.random.default_rng(2), 5, 6), "ldd"))


def test_every_layer_lists_the_declared_reductions():
    assert HOWS == reductions.names("accumulate")
    assert reductions.names("move_downstream") == ("sum", "mean", "min", "max", "std", "var")
    assert STATISTICS == reductions.names("catchment_statistics")
    assert {"skew", "median", "percentile", "mode"} == set(HOWS) - set(reductions.names("move_downstream"))
    assert how_choices() == HOWS


def how_choices():
    """The CLI's ``accumulate --how`` choices."""
    actions = build_parser()._subparsers._group_actions[0].choices["accumulate"]._actions
    return tuple(next(a for a in actions if a.dest == "how").choices)


@pytest.fixture
def peak(monkeypatch):
    """A toy reduction declared through the registry only: the maximum, named 'peak',
    with the units of the field (not times the weights)."""
    toy = dataclasses.replace(reductions.REDUCTIONS["max"], name="peak", units="same")
    monkeypatch.setitem(reductions.REDUCTIONS, "peak", toy)
    return toy


def test_a_declared_reduction_runs_end_to_end(peak):
    rng = np.random.default_rng(0)
    field = rng.normal(size=(3, *NET.shape))
    for op in ("accumulate", "accumulate_downstream", "move_downstream"):
        got = getattr(xa, op)(NET, field, how="peak")
        np.testing.assert_array_equal(got, getattr(xa, op)(NET, field, how="max"))
        np.testing.assert_array_equal(getattr(xa, op)(NET, field, how="peak", engine="xp"), got)
    gauges = [tuple(int(v) for v in divmod(i, NET.shape[1])) for i in np.flatnonzero(NET.mask)[:3]]
    np.testing.assert_array_equal(
        catchment_statistics(NET, field, gauges, "peak"), catchment_statistics(NET, field, gauges, "max")
    )
    da = xr.DataArray(field, dims=("member", "y", "x"), attrs={"units": "m"}).hydro.assign_network(NET)
    out = da.hydro.accumulate(how="peak", weights=xr.DataArray(np.ones(NET.shape), dims=("y", "x"),
                                                               attrs={"units": "m2"}))  # fmt: skip
    np.testing.assert_array_equal(out.values, xa.accumulate(NET, field, how="max"))
    assert out.attrs["units"] == "m"  # the declared units rule, not max's "m3"
    assert result_units("accumulate", "peak", "m", "m2") == "m"
    assert "peak" in how_choices()
    with pytest.raises(ValueError, match="how must be one of"):
        xa.move_downstream(NET, field, how="median")  # not declared for one-step moves
