"""Page images for the document screen, and each page's size in points (the unit of the extraction's boxes).

PDF pages are rendered with pypdfium2; images (scans, photos) are shown as received (turned upright as their EXIF
orientation says, as the reader reads them; the OCR reader maps its boxes back onto this page, see
extractors.layout.PageFrame), converted to PNG, their size in points from their dpi (extractors.images.image_points_per_pixel, as the reader measured them); OFD pages
are drawn by review_ui.ofd_render, their size the PhysicalBox in points (mm x 72/25.4, as extractors.ofd gives
the boxes). Anything else (XML e-invoices, text), and an OFD that cannot be drawn (logged as a warning), gets a
blank page big enough for every box with the read text written in them, the boxes drawn over it by the screen.
Rendered pages are kept in a small in-memory cache keyed by (sha256, page index, kind).

PDFium is not thread-safe (two threads in it at once crash the process, and the pipeline's reader threads use it
too), so every PDFium call of this screen runs in one separate worker process (`_pdfium`): a crash there costs
one page image, never the service.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

from extractors.images import image_points_per_pixel
from extractors.options import ReadOptions
from review_ui.ofd_render import font_at, is_ofd, ofd_page_sizes, render_ofd_page

RENDER_SCALE = 2.0          # pixels per point for PDF and OFD pages: sharp at 200 % zoom
MAX_PAGE_PIXELS = 40_000_000   # one page image at most: a page thousands of points wide is drawn coarser
A4 = (595.0, 842.0)
log = logging.getLogger("inbound.review")
_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_CACHE_SIZE = 64
_LOCK = threading.Lock()
_POOL: ProcessPoolExecutor | None = None
_SIZES: OrderedDict[str, list] = OrderedDict()
PDFIUM_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class PageSize:
    width: float           # points
    height: float          # points


def kind_of(data: bytes, mime: str | None) -> str:
    """'pdf', 'image', 'ofd' (a zip with OFD.xml) or 'blank' (nothing this screen can draw)."""
    if data[:5] == b"%PDF-":
        return "pdf"
    if is_ofd(data):
        return "ofd"
    try:
        Image.open(io.BytesIO(data)).verify()
        return "image"
    except Exception:          # Pillow raises many kinds for "not an image"; all mean the same here
        return "blank"


def page_sizes(data: bytes, kind: str, extraction: dict | None, sha256: str = "") -> list[PageSize]:
    if kind == "pdf":
        try:
            return [PageSize(w, h) for w, h in _measured(sha256, lambda: _pdfium(_pdf_sizes, data))]
        except Exception as exc:       # a corrupt or hostile PDF: the clerk still gets the screen, blank pages
            log.warning("PDF page sizes not read, blank pages instead: %r", exc)
            return _blank_sizes(extraction)
    if kind == "ofd":
        try:
            return [PageSize(w, h) for w, h in _measured(sha256, lambda: ofd_page_sizes(data))]
        except Exception as exc:       # a stranger's file: whatever breaks, the clerk still gets the blank pages
            log.warning("OFD page sizes not read, blank pages instead: %r", exc)
            return _blank_sizes(extraction)
    if kind == "image":
        image = Image.open(io.BytesIO(data))
        scale, sizes = image_points_per_pixel(image), []
        for index in range(min(getattr(image, "n_frames", 1), ReadOptions().max_pages)):   # a 10,000-page TIFF
            image.seek(index)
            upright = _upright(image)
            sizes.append(PageSize(upright.width * scale, upright.height * scale))
        return sizes
    return _blank_sizes(extraction)


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says, as the reader turns it (extractors.images) before reading:
    the extraction's boxes are on that upright page."""
    return ImageOps.exif_transpose(image) or image


def _measured(sha256: str, measure) -> list:
    """`measure()` (page sizes in points), kept per sha256 so each page image does not open the file again."""
    with _LOCK:
        known = _SIZES.get(sha256) if sha256 else None
    if known is None:
        known = measure()
        if sha256:
            with _LOCK:
                _SIZES[sha256] = known
                while len(_SIZES) > _CACHE_SIZE:
                    _SIZES.popitem(last=False)
    return known


def _blank_sizes(extraction: dict | None) -> list[PageSize]:
    """A4, or larger where boxes reach further; as many pages as the extraction names."""
    extents: dict[int, list[float]] = {}
    for box, page in _boxes(extraction or {}):
        right, bottom = extents.setdefault(page, [A4[0], A4[1]])
        extents[page] = [max(right, box[2] + 20), max(bottom, box[3] + 20)]
    count = max([int((extraction or {}).get("pages") or 1), *extents.keys()])
    return [PageSize(*extents.get(n, A4)) for n in range(1, count + 1)]


def _boxes(extraction: dict):
    for box, page, _ in _texts(extraction):
        yield box, page


