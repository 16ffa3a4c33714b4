"""The command line end to end, in temporary directories."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from xhydro_accessor.cli import main
from xhydro_accessor.io import write_network

LDD = np.array([[3, 2, 1, 2], [6, 5, 4, 2], [9, 8, 7, 5]], np.uint8)


def test_demo_writes_what_it_promises(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    main(["demo", "--members", "2", "--top", "3", "-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert "the 3 largest basins" in out and "accumulate one field" in out
    nc = tmp_path / "demo_discharge.nc"
    assert f"wrote {nc}" in out
    with xr.open_dataset(nc) as ds:
        assert ds["discharge"].attrs["units"] == "m3 s-1"
        assert sorted(np.unique(ds["catchment"]).tolist()) == [0, 1, 2, 3]
        assert ds.hydro.network.n_nodes == 366_989
    if "matplotlib" in sys.modules or _has("matplotlib"):
        assert (tmp_path / "demo_map.png").stat().st_size > 10_000


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, xa.RiverNetwork]:
    coords = {"lat": [12.5, 11.5, 10.5], "lon": [0.5, 1.5, 2.5, 3.5]}
    codes = xr.DataArray(LDD, dims=("lat", "lon"), coords=coords)
    network = xa.RiverNetwork.from_ldd(codes)
    network_path = write_network(network, tmp_path / "ldd.nc")
    runoff = xr.DataArray(
        np.arange(2 * 3 * 12, dtype=float).reshape(2, 3, 3, 4),
        dims=("member", "time", "lat", "lon"),
        coords=coords,
        attrs={"units": "mm d-1"},
    )
    runoff = runoff.isel(lat=slice(None, None, -1))  # stored south-up: the command flips it
    runoff_path = tmp_path / "runoff.nc"
    runoff.to_dataset(name="runoff").to_netcdf(runoff_path)
    return network_path, runoff_path, network


def test_accumulate_chunked_with_progress_bar(files, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    network_path, runoff_path, network = files
    out = tmp_path / "q.nc"
    main(["accumulate", str(network_path), str(runoff_path), "-o", str(out), "--chunks", "member=1",
          "--weights", "area", "--units", "m3 s-1", "--name", "discharge"])  # fmt: skip
    printed = capsys.readouterr().out
    assert "[####" in printed and f"wrote {out}" in printed  # dask's progress bar
    with xr.open_dataset(out) as ds:
        q = ds["discharge"]
        assert q.attrs["units"] == "m3 s-1" and ds.hydro.network == network
        with xr.open_dataset(runoff_path) as runoff:
            field = runoff["runoff"].isel(lat=slice(None, None, -1)).values
        area = xa.accumulate(network, field * q.hydro.cell_area().values) / 86_400_000
        np.testing.assert_allclose(q.transpose("member", "time", "lat", "lon").values, area, rtol=1e-6)


def test_accumulate_from_other_formats(files, tmp_path: Path) -> None:
    _, runoff_path, network = files
    asc = tmp_path / "ldd.asc"
    rows = "\n".join(" ".join(map(str, row)) for row in LDD)
    asc.write_text(f"ncols 4\nnrows 3\nxllcorner 0\nyllcorner 10\ncellsize 1\n{rows}\n")
    out = tmp_path / "max.nc"
    main(["accumulate", str(asc), str(runoff_path), "-o", str(out), "--how", "max", "--quiet"])
    with xr.open_dataset(out) as ds:
        assert float(ds["runoff"].isel(member=1, time=2).max()) == 71.0
        assert ds["runoff"].dims == ("member", "time", "lat", "lon")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--variable", "snow"], "no variable 'snow'"),
        (["--chunks", "member"], "expected DIM=SIZE"),
        (["--convention", "esri"], r"ldd\.nc: as esri flow directions"),
    ],
)
def test_accumulate_errors(files, tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    network_path, runoff_path, _ = files
    with pytest.raises(SystemExit) as exit_info:
        main(["accumulate", str(network_path), str(runoff_path), "-o", str(tmp_path / "o.nc"), *extra])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("xhydro-accessor accumulate: error:")
    assert re.search(message, err), err


def test_help_explains_every_option() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xhydro_accessor", "accumulate", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    for option in ("--output", "--convention", "--variable", "--how", "--q", "--method", "--weights",
                   "--skipna", "--units", "--chunks", "--name", "--quiet", "--network-variable"):  # fmt: skip
        assert option in done.stdout


@pytest.mark.parametrize(
    "csv", ["name,y,x\ncentre,11.5,1.5\neast,11.5,3.5\n", "name,row,col\ncentre,1,1\neast,1,3\n"]
)
def test_catchments_of_gauges_from_csv(files, tmp_path: Path, csv: str) -> None:
    network_path, _, _ = files
    gauges = tmp_path / "gauges.csv"
    gauges.write_text(csv)
    out = tmp_path / "catchments.nc"
    main(["catchments", str(network_path), str(gauges), "-o", str(out), "--quiet"])
    with xr.open_dataset(out) as ds:
        expected = [[1, 1, 1, 2], [1, 1, 1, 2], [1, 1, 1, 0]]  # (2, 3) is downstream of "east"
        np.testing.assert_array_equal(ds.catchment.values, expected)
        assert list(ds.station.values) == ["centre", "east"]
        assert list(ds.row.values) == [1, 1] and list(ds.col.values) == [1, 3]


def test_catchments_bad_csv(files, tmp_path: Path, capsys) -> None:
    network_path, _, _ = files
    gauges = tmp_path / "gauges.csv"
    gauges.write_text("station,lat,lon\na,1,2\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["catchments", str(network_path), str(gauges), "-o", str(tmp_path / "c.nc")])
    assert exit_info.value.code == 2
    assert "expected a header name,y,x or name,row,col" in capsys.readouterr().err


# --------------------------------------------------------------------------- #
# files are never destroyed
# --------------------------------------------------------------------------- #


def _refused(argv: list[str], capsys: pytest.CaptureFixture, message: str) -> str:
    """Run the command line, expect exit code 2 and one line on stderr matching ``message``."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    return err


