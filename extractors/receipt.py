"""Receipts (till rolls): the shop's name and address at the top, the date, the total paid.

Receipts rarely label the shop: its name is the first line with a legal form (SDN BHD, GmbH, Ltd,
ENTERPRISE, ...) near the top, joined with the line above when the form stands almost alone
("... VEGETARIAN" / "RESTAURANT SDN BHD").  The address is the block under it, up to the phone or tax
line, as printed.  The total is the largest amount labelled as a total.
"""

from __future__ import annotations

import re
from decimal import Decimal

from extractors.address import country_of_address, phone_country, postcode_line, structure_address, with_country
from extractors.header import Candidate, span_bbox
from extractors.party_blocks import address_parts
from extractors.layout import Layout, Line, Page, merge_bboxes
from extractors.parsing import Conventions, find_dates
from extractors.parties import LEGAL_FORMS
from extractors.result import Field
from extractors.title import kind_of

_SKIP_TOP = re.compile(r"(?i)^(?:tax invoice|simplified tax invoice|invoice|receipt|official receipt|cash sale|"
                       r"welcome.*|\W*|\d[\d\s:/.-]*)$")
_REG_NO = re.compile(r"(?i)^\(?(?:co\.?\s*(?:no|reg)\.?|company no\.?|roc|reg\.?\s*no\.?)?[\s:.]*[\w-]*\d[\w-]*\)?\.?$|"
                     r"^\((?:co\.?|gst)[^)]*\)$")
_END_OF_ADDRESS = re.compile(r"(?i)\b(?:tel|te1|tél|telephone|téléphone|telefon|telefoon|fax|phone|h/p|gst|sst|vat|"
                             r"tva|btw|ust|tax invoice|invoice|receipt|e-?mail|www|date|datum|cashier|bill|table|doc|"
                             r"counter|company reg|business reg)\b|@|^[\d\s()+-]{8,}$|^t\.?\s?[+(\d]")
_PREAMBLE = re.compile(r"(?i)\b(?:gst|sst|brn|co\.?\s*no|co-?\s*reg|company\s*(?:no|reg)|reg\.?\s*no|roc)\b|"
                       r"^\(?[\w-]*\d[\w-]*\)?$|\d{1,2}:\d{2}")
_REG_SUFFIX = re.compile(r"\s*[\(\[][^()\[\]]*\d[^()\[\]]*[\)\]]?\s*$")  # '(139386 X)', '(Co. No. 1234-U)'


# OCR confusions inside a trailing Malaysian legal form, mapped to the registered spelling
_LEGAL_FORM_FIXES = [
    (re.compile(r"\b[S5][UDO0][NM]\.?\s*B[HN][DO0]\.?$", re.IGNORECASE), "SDN BHD"),
    (re.compile(r"\b[S5]\s*/\s*[B8]\.?$"), "S/B"),
]


def canonical_legal_form(name: str) -> str:
    """'RAPID RAIL SUN BHD' -> 'RAPID RAIL SDN BHD', '99 SPEED MART 5/8' -> '99 SPEED MART S/B'."""
    for rx, form in _LEGAL_FORM_FIXES:
        fixed = rx.sub(form, name)
        if fixed != name:
            return fixed
    return name


_POSTCODE_GLUED = re.compile(r"(?<![\d-])(\d{5})(?=[A-Za-z]{3})")  # '43200Cheras': OCR lost the space


def receipt_rows(page: Page) -> list[Line]:
    """The page's lines merged into full rows (receipts print one thing per row, often centred)."""
    rows: list[list[Line]] = []
    for ln in sorted(page.lines, key=lambda o: o.bbox.cy):
        if rows and ln.bbox.y_overlap(rows[-1][0].bbox) > 0.5:
            rows[-1].append(ln)
        else:
            rows.append([ln])
    return [Line(tuple(w for ln in sorted(row, key=lambda o: o.bbox.x0) for w in ln.words)) for row in rows]


_STRONG_FORM = re.compile(r"(?i)\b(?:SDN\.?\s*BHD\.?|BHD\.?|S/B|GmbH|Ltd\.?|Limited|Inc\.?|LLC|PLC|B\.V\.|"
                          r"S\.A\.|SARL|有限公司)")


def shop_name(rows: list[Line], page: Page) -> tuple[str, int, list[Line]] | None:
    """(name, index of the row the address follows, the name's rows).

    The first row with a strong legal form (SDN BHD, GmbH, Ltd, ...) in the top part, else the first with a
    weaker one (ENTERPRISE, TRADING, RESTAURANT, ...), else the first row with words.  A strong form that
    stands almost alone on its row ('CO. (M) SDN BHD') takes the row above it.
    """
    top = [r for r in rows if r.bbox.y0 <= page.height * 0.4]
    plain = [_REG_SUFFIX.sub("", r.text).strip() for r in top]
    for rx in (_STRONG_FORM, LEGAL_FORMS):
        for i, (row, text) in enumerate(zip(top, plain)):
            m = rx.search(text)
            if not m or sum(ch.isdigit() for ch in text) > 2:
                continue
            parts = [row]
            before = text[:m.start()].split()
            if rx is _STRONG_FORM and i > 0 and _joins(top[i - 1], row) and \
                    (len(before) <= 1 or all(len(t) <= 3 for t in before)):
                parts.insert(0, top[i - 1])
            name = " ".join(_REG_SUFFIX.sub("", p.text).strip() for p in parts)
            return name, rows.index(row), parts
    for row, text in zip(top, plain):
        if sum(ch.isalpha() for ch in text) >= 3 and not _SKIP_TOP.match(text):
            return text, rows.index(row), [row]
    return None


