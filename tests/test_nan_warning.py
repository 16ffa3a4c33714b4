"""NaN awareness: an accumulation over NaN on network cells warns once, with the counts."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.reference as ref
import xhydro_accessor as xa
from xhydro_accessor import NaNPropagationWarning, RiverNetwork

#: every cell drains into the pit (1, 1); (0, 2) is off the network in MISSING_NET
NET = RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
MISSING_NET = RiverNetwork.from_ldd(np.array([[3, 2, 255], [6, 5, 4]]))


def nan_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, NaNPropagationWarning)]


def counts(message: str) -> tuple[int, int]:
    n_in, n_out = re.findall(r"(\d+) network cell", message)
    return int(n_in), int(n_out)


def test_accumulate_warns_once_with_counts():
    field = np.ones((2, 3))
    field[0, 0] = np.nan  # reaches (0, 0) and the pit (1, 1)
    with pytest.warns(NaNPropagationWarning, match="skipna=True") as record:
        out = xa.accumulate(NET, field)
    assert np.isnan(out).sum() == 2
    (message,) = nan_warnings(record)
    assert counts(message) == (1, 2)
    assert "warn_nan=False" in message


def test_downstream_accumulation_and_batches_warn_once():
    field = np.ones((2, 3))
    field[1, 1] = np.nan  # the pit: on every cell's path down
    with pytest.warns(NaNPropagationWarning) as record:
        xa.accumulate_downstream(NET, field)
    assert [counts(m) for m in nan_warnings(record)] == [(1, 6)]
    batch = np.stack([field, np.ones((2, 3)), field])
    with pytest.warns(NaNPropagationWarning) as record:
        xa.accumulate(NET, batch, how="max")
    (message,) = nan_warnings(record)
    assert re.findall(r"(\d+) network cell values", message) == ["2", "2"]


def test_weights_count_and_what_does_not_warn():
    field = np.ones((2, 3))
    weights = np.ones((2, 3))
    weights[0, 1] = np.nan
    with pytest.warns(NaNPropagationWarning) as record:
        xa.accumulate(NET, field, weights=weights)
    assert [counts(m) for m in nan_warnings(record)] == [(1, 2)]
    nan_field = field.copy()
    nan_field[0, 0] = np.nan
    off = field.copy()
    off[0, 2] = np.nan  # off the network
    with warnings.catch_warnings():
        warnings.simplefilter("error", NaNPropagationWarning)
        xa.accumulate(NET, nan_field, warn_nan=False)
        xa.accumulate(NET, nan_field, skipna=True)
        xa.accumulate(MISSING_NET, off)
        xa.accumulate(NET, field, how="mean", weights=np.zeros((2, 3)))  # 0/0: not from input NaN
        xa.accumulate(NET, np.arange(6).reshape(2, 3))  # integers hold no NaN
        xa.move_downstream(NET, nan_field)  # only the accumulations check


def test_xarray_layer_warns_and_dask_stays_quiet_and_lazy():
    da = xr.DataArray(np.ones((2, 3)), dims=("y", "x")).hydro.assign_network(NET)
    da[0, 0] = np.nan
    with pytest.warns(NaNPropagationWarning) as record:
        da.hydro.accumulate()
    assert len(nan_warnings(record)) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", NaNPropagationWarning)
        da.hydro.accumulate(warn_nan=False)
        da.hydro.accumulate_downstream(warn_nan=False)
        lazy = da.expand_dims(time=2).chunk(time=1).hydro.accumulate()
        assert lazy.chunks is not None
        assert int(np.isnan(lazy.compute()).sum()) == 4  # computed: NaN propagated, no warning


def test_torch_is_not_checked():
    torch = pytest.importorskip("torch")
    field = torch.ones((2, 3), dtype=torch.float64)
    field[0, 0] = float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NaNPropagationWarning)
        out = xa.accumulate(NET, field)
    assert int(torch.isnan(out).sum()) == 2


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ny=st.integers(1, 6), nx=st.integers(1, 6))
def test_counts_match_brute_force(seed, ny, nx):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    net = RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    down = ref.down_of_steps(steps, missing)
    field = np.where(rng.random((ny, nx)) < 0.15, np.nan, 1.0)
    nan_cells = {i for i in np.flatnonzero(np.isnan(field.reshape(-1))) if down[i] != -2}
    reached = {i for i, ups in ref.upstream_sets(down).items() if nan_cells & set(ups)}
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        xa.accumulate(net, field)
    messages = nan_warnings(record)
    if nan_cells:
        assert [counts(m) for m in messages] == [(len(nan_cells), len(reached))]
    else:
        assert messages == []
