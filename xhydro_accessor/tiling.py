"""Spatially tiled river networks (Barnes 2017): a grid chunked across space, never held whole.

A :class:`TiledNetwork` is built from a spatially chunked dask array of flow
directions (:meth:`RiverNetwork.from_ldd <xhydro_accessor.RiverNetwork.from_ldd>`,
``from_d8``, ``open_network(..., chunks=)``, or a network coordinate read lazily):
each chunk is a *tile*. Inside dask tasks each tile maps its codes to direction
indices and, with a one-cell halo of its neighbours' (:func:`dask.array.overlap.overlap`),
builds its own topology (:mod:`xhydro_accessor.kernels.tiles`): in-tile links, and for
each cell leaving the tile the neighbour cell it enters. Only a summary per tile comes
back: for each network cell on the tile's edge, where its in-tile path leads (the exit
cell it leaves by, and the neighbour cell an exit enters) — the *perimeter graph*,
whose size is the tiles' perimeter, not the grid. Validation is the in-memory
builder's, with the same messages: invalid codes, cycles inside a tile and cycles
across tiles (the perimeter graph's), flow off the grid or into missing cells (an
outlet); ``wrap_x`` wraps the halo of the first and last column of tiles.

Operations on such networks run in :mod:`xhydro_accessor.backends.tiled`.

Examples
--------
>>> import numpy as np, dask.array as da
>>> from xhydro_accessor import RiverNetwork, accumulate
>>> codes = da.from_array(np.array([[6, 6, 6, 2], [6, 6, 6, 5]]), chunks=1)
>>> net = RiverNetwork.from_ldd(codes)
>>> net
<TiledNetwork: 2×4 grid in 8 tiles, 8 perimeter cells>
>>> accumulate(net, da.ones((2, 4), chunks=2, dtype=int)).compute()
array([[1, 2, 3, 4],
       [1, 2, 3, 8]])
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

import dask
import dask.array as da
import numpy as np

from .conventions import INVALID, MISSING, STEPS
from .errors import CycleError, GridMismatchError, InvalidCodeError, bad_codes_text, cycle_text
from .kernels.tiles import EXIT, exit_labels, exit_path, tile_down, tile_order
from .kernels.topology import find_cycles, topological_order

_KEEP: Any = object()
_NO_TARGET = np.empty(0, np.int64)
_NO_VALUES = np.empty(0)


class TiledNetwork:
    """A river network over a spatially chunked grid, held as tiles in dask tasks.

    Built by :meth:`RiverNetwork.from_ldd <xhydro_accessor.RiverNetwork.from_ldd>`
    (``from_d8``) from a dask array chunked across space. Holds the lazy halo'ed
    direction indices of the tiles (:attr:`ext`) and the small, in-memory perimeter
    graph (:attr:`graph`). Operations on dask fields run tile by tile
    (:mod:`xhydro_accessor.backends.tiled`); the per-cell views of a
    :class:`~xhydro_accessor.RiverNetwork` (``nodes``, ``mask``…) are not kept:
    :func:`xhydro_accessor.backends.tiled.gather` builds the whole network in memory.
    """

    tiled = True
    ids = None

    def __init__(
        self, ext, chunks, wrap, graph, token, dims=None, coords=None, crs=None, degrees=False, tiles=None
    ):
        self.ext = ext  # dask array: each tile's direction indices with a one-cell halo
        self.tiles = tiles  # optional: each tile's topology, persisted (backends.tiled.persist)
        self.chunks = tuple(tuple(int(c) for c in cs) for cs in chunks)
        self.wrap = wrap  # (rows, cols)
        self.graph = graph  # the perimeter graph: see _perimeter_graph
        self._token = token
        self.shape = tuple(sum(c) for c in self.chunks)
        self.dims = dims
        self._coords = dict(coords or {})
        self.crs = crs
        self.degrees = bool(degrees)

    @property
    def coords(self) -> dict:
        """Coordinates of the grid's dims when built from a DataArray."""
        return dict(self._coords)

    def with_grid(
        self,
        dims: tuple[Hashable, ...] | None,
        coords: Mapping[Any, np.ndarray],
        ids: Any = None,
        *,
        crs: Any = _KEEP,
        degrees: bool | None = None,
    ) -> TiledNetwork:
        """The same tiled network on a grid with other dims, coordinates or CRS."""
        from .geometry import as_crs

        crs = self.crs if crs is _KEEP else as_crs(crs)
        degrees = self.degrees if degrees is None else degrees
        return TiledNetwork(
            self.ext,
            self.chunks,
            self.wrap,
            self.graph,
            self._token,
            dims,
            coords,
            crs,
            degrees and crs is None,
            self.tiles,
        )

    def check_grid(self, shape: tuple[int, ...], coords: Mapping[Any, Any] | None = None) -> None:
        """Raise :class:`GridMismatchError` unless a field's trailing grid matches."""
        if len(shape) < 2 or tuple(shape[-2:]) != self.shape:
            raise GridMismatchError(
                f"the field's trailing dims {tuple(shape)} do not end with the network's grid {self.shape}"
            )
        for name, values in (coords or {}).items():
            mine = self._coords.get(name)
            if mine is not None and not np.allclose(
                np.asarray(values, float), np.asarray(mine, float), rtol=1e-6
            ):
                raise GridMismatchError(f"coordinate {name!r} of the field differs from the network's")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"{name!r} is not available on a TiledNetwork (a network kept as spatial tiles): tiles run "
            "accumulate, accumulate_downstream, the moves, upstream_area, shreve, strahler and hack, and "
            "the catalogue's passes (backends.tiled_catalogue): catchments, basins, the masks, distances "
            "(to outlet, to source, from points) and catchment_statistics (every how) at locations "
            "(snapped too); for the rest, gather the network into memory with "
            "xhydro_accessor.backends.tiled.gather(network)"
        )

    @property
    def n_tiles(self) -> int:
        return len(self.chunks[0]) * len(self.chunks[1])

    def __repr__(self) -> str:
        grid = "×".join(str(s) for s in self.shape)
        dims = f", dims {self.dims}" if self.dims else ""
        cells = self.graph["gid"].size
        return f"<TiledNetwork: {grid} grid in {self.n_tiles} tiles, {cells} perimeter cells{dims}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TiledNetwork):
            return NotImplemented
        return self._token == other._token

    __hash__ = None  # type: ignore[assignment]

    def __dask_tokenize__(self):
        return ("TiledNetwork", self._token)