def _texts(extraction: dict):
    """(bbox, page, printed text) of every field and line cell that has a box."""
    cells = list((extraction.get("fields") or {}).values())
    cells += [cell for line in extraction.get("lines") or () for cell in line.values()]
    for cell in cells:
        if isinstance(cell, dict) and cell.get("bbox"):
            yield cell["bbox"], int(cell.get("page") or 1), str(cell.get("raw") or cell.get("value") or "")


def page_png(sha256: str, data: bytes, kind: str, index: int, size: PageSize, extraction: dict | None = None) -> bytes:
    """Page `index` (0-based) as PNG bytes; a blank page shows the read text of `extraction` in its boxes."""
    key = (sha256, index, kind)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    png = _render(data, kind, index, size, extraction)
    with _LOCK:
        _CACHE[key] = png
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return png


def _render(data: bytes, kind: str, index: int, size: PageSize, extraction: dict | None) -> bytes:
    if kind == "pdf":
        try:
            return _pdfium(_pdf_png, data, index)
        except Exception as exc:       # as page_sizes: a page that cannot be drawn is shown blank
            log.warning("PDF page %d not drawn, a blank page instead: %r", index + 1, exc)
            kind = "blank"
    if kind == "image":
        image = Image.open(io.BytesIO(data))
        image.seek(index)
        if image.width * image.height > MAX_PAGE_PIXELS:      # a JPEG can be decoded at a reduced size
            image.draft("RGB", (image.width // 8 or 1, image.height // 8 or 1))
        if image.width * image.height > MAX_PAGE_PIXELS:      # anything else that big: the blank page
            image = _blank_with_text(size, index + 1, extraction or {})
        else:
            image = _upright(image).convert("RGB")
    elif kind == "ofd":
        image = _ofd_page(data, index, size, extraction or {})
    else:
        image = _blank_with_text(size, index + 1, extraction or {})
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _ofd_page(data: bytes, index: int, size: PageSize, extraction: dict) -> Image.Image:
    """The drawn OFD page; the blank page with the read text when drawing fails."""
    try:
        return render_ofd_page(data, index, px_per_pt=RENDER_SCALE)
    except Exception as exc:           # a stranger's file through a renderer: any failure shows the blank page
        log.warning("OFD page %d not drawn, blank page instead: %r", index + 1, exc)
        return _blank_with_text(size, index + 1, extraction)


def _blank_with_text(size: PageSize, page: int, extraction: dict) -> Image.Image:
    """A white page (RENDER_SCALE pixels per point, less on a huge page) with each read value written where it
    was read."""
    area = max(1.0, size.width * size.height)
    scale = min(RENDER_SCALE, (MAX_PAGE_PIXELS / area) ** 0.5 * 0.999)
    image = Image.new("RGB", (int(size.width * scale), int(size.height * scale)), "white")
    draw = ImageDraw.Draw(image)
    for (x0, y0, x1, y1), on_page, text in _texts(extraction):
        if on_page != page or not text:
            continue
        height = max(6.0, (y1 - y0) * scale * 0.8)
        draw.text((x0 * scale, y0 * scale), text.replace("\n", " "), fill="#333333", font=font_at(int(height)))
    return image


def _pdfium(function, *args):
    """`function(*args)` in the PDFium worker process (started on first use, restarted after a crash)."""
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        pool = _POOL
    try:
        return pool.submit(function, *args).result(timeout=PDFIUM_TIMEOUT_S)
    except BrokenProcessPool:
        with _LOCK:
            if _POOL is pool:
                _POOL = None
        raise


_STREAMS_CHECKED: OrderedDict[str, bool] = OrderedDict()     # in the PDFium worker: files already checked


def _check_streams(data: bytes) -> None:
    """A deflate bomb is refused (TooLarge) before PDFium unpacks it; once per file in the worker."""
    import hashlib
    from extractors.pdf_text import check_streams
    key = hashlib.sha256(data).hexdigest()
    if key in _STREAMS_CHECKED:
        return
    check_streams(data, ReadOptions())
    _STREAMS_CHECKED[key] = True
    while len(_STREAMS_CHECKED) > _CACHE_SIZE:
        _STREAMS_CHECKED.popitem(last=False)


def _pdf_sizes(data: bytes) -> list[tuple[float, float]]:
    import pypdfium2 as pdfium
    _check_streams(data)
    pdf = pdfium.PdfDocument(data)
    try:
        return [tuple(pdf[i].get_size()) for i in range(len(pdf))]
    finally:
        pdf.close()


def _pdf_png(data: bytes, index: int) -> bytes:
    import pypdfium2 as pdfium
    from extractors.pdf_text import render_scale
    _check_streams(data)
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[index]
        image = page.render(scale=render_scale(*page.get_size(), RENDER_SCALE, MAX_PAGE_PIXELS)).to_pil()
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
