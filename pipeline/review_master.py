"""Master data made on the review desk (issue 17): a product from a document's line, with its link to the
document's supplier (supplier_products), and the proposed new supplier.  Both go through models.master_io (the
checks of a master import, one row) and then correct the document as a person's choice does
(pipeline.review.correct_document: history rows, learned facts); the matcher's master snapshot follows by itself
(pipeline.master_snapshot.MasterCache sees the new rows).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from extractors import LineItem
from matching import MasterData
from models.documents import get_document, note
from models.errors import NotPostable
from models.master_io import import_master
from models.tables import Document, Product, Supplier
from pipeline.review import Corrections, positive_decimal, correct_document, in_own_unit, merged_extraction

def create_line_product(session: Session, document_id: int, line_no: int, values: dict, *, who: str,
                        master: MasterData | None = None) -> int:
    """A new product made from line `line_no` (`values`: sku, name, unit, spec, category, batch_tracked, ... as
    the products import takes them) and its link to the document's supplier (supplier_products: the supplier's
    SKU or name as printed on the line, the printed unit, `factor` base units per printed unit); the line then
    uses it.  Returns the product id.  An SKU already in the master is refused (pick that product instead)."""
    document = get_document(session, document_id)
    line = next((x for x in (merged_extraction(document) or {}).get("lines") or () if x.get("line_no") == line_no),
                None)
    if line is None:
        raise NotPostable(f"The document has no line {line_no}.")
    sku = str(values.get("sku") or "").strip()
    if not sku or not str(values.get("name") or "").strip() or not str(values.get("unit") or "").strip():
        raise NotPostable("A new product needs its SKU, name and unit.")
    if session.scalar(select(Product.id).where(Product.sku == sku)) is not None:
        raise NotPostable(f"A product with SKU {sku} exists already; pick it instead.")
    row = {key: str(values.get(key) or "").strip() for key in
           ("sku", "name", "unit", "spec", "category", "barcode", "aliases", "tax_rate", "shelf_life_days")}
    row["batch_tracked"] = "yes" if values.get("batch_tracked") not in (None, "", False, "0", "no", "false") else "no"
    _imported(import_master(session, _csv_bytes([row]), kind="products"))
    product = session.scalars(select(Product).where(Product.sku == sku)).one()
    item = LineItem.from_json(line)
    printed_unit = item.printed("unit") or product.unit
    factor = values.get("factor")
    factor = positive_decimal(factor, "factor") if factor not in (None, "") else (
        Decimal(1) if in_own_unit(printed_unit, product.unit) else None)
    supplier = session.get(Supplier, document.supplier_id) if document.supplier_id else \
        _matched_supplier(session, document)
    link_key = str(values.get("supplier_sku") or item.printed("supplier_sku") or "").strip()
    link_name = item.printed("description") or ""
    if supplier is not None and (link_key or link_name):
        link = {"supplier": supplier.tax_id or supplier.name, "sku": sku, "supplier_sku": link_key,
                "supplier_name": "" if link_key else link_name, "unit": printed_unit,
                "factor": "" if factor is None else format(factor, "f"),
                "price": format(item.decimal("unit_price"), "f") if item.decimal("unit_price") is not None else ""}
        _imported(import_master(session, _csv_bytes([link]), kind="supplier_products"))
        why = f"created from line {line_no}, linked to supplier {supplier.id} as '{link_key or link_name}'"
    else:
        why = f"created from line {line_no}; the supplier is not known, so no supplier link was made"
    note(session, document.id, who=who, path=f"master.products.{product.id}", after=sku, why=why)
    change: dict[str, Any] = {"line_no": line_no, "product_id": product.id}
    if factor is not None:
        change["uom_factor"] = format(factor, "f")
    correct_document(session, document_id, Corrections(fields={}, lines=(change,)), who=who, master=master)
    return product.id


def create_document_supplier(session: Session, document_id: int, values: dict, *, who: str,
                             master: MasterData | None = None) -> int:
    """The proposed new supplier (as read, as edited: name, tax_id, address, phone, bank_account, email) created
    and set as the document's supplier, as a supplier correction does (the printed name becomes its alias).
    A tax id already in the master is refused (pick that supplier instead).  Returns the supplier id."""
    get_document(session, document_id)
    row = {key: str(values.get(key) or "").strip()
           for key in ("name", "tax_id", "address", "phone", "bank_account", "email")}
    if not row["name"]:
        raise NotPostable("A new supplier needs its name.")
    tax = row["tax_id"].upper()
    clash = select(Supplier.id).where(Supplier.tax_id == tax) if tax else select(Supplier.id).where(
        Supplier.name == row["name"])
    if session.scalar(clash) is not None:
        raise NotPostable(f"The supplier {tax or row['name']} exists already; pick it instead.")
    _imported(import_master(session, _csv_bytes([row]), kind="suppliers"))
    supplier_id = session.scalar(select(Supplier.id).where(Supplier.tax_id == tax) if tax else
                                 select(Supplier.id).where(Supplier.name == row["name"]))
    note(session, document_id, who=who, path=f"master.suppliers.{supplier_id}", after=row["name"],
         why="created from the document's proposed new supplier")
    correct_document(session, document_id, Corrections(fields={}, lines=(), supplier_id=supplier_id),
                     who=who, master=master)
    return supplier_id


def _matched_supplier(session: Session, document: Document) -> Supplier | None:
    merged = merged_extraction(document) or {}
    found = (merged.get("supplier_match") or {}).get("id")
    return session.get(Supplier, int(found)) if found else None


def _csv_bytes(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _imported(report) -> None:
    if not report.ok:
        first = report.errors[0]
        raise NotPostable(f"{first.column or 'row'}: {first.reason}")
