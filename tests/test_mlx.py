"""The MLX backend (mlx[cpu]): what the shared backend tests do not cover.

Values, types and dtypes of every operation × ``how`` × dtype × weights × skipna
against the numba engine run in tests/test_backends.py and the catalogue in
tests/test_catalogue_backends.py (the ``mlx`` entry of the ``backend`` fixture);
``engine="xp"`` on MLX against numba, forward and gradients, on a real network in
tests/test_xp_on_every_library.py. Here: batch shapes, inputs left untouched,
gradients against finite differences (float64, which MLX has on the CPU; and
float32 with tolerances), ``mx.grad`` under ``mx.compile``, and the errors.
"""

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests import reference as ref
from tests.conftest import GRAD_HOWS, HOWS
from xhydro_accessor.reductions import REDUCTIONS

mx = pytest.importorskip("mlx.core")
from xhydro_accessor.backends.mlx import xp  # noqa: E402 - after the importorskip

OPS = ["accumulate", "accumulate_downstream", "move_downstream"]


@pytest.fixture
def engines(monkeypatch):
    """Which engines ran: a list filled with "numba" (the host path) and "xp" per forward call."""
    from xhydro_accessor.backends import generic, numba_engine

    ran = []
    for module, name in ((numba_engine, "numba"), (generic, "xp")):

        def spy(*args, _compute=module.compute, _name=name, **kwargs):
            ran.append(_name)
            return _compute(*args, **kwargs)

        monkeypatch.setattr(module, "compute", spy)
    return ran


def grid_network(seed=3, ny=4, nx=5):
    steps, missing = ref.random_grid_network(np.random.default_rng(seed), ny, nx)
    return xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))


NET = grid_network()


def run(op, x, how="sum", w=None, skipna=False, net=NET):
    if op == "move_upstream":
        return xa.move_upstream(net, x)
    quiet = {} if op == "move_downstream" else {"warn_nan": False}
    return getattr(xa, op)(net, x, how=how, weights=w, skipna=skipna, **quiet)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
@pytest.mark.parametrize("how", HOWS)
def test_batch_shapes(shape, how):
    """Any leading batch dims; weights of the grid's or of the field's shape."""
    rng = np.random.default_rng(1)
    field = rng.normal(size=(*shape, *NET.shape))
    for weights in (None, rng.random(NET.shape) + 0.5, rng.random(field.shape) + 0.5):
        for op in OPS:
            w = None if weights is None else xp.asarray(weights)
            x = xp.asarray(field)
            out = run(op, x, how, w)
            assert isinstance(out, mx.array) and out.dtype == mx.float64 and out.shape == field.shape
            np.testing.assert_allclose(
                np.asarray(out), run(op, field, how, weights), rtol=1e-12, equal_nan=True
            )
            np.testing.assert_array_equal(np.asarray(x), field)  # the input is left as it was


def _finite_differences(f, x, eps):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def _loss_numpy(op, how, skipna, r, weights_given):
    def loss(x, w):
        y = run(op, x, how, w if weights_given else None, skipna)
        return float(np.sum(np.where(np.isnan(y), 0, y) * r))

    return loss


@pytest.mark.parametrize("op", [*OPS, "move_upstream"])
def test_gradients_equal_finite_differences(op):
    """mx.grad of sum, mean, min, max and var (every weights shape, skipna) in float64
    against central differences of the numpy path (numba engine)."""
    rng = np.random.default_rng(2)
    shape = (2, *NET.shape)
    r = rng.normal(size=shape)
    for how in ["sum"] if op == "move_upstream" else GRAD_HOWS:
        for weights_shape in [None] if op == "move_upstream" else [None, NET.shape, shape]:
            for skipna in [False, True] if how in ("mean", "max") else [False]:
                # distinct values: min/max differentiable (no ties)
                x = rng.permutation(np.prod(shape)).reshape(shape) + rng.random(shape)
                if skipna:
                    x[0, 0, 0] = np.nan
                w = np.ones(NET.shape) if weights_shape is None else rng.random(weights_shape) + 0.5
                loss = _loss_numpy(op, how, skipna, r, weights_shape is not None)

                def mlx_loss(x, w, how=how, skipna=skipna, weighted=weights_shape is not None):
                    y = run(op, x, how, w if weighted else None, skipna)
                    return mx.sum(mx.where(mx.isnan(y), 0, y) * xp.asarray(r))

                gx, gw = mx.grad(mlx_loss, argnums=(0, 1))(xp.asarray(x), xp.asarray(w))
                assert gx.dtype == mx.float64 and gw.dtype == mx.float64
                want_x = np.nan_to_num(_finite_differences(lambda v, w=w, loss=loss: loss(v, w), x, 1e-6))
                np.testing.assert_allclose(np.asarray(gx), want_x, rtol=1e-6, atol=1e-6, err_msg=how)
                if weights_shape is not None:
                    want_w = _finite_differences(lambda v, x=x, loss=loss: loss(x, v), w, 1e-6)
                    np.testing.assert_allclose(np.asarray(gw), want_w, rtol=1e-6, atol=1e-6, err_msg=how)


