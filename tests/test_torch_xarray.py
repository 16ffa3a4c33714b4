"""Torch tensors inside DataArrays: xarray keeps the wrapper, autograd reaches the leaf."""

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa

torch = pytest.importorskip("torch")
from xhydro_accessor.torch import TorchArray, unwrap, wrap  # noqa: E402

NET = xa.RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))


def field(requires_grad=True):
    leaf = torch.rand(4, 2, 3, dtype=torch.float64, requires_grad=requires_grad)
    da = xr.DataArray(wrap(leaf), dims=("time", "y", "x"), coords={"time": np.arange(4)})
    return leaf, da


@pytest.mark.parametrize(
    "operation",
    [
        lambda da: da.isel(time=slice(0, 2)),
        lambda da: da.sel(time=1),
        lambda da: (da * 2 + 1) / da - da**2,
        lambda da: da.where(da > 0.5, 0.0),
        lambda da: xr.concat([da, da], dim="time"),
        lambda da: da.transpose("x", "time", "y"),
        lambda da: da.mean("time") + da.sum("time") + da.max("time"),
        lambda da: abs(-da).astype("float32"),
    ],
    ids=["isel", "sel", "arithmetic", "where", "concat", "transpose", "reductions", "unary"],
)
def test_xarray_keeps_the_tensor(operation):
    leaf, da = field()
    out = operation(da)
    assert isinstance(out.data, TorchArray)
    unwrap(out).sum().backward()
    assert leaf.grad is not None


def test_repr_dtype_and_values():
    _, da = field(requires_grad=False)
    assert "TorchArray" in repr(da) and da.dtype == np.float64
    np.testing.assert_array_equal(da.values, unwrap(da).numpy())
    assert wrap(unwrap(da)) is not None and unwrap(unwrap(da)) is unwrap(da)


def test_array_level_returns_the_wrapper():
    leaf, da = field()
    out = xa.accumulate(NET, da.data)
    assert isinstance(out, TorchArray)
    unwrap(out).sum().backward()
    assert leaf.grad[0].tolist() == [[2.0, 2.0, 2.0], [2.0, 1.0, 2.0]]  # cells on each path


@pytest.mark.parametrize("how", ["sum", "mean", "max"])
def test_accessor_carries_autograd_to_the_leaf(how):
    leaf, da = field()
    da = da.assign_attrs(units="mm").hydro.assign_network(NET)
    out = da.isel(time=slice(1, 3)).hydro.accumulate(how=how)
    assert isinstance(out.data, TorchArray) and out.dims == ("time", "y", "x")
    assert out.attrs["units"] == "mm"
    expected = xa.accumulate(NET, leaf.detach().numpy()[1:3], how=how)
    np.testing.assert_allclose(unwrap(out).detach().numpy(), expected)
    down = out.hydro.accumulate_downstream()  # the network travels with the result
    unwrap(down).sum().backward()
    assert leaf.grad[1:3].abs().sum() > 0 and leaf.grad[0].abs().sum() == 0


def test_accessor_weights_as_a_tensor():
    leaf, da = field(requires_grad=False)
    coefficient = torch.full((2, 3), 0.5, dtype=torch.float64, requires_grad=True)
    weights = xr.DataArray(wrap(coefficient), dims=("y", "x"))
    out = da.hydro.assign_network(NET).hydro.accumulate(weights=weights)
    unwrap(out).sum().backward()
    assert isinstance(out.data, TorchArray) and coefficient.grad is not None
