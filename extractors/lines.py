"""Template-free line items from word geometry.

`extract_lines(layout, conv, language=...)` finds the item table by its title row (see
`extractors.table`), takes column x-ranges from the title words and reads the rows under it:

- an item starts at an *anchor* row: one with values under at least two of quantity / unit price /
  amount (or amount and tax rate); a row just under it that only fills the anchor's missing columns
  (an amount printed half a line lower) joins it;
- the rows after an anchor, up to the next anchor, belong to that item: a wrapped description, a GTIN
  or article number on the line below, notes (notes are not read into fields);
- total, subtotal, tax-summary and payment rows end the table (subtotals and carry-overs only end the
  item before them); a table that runs on over a page break continues with the next page's repeated
  title row, or with the old columns where the title is not repeated.

Quantity x unit price ~ amount (with a printed discount where there is one) raises confidence.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from extractors.layout import BBox, Layout, Page, Word
from extractors.parsing import Conventions, parse_amount
from extractors.result import Field, LineItem
from extractors.columns import refine_roles, snap_to_rules
from extractors.line_fields import Block, RowInfo, arithmetic_ok, build_item
from extractors.table import (Column, Header, Row, Token, assign_column, find_header, has_numbers,
                              header_candidate, norm_word, page_rows, row_gap, row_tokens, segment_row,
                              text_column)

_HARD_STOP = frozenset({
    "total", "totals", "totaal", "totale", "gesamt", "gesamtbetrag", "gesamtsumme", "summe", "endbetrag",
    "rechnungsbetrag", "rechnungssumme", "nettobetrag", "nettosumme", "positionssumme", "warenwert",
    "zahlbetrag", "bruttosumme", "umsatzsteueraufschlüsselung", "steueraufschlüsselung", "belegsummen",
    "zahlungsbedingungen", "zuzüglich", "zzgl", "tax", "vat", "mwst", "ust", "taxe", "tva", "btw",
    "exclusief", "montant", "razem", "suma", "合计", "总计", "价税合计", "net", "amount", "balance",
    "grand", "invoice", "payment", "paiement", "betalingsvoorwaarden", "zahlbar",
})
_SOFT_STOP = frozenset({
    "subtotal", "sub-total", "zwischensumme", "übertrag", "uebertrag", "sous-total", "report", "subtotaal",
    "abschlag", "zuschlag", "carried", "carry", "transport", "小计",
})
_TITLE_STOP = frozenset({
    "umsatzsteueraufschlüsselung", "steueraufschlüsselung", "belegsummen", "zahlungsbedingungen",
    "betalingsvoorwaarden", "récapitulatif", "recapitulatif", "zahlbar",
})
_MONEY_RE = re.compile(r"\d[.,]\d\d(?!\d)(?!\s?%)")



def extract_lines(layout: Layout, conv: Conventions, *, language: str) -> list[LineItem]:
    """Line items of the document's item table(s), in print order, line_no from 1."""
    blocks: list[Block] = []
    header: Header | None = None
    for page in layout.pages:
        header = _read_page(page, header, conv, blocks)
    _refine_headers(blocks)
    items = _credit_note_signs([f for f in (build_item(b, conv) for b in blocks) if f])
    return [LineItem(n, fields) for n, fields in enumerate(items, start=1)]


def _refine_headers(blocks: list[Block]) -> None:
    """Each table's column roles checked against its cells (`columns.refine_roles`)."""
    tables: dict[int, list[Block]] = {}
    for b in blocks:
        tables.setdefault(id(b.header), []).append(b)
    for table in tables.values():
        header = refine_roles(table[0].header, [b.anchor[0] for b in table])
        for b in table:
            b.header = header


