"""The rules' reading and the model's, combined field by field and cell by cell with calibrated confidence.

Structured XML and the QR code are exact and are never overruled (their readings do not come here).  For each
header field, with r the rules' value and m the model's best candidate (probability calibrated on documents the
model was not trained on, `meta.json` calibration):

- r and m agree: r's value, confidence raised to the better of the two, method `rules+model`;
- only m: m's value where its calibrated probability reaches FILL_P and the value has its field's shape
  (`decode.plausible`), method `model`, confidence that probability;
- they disagree: r's value, its confidence held below the review threshold so that the reviewer looks (the model
  never overrules the rules: on layouts from other producers its calibration, made on our own documents, was
  too sure of itself; measured on ../shared/realdocs);
- only r: r as it is, method `rules`.
Line items: each cell the rules read is checked against the tags of the words inside its box; a cell the model
reads as another column with DISAGREE_P lowers that cell's confidence below the review threshold; a cell the rules
left empty is taken from the words the model tags as that column in the line's row (ROW_FILL_P, held below the
review threshold).  Where the rules read no line at all, the model's line items are taken (method `model`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np

from extractors.layout import BBox, Layout
from extractors.layout_model.decode import Candidate, header_candidates, joined, line_items, typed
from extractors.layout_model.runtime import LayoutModel, PagePrediction
from extractors.layout_model.tags import split_tag
from extractors.parsing import document_conventions
from extractors.result import Extraction, Field, LineItem

FILL_P = 0.8            # calibrated probability to add a value the rules did not find
DISAGREE_P = 0.85       # model probability of another reading that sends a value to review
EXACT_TEXT = ("text-layer", "ofd")   # page sources whose characters are exact (not OCR)
UNKNOWN_LAYOUT = 0.25   # share of the model's tagged groups that cannot be their field's value at all, above which
                        # the page is a layout it does not know: it adds no value there
ROW_FILL_P = 0.9        # model probability to add a cell the rules left empty in a line they read
EXACT = 0.99            # values read exactly (QR code, check digits): never overruled
REVIEW_CAP = 0.79       # just below the review threshold (pipeline.bench.calibration.REVIEW_THRESHOLD = 0.8)


def _norm(value) -> str:
    if isinstance(value, Decimal):
        return format(abs(value).normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return re.sub(r"[\s:：,.;，。]+", "", unicodedata.normalize("NFKC", str(value))).casefold()


def same(a, b) -> bool:
    return _norm(a) == _norm(b)


def calibrated(model: LayoutModel, name: str, prob: float) -> float:
    """The share of the model's values of this field at this probability that were right on its calibration
    documents (meta.json `calibration`: field -> [lo, hi, share right, n] buckets, '*' for all fields together;
    a field's own table where it has one)."""
    tables = model.meta.get("calibration") or {}
    if isinstance(tables, list):
        tables = {"*": tables}
    for table in (tables.get(name), tables.get("*")):
        for lo, hi, right, _n in table or []:
            if lo <= prob < hi or (hi >= 1.0 and prob >= lo):
                return float(right)
    return prob


def combine(extraction: Extraction, layout: Layout, model: LayoutModel,
            pages: list[PagePrediction] | None = None) -> Extraction:
    pages = model.predict(layout) if pages is None else pages
    if not pages:
        return extraction
    conv = document_conventions(layout.text(), language=extraction.language or "")
    fields = dict(extraction.fields)
    tally = [0, 0]
    candidates = header_candidates(pages, model.tags, conv, tally)
    known = tally[1] <= UNKNOWN_LAYOUT * max(tally[0], 1)
    exact_text = {p.number for p in layout.pages if p.source in EXACT_TEXT}
    for name, cand in candidates.items():
        if not known and name not in fields:
            continue                     # an unknown layout: the model may confirm or doubt, not add
        voted = _vote(fields.get(name), cand, calibrated(model, name, cand.prob), exact_text=cand.page in exact_text)
        if voted is not None:
            fields[name] = voted
    for name, f in fields.items():
        if f.method is None:
            fields[name] = replace(f, method="rules")
    lines = [_checked(li, pages, model, conv) for li in extraction.lines]
    if not lines:
        items = [item for item in line_items(pages, model.tags, conv)
                 if "description" in item and ("quantity" in item or "amount" in item)]
        lines = [LineItem(i, {n: c.to_field(min(REVIEW_CAP, c.prob), "model") for n, c in item.items()})
                 for i, item in enumerate(items, start=1)]
    return replace(extraction, fields=fields, lines=tuple(lines))


def _vote(rule: Field | None, cand: Candidate, p: float, *, exact_text: bool = True) -> Field | None:
    """One header field's vote.  `exact_text`: the value's page has exact text (a text layer, OFD); on an OCR page
    the model agreeing says the rules took the right words, not that OCR read their characters right, so it
    raises no confidence there, and a value only the model found is marked for review."""
    if rule is not None and rule.confidence >= EXACT:
        return rule                      # a QR code's or a checked value: exact
    if rule is None or rule.value in (None, ""):
        if p < FILL_P:
            return rule
        return cand.to_field(p if exact_text else min(p, REVIEW_CAP), "model")
    if same(rule.value, cand.value):
        return replace(rule, confidence=max(rule.confidence, p) if exact_text else rule.confidence,
                       method="rules+model")
    if p >= DISAGREE_P:
        return replace(rule, confidence=min(rule.confidence, REVIEW_CAP), method="rules")
    return rule


def _inside(box: BBox, centres: np.ndarray) -> np.ndarray:
    return np.nonzero((centres[:, 0] >= box.x0 - 1) & (centres[:, 0] <= box.x1 + 1)
                      & (centres[:, 1] >= box.y0 - 1) & (centres[:, 1] <= box.y1 + 1))[0]


def _row_cells(item: LineItem, pred: PagePrediction, model: LayoutModel, conv) -> dict[str, Field]:
    """Cells the model reads in this line's row (the band of the rules' cells) that the rules left empty."""
    boxes = [f.bbox for f in item.fields.values() if f.bbox is not None and f.page == pred.page]
    if not boxes:
        return {}
    y0, y1 = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
    best = pred.tag_probs.argmax(axis=1)
    top = pred.tag_probs.max(axis=1)
    cy = pred.centres[:, 1]
    found: dict[str, list[int]] = {}
    for i in np.nonzero((cy >= y0) & (cy <= y1) & (top >= ROW_FILL_P))[0]:
        kind, name = split_tag(model.tags[int(best[i])])
        if kind == "l" and name not in item.fields and name != "description":
            found.setdefault(name, []).append(int(i))
    out = {}
    for name, idx in found.items():
        words = tuple(pred.words[i] for i in idx)
        raw = joined(words)
        value = typed(name, raw, conv)
        if value is not None:
            out[name] = Field(value, raw, min(REVIEW_CAP, float(np.mean(top[idx]))), pred.page,
                              BBox(min(w.bbox.x0 for w in words), min(w.bbox.y0 for w in words),
                                   max(w.bbox.x1 for w in words), max(w.bbox.y1 for w in words)), method="model")
    return out


def _checked(item: LineItem, pages: list[PagePrediction], model: LayoutModel, conv=None) -> LineItem:
    by_page = {p.page: p for p in pages}
    out = {}
    for name, f in item.fields.items():
        pred = by_page.get(f.page)
        if f.bbox is None or pred is None or f.confidence >= EXACT:
            out[name] = f
            continue
        inside = _inside(f.bbox, pred.centres)
        if not len(inside):
            out[name] = f
            continue
        probs = pred.tag_probs[inside].mean(axis=0)
        best = int(np.argmax(probs))
        kind, tagged = split_tag(model.tags[best])
        if kind == "l" and tagged == name:
            raised = max(f.confidence, min(0.99, float(probs[best]))) if pred.exact_text else f.confidence
            out[name] = replace(f, confidence=raised, method="rules+model")
        elif kind and float(probs[best]) >= DISAGREE_P:
            out[name] = replace(f, confidence=min(f.confidence, REVIEW_CAP), method="rules")
        else:
            out[name] = replace(f, method=f.method or "rules")
    pages_of = {f.page for f in item.fields.values() if f.bbox is not None}
    if conv is not None and len(pages_of) == 1 and next(iter(pages_of)) in by_page:
        for name, f in _row_cells(item, by_page[next(iter(pages_of))], model, conv).items():
            out.setdefault(name, f)
    return replace(item, fields=out)
