"""Spatially tiled networks on dask (issue 18, Barnes 2017): the same results as in memory."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from xhydro_accessor import RiverNetwork
from xhydro_accessor.errors import CycleError, InvalidCodeError
from xhydro_accessor.tiling import TiledNetwork

from . import reference as ref

OPS = ("accumulate", "accumulate_downstream", "move_downstream")
HOWS = ("sum", "mean", "min", "max", "var", "std", "skew")
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def chunking(draw, n: int) -> tuple[int, ...]:
    """Ragged chunks of ``n`` cells, 1-cell chunks included."""
    sizes = []
    while sum(sizes) < n:
        sizes.append(min(draw(st.integers(1, max(1, n // 2 + 1))), n - sum(sizes)))
    return tuple(sizes)


@st.composite
def tiled_case(draw, max_side: int = 9):
    ny, nx = draw(st.integers(1, max_side)), draw(st.integers(2, max_side))
    seed = draw(st.integers(0, 2**16))
    codes = ref.encode(*ref.random_grid_network(np.random.default_rng(seed), ny, nx), "ldd")
    chunks = (draw(chunking(ny)), draw(chunking(nx)))
    return codes, chunks, seed


def any_codes(seed: int, ny: int, nx: int) -> np.ndarray:
    """Random LDD codes, every one and missing cells (255): cycles and flow off the grid."""
    return np.random.default_rng(seed).choice(np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 255], np.uint8), (ny, nx))


def wrapped_networks(ny: int, nx: int, seed: int, data) -> tuple | None:
    """:func:`any_codes` with ``wrap_x``: ``(codes, in-memory network, chunks, tiled network)``
    in random chunks (hypothesis ``data``), or None when the codes hold a cycle."""
    codes = any_codes(seed, ny, nx)
    try:
        memory = RiverNetwork.from_ldd(codes, wrap_x=True)
    except CycleError:
        return None
    chunks = (data.draw(chunking(ny)), data.draw(chunking(nx)))
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks), wrap_x=True)
    assume(isinstance(net, TiledNetwork))
    return codes, memory, chunks, net


def no_compute():
    """Fail on any compute (the scheduler is never called while graphs are built)."""
    return dask.config.set(scheduler=lambda *a, **k: pytest.fail("computed while building the graph"))


def assert_same(tiled_out, memory_out):
    tiled_out = np.asarray(tiled_out)
    assert tiled_out.dtype == memory_out.dtype
    if memory_out.dtype.kind == "f":
        np.testing.assert_allclose(tiled_out, memory_out, rtol=1e-9, atol=1e-9, equal_nan=True)
    else:
        np.testing.assert_array_equal(tiled_out, memory_out)


@FAST
@given(tiled_case(), st.sampled_from(OPS))
def test_integer_sums_are_bit_identical(case, op):
    codes, chunks, seed = case
    memory = RiverNetwork.from_ldd(codes)
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    field = np.random.default_rng(seed).integers(-(2**40), 2**40, (2, *codes.shape))
    with no_compute():
        lazy = getattr(xa, op)(net, da.from_array(field, chunks=(1, *chunks)))
    assert lazy.chunks == ((1, 1), *chunks)
    assert_same(lazy.compute(), getattr(xa, op)(memory, field))


@FAST
@given(
    tiled_case(),
    st.sampled_from(OPS),
    st.sampled_from(HOWS),
    st.sampled_from([None, "grid", "members"]),
    st.booleans(),
)
def test_every_how_weights_and_skipna(case, op, how, weighted, skipna):
    assume(not (op == "move_downstream" and how == "skew"))  # a move sums or takes extremes and moments
    codes, chunks, seed = case
    rng = np.random.default_rng(seed)
    memory = RiverNetwork.from_ldd(codes)
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    field = rng.normal(size=(3, *codes.shape))
    field[rng.random(field.shape) < 0.1] = np.nan
    weights = (
        None if weighted is None else rng.random(codes.shape if weighted == "grid" else field.shape) + 0.5
    )
    lazy_w = (
        None if weights is None else da.from_array(weights, chunks=((1, 2),)[: weights.ndim - 2] + chunks)
    )
    with no_compute():
        lazy = getattr(xa, op)(
            net, da.from_array(field, chunks=(2, *chunks)), how=how, weights=lazy_w, skipna=skipna
        )
    expected = getattr(xa, op)(memory, field, how=how, weights=weights, skipna=skipna)
    assert_same(lazy.compute(), expected)


@FAST
@given(tiled_case())
def test_move_upstream_and_in_memory_network_with_chunked_field(case):
    codes, chunks, seed = case
    memory = RiverNetwork.from_ldd(codes)
    field = np.random.default_rng(seed).normal(size=codes.shape)
    lazy = da.from_array(field, chunks=chunks)
    with no_compute():  # an in-memory network cut into the field's tiles: no SpatialChunksWarning
        up = xa.move_upstream(memory, lazy)
        acc = xa.accumulate(memory, lazy, how="max")
    assert up.chunks == lazy.chunks
    assert_same(up.compute(), xa.move_upstream(memory, field))
    assert_same(acc.compute(), xa.accumulate(memory, field, how="max"))


def snake(ny: int, nx: int) -> np.ndarray:
    """One river through every cell, boustrophedon, ending at (ny - 1, last)."""
    codes = np.empty((ny, nx), np.uint8)
    for r in range(ny):
        east = r % 2 == 0
        codes[r] = 6 if east else 4
        codes[r, -1 if east else 0] = 2
    codes[-1, -1 if ny % 2 else 0] = 5
    return codes


@pytest.mark.parametrize("chunks", [1, 2, 3, (2, 5)])
def test_a_river_snaking_through_every_tile(chunks):
    codes = snake(7, 9)
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    out = xa.accumulate(net, da.ones(codes.shape, chunks=chunks, dtype=np.int64)).compute()
    assert out.max() == codes.size and np.array_equal(np.sort(out.ravel()), np.arange(1, codes.size + 1))
    assert_same(out, xa.accumulate(RiverNetwork.from_ldd(codes), np.ones(codes.shape, np.int64)))


def test_rivers_crossing_tile_corners_diagonally():
    codes = np.full((6, 6), 3, np.uint8)  # every cell flows south-east
    codes[-1, :] = codes[:, -1] = 5
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=1))
    out = xa.accumulate(net, da.ones(codes.shape, chunks=2, dtype=int)).compute()
    np.testing.assert_array_equal(np.diag(out), np.arange(1, 7))
    assert_same(out, xa.accumulate(RiverNetwork.from_ldd(codes), np.ones(codes.shape, int)))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(2, 7), st.integers(0, 2**16), st.data(), st.booleans())
def test_any_codes_same_network_or_same_error(ny, nx, seed, data, wrap):
    """Arbitrary codes (cycles inside and across tiles, wrap_x): the in-memory build's result or error."""
    codes = any_codes(seed, ny, nx)
    chunks = (data.draw(chunking(ny)), data.draw(chunking(nx)))
    try:
        memory = RiverNetwork.from_ldd(codes, wrap_x=wrap)
    except CycleError as err:
        with pytest.raises(CycleError) as tiled_err:
            RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks), wrap_x=wrap)
        assert str(tiled_err.value) == str(err)
        return
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks), wrap_x=wrap)
    field = np.arange(codes.size, dtype=np.int64).reshape(codes.shape)
    for op in OPS:
        lazy = getattr(xa, op)(net, da.from_array(field, chunks=chunks))
        assert_same(lazy.compute(), getattr(xa, op)(memory, field))
    assert_same(
        xa.move_upstream(net, da.from_array(field, chunks=chunks)).compute(), xa.move_upstream(memory, field)
    )