def test_float32_gradients_within_tolerance():
    """float32 in (the dtype MLX's GPU has), float32 gradients out, close to float64's."""
    rng = np.random.default_rng(4)
    x = rng.permutation(40).reshape(2, *NET.shape) + rng.random((2, *NET.shape))
    w = rng.random(NET.shape) + 0.5
    for op in OPS:
        for how in GRAD_HOWS:

            def loss(x, w, how=how, op=op):
                y = run(op, x, how, w)
                return mx.sum(mx.where(mx.isnan(y), 0, y) ** 2)

            g32 = mx.grad(loss, argnums=(0, 1))(mx.array(x, mx.float32), mx.array(w, mx.float32))
            g64 = mx.grad(loss, argnums=(0, 1))(xp.asarray(x), xp.asarray(w))
            for a, b in zip(g32, g64, strict=True):
                assert a.dtype == mx.float32
                scale = np.abs(np.asarray(b)).max()
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("op", [*OPS, "move_upstream"])
def test_compile_equals_eager(op):
    """mx.compile of the forward and of mx.grad gives the eager results."""
    rng = np.random.default_rng(6)
    x = xp.asarray(rng.permutation(40).reshape(2, *NET.shape) + rng.random((2, *NET.shape)))
    w = xp.asarray(rng.random(NET.shape) + 0.5)
    for how in ["sum"] if op == "move_upstream" else HOWS:

        def forward(x, w, how=how):
            return run(op, x, how, None if op == "move_upstream" else w)

        def loss(x, w, forward=forward):
            y = forward(x, w)
            return mx.sum(mx.where(mx.isnan(y), 0, y))

        np.testing.assert_allclose(
            np.asarray(mx.compile(forward)(x, w)), np.asarray(forward(x, w)), equal_nan=True
        )
        if how == "std":
            continue  # the root of a zero variance (a single cell) has no gradient
        eager = mx.grad(loss, argnums=(0, 1))(x, w)
        compiled = mx.compile(mx.grad(loss, argnums=(0, 1)))(x, w)
        for a, b in zip(compiled, eager, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12, err_msg=how)


def test_backward_is_a_downstream_sum():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    g = mx.grad(lambda x: mx.sum(xa.accumulate(net, x)))(mx.ones((1, 4)))
    assert g.tolist() == [[3.0, 2.0, 1.0, 1.0]]  # the cells on each one's path to the outlet


def test_integers_keep_their_dtype():
    """Integer fields: integer results, and the weights' gradient as of the same field in floats."""
    x = mx.array(np.arange(20, dtype=np.int32).reshape(NET.shape))
    assert xa.accumulate(NET, x).dtype == mx.int64 and xa.accumulate(NET, x, how="max").dtype == mx.int32
    w = xp.asarray(np.random.default_rng(7).random(NET.shape))
    for how in ("sum", "max"):
        g = mx.grad(lambda w, a, how=how: mx.sum(xa.accumulate(NET, a, how, w)))
        np.testing.assert_allclose(np.asarray(g(w, x)), np.asarray(g(w, x.astype(mx.float64))), rtol=1e-12)


