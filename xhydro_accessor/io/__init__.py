"""Readers for flow-direction rasters.

:func:`read_flow_directions` opens a flow-direction raster as an
:class:`xarray.DataArray` with dims ``("y", "x")`` and 1-D cell-centre
coordinates. The formats are read by code in this package, one module each (no GDAL needed),
except GeoTIFF, which goes through the optional dependency ``rioxarray``:

- ``.map``: PCRaster CSF raster (256-byte header, raw row-major cells);
- ``.nc``, ``.nc4``: netCDF3 (scipy engine) or netCDF4 (netCDF4 or h5netcdf);
- ``.bin``, ``.bil``: raw band-interleaved raster with an ESRI BIL or ENVI
  ``.hdr`` header beside it;
- ``.asc``: ESRI ASCII grid (header lines, then rows of numbers);
- ``.tif``, ``.tiff``: GeoTIFF (requires ``rioxarray``).

The codes are returned as stored: the reader neither validates nor translates
them. ``attrs["nodata"]`` holds the missing value the file declares (if any),
``attrs["convention"]`` is ``"ldd"`` when the format says so (a CSF map with
the LDD value scale; a netCDF variable's own attributes, including an explicit
``convention``, are kept), and ``attrs["source_file"]`` is the absolute path.
"""

from .networks import detect_convention, network_to_dataset, open_network, write_network
from .read import read_flow_directions

__all__ = ["detect_convention", "network_to_dataset", "open_network", "read_flow_directions", "write_network"]
