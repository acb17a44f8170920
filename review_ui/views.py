"""What the pages show, as plain dicts for the templates: queue rows, the document screen, the stock view.

Reads only; the writes go through pipeline.review (the same functions the REST API calls).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from extractors import Extraction, Field, LineItem
from matching import MasterData, search_products
from models.stock import stock_report
from models.tables import Document, Product, StockMove, Supplier
from pipeline.review import approval_reason, document_issues, factor_of, in_own_unit, merged_extraction

REVIEW_STATUSES = ("needs_review", "ready")
ALL_STATUSES = ("received", "processing", "needs_review", "ready", "confirmed", "posted", "reversed", "rejected",
                "failed")
HEADER_FIELDS = ("supplier_name", "document_number", "document_date", "due_date", "po_number", "currency",
                 "subtotal", "tax_amount", "total_amount", "supplier_tax_id")
DATE_FIELDS = ("document_date", "due_date")
MONEY_FIELDS = ("subtotal", "tax_amount", "total_amount")
LINE_FIELDS = ("description", "quantity", "unit", "unit_price", "amount")
LOW_CONFIDENCE = 0.8
# read with low confidence, these need a look before posting (the others are shown as low, not stopped at)
ATTENTION_FIELDS = ("document_number", "document_date", "total_amount", "po_number")


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Document.status, func.count()).group_by(Document.status))
    return {status: count for status, count in rows}


def queue_rows(session: Session, *, statuses: tuple[str, ...], search: str = "", limit: int = 200) -> list[dict]:
    """Documents in these statuses, oldest first, with what the queue shows."""
    query = select(Document).where(Document.status.in_(statuses)).order_by(Document.created_at, Document.id)
    suppliers = dict(session.execute(select(Supplier.id, Supplier.name)).all())
    rows, needle = [], search.strip().lower()
    for document in session.scalars(query):
        rows.append(queue_row(document, suppliers))
    if needle:
        rows = [r for r in rows if needle in " ".join((r["supplier"], r["number"], r["filename"], str(r["id"]))).lower()]
    return rows[:limit]


def queue_row(document: Document, suppliers: dict[int, str]) -> dict:
    reading = Extraction.from_json((document.current or {}).get("extraction"))
    supplier = suppliers.get(document.supplier_id) or reading.text("supplier_name")
    return {"id": document.id, "supplier": supplier, "number": reading.text("document_number"),
            "date": reading.text("document_date"), "total": reading.text("total_amount"),
            "currency": reading.text("currency"), "status": document.status,
            "issues": len(document_issues(document)), "source": document.source, "filename": document.filename,
            "failure_reason": document.failure_reason or ""}


def approval_rows(session: Session) -> list[dict]:
    """Documents waiting for an approver (confirmed by a clerk, not posted), oldest first, with the reason."""
    suppliers = dict(session.execute(select(Supplier.id, Supplier.name)).all())
    query = select(Document).where(Document.status == "confirmed").order_by(Document.updated_at, Document.id)
    return [{**queue_row(document, suppliers), "reason": approval_reason(session, document)}
            for document in session.scalars(query)]


def neighbours(session: Session, document: Document) -> tuple[int | None, int | None]:
    """The previous and next document of the review queue around this one (oldest first)."""
    ids = list(session.scalars(select(Document.id).where(
        or_(Document.status.in_(REVIEW_STATUSES), Document.id == document.id))
        .order_by(Document.created_at, Document.id)))
    at = ids.index(document.id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def next_in_queue(session: Session, after: Document) -> int | None:
    """The oldest document still needing review, other than `after`."""
    return session.scalar(select(Document.id).where(Document.status.in_(REVIEW_STATUSES), Document.id != after.id)
                          .order_by(Document.created_at, Document.id).limit(1))


def document_screen(session: Session, document: Document) -> dict:
    """Header fields, lines with matches and conversions, issues, and every box to draw."""
    merged = merged_extraction(document) or {"fields": {}, "lines": []}
    reading = Extraction.from_json(merged)
    fields, boxes = [], []
    for name in _field_names(reading.fields):
        field = reading.fields.get(name)
        ref = f"f-{name}"
        confidence = field.confidence if _is_read(merged["fields"].get(name)) else None
        fields.append({"name": name, "ref": ref, "value": field.text() if field else "",
                       "type": "date" if name in DATE_FIELDS else ("money" if name in MONEY_FIELDS else "text"),
                       "low": confidence is not None and confidence < LOW_CONFIDENCE, "confidence": confidence,
                       "raw": field.raw if field else ""})
        boxes += _box(field, ref, name)
    products = _products(session, merged["lines"])
    lines = []
    for line, item in zip(merged["lines"], reading.lines):
        number = line["line_no"]
        match = line["product_match"]
        cells = {key: item.text(key) for key in (*LINE_FIELDS, "batch_no")}
        for key in LINE_FIELDS:
            boxes += _box(item.fields.get(key), f"l-{number}", f"{number}")
        product = products.get(int(match["id"])) if match.get("id") else None
        lines.append({"no": number, "ref": f"l-{number}", **cells, "match": match,
                      "product": product, "candidates": match.get("candidates") or [],
                      "batch_tracked": bool(product and product["batch_tracked"]),
                      "factor": (shown := _factor_shown(match.get("uom_factor"), cells["unit"], product)),
                      "conversion": _conversion(cells["quantity"], cells["unit"], shown or None, product),
                      "po_line": line.get("po_line")})
    issues = [_issue(i) for i in document_issues(document)]
    issues += _batch_issues(lines) + _factor_issues(lines, issues)
    _mark_attention(fields, lines, issues)
    return {"fields": fields, "lines": lines, "boxes": boxes, "issues": issues,
            "supplier_match": merged.get("supplier_match") or {},
            "attention": sum(f["attention"] for f in fields) + sum(line["attention"] for line in lines)}


def _mark_attention(fields: list[dict], lines: list[dict], issues: list[dict]) -> None:
    """What the reviewer should look at (Tab/Enter visit these first): a field named by an issue, or one of the
    ATTENTION_FIELDS read with low confidence; a line named by an issue, whose product was not accepted without
    review, or that needs a batch number."""
    named = {issue["ref"] for issue in issues if issue.get("ref")}
    cells: dict[str, set[str]] = {}
    for issue in issues:
        if issue.get("line_no"):
            cells.setdefault(issue["ref"], set()).add(_LINE_ISSUE_CELL.get(issue.get("field") or "", "quantity"))
    for field in fields:
        field["attention"] = field["ref"] in named or (field["low"] and field["name"] in ATTENTION_FIELDS)
    for line in lines:
        line["attention_on"] = cells.get(line["ref"], set())
        if not line["match"].get("auto_accepted"):
            line["attention_on"].add("product")
        line["attention"] = bool(line["attention_on"])


# the input a line issue points at, by the issue's field (a product issue names the printed description; an
# unknown unit is fixed by entering the factor)
_LINE_ISSUE_CELL = {"description": "product", "quantity": "quantity", "unit": "uom_factor", "unit_price": "unit_price",
                    "amount": "unit_price", "batch_no": "batch_no", "uom_factor": "uom_factor"}


def _factor_shown(factor, unit: str, product: dict | None) -> str:
    """The line's factor; 1 where the product is counted in the printed unit; "" where it is not known."""
    if factor not in (None, ""):
        return _plain_number(str(factor))
    if product is None or in_own_unit(unit, product["unit"]):
        return "1"
    return ""


