"""Teaching: from a corrected value and the words of its document, the `Rule` that finds it again (header fields
and line cells), or why there is none."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Sequence


from extractors.layout import BBox, Layout, Page, merge_bboxes
from extractors.parsing import join_printed
from extractors.result import Field, FieldValue, LineItem, field_kind
from extractors.learned_layout.anchors import anchor_of, is_label_word
from extractors.learned_layout.rules import compact, CONSTANT_FIELDS, MAX_SPAN, Picked, Rule, shape, Taught, template
from extractors.learned_layout.spans import (
    by_rows, candidate_spans, folded_spans, near_spans, picked_spans, received, Span, text_spans, typed_spans,
    value_of,
)

def _date_order(raw: str, value: date) -> str:
    numbers = [int(n) for n in re.findall(r"\d+", raw)]
    if len(numbers) < 3 or len(str(numbers[0])) == 4 or not isinstance(value, date):
        return "ymd" if numbers else ""
    if numbers[0] == value.day and numbers[1] == value.month:
        return "dmy"
    return "mdy" if numbers[0] == value.month and numbers[1] == value.day else ""


def _rule_for(name: str, span: Span, value: FieldValue, *, pages: int) -> Rule:
    page, box = span.page, span.box
    anchor, side, anchor_box = anchor_of(span)
    if side == "left" or side == "inline":
        offset = (box.x0 - (anchor_box.x1 if side == "left" else anchor_box.x0), box.y0 - anchor_box.y0)
    elif side == "above":
        offset = (box.x0 - anchor_box.x0, box.y0 - anchor_box.y0)
    else:
        offset = (0.0, 0.0)
    text = span.text
    kind = field_kind(name.removeprefix("line."))
    constant = text if name in CONSTANT_FIELDS else ""
    taught = value if isinstance(value, str) else text      # the format is the clerk's, not the scan's slips
    id_like = kind == "text" and not constant and _id_like(taught) and len(span.words) == 1
    return Rule(field=name, page=-1 if page.number == pages and pages > 1 else page.number,
                zone=(box.x0 / page.width, box.y0 / page.height, box.x1 / page.width, box.y1 / page.height),
                anchor=anchor, side=side, offset=(round(offset[0], 2), round(offset[1], 2)), words=len(span.words),
                lines=span.rows, shape=shape(taught) if id_like else "", pattern=template(taught) if id_like else "",
                date_order=_date_order(text, value) if kind == "date" else "", constant=constant)


def _id_like(text: str) -> bool:
    """A number-like value (an invoice number, a tax id): one token with digits, whose format is worth keeping."""
    return len(text) <= 40 and text.strip().isascii() and " " not in text.strip() and any(ch.isdigit() for ch in text)


def _equal_text(a: str, b: str) -> bool:
    return compact(a) == compact(b)


def teach(layout: Layout, name: str, value: FieldValue, *, picked: Picked | None = None,
          taken: Sequence[tuple[int, BBox]] = ()) -> Taught:
    """The rule that finds header field `name`'s corrected `value` on this document again, or why there is none.
    `taken`: (page, box on the page as received) of the other fields' values; where the value is printed several
    times, a place another field reads from is the last choice ('Date de facture' when the delivery date is the same)."""
    layout = by_rows(layout)
    if value is None or value == "":
        return Taught(None, "no value to look for")
    if picked is not None:
        spans = picked_spans(layout, picked)
        if not spans:
            return Taught(None, "no printed word where the value was picked")
    elif isinstance(value, (date, Decimal)) or name == "currency":
        spans = typed_spans(layout, name, value)
    else:
        spans = text_spans(layout, compact(str(value))) or folded_spans(layout, str(value))
        if not spans and name in CONSTANT_FIELDS:
            spans = near_spans(layout, compact(str(value)))
    if not spans and name in CONSTANT_FIELDS:
        rule = Rule(field=name, page=1, zone=(0.0, 0.0, 0.0, 0.0), constant=str(value), printed=False)
        return Taught(rule, "not printed as written; kept as this supplier's value")
    if not spans:
        return Taught(None, "the value is printed nowhere on the page; no layout rule learned")
    span = _best_taught(spans, taken)
    rule = _rule_for(name, span, value, pages=len(layout.pages))
    if rule.constant:                         # what the clerk wrote, whatever the print (or the scan) made of it
        rule = replace(rule, constant=str(value))
    return Taught(rule, page=span.page.number, box=span.box)


def _best_taught(spans: list[Span], taken: Sequence[tuple[int, BBox]]) -> Span:
    """The occurrence no other field reads from, then one a label leads to (inside its word, or before it on its
    line) before one standing alone; else the first in reading order."""
    def used(s: Span) -> bool:
        box = received(s.page, s.box)
        return any(p == s.page.number and b.x_overlap(box) > 0 and b.y_overlap(box) > 0 for p, b in taken)

    def rank(s: Span) -> int:
        side = anchor_of(s)[1]
        return {"inline": 0, "left": 0, "above": 1}.get(side, 2)
    return min(spans, key=lambda s: (used(s), rank(s), s.page.number, s.row))


# -- line cells ------------------------------------------------------------------------------------------------

def row_band(line: LineItem) -> tuple[int, float, float] | None:
    """(page, y0, y1) of a line item: the union of its fields' boxes (page points of the page as received)."""
    placed = [(f.page, f.bbox) for f in line.fields.values() if f.bbox is not None and f.page >= 1]
    if not placed:
        return None
    page = placed[0][0]
    boxes = [b for p, b in placed if p == page]
    return page, min(b.y0 for b in boxes), max(b.y1 for b in boxes)