# ----------------------------------------------------------------------- build
def spatially_chunked(array: Any, grid_ndim: int = 2) -> bool:
    """Whether a dask array has more than one chunk along a trailing (grid) dim."""
    if grid_ndim != 2 or not type(array).__module__.startswith("dask."):
        return False
    chunks: Any = array.chunks
    return len(chunks) >= 2 and any(len(c) > 1 for c in chunks[-2:])


def from_codes(
    codes: da.Array, directions: Callable, conv: Any, wrap_rows: bool, wrap_cols: bool
) -> TiledNetwork:
    """Build a tiled network from a 2-D dask array of codes, validating it: one pass over
    the tiles, their summaries gathered into the perimeter graph.

    ``directions(block)`` maps a block of codes to direction indices, leaving INVALID
    where a code is outside the convention ``conv`` (named in the error).
    """
    if codes.ndim != 2:
        raise GridMismatchError(f"flow directions must be a 2-D grid, got shape {codes.shape}")
    ext = halo_directions(codes, directions, wrap_rows, wrap_cols)
    shape = tuple(int(s) for s in codes.shape)
    wrap = (bool(wrap_rows), bool(wrap_cols))
    ext_blocks, code_blocks = ext.to_delayed(), codes.to_delayed()
    tiles = origins(codes.chunks)
    summaries = [
        dask.delayed(_summary, pure=True)(ext_blocks[i, j], code_blocks[i, j], r0, c0, shape, wrap)
        for (i, j), (r0, c0) in tiles
    ]
    summaries = dask.compute(*summaries)

    def paths(t: int, local: np.ndarray) -> tuple:
        (i, j), (r0, c0) = tiles[t]
        down = links(np.asarray(ext.blocks[i, j].compute()), r0, c0, shape, wrap)
        cells, least = np.array([exit_path(down, k) for k in local]).T
        w = codes.chunks[1][j]
        return cells, (r0 + least // w) * shape[1] + c0 + least % w

    graph = _perimeter_graph(
        summaries, shape, conv, lambda flat: _down_at(ext, codes.chunks, shape, wrap, flat), paths
    )
    return TiledNetwork(ext, codes.chunks, wrap, graph, dask.base.tokenize(ext.name, wrap))


def halo_directions(codes: da.Array, directions: Callable, wrap_rows: bool, wrap_cols: bool) -> da.Array:
    """Direction indices (INVALID kept) of each tile with a one-cell halo: MISSING beyond
    the grid, the other edge's across a wrapped axis."""
    dirs = da.map_blocks(directions, codes, dtype=np.uint8)
    boundary = {0: "periodic" if wrap_rows else MISSING, 1: "periodic" if wrap_cols else MISSING}
    return da.overlap.overlap(dirs, depth={0: 1, 1: 1}, boundary=boundary)


def _at(flat: int, nx: int) -> tuple[int, int]:
    """(row, col) of a flat index."""
    return int(flat) // nx, int(flat) % nx


def origins(chunks) -> list:
    """``((i, j), (row, col))`` of every tile, row-major."""
    rows, cols = (np.cumsum((0, *c[:-1])) for c in chunks[-2:])
    return [((i, j), (int(r), int(c))) for i, r in enumerate(rows) for j, c in enumerate(cols)]


def topology(ext, r0, c0, shape, wrap, targets: bool = True):
    """One tile's local downstream index, exit targets (``targets=False``: an empty array,
    what the passes use) and topological order."""
    h, w = ext.shape[0] - 2, ext.shape[1] - 2
    target = np.empty(h * w if targets else 0, np.int64)
    down = links(ext, r0, c0, shape, wrap, target)
    in_degree = np.zeros(h * w, np.int8)
    nodes, to = tile_order(down, in_degree, 16)
    return down, target, nodes, to, in_degree


def _empty(ext: np.ndarray) -> bool:
    """Whether a halo'ed tile has no network cell (all missing)."""
    return not (ext[1:-1, 1:-1] != MISSING).any()


def _perimeter(down: np.ndarray, h: int, w: int) -> np.ndarray:
    """Local indices of the tile's network cells on its edge, ascending."""
    rows = np.arange(h)
    edge = np.unique(np.concatenate([np.arange(w), (h - 1) * w + np.arange(w), rows * w, rows * w + w - 1]))
    return edge[down[edge] != -2]


def _summary(ext, codes, r0, c0, shape, wrap) -> dict:
    """What a tile tells the build: its invalid codes, in-tile cycles and perimeter records."""
    h, w = ext.shape[0] - 2, ext.shape[1] - 2
    nx = shape[1]
    bad = ext[1:-1, 1:-1] == INVALID
    if bad.any():
        codes = np.asarray(codes)
        first = int(np.flatnonzero(bad)[0])
        return {"invalid": (int(bad.sum()), np.unique(codes[bad]), (r0 + first // w) * nx + c0 + first % w)}
    if _empty(ext):  # no network cell: no records (nor a tile's worth of scratch arrays)
        none = np.empty(0, np.int64)
        return {"cycles": (0, 0, -1), "local": none, "gid": none, "link": none,
                "exit": np.empty(0, bool), "empty": True}  # fmt: skip
    down = links(ext, r0, c0, shape, wrap)
    label = np.empty_like(down)
    exits, n_cycles, on_cycles, first = exit_labels(down, label, _NO_VALUES, _NO_VALUES)
    gid_of = lambda i: (r0 + i // w) * nx + c0 + i % w  # noqa: E731
    local = _perimeter(down, h, w)
    is_exit = down[local] == EXIT
    ends = label[local]
    link = np.full(local.size, -1, np.int64)  # a cell's exit, an exit's target: -1 none
    link[ends >= 0] = gid_of(exits[ends[ends >= 0]].astype(np.int64))
    link[is_exit] = _targets(ext, local[is_exit], r0, c0, shape, wrap)
    return {
        "cycles": (n_cycles, on_cycles, int(gid_of(first)) if n_cycles else -1),
        "local": local,
        "gid": gid_of(local),
        "link": link,
        "exit": is_exit,
    }


def links(ext, r0, c0, shape, wrap, target: np.ndarray = _NO_TARGET) -> np.ndarray:
    """One tile's local downstream index (:func:`~xhydro_accessor.kernels.tiles.tile_down`),
    and its exit targets into ``target`` unless empty (one per cell)."""
    h, w = ext.shape[0] - 2, ext.shape[1] - 2
    down = np.empty(h * w, np.int32 if h * w < 2**31 - 1 else np.int64)  # local indices: 4 bytes
    tile_down(ext, r0, c0, shape[0], shape[1], wrap[1], wrap[0], down, target)
    return down


def _targets(ext, local, r0, c0, shape, wrap) -> np.ndarray:
    """The global flat index of the cell each exit cell ``local`` of a tile flows into."""
    w = ext.shape[1] - 2
    r, c = np.divmod(local, w)
    step = np.array(STEPS)[ext[r + 1, c + 1]]
    rows, cols = r0 + r + step[:, 0], c0 + c + step[:, 1]
    return (rows % shape[0] if wrap[0] else rows) * shape[1] + (cols % shape[1] if wrap[1] else cols)


def _perimeter_graph(summaries, shape, conv, down_at, paths) -> dict:
    """The perimeter graph from the tiles' summaries; raises the in-memory builder's errors
    (``down_at(flat)``: a cell's downstream cell; ``paths(tile, local)``: the cells on
    the in-tile paths from cells ``local`` to their ends, and the smallest flat index on
    each: for the message of cycles across tiles)."""
    nx = shape[1]
    invalid = [s["invalid"] for s in summaries if "invalid" in s]
    if invalid:
        values = np.unique(np.concatenate([v for _, v, _ in invalid]))
        first = min(f for _, _, f in invalid)
        raise InvalidCodeError(bad_codes_text(sum(n for n, _, _ in invalid), values, _at(first, nx), conv))
    tile = np.concatenate([np.full(s["gid"].size, t) for t, s in enumerate(summaries)])
    parts = {k: np.concatenate([s[k] for s in summaries]) for k in ("local", "gid", "link", "exit")}
    order = np.argsort(parts["gid"], kind="stable")
    g: dict[str, Any] = {k: v[order] for k, v in parts.items()}
    g["tile"] = tile[order]
    link = np.full(order.size, -1, np.int64)
    has = g["link"] >= 0
    link[has] = np.searchsorted(g["gid"], g["link"][has])
    g["link"] = link
    nodes, to, _, in_degree = topological_order(link)
    n_cycles = sum(s["cycles"][0] for s in summaries)
    if n_cycles or nodes.size < link.size:
        firsts = [s["cycles"][2] for s in summaries if s["cycles"][0]]
        n_cells = sum(s["cycles"][1] for s in summaries)
        if nodes.size < link.size:  # cycles across tiles: the perimeter graph's
            n_cycles += find_cycles(link, in_degree).size
            on = np.flatnonzero(in_degree > 0)
            for t in np.unique(g["tile"][on]):  # each node's in-tile path to its exit
                mine = on[g["tile"][on] == t]
                cells, least = paths(int(t), g["local"][mine])
                n_cells += int(np.where(g["exit"][mine], 1, cells - 1).sum())  # exits: nodes too
                firsts.append(int(least.min()))
        first = min(firsts)
        path = [first]
        while len(path) < 8 and (nxt := down_at(path[-1])) != first:
            path.append(nxt)
        raise CycleError(cycle_text(n_cycles, n_cells, _at(first, nx), [_at(i, nx) for i in path]))
    g["order"], g["to"] = nodes, to
    exits = np.flatnonzero(g["exit"])
    entry = np.zeros(link.size, bool)
    entry[link[exits]] = True
    g["entry"] = entry
    # the exits' graph of the downstream pass: an exit to the exit its entry's path leaves by
    ends = np.where(g["exit"][link[exits]], link[exits], link[link[exits]])
    h_down = np.full(link.size, -2, np.int64)
    h_down[exits] = ends
    g["h_order"], g["h_to"], _, _ = topological_order(h_down)
    n_tiles = len(summaries)
    g["empty"] = np.array([s.get("empty", False) for s in summaries], bool)  # tiles without a network cell
    for name, kind in (("exits", g["exit"]), ("entries", entry)):
        nodes_of = [np.flatnonzero(kind & (g["tile"] == t)) for t in range(n_tiles)]
        g[f"{name}_nodes"] = nodes_of
        g[f"{name}_local"] = [g["local"][n] for n in nodes_of]
    return g


def _down_at(ext, chunks, shape, wrap, flat: int) -> int:
    """The global downstream index of one cell (computes its tile): for error messages."""
    r, c = _at(flat, shape[1])
    i = int(np.searchsorted(np.cumsum(chunks[0]), r, side="right"))
    j = int(np.searchsorted(np.cumsum(chunks[1]), c, side="right"))
    r0, c0 = int(sum(chunks[0][:i])), int(sum(chunks[1][:j]))
    block = np.asarray(ext.blocks[i, j].compute())
    down, target, *_ = topology(block, r0, c0, shape, wrap)
    w = block.shape[1] - 2
    d = int(down[(r - r0) * w + c - c0])
    if d == EXIT:
        return int(target[(r - r0) * w + c - c0])
    return d if d < 0 else (r0 + d // w) * shape[1] + c0 + d % w
