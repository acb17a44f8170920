"""One document's bytes -> Extraction: read, classify, extract, validate.

    data -> read_document -> Layout (+ embedded XML)
         -> classify -> DocumentType of the layout
         -> structured XML where present (confidence 1.0, boxes looked up in print)
            else header fields + parties + line items from the layout
         -> validate -> Extraction with issues

Errors about the input (`InputError`) are turned into a failed Extraction by `extract_or_fail`, so that
callers that must always produce the contract JSON (the CLI with --json, the pipeline) can.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import replace
from decimal import Decimal

from extractors.classify import classify, detect_language
from extractors.errors import InboundError, ReadError
from extractors.header import best_per_field, document_currency, label_candidates, printed_amounts
from extractors.layout import Layout
from extractors.receipt import first_date
from extractors.lines import extract_lines
from extractors.names import address_after, find_names, segments_address, sender_address
from extractors.options import ReadOptions
from extractors.parsing import chinese_punctuation, document_conventions
from extractors.parties import bank_account, choose_tax_ids, contact_phone, party_zones, tax_ids
from extractors.reader import ReadResult, read_document
from extractors.result import DocumentType, Extraction, Field, Issue, LineItem, Severity, failed_extraction
from extractors.timing import stage_timer
from extractors.totals import choose_totals
from extractors.validate import validate

log = logging.getLogger("inbound.extract")


def extract_document(data: bytes, *, source: str = "", options: ReadOptions = ReadOptions()) -> Extraction:
    """Read and extract one document; raises InboundError subclasses for bad input."""
    sha = hashlib.sha256(data).hexdigest()
    timings: dict[str, float] = {}
    with stage_timer(timings, "read"):
        read = read_document(data, options)
    with stage_timer(timings, "classify"):
        doc_type = classify(read.layout)
    with stage_timer(timings, "extract"):
        extraction = extract_from_read(read, options, doc_type=doc_type)
    with stage_timer(timings, "validate"):
        issues = tuple(extraction.issues) + tuple(validate(extraction))
    return replace(extraction, issues=issues, source=source, sha256=sha, timings_ms=timings)


def extract_or_fail(data: bytes, *, source: str = "", options: ReadOptions = ReadOptions()) -> Extraction:
    """Like extract_document, but bad input becomes an Extraction whose only issue says why."""
    try:
        return extract_document(data, source=source, options=options)
    except InboundError as exc:
        issue = Issue(exc.code, Severity.ERROR, exc.message)
    except Exception:  # a bug of ours on this file: the document fails, the batch goes on, the log has it
        log.exception("extraction failed on %s", source or "document")
        issue = Issue(ReadError.code, Severity.ERROR,
                      "This document could not be read because of an internal error; it has been kept for review.")
    return failed_extraction(source=source, sha256=hashlib.sha256(data).hexdigest(), issue=issue)


def extract_from_read(read: ReadResult, options: ReadOptions, *, doc_type: DocumentType | None = None) -> Extraction:
    """The embedded e-invoice XML where there is one (and it may be used), else the printed layout.  `doc_type`:
    the layout's type as `classify` gave it (classified here when not given)."""
    if read.embedded_xml is not None and (options.use_embedded or not read.layout.pages):
        from extractors.structured import locate_in_layout, parse_invoice_xml
        structured = parse_invoice_xml(read.embedded_xml)
        if structured is not None:
            located = locate_in_layout(structured, read.layout) if read.layout.pages else structured
            reader = f"{read.layout.source}+xml" if read.layout.pages else "xml"
            return replace(located, pages=max(1, len(read.layout.pages)), reader=reader)
    return extract_from_layout(read.layout, doc_type=doc_type)


_CN_LABELLED = (DocumentType.DELIVERY_NOTE, DocumentType.RECEIPT, DocumentType.PURCHASE_ORDER, DocumentType.OTHER)


