"""Master data out, in the import layout of models.master_io (known columns, then the extra ones), so that an
export imports back unchanged.  Purchase orders add `received` and `open` (in the PO unit), which import ignores.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.tables import Product, PurchaseOrder, PurchaseOrderLine, Supplier, SupplierProduct
from models.tabular import write_csv, write_xlsx


def export_master(session: Session, kind: str, *, fmt: str = "csv") -> bytes:
    """All records of one kind in the import layout (known columns, then extra ones), as CSV or XLSX."""
    header, rows = _EXPORTERS[kind](session)
    extras = sorted({k for _, extra in rows for k in extra})
    table = [values + [extra.get(k, "") for k in extras] for values, extra in rows]
    if fmt == "xlsx":
        return write_xlsx(header + extras, table, title=kind)
    return write_csv(header + extras, table)


def _products_out(session: Session) -> tuple[list[str], list]:
    header = ["sku", "name", "unit", "barcode", "aliases", "category", "tax_rate", "spec", "batch_tracked",
              "shelf_life_days", "allow_negative", "unit_conversions"]
    rows = [([p.sku, p.name, p.unit, "|".join(p.barcodes or []), "|".join(p.aliases or []), p.category,
              p.tax_rate, p.spec, p.batch_tracked, p.shelf_life_days, p.allow_negative,
              "|".join(f"{u}={f}" for u, f in (p.unit_conversions or {}).items())], p.extra or {})
            for p in session.scalars(select(Product).order_by(Product.sku))]
    return header, rows


def _suppliers_out(session: Session) -> tuple[list[str], list]:
    header = ["name", "tax_id", "aliases", "address", "phone", "bank_account", "email"]
    rows = [([s.name, s.tax_id, "|".join(s.aliases or []), s.address, s.phone, s.bank_account, s.email],
             s.extra or {}) for s in session.scalars(select(Supplier).order_by(Supplier.name))]
    return header, rows


def _supplier_products_out(session: Session) -> tuple[list[str], list]:
    header = ["supplier", "supplier_sku", "supplier_name", "sku", "unit", "factor", "price"]
    query = (select(SupplierProduct, Supplier, Product).join(Supplier, Supplier.id == SupplierProduct.supplier_id)
             .join(Product, Product.id == SupplierProduct.product_id).order_by(Supplier.name, SupplierProduct.id))
    rows = [([s.tax_id or s.name, sp.supplier_sku, sp.supplier_name, p.sku, sp.unit, sp.factor, sp.last_price],
             sp.extra or {}) for sp, s, p in session.execute(query)]
    return header, rows


def _purchase_orders_out(session: Session) -> tuple[list[str], list]:
    header = ["po_number", "supplier", "sku", "quantity", "unit", "price", "date", "line_no", "factor",
              "received", "open"]
    query = (select(PurchaseOrderLine, PurchaseOrder, Supplier, Product)
             .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
             .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
             .join(Product, Product.id == PurchaseOrderLine.product_id)
             .order_by(PurchaseOrder.po_number, PurchaseOrderLine.line_no))
    rows = [([po.po_number, s.tax_id or s.name, p.sku, line.quantity, line.unit, line.price, po.order_date,
              line.line_no, line.factor, line.received_base / line.factor,
              (line.ordered_base - line.received_base) / line.factor], line.extra or {})
            for line, po, s, p in session.execute(query)]
    return header, rows


_EXPORTERS = {"products": _products_out, "suppliers": _suppliers_out,
              "supplier_products": _supplier_products_out, "purchase_orders": _purchase_orders_out}
