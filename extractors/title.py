"""The document's title: what kind of paper it says it is, and where that is printed.

A supplier's paper names itself in a title ('Invoice', 'Lieferschein', 'Bon de livraison', 'Paklijst',
'Till Receipt'): a short line, usually the tallest text near the top of the first page.  The title tells
which of the numbers and dates printed is the document's own (a delivery note's 'LS-Nr.' is its number;
on an invoice it is a reference), and where to look for a bare 'No:' beside it (`doc_refs`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.layout import BBox, Layout, Line

# Kinds in the order they are tried: the more specific names first ('Credit note' before 'note').
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(rx, re.IGNORECASE)) for kind, rx in (
    ("credit_note", r"credit\s*note|creditnota|credit memo|gutschrift|avoir|creditfactuur|note de crédit|"
                    r"rechnungskorrektur|stornorechnung"),
    ("packing", r"packing\s*(?:list|slip)|packliste|packschein|packzettel|paklijst|liste de colisage|"
                r"bordereau de colisage|colisage|versandliste"),
    ("delivery", r"delivery\s*(?:note|docket|slip)|despatch note|dispatch note|goods received|lieferschein|"
                 r"bon de livraison|bordereau de livraison|bon de réception|pakbon|afleverbon|leverbon|"
                 r"vrachtbrief"),
    ("receipt", r"(?:till |sales |cash |payment )?receipt|kassenbon|kassabon|kassenbeleg|quittung|bon de caisse|"
                r"ticket(?: de caisse)?|reçu|kwitantie|cash sale"),
    ("order", r"purchase order|bestellung|bon de commande|inkooporder|bestelbon"),
    ("invoice", r"(?:tax |sales |commercial |pro[- ]?forma )?invoice|\w*rechnung|facture|factuur|faktura|bill"),
))
_TITLE_RX = re.compile(r"^\W*(?:[\w.'-]+\s+){0,2}?(?P<name>%s)\b" % "|".join(f"(?:{rx.pattern})" for _, rx in _KINDS),
                       re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Title:
    kind: str     # credit_note, packing, delivery, receipt, order or invoice
    page: int
    box: BBox     # the title's words
    line: Line


def kind_of(text: str) -> str | None:
    """The document kind a title text names, else None."""
    for kind, rx in _KINDS:
        if rx.search(text):
            return kind
    return None


def document_title(layout: Layout) -> Title | None:
    """The title of the document: among the short lines of the first page's upper half that name a
    document kind, the tallest (the topmost of equals)."""
    if not layout.pages:
        return None
    page = layout.pages[0]
    best: tuple[float, float, Title] | None = None
    for line in page.lines:
        if line.bbox.y0 > 0.5 * page.height:
            continue
        m = _TITLE_RX.match(line.text)
        if m is None or len(line.text.split()) > 6 or ":" in line.text or line.text[m.end("name"):m.end("name") + 1] in ("-", "."):
            continue   # 'Lieferschein-Nr.: ..', 'Invoice date: ..' are labels, not titles
        kind = kind_of(line.text)
        if kind is None:
            continue
        key = (round(line.bbox.height, 1), -line.bbox.y0)
        if best is None or key > best[:2]:
            best = (*key, Title(kind, page.number, line.bbox, line))
    return best[2] if best else None