def _leftovers(folder: Path, *keep: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p not in keep)


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
@pytest.mark.parametrize("target", ["field", "network", "field link"])
def test_accumulate_never_writes_over_an_input(files, tmp_path, capsys, target: str, overwrite) -> None:
    network_path, runoff_path, _ = files
    out = {"field": runoff_path, "network": network_path, "field link": tmp_path / "link.nc"}[target]
    if target == "field link":
        out.symlink_to(runoff_path)
    inputs = {p: p.read_bytes() for p in (network_path, runoff_path)}
    argv = ["accumulate", str(network_path), str(runoff_path), "-o", str(out), "--chunks", "member=1"]
    _refused([*argv, *overwrite], capsys, "the output is an input file")
    assert {p: p.read_bytes() for p in inputs} == inputs
    assert _leftovers(tmp_path, *inputs, out) == []


def test_catchments_never_writes_over_an_input(files, tmp_path, capsys) -> None:
    network_path, _, _ = files
    gauges = tmp_path / "gauges.csv"
    gauges.write_text("name,row,col\ncentre,1,1\n")
    for out in (gauges, network_path):
        before = out.read_bytes()
        argv = ["catchments", str(network_path), str(gauges), "-o", str(out), "--overwrite"]
        _refused(argv, capsys, "the output is an input file")
        assert out.read_bytes() == before


def test_existing_output_needs_overwrite(files, tmp_path, capsys) -> None:
    network_path, runoff_path, network = files
    out = tmp_path / "q.nc"
    out.write_bytes(b"an earlier result")
    argv = ["accumulate", str(network_path), str(runoff_path), "-o", str(out), "--quiet"]
    _refused(argv, capsys, r"q\.nc: exists; pass overwrite=True \(--overwrite\)")
    assert out.read_bytes() == b"an earlier result"
    main([*argv, "--overwrite"])
    with xr.open_dataset(out) as ds:
        assert ds.hydro.network == network and ds["runoff"].shape == (2, 3, 3, 4)
    assert _leftovers(tmp_path, out, network_path, runoff_path) == []


def test_demo_keeps_an_earlier_run_unless_asked(tmp_path: Path, capsys) -> None:
    earlier = tmp_path / "demo_discharge.nc"
    earlier.write_bytes(b"an earlier run")
    _refused(["demo", "--members", "1", "-o", str(tmp_path)], capsys, "demo_discharge.nc: exists")
    assert earlier.read_bytes() == b"an earlier run"


