"""The GPU code paths on the CPU: ``engine="xp"`` — the level-synchronous kernels cupy and
torch CUDA run — on the CPU arrays of every library, against ``engine="numba"`` on numpy,
so every line a GPU runs is exercised on every CI run (issue 16 item 3).

Covered elsewhere and not repeated here: every operation × ``how`` × dtype × weights ×
skipna of the ``xp`` engine on small random networks for numpy, torch, jax and MLX
(the ``numpy-xp``, ``torch-xp``, ``jax`` and ``mlx`` entries of the ``backend`` fixture
of tests/conftest.py, run by tests/test_backends.py and tests/test_catalogue_backends.py),
numpy's catchment statistics in both engines (tests/test_engines.py). Here, for each
library of :data:`LIBRARIES`:

- forward on a real network (Madeira, 18,503 cells, 192 levels; jax: see
  :attr:`Library.slow`): every operation ×
  ``how``, weights, skipna, and catchment statistics × every statistic;
- gradients (sum, mean, min, max, var; weights of the grid's and of the field's shape;
  skipna) in the ``xp`` engine against the numba engine's (torch CPU with
  ``engine="numba"``, itself gradchecked in tests/test_backends.py), on small random
  networks, and sum, mean, max on the real network.

The GPU entries (``gpu``-marked) run the same tests on a machine with a CUDA device.
"""

from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import pytest

import xhydro_accessor as xa
from tests import backends
from tests import reference as ref
from tests.conftest import GRAD_HOWS, HOWS, STATISTICS
from tests.real_data import BY_NAME, load
from xhydro_accessor.hydrology.catchments import catchment_statistics

OPS = ["accumulate", "accumulate_downstream", "move_downstream", "move_upstream"]


# --------------------------------------------------------------- the libraries
def _torch_grad(to, f, x, w, r):
    import torch

    x = to(x).requires_grad_()
    w = None if w is None else to(w).requires_grad_()
    y = f(x, w)
    (torch.where(torch.isnan(y), 0, y) * to(r)).sum().backward()
    return tuple(None if a is None else a.grad.detach().cpu().numpy() for a in (x, w))


def _jax_grad(to, f, x, w, r):
    import jax
    import jax.numpy as jnp

    def loss(x, w):
        y = f(x, w)
        return jnp.sum(jnp.where(jnp.isnan(y), 0, y) * to(r))

    grads = jax.jit(jax.grad(loss, argnums=(0,) if w is None else (0, 1)))(
        to(x), None if w is None else to(w)
    )
    return tuple(np.asarray(g) for g in grads) + ((None,) if w is None else ())


def _mlx_grad(to, f, x, w, r):
    import mlx.core as mx

    def loss(x, *w):
        y = f(x, w[0] if w else None)
        return mx.sum(mx.where(mx.isnan(y), 0, y) * to(r))

    if w is None:
        return np.asarray(mx.grad(loss)(to(x))), None
    return tuple(np.asarray(g) for g in mx.grad(loss, argnums=(0, 1))(to(x), to(w)))


def _tensorflow_grad(to, f, x, w, r):
    import tensorflow as tf

    x = tf.Variable(to(x))
    w = None if w is None else tf.Variable(to(w))
    with tf.GradientTape() as tape:
        y = f(x, w)
        loss = tf.reduce_sum(tf.where(tf.math.is_nan(y), tf.zeros_like(y), y) * to(r))
    grads = tape.gradient(loss, [x] if w is None else [x, w])
    return tuple(g.numpy() for g in grads) + ((None,) if w is None else ())


def _jax_jit(f):
    import jax

    return jax.jit(f)


class Library(NamedTuple):
    """A library whose arrays run ``engine="xp"``: ``make`` gives ``(to, back)``
    (tests/backends.py: skips when the library or device is missing); ``grad(to, f, x, w, r)``
    gives the numpy gradients of ``Σ r · f(x, w)`` (NaN outputs count 0) w.r.t. the numpy
    inputs ``x`` and ``w`` (None: None), or None for a library without autodiff. ``jit``
    wraps the forward (jax: ``jax.jit``, much faster than eager jax, whose every op is
    compiled for every level's shapes). ``slow``: compiling the unrolled levels takes
    seconds, so the real network is the smallest one (Lat/lon use case, 434 cells, 37
    levels) and fewer weights/skipna combinations run (every one runs on small networks
    in tests/test_backends.py)."""

    name: str
    make: Callable[[], tuple[Any, Any]]
    grad: Callable | None
    gpu: bool = False
    slow: bool = False
    jit: Callable = lambda f: f


