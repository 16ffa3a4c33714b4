"""Networks that lost their index (reopened from netCDF/zarr) never combine silently.

xarray reopens the ``flow_direction`` coordinate without its NetworkIndex; combined
with an object on another network (indexed or not) it must raise, not take the
other's network or drop its own. That is the opt-in strict-alignment guard
(``xa.set_options(strict_alignment=True)``, on for every test of this module; what
happens without it: tests/test_alignment_default.py). The use-time guard: a
coordinate that no longer encodes its index's network is never used.
"""

import pickle

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests.test_accessor import grid, random_codes
from xhydro_accessor.network_index import NetworkIndex

DIFFERENT = r"different river networks \(coordinate 'flow_direction'"
ASSIGN = (
    r"cannot assign 'q': it is attached to another river network than the Dataset "
    r"\(coordinate 'flow_direction'\)"
)
WINDOW = {"y": slice(1, 6), "x": slice(2, 8)}


@pytest.fixture(autouse=True)
def strict_alignment():
    with xa.set_options(strict_alignment=True):
        yield


@pytest.fixture
def net():
    return xa.RiverNetwork.from_ldd(grid(random_codes()))


@pytest.fixture
def other():
    return xa.RiverNetwork.from_ldd(grid(random_codes(seed=5)))


@pytest.fixture
def runoff(net):
    data = np.random.default_rng(1).random((2, *net.shape))
    coords = {"time": [0, 1], "y": net.coords["y"], "x": net.coords["x"]}
    return xr.DataArray(data, dims=("time", "y", "x"), coords=coords, name="runoff", attrs={"units": "mm"})


def reopen(tmp_path, obj, name, engine="netcdf4", coord="flow_direction"):
    """``obj`` written to a file and opened again: the coordinate without its index."""
    ds = obj.to_dataset() if isinstance(obj, xr.DataArray) else obj
    if engine == "zarr":
        path = tmp_path / f"{name}.zarr"
        ds.to_zarr(path, consolidated=False)
        out = xr.open_dataset(path, engine="zarr", consolidated=False).load()
    else:
        path = tmp_path / f"{name}.nc"
        ds.to_netcdf(path)
        with xr.open_dataset(path) as opened:
            out = opened.load()
    assert coord in out.coords and coord not in out.xindexes
    return out["runoff"] if isinstance(obj, xr.DataArray) else out


@pytest.fixture
def files(tmp_path, runoff, net, other):
    a, b = runoff.hydro.assign_network(net), runoff.hydro.assign_network(other)
    return {
        "a": a,  # indexed, network net
        "b": b,  # indexed, network other
        "ra": reopen(tmp_path, a, "a"),  # reopened, net
        "ra2": reopen(tmp_path, a, "a2"),  # reopened again, net
        "rb": reopen(tmp_path, b, "b"),  # reopened, other
    }


COMBINE = {
    "add": lambda x, y: x + y,
    "add_reflected": lambda x, y: y + x,
    "where": lambda x, y: x.where(y > 0.5),
    "xr.where": lambda x, y: xr.where(y > 0.5, x, 0.0),
    "merge": lambda x, y: xr.merge([x, y.rename("q")], join="outer", compat="no_conflicts")["runoff"],
    "merge_exact": lambda x, y: xr.merge([x, y.rename("q")], join="exact", compat="no_conflicts")["runoff"],
    "concat": lambda x, y: xr.concat([x, y.assign_coords(time=[2, 3])], "time", coords="minimal"),
    "align": lambda x, y: xr.align(x, y)[0],
    "broadcast": lambda x, y: xr.broadcast(x, y)[0],
    "dataset": lambda x, y: xr.Dataset({"runoff": x, "q": y})["runoff"],
}


@pytest.mark.parametrize("how", COMBINE)
@pytest.mark.parametrize(("left", "right"), [("ra", "b"), ("b", "ra"), ("ra", "rb")])
def test_different_networks_raise(files, how, left, right):
    with pytest.raises(xr.AlignmentError, match=DIFFERENT):
        COMBINE[how](files[left], files[right])


