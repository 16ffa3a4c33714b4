"""MLX rows for the backend benchmarks: forward and backward of ``accumulate`` on MLX (CPU)
beside numpy (the numba engine, and ``engine="xp"``: the GPU algorithm on the CPU).

:func:`mlx_entry` returns the rows as a dict, for benchmarks/backends_bench.py to print
beside the other libraries; run alone, this prints them. Times in ms, best of a few
runs, on the bundled EFAS 5 km network (366,989 cells, 551 levels); fields float32 (the
dtype MLX's GPU has). MLX is lazy: a time includes ``mx.eval`` of the result.

- ``numpy``: the numba engine's forward; ``numpy xp``: ``engine="xp"`` on numpy;
- ``forward``: MLX forward; ``fwd+bwd``: ``mx.vjp`` (forward, then the transposed pass);
  ``backward``: their difference;
- ``numba bwd``: the numba engine's backward (torch CPU's, ``engine="numba"``), what the
  MLX backward is measured against.

Run: ``python benchmarks/mlx_rows.py [--members 50] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time
import timeit
from typing import Any

import numpy as np

import xhydro_accessor as xa
from xhydro_accessor.samples import sample_network

COLUMNS = ["numpy", "numpy xp", "forward", "fwd+bwd", "backward", "numba bwd"]


def best(f, repeats: int) -> float:
    """The best time of ``f()`` in ms, after one call that compiles, converts and caches."""
    f()
    return min(timeit.repeat(f, number=1, repeat=repeats)) * 1e3


def _numba_backward(net, field, how, repeats):
    """The numba engine's backward alone (torch CPU, engine="numba"); NaN without torch."""
    try:
        import torch
    except ImportError:
        return float("nan")
    leaf = torch.from_numpy(field).requires_grad_()

    def once():
        leaf.grad = None
        y = xa.accumulate(net, leaf, how=how, engine="numba")
        start = time.perf_counter()
        y.backward(torch.ones_like(y))
        return time.perf_counter() - start

    once()
    return min(once() for _ in range(repeats)) * 1e3


def _times(net, field: np.ndarray, how: str, repeats: int) -> dict:
    import mlx.core as mx

    x = mx.array(field)

    def forward(x):
        return xa.accumulate(net, x, how=how)

    def both():
        y, vjp = mx.vjp(forward, [x], [mx.ones(x.shape, x.dtype)])
        mx.eval(y, vjp)

    times = {
        "numpy": best(lambda: xa.accumulate(net, field, how=how), repeats),
        "numpy xp": best(lambda: xa.accumulate(net, field, how=how, engine="xp"), repeats),
        "forward": best(lambda: mx.eval(forward(x)), repeats),
        "fwd+bwd": best(both, repeats),
        "numba bwd": _numba_backward(net, field, how, repeats),
    }
    return times | {"backward": times["fwd+bwd"] - times["forward"]}


def mlx_entry(
    net: Any = None, members: int = 50, repeats: int = 3, hows=("sum", "mean", "max"), report=None
) -> dict:
    """MLX forward/backward times of ``accumulate`` on one field and on ``members`` members
    (``report(row)``, if given, is called as each row is measured).

    Returns ``{"library": "mlx", "version", "device", "network", "columns", "rows"}``,
    each row ``{"case", "how", <column>: ms, ...}`` with the columns of the module docstring.
    """
    import mlx.core as mx

    net = sample_network() if net is None else net
    rng = np.random.default_rng(0)
    rows = []
    for case, shape in [("1 field", net.shape), (f"{members} members", (members, *net.shape))]:
        field = rng.random(shape).astype(np.float32)
        for how in hows:
            rows.append({"case": case, "how": how, **_times(net, field, how, repeats)})
            if report is not None:
                report(rows[-1])
    device = str(mx.default_device())
    return {"library": "mlx", "version": mx.__version__, "device": device, "network": str(net),
            "columns": COLUMNS, "rows": rows}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--how", nargs="+", default=["sum", "mean", "max"])
    args = parser.parse_args()
    print(f"ms, best of {args.repeats}\n{'case':<22}" + "".join(f"{c:>11}" for c in COLUMNS), flush=True)

    def report(row):
        cells = "".join(f"{row[c]:>11.1f}" for c in COLUMNS)
        print(f"{row['case'] + ', ' + row['how']:<22}{cells}", flush=True)

    entry = mlx_entry(members=args.members, repeats=args.repeats, hows=args.how, report=report)
    print(f"{entry['network']}; mlx {entry['version']} on {entry['device']}")


if __name__ == "__main__":
    main()
