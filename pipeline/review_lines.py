"""A reviewer's changes to a document's lines (issue 17), applied by pipeline.review.correct_document for a PATCH
line that says `add`, `delete` or `split`, and when the supplier is chosen:

    add     {"add": true, FIELD: VALUE, "product_id", "uom_factor"}  -> a line with the next line_no; without a
            product, the matcher's suggestion for its description (auto-accepted where the matcher would);
            the open line of the document's purchase order for its product
    delete  {"line_no", "delete": true}                              -> the line leaves the reviewed reading
    split   {"line_no", "split": Q}                                  -> Q of its quantity to a new line with the
            same product, unit, price, factor and PO line; the amounts follow the quantities
    rematch_lines                                                    -> the supplier chosen: unsure lines matched
            again for it

Each is a history row (models.documents.set_line / correct: before -> after, who, when).  The lines changed are
the reviewed reading's (`current`), so the screen, GET .../documents/{id} (merged_extraction) and posting
(receipt_lines) all see the same lines.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from extractors import Extraction, LineItem
from extractors.result import LINE_FIELDS
from matching import LineMatch, MasterData, convert_unit, match_product, printed_line
from models.documents import correct, log_change, set_line
from models.errors import NotPostable
from models.tables import Document, Product, PurchaseOrder, PurchaseOrderLine
from pipeline.review_state import merged_extraction, no_match, plain_value, positive_decimal, require_row

# what a split line's new part copies from it (its quantity, amount and tax amount are divided)
_SPLIT_COPIES = ("supplier_sku", "barcode", "description", "spec", "unit", "unit_price", "tax_rate", "batch_no",
                 "production_date", "expiry_date", "po_line_ref")


def line_operation(session: Session, document: Document, operation: dict, *, who: str,
                    master: MasterData | None) -> None:
    if operation.get("add"):
        _add_line(session, document, operation, who=who, master=master)
        return
    if "line_no" not in operation or operation["line_no"] is None:
        raise NotPostable("A line to delete or split needs its line_no.")
    number = int(operation["line_no"])
    if _reviewed_line(document, number) is None:
        raise NotPostable(f"The document has no line {number}.")
    if operation.get("delete"):
        set_line(session, document.id, number, None, who=who, why=str(operation.get("why") or "line deleted"))
    else:
        _split_line(session, document, number, operation["split"], who=who)


def next_line_no(document: Document) -> int:
    """The number an added line gets: one above every line the document has had (a deleted line's number is not
    given again, so its history stays its own)."""
    current = document.current or {}
    numbers = [int(x.get("line_no") or 0) for x in (current.get("extraction") or {}).get("lines") or ()]
    numbers += [int(m.get("line_no") or 0) for m in (current.get("matches") or {}).get("lines") or ()]
    numbers += [int(x.get("line_no") or 0) for x in (document.extraction or {}).get("lines") or ()]
    return max(numbers, default=0) + 1


def _reviewed_line(document: Document, number: int) -> dict | None:
    return next((x for x in ((document.current or {}).get("extraction") or {}).get("lines") or ()
                 if x.get("line_no") == number), None)


def _add_line(session: Session, document: Document, operation: dict, *, who: str,
              master: MasterData | None) -> int:
    """A line the reading missed: its values as given, a product as chosen or as the matcher suggests for its
    description (auto-accepted where the matcher would accept it), the chosen product's factor for its unit, and
    the open line of the document's purchase order for that product."""
    number = next_line_no(document)
    line: dict[str, Any] = {"line_no": number}
    for key in LINE_FIELDS:
        if operation.get(key) not in (None, ""):
            line[key] = plain_value(operation[key])
    for key in ("quantity", "unit_price", "amount"):
        if key in line:
            line[key] = str(_decimal_or_fail(line[key], f"the new line's {key.replace('_', ' ')}"))
    product = None
    if operation.get("product_id") not in (None, ""):
        product = require_row(session, Product, int(operation["product_id"]))
        line["product_id"] = product.id
        line.setdefault("unit", product.unit)
        line.setdefault("description", product.name)       # nothing printed: the product's own name
    if "amount" not in line and "quantity" in line and "unit_price" in line:
        line["amount"] = _money(Decimal(line["quantity"]) * Decimal(line["unit_price"]))
    if len(line) == 1:
        raise NotPostable("A new line needs a description, a product or a quantity.")
    suggestion = _suggested_match(document, line, master) if product is None else None
    if operation.get("uom_factor") not in (None, ""):
        line["uom_factor"] = str(positive_decimal(operation["uom_factor"], "the new line's uom_factor"))
    elif product is not None:
        factor = _factor_for(master, document, line, product.id)
        line["uom_factor"] = None if factor is None else _plain_number(factor)
    product_id = product.id if product is not None else _accepted(suggestion)
    po_line = _open_po_line(session, document, product_id) if product_id is not None else None
    if po_line is not None:
        line["po_line"] = po_line
    set_line(session, document.id, number, line, who=who, why=str(operation.get("why") or "line added"),
             match=suggestion or {"product_match": no_match()})
    return number


def rematch_lines(session: Session, document: Document, *, who: str, master: MasterData | None) -> None:
    """The supplier was chosen: the lines without a person's product, whose match was not sure, matched again
    for this supplier (its SKUs, names and units as the supplier-product links know them); a match now sure
    replaces the old one (a history row each)."""
    if master is None or document.current is None:
        return
    current = copy.deepcopy(document.current)
    matches = current.get("matches") or {}
    by_no = {m.get("line_no"): m for m in matches.get("lines") or ()}
    changed = False
    for line in (current.get("extraction") or {}).get("lines") or ():
        number = line.get("line_no")
        before = (by_no.get(number) or {}).get("product_match") or {}
        if line.get("product_id") is not None or before.get("auto_accepted"):
            continue
        found = _suggested_match(document, line, master)
        if not found or not found["product_match"].get("auto_accepted"):
            continue
        by_no[number] = {**found, "line_no": number}
        changed = True
        _log_rematch(session, document, number, before, found["product_match"], who=who)
    if changed:
        current["matches"] = {**matches, "lines": list(by_no.values())}
        document.current = current
        session.flush()


