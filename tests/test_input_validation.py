"""Every value a real input holds: nodata values, masks, dtypes, layouts and parameters.

Each case either gives the right answer (checked against a plain, native-dtype
computation) or raises a clear ``TypeError``/``ValueError`` naming the problem.
"""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests.conftest import HOWS
from xhydro_accessor import InvalidCodeError, RiverNetwork
from xhydro_accessor.io import detect_convention, open_network

LDD = np.array([[3, 2, 1, 255], [6, 5, 4, 255]])  # 6 network cells, one pit, 2 missing


def _reference() -> RiverNetwork:
    return RiverNetwork.from_ldd(LDD.astype(np.uint8))


# ----------------------------------------------------------------- nodata (4)
@pytest.mark.parametrize(
    ("dtype", "fill"),
    [
        ("float32", np.nan),  # xarray's default _FillValue of floats
        ("float64", np.nan),
        ("float32", np.float32(-3.4028235e38)),  # GDAL's float32 nodata
        ("float64", -9999.0),
        ("int32", -2147483648),  # a CSF INT4 map's missing value
        ("int64", -(2**63)),
        ("uint32", 4294967295),
        (">i4", -2147483648),  # big-endian
        ("int16", -32768),
    ],
)
def test_nodata_from_a_file_marks_missing_cells(dtype: str, fill) -> None:
    codes = LDD.astype(dtype)
    codes[LDD == 255] = fill
    net = RiverNetwork.from_ldd(codes, nodata=fill)
    assert net == _reference()
    da = xr.DataArray(codes, dims=("y", "x"), attrs={"nodata": fill})
    assert RiverNetwork.from_ldd(da).n_nodes == 6


@pytest.mark.parametrize("fill", [np.nan, np.float32(-3.4e38), 1e300, -2147483648])
def test_nodata_that_no_cell_can_hold_is_ignored(fill) -> None:
    assert RiverNetwork.from_ldd(LDD.astype(np.uint8), nodata=fill) == _reference()


def test_nodata_outside_int8_range_with_wide_code_range() -> None:
    codes = LDD.astype(np.int32)
    codes[0, 3] = -2147483648
    codes[1, 3] = 255
    assert RiverNetwork.from_ldd(codes, nodata=-2147483648) == _reference()
    codes[1, 3] = 77  # and an invalid code in such a grid is still reported
    with pytest.raises(InvalidCodeError, match=r"values \[77\]"):
        RiverNetwork.from_ldd(codes, nodata=-2147483648)


def test_non_integral_nodata_is_an_error_not_a_truncation() -> None:
    with pytest.raises(InvalidCodeError, match=r"nodata 2.5 is not an integer"):
        RiverNetwork.from_ldd(LDD.astype(np.uint8), nodata=2.5)
    # float codes: nodata 2.5 matches exactly, code 2 stays a direction
    codes = LDD.astype(np.float64)
    codes[LDD == 255] = 2.5
    assert RiverNetwork.from_ldd(codes, nodata=2.5) == _reference()


def test_detect_convention_keeps_codes_a_non_integral_nodata_would_truncate_to() -> None:
    d8 = np.array([[1, 2, 4, 8], [16, 32, 64, 128]], np.float64)
    assert detect_convention(d8, nodata=[2.5, np.nan]) == "esri"  # 2 is not dropped


@pytest.mark.parametrize("fill", [np.nan, -3.4e38, 2.5, 1e300])
def test_repair_never_writes_a_nodata_the_codes_cannot_hold(fill) -> None:
    fixed, report = xa.repair(np.array([[6, 77, 5]], np.uint8), "ldd", nodata=fill)
    assert fixed.tolist() == [[5, 255, 5]]  # 6 now drains into a missing cell: a pit
    assert report.invalid.tolist() == [1]  # 77 -> missing; never 2.5 truncated to code 2


def test_repair_without_a_representable_missing_code_raises() -> None:
    with pytest.raises(ValueError, match="fits dtype int8"):
        xa.repair(np.array([[6, 77, 5]], np.int8), "ldd")
    assert xa.repair(np.array([[6, 77, 5]], np.int8), "ldd", nodata=-1)[0].tolist() == [[5, -1, 5]]


