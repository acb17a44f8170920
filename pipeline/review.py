"""A person's side of a document: its view (the contract object with matches), corrections, confirm, reject.

    document_view(session, document)   -> the DESIGN.md document shape
    correct_document(...)             corrections {fields, lines, supplier_id} -> history rows beside the machine's
                                      reading, and what they teach the matcher (learned facts: supplier alias,
                                      product alias, unit factor), so the supplier's next document matches `alias`
                                      (a line added, deleted or split: pipeline.review_lines; a product or
                                      supplier made from the document: pipeline.review_master)
    confirm_document(...)             the reviewed lines posted to the ledger (idempotent; `receipt.posted`);
                                      without an approver, over-receipt or a price variance raises NeedsApproval
    request_approval(...)             a clerk's confirm that needs an approver: the document waits as `confirmed`
    send_back(...)                    an approver returns a waiting document to review
    reject_document(...)

Each runs in the caller's transaction (the API's session) except where it says otherwise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from extractors import Extraction, Field, LineItem
from extractors.layout import BBox, Layout
from extractors.learned_layout import Picked, teach, teach_absent, teach_line_cell
from extractors.result import LINE_FIELDS, parse_value
from matching import (LearnedFact, MasterData, convert_unit, facts_from_line, layout_hints_from, match_supplier,
                      printed_line, printed_supplier, supplier_alias_fact, unit_key)
from matching.learning import layout_rule_fact
from models.company import DEFAULT_CURRENCY, CompanySettings, Defaults, company_settings, currency_code
from models.documents import correct, get_document, history, note, record_status
from models.errors import NotPostable
from models.learned import learn
from models.ledger import PostingResult, ReceiptLine, post_receipt
from models.runs import runs_of
from models.tables import Document, Product, PurchaseOrder, PurchaseOrderLine, Supplier
from models.types import utcnow
from pipeline.review_state import merged_extraction, plain_value, positive_decimal, require_row
from models.webhooks import record_event

LINE_KEYS_NOT_FIELDS = ("line_no", "product_id", "uom_factor")
LINE_OPS = ("add", "delete", "split")          # a PATCH line that adds, deletes or splits a line


@dataclass(frozen=True, slots=True)
class Corrections:
    """A PATCH body: header field values by name, line changes by line_no, the chosen supplier, and where on the
    page a reviewer picked a value (`sources`: "fields.NAME" or "lines.N.FIELD" -> {"page", "bbox"}, the page as
    received, as GET .../words gives it)."""
    fields: dict[str, Any]
    lines: tuple[dict[str, Any], ...]
    supplier_id: int | None = None
    sources: dict[str, dict] = dataclasses.field(default_factory=dict)


def document_issues(document: Document) -> list[dict]:
    if document.current is None:
        return []
    extraction_issues = document.current["extraction"].get("issues") or []
    match_issues = (document.current.get("matches") or {}).get("issues") or []
    seen, out = set(), []
    lines = {x.get("line_no") for x in document.current["extraction"].get("lines") or ()}
    batched = {x.get("line_no") for x in document.current["extraction"].get("lines") or ()
               if _cell_value(x.get("batch_no"))}
    supplier_set = document.current["extraction"].get("supplier_id") is not None
    for issue in [*extraction_issues, *match_issues]:
        key = (issue.get("code"), issue.get("field"), issue.get("line_no"), issue.get("message"))
        if issue.get("line_no") and issue["line_no"] not in lines:
            continue                         # a deleted line's issue
        if supplier_set and issue.get("code") in ("supplier_new", "supplier_unmatched"):
            continue                         # a person chose (or created) the supplier
        if issue.get("code") == "batch_required" and issue.get("line_no") in batched:
            continue                         # the batch number was entered since
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out


def _cell_value(cell: Any) -> Any:
    """A line cell's value: a contract Field's value, or the bare value a person typed."""
    return cell.get("value") if isinstance(cell, dict) else cell


def document_words(document: Document) -> dict:
    """The words as read, page by page, with their boxes on the page as received (page points, origin top-left;
    what the review screen draws and a reviewer picks from): {"pages": [{"number", "width", "height",
    "words": [{"text", "bbox"}]}]}; no pages when the reading kept no layout."""
    stored = (document.extraction or {}).get("layout")
    if not stored:
        return {"pages": []}
    layout = Layout.from_json(stored)
    pages = []
    for page in layout.pages:
        to_received = page.frame.box_to_received if page.frame is not None else (lambda box: box)
        width, height = ((v * page.frame.points_per_pixel for v in page.frame.received_px) if page.frame is not None
                         else (page.width, page.height))
        pages.append({"number": page.number, "width": round(width, 2), "height": round(height, 2),
                      "words": [{"text": w.text, "bbox": to_received(w.bbox).rounded()} for w in page.words()]})
    return {"pages": pages}


def document_summary(document: Document) -> dict:
    return {"id": document.id, "status": document.status, "sha256": document.sha256, "source": document.source,
            "filename": document.filename, "document_type": document.document_type,
            "supplier_id": document.supplier_id, "failure_reason": document.failure_reason,
            "created_at": document.created_at.isoformat() if document.created_at else None}


def document_view(session: Session, document: Document) -> dict:
    out = document_summary(document)
    out["extraction"] = merged_extraction(document)
    out["issues"] = document_issues(document)
    if document.current is not None and document.status in ("needs_review", "ready"):
        missing = rate_issue(Extraction.from_json(document.current["extraction"]), company_settings(session))
        out["issues"] += [missing] if missing else []
    out["history"] = [change.to_json() for change in history(session, document.id)]
    out["runs"] = [{"id": r.id, "reason": r.reason, "status": r.status, "attempts": r.attempts,
                    "queued_at": r.queued_at.isoformat(), "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                    "timings_ms": r.timings_ms, "error": r.error} for r in runs_of(session, document.id)]
    return out


# -- corrections ------------------------------------------------------------------------------------------

def correct_document(session: Session, document_id: int, corrections: Corrections, *, who: str,
                     master: MasterData | None = None) -> Document:
    """Apply the corrections (one history row each) and learn from the product, unit and supplier choices.
    A product chosen without a factor gets the factor of that product for the printed unit (from `master`, as
    the matcher finds it: supplier link, learned factor, the product's conversions, standard units), or none
    (`uom_factor` null: not known) — never the factor of the product it replaces."""
    document = get_document(session, document_id)
    edits = tuple(line for line in corrections.lines if not any(line.get(op) for op in LINE_OPS))
    operations = [line for line in corrections.lines if any(line.get(op) for op in LINE_OPS)]
    corrections = dataclasses.replace(corrections, lines=edits)
    changes: dict[str, Any] = {f"fields.{name}": plain_value(value) for name, value in corrections.fields.items()}
    if corrections.supplier_id is not None:
        require_row(session, Supplier, corrections.supplier_id)
        changes["supplier_id"] = corrections.supplier_id
    for line in corrections.lines:
        if "line_no" not in line:
            raise NotPostable("Each corrected line needs its line_no.")
        number = int(line["line_no"])
        for key, value in line.items():
            if key == "line_no":
                continue
            if key == "product_id" and value is not None:
                value = require_row(session, Product, int(value)).id
            if key == "uom_factor" and value is not None:
                value = str(positive_decimal(value, f"line {number} uom_factor"))
            changes[f"lines.{number}.{key}"] = plain_value(value)
        if line.get("product_id") is not None and "uom_factor" not in line \
                and int(line["product_id"]) != _current_product(document, number):
            factor = factor_of(master, document, number, int(line["product_id"]))
            changes[f"lines.{number}.uom_factor"] = None if factor is None else str(factor)
    correct(session, document_id, changes, who=who)
    from pipeline.review_lines import line_operation, rematch_lines     # they build on this module's reading
    if corrections.supplier_id is not None:
        document.supplier_id = corrections.supplier_id
        rematch_lines(session, document, who=who, master=master)
    for operation in operations:
        line_operation(session, document, operation, who=who, master=master)
    _learn(session, document, corrections, who=who, master=master)
    return document


def _learn(session: Session, document: Document, corrections: Corrections, *, who: str,
           master: MasterData | None = None) -> None:
    """Store what the corrections teach.  The keys come from the machine's reading (what the next document of
    this supplier will print), the targets from the person's choice."""
    now = utcnow()
    machine = document.extraction or {}
    reading = Extraction.from_json(machine)
    supplier = str(document.supplier_id or "")
    facts: list[LearnedFact] = []
    if corrections.supplier_id is not None:
        fact = supplier_alias_fact(printed_name=reading.printed("supplier_name"),
                                   supplier_id=str(corrections.supplier_id), at=now)
        facts += [fact] if fact else []
    printed_lines = {line.line_no: line for line in reading.lines}
    for fix in corrections.lines:
        if fix.get("product_id") is None and fix.get("uom_factor") is None:
            continue
        number = int(fix["line_no"])
        product_id = fix.get("product_id") or _current_product(document, number)
        if product_id is None or number not in printed_lines:
            continue
        factor = Decimal(str(fix["uom_factor"])) if fix.get("uom_factor") is not None else None
        facts += facts_from_line(supplier_id=supplier, line=printed_line(printed_lines[number]),
                                 product_id=str(product_id), factor=factor, at=now)
    facts += _layout_hint_facts(reading, machine.get("page_text") or [], corrections,
                                supplier=str(corrections.supplier_id or supplier), at=now)
    for fact in facts:
        _store_fact(session, fact, who=who)
    _learn_layout(session, document, reading, corrections, who=who, master=master, at=now)


