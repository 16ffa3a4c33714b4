"""GeoTIFF rasters through the optional dependency ``rioxarray``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._common import as_nodata, make_dataarray

# --------------------------------------------------------------------------- #
# GeoTIFF (.tif) through rioxarray
# --------------------------------------------------------------------------- #


def read_geotiff(path: Path) -> xr.DataArray:
    try:
        import rioxarray
    except ImportError as err:
        raise ImportError(
            f"reading the GeoTIFF {path} needs rioxarray (and rasterio): pip install rioxarray"
        ) from err
    with warnings.catch_warnings():
        # rioxarray multiplies affine transforms with `*` (deprecated in affine 3)
        warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
        return _open_geotiff(path, rioxarray)


def _open_geotiff(path: Path, rioxarray: Any) -> xr.DataArray:
    try:
        opened = rioxarray.open_rasterio(path, masked=False, cache=False)
    except Exception as err:  # rasterio raises its own RasterioIOError etc.
        raise ValueError(f"{path}: cannot read GeoTIFF ({err})") from err
    if not isinstance(opened, xr.DataArray):
        raise ValueError(f"{path}: GeoTIFF with subdatasets is not supported")  # noqa: TRY004
    try:
        if "band" in opened.dims:
            if opened.sizes["band"] != 1:
                raise ValueError(
                    f"{path}: {opened.sizes['band']} bands; only single-band rasters are supported"
                )
            opened = opened.isel(band=0)
        transform = opened.rio.transform()
        if transform.b != 0 or transform.d != 0:
            raise ValueError(f"{path}: rotated GeoTIFF cannot be given 1-D coordinates")
        nodata = opened.rio.nodata
        crs = opened.rio.crs
        try:
            values = np.asarray(opened.values)
        except Exception as err:
            raise ValueError(f"{path}: cannot read GeoTIFF cells ({err})") from err
        y = np.asarray(opened["y"].values)
        x = np.asarray(opened["x"].values)
    finally:
        opened.close()
    attrs: dict[str, Any] = {}
    if nodata is not None:
        attrs["nodata"] = as_nodata(nodata, values.dtype)
    if crs is not None:
        attrs["crs_wkt"] = crs.to_wkt()
    return make_dataarray(values, y, x, attrs)