def test_masked_array_mask_is_missing() -> None:
    data = LDD.copy()
    data[LDD == 255] = 77  # garbage under the mask
    masked = np.ma.masked_array(data, mask=LDD == 255)
    assert RiverNetwork.from_ldd(masked) == _reference()
    assert RiverNetwork.from_ldd(np.ma.masked_array(masked.astype(float), mask=masked.mask)) == _reference()
    assert RiverNetwork.from_d8(np.ma.masked_array([[1, 99]], mask=[[False, True]])).n_nodes == 1


def test_float_netcdf_with_nan_fill_value(tmp_path) -> None:
    path = tmp_path / "ldd.nc"
    codes = np.where(LDD == 255, np.nan, LDD).astype(np.float32)
    coords = {"y": [1.5, 0.5], "x": np.arange(4) + 0.5}
    xr.Dataset({"ldd": (("y", "x"), codes)}, coords=coords).to_netcdf(path)
    assert np.isnan(xr.open_dataset(path, mask_and_scale=False)["ldd"].attrs["_FillValue"])
    assert np.array_equal(open_network(path, "ldd").downstream_grid(), _reference().downstream_grid())


@pytest.mark.parametrize("dtype", ["float16", "longdouble", ">i2", "<u4", ">f8", "int8"])
def test_codes_of_any_numeric_dtype(dtype: str) -> None:
    codes = np.array([[3, 2, 1], [6, 5, 4]]).astype(dtype)
    assert RiverNetwork.from_ldd(codes) == RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))


@pytest.mark.parametrize("dtype", ["bool", "complex64", "object", "U1", "datetime64[s]"])
def test_codes_of_a_non_integer_dtype_raise_naming_it(dtype: str) -> None:
    codes = np.array([[1, 0]]).astype(dtype)
    with pytest.raises(ValueError, match=re.escape(f"dtype {np.dtype(dtype)}")):
        RiverNetwork.from_d8(codes)


def test_package_exports() -> None:
    assert xa.RiverNetwork is RiverNetwork


# ------------------------------------------------ dtypes and layouts (6)
GRID = np.array([[3, 2, 1], [6, 5, 4]])
VALUES = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
OPS = (xa.accumulate, xa.accumulate_downstream, xa.move_downstream)
#: dtype given -> the native dtype it is computed as (the documented conversion)
CONVERTED = {">f8": "float64", ">i4": "int32", ">u2": "uint16", "float16": "float32",
             "longdouble": "float64", "bool": "bool", "<f4": "float32"}  # fmt: skip


@pytest.mark.parametrize("dtype", sorted(CONVERTED))
@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_field_of_any_layout_equals_its_native_conversion(op, how: str, dtype: str) -> None:
    net = RiverNetwork.from_ldd(GRID)
    field = (VALUES > 2 if dtype == "bool" else VALUES).astype(dtype)
    expected = op(net, field.astype(CONVERTED[dtype]), how=how)
    got = op(net, field, how=how)
    assert got.dtype == expected.dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", sorted(CONVERTED))
@pytest.mark.parametrize("how", HOWS)
def test_weights_of_any_layout(how: str, dtype: str) -> None:
    net = RiverNetwork.from_ldd(GRID)
    weights = (VALUES > 2 if dtype == "bool" else VALUES).astype(dtype)
    expected = xa.accumulate(net, VALUES, how=how, weights=weights.astype(CONVERTED[dtype]))
    np.testing.assert_array_equal(xa.accumulate(net, VALUES, how=how, weights=weights), expected)


def test_move_upstream_of_big_endian_and_float16() -> None:
    net = RiverNetwork.from_ldd(GRID)
    for dtype, native in ((">f8", "f8"), ("float16", "f4"), (">i2", "i2")):
        np.testing.assert_array_equal(
            xa.move_upstream(net, VALUES.astype(dtype)), xa.move_upstream(net, VALUES.astype(native))
        )


@pytest.mark.parametrize("dtype", ["complex128", "object", "U3", "datetime64[s]", "timedelta64[s]"])
@pytest.mark.parametrize("op", [*OPS, xa.move_upstream], ids=lambda f: f.__name__)
def test_non_numeric_fields_and_weights_raise_naming_the_dtype(op, dtype: str) -> None:
    net = RiverNetwork.from_ldd(GRID)
    field = VALUES.astype(dtype)
    with pytest.raises(
        TypeError, match=re.escape(f"field must be boolean, integer or float, got dtype {field.dtype}")
    ):
        op(net, field)
    if op is not xa.move_upstream:
        with pytest.raises(
            TypeError, match=re.escape(f"weights must be boolean, integer or float, got dtype {field.dtype}")
        ):
            op(net, VALUES, weights=field)


