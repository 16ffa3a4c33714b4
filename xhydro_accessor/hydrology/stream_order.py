"""Stream order of every network cell: Strahler, Shreve and Hack.

Each is one pass over the network. Off-network cells hold
:func:`~xhydro_accessor.fill_value` of the output dtype (int32 for Strahler and
Hack, int64 for Shreve). :func:`stream_order` picks one by name.
"""

from __future__ import annotations

from math import prod
from typing import Literal

import numpy as np

from ..network import RiverNetwork
from ..operations import fill_value


def strahler(network: RiverNetwork) -> np.ndarray:
    """Strahler order: 1 at sources; where tributaries meet, the largest of their
    orders if only one tributary has it, one more if two or more do.

    Orders 1, 1 and 2 meeting at one cell give 2 (the single order-2 tributary
    dominates); 1 and 1 give 2; 2 and 2 give 3.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> ldd = np.array([[2, 1, 1], [6, 5, 255], [9, 255, 255]])  # orders 2, 1, 1 meet at the pit
    >>> strahler(RiverNetwork.from_ldd(ldd))
    array([[          1,           1,           1],
           [          2,           2, -2147483648],
           [          1, -2147483648, -2147483648]], dtype=int32)
    """
    if getattr(network, "tiled", False):  # spatial tiles, lazily: compressed trees per tile
        from ..backends.tiled_order import strahler as tiled_strahler

        return tiled_strahler(network)  # type: ignore[arg-type,return-value]
    from ..kernels.order import strahler_pass

    size = prod(network.shape)
    order = np.full(size, fill_value(np.int32), np.int32)
    top, n_top = np.zeros(size, np.int32), np.zeros(size, np.int32)
    strahler_pass(network.nodes, network.downstream, order, top, n_top)
    return order.reshape(network.shape)


def shreve(network: RiverNetwork) -> np.ndarray:
    """Shreve magnitude: 1 at sources, the sum of the upstream magnitudes below a
    confluence; the number of sources upstream of each cell.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> shreve(RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]])))
    array([[1, 1, 1],
           [1, 5, 1]])
    """
    if getattr(network, "tiled", False):  # spatial tiles, lazily: the sources upstream
        from ..backends.tiled import shreve as tiled_shreve

        return tiled_shreve(network)
    from ..kernels.order import shreve_pass

    magnitude = np.zeros(prod(network.shape), np.int64)
    shreve_pass(network.nodes, network.downstream, magnitude)
    magnitude[~network.mask.reshape(-1)] = fill_value(np.int64)
    return magnitude.reshape(network.shape)


def main_upstream(network: RiverNetwork) -> tuple[np.ndarray, np.ndarray]:
    """The main stem's step upstream from every cell, and the cells draining through each.

    Returns ``(main, cells)``, flat over the grid: ``main`` the flat index of the
    cell flowing into each cell that has the most upstream cells (the smallest
    flat index among ties, as pyflwdir's ``idxs_us_main``; -1 at sources and off
    the network), ``cells`` the number of cells draining through each cell,
    itself included (0 off the network). Computed once per network (read-only).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> main, cells = main_upstream(RiverNetwork.from_ldd(np.array([[6, 6, 2], [6, 6, 5]])))
    >>> main.reshape(2, 3)  # the pit's (4 cells) main upstream is the top-right cell (3 cells)
    array([[-1,  0,  1],
           [-1,  3,  2]])
    """
    from ..kernels.order import main_upstream as kernel

    def compute() -> tuple[np.ndarray, np.ndarray]:
        cells = network.mask.reshape(-1).astype(np.int64)
        main = np.full(cells.size, -1, np.int64)
        kernel(network.nodes, network.downstream, cells, main)
        main.flags.writeable = cells.flags.writeable = False
        return main, cells

    return network.cached(("stream_order", "main_upstream"), compute)


def hack(network: RiverNetwork) -> np.ndarray:
    """Hack (classic) order: 1 on the main stem of each basin, one more on each
    tributary than on the river it flows into.

    The main stem goes upstream from the outlet through the cell of most upstream
    cells at each confluence (ties: the smallest flat index), as pyflwdir's
    ``stream_order(type="classic")``.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> ldd = np.array([[6, 6, 2], [6, 6, 5]])  # a 3-cell stem and a 1-cell tributary meet at the pit
    >>> hack(RiverNetwork.from_ldd(ldd))
    array([[1, 1, 1],
           [2, 2, 1]], dtype=int32)
    """
    if getattr(network, "tiled", False):  # spatial tiles, lazily: moves and accumulations
        from ..backends.tiled_order import hack as tiled_hack

        return tiled_hack(network)  # type: ignore[arg-type,return-value]
    from ..kernels.order import hack_pass

    main, _ = main_upstream(network)
    order = np.full(prod(network.shape), fill_value(np.int32), np.int32)
    hack_pass(network.nodes, network.downstream, main, order)
    return order.reshape(network.shape)


ORDERS = {"strahler": strahler, "shreve": shreve, "hack": hack}


def stream_order(
    network: RiverNetwork, kind: Literal["strahler", "shreve", "hack"] = "strahler"
) -> np.ndarray:
    """Stream order of every network cell by name: :func:`strahler`, :func:`shreve` or :func:`hack`.

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2], [6, 6, 5]]))
    >>> stream_order(net, "hack")[1], stream_order(net)[1]
    (array([2, 2, 1], dtype=int32), array([1, 1, 2], dtype=int32))
    """
    if kind not in ORDERS:
        raise ValueError(f"kind must be one of {sorted(ORDERS)}, got {kind!r}")
    return ORDERS[kind](network)
