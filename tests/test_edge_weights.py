"""Edge weights (earthkit-hydro's ``edge_weights``): brute force, every engine and backend,
gradients, validation, earthkit-hydro on a real network, and distances along weighted links."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import real_data
from tests import reference as ref
from tests.conftest import HOWS


def network(seed, ny=6, nx=7):
    steps, missing = ref.random_grid_network(np.random.default_rng(seed), ny, nx)
    return xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd")), ref.down_of_steps(steps, missing)


def path_weights(down, edges):
    """For each on-network cell j: {upstream cell i: product of the edge weights on i's path to j}."""
    out = {}
    for i, path in ref.paths(down).items():
        product = 1.0
        for j in path:
            out.setdefault(j, {})[i] = product
            product *= edges[j]
    return out


def brute(down, field, weights, edges, how, downstream=False):
    """Each cell's reduction over its upstream area (or its path to the outlet), each value
    weighted by weights times the product of edge weights between the two cells."""
    out = np.full(field.shape, np.nan)
    if downstream:
        sets = {i: {} for i in ref.paths(down)}
        for i, path in ref.paths(down).items():
            product = 1.0
            for k in path:
                sets[i][k] = product
                product *= edges[k]
    else:
        sets = path_weights(down, edges)
    for j, members in sets.items():
        cells = np.array(list(members))
        p = np.array([members[i] for i in cells])
        x = field[cells]
        if how in ("min", "max"):
            out[j] = getattr(np, how)(p * weights[cells] * x)
        else:
            out[j] = ref.reduce_set(x, p * weights[cells], how, False)
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), how=st.sampled_from(HOWS), downstream=st.booleans())
def test_edge_weighted_reductions_equal_brute_force(seed, how, downstream):
    net, down = network(seed)
    rng = np.random.default_rng(seed)
    field = rng.normal(size=net.shape)
    weights = rng.uniform(0.5, 2.0, size=net.shape)
    edges = rng.uniform(0.0, 1.5, size=net.shape)
    edges[rng.random(net.shape) < 0.1] = 0.0  # a link that passes nothing
    op = xa.accumulate_downstream if downstream else xa.accumulate
    expected = brute(down, field.ravel(), weights.ravel(), edges.ravel(), how, downstream).reshape(net.shape)
    for engine in ("numba", "xp"):
        got = op(net, field, how=how, weights=weights, edge_weights=edges, engine=engine)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=engine)


def test_edge_weights_of_one_equal_no_edge_weights_and_negative_sums_follow_the_recursion():
    net, down = network(3)
    rng = np.random.default_rng(3)
    field = rng.normal(size=(4, *net.shape))
    for how in HOWS:
        for engine in ("numba", "xp"):
            np.testing.assert_allclose(
                xa.accumulate(net, field, how=how, edge_weights=np.ones(net.shape), engine=engine),
                xa.accumulate(net, field, how=how),
                rtol=1e-12,
            )
    edges = rng.normal(size=net.shape)  # any sign for a sum: a product along the path
    got = xa.accumulate(net, field[0], edge_weights=edges)
    np.testing.assert_allclose(got, brute(down, field[0].ravel(), np.ones(down.size), edges.ravel(), "sum")
                               .reshape(net.shape), rtol=1e-10)  # fmt: skip
    # max keeps earthkit-hydro's recursion n_j = max(x_j, e_i n_i) for negative edges too
    small = xa.RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
    out = xa.accumulate(
        small, np.array([[2.0, -5.0, -9.0]]), how="max", edge_weights=np.array([[-1.0, -1, 1]])
    )
    np.testing.assert_array_equal(out, [[2.0, -2.0, 2.0]])  # -5 vs -1·2; then -9 vs -1·-2


