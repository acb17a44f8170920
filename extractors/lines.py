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
from dataclasses import dataclass, field, replace
from decimal import Decimal

from extractors.layout import BBox, Layout, Page, Word, merge_bboxes
from extractors.parsing import Conventions
from extractors.result import Field, LineItem
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
_QPA = ("qty", "price", "amount")


@dataclass(slots=True)
class _RowInfo:
    """One table row read against the columns."""

    row: Row
    values: dict[str, Token] = field(default_factory=dict)     # numeric role -> token
    texts: dict[int, list[Word]] = field(default_factory=dict)  # column index -> text words
    codes: list[Token] = field(default_factory=list)           # GTIN-valid digit strings
    rows: list[Row] = field(default_factory=list)              # the rows merged into this one
    full: tuple[Word, ...] = ()                                # all the row's words, table span or not
    word_row: dict[int, int] = field(default_factory=dict)     # id(text word) -> index into rows

    @property
    def numeric_roles(self) -> set[str]:
        return set(self.values)

    @property
    def is_anchor(self) -> bool:
        qpa = self.numeric_roles & set(_QPA)
        return len(qpa) >= 2 or ("amount" in qpa and "tax" in self.values)


@dataclass(slots=True)
class _Block:
    """An item: its anchor rows (values) and the rows that follow it."""

    anchor: list[_RowInfo]
    rest: list[_RowInfo]
    header: Header
    page: int


def extract_lines(layout: Layout, conv: Conventions, *, language: str) -> list[LineItem]:
    """Line items of the document's item table(s), in print order, line_no from 1."""
    blocks: list[_Block] = []
    header: Header | None = None
    for page in layout.pages:
        header = _read_page(page, header, conv, blocks)
    items = _credit_note_signs([f for f in (_build_item(b, conv) for b in blocks) if f])
    return [LineItem(n, fields) for n, fields in enumerate(items, start=1)]


def _credit_note_signs(items: list[dict[str, Field]]) -> list[dict[str, Field]]:
    """A credit note printed with every line amount negative: report the amounts as positive."""
    amounts = [f["amount"].value for f in items if "amount" in f]
    if not amounts or any(a > 0 for a in amounts) or not any(a < 0 for a in amounts):
        return items
    out = []
    for f in items:
        f = dict(f)
        for name in ("amount", "quantity", "unit_price"):
            if name in f and isinstance(f[name].value, Decimal) and f[name].value < 0:
                f[name] = replace(f[name], value=-f[name].value)
        out.append(f)
    return out


def _read_page(page: Page, header: Header | None, conv: Conventions, blocks: list[_Block]) -> Header | None:
    """Read the item rows of one page; returns the header still open at the page's end (or None)."""
    rows = page_rows(page)
    start = 0
    found = find_header(rows, 0)
    if found is not None:
        header, end = found
        start = end + 1
    while header is not None and start < len(rows):
        stop = _scan(rows[start:], header, page, conv, blocks)
        if stop is None:
            return header
        header = None
        found = find_header(rows, start + stop + 1)
        if found is not None:
            header, end = found
            start = end + 1
    return header


def _scan(rows: list[Row], header: Header, page: Page, conv: Conventions, blocks: list[_Block]) -> int | None:
    """Append the items of `rows` to `blocks`; return the index of the row that ended the table, if any."""
    current: _Block | None = None
    infos = [(i, info) for i, row in enumerate(rows) if (info := _read_row(row, header, page, conv))]
    for i, info in _merge_companions(infos, header):
        kind = _row_kind(info, header)
        if kind in ("stop", "header"):
            return i
        if kind == "soft":
            current = None
        elif kind == "anchor":
            current = _Block([info], [], header, page.number)
            blocks.append(current)
        elif current is not None:
            current.rest.append(info)
    return None


def _merge_companions(infos: list[tuple[int, _RowInfo]], header: Header) -> list[tuple[int, _RowInfo]]:
    """Join a row to the row above when it only fills that row's empty numeric columns
    (an amount printed half a line lower than the quantity and price)."""
    out: list[tuple[int, _RowInfo]] = []
    for i, info in infos:
        if out and _companion(out[-1][1], info, header):
            prev = out[-1][1]
            values = {**info.values, **prev.values}
            texts = {k: prev.texts.get(k, []) + info.texts.get(k, []) for k in {*prev.texts, *info.texts}}
            word_row = {**prev.word_row, **{k: v + len(prev.rows) for k, v in info.word_row.items()}}
            merged = _RowInfo(prev.row, values, texts, prev.codes + info.codes, prev.rows + info.rows,
                              prev.full, word_row)
            out[-1] = (out[-1][0], merged)
        else:
            out.append((i, info))
    return out


def _row_kind(info: _RowInfo, header: Header) -> str:
    first = norm_word(info.full[0].text) if info.full else ""
    consistent = _arithmetic_ok(info.values) is True
    money = any(_MONEY_RE.search(w.text) for w in info.full)
    if not consistent and (first in _TITLE_STOP or (first in _HARD_STOP and money)):
        return "stop"
    if first in _SOFT_STOP and not consistent:
        return "soft"
    if info.is_anchor:
        return "anchor"
    if info.values:
        return "other"
    cells = segment_row(info.row, 0)
    if header_candidate(cells):
        return "header"
    if len({c.role for c in cells if c.role}) >= 3 and not has_numbers(info.row):
        return "stop"   # the title row of another table (tax summary, totals)
    return "other"