def _log_rematch(session: Session, document: Document, number: int, before: dict, after: dict, *, who: str) -> None:
    log_change(session, document.id, who=who, path=f"matches.lines.{number}.product_id", before=before.get("id"),
         after=after.get("id"), why=f"matched again for supplier {document.supplier_id} ({after.get('method')})")


def _accepted(suggestion: dict | None) -> int | None:
    match = (suggestion or {}).get("product_match") or {}
    return int(match["id"]) if match.get("id") and match.get("auto_accepted") else None


def _suggested_match(document: Document, line: dict, master: MasterData | None) -> dict | None:
    """The matcher's product for a line a person typed (as for a line read): the contract's line match."""
    if master is None or not line.get("description"):
        return None
    printed = printed_line(LineItem.from_json(line))
    supplier = str(document.supplier_id or "")
    match = match_product(printed, supplier, master)
    product = master.product(match.id) if match.id else None
    unit = None
    if product is not None:
        unit, _ = convert_unit(printed_unit=printed.unit, quantity=printed.quantity, unit_price=printed.unit_price,
                               product=product, supplier_id=supplier, master=master, description=printed.text,
                               line_no=printed.line_no)
    return LineMatch(printed.line_no, match, unit).to_json()


def _factor_for(master: MasterData | None, document: Document, line: dict, product_id: int) -> Decimal | None:
    product = master.product(str(product_id)) if master is not None else None
    if product is None:
        return None
    printed = printed_line(LineItem.from_json(line))
    conversion, _ = convert_unit(printed_unit=printed.unit, quantity=None, unit_price=None, product=product,
                                 supplier_id=str(document.supplier_id or ""), master=master,
                                 description=printed.text, line_no=printed.line_no)
    return conversion.factor


def document_po_number(document: Document) -> str:
    """The purchase order the document names: as reviewed, else as the matcher found it."""
    current = document.current or {}
    reading = Extraction.from_json(current.get("extraction"))
    return reading.text("po_number") or str((current.get("matches") or {}).get("po_number") or "")


def _open_po_line(session: Session, document: Document, product_id: int) -> dict | None:
    number = document_po_number(document)
    if not number:
        return None
    found = session.scalar(select(PurchaseOrderLine.line_no).join(PurchaseOrder)
                           .where(PurchaseOrder.po_number == number, PurchaseOrderLine.product_id == product_id)
                           .order_by(PurchaseOrderLine.line_no).limit(1))
    return None if found is None else {"po_number": number, "line_no": found}


def _split_line(session: Session, document: Document, number: int, moved: Any, *, who: str) -> int:
    """`moved` of line `number`'s quantity goes to a new line with the same product, unit, price, factor and
    PO line; the amounts (and tax amounts) follow the quantities."""
    merged = next(x for x in (merged_extraction(document) or {}).get("lines") or () if x.get("line_no") == number)
    item = LineItem.from_json(merged)
    quantity = item.decimal("quantity")
    part = positive_decimal(moved, f"line {number} split")
    if quantity is None or part >= quantity:
        raise NotPostable(f"Line {number}: the quantity to split off must be less than its quantity "
                          f"({'none' if quantity is None else format(quantity, 'f')}).")
    rest = quantity - part
    new = next_line_no(document)
    line: dict[str, Any] = {"line_no": new}
    for key in _SPLIT_COPIES:
        if item.fields.get(key) is not None and item.fields[key].value not in (None, ""):
            line[key] = _plain_value(item.fields[key].value)
    line["quantity"] = format(part, "f")
    changes: dict[str, Any] = {f"lines.{number}.quantity": format(rest, "f")}
    price = item.decimal("unit_price")
    for key in ("amount", "tax_amount"):
        whole = item.decimal(key)
        if key == "amount" and price is not None:
            line[key], changes[f"lines.{number}.{key}"] = _money(part * price), _money(rest * price)
        elif whole is not None:
            share = _money(whole * part / quantity, like=whole)
            line[key], changes[f"lines.{number}.{key}"] = share, _money(whole - Decimal(share), like=whole)
    match = merged.get("product_match") or {}
    if match.get("id"):
        line["product_id"] = int(match["id"])
    if match.get("uom_factor") not in (None, ""):
        line["uom_factor"] = str(match["uom_factor"])
    if isinstance(merged.get("po_line"), dict):
        line["po_line"] = dict(merged["po_line"])
    why = f"split: {format(part, 'f')} to line {new}"
    correct(session, document.id, changes, who=who, why=why)
    set_line(session, document.id, new, line, who=who, why=f"split from line {number}",
             match={"product_match": copy.deepcopy(match) or no_match()})
    return new


def _plain_number(number: Decimal) -> str:
    """5000.000000 -> "5000", 0.250 -> "0.25" (never an exponent)."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _plain_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _decimal_or_fail(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise NotPostable(f"{name}: {value!r} is not a number") from exc
    if not number.is_finite():
        raise NotPostable(f"{name}: {value!r} is not a number")
    return number


def _money(value: Decimal, like: Decimal | None = None) -> str:
    """An amount to the cents (or to the places of the amount it is a share of)."""
    places = Decimal(1).scaleb(min(-2, like.as_tuple().exponent)) if like is not None else Decimal("0.01")
    return format(value.quantize(places), "f")


