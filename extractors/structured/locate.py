"""Where the values of an `Extraction` taken from embedded XML are printed in a `Layout`.

`locate_in_layout` gives every header and line field the page and box of its printed form, matched on
normalised words (NFKC, casefolded, outer punctuation and currency signs removed).  Amounts are tried in
the usual printed forms (1.234,56 / 1,234.56 / 1234.56 / 1234,56, with fewer or more decimals, with or
without a minus sign), dates as dd.mm.yyyy, dd/mm/yyyy, yyyy-mm-dd, yyyy年m月d日, 5. März 2018 ...,
rates as percentages, text as a run of consecutive words (ids and CJK text also when the print splits
or joins words differently).  Line fields are searched near the line's anchor (description, SKU or
barcode, in print order).  Words are indexed once by their first characters, so a document takes a few ms.

A header total (total_amount, tax_amount, subtotal) that is printed nowhere, while its label is printed
next to another amount, gets an `embedded_data_mismatch` warning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Iterator

from extractors.layout import BBox, Layout, Page, Word, merge_bboxes
from extractors.result import Extraction, Field, FieldValue, Issue, LineItem, Severity

_STRIP = " \t.,:;!?()[]{}<>\"'“”„‘’«»*€$£¥#%"
# month names as invoices print them, and (thousands group, decimal point) styles of printed numbers
MONTHS = {
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
}
NUMBER_STYLES = (("", "."), ("", ","), (".", ","), (",", "."), (" ", ","), (" ", "."), ("'", "."))
_HEADER_AMOUNTS = ("subtotal", "tax_amount", "total_amount", "amount_due", "line_total", "allowance_total",
                   "charge_total", "prepaid_amount")
_MISMATCH_LABELS: dict[str, tuple[tuple[str, ...], ...]] = {
    "total_amount": (("gesamtbetrag",), ("rechnungsbetrag",), ("bruttobetrag",), ("gesamtsumme",),
                     ("summe", "brutto"), ("total", "ttc"), ("montant", "ttc"), ("grand", "total"),
                     ("invoice", "total"), ("total", "amount"), ("total",), ("价税合计",)),
    "tax_amount": (("summe", "mwst"), ("summe", "ust"), ("mwst", "gesamt"), ("gesamt", "mwst"),
                   ("ust", "gesamt"), ("steuerbetrag",), ("total", "tva"), ("montant", "tva"), ("total", "vat"),
                   ("vat", "total"), ("total", "tax"), ("tax", "total")),
    "subtotal": (("nettobetrag",), ("summe", "netto"), ("gesamt", "netto"), ("netto", "gesamt"),
                 ("rechnungssumme", "ohne"), ("summe", "ohne"),
                 ("total", "ht"), ("montant", "ht"), ("subtotal",), ("sub", "total"), ("net", "total"),
                 ("total", "net")),
}
_PICK_LABELS = {
    **_MISMATCH_LABELS,
    "amount_due": (("zahlbetrag",), ("zu", "zahlen"), ("amount", "due"), ("balance", "due"),
                   ("net", "à", "payer"), ("à", "payer"), ("offener", "betrag")),
    "prepaid_amount": (("anzahlung",), ("vorauszahlung",), ("bereits", "gezahlt"), ("prepaid",), ("acompte",)),
    "allowance_total": (("rabatt",), ("nachlass",), ("abschlag",), ("remise",), ("discount",)),
    "charge_total": (("zuschlag",), ("zuschläge",), ("frais",), ("charges",)),
}
_CURRENCY_WORDS = {"eur", "usd", "gbp", "chf", "cny", "rmb", "jpy", ""}
_MONEY = re.compile(r"^-?\d{1,3}(?:([.,' ])\d{3})*(?:[.,]\d{2})$|^-?\d+[.,]\d{2}$")
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"})


def normalise_token(text: str) -> str:
    """How a word or value token is compared: NFKC, casefolded, dashes unified, outer punctuation and
    currency signs removed."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES).casefold().strip(_STRIP)


@dataclass(frozen=True, slots=True)
class _Hit:
    """A run of consecutive words [start, end] on one page (index into `_WordIndex.pages`)."""

    page: int
    start: int
    end: int
    bbox: BBox


def _page_tokens(page: Page) -> list[tuple[str, Word]]:
    """(normalised token, word) in reading order; a word with spaces inside is split, its box shared
    out by character position."""
    tokens: list[tuple[str, Word]] = []
    for word in page.words():
        for m in re.finditer(r"\S+", word.text):
            norm = normalise_token(m[0])
            if norm:
                tokens.append((norm, _token_word(word, m.start(), m.end())))
    return tokens


