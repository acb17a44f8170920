"""Ruling lines of a text PDF page, from PDFium's path objects.

A ruled table prints its grid as vector paths: thin filled or stroked rectangles, single line segments,
or cell rectangles.  `page_rules` returns the page's horizontal and vertical rules as thin boxes in the
page's display space (points, origin top-left, the reader's turn applied: the same frame as the words).
Readers use them where a page has them: `columns.snap_to_rules` widens a column to the ruled cell its title
sits in.  Shapes that are not rules (curves, logos, filled areas, text) are skipped; a page with very
many path objects (a vector drawing) is read up to a cap so that such a page stays fast.
"""

from __future__ import annotations

import ctypes

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from extractors.layout import BBox

MAX_PATHS = 4000    # path objects read per page (a vector drawing has tens of thousands)
THIN = 2.5          # points: a box this thin in one direction is a rule
MIN_LENGTH = 6.0    # points: shorter marks (bullets, ticks, underscores of a glyph) are not rules


def page_rules(page: pdfium.PdfPage, to_display) -> tuple[BBox, ...]:
    """The rules on `page`; `to_display(left, bottom, right, top)` maps a user-space box to a display BBox.
    Raw PDFium calls (no Python object per page object): a text page has thousands of objects."""
    rules: list[BBox] = []
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    refs = tuple(ctypes.byref(v) for v in (left, bottom, right, top))
    get_type, get_bounds = pdfium_c.FPDFPageObj_GetType, pdfium_c.FPDFPageObj_GetBounds
    budget = MAX_PATHS

    def walk(count: int, get, parent, depth: int) -> None:
        nonlocal budget
        for i in range(count):
            obj = get(parent, i)
            kind = get_type(obj)
            if kind == _PATH:
                if budget <= 0 or not get_bounds(obj, *refs):
                    continue
                budget -= 1
                box = to_display(left.value, bottom.value, right.value, top.value)
                rules.extend(_rules_of(box, pdfium_c.FPDFPath_CountSegments(obj)))
            elif kind == _FORM and depth < 3:
                walk(pdfium_c.FPDFFormObj_CountObjects(obj), pdfium_c.FPDFFormObj_GetObject, obj, depth + 1)

    walk(pdfium_c.FPDFPage_CountObjects(page.raw), pdfium_c.FPDFPage_GetObject, page.raw, 0)
    return tuple(rules)


_PATH, _FORM = pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM


def _rules_of(box: BBox, segments: int) -> list[BBox]:
    """A thin box is one rule; a rectangle path (a cell drawn as 're': 4-6 segments) gives its four edges."""
    w, h = box.width, box.height
    if w >= MIN_LENGTH and h <= THIN or h >= MIN_LENGTH and w <= THIN:
        return [box]
    if w < MIN_LENGTH or h < MIN_LENGTH or not 4 <= segments <= 6:
        return []
    e = 0.5
    return [BBox(box.x0, box.y0 - e, box.x1, box.y0 + e), BBox(box.x0, box.y1 - e, box.x1, box.y1 + e),
            BBox(box.x0 - e, box.y0, box.x0 + e, box.y1), BBox(box.x1 - e, box.y0, box.x1 + e, box.y1)]


def vertical(rules: tuple[BBox, ...]) -> list[BBox]:
    return [r for r in rules if r.height > r.width]


def horizontal(rules: tuple[BBox, ...]) -> list[BBox]:
    return [r for r in rules if r.width >= r.height]
