"""What a supplier's earlier, reviewed documents taught about how it prints, applied to its next one.

The matcher learns these per supplier (`matching.learning.layout_hints_from`, stored as layout-hint facts);
once the supplier of a new document is known, the pipeline passes them here with the document's layout:

- `po_label`: the printed words in front of the PO number ('Ihre Bestellung', '采购单号'): when the
  extraction found no PO number, the value right after that label on the same line is taken;
- `date_order`: "dmy", "mdy" or "ymd": a document date printed with two small numbers first
  (03/04/2024) is read in the supplier's order instead of the document-wide guess.

Pure: a Layout, an Extraction and the hints in, a new Extraction out; values found this way carry
`HINT_CONFIDENCE` and the box they were read from.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date

from extractors.layout import Layout, merge_bboxes
from extractors.result import Extraction, Field

__all__ = ["HINT_CONFIDENCE", "SupplierHints", "apply_hints"]

HINT_CONFIDENCE = 0.8
_PO_VALUE_RX = re.compile(r"^[\s:：#№.]*(?P<value>[A-Za-z0-9][A-Za-z0-9\-_/.]*[A-Za-z0-9]|[0-9])")
_NUMERIC_DATE_RX = re.compile(r"(?<!\d)(\d{1,2})[./\-](\d{1,2})[./\-](\d{2}|\d{4})(?!\d)")


@dataclass(frozen=True, slots=True)
class SupplierHints:
    """How one supplier prints; "" where nothing was learned."""

    po_label: str = ""
    date_order: str = ""


def apply_hints(extraction: Extraction, layout: Layout, hints: SupplierHints) -> Extraction:
    """The extraction with what the hints add or settle (see the module docstring)."""
    fields = dict(extraction.fields)
    if hints.po_label and "po_number" not in fields:
        found = _after_label(layout, hints.po_label)
        if found is not None:
            fields["po_number"] = found
    if hints.date_order in ("dmy", "mdy") and "document_date" in fields:
        fields["document_date"] = _in_order(fields["document_date"], hints.date_order)
    return replace(extraction, fields=fields) if fields != dict(extraction.fields) else extraction


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _after_label(layout: Layout, label: str) -> Field | None:
    want = _norm(label)
    for page in layout.pages:
        for line in page.lines:
            text = _norm(line.text)
            at = text.find(want)
            if at < 0:
                continue
            m = _PO_VALUE_RX.match(text[at + len(want):])
            if m is None or not any(ch.isdigit() for ch in m.group("value")):
                continue
            value = m.group("value")
            words = [w for w in line.words if _norm(w.text) and _norm(w.text) in text[at:at + len(want) + m.end()]]
            box = merge_bboxes(w.bbox for w in words) if words else line.bbox
            if page.frame is not None:        # an OCR page: its words lie on the straightened page
                box = page.frame.box_to_received(box)
            return Field(_original_case(line.text, value), line.text, HINT_CONFIDENCE, page.number, box)
    return None


def _original_case(printed: str, value: str) -> str:
    """The value as printed (the search ran on case-folded text)."""
    folded = unicodedata.normalize("NFKC", printed)
    at = folded.casefold().find(value.casefold())
    return folded[at:at + len(value)] if at >= 0 else value


def _in_order(field: Field, order: str) -> Field:
    m = _NUMERIC_DATE_RX.search(field.raw or "")
    if m is None:
        return field
    first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    year += 2000 if year < 100 else 0
    day, month = (first, second) if order == "dmy" else (second, first)
    try:
        value = date(year, month, day)
    except ValueError:
        return field
    if value == field.value:
        return field
    return replace(field, value=value, confidence=max(field.confidence, HINT_CONFIDENCE))