def _token_word(word: Word, start: int, end: int) -> Word:
    if start == 0 and end == len(word.text):
        return word
    box, n = word.bbox, len(word.text)
    return Word(word.text[start:end], BBox(box.x0 + box.width * start / n, box.y0,
                                           box.x0 + box.width * end / n, box.y1), word.confidence)


class _WordIndex:
    """Every page's words as normalised tokens, indexed by their first one or two characters."""

    def __init__(self, layout: Layout) -> None:
        self.numbers: list[int] = []
        self.pages: list[list[tuple[str, Word]]] = []
        self.by_prefix: dict[str, list[tuple[int, int]]] = {}
        for page in layout.pages:
            tokens = _page_tokens(page)
            for i, (norm, _w) in enumerate(tokens):
                self.by_prefix.setdefault(norm[:2], []).append((len(self.pages), i))
            self.numbers.append(page.number)
            self.pages.append(tokens)

    def runs(self, tokens: list[str], *, concat: bool) -> list[_Hit]:
        """Runs of words that spell `tokens` (token by token, or as one concatenated string)."""
        target = "".join(tokens)
        if not target:
            return []
        starts = {pos for key in {target[:1], target[:2]} for pos in self.by_prefix.get(key, ())}
        hits = [hit for p, i in sorted(starts) if (hit := self._run_at(p, i, target, tokens, concat))]
        return hits

    def _run_at(self, p: int, i: int, target: str, tokens: list[str], concat: bool) -> _Hit | None:
        page = self.pages[p]
        acc, j = page[i][0], i
        while len(acc) < len(target) and target.startswith(acc) and j + 1 < len(page):
            j += 1
            acc += page[j][0]
        if acc != target:
            return None
        if not concat and [t for t, _w in page[i:j + 1]] != tokens:
            return None
        return _Hit(p, i, j, merge_bboxes(w.bbox for _t, w in page[i:j + 1]))

    def containing(self, token: str) -> list[_Hit]:
        """Single words that contain `token` between non-alphanumeric characters (e.g. 'IdNr.:DE123')."""
        pattern = re.compile(rf"(?<![0-9a-z]){re.escape(token)}(?![0-9a-z])")
        return [_Hit(p, i, i, w.bbox) for p, page in enumerate(self.pages)
                for i, (norm, w) in enumerate(page) if len(norm) > len(token) and pattern.search(norm)]

    def row(self, hit: _Hit) -> list[tuple[str, Word]]:
        """The words on the same printed row as `hit`, left to right."""
        row = [(t, w) for t, w in self.pages[hit.page] if w.bbox.y_overlap(hit.bbox) >= 0.5]
        return sorted(row, key=lambda tw: tw[1].bbox.x0)


def decimal_texts(value: Decimal) -> list[str]:
    """How an amount may be printed: 1234.5 -> 1.234,50 / 1,234.50 / 1234.50 / 1234,5 / ..., with or without
    a minus sign (the sign is compared loosely: a credit note's XML is positive, its print often negative)."""
    magnitude = abs(value)
    places = {p for p in range(7) if magnitude == magnitude.quantize(Decimal(1).scaleb(-p))}
    exponent = magnitude.as_tuple().exponent
    places.add(max(0, -exponent) if isinstance(exponent, int) else 0)
    texts: list[str] = []
    for p in sorted(places):
        whole, _, frac = format(magnitude.quantize(Decimal(1).scaleb(-p)), "f").partition(".")
        for group, point in NUMBER_STYLES:
            grouped = f"{int(whole):,}".replace(",", group) if group else whole
            texts.append(grouped + (point + frac if frac else ""))
    return list(dict.fromkeys(texts + [f"-{t}" for t in texts]))  # credit notes often print minus signs


def _date_texts(value: date) -> list[str]:
    d, m, y = value.day, value.month, value.year
    texts = [f"{d:02d}.{m:02d}.{y}", f"{d}.{m}.{y}", f"{d:02d}/{m:02d}/{y}", f"{m:02d}/{d:02d}/{y}",
             f"{y}-{m:02d}-{d:02d}", f"{d:02d}-{m:02d}-{y}", f"{d:02d}.{m:02d}.{y % 100:02d}",
             f"{y}/{m:02d}/{d:02d}", f"{y}.{m:02d}.{d:02d}", f"{y}年{m}月{d}日", f"{y}年{m:02d}月{d:02d}日"]
    for lang, months in MONTHS.items():
        name = months[m - 1]
        texts += [f"{d}. {name} {y}", f"{d:02d}. {name} {y}"] if lang == "de" else []
        texts += [f"{d} {name} {y}", f"{d:02d} {name} {y}"] + ([f"{name} {d}, {y}"] if lang == "en" else [])
    return list(dict.fromkeys(texts))