@pytest.mark.parametrize("how", COMBINE)
@pytest.mark.parametrize(("left", "right"), [("ra", "a"), ("a", "ra"), ("ra", "ra2")])
def test_same_network_combines_and_keeps_it(files, net, how, left, right):
    out = COMBINE[how](files[left], files[right])
    assert "flow_direction" in out.coords
    assert out.hydro.network == net
    if "a" in (left, right) and how != "broadcast":  # the index travels (broadcast rebuilds coords)
        assert isinstance(out.xindexes.get("flow_direction"), NetworkIndex)
    np.testing.assert_array_equal(out.isel(time=0).hydro.accumulate().values,
                                  xa.accumulate(net, out.isel(time=0).values))  # fmt: skip


def test_reindex_like(files, net, other):
    with pytest.raises(xr.AlignmentError, match=DIFFERENT):
        files["ra"].reindex_like(files["b"])  # would take b's network
    assert files["ra"].reindex_like(files["a"]).hydro.network == net
    assert files["b"].reindex_like(files["ra"]).hydro.network == other  # keeps its own
    assert files["ra"].reindex_like(files["rb"]).hydro.network == net


def test_error_message_names_the_coordinate_and_the_fix(files):
    with pytest.raises(ValueError) as info:
        files["ra"] + files["b"]
    message = str(info.value)
    assert "coordinate 'flow_direction'" in message
    assert "without its index" in message and "assign_network" in message


@pytest.mark.parametrize("engine", ["netcdf4", "zarr"])
def test_zarr_and_netcdf(tmp_path, files, net, engine):
    ra = reopen(tmp_path, files["a"], f"z{engine}", engine)
    rb = reopen(tmp_path, files["b"], f"zb{engine}", engine)
    with pytest.raises(xr.AlignmentError, match=DIFFERENT):
        ra + files["b"]
    with pytest.raises(xr.AlignmentError, match=DIFFERENT):
        ra + rb
    assert (ra + files["a"]).hydro.network == net


def test_lazily_opened_file(tmp_path, files, net):
    files["b"].to_dataset().to_netcdf(tmp_path / "lazy.nc")
    with xr.open_dataset(tmp_path / "lazy.nc", chunks={}) as lazy:
        with pytest.raises(xr.AlignmentError, match=DIFFERENT):
            files["a"] + lazy["runoff"]
        assert (files["b"] + lazy["runoff"]).hydro.network == files["b"].hydro.network


def test_blindly_sliced_codes_agree_with_the_subset_network(files, net):
    ra, a = files["ra"], files["a"]
    for out in (ra.isel(WINDOW) + a.isel(WINDOW), ra.isel(WINDOW) + ra):
        assert out.hydro.network == a.isel(WINDOW).hydro.network
    with pytest.raises(xr.AlignmentError, match=DIFFERENT):  # as for two indexed objects
        ra.isel(WINDOW) + a
    with pytest.raises(xr.AlignmentError, match=DIFFERENT):
        a.isel(WINDOW) + a


@pytest.mark.parametrize(("dataset", "value"), [("ra", "b"), ("a", "rb"), ("ra", "rb"), ("a", "b")])
def test_dataset_assignment_keeps_no_foreign_network(files, dataset, value):
    ds = files[dataset].to_dataset()
    with pytest.raises(xr.AlignmentError, match=ASSIGN):
        ds["q"] = files[value]
    with pytest.raises(xr.AlignmentError, match=ASSIGN):
        ds.assign(q=files[value])
    ds["q"] = files[value].hydro.drop_network()  # explicit: put it on the Dataset's network
    assert ds["q"].hydro.network == files[dataset].hydro.network


@pytest.mark.parametrize(("dataset", "value"), [("ra", "a"), ("a", "ra"), ("ra", "ra2"), ("a", "a")])
def test_dataset_assignment_on_the_same_network(files, net, dataset, value):
    ds = files[dataset].to_dataset()
    ds["q"] = files[value] * 2
    assert ds["q"].hydro.network == net and ds.hydro.network == net


def test_replacing_the_coordinate_is_allowed(files, other):
    for obj in (files["a"], files["ra"]):
        replaced = obj.assign_coords(flow_direction=files["rb"].flow_direction)
        assert replaced.hydro.network == other


