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
from dataclasses import replace
from decimal import Decimal
from typing import Mapping

from extractors.classify import classify, detect_language
from extractors.doc_refs import date_by_number, nearness, own_references
from extractors.errors import InboundError, ReadError
from extractors.header import best_per_field, document_currency, label_candidates, printed_amounts, span_bbox
from extractors.layout import Layout
from extractors.receipt import first_date
from extractors.lines import extract_lines
from extractors.options import ReadOptions
from extractors.parsing import chinese_punctuation, document_conventions, find_dates
from extractors.party_fields import party_fields
from extractors.reader import ReadResult, read_document
from extractors.result import DocumentType, Extraction, Field, Issue, LineItem, Severity, failed_extraction
from extractors.timing import stage_timer
from extractors.title import Title, document_title
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
            located = _method(located, "xml")
            reader = f"{read.layout.source}+xml" if read.layout.pages else "xml"
            return boxes_on_received_page(replace(located, pages=max(1, len(read.layout.pages)), reader=reader),
                                          read.layout)
    extraction = extract_from_layout(read.layout, doc_type=doc_type)
    if options.model is not None:
        from extractors.layout_model import combine, model_or_none
        model = model_or_none(options.model)
        if model is not None:
            try:
                extraction = combine(extraction, read.layout, model)
            except Exception:  # a fault of the model's path never costs the document: the rules' reading stands
                log.exception("layout model failed on this document; the rules' reading is kept")
    return boxes_on_received_page(extraction, read.layout)


def _method(extraction: Extraction, method: str) -> Extraction:
    """Every value without a source named given `method` (which source won: xml, qr, rules, model, ...)."""
    def named(fields: Mapping[str, Field]) -> dict[str, Field]:
        return {k: f if f.method else replace(f, method=method) for k, f in fields.items()}
    return replace(extraction, fields=named(extraction.fields),
                   lines=tuple(replace(li, fields=named(li.fields)) for li in extraction.lines))


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
    title = document_title(layout)
    kind = {DocumentType.RECEIPT: "receipt", DocumentType.DELIVERY_NOTE: "delivery"}.get(doc_type)
    candidates = own_references(label_candidates(layout.pages, conv), title, kind=None if title else kind)
    candidates = date_by_number(candidates, best_per_field(candidates).get("document_number"))
    best = choose_totals(candidates, best_per_field(candidates), lambda: printed_amounts(layout.pages, conv))
    fields: dict[str, Field] = {name: c.to_field() for name, c in best.items()}
    currency = document_currency(text, best)
    if currency:
        fields["currency"] = fields.get("currency") or Field(currency, currency, 0.7)
    labelled_phone = fields.pop("supplier_phone", None)
    fields.update(party_fields(layout, doc_type, {"supplier_phone": labelled_phone} if labelled_phone else {},
                               language=language))
    lines = extract_lines(layout, conv, language=language)
    if not lines and _till_roll(layout, doc_type, title):
        from extractors.receipt_lines import receipt_items
        lines = receipt_items(layout, conv)
    fields = credit_marked_totals(fields, lines)
    fields.update(implied_totals(fields, lines))
    if doc_type is DocumentType.RECEIPT:
        from extractors.receipt import receipt_fields
        fields.update(receipt_fields(layout, conv, candidates, fields, language=language))
    elif "document_date" not in fields:
        first = unlabelled_date(layout, conv, fields.get("document_number"))
        if first is not None:
            fields["document_date"] = first
    return _drop_empty(fields), lines


_TOTALS = ("subtotal", "tax_amount", "total_amount", "amount_due", "line_total")


def credit_marked_totals(fields: dict[str, Field], lines: list[LineItem]) -> dict[str, Field]:
    """Where the line reader found the minus to be a credit mark (negative amounts beside positive
    quantities and prices, reported positive: `lines._credit_note_signs`), the totals' minus is that mark
    too: they are reported positive like the lines."""
    amounts = [li.fields["amount"] for li in lines if "amount" in li.fields]
    if not amounts or not all(f.raw.lstrip().startswith(("-", "−", "–")) and f.value > 0 for f in amounts):
        return fields
    return {k: replace(f, value=-f.value) if k in _TOTALS and isinstance(f.value, Decimal) and f.value < 0 else f
            for k, f in fields.items()}


def unlabelled_date(layout: Layout, conv, number: Field | None) -> Field | None:
    """A document date printed without a label: the date nearest the document number (the issue date
    stands in the number's block; a print or version date elsewhere), else the first date printed."""
    if number is None or number.bbox is None or not layout.pages:
        return first_date(layout, conv)
    dates = [(ln, f) for ln in layout.pages[0].lines for f in find_dates(ln.text, dayfirst=conv.dayfirst)]
    if not dates:
        return first_date(layout, conv)
    ln, f = max(dates, key=lambda d: nearness(span_bbox(d[0], d[1].start, d[1].end), number.bbox))
    return Field(f.value, ln.text[f.start:f.end], 0.55, layout.pages[0].number, span_bbox(ln, f.start, f.end))


def _till_roll(layout: Layout, doc_type: DocumentType, title: Title | None) -> bool:
    """A receipt by its type, its title ('Kassabon', 'Quittung') or its paper: a roll narrower than
    A6 (about 300 points) is no invoice form."""
    narrow = bool(layout.pages) and layout.pages[0].width < 300
    return doc_type is DocumentType.RECEIPT or (title is not None and title.kind == "receipt") or narrow


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


def _drop_empty(fields: dict[str, Field]) -> dict[str, Field]:
    return {k: v for k, v in fields.items() if v.value not in (None, "")}


def boxes_on_received_page(extraction: Extraction, layout: Layout) -> Extraction:
    """Every value's box moved from the frame its page was read in to the page as received.

    An OCR page is read straightened (sheet flattened, turned, deskewed: `Page.frame`), and the readers' boxes
    are in that frame; the contract and the review screen place boxes on the page as received (an image's
    pixels x points per pixel, a PDF page's points).  Each box's corners go through `PageFrame.box_to_received`
    and the box around them is kept.  Pages without a frame (text layer, OFD, text) and boxes of QR codes
    (`layout.meta["qr_codes"]`, found on the page as received) are left as they are.
    """
    frames = {page.number: page.frame for page in layout.pages if page.frame is not None}
    if not frames:
        return extraction
    qr_boxes = {(page, box) for page, _, box in layout.meta.get("qr_codes", [])}

    def moved(fields: Mapping[str, Field]) -> dict[str, Field]:
        out = {}
        for name, f in fields.items():
            frame = frames.get(f.page)
            if f.bbox is None or frame is None or (f.page, f.bbox) in qr_boxes:
                out[name] = f
            else:
                out[name] = replace(f, bbox=frame.box_to_received(f.bbox))
        return out

    return replace(extraction, fields=moved(extraction.fields),
                   lines=tuple(replace(li, fields=moved(li.fields)) for li in extraction.lines))
