"""Receipts (till rolls): the shop's name and address at the top, the date, the total paid.

Receipts rarely label the shop: its name is the first line with a legal form (SDN BHD, GmbH, Ltd,
ENTERPRISE, ...) near the top, joined with the line above when the form stands almost alone
("... VEGETARIAN" / "RESTAURANT SDN BHD").  The address is the block under it, up to the phone or tax
line, as printed.  The total is the largest amount labelled as a total.
"""

from __future__ import annotations

import re
from decimal import Decimal

from extractors.header import Candidate
from extractors.layout import Layout, Line, Page
from extractors.names import _STRONG_SUFFIX, address_after
from extractors.parsing import Conventions, find_dates
from extractors.parties import LEGAL_FORMS
from extractors.result import Field

_SKIP_TOP = re.compile(r"(?i)^(?:tax invoice|simplified tax invoice|invoice|receipt|official receipt|cash sale|"
                       r"welcome|\W*)$")


def _top_lines(page: Page) -> list[Line]:
    limit = page.height * 0.4
    return [ln for ln in page.lines if ln.bbox.y0 <= limit]


def shop_name(page: Page) -> tuple[str, Line, list[Line]] | None:
    """(name, the line the address follows, the name's lines)."""
    lines = sorted(_top_lines(page), key=lambda ln: ln.bbox.y0)
    for i, ln in enumerate(lines):
        if LEGAL_FORMS.search(ln.text) and sum(ch.isdigit() for ch in ln.text) <= 2:
            parts = [ln]
            if i > 0 and _STRONG_SUFFIX.match(ln.text.strip()) and not any(ch.isdigit() for ch in lines[i - 1].text):
                parts.insert(0, lines[i - 1])
            return " ".join(p.text.strip() for p in parts), ln, parts
    for ln in lines:
        letters = sum(ch.isalpha() for ch in ln.text)
        if letters >= 3 and not _SKIP_TOP.match(ln.text.strip()):
            return ln.text.strip(), ln, [ln]
    return None


def receipt_fields(layout: Layout, conv: Conventions, candidates: list[Candidate]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    if not layout.pages:
        return out
    page = layout.pages[0]
    found = shop_name(page)
    if found is not None:
        name, last, parts = found
        box = parts[0].bbox
        for p in parts[1:]:
            box = box.union(p.bbox)
        out["supplier_name"] = Field(name, name, 0.7, page.number, box)
        address = address_after(page, last, receipt=True)
        if address is not None:
            out["supplier_address"] = address
    total = _total(candidates)
    if total is not None:
        out["total_amount"] = total
    if not any(c.field == "document_date" for c in candidates):
        date_field = _first_date(layout, conv)
        if date_field is not None:
            out["document_date"] = date_field
    return out


def _total(candidates: list[Candidate]) -> Field | None:
    totals = [c for c in candidates if c.field in ("total_amount", "amount_due") and isinstance(c.value, Decimal)
              and c.value > 0]
    if not totals:
        return None
    best = max(totals, key=lambda c: (c.score >= 0.5, c.value))
    return best.to_field()


def _first_date(layout: Layout, conv: Conventions) -> Field | None:
    for page in layout.pages:
        for ln in page.lines:
            found = find_dates(ln.text, dayfirst=conv.dayfirst)
            if found:
                f = found[0]
                return Field(f.value, ln.text[f.start:f.end], 0.6, page.number, ln.bbox)
    return None
