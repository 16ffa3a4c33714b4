"""Node vectors (issue 17 item 3): ``output="nodes"`` and fields given on the network's cells only."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from tests.conftest import HOWS
from xhydro_accessor.node_vectors import is_nodes, to_grid, to_nodes

OPS = ("accumulate", "accumulate_downstream", "move_downstream")


def network(seed, ny=5, nx=6):
    steps, missing = ref.random_grid_network(np.random.default_rng(seed), ny, nx, p_missing=0.3)
    return xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))


def on_nodes(net, grid):
    """The brute-force selection: each batch member's values at the cells of ``net.nodes``."""
    flat = np.asarray(grid).reshape(*np.shape(grid)[: np.ndim(grid) - 2], -1)
    return flat[..., net.nodes]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), how=st.sampled_from(HOWS), op=st.sampled_from(OPS))
def test_nodes_in_and_out_equal_the_grid_operation(seed, how, op):
    net = network(seed)
    rng = np.random.default_rng(seed)
    grid = rng.normal(size=(3, *net.shape))
    weights = rng.uniform(0.5, 2, size=net.shape)
    fn = getattr(xa, op)
    expected = fn(net, grid, how=how, weights=weights)
    nodes = on_nodes(net, grid)
    assert nodes.shape == (3, net.n_nodes)
    out = fn(net, grid, how=how, weights=weights, output="nodes")
    np.testing.assert_array_equal(out, on_nodes(net, expected))
    # the same field and weights given as node vectors: grid out, then nodes out
    back = fn(net, nodes, how=how, weights=on_nodes(net, weights))
    np.testing.assert_array_equal(back, expected)
    np.testing.assert_array_equal(
        fn(net, nodes, how=how, weights=on_nodes(net, weights), output="nodes"), out
    )


def test_move_upstream_edge_weights_and_along_take_node_vectors():
    net = network(1)
    rng = np.random.default_rng(1)
    grid = rng.normal(size=net.shape)
    nodes = on_nodes(net, grid)
    np.testing.assert_array_equal(xa.move_upstream(net, nodes, output="nodes"),
                                  on_nodes(net, xa.move_upstream(net, grid)))  # fmt: skip
    edges = rng.uniform(0, 1, size=net.shape)
    np.testing.assert_array_equal(
        xa.accumulate(net, nodes, edge_weights=on_nodes(net, edges), output="nodes"),
        on_nodes(net, xa.accumulate(net, grid, edge_weights=edges)),
    )
    np.testing.assert_array_equal(xa.smooth_along(net, nodes, 2, output="nodes"),
                                  on_nodes(net, xa.smooth_along(net, grid, 2)))  # fmt: skip
    holes = np.where(rng.random(net.shape) < 0.4, np.nan, grid)
    np.testing.assert_array_equal(xa.fill_along(net, on_nodes(net, holes), output="nodes"),
                                  on_nodes(net, xa.fill_along(net, holes)))  # fmt: skip


def test_every_backend_keeps_its_type(backend):
    net = network(2)
    grid = np.random.default_rng(2).normal(size=(2, *net.shape))
    expected = on_nodes(net, xa.accumulate(net, grid, how="mean"))
    got = xa.accumulate(
        net, backend.to(on_nodes(net, grid)), how="mean", output="nodes", engine=backend.engine
    )
    np.testing.assert_allclose(backend.back(got), expected, rtol=1e-12)


def test_torch_gradient_through_node_vectors():
    torch = pytest.importorskip("torch")
    net = network(3, 4, 4)
    x = torch.tensor(np.random.default_rng(3).normal(size=net.n_nodes), requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: xa.accumulate(net, v, output="nodes"), (x,))
    assert torch.autograd.gradcheck(lambda v: xa.accumulate(net, v, how="max", output="nodes"), (x,))