@pytest.mark.parametrize("how", ["mean", "std", "var"])
@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_negative_weights_of_means_and_moments_raise(op, how: str) -> None:
    net = RiverNetwork.from_ldd(GRID)
    weights = np.array([[1.0, -1.0, 1.0], [1.0, -1.0, 1.0]])  # the upstream weights sum to 0
    with pytest.raises(ValueError, match=f"weights of how='{how}' must be non-negative"):
        op(net, VALUES, how=how, weights=weights)
    for catchment_how in (how, "median"):
        with pytest.raises(ValueError, match="must be non-negative"):
            xa.catchment_statistics(net, VALUES, [(1, 1)], catchment_how, weights=weights)


def test_negative_weights_of_sums_and_extremes_are_products() -> None:
    net = RiverNetwork.from_ldd(GRID)
    weights = -np.ones(GRID.shape)
    np.testing.assert_array_equal(xa.accumulate(net, VALUES, weights=weights), -xa.accumulate(net, VALUES))
    np.testing.assert_array_equal(
        xa.accumulate(net, VALUES, "max", weights=weights), -xa.accumulate(net, VALUES, "min")
    )


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", ["int32", "float32", ">f8"])
def test_masked_fields_and_weights_are_missing_values(op, dtype: str) -> None:
    net = RiverNetwork.from_ldd(GRID)
    mask = np.array([[False, False, True], [False, False, False]])
    masked = np.ma.masked_array(VALUES.astype(dtype), mask=mask)
    with_nan = np.where(mask, np.nan, VALUES).astype(np.float32 if dtype == "float32" else np.float64)
    for skipna in (False, True):
        np.testing.assert_array_equal(op(net, masked, skipna=skipna), op(net, with_nan, skipna=skipna))
        np.testing.assert_array_equal(
            op(net, VALUES, weights=masked, skipna=skipna), op(net, VALUES, weights=with_nan, skipna=skipna)
        )
    np.testing.assert_array_equal(
        xa.catchment_statistics(net, masked, [(1, 1)], "sum", skipna=True),
        xa.catchment_statistics(net, with_nan, [(1, 1)], "sum", skipna=True),
    )


def test_torch_half_precision_and_negative_weights() -> None:
    torch = pytest.importorskip("torch")
    net = RiverNetwork.from_ldd(GRID)
    for dtype in (torch.float16, torch.bfloat16):
        out = xa.accumulate(net, torch.tensor(VALUES, dtype=dtype))
        assert out.dtype == torch.float32
        np.testing.assert_array_equal(out.numpy(), xa.accumulate(net, VALUES.astype(np.float32)))
    with pytest.raises(ValueError, match="must be non-negative"):
        xa.accumulate(net, torch.tensor(VALUES), "var", weights=-torch.ones(GRID.shape, dtype=torch.float64))
    with pytest.raises(TypeError, match="got dtype complex64"):
        xa.accumulate(net, torch.ones(GRID.shape, dtype=torch.complex64))


def test_negative_weights_checked_lazily_on_dask() -> None:
    da = pytest.importorskip("dask.array")
    net = RiverNetwork.from_ldd(GRID)
    out = xa.accumulate(net, da.from_array(VALUES), "var", weights=da.from_array(-np.ones(GRID.shape)))
    with pytest.raises(ValueError, match="must be non-negative"):
        out.compute()