def test_errors():
    """engine="numba" needs values (it used to raise for every MLX array: the CPU ones now run it)."""
    with pytest.raises(ValueError, match=r"engine='numba' reads MLX arrays as numpy.*under mx.compile"):
        mx.compile(lambda x: xa.accumulate(NET, x, engine="numba"))(mx.ones(NET.shape))
    with pytest.raises(TypeError, match="cast mlx.core.bfloat16 to float32"):
        xa.accumulate(NET, mx.ones(NET.shape, mx.bfloat16))
    with pytest.raises(TypeError, match="different libraries"):
        torch = pytest.importorskip("torch")
        xa.accumulate(NET, mx.ones(NET.shape), weights=torch.ones(NET.shape))


def test_not_inside_a_dataarray():
    """xarray keeps an mx.array but with MLX dtypes it cannot reduce or mask it: a clear error."""
    da = xr.DataArray(mx.ones(NET.shape), dims=("y", "x")).hydro.assign_network(NET)
    with pytest.raises(TypeError, match=r"MLX arrays cannot live inside a DataArray.*xa\.accumulate"):
        da.hydro.accumulate()
    with pytest.raises(TypeError, match="MLX arrays cannot live inside a DataArray"):
        da.to_dataset(name="runoff").hydro.accumulate()


def test_catalogue_gradients_equal_torch():
    """mx.grad through catchment statistics and distances equals torch's autograd (gradchecked)."""
    torch = pytest.importorskip("torch")
    from xhydro_accessor.hydrology.catchments import catchment_statistics
    from xhydro_accessor.hydrology.distances import distance_to_outlet

    rng = np.random.default_rng(8)
    field, weights = rng.normal(size=(2, *NET.shape)), rng.random(NET.shape) + 0.5
    gauges = [tuple(int(v) for v in divmod(i, NET.shape[1])) for i in np.flatnonzero(NET.mask)[::4]]
    for how in ("sum", "mean", "max", "var", "median"):

        def f(x, w, how=how, lib=mx):
            out = catchment_statistics(NET, x, gauges, how, weights=None if how == "median" else w)
            distance = distance_to_outlet(NET, w)
            return sum(lib.sum(lib.where(lib.isnan(a), 0, a) ** 2) for a in (out, distance))

        gx, gw = mx.grad(f, argnums=(0, 1))(xp.asarray(field), xp.asarray(weights))
        x, w = torch.tensor(field, requires_grad=True), torch.tensor(weights, requires_grad=True)
        f(x, w, lib=torch).backward()
        np.testing.assert_allclose(np.asarray(gx), x.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=how)
        np.testing.assert_allclose(np.asarray(gw), w.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=how)


# ------------------------------------------------------ the host path (numba engine)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int64", "bool"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 2)])
def test_host_path_equals_numpy(engines, dtype, shape):
    """On MLX's CPU device the numba engine runs on the arrays' values: every operation ×
    ``how`` × weights × skipna × batch shape equals numpy's, dtype kept, inputs untouched."""
    rng = np.random.default_rng(11)
    field = rng.normal(size=(*shape, *NET.shape)) * 10
    if dtype[0] == "f":
        field[rng.random(field.shape) < 0.2] = np.nan
    field = field.astype(dtype) if dtype[0] == "f" else np.nan_to_num(np.abs(field)).astype(dtype)
    for weights in (None, rng.random(NET.shape) + 0.5, (rng.random(field.shape) + 0.5).astype("float32")):
        for op in [*OPS, "move_upstream"]:
            for how in ["sum"] if op == "move_upstream" else HOWS:
                for skipna in [False] if op == "move_upstream" else [False, True]:
                    w = None if weights is None or op == "move_upstream" else weights
                    want = run(op, field, how, w, skipna)
                    x = xp.asarray(field)
                    engines.clear()
                    got = run(op, x, how, None if w is None else xp.asarray(w), skipna)
                    assert set(engines) == {"numba"}, (op, how, engines)
                    assert isinstance(got, mx.array) and got.shape == want.shape
                    assert np.asarray(got).dtype == want.dtype, (op, how, got.dtype)
                    np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"{op} {how} {skipna}")
                    np.testing.assert_array_equal(np.asarray(x), field)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("op", [*OPS, "move_upstream"])
