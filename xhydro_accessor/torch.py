"""Torch tensors inside xarray: a small duck array that xarray keeps as is.

xarray turns a bare ``torch.Tensor`` into numpy (or raises when it requires
grad). :func:`wrap` puts the tensor in a :class:`TorchArray`, which implements
the Array API protocol (``__array_namespace__``) on top of
``array_api_compat.torch``: xarray then keeps it through construction,
``isel``/``sel``, arithmetic, ``where``, ``concat``, ``transpose``, reductions and
``repr``, and ``da.hydro.accumulate()`` runs the differentiable torch backend,
so the result's tensor carries the autograd graph back to the user's leaf.
Its ``dtype`` is the numpy dtype of the same name (what xarray expects);
:func:`unwrap` (or ``.tensor``) gives the tensor back.

Examples
--------
Put a tensor in a DataArray, accumulate it, back-propagate::

    import torch, xarray as xr, xhydro_accessor as xa
    from xhydro_accessor.torch import wrap, unwrap

    runoff = torch.rand(3, ny, nx, requires_grad=True)
    da = xr.DataArray(wrap(runoff), dims=("time", "y", "x")).hydro.assign_network(net)
    discharge = unwrap(da.hydro.accumulate())        # a torch.Tensor
    discharge.nansum().backward()                     # runoff.grad is set
"""

from __future__ import annotations

import operator
from typing import Any

import array_api_compat.torch as xt
import numpy as np
import torch

__all__ = ["TorchArray", "unwrap", "wrap"]


def wrap(tensor: Any) -> TorchArray:
    """A tensor (or array-like) as a :class:`TorchArray` for xarray."""
    return tensor if isinstance(tensor, TorchArray) else TorchArray(torch.as_tensor(tensor))


def unwrap(obj: Any) -> Any:
    """The tensor of a :class:`TorchArray` or of a DataArray/Variable holding one."""
    data = obj.data if hasattr(obj, "dims") else obj  # DataArray, Variable
    return data.tensor if isinstance(data, TorchArray) else data


def _torch_dtype(dtype: Any) -> Any:
    if isinstance(dtype, torch.dtype) or dtype is None:
        return dtype
    dtype = np.dtype(dtype)
    return getattr(torch, "bool" if dtype.kind == "b" else dtype.name)


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    return np.dtype(str(dtype).removeprefix("torch."))


def _in(value: Any) -> Any:
    """Arguments into torch: unwrap arrays, map numpy dtypes and index arrays."""
    if isinstance(value, TorchArray):
        return value.tensor
    if isinstance(value, list | tuple):
        return type(value)(_in(v) for v in value)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return _torch_dtype(value)
    if isinstance(value, np.ndarray):
        return torch.as_tensor(value)
    return value


def _out(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return TorchArray(value)
    if isinstance(value, torch.dtype):
        return _numpy_dtype(value)
    if isinstance(value, list | tuple):
        return type(value)(_out(v) for v in value)
    return value


class _Namespace:
    """``array_api_compat.torch`` seen through :class:`TorchArray` (numpy dtypes)."""

    __name__ = "xhydro_accessor.torch.namespace"

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(xt, name)
        if isinstance(attribute, torch.dtype):
            return _numpy_dtype(attribute)
        if name in ("isdtype", "result_type", "can_cast", "finfo", "iinfo"):
            return getattr(np, name)
        if not callable(attribute):
            return attribute

        def function(*args, **kwargs):
            args, kwargs = _in(args), {k: _in(v) for k, v in kwargs.items()}
            if "dtype" in kwargs:
                kwargs["dtype"] = _torch_dtype(kwargs["dtype"])
            if name == "astype":
                args = (args[0], _torch_dtype(args[1]), *args[2:])
            return _out(attribute(*args, **kwargs))

        return function


NAMESPACE = _Namespace()


class TorchArray:
    """A ``torch.Tensor`` that xarray keeps as is (see the module docstring).

    Parameters
    ----------
    tensor : torch.Tensor
    """

    __slots__ = ("tensor",)
    __xhydro_wrapper__ = True  # lets the dispatch find the tensor without importing this module

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor

    # ------------------------------------------------------------ protocol
    def __array_namespace__(self, api_version: str | None = None) -> _Namespace:
        return NAMESPACE

    @property
    def dtype(self) -> np.dtype:
        return _numpy_dtype(self.tensor.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)

    @property
    def ndim(self) -> int:
        return self.tensor.ndim

    @property
    def size(self) -> int:
        return self.tensor.numel()

    @property
    def device(self) -> torch.device:
        return self.tensor.device

    @property
    def T(self) -> TorchArray:  # noqa: N802 - Array API name
        return TorchArray(self.tensor.T)

    def __len__(self) -> int:
        return len(self.tensor)

    def __getitem__(self, key: Any) -> TorchArray:
        return TorchArray(self.tensor[_in(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        self.tensor[_in(key)] = _in(value)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """A numpy copy (detached, on CPU): what ``.values`` and plotting see."""
        array = self.tensor.detach().cpu().numpy()
        return array if dtype is None else array.astype(dtype)

    def astype(self, dtype: Any, copy: bool = True) -> TorchArray:
        return TorchArray(self.tensor.to(_torch_dtype(dtype)))

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.tensor.requires_grad else ""
        return f"TorchArray({self.__array__()!r}, device={self.tensor.device}{grad})".replace(
            "\n", "\n" + " " * 11
        )

    def __dlpack__(self, *args, **kwargs):
        return self.tensor.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.tensor.__dlpack_device__()


def _binary(op, reflected: bool = False):
    def method(self, other):
        a, b = self.tensor, _in(other)
        return TorchArray(op(b, a) if reflected else op(a, b))

    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor", "matmul"):
    _op = getattr(operator, _name + ("_" if _name in ("and", "or") else ""))
    setattr(TorchArray, f"__{_name}__", _binary(_op))
    setattr(TorchArray, f"__r{_name}__", _binary(_op, reflected=True))
for _name in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(TorchArray, f"__{_name}__", _binary(getattr(operator, _name)))


def _unary(op):
    return lambda self: TorchArray(op(self.tensor))


for _name in ("neg", "pos", "abs", "invert"):
    setattr(TorchArray, f"__{_name}__", _unary(getattr(operator, _name)))
TorchArray.__hash__ = None  # type: ignore[assignment]
