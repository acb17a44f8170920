"""PDF text layer -> Layout, through pypdfium2 (characters and their boxes).

`open_pdf` translates pdfium's errors into ours (a user password -> EncryptedFile; an owner password
alone does not stop reading).  `embedded_invoice_xml` pulls out the e-invoice XML (ZUGFeRD / Factur-X /
XRechnung CII, or UBL) a PDF carries as an attachment.  `read_text_page` turns one page's characters into words and lines in
display coordinates (page rotation applied, origin top-left).  `text_layer_is_usable` says whether a
page's text can be trusted or the page must be rasterised and OCRed; `render_page` does the latter's
first half.
"""

from __future__ import annotations

import ctypes
import functools
import io
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Iterator
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_etree
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from defusedxml import DefusedXmlException

from extractors.errors import CorruptFile, EncryptedFile, TooLarge
from extractors.layout import BBox, Line, Page, Word, group_words_into_lines
from extractors.options import ReadOptions
from extractors.pdf_rules import page_rules
from extractors.structured import is_invoice_root
from extractors.structured.elements import strip_bom

_PASSWORD_ERROR = "password"


def open_pdf(data: bytes, options: ReadOptions) -> pdfium.PdfDocument:
    """Open a PDF from bytes; raise EncryptedFile, CorruptFile or TooLarge (page limit, a stream that
    decompresses past the limits: checked before PDFium sees the file, see `check_streams`)."""
    check_streams(data, options)
    pdf = _open_document(data)
    if len(pdf) == 0:
        pdf.close()
        raise CorruptFile("This PDF has no pages.")
    if len(pdf) > options.max_pages:
        n = len(pdf)
        pdf.close()
        raise TooLarge(f"This PDF has {n} pages, more than the limit of {options.max_pages}.")
    return pdf