def _percentile(net: RiverNetwork, q):
    return xa.catchment_statistics(net, VALUES, [(1, 1)], "percentile", q=q)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda net: xa.accumulate(net, VALUES, how="avg"), "how must be one of"),
        (lambda net: xa.accumulate(net, VALUES, how=None), "how must be one of"),
        (lambda net: xa.accumulate(net, VALUES, skipna="no"), "skipna must be True or False, got 'no'"),
        (lambda net: xa.accumulate(net, VALUES, skipna=None), "skipna must be True or False"),
        (lambda net: xa.move_downstream(net, VALUES, skipna=1), "skipna must be True or False"),
        (lambda net: xa.catchment_statistics(net, VALUES, [(1, 1)], "avg"), "how must be one of"),
        (lambda net: xa.catchment_statistics(net, VALUES, [(1, 1)], skipna="yes"), "skipna must be"),
        (lambda net: xa.catchment_statistics(net, VALUES, [(1, 1)], nested="yes"), "nested must be"),
        (lambda net: xa.catchments(net, [(1, 1)], nested=None), "nested must be True or False"),
        (lambda net: _percentile(net, np.nan), "must lie in"),
        (lambda net: _percentile(net, "50"), "q must be a number"),
        (lambda net: _percentile(net, []), "q must be a number"),
        (lambda net: _percentile(net, [[5]]), "q must be a number"),
        (lambda net: xa.catchments(net, [(1, 1)], ids=[1.5]), "ids must be 1 non-zero integers"),
        (lambda net: xa.catchments(net, [(1, 1)], ids=[0]), "with a 0"),
        (lambda net: xa.catchments(net, [(1, 1)], ids=[1, 2]), "got 2"),
        (lambda net: xa.upstream_area(net, np.ones(GRID.shape), units="ha"), "units must be one of"),
        (
            lambda net: xa.upstream_area(net, np.ones(GRID.shape), latlon="yes"),
            "latlon must be True or False",
        ),
        (
            lambda net: xa.upstream_area(net, np.ones(GRID.shape, complex)),
            "cell_area must be boolean, integer",
        ),
        (lambda net: xa.distance_to_outlet(net, np.ones(GRID.shape, complex)), "weights must be boolean"),
        (lambda net: xa.distance_to_outlet(net, per="node"), "per must be"),
        (lambda net: xa.distance_from_points(net, [(1, 1)], downstream="x"), "downstream must be True"),
        (lambda net: xa.subnetwork(net, np.ones(GRID.shape, bool), crop="no"), "crop must be True or False"),
        (lambda net: RiverNetwork.from_ldd(GRID, wrap_x="no"), "wrap_x must be True or False"),
    ],
)
def test_parameters_are_validated_up_front(call, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=re.escape(message)) as info:
        call(RiverNetwork.from_ldd(GRID))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("how", ["min", "max", "sum", "mode", "median"])
def test_catchment_statistics_of_unsigned_and_big_endian_fields(how: str) -> None:
    net = RiverNetwork.from_ldd(GRID)
    locations = [(1, 1), (0, 0)]
    for dtype, native in ((">u2", "u2"), ("uint16", "u2"), (">f8", "f8"), ("float16", "f4")):
        expected = xa.catchment_statistics(net, VALUES.astype(native), locations, how)
        np.testing.assert_array_equal(
            xa.catchment_statistics(net, VALUES.astype(dtype), locations, how), expected
        )
        weights = np.ones(GRID.shape, dtype)
        got = xa.catchment_statistics(net, VALUES, locations, how, weights=weights)
        np.testing.assert_array_equal(
            got, xa.catchment_statistics(net, VALUES, locations, how, weights=weights.astype(native))
        )
    brute = {"min": 1, "max": 6, "sum": 21, "mode": 1, "median": 3.5}[how]
    assert xa.catchment_statistics(net, VALUES.astype(np.uint16), [(1, 1)], how)[0] == brute


# --------------------------------------------------- catchment ids (3)
@pytest.mark.parametrize(
    "ids",
    [[2**40, 7], [7120000010, 7120000020], np.array([2**63 + 5, 1], np.uint64), np.array([-3, 9], ">i8")],
    ids=str,
)
def test_catchment_ids_keep_their_values(ids) -> None:
    net = RiverNetwork.from_ldd(GRID)
    ids = np.array(ids)
    labels = xa.catchments(net, [(1, 1), (0, 0)], ids=ids, nested=True)
    assert labels.dtype == ids.dtype.newbyteorder("=")
    assert labels[0, 0] == ids[1] and labels[1, 1] == ids[0]
    assert set(np.unique(labels).tolist()) == set(ids.tolist())


# ------------------------------------------- vector networks: labels (3)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def labelled_trees(draw):
    """A random forest of n nodes with distinct integer labels, and a permutation of them."""
    n = draw(st.integers(1, 25))
    parents = [draw(st.integers(-1, k - 1)) for k in range(n)]  # each node drains to an earlier one
    labels = np.array(draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n, unique=True)))
    outlet = int(labels.min()) - 1  # never a label
    down = np.array([labels[p] if p >= 0 else outlet for p in parents])
    perm = np.array(draw(st.permutations(range(n))), dtype=np.intp)
    return labels, down, outlet, perm


