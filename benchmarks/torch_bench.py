"""torch on CPU: forward and backward of ``accumulate`` beside numpy and earthkit-hydro's torch.

On the bundled EFAS 5 km network (366,989 cells), one float64 field and a
50-member float32 batch: best of a few runs, single-threaded torch.

Run: ``python benchmarks/torch_bench.py [--repeats N] [--no-earthkit]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import xhydro_accessor as xa
from xhydro_accessor.io import read_flow_directions
from xhydro_accessor.samples import sample_network, sample_path


def best(f, repeats):
    f()  # compile, convert and cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def backward_time(forward, leaf, repeats):
    def once():
        leaf.grad = None
        y = forward()
        g = torch.ones_like(y)
        start = time.perf_counter()
        y.backward(g)
        return time.perf_counter() - start

    once()
    return min(once() for _ in range(repeats)) * 1e3


def earthkit_network():
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork

    codes = np.asarray(read_flow_directions(sample_path()).values)
    return RiverNetwork(from_d8(codes, "pcr_d8")).to_device("cpu", "torch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-earthkit", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = sample_network()
    ekh = None
    if not args.no_earthkit:
        try:
            from earthkit.hydro import upstream

            ekh = (earthkit_network(), upstream)
        except Exception as err:  # noqa: BLE001 - optional peer
            print(f"earthkit-hydro torch: not run ({type(err).__name__}: {err})")
    rng = np.random.default_rng(0)
    print(f"{net}\ntorch {torch.__version__}, 1 thread; times in ms (best of {args.repeats})\n")
    columns = ("numpy", "torch fwd", "fwd+grad", "backward", "ekh fwd", "ekh bwd")
    print(f"{'case':<26}" + "".join(f"{c:>10}" for c in columns))
    for label, shape, dtype in [("1 field, float64", net.shape, np.float64),
                                ("50 members, float32", (50, *net.shape), np.float32)]:  # fmt: skip
        for how in ("sum", "mean", "max"):
            field = rng.random(shape).astype(dtype)
            tensor = torch.from_numpy(field)
            leaf = tensor.clone().requires_grad_()
            row = [
                best(lambda: xa.accumulate(net, field, how=how), args.repeats),  # noqa: B023
                best(lambda: xa.accumulate(net, tensor, how=how), args.repeats),  # noqa: B023
                best(lambda: xa.accumulate(net, leaf, how=how), args.repeats),  # noqa: B023
                backward_time(lambda: xa.accumulate(net, leaf, how=how), leaf, args.repeats),  # noqa: B023
            ]
            if ekh is not None and how in ("sum", "mean", "max"):
                network, upstream = ekh
                reduce = getattr(upstream.array, how)
                ek_leaf = tensor.clone().requires_grad_()
                repeats = 1 if len(shape) > 2 else args.repeats
                row.append(best(lambda: reduce(network, tensor), repeats))  # noqa: B023
                try:
                    row.append(backward_time(lambda: reduce(network, ek_leaf), ek_leaf, repeats))  # noqa: B023
                except Exception:  # noqa: BLE001 - not differentiable there
                    row.append(float("nan"))
            cells = "".join(f"{t:>10.1f}" for t in row)
            print(f"{label + ', ' + how:<26}{cells}")


if __name__ == "__main__":
    main()