def test_failed_write_keeps_the_earlier_output(files, tmp_path, capsys) -> None:
    network_path, runoff_path, _ = files
    out = tmp_path / "q.nc"
    out.write_bytes(b"an earlier result")
    argv = ["accumulate", str(network_path), str(runoff_path), "-o", str(out), "--overwrite"]
    _refused([*argv, "--variable", "snow"], capsys, "no variable 'snow'")
    assert out.read_bytes() == b"an earlier result"
    assert _leftovers(tmp_path, out, network_path, runoff_path) == []


def test_ctrl_c_in_a_chunked_run_leaves_the_earlier_output(tmp_path: Path) -> None:
    """SIGINT once the progress bar runs: exit 130, the earlier output byte for byte, no partial file."""
    import signal

    coords = {"lat": [12.5, 11.5, 10.5], "lon": [0.5, 1.5, 2.5, 3.5]}
    network = xa.RiverNetwork.from_ldd(xr.DataArray(LDD, dims=("lat", "lon"), coords=coords))
    network_path = write_network(network, tmp_path / "ldd.nc")
    runoff = xr.DataArray(np.ones((10_000, 3, 4)), dims=("member", "lat", "lon"), coords=coords)
    runoff_path = tmp_path / "runoff.nc"
    runoff.to_dataset(name="runoff").to_netcdf(runoff_path)
    out = tmp_path / "q.nc"
    out.write_bytes(b"an earlier result")
    env = {**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "xhydro_accessor", "accumulate", str(network_path), str(runoff_path),
               "-o", str(out), "--chunks", "member=1", "--overwrite"]  # fmt: skip
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    printed = b""
    while b"% Completed" not in printed:  # 10,000 tasks: seconds of work left at the first bar
        chunk = run.stdout.read1(256)
        assert chunk, (printed, run.stderr.read())
        printed += chunk
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=120)
    assert b"100% Completed" not in printed + stdout  # interrupted before the end
    assert run.returncode == 130, stderr
    assert stderr.decode().strip() == "xhydro-accessor accumulate: interrupted; nothing written"
    assert out.read_bytes() == b"an earlier result"
    assert _leftovers(tmp_path, out, network_path, runoff_path) == []


# --------------------------------------------------------------------------- #
# valid input accepted, user errors in one line
# --------------------------------------------------------------------------- #


def test_units_without_weights_is_a_one_line_error(files, tmp_path, capsys) -> None:
    network_path, runoff_path, _ = files
    argv = ["accumulate", str(network_path), str(runoff_path), "-o", str(tmp_path / "q.nc")]
    argv += ["--units", "m3 s-1"]
    expected = r"--units 'm3 s-1': cannot convert 'runoff_accumulated' from 'mm d-1'.*--weights area"
    _refused(argv, capsys, expected)
    assert not (tmp_path / "q.nc").exists()


def test_duplicate_gauge_names_are_an_error(files, tmp_path, capsys) -> None:
    network_path, _, _ = files
    gauges = tmp_path / "gauges.csv"
    gauges.write_text("name,row,col\nA,1,1\nB,1,3\nA,0,0\nB,2,3\nC,0,1\n")
    argv = ["catchments", str(network_path), str(gauges), "-o", str(tmp_path / "c.nc")]
    _refused(argv, capsys, r"gauges\.csv: gauge names repeated: 'A', 'B'; each must be unique")


def test_grid_mismatch_is_reported_as_such(files, tmp_path, capsys) -> None:
    network_path, _, _ = files
    other = tmp_path / "other.nc"
    xr.Dataset({"runoff": (("lat", "lon"), np.ones((4, 4)))}).to_netcdf(other)
    argv = ["accumulate", str(network_path), str(other), "-o", str(tmp_path / "q.nc")]
    expected = r"other\.nc: no variable is on the network's \(3, 4\) grid \(runoff \{'lat': 4, 'lon': 4\}\)"
    _refused(argv, capsys, expected)
    expected = r"other\.nc: the field's grid \{'lat': 4, 'lon': 4\} does not match the network's \(3, 4\)"
    _refused([*argv, "--variable", "runoff"], capsys, expected)
    shifted = tmp_path / "shifted.nc"
    xr.Dataset({"runoff": (("lat", "lon"), np.ones((3, 4)))}, coords={"lat": [1.0, 2, 3]}).to_netcdf(shifted)
    argv = ["accumulate", str(network_path), str(shifted), "-o", str(tmp_path / "q.nc")]
    _refused(argv, capsys, r"shifted\.nc: coordinate 'lat' differs from the network's 'lat'")


