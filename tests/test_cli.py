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
    for option in ("--output", "--convention", "--variable", "--how", "--weights", "--skipna",
                   "--units", "--chunks", "--name", "--quiet", "--network-variable"):  # fmt: skip
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
