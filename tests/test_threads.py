"""The topological order split into heads run side by side: still an order, heads
independent, and every operation equal to the same network without heads."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from xhydro_accessor.kernels.topology import split_for_threads
from xhydro_accessor.samples import sample_network
from xhydro_accessor.threads import last_level_cache_bytes


def with_heads(net, parts):
    """``net`` with its order split into ``parts`` heads, whatever its size."""
    nodes, to, heads = split_for_threads(net.nodes, net.downstream, net.mask.size, parts, 0)
    return xa.RiverNetwork(net.shape, nodes, to, net.n_levels, net.mask, net.dims, net.coords, heads=heads)


def random_network(seed, ny, nx):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx, p_pit=0.02)
    return rng, xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ny=st.integers(1, 12), nx=st.integers(1, 12), parts=st.integers(2, 4))
def test_split_is_a_topological_order_with_independent_heads(seed, ny, nx, parts):
    _, net = random_network(seed, ny, nx)
    split = with_heads(net, parts)
    nodes, to, heads = split.nodes, split.downstream, split.heads.tolist()
    assert sorted(nodes.tolist()) == sorted(net.nodes.tolist())
    position = {int(cell): k for k, cell in enumerate(nodes)}
    assert all(d < 0 or position[int(d)] > k for k, d in enumerate(to))  # upstream first
    section = np.searchsorted(heads, np.arange(nodes.size), side="right") - 1  # head, or the tail
    tail = len(heads) - 1
    for k, d in enumerate(to):  # a head only reaches itself and its own roots in the tail
        if section[k] < tail and d >= 0 and section[position[int(d)]] != section[k]:
            root = position[int(d)]
            assert section[root] == tail
            feeders = {int(section[j]) for j in np.flatnonzero(to == d)}
            assert feeders == {int(section[k])}


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    ny=st.integers(2, 12),
    nx=st.integers(2, 12),
    how=st.sampled_from(["sum", "mean", "max", "var"]),
    op=st.sampled_from(["accumulate", "accumulate_downstream", "move_downstream", "move_upstream"]),
    batch=st.sampled_from([(), (3,), (10,)]),  # 10: sums member by member
)
def test_operations_with_heads_equal_without(seed, ny, nx, how, op, batch):
    rng, net = random_network(seed, ny, nx)
    field = rng.normal(size=batch + net.shape)
    kwargs = {} if op == "move_upstream" else {"how": how}
    expected = getattr(xa, op)(net, field, **kwargs)
    for parts in (2, 3):
        actual = getattr(xa, op)(with_heads(net, parts), field, **kwargs)
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_real_sized_network_gets_balanced_heads():
    net = sample_network()
    heads = net.heads.tolist()
    sizes = np.diff(heads + [net.n_nodes])
    if len(heads) > 1:  # one head per core; a one-core machine gets none
        assert sizes[-1] < 0.1 * net.n_nodes  # the tail: roots and main stems
        assert sizes[:-1].max() < 1.1 * sizes[:-1].min()
    assert xa.RiverNetwork.from_ldd(np.array([[6, 5]])).heads.tolist() == [0]  # small: no heads


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    how=st.sampled_from(["sum", "mean", "max", "min"]),
    op=st.sampled_from(["accumulate", "accumulate_downstream", "move_downstream", "move_upstream"]),
    members=st.sampled_from([(), (3,)]),
)
def test_torch_gradients_with_heads_equal_without(seed, how, op, members):
    torch = pytest.importorskip("torch")
    rng, net = random_network(seed, 9, 11)
    field = rng.normal(size=members + net.shape)
    weights = rng.uniform(0.5, 2, net.shape)
    upstream = rng.normal(size=members + net.shape)
    kwargs = {} if op == "move_upstream" else {"how": how, "weights": torch.tensor(weights)}
    grads = []
    for network in (net, with_heads(net, 3)):
        x = torch.tensor(field, requires_grad=True)
        y = getattr(xa, op)(network, x, **kwargs)
        torch.nan_to_num(y * torch.tensor(upstream)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)


def test_last_level_cache_is_the_largest_cache_in_sysfs(tmp_path):
    for index, size in enumerate(["32K", "32K", "512K", "32768K", "garbage"]):
        (tmp_path / f"index{index}").mkdir()
        (tmp_path / f"index{index}" / "size").write_text(size + "\n")
    assert last_level_cache_bytes(tmp_path) == 32 << 20
    (tmp_path / "index5").mkdir()
    (tmp_path / "index5" / "size").write_text("1G\n")
    assert last_level_cache_bytes(tmp_path) == 1 << 30
    assert last_level_cache_bytes(tmp_path / "missing") == 32 << 20  # not Linux: a common size
