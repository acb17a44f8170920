"""Decode an uploaded raster image (JPEG, PNG, TIFF incl. multi-page, WebP, BMP) into RGB pages.

Callers pass the raw bytes and their ReadOptions and get one upright RGB `PIL.Image.Image`
per page: EXIF orientation is applied, transparency is flattened onto white, and
`image.info["dpi"]` is kept when the file had one.  Only TIFF has several pages; the
other formats give their first frame (an animated WebP/PNG or a camera MPO is one page).
Use `image_points_per_pixel(image)` for the `points_per_pixel` of `extractors.ocr.ocr_page`.

Raised (see extractors/errors.py): EmptyFile, UnsupportedType (not one of the five formats),
TooLarge (width*height above options.max_pixels, checked from the header BEFORE any pixel is
decoded, more frames than options.max_pages, or all frames together above options.max_total_pixels),
CorruptFile (truncated or damaged data).  `iter_images` decodes one frame at a time (a TIFF of hundreds of
pages never sits in memory whole).  Nothing is written to disk.
"""

from __future__ import annotations

import io
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from extractors.errors import CorruptFile, EmptyFile, TooLarge, UnsupportedType
from extractors.options import ReadOptions

FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP")  # Pillow plugins allowed; JPEG also opens MPO
MULTI_PAGE_FORMATS = ("TIFF",)
DEFAULT_DPI = 150.0  # when the file states none (or a JFIF aspect ratio such as 1x1)
_SANE_DPI = (50.0, 2400.0)

# Pillow's own decompression-bomb guard, set deliberately rather than left at its default: it warns above
# this many pixels and raises DecompressionBombError (-> TooLarge) above twice as many, in every caller in the
# process (the review screen opens images too); our own header check (options.max_pixels) comes first.
Image.MAX_IMAGE_PIXELS = ReadOptions().max_pixels

_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"BM", b"RIFF")
# Errors Pillow raises on damaged data while reading headers or decoding pixels.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError,
                  TypeError, ZeroDivisionError, MemoryError)


def load_images(data: bytes, options: ReadOptions) -> list[Image.Image]:
    """Every page of the image file as an upright RGB image (see the module docstring)."""
    return list(iter_images(data, options))


def iter_images(data: bytes, options: ReadOptions) -> Iterator[Image.Image]:
    """As `load_images`, one page at a time; every limit is checked (from the headers) before the first page
    is decoded."""
    if not data:
        raise EmptyFile("The file is empty.")
    image = _open(data)
    frames = _frame_count(image)
    if frames > options.max_pages:
        raise TooLarge(f"The image has {frames} pages; at most {options.max_pages} can be read.",
                       detail=f"frames={frames} max_pages={options.max_pages}")
    _check_total_pixels(image, frames, options)
    return (_decode_frame(image, i, options) for i in range(frames))


def _check_total_pixels(image: Image.Image, frames: int, options: ReadOptions) -> None:
    total = 0
    for index in range(frames):
        try:
            image.seek(index)
        except _DECODE_ERRORS as exc:
            raise CorruptFile("The image file is damaged and cannot be read.", detail=f"frame {index}: {exc}") from exc
        _check_pixels(image, options)
        total += image.size[0] * image.size[1]
        if total > options.max_total_pixels:
            raise TooLarge(f"The image's {frames} pages are too large to read together.",
                           detail=f"pixels>{total} max_total_pixels={options.max_total_pixels}")


def image_points_per_pixel(image: Image.Image) -> float:
    """72 / dpi, with dpi from `image.info["dpi"]` when plausible, else DEFAULT_DPI (150)."""
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    if not _SANE_DPI[0] <= value <= _SANE_DPI[1]:
        value = DEFAULT_DPI
    return 72.0 / value


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise TooLarge("The image has too many pixels to be read safely.", detail=str(exc)) from exc
    except UnidentifiedImageError as exc:
        if data.startswith(_MAGIC):
            raise CorruptFile("The image file is damaged and cannot be read.", detail=str(exc)) from exc
        raise UnsupportedType("This file is not a JPEG, PNG, TIFF, WebP or BMP image.",
                              detail=str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise CorruptFile("The image file is damaged and cannot be read.", detail=str(exc)) from exc


def _frame_count(image: Image.Image) -> int:
    if image.format not in MULTI_PAGE_FORMATS:
        return 1
    try:
        return int(getattr(image, "n_frames", 1))
    except _DECODE_ERRORS as exc:
        raise CorruptFile("The image file is damaged and cannot be read.", detail=str(exc)) from exc


def _check_pixels(image: Image.Image, options: ReadOptions) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise CorruptFile("The image file is damaged and cannot be read.", detail=f"size={image.size}")
    if width * height > options.max_pixels:
        raise TooLarge(f"The image is too large to read ({width} x {height} pixels).",
                       detail=f"pixels={width * height} max_pixels={options.max_pixels}")


def _decode_frame(image: Image.Image, index: int, options: ReadOptions) -> Image.Image:
    try:
        image.seek(index)
        _check_pixels(image, options)  # header only: nothing decoded yet
        image.load()
        dpi = image.info.get("dpi")
        upright = ImageOps.exif_transpose(image) or image
        rgb = _to_rgb(upright)
    except Image.DecompressionBombError as exc:
        raise TooLarge("The image has too many pixels to be read safely.", detail=str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise CorruptFile("The image file is damaged or truncated and cannot be read.",
                          detail=f"frame {index}: {exc}") from exc
    if dpi:
        rgb.info["dpi"] = dpi
    return rgb


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy; alpha flattened onto white, 16/32-bit greyscale scaled to 8 bits."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = _scale_to_l(image)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _scale_to_l(image: Image.Image) -> Image.Image:
    arr = np.asarray(image, dtype=np.float64)
    lo, hi = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
    scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return Image.fromarray(scaled.astype(np.uint8))