def _open_document(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD or _PASSWORD_ERROR in str(exc).lower():
            raise EncryptedFile("This PDF is protected by a password; remove the password and upload it again.",
                                detail=str(exc)) from exc
        raise CorruptFile("This PDF is damaged or not a PDF and cannot be read.", detail=str(exc)) from exc


# --------------------------------------------------------------------------- decompression bombs

_STREAM_KEYWORD = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_INFLATE_CHUNK = 1024 * 1024
_MAX_FLATE_LAYERS = 4


def check_streams(data: bytes, options: ReadOptions) -> None:
    """Refuse (TooLarge) a PDF one of whose deflated streams unpacks to more than `options.max_unpacked_bytes`,
    or all of whose streams together unpack to more than `options.max_pdf_inflated_bytes`.

    PDFium inflates a stream whole into memory (a page's contents, an image, an embedded file when its size is
    asked), so a few kilobytes of deflate can cost gigabytes; here every stream of the file is inflated once,
    in bounded chunks that are counted and dropped, before PDFium is given the file.  Filters in a chain
    (FlateDecode twice, ...) are followed as far as they are zlib.  Data that is not zlib is left to PDFium.
    """
    per_stream, total_limit = options.max_unpacked_bytes, options.max_pdf_inflated_bytes
    total = 0
    view = memoryview(data)
    for match in _STREAM_KEYWORD.finditer(data):
        start = match.end()
        head = data[max(0, match.start() - 4096):match.start()]
        head = head[head.rfind(b"obj") + 1:]                      # the stream's dictionary, roughly
        _check_image_size(head, options.max_pixels, start)
        budget = min(per_stream, total_limit - total) + 1
        if _is_zlib(data[start:start + 2]):
            # not cut at the first "endstream": deflate data may hold those bytes; zlib knows where it ends
            size = _inflated_size(view[start:], budget)
        elif b"/LZW" in head:
            end = data.find(b"endstream", start)
            size = _lzw_size(view[start:end if end > 0 else len(data)], budget)
        else:
            continue
        total += size
        if size > per_stream:
            raise TooLarge("This PDF contains a compressed part that unpacks to far too much data "
                           f"(more than {per_stream // (1024 * 1024)} MB); it cannot be read safely.",
                           detail=f"stream at byte {start} inflates past {per_stream}")
        if total > total_limit:
            raise TooLarge("This PDF unpacks to far too much data "
                           f"(more than {total_limit // (1024 * 1024)} MB); it cannot be read safely.",
                           detail=f"streams inflate past {total_limit} at byte {start}")


_WIDTH = re.compile(rb"/Width\s+(\d{1,12})(?!\s+\d+\s+R)")
_HEIGHT = re.compile(rb"/Height\s+(\d{1,12})(?!\s+\d+\s+R)")


def _check_image_size(head: bytes, max_pixels: int, start: int) -> None:
    """An image whose dictionary states more than `max_pixels` pixels: PDFium would allocate it whole."""
    if b"/Image" not in head:
        return
    width, height = _WIDTH.search(head), _HEIGHT.search(head)
    if width and height and int(width.group(1)) * int(height.group(1)) > max_pixels:
        raise TooLarge(f"This PDF contains an image of {int(width.group(1))} x {int(height.group(1))} pixels, "
                       "too large to be read safely.", detail=f"image stream at byte {start}")


def _lzw_size(raw: memoryview, limit: int) -> int:
    """Bytes an LZW (LZWDecode, early change 1) stream decodes to, counted up to `limit` from the codes alone:
    only the length of each table entry is kept, never the output."""
    lengths: list[int] = [1] * 256 + [0, 0]          # 256 clear, 257 end of data
    size, previous, bits, buffer, width = 0, -1, 0, 0, 9
    for byte in raw.tobytes():
        buffer, bits = (buffer << 8) | byte, bits + 8
        while bits >= width:
            bits -= width
            code = (buffer >> bits) & ((1 << width) - 1)
            if code == 256:
                del lengths[258:]
                previous, width = -1, 9
                continue
            if code == 257:
                return size
            if code < len(lengths):
                length = lengths[code]
            elif code == len(lengths) and previous >= 0:
                length = lengths[previous] + 1
            else:
                return size                       # damaged: PDFium decides
            if previous >= 0 and len(lengths) < 4096:
                lengths.append(lengths[previous] + 1)
            size += length
            if size >= limit:
                return size
            previous = code
            if len(lengths) + 1 >= (1 << width) and width < 12:
                width += 1
        buffer &= (1 << bits) - 1
    return size


def _inflated_size(raw: memoryview, limit: int) -> int:
    """Bytes the deflated `raw` unpacks to through up to _MAX_FLATE_LAYERS zlib layers (a layer whose output
    starts as zlib is inflated again), counted up to `limit`; the output itself is never kept."""
    decoders: list = [zlib.decompressobj()]
    decided = [False]       # whether layer i's output has been looked at for another zlib layer
    size = 0

    def push(depth: int, chunk: bytes) -> bool:
        nonlocal size
        decoder = decoders[depth]
        while chunk and not decoder.eof:
            try:
                out = decoder.decompress(chunk, _INFLATE_CHUNK)
            except zlib.error:
                return True                     # not (or no longer) zlib: PDFium decides
            chunk = decoder.unconsumed_tail
            if not out:
                continue
            if not decided[depth]:
                decided[depth] = True
                if depth + 1 < _MAX_FLATE_LAYERS and _is_zlib(out[:2]):
                    decoders.append(zlib.decompressobj())
                    decided.append(False)
            if len(decoders) > depth + 1:
                if not push(depth + 1, out):
                    return False
            else:
                size += len(out)
                if size >= limit:
                    return False
        return True

    for offset in range(0, len(raw), _INFLATE_CHUNK):
        if not push(0, bytes(raw[offset:offset + _INFLATE_CHUNK])) or decoders[0].eof:
            break
    return size


def _is_zlib(head: bytes) -> bool:
    return len(head) >= 2 and (head[0] * 256 + head[1]) % 31 == 0 and head[0] & 0x0F == 8


# --------------------------------------------------------------------------- embedded e-invoice XML

MAX_XML_ATTACHMENT_BYTES = 20 * 1024 * 1024       # larger attachments are not looked at
KNOWN_ATTACHMENT_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "zugferd_invoice.xml")