def _factor_issues(lines: list[dict], issues: list[dict]) -> list[dict]:
    """Posting refuses a line whose unit has no known factor: say so (unless the reading said so already)."""
    told = {issue.get("line_no") for issue in issues if issue["code"] == "unit_unknown"}
    return [{"code": "unit_factor_missing", "severity": "error", "line_no": line["no"], "ref": line["ref"],
             "field": "uom_factor",
             "message": f"Line {line['no']}: how many {line['product']['unit']} are in one '{line['unit']}'? "
                        "Enter the factor."}
            for line in lines if line["product"] and not line["factor"] and line["no"] not in told]


def conversion_for(session: Session, master: MasterData, document: Document, line_no: int, product_id: int) -> dict:
    """What the screen shows when a person picks `product_id` for a line: its factor (None: not known) and
    the conversion text, as the server will store them on save."""
    product = _products_by_id(session, {product_id}).get(product_id)
    line = next((x for x in (merged_extraction(document) or {}).get("lines") or () if x["line_no"] == line_no), None)
    if product is None or line is None:
        return {"factor": None, "conversion": ""}
    item = LineItem.from_json(line)
    quantity, unit = item.text("quantity"), item.text("unit")
    factor = factor_of(master, document, line_no, product_id)
    shown = _factor_shown(factor, unit, product)
    return {"factor": shown or None, "conversion": _conversion(quantity, unit, shown or None, product)}


