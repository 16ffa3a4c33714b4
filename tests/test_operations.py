"""Every operation, how, skipna and dtype against the brute-force reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from tests.conftest import HOWS

DTYPES = ["float64", "float32", "int32", "uint8"]


def expected_dtype(how, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return dtype
    if how == "sum":
        return np.dtype("uint64" if dtype.kind == "u" else "int64")
    return np.dtype("float64") if how in ("mean", "std", "var") else dtype


def make_field(rng, shape, dtype, nan_fraction):
    if np.dtype(dtype).kind == "f":
        field = rng.normal(size=shape).astype(dtype)
        field[rng.random(shape) < nan_fraction] = np.nan
        return field
    return rng.integers(0, 50, size=shape).astype(dtype)


def reference(down, field, weights, how, skipna, op):
    """Apply the reference reduction to every member and cell."""
    sets = {
        "accumulate": lambda: ref.upstream_sets(down),
        "accumulate_downstream": lambda: ref.paths(down),
        "move_downstream": lambda: ref.children(down),
        "move_upstream": lambda: {i: ([int(down[i])] if down[i] >= 0 else []) for i in ref.paths(down)},
    }[op]()
    dtype = expected_dtype(how, field.dtype if weights is None else np.result_type(field, weights))
    members = field.reshape(-1, down.size)
    w = np.ones(down.size, field.dtype) if weights is None else weights.reshape(-1)
    out = np.full(members.shape, xa.fill_value(dtype), dtype)
    for m, x in enumerate(members):
        for cell, cells in sets.items():
            if cells:
                out[m, cell] = ref.reduce_set(x[cells], w[cells], how, skipna)
            elif op == "move_downstream" and how == "sum":
                out[m, cell] = 0
    return out.reshape(field.shape)


def check(actual, expected):
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    if expected.dtype.kind == "f":
        rtol = 1e-4 if expected.dtype == np.float32 else 1e-9
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


OPS = ["accumulate", "accumulate_downstream", "move_downstream"]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    ny=st.integers(1, 7),
    nx=st.integers(1, 7),
    how=st.sampled_from(HOWS),
    dtype=st.sampled_from(DTYPES),
    skipna=st.booleans(),
    op=st.sampled_from(OPS),
    convention=st.sampled_from(["ldd", "esri", "merit", "taudem"]),
    batch=st.sampled_from([(), (3,), (2, 2), (10,)]),  # 10: over MEMBERS_FIRST_UP_TO
    weighted=st.booleans(),
)
def test_grid_operations_match_reference(seed, ny, nx, how, dtype, skipna, op, convention, batch, weighted):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    if convention == "taudem":  # no pit code: pits become missing cells
        missing |= (steps == 0).all(axis=-1)
    codes = ref.encode(steps, missing, convention)
    down = ref.down_of_steps(steps, missing)
    net = (
        xa.RiverNetwork.from_d8(codes, convention) if convention != "ldd" else xa.RiverNetwork.from_ldd(codes)
    )
    field = make_field(rng, batch + (ny, nx), dtype, nan_fraction=0.15)
    weights = rng.uniform(0.5, 2.0, (ny, nx)) if weighted and dtype.startswith("float") else None
    actual = getattr(xa, op)(net, field, how=how, weights=weights, skipna=skipna)
    expected = reference(down, field, weights, how, skipna, op)
    check(actual, expected)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), dtype=st.sampled_from(DTYPES),
       how=st.sampled_from(HOWS), skipna=st.booleans())  # fmt: skip
def test_vector_operations_match_reference(seed, n, dtype, how, skipna):
    rng = np.random.default_rng(seed)
    down = ref.random_tree_down(rng, n)
    ids = rng.permutation(10 * n)[:n] + 1000
    downstream_ids = np.where(down >= 0, ids[np.maximum(down, 0)], -1)
    net = xa.RiverNetwork.from_downstream(downstream_ids, ids=ids)
    field = make_field(rng, (2, n), dtype, nan_fraction=0.2)
    for op in OPS:
        check(
            getattr(xa, op)(net, field, how=how, skipna=skipna), reference(down, field, None, how, skipna, op)
        )
    check(xa.move_upstream(net, field), reference(down, field, None, "max", False, "move_upstream"))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ny=st.integers(1, 6), nx=st.integers(2, 6))
def test_wrap_x_matches_reference(seed, ny, nx):
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    # force some flow across the east/west edges
    steps[:, 0] = (0, -1)
    down = ref.down_of_steps(steps, missing, wrap_x=True)
    try:
        net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"), wrap_x=True)
    except xa.CycleError:
        assert _has_cycle(down)
        return
    field = rng.random((ny, nx))
    check(xa.accumulate(net, field), reference(down, field, None, "sum", False, "accumulate"))


def _has_cycle(down):
    for start in np.flatnonzero(down >= 0):
        seen, i = set(), start
        while i >= 0:
            if i in seen:
                return True
            seen.add(i)
            i = down[i]
    return False


def test_variance_is_numerically_stable():
    net = xa.RiverNetwork.from_ldd(np.array([[6] * 999 + [5]]))
    noise = np.random.default_rng(0).normal(0, 1e-3, (1, 1000))
    field = 1e9 + noise
    var = xa.accumulate(net, field, how="var")[0, -1]
    np.testing.assert_allclose(var, np.var(field), rtol=1e-6)  # numpy's two-pass variance
    path_std = xa.accumulate_downstream(net, field, how="std")[0, 0]
    np.testing.assert_allclose(path_std, np.std(field), rtol=1e-6)


def test_integer_sums_stay_integer_and_exact():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 6, 5]]))
    big = np.array([[2**60, 2**60, 1]], dtype=np.int64)
    out = xa.accumulate(net, big)
    assert out.dtype == np.int64 and out[0, 2] == 2**61 + 1


def test_off_network_cells_hold_nan_or_fill():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 5, 255]]))
    assert np.isnan(xa.accumulate(net, np.ones((1, 3)))[0, 2])
    assert xa.accumulate(net, np.ones((1, 3), np.int16))[0, 2] == np.iinfo(np.int64).min
    assert xa.accumulate(net, np.ones((1, 3), np.int16), how="max")[0, 2] == np.iinfo(np.int16).min


def test_moves_on_all_negative_fields():
    # 0 -> 2 <- 1 ; 2 -> 3 (outlet)
    net = xa.RiverNetwork.from_downstream([2, 2, 3, -1])
    field = np.array([-5.0, -7.0, -1.0, -2.0])
    np.testing.assert_array_equal(xa.move_downstream(net, field, how="max"), [np.nan, np.nan, -5.0, -1.0])
    np.testing.assert_array_equal(xa.move_downstream(net, field), [0.0, 0.0, -12.0, -1.0])
    np.testing.assert_array_equal(xa.move_upstream(net, field), [-1.0, -1.0, -2.0, np.nan])


def test_nan_policy():
    net = xa.RiverNetwork.from_downstream([1, 2, -1])
    field = np.array([np.nan, 1.0, 2.0])
    np.testing.assert_array_equal(xa.accumulate(net, field), [np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(xa.accumulate(net, field, skipna=True), [0.0, 1.0, 3.0])
    np.testing.assert_array_equal(xa.accumulate(net, field, how="mean", skipna=True), [np.nan, 1.0, 1.5])


def test_field_with_wrong_grid_raises():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 5]]))
    with pytest.raises(xa.GridMismatchError, match=r"\(1, 2\)"):
        xa.accumulate(net, np.ones((2, 1)))
    with pytest.raises(ValueError, match="how must be one of"):
        xa.accumulate(net, np.ones((1, 2)), how="medain")
    with pytest.raises(ValueError, match="weights must have"):
        xa.accumulate(net, np.ones((1, 2)), weights=np.ones(3))


@pytest.mark.parametrize("how", ["sum", "mean", "max", "var"])
def test_large_batches_split_across_threads_equal_member_by_member(how):
    # 80 members × 64×64 cells is above the threshold where the element-wise steps run in threads
    rng = np.random.default_rng(1)
    steps, missing = ref.random_grid_network(rng, 64, 64)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    field = rng.normal(size=(80, 64, 64))
    field[rng.random(field.shape) < 0.05] = np.nan
    weights = rng.uniform(0.5, 2.0, field.shape)
    batched = xa.accumulate(net, field, how=how, weights=weights, skipna=True)
    one_by_one = [
        xa.accumulate(net, f, how=how, weights=w, skipna=True) for f, w in zip(field, weights, strict=True)
    ]
    np.testing.assert_allclose(batched, np.stack(one_by_one), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("op", ["accumulate", "accumulate_downstream"])
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_large_unweighted_sum_batches_run_member_by_member(op, dtype):
    rng = np.random.default_rng(2)
    steps, missing = ref.random_grid_network(rng, 64, 64)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    field = make_field(rng, (20, 64, 64), dtype, nan_fraction=0.0)
    batched = getattr(xa, op)(net, field)
    assert batched.flags.c_contiguous  # the member-by-member path, not a transposed view
    one_by_one = np.stack([getattr(xa, op)(net, member) for member in field])
    np.testing.assert_array_equal(batched, one_by_one)
    check(batched, reference(ref.down_of_steps(steps, missing), field, None, "sum", False, op))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
@pytest.mark.parametrize("batch", [(), (3,), (12,)])
def test_unweighted_mean_is_a_sum_over_a_shared_cell_count(op, dtype, batch):
    rng = np.random.default_rng(3)
    steps, missing = ref.random_grid_network(rng, 9, 11)
    net = xa.RiverNetwork.from_ldd(ref.encode(steps, missing, "ldd"))
    field = make_field(rng, batch + (9, 11), dtype, nan_fraction=0.1)
    actual = getattr(xa, op)(net, field, how="mean")
    check(actual, reference(ref.down_of_steps(steps, missing), field, None, "mean", False, op))