def _column_title(page: Page, box: BBox, top: float) -> tuple[str, BBox] | None:
    """The title over a cell: the nearest words above the first item row (`top`) that overlap the cell's x-range."""
    for line in reversed([ln for ln in page.lines if ln.bbox.y1 <= top + 1]):
        over = [w for w in line.words if w.bbox.x1 >= box.x0 - 2 and w.bbox.x0 <= box.x1 + 2 and is_label_word(w.text)]
        if over:
            return compact(join_printed(w.text for w in over)), merge_bboxes(w.bbox for w in over)
        if top - line.bbox.y1 > 80:
            return None
    return None


def page_box(page: Page, box: BBox) -> BBox:
    """A box on the page as received mapped back into the reading frame (approximately, by the inverse of its centre
    shift) — exact for text layers, where the frames are the same."""
    if page.frame is None:
        return box
    mapped = page.frame.box_to_received(box)
    dx, dy = mapped.cx - box.cx, mapped.cy - box.cy
    return BBox(box.x0 - dx, box.y0 - dy, box.x1 - dx, box.y1 - dy)


def teach_absent(layout: Layout, name: str, read: Field) -> Taught:
    """A value the reader found and the reviewer removed: the supplier does not print this field, and what stood
    where it was read is no such value (a rule that drops it there next time)."""
    page = next((p for p in layout.pages if p.number == read.page), None)
    if read.bbox is None or page is None:
        return Taught(None, "the removed value had no place on the page; nothing learned")
    width, height = page.width, page.height
    if page.frame is not None:
        width, height = (v * page.frame.points_per_pixel for v in page.frame.received_px)
    box = read.bbox
    rule = Rule(field=name, page=read.page, zone=(box.x0 / width, box.y0 / height, box.x1 / width, box.y1 / height),
                absent=True)
    return Taught(rule, "not on this supplier's documents; a value read there is dropped", box=box, page=read.page)


def teach_line_cell(layout: Layout, lines: Sequence[LineItem], line_no: int, cell: str, value: FieldValue) -> Taught:
    """The rule that finds line cell `cell` of every item row again: the column it is printed in (by its title and
    its span), learned from the corrected value of line `line_no`."""
    layout = by_rows(layout)
    line = next((li for li in lines if li.line_no == line_no), None)
    band = row_band(line) if line is not None else None
    if band is None or value is None or value == "":
        return Taught(None, "the line has no place on the page; no layout rule learned")
    page = next((p for p in layout.pages if p.number == band[0]), None)
    if page is None:
        return Taught(None, "the line's page is not in the reading; no layout rule learned")
    probe = page_box(page, BBox(0, band[1], page.width, band[2]))
    name = f"line.{cell}"
    best = None
    for r, ln in enumerate(page.lines):
        if ln.bbox.y1 < probe.y0 - 2 or ln.bbox.y0 > probe.y1 + 2:
            continue
        for i in range(len(ln.words)):
            for span in candidate_spans(page, r, i, 4 if field_kind(cell) != "text" else MAX_SPAN):
                got = value_of(name, span.text)
                same = got == value if isinstance(value, (Decimal, date)) else _equal_text(span.text, str(value))
                if same and (best is None or len(span.words) < len(best.words)):
                    best = span
    if best is None:
        return Taught(None, f"line {line_no}'s {cell.replace('_', ' ')} is printed nowhere in its row; "
                            "no layout rule learned")
    tops = [b for b in (row_band(li) for li in lines) if b is not None and b[0] == band[0]]
    top = page_box(page, BBox(0, min(t[1] for t in tops), 1, min(t[1] for t in tops) + 1)).y0
    title = _column_title(page, best.box, top)
    box = best.box
    span = (box.x0 / page.width, box.x1 / page.width)
    rule = Rule(field=name, page=page.number, zone=(span[0], box.y0 / page.height, span[1], box.y1 / page.height),
                anchor="", words=len(best.words), shape="", column=title[0] if title else "",
                column_span=(round(float(span[0]), 4), round(float(span[1]), 4)))
    return Taught(rule, page=page.number, box=box)