def _companion(anchor: _RowInfo, info: _RowInfo, header: Header) -> bool:
    """A row just under another that only fills the other's empty numeric columns."""
    if not info.values or not anchor.values or (anchor.is_anchor and info.is_anchor):
        return False
    if row_gap(anchor.rows[-1].bbox, info.row.bbox) > 0.6 * header.line_height:
        return False
    return not (info.numeric_roles & anchor.numeric_roles)


def _read_row(row: Row, header: Header, page: Page, conv: Conventions) -> _RowInfo | None:
    """Tokens of a row put under the header's columns; None when no word lies in the table's span."""
    h = header.line_height
    left, right = header.bbox.x0 - 1.5 * h, header.bbox.x1 + 3 * h
    if not header.columns[0].numeric and header.columns[0].role != "pos":
        left = header.bbox.x0 - 0.25 * page.width   # left-aligned text may start left of its title
    words = tuple(w for w in row.words if left <= w.bbox.cx <= right)
    if not words:
        return None
    info = _RowInfo(Row(words), rows=[Row(words)], full=row.words)
    cols = header.columns
    last: tuple[int, BBox] | None = None   # column and box of the text word before
    for tok in row_tokens(words, decimal_comma=conv.decimal_comma):
        if tok.kind == "code":
            info.codes.append(tok)
        elif tok.kind in ("num", "pct"):
            _place_number(info, tok, cols)
        else:
            i = text_column(tok.bbox, cols)
            if last is not None and tok.bbox.x0 - last[1].x1 < 0.8 * h and i != last[0]:
                starts_other = i is not None and not cols[i].numeric and tok.bbox.x0 >= cols[i].x0 - 2
                i = i if starts_other else last[0]   # a word run stays in the column it started in
            if i is not None:
                _add_text(info, i, tok)
                last = (i, tok.bbox)
    return info


def _place_number(info: _RowInfo, tok: Token, cols: tuple[Column, ...]) -> None:
    i = assign_column(tok, cols)
    if tok.kind == "pct":
        i = _percent_column(tok, cols, i)
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


def _place_text(info: _RowInfo, tok: Token, cols: tuple[Column, ...]) -> None:
    i = text_column(tok.bbox, cols)
    if i is not None:
        _add_text(info, i, tok)


def _add_text(info: _RowInfo, col: int, tok: Token) -> None:
    word = Word(tok.text, tok.bbox)
    info.texts.setdefault(col, []).append(word)
    info.word_row[id(word)] = 0


# ---------------------------------------------------------------------------------------------- items

def _build_item(block: _Block, conv: Conventions) -> dict[str, Field] | None:
    values: dict[str, Token] = {}
    for info in block.anchor:
        for role, tok in info.values.items():
            values.setdefault(role, tok)
    ok = _arithmetic_ok(values)
    conf = 0.9 if ok else (0.6 if ok is None else 0.45)
    page = block.page
    fields: dict[str, Field] = {}
    for role, name in (("qty", "quantity"), ("price", "unit_price"), ("amount", "amount"),
                       ("tax", "tax_rate"), ("tax_amount", "tax_amount")):
        tok = values.get(role)
        if tok is not None and tok.value is not None:
            c = conf if role in _QPA else 0.8
            fields[name] = Field(tok.value, tok.text, c, page, tok.bbox)
    unit = _unit(block)
    if unit is not None:
        fields["unit"] = unit
    fields.update(_text_fields(block))
    if "amount" not in fields and "amount" in block.header.roles:
        return None
    return fields if set(fields) & {"quantity", "unit_price", "amount"} else None


def _arithmetic_ok(values: dict[str, Token]) -> bool | None:
    """quantity x unit price == amount (less a printed discount); None when a value is missing."""
    q, p, a = (values.get(r) for r in _QPA)
    if q is None or p is None or a is None or None in (q.value, p.value, a.value):
        return None
    tol = max(Decimal("0.011"), abs(a.value) * Decimal("0.005"))
    gross = q.value * p.value
    if abs(abs(gross) - abs(a.value)) <= tol:
        return True
    disc = values.get("discount")
    if disc is not None and disc.value is not None:
        rate = disc.value if disc.kind == "pct" else disc.value / 100
        return abs(abs(gross * (1 - rate)) - abs(a.value)) <= tol
    return False


def _unit(block: _Block) -> Field | None:
    """Unit words printed after the quantity (or under a unit column) on the anchor rows."""
    cols = block.header.columns
    for info in block.anchor:
        qty = info.values.get("qty")
        for i, words in info.texts.items():
            role = cols[i].role
            if role == "unit" or (role == "qty" and qty is not None):
                words = [w for w in words if qty is None or w.bbox.x0 >= qty.bbox.x1 - 1]
                if words and len(words) <= 2:
                    raw = " ".join(w.text for w in words)
                    return Field(raw, raw, 0.7, block.page, merge_bboxes(w.bbox for w in words))
    return None