def extract_from_layout(layout: Layout, *, doc_type: DocumentType | None = None) -> Extraction:
    """Template-free extraction from the printed layout alone (`doc_type` as `classify` gives it, or classified
    here when not given)."""
    text = layout.text()
    if doc_type is None:
        doc_type = classify(layout, text=text)
    language = detect_language(text)
    if language == "zh" and doc_type in _CN_LABELLED:
        from extractors.cn.delivery import extract_delivery_note
        fields, lines = extract_delivery_note(layout)  # 送货单, 小票, 装箱单: labelled fields, titled columns
        fields, lines = chinese_typography(fields, lines)
        return Extraction(doc_type, "zh", fields, tuple(lines), pages=len(layout.pages), reader=layout.source)
    if doc_type is DocumentType.VAT_INVOICE or (language == "zh" and doc_type is DocumentType.INVOICE):
        from extractors.cn.vat import extract_vat_invoice
        fields, lines = chinese_typography(*extract_vat_invoice(layout))
        fields, issues = with_qr(fields, layout.meta.get("qr_codes", []))
        return Extraction(DocumentType.VAT_INVOICE, "zh", fields, tuple(lines), tuple(issues),
                          pages=len(layout.pages), reader=layout.source)
    fields, lines = _western(layout, text, doc_type, language)
    return Extraction(doc_type, language, fields, tuple(lines), pages=max(1, len(layout.pages)), reader=layout.source)


def chinese_typography(fields: dict[str, Field],
                       lines: list[LineItem]) -> tuple[dict[str, Field], list[LineItem]]:
    """Text values with the punctuation Chinese print uses next to Chinese characters (（）：，), whether
    the text layer or OCR gave the half-width form: see `extractors.parsing.chinese_punctuation`."""
    def fix(fs: dict[str, Field]) -> dict[str, Field]:
        return {k: replace(f, value=chinese_punctuation(f.value)) if isinstance(f.value, str) else f
                for k, f in fs.items()}
    return fix(fields), [replace(li, fields=fix(li.fields)) for li in lines]


def with_qr(fields: dict[str, Field], codes: list) -> tuple[dict[str, Field], list[Issue]]:
    """The printed QR code's exact values over what was read, with a `qr_mismatch` issue per field
    where the print was read differently.  A code that is no VAT-invoice payload is not used: a
    `qr_payload_invalid` issue says so and the fields read from the print stay."""
    from extractors.cn.qr import cross_check, merge_qr, parse_vat_qr, qr_fields
    for page, text, box in codes:
        qr = parse_vat_qr(text)
        if qr is not None:
            exact = qr_fields(qr, page=page, bbox=box)
            return merge_qr(fields, exact), cross_check(exact, fields)
    if codes:
        return fields, [Issue("qr_payload_invalid", Severity.WARNING,
                              "The QR code on this invoice does not hold a VAT invoice payload; the printed "
                              "values were read instead.")]
    return fields, []


def _western(layout: Layout, text: str, doc_type: DocumentType,
             language: str) -> tuple[dict[str, Field], list[LineItem]]:
    conv = document_conventions(text, language=language)
    candidates = label_candidates(layout.pages, conv)
    best = choose_totals(candidates, best_per_field(candidates), lambda: printed_amounts(layout.pages, conv))
    fields: dict[str, Field] = {name: c.to_field() for name, c in best.items()}
    currency = document_currency(text, best)
    if currency:
        fields["currency"] = fields.get("currency") or Field(currency, currency, 0.7)
    parties = _parties(layout, doc_type)
    if "supplier_phone" in fields:
        parties.pop("supplier_phone", None)  # a labelled phone beats one read off a contact line
    fields.update(parties)
    lines = extract_lines(layout, conv, language=language)
    fields.update(implied_totals(fields, lines))
    if doc_type is DocumentType.RECEIPT:
        from extractors.receipt import receipt_fields
        fields.update(receipt_fields(layout, conv, candidates, fields))
    elif "document_date" not in fields:
        first = first_date(layout, conv)
        if first is not None:
            fields["document_date"] = first  # unlabelled: the first date printed is the issue date
    return _drop_empty(fields), lines


