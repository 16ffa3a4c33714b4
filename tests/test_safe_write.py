"""Writers never destroy files: io/safe_write and the library's writers built on it."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from xhydro_accessor.io import open_network, write_network
from xhydro_accessor.io.safe_write import check_output, netcdf_write_engine, safe_output, write_netcdf

NET = xa.RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]], np.uint8))


def test_an_input_is_never_an_output(tmp_path: Path) -> None:
    source = tmp_path / "runoff.nc"
    source.write_bytes(b"input")
    (tmp_path / "link.nc").symlink_to(source)
    os.link(source, tmp_path / "hard.nc")
    (tmp_path / "sub").mkdir()
    for out in (source, tmp_path / "link.nc", tmp_path / "hard.nc", tmp_path / "sub" / ".." / "runoff.nc"):
        with pytest.raises(ValueError, match="the output is an input file"):
            check_output(out, inputs=[source], overwrite=True)
    assert source.read_bytes() == b"input"
    assert check_output(tmp_path / "new.nc", inputs=[source, tmp_path / "missing.nc"]) == tmp_path / "new.nc"


def test_existing_output_needs_overwrite_and_folders_are_checked(tmp_path: Path) -> None:
    out = tmp_path / "out.nc"
    out.write_bytes(b"earlier")
    with pytest.raises(FileExistsError, match="out.nc: exists; pass overwrite=True"):
        check_output(out)
    assert check_output(out, overwrite=True) == out
    with pytest.raises(IsADirectoryError):
        check_output(tmp_path, overwrite=True)
    with pytest.raises(FileNotFoundError, match="no such directory"):
        check_output(tmp_path / "nowhere" / "out.nc")


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError, ValueError])
def test_an_interrupted_write_keeps_the_earlier_file_and_leaves_nothing(tmp_path: Path, error) -> None:
    out = tmp_path / "out.nc"
    out.write_bytes(b"earlier")
    with pytest.raises(error), safe_output(out, overwrite=True) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".nc" and temporary != out
        temporary.write_bytes(b"half of a new fi")
        raise error
    assert out.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nc"]


def test_write_through_a_link_replaces_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.nc"
    target.write_bytes(b"earlier")
    (tmp_path / "link.nc").symlink_to(target)
    with safe_output(tmp_path / "link.nc", overwrite=True) as temporary:
        temporary.write_bytes(b"new")
    assert (tmp_path / "link.nc").is_symlink() and target.read_bytes() == b"new"


def test_write_network_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write_network(NET, tmp_path / "net.nc")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="net.nc: exists"):
        write_network(NET, path, "esri")
    with pytest.raises(FileExistsError, match="net.nc: exists"):
        write_network(NET, path)
    assert path.read_bytes() == before
    write_network(NET, path, "esri", overwrite=True)
    with xr.open_dataset(path) as ds:
        assert ds.flow_direction.attrs["convention"] == "esri"
    assert open_network(path) == NET.with_grid(("y", "x"), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.nc"]


def test_data_with_a_network_attached_writes_in_the_base_install(tmp_path: Path) -> None:
    """uint8 flow directions: netCDF4 (a dependency) or h5netcdf, never scipy's netCDF3."""
    da = xr.DataArray(np.ones((2, 3)), dims=("y", "x")).hydro.assign_network(NET)
    path = write_netcdf(da.to_dataset(name="q"), tmp_path / "q.nc")
    with xr.open_dataset(path) as ds:
        assert ds.flow_direction.dtype == np.uint8 and ds.hydro.network == NET.with_grid(("y", "x"), {})
    assert netcdf_write_engine() in ("netcdf4", "h5netcdf")


def test_engine_falls_back_to_h5netcdf_and_names_the_missing_package(monkeypatch) -> None:
    real = importlib.util.find_spec
    missing: set[str] = {"netCDF4"}
    fake = lambda name, *args: None if name in missing else real(name, *args)  # noqa: E731
    monkeypatch.setattr(importlib.util, "find_spec", fake)
    if real("h5netcdf") and real("h5py"):
        assert netcdf_write_engine() == "h5netcdf"
    missing |= {"h5netcdf"}
    with pytest.raises(ImportError, match="pip install netCDF4"):
        netcdf_write_engine()


def test_netcdf3_files_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "ldd3.nc"
    codes = np.array([[3, 2, 1], [6, 5, 4]], np.int16)  # netCDF3 has no uint8
    coords = {"y": [1.5, 0.5], "x": [0.5, 1.5, 2.5]}
    xr.Dataset({"ldd": (("y", "x"), codes)}, coords=coords).to_netcdf(path, engine="scipy")
    assert path.read_bytes()[:3] == b"CDF"
    assert open_network(path, "ldd") == NET.with_grid(("y", "x"), {k: np.array(v) for k, v in coords.items()})
