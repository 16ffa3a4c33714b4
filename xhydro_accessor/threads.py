"""Running the numba kernels across the CPU cores (they release the GIL).

Two shapes of work: element-wise steps (copies, transposes, weights) split into
blocks of cells (:func:`in_blocks`), and passes along the topological order, whose
independent heads run side by side before the tail (:func:`run_pass`, see
:func:`.kernels.topology.split_for_threads`). Calls from other threads than the
main one (e.g. dask's workers, already one per core) run in one piece. The CPU facts
the engine sizes its work by live here too: :data:`CORES` and
:func:`last_level_cache_bytes`.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CORES = min(os.cpu_count() or 1, 8)


def last_level_cache_bytes(cache_dir: str | Path = "/sys/devices/system/cpu/cpu0/cache") -> int:
    """The size of the CPU's largest cache, from Linux sysfs (32 MiB where it cannot be read).

    Examples
    --------
    >>> last_level_cache_bytes("/no/such/dir") == 32 << 20
    True
    """
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    sizes = []
    for size in Path(cache_dir).glob("index*/size"):
        text = size.read_text().strip()
        if text[:-1].isdigit() and text[-1] in units:
            sizes.append(int(text[:-1]) * units[text[-1]])
        elif text.isdigit():
            sizes.append(int(text))
    return max(sizes, default=32 << 20)


def run_pass(network: Any, kernel: Callable, *args: Any, reverse: bool = False) -> None:
    """``kernel(nodes, to, *args)`` over the network's topological order, its heads side by side.

    Upstream first (``reverse=False``): the heads, then the tail; downstream first:
    the tail, then the heads. ``kernel`` must treat the cells it is given in
    their order and touch only them and their downstream cells.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> from xhydro_accessor.kernels.flow import sum_pass_single
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2, 5]]))
    >>> state = np.array([1.0, 2.0, 3.0, 4.0])
    >>> run_pass(net, sum_pass_single, state, state, False)
    >>> state
    array([1., 3., 6., 4.])
    """
    nodes, to, heads = network.nodes, network.downstream, network.heads
    starts = heads.tolist()
    parts = [slice(a, b) for a, b in zip(starts[:-1], starts[1:], strict=True)]

    def run(part: slice) -> None:
        kernel(nodes[part], to[part], *args)

    tail = slice(starts[-1], None)
    if reverse:
        run(tail)
    in_parallel(run, parts)
    if not reverse:
        run(tail)


def in_blocks(length: int, work: int, job: Callable[[slice], None]) -> None:
    """Run ``job(block)`` over slices of ``range(length)``, across the cores when ``work`` is large.

    For element-wise steps whose blocks share no cache line to speak of.
    """
    if work < 1 << 18:
        job(slice(None))
        return
    step = -(-length // CORES)
    in_parallel(job, [slice(start, min(start + step, length)) for start in range(0, length, step)])


def in_parallel(job: Callable[[Any], None], items: Sequence[Any]) -> None:
    """``job(item)`` for each item, side by side on the pool (the first in this thread)."""
    if len(items) < 2 or CORES < 2 or threading.current_thread() is not threading.main_thread():
        for item in items:
            job(item)
        return
    futures = [_pool().submit(job, item) for item in items[1:]]
    job(items[0])
    for future in futures:
        future.result()


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(CORES - 1, thread_name_prefix="xhydro_accessor")