def test_host_gradients_equal_xp(engines, op, dtype):
    """mx.grad through the numba engine (its transposed pass, min/max sources) equals mx.grad
    through the xp kernels, for every differentiable ``how`` and std, weights and skipna."""
    rng = np.random.default_rng(12)
    shape = (2, *NET.shape)
    x = (rng.permutation(np.prod(shape)).reshape(shape) + rng.random(shape)).astype(dtype)
    x[0, 1, 1] = np.nan
    r = xp.asarray(rng.normal(size=shape).astype(dtype))
    tol = 1e-12 if dtype == "float64" else 1e-5
    for how in ["sum"] if op == "move_upstream" else [*GRAD_HOWS, "std"]:
        for weights in [None] if op == "move_upstream" else [None, rng.random(NET.shape) + 0.5]:
            for skipna in [False, True]:

                def loss(x, w, engine, how=how, skipna=skipna, weighted=weights is not None):
                    if op == "move_upstream":
                        y = xa.move_upstream(NET, x, engine=engine)
                    else:
                        y = getattr(xa, op)(
                            NET, x, how=how, weights=w if weighted else None, skipna=skipna, engine=engine
                        )
                    return mx.sum(mx.where(mx.isnan(y), 0, y) * r)

                w = xp.asarray((np.ones(NET.shape) if weights is None else weights).astype(dtype))
                engines.clear()
                host = mx.grad(loss, argnums=(0, 1))(xp.asarray(x), w, "auto")
                traced = op != "move_upstream" and REDUCTIONS[how].gradient == "traced"  # vjp: xp kernels
                assert "numba" in engines and (traced or "xp" not in engines), (how, engines)
                engines.clear()
                kernels = mx.grad(loss, argnums=(0, 1))(xp.asarray(x), w, "xp")
                assert set(engines) == {"xp"}
                for a, b in zip(host, kernels, strict=True):
                    assert a.dtype == b.dtype == getattr(mx, dtype)
                    np.testing.assert_allclose(
                        np.asarray(a), np.asarray(b), rtol=tol, atol=tol, err_msg=f"{how} {skipna}"
                    )


def test_compile_and_xp_take_the_xp_path(engines):
    """mx.compile (placeholders without values), mx.vmap and engine="xp" run the xp kernels,
    with the host path's results."""
    x = xp.asarray(np.random.default_rng(13).random((2, *NET.shape)))
    eager = xa.accumulate(NET, x, how="max")
    assert engines == ["numba"]
    for f in (
        mx.compile(lambda x: xa.accumulate(NET, x, how="max")),
        mx.vmap(lambda x: xa.accumulate(NET, x, how="max")),
        lambda x: xa.accumulate(NET, x, how="max", engine="xp"),
    ):
        engines.clear()
        np.testing.assert_array_equal(np.asarray(f(x)).reshape(x.shape), np.asarray(eager))
        assert set(engines) == {"xp"}


def test_traced_cotangent_falls_back_to_xp():
    """A forward on values (a constant) whose cotangent is traced by mx.compile: the backward
    runs in the xp kernels, equal to the eager one."""
    rng = np.random.default_rng(14)
    x = xp.asarray(rng.permutation(40).reshape(2, *NET.shape) + rng.random((2, *NET.shape)))
    g = xp.asarray(rng.normal(size=x.shape))
    for how in ("sum", "mean", "max"):

        def pullback(g, how=how):
            return mx.vjp(lambda x: xa.accumulate(NET, x, how=how), [x], [g])[1][0]

        np.testing.assert_allclose(np.asarray(mx.compile(pullback)(g)), np.asarray(pullback(g)), rtol=1e-12)


