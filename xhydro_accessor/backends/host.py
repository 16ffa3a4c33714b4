"""The numba engine on another library's host-memory arrays (TensorFlow and MLX on the CPU).

A :class:`Host` has the engine interface :mod:`.generic` and :mod:`.numba_engine`
share (``compute``, ``compute_with_sources``, ``send``, ``transpose``) on a library's
arrays: their numpy values in (zero-copy views), the numba engine's numpy results
converted back to the library's arrays (or, given an allocator, written straight into
the library's memory: :func:`.numba_engine.allocating`). The TensorFlow and MLX backends
use it for eager CPU arrays, and their own gradient wrappers around it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import numba_engine


class Host:
    """The numba engine on arrays read by ``numpy(x)`` (an ndarray view of ``x``) and made by
    ``wrap(result, like)`` (``result`` as an array of ``like``'s library), the engine's
    arrays allocated by ``allocate`` (see :func:`.numba_engine.allocating`; None: numpy).

    Examples
    --------
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> host = Host(np.asarray, lambda result, like: result.tolist())  # lists as the "library"
    >>> host.compute(net, "accumulate", [[1.0, 1.0, 1.0, 1.0]], "sum", None, False)
    [[1.0, 2.0, 3.0, 1.0]]
    """

    def __init__(
        self,
        numpy: Callable[[Any], np.ndarray],
        wrap: Callable[[np.ndarray, Any], Any],
        allocate: Callable[[tuple[int, ...], np.dtype], np.ndarray | None] | None = None,
    ) -> None:
        self._numpy, self._wrap, self._allocate = numpy, wrap, allocate

    def numpy(self, x: Any) -> Any:
        """``x``'s values as a numpy array (None stays None)."""
        return None if x is None else self._numpy(x)

    def compute(self, network, op, x, how, w, skipna):
        with numba_engine.allocating(self._allocate):
            y = numba_engine.compute(network, op, self.numpy(x), how, self.numpy(w), skipna)
        return self._wrap(y, x)

    def compute_with_sources(self, network, op, x, how, w, skipna):
        with numba_engine.allocating(self._allocate):
            y, sources = numba_engine.compute_with_sources(
                network, op, self.numpy(x), how, self.numpy(w), skipna
            )
        return self._wrap(y, x), sources

    def send(self, network, sources, g):
        with numba_engine.allocating(self._allocate):
            return self._wrap(numba_engine.send(network, sources, self.numpy(g)), g)

    def transpose(self, network, op, g, scale=None):
        with numba_engine.allocating(self._allocate):
            return self._wrap(numba_engine.transpose(network, op, self.numpy(g), self.numpy(scale)), g)
