"""Purchase orders: find the PO for a document, match its lines to open PO lines, check them.

`find_purchase_order`: the printed PO number (OCR confusions folded) first; else the supplier's PO with
open lines for the most of the document's products, dated within `po_window_days` before the document.
`check_against_po`: each matched line goes to an open PO line of the same product (in order, so two
document lines of one product use up the open quantity together), then
  2-way (delivery notes: PO vs this receipt): quantity against the open quantity, unit cost against the PO
  price, each with its tolerance;
  3-way (invoices: PO vs what was received vs what is invoiced): the invoiced quantity against the quantity
  received so far on that PO line, and the price against the PO.
`is_invoice` says which: only an invoice is compared 3-way; a document that is itself the receipt (delivery note,
送货单, packing slip, till receipt; see `RECEIPT_TYPES`) is compared against the PO's open quantity.  An invoice
line whose PO line has received nothing yet is compared 2-way as well: nothing else delivered those goods, so
this invoice is what will be posted as their receipt ("10000 invoiced, 0 received" would only say that).
PO-line quantities and prices are per the product's base unit (the master import converts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from extractors import DocumentType, Extraction, Issue, Severity
from matching.master import MasterData, POLine, PurchaseOrder
from matching.normalize import fold_code
from matching.result import MatchOptions, POLineRef

__all__ = ["INVOICE_TYPES", "RECEIPT_TYPES", "ReceivedLine", "check_against_po", "find_purchase_order", "is_invoice"]

INVOICE_TYPES = frozenset({DocumentType.INVOICE, DocumentType.VAT_INVOICE})
# documents that come with the goods: what they list is what arrived
RECEIPT_TYPES = frozenset({DocumentType.DELIVERY_NOTE, DocumentType.RECEIPT})


def is_invoice(extraction: Extraction) -> bool:
    """Whether the document is compared 3-way, as an invoice against what was received: only an invoice (an
    unknown type, a delivery note or a receipt is compared against what the PO has open)."""
    return extraction.document_type in INVOICE_TYPES


@dataclass(frozen=True, slots=True)
class ReceivedLine:
    """A document line once matched: product, quantity and unit cost in base units (None when unknown)."""

    line_no: int
    product_id: str
    quantity: Decimal | None
    unit_cost: Decimal | None


def find_purchase_order(*, printed_number: str, supplier_id: str, product_ids: set[str], document_date: date | None,
                        master: MasterData, options: MatchOptions = MatchOptions()
                        ) -> tuple[PurchaseOrder | None, list[Issue]]:
    """The PO this document delivers against, and `po_not_found` when a printed number is unknown."""
    key = fold_code(printed_number)
    if key and key in master.po_by_number:
        return master.po_by_number[key], []
    issues = []
    if key:
        issues.append(Issue("po_not_found", Severity.WARNING,
                            f"Purchase order {printed_number} is not known.", field="po_number"))
    best, best_key = None, (0, date.min)
    for po in master.purchase_orders:
        if po.supplier_id != supplier_id or not supplier_id or not _dated_ok(po, document_date, options):
            continue
        overlap = len({pl.product_id for pl in po.lines if pl.open > 0} & product_ids)
        rank = (overlap, po.date or date.min)
        if overlap and rank > best_key:
            best, best_key = po, rank
    return best, issues


def _dated_ok(po: PurchaseOrder, document_date: date | None, options: MatchOptions) -> bool:
    if po.date is None or document_date is None:
        return True
    return po.date - timedelta(days=7) <= document_date <= po.date + timedelta(days=options.po_window_days)


def _pick(po: PurchaseOrder, product_id: str, used: dict[int, Decimal]) -> POLine | None:
    fallback = None
    for pl in po.lines:
        if pl.product_id != product_id:
            continue
        if pl.open - used.get(pl.line_no, Decimal(0)) > 0:
            return pl
        fallback = fallback or pl
    return fallback


def _beyond(value: Decimal, reference: Decimal, tolerance: Decimal) -> int:
    """+1 above reference*(1+tol), -1 below reference*(1-tol), 0 within."""
    if value > reference * (1 + tolerance):
        return 1
    if value < reference * (1 - tolerance):
        return -1
    return 0


def _quantity_issues(line: ReceivedLine, pl: POLine, left: Decimal, three_way: bool,
                     options: MatchOptions, po_number: str) -> list[Issue]:
    if line.quantity is None:
        return []
    if three_way and pl.received > 0:
        if _beyond(line.quantity, pl.received, options.qty_tolerance) > 0:
            return [Issue("invoice_exceeds_receipt", Severity.WARNING,
                          f"Line {line.line_no}: {_n(line.quantity)} invoiced, {_n(pl.received)} received on "
                          f"{po_number} line {pl.line_no}.", field="quantity", line_no=line.line_no)]
        return []
    side = _beyond(line.quantity, left, options.qty_tolerance)
    if side > 0:
        return [Issue("po_over_delivery", Severity.WARNING,
                      f"Line {line.line_no}: {_n(line.quantity)} delivered, {_n(left)} open on {po_number} "
                      f"line {pl.line_no}.",
                      field="quantity", line_no=line.line_no)]
    if side < 0:
        return [Issue("po_under_delivery", Severity.INFO,
                      f"Line {line.line_no}: {_n(line.quantity)} of {_n(left)} open on {po_number} line {pl.line_no}; "
                      "the rest stays open.", field="quantity", line_no=line.line_no)]
    return []


def _n(number: Decimal) -> str:
    """A quantity or price as people write it: 10000, 0.25 (not 10000.000000)."""
    text = format(number.normalize(), "f")
    return "0" if text == "-0" else text


def _price_issue(line: ReceivedLine, pl: POLine, options: MatchOptions, po_number: str) -> list[Issue]:
    if line.unit_cost is None or pl.price is None or pl.price == 0:
        return []
    if _beyond(line.unit_cost, pl.price, options.price_tolerance) == 0:
        return []
    change = (line.unit_cost - pl.price) / pl.price * 100
    return [Issue("po_price_variance", Severity.WARNING,
                  f"Line {line.line_no}: unit cost {_n(line.unit_cost)} vs {_n(pl.price)} on "
                  f"{po_number} ({change:+.1f} %).", field="unit_price", line_no=line.line_no)]


def check_against_po(po: PurchaseOrder, lines: list[ReceivedLine], *, three_way: bool,
                     options: MatchOptions = MatchOptions()) -> tuple[dict[int, POLineRef], list[Issue]]:
    """PO line per document line (by line_no) and the issues (see the module docstring)."""
    used: dict[int, Decimal] = {}
    refs: dict[int, POLineRef] = {}
    issues: list[Issue] = []
    for line in lines:
        pl = _pick(po, line.product_id, used)
        if pl is None:
            issues.append(Issue("po_line_missing", Severity.WARNING,
                                f"Line {line.line_no} is not on purchase order {po.po_number}.",
                                line_no=line.line_no))
            continue
        left = max(Decimal(0), pl.open - used.get(pl.line_no, Decimal(0)))
        refs[line.line_no] = POLineRef(po.po_number, pl.line_no, left)
        issues += _quantity_issues(line, pl, left, three_way, options, po.po_number)
        issues += _price_issue(line, pl, options, po.po_number)
        used[pl.line_no] = used.get(pl.line_no, Decimal(0)) + (line.quantity or Decimal(0))
    return refs, issues
