"""Supplier and buyer fields of a Western document: names, addresses, tax ids, phone, bank account.

Parties are read as blocks (`party_blocks`); which block is whose follows from structure:

- a block under a buyer label ('Bill to', 'Rechnungsadresse', 'Aan') is the buyer's, under a seller
  label the supplier's;
- the block in the address window, just under the small one-line sender address, is the buyer's;
- the letterhead, the first address block at the top of the page that is not the buyer's, is the
  supplier's; so is a letterhead name with a legal form over its tax id or contacts above every address
  block (its address printed in a footer);
- with a supplier and no labelled buyer, the next address block in the page's upper part is the buyer's.

Where no block gives a party, the label zones, legal-form lines and sender line of `names` are used.
Tax ids and phones belong to the party whose block holds them (`parties.tax_ids` by zone).  The country
of an address is the one printed or implied by its postcode, else the party's VAT id prefix or phone
prefix, else (for the buyer) the supplier's.
"""

from __future__ import annotations

import re
from dataclasses import replace

from extractors.address import country_of_address, phone_country, postcode_fits, structure_address, with_country
from extractors.layout import BBox, Layout, Page, merge_bboxes
from extractors.parsing import find_dates
from extractors.names import address_after, find_names, segments_address, sender_address, sender_line
from extractors.parties import (Zone, bank_account, choose_tax_ids, contact_phone, party_zones, tax_ids)
from extractors.party_blocks import Party, cut_lines, page_blocks, read_party
from extractors.result import DocumentType, Field

_PHONE = re.compile(r"(?<![\w/])(\+?\(?\d{1,4}\)?(?:[\s./-]?\(?\d{1,5}\)?){1,5})(?![\w/])")
_PHONE_LABEL = re.compile(r"(?i)\b(?:tel|tél|téléphone|fon|telefon|telefoon|phone|ph|t)\b\.?\s*:?\s*")


def party_fields(layout: Layout, doc_type: DocumentType, labelled: dict[str, Field], *,
                 language: str = "") -> dict[str, Field]:
    """The party fields; `labelled` holds the header fields found by label cues (a labelled phone),
    `language` is the paper's (it tells some street names' country)."""
    pieces = cut_lines(layout.pages[0]) if layout.pages else []   # parties print on page 1
    pages = tuple(replace(p, lines=tuple(ln for ln, _ in pieces)) if i == 0 else p for i, p in enumerate(layout.pages))
    parties = [p for b in page_blocks(layout.pages[0], pieces) if (p := read_party(b))] if pages else []
    seller, buyer = assign_roles(parties, pages[0]) if pages else (None, None)
    zones = [z for p in pages for z in party_zones(p)] + [_zone(p, r) for p, r in ((seller, "seller"),
                                                                                    (buyer, "buyer")) if p]
    out: dict[str, Field] = dict(choose_tax_ids(tax_ids(pages, zones)))
    iban = bank_account(pages)
    if iban is not None:
        out["supplier_bank_account"] = iban
    phone = _party_phone(seller) or _labelled_phone(labelled.get("supplier_phone"), buyer) \
        or contact_phone(pages, zones)
    if phone is not None:
        out["supplier_phone"] = phone
    if doc_type is DocumentType.RECEIPT:
        return out
    for party, prefix in ((seller, "supplier"), (buyer, "buyer")):
        if party is not None and party.name:
            out.update(_fields_of(party, prefix, pages))
    _fallback_names(out, pages, zones)
    return with_countries(out, {"supplier": seller, "buyer": buyer}, language)


