"""One item of a table read by `lines`: its rows, and the fields built from them.

`RowInfo` is a visual row read against the header's columns (numbers by role, text words by column),
`Block` an item: the anchor row(s) with its values and the rows that follow it (wrapped description,
codes, notes).  `build_item` turns a block into the item's fields: quantity, price, amount and rates
from the anchor, description from the text column and the lines it wraps onto, article number,
barcode, unit, spec, batch and dates from their columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from extractors.layout import BBox, Word, merge_bboxes
from extractors.parsing import Conventions, find_dates
from extractors.result import Field
from extractors.table import Column, Header, Row, Token, row_gap

QPA = ("qty", "price", "amount")

@dataclass(slots=True)
class RowInfo:
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
        qpa = self.numeric_roles & set(QPA)
        return len(qpa) >= 2 or ("amount" in qpa and "tax" in self.values)


@dataclass(slots=True)
class Block:
    """An item: its anchor rows (values) and the rows that follow it."""

    anchor: list[RowInfo]
    rest: list[RowInfo]
    header: Header
    page: int


def build_item(block: Block, conv: Conventions) -> dict[str, Field] | None:
    values: dict[str, Token] = {}
    for info in block.anchor:
        for role, tok in info.values.items():
            values.setdefault(role, tok)
    ok = arithmetic_ok(values)
    conf = 0.9 if ok else (0.6 if ok is None else 0.45)
    page = block.page
    fields: dict[str, Field] = {}
    for role, name in (("qty", "quantity"), ("price", "unit_price"), ("amount", "amount"),
                       ("tax", "tax_rate"), ("tax_amount", "tax_amount")):
        tok = values.get(role)
        if tok is not None and tok.value is not None:
            c = conf if role in QPA else 0.8
            fields[name] = Field(tok.value, tok.text, c, page, tok.bbox)
    unit = _unit(block)
    if unit is not None:
        fields["unit"] = unit
    fields.update(_text_fields(block))
    fields.update(_coded_fields(block, conv))
    if "amount" not in fields and "amount" in block.header.roles:
        return None
    return fields if set(fields) & {"quantity", "unit_price", "amount"} else None


def arithmetic_ok(values: dict[str, Token]) -> bool | None:
    """quantity x unit price == amount (less a printed discount); None when a value is missing."""
    q, p, a = (values.get(r) for r in QPA)
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


def _unit(block: Block) -> Field | None:
    """Unit words printed after the quantity (or under a unit column) on the anchor rows."""
    cols = block.header.columns
    for info in block.anchor:
        qty = info.values.get("qty")
        for i, words in info.texts.items():
            role = cols[i].role
            if role == "unit" or (role == "qty" and qty is not None):
                if role == "qty":   # '20 Stk' under the quantity title: the words after the number
                    words = [w for w in words if w.bbox.x0 >= qty.bbox.x1 - 1]
                words = [w for w in words if not _NOT_UNIT.match(w.text)]   # a date or number beside it
                if words and len(words) <= 2:
                    raw = " ".join(w.text for w in words)
                    return Field(raw, raw, 0.7, block.page, merge_bboxes(w.bbox for w in words))
    return None


def _role_words(block: Block, role: str) -> list[Word]:
    """The anchor rows' words under the columns of `role`, left to right."""
    cols = block.header.columns
    words = [w for info in block.anchor for i, ws in info.texts.items() if cols[i].role == role for w in ws]
    return sorted(words, key=lambda w: (w.bbox.y0, w.bbox.x0))


_DATE_WORD = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{2,4}$")
_NOT_UNIT = re.compile(r"^[-+(]?\d[\d.,/-]*\)?%?$")