def _credit_note_signs(items: list[dict[str, Field]]) -> list[dict[str, Field]]:
    """A credit note that prints every line amount negative beside positive quantities and prices: the
    minus marks the credit, the amounts are reported positive.  Where the quantity carries the minus too
    (-2 x 5.00 = -10.00) the signs are the arithmetic's and stay as printed."""
    amounts = [f["amount"].value for f in items if "amount" in f]
    if not amounts or any(a > 0 for a in amounts) or not any(a < 0 for a in amounts):
        return items
    if any(isinstance(f[n].value, Decimal) and f[n].value < 0 for f in items for n in ("quantity", "unit_price")
           if n in f):
        return items
    return [{**f, "amount": replace(f["amount"], value=-f["amount"].value)} if "amount" in f else f for f in items]


def _read_page(page: Page, header: Header | None, conv: Conventions, blocks: list[Block]) -> Header | None:
    """Read the item rows of one page; returns the header still open at the page's end (or None)."""
    rows = page_rows(page)
    start = 0
    found = _item_header(rows, 0, blocks, page.rules)
    if found is not None:
        header, end = found
        start = end + 1
    while header is not None and start < len(rows):
        stop = _scan(rows[start:], header, page, conv, blocks)
        if stop is None:
            return header
        header = None
        found = _item_header(rows, start + stop + 1, blocks, page.rules)
        if found is not None:
            header, end = found
            start = end + 1
    return header


def _item_header(rows: list[Row], start: int, blocks: list[Block],
                 rules: tuple[BBox, ...]) -> tuple[Header, int] | None:
    """The next item-table header at or after rows[start], its columns widened to their ruled cells where
    the page rules its table.  Once items with prices were read, a table without price or amount columns
    is a listing inside them (a bundle's parts), not more items."""
    priced = any(b.header.roles & {"price", "amount"} for b in blocks)
    while (found := find_header(rows, start)) is not None:
        if not priced or found[0].roles & {"price", "amount"}:
            return snap_to_rules(found[0], rules), found[1]
        start = found[1] + 1
    return None


def _scan(rows: list[Row], header: Header, page: Page, conv: Conventions, blocks: list[Block]) -> int | None:
    """Append the items of `rows` to `blocks`; return the index of the row that ended the table, if any."""
    current: Block | None = None
    pending: list[RowInfo] = []   # text rows since the last anchor: a wrap of it, or the next item's title
    infos = [(i, info) for i, row in enumerate(rows) if (info := _read_row(row, header, page, conv))]
    for i, info in _merge_companions(infos, header):
        kind = _row_kind(info, header)
        if kind in ("stop", "header"):
            return i
        if kind == "soft":
            current, pending = None, []
        elif kind == "anchor":
            lead = _leading_description(pending, info, header)
            if current is not None and lead:
                current.rest[:] = [r for r in current.rest if all(r is not x for x in lead)]
            current = Block([info], lead, header, page.number)
            blocks.append(current)
            pending = []
        else:
            pending.append(info)
            if current is not None:
                current.rest.append(info)
    return None


def _leading_description(pending: list[RowInfo], anchor: RowInfo, header: Header) -> list[RowInfo]:
    """The description rows printed just above an anchor that has none of its own ('Lever arch file'
    over '4.00  3.16  12.64'): text-only rows under the description column, the last one close above."""
    cols = header.columns
    if any(cols[i].role == "desc" or "desc" in cols[i].roles for i, ws in anchor.texts.items() if ws):
        return []
    lead: list[RowInfo] = []
    below = anchor.row.bbox
    for info in reversed(pending):
        if info.values or not any(cols[i].role == "desc" for i, ws in info.texts.items() if ws):
            break
        if row_gap(info.rows[-1].bbox, below) > 0.6 * header.line_height:
            break
        lead.insert(0, info)
        below = info.row.bbox
    return lead


