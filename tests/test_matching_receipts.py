"""Issue 17: a document that is the receipt is compared against the PO's open quantity, never as an invoice
against receipts; a batch-tracked product without a batch number keeps a document from being `ready`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from extractors import DocumentType, Extraction, Field, LineItem, Severity
from matching import MasterData, POLine, Product, PurchaseOrder, Supplier, SupplierProduct, match_document
from matching.orders import ReceivedLine, check_against_po, is_invoice

D = Decimal
PRODUCTS = [Product("P1", "FD-MILK", "全脂牛奶", "盒", spec="250ml", batch_tracked=True),
            Product("P2", "FD-RICE", "大米", "kg", spec="东北长粒香")]
SUPPLIERS = [Supplier("S1", "上海鑫源食品有限公司", tax_id="91310000MA1FL0XX1X")]
LINKS = [SupplierProduct("S1", "P1", supplier_sku="XY-MILK"), SupplierProduct("S1", "P2", supplier_sku="XY-RICE")]
FRESH = PurchaseOrder("PO-1", "S1", date(2026, 3, 1),
                      (POLine(1, "P1", ordered=D(10000), received=D(0)),
                       POLine(2, "P2", ordered=D(500), received=D(0))))
HALF = PurchaseOrder("PO-2", "S1", date(2026, 3, 1), (POLine(1, "P1", ordered=D(10000), received=D(4000)),))


def _master(*orders: PurchaseOrder) -> MasterData:
    return MasterData.build(products=PRODUCTS, suppliers=SUPPLIERS, supplier_products=LINKS, purchase_orders=orders)


def _f(value) -> Field:
    return Field(value, str(value), 0.99)


def _document(kind: DocumentType, lines: list[dict], po: str = "PO-1") -> Extraction:
    fields = {"supplier_name": _f("上海鑫源食品有限公司"), "supplier_tax_id": _f("91310000MA1FL0XX1X"),
              "document_number": _f("SH-0412"), "document_date": _f(date(2026, 3, 5)), "po_number": _f(po)}
    items = tuple(LineItem(i, {k: _f(v) for k, v in line.items()}) for i, line in enumerate(lines, start=1))
    return Extraction(kind, "zh", fields, items, sha256="s")


MILK = {"supplier_sku": "XY-MILK", "description": "全脂牛奶 250ml", "unit": "盒", "quantity": D(10000),
        "batch_no": "20260301"}
RICE = {"supplier_sku": "XY-RICE", "description": "大米", "unit": "kg", "quantity": D(500)}


@pytest.mark.parametrize("kind", [DocumentType.DELIVERY_NOTE, DocumentType.RECEIPT, DocumentType.OTHER])
def test_a_document_that_is_the_receipt_is_compared_with_what_is_open(kind):
    result = match_document(_document(kind, [MILK, RICE]), _master(FRESH))
    messages = [i.message for i in result.issues]
    assert not any("invoiced" in m for m in messages), messages
    assert "invoice_exceeds_receipt" not in {i.code for i in result.issues}
    assert result.po_number == "PO-1" and [lm.po_line.line_no for lm in result.lines] == [1, 2]
    assert not result.needs_review                       # exactly what the PO has open: nothing to say


def test_a_delivery_note_over_the_open_quantity_says_delivered_not_invoiced():
    over = {**MILK, "quantity": D(12000)}
    issues = match_document(_document(DocumentType.DELIVERY_NOTE, [over]), _master(FRESH)).issues
    assert [(i.code, i.message) for i in issues] == [
        ("po_over_delivery", "Line 1: 12000 delivered, 10000 open on PO-1 line 1.")]


def test_an_invoice_is_checked_against_what_was_received():
    issues = match_document(_document(DocumentType.VAT_INVOICE, [MILK], po="PO-2"), _master(HALF)).issues
    assert [(i.code, i.message) for i in issues] == [
        ("invoice_exceeds_receipt", "Line 1: 10000 invoiced, 4000 received on PO-2 line 1.")]


def test_an_invoice_for_goods_nothing_received_yet_is_their_receipt():
    """Nothing delivered on those PO lines: this invoice will be posted as the receipt, so it is compared with
    what the PO has open ("10000 invoiced, 0 received" says nothing a clerk can act on)."""
    for kind in (DocumentType.INVOICE, DocumentType.VAT_INVOICE):
        result = match_document(_document(kind, [MILK, RICE]), _master(FRESH))
        assert result.issues == () and not result.needs_review
        over = match_document(_document(kind, [{**MILK, "quantity": D(12000)}]), _master(FRESH)).issues
        assert [i.code for i in over] == ["po_over_delivery"]


def test_is_invoice_only_for_invoices():
    assert is_invoice(_document(DocumentType.INVOICE, []))
    assert is_invoice(_document(DocumentType.VAT_INVOICE, []))
    for kind in (DocumentType.DELIVERY_NOTE, DocumentType.RECEIPT, DocumentType.PURCHASE_ORDER, DocumentType.OTHER):
        assert not is_invoice(_document(kind, []))


def test_check_against_po_three_way_needs_a_receipt_to_compare_with():
    refs, issues = check_against_po(FRESH, [ReceivedLine(1, "P1", D(10000), None)], three_way=True)
    assert refs[1].line_no == 1 and issues == []
    _, issues = check_against_po(HALF, [ReceivedLine(1, "P1", D(10000), None)], three_way=True)
    assert [i.code for i in issues] == ["invoice_exceeds_receipt"]


def test_a_batch_tracked_line_without_a_batch_number_is_not_ready():
    no_batch = {k: v for k, v in MILK.items() if k != "batch_no"}
    result = match_document(_document(DocumentType.DELIVERY_NOTE, [no_batch, RICE]), _master(FRESH))
    batch = [i for i in result.issues if i.code == "batch_required"]
    assert [(i.line_no, i.field, i.severity, i.message) for i in batch] == [
        (1, "batch_no", Severity.ERROR, "Line 1: FD-MILK needs a batch number.")]
    assert result.needs_review                          # the pipeline's draft says needs_review, never ready
    with_batch = match_document(_document(DocumentType.DELIVERY_NOTE, [MILK, RICE]), _master(FRESH))
    assert not [i for i in with_batch.issues if i.code == "batch_required"] and not with_batch.needs_review


def test_the_draft_of_a_line_without_batch_or_factor_needs_review():
    from pipeline.stages import draft
    no_batch = {k: v for k, v in MILK.items() if k != "batch_no"}
    extraction = _document(DocumentType.DELIVERY_NOTE, [no_batch])
    assert draft(extraction, match_document(extraction, _master(FRESH)), {}).status == "needs_review"
    boxes = {**RICE, "unit": "袋"}                          # no factor known for a 袋 of rice
    extraction = _document(DocumentType.DELIVERY_NOTE, [MILK, boxes])
    match = match_document(extraction, _master(FRESH))
    assert "unit_unknown" in {i.code for i in match.issues}
    assert draft(extraction, match, {}).status == "needs_review"
    extraction = _document(DocumentType.DELIVERY_NOTE, [MILK, RICE])
    assert draft(extraction, match_document(extraction, _master(FRESH)), {}).status == "ready"