def embedded_invoice_xml(pdf_bytes: bytes, options: ReadOptions | None = None,
                         *, streams_checked: bool = False) -> tuple[str, bytes] | None:
    """The e-invoice XML attached to a PDF as (attachment name, bytes): a known name first, else any .xml with
    an invoice root; None when there is none.  The streams are held to the limits of `options` first (an
    embedded file that is a deflate bomb is TooLarge before PDFium unpacks it), unless the caller has."""
    if not streams_checked:
        check_streams(pdf_bytes, options or ReadOptions())
    pdf = _open_document(pdf_bytes)
    try:
        attachments = list(_xml_attachments(pdf))
    finally:
        pdf.close()
    for name, data in attachments:
        if name.casefold() in KNOWN_ATTACHMENT_NAMES:
            return name, data
    for name, data in attachments:
        root = _root_tag(data)
        if root is not None and is_invoice_root(root):
            return name, data
    return None


def _xml_attachments(pdf: pdfium.PdfDocument) -> Iterator[tuple[str, bytes]]:
    """(name, data) of every .xml attachment of at most MAX_XML_ATTACHMENT_BYTES."""
    for i in range(pdf.count_attachments()):
        try:
            attachment = pdf.get_attachment(i)
            name = attachment.get_name()
        except pdfium.PdfiumError:
            continue
        if not name.casefold().endswith(".xml") or _attachment_size(attachment) > MAX_XML_ATTACHMENT_BYTES:
            continue
        try:
            yield name, bytes(attachment.get_data())
        except pdfium.PdfiumError:
            continue


def _attachment_size(attachment: pdfium.PdfAttachment) -> int:
    size = ctypes.c_ulong()
    if not pdfium_c.FPDFAttachment_GetFile(attachment, None, 0, ctypes.byref(size)):
        return 0
    return size.value


def _root_tag(data: bytes) -> str | None:
    """The root element's tag, read without building the tree; None if unreadable or unsafe."""
    try:
        for _event, el in safe_etree.iterparse(io.BytesIO(strip_bom(data)), events=("start",), forbid_dtd=True):
            return el.tag
    except (ParseError, DefusedXmlException, LookupError, UnicodeError, ValueError):
        return None
    return None


# --------------------------------------------------------------------------- text layer


@dataclass(frozen=True, slots=True)
class _Frame:
    """Maps PDF user space (origin bottom-left) to display space (origin top-left, rotation applied)."""

    x0: float
    y0: float
    x1: float
    y1: float
    rotation: int

    @property
    def display_size(self) -> tuple[float, float]:
        w, h = self.x1 - self.x0, self.y1 - self.y0
        return (h, w) if self.rotation in (90, 270) else (w, h)

    def boxes(self, raw: np.ndarray) -> np.ndarray:
        """User-space (left, bottom, right, top) rows -> display (x0, y0, x1, y1) rows, top-left origin."""
        le, b, ri, t = raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3]
        r = self.rotation
        if r == 90:
            cols = (b - self.y0, le - self.x0, t - self.y0, ri - self.x0)
        elif r == 180:
            cols = (self.x1 - ri, b - self.y0, self.x1 - le, t - self.y0)
        elif r == 270:
            cols = (self.y1 - t, self.x1 - ri, self.y1 - b, self.x1 - le)
        else:
            cols = (le - self.x0, self.y1 - t, ri - self.x0, self.y1 - b)
        return np.stack(cols, axis=1)

    def box(self, le: float, b: float, ri: float, t: float) -> BBox:
        """One user-space box in display space (as `boxes`, without an array for one box)."""
        r = self.rotation
        if r == 90:
            return BBox(b - self.y0, le - self.x0, t - self.y0, ri - self.x0)
        if r == 180:
            return BBox(self.x1 - ri, b - self.y0, self.x1 - le, t - self.y0)
        if r == 270:
            return BBox(self.y1 - t, self.x1 - ri, self.y1 - b, self.x1 - le)
        return BBox(le - self.x0, self.y1 - t, ri - self.x0, self.y1 - b)


def _frame(page: pdfium.PdfPage, rotation: int) -> _Frame:
    # get_bbox (media box within the crop box) is the one box call that inherits from the page tree: PDFs
    # that put /MediaBox on /Pages only (fpdf2, many generators) would otherwise read as US Letter
    x0, y0, x1, y1 = page.get_bbox()
    return _Frame(x0, y0, x1, y1, rotation)


