"""Supplier, product, unit and purchase-order matching, duplicates, and the whole-document door."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from extractors import DocumentType, Extraction, Field, LineItem
from matching import (
    DocumentKey, MasterData, MatchMethod, POLine, PrintedLine, PrintedSupplier, Product, PurchaseOrder, Supplier,
    SupplierProduct, convert_unit, find_duplicate, match_document, match_product, match_supplier, search_products,
)

D = Decimal

PRODUCTS = [
    Product("P1", "DR-0001", "可口可乐 碳酸饮料", "瓶", barcodes=("6901234567892",), spec="330ml 罐装",
            conversions={"箱": D(24)}),
    Product("P2", "DR-0002", "可口可乐 碳酸饮料", "瓶", spec="500ml 瓶装", conversions={"箱": D(24)}),
    Product("P3", "EL-0003", "贴片电阻", "个", spec="0603 10kΩ ±1% 1/10W", conversions={"卷": D(5000)}),
    Product("P4", "EL-0004", "贴片电阻", "个", spec="0805 10kΩ ±1% 1/8W", conversions={"卷": D(5000)}),
    Product("P5", "HW-0005", "Hex Socket Cap Screw A2 Stainless", "pcs", spec="M4x12"),
    Product("P6", "HW-0006", "Hex Socket Cap Screw A2 Stainless", "pcs", spec="M4x16"),
    Product("P7", "FD-0007", "大米", "kg", spec="东北长粒香"),
    Product("P8", "FD-0008", "Heinz Tomato Ketchup", "bottle", spec="500g"),
]
SUPPLIERS = [
    Supplier("S1", "深圳市华强电子有限公司", tax_id="91440300MA5FXXXX1X", phone="0755-83210000",
             bank_account="6222020200112233445"),
    Supplier("S2", "Acme Components Co., Ltd.", tax_id="DE123456789", aliases=("ACME HK",)),
    Supplier("S3", "上海鑫源食品有限公司"),
]
LINKS = [SupplierProduct("S1", "P3", supplier_sku="HQ-R0603-103", unit="盘", factor=D(5000))]
ORDERS = [PurchaseOrder("PO-2026-001", "S1", date(2026, 3, 1),
                        (POLine(1, "P3", ordered=D(10000), received=D(0), price=D("0.01")),
                         POLine(2, "P4", ordered=D(5000), received=D(5000), price=D("0.012"))))]


@pytest.fixture(scope="module")
def master() -> MasterData:
    return MasterData.build(products=PRODUCTS, suppliers=SUPPLIERS, supplier_products=LINKS,
                            purchase_orders=ORDERS)


# --- suppliers -------------------------------------------------------------------------------------------------

def test_supplier_by_tax_id_despite_ocr(master):
    m, proposal = match_supplier(PrintedSupplier("whatever", tax_id="9144O300MA5FXXXX1X"), master)
    assert (m.id, m.method, m.auto_accepted, proposal) == ("S1", MatchMethod.TAX_ID, True, None)


def test_supplier_by_name_without_legal_form(master):
    m, _ = match_supplier(PrintedSupplier("ACME COMPONENTS LIMITED"), master)
    assert m.id == "S2" and m.method == MatchMethod.NAME


def test_supplier_fuzzy_with_candidates(master):
    m, _ = match_supplier(PrintedSupplier("深圳华强电子有眼公司"), master)
    assert m.id == "S1" and m.method == MatchMethod.FUZZY and m.candidates[0].id == "S1"


def test_unknown_supplier_is_proposed(master):
    m, proposal = match_supplier(PrintedSupplier("Tyrell Robotics GmbH", tax_id="DE999999999", phone="+49 1"),
                                 master)
    assert m.id is None and proposal is not None
    assert (proposal.name, proposal.tax_id) == ("Tyrell Robotics GmbH", "DE999999999")


# --- products --------------------------------------------------------------------------------------------------

def test_supplier_sku_first(master):
    m = match_product(PrintedLine(1, "电阻 随便", supplier_sku="HQ-R0603-1O3"), "S1", master)
    assert (m.id, m.method, m.score) == ("P3", MatchMethod.SUPPLIER_SKU, 1.0)


def test_barcode_needs_a_valid_check_digit(master):
    assert match_product(PrintedLine(1, "cola", barcode="6901234567892"), "", master).method == MatchMethod.BARCODE
    assert match_product(PrintedLine(1, "cola", barcode="6901234567893"), "", master).method != MatchMethod.BARCODE


def test_our_sku_printed(master):
    m = match_product(PrintedLine(1, "Screws", supplier_sku="HW-OOO6"), "", master)
    assert (m.id, m.method) == ("P6", MatchMethod.CODE)


@pytest.mark.parametrize("text, expected", [
    ("*饮料*可口可乐330ML", "P1"),
    ("可口可乐 0.5L", "P2"),
    ("电阻 0805 10K 1%", "P4"),
    ("贴片电阻 0603 10kΩ", "P3"),
    ("Hex Skt Cap Scr SS M4*16", "P6"),
    ("HEINZ KETCHUP 500G", "P8"),
])
def test_fuzzy_picks_the_right_size(master, text, expected):
    m = match_product(PrintedLine(1, text), "", master)
    assert m.id == expected and m.method == MatchMethod.FUZZY
    assert len(m.candidates) >= 2 and m.candidates[0].id == expected


def test_missing_size_is_never_auto_accepted(master):
    m = match_product(PrintedLine(1, "可口可乐碳酸饮料"), "", master)
    assert m.id in ("P1", "P2") and not m.auto_accepted
    assert {c.id for c in m.candidates} >= {"P1", "P2"}


@pytest.mark.parametrize("typed, first", [
    ("HW-0006", "P6"),                      # our SKU, exactly
    ("6901234567892", "P1"),                # the barcode
    ("电阻 0805", "P4"),                     # part of a Chinese name and a size
    ("ketchp", "P8"),                       # a typo
    ("cap screw m4x12", "P5"),
])
def test_the_search_box_finds_what_a_person_types(master, typed, first):
    found = search_products(typed, master, limit=5)
    assert found and found[0].id == first and len({c.id for c in found}) == len(found)


def test_the_search_box_lists_weak_matches_too(master):
    assert [c.id for c in search_products("可乐", master)][:2] in (["P1", "P2"], ["P2", "P1"])
    assert search_products("zzzz qqqq", master) == []


def test_nothing_alike_gives_no_match(master):
    m = match_product(PrintedLine(1, "Quantum flux capacitor warp"), "", master)
    assert m.id is None


# --- units -----------------------------------------------------------------------------------------------------

def _convert(master, unit, product_id, *, supplier="", description="", qty="2", price="48"):
    return convert_unit(printed_unit=unit, quantity=D(qty), unit_price=D(price), product=master.product(product_id),
                        supplier_id=supplier, master=master, description=description)


@pytest.mark.parametrize("unit, product, supplier, description, factor, source", [
    ("瓶", "P1", "", "", "1", "same"),
    ("箱", "P1", "", "", "24", "product"),
    ("盘", "P3", "S1", "", "5000", "supplier_product"),
    ("斤", "P7", "", "", "0.5", "standard"),
    ("公斤", "P7", "", "", "1", "same"),
    ("g", "P7", "", "", "0.001", "standard"),
    ("t", "P7", "", "", "1000", "standard"),
    ("打", "P5", "", "", "12", "standard"),
    ("PCS.", "P5", "", "", "1", "same"),
    ("个", "P5", "", "", "1", "same"),
    ("case", "P8", "", "Heinz Ketchup 500g 12 bottles/case", "12", "pack_size"),
])
def test_unit_factors(master, unit, product, supplier, description, factor, source):
    conv, issues = _convert(master, unit, product, supplier=supplier, description=description)
    assert (conv.factor, conv.source, issues) == (D(factor), source, [])


def test_converted_quantity_and_unit_cost(master):
    conv, _ = _convert(master, "箱", "P1", qty="2", price="48")
    assert conv.quantity == D(48) and conv.unit_cost == D(2)


def test_unknown_unit_is_an_issue_not_a_guess(master):
    conv, issues = _convert(master, "提", "P1")
    assert conv.factor is None and conv.quantity is None
    assert [i.code for i in issues] == ["unit_unknown"]


# --- documents, purchase orders, duplicates --------------------------------------------------------------------

def _f(value) -> Field:
    return Field(value, str(value), 0.9)


def _extraction(lines, *, po="PO-2026-001", number="DN-1", doc_type=DocumentType.DELIVERY_NOTE, sha="abc"):
    fields = {"supplier_name": _f("深圳市华强电子有限公司"), "supplier_tax_id": _f("91440300MA5FXXXX1X"),
              "document_number": _f(number), "document_date": _f(date(2026, 3, 5)), "po_number": _f(po),
              "total_amount": _f(D("100.00"))}
    items = tuple(LineItem(i, {k: _f(v) for k, v in line.items()}) for i, line in enumerate(lines, start=1))
    return Extraction(doc_type, "zh", fields, items, sha256=sha)


def test_match_document_with_po_checks(master):
    ex = _extraction([
        {"supplier_sku": "HQ-R0603-103", "description": "贴片电阻", "unit": "盘", "quantity": D(3),
         "unit_price": D("60")},                                           # 15000 pcs, 10000 open; 0.012 vs 0.01
        {"description": "贴片电阻 0805 10kΩ ±1%", "unit": "个", "quantity": D(100), "unit_price": D("0.012")},
        {"description": "Hex Socket Cap Screw A2 Stainless M4x12", "unit": "pcs", "quantity": D(10)},
    ])
    result = match_document(ex, master)
    assert result.supplier.id == "S1" and result.po_number == "PO-2026-001"
    first = result.lines[0]
    assert first.product.id == "P3" and first.unit.factor == D(5000) and first.unit.quantity == D(15000)
    assert first.po_line.line_no == 1
    codes = {(i.code, i.line_no) for i in result.issues}
    assert ("po_over_delivery", 1) in codes and ("po_price_variance", 1) in codes
    assert ("po_over_delivery", 2) in codes                               # nothing left open on line 2
    assert ("po_line_missing", 3) in codes
    assert result.needs_review
    js = result.to_json()
    assert js["supplier_match"]["method"] == "tax_id" and js["lines"][0]["product_match"]["uom_factor"] == "5000"


def test_po_found_without_a_printed_number(master):
    ex = _extraction([{"supplier_sku": "HQ-R0603-103", "unit": "盘", "quantity": D(2), "unit_price": D(50)}], po="")
    result = match_document(ex, master)
    assert result.po_number == "PO-2026-001"
    assert not [i for i in result.issues if i.code.startswith("po_")]


def test_unknown_po_number_is_an_issue(master):
    result = match_document(_extraction([], po="PO-404"), master)
    assert [i.code for i in result.issues] == ["po_not_found"]


def test_invoice_checks_three_ways(master):
    ex = _extraction([{"description": "贴片电阻 0805 10kΩ ±1%", "unit": "个", "quantity": D(6000),
                       "unit_price": D("0.012")}], doc_type=DocumentType.VAT_INVOICE)
    codes = [i.code for i in match_document(ex, master).issues]
    assert "invoice_exceeds_receipt" in codes and "po_over_delivery" not in codes


def test_duplicates():
    known = [DocumentKey("d1", "aaa", "S1", "INV-001", D("10.00")), DocumentKey("d2", "bbb", "S1", "INV-002")]
    assert find_duplicate(DocumentKey("d3", "aaa"), known).first_id == "d1"
    dup = find_duplicate(DocumentKey("d3", "ccc", "S1", "INV-0O1", D("10.00")), known)
    assert dup.first_id == "d1" and dup.issue().code == "duplicate_document"
    assert find_duplicate(DocumentKey("d3", "ccc", "S1", "INV-001", D("11.00")), known) is None
    assert find_duplicate(DocumentKey("d3", "ccc", "S2", "INV-001"), known) is None
    assert find_duplicate(DocumentKey("d1", "aaa"), known) is None            # itself


def test_document_flags_its_duplicate(master):
    ex = _extraction([], po="", number="DN-7", sha="s2")
    known = [DocumentKey("first", "s1", "S1", "DN-7", D("100.00"))]
    result = match_document(ex, master, known_documents=known, document_id="second")
    assert [i.code for i in result.issues] == ["duplicate_document"]
    assert "first" in result.issues[0].message


def test_no_printed_unit_is_not_guessed_from_a_pack(master):
    conv, issues = _convert(master, "", "P8", description="Heinz Ketchup 500g x 12")
    assert conv.factor is None and [i.code for i in issues] == ["unit_unknown"]


def test_partial_delivery_within_price_tolerance(master):
    ex = _extraction([{"supplier_sku": "HQ-R0603-103", "unit": "盘", "quantity": D(1), "unit_price": D("50.5")}])
    result = match_document(ex, master)
    assert [(i.code, i.severity) for i in result.issues] == [("po_under_delivery", "info")]
    assert result.lines[0].po_line.open_quantity == D(10000)


def test_snapshot_pickles_for_workers(master):
    import pickle
    again = pickle.loads(pickle.dumps(master))
    assert match_product(PrintedLine(1, "可口可乐 0.5L"), "", again).id == "P2"