def _token_variants(value: FieldValue) -> list[list[str]]:
    if isinstance(value, Decimal):
        texts = decimal_texts(value)
    elif isinstance(value, date):
        texts = _date_texts(value)
    else:
        texts = [str(value)]
    variants = [[n for t in text.split() if (n := normalise_token(t))] for text in texts]
    return [v for v in variants if v]


def _hits_for(value: FieldValue, index: _WordIndex) -> list[_Hit]:
    """Every place the value is printed, in reading order."""
    if value is None or value == "":
        return []
    hits: list[_Hit] = []
    for tokens in _token_variants(value):
        target = "".join(tokens)
        concat = isinstance(value, str) and (len(target) >= 6 or bool(_CJK.search(target)))
        hits += index.runs(tokens, concat=concat)
    if not hits and isinstance(value, str):
        hits = _partial_hits(value, index)
    return sorted(set(hits), key=lambda h: (h.page, h.start, h.end))


def _partial_hits(value: str, index: _WordIndex) -> list[_Hit]:
    """Fallbacks for text: an id glued to its label ('IdNr.:DE123'), or the longest printed start of a
    multi-word value whose print is interrupted (a description wrapped around other columns)."""
    tokens = [n for t in value.split() if (n := normalise_token(t))]
    if len(tokens) == 1 and len(tokens[0]) >= 5:
        return index.containing(tokens[0])
    for k in range(len(tokens) - 1, max(2, (len(tokens) + 1) // 2) - 1, -1):
        hits = index.runs(tokens[:k], concat=False)
        if hits:
            return hits
    return []


def _address_hit(value: str, index: _WordIndex) -> _Hit | None:
    """An address joined from XML parts ('Street 1, 12345, City, DE'): its parts printed close together."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    first = _hits_for(parts[0], index) if len(parts) > 1 else []
    for anchor in first:
        near = [anchor]
        for part in parts[1:]:
            close = [h for h in _hits_for(part, index) if h.page == anchor.page
                     and abs(h.bbox.cy - anchor.bbox.cy) <= 4 * max(anchor.bbox.height, 1.0)]
            near += close[:1]
        if len(near) * 2 >= len(parts):
            return _Hit(anchor.page, anchor.start, anchor.end, merge_bboxes(h.bbox for h in near))
    return None


def _label_at(row: list[tuple[str, Word]], label: tuple[str, ...]) -> int | None:
    """Index in `row` just after the label's words, if the label is printed on the row."""
    tokens = [t for t, _w in row]
    for i in range(len(tokens) - len(label) + 1):
        if all(tokens[i + k].startswith(part) for k, part in enumerate(label)):
            return i + len(label)
    return None


def _has_label(index: _WordIndex, hit: _Hit, name: str) -> bool:
    row = index.row(hit)
    return any(_label_at(row, label) is not None for label in _PICK_LABELS.get(name, ()))


def _parse_printed_money(token: str) -> Decimal | None:
    """'1.234,56' / '1,234.56' / '-529,87' -> Decimal; only money-like text with two decimals."""
    if not _MONEY.match(token):
        return None
    whole, frac = token[:-3], token[-2:]
    return Decimal(re.sub(r"[.,' ]", "", whole) + "." + frac)


def _labelled_amounts(index: _WordIndex, label: tuple[str, ...]) -> Iterator[Decimal]:
    """The rightmost money amount on each row where `label` is printed (after the label)."""
    for p, page in enumerate(index.pages):
        for i, (token, word) in enumerate(page):
            if not token.startswith(label[0]):
                continue
            row = index.row(_Hit(p, i, i, word.bbox))
            end = _label_at(row, label)
            after = row[end:] if end is not None else []
            if not after or (label == ("total",) and not _starts_with_amount(after)):
                continue
            amounts = [a for t, _w in after if (a := _parse_printed_money(t)) is not None]
            if amounts:
                yield amounts[-1]


def _starts_with_amount(words: list[tuple[str, Word]]) -> bool:
    """A bare 'Total' label counts only when an amount (or a currency code) directly follows it."""
    return _parse_printed_money(words[0][0]) is not None or words[0][0] in _CURRENCY_WORDS


def _mismatch(name: str, value: Decimal, index: _WordIndex) -> Issue | None:
    """An issue when a label for `name` is printed next to an amount other than the XML value."""
    for label in _MISMATCH_LABELS.get(name, ()):
        for printed in _labelled_amounts(index, label):
            if abs(printed) != abs(value):
                message = (f"The embedded e-invoice data gives {name} = {format(value, 'f')}, but the "
                           f"printed document shows {format(printed, 'f')} next to '{' '.join(label)}'.")
                return Issue("embedded_data_mismatch", Severity.WARNING, message, field=name)
    return None


def _header_hit(name: str, value: FieldValue, index: _WordIndex) -> _Hit | None:
    hits = _without_percentages(value, _hits_for(value, index), index)
    if not hits:
        return _address_hit(value, index) if isinstance(value, str) and "," in value else None
    if name in _HEADER_AMOUNTS and len(hits) > 1:
        labelled = [h for h in hits if _has_label(index, h, name)]
        return (labelled or hits)[-1]
    return hits[0]


def _placed(field: Field, hit: _Hit | None, index: _WordIndex) -> Field:
    if hit is None:
        return field
    return replace(field, page=index.numbers[hit.page], bbox=hit.bbox)


_LINE_ANCHORS = ("description", "supplier_sku", "barcode", "buyer_sku")


def _line_value(key: str, field: Field) -> FieldValue:
    """The value as printed: rates as percentages (0.19 -> 19)."""
    if key == "tax_rate" and isinstance(field.value, Decimal):
        return (field.value * 100).normalize()
    return field.value


def _line_anchor(line: LineItem, index: _WordIndex, cursor: tuple[int, int]) -> tuple[str, _Hit] | None:
    """The line's most distinctive printed value, preferring one after the previous line's."""
    for key in _LINE_ANCHORS:
        field = line.fields.get(key)
        hits = _hits_for(field.value, index) if field is not None else []
        if hits:
            later = [h for h in hits if (h.page, h.start) > cursor]
            return key, (later or hits)[0]
    return None


def _nearest(hits: list[_Hit], anchor: _Hit, index: _WordIndex) -> _Hit | None:
    """The hit closest to the anchor's first word, on its row or up to a few rows below."""
    first = index.pages[anchor.page][anchor.start][1].bbox
    lh = max(first.height, 1.0)
    top, bottom = first.y0 - lh, anchor.bbox.y1 + 3 * lh
    near = [h for h in hits if h.page == anchor.page and top <= h.bbox.cy <= bottom]

    def distance(h: _Hit) -> tuple[float, float]:
        dy = abs(h.bbox.cy - first.cy)
        return (0.0 if dy <= lh / 2 else dy), abs(h.bbox.cx - first.cx)
    return min(near, key=distance, default=None)


def _line_hits(key: str, field: Field, index: _WordIndex) -> list[_Hit]:
    """Where a line value is printed; a rate printed with its '%' sign is preferred."""
    hits = _hits_for(_line_value(key, field), index)
    if key == "tax_rate":
        return [h for h in hits if _is_percent(h, index)] or hits
    return _without_percentages(field.value, hits, index)


def _is_percent(hit: _Hit, index: _WordIndex) -> bool:
    return "%" in index.pages[hit.page][hit.start][1].text


def _without_percentages(value: FieldValue, hits: list[_Hit], index: _WordIndex) -> list[_Hit]:
    """An amount or quantity is not the '6' of a printed '6%'."""
    if not isinstance(value, Decimal):
        return hits
    return [h for h in hits if not _is_percent(h, index)]


def _place_line(line: LineItem, anchor: tuple[str, _Hit] | None, index: _WordIndex) -> LineItem:
    fields: dict[str, Field] = {}
    for key, field in line.fields.items():
        hit = None
        if anchor is not None:
            hit = anchor[1] if key == anchor[0] else _nearest(_line_hits(key, field, index), anchor[1], index)
        fields[key] = _placed(field, hit, index)
    return replace(line, fields=fields)


def _locate_lines(lines: tuple[LineItem, ...], index: _WordIndex) -> tuple[LineItem, ...]:
    cursor, placed = (-1, -1), []
    for line in lines:
        anchor = _line_anchor(line, index, cursor)
        if anchor is not None:
            cursor = (anchor[1].page, anchor[1].start)
        placed.append(_place_line(line, anchor, index))
    return tuple(placed)


def locate_in_layout(extraction: Extraction, layout: Layout) -> Extraction:
    """Each field gets the page and box where its value is printed (None where it is not found); a header
    total printed differently next to its label adds an `embedded_data_mismatch` warning."""
    index = _WordIndex(layout)
    fields: dict[str, Field] = {}
    issues = list(extraction.issues)
    reported = {(i.code, i.field) for i in issues}
    for name, field in extraction.fields.items():
        hit = _header_hit(name, field.value, index)
        fields[name] = _placed(field, hit, index)
        if hit is None and isinstance(field.value, Decimal) and ("embedded_data_mismatch", name) not in reported:
            issue = _mismatch(name, field.value, index)
            issues += [issue] if issue else []
    lines = _locate_lines(extraction.lines, index)
    return replace(extraction, fields=fields, lines=lines, issues=tuple(issues))
