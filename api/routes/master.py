"""/api/v1 master data and stock: products, suppliers, purchase orders, master import, stock.

Creating records goes through models.master_io (the same checks as a CSV import, one row), so the API and
`inbound master import` cannot disagree on what a valid product or supplier is.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from sqlalchemy import func, or_, select

from api.deps import MasterWriter, PageDep, Reader, ServicesDep, SessionDep
from api.problems import Problem
from api.schemas import ProductIn, PurchaseOrderIn, SupplierIn
from models.db import transaction
from models.master_io import ImportReport, import_master
from models.company import Defaults, company_settings
from models.stock import stock_report
from models.tables import Product, PurchaseOrder, PurchaseOrderLine, Supplier

router = APIRouter(prefix="/api/v1", tags=["master data"])


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue().encode("utf-8")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "|".join(str(v) for v in value)
    return str(value)


def _decimal(number) -> str:
    """A decimal as a plain string without trailing zeros ("12.5", "10")."""
    return format(number.normalize(), "f")


def _import_one(session, rows: list[dict], kind: str) -> ImportReport:
    report = import_master(session, _csv(rows), kind=kind)
    if not report.ok:
        first = report.errors[0]
        raise Problem(422, f"row {first.row}, {first.column or 'row'}: {first.reason}", code="invalid_master_data",
                      report=report.to_json())
    return report


def _created(row, report: ImportReport, required: str):
    """The row one POST made, or 422 where the import took it for a blank row (nothing in the required cells)."""
    if row is None:
        raise Problem(422, f"{required} cannot be empty.", code="invalid_master_data", report=report.to_json())
    return row


def product_json(p: Product) -> dict:
    return {"id": p.id, "sku": p.sku, "name": p.name, "unit": p.unit, "barcodes": list(p.barcodes or ()),
            "aliases": list(p.aliases or ()), "category": p.category,
            "tax_rate": None if p.tax_rate is None else _decimal(p.tax_rate), "spec": p.spec,
            "batch_tracked": p.batch_tracked, "shelf_life_days": p.shelf_life_days,
            "unit_conversions": {k: str(v) for k, v in (p.unit_conversions or {}).items()}, "extra": p.extra or {}}


def supplier_json(s: Supplier) -> dict:
    return {"id": s.id, "name": s.name, "tax_id": s.tax_id, "aliases": list(s.aliases or ()), "address": s.address,
            "phone": s.phone, "bank_account": s.bank_account, "email": s.email, "extra": s.extra or {}}


@router.get("/products", tags=["master data"])
def list_products(session: SessionDep, user: Reader, paging: PageDep, sku: str | None = None, q: str | None = None):
    limit, offset = paging
    query = select(Product)
    if sku is not None:
        query = query.where(Product.sku == sku)
    if q:
        query = query.where(or_(Product.name.contains(q), Product.sku.contains(q)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Product.id).limit(limit).offset(offset))
    return {"items": [product_json(p) for p in rows], "total": total}


@router.get("/products/{product_id}")
def read_product(product_id: int, session: SessionDep, user: Reader):
    product = session.get(Product, product_id)
    if product is None:
        raise Problem(404, f"No product {product_id}.", code="not_found")
    return product_json(product)


@router.post("/products", status_code=201)
def create_product(body: ProductIn, services: ServicesDep, user: MasterWriter):
    with transaction(services.factory) as session:
        report = _import_one(session, [body.model_dump()], "products")
        return product_json(_created(session.scalars(select(Product).where(Product.sku == body.sku.strip()))
                                     .one_or_none(), report, "sku, name and unit"))


@router.get("/suppliers")
def list_suppliers(session: SessionDep, user: Reader, paging: PageDep, tax_id: str | None = None,
                   q: str | None = None):
    limit, offset = paging
    query = select(Supplier)
    if tax_id is not None:
        query = query.where(Supplier.tax_id == tax_id)
    if q:
        query = query.where(Supplier.name.contains(q))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Supplier.id).limit(limit).offset(offset))
    return {"items": [supplier_json(s) for s in rows], "total": total}


@router.post("/suppliers", status_code=201)
def create_supplier(body: SupplierIn, services: ServicesDep, user: MasterWriter):
    with transaction(services.factory) as session:
        report = _import_one(session, [body.model_dump()], "suppliers")
        tax_id = (body.tax_id or "").strip().upper()        # as the import keeps it
        query = select(Supplier).where(Supplier.tax_id == tax_id if tax_id else Supplier.name == body.name.strip())
        return supplier_json(_created(session.scalars(query).one_or_none(), report, "name"))


@router.post("/purchase-orders", status_code=201)
def create_purchase_order(body: PurchaseOrderIn, services: ServicesDep, user: MasterWriter):
    lines = body.all_lines()
    if not lines:
        raise Problem(422, "A purchase order needs at least one line (sku or product_id, quantity).",
                      code="invalid_request")
    with transaction(services.factory) as session:
        supplier = _supplier_key(session, body.supplier_id if body.supplier_id is not None else body.supplier)
        rows = []
        for n, line in enumerate(lines, start=1):
            product = _product(session, line.sku, line.product_id)
            rows.append({"po_number": body.po_number, "supplier": supplier, "sku": product.sku,
                         "quantity": line.quantity, "unit": line.unit or product.unit, "price": line.price,
                         "date": body.date, "line_no": n})
        _import_one(session, rows, "purchase_orders")
        po = session.scalars(select(PurchaseOrder).where(PurchaseOrder.po_number == body.po_number)).one()
        lines = session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == po.id)
                                .order_by(PurchaseOrderLine.line_no))
        return {"id": po.id, "po_number": po.po_number, "supplier_id": po.supplier_id, "status": po.status,
                "date": po.order_date.isoformat() if po.order_date else None,
                "lines": [{"line_no": li.line_no, "product_id": li.product_id, "quantity": _decimal(li.quantity),
                           "unit": li.unit, "price": None if li.price is None else _decimal(li.price)}
                          for li in lines]}


def _supplier_key(session, supplier) -> str:
    """The `supplier` cell of a PO row: an id becomes the supplier's tax id or name."""
    if supplier is None or supplier == "":
        raise Problem(422, "A purchase order needs its supplier (tax id, name or id).", code="invalid_request")
    if isinstance(supplier, int) or (isinstance(supplier, str) and supplier.isdigit() and len(supplier) < 10):
        row = session.get(Supplier, int(supplier))
        if row is not None:
            return row.tax_id or row.name
        if isinstance(supplier, int):
            raise Problem(422, f"No supplier {supplier}.", code="invalid_request")
    return str(supplier)


