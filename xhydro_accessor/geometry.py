"""Grid geometry from the coordinate reference system: cell areas and step lengths.

Array level (numpy and pyproj, no xarray). One rule decides the earth model of a
grid given by 1-D cell-centre coordinates ``y`` (rows) and ``x`` (columns):

- a **geographic** CRS (``x`` longitude, ``y`` latitude, in the CRS's angle
  unit): ellipsoidal geometry on the CRS's ellipsoid — exact areas of the cells
  (the area of a latitude band on the ellipsoid, through the authalic latitude)
  and geodesic step lengths (:meth:`pyproj.Geod.inv`);
- a **projected** CRS: planar geometry in metres (the CRS's axis unit converted,
  e.g. US survey feet): ``|Δx Δy|`` areas and Euclidean lengths. Areas are true
  on equal-area projections (e.g. ETRS89-LAEA), map areas otherwise;
- **no CRS**: degrees on the WGS84 ellipsoid when the coordinates say so (CF
  units ``degrees_north``/``degrees_east``, standard names ``latitude``/
  ``longitude``, or dims named ``lat``/``lon``/``latitude``/``longitude``);
  otherwise the geometry is unknown and :class:`UnknownGeometryError` asks for
  ``crs=``: a length or area in the coordinates' units is never labelled metres.

Cell edges are the midpoints between centres, extrapolated by half a cell at the
borders (latitudes clipped to ±90°).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from .errors import UnknownGeometryError

__all__ = ["UnknownGeometryError", "as_crs", "cell_areas", "crs_from_attrs", "crs_of", "step_lengths"]

#: CF units of latitude and longitude (lower case, plural and singular forms)
_DEGREES_NORTH = ("degrees_north", "degree_north", "degree_n", "degrees_n", "degreen", "degreesn")
_DEGREES_EAST = ("degrees_east", "degree_east", "degree_e", "degrees_e", "degreee", "degreese")
_LAT_NAMES = ("lat", "latitude", "y_lat")
_LON_NAMES = ("lon", "longitude", "x_lon")
#: attributes of a CF grid-mapping variable (or a DataArray) holding a whole CRS, in order of trust
_WKT_KEYS = ("crs_wkt", "spatial_ref", "esri_pe_string")


# ------------------------------------------------------------------------ CRS
def as_crs(crs: Any) -> Any:
    """``crs`` as a :class:`pyproj.CRS` (None stays None).

    Anything :meth:`pyproj.CRS.from_user_input` reads: ``"EPSG:4326"``, an EPSG
    code, WKT (also ESRI WKT), a PROJ string, a CF grid-mapping dict, a rasterio
    CRS.

    Examples
    --------
    >>> as_crs(4326).name
    'WGS 84'
    >>> as_crs("not a crs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown coordinate reference system 'not a crs': ...
    """
    if crs is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if isinstance(crs, CRS):
        return crs
    try:
        if isinstance(crs, Mapping):
            return crs_from_attrs(crs) or CRS.from_user_input(dict(crs))
        if hasattr(crs, "to_wkt") and not isinstance(crs, str):  # rasterio, osgeo
            crs = crs.to_wkt()
        return CRS.from_user_input(crs)
    except (CRSError, TypeError, ValueError) as err:
        shown = f"{crs!r}"[:120]
        raise ValueError(f"unknown coordinate reference system {shown}: {err}") from None


def crs_from_attrs(attrs: Mapping[Hashable, Any]) -> Any:
    """The CRS a CF grid-mapping variable's attributes (or a variable's own) define, or None.

    Tried in order: ``crs_wkt``, ``spatial_ref`` (GDAL), ``esri_pe_string``
    (ESRI), ``epsg_code`` (``"EPSG:3035"``), ``grid_mapping_name`` with its CF
    parameters (:meth:`pyproj.CRS.from_cf`).

    Examples
    --------
    >>> crs_from_attrs({"grid_mapping_name": "latitude_longitude"}).is_geographic
    True
    >>> crs_from_attrs({"units": "m"}) is None
    True
    """
    for key in _WKT_KEYS:
        if attrs.get(key):
            return as_crs(str(attrs[key]))
    if attrs.get("epsg_code"):
        code = str(attrs["epsg_code"])
        return as_crs(code if ":" in code else f"EPSG:{code}")
    if attrs.get("grid_mapping_name"):
        from pyproj import CRS

        try:
            return CRS.from_cf({str(k): _plain(v) for k, v in attrs.items()})
        except Exception as err:  # pyproj raises CRSError, KeyError... on bad parameters
            raise ValueError(f"unknown CF grid mapping {dict(attrs)!r}: {err}") from None
    return None


def _plain(value: Any) -> Any:
    value = (
        value.item()
        if isinstance(value, np.generic) or np.ndim(value) == 0 and hasattr(value, "item")
        else value
    )
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def crs_of(obj: Any) -> Any:
    """The CRS an xarray object declares, or None (duck-typed: no xarray import).

    Looked for in: the ``grid_mapping`` attribute of the object (of a Dataset's
    data variables, or of its network coordinate) naming a variable with CF
    grid-mapping attributes (a DataArray keeps it only as a coordinate: open files
    with ``decode_coords="all"``), a
    ``spatial_ref`` coordinate (rioxarray), the object's own ``crs_wkt`` /
    ``spatial_ref`` / ``esri_pe_string`` attributes, then those of a coordinate
    with ``hydro_role: flow_direction``.
    """
    attrs = getattr(obj, "attrs", {}) or {}
    coords = getattr(obj, "coords", {}) or {}
    data_vars = getattr(obj, "data_vars", {})  # a Dataset: its variables name the grid mapping
    variables = obj.variables if data_vars else coords
    holders = [attrs, getattr(obj, "encoding", {}) or {}]  # decode_coords="all" moves it to encoding
    holders += [held for v in data_vars.values() for held in (v.attrs, v.encoding)]
    holders += [c.attrs for c in coords.values() if c.attrs.get("hydro_role") == "flow_direction"]
    for held in holders:
        name = str(held.get("grid_mapping", "")).split(":")[0]
        if name in variables:
            return crs_from_attrs(variables[name].attrs)
    if "spatial_ref" in coords:
        found = crs_from_attrs(coords["spatial_ref"].attrs)
        if found is not None:
            return found
    for held in holders:
        found = crs_from_attrs({k: held[k] for k in (*_WKT_KEYS, "epsg_code") if k in held})
        if found is not None:
            return found
    return None


def says_degrees(name: Hashable, attrs: Mapping[Hashable, Any], axis: str) -> bool:
    """Whether a coordinate says it is latitude (``axis="y"``) or longitude (``"x"``) in degrees.

    CF units or standard name, or — only without units — its name.

    Examples
    --------
    >>> says_degrees("y", {"units": "degrees_north"}, "y"), says_degrees("lat", {}, "y")
    (True, True)
    >>> says_degrees("lat", {"units": "m"}, "y"), says_degrees("y", {}, "y")
    (False, False)
    """
    units = str(attrs.get("units", "")).lower().replace(" ", "")
    north = axis == "y"
    if units in (_DEGREES_NORTH if north else _DEGREES_EAST):
        return True
    if attrs.get("standard_name") in (("latitude",) if north else ("longitude",)):
        return True
    return not units and str(name).lower() in (_LAT_NAMES if north else _LON_NAMES)


# ------------------------------------------------------------------- geometry
def _model(crs: Any, degrees: bool, what: str) -> tuple[str, Any]:
    """``("geographic", (geod, radians per unit))`` or ``("projected", metres per unit)``."""
    crs = as_crs(crs)
    if crs is None:
        if degrees:
            from pyproj import Geod

            return "geographic", (Geod(ellps="WGS84"), np.pi / 180)
        raise UnknownGeometryError(
            f"{what} need the grid's coordinate reference system: the coordinates have none and do "
            "not say they are degrees (CF units degrees_north/degrees_east or dims named lat/lon); "
            "pass crs= (e.g. crs='EPSG:4326' for lon/lat degrees, or the projection's EPSG code)"
        )
    if crs.is_geographic:
        factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else np.pi / 180
        return "geographic", (crs.get_geod(), factor)
    if crs.is_projected or crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        factors = [a.unit_conversion_factor for a in crs.axis_info[:2]] or [1.0]
        if len(set(factors)) != 1:
            raise ValueError(f"{crs.name}: axes in different units {factors} are not supported")
        return "projected", factors[0]
    raise ValueError(f"{what}: the CRS {crs.name!r} is neither geographic nor projected")


def cell_edges(centres: Any) -> np.ndarray:
    """Cell edges from 1-D centres: midpoints, extrapolated by half a cell at both ends.

    Examples
    --------
    >>> cell_edges([0.5, 1.5, 3.5])
    array([0. , 1. , 2.5, 4.5])
    """
    centres = np.asarray(centres, np.float64)
    if centres.size == 1:
        raise ValueError("cannot infer cell edges from a single coordinate value")
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def cell_areas(y: Any, x: Any, crs: Any = None, *, degrees: bool = False) -> np.ndarray:
    """Area in m² of every cell of the grid with cell centres ``y`` (rows) and ``x`` (columns).

    Geographic CRS (or ``degrees`` without one: WGS84): the exact area of each
    cell on the ellipsoid, ``Δλ b²/2 [q(φ)]`` between the cell's edge latitudes,
    ``q(φ) = sin φ / (1 − e² sin² φ) + artanh(e sin φ) / e``. Projected CRS:
    ``|Δx Δy|`` in metres.

    Raises
    ------
    UnknownGeometryError
        No CRS and ``degrees`` is False.

    Examples
    --------
    >>> import pyproj
    >>> area = cell_areas(np.arange(89.5, -90, -1), np.arange(0.5, 360), "EPSG:4326")
    >>> hemisphere, _ = pyproj.Geod(ellps="WGS84").polygon_area_perimeter([0, 90, 180, 270], [0] * 4)
    >>> round(float(area.sum() / (2 * hemisphere)), 12)
    1.0
    >>> cell_areas([0.0, 1.0], [0.0, 1.0], "EPSG:2229")  # US survey feet: 1 ft² = 0.0929 m²
    array([[0.09290341, 0.09290341],
           [0.09290341, 0.09290341]])
    """
    kind, params = _model(crs, degrees, "cell areas")
    if kind == "projected":
        dy = np.abs(np.diff(cell_edges(y))) * params
        dx = np.abs(np.diff(cell_edges(x))) * params
        return dy[:, None] * dx[None, :]
    geod, to_radians = params
    lat = np.clip(cell_edges(y) * to_radians, -np.pi / 2, np.pi / 2)
    band = _band_area(lat, geod.a, geod.b, geod.es)
    dlon = np.abs(np.diff(cell_edges(x))) * to_radians
    return np.abs(np.diff(band))[:, None] * dlon[None, :]


def _band_area(lat: np.ndarray, a: float, b: float, es: float) -> np.ndarray:
    """Area per radian of longitude between the equator and each latitude (radians)."""
    s = np.sin(lat)
    if es < 1e-15:
        return a * a * s
    e = np.sqrt(es)
    return b * b / 2 * (s / (1 - es * s * s) + np.arctanh(e * s) / e)


def step_lengths(
    y: Any,
    x: Any,
    rows: Any,
    cols: Any,
    to_rows: Any,
    to_cols: Any,
    crs: Any = None,
    *,
    degrees: bool = False,
) -> np.ndarray:
    """Length in metres of the steps between cell centres ``(rows, cols)`` and ``(to_rows, to_cols)``.

    Geodesic on the CRS's ellipsoid (WGS84 for ``degrees`` without a CRS) for
    geographic grids, Euclidean in metres for projected ones.

    Examples
    --------
    >>> step_lengths([1.0, 0.0], [0.0, 1.0], [0], [0], [1], [1], "EPSG:4326").round()
    array([156900.])
    """
    kind, params = _model(crs, degrees, "lengths in metres")
    y, x = np.asarray(y, np.float64), np.asarray(x, np.float64)
    y1, x1, y2, x2 = y[rows], x[cols], y[to_rows], x[to_cols]
    if kind == "projected":
        return np.hypot(y2 - y1, x2 - x1) * params
    geod, to_radians = params
    deg = to_radians * 180 / np.pi
    return np.asarray(geod.inv(x1 * deg, y1 * deg, x2 * deg, y2 * deg)[2], np.float64)


def transform_points(points: np.ndarray, source: Any, target: Any) -> np.ndarray:
    """``(n, 2)`` points ``(y, x)`` from CRS ``source`` to ``target`` (``x``: easting or longitude)."""
    from pyproj import Transformer

    transformer = Transformer.from_crs(as_crs(source), as_crs(target), always_xy=True)
    x, y = transformer.transform(points[:, 1], points[:, 0])
    return np.stack([np.asarray(y, np.float64), np.asarray(x, np.float64)], axis=1)


# ---------------------------------------------------------------------- units
def registry() -> Any:
    """The pint registry parsing CF unit strings (``cf_xarray.units.units``)."""
    import warnings

    with warnings.catch_warnings():  # cf_xarray warns when matplotlib is missing
        warnings.simplefilter("ignore", UserWarning)
        from cf_xarray.units import units
    return units


def parse_length(value: Any, what: str = "snap") -> tuple[float, bool]:
    """``(magnitude, in_metres)`` of a length given in cells (a number) or with a unit (``"5 km"``).

    Examples
    --------
    >>> parse_length(2), parse_length("5 km"), parse_length("300 ft")[0].__round__(2)
    ((2.0, False), (5000.0, True), 91.44)
    >>> parse_length(-1)
    Traceback (most recent call last):
    ...
    ValueError: snap must be a finite length >= 0 (cells, or a string such as '5 km'), got -1
    """
    message = f"{what} must be a finite length >= 0 (cells, or a string such as '5 km'), got {value!r}"
    in_metres = isinstance(value, str) or hasattr(value, "units")
    if in_metres:
        try:
            ureg = registry()
            quantity = ureg.Quantity(value) if isinstance(value, str) else value
            magnitude = float(quantity.to("m").magnitude)
        except Exception:
            raise ValueError(message) from None
    else:
        try:
            magnitude = float(value)
        except (TypeError, ValueError):
            raise ValueError(message) from None
    if not np.isfinite(magnitude) or magnitude < 0:
        raise ValueError(message)
    return magnitude, in_metres


def crs_to_cf(crs: Any) -> dict[str, Any]:
    """Attributes of a CF grid-mapping variable for ``crs`` (with ``crs_wkt`` and GDAL's ``spatial_ref``)."""
    crs = as_crs(crs)
    attrs = {k: v for k, v in crs.to_cf().items() if v is not None}
    wkt = crs.to_wkt()
    return attrs | {"crs_wkt": wkt, "spatial_ref": wkt}


def names_say_degrees(dims: Iterable[Hashable]) -> bool:
    """Whether the two grid dims are named latitude and longitude (in either order)."""
    names = {str(d).lower() for d in dims}
    return len(names) == 2 and bool(names & set(_LAT_NAMES)) and bool(names & set(_LON_NAMES))


class NetworkGrid(NamedTuple):
    """A raster network's grid: ``y``/``x`` cell centres, CRS, degrees flag and storage order.

    ``transposed`` grids store ``x`` along the first axis (dims ``(x, y)``); the
    methods take and give storage order, so callers index rows and columns as stored.
    """

    y: np.ndarray
    x: np.ndarray
    crs: Any
    degrees: bool
    transposed: bool

    @property
    def implied_crs(self) -> Any:
        """The CRS, or WGS84 geographic for coordinates in degrees without one (None: unknown)."""
        return self.crs if self.crs is not None or not self.degrees else as_crs("EPSG:4326")

    def cell_areas(self) -> np.ndarray:
        """:func:`cell_areas` in the grid's storage order."""
        areas = cell_areas(self.y, self.x, self.crs, degrees=self.degrees)
        return areas.T if self.transposed else areas

    def step_lengths(self, rows: Any, cols: Any, to_rows: Any, to_cols: Any) -> np.ndarray:
        """:func:`step_lengths` between cells given by their stored (first, second) axis indices."""
        if self.transposed:
            rows, cols, to_rows, to_cols = cols, rows, to_cols, to_rows
        return step_lengths(self.y, self.x, rows, cols, to_rows, to_cols, self.crs, degrees=self.degrees)


def network_grid(network: Any, crs: Any = None, latlon: bool | None = None) -> NetworkGrid | None:
    """The :class:`NetworkGrid` of a raster network, or None without coordinates.

    ``crs`` (default: ``network.crs``) decides; without one, ``latlon`` (default:
    the coordinates' CF units when the network was built, or dims named lat/lon)
    says whether the coordinates are degrees. An x-first network (dims ``(x, y)``,
    see :func:`~xhydro_accessor.layout.layout_of_network`) gives its ``y`` from the
    second dim. With neither ``crs`` nor ``latlon`` the grid is computed once per network.
    """
    if crs is None and latlon is None and hasattr(network, "cached"):
        return network.cached(("geometry", "network_grid"), lambda: _network_grid(network, None, None))
    return _network_grid(network, crs, latlon)


def _network_grid(network: Any, crs: Any, latlon: bool | None) -> NetworkGrid | None:
    from .layout import layout_of_network

    dims: tuple = network.dims or ()
    coords = network.coords
    if len(network.shape) != 2 or len(dims) != 2 or not all(d in coords for d in dims):
        return None
    crs = as_crs(crs) if crs is not None else network.crs
    if latlon is None:
        latlon = network.degrees or names_say_degrees(dims)
    transposed = layout_of_network(network).transposed
    y, x = (coords[dims[1]], coords[dims[0]]) if transposed else (coords[dims[0]], coords[dims[1]])
    return NetworkGrid(np.asarray(y), np.asarray(x), crs, bool(latlon), transposed)