def _store_fact(session: Session, fact: LearnedFact, *, who: str) -> int:
    return learn(session, kind=str(fact.kind), key=fact.key, created_by=who,
                 supplier_id=int(fact.supplier_id) if fact.supplier_id else None,
                 target_id=int(fact.target_id) if fact.target_id else None, factor=fact.factor,
                 payload=dict(fact.payload)).id


def _picked(corrections: Corrections, path: str) -> Picked | None:
    source = corrections.sources.get(path)
    if not source:
        return None
    try:
        return Picked(int(source["page"]), BBox(*(float(v) for v in source["bbox"])))
    except (KeyError, TypeError, ValueError):
        return None


def _learn_layout(session: Session, document: Document, reading: Extraction, corrections: Corrections, *, who: str,
                  master: MasterData | None, at: datetime) -> None:
    """Where this supplier prints each corrected value (extractors.learned_layout): a layout rule per header field
    and line cell, learned from the words of the machine's reading; each correction's outcome is noted in the
    document's history (the rule's fact id, or why none was learned)."""
    stored = (document.extraction or {}).get("layout")
    cells = [(int(fix["line_no"]), key, value) for fix in corrections.lines for key, value in fix.items()
             if key in LINE_FIELDS and value not in (None, "")]
    wanted = [(name, value) for name, value in corrections.fields.items() if value not in (None, "")]
    removed = [name for name, value in corrections.fields.items() if value in (None, "") and name in reading.fields]
    if not stored or not (wanted or cells or removed):
        return
    supplier = str(corrections.supplier_id or document.supplier_id or _supplier_of(document, master) or "")
    if not supplier:
        for path in [f"fields.{n}" for n, _ in wanted] + [f"fields.{n}" for n in removed] + \
                [f"lines.{no}.{c}" for no, c, _ in cells]:
            note(session, document.id, who=who, path=f"learned.{path}",
                 why="the supplier is not known; where it prints this value was not learned")
        return
    layout = Layout.from_json(stored)
    kind = document.document_type or str(reading.document_type)
    def taken(name: str) -> list[tuple[int, BBox]]:       # where the other fields were read from
        return [(f.page, f.bbox) for n, f in reading.fields.items() if n != name and f.bbox is not None]
    taught = [(f"fields.{name}", str(value),
               teach(layout, name, parse_value(name, value), picked=_picked(corrections, f"fields.{name}"),
                     taken=taken(name)))
              for name, value in wanted]
    taught += [(f"fields.{name}", "", teach_absent(layout, name, reading.fields[name])) for name in removed]
    taught += [(f"lines.{no}.{cell}", str(value), teach_line_cell(layout, reading.lines, no, cell, parse_value(cell, value)))
               for no, cell, value in cells]
    for path, value, outcome in taught:
        if outcome.rule is None:
            note(session, document.id, who=who, path=f"learned.{path}", why=outcome.reason)
            continue
        fact = layout_rule_fact(supplier_id=supplier, document_kind=kind, rule=outcome.rule, value=value,
                                document_id=str(document.id), at=at)
        fact_id = _store_fact(session, fact, who=who)
        if outcome.reason:                     # a particular printed otherwise, a field the supplier lacks
            why = f"{outcome.reason} (layout rule {fact_id})"
        else:
            where = f"page {outcome.page}" + (f", after '{outcome.rule.anchor}'" if outcome.rule.anchor else "")
            why = f"learned where this supplier prints it ({where}; layout rule {fact_id})"
        note(session, document.id, who=who, path=f"learned.{path}", after=fact_id,
             why=why + ("; picked on the page" if path in corrections.sources else ""))


