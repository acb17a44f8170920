"""`Extraction.from_json`: the one typed read-back of a stored reading (draft, reviewed copy, eval prediction).

It must be `to_json`'s inverse on what the readers write, type values by the field's kind, and read the shapes a
reviewed copy or a ground-truth file holds (bare values a person typed, extra keys that are not fields).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from extractors import BBox, DocumentType, Extraction, Field, Issue, LineItem, Severity, extract_or_fail
from extractors.result import field_kind

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


@pytest.mark.parametrize("path", sorted(p for p in DEMO.iterdir() if p.suffix in (".pdf", ".jpg")),
                         ids=lambda p: p.name)
def test_a_reading_comes_back_as_it_was_written(path: Path) -> None:
    written = extract_or_fail(path.read_bytes(), source=path.name).to_json()
    assert written["fields"], "the demo document should read"
    assert Extraction.from_json(written).to_json() == written


def test_values_are_typed_by_the_fields_kind() -> None:
    reading = Extraction.from_json({
        "document_type": "vat_invoice", "language": "zh",
        "fields": {"total_amount": {"value": "1130.00", "raw": "¥1,130.00", "confidence": 0.97, "page": 1,
                                    "bbox": [10, 20, 30, 40]},
                   "document_date": {"value": "2026-11-02", "raw": "2026年11月02日", "confidence": 0.9},
                   "document_number": {"value": "00012", "raw": "No. 00012", "confidence": 0.9},
                   "tax_rate_note": {"value": None, "raw": "税率", "confidence": 0.3}},
        "lines": [{"line_no": 1, "quantity": {"value": "2", "raw": "2", "confidence": 0.9},
                   "unit": {"value": "箱", "raw": "箱", "confidence": 0.9},
                   "product_match": {"id": "7", "candidates": []}, "product_id": 7, "uom_factor": "24"}],
        "issues": [{"code": "arithmetic_mismatch", "severity": "warning", "message": "m", "line_no": 1}],
    })
    assert reading.document_type is DocumentType.VAT_INVOICE
    assert reading.decimal("total_amount") == Decimal("1130.00") and reading.text("total_amount") == "1130.00"
    assert reading.fields["total_amount"].bbox == BBox(10.0, 20.0, 30.0, 40.0)
    assert reading.date("document_date") == date(2026, 11, 2)
    assert reading.text("document_number") == "00012" and reading.raw("document_number") == "No. 00012"
    assert reading.decimal("document_number") is None               # a number printed, but text by kind
    assert reading.text("tax_rate_note") == "" and reading.printed("tax_rate_note") == "税率"
    assert reading.text("absent") == "" and reading.decimal("absent") is None
    line = reading.lines[0]
    assert set(line.fields) == {"quantity", "unit"}                 # match and choices are not fields
    assert line.decimal("quantity") == Decimal(2) and line.printed("unit") == "箱"
    assert reading.issues == (Issue("arithmetic_mismatch", Severity.WARNING, "m", None, 1),)


def test_values_a_person_typed_read_as_the_field_they_went_into() -> None:
    reviewed = Extraction.from_json({
        "document_type": "delivery_note",
        "fields": {"due_date": "2026-12-01", "total_amount": 99.5, "po_number": "PO-7", "delivery_date": "soon"},
        "lines": [{"line_no": 2, "quantity": "12.5", "batch_no": 4711, "unit_price": "abc"}],
    })
    assert reviewed.date("due_date") == date(2026, 12, 1)
    assert reviewed.decimal("total_amount") == Decimal("99.5")
    assert reviewed.text("delivery_date") == "soon" and reviewed.date("delivery_date") is None   # kept, not lost
    line = reviewed.lines[0]
    assert line.decimal("quantity") == Decimal("12.5") and line.printed("batch_no") == "4711"
    assert line.decimal("unit_price") is None and line.text("unit_price") == "abc"


def test_an_empty_or_missing_reading_is_an_empty_extraction() -> None:
    for stored in (None, {}):
        reading = Extraction.from_json(stored)
        assert (reading.document_type, reading.fields, reading.lines) == (DocumentType.OTHER, {}, ())


def test_kinds_follow_the_contracts_names() -> None:
    assert [field_kind(n) for n in ("subtotal", "amount_due", "unit_price", "tax_rate", "quantity")] == ["decimal"] * 5
    assert [field_kind(n) for n in ("document_date", "expiry_date", "shipping_date")] == ["date"] * 3
    assert [field_kind(n) for n in ("total_amount_in_words", "document_number", "unit", "spec")] == ["text"] * 4


def test_round_trip_of_a_hand_built_extraction() -> None:
    built = Extraction(DocumentType.INVOICE, "de",
                       {"total_amount": Field(Decimal("10.50"), "10,50 €", 0.91, 1, BBox(1.5, 2, 3, 4)),
                        "document_date": Field(date(2026, 1, 31), "31.01.2026", 0.8, 1, None),
                        "supplier_name": Field("ACME GmbH", "ACME GmbH", 0.7)},
                       (LineItem(1, {"amount": Field(Decimal("-3.00"), "-3,00", 0.9, 2, BBox(5, 6, 7, 8))}),),
                       (Issue("credit_note", Severity.INFO, "a credit note", "total_amount"),),
                       pages=2, reader="text-layer", source="x.pdf", sha256="ab" * 32, timings_ms={"read": 1.5})
    assert Extraction.from_json(built.to_json()) == built


@pytest.mark.parametrize("stored", [
    {"fields": ["not", "a", "mapping"], "lines": {"1": {}}, "issues": "none"},
    {"document_type": {"x": 1}, "pages": "two", "fields": {"total_amount": {"value": {"nested": 1}, "confidence": "high",
                                                                          "page": "one", "bbox": [1, "b", 3, 4]}},
     "lines": [{"line_no": "x", "quantity": [1, 2]}, "not a line"], "issues": [{"severity": ["error"], "line_no": "3"}]},
])
def test_a_tampered_reading_reads_without_raising(stored: dict) -> None:
    reading = Extraction.from_json(stored)
    assert reading.decimal("total_amount") is None and reading.text("total_amount") == ""
    assert all(line.decimal("quantity") is None for line in reading.lines)
