"""TensorFlow tensors: same type, dtype and device out; results equal the numba engine's;
gradients against finite differences and against torch; tf.function and jit_compile.

The shared ``backend`` fixture (tests/conftest.py) runs eager tensors (the numba engine)
through test_backends and test_catalogue_backends; this file covers the xp engine (what a
GPU runs), gradients and graph modes.
"""

import subprocess
import sys

import numpy as np
import pytest

import xhydro_accessor as xa
from tests import real_data
from tests.conftest import GRAD_HOWS, HOWS
from tests.test_backends import NETWORKS, OPS, call, cases, check
from xhydro_accessor.backends import dispatch

tf = pytest.importorskip("tensorflow")

NET = NETWORKS["grid"]
#: a small tree (few levels: the graph modes trace every level) for gradients and tf.function
SMALL = xa.RiverNetwork.from_ldd(np.array([[3, 2, 1, 5], [6, 6, 5, 4], [9, 8, 7, 8]]))


def numpy_result(op, net, field, how="sum", weights=None, skipna=False):
    return dispatch(net, op, field, how, weights, skipna, engine="numba")


def _zero_nan(y):
    return tf.where(tf.math.is_nan(y), tf.zeros_like(y), y)


# ------------------------------------------------------------------ forward
@pytest.mark.parametrize("op", OPS)
def test_xp_engine_matches_numba(op):
    """engine="xp" (the level-synchronous kernels a GPU runs) on eager tensors: every how,
    dtype, weights and skipna, equal to the numba engine's numpy result."""
    rng = np.random.default_rng(7)
    for field, weights, how, skipna in cases(NET, rng, quick=True):
        if op == "move_upstream" and (weights is not None or how != "sum" or skipna):
            continue
        w = None if weights is None else tf.constant(weights)
        out = call(op, NET, tf.constant(field), how, w, skipna, engine="xp")
        assert isinstance(out, tf.Tensor)
        check(out.numpy(), numpy_result(op, NET, field, how, weights, skipna))


@pytest.mark.parametrize("engine", ["auto", "xp"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 2)])
def test_batch_shapes_dtypes_variables_and_device(engine, shape):
    """Any leading batch shape, on the grid and on a vector network; a tf.Variable in,
    a tf.Tensor out on the same device; float32 stays float32, int32 sums become int64."""
    rng = np.random.default_rng(2)
    for net in NETWORKS.values():
        field = rng.normal(size=(*shape, *net.shape)).astype(np.float32)
        x = tf.Variable(field)
        for op in OPS:
            out = call(op, net, x, "mean" if op != "move_upstream" else "sum", engine=engine)
            assert isinstance(out, tf.Tensor) and out.dtype == tf.float32 and out.device == x.device
            how = "mean" if op != "move_upstream" else "sum"
            check(out.numpy(), numpy_result(op, net, field, how))
        half = xa.accumulate(net, tf.cast(x, tf.bfloat16), engine=engine)
        assert half.dtype == tf.float32  # as float16: numpy has no bfloat16
        check(half.numpy(), xa.accumulate(net, tf.cast(tf.cast(x, tf.bfloat16), tf.float32).numpy()))
        ints = rng.integers(0, 9, size=(*shape, *net.shape)).astype(np.int32)
        out = xa.accumulate(net, tf.constant(ints), engine=engine)
        assert out.dtype == tf.int64
        check(out.numpy(), xa.accumulate(net, ints))


@pytest.mark.parametrize("members", [1, 3, 12])
def test_host_results_of_every_layout(members):
    """The numba engine's results in either memory layout (members first up to 8 members,
    cells first beyond: a transposed result) and every dtype come back as tensors equal to
    numpy's; the input tensor is read without a copy and left as it was."""
    from xhydro_accessor.backends.tensorflow import HOST

    rng = np.random.default_rng(21)
    field = rng.normal(size=(members, *NET.shape))
    field[rng.random(field.shape) < 0.1] = np.nan
    for dtype in ("float32", "float64", "int32", "bool"):
        data = field.astype(dtype) if dtype[0] == "f" else (np.nan_to_num(field) > 0).astype(dtype)
        x = tf.constant(data)
        assert np.shares_memory(HOST.numpy(x), HOST.numpy(x))  # a view, not a copy
        for how in HOWS:
            for skipna in (False, True):
                got = xa.accumulate(NET, x, how=how, skipna=skipna, warn_nan=False)
                want = numpy_result("accumulate", NET, data, how, None, skipna)
                assert isinstance(got, tf.Tensor) and "CPU" in got.device
                check(got.numpy(), want)
        np.testing.assert_array_equal(x.numpy(), data)