def implied_totals(fields: dict[str, Field], lines: list[LineItem]) -> dict[str, Field]:
    """Totals a document implies without printing them: the amount due is the total when nothing was
    prepaid; the lines' total is the subtotal when the line amounts add up to it and no allowance or
    charge is printed."""
    out: dict[str, Field] = {}
    total, subtotal = fields.get("total_amount"), fields.get("subtotal")
    if "amount_due" not in fields and "prepaid_amount" not in fields and total is not None:
        out["amount_due"] = replace(total, confidence=min(total.confidence, 0.6))
    if "line_total" not in fields and subtotal is not None and isinstance(subtotal.value, Decimal) and lines \
            and not ({"allowance_total", "charge_total"} & fields.keys()):
        amounts = [li.fields["amount"].value for li in lines if "amount" in li.fields]
        if len(amounts) == len(lines) and sum(amounts, Decimal(0)) == subtotal.value:
            out["line_total"] = replace(subtotal, confidence=min(subtotal.confidence, 0.6))
    return out


def _parties(layout: Layout, doc_type: DocumentType) -> dict[str, Field]:
    zones = [z for p in layout.pages for z in party_zones(p)]
    out: dict[str, Field] = dict(choose_tax_ids(tax_ids(layout.pages, zones)))
    iban = bank_account(layout.pages)
    if iban is not None:
        out["supplier_bank_account"] = iban
    phone = contact_phone(layout.pages, zones)
    if phone is not None:
        out["supplier_phone"] = phone
    if doc_type is DocumentType.RECEIPT:
        return out
    names = find_names(layout.pages, zones)
    pages = {p.number: p for p in layout.pages}
    for role, prefix in (("seller", "supplier"), ("buyer", "buyer")):
        hit = names.get(role)
        if hit is None:
            continue
        out[f"{prefix}_name"] = Field(hit.text, hit.text, hit.score, hit.page, hit.box)
        inline = segments_address(hit.line, hit.text)
        if inline is not None:
            out[f"{prefix}_address"] = Field(inline, hit.line.text, 0.7, hit.page, hit.line.bbox)
            continue
        address = address_after(pages[hit.page], hit.line)
        if address is not None:
            out[f"{prefix}_address"] = address
    if "supplier_address" not in out:
        sender = sender_address(layout.pages)
        if sender is not None:
            out["supplier_address"] = sender
    return _with_countries(out)


_ENDS_WITH_CITY = re.compile(r", [A-Z0-9]{2,5}(?: ?[A-Z0-9]{2,3})?, [^,\d]+$")


def _with_countries(fields: dict[str, Field]) -> dict[str, Field]:
    """Add the country to a structured address that does not print one: the party's VAT id prefix,
    else (for the buyer) the supplier's country, as a domestic invoice implies."""
    out = dict(fields)
    supplier_cc = None
    for prefix in ("supplier", "buyer"):
        address, tax_id = out.get(f"{prefix}_address"), out.get(f"{prefix}_tax_id")
        cc = str(tax_id.value)[:2] if tax_id and str(tax_id.value)[:2].isalpha() else None
        cc = cc or (supplier_cc if prefix == "buyer" else None)
        if address is not None and isinstance(address.value, str):
            if _ENDS_WITH_CITY.search(address.value) and cc:
                out[f"{prefix}_address"] = replace(address, value=f"{address.value}, {cc}")
            elif address.value[-4:-2] == ", " and address.value[-2:].isalpha():
                cc = address.value[-2:]
        if prefix == "supplier":
            supplier_cc = cc
    return out


def _drop_empty(fields: dict[str, Field]) -> dict[str, Field]:
    return {k: v for k, v in fields.items() if v.value not in (None, "")}
