"""Rivers and catchments as vectors: streams, stream_segments and catchment_polygons.

Against a brute force on random networks (segments followed cell by cell from the
reference's children), against pyflwdir's ``streams()`` on the real networks, and
written to a GeoPackage and read back.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xhydro_accessor as xa
from tests import reference as ref
from tests.test_stream_order import reference_orders
from xhydro_accessor.hydrology.vectors import catchment_polygons, stream_segments, streams

gpd = pytest.importorskip("geopandas")
shapely = pytest.importorskip("shapely")
assert_geodataframe_equal = pytest.importorskip("geopandas.testing").assert_geodataframe_equal

SPACING = 1000.0  # metres between cell centres of the random grids: 1 km² cells in EPSG:3035


def random_network(seed: int, ny: int, nx: int, crs="EPSG:3035"):
    """A random LDD network on a projected 1 km grid (rows north to south), and its reference ``down``."""
    rng = np.random.default_rng(seed)
    steps, missing = ref.random_grid_network(rng, ny, nx)
    coords = {"y": SPACING * np.arange(ny)[::-1], "x": SPACING * np.arange(nx)}
    codes = xr.DataArray(ref.encode(steps, missing, "ldd"), dims=("y", "x"), coords=coords)
    return xa.RiverNetwork.from_ldd(codes, crs=crs), ref.down_of_steps(steps, missing)


def reference_segments(down, on):
    """Segments followed cell by cell: a head is a stream cell with 0 or >= 2 stream cells upstream."""
    kids = ref.children(down)
    n_up = {i: sum(bool(on[k]) for k in kids[i]) for i in kids}
    segments = []
    for head in sorted(i for i in kids if on[i] and n_up[i] != 1):
        cells = [head]
        while down[cells[-1]] >= 0 and n_up[int(down[cells[-1]])] == 1:
            cells.append(int(down[cells[-1]]))
        segments.append(cells)
    return segments


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    ny=st.integers(2, 8),
    nx=st.integers(2, 8),
    min_area=st.sampled_from([None, 1, 2, 4]),
    min_order=st.sampled_from([None, 1, 2, 3]),
)
def test_streams_equal_brute_force_on_random_grids(seed, ny, nx, min_area, min_order):
    net, down = random_network(seed, ny, nx)
    ups = ref.upstream_sets(down)
    orders, _ = reference_orders(down)
    on = np.zeros(down.size, bool)
    for i in ups:
        on[i] = (min_area is None or len(ups[i]) >= min_area) and (
            min_order is None or orders[i] >= min_order
        )
    want = reference_segments(down, on)
    gdf = streams(net, min_area=min_area, min_order=min_order)
    grid = stream_segments(net, min_area=min_area, min_order=min_order).reshape(-1)

    # the segments partition the stream cells; the grid holds the GeoDataFrame's ids
    expected_grid = np.zeros(down.size, np.int32)
    for k, cells in enumerate(want, 1):
        expected_grid[cells] = k
    np.testing.assert_array_equal(grid, expected_grid)
    np.testing.assert_array_equal(gdf["segment_id"], np.arange(1, len(want) + 1))
    head_id = {cells[0]: k for k, cells in enumerate(want, 1)}
    yx = [(SPACING * (ny - 1 - i // nx), SPACING * (i % nx)) for i in range(down.size)]
    for k, cells in enumerate(want):
        last, row = cells[-1], gdf.iloc[k]
        assert row["next_down_id"] == (head_id[int(down[last])] if down[last] >= 0 else 0)
        assert row["n_cells"] == len(cells)
        assert row["upstream_area"] == pytest.approx(len(ups[last]))  # 1 km² per cell
        assert row["strahler"] == orders[last]
        line = cells + ([int(down[last])] if down[last] >= 0 else [last] * (len(cells) == 1))
        vertices = [(yx[c][1], yx[c][0]) for c in line]
        assert list(row.geometry.coords) == vertices
        steps = [np.hypot(*np.subtract(yx[a], yx[b])) for a, b in zip(line[:-1], line[1:], strict=True)]
        assert row["length"] == pytest.approx(sum(steps))
        assert row["length"] == pytest.approx(row.geometry.length)  # projected: the line's own length
    # lengths sum to the steps of all stream cells
    steps = xa.step_lengths(net).reshape(-1)
    assert gdf["length"].sum() == pytest.approx(steps[on].sum())
    assert gdf.crs.to_epsg() == 3035


def test_lat_lon_lengths_are_geodesic():
    codes = xr.DataArray([[6, 6, 2], [255, 255, 5]], dims=("lat", "lon"),
                         coords={"lat": [60.0, 59.0], "lon": [10.0, 11.0, 12.0]})  # fmt: skip
    gdf = streams(xa.RiverNetwork.from_ldd(codes))
    geod = __import__("pyproj").Geod(ellps="WGS84")
    want = geod.inv(10, 60, 11, 60)[2] + geod.inv(11, 60, 12, 60)[2] + geod.inv(12, 60, 12, 59)[2]
    assert gdf.crs.to_epsg() == 4326  # degrees without a CRS: WGS84
    assert list(gdf["segment_id"]) == [1] and gdf["length"][0] == pytest.approx(want, rel=1e-12)
    assert gdf["upstream_area"][0] == pytest.approx(
        xa.upstream_area(xa.RiverNetwork.from_ldd(codes))[1, 2] / 1e6
    )


def test_vectors_round_trip_through_a_geopackage(tmp_path):
    net, _ = random_network(3, 12, 14)
    labels = xa.catchments(net, net.outlets[:5])
    path = tmp_path / "rivers.gpkg"
    for layer, gdf in (
        ("streams", streams(net, min_order=1)),
        ("catchments", catchment_polygons(net, labels)),
    ):
        gdf.to_file(path, layer=layer)
        back = gpd.read_file(path, layer=layer)
        assert_geodataframe_equal(back, gdf, check_dtype=False, check_less_precise=False)
        assert back.crs == gdf.crs == net.crs
        for column in gdf.columns.drop("geometry"):
            assert back[column].dtype.kind == gdf[column].dtype.kind


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(2, 9), nx=st.integers(2, 9), n_labels=st.integers(1, 4))
def test_catchment_polygons_cover_exactly_their_cells(seed, ny, nx, n_labels):
    from scipy import ndimage

    net, _ = random_network(seed, ny, nx)
    labels = np.random.default_rng(seed).integers(0, n_labels + 1, (ny, nx)) * 10
    gdf = catchment_polygons(net, labels)
    present = np.unique(labels[labels != 0])
    np.testing.assert_array_equal(gdf["label"], present)
    yy, xx = np.meshgrid(SPACING * np.arange(ny)[::-1], SPACING * np.arange(nx), indexing="ij")
    for _, row in gdf.iterrows():
        cells = labels == row["label"]
        assert row.geometry.is_valid
        np.testing.assert_array_equal(shapely.contains_xy(row.geometry, xx, yy), cells)
        assert row["n_cells"] == cells.sum()
        assert row["area"] == pytest.approx(cells.sum())  # 1 km² cells
        assert row.geometry.area == pytest.approx(cells.sum() * SPACING**2)
        parts = len(getattr(row.geometry, "geoms", [row.geometry]))
        assert parts == ndimage.label(cells)[1]  # 4-connected groups; corner contacts make separate parts


def test_polygon_area_is_the_sum_of_cell_areas_on_lat_lon():
    codes = xr.DataArray(np.full((3, 2), 5), dims=("lat", "lon"),
                         coords={"lat": [60.5, 59.5, 58.5], "lon": [0.5, 1.5]})  # fmt: skip
    net = xa.RiverNetwork.from_ldd(codes)
    gdf = catchment_polygons(net, np.array([[1, 1], [0, 2], [2, 2]]))
    areas = xa.cell_areas(net) / 1e6
    assert gdf["area"].tolist() == pytest.approx([areas[0].sum(), areas[1, 1] + areas[2].sum()])
    assert gdf.geometry[0].bounds == (0.0, 60.0, 2.0, 61.0) and gdf.crs.to_epsg() == 4326


def test_no_stream_cell_left_gives_an_empty_frame():
    net, _ = random_network(1, 5, 5)
    gdf = streams(net, min_area=1e9)
    assert len(gdf) == 0 and gdf.crs == net.crs and gdf["length"].dtype == np.float64
    assert not stream_segments(net, min_area=1e9).any()


def test_bad_input_raises_clearly(monkeypatch):
    net, _ = random_network(1, 4, 4)
    with pytest.raises(ValueError, match="min_order must be an integer >= 1"):
        streams(net, min_order=0)
    with pytest.raises(ValueError, match="min_area must be a finite number"):
        stream_segments(net, min_area=-1)
    with pytest.raises(ValueError, match="labels must be integers"):
        catchment_polygons(net, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="needs a grid network with coordinates"):
        streams(xa.RiverNetwork.from_ldd(np.array([[6, 5]])))
    with pytest.raises(ValueError, match="not a vector network"):
        stream_segments(xa.RiverNetwork.from_downstream([1, -1]))
    with pytest.raises(xa.UnknownGeometryError):
        streams(
            xa.RiverNetwork.from_ldd(xr.DataArray([[6, 5]], dims=("y", "x"), coords={"y": [0], "x": [0, 1]}))
        )
    monkeypatch.setitem(sys.modules, "geopandas", None)
    with pytest.raises(ImportError, match=r"xhydro-accessor\[vector\]"):
        streams(net)
    stream_segments(net)  # the grid needs no geopandas


def test_accessor_methods_equal_the_array_level():
    net, _ = random_network(7, 6, 7)
    da = xr.DataArray(np.zeros(net.shape), dims=("y", "x"), coords=net.coords).hydro.assign_network(net)
    np.testing.assert_array_equal(
        da.hydro.stream_segments(min_order=2).values, stream_segments(net, min_order=2)
    )
    assert_geodataframe_equal(da.hydro.streams(min_area=2), streams(net, min_area=2))
    labels = da.hydro.catchments(net.outlets[:3])
    assert_geodataframe_equal(labels.hydro.catchment_polygons(), catchment_polygons(net, labels.values))
    with pytest.raises(ValueError, match="only the grid dims"):
        labels.expand_dims(time=2).hydro.catchment_polygons()


# ------------------------------------------------------------------ pyflwdir
def _segment_cells(net, segment):
    """Our segments as pyflwdir lists them: the cells, then the next confluence cell."""
    down = net.downstream_grid().reshape(-1)
    ids = segment.reshape(-1)[net.nodes]
    order = np.argsort(ids, kind="stable")
    cells, ids = net.nodes[order][ids[order] > 0], ids[order][ids[order] > 0]
    out = {}
    for part in np.split(cells, np.flatnonzero(np.diff(ids)) + 1):
        tail = [int(down[part[-1]])] if down[part[-1]] >= 0 else []
        out[tuple(int(c) for c in part) + tuple(tail)] = int(segment.reshape(-1)[part[0]])
    return out


@pytest.mark.parametrize(
    ("name", "min_sto"), [("efas_europe_nc", 1), ("lisflood_madeira", 1), ("lisflood_madeira", 3)]
)
def test_segment_topology_equals_pyflwdir(name, min_sto):
    """pyflwdir's streams(): the same cell lists (its extra zero-length [pit, pit] lines left out)."""
    pyflwdir = pytest.importorskip("pyflwdir")
    from tests.test_against_pyflwdir import _build

    _info, _codes, _valid, net, flw = _build(name)
    mask = None if min_sto == 1 else flw.stream_order().reshape(-1) >= min_sto
    theirs = pyflwdir.streams.streams(flw.idxs_ds, flw.idxs_seq, mask=mask)
    pits = set(flw.idxs_pit.tolist())
    theirs = {tuple(int(c) for c in a) for a in theirs if not (len(a) == 2 and a[0] == a[1] and a[0] in pits)}
    ours = _segment_cells(net, stream_segments(net, min_order=min_sto))
    assert set(ours) == theirs
    gdf = streams(net, min_order=min_sto)
    head_of = {cells[0]: k for cells, k in ours.items()}
    by_id = {k: cells for cells, k in ours.items()}
    for k, next_down in zip(gdf["segment_id"], gdf["next_down_id"], strict=True):
        below = head_of.get(by_id[k][-1], k)  # the last listed cell heads the next segment, if any
        assert next_down == (0 if below == k else below)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # pyflwdir's own use of affine
