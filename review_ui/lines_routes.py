"""The review screen's lines routes (issue 17): add, delete and split a line, create a product from a line, create
the proposed new supplier or pick an existing one; and what the add-line chooser offers first (the open lines of
the document's purchase order, this supplier's usual products) and the supplier search.

Each POST comes from the document's review form (its buttons' `formaction`), CSRF-checked as review_ui/routes.py
does; the person's other changes on the form are applied first (the same `corrections_from`), then the line or
master-data change, in one transaction, through pipeline.review: the same functions the REST API calls, so each is
a history row and the lines shown are the lines posted.  The master snapshot the matcher uses follows by itself
(pipeline.master_snapshot.MasterCache notices the new rows).
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.db import transaction
from models.documents import get_document
from models.errors import InboundError, NotFound
from models.tables import Document, Product, PurchaseOrder, PurchaseOrderLine, Supplier, SupplierProduct
from pipeline.review import Corrections, correct_document, merged_extraction
from pipeline.review_lines import document_po_number
from pipeline.review_master import create_document_supplier, create_line_product
from review_ui import views
from review_ui.i18n import texts
from review_ui.routes import go_to, corrections_from, signed_in_form
from review_ui.session import UiUser, read_session

router = APIRouter(include_in_schema=False)

ADD_KEYS = ("description", "quantity", "unit", "unit_price", "product_id", "uom_factor", "batch_no")
PRODUCT_KEYS = ("sku", "name", "unit", "spec", "category", "supplier_sku", "factor", "batch_tracked")
SUPPLIER_KEYS = ("name", "tax_id", "address", "phone", "bank_account", "email")


def _text(form: dict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _post(request: Request, document_id: int, work) -> Response:
    """The common part of every line POST: the signed-in user and CSRF check, the form's other corrections
    first, then `work(session, user, form, master)` -> the message; back to the document either way."""
    user, form, refused = await signed_in_form(request)
    if refused is not None:
        return refused
    return await run_in_threadpool(_apply, request, user, document_id, form, work)


def _apply(request: Request, user: UiUser, document_id: int, form: dict, work) -> Response:
    services = request.app.state.services
    here = f"/review/documents/{document_id}"
    try:
        with transaction(services.factory) as session:
            master = services.master.get(session)
            document = get_document(session, document_id)
            if document.status not in views.REVIEW_STATUSES:
                return go_to(here, texts(user.lang)["not_editable"])
            corrections = corrections_from(form, views.document_screen(session, document))
            if corrections.fields or corrections.lines:
                correct_document(session, document_id, corrections, who=user.name, master=master)
            message = work(session, user, form, master)
    except (InboundError, ValueError) as exc:
        return go_to(here, str(exc))
    return go_to(here, message)


def _one_line(session: Session, document_id: int, line: dict, user: UiUser, master) -> None:
    correct_document(session, document_id, Corrections(fields={}, lines=(line,)), who=user.name, master=master)


@router.post("/review/documents/{document_id}/lines/add")
async def add_line(request: Request, document_id: int):
    def work(session, user, form, master):
        line = {"add": True, **{key: _text(form, f"add.{key}") for key in ADD_KEYS if _text(form, f"add.{key}")}}
        if "product_id" in line:
            line["product_id"] = int(line["product_id"])
        _one_line(session, document_id, line, user, master)
        return texts(user.lang)["line_added"]
    return await _post(request, document_id, work)


@router.post("/review/documents/{document_id}/lines/{line_no}/delete")
async def delete_line(request: Request, document_id: int, line_no: int):
    def work(session, user, form, master):
        _one_line(session, document_id, {"line_no": line_no, "delete": True}, user, master)
        return texts(user.lang)["line_deleted"]
    return await _post(request, document_id, work)


@router.post("/review/documents/{document_id}/lines/{line_no}/split")
async def split_line(request: Request, document_id: int, line_no: int):
    def work(session, user, form, master):
        moved = _text(form, f"split.{line_no}")
        if not moved:
            return texts(user.lang)["split_how_many"]
        _one_line(session, document_id, {"line_no": line_no, "split": moved}, user, master)
        return texts(user.lang)["line_split"]
    return await _post(request, document_id, work)


@router.post("/review/documents/{document_id}/lines/{line_no}/product")
async def product_from_line(request: Request, document_id: int, line_no: int):
    def work(session, user, form, master):
        values = {key: _text(form, f"np.{line_no}.{key}") for key in PRODUCT_KEYS}
        values["batch_tracked"] = bool(values["batch_tracked"])
        create_line_product(session, document_id, line_no, values, who=user.name, master=master)
        return texts(user.lang)["product_created"]
    return await _post(request, document_id, work)


@router.post("/review/documents/{document_id}/supplier")
async def create_supplier(request: Request, document_id: int):
    def work(session, user, form, master):
        values = {key: _text(form, f"ns.{key}") for key in SUPPLIER_KEYS}
        create_document_supplier(session, document_id, values, who=user.name, master=master)
        return texts(user.lang)["supplier_created"]
    return await _post(request, document_id, work)


@router.post("/review/documents/{document_id}/supplier/pick")
async def pick_supplier(request: Request, document_id: int):
    def work(session, user, form, master):
        picked = _text(form, "ns.pick")
        if not picked.isdigit():
            return texts(user.lang)["pick_a_supplier"]
        correct_document(session, document_id, Corrections(fields={}, lines=(), supplier_id=int(picked)),
                         who=user.name, master=master)
        return texts(user.lang)["supplier_set"]
    return await _post(request, document_id, work)


# -- what the choosers offer ------------------------------------------------------------------------------

@router.get("/review/documents/{document_id}/line-options")
def options(request: Request, document_id: int):
    """What a new line's product chooser offers before anything is typed: the open lines of the document's
    purchase order (with the open quantity, unit, price and factor), then this supplier's usual products."""
    user = read_session(request)
    if user is None:
        return JSONResponse({"items": []}, status_code=401)
    with request.app.state.services.factory() as session:
        try:
            document = get_document(session, document_id)
        except NotFound:
            return JSONResponse({"items": []}, status_code=404)
        return JSONResponse({"items": line_options(session, document)}, headers={"Cache-Control": "no-store"})