def test_second_order_gradients_of_the_host_path():
    """A gradient of a gradient through the numba engine's vjp (its transposed pass, a mean's
    weight sum, a max's send: each differentiable through the xp kernels) equals the xp
    engine's (sum, mean, var) or the hand derivative (max), never a silent zero."""
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    x, w = mx.array([[1.0, 2.0, 3.0, 4.0]]), mx.array([[0.5, 1.5, 2.0, 1.0]])

    def hessian_sum(how, engine):
        def loss(x, w):
            return mx.sum(xa.accumulate(net, x, how=how, weights=w, engine=engine) ** 2)

        return np.asarray(mx.grad(lambda w: mx.sum(mx.grad(loss)(x, w)))(w))

    for how in ("sum", "mean", "var"):
        np.testing.assert_allclose(hessian_sum(how, "auto"), hessian_sum(how, "xp"), rtol=1e-5, err_msg=how)
    # max of x*w along increasing paths: every cell its own max, d/dw Σ 2 x w² = 4 x w
    np.testing.assert_allclose(hessian_sum("max", "auto"), 4 * np.asarray(x * w), rtol=1e-6)
    # the xp engine's too (MLX refused it: "Cannot calculate VJP with respect to indices")
    np.testing.assert_allclose(hessian_sum("max", "xp"), 4 * np.asarray(x * w), rtol=1e-6)
    # min: cells 0-2 hold x0 w0 (0.5), the outlet x3 w3: Σ grad = 6 x0 w0² + 2 x3 w3²
    for engine in ("auto", "xp"):
        want = [[12 * 1.0 * 0.5, 0, 0, 4 * 4.0 * 1.0]]  # d/dw0 12 x0 w0, d/dw3 4 x3 w3
        np.testing.assert_allclose(hessian_sum("min", engine), want, rtol=1e-6)


@pytest.mark.parametrize("how", ["max", "min"])
@pytest.mark.parametrize("op", OPS)
def test_second_order_gradients_of_min_max_equal_finite_differences(op, how):
    """d/dw of Σ (mx.grad wrt x of Σ r·op(x, w)²) for min/max in float64 on both engines, against
    central differences of that first-order gradient (each engine's own and the host's)."""
    rng = np.random.default_rng(15)
    shape = (2, *NET.shape)
    x = xp.asarray(rng.permutation(np.prod(shape)).reshape(shape) + rng.random(shape))  # no ties
    w0 = rng.random(shape) + 0.5
    r = xp.asarray(rng.normal(size=shape))

    def total(w, engine):
        def loss(x, w):
            y = getattr(xa, op)(NET, x, how=how, weights=w, engine=engine)
            return mx.sum(mx.where(mx.isnan(y), 0, y) ** 2 * r)

        return mx.sum(mx.grad(loss)(x, w))

    for engine in ("auto", "xp"):
        got = np.asarray(mx.grad(lambda w, engine=engine: total(w, engine))(xp.asarray(w0)))
        want = _finite_differences(lambda w, engine=engine: total(xp.asarray(w), engine).item(), w0, 1e-6)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=engine)


# ------------------------------------ the numba engine writing into MLX memory (no copy)
@pytest.fixture
def mlx_buffers(monkeypatch):
    """The (start, stop) addresses of the MLX arrays the numba engine was given to write into."""
    from xhydro_accessor.backends import mlx as backend

    given = []

    def allocate(shape, dtype, _allocate=backend.HOST._allocate):
        out = _allocate(shape, dtype)
        given.append((out.ctypes.data, out.ctypes.data + out.nbytes))
        return out

    monkeypatch.setattr(backend.HOST, "_allocate", allocate)
    return given


def _inside(array, buffers):
    view = np.asarray(array)
    start = view.ctypes.data
    return any(low <= start and start + view.nbytes <= high for low, high in buffers)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "bool"])
