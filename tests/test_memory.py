"""Memory proportional to the river, not the grid (issue 18 item 4).

A network is built through one bit per grid cell (:mod:`xhydro_accessor.kernels.compact`)
and arrays over its own cells; the results are those of the whole-grid kernels
(:mod:`xhydro_accessor.kernels.topology`), checked here cell for cell. Peak memory is
measured in a fresh process (the kernel's high-water mark of resident memory, reset
before each step): before this work a build took ~12 bytes per grid cell however small
the river (16 with 64-bit indices) and ~23 per cell of a dense network.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
import xhydro_accessor.network as network_module
from tests import reference as ref
from xhydro_accessor.conventions import get_convention
from xhydro_accessor.kernels.topology import (
    downstream_from_directions,
    find_cycles,
    split_for_threads,
    topological_order,
)
from xhydro_accessor.network import _direction_indices, index_dtype

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------ same results
def whole_grid_build(codes, wrap_x, parts):
    """The network as the whole-grid kernels build it: (nodes, to, heads, n_levels), or the
    first cycle's cells (flat) when there are cycles."""
    direction = _direction_indices(codes, get_convention("ldd"), None)
    down = np.empty(codes.size, index_dtype(codes.size))
    downstream_from_directions(direction, wrap_x, down)
    nodes, to, n_levels, in_degree = topological_order(down)
    if nodes.size < np.count_nonzero(down != -2):
        return find_cycles(down, in_degree), int(np.count_nonzero(in_degree > 0))
    nodes, to, heads = split_for_threads(nodes, to, down.size, parts, network_module._MIN_SPLIT)
    return nodes, to, heads, n_levels


def random_codes(rng, ny, nx, acyclic):
    """LDD codes: a random acyclic network, or random directions (cycles likely)."""
    if acyclic:
        steps, missing = ref.random_grid_network(rng, ny, nx, p_pit=0.05)
        return ref.encode(steps, missing, "ldd").astype(np.uint8)
    return rng.choice(np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 255], np.uint8), size=(ny, nx))


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    ny=st.integers(1, 14),
    nx=st.integers(1, 14),
    wrap_x=st.booleans(),
    acyclic=st.booleans(),
    parts=st.integers(2, 4),
)
def test_build_equals_the_whole_grid_kernels(seed, ny, nx, wrap_x, acyclic, parts):
    with pytest.MonkeyPatch.context() as patch:  # every network split into `parts` heads
        patch.setattr(network_module, "_MIN_SPLIT", 0)
        patch.setattr(network_module, "CORES", parts)
        check_build(random_codes(np.random.default_rng(seed), ny, nx, acyclic), wrap_x, parts)