def _merge_companions(infos: list[tuple[int, RowInfo]], header: Header) -> list[tuple[int, RowInfo]]:
    """Join a row to the row above when it only fills that row's empty numeric columns
    (an amount printed half a line lower than the quantity and price)."""
    out: list[tuple[int, RowInfo]] = []
    for i, info in infos:
        if out and _companion(out[-1][1], info, header):
            prev = out[-1][1]
            values = {**info.values, **prev.values}
            texts = {k: prev.texts.get(k, []) + info.texts.get(k, []) for k in {*prev.texts, *info.texts}}
            word_row = {**prev.word_row, **{k: v + len(prev.rows) for k, v in info.word_row.items()}}
            merged = RowInfo(prev.row, values, texts, prev.codes + info.codes, prev.rows + info.rows,
                              prev.full, word_row)
            out[-1] = (out[-1][0], merged)
        else:
            out.append((i, info))
    return out


def _row_kind(info: RowInfo, header: Header) -> str:
    first = norm_word(info.full[0].text) if info.full else ""
    consistent = arithmetic_ok(info.values) is True
    money = any(_MONEY_RE.search(w.text) for w in info.full)
    counts_only = not header.roles & {"price", "amount"}   # 'Total 214' under a delivery note's quantities
    if not consistent and (first in _TITLE_STOP or (first in _HARD_STOP and (money or counts_only))):
        return "stop"
    if first in _SOFT_STOP and not consistent:
        return "soft"
    if info.is_anchor or _count_only_item(info, header):
        return "anchor"
    if info.values:
        return "other"
    cells = segment_row(info.row, 0)
    if header_candidate(cells):
        return "header"
    if len({c.role for c in cells if c.role}) >= 3 and not has_numbers(info.row):
        return "stop"   # the title row of another table (tax summary, totals)
    return "other"


def _count_only_item(info: RowInfo, header: Header) -> bool:
    """In a table without price and amount columns (delivery notes, packing lists) an item row is one
    with a quantity and item text (description or article number) beside it."""
    if "qty" not in info.values or header.roles & {"price", "amount"}:
        return False
    roles = {header.columns[i].role for i, ws in info.texts.items() if ws}
    return bool(roles & {"desc", "sku", "barcode"}) or bool(info.codes)


def _companion(anchor: RowInfo, info: RowInfo, header: Header) -> bool:
    """A row just under another that only fills the other's empty numeric columns."""
    if not info.values or not anchor.values or (anchor.is_anchor and info.is_anchor):
        return False
    if row_gap(anchor.rows[-1].bbox, info.row.bbox) > 0.6 * header.line_height:
        return False
    return not (info.numeric_roles & anchor.numeric_roles)


def _read_row(row: Row, header: Header, page: Page, conv: Conventions) -> RowInfo | None:
    """Tokens of a row put under the header's columns; None when no word lies in the table's span."""
    h = header.line_height
    left, right = header.bbox.x0 - 1.5 * h, header.bbox.x1 + 3 * h
    if not header.columns[0].numeric and header.columns[0].role != "pos":
        left = header.bbox.x0 - 0.25 * page.width   # left-aligned text may start left of its title
    words = tuple(w for w in row.words if left <= w.bbox.cx <= right)
    if not words:
        return None
    info = RowInfo(Row(words), rows=[Row(words)], full=row.words)
    cols = header.columns
    last: tuple[int, BBox] | None = None   # column and box of the text word before
    for tok in row_tokens(words, decimal_comma=conv.decimal_comma):
        if tok.kind == "code":
            info.codes.append(tok)
        elif tok.kind in ("num", "pct"):
            _place_number(info, tok, cols)
        elif (glued := _glued_count(tok, cols, conv)) is not None:
            _place_number(info, glued[0], cols)   # OCR read '10 Stk' as '10Stk'
            _place_text(info, glued[1], cols)
            last = None
        else:
            i = text_column(tok.bbox, cols)
            if last is not None and tok.bbox.x0 - last[1].x1 < 0.8 * h and i != last[0]:
                starts_other = i is not None and not cols[i].numeric and tok.bbox.x0 >= cols[i].x0 - max(2.0, 0.3 * h)
                i = i if starts_other else last[0]   # a word run stays in the column it started in
            if i is not None:
                _add_text(info, i, tok)
                last = (i, tok.bbox)
    return info


