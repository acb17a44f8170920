"""Bytes in, a Layout (and any structured invoice XML the file carries) out.

`read_document` sniffs the kind and picks the reader: the PDF text layer page by page (pages without a
usable text layer are rasterised and OCRed), OCR for images, the OFD reader, plain text as a monospace
layout, or no layout at all for a bare e-invoice XML.  OCR is imported lazily so that text-layer work
never loads the models.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from extractors.errors import InputError, TooLarge
from extractors.layout import BBox, Layout, Page, PageFrame, Word, group_words_into_lines
from extractors.options import ReadOptions
from extractors.sniff import Kind, sniff


PDFIUM_LOCK = threading.RLock()   # held around every use of PDFium in the reading stage


@dataclass(frozen=True, slots=True)
class ReadResult:
    kind: Kind
    layout: Layout
    embedded_xml: bytes | None  # the issuer's structured invoice (Factur-X, UBL, OFD invoice XML)


def read_document(data: bytes, options: ReadOptions) -> ReadResult:
    if len(data) > options.max_bytes:
        raise TooLarge(f"The file is {len(data) // (1024 * 1024)} MB, more than the limit of "
                       f"{options.max_bytes // (1024 * 1024)} MB.")
    kind = sniff(data)
    if kind is Kind.PDF:
        with PDFIUM_LOCK:   # PDFium is not thread-safe: one PDF at a time per process
            return ReadResult(kind, read_pdf_layout(data, options), _pdf_embedded(data, options))
    if kind is Kind.IMAGE:
        return ReadResult(kind, read_image_layout(data, options), None)
    if kind is Kind.OFD:
        from extractors.ofd import ofd_attachments, read_ofd
        layout = read_ofd(data, options)
        xml = _first_invoice_xml(ofd_attachments(data, options)) if options.use_embedded else None
        return ReadResult(kind, _with_ofd_qr_codes(data, layout, options), xml)
    if kind is Kind.XML:
        return ReadResult(kind, Layout(pages=(), source="xml"), data)
    return ReadResult(kind, read_text_layout(data), None)


def _with_ofd_qr_codes(data: bytes, layout: Layout, options: ReadOptions) -> Layout:
    """An OFD invoice's QR code, read from the image drawn on its first page (no rendering needed)."""
    if not layout.pages or "发票" not in layout.pages[0].text():
        return layout
    from extractors.images import load_images
    from extractors.ofd import page_images
    from extractors.cn.qr import decode_qr_codes
    codes = []
    for image_bytes, box in page_images(data, options, page=1):
        try:
            images = load_images(image_bytes, options)
        except InputError:
            continue            # an image the page draws but nobody can read: not the QR code
        codes += [(1, code.text, box) for image in images[:1] for code in decode_qr_codes(image)]
    return replace(layout, meta={**layout.meta, "qr_codes": codes})


def _pdf_embedded(data: bytes, options: ReadOptions) -> bytes | None:
    if not options.use_embedded:
        return None
    from extractors.pdf_text import embedded_invoice_xml
    found = embedded_invoice_xml(data, options, streams_checked=True)   # open_pdf checked them
    return found[1] if found else None


def _first_invoice_xml(files: dict[str, bytes]) -> bytes | None:
    for name, content in sorted(files.items()):
        if name.lower().endswith(".xml"):
            return content
    return None


def read_pdf_layout(data: bytes, options: ReadOptions) -> Layout:
    """Text layer where usable, OCR of the rendered page where not."""
    from extractors.pdf_text import open_pdf, read_text_page, render_page, text_layer_is_usable
    pdf = open_pdf(data, options)
    pages: list[Page] = []
    sources: set[str] = set()
    try:
        for i in range(len(pdf)):
            page = read_text_page(pdf, i)
            if not text_layer_is_usable(page):
                image, ppp = render_page(pdf, i, dpi=options.ocr_dpi, max_pixels=options.max_render_pixels)
                page, _ = ocr_page_image(image, page_number=i + 1, points_per_pixel=ppp)
            pages.append(page)
            sources.add(page.source)
        codes = _invoice_qr_codes(pdf, pages, options.max_render_pixels)
    finally:
        pdf.close()
    return Layout(pages=tuple(pages), source="+".join(sorted(sources)), meta={"qr_codes": codes})