@pytest.mark.parametrize("members", [1, 3, 12])  # each layout of the engine's states
def test_host_results_are_written_into_mlx_memory(mlx_buffers, members, dtype):
    """The numba engine writes its results into MLX arrays it allocated (no copy into MLX;
    every float sum/mean/min/max accumulation, and others where the engine's last array is
    its result; the one-step moves and some moments still copy theirs): equal to numpy's
    for every operation × ``how`` × skipna, the inputs untouched, and later MLX ops (which
    may reuse a dropped result's memory) see the written values."""
    rng = np.random.default_rng(16)
    field = rng.normal(size=(members, *NET.shape)) * 10
    field[rng.random(field.shape) < 0.2] = np.nan
    field = field.astype(dtype) if dtype[0] == "f" else np.nan_to_num(np.abs(field)).astype(dtype)
    x = xp.asarray(field)
    adopted = 0
    for op in [*OPS, "move_upstream"]:
        for how in ["sum"] if op == "move_upstream" else HOWS:
            for skipna in [False] if op == "move_upstream" else [False, True]:
                want = run(op, field, how, None, skipna)
                mlx_buffers.clear()
                got = run(op, x, how, None, skipna)
                inside = _inside(got, mlx_buffers)
                adopted += inside
                plain = dtype[0] == "f" and how in ("sum", "mean", "min", "max")
                assert inside or not plain or op.startswith("move"), (op, how, skipna)
                np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"{op} {how} {skipna}")
                later = mx.where(mx.isnan(got * 2), -1, got * 2 + 1)  # ``got * 2`` may reuse got's memory
                del got
                np.testing.assert_array_equal(np.asarray(later), np.where(np.isnan(want), -1, want * 2 + 1))
                np.testing.assert_array_equal(np.asarray(x), field)
    assert adopted > 0  # (std/var/skew finish in numpy: their results are copied)


def test_host_gradients_are_written_into_mlx_memory(mlx_buffers):
    """The transposed pass and a max's send write the gradients into MLX memory too."""
    rng = np.random.default_rng(17)
    for members in (1, 3, 12):
        x = rng.permutation(members * 20).reshape(members, *NET.shape) + rng.random((members, *NET.shape))
        r = xp.asarray(rng.normal(size=x.shape))
        for how in ("sum", "max"):

            def loss(x, engine, how=how, r=r):
                return mx.sum(xa.accumulate(NET, x, how=how, engine=engine) * r)

            mlx_buffers.clear()
            grad = mx.grad(loss)(xp.asarray(x), "auto")
            assert _inside(grad, mlx_buffers), (members, how)
            want = mx.grad(loss)(xp.asarray(x), "xp")
            np.testing.assert_allclose(np.asarray(grad), np.asarray(want), rtol=1e-12)


def test_cached_mlx_buffers_are_reused_safely():
    """With MLX's buffer cache on (``mx.set_cache_limit``), a dropped result's memory is reused
    by a later call, never while a result still holds it; every result stays right."""
    rng = np.random.default_rng(18)
    fields = [rng.random((12, *NET.shape)) for _ in range(6)]
    wants = [xa.accumulate(NET, f, how="max") for f in fields]
    old = mx.set_cache_limit(1 << 30)
    try:
        mx.clear_cache()
        kept = xa.accumulate(NET, xp.asarray(fields[0]), how="max")
        held = np.asarray(kept).ctypes.data
        seen = set()
        for field, want in zip(fields[1:], wants[1:], strict=True):
            dropped = xa.accumulate(NET, xp.asarray(field), how="max")
            np.testing.assert_array_equal(np.asarray(dropped), want)
            address = np.asarray(dropped).ctypes.data
            assert address != held
            seen.add(address)
            del dropped
            assert mx.get_cache_memory() >= field.nbytes  # its memory went back to the cache
        np.testing.assert_array_equal(np.asarray(kept), wants[0])
        assert len(seen) < len(fields) - 1  # some memory served two results
    finally:
        mx.set_cache_limit(old)
        mx.clear_cache()


def test_results_viewing_mlx_memory_become_views_with_the_same_values():
    """How a numpy result viewing MLX memory becomes an MLX array: a view (as_strided) of a
    row-contiguous array, offsets and strides kept; a copy for any other memory."""
    from xhydro_accessor.backends.mlx import _array, _owner

    whole = mx.arange(40, dtype=mx.float32).reshape(4, 10)
    mx.eval(whole)
    tail = whole.reshape(-1)[7:]  # row-contiguous with an offset
    strided = whole[:, ::3]  # not row-contiguous: as_strided would flatten a copy of it
    for array, view in (
        (whole, lambda a: a.T[::2, 1:]),
        (tail, lambda a: a[3:30:4]),
        (strided, lambda a: a[1:]),
    ):
        result = view(np.asarray(array))
        assert (_owner(result) is None) == (array is strided)
        np.testing.assert_array_equal(np.asarray(_array(result)), result)
    assert _owner(np.arange(3.0)) is None