_GLUED = re.compile(r"^(\d{1,5}(?:[.,]\d{1,3})?)([^\W\d_]{1,5}\.?)$")


def _glued_count(tok: Token, cols: tuple[Column, ...], conv: Conventions) -> tuple[Token, Token] | None:
    """'10Stk' under the quantity or unit column: the count and its unit run together, split in two."""
    m = _GLUED.match(tok.text)
    if m is None:
        return None
    i = text_column(tok.bbox, cols)
    if i is None or cols[i].role not in ("qty", "unit") or not any(c.role == "qty" for c in cols):
        return None
    value = parse_amount(m.group(1), decimal_comma=conv.decimal_comma)
    if value is None:
        return None
    b, cut = tok.bbox, len(m.group(1)) / len(tok.text)
    x = b.x0 + cut * b.width
    return (Token("num", m.group(1), BBox(b.x0, b.y0, x, b.y1), value),
            Token("text", m.group(2), BBox(x, b.y0, b.x1, b.y1)))


def _place_number(info: RowInfo, tok: Token, cols: tuple[Column, ...]) -> None:
    i = assign_column(tok, cols)
    if tok.kind == "pct":
        i = _percent_column(tok, cols, i)
    if _count_under_unit(tok, cols, i):
        info.values.setdefault("qty", tok)   # 'Units' over '3 pcs' or over '3': the count of a table with no quantity title
        return
    if i is None or not cols[i].numeric:
        _place_text(info, tok, cols)
        return
    role = cols[i].role
    if role == "tax" and tok.kind == "num":
        tok = _as_rate(tok, cols[i])
        if tok is None:
            return
    if role in ("qty", "price", "amount") and tok.kind == "pct":
        _place_text(info, tok, cols)
        return
    info.values.setdefault(role, tok)


def _count_under_unit(tok: Token, cols: tuple[Column, ...], i: int | None) -> bool:
    """A number under (or, unplaced, nearest to) the unit column of a table with no quantity column."""
    if tok.kind != "num" or tok.value is None or tok.value <= 0 or any(c.role == "qty" for c in cols):
        return False
    if i is None:
        h = max(tok.bbox.height, 1.0)
        near = [(max(c.x0 - tok.bbox.x1, tok.bbox.x0 - c.x1, 0.0), j) for j, c in enumerate(cols)]
        d, i = min(near)
        if d > 3 * h:
            return False
    return cols[i].role == "unit"


def _percent_column(tok: Token, cols: tuple[Column, ...], i: int | None) -> int | None:
    """A percentage goes under the tax (or discount) column nearest to it."""
    if i is not None and cols[i].role in ("tax", "discount"):
        return i
    cands = [j for j, c in enumerate(cols) if c.role in ("tax", "discount")]
    if not cands:
        return i
    return min(cands, key=lambda j: abs((cols[j].x0 + cols[j].x1) / 2 - tok.bbox.cx))


def _as_rate(tok: Token, col: Column) -> Token | None:
    """A bare number under a tax column: a percentage when it can be one (0..30)."""
    value = tok.value
    if value is None or not Decimal(0) <= value <= Decimal(30):
        return None
    return Token("pct", tok.text, tok.bbox, (value / 100).normalize())


def _place_text(info: RowInfo, tok: Token, cols: tuple[Column, ...]) -> None:
    i = text_column(tok.bbox, cols)
    if i is not None:
        _add_text(info, i, tok)


def _add_text(info: RowInfo, col: int, tok: Token) -> None:
    word = Word(tok.text, tok.bbox)
    info.texts.setdefault(col, []).append(word)
    info.word_row[id(word)] = 0