def _n(value: Decimal | None) -> str:
    return "" if value is None else views._plain_number(format(value, "f"))


def line_options(session: Session, document: Document, limit: int = 20) -> list[dict]:
    out: list[dict] = []
    number = document_po_number(document)
    if number:
        rows = session.execute(
            select(PurchaseOrderLine, Product).join(PurchaseOrder)
            .join(Product, Product.id == PurchaseOrderLine.product_id)
            .where(PurchaseOrder.po_number == number).order_by(PurchaseOrderLine.line_no))
        for li, product in rows:
            factor = li.factor or Decimal(1)
            open_base = li.ordered_base - li.received_base
            if open_base <= 0:
                continue
            out.append({"id": product.id, "sku": product.sku, "name": product.name, "unit": li.unit,
                        "quantity": _n(open_base / factor), "unit_price": _n(li.price), "uom_factor": _n(factor),
                        "source": "po", "po": f"{number} / {li.line_no}"})
    supplier = document.supplier_id or _matched_supplier(document)
    if supplier:
        links = session.execute(select(SupplierProduct, Product).join(Product, Product.id == SupplierProduct.product_id)
                                .where(SupplierProduct.supplier_id == supplier).order_by(SupplierProduct.id)
                                .limit(limit))
        seen = {item["id"] for item in out}
        for link, product in links:
            if product.id in seen:
                continue
            seen.add(product.id)
            out.append({"id": product.id, "sku": product.sku, "name": product.name,
                        "unit": link.unit or product.unit, "quantity": "", "unit_price": _n(link.last_price),
                        "uom_factor": _n(link.factor), "source": "usual", "po": ""})
    return out[:limit]


def _matched_supplier(document: Document) -> int | None:
    found = ((merged_extraction(document) or {}).get("supplier_match") or {}).get("id")
    return int(found) if found else None


@router.get("/review/suppliers")
def suppliers(request: Request, q: str = ""):
    """Suppliers whose name, alias or tax id holds the text (for picking an existing one), at most 12."""
    user = read_session(request)
    if user is None:
        return JSONResponse({"items": []}, status_code=401)
    text = q.strip().lower()
    if not text:
        return JSONResponse({"items": []})
    with request.app.state.services.factory() as session:
        pattern = f"%{text.replace('%', '').replace('_', '')}%"
        rows = session.scalars(select(Supplier).where(
            func.lower(Supplier.name).like(pattern) | func.lower(func.coalesce(Supplier.tax_id, "")).like(pattern))
            .order_by(Supplier.name).limit(12)).all()
        return JSONResponse({"items": [{"id": s.id, "name": s.name, "tax_id": s.tax_id or ""} for s in rows]})