def test_segment_lengths_equal_pyflwdir_lines_on_a_projected_grid():
    """pyflwdir's LineString features (cell centres from its transform) have our lengths."""
    pytest.importorskip("pyflwdir")
    from tests.test_against_pyflwdir import _build

    _info, _codes, _valid, net, flw = _build("lisflood_etrs89")
    theirs = gpd.GeoDataFrame.from_features(flw.streams())
    theirs = theirs[theirs["idx"] != theirs["idx_ds"]]  # the zero-length pit lines
    ours = streams(net)
    first = stream_segments(net).reshape(-1)[theirs["idx"].to_numpy()]
    lengths = ours.set_index("segment_id").loc[first, "length"].to_numpy()
    np.testing.assert_allclose(lengths, theirs.geometry.length.to_numpy(), rtol=1e-12)
    assert len(set(first)) == len(ours) - int(((ours["n_cells"] == 1) & (ours["next_down_id"] == 0)).sum())


def test_a_grid_stored_x_first_gives_the_same_vectors():
    """dims (x, y): the same lines, lengths, polygons and paths as the (y, x) grid."""
    net, _ = random_network(11, 6, 5)
    codes = xr.DataArray(np.zeros(net.shape), dims=("y", "x"), coords=net.coords)
    ldd = ref.encode(*ref.random_grid_network(np.random.default_rng(11), 6, 5), "ldd")
    flipped = xa.RiverNetwork.from_ldd(codes.copy(data=ldd).T, crs="EPSG:3035")
    lines = [
        {g.wkt: length for g, length in zip(f.geometry, f["length"], strict=True)}
        for f in (streams(net), streams(flipped))
    ]
    assert lines[0].keys() == lines[1].keys()
    assert all(lines[0][k] == pytest.approx(lines[1][k]) for k in lines[0])
    labels = xa.basins(net)
    polygons, flipped_polygons = catchment_polygons(net, labels), catchment_polygons(flipped, labels.T)
    assert all(p.equals(q) for p, q in zip(polygons.geometry, flipped_polygons.geometry, strict=True))
    np.testing.assert_allclose(polygons["area"], flipped_polygons["area"])
    start = np.flatnonzero(net.mask)[:1]
    rows, cols = np.divmod(start, net.shape[1])
    down, across = xa.flow_path(net, start), xa.flow_path(flipped, cols * net.shape[0] + rows)
    np.testing.assert_array_equal(down.y, across.y)
    np.testing.assert_array_equal(down.x, across.x)