#: Every library the xp engine runs on (TensorFlow eagerly: the level loop in Python, so
#: ``slow``).
LIBRARIES = [
    Library("numpy", backends.numpy, None),
    Library("torch", backends.torch, _torch_grad),
    Library("jax", backends.jax, _jax_grad, slow=True, jit=_jax_jit),
    Library("mlx", backends.mlx, _mlx_grad),
    Library("tensorflow", backends.tensorflow, _tensorflow_grad, slow=True),
    Library("cupy", backends.cupy, None, gpu=True),
    Library("torch-cuda", backends.torch_cuda, _torch_grad, gpu=True),
]


def _params(libraries):
    return [pytest.param(lib, id=lib.name, marks=pytest.mark.gpu if lib.gpu else ()) for lib in libraries]


@pytest.fixture(params=_params(LIBRARIES))
def library(request):
    return request.param


@pytest.fixture(params=_params([lib for lib in LIBRARIES if lib.grad is not None]))
def differentiable(request):
    return request.param


# ----------------------------------------------------------------- networks
def _small_network(seed):
    steps, missing = ref.random_grid_network(np.random.default_rng(seed), 5, 6)
    return xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))


SMALL = [_small_network(seed) for seed in (3, 11)]


@cache
def _real_network(slow):
    name = "lisflood_latlon" if slow else "lisflood_madeira"
    return xa.RiverNetwork.from_ldd(load(name), nodata=BY_NAME[name].nodata)


def call(op, net, field, how="sum", weights=None, skipna=False, engine="xp"):
    if op == "move_upstream":
        return xa.move_upstream(net, field, engine=engine)
    quiet = {} if op == "move_downstream" else {"warn_nan": False}
    return getattr(xa, op)(net, field, how=how, weights=weights, skipna=skipna, engine=engine, **quiet)


def check(actual, expected, rtol=1e-9):
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


# ------------------------------------------------------------------ forward
def test_forward_on_a_real_network(library):
    """Every operation × how, weights (none, grid), skipna, float64 with NaN and int32."""
    to, back = library.make()
    net = _real_network(library.slow)
    rng = np.random.default_rng(3)
    field = rng.gamma(2.0, 3.0, size=(2, *net.shape))
    field[rng.random(field.shape) < 0.01] = np.nan
    ints = rng.integers(0, 50, size=(2, *net.shape)).astype(np.int32)
    weights = rng.random(net.shape) + 0.5
    cases = [(field, None, False), (field, weights, True), (ints, weights, False)]
    for op in OPS:
        for how in ["sum"] if op == "move_upstream" else HOWS:
            for x, w, skipna in cases[1:2] if library.slow else cases:
                w = None if op == "move_upstream" else w
                want = call(op, net, x, how, w, skipna, engine="numba")
                run = library.jit(
                    lambda x, w, op=op, how=how, skipna=skipna: call(op, net, x, how, w, skipna)
                )
                check(back(run(to(x), None if w is None else to(w))), want)


def test_catchment_statistics_on_a_real_network(library):
    to, back = library.make()
    net = _real_network(library.slow)
    rng = np.random.default_rng(4)
    gauges = rng.choice(np.flatnonzero(net.mask), 8, replace=False)
    field = rng.gamma(2.0, 3.0, size=(2, *net.shape))
    weights = rng.random(net.shape) + 0.5
    for how in STATISTICS:
        q = [25, 80] if how == "percentile" else None
        for w, nested in [(weights, True)] if library.slow else [(None, False), (weights, True)]:
            options = {"q": q, "nested": nested}
            want = catchment_statistics(net, field, gauges, how, weights=w, **options, engine="numba")
            w = None if w is None else to(w)
            got = catchment_statistics(net, to(field), gauges, how, weights=w, **options, engine="xp")
            check(back(got), want)


# ---------------------------------------------------------------- gradients
def _numba_gradients(op, net, how, x, w, skipna, r):
    """The numba engine's gradients: torch CPU with engine="numba"."""
    to, _ = backends.torch()
    return _torch_grad(to, lambda x, w: call(op, net, x, how, w, skipna, engine="numba"), x, w, r)