def _supplier_of(document: Document, master: MasterData | None) -> str:
    """The supplier the reviewed values name (a corrected tax id or name), when the matcher would accept it; the
    document takes it."""
    if master is None or document.current is None:
        return ""
    current = Extraction.from_json(document.current["extraction"])
    match, _ = match_supplier(printed_supplier(current), master)
    if not match.id or not match.auto_accepted:
        return ""
    document.supplier_id = int(match.id)
    return match.id


def _layout_hint_facts(reading: Extraction, page_text: list[str], corrections: Corrections, *, supplier: str,
                       at: datetime) -> list[LearnedFact]:
    """Where this supplier prints its PO number, and its date order, from a reviewer's PO number or date
    (matching.layout_hints_from over the printed lines kept with the reading)."""
    wanted = {k: v for k, v in corrections.fields.items() if k in ("po_number", "document_date") and v}
    if not supplier or not wanted:
        return []
    fields: dict[str, Field] = {}
    if "po_number" in wanted:
        fields["po_number"] = Field(str(wanted["po_number"]), str(wanted["po_number"]), 1.0)
    if "document_date" in wanted:
        try:
            when = date.fromisoformat(str(wanted["document_date"]))
        except ValueError:
            when = None
        if when is not None and reading.raw("document_date"):
            fields["document_date"] = Field(when, reading.raw("document_date"), 1.0)
    if not fields:
        return []
    corrected = Extraction(reading.document_type, reading.language, fields, ())
    hints = layout_hints_from(supplier_id=supplier, corrected=corrected,
                              text_lines=page_text, at=at)
    return [h for h in hints if h.key != "columns"]        # the usual columns come from lines, not from here


