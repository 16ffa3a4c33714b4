"""The immutable river network: topology compiled once from flow directions."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

import numpy as np

from .conventions import INVALID, MISSING, PIT, STEPS, Convention, get_convention
from .errors import CycleError, GridMismatchError, InvalidCodeError, bad_codes_text, cycle_text
from .layout import NORTH_UP, Layout, layout_of
from .threads import CORES

_T = TypeVar("_T")
_KEEP: Any = object()  # with_grid: keep the network's CRS


class RiverNetwork:
    """A river network: every cell drains to at most one downstream cell.

    Build one with :meth:`from_ldd`, :meth:`from_d8`, :meth:`from_cama`,
    :meth:`from_downstream` or :meth:`from_downstream_index` (which every
    convention parses to); never call the constructor directly. The topology is
    stored compactly: the flat grid index of every network cell in topological
    order (upstream cells first, consecutive cells mostly neighbours along a
    river) and the flat index of its downstream cell, both int32 where the grid
    allows (8 bytes per cell; int64 from 2**31 grid cells). The one-byte mask of
    the grid is made when first asked for; building costs about a quarter of a
    byte per grid cell beside the codes (memory follows the river, not the grid).

    Examples
    --------
    >>> import numpy as np
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 6, 2], [9, 8, 5]]))
    >>> net
    <RiverNetwork: 2×3 grid, 6 cells, 1 outlets, 4 levels>
    >>> net.outlets
    array([5])
    """

    __slots__ = (
        "_shape",
        "_nodes",
        "_to",
        "_heads",
        "_n_levels",
        "_mask",
        "_coords",
        "_dims",
        "_ids",
        "_cache",
        "_crs",
        "_degrees",
    )

    def __init__(
        self,
        shape: tuple[int, ...],
        nodes: np.ndarray,
        to: np.ndarray,
        n_levels: int,
        mask: np.ndarray | None,
        dims: tuple[Hashable, ...] | None = None,
        coords: Mapping[Any, np.ndarray] | None = None,
        ids: np.ndarray | None = None,
        heads: np.ndarray | None = None,
        crs: Any = None,
        degrees: bool = False,
    ):
        heads = np.zeros(1, np.int64) if heads is None else heads
        for array in (nodes, to, heads) if mask is None else (nodes, to, mask, heads):
            array.setflags(write=False)
        self._shape = tuple(int(s) for s in shape)
        self._nodes = nodes
        self._to = to
        self._heads = heads
        self._n_levels = int(n_levels)
        self._cache: dict = {}  # derived arrays, computed once: see cached()
        self._mask = mask  # None: computed from the nodes when first asked for
        self._dims = dims
        self._coords = dict(coords or {})
        self._ids = ids
        self._crs = crs  # a pyproj.CRS or None (see the crs property)
        self._degrees = bool(degrees)  # no CRS, but the coordinates said degrees (CF units)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_ldd(
        cls, codes: Any, *, nodata: Any = None, wrap_x: bool = False, crs: Any = None
    ) -> RiverNetwork:
        """Build a network from PCRaster local drain directions.

        Keypad codes: 1 SW, 2 S, 3 SE, 4 W, 5 pit (outlet), 6 E, 7 NW, 8 N, 9 NE;
        255, NaN and masked cells (of a numpy masked array) are missing. A cell
        whose flow leaves the grid or enters a missing cell is an outlet.

        Parameters
        ----------
        codes : array-like or xarray.DataArray
            The LDD codes on a 2-D grid: integers of any size and byte order, or
            integral floats. A plain array is read north up: row 0
            is the northern edge, the first axis runs north to south, the
            second west to east. A DataArray is read by its coordinates (see
            :func:`~xhydro_accessor.layout.layout_of`): south-up (ascending
            ``y``/latitude), east-to-west and x-first (dims ``(x, y)``) grids
            are read right — 8 (north) points to the neighbour with the larger
            ``y`` — and stay in their stored order; dims that name no axis
            (and have no CF ``axis``/``units``) are read like a plain array.
            The dims and coordinates are kept: the network knows its grid.
        nodata : number or sequence of numbers, optional
            Further code values meaning "missing" (e.g. a file's fill value;
            default: the DataArray's ``attrs["nodata"]``). NaN, and values outside
            the range of an integer dtype (a GDAL ``-3.4e38``), match no integer
            code; a non-integral value with integer codes raises
            :class:`InvalidCodeError` (it cannot mark any cell).
        wrap_x : bool, default False
            Flow leaving the east or west edge re-enters on the other side
            (global longitude grids). Flow never wraps north–south.
        crs : pyproj.CRS, str or int, optional
            The grid's coordinate reference system (anything
            :meth:`pyproj.CRS.from_user_input` reads). Default: the one the
            DataArray declares (:func:`xhydro_accessor.geometry.crs_of`), else
            none. It decides the geometry (cell areas, lengths).

        Raises
        ------
        ValueError
            A DataArray whose orientation cannot be told: both dims look like
            the same axis, or a spatial coordinate is not monotonic.

        Examples
        --------
        >>> import numpy as np
        >>> RiverNetwork.from_ldd(np.array([[3, 2], [6, 5]])).n_nodes
        4

        A south-up grid: 8 (north) flows to the row of larger latitude, here row 1.

        >>> import xarray as xr
        >>> da = xr.DataArray([[8], [5]], dims=("lat", "lon"), coords={"lat": [10.0, 20.0]})
        >>> RiverNetwork.from_ldd(da).downstream_grid()
        array([[ 1],
               [-1]])
        """
        return cls._from_directions(codes, "ldd", nodata, wrap_x, crs)

    @classmethod
    def from_d8(
        cls,
        codes: Any,
        convention: str | Convention = "esri",
        *,
        nodata: Any = None,
        wrap_x: bool = False,
        crs: Any = None,
        layout: Layout | None = None,
    ) -> RiverNetwork:
        """Build a network from D8 flow directions.

        ``convention`` names a code table of the registry
        (:mod:`xhydro_accessor.conventions`): ``"esri"`` — 1 E, 2 SE, 4 S, 8 SW,
        16 W, 32 NW, 64 N, 128 NE, 0 pit, 247 and 255 missing; ``"merit"`` (MERIT
        Hydro) — the ESRI codes with 0 and 255 (inland pit) as outlets and 247
        missing; ``"taudem"`` — 1 E, 2 NE, 3 N, 4 NW, 5 W, 6 SW, 7 S, 8 SE, with 0,
        255 and -32768 missing; ``"grass"`` (``r.watershed`` drainage) — 1 NE,
        2 N … 8 E, negative codes outlets, 0 missing; ``"whitebox"`` (D8 pointer)
        — 1 NE, 2 E, 4 SE … 128 N, 0 pit, −32768 missing; ``"ldd"``; or a
        :class:`~xhydro_accessor.Convention` of your own. NaN is always missing.
        ``layout`` (:class:`~xhydro_accessor.layout.Layout`) says how the grid is
        stored when the codes cannot (the network coordinate's codec passes the
        layout of the object holding it); default: read from a DataArray's
        coordinates, north up for plain arrays. Other parameters as in :meth:`from_ldd`.

        Examples
        --------
        >>> import numpy as np
        >>> RiverNetwork.from_d8(np.array([[1, 4], [247, 0]])).outlets
        array([3])
        >>> RiverNetwork.from_d8(np.array([[8, 6], [0, -1]]), "grass").downstream_grid()
        array([[ 1,  3],
               [-2, -1]])
        """
        return cls._from_directions(codes, convention, nodata, wrap_x, crs, layout)

    @classmethod
    def from_cama(cls, nextx: Any, nexty: Any, *, crs: Any = None) -> RiverNetwork:
        """Build a network from CaMa-Flood ``nextxy``: 1-based downstream (x, y).

        -9 (river mouth) and -10 (inland outlet) are outlets; -9999 is missing.
        A cell draining into a missing cell or into itself is an outlet. The
        indices count along the stored axes (x along the x dim: the first of an
        x-first DataArray, see :func:`~xhydro_accessor.layout.layout_of`).
        ``crs`` as in :meth:`from_ldd`.

        Examples
        --------
        >>> import numpy as np
        >>> nextx = np.array([[2, -9, -9999]])
        >>> nexty = np.array([[1, -9, -9999]])
        >>> RiverNetwork.from_cama(nextx, nexty).n_nodes
        2
        """
        dims, coords, crs, degrees = _grid_of(nextx, crs)
        transposed = dims is not None and len(dims) == 2 and layout_of(nextx).transposed
        nextx, nexty = _as_integers(nextx, "nextx"), _as_integers(nexty, "nexty")
        if transposed:  # an x-first grid: nextx counts along the first axis
            nextx, nexty = nexty, nextx
        if nextx.shape != nexty.shape or nextx.ndim != 2:
            raise GridMismatchError(
                f"nextx and nexty must be 2-D arrays of one shape, got {nextx.shape} and {nexty.shape}"
            )
        ny, nx = nextx.shape
        itype = index_dtype(nextx.size)
        down = ((nexty.astype(np.int64) - 1) * nx + (nextx - 1)).astype(itype).ravel()
        missing = (nextx == -9999).ravel()
        outlet = np.isin(nextx, (-9, -10)).ravel()
        flows = ~missing & ~outlet
        in_grid = (nextx >= 1) & (nextx <= nx) & (nexty >= 1) & (nexty <= ny)
        bad = flows & ~in_grid.ravel()
        if bad.any():
            where = np.flatnonzero(bad)
            bad_x, bad_y = nextx.ravel()[where].tolist(), nexty.ravel()[where].tolist()
            pairs = sorted(set(zip(bad_x, bad_y, strict=True)))
            raise InvalidCodeError(
                f"{where.size} cells have nextxy outside the grid or the codes "
                f"(-9, -10 outlets, -9999 missing): (nextx, nexty) values {pairs[:10]}; "
                f"first at (row, col) {_rowcol(where[0], nx)}"
            )
        down[outlet] = -1
        down[missing] = -2
        net = cls.from_downstream_index(down, (ny, nx))  # into a missing cell or itself: an outlet
        return net.with_grid(dims, coords, crs=crs, degrees=degrees)

    @classmethod
    def from_downstream_index(
        cls,
        down: Any,
        shape: tuple[int, ...],
        *,
        dims: tuple[Hashable, ...] | None = None,
        coords: Mapping[Any, Any] | None = None,
        crs: Any = None,
    ) -> RiverNetwork:
        """Build a network from the flat index of each cell's downstream cell.

        Every convention parses to this (pyflwdir's design): a grid network from
        ``downstream_grid()``-style indices, a vector network from positions.

        Parameters
        ----------
        down : array-like of int
            One value per cell of ``shape`` (flat, row-major, or of shape
            ``shape``): ``0 <= down[i] < size`` the flat index of the cell ``i``
            drains to; ``-1`` an outlet; any other negative value a cell off the
            network. A cell draining into itself or into a cell off the network
            is an outlet.
        shape : tuple of int
            ``(ny, nx)`` for a grid, ``(n,)`` for a vector network.
        dims, coords, crs : optional
            The grid's dims, dimension coordinates and CRS (as in :meth:`from_ldd`).

        Raises
        ------
        InvalidCodeError
            Non-integer values or indices ``>= size``, naming the first cell.
        GridMismatchError
            ``down`` has not ``prod(shape)`` values.
        CycleError
            The indices contain a cycle.

        Examples
        --------
        >>> import numpy as np
        >>> net = RiverNetwork.from_downstream_index([1, 3, 3, -1, -2, 3], (2, 3))
        >>> net.downstream_grid()
        array([[ 1,  3,  3],
               [-1, -2,  3]])
        >>> RiverNetwork.from_downstream_index([1, 6], (2,))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        xhydro_accessor.errors.InvalidCodeError: 1 downstream indices are not flat indices of the 2 cells ...
        """
        shape = tuple(int(n) for n in np.atleast_1d(shape))
        if len(shape) not in (1, 2) or min(shape, default=0) < 0:
            raise GridMismatchError(f"shape must be (ny, nx) or (n,), got {shape}")
        values = np.asarray(getattr(down, "values", down))
        if values.dtype.kind == "f":
            _check_integral(values, "downstream indices")
        elif values.dtype.kind not in "iu":
            raise InvalidCodeError(f"downstream indices must be integers, got dtype {values.dtype}")
        size = int(np.prod(shape))
        if values.size != size:
            raise GridMismatchError(f"{values.size} downstream indices for a grid of {size} cells {shape}")
        values = values.reshape(-1).astype(np.int64)
        bad = np.flatnonzero(values >= size)
        if bad.size:
            where = _rowcol(bad[0], shape[-1]) if len(shape) == 2 else int(bad[0])
            raise InvalidCodeError(
                f"{bad.size} downstream indices are not flat indices of the {size} cells nor negative "
                f"(outlet -1, off the network < -1): values {np.unique(values[bad])[:10].tolist()}, "
                f"first at {'(row, col) ' if len(shape) == 2 else 'cell '}{where}"
            )
        off = values < -1
        flows = values >= 0
        outlet = flows.copy()
        outlet[flows] = off[values[flows]] | (values[flows] == np.flatnonzero(flows))
        result = np.where(off, -2, np.where(outlet, -1, values)).astype(index_dtype(size))
        coords = {d: np.asarray(v) for d, v in (coords or {}).items()}
        net = cls._from_down(result, shape, dims, coords)
        return net if crs is None else net.with_grid(dims, coords, crs=crs)

    @classmethod
    def from_downstream(cls, downstream_ids: Any, ids: Any = None, *, outlet: Any = -1) -> RiverNetwork:
        """Build a vector (graph) network from each node's downstream node *label*.

        Parameters
        ----------
        downstream_ids : 1-D array-like or xarray.DataArray
            Label of each node's downstream node; ``outlet`` (or the node's own
            label) marks an outlet.
        ids : 1-D array-like, optional
            The node labels: unique, not NaN, not ``outlet``. Taken from the
            DataArray's coordinate when ``downstream_ids`` is one. With labels, a
            field given with the network in the xarray layer is matched to the
            nodes by its node coordinate (reordered when it lists the same labels
            in another order, an error when they differ); without, by position
            (``downstream_ids`` are then positions ``0..n-1``).
        outlet : scalar, default -1
            The sentinel label of "no downstream node".

        Raises
        ------
        InvalidCodeError
            Repeated, NaN or sentinel ids, NaN or unknown downstream ids.

        Examples
        --------
        >>> net = RiverNetwork.from_downstream(["b", "c", "", "c"], ids=["a", "b", "c", "d"], outlet="")
        >>> net.outlets
        array([2])
        """
        dims, coords, _, _ = _grid_of(downstream_ids)
        if ids is None and dims is not None and dims[0] in coords:
            ids = coords[dims[0]]
        downstream_ids = np.asarray(getattr(downstream_ids, "values", downstream_ids))
        if downstream_ids.ndim != 1:
            raise GridMismatchError(f"downstream_ids must be 1-D, got shape {downstream_ids.shape}")
        n = downstream_ids.size
        labelled = ids is not None
        ids = np.arange(n) if ids is None else np.asarray(getattr(ids, "values", ids))
        if ids.shape != downstream_ids.shape:
            raise GridMismatchError(f"ids has shape {ids.shape}, downstream_ids {downstream_ids.shape}")
        for name, values in (("ids", ids), ("downstream_ids", downstream_ids)):
            nan = np.flatnonzero(_is_nan(values))
            if nan.size:
                raise InvalidCodeError(
                    f"{name} hold NaN at node {int(nan[0])}: every node needs a label"
                    + ("" if name == "ids" else f" (outlets: the sentinel {outlet!r})")
                )
        if n and (ids == outlet).any():
            raise InvalidCodeError(
                f"node {int(np.flatnonzero(ids == outlet)[0])} is labelled with the outlet sentinel "
                f"{outlet!r}: pass another outlet="
            )
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        if n and (sorted_ids[1:] == sorted_ids[:-1]).any():
            dup = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]]
            raise InvalidCodeError(f"ids are not unique: {np.unique(dup)[:10].tolist()} repeat")
        is_outlet = downstream_ids == outlet
        pos = np.searchsorted(sorted_ids, downstream_ids[~is_outlet]) if n else np.array([], int)
        pos = np.minimum(pos, max(n - 1, 0))
        found = sorted_ids[pos] == downstream_ids[~is_outlet] if n else np.array([], bool)
        if not found.all():
            unknown = np.unique(downstream_ids[~is_outlet][~found])
            raise InvalidCodeError(
                f"{(~found).sum()} downstream ids are neither node ids nor the outlet "
                f"sentinel {outlet!r}: {unknown[:10].tolist()}"
            )
        down = np.full(n, -1, index_dtype(n))
        down[~is_outlet] = order[pos]
        down[down == np.arange(n)] = -1
        net = cls._from_down(down, (n,), dims, coords)
        net._ids = ids if labelled else None  # unlabelled: fields line up by position
        return net

    # ------------------------------------------------------------ construction
    @classmethod
    def _from_directions(cls, codes, convention, nodata, wrap_x, crs=None, layout=None) -> RiverNetwork:
        from .kernels.compact import compact_directions

        dims, coords, crs, degrees = _grid_of(codes, crs)
        if layout is None:
            layout = layout_of(codes) if dims is not None and len(dims) == 2 else NORTH_UP
        conv = layout.orient(d8_convention(convention))
        if not isinstance(wrap_x, bool | np.bool_):
            raise TypeError(f"wrap_x must be True or False, got {wrap_x!r}")
        if nodata is None:
            nodata = getattr(codes, "attrs", {}).get("nodata")
        data = codes.data if hasattr(codes, "dims") else codes  # a DataArray's array (not numpy's buffer)
        if type(data).__module__.startswith("dask.") and data.ndim == 2 and max(map(len, data.chunks)) > 1:
            from .tiling import from_codes  # chunked across space: tiles (Barnes 2017)

            wrap = bool(wrap_x)
            tiled = from_codes(data, direction_indices(conv, nodata), conv, wrap and layout.transposed,
                               wrap and not layout.transposed)  # fmt: skip
            return tiled.with_grid(dims, coords, crs=crs, degrees=degrees)  # type: ignore[return-value]
        codes = getattr(codes, "values", codes)
        masked = np.ma.getmaskarray(codes) if np.ma.isMaskedArray(codes) else None
        codes = np.asarray(np.ma.getdata(codes))
        if codes.ndim != 2:
            raise GridMismatchError(f"flow directions must be a 2-D grid, got shape {codes.shape}")
        wrap = bool(wrap_x)
        bits, prefix = _network_bits(codes, conv, nodata, masked)
        down = np.empty(int(prefix[-1]), index_dtype(int(prefix[-1])))
        k = 0
        for rows, direction in _direction_blocks(codes, conv, nodata, masked, prefix):
            k = compact_directions(
                direction, rows.start, codes.shape[0], codes.shape[1], wrap and not layout.transposed,
                wrap and layout.transposed, bits, prefix, k, down,
            )  # fmt: skip
        held = [down]  # _from_compact frees it when done with it
        del down  # in-degrees of D8 cells are at most 8: one byte each
        net = cls._from_compact(held, bits, prefix, codes.shape, dims, coords, np.uint8)
        return net.with_grid(dims, coords, crs=crs, degrees=degrees)

    @classmethod
    def _from_down(cls, down, shape, dims, coords) -> RiverNetwork:
        from .kernels.compact import compact_down, mark_down, word_prefix

        bits = np.zeros(-(-down.size // 64), np.uint64)
        mark_down(down, bits)
        prefix = word_prefix(bits)
        compact = np.empty(int(prefix[-1]), index_dtype(int(prefix[-1])))
        if (bad := compact_down(down, bits, prefix, compact)) >= 0:  # a bug of the caller
            raise ValueError(f"cell {bad} drains into {down[bad]}, a cell off the network")
        held = [compact]
        del compact
        return cls._from_compact(held, bits, prefix, shape, dims, coords, np.int32)

    @classmethod
    def _from_compact(cls, held, bits, prefix, shape, dims, coords, degree_dtype) -> RiverNetwork:
        """The network of the compact downstream indices of the cells whose bits are set
        (see :mod:`.kernels.compact`), in memory for its cells only: at most 14 bytes per
        cell (int32 indices) beside the bits. ``held`` is a list holding the indices,
        emptied here so they are freed once used."""
        from .kernels import compact
        from .kernels.topology import section_starts, sort_by_section, thread_sections

        down = held.pop()
        in_degree = np.zeros(down.size, degree_dtype)
        emitted = np.iinfo(degree_dtype).max
        order, n_levels = compact.topological_order(down, in_degree, emitted)
        if order.size < down.size:
            raise _cycle_error(down, in_degree, emitted, bits, prefix, shape)
        del in_degree
        to = down[order]
        del down
        heads = np.zeros(1, np.int64)
        if CORES >= 2 and order.size >= _MIN_SPLIT:  # as kernels.topology.split_for_threads
            section = thread_sections(order, to, order.size, CORES)
            heads = section_starts(section, CORES + 2)[: CORES + 1]
            order = sort_by_section(section, CORES + 2, order)
            to = sort_by_section(section, CORES + 2, to)
            del section
        itype = index_dtype(int(np.prod(shape)))
        flat = compact.flat_indices(bits, itype)
        del bits, prefix
        nodes = order if order.dtype == itype else np.empty(order.size, itype)
        compact.gather(flat, order, nodes)
        del order
        to = to if to.dtype == itype else to.astype(itype)
        compact.gather(flat, to, to)
        return cls(shape, nodes, to, n_levels, None, dims, coords, heads=heads)

    # ------------------------------------------------------------------- cache
    def cached(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """A value derived from the network, computed by ``compute()`` once and kept.

        The network is immutable, so anything computed from it alone (outlets,
        level orders, step lengths, arrays converted to a device) stays valid
        as long as the network lives. ``key`` names the value: a string or a
        tuple (module name first, then e.g. library and device), unique to
        what ``compute`` returns. Copies made by :meth:`with_grid` start empty.

        Examples
        --------
        >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
        >>> net.cached("n_sources", lambda: net.sources.size)
        1
        """
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = compute()
            return value

    # -------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape ``(ny, nx)``, or ``(n_nodes,)`` for a vector network."""
        return self._shape

    @property
    def n_nodes(self) -> int:
        """Number of cells on the network."""
        return int(self._nodes.size)

    @property
    def n_levels(self) -> int:
        """Number of cells on the longest flow path (levels of the topological order)."""
        return self._n_levels

    @property
    def nodes(self) -> np.ndarray:
        """Flat grid index of every network cell, in topological order (upstream first)."""
        return self._nodes

    @property
    def downstream(self) -> np.ndarray:
        """Flat grid index of each cell's downstream cell (aligned with :attr:`nodes`; -1 at outlets)."""
        return self._to

    @property
    def heads(self) -> np.ndarray:
        """Where :attr:`nodes` splits into independent heads and a tail (see :func:`.threads.run_pass`).

        Head ``h`` is ``nodes[heads[h]:heads[h + 1]]``, the tail ``nodes[heads[-1]:]``.
        """
        return self._heads

    @property
    def mask(self) -> np.ndarray:
        """Boolean grid: True on network cells (one byte per grid cell, made when first asked for)."""
        if self._mask is None:
            mask = np.zeros(int(np.prod(self._shape)), bool)
            mask[self._nodes] = True
            self._mask = _read_only(mask.reshape(self._shape))
        return self._mask

    @property
    def outlets(self) -> np.ndarray:
        """Flat grid indices of the outlets, ascending."""
        return self.cached("outlets", lambda: _read_only(np.sort(self._nodes[self._to < 0]).astype(np.intp)))

    @property
    def sources(self) -> np.ndarray:
        """Flat grid indices of the sources (cells without upstream cells), ascending."""

        def sources() -> np.ndarray:
            from .kernels.compact import not_targets

            found = not_targets(self._nodes, self._to, int(np.prod(self._shape)))
            return _read_only(np.sort(found).astype(np.intp, copy=False))

        return self.cached("sources", sources)

    @property
    def dims(self) -> tuple[Hashable, ...] | None:
        """Dimension names of the grid when built from a DataArray."""
        return self._dims

    @property
    def coords(self) -> dict[Hashable, np.ndarray]:
        """Coordinates of the grid's dims when built from a DataArray."""
        return dict(self._coords)

    @property
    def crs(self) -> Any:
        """The grid's coordinate reference system (:class:`pyproj.CRS`), or None.

        It travels with the network (subsets, pickling, the network coordinate,
        files) and decides the geometry: see :mod:`xhydro_accessor.geometry`.
        """
        return self._crs

    @property
    def degrees(self) -> bool:
        """Whether the grid's coordinates are latitude/longitude degrees without a CRS (CF units)."""
        return self._degrees

    @property
    def ids(self) -> np.ndarray | None:
        """Node labels of a vector network."""
        return self._ids

    def downstream_grid(self) -> np.ndarray:
        """Flat downstream index over the whole grid: -1 at outlets, -2 off the network."""
        out = np.full(int(np.prod(self._shape)), -2, np.int64)
        out[self._nodes] = self._to
        return out.reshape(self._shape)

    def with_grid(
        self,
        dims: tuple[Hashable, ...] | None,
        coords: Mapping[Any, np.ndarray],
        ids: np.ndarray | None = None,
        *,
        crs: Any = _KEEP,
        degrees: bool | None = None,
    ) -> RiverNetwork:
        """The same compiled topology on a grid with other dims, coordinates, ids or CRS.

        ``crs`` (default: kept) as in :meth:`from_ldd`; ``degrees`` (default:
        kept) says that coordinates without a CRS are latitude/longitude degrees.
        """
        from .geometry import as_crs

        crs = self._crs if crs is _KEEP else as_crs(crs)
        degrees = self._degrees if degrees is None else degrees
        return RiverNetwork(
            self._shape, self._nodes, self._to, self._n_levels, self._mask, dims, coords,
            self._ids if ids is None else ids, self._heads, crs, degrees and crs is None,
        )  # fmt: skip

    def in_order_of(self, ids: Any) -> RiverNetwork:
        """The same vector network with its nodes in the order of ``ids``, a permutation of :attr:`ids`.

        Raises :class:`GridMismatchError` naming the labels found on one side only.

        Examples
        --------
        >>> net = RiverNetwork.from_downstream([20, -1], ids=[10, 20])
        >>> net.in_order_of([20, 10]).downstream_grid()
        array([-1,  0])
        """
        if len(self._shape) != 1 or self._ids is None:
            raise GridMismatchError("only a vector network with node labels (ids=) can be reordered")
        ids = np.asarray(ids)
        pos = label_positions(self._ids, ids, "the network's nodes", "the field's")
        inverse = np.empty_like(pos)
        inverse[pos] = np.arange(pos.size)
        down = self.downstream_grid()[pos]
        down = np.where(down >= 0, inverse[np.maximum(down, 0)], down).astype(index_dtype(pos.size))
        coords = {d: ids for d in self._dims or () if d in self._coords}
        net = RiverNetwork._from_down(down, self._shape, self._dims, coords)
        net._ids = ids
        return net

    def check_grid(self, shape: tuple[int, ...], coords: Mapping[Any, Any] | None = None) -> None:
        """Raise :class:`GridMismatchError` unless a field's trailing grid matches."""
        if tuple(shape[len(shape) - len(self._shape) :]) != self._shape or len(shape) < len(self._shape):
            raise GridMismatchError(
                f"the field's trailing dims {tuple(shape)} do not end with the network's grid {self._shape}"
            )
        for name, values in (coords or {}).items():
            mine = self._coords.get(name)
            if mine is not None and not same_coordinates(values, mine):
                raise GridMismatchError(f"coordinate {name!r} of the field differs from the network's")

    # ------------------------------------------------------------------ dunder
    def __repr__(self) -> str:
        grid = "×".join(str(s) for s in self._shape)
        kind = "grid" if len(self._shape) == 2 else "nodes"
        dims = f", dims {self._dims}" if self._dims else ""
        return (
            f"<RiverNetwork: {grid} {kind}, {self.n_nodes} cells, "
            f"{int(np.count_nonzero(self._to < 0))} outlets, {self.n_levels} levels{dims}>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RiverNetwork):
            return NotImplemented
        return (
            self._shape == other._shape
            and self.n_nodes == other.n_nodes
            and all(map(np.array_equal, _by_cell(self), _by_cell(other)))
            and self._coords.keys() == other._coords.keys()
            and all(np.array_equal(v, other._coords[k]) for k, v in self._coords.items())
        )

    __hash__ = None  # type: ignore[assignment]

    def __dask_tokenize__(self):
        """A content hash of the topology, computed once: dask never hashes the arrays again."""

        def token() -> str:
            digest = hashlib.sha1(repr(self._shape).encode())
            for array in (self._nodes, self._to):
                digest.update(np.ascontiguousarray(array).view(np.uint8).data)
            return digest.hexdigest()

        return ("RiverNetwork", self.cached("dask_token", token))

    def __reduce__(self):
        return (
            _rebuild,
            (
                self._shape,
                self._nodes,
                self._to,
                self._n_levels,
                self._mask,
                self._dims,
                self._coords,
                self._ids,
                self._heads,
                self._crs,
                self._degrees,
            ),
        )


def same_coordinates(a: Any, b: Any) -> bool:
    """Whether two coordinate arrays name the same cells: equal, floats to the precision
    of the less precise one (a float32 copy of float64 coordinates matches).

    Floats differ by at most 4 units of that precision's epsilon (at least 1e-9) times the
    largest magnitude in the arrays: the rounding error of coordinates reaching it, also
    for those near zero.

    Examples
    --------
    >>> lat = np.array([51.84, 51.83, 51.82])
    >>> same_coordinates(lat, lat.astype(np.float32)), same_coordinates(lat, lat + 1e-4)
    (True, False)
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind not in "fc" or b.dtype.kind not in "fc":
        return bool(np.array_equal(a, b))
    eps = max(np.finfo(a.dtype).eps, np.finfo(b.dtype).eps)
    scale = max(np.abs(a).max(initial=0), np.abs(b).max(initial=0))
    return bool((np.abs(a - b) <= max(1e-9, 4 * eps) * scale).all())


def _by_cell(network: RiverNetwork) -> tuple[np.ndarray, np.ndarray]:
    """The network's cells ascending and their downstream cells (memory for its cells only)."""
    order = np.argsort(network.nodes)
    return network.nodes[order], network.downstream[order]


def _rebuild(*args):
    return RiverNetwork(*args)


# ---------------------------------------------------------------------- helpers
#: The smallest network whose topological order gets heads (one per core): under
#: it, handing work to threads costs more than it saves.
_MIN_SPLIT = 1 << 16


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def d8_convention(convention: str | Convention) -> Convention:
    """The registered code-table convention (or ``convention`` itself); ValueError otherwise."""
    conv = get_convention(convention)
    if conv.kind != "d8":
        use = "RiverNetwork.from_cama" if conv.kind == "nextxy" else "open_network or decode_network"
        raise ValueError(f"{conv.name!r} is not a table of direction codes ({conv.kind}): use {use}")
    return conv


def index_dtype(size: int):
    return np.int32 if size < 2**31 - 1 else np.int64


def _rowcol(flat: int, nx: int) -> tuple[int, int]:
    return (int(flat) // nx, int(flat) % nx)


def _grid_of(obj, crs: Any = None) -> tuple[tuple[Hashable, ...] | None, dict, Any, bool]:
    """Dims, dimension coordinates, CRS (``crs``, else the object's) and whether they say degrees.

    ``(None, {}, crs, False)`` for plain arrays.
    """
    from .geometry import as_crs, crs_of, says_degrees

    crs = as_crs(crs)
    dims = getattr(obj, "dims", None)
    if dims is None or not hasattr(obj, "coords"):
        return None, {}, crs, False
    coords = {d: np.asarray(obj.coords[d].values) for d in dims if d in obj.coords}
    if crs is None:
        crs = crs_of(obj)
    degrees = len(dims) == 2 and all(
        d in obj.coords and says_degrees(d, obj.coords[d].attrs, axis)
        for d, axis in zip(dims, "yx", strict=True)
    )
    return tuple(dims), coords, crs, degrees


def _is_nan(values: np.ndarray) -> np.ndarray:
    """NaN (or None) entries of a label array of any dtype."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in values.ravel()], bool)
    return np.zeros(values.shape, bool)


def label_positions(labels: np.ndarray, wanted: np.ndarray, have: str, want: str) -> np.ndarray:
    """Positions ``p`` with ``labels[p] == wanted``, ``wanted`` a permutation of ``labels``.

    Raises :class:`GridMismatchError` naming labels present on one side only (``have``
    and ``want`` name the sides) and repeated labels.
    """
    labels, wanted = np.asarray(labels), np.asarray(wanted)
    order = np.argsort(labels, kind="stable")
    pos = np.minimum(np.searchsorted(labels[order], wanted), max(labels.size - 1, 0))
    found = labels[order][pos] == wanted if labels.size else np.zeros(wanted.shape, bool)
    unknown = wanted[~found]
    absent = labels[~np.isin(labels, wanted)]
    repeated = np.unique(wanted)[np.unique(wanted, return_counts=True)[1] > 1] if wanted.size else wanted
    if unknown.size or absent.size or repeated.size or labels.size != wanted.size:
        raise GridMismatchError(
            f"node labels differ: {want} labels {unknown[:5].tolist()} are not among {have} "
            f"({unknown.size} in all), {have} {absent[:5].tolist()} are not among {want} "
            f"({absent.size} in all){f', repeated: {repeated[:5].tolist()}' if repeated.size else ''}"
        )
    return order[pos]


def _as_integers(values, name: str) -> np.ndarray:
    """Integer codes from ints or integral floats; NaN is not allowed here."""
    values = np.asarray(getattr(values, "values", values))
    if values.dtype.kind in "iu":
        return values
    if values.dtype.kind != "f":
        raise InvalidCodeError(f"{name} must hold integer codes, got dtype {values.dtype}")
    _check_integral(values, name)
    if np.isnan(values).any():
        raise InvalidCodeError(f"{name} holds NaN; use -9999 for missing cells")
    return values.astype(np.int64)


def _check_integral(values: np.ndarray, name: str) -> None:
    finite = values[np.isfinite(values)]
    fractional = finite[finite != np.round(finite)]
    if fractional.size:
        raise InvalidCodeError(
            f"{name} must be integral, found non-integer values {np.unique(fractional)[:10].tolist()}"
        )
    if np.isinf(values).any():
        raise InvalidCodeError(f"{name} holds infinite values")


#: Rows of codes turned into direction indices at once while building a network: about
#: this many cells (the temporaries of reading codes stay small beside the grid).
_BLOCK_CELLS = 1 << 20


def _direction_blocks(codes: np.ndarray, conv, nodata, masked: np.ndarray | None, prefix=None):
    """``(rows, direction indices)`` of blocks of rows, top to bottom; invalid codes
    raise the error :func:`_direction_indices` gives for the whole grid. With ``prefix``
    (see :func:`_network_bits`), only blocks holding network cells."""
    ny, nx = codes.shape
    step = max(1, _BLOCK_CELLS // max(nx, 1))
    for start in range(0, ny, step):
        rows = slice(start, min(start + step, ny))
        words = (rows.start * nx // 64, -(-rows.stop * nx // 64))
        if prefix is not None and prefix[words[0]] == prefix[words[1]]:
            continue  # no network cell: nothing to read
        try:
            block = _direction_indices(codes[rows], conv, nodata, None if masked is None else masked[rows])
        except InvalidCodeError:
            _direction_indices(codes, conv, nodata, masked)  # counts and the first cell over the grid
            raise
        yield rows, np.ascontiguousarray(block)


def _network_bits(codes: np.ndarray, conv, nodata, masked: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """One bit per grid cell, set on network cells, and the count before each 64-bit word
    (:mod:`.kernels.compact`), validating the codes."""
    from .kernels.compact import mark_directions, word_prefix

    bits = np.zeros(-(-codes.size // 64), np.uint64)
    for rows, direction in _direction_blocks(codes, conv, nodata, masked):
        mark_directions(direction, rows.start * codes.shape[1], bits)
    return bits, word_prefix(bits)


def _cycle_error(down, in_degree, emitted, bits, prefix, shape) -> CycleError:
    """The error naming the cycles of compact downstream indices (see
    :func:`.kernels.compact.topological_order`) and the cells of the first one."""
    from .kernels.compact import cycle_starts, flat_indices

    firsts = cycle_starts(down, in_degree, emitted)
    n_cells = int(np.count_nonzero((in_degree != 0) & (in_degree != emitted)))
    cycle = [int(firsts[0])]
    while (nxt := int(down[cycle[-1]])) != cycle[0] and len(cycle) < 8:
        cycle.append(nxt)
    flat = flat_indices(bits, np.int64)[cycle]
    path = [(_rowcol(i, shape[-1]) if len(shape) == 2 else int(i)) for i in flat]
    return CycleError(cycle_text(firsts.size, n_cells, path[0], path))


def _direction_indices(
    codes: np.ndarray, conv, nodata, masked: np.ndarray | None = None, check: bool = True
) -> np.ndarray:
    """Map codes to direction indices 0..7, PIT or MISSING (uint8), validating them
    (``check=False``: codes outside the table are left INVALID, for the caller to report).

    Missing: the convention's missing codes, NaN, ``masked`` cells and the ``nodata``
    values. A float ``nodata`` (NaN, a GDAL ``-3.4e38``) matches float codes exactly;
    for integer codes a non-integral ``nodata`` raises (no cell can hold it) and one
    outside the dtype's range matches nothing.
    """
    nodata_values = _nodata_values(nodata, codes.dtype, conv)
    missing = masked
    if codes.dtype.kind == "f":
        missing = np.isnan(codes) | np.isin(codes, nodata_values) | (False if masked is None else masked)
        _check_integral(np.where(missing, 0, codes), f"{conv.name} codes")
        huge = ~missing & (np.abs(codes) > 2.0**53) if codes.dtype.itemsize > 2 else missing[:0]
        if huge.any():
            raise InvalidCodeError(_bad_codes_message(codes[huge], codes, conv))
        codes = np.where(missing, 0, codes).astype(np.int64)
        nodata_values = []
    elif codes.dtype.kind not in "iu":
        raise InvalidCodeError(
            f"{conv.name} codes must be integers (or integral floats), got dtype {codes.dtype}"
        )
    table_codes = {**{c: STEPS.index(s) for c, s in conv.directions.items()},
                   **dict.fromkeys(conv.pits, PIT), **dict.fromkeys(conv.missing, MISSING),
                   **dict.fromkeys(nodata_values, MISSING)}  # fmt: skip
    info = np.iinfo(codes.dtype)
    table_codes = {c: i for c, i in table_codes.items() if info.min <= c <= info.max}
    if codes.size == 0:
        return np.zeros(codes.shape, np.uint8)
    if codes.dtype.itemsize == 1:  # one table lookup over all 256 byte values
        table = np.full(256, INVALID, np.uint8)
        for code, index in table_codes.items():
            table[code & 0xFF] = index
        direction = table[codes.view(np.uint8)]
    else:
        lo, hi = int(codes.min()), int(codes.max())
        if hi - lo <= 1 << 20:  # a table over the range of the codes
            table = np.full(hi - lo + 1, INVALID, np.uint8)
            for code, index in table_codes.items():
                if lo <= code <= hi:
                    table[code - lo] = index
            direction = table[codes.astype(np.int64) - lo]
        else:  # a wide range (e.g. an INT4 map's -2147483648): search the sorted codes
            keys = np.array(sorted(table_codes), codes.dtype)
            values = np.array([table_codes[int(k)] for k in keys], np.uint8)
            pos = np.minimum(np.searchsorted(keys, codes), keys.size - 1)
            direction = np.where(keys[pos] == codes, values[pos], np.uint8(INVALID))
    if missing is not None:
        direction[missing] = MISSING
    if check and (direction == INVALID).any():
        raise InvalidCodeError(_bad_codes_message(codes[direction == INVALID], codes, conv))
    return direction


def direction_indices(conv: Convention, nodata: Any) -> Callable[[Any], np.ndarray]:
    """``block -> direction indices`` of codes of ``conv`` (INVALID left where a code is
    outside it): what each tile of a :class:`~xhydro_accessor.tiling.TiledNetwork` runs."""
    return functools.partial(_block_directions, conv=conv, nodata=nodata)


def _block_directions(block: Any, conv: Convention, nodata: Any) -> np.ndarray:
    return _direction_indices(np.asarray(block), conv, nodata, None, check=False)


def _nodata_values(nodata, dtype: np.dtype, conv) -> list:
    """The ``nodata`` values as floats (float codes) or ints (integer codes; see
    :func:`_direction_indices`)."""
    values = np.atleast_1d(np.asarray(nodata if nodata is not None else [], dtype=object)).tolist()
    try:
        floats = [float(v) for v in values]
    except (TypeError, ValueError):
        raise InvalidCodeError(f"nodata must be numbers, got {values[:10]}") from None
    if dtype.kind == "f":
        return floats
    fractional = [v for v in floats if np.isfinite(v) and not v.is_integer()]
    if fractional:
        raise InvalidCodeError(
            f"nodata {fractional[0]!r} is not an integer: no cell of {conv.name} codes of dtype "
            f"{dtype} can hold it (a truncated {int(fractional[0])} would drop a code)"
        )
    return [int(v) for v in values if np.isfinite(float(v))]


def _bad_codes_message(bad: np.ndarray, codes: np.ndarray, conv) -> str:
    first = np.flatnonzero(np.isin(codes.ravel(), bad[:1]))[0]
    return bad_codes_text(bad.size, np.unique(bad), _rowcol(first, codes.shape[-1]), conv)