def _coded_fields(block: Block, conv: Conventions) -> dict[str, Field]:
    """Batch number and production / expiry dates, each from its own column: a batch is the code as
    printed, a date column's cell must read as a date."""
    out: dict[str, Field] = {}
    batch = [w for w in _role_words(block, "batch") if not _DATE_WORD.match(w.text)]
    if batch and len(batch) <= 3:
        raw = " ".join(w.text for w in batch)
        out["batch_no"] = Field(raw, raw, 0.7, block.page, merge_bboxes(w.bbox for w in batch))
    for role, name in (("production", "production_date"), ("expiry", "expiry_date")):
        words = _role_words(block, role)
        raw = " ".join(w.text for w in words)
        found = find_dates(raw, dayfirst=conv.dayfirst) if words else []
        if found:
            box = merge_bboxes(w.bbox for w in words)
            out[name] = Field(found[0].value, raw[found[0].start:found[0].end], 0.7, block.page, box)
    for word, name in _titled_dates(block, conv):
        if name not in out:
            found = find_dates(word.text, dayfirst=conv.dayfirst)
            out[name] = Field(found[0].value, word.text, 0.65, block.page, word.bbox)
    return out


_PRODUCED = re.compile(r"(?i)fabri|prod|herstell|mfg|manufact|verpakt|packed|gepackt|emball")
_EXPIRES = re.compile(r"(?i)limite|exp|mhd|dluo|dlc|ddm|tht|houdbaar|verval|haltbar|best|use by|consom|verfall|ablauf")


def _titled_dates(block: Block, conv: Conventions) -> list[tuple[Word, str]]:
    """Dates in the item's row read by the title words printed over them ('Date / de fabrication',
    'Verpakt op', 'Date limite'), whichever column the titles were grouped into."""
    out = []
    for info in block.anchor:
        for w in (w for ws in info.texts.values() for w in ws):
            found = find_dates(w.text, dayfirst=conv.dayfirst)
            if not found or found[0].end - found[0].start < len(w.text) - 1:
                continue
            over = " ".join(t.text for t in block.header.titles if t.bbox.x0 < w.bbox.x1 + 2 and t.bbox.x1 > w.bbox.x0 - 2)
            name = ("expiry_date" if _EXPIRES.search(over) else "production_date" if _PRODUCED.search(over)
                    else None)
            if name:
                out.append((w, name))
    return out


# ------------------------------------------------------------------------------------- text fields

_SKU_RE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9\-_/.]{1,24}$|^[A-Z][A-Z0-9\-_/]{2,24}$")
_LABEL_RE = re.compile(r"^[^:]{1,30}:\s*\S")
_BRACKET_SKU_RE = re.compile(r"^\[([^\]\s]{2,30})\]\s*")
_STAR_CODE_RE = re.compile(r"^\*(\d{4,14})\*\s*")


def _text_fields(block: Block) -> dict[str, Field]:
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


def _desc_words(info: RowInfo, k: int, cols: tuple[Column, ...]) -> list[Word]:
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


def _description(rows: list[RowInfo], cols: tuple[Column, ...], h: float, top: float) -> list[Word]:
    """The first description text of the item and the lines it wraps onto."""
    out: list[Word] = []
    prev: BBox | None = None
    limit = _desc_right_limit(cols, h)
    for info, k, row in ((info, k, row) for info in rows for k, row in enumerate(info.rows)):
        words = _desc_words(info, k, cols)
        if not out:
            if words and row.bbox.y0 <= top + 2.5 * h:
                out, prev = words, merge_bboxes(w.bbox for w in words)
            continue
        if not words:
            continue
        box = merge_bboxes(w.bbox for w in words)
        own = info.full if k == 0 else row.words   # a merged companion row has its own words
        text = " ".join(w.text for w in own if w.bbox.x1 > box.x0 and w.bbox.y0 >= row.bbox.y0 - 1
                        and w.bbox.y1 <= row.bbox.y1 + 1)
        wraps = abs(box.x0 - out[0].bbox.x0) <= h and box.x1 <= limit   # same left edge, inside the column
        if (row_gap(prev, box) > 0.6 * h or _LABEL_RE.match(text) or text.startswith("*") or not wraps
                or (info.values and row is info.rows[0])):
            break
        out, prev = out + words, box
    return out


def _desc_right_limit(cols: tuple[Column, ...], h: float) -> float:
    """Where a wrapped description must end: before the column right of the description's."""
    desc = [i for i, c in enumerate(cols) if c.role == "desc" or "desc" in c.roles]
    if not desc or desc[-1] + 1 >= len(cols):
        return float("inf")
    return cols[desc[-1] + 1].x0 + h


def _sku(rows: list[RowInfo], cols: tuple[Column, ...]) -> tuple[str, BBox] | None:
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