def check_build(codes, wrap_x, parts):
    nx = codes.shape[1]
    expected = whole_grid_build(codes, wrap_x, parts)
    if len(expected) == 2:  # cycles: the first one's first cell and the count of cycle cells
        firsts, n_cells = expected
        first = (int(firsts[0]) // nx, int(firsts[0]) % nx)
        with pytest.raises(xa.CycleError, match=rf"{firsts.size} cycle\(s\) over {n_cells} cells; the first "
                           rf"cycle starts at \(row, col\) \({first[0]}, {first[1]}\)"):  # fmt: skip
            xa.RiverNetwork.from_ldd(codes, wrap_x=wrap_x)
        return
    net = xa.RiverNetwork.from_ldd(codes, wrap_x=wrap_x)
    nodes, to, heads, n_levels = expected
    np.testing.assert_array_equal(net.nodes, nodes)
    np.testing.assert_array_equal(net.downstream, to)
    np.testing.assert_array_equal(net.heads, heads)
    assert net.n_levels == n_levels
    assert net.nodes.dtype == net.downstream.dtype == np.int32
    np.testing.assert_array_equal(net.mask.reshape(-1), direction_mask(codes))
    on = net.mask.reshape(-1)
    upstream = np.zeros(codes.size, bool)
    upstream[to[to >= 0]] = True
    np.testing.assert_array_equal(net.sources, np.flatnonzero(on & ~upstream))


@pytest.mark.parametrize("p_missing", [0.0, 0.3])  # 0: every cell on the network
def test_big_random_network_equals_the_whole_grid_kernels(p_missing):
    rng = np.random.default_rng(11)
    steps, missing = ref.random_grid_network(rng, 300, 250, p_missing=p_missing, p_pit=0.01)
    codes = ref.encode(steps, missing, "ldd").astype(np.uint8)
    assert (codes != 255).all() == (p_missing == 0)
    check_build(codes, False, network_module.CORES)  # split for the cores when they are 2 or more


def direction_mask(codes):
    return (codes != 255).reshape(-1)


def test_cycle_error_names_its_cells():
    codes = np.array([[6, 4, 2], [255, 6, 5], [8, 255, 5]], np.uint8)  # (0,0) <-> (0,1)
    with pytest.raises(xa.CycleError, match=r"1 cycle\(s\) over 2 cells.*\(0, 0\) and runs through "
                       r"\[\(0, 0\), \(0, 1\)\]"):  # fmt: skip
        xa.RiverNetwork.from_ldd(codes)


def test_invalid_codes_are_counted_over_the_whole_grid(monkeypatch):
    monkeypatch.setattr(network_module, "_BLOCK_CELLS", 4)  # one row at a time
    codes = np.full((6, 4), 5, np.uint8)
    codes[2, 1] = codes[4, 3] = 42
    with pytest.raises(xa.InvalidCodeError, match=r"^2 cells hold codes .*first at \(row, col\) \(2, 1\)"):
        xa.RiverNetwork.from_ldd(codes)


@pytest.mark.parametrize("blocks", [1, 3, 1 << 20])
def test_blocks_of_rows_build_the_same_network(monkeypatch, blocks):
    rng = np.random.default_rng(7)
    codes = random_codes(rng, 40, 9, True)
    expected = xa.RiverNetwork.from_ldd(codes)
    monkeypatch.setattr(network_module, "_BLOCK_CELLS", blocks)
    net = xa.RiverNetwork.from_ldd(codes)
    np.testing.assert_array_equal(net.nodes, expected.nodes)
    np.testing.assert_array_equal(net.downstream, expected.downstream)


def test_in_degrees_past_a_byte():
    # a vector network: 300 nodes drain into one (D8 grids have at most 8)
    down = np.r_[np.full(300, 300), -1]
    net = xa.RiverNetwork.from_downstream_index(down, (301,))
    assert net.n_levels == 2
    assert net.nodes[-1] == 300
    np.testing.assert_array_equal(xa.accumulate(net, np.ones(301))[-1], 301)


def test_index_dtype_is_64_bit_from_2_31_cells():
    assert index_dtype(2**31 - 2) == np.int32
    assert index_dtype(2**31 - 1) == index_dtype(2**31) == np.int64


def test_mask_is_made_when_asked_for():
    net = xa.RiverNetwork.from_ldd(np.array([[6, 5], [255, 8]], np.uint8))
    assert net._mask is None  # nothing per grid cell kept at build
    np.testing.assert_array_equal(net.mask, [[True, True], [False, True]])
    assert not net.mask.flags.writeable
    again = net.with_grid(None, {})
    np.testing.assert_array_equal(again.mask, net.mask)


# ------------------------------------------------------------ memory
MEASURE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from xhydro_accessor import RiverNetwork, accumulate, open_network
    from xhydro_accessor.network_codec import encode_network

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

    def peak_of(step):
        '''(result, peak resident bytes above those before the step, bytes kept after it)'''
        before = status("VmRSS:")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the high-water mark VmHWM
        result = step()
        return result, status("VmHWM:") - before, status("VmRSS:") - before

    warm = np.full((300, 300), 2, np.uint8)
    warm[-1] = 5
    warm = RiverNetwork.from_ldd(warm)
    accumulate(warm, np.ones((300, 300), np.float32))  # compile, load caches
    encode_network(warm, ("y", "x"))
    kind, ny, nx, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if kind == "file":
        open_network(path + ".warm.nc")  # import the reader's libraries
        net, build, kept = peak_of(lambda: open_network(path))
    else:
        codes = np.full((ny, nx), 255, np.uint8)
        if kind == "dense":
            codes[:] = 2
            codes[:, ::7] = 3
            codes[-1] = 5
        else:  # one river of 1000 cells east along the last row, then its outlet
            codes[ny - 1, nx - 1341 : nx - 341] = 6
            codes[ny - 1, nx - 341] = 5
        net, build, kept = peak_of(lambda: RiverNetwork.from_ldd(codes))
    result = {"build": build, "kept": kept, "n": net.n_nodes, "size": ny * nx,
              "dtype": str(net.nodes.dtype), "outlets": net.outlets.tolist(),
              "sources": net.sources.tolist(), "levels": net.n_levels,
              "hwm": status("VmHWM:"), "to": net.downstream[:3].tolist(),
              "nodes": net.nodes[:3].tolist()}
    if kind == "sparse" and ny * nx < 2**31:  # the network coordinate of an xarray object
        encoded, result["encode"], _ = peak_of(lambda: encode_network(net, ("y", "x")))
        result["encoded"] = encoded.values[ny - 1, nx - 1345 : nx - 337].tolist()
    if kind == "dense":
        field = np.ones((ny, nx), np.float32)
        out, peak, _ = peak_of(lambda: accumulate(net, field))
        result["accumulate"] = peak - out.nbytes
        result["total"] = float(out.max())
    print(json.dumps(result))
    """
)


def measure(kind, ny=0, nx=0, path=""):
    # glibc serves freed blocks under its (growing) mmap threshold again from the heap and
    # keeps them resident: a fixed threshold returns every large array to the system when freed
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(1 << 17)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, kind, str(ny), str(nx), str(path)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=600, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="peak memory is read from Linux's /proc"
)


@needs_proc
def test_building_a_small_river_on_a_big_grid_costs_a_fraction_of_a_byte_per_cell():
    got = measure("sparse", 4000, 4000)  # 16 M cells, 1001 on the network
    assert got["n"] == 1001 and got["levels"] == 1001
    assert got["build"] <= 0.5 * got["size"] + 16 * got["n"], got  # before: ~12 bytes a grid cell
    assert got["kept"] <= 0.1 * got["size"], got  # no mask kept: made when asked for
    # its codes as a coordinate: the uint8 grid (a byte a cell) and little else (before: ~17)
    assert got["encode"] <= 1.2 * got["size"] + 64 * got["n"], got
    assert got["encoded"] == [255] * 4 + [6] * 1000 + [5] + [255] * 3


@needs_proc
def test_building_a_dense_network_stays_under_16_bytes_per_cell():
    got = measure("dense", 2000, 2000)
    assert got["n"] == got["size"]
    assert got["build"] <= 16 * got["n"], got  # before: ~23 bytes a cell
    assert got["kept"] <= 8.5 * got["n"], got  # int32 nodes and downstream cells
    # accumulate: beyond its result, the mask (made now, one byte a cell) and a byte of scratch
    assert got["accumulate"] <= 2.5 * got["size"], got
    # the most: column 1 at the bottom, its 2000 cells and 1999 of column 0 (3: south-east)
    assert got["total"] == 3999


@needs_proc
def test_opening_a_file_costs_the_codes_and_a_fraction_of_a_byte_per_cell(tmp_path):
    import xarray as xr

    codes = np.full((3000, 3000), 255, np.uint8)
    codes[1500, :999] = 6  # east, north-east, the outlet: codes only an LDD holds
    codes[1500, 999] = 9
    codes[1499, 1000] = 5
    path = tmp_path / "ldd.nc"
    xr.DataArray(codes, dims=("y", "x")).to_netcdf(path)  # the convention told from the codes
    xr.DataArray(codes[1499:1501, 995:1001], dims=("y", "x")).to_netcdf(f"{path}.warm.nc")
    got = measure("file", 3000, 3000, path)
    assert got["n"] == 1001
    # the codes themselves (a byte a cell) and what xarray's reader keeps beside them
    assert got["build"] <= 2.5 * got["size"], got


@pytest.mark.slow  # ~15 s of CPU (writing 2.15 GB of codes, reading them twice)
@needs_proc
def test_a_grid_past_2_31_cells_gets_64_bit_indices_and_stays_under_4_gb():
    side = 46341  # 46341² = 2 147 488 281 cells > 2³¹; the codes alone take 2.15 GB
    got = measure("sparse", side, side)
    first = (side - 1) * side + side - 1341  # past 2³¹: only 64-bit indices hold it
    assert first > 2**31
    assert got["dtype"] == "int64"
    assert got["n"] == 1001 and got["levels"] == 1001
    assert got["nodes"] == [first, first + 1, first + 2]
    assert got["to"] == [first + 1, first + 2, first + 3]
    assert got["outlets"] == [first + 1000]
    assert got["sources"] == [first]
    assert got["build"] <= 0.5 * got["size"], got  # bits and counts, not ~16 bytes a cell
    assert got["hwm"] <= 4e9, got  # the whole process, codes included
