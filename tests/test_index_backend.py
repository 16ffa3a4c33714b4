"""The index without patching xarray: the default import, the opt-in strict-alignment
guard, the ``hydro`` engine and the codec's encode → decode contract.

The guard's full behaviour (every way of combining, vector networks, assignment) is
tested under the option in tests/test_accessor_alignment.py; here: what it changes.
"""

import subprocess
import sys
import tomllib
import warnings
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

import dask.array
import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests.test_accessor import grid, random_codes
from xhydro_accessor import alignment
from xhydro_accessor.backend import HydroBackendEntrypoint, delegate_engine
from xhydro_accessor.network_codec import with_grid_mapping
from xhydro_accessor.network_index import NetworkIndex

ROOT = Path(__file__).resolve().parents[1]
DIFFERENT = r"different river networks \(coordinate 'flow_direction'"
HYDRO_INSTALLED = any(e.name == "hydro" for e in entry_points(group="xarray.backends"))
ENGINES = [
    HydroBackendEntrypoint,
    pytest.param(
        "hydro",
        marks=pytest.mark.skipif(
            not HYDRO_INSTALLED,
            reason="the installed package metadata predates the entry point: pip install -e . registers it",
        ),
    ),
]


@pytest.fixture
def net():
    return xa.RiverNetwork.from_ldd(grid(random_codes()), crs="EPSG:3035")


@pytest.fixture
def other():
    return xa.RiverNetwork.from_ldd(grid(random_codes(seed=5)), crs="EPSG:3035")


@pytest.fixture
def runoff(net):
    data = np.random.default_rng(1).random((2, *net.shape))
    coords = {"time": [0, 1], "y": net.coords["y"], "x": net.coords["x"]}
    return xr.DataArray(data, dims=("time", "y", "x"), coords=coords, name="runoff", attrs={"units": "mm"})