def _raw_chars(textpage: pdfium.PdfTextPage) -> tuple[str, np.ndarray]:
    """The page's characters (whitespace as ' ') and their loose boxes (font ascent to descent) in PDF
    user space, one row (left, bottom, right, top) per character; one ctypes call per character, as the
    bare baseline, written straight into one array."""
    n = textpage.count_chars()
    raw = textpage.raw
    text = textpage.get_text_range(0, n) if n else ""
    if len(text) != n:  # characters outside the BMP: map index by index
        text = "".join(_char_at(raw, i) for i in range(n))
    rects = (pdfium_c.FS_RECTF * max(n, 1))()
    base, size = ctypes.addressof(rects), ctypes.sizeof(pdfium_c.FS_RECTF)
    handle = ctypes.cast(raw, ctypes.c_void_p).value
    get_box = _loose_char_box()
    for i in range(n):
        get_box(handle, i, base + i * size)
    boxes = np.frombuffer(rects, dtype=np.float32).reshape(-1, 4)[:n].astype(np.float64)
    boxes = boxes[:, [0, 3, 2, 1]]  # FS_RECTF is left, top, right, bottom
    text = "".join(" " if ch.isspace() or ch in _DROP else ch for ch in text)
    return text, boxes


@functools.lru_cache(maxsize=1)
def _loose_char_box():
    """FPDFText_GetLooseCharBox taking plain addresses, so that each character's box is written
    straight into one preallocated array without building a ctypes pointer per call."""
    proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
    return proto(ctypes.cast(pdfium_c.FPDFText_GetLooseCharBox, ctypes.c_void_p).value)


_DROP = {"\x00", "\ufffe", "\uffff"}


def _char_at(raw, i: int) -> str:
    code = pdfium_c.FPDFText_GetUnicode(raw, i)
    return " " if code in (0, 0xFFFE, 0xFFFF) or 0xD800 <= code <= 0xDFFF else chr(code)


def text_rotation(text: str, boxes: np.ndarray) -> int:
    """Clockwise degrees that make the page's text run left to right: votes of consecutive characters
    (the first few hundred tell)."""
    keep = np.frombuffer(text[:600].encode("utf-32-le"), dtype=np.uint32) != ord(" ")
    pts = boxes[:600]
    cx, cy = (pts[:, 0] + pts[:, 2]) / 2, (pts[:, 1] + pts[:, 3]) / 2
    pair = keep[1:] & keep[:-1]
    dx, dy = np.diff(cx)[pair], np.diff(cy)[pair]
    horizontal = np.abs(dx) > np.abs(dy)
    vertical = np.abs(dy) > np.abs(dx)
    votes = {0: int(np.sum(horizontal & (dx > 0))), 180: int(np.sum(horizontal & (dx < 0))),
             90: int(np.sum(vertical & (dy > 0))), 270: int(np.sum(vertical & (dy < 0)))}
    return max(votes, key=lambda k: (votes[k], k == 0))


def _normalise_char(ch: str) -> str:
    """NFKC for ligatures and full-width forms; leaves characters whose NFKC would change meaning."""
    if ch.isascii():
        return ch
    if ch in "²³¹¼½¾":  # superscripts and fractions stay as printed (m², ½)
        return ch
    return unicodedata.normalize("NFKC", ch)


def _words_from_chars(text: str, boxes: np.ndarray) -> list[Word]:
    """Split the character stream into words at spaces, line jumps and visible gaps (display boxes).

    A new word starts after a space, where the gap to the previous character exceeds 0.28 of the taller
    one's height, where it steps back by more than half of it, or where the two overlap vertically by
    less than half of the shorter one.  Vectorised: one pass in numpy, then one slice per word.
    """
    n = len(text)
    if n == 0:
        return []
    space = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == ord(" ")
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    h = y1 - y0
    taller = np.maximum(h[1:], h[:-1])
    shorter = np.minimum(h[1:], h[:-1])
    gap = x0[1:] - x1[:-1]
    overlap = np.minimum(y1[1:], y1[:-1]) - np.maximum(y0[1:], y0[:-1])
    breaks = (gap > 0.28 * taller) | (gap < -0.5 * taller) | (overlap < 0.5 * shorter)
    starts = np.flatnonzero(np.concatenate(([True], breaks | space[:-1])) & ~space)
    if len(starts) == 0:
        return []
    # a word runs from its start to the next start or the next space, whichever comes first
    ends = np.append(starts[1:], n)
    spaces = np.flatnonzero(space)
    if len(spaces):
        pos = np.searchsorted(spaces, starts)
        ends = np.minimum(ends, np.where(pos < len(spaces), spaces[np.minimum(pos, len(spaces) - 1)], n))
    inf = np.inf
    wx0 = np.minimum.reduceat(np.where(space, inf, x0), starts)
    wy0 = np.minimum.reduceat(np.where(space, inf, y0), starts)
    wx1 = np.maximum.reduceat(np.where(space, -inf, x1), starts)
    wy1 = np.maximum.reduceat(np.where(space, -inf, y1), starts)
    words = []
    for k, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
        chunk = text[s:e]
        if not chunk.isascii():
            chunk = "".join(_normalise_char(ch) for ch in chunk)
        words.append(Word(chunk, BBox(float(wx0[k]), float(wy0[k]), float(wx1[k]), float(wy1[k])), 1.0))
    return words


