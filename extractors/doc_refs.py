"""Which of the labelled numbers and dates are the document's own, and which are references.

The label cues (`cues`) name what a number or date belongs to: an invoice, a delivery note, a packing
list, a receipt, an order, a customer, a print run.  Which of these is the document's *own* number and
date depends on the paper: on a delivery note 'Lieferschein-Nr.' is the document number, on an invoice
it is the delivery-note reference.  `own_references` turns the cue fields into contract fields by the
document's title (`title`), and `date_by_number` prefers, among weakly labelled dates ('Date', 'Datum'),
the one printed beside the document number over a date elsewhere in the page header.
"""

from __future__ import annotations

from dataclasses import replace

from extractors.header import Candidate
from extractors.layout import BBox
from extractors.title import Title

# The number and date labels of each kind of paper.
_OWN_NUMBER = {"delivery": "delivery_note_number", "packing": "packing_number", "receipt": "receipt_number",
               "invoice": "document_number", "credit_note": "document_number", "order": "po_number"}
_OWN_DATE = {"delivery": "delivery_note_date", "packing": "packing_date", "receipt": "receipt_date",
             "invoice": "document_date", "credit_note": "document_date", "order": "order_date"}
# Cue fields that are not contract fields: they are mapped below or dropped.
PSEUDO_FIELDS = frozenset({"packing_number", "receipt_number", "generic_number", "customer_number",
                           "delivery_note_date", "packing_date", "receipt_date", "order_date", "print_date"})

# (kind, cue field) -> [(contract field, score factor)], beyond the own number and date of the kind.
_ALSO: dict[tuple[str | None, str], list[tuple[str, float]]] = {
    ("packing", "delivery_note_number"): [("delivery_note_number", 1.0), ("document_number", 0.7)],
    ("packing", "delivery_note_date"): [("document_date", 0.8)],
    ("invoice", "delivery_note_date"): [("delivery_date", 0.6)],
    ("credit_note", "delivery_note_date"): [("delivery_date", 0.6)],
    ("invoice", "receipt_number"): [("document_number", 0.8)],
    ("invoice", "packing_number"): [],
    ("credit_note", "packing_number"): [],
    ("credit_note", "receipt_number"): [("document_number", 0.8)],
    (None, "receipt_number"): [("document_number", 0.85)],
    (None, "packing_number"): [("document_number", 0.6)],
    (None, "receipt_date"): [("document_date", 0.9)],
    (None, "packing_date"): [("document_date", 0.7)],
    (None, "delivery_note_date"): [("document_date", 0.5), ("delivery_date", 0.5)],
}


def own_references(candidates: list[Candidate], title: Title | None, *, kind: str | None = None) -> list[Candidate]:
    """Candidates with the cue fields turned into contract fields for a paper of `kind` (the title's kind
    unless given; None when no title was found)."""
    kind = kind or (title.kind if title else None)
    own_number, own_date = _OWN_NUMBER.get(kind or ""), _OWN_DATE.get(kind or "")
    out: list[Candidate] = []
    for c in candidates:
        targets: list[tuple[str, float]]
        if c.field == "generic_number":
            targets = [("document_number", _beside_title(c, title))]
        elif c.field == own_number and c.field != "document_number":
            targets = [("document_number", 1.0)] + ([] if c.field in PSEUDO_FIELDS else [(c.field, 1.0)])
        elif c.field == own_date and c.field != "document_date":
            targets = [("document_date", 1.0)]
        elif c.field in ("document_number", "document_date") and kind not in (None, "invoice", "credit_note"):
            targets = [(c.field, 0.8)]   # an invoice's number printed on a delivery note is a reference
        elif (kind, c.field) in _ALSO or (None, c.field) in _ALSO:
            targets = _ALSO.get((kind, c.field), _ALSO.get((None, c.field), []))
        elif c.field in PSEUDO_FIELDS:
            targets = []
        else:
            targets = [(c.field, 1.0)]
        out += [replace(c, field=f, score=c.score * factor) for f, factor in targets]
    return out


def _beside_title(c: Candidate, title: Title | None) -> float:
    """Score factor of a bare 'No:' value: high beside or just under the title, where the title's number
    stands; elsewhere a bare number label is weak (it may number a customer, a page, a line)."""
    if title is None or c.page != title.page:
        return 1.0
    t, b = title.box, c.bbox
    same_row = b.y0 < t.y1 + 2 and b.y1 > t.y0 - 2
    under = 0 <= b.y0 - t.y1 <= 2.5 * t.height and b.x0 < t.x1 + 40 and b.x1 > t.x0 - 40
    return 1.6 if same_row or under else 1.0


def date_by_number(candidates: list[Candidate], number: Candidate | None) -> list[Candidate]:
    """Weakly labelled document dates ('Date', 'Datum', 'vom') scored up by their nearness to the
    document number: the issue date is printed in the number's block, a print or version date elsewhere."""
    if number is None:
        return candidates
    out = []
    for c in candidates:
        if c.field == "document_date" and c.score < 0.9 and c.page == number.page:
            c = replace(c, score=c.score + 0.3 * nearness(c.bbox, number.bbox))
        out.append(c)
    return out


def nearness(a: BBox, b: BBox) -> float:
    """1 for boxes side by side or stacked, falling to 0 at 200 points apart."""
    dx = max(0.0, a.x0 - b.x1, b.x0 - a.x1)
    dy = max(0.0, a.y0 - b.y1, b.y0 - a.y1)
    return max(0.0, 1.0 - (dy + 0.5 * dx) / 200.0)
