"""The :class:`NetworkIndex`: an :class:`xarray.Index` on the network coordinate.

The index sits on the coordinate :mod:`xhydro_accessor.network_codec` encodes. It
caches the compiled :class:`~xhydro_accessor.RiverNetwork`, compares networks
during alignment — two fields on different networks raise
:class:`xarray.AlignmentError` through the index's own ``equals``/``join``
(public xarray API, always on) — and rebuilds network and codes on spatial
``isel``/``sel``/``roll``, so the attached network is never stale.
:func:`network_coordinates` builds it with :meth:`xarray.Coordinates.from_xindex`.

Objects reopened from a file carry the coordinate *without* the index;
``xr.open_dataset(path, engine="hydro")`` and ``obj.hydro.assign_network()`` put
it back. xarray never shows an index the unindexed coordinate of another operand:
the opt-in strict-alignment guard (:mod:`xhydro_accessor.alignment`,
``xa.set_options(strict_alignment=True)``) checks those too.

The index keeps its codes read-only, so the coordinate it made cannot be edited in
place, and ``.hydro`` checks in O(1) that the coordinate is still that one (a copy
costs one comparison of the codes): a stale network is never used.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from .errors import GridMismatchError
from .layout import NORTH_UP, Layout, grid_layout, layout_of
from .network import RiverNetwork
from .network_codec import decode_network, encode_network, subset_network


def network_coordinates(
    network: RiverNetwork, name: Hashable, dims: tuple[Hashable, ...], layout: Layout | None = None
) -> xr.Coordinates:
    """The network coordinate ``name`` over ``dims`` with its :class:`NetworkIndex`.

    Built with :meth:`xarray.Coordinates.from_xindex`: ``obj.assign_coords(...)``
    attaches it. ``network.ids`` label the nodes of a vector network.

    Examples
    --------
    >>> import numpy as np
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
    >>> coords = network_coordinates(net, "flow_direction", ("y", "x"))
    >>> coords["flow_direction"].values, type(coords.xindexes["flow_direction"]).__name__
    (array([[6, 5]], dtype=uint8), 'NetworkIndex')
    """
    return xr.Coordinates.from_xindex(NetworkIndex(network, name, dims, layout=layout))


class NetworkIndex(xr.Index):
    """An :class:`xarray.Index` on the flow-direction coordinate caching the network.

    Created by :meth:`HydroAccessor.assign_network
    <xhydro_accessor.accessor.HydroAccessor.assign_network>`, or by hand with
    ``obj.set_xindex("flow_direction", NetworkIndex)`` (pass ``network=`` and,
    for vector networks, ``ids=`` to skip decoding). The codes name geographic
    directions; by hand, the index sees only the coordinate's dim names, so pass
    ``layout=layout_of(obj, dims)`` (:mod:`xhydro_accessor.layout`) for a
    south-up or east-to-west grid. The index follows its layout through
    ``isel`` (a reversed axis) and a transposed coordinate.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.ones((2, 3)), dims=("y", "x"))
    >>> da = da.assign_coords(flow_direction=(("y", "x"), np.array([[6, 6, 2], [9, 8, 5]], "u1")))
    >>> da = da.set_xindex("flow_direction", NetworkIndex)
    >>> da.xindexes["flow_direction"].network
    <RiverNetwork: 2×3 grid, 6 cells, 1 outlets, 4 levels>
    >>> da.isel(x=slice(0, 2)).xindexes["flow_direction"].network.outlets
    array([1])
    """

    def __init__(
        self,
        network: RiverNetwork,
        name: Hashable,
        dims: tuple[Hashable, ...],
        from_codes: bool = False,
        codes: np.ndarray | None = None,
        convention: str | None = None,
        layout: Layout | None = None,
    ):
        self.network = network
        self.name = name
        self.dims = tuple(dims)
        # how the grid is stored: the codes name geographic directions
        self.layout = grid_layout(self.dims, {}) if layout is None else layout
        self.from_codes = from_codes  # built from the coordinate: keep it; else re-encode
        self._codes = codes  # read-only: the coordinate values this index stands for
        self._convention = convention  # their ``convention`` attribute

    @classmethod
    def from_variables(cls, variables: Mapping[Any, xr.Variable], *, options: Mapping[str, Any]):
        if len(variables) != 1:
            raise ValueError(f"NetworkIndex indexes one coordinate, got {list(variables)}")
        ((name, var),) = variables.items()
        network, layout = options.get("network"), options.get("layout")
        layout = layout_of(var) if layout is None else layout
        if network is None:
            network = decode_network(var, options.get("ids"), layout)
        if tuple(network.shape) != tuple(var.shape):
            raise GridMismatchError(f"network grid {network.shape} differs from coordinate {var.shape}")
        if getattr(network, "tiled", False):  # codes chunked across space stay lazy (dask)
            codes = var.data
        else:
            codes = _read_only(np.array(var.values))  # a private copy: the caller's array stays writable
        convention = var.attrs.get("convention", "downstream_id" if var.ndim == 1 else "ldd")
        return cls(network, name, var.dims, True, codes, convention, layout)

    @property
    def codes(self) -> np.ndarray:
        """The (read-only) coordinate values encoding :attr:`network`."""
        if self._codes is None:
            return self._set_codes(encode_network(self.network, self.dims, self.network.ids, self.layout))
        return self._codes

    def _set_codes(self, var: xr.Variable) -> np.ndarray:
        lazy = getattr(self.network, "tiled", False)  # a tiled network's codes stay dask
        self._codes, self._convention = var.data if lazy else _read_only(var.values), var.attrs["convention"]
        return self._codes

    def matches(self, variable: xr.Variable, ids: Any = None, compute: bool = True) -> bool | None:
        """Whether the coordinate ``variable`` encodes this index's network.

        O(1) for the coordinate the index made (its read-only :attr:`codes`), one
        comparison of the codes for a copy, a decode only when the codes differ
        (another convention, or codes sliced blindly: flow out of a subset reads as
        an outlet). A lazy (dask) coordinate is computed, or with ``compute=False``
        left unchecked (``None``).
        """
        codes = self.codes
        if variable._data is codes:
            return True
        if variable.dims != self.dims and sorted(map(str, variable.dims)) == sorted(map(str, self.dims)):
            variable = variable.transpose(*self.dims)  # the object was transposed, not its network
        if not compute and type(variable._data).__module__.startswith("dask."):
            return None
        if variable.dims != self.dims and set(variable.dims) == set(self.dims):
            variable = variable.transpose(*self.dims)  # e.g. after Dataset.transpose
        values = np.asarray(variable.values)
        if values.shape != codes.shape:
            return False
        convention = variable.attrs.get("convention", self._convention)
        if convention == self._convention and np.array_equal(values, codes):
            return True
        try:
            return decode_network(variable, ids, self.layout) == self.network
        except ValueError:
            return False

    def create_variables(self, variables: Mapping[Any, xr.Variable] | None = None) -> dict:
        old = (variables or {}).get(self.name)
        if old is not None and self.from_codes:
            codes = self.codes
            if old.dims != self.dims and set(old.dims) == set(self.dims):  # after Dataset.transpose
                codes = np.transpose(codes, [self.dims.index(d) for d in old.dims])
            return {self.name: old.copy(deep=False, data=codes)}
        var = encode_network(self.network, self.dims, self.network.ids, self.layout)
        if self._codes is None:
            self._set_codes(var)
        var = var.copy(deep=False, data=self._codes)
        if old is not None:  # keep user attrs and the encoding; codes and their attrs are new
            extra = {
                k: v for k, v in old.attrs.items() if k not in ("flag_values", "flag_meanings", "comment")
            }
            var.attrs = extra | var.attrs
            var.encoding = {k: v for k, v in old.encoding.items() if k not in ("dtype", "_FillValue")}
        return {self.name: var}

    def isel(self, indexers: Mapping[Any, Any]) -> NetworkIndex | None:
        if getattr(self.network, "tiled", False) and any(d in indexers for d in self.dims):
            return None  # a tiled network is rebuilt from its sliced (lazy) codes when next used
        positions = []
        layout = self.layout
        for axis, (dim, size) in enumerate(zip(self.dims, self.network.shape, strict=True)):
            indexer = indexers.get(dim, slice(None))
            if isinstance(indexer, xr.Variable) or np.ndim(indexer) == 0 and not isinstance(indexer, slice):
                return None  # a dim is dropped or vectorised: no grid left to index
            positions.append(np.arange(size)[indexer])
            if len(self.dims) == 2 and positions[-1].size > 1 and (np.diff(positions[-1]) < 0).all():
                layout = layout.reversed(axis)  # the axis now runs the other way
        if all(
            p.size == s and (p == np.arange(s)).all()
            for p, s in zip(positions, self.network.shape, strict=True)
        ):
            return self
        subset = subset_network(self.network, tuple(positions))
        return type(self)(subset, self.name, self.dims, layout=layout)

    def roll(self, shifts: Mapping[Any, int]) -> NetworkIndex | None:
        return self.isel({d: np.roll(np.arange(self.network.shape[self.dims.index(d)]), s)
                          for d, s in shifts.items() if d in self.dims})  # fmt: skip

    def equals(self, other: xr.Index, *, exclude=None) -> bool:
        if not isinstance(other, NetworkIndex):
            return False
        return self.network is other.network or self.network == other.network

    def join(self, other: NetworkIndex, how: str = "inner") -> NetworkIndex:
        if self.equals(other):
            return self
        raise alignment_error(self.name)

    def reindex_like(self, other: NetworkIndex) -> dict:
        if self.equals(other):
            return {}
        raise alignment_error(self.name)

    @classmethod
    def concat(cls, indexes, dim, positions=None) -> NetworkIndex:
        first = indexes[0]
        if dim in first.dims:
            raise NotImplementedError(
                f"cannot concatenate river networks along their spatial dim {dim!r}; "
                "drop the network first (obj.hydro.drop_network()) and attach the merged one"
            )
        if not all(first.equals(other) for other in indexes[1:]):
            raise alignment_error(first.name)
        return first

    def rename(self, name_dict: Mapping[Any, Hashable], dims_dict: Mapping[Any, Hashable]) -> NetworkIndex:
        name = name_dict.get(self.name, self.name)
        dims = tuple(dims_dict.get(d, d) for d in self.dims)
        if (name, dims) == (self.name, self.dims):
            return self
        return type(self)(
            self.network, name, dims, self.from_codes, self._codes, self._convention, self.layout
        )

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"_codes": None, "_convention": None, "layout": NORTH_UP} | state)
        if isinstance(self._codes, np.ndarray):  # unpickled arrays are writable; the coordinate shares it
            self._codes.flags.writeable = False

    def _copy(self, deep: bool = True, memo=None) -> NetworkIndex:  # network and codes are immutable
        return type(self)(
            self.network, self.name, self.dims, self.from_codes, self._codes, self._convention, self.layout
        )

    def _repr_inline_(self, max_width: int) -> str:
        return f"NetworkIndex {self.network!r}"[:max_width]


def alignment_error(name: Hashable, unindexed: bool = False) -> Exception:
    """The error raised when objects on different networks meet (``unindexed``: one lost its index)."""
    error = getattr(xr, "AlignmentError", ValueError)
    why = (
        "; one of them holds the coordinate without its index (e.g. reopened from a file) "
        "and its codes encode another network"
        if unindexed
        else ""
    )
    return error(
        f"cannot align objects attached to different river networks (coordinate {name!r}{why}); "
        "attach the same network to both (obj.hydro.assign_network(network)) or drop one "
        "(obj.hydro.drop_network())"
    )


def _read_only(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    values.flags.writeable = False
    return values
