"""What the pages show, as plain dicts for the templates: queue rows, the document screen, the stock view.

Reads only; the writes go through pipeline.review (the same functions the REST API calls).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session, load_only

from extractors import Extraction, Field, LineItem
from matching import MasterData, search_products
from models.company import CompanySettings, company_settings, currency_code
from models.tables import Document, DocumentHistory, Posting, Product, Supplier
from pipeline.review import approval_reason, document_issues, factor_of, in_own_unit, merged_extraction, rate_issue

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


PAGE_SIZE = 50


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Document.status, func.count()).group_by(Document.status))
    return {status: count for status, count in rows}


def _like(text: str) -> str:
    """A LIKE pattern finding `text` anywhere (its own % _ \\ taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _printed(name: str):
    """The reviewed reading's value of field `name` as SQL text (a read field is {"value": ...}, a typed one
    the bare value)."""
    return func.coalesce(Document.current[("extraction", "fields", name, "value")].as_string(),
                         Document.current[("extraction", "fields", name)].as_string())


def queue_filter(*, statuses: tuple[str, ...], search: str = ""):
    """The queue's WHERE clause: these statuses, and `search` (id, supplier as matched or, for a document without
    one, as printed, document number as read or as corrected, file name), case-insensitive, in SQL: nothing is
    loaded to filter, and a reading is looked into only for a document no supplier was matched to."""
    condition = Document.status.in_(statuses)
    needle = search.strip()
    if needle:
        pattern = _like(needle.lower())
        supplier = select(Supplier.id).where(func.lower(Supplier.name).like(pattern, escape="\\"))
        corrected = select(DocumentHistory.document_id).where(
            DocumentHistory.path == "fields.document_number",
            func.lower(cast(DocumentHistory.after, String)).like(pattern, escape="\\"))
        found = [func.lower(Document.filename).like(pattern, escape="\\"),
                 func.lower(Document.document_number).like(pattern, escape="\\"),
                 Document.supplier_id.in_(supplier), Document.id.in_(corrected),
                 and_(Document.supplier_id.is_(None),
                      func.lower(_printed("supplier_name")).like(pattern, escape="\\"))]
        if needle.lstrip("#").isdigit():
            found.insert(0, Document.id == int(needle.lstrip("#")))
        condition = and_(condition, or_(*found))
    return condition


def posted_receipts(session: Session, *, statuses: tuple[str, ...], search: str = "") -> int:
    """How many receipt and reversal postings the documents these filters list have (what an export gives)."""
    documents = select(Document.id).where(queue_filter(statuses=statuses, search=search))
    return session.scalar(select(func.count()).select_from(Posting).where(
        Posting.document_id.in_(documents), Posting.kind.in_(("receipt", "reversal")))) or 0


def queue_page(session: Session, *, statuses: tuple[str, ...], search: str = "", page: int = 1,
               per_page: int = PAGE_SIZE) -> dict:
    """One page of the queue, oldest first: {"rows", "total", "page", "pages", "first", "last"} (first/last:
    the rows' numbers in the whole list, 1-based).  Filtering, counting and paging are SQL; only the page's
    documents are loaded, without the machine reading's layout."""
    condition = queue_filter(statuses=statuses, search=search)
    total = session.scalar(select(func.count()).select_from(Document).where(condition)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    query = (select(Document).options(load_only(*_ROW_COLUMNS)).where(condition)
             .order_by(Document.created_at, Document.id).limit(per_page).offset((page - 1) * per_page))
    documents = list(session.scalars(query))
    rows = queue_rows_of(session, documents)
    first = (page - 1) * per_page + 1 if rows else 0
    return {"rows": rows, "total": total, "page": page, "pages": pages, "first": first,
            "last": first + len(rows) - 1 if rows else 0}


def queue_rows(session: Session, *, statuses: tuple[str, ...], search: str = "", limit: int = 200) -> list[dict]:
    """Documents in these statuses, oldest first (at most `limit`), with what the queue shows."""
    return queue_page(session, statuses=statuses, search=search, per_page=limit)["rows"]


# what a queue row reads (the machine reading and matches, with their layout, stay in the database)
_ROW_COLUMNS = (Document.id, Document.status, Document.supplier_id, Document.current, Document.source,
                Document.filename, Document.failure_reason, Document.created_at, Document.document_type)


def queue_rows_of(session: Session, documents: list[Document]) -> list[dict]:
    """The queue's rows for these documents: suppliers and products looked up once for all of them."""
    supplier_ids = {d.supplier_id for d in documents if d.supplier_id}
    suppliers = dict(session.execute(select(Supplier.id, Supplier.name).where(Supplier.id.in_(supplier_ids))).all()) \
        if supplier_ids else {}
    merged = {d.id: merged_extraction(d) or {"fields": {}, "lines": []} for d in documents}
    products = _line_products(session, [line for m in merged.values() for line in m.get("lines") or ()])
    company = company_settings(session)
    return [queue_row(d, suppliers, issues=len(issue_list(d, _issue_lines(merged[d.id], products), company)))
            for d in documents]


def _line_products(session: Session, lines: list[dict]) -> dict[int, dict]:
    """The matched products of these lines, as issue_list reads them (plain columns: no JSON decoded)."""
    ids = {int(line["product_match"]["id"]) for line in lines if (line.get("product_match") or {}).get("id")}
    if not ids:
        return {}
    rows = session.execute(select(Product.id, Product.sku, Product.name, Product.unit, Product.batch_tracked)
                           .where(Product.id.in_(ids)))
    return {r.id: {"id": r.id, "sku": r.sku, "name": r.name, "unit": r.unit, "batch_tracked": bool(r.batch_tracked)}
            for r in rows}


def queue_row(document: Document, suppliers: dict[int, str], *, issues: int | None = None) -> dict:
    """What the queue shows of a document; `issues`: the count of its issue list (issue_list), when known."""
    reading = Extraction.from_json((document.current or {}).get("extraction"))
    supplier = suppliers.get(document.supplier_id) or reading.text("supplier_name")
    return {"id": document.id, "supplier": supplier, "number": reading.text("document_number"),
            "date": reading.text("document_date"), "total": reading.text("total_amount"),
            "currency": reading.text("currency"), "status": document.status,
            "issues": len(document_issues(document)) if issues is None else issues, "source": document.source,
            "filename": document.filename, "failure_reason": document.failure_reason or ""}


# issues worked out again from the reviewed state (a batch number or factor entered ends them)
_RECOMPUTED = ("batch_required", "unit_factor_missing")


def issue_list(document: Document, lines: list[dict], company: CompanySettings | None = None) -> list[dict]:
    """The document's issues as the queue counts them and the screen lists them (one set): the reading's and
    the matcher's, except those the reviewed lines settled since (a batch number entered, a factor known), and
    what posting would refuse now (batch_required, unit_factor_missing).  lines: the screen's line dicts (or
    _issue_lines), with "no", "ref", "unit", "batch_no", "factor", "product", "batch_tracked"."""
    settled = {line["no"] for line in lines if line["factor"]}
    stored = [_issue(i) for i in document_issues(document)
              if i.get("code") not in _RECOMPUTED
              and not (i.get("code") == "unit_unknown" and i.get("line_no") in settled)]
    money = []
    if company is not None and document.current is not None and document.status in REVIEW_STATUSES:
        missing = rate_issue(Extraction.from_json(document.current["extraction"]), company)
        money = [_issue(missing)] if missing else []
    return stored + money + _batch_issues(lines) + _factor_issues(lines, stored)


def _issue_lines(merged: dict, products: dict[int, dict]) -> list[dict]:
    """The little of each reviewed line that issue_list needs, as document_screen builds it."""
    out = []
    for line in merged.get("lines") or ():
        item = LineItem.from_json(line)
        match = line.get("product_match") or {}
        product = products.get(int(match["id"])) if match.get("id") else None
        unit = item.text("unit")
        out.append({"no": line["line_no"], "ref": f"l-{line['line_no']}", "unit": unit,
                    "batch_no": item.text("batch_no"), "product": product,
                    "batch_tracked": bool(product and product["batch_tracked"]),
                    "factor": _factor_shown(match.get("uom_factor"), unit, product)})
    return out


def approval_rows(session: Session) -> list[dict]:
    """Documents waiting for an approver (confirmed by a clerk, not posted), oldest first, with the reason."""
    query = select(Document).where(Document.status == "confirmed").order_by(Document.updated_at, Document.id)
    documents = list(session.scalars(query))
    return [{**row, "reason": approval_reason(session, document)}
            for document, row in zip(documents, queue_rows_of(session, documents))]


def _before(document: Document):
    return or_(Document.created_at < document.created_at,
               and_(Document.created_at == document.created_at, Document.id < document.id))


def _after(document: Document):
    return or_(Document.created_at > document.created_at,
               and_(Document.created_at == document.created_at, Document.id > document.id))


def neighbours(session: Session, document: Document) -> tuple[int | None, int | None]:
    """The previous and next document of the review queue around this one (oldest first)."""
    waiting = Document.status.in_(REVIEW_STATUSES)
    previous = session.scalar(select(Document.id).where(waiting, _before(document))
                              .order_by(Document.created_at.desc(), Document.id.desc()).limit(1))
    following = session.scalar(select(Document.id).where(waiting, _after(document))
                               .order_by(Document.created_at, Document.id).limit(1))
    return previous, following


def next_in_queue(session: Session, after: Document) -> int | None:
    """The oldest document still needing review, other than `after`."""
    return session.scalar(select(Document.id).where(Document.status.in_(REVIEW_STATUSES), Document.id != after.id)
                          .order_by(Document.created_at, Document.id).limit(1))


def document_screen(session: Session, document: Document) -> dict:
    """Header fields, lines with matches and conversions, issues, and every box to draw."""
    merged = merged_extraction(document) or {"fields": {}, "lines": []}
    reading = Extraction.from_json(merged)
    fields, boxes = [], []
    company = company_settings(session)
    for name in _field_names(reading.fields, company.base_currency):
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
        cells = {key: item.text(key) for key in (*LINE_FIELDS, "batch_no", "spec", "supplier_sku")}
        for key in LINE_FIELDS:
            boxes += _box(item.fields.get(key), f"l-{number}", f"{number}")
        product = products.get(int(match["id"])) if match.get("id") else None
        lines.append({"no": number, "ref": f"l-{number}", **cells, "match": match,
                      "product": product, "candidates": match.get("candidates") or [],
                      "batch_tracked": bool(product and product["batch_tracked"]),
                      "factor": (shown := _factor_shown(match.get("uom_factor"), cells["unit"], product)),
                      "conversion": _conversion(cells["quantity"], cells["unit"], shown or None, product),
                      "po_line": line.get("po_line")})
    issues = issue_list(document, lines, company)
    _mark_attention(fields, lines, issues)
    return {"fields": fields, "lines": lines, "boxes": boxes, "issues": issues,
            "supplier_match": merged.get("supplier_match") or {},
            "proposed_supplier": merged.get("proposed_supplier"),       # a supplier not in the master, as read
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


def _field_names(fields: dict, base_currency: str = "") -> list[str]:
    names = [*HEADER_FIELDS, *(n for n in fields if n not in HEADER_FIELDS and n not in ("line_total", "amount_due"))]
    currency = fields.get("currency")     # another currency than the base: the clerk enters the rate (issue 17)
    if base_currency and currency is not None and currency.text().strip() and _code(currency.text()) != base_currency:
        names = [n for n in names if n != "exchange_rate"]
        names.insert(names.index("currency") + 1, "exchange_rate")
    return names


def _code(text: str) -> str:
    try:
        return currency_code(text)
    except ValueError:
        return text.strip().upper()


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


def _plain_number(text: str) -> str:
    """ "5000.00" -> "5000", "0.250" -> "0.25"; anything not a number as it is."""
    try:
        return _n(Decimal(text)) if text else text
    except InvalidOperation:
        return text


def _n(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text