def test_how_shapes_are_read_grid_first():
    full = xa.RiverNetwork.from_ldd(np.array([[6, 6, 6, 5]]))  # 1 x 4, all 4 cells on the network
    assert not is_nodes(full, (1, 4))  # a grid and a node vector with a batch of 1: the grid wins
    assert is_nodes(full, (3, 4)) and is_nodes(full, (4,))
    sparse = xa.RiverNetwork.from_ldd(np.array([[6, 5, 255]]))
    assert is_nodes(sparse, (2,)) and not is_nodes(sparse, (1, 3)) and not is_nodes(sparse, (3,))
    with pytest.raises(xa.GridMismatchError):  # neither the grid nor n_nodes
        xa.accumulate(sparse, np.ones(3))
    # a vector network: its grid is (n_nodes,) in label order; output="nodes" gives nodes order
    vector = xa.RiverNetwork.from_downstream([-1, 0, 1])  # 2 -> 1 -> 0
    field = np.array([1.0, 2.0, 3.0])
    assert not is_nodes(vector, (3,))
    grid_out = xa.accumulate(vector, field)
    np.testing.assert_array_equal(grid_out, [6.0, 5.0, 3.0])
    np.testing.assert_array_equal(xa.accumulate(vector, field, output="nodes"), grid_out[vector.nodes])
    with pytest.raises(ValueError, match="output must be one of"):
        xa.accumulate(sparse, np.ones((1, 3)), output="cells")


def test_to_grid_and_to_nodes_round_trip():
    net = network(4)
    v = np.random.default_rng(4).normal(size=(2, net.n_nodes))
    grid = to_grid(net, v)
    assert grid.shape == (2, *net.shape) and (grid[:, ~net.mask] == 0).all()
    np.testing.assert_array_equal(to_nodes(net, grid), v)


def test_xarray_node_dim_with_cell_coordinates():
    net = network(5)
    ny, nx = net.shape
    coords = {"lat": np.arange(ny) * -1.0 + 50, "lon": np.arange(nx) * 0.5}
    field = np.random.default_rng(5).normal(size=(2, ny, nx))
    da = xr.DataArray(field, dims=("time", "lat", "lon"), coords=coords, attrs={"units": "mm"})
    da = da.hydro.assign_network(net)
    out = da.hydro.accumulate(output="nodes")
    assert out.dims == ("time", "node") and out.sizes["node"] == net.n_nodes
    rows, cols = np.divmod(net.nodes, nx)
    np.testing.assert_array_equal(out["lat"].values, coords["lat"][rows])
    np.testing.assert_array_equal(out["lon"].values, coords["lon"][cols])
    np.testing.assert_array_equal(out.values, on_nodes(net, xa.accumulate(net, field)))
    assert out.attrs["units"] == "mm"
    lazy = da.chunk({"time": 1}).hydro.accumulate_downstream(how="max", output="nodes")
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, on_nodes(net, xa.accumulate_downstream(net, field, how="max")))
    np.testing.assert_array_equal(da.hydro.move_upstream(output="nodes").values,
                                  on_nodes(net, xa.move_upstream(net, field)))  # fmt: skip
    with pytest.raises(ValueError, match="for a DataArray"):
        da.to_dataset(name="p").hydro.accumulate(output="nodes")
    with pytest.raises(ValueError, match="output must be one of"):
        da.hydro.accumulate(output="grid2")


def test_xarray_fields_given_on_the_nodes():
    net = network(6)
    field = np.random.default_rng(6).normal(size=(2, *net.shape))
    da = xr.DataArray(field, dims=("t", "y", "x")).hydro.assign_network(net)
    on_cells = da.hydro.accumulate(output="nodes")
    assert on_cells.dims == ("t", "node")
    # a node DataArray (the network passed: the node dim carries no network coordinate)
    expected = on_nodes(net, xa.move_upstream(net, xa.accumulate(net, field)))
    np.testing.assert_array_equal(on_cells.hydro.move_upstream(net, output="nodes").values, expected)
    back = on_cells.hydro.accumulate_downstream(net)
    assert back.dims == ("t", "y", "x")
    np.testing.assert_array_equal(back.values, xa.accumulate_downstream(net, xa.accumulate(net, field)))
    lazy = on_cells.chunk({"t": 1}).hydro.accumulate(net, how="max", output="nodes")
    np.testing.assert_array_equal(
        lazy.values, on_nodes(net, xa.accumulate(net, xa.accumulate(net, field), how="max"))
    )
    with pytest.raises(ValueError, match="no river network given"):
        on_cells.hydro.accumulate()
