"""GeoTIFF rasters through the optional dependency ``rioxarray``."""

from __future__ import annotations

import struct
import warnings
import zlib
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
    check_tiff_structure(path)
    with warnings.catch_warnings():
        # rioxarray multiplies affine transforms with `*` (deprecated in affine 3)
        warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
        return _open_geotiff(path, rioxarray)


#: The integer tags checked, by number, and the integer TIFF types (BYTE, SHORT, LONG, LONG8).
_TAGS = {256: "ImageWidth", 257: "ImageLength", 258: "BitsPerSample", 259: "Compression",
         273: "StripOffsets", 277: "SamplesPerPixel", 278: "RowsPerStrip", 279: "StripByteCounts",
         284: "PlanarConfiguration", 322: "TileWidth", 323: "TileLength", 324: "TileOffsets",
         325: "TileByteCounts"}  # fmt: skip
_TYPES = {1: "B", 3: "H", 4: "I", 16: "Q"}


def check_tiff_structure(path: Path) -> None:
    """Raise ``ValueError`` naming ``path`` and a tag when a TIFF's first image cannot be
    what its header says.

    GDAL trusts ImageWidth and ImageLength: one flipped byte there gives a silently smaller
    grid, or a buffer far larger than the file. Checked here with ``struct`` only (classic
    TIFF and BigTIFF, either byte order): the strips (or tiles) are as many as the image
    needs, each lies within the file, and each holds the bytes its rows need -- exactly when
    uncompressed; deflate's first and last are inflated (capped) and measured (other
    compressions: counts and bounds only; sparse blocks, byte count 0, are skipped).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "bad.tif"
    >>> _ = path.write_bytes(struct.pack("<2sHIH", b"II", 42, 8, 0))  # no tags at all
    >>> check_tiff_structure(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: ...bad.tif: TIFF tag ImageWidth is missing
    """
    size = path.stat().st_size

    def fail(message: str) -> ValueError:
        return ValueError(f"{path}: {message}")

    with path.open("rb") as file:

        def read(offset: int, count: int, what: str) -> bytes:
            if offset + count > size:
                raise fail(f"TIFF {what} lies beyond the end of the file ({size} bytes)")
            file.seek(offset)
            return file.read(count)

        head = read(0, 8, "header")
        order = {b"II": "<", b"MM": ">"}.get(head[:2], "")
        magic = struct.unpack(order + "H", head[2:4])[0] if order else 0
        if magic not in (42, 43):
            raise fail(f"not a TIFF (header {head[:4]!r})")
        big = magic == 43  # BigTIFF: 8-byte counts and offsets, 20-byte entries
        word, size_n = ("Q", 8) if big else ("I", 2)
        ifd = struct.unpack(order + word, read(8, 8, "header") if big else head[4:])[0]
        n_entries = struct.unpack(order + ("Q" if big else "H"), read(ifd, size_n, "IFD"))[0]
        layout = struct.Struct(order + ("HHQ8s" if big else "HHI4s"))
        tags: dict[str, list[int]] = {}
        for tag, kind, n, value in layout.iter_unpack(read(ifd + size_n, n_entries * layout.size, "IFD")):
            if tag not in _TAGS:
                continue
            if kind not in _TYPES:
                raise fail(f"TIFF tag {_TAGS[tag]} has type {kind}, not an integer type")
            item = struct.Struct(order + _TYPES[kind])
            if n * item.size > len(value):  # the values lie elsewhere: value is their offset
                value = read(struct.unpack(order + word, value)[0], n * item.size, f"tag {_TAGS[tag]}")
            tags[_TAGS[tag]] = [v for (v,) in item.iter_unpack(value[: n * item.size])]

        def one(name: str, default: int = 0) -> int:
            values = tags.get(name, [default] if default else [])
            if not values or min(values) < 1:
                raise fail(f"TIFF tag {name} is " + (f"{values[:4]}" if values else "missing"))
            return max(values)

        width, length, samples = one("ImageWidth"), one("ImageLength"), one("SamplesPerPixel", 1)
        planes = samples if one("PlanarConfiguration", 1) == 2 else 1
        cell_bits = one("BitsPerSample", 1) * samples // planes  # in one strip or tile
        kind = "Tile" if "TileWidth" in tags else "Strip"
        offsets, counts = tags.get(kind + "Offsets", []), tags.get(kind + "ByteCounts", [])
        if kind == "Tile":  # every tile is whole, the last ones padded
            tile_width, rows_last = one("TileWidth"), one("TileLength")
            rows_full, row_bytes = rows_last, -(-tile_width * cell_bits // 8)
            chunks = -(-width // tile_width) * -(-length // rows_full)
            said = (
                f"tags ImageWidth/ImageLength say {width}×{length} cells: tiles of {tile_width}×{rows_full}"
            )
        else:  # the last strip holds the rows left
            rows_full, row_bytes = min(one("RowsPerStrip", 2**32 - 1), length), -(-width * cell_bits // 8)
            chunks = -(-length // rows_full)
            rows_last = length - (chunks - 1) * rows_full
            said = f"tag ImageLength says {length} rows: strips of {rows_full} rows"
        if len(offsets) != chunks * planes or len(counts) != len(offsets):
            raise fail(
                f"TIFF {said}, {chunks * planes} in all, but {kind}Offsets and {kind}ByteCounts "
                f"hold {len(offsets)} and {len(counts)}"
            )
        needed = ([rows_full * row_bytes] * (chunks - 1) + [rows_last * row_bytes]) * planes
        shape = f"{width}×{length} cells of {cell_bits} bits (ImageWidth, ImageLength, BitsPerSample)"
        compression = one("Compression", 1)
        for i, (offset, count, need) in enumerate(zip(offsets, counts, needed, strict=True)):
            if count == 0:  # a sparse block, never written: GDAL reads it as nodata
                continue
            if offset + count > size:
                raise fail(f"TIFF tag {kind}Offsets puts {kind.lower()} {i} beyond the end of the file")
            if compression == 1 and count != need:
                raise fail(
                    f"TIFF tag {kind}ByteCounts: {kind.lower()} {i} has {count} bytes, {shape} need {need}"
                )
        for i in sorted({0, chunks - 1}) if compression in (8, 32946) else []:  # deflate: inflate, capped
            if counts[i] == 0:
                continue
            try:
                got = len(zlib.decompressobj().decompress(read(offsets[i], counts[i], kind), needed[i] + 1))
            except zlib.error as err:
                raise fail(f"TIFF {kind.lower()} {i} is not deflate data ({err})") from err
            if got != needed[i]:
                got_text = f"over {needed[i]}" if got > needed[i] else got
                raise fail(f"TIFF {kind.lower()} {i} inflates to {got_text} bytes, {shape} need {needed[i]}")


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