def _product(session, sku: str | None, product_id: int | None) -> Product:
    row = session.get(Product, product_id) if product_id is not None else \
        session.scalars(select(Product).where(Product.sku == sku)).one_or_none()
    if row is None:
        raise Problem(422, f"No product {sku or product_id}.", code="invalid_request")
    return row


@router.post("/master/import")
async def master_import(services: ServicesDep, user: MasterWriter,
                        file: Annotated[UploadFile, File(description="CSV (UTF-8) or XLSX with a header row")],
                        kind: Annotated[str | None, Form()] = None):
    """All rows or none; the report lists every bad cell.  422 with the report when any row is wrong."""
    limit = int(services.settings.max_import_mb * 1024 * 1024)   # INBOUND_MAX_IMPORT_MB
    if (file.size or 0) > limit:
        raise Problem(413, f"The import file is larger than the limit of {limit / 2**20:g} MB; split it.",
                      code="too_large")
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise Problem(413, f"The import file is larger than the limit of {limit / 2**20:g} MB; split it.",
                      code="too_large")
    with transaction(services.factory) as session:
        report = import_master(session, data, kind=kind)
    if not report.ok:
        raise Problem(422, f"{len(report.errors)} problem(s); nothing was imported.", code="invalid_master_data",
                      report=report.to_json())
    return report.to_json()


@router.get("/stock", tags=["stock"])
def stock(session: SessionDep, user: Reader, services: ServicesDep, product_id: int | None = None,
          sku: str | None = None, moves: int = 50):
    """On-hand per location and batch, value and the newest moves of one product (by id or our SKU)."""
    if product_id is None and sku is not None:
        product_id = session.scalar(select(Product.id).where(Product.sku == sku))
        if product_id is None:
            raise Problem(404, f"No product with SKU {sku}.", code="not_found")
    if product_id is None:
        raise Problem(422, "Give product_id (or sku).", code="invalid_request")
    base = company_settings(session, Defaults.from_settings(services.settings)).base_currency
    return stock_report(session, product_id, move_limit=max(0, min(moves, 500)), currency=base).to_json()
