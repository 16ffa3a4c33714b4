"""Corrupted, truncated and lying files: a correct network or a clear error naming the file.

One property test per reader (CSF ``.map``, netCDF, BIL + ``.hdr``, ESRI ASCII):
real files from ``../shared/data`` (or a small cut of one) are truncated at random
offsets, have header bytes overwritten, or announce absurd sizes. Opening the
result must give the original network (or, when the cells themselves changed,
the network of the changed cells) or raise ``ValueError``/``OSError`` whose
message names the file, in bounded time and without allocating more than a
small multiple of the file's size.
"""

from __future__ import annotations

import os
import resource
import struct
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.real_data import SHARED_DATA
from xhydro_accessor import RiverNetwork
from xhydro_accessor.io import open_network, read_flow_directions

#: More examples for a longer hunt: XHYDRO_CORRUPTION_EXAMPLES=2000 pytest tests/test_corruption.py
SETTINGS = settings(
    max_examples=int(os.environ.get("XHYDRO_CORRUPTION_EXAMPLES", 40)),
    deadline=None,
    derandomize=os.environ.get("XHYDRO_CORRUPTION_EXAMPLES") is None,  # CI: the same examples every run
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _source(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def _same(a: RiverNetwork, b: RiverNetwork) -> bool:
    return a.shape == b.shape and np.array_equal(a.downstream_grid(), b.downstream_grid())


def _open_checked(path: Path, original: RiverNetwork, original_codes: xr.DataArray) -> None:
    """Open ``path``: the original network, the network of changed cells, or a clear error.

    Memory: what this package allocates is traced (tracemalloc) except for netCDF and
    GeoTIFF, whose engines (scipy, HDF5, GDAL) allocate outside Python or transiently
    what a corrupt header announces (never touched); for every reader the resident
    memory may not grow beyond the budget.
    """
    budget = 20 * sum(p.stat().st_size for p in path.parent.iterdir()) + (16 << 20)
    traced = path.suffix not in (".nc", ".tif")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        network = open_network(path)
    except (ValueError, OSError) as err:  # NetworkError is a ValueError
        assert str(path) in str(err) or path.name in str(err), f"the message does not name the file: {err}"
        network = None
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        tracemalloc.stop()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10) - rss
    assert elapsed < 30, f"took {elapsed:.1f} s"
    used = max(peak, grown)
    assert used < budget, f"allocated {used >> 20} MiB for a {budget >> 20} MiB budget"
    if network is not None:  # a header's lie about the grid never passes as a smaller grid
        assert network.shape == original.shape, f"{network} read from a {original.shape} file"
    if network is not None and not _same(network, original):
        # the cells or the declared nodata changed: the network of what the file now holds
        codes = read_flow_directions(path)
        assert not np.array_equal(codes.values, original_codes.values) or (
            codes.attrs.get("nodata") != original_codes.attrs.get("nodata")
        )


def _mutate(data: bytes, draw, header: int, sizes: range = range(0)) -> bytes:
    """Truncate at a random offset, or overwrite 1-4 bytes in the first ``header`` bytes
    (often among ``sizes``, where the grid's size and cell size lie)."""
    if draw(st.booleans()):
        return data[: draw(st.integers(0, len(data) - 1))]
    where = st.integers(0, min(header, len(data)) - 1)
    return _lie(data, draw, st.one_of(where, st.sampled_from(sizes)) if sizes else where, st.integers(0, 255))


def _lie(data: bytes, draw, where, values) -> bytes:
    """Overwrite 1-3 bytes of ``data`` at positions drawn from ``where`` with ``values``."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        out[draw(where)] = draw(values)
    return bytes(out)


def _digits(text: bytes) -> list[int]:
    """Positions of the digits of a text header: where its numbers lie."""
    return [i for i, c in enumerate(text) if chr(c).isdigit()]


# ----------------------------------------------------------------- CSF .map
@SETTINGS
@given(data=st.data())
def test_corrupted_csf_map(tmp_path_factory, data) -> None:
    source = _source("waterregions_test_ldd.map")
    path = tmp_path_factory.mktemp("csf") / "ldd.map"
    sizes = range(84, 132)  # origin, rows, columns, cell sizes
    path.write_bytes(_mutate(source.read_bytes(), data.draw, 256, sizes))
    _open_checked(path, open_network(source), read_flow_directions(source))


# ------------------------------------------------------------------- netCDF
@pytest.mark.parametrize(
    ("name", "header"),
    [("lisflood_latlon_usecase_ldd.nc", None), ("southamerica_ldd.nc", 1024)],  # netCDF4: metadata anywhere
    ids=["netcdf4", "netcdf3"],
)
@SETTINGS
@given(data=st.data())
def test_corrupted_netcdf(tmp_path_factory, name: str, header: int | None, data) -> None:
    source = _source(name)
    path = tmp_path_factory.mktemp("nc") / "ldd.nc"
    raw = source.read_bytes()
    path.write_bytes(_mutate(raw, data.draw, header or len(raw)))
    _open_checked(path, open_network(source), read_flow_directions(source))


def test_a_netcdf_the_hdf5_library_hangs_on_is_reported(tmp_path) -> None:
    """One byte of a netCDF4 file's global heap (the size of a ``DIMENSION_LIST`` entry,
    8 -> 264) sends the HDF5 walk onto a free object of size 0, where HDF5 (under netCDF-C,
    h5py and h5netcdf alike) loops forever: every reader raises a ``ValueError`` naming the
    file instead. In a subprocess, so that a regression fails the test instead of hanging it."""
    import subprocess
    import sys

    source = _source("lisflood_latlon_usecase_ldd.nc")
    raw = bytearray(source.read_bytes())
    raw[7839] = 1  # was 0
    path = tmp_path / "ldd.nc"
    path.write_bytes(bytes(raw))
    code = f"""