def assign_roles(parties: list[Party], page: Page) -> tuple[Party | None, Party | None]:
    """(supplier's party, buyer's party) by labels, the address window and the letterhead."""
    seller = next((p for p in parties if p.role == "seller"), None)
    buyers = [p for p in parties if p.role == "buyer"]
    buyer = next((p for p in buyers if not _SHIP_TO.search(p.block.lines[0].text)), None)
    unlabelled = [p for p in parties if p.role is None and p.postcode]
    sender = sender_line(page)
    if buyer is None and sender is not None:   # the address window: the invoice's addressee
        buyer = next((p for p in unlabelled if _under(p.block.box, sender[0].bbox)), None)
    buyer = buyer or (buyers[0] if buyers else None)   # else a delivery address
    top = [p for p in unlabelled if p is not buyer and p.block.box.y0 < 0.4 * page.height]
    heads = [p for p in parties if p.role is None and not p.postcode and p.block.box.y0 < 0.25 * page.height]
    if seller is None and heads and (not top or heads[0].block.box.y1 <= top[0].block.box.y0):
        seller = heads[0]   # a letterhead name over its tax id, its address printed elsewhere (a footer)
    if seller is None and top:
        seller = top[0]
    if buyer is None:   # the supplier's name printed again (a sender line, a footer) is no buyer
        rest = [p for p in unlabelled if p is not seller and p.block.box.y0 < 0.6 * page.height
                and not (seller and _same_name(p, seller))]
        buyer = rest[0] if rest and seller is not None else None
    return seller, buyer


_SHIP_TO = re.compile(r"(?i)ship|deliver|liefer|waren|livr|aflever|lever|consignee|empfänger:?$|destinataire")


def _same_name(a: Party, b: Party) -> bool:
    return bool(a.name and b.name) and a.name.casefold() == b.name.casefold()  # type: ignore[union-attr]


def _under(box: BBox, above: BBox) -> bool:
    return 0 <= box.y0 - above.y1 < 30 and abs(box.x0 - above.x0) < 45


def _zone(party: Party, role: str) -> Zone:
    """The party's block, reaching a few lines further down (its VAT id and phone lines)."""
    b = party.block.box
    return Zone(role, party.page, BBox(b.x0 - 4, b.y0, b.x1 + 4, b.y1 + 3 * max(6.0, party.block.lines[-1].bbox.height)))


def _fields_of(party: Party, prefix: str, pages: tuple[Page, ...]) -> dict[str, Field]:
    """Name and address of a party; a labelled name whose block ends before the address (a wide line
    spacing) takes the address printed under it in its column."""
    name = party.name.strip(" ,;:·-") if party.name else ""
    out = {f"{prefix}_name": Field(name, party.name, 0.8 if party.role else 0.7, party.page, party.name_box)}
    if party.address and party.address_box is not None:
        value = structure_address(party.address)
        if value:
            out[f"{prefix}_address"] = Field(value, "\n".join(party.address), 0.7, party.page, party.address_box)
    elif party.name_line is not None:
        page = next(p for p in pages if p.number == party.page)
        address = address_after(page, party.name_line)
        if address is not None:
            out[f"{prefix}_address"] = address
    return out


def _party_phone(party: Party | None) -> Field | None:
    """The phone printed in the party's block: after a phone label ('Tel.', 'T', 'Fon'), else a bare
    number that dials like one (leading +, ( or 0; 8 to 15 digits), on a contact or address line."""
    if party is None:
        return None
    lines = [*party.block.lines, *party.contacts]
    for labelled in (True, False):
        for line in lines:
            found = _phone_in(line.text, labelled=labelled)
            if found is not None:
                start, end = found
                words = _words_in(line, start, end)
                value = line.text[start:end].strip()
                box = merge_bboxes(w.bbox for w in words) if words else line.bbox
                return Field(value, value, 0.75 if labelled else 0.65, party.page, box)
    return None


_BARE_PHONE = re.compile(r"(?<![\w/+.,-])((?:\+|\(|0)[\d\s()./-]{6,}\d)(?![\w/])")


