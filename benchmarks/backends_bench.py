"""Forward and backward times of ``accumulate`` per array library, beside numpy's.

On the bundled EFAS 5 km network (366,989 cells): one float64 field and a 50-member
float32 batch, ``how="sum"`` and ``"max"``; best of a few runs. "backward" is the
gradient of ``sum(accumulate(x) * g)`` (numpy: the numba engine's transposed pass, what
torch and TensorFlow call). The last block times ``engine="xp"`` (the level-synchronous
kernels a GPU runs) against the numba engine on numpy arrays: how far the GPU algorithm
is from the CPU one on the same hardware. Ratios are to numpy's forward time.

A library is one entry of :data:`LIBRARIES` (a maker returning forward and backward
closures); a missing library is skipped.

Run: ``python benchmarks/backends_bench.py [--repeats N] [--only numpy,tensorflow]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import xhydro_accessor as xa
from xhydro_accessor.backends import numba_engine
from xhydro_accessor.samples import sample_network

Timed = tuple[Callable[[], object], Callable[[], object]]  # forward, backward


def best(f: Callable[[], object], repeats: int) -> float:
    f()  # compile, convert and cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def numpy_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    x, g = field.reshape(-1, net.mask.size), g.reshape(-1, net.mask.size)  # (members, cells)

    def backward():
        if how == "sum":
            return numba_engine.transpose(net, "accumulate", g)
        _, sources = numba_engine.compute_with_sources(net, "accumulate", x, how, None, False)
        return numba_engine.send(net, sources, g)

    return (lambda: xa.accumulate(net, field, how=how)), backward


def torch_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    import torch

    tensor, gt = torch.from_numpy(field), torch.from_numpy(g)
    leaf = tensor.clone().requires_grad_()

    def backward():
        leaf.grad = None
        xa.accumulate(net, leaf, how=how).backward(gt)

    return (lambda: xa.accumulate(net, tensor, how=how)), backward


def jax_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    import jax
    import jax.numpy as jnp

    x, gj = jnp.asarray(field), jnp.asarray(g)
    forward = jax.jit(lambda x: xa.accumulate(net, x, how=how))
    grad = jax.jit(jax.grad(lambda x: jnp.sum(jnp.nan_to_num(xa.accumulate(net, x, how=how)) * gj)))
    return (lambda: forward(x).block_until_ready()), (lambda: grad(x).block_until_ready())


def tensorflow_lib(net, field: np.ndarray, how: str, g: np.ndarray) -> Timed:
    import tensorflow as tf

    x, gt = tf.constant(field), tf.constant(g)

    def backward():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = xa.accumulate(net, x, how=how)
        return tape.gradient(y, x, output_gradients=gt)

    return (lambda: xa.accumulate(net, x, how=how)), backward


#: name -> maker(network, numpy field, how, numpy output gradient) -> (forward, backward)
LIBRARIES: dict[str, Callable[..., Timed]] = {
    "numpy": numpy_lib,
    "torch": torch_lib,
    "jax": jax_lib,
    "tensorflow": tensorflow_lib,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=",".join(LIBRARIES), help="comma-separated libraries")
    args = parser.parse_args()
    net = sample_network()
    rng = np.random.default_rng(0)
    cases = [
        ("1 field, float64", net.shape, np.float64),
        ("50 members, float32", (50, *net.shape), np.float32),
    ]
    print(f"{net}\ntimes in ms (best of {args.repeats}); ratio = time / numpy forward\n")
    print(f"{'case':<28}{'library':<12}{'forward':>10}{'backward':>10}{'fwd/np':>8}{'bwd/fwd':>8}")
    for label, shape, dtype in cases:
        for how in ("sum", "max"):
            field = rng.random(shape).astype(dtype)
            g = rng.random(shape).astype(dtype)
            reference = None
            for name in args.only.split(","):
                try:
                    forward, backward = LIBRARIES[name](net, field, how, g)
                    fwd, bwd = best(forward, args.repeats), best(backward, args.repeats)
                except ImportError as err:
                    print(f"{label + ', ' + how:<28}{name:<12} not run: {err}")
                    continue
                reference = fwd if name == "numpy" else reference
                ratio = f"{fwd / reference:>8.2f}" if reference else f"{'':>8}"
                print(f"{label + ', ' + how:<28}{name:<12}{fwd:>10.1f}{bwd:>10.1f}{ratio}{bwd / fwd:>8.2f}")
    print("\nengine='xp' against the numba engine, numpy arrays (forward)")
    for label, shape, dtype in cases:
        for how in ("sum", "mean", "max", "std"):
            field = rng.random(shape).astype(dtype)
            numba = best(lambda: xa.accumulate(net, field, how=how, engine="numba"), args.repeats)  # noqa: B023
            xp = best(lambda: xa.accumulate(net, field, how=how, engine="xp"), args.repeats)  # noqa: B023
            print(f"{label + ', ' + how:<28}numba {numba:>9.1f}  xp {xp:>9.1f}  xp/numba {xp / numba:>6.2f}")


if __name__ == "__main__":
    main()
