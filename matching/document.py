"""`match_document`: an Extraction and a MasterData snapshot in, a `DocumentMatch` out.

The order of work:
    supplier  = match_supplier(printed party)                      -> Match (+ proposal when new)
    each line = match_product(printed line, supplier)              -> Match with candidates
                convert_unit(printed unit -> product base unit)    -> UnitConversion or unit_unknown
                a batch-tracked product without a batch number     -> batch_required (an error: not ready)
    PO        = find_purchase_order(...); check_against_po(...)    -> PO line per line, PO issues
    duplicate = find_duplicate(document key, known keys)           -> duplicate_document
"""

from __future__ import annotations

from typing import Sequence

from extractors import Extraction, Issue, LineItem, Severity
from matching.duplicates import DocumentKey, DocumentLookup, find_duplicate
from matching.master import MasterData
from matching.orders import ReceivedLine, check_against_po, find_purchase_order, is_invoice
from matching.products import PrintedLine, match_product
from matching.result import DocumentMatch, LineMatch, Match, MatchOptions
from matching.suppliers import PrintedSupplier, match_supplier
from matching.units import convert_unit

__all__ = ["document_key", "match_document", "printed_line", "printed_lines", "printed_supplier"]


def printed_supplier(extraction: Extraction) -> PrintedSupplier:
    e = extraction
    return PrintedSupplier(e.printed("supplier_name"), e.printed("supplier_tax_id"), e.printed("supplier_address"),
                           e.printed("supplier_phone"), e.printed("supplier_bank_account"))


def printed_line(item: LineItem) -> PrintedLine:
    """A line as the matcher reads it: its printed texts, quantity and unit price."""
    return PrintedLine(item.line_no, item.printed("description"), item.printed("spec"), item.printed("supplier_sku"),
                       item.printed("barcode"), item.printed("unit"), item.decimal("quantity"), item.decimal("unit_price"))


def printed_lines(extraction: Extraction) -> list[PrintedLine]:
    return [printed_line(item) for item in extraction.lines]


def document_key(extraction: Extraction, *, document_id: str, supplier_id: str) -> DocumentKey:
    return DocumentKey(document_id, extraction.sha256, supplier_id, extraction.printed("document_number"),
                       extraction.decimal("total_amount"))


def _product_issue(line: PrintedLine, match: Match) -> list[Issue]:
    if match.id is None:
        return [Issue("product_unmatched", Severity.WARNING,
                      f"Line {line.line_no}: no product matches '{line.text}'; pick one or create it.",
                      field="description", line_no=line.line_no)]
    if not match.auto_accepted:
        return [Issue("product_needs_review", Severity.INFO,
                      f"Line {line.line_no}: '{line.text}' is probably {match.name} ({match.score:.2f}); please check.",
                      field="description", line_no=line.line_no)]
    return []


def _batch_issue(item: LineItem, product) -> list[Issue]:
    """Posting refuses a batch-tracked product without a batch number: the line needs one before it is ready."""
    if product is None or not product.batch_tracked or item.printed("batch_no"):
        return []
    return [Issue("batch_required", Severity.ERROR, f"Line {item.line_no}: {product.sku} needs a batch number.",
                  field="batch_no", line_no=item.line_no)]


def _match_line(line: PrintedLine, supplier_id: str, master: MasterData,
                options: MatchOptions, item: LineItem | None = None) -> tuple[LineMatch, list[Issue]]:
    match = match_product(line, supplier_id, master, options)
    issues = _product_issue(line, match)
    product = master.product(match.id) if match.id else None
    if product is None:
        return LineMatch(line.line_no, match, None), issues
    if item is not None:
        issues += _batch_issue(item, product)
    unit, unit_issues = convert_unit(printed_unit=line.unit, quantity=line.quantity, unit_price=line.unit_price,
                                     product=product, supplier_id=supplier_id, master=master,
                                     description=line.text, line_no=line.line_no)
    return LineMatch(line.line_no, match, unit), issues + unit_issues


def _with_po(extraction: Extraction, supplier_id: str, lines: list[LineMatch], master: MasterData,
             options: MatchOptions) -> tuple[list[LineMatch], str, list[Issue]]:
    po, issues = find_purchase_order(
        printed_number=extraction.printed("po_number"), supplier_id=supplier_id,
        product_ids={lm.product.id for lm in lines if lm.product.id}, master=master, options=options,
        document_date=extraction.date("document_date"))
    if po is None:
        return lines, "", issues
    received = [ReceivedLine(lm.line_no, lm.product.id, lm.unit.quantity if lm.unit else None,
                             lm.unit.unit_cost if lm.unit else None) for lm in lines if lm.product.id]
    refs, po_issues = check_against_po(po, received, three_way=is_invoice(extraction), options=options)
    out = [LineMatch(lm.line_no, lm.product, lm.unit, refs.get(lm.line_no)) for lm in lines]
    return out, po.po_number, issues + po_issues


def match_document(extraction: Extraction, master: MasterData, *, options: MatchOptions = MatchOptions(),
                   known_documents: Sequence[DocumentKey] | DocumentLookup = (),
                   document_id: str = "", supplier: Match | None = None) -> DocumentMatch:
    """Supplier, every line (product, unit, PO line) and the issues, for one extracted document.

    known_documents: keys of documents already received, oldest first, for the duplicate check, or a
    `DocumentLookup` that gives the candidates for this document's key (asked once, after the supplier is known);
    document_id: this document's id (skipped among the known ones); supplier: the supplier when it is known
    otherwise (recognised by its learned layout), else matched from the printed party."""
    if supplier is None:
        supplier, proposal = match_supplier(printed_supplier(extraction), master, options)
    else:
        proposal = None
    supplier_id = supplier.id or ""
    lines, issues = [], []
    for item in extraction.lines:
        line_match, line_issues = _match_line(printed_line(item), supplier_id, master, options, item)
        lines.append(line_match)
        issues += line_issues
    if supplier.id is None:
        issues.insert(0, Issue("supplier_new" if proposal else "supplier_unmatched", Severity.WARNING,
                               "The supplier is not in the master data; check the proposed new supplier.",
                               field="supplier_name"))
    lines, po_number, po_issues = _with_po(extraction, supplier_id, lines, master, options)
    duplicate = find_duplicate(document_key(extraction, document_id=document_id, supplier_id=supplier_id),
                               known_documents)
    if duplicate is not None:
        issues.insert(0, duplicate.issue())
    return DocumentMatch(supplier, tuple(lines), po_number, tuple(issues + po_issues), proposal)