def _current_product(document: Document, line_no: int) -> int | None:
    merged = merged_extraction(document) or {}
    for line in merged.get("lines") or ():
        if line.get("line_no") == line_no and line["product_match"].get("id"):
            return int(line["product_match"]["id"])
    return None


def factor_of(master: MasterData | None, document: Document, line_no: int, product_id: int) -> Decimal | None:
    """Base units of `product_id` per unit printed on line `line_no`, as the matcher finds it; None: not known."""
    product = master.product(str(product_id)) if master is not None else None
    reviewed = (document.current or {}).get("extraction") or document.extraction or {}     # a corrected unit counts
    printed = next((line for line in reviewed.get("lines") or () if line.get("line_no") == line_no), None)
    if product is None or printed is None:
        return None
    line = printed_line(LineItem.from_json(printed))
    conversion, _ = convert_unit(printed_unit=line.unit, quantity=None, unit_price=None, product=product,
                                 supplier_id=str(document.supplier_id or ""), master=master,
                                 description=line.text, line_no=line_no)
    return conversion.factor


def _decimal(value: Any) -> Decimal | None:
    """A match's factor ("2.5", a number, or None) as a Decimal."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


# -- confirm and reject -----------------------------------------------------------------------------------

def receipt_lines(session: Session, document: Document) -> list[ReceiptLine]:
    """The reviewed lines as the ledger takes them; a line without product or quantity stops the posting."""
    merged = merged_extraction(document)
    if merged is None:
        raise NotPostable(f"Document {document.id} has not been read yet.")
    out = []
    for line in merged.get("lines") or ():
        item = LineItem.from_json(line)
        number = int(line["line_no"])
        match = line["product_match"]
        quantity = item.decimal("quantity")
        if not match.get("id"):
            raise NotPostable(f"Line {number} has no product; choose one before confirming.")
        if quantity is None or quantity <= 0:
            raise NotPostable(f"Line {number} has no quantity; enter it before confirming.")
        price = item.decimal("unit_price")
        if price is None:
            amount = item.decimal("amount")
            price = (amount / quantity) if amount is not None else Decimal(0)
        factor = _decimal(match.get("uom_factor")) or _same_unit_factor(session, item, int(match["id"]))
        produced = _line_date(item, "production_date")
        out.append(ReceiptLine(number, int(match["id"]), quantity, price, factor,
                               batch=item.printed("batch_no"),
                               expiry=_line_date(item, "expiry_date") or _shelf_life_end(session, int(match["id"]),
                                                                                          produced),
                               po_line_id=_po_line_id(session, line), production_date=produced))
    return out


def _line_date(item: LineItem, name: str) -> date | None:
    value = item.date(name)
    return value if isinstance(value, date) else None


def _shelf_life_end(session: Session, product_id: int, produced: date | None) -> date | None:
    """No expiry printed: the production date plus the product's shelf life (保质期), where both are known."""
    if produced is None:
        return None
    product = session.get(Product, product_id)
    days = product.shelf_life_days if product is not None else None
    return produced + timedelta(days=days) if days else None


