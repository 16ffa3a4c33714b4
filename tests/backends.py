"""Array backends for the test suites: each maker returns ``(to, back)``.

``to`` turns a numpy array into the backend's array, ``back`` checks that a result is
of the backend's type (and on the CPU) and returns it as numpy. Makers skip the test
when the library (or, for cupy, a GPU) is missing.
"""

import numpy as np
import pytest


def _checked(kind, convert):
    def back(out):
        assert isinstance(out, kind), type(out)
        return convert(out)

    return back


def numpy():
    return (lambda a: a), _checked(np.ndarray, np.asarray)


def dask():
    import dask.array as da

    def to(a):  # a chunk per leading index of a batch (grids and vectors in one chunk)
        return da.from_array(a, chunks=(1,) * (a.ndim - 2) + a.shape[-2:] if a.ndim > 2 else -1)

    return to, _checked(da.Array, lambda out: out.compute())


def torch():
    torch = pytest.importorskip("torch")

    def back(out):
        assert isinstance(out, torch.Tensor) and out.device.type == "cpu", type(out)
        return out.detach().numpy()

    return (lambda a: torch.from_numpy(np.array(a))), back


def jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax.numpy.asarray, _checked(jax.Array, np.asarray)


def mlx():
    mx = pytest.importorskip("mlx.core")

    def to(a):  # numpy's dtype kept (mx.array alone narrows float64 to float32)
        from xhydro_accessor.backends.mlx import xp

        return xp.asarray(np.asarray(a))

    return to, _checked(mx.array, np.asarray)


def array_api_strict():
    strict = pytest.importorskip("array_api_strict")
    return strict.asarray, _checked(strict._array_object.Array, lambda out: np.asarray(out._array))


def cupy():
    cupy = pytest.importorskip("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - no driver or no device
        pytest.skip("no GPU")
    return cupy.asarray, _checked(cupy.ndarray, cupy.asnumpy)


def torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no GPU")

    def back(out):
        assert isinstance(out, torch.Tensor) and out.device.type == "cuda", (type(out), out.device)
        return out.detach().cpu().numpy()

    return (lambda a: torch.from_numpy(np.array(a)).cuda()), back


def dask_cupy():
    """dask arrays of cupy chunks (as ``da.cupy.as_cupy()`` of cupy-xarray makes)."""
    to_cupy, _ = cupy()
    import cupy as cp
    import dask.array as da

    to_dask, _ = dask()

    def back(out):
        assert isinstance(out, da.Array) and isinstance(out._meta, cp.ndarray), type(out)
        return cp.asnumpy(out.compute())

    return (lambda a: to_dask(a).map_blocks(to_cupy)), back


#: the backends that need a CUDA device
GPU = ("cupy", "torch-cuda", "dask-cupy")


def params(names):
    """pytest params of backend names, those of :data:`GPU` marked ``gpu``."""
    return [pytest.param(name, marks=pytest.mark.gpu if name in GPU else ()) for name in names]


def tensorflow():
    tf = pytest.importorskip("tensorflow")

    def back(out):
        assert isinstance(out, tf.Tensor) and "CPU" in out.device, type(out)
        return out.numpy()

    return tf.constant, back
