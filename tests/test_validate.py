"""Content checks: each failure is an issue with a stable code."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from extractors.classify import classify, detect_language
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.result import DocumentType, Extraction, Field, LineItem
from extractors.validate import gtin_is_valid, validate


def _f(value) -> Field:
    return Field(value, str(value), 0.9, 1, BBox(0, 0, 1, 1))


def _extraction(fields: dict, lines: tuple = ()) -> Extraction:
    return Extraction(DocumentType.INVOICE, "en", {k: _f(v) for k, v in fields.items()}, lines)


def _codes(ex: Extraction) -> set[str]:
    return {i.code for i in validate(ex)}


def test_a_consistent_invoice_has_no_issues():
    line = LineItem(1, {"quantity": _f(Decimal("3")), "unit_price": _f(Decimal("2.50")), "amount": _f(Decimal("7.50"))})
    ex = _extraction({"document_number": "1", "document_date": date(2024, 1, 2), "due_date": date(2024, 2, 1),
                      "subtotal": Decimal("7.50"), "tax_amount": Decimal("1.43"), "total_amount": Decimal("8.93"),
                      "supplier_tax_id": "DE811907980"}, (line,))
    assert validate(ex) == []


def test_each_failure_has_its_code():
    line = LineItem(1, {"quantity": _f(Decimal("3")), "unit_price": _f(Decimal("2.50")), "amount": _f(Decimal("8.50")),
                        "barcode": _f("4012345001236")})
    ex = _extraction({"document_date": date(2024, 3, 1), "due_date": date(2024, 2, 1), "subtotal": Decimal("7.50"),
                      "tax_amount": Decimal("1.43"), "total_amount": Decimal("9.93"), "supplier_tax_id": "FR00123456789"},
                     (line,))
    assert {"line_arithmetic", "lines_sum_mismatch", "totals_mismatch", "gtin_check_digit", "due_before_issue",
            "tax_id_invalid", "missing_field"} <= _codes(ex)


def test_gtin_check_digits():
    assert gtin_is_valid("4012345001235") and gtin_is_valid("4000050986428")
    assert not gtin_is_valid("4012345001236") and not gtin_is_valid("12345")


def _layout(*rows: str, width: float = 595, height: float = 842) -> Layout:
    lines = tuple(Line((Word(t, BBox(10, 20 * i, 10 + 6 * len(t), 20 * i + 10)),)) for i, t in enumerate(rows))
    return Layout((Page(1, width, height, lines),), "text-layer")


def test_classify_and_language():
    assert classify(_layout("Rechnung Nr. 1", "Gesamtbetrag 10,00 EUR")) is DocumentType.INVOICE
    assert detect_language("Rechnung Nr. 1 Gesamtbetrag der Rechnung und die Steuer") == "de"
    assert detect_language("Facture n° 1, montant TTC, la TVA et le total") == "fr"
    assert classify(_layout("送货单", "品名 数量 单位")) is DocumentType.DELIVERY_NOTE
    assert classify(_layout("增值税电子普通发票", "发票代码")) is DocumentType.VAT_INVOICE
    till = _layout("SHOP SDN BHD", "CASH 10.00", "CHANGE 0.00", "THANK YOU", width=300, height=900)
    assert classify(till) is DocumentType.RECEIPT


def test_letter_spaced_chinese_titles_classify():
    assert classify(_layout("送 货 单", "客户：某某餐饮", "采购订单号：PO1")) is DocumentType.DELIVERY_NOTE