def document_money(session: Session, document: Document, *,
                   base_currency: str | None = None) -> tuple[str, str, Decimal | None]:
    """(document currency, base currency, exchange rate or None) of the reviewed document: the currency as read
    (none read: the base currency), the rate from the header field `exchange_rate` (read, or typed by the clerk),
    else the company's standing rate for that currency; the base currency the admin's setting, else
    `base_currency` (INBOUND_BASE_CURRENCY), else CNY."""
    company = company_settings(session, Defaults(base_currency=currency_code(base_currency or DEFAULT_CURRENCY)))
    reading = Extraction.from_json(((document.current or {}).get("extraction")) or document.extraction)
    return reading_money(reading, company)


def reading_money(reading: Extraction, company: CompanySettings) -> tuple[str, str, Decimal | None]:
    """document_money for a reading and the company's settings (no database): NotPostable where the currency or
    the rate printed or typed is not one."""
    base = company.base_currency
    printed = reading.text("currency")
    try:
        currency = currency_code(printed) if printed else base
    except ValueError as exc:
        raise NotPostable(f"The document's currency {printed!r} is not a currency code; correct it before "
                          "confirming.") from exc
    rate = reading.decimal("exchange_rate")
    if rate is None and reading.text("exchange_rate"):
        raise NotPostable(f"The exchange rate {reading.text('exchange_rate')!r} is not a number.")
    if rate is None and currency != base:
        rate = company.exchange_rates.get(currency)
    return currency, base, rate


def rate_issue(reading: Extraction, company: CompanySettings) -> dict | None:
    """The issue a document in another currency than the base, with no rate read, typed or standing, has before
    it can post (`exchange_rate_missing`, an error on the field `exchange_rate`), else None."""
    try:
        currency, base, rate = reading_money(reading, company)
    except NotPostable as exc:
        return {"code": "exchange_rate_missing", "severity": "error", "field": "exchange_rate", "line_no": None,
                "message": str(exc)}
    if currency == base or rate is not None:
        return None
    return {"code": "exchange_rate_missing", "severity": "error", "field": "exchange_rate", "line_no": None,
            "message": f"The document is in {currency} and stock is kept in {base}: enter the exchange rate "
                       f"(how many {base} one {currency} is) before confirming."}