def test_numpy_weights_follow_the_tensor():
    weights = np.random.default_rng(0).random(NET.shape)
    out = xa.accumulate(NET, tf.ones(NET.shape, tf.float64), weights=weights)
    assert isinstance(out, tf.Tensor)
    check(out.numpy(), xa.accumulate(NET, np.ones(NET.shape), weights=weights))


def test_negative_weights_of_a_mean_raise():
    with pytest.raises(ValueError, match="non-negative"):
        xa.accumulate(NET, tf.ones(NET.shape), how="mean", weights=-tf.ones(NET.shape))


@pytest.mark.parametrize("name", ["lisflood_latlon"])
def test_real_network_xp_equals_numba_for_every_how(name):
    """A real LISFLOOD network: the xp engine in TensorFlow equals numba, every
    operation and how, with NaN (skipna both ways) and weights."""
    net = xa.RiverNetwork.from_ldd(real_data.load(name), nodata=real_data.BY_NAME[name].nodata)
    rng = np.random.default_rng(3)
    field = rng.normal(size=(2, *net.shape))
    field[rng.random(field.shape) < 0.01] = np.nan
    weights = rng.random(net.shape) + 0.5
    x, w = tf.constant(field), tf.constant(weights)
    for op in OPS:
        for how in ["sum"] if op == "move_upstream" else HOWS:
            for skipna in [False] if op == "move_upstream" else [False, True]:
                ww = None if op == "move_upstream" else w
                got = call(op, net, x, how, ww, skipna, engine="xp").numpy()
                check(got, numpy_result(op, net, field, how, None if ww is None else weights, skipna))


# ---------------------------------------------------------------- gradients
def _gradients(op, net, x, w, how, skipna, engine):
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        y = call(op, net, x, how, None if op == "move_upstream" else w, skipna, engine)
        loss = tf.reduce_sum(_zero_nan(y) ** 2)
    return tape.gradient(loss, [x, w])


def _distinct(rng, shape):
    """Distinct values: min/max are differentiable (no ties)."""
    return rng.permutation(np.prod(shape)).reshape(shape) + rng.random(shape)


#: (how, weights: None/"grid"/"field", skipna) checked against finite differences
FD_CASES = [("sum", "grid", False), ("mean", "field", True), ("max", "grid", True), ("min", "field", False),
            ("var", None, False)]  # fmt: skip


@pytest.mark.parametrize("op", OPS)
def test_gradients_match_finite_differences(op):
    """tf.test.compute_gradient (central differences, float64) of the differentiable hows,
    weights of the grid's and of the field's shape, skipna with a NaN cell. (The xp engine's
    gradients equal these: test_gradients_equal_torch.)"""
    rng = np.random.default_rng(11)
    shape = (1, *SMALL.shape)
    for how, weights, skipna in [("sum", None, False)] if op == "move_upstream" else FD_CASES:
        x = _distinct(rng, shape)
        if skipna:
            x[0, 0, 1] = np.nan
        w = None if weights is None else rng.random(SMALL.shape if weights == "grid" else shape) + 0.5

        def f(x, w=None, how=how, skipna=skipna):
            return _zero_nan(call(op, SMALL, x, how, w, skipna))

        args = [tf.constant(x)] + ([] if w is None else [tf.constant(w)])
        theoretical, numerical = tf.test.compute_gradient(f, args, delta=1e-6)
        for t, n in zip(theoretical, numerical, strict=True):
            if skipna:  # the NaN cell's own column is NaN in the finite differences
                keep = ~np.isnan(n).any(axis=0)
                t, n = t[:, keep], n[:, keep]
            assert np.abs(t).max() > 0
            np.testing.assert_allclose(t, n, rtol=1e-5, atol=1e-6, err_msg=f"{how} {skipna}")


