"""PDF text layer -> Layout, through pypdfium2 (characters and their boxes).

`open_pdf` translates pdfium's errors into ours (a user password -> EncryptedFile; an owner password
alone does not stop reading).  `read_text_page` turns one page's characters into words and lines in
display coordinates (page rotation applied, origin top-left).  `text_layer_is_usable` says whether a
page's text can be trusted or the page must be rasterised and OCRed; `render_page` does the latter's
first half.
"""

from __future__ import annotations

import ctypes
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

    def box(self, left: float, bottom: float, right: float, top: float) -> BBox:
        r = self.rotation
        if r == 90:
            xs, ys = (bottom - self.y0, top - self.y0), (left - self.x0, right - self.x0)
        elif r == 180:
            xs, ys = (self.x1 - right, self.x1 - left), (bottom - self.y0, top - self.y0)
        elif r == 270:
            xs, ys = (self.y1 - top, self.y1 - bottom), (self.x1 - right, self.x1 - left)
        else:
            xs, ys = (left - self.x0, right - self.x0), (self.y1 - top, self.y1 - bottom)
        return BBox(min(xs), min(ys), max(xs), max(ys))


def _frame(page: pdfium.PdfPage, rotation: int) -> _Frame:
    x0, y0, x1, y1 = page.get_cropbox()
    return _Frame(x0, y0, x1, y1, rotation)


@dataclass(slots=True)
class _Char:
    text: str
    box: BBox


_RawChar = tuple[str, float, float, float, float]  # text, left, bottom, right, top in user space


def _raw_chars(textpage: pdfium.PdfTextPage) -> list[_RawChar]:
    """Every character with its loose box (font ascent to descent) in PDF user space."""
    n = textpage.count_chars()
    raw = textpage.raw
    rect = pdfium_c.FS_RECTF()
    chars: list[_RawChar] = []
    for i in range(n):
        code = pdfium_c.FPDFText_GetUnicode(raw, i)
        if code in (0, 0xFFFE, 0xFFFF) or (0xD800 <= code <= 0xDFFF):
            continue
        ch = chr(code)
        if ch in "\r\n\t" or ch.isspace():
            chars.append((" ", 0.0, 0.0, 0.0, 0.0))
            continue
        if pdfium_c.FPDFText_GetLooseCharBox(raw, i, ctypes.byref(rect)):
            chars.append((ch, rect.left, rect.bottom, rect.right, rect.top))
    return chars


def text_rotation(chars: list[_RawChar]) -> int:
    """Clockwise degrees that make the page's text run left to right: votes of consecutive characters."""
    votes = {0: 0, 90: 0, 180: 0, 270: 0}
    prev = None
    for ch in chars:
        if ch[0] == " ":
            prev = None
            continue
        cx, cy = (ch[1] + ch[3]) / 2, (ch[2] + ch[4]) / 2
        if prev is not None:
            dx, dy = cx - prev[0], cy - prev[1]
            if abs(dx) > abs(dy):
                votes[0 if dx > 0 else 180] += 1
            elif abs(dy) > abs(dx):
                votes[90 if dy > 0 else 270] += 1
        prev = (cx, cy)
    return max(votes, key=lambda k: (votes[k], k == 0))


def _page_chars(raw_chars: list[_RawChar], frame: _Frame) -> list[_Char]:
    return [_Char(" ", BBox(0, 0, 0, 0)) if t == " " else _Char(t, frame.box(left, bottom, right, top))
            for t, left, bottom, right, top in raw_chars]


def _normalise_char(ch: str) -> str:
    """NFKC for ligatures and full-width forms; leaves characters whose NFKC would change meaning."""
    if ch.isascii():
        return ch
    if ch in "²³¹¼½¾":  # superscripts and fractions stay as printed (m², ½)
        return ch
    return unicodedata.normalize("NFKC", ch)


def _words_from_chars(chars: list[_Char]) -> list[Word]:
    """Split the character stream into words at spaces, line jumps and visible gaps."""
    words: list[Word] = []
    text: list[str] = []
    x0 = y0 = x1 = y1 = 0.0
    prev: BBox | None = None
    for c in chars:
        b = c.box
        if c.text == " " or (prev is not None and _breaks_word(prev, b)):
            if text:
                words.append(Word("".join(text), BBox(x0, y0, x1, y1), 1.0))
                text = []
            prev = None
            if c.text == " ":
                continue
        if not text:
            x0, y0, x1, y1 = b.x0, b.y0, b.x1, b.y1
        else:
            x0, y0, x1, y1 = min(x0, b.x0), min(y0, b.y0), max(x1, b.x1), max(y1, b.y1)
        text.append(_normalise_char(c.text))
        prev = b
    if text:
        words.append(Word("".join(text), BBox(x0, y0, x1, y1), 1.0))
    return words


def _breaks_word(prev: BBox, b: BBox) -> bool:
    h = max(prev.height, b.height, 0.1)
    gap = b.x0 - prev.x1
    return gap > 0.28 * h or gap < -0.5 * h or b.y_overlap(prev) < 0.5


def read_text_page(pdf: pdfium.PdfDocument, page_index: int) -> Page:
    """One page's text layer as a Page (page_index is 0-based), turned so that its text reads upright.

    The turn comes from the direction the characters run, not from the page's /Rotate entry: a scan
    placed sideways and a text page with a stray /Rotate both come out readable.
    """
    page = pdf[page_index]
    try:
        textpage = page.get_textpage()
        try:
            raw_chars = _raw_chars(textpage)
        finally:
            textpage.close()
        rotation = text_rotation(raw_chars) if raw_chars else page.get_rotation() % 360
        frame = _frame(page, rotation)
    finally:
        page.close()
    width, height = frame.display_size
    words = _words_from_chars(_page_chars(raw_chars, frame))
    lines: tuple[Line, ...] = group_words_into_lines(words, gap_factor=1.5) if words else ()
    return Page(number=page_index + 1, width=width, height=height, lines=lines,
                rotation=rotation, source="text-layer")


def text_layer_is_usable(page: Page) -> bool:
    """False for no text, or text that is mostly junk (private-use glyphs, replacement marks, noise)."""
    text = "".join(w.text for w in page.words())
    if len(text) < 8:
        return False
    bad = sum(1 for ch in text if _is_junk_char(ch))
    if bad / len(text) > 0.15:
        return False
    words = [w.text for w in page.words()]
    wordlike = sum(1 for w in words if any(ch.isalnum() for ch in w))
    return wordlike / max(1, len(words)) >= 0.5


def _is_junk_char(ch: str) -> bool:
    code = ord(ch)
    if 0xE000 <= code <= 0xF8FF or code == 0xFFFD or code < 0x20:
        return True
    return unicodedata.category(ch) in ("Co", "Cn", "Cc")


def render_page(pdf: pdfium.PdfDocument, page_index: int, *, dpi: int):
    """Rasterise a page (rotation applied) to a PIL image; returns (image, points_per_pixel)."""
    page = pdf[page_index]
    try:
        bitmap = page.render(scale=dpi / 72.0)
        image = bitmap.to_pil().convert("RGB")
    finally:
        page.close()
    return image, 72.0 / dpi