def test_a_cycle_across_tiles_names_its_cell():
    codes = np.array([[6, 2], [8, 4]], np.uint8)  # four cells round in a square, one per tile
    with pytest.raises(
        CycleError, match=r"1 cycle\(s\) over 4 cells; the first cycle starts at \(row, col\) \(0, 0\)"
    ):
        RiverNetwork.from_ldd(da.from_array(codes, chunks=1))


@FAST
@given(st.integers(3, 12), st.integers(3, 12), st.data())
def test_a_cycle_round_the_grid_is_named_as_in_memory(ny, nx, data):
    """A cycle round the grid's edge, fed by every inner cell: long in-tile paths between
    its entries and exits in every edge tile. Same message (cells counted, first cell,
    path) as the in-memory build."""
    codes = np.full((ny, nx), 8, np.uint8)  # inner cells flow north, into the ring
    codes[0, :-1], codes[:-1, -1], codes[-1, 1:], codes[1:, 0] = 6, 2, 4, 8
    with pytest.raises(CycleError) as err:
        RiverNetwork.from_ldd(codes)
    assert f"over {2 * (ny + nx) - 4} cells" in str(err.value)
    chunks = (data.draw(chunking(ny)), data.draw(chunking(nx)))
    with pytest.raises(CycleError) as tiled_err:
        RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    assert str(tiled_err.value) == str(err.value)


