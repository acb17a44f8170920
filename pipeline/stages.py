"""The pipeline's order of work for one document, as code:

    read      bytes -> ReadResult (text layer, OCR, embedded e-invoice XML)         extractors.read_document
    classify  layout -> DocumentType                                                extractors.classify
    extract   -> Extraction: header fields and lines with confidence and boxes  extractors.extract.extract_from_read
    validate  -> issues: arithmetic, tax ids, dates                                 extractors.validate
    match     -> DocumentMatch: supplier, products, units, PO, duplicates           matching.match_document
    draft     -> Draft: what a reviewer sees, and whether it needs review

Pure like the stages it calls: bytes, a master snapshot and the keys of known documents in, a `Draft` out.
Each stage is a plain call inside `stage_timer` (its milliseconds in timings_ms); the type `classify` gives is
passed on to extraction, never worked out twice.  Bad input raises the extractors' `InputError` family (final,
never retried).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from extractors import Extraction, Issue, ReadOptions, Severity
from extractors.classify import classify
from extractors.extract import extract_from_read
from extractors.layout import Layout
from extractors.reader import read_document
from extractors.timing import stage_timer
from extractors.validate import validate
from extractors.hints import SupplierHints, apply_hints
from extractors.learned_layout import apply_rules
from matching import (Candidate, DocumentKey, DocumentLookup, DocumentMatch, MasterData, Match, MatchMethod,
                      layout_hints, match_document)
from matching.learning import layout_rules, recognise_supplier

STAGES = ("read", "classify", "extract", "validate", "match", "draft")


@dataclass(frozen=True, slots=True)
class Draft:
    """One document as read and matched.  status: needs_review or ready; timings_ms: stage -> ms."""
    extraction: Extraction        # with the validation issues
    match: DocumentMatch
    status: str
    timings_ms: dict[str, float]
    page_text: tuple[str, ...] = ()   # printed lines, for learning layout hints from corrections
    layout: Layout | None = None      # the words as read, for learning where a corrected value is printed

    @property
    def issues(self) -> tuple[Issue, ...]:
        return tuple(self.extraction.issues) + tuple(self.match.issues)


def process(data: bytes, *, source: str, sha256: str, master: MasterData, options: ReadOptions,
            known_documents: Sequence[DocumentKey] | DocumentLookup = (), document_id: str = "",
            supplier_hint: str = "") -> Draft:
    """supplier_hint: the supplier the document's door names (an e-mail sender's), used for its learned layout
    when the matcher finds no supplier."""
    timings: dict[str, float] = {}
    with stage_timer(timings, "read"):
        read = read_document(data, options)
    with stage_timer(timings, "classify"):
        doc_type = classify(read.layout)
    with stage_timer(timings, "extract"):
        extraction = replace(extract_from_read(read, options, doc_type=doc_type), source=source, sha256=sha256)
    with stage_timer(timings, "validate"):
        extraction = replace(extraction, issues=tuple(extraction.issues) + tuple(validate(extraction)))
    with stage_timer(timings, "match"):
        match = match_document(extraction, master, known_documents=known_documents, document_id=document_id)
        learned, supplier = _with_learned_layout(extraction, read.layout, match, master, supplier_hint)
        hinted = _with_supplier_hints(learned, read.layout, supplier or match.supplier, master)
        if hinted is not extraction or supplier is not None:   # what the supplier taught was applied: match again
            extraction = hinted
            match = match_document(extraction, master, known_documents=known_documents, document_id=document_id)
            if supplier is not None and match.supplier.id != supplier.id:
                match = match_document(extraction, master, known_documents=known_documents, document_id=document_id,
                                       supplier=supplier)
    with stage_timer(timings, "draft"):
        result = draft(extraction, match, timings)
    return replace(result, page_text=page_text(read.layout), layout=read.layout)


def _with_learned_layout(extraction: Extraction, layout: Layout, match: DocumentMatch, master: MasterData,
                         hint: str = "") -> tuple[Extraction, Match | None]:
    """The extraction with the layout rules learned for its supplier applied (extractors.learned_layout), and the
    supplier when the learned layout is what recognised it (the matcher found none, or none it would accept).
    The supplier is the matched one, else the one whose taught particulars are printed here, else the door's
    hint (its rules are applied, the supplier is left for the reviewer to accept)."""
    kind = str(extraction.document_type)
    supplier_id = match.supplier.id if match.supplier.id and match.supplier.auto_accepted else ""
    recognised = None
    if not supplier_id:
        supplier_id = recognise_supplier(master, layout, kind)
        if not supplier_id and hint and master.supplier(hint) is not None:
            rules = layout_rules(master, hint, kind)
            return (apply_rules(extraction, layout, rules) if rules else extraction), None
        if supplier_id:
            found = master.supplier(supplier_id)
            recognised = Match(supplier_id, found.name if found else "", 0.97, MatchMethod.LAYOUT,
                               (Candidate(supplier_id, found.name if found else "", 0.97),), auto_accepted=True)
    rules = layout_rules(master, supplier_id, kind)
    if not rules:
        return extraction, recognised
    return apply_rules(extraction, layout, rules), recognised


def _with_supplier_hints(extraction: Extraction, layout, supplier: Match, master: MasterData) -> Extraction:
    """The extraction with the layout hints learned for the matched supplier applied (extractors.hints)."""
    supplier_id = supplier.id
    if not supplier_id:
        return extraction
    learned = layout_hints(master, supplier_id)
    if not (learned.po_label or learned.date_order):
        return extraction
    return apply_hints(extraction, layout, SupplierHints(po_label=learned.po_label, date_order=learned.date_order))


_PAGE_TEXT_LINES = 400


def page_text(layout) -> tuple[str, ...]:
    """The printed lines (first 400), kept with the reading so that corrections can teach layout hints."""
    return tuple(line.text for page in layout.pages for line in page.lines)[:_PAGE_TEXT_LINES]


def draft(extraction: Extraction, match: DocumentMatch, timings: dict[str, float]) -> Draft:
    """`ready` only when nothing needs a person: no error in the reading, and the match needs no review (supplier
    and every product accepted, no warning or error: a unit without a factor is `unit_unknown`, a batch-tracked
    product without a batch number `batch_required`), so a ready document never asks for anything when opened."""
    errors = any(i.severity == Severity.ERROR for i in extraction.issues)
    status = "needs_review" if errors or match.needs_review else "ready"
    return Draft(extraction, match, status, timings)


def reading_json(draft_: Draft) -> tuple[dict, dict]:
    """(extraction, matches) as stored on the document: the contract object and DocumentMatch.to_json()."""
    extraction = draft_.extraction.to_json()
    extraction["timings_ms"] = dict(draft_.timings_ms)
    extraction["page_text"] = list(draft_.page_text)
    if draft_.layout is not None:
        extraction["layout"] = stored_layout(draft_.layout)
    return extraction, draft_.match.to_json()


_STORED_WORDS = 20_000


def stored_layout(layout: Layout) -> dict:
    """The layout as kept with the reading (Layout.to_json, pages cut once 20,000 words are kept): where the
    words are, so that a correction can find where its value is printed and a reviewer can pick words."""
    data = layout.to_json()
    kept, count = [], 0
    for page in data["pages"]:
        count += sum(len(line) for line in page["lines"])
        if count > _STORED_WORDS and kept:
            break
        kept.append(page)
    data["pages"] = kept
    return data
