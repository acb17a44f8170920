"""Limits and switches for reading one document, passed down from the caller (CLI, worker)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReadOptions:
    use_embedded: bool = True          # use structured XML (Factur-X, UBL, OFD invoice XML) when present
    max_bytes: int = 100 * 1024 * 1024  # the file as uploaded
    max_pages: int = 300               # pages read per document; more is `too_large`
    max_pixels: int = 80_000_000       # per decoded image (decompression bombs)
    max_unpacked_bytes: int = 256 * 1024 * 1024  # zip containers such as OFD; one PDF stream, decompressed
    max_pdf_inflated_bytes: int = 1024 * 1024 * 1024  # all of a PDF's streams together, decompressed
    max_render_pixels: int = 40_000_000  # one rasterised PDF page (the scale shrinks to fit)
    max_total_pixels: int = 400_000_000  # every frame of one image file together
    ocr_dpi: int = 200                 # rasterising PDF pages without a usable text layer
    timeout_s: float = 300.0           # whole document, enforced by the caller's runner
    model: str | None = None           # a layout model folder voting with the rules (extractors.layout_model); None: rules alone