def _brute_accumulate(labels, down, outlet, values) -> np.ndarray:
    """Sum over each node's upstream set, by following every node's path."""
    index = {int(label): k for k, label in enumerate(labels)}
    out = np.zeros(len(labels))
    for k in range(len(labels)):
        node = k
        while True:
            out[node] += values[k]
            if down[node] == outlet:
                break
            node = index[int(down[node])]
    return out


@settings(max_examples=60, deadline=None)
@given(labelled_trees(), st.data())
def test_a_field_in_another_label_order_gives_the_same_answer_per_label(tree, data) -> None:
    labels, down, outlet, perm = tree
    values = np.array(
        data.draw(st.lists(st.integers(0, 100), min_size=len(labels), max_size=len(labels))), float
    )
    expected = dict(zip(labels.tolist(), _brute_accumulate(labels, down, outlet, values), strict=True))
    nets = [
        RiverNetwork.from_downstream(down, ids=labels, outlet=outlet),
        RiverNetwork.from_downstream(xr.DataArray(down, dims="node", coords={"node": labels}), outlet=outlet),
    ]
    field = xr.DataArray(values[perm], dims="node", coords={"node": labels[perm]})  # other order
    for net in nets:
        for out in (field.hydro.accumulate(net), field.hydro.assign_network(net).hydro.accumulate()):
            assert dict(zip(out["node"].values.tolist(), out.values.tolist(), strict=True)) == expected
        weights = xr.DataArray(
            np.full(len(labels), 2.0), dims="node", coords={"node": labels}
        )  # network order
        out = field.hydro.accumulate(net, weights=weights)
        assert dict(zip(out["node"].values.tolist(), (out.values / 2).tolist(), strict=True)) == expected


def test_catalogue_on_a_field_in_another_label_order() -> None:
    net = RiverNetwork.from_downstream(["b", "c", "", "c"], ids=["a", "b", "c", "d"], outlet="")
    field = xr.DataArray([4.0, 3.0, 2.0, 1.0], dims="node", coords={"node": ["d", "c", "b", "a"]})
    out = field.hydro.catchment_statistics(["b", "c"], "sum", net)
    assert out.values.tolist() == [1.0 + 2.0, 1.0 + 2.0 + 3.0 + 4.0]
    weights = xr.DataArray([1.0, 1.0, 1.0, 10.0], dims="node", coords={"node": ["a", "b", "c", "d"]})
    out = field.hydro.catchment_statistics(["c"], "sum", net, weights=weights)
    assert out.values.tolist() == [1.0 + 2.0 + 3.0 + 40.0]
    labels = field.hydro.catchments(["b"], net)
    assert dict(zip(labels["node"].values.tolist(), labels.values.tolist(), strict=True)) == {
        "a": 1, "b": 1, "c": 0, "d": 0
    }  # fmt: skip


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["a", "b", "c", "e"], r"\['e'\] are not among the network's nodes.*\['d'\]"),
        (["a", "b", "c", "c"], r"repeated: \['c'\]"),
        (["a", "b", "c"], r"the network's nodes \['d'\] are not among the field's"),
    ],
)
def test_a_field_with_other_labels_raises(labels, message: str) -> None:
    net = RiverNetwork.from_downstream(["b", "c", "", "c"], ids=["a", "b", "c", "d"], outlet="")
    field = xr.DataArray(np.ones(len(labels)), dims="node", coords={"node": labels})
    with pytest.raises(xa.GridMismatchError, match=message):
        field.hydro.accumulate(net, x_dim="node")


def test_an_unlabelled_vector_network_matches_by_position() -> None:
    net = RiverNetwork.from_downstream([1, 2, -1])
    field = xr.DataArray([1.0, 2.0, 3.0], dims="station", coords={"station": ["x", "y", "z"]})
    assert field.hydro.accumulate(net).values.tolist() == [1.0, 3.0, 6.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"downstream_ids": [1, -1], "ids": [-1, 1]}, "labelled with the outlet sentinel -1"),
        (
            {"downstream_ids": ["b", ""], "ids": ["", "b"], "outlet": ""},
            "labelled with the outlet sentinel ''",
        ),
        ({"downstream_ids": [1.0, -1.0], "ids": [np.nan, 1.0]}, "ids hold NaN at node 0"),
        ({"downstream_ids": [np.nan, -1.0], "ids": [0.0, 1.0]}, "downstream_ids hold NaN at node 0"),
        ({"downstream_ids": [1, -1], "ids": [1, 1]}, r"ids are not unique: \[1\]"),
        (
            {"downstream_ids": ["b", None], "ids": ["a", "b"], "outlet": "x"},
            "downstream_ids hold NaN at node 1",
        ),
    ],
)
def test_bad_vector_labels_raise(kwargs, message: str) -> None:
    with pytest.raises(InvalidCodeError, match=message):
        RiverNetwork.from_downstream(**kwargs)


