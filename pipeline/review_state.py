"""The reviewed state of a document as the review reads it (pipeline.review and pipeline.review_lines build on
this): the merged extraction (the reading with the reviewed matches and a person's choices folded in), and the
small value checks every correction shares.  Kept apart from pipeline.review so that the line operations
(pipeline.review_lines), which pipeline.review calls, do not import it back.
"""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from models.errors import NotPostable
from models.tables import Document


def merged_extraction(document: Document) -> dict | None:
    """The reviewed extraction in the contract shape: supplier_match and each line's product_match folded in;
    a person's choice (product_id, uom_factor, supplier_id) shows as method `manual`."""
    if document.current is None:
        return None
    extraction = copy.deepcopy(document.current["extraction"])
    matches = document.current.get("matches") or {}
    supplier_match = copy.deepcopy(matches.get("supplier_match") or no_match())
    if extraction.get("supplier_id") is not None:
        supplier_match = manual_match(extraction["supplier_id"], supplier_match)
    extraction["supplier_match"] = supplier_match
    by_no = {m.get("line_no"): m for m in matches.get("lines") or ()}
    for line in extraction.get("lines") or ():
        found = by_no.get(line.get("line_no"), {})
        product_match = copy.deepcopy(found.get("product_match") or no_match())
        chosen = line.get("product_id") is not None
        if chosen:
            product_match = manual_match(line["product_id"], product_match)
        if "uom_factor" in line:             # a person's factor, or the chosen product's (None: not known)
            product_match.pop("uom_factor", None)
            if line["uom_factor"] is not None:
                product_match["uom_factor"] = str(line["uom_factor"])
        line["product_match"] = product_match
        for key in ("po_line",) if chosen else ("base_quantity", "unit_cost", "po_line"):
            if key in found and key not in line:
                line[key] = found[key]
    proposal = proposed_supplier(document)
    if proposal is not None:                 # no supplier yet: the new one the matcher proposes, as read
        extraction["proposed_supplier"] = proposal
    return extraction


def no_match() -> dict:
    return {"id": None, "name": "", "score": 0.0, "method": "none", "auto_accepted": False, "candidates": []}


def manual_match(record_id: Any, before: dict) -> dict:
    return {**before, "id": str(record_id), "score": 1.0, "method": "manual", "auto_accepted": True,
            "name": next((c.get("name", "") for c in before.get("candidates", []) if c.get("id") == str(record_id)),
                         before.get("name", "") if before.get("id") == str(record_id) else "")}


def plain_value(value: Any) -> Any:
    """Numbers from JSON become decimal strings, as the contract writes them (never float)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return format(Decimal(str(value)), "f")
    return value


def positive_decimal(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise NotPostable(f"{name}: {value!r} is not a number") from exc
    if not number.is_finite() or number <= 0:
        raise NotPostable(f"{name} must be > 0, got {value}")
    return number


def require_row(session: Session, table, record_id: int):
    row = session.get(table, record_id)
    if row is None:
        raise NotPostable(f"No {table.__tablename__[:-1].replace('_', ' ')} {record_id}.")
    return row


def proposed_supplier(document: Document) -> dict | None:
    """The matcher's proposal for a supplier not in the master, while the document has none: {name, tax_id,
    address, phone, bank_account} as read."""
    current = document.current or {}
    if document.supplier_id or (current.get("extraction") or {}).get("supplier_id") is not None:
        return None
    proposal = (current.get("matches") or {}).get("proposed_supplier")
    return dict(proposal) if proposal else None