def test_vector_networks(tmp_path):
    ids = np.array([10, 20, 30, 40, 50])
    net = xa.RiverNetwork.from_downstream(np.array([20, 30, -1, 30, 40]), ids)
    other = xa.RiverNetwork.from_downstream(np.array([20, 30, -1, 30, 30]), ids)
    flow = xr.DataArray(np.ones((2, 5)), dims=("time", "node"), coords={"time": [0, 1], "node": ids},
                        name="runoff")  # fmt: skip
    a, b = flow.hydro.assign_network(net), flow.hydro.assign_network(other)
    ra = reopen(tmp_path, a, "va", coord="downstream_id")
    assert (ra + a).hydro.network == a.hydro.network == ra.hydro.network
    with pytest.raises(xr.AlignmentError, match=r"coordinate 'downstream_id'"):
        ra + b
    with pytest.raises(xr.AlignmentError, match=r"coordinate 'downstream_id'"):
        ra + reopen(tmp_path, b, "vb", coord="downstream_id")
    assert ra.hydro.assign_network().xindexes["downstream_id"].network == a.xindexes["downstream_id"].network


# ------------------------------------------------------------------ index again
def test_assign_network_without_argument_indexes_the_coordinate(files, net):
    indexed = files["ra"].hydro.assign_network()
    assert isinstance(indexed.xindexes["flow_direction"], NetworkIndex)
    assert indexed.hydro.network == net
    xr.testing.assert_identical(indexed.drop_indexes("flow_direction"), files["ra"])
    ds = files["ra"].to_dataset().hydro.assign_network()
    assert isinstance(ds.xindexes["flow_direction"], NetworkIndex)
    with pytest.raises(xr.AlignmentError, match=DIFFERENT):
        indexed + files["b"]
    with pytest.raises(ValueError, match="no river network coordinate"):
        files["ra"].hydro.drop_network().hydro.assign_network()


@pytest.mark.parametrize("engine", ["netcdf4", "zarr"])
def test_open_helpers_index_the_network(tmp_path, files, net, engine):
    path = tmp_path / ("h.nc" if engine == "netcdf4" else "h.zarr")
    ds = files["a"].to_dataset()
    ds.to_netcdf(path) if engine == "netcdf4" else ds.to_zarr(path, consolidated=False)
    kwargs = {"engine": engine} | ({"consolidated": False} if engine == "zarr" else {})
    with xa.open_dataset(path, **kwargs) as opened:
        assert isinstance(opened.xindexes["flow_direction"], NetworkIndex)
        assert opened.hydro.network == net
        assert opened["runoff"].hydro.network == net
        assert opened._close is not None  # the file is closed with the result
    if engine == "netcdf4":
        with xa.open_dataarray(path) as da:
            assert isinstance(da.xindexes["flow_direction"], NetworkIndex)
        plain = tmp_path / "plain.nc"
        files["a"].hydro.drop_network().to_netcdf(plain)
        with xa.open_dataset(plain) as opened:
            assert "flow_direction" not in opened.coords


# ---------------------------------------------------------------- use-time guard
def test_attached_codes_are_read_only(files):
    with pytest.raises(ValueError, match="read-only"):
        files["a"].flow_direction.values[0, 0] = 1
    codes = np.asarray(files["a"].flow_direction.values).copy()
    by_hand = (
        files["a"]
        .hydro.drop_network()
        .assign_coords(
            flow_direction=(("y", "x"), codes, {"hydro_role": "flow_direction", "convention": "ldd"})
        )
    )
    by_hand = by_hand.set_xindex("flow_direction", NetworkIndex)
    codes[0, 0] = 1  # the caller's array stays writable: the index holds its own copy
    assert by_hand.hydro.network == files["a"].hydro.network


def test_attached_codes_stay_read_only_through_copies_and_pickling(files):
    for obj in (files["a"].copy(deep=True), pickle.loads(pickle.dumps(files["a"])), files["a"] * 2):
        with pytest.raises(ValueError, match="read-only"):
            obj.flow_direction.values[0, 0] = 1


def test_stale_network_is_never_used(files, other):
    copied = files["a"].copy(deep=True)
    assert copied.hydro.network == files["a"].hydro.network
    copied.flow_direction.data = files["b"].flow_direction.values.copy()  # replaced in place
    for use in (
        lambda: copied.hydro.network,
        lambda: copied.hydro.accumulate(),
        lambda: copied.to_dataset().hydro.accumulate(),
        lambda: copied.hydro.upstream_area(),
    ):
        with pytest.raises(ValueError, match="'flow_direction' coordinate no longer encodes"):
            use()
    assert copied.hydro.assign_network().hydro.network == other  # rebuilt from the coordinate
    assert "flow_direction" not in copied.hydro.drop_network().coords
