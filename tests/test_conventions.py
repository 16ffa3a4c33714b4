"""The convention registry: GRASS and WhiteboxTools codes, user conventions end to end,
detection of each, from_downstream_index, the docs tables and the network cache."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from tests.real_data import BY_NAME, skip_if_missing
from xhydro_accessor import Convention, RiverNetwork, register_convention
from xhydro_accessor.cli import build_parser, main
from xhydro_accessor.conventions import CONVENTIONS, markdown_table, unregister_convention
from xhydro_accessor.errors import CycleError, GridMismatchError, InvalidCodeError
from xhydro_accessor.io import detect_convention, open_network, write_network

ROOT = Path(__file__).resolve().parents[1]

# A 3×3 grid, hand-drawn (rows north to south):
#   →  ↘  ↓        cell 0 drains east to 1, 1 south-east to 5, 2 south to 5
#   ↗  ·  pit      cell 3 north-east to 1, 4 missing, 5 a pit (outlet)
#   ↑  ↖  ←        cell 6 north to 3, 7 north-west to 3, 8 west to 7
EXPECTED = np.array([[1, 5, 5], [1, -2, -1], [3, 3, 7]])
LDD = np.array([[6, 3, 2], [9, 255, 5], [8, 7, 4]])
# GRASS r.watershed: 1 NE, 2 N, 3 NW, 4 W, 5 SW, 6 S, 7 SE, 8 E; -1 depression; 0 missing
GRASS = np.array([[8, 7, 6], [1, 0, -1], [2, 3, 4]], np.int8)
# WhiteboxTools D8 pointer: 1 NE, 2 E, 4 SE, 8 S, 16 SW, 32 W, 64 NW, 128 N; 0 no flow
WHITEBOX = np.array([[2, 4, 8], [1, -32768, 0], [128, 64, 32]], np.int16)
ESRI = np.array([[1, 2, 4], [128, 255, 0], [64, 32, 16]], np.uint8)


@pytest.mark.parametrize(
    ("codes", "convention"), [(GRASS, "grass"), (WHITEBOX, "whitebox"), (ESRI, "esri"), (LDD, "ldd")]
)
def test_hand_checked_codes_and_file_roundtrip(codes, convention, tmp_path: Path) -> None:
    net = RiverNetwork.from_d8(codes, convention)
    np.testing.assert_array_equal(net.downstream_grid(), EXPECTED)
    path = write_network(net, tmp_path / f"{convention}.nc", convention)
    with xr.open_dataset(path, mask_and_scale=False) as ds:
        var = ds["flow_direction"]
        assert var.attrs["convention"] == convention
        np.testing.assert_array_equal(var.values, codes)  # the codes written are the hand-drawn ones
        assert len(var.attrs["flag_values"]) == len(var.attrs["flag_meanings"].split())
    with xr.open_dataset(path) as ds:
        assert ds.hydro.network == net.with_grid(("y", "x"), {})
    assert open_network(path) == net.with_grid(("y", "x"), {})


def test_grass_negative_codes_are_outlets_pointing_anywhere() -> None:
    leaving = np.array([[-4, 4, 4]], np.int8)  # -4: flow leaves the region westwards
    np.testing.assert_array_equal(RiverNetwork.from_d8(leaving, "grass").downstream_grid(), [[-1, 0, 1]])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([[6, 2, 9], [255, 5, 1]]), "ldd"),
        (np.array([[1, 64, 128], [247, 0, 16]]), "esri"),
        (np.array([[1, 16, 255, 247]]), "merit"),
        (np.array([[0, 1, 2, 3, 8, -32768]], np.int16), "taudem"),
        (GRASS, "grass"),
        (WHITEBOX, "whitebox"),
    ],
)
def test_detection_of_each(values: np.ndarray, expected: str) -> None:
    assert detect_convention(values) == expected


def test_ambiguous_detection_lists_the_fits() -> None:
    # powers of two with Whitebox's fill declared: ESRI and Whitebox read 1 differently
    with pytest.raises(ValueError, match=r"\(esri, whitebox\).*convention='whitebox'"):
        detect_convention(np.array([[1, 16, 0]], np.int16), nodata=-32768)
    with pytest.raises(ValueError, match=r"\(ldd, taudem, grass\)"):
        detect_convention(np.array([[1, 2, 3]]))


def _esri_as(codes: np.ndarray, convention: str) -> np.ndarray:
    """Recode ESRI codes into ``convention`` by the geographic step each names (hand table)."""
    names = {1: "E", 2: "SE", 4: "S", 8: "SW", 16: "W", 32: "NW", 64: "N", 128: "NE"}
    table = {
        "whitebox": {"NE": 1, "E": 2, "SE": 4, "S": 8, "SW": 16, "W": 32, "NW": 64, "N": 128},
        "grass": {"NE": 1, "N": 2, "NW": 3, "W": 4, "SW": 5, "S": 6, "SE": 7, "E": 8},
    }[convention]
    pit, missing = {"whitebox": (0, -32768), "grass": (-1, 0)}[convention]
    out = np.full(codes.shape, missing, np.int16)
    for code, name in names.items():
        out[codes == code] = table[name]
    out[codes == 0] = pit
    return out


def test_esri_whitebox_and_grass_versions_of_a_real_network_are_one_network(tmp_path: Path) -> None:
    info = BY_NAME["pyflwdir2020_d8"]
    skip_if_missing(info)
    esri = open_network(info.path)
    codes = np.asarray(xa.io.read_flow_directions(info.path).values)
    for convention in ("whitebox", "grass"):
        recoded = _esri_as(codes, convention)
        net = RiverNetwork.from_d8(recoded, convention)
        np.testing.assert_array_equal(net.downstream_grid(), esri.downstream_grid())
        assert (net.n_nodes, net.outlets.size, net.n_levels) == (283_029, 1, 1_438)
        path = write_network(esri, tmp_path / f"{convention}.nc", convention)
        assert open_network(path) == esri
        with xr.open_dataset(path, mask_and_scale=False) as ds:
            assert detect_convention(ds["flow_direction"].values) == convention


@pytest.fixture
def toy():
    """A toy convention added through the registry only: letters of the compass."""
    conv = register_convention(
        Convention(
            "toy",
            {
                10: (0, 1),
                20: (1, 0),
                30: (0, -1),
                40: (-1, 0),
                11: (1, 1),
                21: (1, -1),
                31: (-1, -1),
                41: (-1, 1),
            },
            pits=(99,),
            missing=(77,),
            detect=lambda codes, nodata: 99 in codes and codes <= {10, 20, 30, 40, 11, 21, 31, 41, 77, 99},
            title="toy",
            summary="a test's compass",
        )
    )
    yield conv
    unregister_convention("toy")


TOY = np.array([[10, 11, 20], [41, 77, 99], [40, 31, 30]], np.uint8)


def test_a_registered_convention_end_to_end(toy, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    net = RiverNetwork.from_d8(TOY, "toy")
    np.testing.assert_array_equal(net.downstream_grid(), EXPECTED)
    assert RiverNetwork.from_d8(TOY, toy) == net  # the object as well as its name
    assert detect_convention(TOY) == "toy"
    path = write_network(net, tmp_path / "toy.nc", "toy")
    assert open_network(path) == net.with_grid(("y", "x"), {})
    fixed, report = xa.repair(TOY, "toy")
    assert report.n_changed == 0 and np.array_equal(fixed, TOY)
    # accessor: data written with the network reopen with it
    runoff = xr.DataArray(np.arange(9.0).reshape(3, 3), dims=("y", "x"))
    with xr.open_dataset(path) as ds:
        field = runoff.assign_coords(flow_direction=ds["flow_direction"])
        np.testing.assert_array_equal(field.hydro.accumulate().values, xa.accumulate(net, runoff.values))
    # CLI: a choice of --convention
    runoff_path = tmp_path / "runoff.nc"
    runoff.to_dataset(name="runoff").to_netcdf(runoff_path)
    out = tmp_path / "q.nc"
    main(["accumulate", str(path), str(runoff_path), "-o", str(out), "--convention", "toy"])
    with xr.open_dataset(out) as ds:
        np.testing.assert_array_equal(
            ds["runoff"].transpose("y", "x").values, xa.accumulate(net, runoff.values)
        )


def test_cli_choices_come_from_the_registry(toy) -> None:
    parser = build_parser()
    args = parser.parse_args(["accumulate", "n.nc", "f.nc", "-o", "o.nc", "--convention", "toy"])
    assert args.convention == "toy"
    unregister_convention("toy")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["accumulate", "n.nc", "f.nc", "-o", "o.nc", "--convention", "toy"])


def test_an_unregistered_convention_object_works_wherever_a_name_does(tmp_path: Path) -> None:
    arrows = Convention("arrows", {1: (0, 1), 2: (1, 0)}, pits=(9,), missing=(0,))
    net = RiverNetwork.from_d8(np.array([[1, 2], [0, 9]]), arrows)
    np.testing.assert_array_equal(net.downstream_grid(), [[1, 3], [-2, -1]])
    path = write_network(net, tmp_path / "arrows.nc", arrows)
    assert open_network(path, arrows) == net.with_grid(("y", "x"), {})
    with pytest.raises(
        ValueError,
        match="arrows.nc: the file's convention attribute: unknown flow-direction convention 'arrows'",
    ):
        open_network(path)  # its name is not registered
    fixed, report = xa.repair(np.array([[1, 1], [0, 9]]), arrows)
    np.testing.assert_array_equal(fixed, [[1, 9], [0, 9]])
    assert report.off_grid.tolist() == [1]


def test_bad_conventions_raise() -> None:
    with pytest.raises(ValueError, match="not one of the 8 neighbours"):
        Convention("bad", {1: (0, 2)})
    with pytest.raises(ValueError, match=r"codes \[1\] are listed more than once"):
        Convention("bad", {1: (0, 1)}, pits=(1,))
    with pytest.raises(ValueError, match="registered already"):
        register_convention(Convention("esri", {1: (0, 1)}))
    with pytest.raises(ValueError, match="not a table of direction codes"):
        RiverNetwork.from_d8(np.array([[1]]), "cama")


def test_from_downstream_index() -> None:
    net = RiverNetwork.from_downstream_index(EXPECTED, (3, 3))
    assert net == RiverNetwork.from_ldd(LDD)
    # a cell draining into itself or into an off-network cell is an outlet; any negative < -1 is off
    net = RiverNetwork.from_downstream_index([0, 2, -7, -1], (4,))
    np.testing.assert_array_equal(net.downstream_grid(), [-1, -1, -2, -1])
    with pytest.raises(InvalidCodeError, match=r"values \[9\], first at \(row, col\) \(0, 1\)"):
        RiverNetwork.from_downstream_index([[1, 9], [-1, -1]], (2, 2))
    with pytest.raises(GridMismatchError, match="3 downstream indices for a grid of 4 cells"):
        RiverNetwork.from_downstream_index([1, -1, -1], (2, 2))
    with pytest.raises(InvalidCodeError, match="must be integral"):
        RiverNetwork.from_downstream_index([0.5, -1.0], (2,))
    with pytest.raises(InvalidCodeError, match="must be integers"):
        RiverNetwork.from_downstream_index(["a", "b"], (2,))
    with pytest.raises(CycleError):
        RiverNetwork.from_downstream_index([1, 0], (2,))


def test_from_downstream_index_rebuilds_a_real_network() -> None:
    info = BY_NAME["efas_europe_map"]
    skip_if_missing(info)
    net = open_network(info.path)
    again = RiverNetwork.from_downstream_index(
        net.downstream_grid(), net.shape, dims=net.dims, coords=net.coords
    )
    assert again == net


@pytest.mark.parametrize("doc", ["README.md", "docs/concepts.md"])
def test_docs_tables_are_the_registry(doc: str) -> None:
    text = (ROOT / doc).read_text()
    assert markdown_table() in text
    for name in CONVENTIONS:
        assert f'`"{name}"`' in text


def test_cached_computes_once() -> None:
    net = RiverNetwork.from_ldd(LDD)
    calls = []
    for _ in range(2):
        assert net.cached(("test", 1), lambda: calls.append(1) or 42) == 42
    assert calls == [1]
    assert net.with_grid(None, {}).cached(("test", 1), lambda: 7) == 7  # a copy starts empty


def test_network_module_imports_no_io() -> None:
    tree = ast.parse((ROOT / "xhydro_accessor" / "network.py").read_text())
    modules = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [m for m in modules if m == "io" or m.startswith("io.")], modules