def test_nan_skipna_integers_and_fill():
    net = xa.RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4], [255, 255, 255]]))
    field = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0], [0, 0, 0]])
    edges = np.full(net.shape, 0.5)
    edges[2] = np.nan  # off the network: not read
    for engine in ("numba", "xp"):
        out = xa.accumulate(net, field, edge_weights=edges, engine=engine, warn_nan=False)
        assert np.isnan(out[1, 1]) and np.isnan(out[2]).all() and out[1, 0] == 4.0
        out = xa.accumulate(net, field, edge_weights=edges, skipna=True, engine=engine)
        assert out[1, 1] == 5 + 0.5 * (1 + 3 + 4 + 6)
        out = xa.accumulate(net, field, how="max", edge_weights=edges, skipna=True, engine=engine)
        assert out[1, 1] == 5.0 and out[0, 1] != out[0, 1]  # NaN alone stays NaN
        ints = xa.accumulate(
            net, np.arange(9).reshape(3, 3), edge_weights=np.full(net.shape, 2), engine=engine
        )
        assert ints.dtype == np.int64 and ints[1, 1] == 4 + 2 * (0 + 1 + 2 + 3 + 5)
        assert ints[2, 0] == np.iinfo(np.int64).min
        f32 = xa.accumulate(
            net,
            field.astype(np.float32),
            edge_weights=edges.astype(np.float32),
            engine=engine,
            warn_nan=False,
        )
        assert f32.dtype == np.float32


def test_bad_edge_weights_raise_clearly():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
    field = np.ones((1, 3))
    with pytest.raises(ValueError, match="grid shape"):
        xa.accumulate(net, field, edge_weights=np.ones(4))
    with pytest.raises(ValueError, match="NaN on 1 link"):
        xa.accumulate(net, field, edge_weights=np.array([[1.0, np.nan, 1.0]]))
    xa.accumulate(net, field, edge_weights=np.array([[1.0, 1.0, np.nan]]))  # the outlet has no link
    with pytest.raises(ValueError, match="non-negative"):
        xa.accumulate(net, field, how="mean", edge_weights=np.array([[1.0, -1.0, 1.0]]))
    with pytest.raises(TypeError, match="edge_weights must be boolean, integer or float"):
        xa.accumulate(net, field, edge_weights=np.ones((1, 3), complex))
    with pytest.raises(ValueError, match="edge_weights are supported by"):
        from xhydro_accessor.backends import edges

        edges.run(net, "move_downstream", field, "sum", None, False, np.ones((1, 3)))


def test_every_backend_equals_numpy(backend):
    net, _ = network(5)
    rng = np.random.default_rng(5)
    field = rng.normal(size=(2, *net.shape))
    edges = rng.uniform(0, 1, size=net.shape)
    for how in ("sum", "mean", "max", "var"):
        expected = xa.accumulate(net, field, how=how, edge_weights=edges)
        got = backend.back(xa.accumulate(net, backend.to(field), how=how, edge_weights=backend.to(edges),
                                         engine=backend.engine))  # fmt: skip
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, err_msg=how)


@pytest.mark.parametrize(
    "how, op, engine",
    [("sum", "accumulate", "auto"), ("sum", "accumulate_downstream", "auto"), ("sum", "accumulate", "xp"),
     ("mean", "accumulate", "auto"), ("max", "accumulate", "auto"), ("var", "accumulate_downstream", "auto")],
)  # fmt: skip
def test_torch_gradient_wrt_field_and_edge_weights(how, op, engine):
    torch = pytest.importorskip("torch")
    net, _ = network(7, 4, 5)
    rng = np.random.default_rng(7)
    field = torch.tensor(rng.normal(size=(2, *net.shape)), requires_grad=True)
    weights = torch.tensor(rng.uniform(0.5, 2.0, size=net.shape), requires_grad=True)
    edges = torch.tensor(rng.uniform(0.2, 1.0, size=net.shape), requires_grad=True)
    mask = torch.tensor(net.mask)

    def f(x, w, e):
        out = getattr(xa, op)(net, x, how=how, weights=w, edge_weights=e, engine=engine)
        return torch.where(mask, out, 0.0)

    assert torch.autograd.gradcheck(f, (field, weights, edges))
    field = torch.tensor(rng.normal(size=net.shape), requires_grad=True)

    def f(x, e):  # noqa: F811 - one member: finite differences of the numba engine below
        return torch.where(mask, xa.accumulate(net, x, how=how, edge_weights=e), 0.0)

    # and against finite differences of the numba engine's forward
    loss = f(field, edges).sum()
    gx, ge = torch.autograd.grad(loss, (field, edges))
    x0, e0 = field.detach().numpy(), edges.detach().numpy()

    def total(x, e):
        return np.nansum(np.where(net.mask, xa.accumulate(net, x, how=how, edge_weights=e), 0.0))

    h = 1e-6
    for flat in np.flatnonzero(net.mask)[:6]:
        bump = np.zeros(net.shape)
        bump.flat[flat] = h
        fd_x = (total(x0 + bump, e0) - total(x0 - bump, e0)) / (2 * h)
        fd_e = (total(x0, e0 + bump) - total(x0, e0 - bump)) / (2 * h)
        assert abs(fd_x - gx.numpy().flat[flat]) < 1e-5
        assert abs(fd_e - ge.numpy().flat[flat]) < 1e-5