import xarray as xr
import xhydro_accessor.io as io
from xhydro_accessor.cli import main
path = {str(path)!r}
readers = [io.open_network, io.read_flow_directions, lambda p: io.open_network(p, chunks=8),
           lambda p: xr.open_dataset(p, engine="hydro"),
           lambda p: xr.open_dataset(p, engine="hydro", backend="h5netcdf"),
           lambda p: xr.open_dataset(open(p, "rb"), engine="hydro")]
for read in readers:
    try:
        read(path)
    except ValueError as err:
        assert path in str(err) and "global heap" in str(err), err
    else:
        raise AssertionError("read without an error")
try:  # the command line's field
    main(["accumulate", {str(source)!r}, path, "-o", {str(tmp_path / "q.nc")!r}])
except SystemExit as exit:
    assert exit.code == 2
else:
    raise AssertionError("the command line read the field")
"""
    try:
        done = subprocess.run([sys.executable, "-c", code], timeout=60, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        pytest.fail("reading a corrupted netCDF4 file hangs")
    assert done.returncode == 0, done.stderr
    assert f"accumulate: error: {path}: corrupt HDF5 file" in done.stderr, done.stderr


def test_open_network_reads_a_netcdf_file_for_its_check_once(tmp_path, monkeypatch) -> None:
    """The HDF5 check reads the whole file: open_network did it 2-3 times (nextx/nexty
    probe, then each variable's read); once per call now, and again at the next call."""
    import xhydro_accessor.io.netcdf as netcdf

    walks = []
    walk = netcdf._walk_global_heaps
    monkeypatch.setattr(netcdf, "_walk_global_heaps", lambda path, f: walks.append(path) or walk(path, f))
    source = _source("lisflood_latlon_usecase_ldd.nc")
    cama = tmp_path / "nextxy.nc"
    nextx = xr.DataArray(np.array([[2, -9999], [2, -9999]], np.int32), dims=("y", "x"))
    xr.Dataset({"nextx": nextx, "nexty": nextx * 0 + np.int32([[1], [2]])}).to_netcdf(cama)
    for path, options in ((source, {}), (source, {"chunks": 64}), (cama, {})):
        walks.clear()
        open_network(path, **options)
        assert walks == [path], (path, options, walks)
    open_network(source)
    assert walks == [cama, source]  # not remembered across calls: the file may have changed


# ---------------------------------------------------------- BIL with .hdr
_HEADER_BYTES = b"0123456789-+.eEnNaIif \n"


@SETTINGS
@given(data=st.data())
def test_corrupted_bil_and_header(tmp_path_factory, data) -> None:
    source = _source("pyflwdir2020_30s_ldd.bin")
    folder = tmp_path_factory.mktemp("bil")
    path = folder / "ldd.bin"
    header = bytearray(source.with_suffix(".hdr").read_bytes())
    cells = source.read_bytes()
    if data.draw(st.booleans()):  # the header lies: characters a number could hold, often in one
        where = st.one_of(st.integers(0, len(header) - 1), st.sampled_from(_digits(header)))
        header = bytearray(_lie(bytes(header), data.draw, where, st.sampled_from(_HEADER_BYTES)))
    else:
        cut = data.draw(st.integers(0, len(cells) - 1))
        cells = cells[:cut] if data.draw(st.booleans()) else cells + b"\0"
    path.write_bytes(cells)
    (folder / "ldd.hdr").write_bytes(bytes(header))
    _open_checked(path, open_network(source), read_flow_directions(source))


# ------------------------------------------------------------------ GeoTIFF
@pytest.mark.filterwarnings("ignore:Dataset has no geotransform")  # a corrupted transform: GDAL says so
@SETTINGS
@given(data=st.data())
def test_corrupted_geotiff(tmp_path_factory, data) -> None:
    pytest.importorskip("rioxarray")
    source = _source("rhine_30s_esri_d8.tif")
    path = tmp_path_factory.mktemp("tif") / "d8.tif"
    path.write_bytes(_mutate(source.read_bytes(), data.draw, 1024))  # the TIFF tags, in front
    _open_checked(path, open_network(source), read_flow_directions(source))


# ------------------------------------------------------------- ESRI ASCII
def _small_ascii(tmp_path: Path, rows: int = 40) -> Path:
    """The first ``rows`` rows of the pysheds ESRI ASCII grid, as a file of its own."""
    lines = _source("pysheds_elkhorn_esri_d8.asc").read_text().splitlines()
    header = [line.replace("359", str(rows)) if line.startswith("nrows") else line for line in lines[:6]]
    path = tmp_path / "small.asc"
    path.write_text("\n".join(header + lines[6 : 6 + rows]) + "\n")
    return path


@SETTINGS
@given(data=st.data())
def test_corrupted_ascii_grid(tmp_path_factory, data) -> None:
    source = _small_ascii(tmp_path_factory.mktemp("asc_source"))
    path = tmp_path_factory.mktemp("asc") / "dir.asc"
    raw = source.read_bytes()
    if data.draw(st.booleans()):
        raw = _mutate(raw, data.draw, len(raw))
    else:  # the header lies: characters a number could hold, often in one
        header = raw[: raw.index(b"NODATA")]
        where = st.one_of(st.integers(0, len(header) - 1), st.sampled_from(_digits(header)))
        raw = _lie(raw, data.draw, where, st.sampled_from(_HEADER_BYTES))
    path.write_bytes(raw)
    _open_checked(path, open_network(source), read_flow_directions(source))


# ------------------------------------------------------- absurd sizes
def _csf(values: np.ndarray, **fields) -> bytes:
    header = bytearray(256)
    header[:27] = b"RUU CROSS SYSTEM MAP FORMAT"
    struct.pack_into("<HIHI", header, 32, 2, 0, 1, fields.get("attr_table", 0))
    struct.pack_into("<I", header, 46, 1)
    struct.pack_into("<HH", header, 64, 0xF0, 0x00)
    nrows, ncols = fields.get("shape", values.shape)
    geo = [fields.get(k, d) for k, d in (("x", 0.0), ("y", 10.0), ("dx", 1.0), ("dy", 1.0))]
    struct.pack_into("<ddIIddd", header, 84, geo[0], geo[1], nrows, ncols, geo[2], geo[3], 0.0)
    return bytes(header) + values.astype(np.uint8).tobytes()


LDD = np.array([[3, 2, 1], [6, 5, 4]])


def _bil(folder: Path, header: str, cells: bytes = LDD.astype(np.uint8).tobytes()) -> Path:
    (folder / "ldd.hdr").write_text(header)
    path = folder / "ldd.bin"
    path.write_bytes(cells)
    return path


ESRI_HDR = "NROWS {rows}\nNCOLS {cols}\nNBITS 8\nULXMAP {x}\nULYMAP {y}\nXDIM {dx}\nYDIM {dy}\n"
ENVI_HDR = "ENVI\nsamples = {cols}\nlines = {rows}\nbands = 1\ndata type = 1\nmap info = {{Geographic Lat/Lon, 1, 1, {x}, {y}, {dx}, {dy}}}\n"  # noqa: E501
ASC = "ncols {cols}\nnrows {rows}\nxllcorner {x}\nyllcorner {y}\ncellsize {dx}\n3 2 1\n6 5 4\n"
GOOD = {"rows": 2, "cols": 3, "x": 0.0, "y": 10.0, "dx": 1.0, "dy": 1.0}


def _write(kind: str, folder: Path, **changes) -> Path:
    fields = {**GOOD, **changes}
    if kind == "csf":
        path = folder / "ldd.map"
        shape = (min(fields["rows"], 2**32 - 1), fields["cols"])  # UINT4 in a CSF header
        path.write_bytes(_csf(LDD, shape=shape, **{k: fields[k] for k in ("x", "y", "dx", "dy")}))
        return path
    if kind == "asc":
        path = folder / "ldd.asc"
        path.write_text(ASC.format(**fields))
        return path
    return _bil(folder, (ESRI_HDR if kind == "esri" else ENVI_HDR).format(**fields))


KINDS = ("csf", "esri", "envi", "asc")


@pytest.mark.parametrize("kind", KINDS)
def test_a_valid_small_file_of_each_kind(tmp_path: Path, kind: str) -> None:
    assert _same(open_network(_write(kind, tmp_path), "ldd"), RiverNetwork.from_ldd(LDD))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rows": 2**31 - 1, "cols": 2**31 - 1}, "truncated"),
        ({"rows": 10**15}, "truncated"),
        ({"rows": 1}, "rows|corrupt"),  # fewer cells than the file holds
        ({"cols": 2}, "corrupt"),
        ({"dx": 0.0}, "X|x pixel size|cellSizeX|cellsize"),
        ({"dx": -1.0}, "X|x pixel size|cellSizeX|cellsize"),
        ({"dx": float("nan")}, "X|x pixel size|cellSizeX|cellsize"),
        ({"dy": float("inf")}, "Y|y pixel size|cellSizeY|cellsize"),
        ({"x": float("nan")}, "ULXMAP|easting|xUL|xllcorner"),
        ({"y": float("-inf")}, "ULYMAP|northing|yUL|yllcorner"),
    ],
    ids=str,
)
def test_a_lying_header_raises_naming_the_file_and_field(
    tmp_path: Path, kind: str, changes, field: str
) -> None:
    if kind == "asc" and "dy" in changes:
        changes = {"dx": changes["dy"]}  # one cellsize
    path = _write(kind, tmp_path, **changes)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=field) as info:
            open_network(path, "ldd")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)
    assert peak < 1 << 20  # nothing allocated for the announced cells