def test_invalid_codes_are_named_as_in_memory():
    codes = np.array([[6, 6, 0, 2], [6, 6, 6, 5], [11, 6, 6, 8]], np.uint8)
    with pytest.raises(InvalidCodeError) as err:
        RiverNetwork.from_ldd(codes)
    with pytest.raises(InvalidCodeError) as tiled_err:
        RiverNetwork.from_ldd(da.from_array(codes, chunks=2))
    assert str(tiled_err.value) == str(err.value) and "(0, 2)" in str(err.value)


def test_wrap_x_links_the_first_and_last_column_tiles():
    codes = np.array([[4, 6, 6, 2], [5, 4, 4, 4]], np.uint8)  # (0, 0) flows west into (0, 3)
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=(1, 2)), wrap_x=True)
    out = xa.accumulate(net, da.ones((2, 4), chunks=(1, 2), dtype=int)).compute()
    np.testing.assert_array_equal(out, [[1, 1, 2, 4], [8, 7, 6, 5]])
    assert_same(out, xa.accumulate(RiverNetwork.from_ldd(codes, wrap_x=True), np.ones((2, 4), int)))


def test_building_from_dask_codes_never_gathers_the_grid():
    """Each task sees one tile (and its halo): no task result holds the grid."""
    codes = snake(40, 30)
    seen = []

    class Largest(dask.callbacks.Callback):
        def _posttask(self, key, result, dsk, state, id):
            seen.append(int(np.size(result)) if isinstance(result, np.ndarray) else 0)

    with Largest():
        net = RiverNetwork.from_ldd(da.from_array(codes, chunks=10, inline_array=True))
        largest = xa.accumulate(net, da.ones(codes.shape, chunks=10)).max().compute()
    assert largest == codes.size  # the river's outlet drains every cell
    assert isinstance(net, TiledNetwork) and 0 < max(seen) <= 12 * 12 < codes.size


def test_a_local_cluster_runs_the_tiles():
    distributed = pytest.importorskip("distributed")
    codes = snake(12, 10)
    field = np.random.default_rng(1).normal(size=(2, 12, 10))
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster):
            net = RiverNetwork.from_ldd(da.from_array(codes, chunks=4))
            out = xa.accumulate(net, da.from_array(field, chunks=(1, 4, 5)), how="var").compute()
    assert_same(out, xa.accumulate(RiverNetwork.from_ldd(codes), field, how="var"))


