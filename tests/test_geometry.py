"""The array-level geometry (xhydro_accessor.geometry): areas, lengths, CRS parsing, units."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xhydro_accessor import geometry

pyproj = pytest.importorskip("pyproj")


@settings(max_examples=30, deadline=None)
@given(lat=st.floats(-89.9, 89.9), lon=st.floats(-180, 179.9), size=st.sampled_from([0.001, 0.01]))
def test_ellipsoidal_cell_area_equals_geodesic_polygon(lat, lon, size):
    """A small cell's area equals pyproj's geodesic polygon area (edges bow off the parallels by
    ~(size)² relative: negligible at these sizes)."""
    lat = min(lat, 90 - 1.5 * size)
    y, x = [lat + size, lat], [lon, lon + size]
    area = geometry.cell_areas(y, x, "EPSG:4326")[0, 0]
    south, north = lat + size / 2, lat + 3 * size / 2
    west, east = lon - size / 2, lon + size / 2
    expected, _ = pyproj.Geod(ellps="WGS84").polygon_area_perimeter(
        [west, east, east, west], [south, south, north, north]
    )
    np.testing.assert_allclose(area, abs(expected), rtol=1e-6)


def test_sphere_lengths_are_great_circles():
    radius = 6_371_000.0
    y, x = np.array([10.0, 20.0]), np.array([30.0, 45.0])
    got = geometry.step_lengths(y, x, [0], [0], [1], [1], f"+proj=longlat +R={radius} +no_defs")
    p1, p2, dl = np.deg2rad(10), np.deg2rad(20), np.deg2rad(15)
    haversine = (
        2
        * radius
        * np.arcsin(np.sqrt(np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2))
    )
    np.testing.assert_allclose(got, haversine, rtol=1e-9)


def test_projected_units_are_converted_to_metres():
    np.testing.assert_allclose(geometry.cell_areas([0.0, 10.0], [0.0, 10.0], 3035), 100.0)
    feet = geometry.cell_areas([0.0, 10.0], [0.0, 10.0], "EPSG:2229")  # US survey feet
    np.testing.assert_allclose(feet, (10 * 1200 / 3937) ** 2)
    steps = geometry.step_lengths([0.0, 3.0], [0.0, 4.0], [0], [0], [1], [1], "EPSG:2229")
    np.testing.assert_allclose(steps, 5 * 1200 / 3937)


def test_degrees_without_crs_and_the_error_without():
    np.testing.assert_allclose(
        geometry.cell_areas([1.0, 0.0], [0.0, 1.0], degrees=True),
        geometry.cell_areas([1.0, 0.0], [0.0, 1.0], 4326),
    )
    with pytest.raises(geometry.UnknownGeometryError, match="crs="):
        geometry.cell_areas([1.0, 0.0], [0.0, 1.0])
    with pytest.raises(geometry.UnknownGeometryError, match="lengths in metres"):
        geometry.step_lengths([1.0, 0.0], [0.0, 1.0], [0], [0], [1], [1])


def test_crs_from_attributes_and_user_input():
    laea = {
        "grid_mapping_name": "lambert_azimuthal_equal_area",
        "latitude_of_projection_origin": "52.0",
        "longitude_of_projection_origin": "10.0",
        "false_easting": "4321000.0",
        "false_northing": "3210000.0",
        "semi_major_axis": "6378137.0",
        "inverse_flattening": "298.257222101",
    }  # fmt: skip  (the EFAS file's, as strings)
    crs = geometry.crs_from_attrs(laea)
    assert crs.is_projected and "+proj=laea +lat_0=52 +lon_0=10" in crs.to_proj4()
    assert geometry.crs_from_attrs({"epsg_code": "4326"}).to_epsg() == 4326
    assert geometry.crs_from_attrs({"units": "m"}) is None
    assert geometry.as_crs(None) is None and geometry.as_crs(3035).to_epsg() == 3035
    with pytest.raises(ValueError, match="unknown coordinate reference system"):
        geometry.as_crs("EPSG:12345678")
    with pytest.raises(ValueError, match="unknown CF grid mapping"):
        geometry.crs_from_attrs({"grid_mapping_name": "no_such_projection"})


def test_says_degrees():
    assert geometry.says_degrees("y", {"units": "degrees_north"}, "y")
    assert geometry.says_degrees("x", {"standard_name": "longitude"}, "x")
    assert geometry.says_degrees("latitude", {}, "y")
    assert not geometry.says_degrees("lat", {"units": "m"}, "y")  # units win over the name
    assert not geometry.says_degrees("y", {"units": "degrees_north"}, "x")


def test_parse_length():
    assert geometry.parse_length(3) == (3.0, False)
    assert geometry.parse_length("5 km") == (5000.0, True)
    assert geometry.parse_length("2 mi")[0] == pytest.approx(3218.688)
    for bad in (-1, float("nan"), "5 kg", "x", "-1 m", None):
        with pytest.raises(ValueError, match="must be a finite length"):
            geometry.parse_length(bad)


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = list(ast.walk(tree))
    modules = {a.name.split(".")[0] for n in nodes if isinstance(n, ast.Import) for a in n.names}
    return modules | {n.module.split(".")[0] for n in nodes if isinstance(n, ast.ImportFrom) and n.module}


def test_geometry_imports_no_xarray():
    """Array level: numpy, pyproj, the standard library, the leaf errors module and the
    array-level grid layout only (cf_xarray lazily, for units)."""
    allowed = {"__future__", "collections", "typing", "numpy", "pyproj", "warnings", "cf_xarray", "errors"}
    assert _imported(Path(geometry.__file__)) <= allowed | {"layout"}
    layout = _imported(Path(geometry.__file__).with_name("layout.py"))
    assert layout <= {"__future__", "collections", "dataclasses", "typing", "numpy", "conventions"}
    errors = Path(geometry.__file__).with_name("errors.py").read_text()
    assert "import" not in errors  # a leaf