# ------------------------------------------------------------- the default import
def test_importing_the_package_leaves_xarray_alone():
    """In a fresh interpreter: xarray's own methods before, after the import, and after the option."""
    script = """
import xarray as xr
try:
    from xarray.structure.alignment import Aligner
except ImportError:
    from xarray.core.alignment import Aligner
align, update = Aligner.align, xr.Dataset.update
import xhydro_accessor as xa
assert Aligner.align is align and xr.Dataset.update is update, "the import patched xarray"
with xa.set_options(strict_alignment=True):
    assert Aligner.align is not align and xr.Dataset.update is not update, "the option did nothing"
assert Aligner.align is align and xr.Dataset.update is update, "the with block left its wraps"
xa.set_options(strict_alignment=True)
xa.set_options(strict_alignment=False)
assert Aligner.align is align and xr.Dataset.update is update, "strict_alignment=False left its wraps"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_different_indexed_networks_raise_without_the_option(runoff, net, other):
    assert not xa.get_options()["strict_alignment"]
    a, b = runoff.hydro.assign_network(net), runoff.hydro.assign_network(other)
    merge = lambda: xr.merge([a, b.rename("q")], join="outer")  # noqa: E731
    for combine in (lambda: a + b, lambda: xr.align(a, b), merge):
        with pytest.raises(xr.AlignmentError, match=DIFFERENT):  # NetworkIndex.join: public API
            combine()
    with pytest.raises(xr.AlignmentError, match=DIFFERENT):
        a.isel(x=slice(0, 5)) + a  # a subset is another network, as for two indexes


def test_without_the_option_an_unindexed_coordinate_is_not_compared(runoff, net, other):
    """What xarray does by itself with a coordinate that lost its index (documented in concepts.md)."""
    a, b = runoff.hydro.assign_network(net), runoff.hydro.assign_network(other)
    ra, rb = a.drop_indexes("flow_direction"), b.drop_indexes("flow_direction")
    for out in (ra + b, b + ra):  # the indexed operand's coordinate wins, unchecked
        assert out.hydro.network == b.hydro.network != a.hydro.network
    assert "flow_direction" not in (ra + rb).coords  # two conflicting plain coordinates: dropped
    ds = a.to_dataset()
    ds["q"] = b  # xarray drops b's coordinate: q lands on the Dataset's network
    assert ds["q"].hydro.network == a.hydro.network
    with xa.set_options(strict_alignment=True):  # the same three raise under the option
        with pytest.raises(xr.AlignmentError, match=DIFFERENT):
            ra + b
        with pytest.raises(xr.AlignmentError, match=DIFFERENT):
            ra + rb
        with pytest.raises(xr.AlignmentError, match="cannot assign 'q'"):
            a.to_dataset()["q"] = b
    assert (ra + b).hydro.network == b.hydro.network  # off again after the block


# ------------------------------------------------------------------ the option
def test_set_options_as_a_call_and_as_a_context_manager():
    assert xa.get_options() == {"strict_alignment": False, "tiled_order_memory": 2**31}
    try:
        xa.set_options(strict_alignment=True)
        assert alignment.installed() and xa.get_options()["strict_alignment"]
        with xa.set_options(strict_alignment=False):
            assert not alignment.installed()
        assert alignment.installed()  # the outer setting is back
        with xa.set_options(strict_alignment=True):  # nested: still on after it
            pass
        assert alignment.installed()
    finally:
        xa.set_options(strict_alignment=False)
    assert not alignment.installed() and not xa.get_options()["strict_alignment"]


def test_set_options_rejects_unknown_options_and_values():
    with pytest.raises(ValueError, match="unknown option 'strict'.*strict_alignment"):
        xa.set_options(strict=True)
    with pytest.raises(TypeError, match="True or False, got 'yes'"):
        xa.set_options(strict_alignment="yes")
    assert not alignment.installed()


def test_the_option_warns_when_xarray_internals_moved(monkeypatch, runoff, net, other):
    ds, q = runoff.hydro.assign_network(net).to_dataset(), runoff.hydro.assign_network(other)
    for module in ("xarray.structure.alignment", "xarray.core.alignment"):
        try:
            monkeypatch.delattr(import_module(module), "Aligner")
        except (ImportError, AttributeError):
            pass
    update = xr.Dataset.update
    with pytest.warns(alignment.StrictAlignmentWarning, match="Aligner.align was not found") as caught:
        with xa.set_options(strict_alignment=True):
            assert xr.Dataset.update is not update  # the public method is guarded all the same
            with pytest.raises(xr.AlignmentError, match="cannot assign 'q'"):
                alignment.check_assignment(ds, {"q": q})  # what the guarded update runs
    assert caught[0].filename == __file__  # the warning points at the caller of set_options
    assert xr.Dataset.update is update
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error", alignment.StrictAlignmentWarning)
        with xa.set_options(strict_alignment=True):  # xarray as it is: no warning
            assert alignment.installed()


# ------------------------------------------------------------- the hydro engine
def write(ds, path):
    ds.chunk(time=1).to_zarr(path, consolidated=False) if path.suffix == ".zarr" else ds.to_netcdf(path)
    return {"consolidated": False} if path.suffix == ".zarr" else {}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("chunks", [None, {}, {"time": 1}])
def test_open_dataset_with_the_hydro_engine(tmp_path, runoff, net, engine, suffix, chunks):
    original = runoff.to_dataset().hydro.assign_network(net)
    path = tmp_path / f"runoff{suffix}"
    kwargs = write(original, path)
    with xr.open_dataset(path, engine=engine, chunks=chunks, **kwargs) as ds:
        assert ds._close is not None  # the file is closed with the result
        assert isinstance(ds.xindexes["flow_direction"], NetworkIndex)
        assert ds.hydro.network == original.hydro.network
        assert isinstance(ds["runoff"].data, dask.array.Array) == (chunks is not None)
        if chunks == {"time": 1}:
            assert ds["runoff"].chunks == ((1, 1), (net.shape[0],), (net.shape[1],))
        xr.testing.assert_identical(ds.load(), original)
        np.testing.assert_allclose(
            ds["runoff"].hydro.accumulate().values, xa.accumulate(net, original["runoff"].values)
        )


def test_the_engine_picks_the_reader_by_signature_or_backend(tmp_path, runoff, net):
    original = runoff.to_dataset().hydro.assign_network(net)
    nc, zarr = tmp_path / "a.nc", tmp_path / "store"  # no .zarr suffix: a directory is zarr
    original.to_netcdf(nc)
    original.to_zarr(zarr, consolidated=False)
    assert delegate_engine(nc) == "netcdf4" and delegate_engine(zarr) == "zarr"
    for path, backend in ((nc, "h5netcdf"), (nc, None), (zarr, None)):
        extra = {"consolidated": False} if path == zarr else {}
        with xr.open_dataset(path, engine=HydroBackendEntrypoint, backend=backend, **extra) as ds:
            assert ds.hydro.network == original.hydro.network
    with open(nc, "rb") as file:  # an open file object: netCDF4 reads only paths
        assert delegate_engine(file) == "h5netcdf"
        with xr.open_dataset(file, engine=HydroBackendEntrypoint) as ds:
            assert ds.hydro.network == original.hydro.network
    text = tmp_path / "a.txt"
    text.write_text("not a netCDF file")
    with pytest.raises(ValueError, match=r"a\.txt: neither netCDF/HDF5 .* backend="):
        xr.open_dataset(text, engine=HydroBackendEntrypoint)
    with pytest.raises(ValueError, match="backend 'nope' is not an installed xarray engine"):
        xr.open_dataset(nc, engine=HydroBackendEntrypoint, backend="nope")
    plain = tmp_path / "plain.nc"
    runoff.to_netcdf(plain)
    with xr.open_dataset(plain, engine=HydroBackendEntrypoint) as ds:  # no network: as opened
        xr.testing.assert_identical(ds.load(), runoff.to_dataset())


def test_the_entry_point_is_declared():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    module, name = declared["xarray.backends"]["hydro"].split(":")
    assert getattr(import_module(module), name) is HydroBackendEntrypoint
    assert not HydroBackendEntrypoint().guess_can_open("any.nc")  # only when asked for by name


def test_the_shortcuts_open_with_the_hydro_engine(tmp_path, runoff, net):
    path = tmp_path / "a.zarr"
    runoff.to_dataset().hydro.assign_network(net).to_zarr(path, consolidated=False)
    with xa.open_dataset(path, engine="zarr", consolidated=False, chunks={}) as ds:
        assert isinstance(ds.xindexes["flow_direction"], NetworkIndex)
        assert isinstance(ds["runoff"].data, dask.array.Array)
    with xa.open_dataarray(path, consolidated=False) as da:
        assert da.hydro.network == runoff.hydro.assign_network(net).hydro.network


# --------------------------------------------------- encode -> decode identity
@pytest.mark.parametrize("crs", [None, "EPSG:3035"])
def test_encode_then_decode_gives_the_same_object(tmp_path, runoff, crs):
    """xvec's encode_cf/decode_cf contract: encoding is the codec (the plain coordinate)
    plus a CF grid mapping for the CRS (with_grid_mapping); decoding is assign_network().
    The one difference: the grid-mapping variable ``spatial_ref`` and the variables'
    ``grid_mapping`` attribute, added for GDAL/rioxarray, are kept by the decode."""
    net = xa.RiverNetwork.from_ldd(grid(random_codes()), crs=crs)
    original = runoff.to_dataset().hydro.assign_network(net)
    encoded = with_grid_mapping(original.drop_indexes("flow_direction"))
    assert "flow_direction" not in encoded.xindexes
    decoded = encoded.hydro.assign_network()
    assert isinstance(decoded.xindexes["flow_direction"], NetworkIndex)
    assert decoded.hydro.network == original.hydro.network
    if crs is None:
        xr.testing.assert_identical(decoded, original)
    else:
        assert decoded["spatial_ref"].attrs["crs_wkt"] and decoded["runoff"].attrs["grid_mapping"]
        stripped = decoded.drop_vars("spatial_ref")
        stripped["runoff"].attrs.pop("grid_mapping")
        xr.testing.assert_identical(stripped, original)
    encoded.to_netcdf(tmp_path / "encoded.nc")  # through a file: the same decoded object
    with xr.open_dataset(tmp_path / "encoded.nc", engine=HydroBackendEntrypoint) as reopened:
        xr.testing.assert_identical(reopened.load(), decoded)
