"""Master data from import rows (DESIGN.md contract 5 columns)."""

from __future__ import annotations

from decimal import Decimal

from extractors import DocumentType, Extraction, Field, LineItem
from matching import MatchMethod, master_from_rows, match_document

PRODUCTS = [
    {"sku": "A-100", "name": "Widget Blue", "unit": "pcs", "barcode": "4006381333931", "aliases": "blue widget|wb",
     "tax_rate": "0.19", "spec": "50mm", "batch_tracked": "true", "shelf_life_days": "365"},
    {"sku": "A-200", "name": "Widget Red", "unit": "pcs", "conversions": "box=10"},
    {"sku": "", "name": "no sku", "unit": "pcs"},
]
SUPPLIERS = [{"name": "Acme GmbH", "tax_id": "DE123456789", "aliases": "ACME|Acme Werkzeuge"}]
LINKS = [{"supplier": "DE123456789", "supplier_sku": "X-1", "sku": "A-100", "unit": "box", "factor": "12",
          "price": "24.00"},
         {"supplier": "Nobody Ltd", "supplier_sku": "X-2", "sku": "A-100"}]
ORDERS = [{"po_number": "PO-1", "supplier": "Acme GmbH", "sku": "A-100", "quantity": "120", "unit": "pcs",
           "price": "2.00", "date": "2026-03-01"},
          {"po_number": "PO-1", "supplier": "Acme GmbH", "sku": "A-200", "quantity": "10", "unit": "pcs",
           "price": "3.00", "date": "2026-03-01"}]


def test_rows_build_a_master():
    read = master_from_rows(products=PRODUCTS, suppliers=SUPPLIERS, supplier_products=LINKS,
                            purchase_orders=ORDERS)
    master = read.master
    blue = master.product("A-100")
    assert blue.aliases == ("blue widget", "wb") and blue.tax_rate == Decimal("0.19") and blue.batch_tracked
    assert master.product("A-200").conversions == {"box": Decimal(10)}
    assert len(master.products) == 2
    assert [why for why, _ in read.skipped] == ["unknown supplier"]
    assert master.purchase_orders[0].supplier_id == "DE123456789" and len(master.purchase_orders[0].lines) == 2


def test_rows_master_matches_a_document():
    master = master_from_rows(products=PRODUCTS, suppliers=SUPPLIERS, supplier_products=LINKS,
                              purchase_orders=ORDERS).master
    f = lambda v: Field(v, str(v), 0.9)  # noqa: E731
    ex = Extraction(DocumentType.DELIVERY_NOTE, "en", {"supplier_name": f("ACME"), "po_number": f("PO-1")},
                    (LineItem(1, {"supplier_sku": f("X-1"), "unit": f("box"), "quantity": f(Decimal(10))}),
                     LineItem(2, {"description": f("Red widget"), "unit": f("box"), "quantity": f(Decimal(1))})))
    result = match_document(ex, master)
    assert result.supplier.id == "DE123456789" and result.supplier.method == MatchMethod.NAME
    first, second = result.lines
    assert (first.product.id, first.unit.quantity) == ("A-100", Decimal(120))
    assert (second.product.id, second.unit.factor) == ("A-200", Decimal(10))
    assert not [i for i in result.issues if i.code.startswith("po_") and i.code != "po_under_delivery"]
