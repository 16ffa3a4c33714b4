"""Forward and backward times of ``accumulate`` per array library, beside numpy's and
earthkit-hydro's.

On the bundled EFAS 5 km network (366,989 cells, 551 levels): one float32 field and a
50-member float32 batch, ``how="sum"`` and ``"max"``; best of a few runs. Rows:

- ``numpy``: the numba engine; ``numpy 4k``: the same with numpy's new arrays in 4 KiB
  pages like MLX's (not the transparent huge pages numpy asks Linux for); ``numpy xp``:
  ``engine="xp"`` on numpy arrays (the level-synchronous kernels a GPU runs, on the
  CPU: how far the GPU algorithm is from the CPU one on the same hardware);
- ``torch``, ``jax`` (``jax.jit``), ``tensorflow`` (eager), ``mlx`` (CPU device; a time
  includes ``mx.eval``): this package on that library's CPU arrays; ``mlx cache``: MLX
  with its buffer cache raised to 1 GiB (``mx.set_cache_limit``; its CPU default keeps
  32 MB of freed buffers, so each new batch-sized array is fresh memory to page-fault);
  ``mlx x*2``: not this package, MLX's own ``x * 2`` on the same array (one pass into a
  new array: what any MLX op producing a result of that size costs);
- ``ekh <library>``: earthkit-hydro's ``upstream.array.sum/max`` on the same library
  (its numpy, torch, jax (``jax.jit``), tensorflow and mlx backends), ``how="sum"``
  unless ``--ekh-how``.

Any library's 50-member rows run only where one field's forward and backward took under
0.5 s (earthkit-hydro on MLX, whose every level copies the whole batch, took over 3 min
for 50 members); a run over 5 s is timed once (no repeats).

Columns: ``forward``; ``fwd+bwd``, the gradient of ``sum(accumulate(x) * g)`` taken the
library's way (torch ``backward``, ``jax.grad``, ``tf.GradientTape``, ``mx.vjp``;
numpy: the numba engine's forward with sources and its transposed pass, what torch and
TensorFlow call); ``backward`` = fwd+bwd - forward; ``fwd/np`` = forward / numpy's
forward; ``bwd/fwd`` = backward / forward.

Run: ``PYTHONPATH=$PWD python benchmarks/backends_bench.py [--repeats N] [--only numpy,mlx] [--cpu]``
(``--cpu``: CPU time of all the process's threads instead of wall time).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import xhydro_accessor as xa
from xhydro_accessor.backends import numba_engine
from xhydro_accessor.samples import sample_network

Timed = tuple[Callable[[], object], Callable[[], object] | None]  # forward, forward + backward


def best(f: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """The best time of ``f()`` in ms, after one call that compiles, converts and caches: at
    least ``repeats`` runs, more while under 2 s in all (at most 20); one run if it takes
    over 5 s. ``clock``: wall time, or ``time.process_time`` (the CPU time of all the
    process's threads: less inflated than wall time when other processes share the cores)."""
    f()
    times: list[float] = []
    while len(times) < 20 and (len(times) < repeats or sum(times) < 2) and sum(times) < 5:
        start = clock()
        f()
        times.append(clock() - start)
    return min(times) * 1e3


# ------------------------------------------------------------- this package
def numpy_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    x, g = field.reshape(-1, net.mask.size), g.reshape(-1, net.mask.size)  # (members, cells)

    def both():
        if how == "sum":
            xa.accumulate(net, field, how=how)
            return numba_engine.transpose(net, "accumulate", g)
        _, sources = numba_engine.compute_with_sources(net, "accumulate", x, how, None, False)
        return numba_engine.send(net, sources, g)

    return (lambda: xa.accumulate(net, field, how=how)), both


def numpy_4k_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    """numpy's rows with its arrays in 4 KiB pages, as MLX's are (numpy asks Linux for huge
    pages: ``NUMPY_MADVISE_HUGEPAGE``; this turns that off during each call)."""
    from numpy._core.multiarray import _set_madvise_hugepage

    def small_pages(f: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            old = _set_madvise_hugepage(False)
            try:
                return f()
            finally:
                _set_madvise_hugepage(old)

        return run

    forward, both = numpy_lib(net, field, how, g)
    return small_pages(forward), small_pages(both)


def numpy_xp_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    return (lambda: xa.accumulate(net, field, how=how, engine="xp")), None


def torch_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    import torch

    tensor, gt = torch.from_numpy(field), torch.from_numpy(g)
    leaf = tensor.clone().requires_grad_()

    def both():
        leaf.grad = None
        xa.accumulate(net, leaf, how=how).backward(gt)

    return (lambda: xa.accumulate(net, tensor, how=how)), both


def jax_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    import jax
    import jax.numpy as jnp

    x, gj = jnp.asarray(field), jnp.asarray(g)
    forward = jax.jit(lambda x: xa.accumulate(net, x, how=how))
    grad = jax.jit(jax.grad(lambda x: jnp.sum(jnp.nan_to_num(xa.accumulate(net, x, how=how)) * gj)))
    return (lambda: forward(x).block_until_ready()), (lambda: grad(x).block_until_ready())


def tensorflow_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    return _tensorflow(lambda x: xa.accumulate(net, x, how=how), field, g)


def mlx_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    return _mlx(lambda x: xa.accumulate(net, x, how=how), field, g)


def mlx_op_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    """Not this package: MLX's own ``x * 2`` on the same array, one pass making a new array
    of the result's size (what any MLX op pays for MLX's memory)."""
    forward, _ = _mlx(lambda x: x * 2, field, g)  # MLX's default buffer cache, as the mlx row
    return forward, None


def mlx_cache_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    return _mlx(lambda x: xa.accumulate(net, x, how=how), field, g, cache=1 << 30)


def _tensorflow(f: Callable, field: np.ndarray, g: np.ndarray) -> Timed:
    import tensorflow as tf

    x, gt = tf.constant(field), tf.constant(g)

    def both():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        return tape.gradient(y, x, output_gradients=gt)

    return (lambda: f(x)), both


_MLX_CACHE: list[int] = []  # MLX's own buffer cache limit (32 MB on the CPU)


def _mlx(f: Callable, field: np.ndarray, g: np.ndarray, cache: int | None = None) -> Timed:
    """``f`` on MLX arrays, MLX's buffer cache limit ``cache`` bytes (None: MLX's default)
    during each call: at the default no freed buffer over 32 MB is kept, so every new large
    array is fresh memory, page-faulted 4 KiB at a time (numpy's get huge pages)."""
    import mlx.core as mx

    if not _MLX_CACHE:
        _MLX_CACHE.append(mx.set_cache_limit(0))
    limit = _MLX_CACHE[0] if cache is None else cache
    x, gm = mx.array(field), mx.array(g)

    def forward():
        mx.set_cache_limit(limit)
        mx.eval(f(x))

    def both():
        mx.set_cache_limit(limit)
        mx.eval(mx.vjp(f, [x], [gm]))

    return forward, both


# ------------------------------------------------------------ earthkit-hydro
def _earthkit(library: str) -> Callable[..., Timed]:
    """earthkit-hydro's ``upstream.array.<how>`` on ``library``'s arrays."""

    def make(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
        import earthkit.hydro as ekh

        ek = _earthkit_network(net, library)

        def f(x: Any) -> Any:
            return getattr(ekh.upstream.array, how)(ek, x)

        if library == "numpy":
            return (lambda: f(field)), None
        if library == "tensorflow":
            return _tensorflow(f, field, g)
        if library == "mlx":
            return _mlx(f, field, g)
        if library == "torch":
            import torch

            leaf, gt = torch.from_numpy(field.copy()).requires_grad_(), torch.from_numpy(g)

            def both():
                leaf.grad = None
                f(leaf).backward(gt)

            return (lambda: f(torch.from_numpy(field))), both
        import jax
        import jax.numpy as jnp

        x, gj = jnp.asarray(field), jnp.asarray(g)
        forward = jax.jit(f)
        grad = jax.jit(jax.grad(lambda x: jnp.sum(jnp.nan_to_num(f(x)) * gj)))
        return (lambda: forward(x).block_until_ready()), (lambda: grad(x).block_until_ready())

    return make


_EK: dict[str, Any] = {}


def _earthkit_network(net, library: str) -> Any:
    """earthkit-hydro's network of the bundled EFAS LDD on ``library`` (one per library:
    its ``to_device`` converts the network in place)."""
    if library not in _EK:
        from earthkit.hydro._readers import from_d8
        from earthkit.hydro.data_structures import RiverNetwork

        from xhydro_accessor.io import read_flow_directions
        from xhydro_accessor.samples import sample_path

        ldd = np.asarray(read_flow_directions(sample_path()).values)
        codes = np.where((ldd >= 1) & (ldd <= 9), ldd, 255).astype(np.uint8)
        _EK[library] = RiverNetwork(from_d8(codes, "pcr_d8")).to_device("cpu", library)
    return _EK[library]


#: name -> maker(network, numpy field, how, numpy output gradient) -> (forward, fwd+bwd or None)
LIBRARIES: dict[str, Callable[..., Timed]] = {
    "numpy": numpy_lib,
    "numpy 4k": numpy_4k_lib,
    "numpy xp": numpy_xp_lib,
    "torch": torch_lib,
    "jax": jax_lib,
    "tensorflow": tensorflow_lib,
    "mlx": mlx_lib,
    "mlx cache": mlx_cache_lib,
    "mlx x*2": mlx_op_lib,
    **{f"ekh {lib}": _earthkit(lib) for lib in ("numpy", "torch", "jax", "tensorflow", "mlx")},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--cpu", action="store_true", help="CPU time of all threads, not wall time (a shared machine)"
    )
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--how", default="sum,max")
    parser.add_argument("--ekh-how", default="sum", help="the hows earthkit-hydro rows run")
    parser.add_argument("--only", default=",".join(LIBRARIES), help="comma-separated libraries")
    args = parser.parse_args()
    net = sample_network()
    rng = np.random.default_rng(0)
    cases = [("1 field", net.shape), (f"{args.members} members", (args.members, *net.shape))]
    clock = time.process_time if args.cpu else time.perf_counter
    what = "CPU times of all threads" if args.cpu else "times"
    print(f"{net}; float32; {what} in ms (best of {args.repeats})\n")
    print(
        f"{'case':<18}{'library':<16}{'forward':>10}{'fwd+bwd':>10}{'backward':>10}{'fwd/np':>8}{'bwd/fwd':>8}"
    )
    slow: set[str] = set()  # libraries whose one field took over 0.5 s: no batch rows (hours)
    for label, shape in cases:
        for how in args.how.split(","):
            field = rng.random(shape).astype(np.float32)
            g = rng.random(shape).astype(np.float32)
            reference = None
            for name in args.only.split(","):
                row = f"{label + ', ' + how:<18}{name:<16}"
                if name.startswith("ekh") and how not in args.ekh_how.split(","):
                    continue
                if name in slow and shape != net.shape:
                    print(f"{row} not run: one field took over 0.5 s", flush=True)
                    continue
                try:
                    forward, both = LIBRARIES[name](net, field, how, g)
                    fwd = best(forward, args.repeats, clock)
                    total = best(both, args.repeats, clock) if both else float("nan")
                except (ImportError, NotImplementedError) as err:
                    print(f"{row} not run: {type(err).__name__} {err}", flush=True)
                    continue
                if name != "numpy" and shape == net.shape and max(fwd, np.nan_to_num(total)) > 500:
                    slow.add(name)
                reference = fwd if name == "numpy" else reference
                ratio = fwd / reference if reference else float("nan")
                back = total - fwd
                times = f"{fwd:>10.1f}{total:>10.1f}{back:>10.1f}{ratio:>8.2f}{back / fwd:>8.2f}"
                print(row + times, flush=True)


if __name__ == "__main__":
    main()