def test_zarr_to_accessor_to_zarr_never_merges(tmp_path):
    """Issue 18 item 3: a spatially chunked zarr store through ``.hydro.accumulate()`` to zarr."""
    import warnings

    import xarray as xr

    from xhydro_accessor.backends.dask import SpatialChunksWarning

    pytest.importorskip("zarr")
    codes = snake(8, 12)
    runoff = np.random.default_rng(2).random((3, 8, 12))
    memory = RiverNetwork.from_ldd(codes)
    ds = xr.Dataset(
        {"runoff": (("member", "y", "x"), runoff)}, coords={"y": np.arange(8.0)[::-1], "x": np.arange(12.0)}
    )
    ds.hydro.assign_network(memory).chunk(member=1, y=3, x=5).to_zarr(tmp_path / "in.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpatialChunksWarning)
        opened = xr.open_zarr(tmp_path / "in.zarr")  # chunked in space and members as stored
        attached = opened.hydro.assign_network()  # one validating pass over the tiles
        with no_compute():
            assert isinstance(attached.hydro.network, TiledNetwork)
            out = attached.runoff.hydro.accumulate()
            assert out.chunks == opened.runoff.chunks == ((1, 1, 1), (3, 3, 2), (5, 5, 2))
            assert isinstance(attached["flow_direction"].data, da.Array)
        out.to_dataset(name="q").to_zarr(tmp_path / "out.zarr")
    written = xr.open_zarr(tmp_path / "out.zarr")["q"].values
    assert_same(written, xa.accumulate(memory, runoff))


def test_persisted_topologies_give_the_same_results():
    from xhydro_accessor.backends.tiled import persist

    codes = snake(9, 8)
    field = np.random.default_rng(4).integers(0, 100, (2, 9, 8))
    net = persist(RiverNetwork.from_ldd(da.from_array(codes, chunks=(4, 3))))
    assert net.tiles is not None and len(net.tiles) == net.n_tiles
    with no_compute():
        lazy = xa.accumulate_downstream(net, da.from_array(field, chunks=(1, 4, 3)), how="max")
    assert_same(lazy.compute(), xa.accumulate_downstream(RiverNetwork.from_ldd(codes), field, how="max"))


def test_south_up_dataarray_codes_and_assigning_a_tiled_network():
    """Codes read by their coordinates (lat ascending: 8 flows to the larger latitude); a tiled
    network attached with ``assign_network(net)`` keeps a lazy coordinate decoding to itself."""
    import xarray as xr

    codes = ref.encode(*ref.random_grid_network(np.random.default_rng(5), 7, 9), "ldd")
    coords = {"lat": np.arange(7.0), "lon": np.arange(9.0)}
    grid = xr.DataArray(codes[::-1], dims=("lat", "lon"), coords=coords)  # north-up codes, stored south up
    memory = RiverNetwork.from_ldd(grid)
    net = RiverNetwork.from_ldd(grid.chunk(lat=3, lon=4))
    assert isinstance(net, TiledNetwork) and net.dims == ("lat", "lon")
    field = xr.DataArray(np.random.default_rng(5).random((2, 7, 9)), dims=("m", "lat", "lon"), coords=coords)
    lazy = field.chunk(m=1, lat=3, lon=4).hydro.assign_network(net)
    assert isinstance(lazy["flow_direction"].data, da.Array)
    with no_compute():
        out = lazy.hydro.accumulate(how="mean")
    assert_same(out.values, xa.accumulate(memory, field.values, how="mean"))
    reopened = lazy.drop_indexes("flow_direction").hydro.assign_network()
    assert_same(reopened.hydro.accumulate().values, xa.accumulate(memory, field.values))


def test_open_network_in_tiles():
    from xhydro_accessor.samples import sample_path  # the EFAS 5 km network shipped with the package

    memory = xa.open_network(sample_path())
    net = xa.open_network(sample_path(), chunks=400)
    assert isinstance(net, TiledNetwork) and net.chunks == ((400, 400, 150), (400, 400, 200))
    assert net.dims == memory.dims and net.crs == memory.crs
    field = np.random.default_rng(0).random(memory.shape)
    out = xa.accumulate(net, da.from_array(field, chunks=400), how="std").compute()
    assert_same(out, xa.accumulate(memory, field, how="std"))


def test_upstream_area_on_tiles_is_lazy_and_equal():
    import xarray as xr

    from xhydro_accessor.samples import sample_path

    memory = xa.open_network(sample_path())
    coords = {"y": memory.coords["y"], "x": memory.coords["x"]}
    ds = xr.Dataset({"r": (("y", "x"), np.ones(memory.shape))}, coords=coords).hydro.assign_network(memory)
    lazy = ds.chunk(y=400, x=300).drop_indexes("flow_direction").hydro.assign_network()
    assert isinstance(lazy.hydro.network, TiledNetwork)
    with no_compute():
        area = lazy.r.hydro.upstream_area(units="km2")
    assert isinstance(area.data, da.Array)
    assert_same(area.values, xa.upstream_area(memory, units="km2"))


@FAST
@given(tiled_case())
def test_shreve_on_tiles(case):
    codes, chunks, _ = case
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=chunks))
    if not isinstance(net, TiledNetwork):
        return
    with no_compute():
        lazy = xa.shreve(net)
    assert lazy.chunks == chunks
    assert_same(lazy.compute(), xa.shreve(RiverNetwork.from_ldd(codes)))


def test_engine_hydro_with_spatial_chunks_runs_as_tiles(tmp_path):
    """``engine="hydro"`` decodes the network in memory; chunks across space then run as tiles."""
    import warnings

    import xarray as xr

    from xhydro_accessor.backends.dask import SpatialChunksWarning

    codes = snake(6, 10)
    runoff = np.random.default_rng(3).random((2, 6, 10))
    ds = xr.Dataset(
        {"runoff": (("time", "y", "x"), runoff)}, coords={"y": np.arange(6.0)[::-1], "x": np.arange(10.0)}
    )
    ds.hydro.assign_network(RiverNetwork.from_ldd(codes)).to_netcdf(tmp_path / "in.nc")
    with (
        warnings.catch_warnings(),
        xr.open_dataset(tmp_path / "in.nc", engine="hydro", chunks={"y": 4, "x": 3}) as opened,
    ):
        warnings.simplefilter("error", SpatialChunksWarning)
        with no_compute():
            out = opened.runoff.hydro.accumulate()
        assert out.chunks == opened.runoff.chunks
        assert_same(out.values, xa.accumulate(RiverNetwork.from_ldd(codes), runoff))


