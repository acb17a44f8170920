"""Supplier and buyer: names, addresses, tax ids and bank account, from cues and page geometry.

A page is cut into party zones: a zone starts at a seller cue (Verkäufer, Seller, Fournisseur, ...) or a
buyer cue (Käufer, Bill to, Client, ...) and covers the lines below it in the same column.  Tax ids are
found by pattern and given to the party whose zone or label they sit in (seller by default: the issuer
prints its own id).  Names come from a `Name:` label in a zone, the first name-like line of a zone, a
line with a legal form (GmbH, SARL, Ltd, SDN BHD, ...) outside buyer zones, or the sender line above an
address window.  Addresses are the lines that follow a name in its column, returned as
"street, postcode, city, CC" when a postcode line is recognised, else the lines as printed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from extractors.cues import BUYER_CUES, SELLER_CUES
from extractors.layout import BBox, Line, Page
from extractors.result import Field

VAT_ID_RE = re.compile(
    r"(?<![A-Z0-9])(?:ATU\d{8}|BE[01]\d{9}|BG\d{9,10}|CY\d{8}[A-Z]|CZ\d{8,10}|DE\d{9}|DK\d{8}|EE\d{9}|EL\d{9}|"
    r"ES[A-Z0-9]\d{7}[A-Z0-9]|FI\d{8}|FR[A-HJ-NP-Z0-9]{2}\d{9}|GB(?:\d{9}|\d{12})|HR\d{11}|HU\d{8}|"
    r"IE\d{7}[A-W][A-I]?|IT\d{11}|LT(?:\d{9}|\d{12})|LU\d{8}|LV\d{11}|MT\d{8}|NL\d{9}B\d{2}|PL\d{10}|"
    r"PT\d{9}|RO\d{2,10}|SE\d{12}|SI\d{8}|SK\d{10}|CHE-?\d{3}\.?\d{3}\.?\d{3}|"
    r"\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z])(?![A-Z0-9])")
_NIP_RE = re.compile(r"(?:NIP|VAT ID|VAT No\.?|Tax ID|TIN|RFC|ABN)\s*:?\s*((?:PL)?\d{3}-?\d{2,3}-?\d{2}-?\d{2,3}|\d{10,12})"
                     r"(?![\d-])", re.IGNORECASE)
_TAX_LABEL = re.compile(r"(?i)\b(?:NIP|tax id|vat(?: id| no\.?| reg(?:istration)? no\.?)?|ust-?id(?:nr)?\.?|"
                        r"tva|btw(?:-nummer)?)\W*$")
_BARE_TAX_NO = re.compile(r"^(?:[A-Z]{2})?[\d -]{8,14}\d$")
IBAN_RE = re.compile(r"(?<![A-Z0-9])([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)(?![A-Z0-9])")

LEGAL_FORMS = re.compile(
    r"(?<![\w])(?:GmbH(?: & Co\.? KG)?|AG|KG|OHG|e\.K\.|UG|SARL|S\.A\.R\.L\.|SAS|S\.A\.S\.|SA|S\.A\.|EURL|SNC|"
    r"Ltd\.?|Limited|LLC|L\.L\.C\.|Inc\.?|Corp\.?|Corporation|PLC|LLP|Co\.,? Ltd\.?|B\.V\.|BV|N\.V\.|NV|"
    r"Sp\. z o\.o\.|sp\. z o\. o\.|spółka(?: z ograniczoną odpowiedzialnością| akcyjna)?|S\.p\.A\.|S\.r\.l\.|"
    r"SDN\.? BHD\.?|BHD\.?|S/B|ENTERPRISE|TRADING|RESTAURANT|HARDWARE|STATIONERY|MART|SUPERMARKET|"
    r"有限公司|有限责任公司|股份有限公司|公司)(?![\w])")

COUNTRY_CODES = {
    "deutschland": "DE", "germany": "DE", "allemagne": "DE", "france": "FR", "frankreich": "FR",
    "united kingdom": "GB", "uk": "GB", "great britain": "GB", "england": "GB", "nederland": "NL",
    "netherlands": "NL", "the netherlands": "NL", "niederlande": "NL", "polska": "PL", "poland": "PL",
    "österreich": "AT", "austria": "AT", "schweiz": "CH", "switzerland": "CH", "suisse": "CH",
    "españa": "ES", "spain": "ES", "espagne": "ES", "italia": "IT", "italy": "IT", "belgique": "BE",
    "belgië": "BE", "belgium": "BE", "luxembourg": "LU", "united states": "US", "usa": "US",
    "malaysia": "MY", "china": "CN", "中国": "CN", "denmark": "DK", "danmark": "DK", "sweden": "SE",
}
US_CITY_STATE_ZIP = re.compile(r"^(?P<city>[A-Za-z .'-]{2,40}?),?\s+(?P<state>[A-Z]{2})\s+(?P<zip>\d{5}(?:-\d{4})?)$")
POSTCODE_CITY = re.compile(
    r"^(?:(?P<cc>[A-Z]{1,2})[- ])?(?P<zip>\d{5}|\d{4}(?: ?[A-Z]{2})?|\d{2}-\d{3}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})"
    r",?\s*(?P<city>[^\d,]{2,40})$")
NOT_ADDRESS = re.compile(r"(?i)(?:\b(?:tel|fax|phone|fon|e-?mail|ust|vat|iban|bic|gln|tva|siret|gst|company no)\b|"
                          r"www\.|http|@|nummer|steuer|kunden-?nr|customer|:)")


@dataclass(frozen=True, slots=True)
class Zone:
    role: str  # "seller" or "buyer"
    page: int
    box: BBox


def party_zones(page: Page) -> list[Zone]:
    """Regions under seller/buyer cue lines, each as wide as its column and until the next cue below."""
    starts: list[tuple[str, Line]] = []
    for line in page.lines:
        found = role_label(line.text)
        if found is not None and len(found[1]) <= 25 and not any(ch.isdigit() for ch in found[1]):
            starts.append((found[0], line))
    zones = []
    for role, line in starts:
        b = line.bbox
        x1 = min(page.width, b.x0 + 0.45 * page.width)
        y1 = min(page.height, b.y1 + 170)
        for _, other in starts:
            ob = other.bbox
            if other is not line and ob.y0 > b.y1 - 1 and abs(ob.x0 - b.x0) < 40:
                y1 = min(y1, ob.y0 - 0.5)
            if other is not line and ob.x0 > b.x0 + 40 and ob.y_overlap(b) > 0.3:
                x1 = min(x1, ob.x0 - 2)
        zones.append(Zone(role, page.number, BBox(b.x0 - 6, b.y0, x1, y1)))
    return zones


_BUYER_AT_START = re.compile(r"^.{0,2}?(?P<cue>" + BUYER_CUES.pattern + ")", re.IGNORECASE)
_SELLER_AT_START = re.compile(r"^.{0,2}?(?P<cue>" + SELLER_CUES.pattern + ")", re.IGNORECASE)


# After a one-word label without a colon, a name of its own: two words or more, the first a capital that
# is no legal form ('Afnemer Van Dijk B.V.'); 'Lieferant GmbH', 'Kunden AG Mitte' are names themselves.
_NAME_AFTER_LABEL = re.compile(r"^(?!(?:GmbH|AG|KG|SA|SAS|SARL|BV|B\.V\.|NV|N\.V\.|Ltd|LLC|PLC|Inc)\b)(?!.*\d)"
                               r"(?!(?:VAT|TVA|BTW|USt|Tax|No|Nr|Number|Nummer|ID|Ref)\b)[A-ZÀ-Ý]\S*\s+\S+")


def _inline_name(cue: str, rest: str) -> bool:
    """A label with the name after it on its line and no colon: 'Bill To Harbourview Ltd' (a label of
    several words), 'Afnemer Van Dijk B.V.' (a one-word label, then a name of its own).  Short cue words
    ('An', 'Von', 'Van') need a colon: they begin names."""
    if len(cue) <= 3:
        return False
    return " " in cue or bool(_NAME_AFTER_LABEL.match(rest))


@functools.lru_cache(maxsize=8192)
def role_label(text: str) -> tuple[str, str] | None:
    """(role, the text after the label) when `text` starts with a buyer or seller label ('Bill to:',
    'Lieferant', 'Aan:').  A short cue word ('An', 'Von', 'Van', 'De') is a label only with a colon or
    alone on its line: 'Van der Berg BV' is a name."""
    for role, rx in (("buyer", _BUYER_AT_START), ("seller", _SELLER_AT_START)):
        m = rx.match(text)
        if m is None:
            continue
        rest = text[m.end():]
        colon = rest.lstrip().startswith(":")
        if rest.startswith("/"):   # 'Käufer/Leistungsempfänger': two names for one label
            rest = re.sub(r"^/\s*[^\W\d_]+\.?", "", rest)
            colon = rest.lstrip().startswith(":")
        if rest.strip() and not colon and not _inline_name(m.group("cue"), rest.strip()):
            continue   # 'Lieferant GmbH', 'Kunden AG Mitte', 'Van Dijk BV': a name, no label
        return role, rest.lstrip(" :").strip()
    return None


def zone_of(zones: list[Zone], page: int, box: BBox) -> Zone | None:
    for z in zones:
        if z.page == page and z.box.x0 <= box.x0 <= z.box.x1 and z.box.y0 <= box.cy <= z.box.y1:
            return z
    return None


def iban_is_valid(iban: str) -> bool:
    s = iban.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    digits = "".join(str(int(ch, 36)) for ch in s[4:] + s[:4])
    return int(digits) % 97 == 1


@dataclass(frozen=True, slots=True)
class _Found:
    value: str
    page: int
    line: Line
    box: BBox
    role: str | None


def _found_field(f: _Found, confidence: float) -> Field:
    return Field(f.value, f.value, confidence, f.page, f.box)


def _span_box(line: Line, start: int, end: int) -> BBox:
    from extractors.header import span_bbox
    return span_bbox(line, start, end)


def tax_ids(pages: tuple[Page, ...], zones: list[Zone]) -> list[_Found]:
    """Every VAT/GST/NIP id printed, with the party it belongs to where that can be told."""
    out = []
    for page in pages:
        for line in page.lines:
            text = line.text
            hits = [(m.start(), m.end(), m.group()) for m in VAT_ID_RE.finditer(text)]
            hits += [(m.start(1), m.end(1), m.group(1).replace("-", "")) for m in _NIP_RE.finditer(text)]
            if not hits and _BARE_TAX_NO.match(text) and _TAX_LABEL.search(left_label(page, line)):
                hits.append((0, len(text), text.replace("-", "").replace(" ", "")))
            label = left_label(page, line) if hits else ""
            for s, e, value in hits:
                box = _span_box(line, s, e)
                role = _role_from_label(label + " " + text[:s])
                if role is None:
                    z = zone_of(zones, page.number, box)
                    role = z.role if z else None
                out.append(_Found(value, page.number, line, box, role))
    return out


def left_label(page: Page, line: Line) -> str:
    """The text of the nearest line left of `line` on its row (its label in a two-column layout)."""
    lb = line.bbox
    left = [o for o in page.lines if o is not line and o.bbox.x1 <= lb.x0 + 1 and o.bbox.y_overlap(lb) > 0.5]
    return max(left, key=lambda o: o.bbox.x1).text if left else ""


def _role_from_label(prefix: str) -> str | None:
    tail = prefix[-40:]
    if BUYER_CUES.search(tail) or re.search(r"(?i)client|kunde|buyer|customer|acheteur|nabywc", tail):
        return "buyer"
    if SELLER_CUES.search(tail):
        return "seller"
    return None


def choose_tax_ids(found: list[_Found]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    sellers = [f for f in found if f.role == "seller"] or [f for f in found if f.role is None]
    buyers = [f for f in found if f.role == "buyer" and (not sellers or f.value != sellers[0].value)]
    if sellers:
        counts: dict[str, int] = {}
        for f in sellers:
            counts[f.value] = counts.get(f.value, 0) + 1
        top = max(sellers, key=lambda f: (counts[f.value], -f.page))
        out["supplier_tax_id"] = _found_field(top, 0.9 if top.role == "seller" else 0.75)
    if buyers:
        out["buyer_tax_id"] = _found_field(buyers[0], 0.85)
    return out


def bank_account(pages: tuple[Page, ...]) -> Field | None:
    """The first IBAN with a valid checksum, or labelled IBAN (the issuer prints where to pay)."""
    for page in pages:
        for line in page.lines:
            for m in IBAN_RE.finditer(line.text):
                value = _valid_prefix(m.group(1).strip())
                labelled = re.search(r"(?i)iban\W*$", left_label(page, line) + " " + line.text[:m.start(1)])
                if value or labelled:
                    value = value or m.group(1).strip()
                    start = m.start(1)
                    return Field(value, value, 0.95, page.number, _span_box(line, start, start + len(value)))
    return None


def _valid_prefix(iban: str) -> str | None:
    """The IBAN itself, or the longest run of its groups with a valid checksum: the pattern may have
    taken the word after it ('BE12 1820 4982 3371 BIC')."""
    parts = iban.split(" ")
    for n in range(len(parts), 1, -1):
        candidate = " ".join(parts[:n])
        if iban_is_valid(candidate):
            return candidate
    return None


_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|https?://|www\.", re.IGNORECASE)
_PHONE_IN_TEXT = re.compile(r"(?<![\w/])(\+?\(?\d{2,4}\)?[\s./-]?\d{2,4}[\s./-]?\d{2,5}(?:[\s./-]?\d{1,5})?)(?![\w/])")


def contact_phone(pages: tuple[Page, ...], zones: list[Zone]) -> Field | None:
    """An unlabelled phone number on a contact line (one that also carries an e-mail address or a web
    address) outside buyer zones: letterheads and footers print the issuer's contacts this way."""
    for page in pages[:1]:
        for line in page.lines:
            if not _CONTACT.search(line.text):
                continue
            z = zone_of(zones, page.number, line.bbox)
            if z is not None and z.role == "buyer":
                continue
            for m in _PHONE_IN_TEXT.finditer(line.text):
                digits = sum(ch.isdigit() for ch in m.group(1))
                if 7 <= digits <= 15:
                    value = m.group(1).strip()
                    return Field(value, value, 0.6, page.number, _span_box(line, m.start(1), m.end(1)))
    return None
