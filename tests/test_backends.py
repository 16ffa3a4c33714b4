"""Every array backend against the numpy path: values, type, device, dtype, gradients."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import xhydro_accessor as xa
from tests import reference as ref
from tests.conftest import GRAD_HOWS, HOWS
from xhydro_accessor.backends import dispatch, library_of
from xhydro_accessor.backends.dask import SpatialChunksWarning

OPS = ["accumulate", "accumulate_downstream", "move_downstream", "move_upstream"]


def grid_network(seed=3, ny=5, nx=6):
    steps, missing = ref.random_grid_network(np.random.default_rng(seed), ny, nx)
    return xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))


NETWORKS = {
    "grid": grid_network(),
    "vector": xa.RiverNetwork.from_downstream(ref.random_tree_down(np.random.default_rng(4), 17)),
}


def call(op, net, field, how="sum", weights=None, skipna=False, engine="auto"):
    if op == "move_upstream":
        return xa.move_upstream(net, field, engine=engine)
    return getattr(xa, op)(net, field, how=how, weights=weights, skipna=skipna, engine=engine)


def cases(net, rng, quick=False):
    """(field, weights, how, skipna) over dtypes, NaNs, weights (none, grid, field-shaped)."""
    shape = (2, *net.shape)
    for dtype in ["float64", "int32"] if quick else ["float64", "float32", "int32", "uint8", "bool"]:
        if dtype[0] == "f":
            field = rng.normal(size=shape).astype(dtype)
            field[rng.random(shape) < 0.15] = np.nan
        else:
            field = rng.integers(0, 40, size=shape).astype(dtype)
        all_weights = [None, rng.random(net.shape) + 0.5, rng.random(shape).astype("float32")]
        for weights in all_weights[:2] if quick else all_weights:
            for how in HOWS:
                for skipna in [False, True]:
                    if dtype == "uint8" and how == "sum" and weights is None:
                        continue  # uint64 sums: checked on their own (torch cannot add them)
                    yield field, weights, how, skipna


# ------------------------------------------------------------------ backends
def check(actual, expected):
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    rtol = 1e-4 if expected.dtype == np.float32 else 1e-9
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("kind", list(NETWORKS))
@pytest.mark.parametrize("op", OPS)
def test_backend_matches_numpy(backend, op, kind):
    to, back, engine = backend.to, backend.back, backend.engine
    quick = backend.name in ("jax", "array_api_strict")  # slow eager ops
    if quick and kind == "vector":
        pytest.skip("slow eager backend: the grid network covers it")
    net = NETWORKS[kind]
    rng = np.random.default_rng(7)
    for field, weights, how, skipna in cases(net, rng, quick):
        if op == "move_upstream" and (weights is not None or how != "sum" or skipna):
            continue
        expected = dispatch(net, op, field, how, weights, skipna, engine="numba")
        before = field.copy()
        actual = call(op, net, to(field), how, None if weights is None else to(weights), skipna, engine)
        check(back(actual), expected)
        np.testing.assert_array_equal(field, before)  # inputs untouched


def test_numpy_weights_follow_the_field():
    torch = pytest.importorskip("torch")
    net = NETWORKS["grid"]
    field, weights = np.ones(net.shape), torch.ones(net.shape, requires_grad=True)
    out = xa.accumulate(net, field, weights=weights)
    assert isinstance(out, torch.Tensor) and out.requires_grad
    check(out.detach().numpy(), xa.accumulate(net, field))


def test_unsupported_inputs_raise():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    net = NETWORKS["grid"]
    with pytest.raises(TypeError, match="different libraries"):
        xa.accumulate(net, torch.ones(net.shape), weights=jnp.ones(net.shape))
    with pytest.raises(NotImplementedError, match="do not support"):
        xa.accumulate(net, object())
    with pytest.raises(NotImplementedError, match="torch backend.*unsigned"):
        xa.accumulate(net, torch.ones(net.shape, dtype=torch.uint8), engine="xp")
    assert xa.accumulate(net, torch.ones(net.shape, dtype=torch.uint8)).dtype == torch.uint64


def test_library_of_does_not_import():
    code = (
        "import numpy as np, xhydro_accessor as xa, sys\n"
        "from xhydro_accessor.backends import library_of\n"
        "net = xa.RiverNetwork.from_ldd(np.array([[6, 5]]))\n"
        "xa.accumulate(net, np.ones((1, 2)))\n"
        "assert library_of(np.ones(2)) == 'numpy'\n"
        "bad = {'torch', 'jax', 'cupy', 'mlx', 'array_api_strict'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dask_stays_lazy():
    import dask
    import dask.array as da

    net = NETWORKS["grid"]
    field = da.ones((4, *net.shape), chunks=(1, 2, 3))
    with (
        dask.config.set(scheduler=lambda *a, **k: pytest.fail("computed")),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error", SpatialChunksWarning)  # issue 18: spatial chunks run as tiles
        out = xa.accumulate(net, field, how="mean", weights=np.ones(net.shape))
    assert out.chunks == field.chunks and out.dtype == np.float64
    check(out.compute(), xa.accumulate(net, np.ones((4, *net.shape)), how="mean"))
    assert library_of(out) == "dask"


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("engine", ["numba", "xp"])
@pytest.mark.parametrize("op", OPS)
def test_torch_gradcheck(op, engine):
    torch = pytest.importorskip("torch")
    net = NETWORKS["grid"]
    rng = np.random.default_rng(11)
    shape = (2, *net.shape)
    every = engine == "numba"  # the xp (CUDA) path: fewer cases, same code
    for how in ["sum"] if op == "move_upstream" else GRAD_HOWS:
        for weights_shape in (
            [None] if op == "move_upstream" else [None, net.shape, shape][:: 1 if every else 2]
        ):
            for skipna in [False, True] if every and how in ("mean", "max") else [how == "mean"]:
                # distinct values: min/max are differentiable (no ties)
                x = torch.tensor(rng.permutation(np.prod(shape)).reshape(shape) + rng.random(shape))
                if skipna:
                    x[0, 0, 0] = float("nan")
                x.requires_grad_()
                w = None
                if weights_shape is not None:
                    w = torch.tensor(rng.random(weights_shape) + 0.5, requires_grad=True)

                def f(x, w=None, how=how, skipna=skipna):
                    y = call(op, net, x, how, w, skipna, engine)
                    return torch.where(torch.isnan(y), 0, y)

                torch.autograd.gradcheck(f, (x, w) if w is not None else (x,))


def test_torch_backward_is_a_downstream_sum():
    torch = pytest.importorskip("torch")
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    x = torch.ones((1, 4), requires_grad=True)
    xa.accumulate(net, x).sum().backward()
    assert x.grad.tolist() == [[3.0, 2.0, 1.0, 1.0]]  # cells on each one's path to the outlet


@pytest.mark.parametrize("op", OPS)
def test_jax_jit_and_grad_match_torch(op):
    jax = pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    net = NETWORKS["grid"]
    rng = np.random.default_rng(5)
    x = rng.permutation(60).reshape(2, *net.shape) + rng.random((2, *net.shape))
    w = rng.random(net.shape) + 0.5
    for how in ["sum"] if op == "move_upstream" else GRAD_HOWS:

        def loss(x, w, how=how, lib=jnp):
            y = call(op, net, x, how, None if op == "move_upstream" else w)
            return lib.sum(lib.where(lib.isnan(y), 0, y) ** 2)

        gx, gw = jax.jit(jax.grad(loss, argnums=(0, 1)))(jnp.asarray(x), jnp.asarray(w))
        xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        loss(xt, wt, lib=torch).backward()
        np.testing.assert_allclose(np.asarray(gx), xt.grad.numpy(), rtol=1e-9, atol=1e-9)
        if op != "move_upstream":
            np.testing.assert_allclose(np.asarray(gw), wt.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_level_order_is_cached_per_library():
    torch = pytest.importorskip("torch")
    net = grid_network(seed=9)
    xa.accumulate(net, np.ones(net.shape))
    assert not any(isinstance(k, tuple) for k in net._cache)  # numpy: the numba engine
    xa.accumulate(net, torch.ones(net.shape), engine="xp")
    first = [k for k in net._cache if isinstance(k, tuple)]
    xa.accumulate(net, torch.ones(net.shape), engine="xp")
    assert first == [k for k in net._cache if isinstance(k, tuple)] and first[0][1].endswith("torch")