def test_jax_gradient_wrt_field():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    net, down = network(8, 4, 5)
    rng = np.random.default_rng(8)
    field, edges = rng.normal(size=net.shape), rng.uniform(0, 1, size=net.shape)
    grad = jax.grad(lambda x: jax.numpy.where(net.mask, xa.accumulate(net, x, edge_weights=edges), 0).sum())(
        jax.numpy.asarray(field)
    )
    # d(sum of all upstream sums)/dx_i = the sum over the path from i of the path weights
    expected = np.zeros(down.size)
    for p in path_weights(down, edges.ravel()).values():
        for k, weight in p.items():
            expected[k] += weight
    np.testing.assert_allclose(np.asarray(grad).ravel()[net.mask.ravel()], expected[net.mask.ravel()])
    # wrt the edge weights: as torch's O(cells) backward gives it
    torch = pytest.importorskip("torch")
    jnp, mask = jax.numpy, net.mask

    def loss(e):
        return jnp.where(mask, xa.accumulate(net, jnp.asarray(field), edge_weights=e) ** 2, 0).sum()

    e = torch.tensor(edges, requires_grad=True)
    torch.where(
        torch.tensor(mask), xa.accumulate(net, torch.tensor(field), edge_weights=e) ** 2, 0
    ).sum().backward()
    np.testing.assert_allclose(np.asarray(jax.grad(loss)(jnp.asarray(edges))), e.grad.numpy(), rtol=1e-10)


def test_accessor_takes_edge_weights_as_array_dataarray_or_name():
    net, _ = network(9)
    rng = np.random.default_rng(9)
    field = rng.normal(size=(3, *net.shape))
    edges = rng.uniform(0, 1, size=net.shape)
    da = xr.DataArray(field, dims=("t", "y", "x")).hydro.assign_network(net)
    expected = xa.accumulate(net, field, how="mean", edge_weights=edges)
    np.testing.assert_allclose(da.hydro.accumulate(how="mean", edge_weights=edges).values, expected)
    edges_da = xr.DataArray(edges.T, dims=("x", "y"))  # transposed: aligned by dims
    np.testing.assert_allclose(da.hydro.accumulate(how="mean", edge_weights=edges_da).values, expected)
    named = da.assign_coords(loss=(("y", "x"), edges))
    np.testing.assert_allclose(named.hydro.accumulate(how="mean", edge_weights="loss").values, expected)
    np.testing.assert_allclose(
        da.hydro.accumulate_downstream(edge_weights=edges).values,
        xa.accumulate_downstream(net, field, edge_weights=edges),
    )
    import dask.array

    chunked = dask.array.from_array(edges, chunks=(2, 3))  # spatial chunks: computed whole
    np.testing.assert_allclose(
        xa.accumulate(net, field, edge_weights=chunked), xa.accumulate(net, field, edge_weights=edges)
    )
    with pytest.raises(ValueError, match="NaN on 1 link"):
        bad = edges.copy()
        bad.flat[net.nodes[net.downstream >= 0][0]] = np.nan
        xa.accumulate(net, field, edge_weights=dask.array.from_array(bad, chunks=(2, 3)))
    dask_da = da.chunk({"t": 1})
    lazy = dask_da.hydro.accumulate(edge_weights=edges)
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.values, xa.accumulate(net, field, edge_weights=edges))