_QR_DPI = 150


def _invoice_qr_codes(pdf, pages: list[Page], max_pixels: int) -> list[tuple[int, str, BBox]]:
    """QR codes of the first page of a Chinese invoice (发票): rendered only when the text says so."""
    from extractors.pdf_text import render_page
    if not pages or "发票" not in pages[0].text():
        return []
    image, ppp = render_page(pdf, 0, dpi=_QR_DPI, max_pixels=max_pixels)
    return page_qr_codes(image, page=1, points_per_pixel=ppp)


def read_image_layout(data: bytes, options: ReadOptions) -> Layout:
    """OCR of every image page; QR codes on pages of Chinese invoices (发票) go to `layout.meta["qr_codes"]`
    (looked for only there: a search costs up to 0.2 s on an A4 scan without one), their boxes on the page as
    received (as a PDF's QR codes, read from the page's own render), not in the words' straightened frame."""
    from extractors.images import image_points_per_pixel, iter_images
    from extractors.ocr import ocr_engine_name
    images = iter_images(data, options)   # one decoded page in memory at a time
    pages, codes = [], []
    for i, image in enumerate(images):
        ppp = image_points_per_pixel(image)
        page, clean = ocr_page_image(image, page_number=i + 1, points_per_pixel=ppp)
        pages.append(page)
        if "发票" in page.text():
            from PIL import Image
            codes += [(n, text, page.frame.flat_box_to_received(box) if page.frame else box)
                      for n, text, box in page_qr_codes(Image.fromarray(clean), page=i + 1, points_per_pixel=ppp)]
    return Layout(pages=tuple(pages), source=f"ppocr:{ocr_engine_name()}", meta={"qr_codes": codes})


def ocr_page_image(image, *, page_number: int, points_per_pixel: float):
    """OCR of one page image after `extractors.photo.prepare_page` (sheet flattened, seals lifted);
    returns (Page, the cleaned RGB array).  The page's boxes are in the straightened frame the reader
    grouped rows in (the cleaned array turned and deskewed); `Page.frame` maps them back to `image`."""
    import numpy as np
    from extractors.ocr import ocr_page
    from extractors.photo import flat_to_received, prepare_page
    rgb = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else np.asarray(image)
    clean, cleanup = prepare_page(rgb, dpi=72.0 / points_per_pixel)
    page = ocr_page(clean, page_number=page_number, points_per_pixel=points_per_pixel)
    flat_px = (clean.shape[1], clean.shape[0])
    frame = PageFrame(received_px=(rgb.shape[1], rgb.shape[0]), flat_px=flat_px,
                      flat_to_received=flat_to_received(cleanup.corners, flat_px) if cleanup.corners else None,
                      turn=page.rotation, skew=page.skew, points_per_pixel=points_per_pixel)
    return replace(page, frame=frame), clean


def page_qr_codes(image, *, page: int, points_per_pixel: float) -> list[tuple[int, str, BBox]]:
    """(page, payload, box in page points) of every QR code on a page image."""
    from extractors.cn.qr import decode_qr_codes, qr_bbox_points
    return [(page, code.text, qr_bbox_points(code, points_per_pixel)) for code in decode_qr_codes(image)]


_CHAR_W, _LINE_H = 6.0, 12.0


def read_text_layout(data: bytes) -> Layout:
    """Plain text (e.g. pdftotext -layout output) as a monospace page: 6 pt a column, 12 pt a row."""
    text = data.decode("utf-8", errors="replace")
    pages = []
    for number, chunk in enumerate(text.split("\f"), start=1):
        rows = chunk.splitlines()
        if not any(r.strip() for r in rows):
            continue
        words: list[Word] = []
        for r, row in enumerate(rows):
            col = 0
            for token in row.split(" "):
                if token:
                    words.append(Word(token, BBox(col * _CHAR_W, r * _LINE_H, (col + len(token)) * _CHAR_W,
                                                  (r + 1) * _LINE_H - 2)))
                col += len(token) + 1
        width = max((len(r) for r in rows), default=1) * _CHAR_W
        pages.append(Page(number=len(pages) + 1, width=width, height=len(rows) * _LINE_H,
                          lines=group_words_into_lines(words, gap_factor=1.0), source="text"))
    return Layout(pages=tuple(pages), source="text")
