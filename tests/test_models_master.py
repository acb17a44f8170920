"""Master data import and export: the demo files, CSV with and without BOM, XLSX, errors by row and column
with nothing imported, extra columns kept, updates by natural key, export -> import round trip."""

from __future__ import annotations

import io
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db_support import db_url, factory  # noqa: F401
from models.db import transaction
from models.errors import MasterImportError
from models.master_export import export_master
from models.master_io import guess_kind, import_master
from models.tables import Product, PurchaseOrderLine, Supplier, SupplierProduct

MASTER = Path(__file__).resolve().parents[1] / "fixtures" / "master"
ORDER = ("suppliers", "products", "supplier_products", "purchase_orders")


def _import_folder(factory, folder: Path) -> dict:
    reports = {}
    with transaction(factory) as session:
        for kind in ORDER:
            reports[kind] = import_master(session, (folder / f"{kind}.csv").read_bytes())
    return reports


def _count(factory, table) -> int:
    with transaction(factory) as session:
        return session.scalar(select(func.count()).select_from(table))


@pytest.mark.parametrize("company", ["food", "electronics"])
def test_demo_master_data_imports_cleanly(factory, company):
    reports = _import_folder(factory, MASTER / company)
    assert all(r.ok for r in reports.values()), {k: r.errors for k, r in reports.items()}
    assert {k: r.kind for k, r in reports.items()} == {k: k for k in ORDER}   # kinds told by the header
    assert _count(factory, Product) == reports["products"].created >= 8
    with transaction(factory) as session:
        names = [p.name for p in session.scalars(select(Product))]
        assert any("\u4e00" <= ch <= "\u9fff" for n in names for ch in n)          # Chinese names
        assert all(line.ordered_base > 0 for line in session.scalars(select(PurchaseOrderLine)))


def test_food_master_converts_printed_units_and_keeps_extra_columns(factory):
    _import_folder(factory, MASTER / "food")
    with transaction(factory) as session:
        rice = session.scalars(select(Product).where(Product.sku == "FD-RICE-KG")).one()
        assert (rice.unit, rice.unit_conversions, rice.tax_rate, rice.batch_tracked) == ("kg", {"袋": "10"}, D("0.09"), True)
        assert rice.extra == {"storage": "常温"} and "Rice" in rice.aliases
        nordfrost = session.scalars(select(Supplier).where(Supplier.tax_id == "DE811907980")).one()
        assert nordfrost.extra == {"contact": "Frau Meier"}
        peas = session.scalars(select(SupplierProduct).where(SupplierProduct.supplier_sku == "NF-1001")).one()
        assert (peas.supplier_name, peas.factor, peas.last_price) == ("Tiefkühl-Erbsen 2,5 kg", D("2.5"), D("6.4"))
        rice_line = session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.product_id == rice.id)).one()
        assert (rice_line.quantity, rice_line.factor, rice_line.ordered_base) == (D(60), D(10), D(600))


def test_errors_name_row_and_column_and_nothing_is_imported(factory):
    data = ("sku,name,unit,tax_rate,batch_tracked,shelf_life_days\n"
            "A1,Apple,kg,9%,yes,30\n"
            "A2,,kg,0.09,no,\n"
            "A3,Pear,kg,abc,no,\n"
            "A1,Apple again,kg,,no,\n"
            "A4,Plum,kg,,maybe,\n"
            "A5,,kg,x,maybe,ten\n").encode()
    with transaction(factory) as session:
        report = import_master(session, data)
    assert not report.ok and report.created == 0
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "name"), (4, "tax_rate"), (5, "sku"), (6, "batch_tracked"),
        (7, "name"), (7, "tax_rate"), (7, "batch_tracked"), (7, "shelf_life_days")]   # every bad cell of a row
    assert "row 2" in report.errors[2].reason
    assert _count(factory, Product) == 0


def test_missing_required_column_and_unknown_header():
    from models.master_io import KINDS
    assert guess_kind(("sku", "name", "unit")) == "products"
    assert guess_kind(("name", "tax_id")) == "suppliers"
    assert guess_kind(("supplier", "supplier_sku", "sku", "factor")) == "supplier_products"
    assert guess_kind(("po_number", "supplier", "sku", "quantity", "unit")) == "purchase_orders"
    assert guess_kind(("colour",)) is None
    assert set(KINDS) == {"products", "suppliers", "supplier_products", "purchase_orders"}


def test_unknown_kind_is_a_clear_error(factory):
    with pytest.raises(MasterImportError, match="Cannot tell"), transaction(factory) as session:
        import_master(session, b"colour,size\nred,L\n")
    with transaction(factory) as session:
        report = import_master(session, b"sku,name\nA,B\n", kind="products")
    assert [(e.row, e.column) for e in report.errors] == [(1, "unit")]


def test_bom_csv_and_xlsx_read_the_same(factory):
    from openpyxl import Workbook
    text = "sku,name,unit,aliases\nC1,咖啡豆 1kg,袋,Coffee beans|咖啡\n"
    book = Workbook()
    book.active.append(["SKU ", "Name", "Unit", "aliases"])
    book.active.append(["C2", "茶叶 500g", "罐", None])
    book.active.append([None, None, None, None])
    out = io.BytesIO()
    book.save(out)
    with transaction(factory) as session:
        assert import_master(session, text.encode("utf-8-sig")).created == 1
        assert import_master(session, out.getvalue()).created == 1
        products = {p.sku: p for p in session.scalars(select(Product))}
    assert products["C1"].aliases == ["Coffee beans", "咖啡"] and products["C2"].unit == "罐"


def test_reimport_updates_by_natural_key(factory):
    with transaction(factory) as session:
        import_master(session, b"sku,name,unit\nA,Apple,kg\n")
        report = import_master(session, b"sku,name,unit,category\nA,Red apple,kg,fruit\nB,Banana,kg,fruit\n")
    assert (report.created, report.updated) == (1, 1)
    with transaction(factory) as session:
        assert session.scalars(select(Product.name).where(Product.sku == "A")).one() == "Red apple"


def test_po_with_an_unknown_unit_names_the_column(factory):
    with transaction(factory) as session:
        import_master(session, b"name,tax_id\nAcme,91310115MA1H7R5K32\n")
        import_master(session, b"sku,name,unit\nA,Apple,kg\n")
        report = import_master(session, b"po_number,supplier,sku,quantity,unit,date\nPO1,Acme,A,2,crate,\n"
                                        b"PO1,Nobody,A,1,kg,\nPO2,Acme,Z,-1,kg,31.12.2026\n")
    assert [(e.row, e.column) for e in report.errors] == [(2, "unit"), (3, "supplier"), (4, "sku"), (4, "quantity"),
                                                          (4, "date")]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_round_trips(factory, fmt):
    _import_folder(factory, MASTER / "electronics")
    with transaction(factory) as session:
        files = {kind: export_master(session, kind, fmt=fmt) for kind in ORDER}
        before = {p.sku: (p.name, p.aliases, p.unit_conversions, p.tax_rate, p.extra)
                  for p in session.scalars(select(Product))}
    with transaction(factory) as session:
        reports = [import_master(session, files[kind]) for kind in ORDER]
        after = {p.sku: (p.name, p.aliases, p.unit_conversions, p.tax_rate, p.extra)
                 for p in session.scalars(select(Product))}
    assert all(r.ok and r.created == 0 for r in reports), [r.errors for r in reports]
    assert after == before
