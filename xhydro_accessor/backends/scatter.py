"""The scatter/gather registry: the few index operations the Array API lacks.

Each library gets a :class:`Scatter` with ``take`` (gather along the last axis),
``put`` (set at *unique* indices) and ``reduce`` (add/max/min at indices that may
repeat: never ``x[idx] += v``, which loses repeated updates). Arrays are
``(members, cells)``. The results are returned: numpy, cupy and torch tensors that
need no gradient are updated in place, jax and differentiable torch out of place.
Libraries not in the registry get :class:`Portable`, built on ``take`` and
``where`` only (slow, but proof that the kernels need nothing else).
"""

from __future__ import annotations

from typing import Any

import array_api_compat as compat
import numpy as np
from array_api_compat import (
    is_cupy_array,
    is_jax_array,
    is_numpy_array,
    is_torch_array,
)

_COMBINE = {"add": "add", "max": "maximum", "min": "minimum"}

#: ``(namespace, Scatter class)`` of the libraries array_api_compat lacks, by the top module
#: name of their arrays' type; each registers itself when imported (:mod:`.tensorflow`,
#: :mod:`.mlx`: imported by the dispatcher when it first sees one of their arrays)
ADAPTERS: dict[str, tuple[Any, type]] = {}


def _adapter(x: Any) -> tuple[Any, type] | None:
    return ADAPTERS.get(type(x).__module__.partition(".")[0])


def is_mlx_array(x: Any) -> bool:
    """Whether ``x`` is an ``mlx.core.array`` (told by its type: mlx is not imported)."""
    return type(x).__module__ == "mlx.core" and type(x).__name__ == "array"


def array_namespace(*arrays: Any) -> Any:
    """``array_api_compat.array_namespace``, or the registered namespace of :data:`ADAPTERS`
    (TensorFlow's, MLX's: neither library is an Array API namespace)."""
    adapters = [_adapter(array) for array in arrays]  # (no ":=": tf.function's autograph reads this)
    for adapter in adapters:
        if adapter is not None:
            return adapter[0]
    return compat.array_namespace(*arrays)


def device(x: Any) -> Any:
    """``array_api_compat.device``, or the registered namespace's ``device``."""
    adapter = _adapter(x)
    return compat.device(x) if adapter is None else adapter[0].device(x)


class Scatter:
    """Index operations for ``xp`` arrays on ``dev``; subclasses use native scatters."""

    def __init__(self, xp: Any, dev: Any, size: int):
        self.xp, self.device, self.size = xp, dev, size
        self.key = (getattr(xp, "__name__", type(xp).__name__), str(dev))

    def asarray(self, array: np.ndarray) -> Any:
        """A numpy array in this library, on this device."""
        return self.xp.asarray(array, device=self.device)

    def index(self, indices: np.ndarray) -> Any:
        """Flat cell indices (numpy) in the form ``take``, ``put`` and ``reduce`` use."""
        return self.asarray(indices.astype(np.int64))

    def take(self, x: Any, index: Any) -> Any:
        return self.xp.take(x, index, axis=-1)

    def put(self, x: Any, index: Any, values: Any) -> Any:
        raise NotImplementedError

    def zero_outside(self, x: Any, keep: Any) -> Any:
        """``x`` with 0 where the cell mask ``keep`` is False (in place where allowed)."""
        return self.xp.where(keep, x, self.xp.zeros_like(x))

    def reduce(self, x: Any, index: Any, values: Any, how: str) -> Any:
        raise NotImplementedError