def test_max_gradient_goes_to_the_source_cell():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))  # 0 -> 1 -> 2, 3 alone
    for engine in ["auto", "xp"]:
        x = tf.Variable([[3.0, 1.0, 2.0, 0.0]], dtype=tf.float64)
        w = tf.Variable([[1.0, 1.0, 1.0, 1.0]], dtype=tf.float64)
        with tf.GradientTape() as tape:
            y = xa.accumulate(net, x, how="max", weights=w, engine=engine)
            picked = y[0, 2]  # max(3, 1, 2) = 3, from cell 0
        gx, gw = tape.gradient(picked, [x, w])
        assert y.numpy().tolist() == [[3.0, 3.0, 3.0, 0.0]]
        assert gx.numpy().tolist() == [[1.0, 0.0, 0.0, 0.0]]  # d(w0 x0)/dx0 = w0
        assert gw.numpy().tolist() == [[3.0, 0.0, 0.0, 0.0]]  # d(w0 x0)/dw0 = x0


def test_backward_is_a_downstream_sum():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    x = tf.Variable(tf.ones((1, 4)))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(xa.accumulate(net, x))
    assert tape.gradient(total, x).numpy().tolist() == [[3.0, 2.0, 1.0, 1.0]]


def test_integer_fields_have_no_gradient():
    x = tf.constant(np.arange(30, dtype=np.int32).reshape(NET.shape))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(xa.accumulate(NET, x), tf.float64)
    assert tape.gradient(y, x) is None


@pytest.mark.parametrize("op", OPS)
def test_gradients_equal_torch(op):
    """Every mode (eager numba, eager xp, tf.function, jit_compile) gives torch's gradients."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = _distinct(rng, (2, *SMALL.shape))
    x[0, 0, 0] = np.nan
    w = rng.random(SMALL.shape) + 0.5
    eager = {e: lambda a, b, e=e, **k: _gradients(op, SMALL, a, b, engine=e, **k) for e in ("auto", "xp")}
    graph = tf.function(lambda a, b, how, skipna: _gradients(op, SMALL, a, b, how, skipna, "auto"))
    jit = tf.function(
        lambda a, b, how, skipna: _gradients(op, SMALL, a, b, how, skipna, "auto"), jit_compile=True
    )
    modes = {"eager": eager["auto"], "eager-xp": eager["xp"], "graph": graph, "jit": jit}
    for how in ["sum"] if op == "move_upstream" else [*GRAD_HOWS, "var"]:
        for skipna in [False] if op == "move_upstream" else [False, True]:
            xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
            y = call(op, SMALL, xt, how, None if op == "move_upstream" else wt, skipna)
            torch.sum(torch.where(torch.isnan(y), 0, y) ** 2).backward()
            for mode, gradients in modes.items():
                if mode in ("graph", "jit") and not (skipna and how in ("mean", "max", "sum")):
                    continue  # each case traces anew: a few of them
                gx, gw = gradients(tf.constant(x), tf.constant(w), how=how, skipna=skipna)
                message = f"{mode} {how} {skipna}"
                np.testing.assert_allclose(gx.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-9, err_msg=message)
                if op != "move_upstream":
                    np.testing.assert_allclose(
                        gw.numpy(), wt.grad.numpy(), rtol=1e-9, atol=1e-9, err_msg=message
                    )


# ------------------------------------------------------------- graph modes
@pytest.mark.parametrize("jit_compile", [False, True])
def test_tf_function_forward_equals_eager(jit_compile):
    rng = np.random.default_rng(8)
    field = rng.normal(size=(2, *SMALL.shape)).astype(np.float32)
    field[0, 1, 1] = np.nan
    weights = rng.random(SMALL.shape).astype(np.float32) + 0.5
    hows = ["sum", "max", "var"] if jit_compile else HOWS  # each XLA compilation takes a second
    for op in OPS:
        for how in ["sum"] if op == "move_upstream" else hows:

            @tf.function(jit_compile=jit_compile)
            def f(x, w, op=op, how=how):
                return call(op, SMALL, x, how, None if op == "move_upstream" else w, op != "move_upstream")

            out = f(tf.constant(field), tf.constant(weights))
            assert out.dtype == tf.float32
            w = None if op == "move_upstream" else weights
            check(out.numpy(), numpy_result(op, SMALL, field, how, w, op != "move_upstream"))


def test_numba_engine_inside_tf_function_raises():
    f = tf.function(lambda x: xa.accumulate(NET, x, engine="numba"))
    with pytest.raises(ValueError, match="engine='numba'.*inside tf.function"):
        f(tf.ones(NET.shape))


# ------------------------------------------------------------------- xarray
def test_tensors_cannot_live_in_xarray():
    """xarray copies a tf.Tensor to numpy (it has ``__array__``): the accessor refuses one as
    weights rather than silently dropping its gradient."""
    xr = pytest.importorskip("xarray")
    da = xr.DataArray(tf.ones(NET.shape), dims=("y", "x"))
    assert isinstance(da.data, np.ndarray)  # what xarray does with a tensor
    field = xr.DataArray(np.ones(NET.shape), dims=("y", "x"))
    with pytest.raises(TypeError, match="tf.Tensor cannot live in xarray"):
        field.hydro.accumulate(network=NET, weights=tf.ones(NET.shape))


def test_tensorflow_is_not_imported_for_numpy():
    code = (
        "import numpy as np, xhydro_accessor as xa, sys\n"
        "net = xa.RiverNetwork.from_ldd(np.array([[6, 5]]))\n"
        "xa.accumulate(net, np.ones((1, 2)), engine='xp')\n"
        "assert 'tensorflow' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_readme_snippet_runs():
    from tests.test_docs import ROOT, _python_block

    ldd = np.full((4, 3), 8)
    ldd[0] = 5
    ldd[:, 2] = 255  # off the network: NaN, zero gradient
    net = xa.RiverNetwork.from_ldd(ldd)
    namespace = {"tf": tf, "xa": xa, "net": net, "runoff": np.ones((2, 4, 3), np.float32)}
    exec(_python_block(ROOT / "README.md", "tape.gradient(loss, x)"), namespace)
    on_path = np.array([[1, 1, 0], [2, 2, 0], [3, 3, 0], [4, 4, 0]], np.float32)
    np.testing.assert_array_equal(namespace["grad"].numpy(), np.broadcast_to(on_path, (2, 4, 3)))


def test_second_order_gradients_of_the_host_path():
    """A gradient of a gradient through the numba engine's backward (transposed pass, a mean's
    weight sum, a max's send: each differentiable through the xp kernels) equals the xp
    engine's; it was silently wrong (the numba results were constants to the outer tape)."""
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    x = tf.constant([[1.0, 2.0, 3.0, 4.0]], tf.float64)

    def hessian_sum(how, engine):
        w = tf.Variable([[0.5, 1.5, 2.0, 1.0]], dtype=tf.float64)
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                loss = tf.reduce_sum(xa.accumulate(net, x, how=how, weights=w, engine=engine) ** 2)
            total = tf.reduce_sum(inner.gradient(loss, x))
        return outer.gradient(total, w).numpy()

    for how in ("sum", "mean", "max", "var"):
        np.testing.assert_allclose(hessian_sum(how, "auto"), hessian_sum(how, "xp"), rtol=1e-12, err_msg=how)
    np.testing.assert_allclose(hessian_sum("max", "auto"), 4 * np.array([[0.5, 3.0, 6.0, 4.0]]))  # 4 x w