def _phone_in(text: str, *, labelled: bool) -> tuple[int, int] | None:
    """Character span of a phone in `text`: one after a phone label, or (not `labelled`) a bare one."""
    if labelled:
        for m in _PHONE_LABEL.finditer(text):
            pm = _PHONE.match(text[m.end():])
            if pm and 7 <= sum(ch.isdigit() for ch in pm.group(1)) <= 15:
                return m.end() + pm.start(1), m.end() + pm.end(1)
        return None
    for m in _BARE_PHONE.finditer(text):
        digits = sum(ch.isdigit() for ch in m.group(1))
        if 8 <= digits <= 15 and not find_dates(m.group(1)) and not _AFTER_ID.search(text[:m.start(1)]):
            return m.start(1), m.end(1)
    return None


_AFTER_ID = re.compile(r"(?i)(?:iban|bic|vat|tva|btw|ust|tax|siret|kvk|nr|no)\W{0,3}$")


def _words_in(line, start: int, end: int) -> list:
    out, pos = [], 0
    for w in line.words:
        if pos < end and start < pos + len(w.text):
            out.append(w)
        pos += len(w.text) + 1
    return out


def _labelled_phone(phone: Field | None, buyer: Party | None) -> Field | None:
    """A phone found by its label, unless it is printed in the buyer's block."""
    if phone is None or buyer is None or phone.bbox is None or phone.page != buyer.page:
        return phone
    b = buyer.block.box
    inside = b.x0 - 4 <= phone.bbox.cx <= b.x1 + 4 and b.y0 <= phone.bbox.cy <= b.y1 + 3 * 10
    return None if inside else phone


def _fallback_names(out: dict[str, Field], pages: tuple[Page, ...], zones: list[Zone]) -> None:
    """Names and addresses from label zones, legal forms and the sender line where no block gave them."""
    names = find_names(pages, zones)
    by_number = {p.number: p for p in pages}
    for role, prefix in (("seller", "supplier"), ("buyer", "buyer")):
        hit = names.get(role)
        if hit is None or f"{prefix}_name" in out:
            continue
        out[f"{prefix}_name"] = Field(hit.text, hit.text, hit.score, hit.page, hit.box)
        inline = segments_address(hit.line, hit.text)
        if inline is not None:
            out.setdefault(f"{prefix}_address", Field(inline, hit.line.text, 0.7, hit.page, hit.line.bbox))
            continue
        address = address_after(by_number[hit.page], hit.line)
        if address is not None:
            out.setdefault(f"{prefix}_address", address)
    if "supplier_address" not in out:
        sender = sender_address(pages)
        if sender is not None:
            out["supplier_address"] = sender


def with_countries(fields: dict[str, Field], parties: dict[str, Party | None], language: str = "") -> dict[str, Field]:
    """Add the country to a structured address that does not print one: the party's VAT id prefix, or
    the prefix of a phone in its block, else (for the buyer) the supplier's country, as a domestic
    invoice implies."""
    out = dict(fields)
    supplier_cc = None
    for prefix in ("supplier", "buyer"):
        address, tax_id = out.get(f"{prefix}_address"), out.get(f"{prefix}_tax_id")
        cc = str(tax_id.value)[:2] if tax_id and str(tax_id.value)[:2].isalpha() else None
        party = parties.get(prefix)
        if cc is None and party is not None:
            cc = next((c for ln in party.contacts if (c := phone_country(ln.text))), None)
        if cc is None and prefix == "supplier" and "supplier_phone" in out:
            cc = phone_country(out["supplier_phone"].raw)
        if cc is None and address is not None and isinstance(address.value, str):
            cc = country_of_address(address.value, language)
            if cc is None and prefix == "buyer" and supplier_cc and not postcode_fits(address.value, supplier_cc):
                cc = country_of_address(address.value, "*")   # not domestic: its street tells where
        cc = cc or (supplier_cc if prefix == "buyer" else None)
        if address is not None and isinstance(address.value, str):
            value = with_country(address.value, cc)
            out[f"{prefix}_address"] = replace(address, value=value)
            if value[-4:-2] == ", " and value[-2:].isalpha():
                cc = value[-2:]
        if prefix == "supplier":
            supplier_cc = cc
    return out