def test_csf_attribute_table_must_follow_the_cells(tmp_path: Path) -> None:
    path = tmp_path / "ldd.map"
    path.write_bytes(_csf(LDD, attr_table=256 + LDD.size) + b"attributes")
    assert _same(open_network(path), RiverNetwork.from_ldd(LDD))
    path.write_bytes(_csf(LDD, attr_table=256 + 4) + b"attributes")
    with pytest.raises(ValueError, match=f"{path}.*attribute table starts at byte 260"):
        open_network(path)


def test_bil_negative_offset(tmp_path: Path) -> None:
    path = _bil(tmp_path, ESRI_HDR.format(**GOOD) + "SKIPBYTES -4\n")
    with pytest.raises(ValueError, match=f"{path}.*negative offset"):
        open_network(path)


def test_netcdf3_dimension_lie_is_caught(tmp_path: Path) -> None:
    raw = bytearray(_source("southamerica_ldd.nc").read_bytes())
    at = raw.index(b"lat") + 4  # the length of dimension lat follows its padded name
    assert struct.unpack_from(">I", raw, at)[0] == 700
    struct.pack_into(">I", raw, at, 188)  # the engines would read a 188-row grid
    path = tmp_path / "ldd.nc"
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=f"{path}: corrupt netCDF3 header: variable 'lat' is 5600 bytes"):
        open_network(path)


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT", "NETCDF3_64BIT_DATA"])
def test_valid_netcdf3_headers_pass_the_check(tmp_path: Path, fmt: str) -> None:
    netcdf4 = pytest.importorskip("netCDF4")
    path = tmp_path / "ldd.nc"
    with netcdf4.Dataset(path, "w", format=fmt) as ds:
        ds.title = "a global attribute"
        ds.createDimension("time", None)
        ds.createDimension("y", 2)
        ds.createDimension("x", 3)
        ds.createVariable("runoff", "f4", ("time", "y", "x"))[0:2] = np.ones((2, 2, 3))
        ds.createVariable("y", "f8", ("y",))[:] = [1.5, 0.5]
        ds.createVariable("x", "f8", ("x",))[:] = [0.5, 1.5, 2.5]
        ldd = ds.createVariable("ldd", "i2", ("y", "x"))
        ldd.long_name = "local drain direction"
        ldd[:] = LDD
    assert _same(open_network(path, "ldd", variable="ldd"), RiverNetwork.from_ldd(LDD))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("3\n2\n1\n0.5\n0.0\n1.5\n1.0\n0.0\n", None),
        ("3\n1\n1\n0.5\n0.0\n1.5\n1.0\n0.0\n", "corrupt CaMa-Flood nextxy: 1x3 cells"),  # ny lies
        ("3\n9999999\n1\n0.5\n0.0\n1.5\n1.0\n0.0\n", "truncated CaMa-Flood nextxy"),
        ("3\n2\n1\n0\n0.0\n1.5\n1.0\n0.0\n", "gsize = 0.0"),
        ("3\n2\n1\nnan\n0.0\n1.5\n1.0\n0.0\n", "gsize = nan"),
        ("3\n2\n1\n0.5\nnan\n1.5\n1.0\n0.0\n", "west = nan"),
    ],
)
def test_cama_params_are_checked_against_the_file(tmp_path: Path, params: str, message: str | None) -> None:
    nextx, nexty = np.array([[2, 3, -9], [-9999, 3, -9]]), np.array([[1, 1, -9], [-9999, 1, -9]])
    (tmp_path / "params.txt").write_text(params)
    path = tmp_path / "nextxy.bin"
    path.write_bytes(np.stack([nextx, nexty]).astype("<i4").tobytes())
    if message is None:
        assert _same(open_network(path), RiverNetwork.from_cama(nextx, nexty))
        return
    with pytest.raises(ValueError, match=message) as info:
        open_network(path)
    assert "params.txt" in str(info.value) or str(path) in str(info.value)