def test_what_tiles_do_not_offer_says_so_and_gather_gives_the_whole_network():
    from xhydro_accessor.backends.tiled import gather

    codes = ref.encode(*ref.random_grid_network(np.random.default_rng(8), 7, 8), "ldd")
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=3))
    with pytest.raises(AttributeError, match="'nodes' is not available on a TiledNetwork"):
        net.nodes  # noqa: B018
    assert gather(net) == RiverNetwork.from_ldd(codes)


def test_other_libraries_on_a_tiled_network_raise_naming_gather():
    torch = pytest.importorskip("torch")
    net = RiverNetwork.from_ldd(da.from_array(snake(4, 4), chunks=2))
    with pytest.raises(NotImplementedError, match=r"not torch arrays: gather it"):
        xa.accumulate(net, torch.ones(4, 4))


def _ancestors(graph: dict, starts, stop: set) -> set:
    """Every key ``starts`` depend on, not looking past the keys in ``stop``."""
    seen: set = set()
    todo = [d for k in starts for d in graph[k].dependencies]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        if key not in stop:
            todo.extend(graph[key].dependencies)
    return seen


@pytest.mark.parametrize("persisted", [False])  # persisted: pass 1's states are kept (test_tiled_exits)
@pytest.mark.parametrize("weighted", [False, True])
def test_pass_2_reads_its_blocks_again_instead_of_sharing_pass_1s(persisted, weighted):
    """Between the passes nothing but pass 1's perimeter states and the tiles' direction
    indices is held: pass 2 shares no field or weights read and no topology task with pass 1."""
    from dask._task_spec import DataNode, convert_legacy_graph

    from xhydro_accessor.backends.tiled import persist

    codes = snake(9, 8)
    rng = np.random.default_rng(5)
    field, weights = rng.random((2, 9, 8)), rng.random((9, 8))
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=(4, 3)))
    net = persist(net) if persisted else net
    lazy = da.from_array(field, chunks=(1, 4, 3)) * 1  # the reads are tasks
    w = da.from_array(weights, chunks=(4, 3)) + 0 if weighted else None
    out = xa.accumulate(net, lazy, weights=w, how="mean")
    graph = convert_legacy_graph(dict(out.__dask_graph__()))
    names = lambda prefix: [k for k in graph if isinstance(k, str) and k.startswith(prefix)]  # noqa: E731
    first, second, solves = names("_pass1-"), names("_pass2-"), set(names("_solve-"))
    assert len(first) == len(second) == 2 * net.n_tiles and len(solves) == 2
    ext = {k for k in graph if isinstance(k, tuple) and k[0] == net.ext.name}
    shared = _ancestors(graph, first, solves | ext) & _ancestors(graph, second, solves | ext)
    # shared: at most the tiles' direction indices (1 byte a cell) and data (persisted topologies)
    assert all(k in ext or isinstance(graph[k], DataNode) for k in shared)
    assert not shared & set(lazy.__dask_graph__()) - ext
    # pass 2 reads inside its own task: it waits on the solve, no read task could run early
    direct = {d for k in second for d in graph[k].dependencies}
    assert all(d in solves or d in ext or isinstance(graph[d], DataNode) for d in direct)
    expected = xa.accumulate(
        RiverNetwork.from_ldd(codes), field, weights=weights if weighted else None, how="mean"
    )
    assert_same(out.compute(), expected)


def test_the_tiled_graph_pickles_and_runs_elsewhere(tmp_path):
    """The blocks pass 2 reads again travel as their own small graphs (as to a distributed
    worker): the whole graph survives cloudpickle, zarr reads included."""
    import cloudpickle
    from dask._task_spec import convert_legacy_graph

    pytest.importorskip("zarr")
    codes = snake(9, 8)
    field = np.random.default_rng(6).random((9, 8))
    da.to_zarr(da.from_array(field, chunks=(4, 3)), str(tmp_path / "f.zarr"))
    net = RiverNetwork.from_ldd(da.from_array(codes, chunks=(4, 3)))
    out = xa.accumulate(net, da.from_zarr(str(tmp_path / "f.zarr")))
    graph = cloudpickle.loads(cloudpickle.dumps(convert_legacy_graph(dict(out.__dask_graph__()))))
    blocks = dask.local.get_sync(graph, out.__dask_keys__())
    result = np.block([list(row) for row in blocks])
    assert_same(result, xa.accumulate(RiverNetwork.from_ldd(codes), field))