def _batch_issues(lines: list[dict]) -> list[dict]:
    """Posting refuses a batch-tracked product without a batch number: say so before the clerk confirms."""
    return [{"code": "batch_required", "severity": "error", "line_no": line["no"], "ref": line["ref"],
             "field": "batch_no",
             "message": f"Line {line['no']}: {line['product']['sku']} needs a batch number."}
            for line in lines if line["batch_tracked"] and not line["batch_no"]]


def _field_names(fields: dict) -> list[str]:
    return [*HEADER_FIELDS, *(n for n in fields if n not in HEADER_FIELDS and n not in ("line_total", "amount_due"))]


def _is_read(stored) -> bool:
    """A field the machine read (a Field object, with its confidence), not a bare value a person typed."""
    return isinstance(stored, dict)


def _box(field: Field | None, ref: str, label: str) -> list[dict]:
    if field is None or field.bbox is None:
        return []
    box = field.bbox
    return [{"ref": ref, "page": field.page or 1, "x0": box.x0, "y0": box.y0, "x1": box.x1, "y1": box.y1,
             "label": label}]


def _issue(issue: dict) -> dict:
    ref = f"l-{issue['line_no']}" if issue.get("line_no") else (f"f-{issue['field']}" if issue.get("field") else "")
    return {**issue, "ref": ref}


def _products(session: Session, lines: list[dict]) -> dict[int, dict]:
    ids = {int(line["product_match"]["id"]) for line in lines if line["product_match"].get("id")}
    ids |= {int(c["id"]) for line in lines for c in line["product_match"].get("candidates") or () if c.get("id")}
    return _products_by_id(session, ids)


def _products_by_id(session: Session, ids: set[int]) -> dict[int, dict]:
    if not ids:
        return {}
    return {p.id: {"id": p.id, "sku": p.sku, "name": p.name, "unit": p.unit,
                  "batch_tracked": bool(p.batch_tracked)}
            for p in session.scalars(select(Product).where(Product.id.in_(ids)))}


def _conversion(quantity: str, unit: str, factor, product: dict | None) -> str:
    """ "2 箱 = 48 瓶": the printed quantity in the product's base unit ("?" where the factor is not known)."""
    if product is None:
        return ""
    if factor in (None, ""):
        return f"{quantity} {unit or product['unit']} = ? {product['unit']}"
    try:
        base = Decimal(quantity) * Decimal(str(factor))
    except (InvalidOperation, ValueError):
        return ""
    text = format(base.normalize(), "f")
    return f"{quantity} {unit or product['unit']} = {text} {product['unit']}"


def product_search(session: Session, master: MasterData, text: str, limit: int = 12) -> list[dict]:
    """The product master searched as the matcher reads (SKU or barcode typed, else names, aliases and specs
    fuzzily, Chinese included), best first."""
    ranked = [int(c.id) for c in search_products(text, master, limit=limit)]
    rows = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ranked)))} if ranked else {}
    return [{"id": p.id, "sku": p.sku, "name": p.name, "unit": p.unit} for p in (rows.get(i) for i in ranked) if p]


def stock_rows(session: Session) -> list[dict]:
    """Every product that has moves: on-hand and value per warehouse, its moves with their documents."""
    ids = list(session.scalars(select(StockMove.product_id).distinct().order_by(StockMove.product_id)))
    names = dict(session.execute(select(Product.id, Product.name).where(Product.id.in_(ids))).all()) if ids else {}
    out = []
    for product_id in ids:
        report = stock_report(session, product_id, move_limit=100)
        warehouses: dict[str, list[Decimal]] = {}
        for loc in report.locations:
            totals = warehouses.setdefault(loc.warehouse, [Decimal(0), Decimal(0)])
            totals[0] += loc.quantity
            totals[1] += loc.value
        out.append({"id": product_id, "sku": report.sku, "name": names.get(product_id, ""), "unit": report.unit,
                    "on_hand": _n(report.on_hand), "value": _n(report.value),
                    "warehouses": [{"code": code, "on_hand": _n(q), "value": _n(v)} for code, (q, v) in warehouses.items()],
                    "moves": [m.to_json() for m in report.moves]})
    return out


def _plain_number(text: str) -> str:
    """ "5000.00" -> "5000", "0.250" -> "0.25"; anything not a number as it is."""
    try:
        return _n(Decimal(text)) if text else text
    except InvalidOperation:
        return text


def _n(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text