def read_text_page(pdf: pdfium.PdfDocument, page_index: int) -> Page:
    """One page's text layer as a Page (page_index is 0-based), turned so that its text reads upright.

    The turn comes from the direction the characters run, not from the page's /Rotate entry: a scan
    placed sideways and a text page with a stray /Rotate both come out readable.
    """
    page = load_page(pdf, page_index)
    try:
        try:
            textpage = page.get_textpage()
        except pdfium.PdfiumError as exc:
            raise CorruptFile(f"Page {page_index + 1} of this PDF is damaged and cannot be read.",
                              detail=str(exc)) from exc
        try:
            text, raw_boxes = _raw_chars(textpage)
        finally:
            textpage.close()
        rotation = text_rotation(text, raw_boxes) if text.strip() else page.get_rotation() % 360
        frame = _frame(page, rotation)
        rules = page_rules(page, frame.box) if text.strip() else ()
    finally:
        page.close()
    width, height = frame.display_size
    words = _words_from_chars(text, frame.boxes(raw_boxes))
    lines: tuple[Line, ...] = group_words_into_lines(words, gap_factor=1.5) if words else ()
    return Page(number=page_index + 1, width=width, height=height, lines=lines,
                rotation=rotation, source="text-layer", rules=rules)


_JUNK = re.compile(r"[\x00-\x1f\ue000-\uf8ff\ufffd\U000f0000-\U0010ffff]")


def text_layer_is_usable(page: Page) -> bool:
    """False for no text, or text that is mostly junk (private-use glyphs, replacement marks, noise)."""
    words = [w.text for w in page.words()]
    text = "".join(words)
    if len(text) < 8:
        return False
    if len(_JUNK.findall(text)) / len(text) > 0.15:
        return False
    wordlike = sum(1 for w in words if any(ch.isalnum() for ch in w))
    return wordlike / max(1, len(words)) >= 0.5


def load_page(pdf: pdfium.PdfDocument, page_index: int) -> pdfium.PdfPage:
    """The page; CorruptFile when PDFium cannot load it (a damaged page object)."""
    try:
        return pdf[page_index]
    except pdfium.PdfiumError as exc:
        raise CorruptFile(f"Page {page_index + 1} of this PDF is damaged and cannot be read.",
                          detail=str(exc)) from exc


def render_scale(width_pt: float, height_pt: float, scale: float, max_pixels: int) -> float:
    """`scale` (pixels per point), shrunk so that the page comes out at most `max_pixels` pixels: a page
    thousands of points wide is drawn coarser, never at hundreds of megapixels."""
    area = max(1.0, abs(width_pt) * abs(height_pt))
    if area * scale * scale <= max_pixels:
        return scale
    return max(1e-3, (max_pixels / area) ** 0.5 * 0.999)


def render_page(pdf: pdfium.PdfDocument, page_index: int, *, dpi: int, max_pixels: int = 40_000_000):
    """Rasterise a page (rotation applied) to a PIL image, at `dpi` or coarser where the page would exceed
    `max_pixels`; returns (image, points_per_pixel)."""
    page = load_page(pdf, page_index)
    try:
        width, height = page.get_size()
        scale = render_scale(width, height, dpi / 72.0, max_pixels)
        try:
            bitmap = page.render(scale=scale)
        except pdfium.PdfiumError as exc:
            raise CorruptFile(f"Page {page_index + 1} of this PDF is damaged and cannot be drawn.",
                              detail=str(exc)) from exc
        image = bitmap.to_pil().convert("RGB")
    finally:
        page.close()
    return image, 1.0 / scale
