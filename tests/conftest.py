"""Shared test parametrisations: the reductions come from the registry, one backend fixture."""

from typing import Any, NamedTuple

import pytest

from tests import backends
from xhydro_accessor import reductions

#: every ``how`` of the flow operations (accumulate, accumulate_downstream, move_downstream);
#: the order statistics (median, percentile, mode: not on move_downstream, no gradient, no
#: xp engine) are tested in tests/test_order_statistics.py
HOWS = list(reductions.names("move_downstream"))
#: every ``how`` of catchment_statistics
STATISTICS = list(reductions.names("catchment_statistics"))
#: the differentiable ``how`` of the flow operations, gradient-checked (not std: the root of a
#: zero variance has no gradient)
GRAD_HOWS = [
    n for n in HOWS if reductions.REDUCTIONS[n].differentiable and not reductions.REDUCTIONS[n].finalize
]


class Backend(NamedTuple):
    """An array library and engine under test: ``to`` numpy → its arrays, ``back`` its
    result → numpy (type and device checked), ``engine`` to pass to the operations."""

    name: str
    to: Any
    back: Any
    engine: str


#: maker of (to, back) per backend; the "-xp" ones run the level-synchronous engine
#: (``engine="xp"``) on arrays the numba engine would take
BACKENDS = {
    "numpy": backends.numpy,
    "numpy-xp": backends.numpy,
    "torch": backends.torch,
    "torch-xp": backends.torch,
    "jax": backends.jax,
    "dask": backends.dask,
    "array_api_strict": backends.array_api_strict,
    "cupy": backends.cupy,
    "mlx": backends.mlx,
    "mlx-xp": backends.mlx,
    "torch-cuda": backends.torch_cuda,
    "dask-cupy": backends.dask_cupy,
    "tensorflow": backends.tensorflow,
}


@pytest.fixture(params=backends.params(BACKENDS))
def backend(request) -> Backend:
    to, back = BACKENDS[request.param]()
    return Backend(request.param, to, back, "xp" if request.param.endswith("-xp") else "auto")