def test_missing_file_is_a_one_line_error(files, tmp_path, capsys) -> None:
    network_path, _, _ = files
    argv = ["accumulate", str(network_path), str(tmp_path / "nope.nc"), "-o", str(tmp_path / "q.nc")]
    _refused(argv, capsys, r"No such file or directory: '.*nope\.nc'")


# --------------------------------------------------------------------------- #
# --q and --method: the percentiles of the API
# --------------------------------------------------------------------------- #


@pytest.fixture
def madeira(tmp_path: Path) -> tuple[Path, Path, xr.DataArray]:
    """The real LISFLOOD Madeira network and a random 3-member field on its grid."""
    from tests.real_data import BY_NAME, skip_if_missing

    net = BY_NAME["lisflood_madeira"]
    skip_if_missing(net)
    network = xa.io.open_network(net.path)
    shape = (3, *network.shape)
    values = np.random.default_rng(7).gamma(2.0, 3.0, shape)
    field = xr.DataArray(values, dims=("member", *network.dims), coords=network.coords)
    field_path = tmp_path / "runoff.nc"
    field.to_dataset(name="runoff").to_netcdf(field_path)
    return net.path, field_path, field.hydro.assign_network(network)


@pytest.mark.parametrize(
    ("options", "api"),
    [
        (["--q", "10", "50", "90"], {"q": [10.0, 50.0, 90.0]}),
        (["--q", "90", "--method", "lower", "--chunks", "member=1"], {"q": 90.0, "method": "lower"}),
        (["--q", "25", "75", "--weights", "area"], {"q": [25.0, 75.0], "weights": "area"}),
    ],
    ids=["several", "one-lower-chunked", "weighted"],
)
def test_percentiles_on_a_real_network_equal_the_api(madeira, tmp_path: Path, options, api) -> None:
    network_path, field_path, field = madeira
    out = tmp_path / "p.nc"
    main(["accumulate", str(network_path), str(field_path), "-o", str(out), "--how", "percentile",
          "--quiet", *options])  # fmt: skip
    expected = field.hydro.accumulate(how="percentile", **api)
    with xr.open_dataset(out) as ds:
        got = ds["runoff"]
        assert got.dims == expected.dims
        several = isinstance(api["q"], list)
        assert got.dims[0] == "quantile" if several else "quantile" not in got.dims
        if several:
            np.testing.assert_allclose(got["quantile"].values, np.array(api["q"]) / 100)
        np.testing.assert_array_equal(got.values, expected.values)
    # by hand: the percentiles of the values upstream of the outlet of the largest basin
    network = field.hydro.network
    cells = np.where(network.mask, xa.accumulate(network, np.ones(network.shape)), 0)
    r, c = np.unravel_index(np.argmax(cells), network.shape)
    y, x = (network.coords[d] for d in network.dims)
    mask = xa.upstream_mask(network, {"outlet": (y[r], x[c])})
    assert mask.sum() == cells[r, c] > 1000
    weights = field.hydro.cell_area().values[mask] if "weights" in api else None
    method = api.get("method", "inverted_cdf" if weights is not None else "linear")
    for member in range(3):
        values = field.values[member][mask]
        hand = np.percentile(values, api["q"], method=method, weights=weights)
        at = {"member": member, network.dims[0]: r, network.dims[1]: c}
        np.testing.assert_allclose(got.isel(at).values, hand, rtol=1e-12)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--how", "percentile"], r"--how percentile needs --q: percentile\(s\) in \[0, 100\]"),
        (["--how", "sum", "--q", "90"], "--q applies to --how percentile only, not --how sum"),
        (["--how", "max", "--method", "lower"], "--method applies to --how median and percentile only"),
        (["--how", "percentile", "--q", "150"], r"percentiles must lie in \[0, 100\], got 150"),
        (["--how", "percentile", "--q", "90", "--weights", "area", "--method", "linear"],
         "weighted quantiles are defined by method='inverted_cdf' only"),
    ],
)  # fmt: skip
def test_quantile_options_errors(files, tmp_path: Path, capsys, options, message: str) -> None:
    network_path, runoff_path, _ = files
    out = tmp_path / "o.nc"
    _refused(["accumulate", str(network_path), str(runoff_path), "-o", str(out), *options], capsys, message)
    assert not out.exists()