def _joins(above: Line, row: Line) -> bool:
    text = above.text.strip()
    return (not any(ch.isdigit() for ch in text) and not _SKIP_TOP.match(text) and text.upper() == text
            and row.bbox.y0 - above.bbox.y1 < 1.2 * row.bbox.height)


def shop_address(rows: list[Line], after: int) -> list[Line]:
    """The rows under the name up to the phone, tax-id or title row.  Registration numbers and rows
    without a digit before the first street row (an outlet's name: 'IKEA Cheras') are skipped; a
    'Label: value' row after the address has started ends it."""
    picked: list[Line] = []
    for row in rows[after + 1: after + 9]:
        text = row.text.strip()
        if not picked and (_REG_NO.match(text) or _PREAMBLE.search(text) or _ENDS_WITH_REG_NO.search(text)
                           or not any(ch.isdigit() for ch in text)):
            continue
        if _END_OF_ADDRESS.search(text) or (picked and _LABELLED.match(text)) or (picked and kind_of(text)):
            break
        picked.append(row)
        if len(picked) >= 5:
            break
    return picked


_ENDS_WITH_REG_NO = re.compile(r"\b\d{5,}-[A-Z]\)?$")
_LABELLED = re.compile(r"^[A-Za-z][A-Za-z .]{1,14}\s?:\s?\S")


# Countries whose addresses are given in the contract's postal form 'street, postcode, city, CC'; a till roll
# from elsewhere (a Malaysian '.. JALAN DEDAP 13 81100 JOHOR BAHRU') keeps its address as printed.
_POSTAL_FORM = frozenset("GB IE DE AT CH FR BE NL LU US IT ES PL DK SE".split())


def _postal_form(address: list[Line], rows: list[Line], fields: dict[str, Field], language: str) -> str | None:
    """The shop's address as 'street, postcode, city, CC' where its postcode line and country are known:
    the country printed, implied by the postcode or street, or by the shop's VAT id or phone prefix."""
    parts = [p for r in address for p in address_parts(_POSTCODE_GLUED.sub(r"\1 ", r.text.strip()))]
    value = structure_address(parts)
    if not value or not any(postcode_line(p) for p in parts):
        return None
    tax_id = fields.get("supplier_tax_id")
    cc = value[-2:] if value[-4:-2] == ", " and value[-2:].isupper() else None
    cc = cc or country_of_address(value, language) or (str(tax_id.value)[:2] if tax_id and str(tax_id.value)[:2].isalpha()
                                             else None)
    cc = cc or next((c for r in rows[:12] if (c := phone_country(r.text))), None)
    if cc not in _POSTAL_FORM:
        return None
    return value if value.endswith(f", {cc}") else with_country(value, cc)


def receipt_fields(layout: Layout, conv: Conventions, candidates: list[Candidate],
                   fields: dict[str, Field], *, language: str = "") -> dict[str, Field]:
    """Shop name, address, total and date of a receipt; `fields` are the header fields found so far."""
    out: dict[str, Field] = {}
    if not layout.pages:
        return out
    page = layout.pages[0]
    rows = receipt_rows(page)
    found = shop_name(rows, page)
    if found is not None:
        name, index, parts = found
        out["supplier_name"] = Field(canonical_legal_form(name), " ".join(p.text for p in parts), 0.7, page.number,
                                     merge_bboxes(p.bbox for p in parts))
        address = shop_address(rows, index)
        if address:
            text = _POSTCODE_GLUED.sub(r"\1 ", " ".join(r.text.strip() for r in address))
            value = _postal_form(address, rows, fields, language) or text
            out["supplier_address"] = Field(value, text, 0.65, page.number, merge_bboxes(r.bbox for r in address))
    total = _total(candidates, fields)
    if total is not None:
        out["total_amount"] = total
    if not any(c.field == "document_date" for c in candidates):
        date_field = first_date(layout, conv)
        if date_field is not None:
            out["document_date"] = date_field
    return out


def _total(candidates: list[Candidate], fields: dict[str, Field]) -> Field | None:
    """The total paid: a strongly labelled total printed with decimals (the last one: after rounding);
    else subtotal + tax = total as found by arithmetic; else a weaker label, or a lone subtotal ('NET
    TOTAL', 'SUBTOTAL') when nothing is labelled as the total (till rolls often print only that)."""
    money = [c for c in candidates if isinstance(c.value, Decimal) and c.value > 0
             and any(sep in c.raw for sep in ".,")]
    totals = [c for c in money if c.field in ("total_amount", "amount_due")]
    strong = [c for c in totals if c.score >= 0.9]
    if strong:
        return max(strong, key=lambda c: (c.field == "total_amount", c.order)).to_field()
    checked = fields.get("total_amount")
    if checked is not None and "subtotal" in fields and "tax_amount" in fields and checked.confidence >= 0.75:
        return checked
    weaker = totals or [c for c in money if c.field == "subtotal"]
    if not weaker:
        return None
    return max(weaker, key=lambda c: (round(c.score, 2), c.field == "total_amount", c.order)).to_field()


def first_date(layout: Layout, conv: Conventions) -> Field | None:
    for page in layout.pages:
        for ln in page.lines:
            found = find_dates(ln.text, dayfirst=conv.dayfirst)
            if found:
                f = found[0]
                return Field(f.value, ln.text[f.start:f.end], 0.6, page.number, span_bbox(ln, f.start, f.end))
    return None