class Portable(Scatter):
    """Array API only: ``put`` is a ``where`` over the whole grid, repeated indices
    are split into rounds of unique ones. O(cells) per call."""

    class _Index:
        def __init__(self, ops: Portable, indices: np.ndarray, positions: np.ndarray | None = None):
            self.array = ops.asarray(indices.astype(np.int64))
            slot = np.full(ops.size, indices.size, np.int64)
            slot[indices] = np.arange(indices.size)
            self.slot = ops.asarray(slot)
            self.hit = ops.asarray(slot < indices.size)
            self.positions = None if positions is None else ops.asarray(positions)
            self.rounds = []
            if positions is None:  # split repeated indices into rounds of unique ones
                order = np.argsort(indices, kind="stable")
                sorted_ = indices[order]
                start = np.r_[0, np.flatnonzero(np.diff(sorted_)) + 1]
                rank = np.arange(indices.size) - np.repeat(start, np.diff(np.r_[start, indices.size]))
                for r in range(int(rank.max(initial=-1)) + 1):
                    at = np.sort(order[rank == r])
                    self.rounds.append(Portable._Index(ops, indices[at], at))

    def index(self, indices: np.ndarray) -> Any:
        return Portable._Index(self, indices)

    def take(self, x: Any, index: Any) -> Any:
        return self.xp.take(x, index.array, axis=-1)

    def put(self, x: Any, index: Any, values: Any) -> Any:
        xp = self.xp
        padded = xp.concat(
            [values, xp.zeros((values.shape[0], 1), dtype=values.dtype, device=self.device)], axis=-1
        )
        return xp.where(index.hit, xp.take(padded, index.slot, axis=-1), x)

    def reduce(self, x: Any, index: Any, values: Any, how: str) -> Any:
        if not isinstance(index, Portable._Index):
            raise NotImplementedError(f"{self.key[0]}: scatter at computed indices is not supported")
        combine = getattr(self.xp, _COMBINE[how])
        for part in index.rounds:
            picked = self.xp.take(values, part.positions, axis=-1)
            x = self.put(x, part, combine(self.take(x, part), picked))
        return x


class Numpy(Scatter):
    def take(self, x, index):
        return x[:, index]

    def put(self, x, index, values):
        x[:, index] = values
        return x

    def reduce(self, x, index, values, how):
        getattr(np, _COMBINE[how]).at(x, (slice(None), index), values)
        return x

    def zero_outside(self, x, keep):
        x[:, ~keep] = 0
        return x


class Cupy(Numpy):
    def reduce(self, x, index, values, how):
        import cupyx

        {"add": cupyx.scatter_add, "max": cupyx.scatter_max, "min": cupyx.scatter_min}[how](
            x, (slice(None), index), values
        )
        return x


class Torch(Scatter):
    """torch: ``index_select``, ``index_copy``, ``index_add``, ``scatter_reduce``."""

    def index(self, indices):
        import torch

        return torch.as_tensor(indices, dtype=torch.int64, device=self.device)

    def asarray(self, array):
        import torch

        return torch.tensor(array, device=self.device)  # a copy: network arrays are read-only

    @staticmethod
    def _in_place(*arrays) -> bool:
        """In place only when autograd records nothing (it may have saved ``x``)."""
        import torch

        return not torch.is_grad_enabled()

    def take(self, x, index):
        return x.index_select(-1, index)

    def zero_outside(self, x, keep):
        return x.masked_fill_(~keep, 0) if self._in_place() else x.masked_fill(~keep, 0)

    def put(self, x, index, values):
        if self._in_place(x, values):
            return x.index_copy_(-1, index, values)
        return x.index_copy(-1, index, values)

    def reduce(self, x, index, values, how):
        in_place = self._in_place(x, values)
        if how == "add":
            return x.index_add_(-1, index, values) if in_place else x.index_add(-1, index, values)
        index = index.expand(values.shape)
        reduce = "amax" if how == "max" else "amin"
        if in_place:
            return x.scatter_reduce_(-1, index, values, reduce, include_self=True)
        return x.scatter_reduce(-1, index, values, reduce, include_self=True)


class Jax(Scatter):
    """jax: ``.at[].set/add/max/min``. The network's index arrays stay numpy constants:
    created inside a trace, jax arrays would leak out of it through the cache."""

    def index(self, indices):
        return indices.astype(np.int32 if self.size < 2**31 else np.int64)

    def asarray(self, array):
        return array

    def take(self, x, index):
        return x[:, index]

    def put(self, x, index, values):
        return x.at[:, index].set(values)

    def reduce(self, x, index, values, how):
        return getattr(x.at[:, index], how)(values)


def scatter_for(x: Any, size: int) -> Scatter:
    """The :class:`Scatter` for the library and device of array ``x``, grid of ``size`` cells."""
    adapter = _adapter(x)
    if adapter is not None:
        return adapter[1](adapter[0], adapter[0].device(x), size)
    xp = array_namespace(x)
    dev = None if is_jax_array(x) else device(x)  # jax: numpy constants, no device
    for is_type, cls in (
        (is_numpy_array, Numpy),
        (is_torch_array, Torch),
        (is_jax_array, Jax),
        (is_cupy_array, Cupy),
    ):
        if is_type(x):
            return cls(xp, dev, size)
    return Portable(xp, dev, size)
