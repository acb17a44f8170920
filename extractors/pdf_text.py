"""PDF text layer -> Layout, through pypdfium2 (characters and their boxes).

`open_pdf` translates pdfium's errors into ours (a user password -> EncryptedFile; an owner password
alone does not stop reading).  `read_text_page` turns one page's characters into words and lines in
display coordinates (page rotation applied, origin top-left).  `text_layer_is_usable` says whether a
page's text can be trusted or the page must be rasterised and OCRed; `render_page` does the latter's
first half.
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from extractors.errors import CorruptFile, EncryptedFile, TooLarge
from extractors.layout import BBox, Line, Page, Word, group_words_into_lines
from extractors.options import ReadOptions

_PASSWORD_ERROR = "password"


def open_pdf(data: bytes, options: ReadOptions) -> pdfium.PdfDocument:
    """Open a PDF from bytes; raise EncryptedFile, CorruptFile or TooLarge (page limit)."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if _PASSWORD_ERROR in str(exc).lower():
            raise EncryptedFile("This PDF is protected by a password; remove the password and upload it again.",
                                detail=str(exc)) from exc
        raise CorruptFile("This PDF is damaged or not a PDF and cannot be read.", detail=str(exc)) from exc
    if len(pdf) == 0:
        pdf.close()
        raise CorruptFile("This PDF has no pages.")
    if len(pdf) > options.max_pages:
        n = len(pdf)
        pdf.close()
        raise TooLarge(f"This PDF has {n} pages, more than the limit of {options.max_pages}.")
    return pdf


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

    def boxes(self, raw: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
        """User-space (left, bottom, right, top) boxes -> display (x0, y0, x1, y1), top-left origin."""
        fx0, fy0, fx1, fy1 = self.x0, self.y0, self.x1, self.y1
        r = self.rotation
        if r == 90:
            return [(b - fy0, le - fx0, t - fy0, ri - fx0) for le, b, ri, t in raw]
        if r == 180:
            return [(fx1 - ri, b - fy0, fx1 - le, t - fy0) for le, b, ri, t in raw]
        if r == 270:
            return [(fy1 - t, fx1 - ri, fy1 - b, fx1 - le) for le, b, ri, t in raw]
        return [(le - fx0, fy1 - t, ri - fx0, fy1 - b) for le, b, ri, t in raw]


def _frame(page: pdfium.PdfPage, rotation: int) -> _Frame:
    x0, y0, x1, y1 = page.get_cropbox()
    return _Frame(x0, y0, x1, y1, rotation)


_Box = tuple[float, float, float, float]


def _raw_chars(textpage: pdfium.PdfTextPage) -> tuple[str, list[_Box]]:
    """The page's characters (whitespace as ' ') and their loose boxes (font ascent to descent) in
    PDF user space as (left, bottom, right, top); one ctypes call per character, as the bare baseline."""
    n = textpage.count_chars()
    raw = textpage.raw
    text = textpage.get_text_range(0, n) if n else ""
    if len(text) != n:  # characters outside the BMP: map index by index
        text = "".join(_char_at(raw, i) for i in range(n))
    rect = pdfium_c.FS_RECTF()
    get_box = pdfium_c.FPDFText_GetLooseCharBox
    ref = ctypes.byref(rect)
    boxes: list[_Box] = []
    for i in range(n):
        get_box(raw, i, ref)
        boxes.append((rect.left, rect.bottom, rect.right, rect.top))
    text = "".join(" " if ch.isspace() or ch in _DROP else ch for ch in text)
    return text, boxes


_DROP = {"\x00", "\ufffe", "\uffff"}


def _char_at(raw, i: int) -> str:
    code = pdfium_c.FPDFText_GetUnicode(raw, i)
    return " " if code in (0, 0xFFFE, 0xFFFF) or 0xD800 <= code <= 0xDFFF else chr(code)


def text_rotation(text: str, boxes: list[_Box]) -> int:
    """Clockwise degrees that make the page's text run left to right: votes of consecutive characters."""
    votes = {0: 0, 90: 0, 180: 0, 270: 0}
    prev = None
    for ch, (le, b, ri, t) in zip(text[:600], boxes[:600]):  # the first few lines tell
        if ch == " ":
            prev = None
            continue
        cx, cy = (le + ri) / 2, (b + t) / 2
        if prev is not None:
            dx, dy = cx - prev[0], cy - prev[1]
            if abs(dx) > abs(dy):
                votes[0 if dx > 0 else 180] += 1
            elif abs(dy) > abs(dx):
                votes[90 if dy > 0 else 270] += 1
        prev = (cx, cy)
    return max(votes, key=lambda k: (votes[k], k == 0))


def _normalise_char(ch: str) -> str:
    """NFKC for ligatures and full-width forms; leaves characters whose NFKC would change meaning."""
    if ch.isascii():
        return ch
    if ch in "²³¹¼½¾":  # superscripts and fractions stay as printed (m², ½)
        return ch
    return unicodedata.normalize("NFKC", ch)


def _words_from_chars(text: str, boxes: list[_Box]) -> list[Word]:
    """Split the character stream into words at spaces, line jumps and visible gaps (display boxes).

    A new word starts after a space, where the gap to the previous character exceeds 0.28 of the line
    height, where it steps back, or where the two overlap vertically by less than half.
    """
    words: list[Word] = []
    chars: list[str] = []
    x0 = y0 = x1 = y1 = 0.0
    py0 = px1 = py1 = 0.0
    for ch, (bx0, by0, bx1, by1) in zip(text, boxes):
        if chars:
            ph, bh = py1 - py0, by1 - by0
            h = ph if ph > bh else bh
            gap = bx0 - px1
            overlap = (py1 if py1 < by1 else by1) - (py0 if py0 > by0 else by0)
            if ch == " " or gap > 0.28 * h or gap < -0.5 * h or overlap < 0.5 * (ph if ph < bh else bh):
                words.append(Word("".join(chars), BBox(x0, y0, x1, y1), 1.0))
                chars = []
        if ch == " ":
            continue
        if chars:
            if bx0 < x0:
                x0 = bx0
            if by0 < y0:
                y0 = by0
            if bx1 > x1:
                x1 = bx1
            if by1 > y1:
                y1 = by1
        else:
            x0, y0, x1, y1 = bx0, by0, bx1, by1
        chars.append(ch if ch.isascii() else _normalise_char(ch))
        py0, px1, py1 = by0, bx1, by1
    if chars:
        words.append(Word("".join(chars), BBox(x0, y0, x1, y1), 1.0))
    return words


def read_text_page(pdf: pdfium.PdfDocument, page_index: int) -> Page:
    """One page's text layer as a Page (page_index is 0-based), turned so that its text reads upright.

    The turn comes from the direction the characters run, not from the page's /Rotate entry: a scan
    placed sideways and a text page with a stray /Rotate both come out readable.
    """
    page = pdf[page_index]
    try:
        textpage = page.get_textpage()
        try:
            text, raw_boxes = _raw_chars(textpage)
        finally:
            textpage.close()
        rotation = text_rotation(text, raw_boxes) if text.strip() else page.get_rotation() % 360
        frame = _frame(page, rotation)
    finally:
        page.close()
    width, height = frame.display_size
    words = _words_from_chars(text, frame.boxes(raw_boxes))
    lines: tuple[Line, ...] = group_words_into_lines(words, gap_factor=1.5) if words else ()
    return Page(number=page_index + 1, width=width, height=height, lines=lines,
                rotation=rotation, source="text-layer")


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


def render_page(pdf: pdfium.PdfDocument, page_index: int, *, dpi: int):
    """Rasterise a page (rotation applied) to a PIL image; returns (image, points_per_pixel)."""
    page = pdf[page_index]
    try:
        bitmap = page.render(scale=dpi / 72.0)
        image = bitmap.to_pil().convert("RGB")
    finally:
        page.close()
    return image, 72.0 / dpi