@pytest.mark.parametrize("how", ["sum", "mean", "max", "min", "std"])
def test_equals_earthkit_hydro_on_a_real_network(how):
    pytest.importorskip("earthkit.hydro")
    from earthkit.hydro import upstream
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork as EkNetwork

    codes = np.asarray(real_data.load("efas_europe_nc").values)
    codes = np.where(np.isin(codes, list(range(1, 10))), codes, 255).astype(np.uint8)
    net = xa.RiverNetwork.from_ldd(codes)
    ek = EkNetwork(from_d8(codes, "pcr_d8"))
    assert ek.n_nodes == int(net.mask.sum())
    rng = np.random.default_rng(0)
    field = rng.uniform(0, 10, size=net.shape)
    edges = rng.uniform(0.5, 1.0, size=net.shape)
    # earthkit-hydro numbers its edges; an edge's weight is its upstream cell's link weight
    _, up, eid = ek.data[0]
    ek_edges = np.empty(ek.n_edges)
    ek_edges[eid] = edges.reshape(-1)[ek.mask[up]]
    expected = getattr(upstream.array, how)(ek, field, edge_weights=ek_edges, return_type="gridded")
    got = xa.accumulate(net, field, how=how, edge_weights=edges)
    np.testing.assert_allclose(np.where(net.mask, got, np.nan), np.where(net.mask, expected, np.nan),
                               rtol=1e-9, atol=1e-9)  # fmt: skip


def test_distances_take_a_length_or_travel_time_per_link():
    """distance_to_outlet / distance_to_source / distance_from_points with ``weights`` per
    edge (``per="edge"``, the default) sum the given link values instead of step lengths."""
    net, down = network(11)
    rng = np.random.default_rng(11)
    travel = rng.uniform(0, 5, size=net.shape)
    expected = np.full(down.size, np.nan)
    for i, path in ref.paths(down).items():
        expected[i] = sum(travel.flat[k] for k in path[:-1])
    np.testing.assert_allclose(xa.distance_to_outlet(net, travel).ravel(), expected)
    with pytest.raises(ValueError, match="must be non-negative"):
        xa.distance_to_outlet(net, -travel)


def test_distances_with_link_lengths_equal_earthkit_hydro():
    pytest.importorskip("earthkit.hydro")
    from earthkit.hydro import distance
    from earthkit.hydro._readers import from_d8
    from earthkit.hydro.data_structures import RiverNetwork as EkNetwork

    codes = np.asarray(real_data.load("efas_europe_nc").values)
    codes = np.where(np.isin(codes, list(range(1, 10))), codes, 255).astype(np.uint8)
    net = xa.RiverNetwork.from_ldd(codes)
    ek = EkNetwork(from_d8(codes, "pcr_d8"))
    hours = np.random.default_rng(1).uniform(0.5, 3.0, size=net.shape)  # travel time per link
    ek_hours = hours.reshape(-1)[ek.mask]  # its distances take a value per node (its link downstream)

    def same(ours, theirs):
        np.testing.assert_allclose(ours[net.mask], np.asarray(theirs)[net.mask], rtol=1e-12)

    same(xa.distance_to_outlet(net, hours), distance.array.to_sink(ek, ek_hours, return_type="gridded"))
    for path in ("longest", "shortest"):
        same(
            xa.distance_to_source(net, hours, path=path),
            distance.array.to_source(ek, ek_hours, path=path, return_type="gridded"),
        )


def test_vector_network_edge_weights_follow_the_node_labels():
    net = xa.RiverNetwork.from_downstream([20, 30, -1], ids=[10, 20, 30])  # 10 -> 20 -> 30
    field = xr.DataArray([1.0, 2.0, 4.0], dims="node", coords={"node": [30, 20, 10]})
    edges = xr.DataArray([0.5, 0.25, 9.0], dims="node", coords={"node": [10, 20, 30]})
    out = field.hydro.accumulate(net, edge_weights=edges)
    # 30 receives 0.25 · (2 + 0.5 · 4) from 20; the outlet's 9 is never read
    np.testing.assert_array_equal(out.sel(node=[10, 20, 30]).values, [4.0, 4.0, 2.0])
