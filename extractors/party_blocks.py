"""Party blocks: a party's name and address read from the block of lines printed for it.

A party is printed as a block: an optional label ('Bill to:', 'Lieferant', 'Aan:'), a name, street
lines, a postcode-and-city line, maybe a country, then contact lines (phone, e-mail, VAT id).  The lines
of a block sit one under the other with no more than a line's leading between them and share an edge
(left, right or centre aligned).  `page_blocks` groups a page's lines so; `read_party` reads one block
by the *shape* of its lines (`address.postcode_line`, street, contact) rather than by their order, so
that a slogan printed above the letterhead or a street printed before the postcode is not taken for the
name.  Which block is the supplier's and which the buyer's is decided in `party_fields`.

Lines are first cut where a wide gap separates two columns on one baseline (`split_columns`): a
letterhead name and a label block beside it are separate things even when the text layer joins them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from extractors.address import country_name, postcode_line
from extractors.header import span_bbox
from extractors.layout import BBox, Line, Page, merge_bboxes
from extractors.parties import LEGAL_FORMS, role_label
from extractors.title import kind_of


def split_columns(page: Page) -> Page:
    """The page with each text-layer line cut where a gap wider than the smaller word's height (a column
    gap, not a word space) separates two words.  OCR pages are left as read."""
    return replace(page, lines=tuple(p for p, _ in cut_lines(page))) if page.source == "text-layer" else page


def cut_lines(page: Page) -> list[tuple[Line, float]]:
    """The page's lines cut at column gaps, each piece with the right edge of the whole line it was cut
    from.  An OCR line (detection boxes a row apart joined) is cut at narrower gaps, and where the type size
    changes: a letterhead name in large type and a label column beside it are two things."""
    if page.source == "ofd":
        return [(ln, ln.bbox.x1) for ln in page.lines]
    ocr = page.source != "text-layer"
    return _join_labels([(p, ln.bbox.x1) for ln in page.lines for p in _pieces(ln, ocr=ocr)])


_LONE_LABEL = re.compile(r"^[^\W\d][\w .'/-]{0,24}:$")


def _join_labels(pieces: list[tuple[Line, float]]) -> list[tuple[Line, float]]:
    """A label printed alone in a label column ('Name:', 'Street:') joined to the value beside it on its
    row (the first piece to its right, within a few word heights): a form-like party table."""
    used: set[int] = set()
    out: list[tuple[Line, float]] = []
    for k, (line, right) in enumerate(pieces):
        if k in used:
            continue
        if _LONE_LABEL.match(line.text):
            b, h = line.bbox, max(line.bbox.height, 1.0)
            beside = [(p.bbox.x0, j) for j, (p, _) in enumerate(pieces) if j != k and j not in used
                      and p.bbox.y_overlap(b) > 0.6 and 0 < p.bbox.x0 - b.x1 < 6 * h]
            if beside:
                j = min(beside)[1]
                used.add(j)
                value, value_right = pieces[j]
                out.append((Line(line.words + value.words), max(right, value_right)))
                continue
        out.append((line, right))
    return out


def _pieces(line: Line, *, ocr: bool = False) -> list[Line]:
    """A line cut where a column gap (wider than a word's height) parts two words, and before a party-form
    label a few spaces after a value ('Name: A Ltd   Name: B GmbH': the next column's label).  OCR lines
    are cut at 0.7 of a height, and at half a height where the type size changes by 1.4 times."""
    ws = line.words
    wide = 0.7 if ocr else 1.1
    cuts = []
    for k in range(1, len(ws)):
        a, b = ws[k - 1].bbox, ws[k].bbox
        gap, h, tall = b.x0 - a.x1, min(a.height, b.height), max(a.height, b.height)
        if (gap > wide * h and not ws[k].text.startswith(":")   # 'Nummer    : 549910' is one
                or gap > 0.38 * h and k > 1 and _form_label(ws[k].text)
                or ocr and gap > 0.5 * h and tall >= 1.4 * h):
            cuts.append(k)
    if not cuts:
        return [line]   # no column gap: the line as it is (most lines)
    bounds = [0, *cuts, len(ws)]
    return [Line(ws[a:b]) for a, b in zip(bounds, bounds[1:])]


def _form_label(text: str) -> bool:
    """'Name:', 'Street:', 'City:': a label of a party's name or address, colon included."""
    return text.endswith((":", "：")) and bool(_NAME_LABEL.match(text[:-1]) or _ADDRESS_LABEL.match(text[:-1]))


@dataclass(frozen=True, slots=True)
class Block:
    page: int
    lines: tuple[Line, ...]   # top to bottom

    @property
    def box(self) -> BBox:
        return merge_bboxes(ln.bbox for ln in self.lines)


def _continues(a: BBox, b: BBox, right_a: float, right_b: float) -> bool:
    """A line with box `b` is the next line of the block ending in box `a`: close below it and sharing an
    edge (left, right or centre; the right edge of the whole printed line counts too)."""
    h = min(a.y1 - a.y0, b.y1 - b.y0)
    gap = b.y0 - a.y1
    if gap > 0.9 * h or gap < -0.3 * h and b.cy - a.cy < 0.6 * h:   # loose OCR boxes overlap a row's
        return False
    tol = 3.0 if h < 8.6 else 0.35 * h   # OCR boxes jitter by a few points
    return (abs(a.x0 - b.x0) <= tol or abs(a.x1 - b.x1) <= tol or abs(a.x0 + a.x1 - b.x0 - b.x1) <= 2 * tol
            or abs(right_a - right_b) <= tol)


def page_blocks(page: Page, pieces: list[tuple[Line, float]] | None = None) -> list[Block]:
    """The lines of `page` (cut at column gaps: `cut_lines`, or `pieces` where given) grouped into blocks,
    in reading order of their first lines.  A one-line party (a sender line) is a block of its own; a
    party label starts one."""
    pieces = cut_lines(page) if pieces is None else pieces
    right = {id(p): x1 for p, x1 in pieces}
    blocks: list[list[Line]] = []
    active: list[list[Line]] = []   # blocks whose last line is near enough above to be continued
    for line in sorted((p for p, _ in pieces), key=lambda ln: (ln.bbox.y0, ln.bbox.x0)):
        b = line.bbox
        active = [blk for blk in active if b.y0 - blk[-1].bbox.y1 <= blk[-1].bbox.y1 - blk[-1].bbox.y0]
        label = role_label(line.text) is not None
        if label or one_line_party(line) is not None:
            blocks.append([line])
            active = _uncovered(active, b)
            if label:
                active.append(blocks[-1])
            continue
        fits = [blk for blk in active if _continues(blk[-1].bbox, b, right[id(blk[-1])], right[id(line)])]
        if fits:
            home = min(fits, key=lambda blk: abs(blk[-1].bbox.x0 - b.x0))
        else:
            home = [line]
            blocks.append(home)
        active = [*_uncovered([blk for blk in active if blk is not home], b), home]
        if fits:
            home.append(line)
    return [Block(page.number, tuple(blk)) for blk in blocks]


def _uncovered(active: list[list[Line]], b: BBox) -> list[list[Line]]:
    """The active blocks a line with box `b` does not cover: a line printed across a block's column
    under it (a sender line under the letterhead) ends that block, the next lines there are another's."""
    return [blk for blk in active if blk[-1].bbox.x_overlap(b) < 0.3]


_STREET = re.compile(r"(?i)\d+\s*[a-z]?\b.*\b[^\W\d_]{3,}|\b[^\W\d_]{3,}.*\s\d+\s*[a-z]?(?:\s*[-/]\s*\d+)?,?$|"
                     r"\b(?:unit|suite|floor|building|postfach|po box|p\.o\. box|bp|boîte postale|hof)\b")
_CONTACT = re.compile(r"(?i)@|www\.|https?:|\b(?:tel|tél|fon|fax|phone|telefoon|telefon|mobile|gsm|e-?mail|mail|"
                      r"mél|courriel|vat|tva|btw|ust|iban|bic|swift|siret|siren|rcs|kvk|hrb|gln|ein|abn|tax)\b|"
                      r"^\+?[\d\s()./-]{7,}$|^[A-Z]{2}[\dA-Z]{8,12}$")
_FIELD_LABEL = re.compile(r"^(?P<label>[^\W\d][\w .'/-]{0,30}?)\s*:\s*(?P<value>.*)$")
_NAME_LABEL = re.compile(r"(?i)^(?:name|firma|company|raison sociale|société|nazwa|naam|bedrijfsnaam|"
                         r"destinataire|kunde|client|klant|customer)$")
_ADDRESS_LABEL = re.compile(r"(?i)^(?:adresse|address|anschrift|adres|straße|strasse|street|rue|ulica|siedziba|city|town|"
                            r"ort|stadt|ville|localité|plaats|woonplaats|stad|post ?code|postal code|zip(?: code)?|plz|"
                            r"code postal|cp|country|land|pays|state|county|province|region)$")


@dataclass(frozen=True, slots=True)
class Party:
    """One block read as a party."""

    role: str | None          # "seller" / "buyer" from a label in the block, else None
    page: int
    block: Block
    name: str | None
    name_box: BBox | None
    name_line: Line | None    # the line the name is printed on
    address: list[str]        # street .. postcode line (.. country), as printed, label prefixes cut off
    address_box: BBox | None
    contacts: tuple[Line, ...]
    postcode: bool            # the address has a postcode line


def _strip_label(text: str, allowed: re.Pattern[str]) -> str | None:
    """The value of a 'Label: value' line whose label is allowed; the text itself when it has no label;
    None for a line labelled otherwise ('Datum: ..', 'Kunden-Nr.: ..')."""
    m = _FIELD_LABEL.match(text)
    if m is None:
        return text
    return m.group("value").strip() if allowed.match(m.group("label").strip()) else None


def _name_like(text: str) -> bool:
    """Text that can be a party's name: mostly letters, a capital, no contact, postcode, title or label,
    not a sentence ('pay by wire transfer to the following bank account:')."""
    words = text.split()
    if text.rstrip().endswith(":") or len(words) > 8 or not any(w[:1].isupper() or w[:1].isdigit() for w in words):
        return False
    letters = sum(ch.isalpha() for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    return (letters >= 3 and digits <= letters / 4 and not _CONTACT.search(text) and postcode_line(text) is None
            and not (kind_of(text) and len(text.split()) <= 3) and not _LABEL_NOUN.match(text.strip()))


def read_party(block: Block) -> Party | None:
    """The party a block prints: a name followed by address lines ending at a postcode line (or all on
    one line: 'Name · Street · 12345 City'), or a labelled name.  None for blocks of other things."""
    lines = list(block.lines)
    if len(lines) == 1 and one_line_party(lines[0]) is not None:
        return _one_line(block, lines[0])
    if role_label(lines[0].text) is None and (len(lines) < 2 or not any(ch.isdigit() for ln in lines for ch in ln.text)):
        return None   # no label and no postcode can be in it
    role, inline = None, None
    found = role_label(lines[0].text)
    if found is not None:
        role, rest = found
        inline = rest if rest and _name_like(rest) else None
        lines = lines[1:]
    kinds = [_line_kind(ln) for ln in lines]
    end = _address_end(lines, kinds)
    head = lines[:end + 1] if end is not None else lines
    if inline is not None:
        start = block.lines[0].text.rindex(inline)
        name_line, first = block.lines[0], 0
        name, name_box = inline, span_bbox(name_line, start, start + len(inline))
    elif (name_i := _name_index(head, kinds)) is not None:
        name_line, first = head[name_i], name_i + 1
        name, name_box = _value_text(name_line), name_line.bbox
    else:
        return None
    if end is None:   # no address: a labelled party, or a letterhead name over its tax id or contacts
        letterhead = bool(LEGAL_FORMS.search(name)) and any(_line_kind(ln) == "contact" for ln in lines[first:])
        return Party(role, block.page, block, name, name_box, name_line, [], None, tuple(lines),
                     False) if role or letterhead else None
    parts: list[str] = []
    boxes: list[BBox] = []
    for ln in head[first:end + 1]:
        line_parts = _to_postcode(address_parts(t)) if (t := _strip_label(ln.text, _ADDRESS_LABEL)) else []
        if line_parts:   # the box of the address words only, not of a phone or e-mail after them
            start = ln.text.find(line_parts[0])
            stop = ln.text.rfind(line_parts[-1]) + len(line_parts[-1])
            boxes.append(span_bbox(ln, max(0, start), stop) if start >= 0 else ln.bbox)
            parts += line_parts
    return Party(role, block.page, block, name, name_box, name_line, parts,
                 merge_bboxes(boxes) if boxes else None, tuple(lines[end + 1:]), True)


def _to_postcode(parts: list[str]) -> list[str]:
    """The parts of a line up to its postcode part (and a country after it): what follows on the line
    is a phone, an e-mail, a VAT id."""
    found = [i for i, p in enumerate(parts) if postcode_line(p)]
    if not found:
        return parts
    end = found[-1] + (1 if found[-1] + 1 < len(parts) and country_name(parts[found[-1] + 1]) else 0)
    return parts[:end + 1]


def _address_end(lines: list[Line], kinds: list[str]) -> int | None:
    """Index of the address's last line: the last postcode line of the first run of address lines (a
    street number can read as a postcode: '4557 De Silva St'), and a country line after it."""
    if "postcode" not in kinds:
        return None
    end = kinds.index("postcode")
    while end + 1 < len(kinds) and kinds[end + 1] == "postcode":
        end += 1
    if end + 1 < len(lines) and country_name(lines[end + 1].text) and len(lines[end + 1].text) < 30:
        end += 1
    return end


_SEPARATOR = re.compile(r"\s*(?:●|•|·|\||–| - )\s*|,\s+")
_CONTACT_START = re.compile(r"(?i)\s(?:(?:tel|tél|fon|fax|phone|e-?mail|mail|e|t|f|ust|vat|tva|btw)\.?(?:-[\w.]+)?\s?:|"
                            r"(?:tel|tél|telefon|telefoon|téléphone|phone|fax|e-?mail|vat|tva|btw|ust|uid|tax|siret)\b)")
_TRAILING_PHONE = re.compile(r"\s(?:\+|\(|0)\d[\d\s()./-]{5,}\d$")


def address_parts(text: str) -> list[str]:
    """The parts of an address line ('Mühlenweg 24, 04054 Leipzig Tel.: ..' -> street, postcode line);
    'Denver, CO 80299' stays one part, a leading 'Address' label is cut off."""
    m = _CONTACT_START.search(text)
    if m:
        text = text[:m.start()]
    text = _LEADING_ADDRESS_LABEL.sub("", text)
    parts = [_TRAILING_PHONE.sub("", p).strip() for p in _SEPARATOR.split(text) if p and p.strip()]
    out: list[str] = []
    for part in parts:
        if out and not postcode_line(out[-1]) and not postcode_line(part) and postcode_line(f"{out[-1]}, {part}"):
            out[-1] = f"{out[-1]}, {part}"
        else:
            out.append(part)
    return out


_LEADING_ADDRESS_LABEL = re.compile(r"(?i)^(?:address|adresse|adres|anschrift)\s+(?=\S)")


def one_line_party(line: Line) -> tuple[str, list[str]] | None:
    """(name, address parts) of a one-line party 'Name · Street · 12345 City': a name-like first part,
    then a postcode part; else None."""
    return _one_line_text(line.text)


@functools.lru_cache(maxsize=8192)
def _one_line_text(text: str) -> tuple[str, list[str]] | None:
    if not _MAYBE_ONE_LINE.search(text):
        return None
    parts = address_parts(text)
    if len(parts) < 3 or not _name_like(parts[0]) or _STREET.search(parts[0]) and not LEGAL_FORMS.search(parts[0]):
        return None
    found = [i for i, p in enumerate(parts) if i > 0 and postcode_line(p)]
    if not found:
        return None
    end = found[-1] + (1 if found[-1] + 1 < len(parts) and country_name(parts[found[-1] + 1]) else 0)
    return parts[0], parts[1:end + 1]


_MAYBE_ONE_LINE = re.compile(r"(?:●|•|·|\||–| - |, ).*\d")


def _one_line(block: Block, line: Line) -> Party:
    name, parts = one_line_party(line)  # type: ignore[misc]
    start = line.text.index(name)
    name_box = span_bbox(line, start, start + len(name))
    after = line.text.index(parts[0], start + len(name))
    last = line.text.index(parts[-1], after) + len(parts[-1])
    return Party(None, block.page, block, name, name_box, line, parts, span_bbox(line, after, last), (), True)


def _line_kind(line: Line) -> str:
    return _text_kind(line.text)


@functools.lru_cache(maxsize=8192)
def _text_kind(text: str) -> str:
    value = _strip_label(text, _ADDRESS_LABEL)
    if value is not None and any(postcode_line(p) for p in address_parts(value)):
        return "postcode"
    if _CONTACT.search(text) or (value is None and _FIELD_LABEL.match(text)):
        return "contact"
    if value is not None and _STREET.search(value) and not LEGAL_FORMS.search(value):
        return "street"
    return "text"


def _name_index(head: list[Line], kinds: list[str]) -> int | None:
    """The name line among the lines before the street: one with a legal form, else the tallest (a
    slogan or a department line is smaller), else the first."""
    stop = next((i for i, k in enumerate(kinds[:len(head)]) if k == "postcode"), len(head))
    while stop > 0 and kinds[stop - 1] == "street":
        stop -= 1   # the street lines run up to the postcode line; a number in a slogan above is no street
    before = []
    for i, (ln, kind) in enumerate(zip(head[:stop], kinds)):
        if kind == "postcode":
            break
        text = _value_text(ln)
        if kind in ("text", "street") and text and _name_like(text):
            before.append(i)
    if not before:
        return None
    legal = [i for i in before if _ANY_CASE_FORMS.search(head[i].text)]
    if legal:
        return legal[0]
    tallest = max(head[i].bbox.height for i in before)
    return next(i for i in before if head[i].bbox.height >= tallest - 0.5)


_ANY_CASE_FORMS = re.compile(LEGAL_FORMS.pattern, re.IGNORECASE)   # 'MUSTERLIEFERANT GMBH'
_LABEL_NOUN = re.compile(r"(?i)^(?:nummer|number|numéro|nr|no|name|naam|adresse|address|anschrift|adres|datum|"
                         r"date|kunde|customer|client|klant|ref|référence|referenz)\.?:?$")


def _value_text(line: Line) -> str:
    value = _strip_label(line.text, _NAME_LABEL)
    return (value if value is not None else "").strip()