def test_hydrobasins_style_labels() -> None:
    ids = np.array([7120000010, 7120000020, 7120000030], np.int64)
    net = RiverNetwork.from_downstream([7120000020, 0, 7120000020], ids=ids, outlet=0)
    field = xr.DataArray([1.0, 1.0, 1.0], dims="HYBAS_ID", coords={"HYBAS_ID": ids[::-1]})
    out = field.hydro.accumulate(net)
    assert out.sel(HYBAS_ID=7120000020).item() == 3.0 and out.sel(HYBAS_ID=7120000010).item() == 1.0


# ------------------------------------------- nodata through the readers (4)
def _float_ldd(fill: float) -> np.ndarray:
    codes = LDD.astype(np.float32)
    codes[LDD == 255] = fill
    return codes


def _write_reader_file(tmp_path, kind: str):
    gdal_nodata = float(np.float32(-3.4028235e38))
    if kind == "asc":  # GDAL writes float grids with its float32 nodata
        path = tmp_path / "ldd.asc"
        rows = "\n".join(" ".join(repr(float(v)) for v in row) for row in _float_ldd(gdal_nodata))
        path.write_text(
            f"ncols 4\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\nNODATA_value {gdal_nodata!r}\n{rows}\n"
        )
    elif kind == "bil":
        path = tmp_path / "ldd.bil"
        path.write_bytes(_float_ldd(gdal_nodata).astype("<f4").tobytes())
        (tmp_path / "ldd.hdr").write_text(
            f"NROWS 2\nNCOLS 4\nNBITS 32\nPIXELTYPE FLOAT\nNODATA {gdal_nodata!r}\n"
        )
    elif kind == "envi":
        path = tmp_path / "ldd.bin"
        path.write_bytes(_float_ldd(np.nan).astype("<f4").tobytes())
        (tmp_path / "ldd.hdr").write_text(
            "ENVI\nsamples = 4\nlines = 2\ndata type = 4\ndata ignore value = nan\n"
        )
    elif kind == "nc_int32":
        path = tmp_path / "ldd.nc"
        codes = np.where(LDD == 255, -2147483648, LDD).astype(np.int32)
        ds = xr.Dataset({"ldd": (("y", "x"), codes)}, coords={"y": [1.5, 0.5], "x": np.arange(4) + 0.5})
        ds.to_netcdf(path, encoding={"ldd": {"_FillValue": np.int32(-2147483648)}})
    else:  # a CSF INT4 map with its missing value
        path = tmp_path / "ldd.map"
        header = bytearray(256)
        header[:27] = b"RUU CROSS SYSTEM MAP FORMAT"
        struct.pack_into("<HIHI", header, 32, 2, 0, 1, 0)
        struct.pack_into("<I", header, 46, 1)
        struct.pack_into("<HH", header, 64, 0xE2, 0x26)  # nominal, INT4
        struct.pack_into("<ddIIddd", header, 84, 0.0, 2.0, 2, 4, 1.0, 1.0, 0.0)
        codes = np.where(LDD == 255, -2147483648, LDD).astype("<i4")
        path.write_bytes(bytes(header) + codes.tobytes())
    return path


@pytest.mark.parametrize("kind", ["asc", "bil", "envi", "nc_int32", "csf_int4"])
def test_every_nodata_a_reader_returns_marks_missing_cells(tmp_path, kind: str) -> None:
    net = open_network(_write_reader_file(tmp_path, kind), "ldd")
    np.testing.assert_array_equal(net.downstream_grid(), _reference().downstream_grid())


def test_catchment_statistics_of_a_dataset_names_the_problem() -> None:
    net = RiverNetwork.from_ldd(GRID)
    field = xr.DataArray(VALUES, dims=("y", "x"))
    with pytest.raises(TypeError, match="call it on a DataArray"):
        field.to_dataset(name="rain").hydro.catchment_statistics([(1, 1)], "sum", net)
    # every cell drains to (1, 1)
    assert field.hydro.catchment_statistics([(1, 1)], "sum", net).values.tolist() == [21.0]
