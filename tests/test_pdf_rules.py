"""Ruled tables read with their rules (issue 14): PDFium path objects -> `Page.rules` -> column x-ranges.

The PDFs are drawn here with fpdf2, the way an office suite or a reporting tool prints a ruled grid: cell
borders as lines or as rectangles, titles left in their cells, numbers right-aligned far from them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from fpdf import FPDF

from extractors.extract import extract_from_layout
from extractors.layout import Layout
from extractors.options import ReadOptions
from extractors.pdf_rules import horizontal, vertical
from extractors.reader import read_pdf_layout

# x edges of the cells: description, quantity (wide cell, title left, number right), price, amount
EDGES = (20.0, 110.0, 150.0, 175.0, 200.0)
ROWS = (("Hex bolt M8x40", "12", "18.11", "217.32"), ("Cable ties 200mm", "3", "2.50", "7.50"))


def _ruled_invoice(*, rectangles: bool) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.text(20, 20, "Kestrel Components GmbH")
    pdf.text(20, 25, "Invoice no. 2025-0417")
    pdf.text(20, 30, "Date: 12.03.2025")
    top, h = 50.0, 7.0
    titles = ("Description", "Qty", "Price", "Amount")
    for r, cells in enumerate((titles, *ROWS)):
        y = top + r * h
        for k, text in enumerate(cells):
            x0, x1 = EDGES[k], EDGES[k + 1]
            if rectangles:
                pdf.rect(x0, y, x1 - x0, h)
            width = pdf.get_string_width(text)
            # titles and descriptions start at the cell's left edge; numbers end at its right edge
            x = x0 + 1.0 if r == 0 or k == 0 else x1 - 1.0 - width
            pdf.text(x, y + 5.0, text)
    if not rectangles:
        bottom = top + (len(ROWS) + 1) * h
        for x in EDGES:
            pdf.line(x, top, x, bottom)
        for r in range(len(ROWS) + 2):
            pdf.line(EDGES[0], top + r * h, EDGES[-1], top + r * h)
    pdf.text(150, top + (len(ROWS) + 2) * h, "Total 224.82")
    return bytes(pdf.output())


@pytest.mark.parametrize("rectangles", [False, True], ids=["lines", "cell-rectangles"])
def test_rules_of_a_ruled_grid_are_on_the_page(rectangles: bool) -> None:
    page = read_pdf_layout(_ruled_invoice(rectangles=rectangles), ReadOptions()).pages[0]
    xs = sorted({round(r.cx / 72 * 25.4) for r in vertical(page.rules)})
    assert xs == [round(x) for x in EDGES]
    assert len({round(r.cy / 72 * 25.4) for r in horizontal(page.rules)}) == len(ROWS) + 2
    back = Layout.from_json(Layout((page,), "text-layer").to_json()).pages[0]
    assert [r.rounded(3) for r in back.rules] == [r.rounded(3) for r in page.rules]


@pytest.mark.parametrize("rectangles", [False, True], ids=["lines", "cell-rectangles"])
def test_a_number_far_from_its_title_belongs_to_the_ruled_cell_it_is_printed_in(rectangles: bool) -> None:
    # the quantity sits right-aligned in a wide cell, nearer the price title than its own
    out = extract_from_layout(read_pdf_layout(_ruled_invoice(rectangles=rectangles), ReadOptions()))
    quantities = [it.fields["quantity"].value for it in out.lines]
    amounts = [it.fields["amount"].value for it in out.lines]
    assert quantities == [Decimal("12"), Decimal("3")]
    assert amounts == [Decimal("217.32"), Decimal("7.50")]


def test_the_same_table_without_its_rules_misreads_the_far_number() -> None:
    """The rules are what places the number: with them taken off the page, the quantity is lost."""
    from dataclasses import replace
    layout = read_pdf_layout(_ruled_invoice(rectangles=False), ReadOptions())
    bare = replace(layout, pages=tuple(replace(p, rules=()) for p in layout.pages))
    quantities = [it.fields.get("quantity") for it in extract_from_layout(bare).lines]
    assert [q.value if q else None for q in quantities] != [Decimal("12"), Decimal("3")]
