"""Layout hints learned from a supplier's reviewed documents, applied to its next document."""

from __future__ import annotations

from datetime import date

from extractors.hints import HINT_CONFIDENCE, SupplierHints, apply_hints
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.result import DocumentType, Extraction, Field


def _layout(*rows: str) -> Layout:
    lines = []
    for i, row in enumerate(rows):
        words, x = [], 40.0
        for part in row.split():
            words.append(Word(part, BBox(x, 40 + 14 * i, x + 6 * len(part), 50 + 14 * i)))
            x += 6 * len(part) + 6
        lines.append(Line(tuple(words)))
    return Layout(pages=(Page(number=1, width=595, height=842, lines=tuple(lines)),), source="text-layer")


def _extraction(**fields: Field) -> Extraction:
    return Extraction(DocumentType.INVOICE, "en", fields, ())


def test_a_learned_po_label_finds_the_po_number():
    layout = _layout("Invoice 2024-117", "Your order ref. 4500012345 of 03/04/2024", "Total 120.00")
    got = apply_hints(_extraction(), layout, SupplierHints(po_label="Your order ref."))
    po = got.fields["po_number"]
    assert po.value == "4500012345" and po.confidence == HINT_CONFIDENCE and po.page == 1
    assert po.bbox is not None and po.bbox.y0 >= 54


def test_a_found_po_number_is_kept_and_an_absent_label_changes_nothing():
    layout = _layout("Your order ref. 4500012345")
    mine = _extraction(po_number=Field("PO-1", "PO-1", 0.9))
    assert apply_hints(mine, layout, SupplierHints(po_label="Your order ref.")) is mine
    assert "po_number" not in apply_hints(_extraction(), layout, SupplierHints(po_label="Bestellnummer")).fields


def test_the_suppliers_date_order_settles_an_ambiguous_date():
    guessed = Field(date(2024, 3, 4), "03/04/2024", 0.6)            # read month-first by the document guess
    got = apply_hints(_extraction(document_date=guessed), _layout("x"), SupplierHints(date_order="dmy"))
    assert got.fields["document_date"].value == date(2024, 4, 3)
    same = apply_hints(_extraction(document_date=guessed), _layout("x"), SupplierHints(date_order="mdy"))
    assert same.fields["document_date"].value == date(2024, 3, 4)