# ------------------------------------------------------------------------------------- text fields

_SKU_RE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9\-_/.]{1,24}$|^[A-Z][A-Z0-9\-_/]{2,24}$")
_LABEL_RE = re.compile(r"^[^:]{1,30}:\s*\S")
_BRACKET_SKU_RE = re.compile(r"^\[([^\]\s]{2,30})\]\s*")
_STAR_CODE_RE = re.compile(r"^\*(\d{4,14})\*\s*")


def _text_fields(block: _Block) -> dict[str, Field]:
    """Description, supplier SKU and barcode from the item's rows."""
    cols = block.header.columns
    h = block.header.line_height
    rows = sorted(block.anchor + block.rest, key=lambda r: r.row.bbox.y0)
    near = [r for r in rows if r.row.bbox.y0 <= block.anchor[0].row.bbox.y0 + 4.5 * h]
    out: dict[str, Field] = {}
    desc = _description(rows, cols, h, block.anchor[0].row.bbox.y0)
    if desc:
        text = " ".join(w.text for w in desc).strip()
        m = _BRACKET_SKU_RE.match(text)
        if m:
            out["supplier_sku"] = Field(m.group(1), m.group(0).strip(), 0.7, block.page, desc[0].bbox)
            text = text[m.end():]
        m = _STAR_CODE_RE.match(text)
        if m:
            out["barcode"] = Field(m.group(1), m.group(0).strip(), 0.6, block.page, desc[0].bbox)
            text = text[m.end():]
        text = text.rstrip(" :")
        if text:
            out["description"] = Field(text, " ".join(w.text for w in desc), 0.7, block.page,
                                       merge_bboxes(w.bbox for w in desc))
    sku = _sku(near, cols)
    if sku is not None and "supplier_sku" not in out:
        out["supplier_sku"] = Field(sku[0], sku[0], 0.7, block.page, sku[1])
    spec = [w for r in block.anchor for i, ws in r.texts.items() if cols[i].role == "spec" for w in ws]
    if spec:
        raw = " ".join(w.text for w in spec)
        out["spec"] = Field(raw, raw, 0.6, block.page, merge_bboxes(w.bbox for w in spec))
    code = next((t for r in near for t in r.codes), None)
    if code is not None and "barcode" not in out:
        out["barcode"] = Field(code.text, code.text, 0.85, block.page, code.bbox)
    return out


def _desc_words(info: _RowInfo, k: int, cols: tuple[Column, ...]) -> list[Word]:
    """The description-column words of the info's k-th row."""
    words: list[Word] = []
    for i, ws in sorted(info.texts.items()):
        col = cols[i]
        ws = [w for w in ws if info.word_row.get(id(w)) == k]
        if col.role != "desc" and "desc" not in col.roles:
            continue
        if "sku" in col.roles and len(ws) == 1 and _SKU_RE.match(ws[0].text):
            continue
        words.extend(ws)
    return sorted(words, key=lambda w: w.bbox.x0)


def _description(rows: list[_RowInfo], cols: tuple[Column, ...], h: float, top: float) -> list[Word]:
    """The first description text of the item and the lines it wraps onto."""
    out: list[Word] = []
    prev: BBox | None = None
    for info, k, row in ((info, k, row) for info in rows for k, row in enumerate(info.rows)):
        words = _desc_words(info, k, cols)
        if not out:
            if words and row.bbox.y0 <= top + 2.5 * h:
                out, prev = words, merge_bboxes(w.bbox for w in words)
            continue
        if not words:
            continue
        box = merge_bboxes(w.bbox for w in words)
        text = " ".join(w.text for w in info.full if w.bbox.x1 > box.x0 and w.bbox.y0 >= row.bbox.y0 - 1
                        and w.bbox.y1 <= row.bbox.y1 + 1)
        if (row_gap(prev, box) > 0.6 * h or _LABEL_RE.match(text) or text.startswith("*")
                or box.width > prev.width + h or (info.values and row is info.rows[0])):
            break
        out, prev = out + words, box
    return out


def _sku(rows: list[_RowInfo], cols: tuple[Column, ...]) -> tuple[str, BBox] | None:
    """The supplier's article number: under an article-number column, below/after a buyer's one."""
    for i, col in enumerate(cols):
        if "sku" not in col.roles:
            continue
        cands: list[tuple[str, BBox]] = []
        for info, k in ((info, k) for info in rows for k in range(len(info.rows))):
            ws = [w for w in info.texts.get(i, []) if info.word_row.get(id(w)) == k]
            text = " ".join(w.text for w in ws)
            if not ws or text.startswith("(") or (col.role == "desc" and not (len(ws) == 1 and _SKU_RE.match(text))):
                continue
            cands.append((text, merge_bboxes(w.bbox for w in ws)))
        if not cands:
            continue
        buyer_first = "buyer_sku" in col.roles and col.roles.index("buyer_sku") < col.roles.index("sku")
        return cands[1] if buyer_first and len(cands) > 1 else cands[0]
    return None