def _check_gradients(library, net, op, how, weights_shape, skipna, seed):
    to, _ = library.make()
    rng = np.random.default_rng(seed)
    shape = (2, *net.shape)
    x = rng.permutation(np.prod(shape)).reshape(shape) + rng.random(shape)  # no ties: min/max defined
    if skipna:
        x[rng.random(shape) < 0.05] = np.nan
    w = None if weights_shape is None else rng.random(weights_shape) + 0.5
    r = rng.normal(size=shape)
    got = library.grad(to, lambda x, w: call(op, net, x, how, w, skipna), x, w, r)
    want = _numba_gradients(op, net, how, x, w, skipna, r)
    for name, a, b in zip(("field", "weights"), got, want, strict=True):
        if b is not None:
            scale = max(1.0, np.abs(b).max())
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * scale, err_msg=f"{op} {how} {name}")


@pytest.mark.parametrize("op", OPS)
def test_gradients_on_small_networks(differentiable, op):
    slow = differentiable.slow
    for i, net in enumerate(SMALL[:1] if slow else SMALL):
        for how in ["sum"] if op == "move_upstream" else GRAD_HOWS:
            shapes = [None] if op == "move_upstream" else [None, net.shape, (2, *net.shape)]
            for weights_shape in shapes[-1:] if slow else shapes:
                for skipna in (
                    [False, True] if how in (("max",) if slow else ("mean", "min", "max")) else [False]
                ):
                    _check_gradients(differentiable, net, op, how, weights_shape, skipna, seed=i)


@pytest.mark.parametrize("op", OPS)
def test_gradients_on_a_real_network(differentiable, op):
    net = _real_network(differentiable.slow)
    """sum, mean, max (var, traced through the kernels: on the small networks)."""
    for how in (
        ["sum"]
        if op == "move_upstream"
        else ["sum", "max"]
        if differentiable.slow
        else ["sum", "mean", "max"]
    ):
        weights_shape = None if op == "move_upstream" else net.shape
        _check_gradients(differentiable, net, op, how, weights_shape, how in ("mean", "max"), seed=5)


# ------------------------------------------------------- inside a DataArray (issue 16 item 4)
def _inside(name):
    """``(to, back)`` of the data a DataArray can hold for library ``name``."""
    if name == "torch":  # xarray turns a bare tensor into numpy: the wrapper keeps it
        pytest.importorskip("torch")
        from xhydro_accessor.torch import unwrap, wrap

        to, back = backends.torch()
        return (lambda a: wrap(to(a))), (lambda out: back(unwrap(out)))
    return getattr(backends, name)()


@pytest.mark.parametrize("name", ["numpy", "dask", "torch", "jax"])
def test_libraries_that_live_inside_a_dataarray(name):
    """xarray keeps their arrays, ``.hydro`` gives the same library back, equal to numpy's."""
    import xarray as xr

    to, back = _inside(name)
    net = SMALL[0]
    field = np.random.default_rng(9).random((3, *net.shape))
    da = xr.DataArray(to(field), dims=("time", "y", "x")).hydro.assign_network(net)
    for how in ("sum", "max", "var"):
        out = da.hydro.accumulate(how=how)
        check(back(out.data), xa.accumulate(net, field, how=how))


def test_jax_inside_a_dataarray_under_jit_and_grad():
    jax = pytest.importorskip("jax")
    import xarray as xr

    to, _ = backends.jax()
    net = SMALL[0]
    field = np.random.default_rng(10).random((2, *net.shape))

    def loss(x, lib, inside=True):
        if inside:
            y = (
                xr.DataArray(x, dims=("time", "y", "x"))
                .hydro.assign_network(net)
                .hydro.accumulate(how="mean")
            )
        y = y.data if inside else xa.accumulate(net, x, how="mean")
        return lib.sum(lib.where(lib.isnan(y), 0, y) ** 2)

    torch = pytest.importorskip("torch")
    leaf = torch.tensor(field, requires_grad=True)
    loss(leaf, torch, inside=False).backward()  # torch's gradient of the array-level loss, as reference
    g = jax.jit(jax.grad(lambda x: loss(x, jax.numpy)))(to(field))
    np.testing.assert_allclose(np.asarray(g), leaf.grad.numpy(), rtol=1e-12)