def in_own_unit(printed_unit: str, product_unit: str) -> bool:
    """The line prints no unit, or the product's own: its factor is 1 without being told."""
    return not printed_unit or unit_key(printed_unit) == unit_key(product_unit)


def _same_unit_factor(session: Session, line: LineItem, product_id: int) -> Decimal:
    """1 where the line prints no unit or the product's own; else the factor is not known and nothing posts."""
    printed = line.printed("unit")
    product = session.get(Product, product_id)
    if not printed or product is not None and in_own_unit(printed, product.unit):
        return Decimal(1)
    base = product.unit if product is not None else "base units"
    raise NotPostable(f"Line {line.line_no}: how many {base} are in one '{printed}' is not known; "
                      "enter the factor before confirming.")


def _po_line_id(session: Session, line: dict) -> int | None:
    ref = line.get("po_line")
    if not isinstance(ref, dict):
        return None
    return session.scalar(select(PurchaseOrderLine.id).join(PurchaseOrder)
                          .where(PurchaseOrder.po_number == ref.get("po_number"),
                                 PurchaseOrderLine.line_no == ref.get("line_no")))


def confirm_document(session: Session, document_id: int, *, who: str, approver: bool,
                     idempotency_key: str | None, tolerance: Decimal,
                     price_tolerance: Decimal | None = None, base_currency: str | None = None) -> PostingResult:
    """`base_currency`: the environment's default (INBOUND_BASE_CURRENCY) where no admin setting is stored.
    A document in another currency than the base posts only with its exchange rate (NotPostable otherwise)."""
    document = get_document(session, document_id)
    currency = base = rate = None
    if document.status == "posted":
        lines = []
    else:
        lines = receipt_lines(session, document)
        if lines:                         # (no lines: post_receipt says so first)
            currency, base, rate = document_money(session, document, base_currency=base_currency)
    result = post_receipt(session, document_id=document_id, lines=lines, posted_by=who,
                          idempotency_key=idempotency_key, approved_by=who if approver else None,
                          tolerance=tolerance, price_tolerance=price_tolerance, currency=currency,
                          base_currency=base, exchange_rate=rate)
    if result.created:
        record_event(session, "receipt.posted", {"document_id": document_id, "posting_id": result.posting_id,
                                                 "moves": result.move_count, "posted_by": who,
                                                 "currency": currency, "base_currency": base,
                                                 "exchange_rate": str(rate) if rate is not None else "1",
                                                 "lines": [{"line_no": li.line_no, "product_id": li.product_id,
                                                            "quantity": str(li.quantity), "factor": str(li.factor),
                                                            "unit_price": str(li.unit_price)} for li in lines]})
    return result


AWAITING_APPROVAL = "awaiting approval"


def request_approval(session: Session, document_id: int, *, who: str, reason: str) -> Document:
    """A clerk confirmed what only an approver may post: the document waits as `confirmed`, the reason kept."""
    document = get_document(session, document_id)
    record_status(session, document, "confirmed", who=who, why=f"{AWAITING_APPROVAL}: {reason}")
    return document


def approval_reason(session: Session, document: Document) -> str:
    """Why a `confirmed` document waits for an approver (the reason given when it was sent), else ""."""
    if document.status != "confirmed":
        return ""
    for change in reversed(history(session, document.id)):
        if change.path == "status" and change.after == "confirmed":
            why = change.why or ""
            return why.removeprefix(f"{AWAITING_APPROVAL}: ")
    return ""


def send_back(session: Session, document_id: int, *, who: str, reason: str | None) -> Document:
    """An approver returns a waiting document to the review queue."""
    document = get_document(session, document_id)
    record_status(session, document, "needs_review", who=who, why=reason or "sent back by the approver")
    return document


def reject_document(session: Session, document_id: int, *, who: str, reason: str | None) -> Document:
    document = get_document(session, document_id)
    record_status(session, document, "rejected", who=who, why=reason or "rejected")
    return document


def as_of(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