@pytest.mark.parametrize("members", [1, 3, 12])
@pytest.mark.parametrize("how", ["sum", "max", "mean"])
def test_engine_results_are_64_byte_aligned_so_tensorflow_takes_them_without_a_copy(members, how):
    """TensorFlow's DLPack import needs 64-byte-aligned memory: the numba engine allocates its
    results (and the gradients' outputs) aligned, so the eager CPU path copies nothing."""
    from xhydro_accessor.backends import numba_engine

    rng = np.random.default_rng(members)
    x = rng.random((members, NET.shape[0] * NET.shape[1]))
    y = numba_engine.compute(NET, "accumulate", x, how, None, False)
    data = y if y.flags.c_contiguous else y.T  # the (cells, members) layout: a transposed view
    assert data.flags.c_contiguous and data.ctypes.data % 64 == 0
    expected = xa.accumulate(NET, x.reshape(members, *NET.shape), how=how).reshape(members, -1)
    assert np.allclose(y, expected, equal_nan=True)
    for g in (numba_engine.transpose(NET, "accumulate", x), numba_engine.send(NET, *_sources(x))):
        assert g.ctypes.data % 64 == 0


def _sources(x):
    from xhydro_accessor.backends import numba_engine

    _, sources = numba_engine.compute_with_sources(NET, "accumulate", x, "max", None, False)
    return sources, x
