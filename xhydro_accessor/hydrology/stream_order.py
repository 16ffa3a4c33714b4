"""Stream order of every network cell: Strahler and Shreve.

Both are one upstream-first pass. Off-network cells hold
:func:`~xhydro_accessor.fill_value` of the output dtype (int32 for Strahler, int64
for Shreve).
"""

from __future__ import annotations

from math import prod

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
