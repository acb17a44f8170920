"""Chinese VAT invoices: the goods table and the totals.  The table is found by its column headings (a
heading OCR lost between two it read takes the room between them), rows that wrap are joined, the 合计
row gives subtotal and tax (an unlabelled sum row too), 价税合计 the total in words and figures, checked
against each other.  Works on the `VatPage` of `extractors.cn.vat_layout`."""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from extractors.cn.checks import amount_in_words_to_decimal
from extractors.cn.form import (
    CONF_BELOW, CONF_CHECKED, CONF_CLEAR, CONF_GUESS, CONF_UNPARSED, Column, Hit, Token, column_of, join_rows,
    join_tokens, make_field, nearest_anchor, parse_number, row_after, split_token,
)
from extractors.cn.vat_layout import COLUMNS, NUMERAL_CHARS, VatPage, parse_rate, token_lines
from extractors.layout import BBox, merge_bboxes
from extractors.result import Field

# --------------------------------------------------------------------------------------------
# goods table
# --------------------------------------------------------------------------------------------

def table_header(ctx: VatPage) -> tuple[list[Column], BBox] | None:
    """The column headings: the band of headings with the most distinct columns (>= 4); a heading OCR
    lost between two it read (金额 between 单价 and 税率) takes the room between them."""
    best: list[Hit] = []
    for anchor in ctx.columns:
        band = [c for c in ctx.columns if abs(c.bbox.cy - anchor.bbox.cy) < 1.6 * ctx.h]
        if len({c.kind for c in band}) >= max(4, len({c.kind for c in best}) + 1):
            best = band
    if not best:
        return None
    spans: dict[str, BBox] = {}
    for c in best:
        spans[c.kind] = spans[c.kind].union(c.bbox) if c.kind in spans else c.bbox
    cols = sorted((Column(k, b.x0, b.x1) for k, b in spans.items()), key=lambda c: c.x0)
    return _with_lost_headings(cols, ctx.h), merge_bboxes(c.bbox for c in best)


_COLUMN_ORDER = tuple(kind for kind, _ in COLUMNS)


def _with_lost_headings(cols: list[Column], h: float) -> list[Column]:
    """Columns of the standard order missing between two found neighbours, placed in the gap between them
    when it is wide enough for a figure."""
    found = {c.kind: c for c in cols}
    out = list(cols)
    for left, kind, right in zip(_COLUMN_ORDER, _COLUMN_ORDER[1:], _COLUMN_ORDER[2:]):
        if kind in found or left not in found or right not in found:
            continue
        a, b = found[left], found[right]
        if b.x0 - a.x1 > 3 * h and [c.kind for c in cols].index(right) == [c.kind for c in cols].index(left) + 1:
            mid, quarter = (a.x1 + b.x0) / 2, (b.x0 - a.x1) / 4
            out.append(Column(kind, mid - quarter, mid + quarter))   # a centred heading's likely span
    return sorted(out, key=lambda c: c.x0)


def _table_bottom(ctx: VatPage, header: BBox) -> float:
    ends = ("sum_row", "total", "in_words", "in_figures", "remarks", "remarks_vertical", "seal")
    ys = [x.bbox.y0 for x in ctx.hits if x.kind in ends and x.bbox.y0 > header.y1]
    return min(ys, default=ctx.page.height)


@dataclass
class _Row:
    cy: float
    cells: dict[str, list[Token]]

    def anchor(self) -> bool:
        return any(parse_number(t.text) is not None
                   for k in ("amount", "tax_amount") for t in self.cells.get(k, []))


def _body_rows(ctx: VatPage, cols: list[Column], header: BBox) -> list[_Row]:
    bottom = _table_bottom(ctx, header)
    body = [t for t in ctx.toks if header.y1 < t.bbox.cy < bottom - 0.2 * ctx.h]
    rows: list[_Row] = []
    for line in token_lines(body, gap_factor=1e6):
        cells: dict[str, list[Token]] = {}
        for tok in line:
            cells.setdefault(column_of(cols, tok.bbox), []).append(tok)
        rows.append(_Row(statistics.median(t.bbox.cy for t in line), cells))
    return rows


def _group_rows(rows: list[_Row]) -> list[list[_Row]]:
    """Rows -> items: each anchor row (with an amount) takes the wrapped rows nearest to it."""
    anchors = [i for i, r in enumerate(rows) if r.anchor()]
    groups: dict[int, list[int]] = {a: [a] for a in anchors}
    for i in range(len(rows)):
        target = None if i in groups else nearest_anchor(i, anchors, lambda k: rows[k].cy)
        if target is not None:
            groups[target].append(i)
    return [[rows[i] for i in sorted(groups[a])] for a in anchors]


def _item_fields(ctx: VatPage, item: list[_Row]) -> dict[str, Field]:
    anchor = next(r for r in item if r.anchor())
    out: dict[str, Field] = {}
    for kind in ("description", "spec", "unit"):
        toks = [t for r in item for t in r.cells.get(kind, [])]
        if toks:
            text = join_rows(ctx, [r.cells[kind] for r in item if r.cells.get(kind)])
            out[kind] = make_field(text, toks, CONF_CLEAR, ctx)
    for kind in ("quantity", "unit_price", "amount", "tax_amount"):
        toks = anchor.cells.get(kind) or next((r.cells[kind] for r in item if r.cells.get(kind)), [])
        if toks:
            value = parse_number(join_tokens(ctx, toks))
            out[kind] = make_field(value, toks, CONF_CLEAR if value is not None else CONF_UNPARSED, ctx)
    toks = anchor.cells.get("tax_rate") or next((r.cells["tax_rate"] for r in item if r.cells.get("tax_rate")), [])
    if toks:
        rate = parse_rate(join_tokens(ctx, toks))
        out["tax_rate"] = make_field(rate, toks, CONF_CLEAR if rate is not None else CONF_UNPARSED, ctx)
        if rate == 0 and "tax_amount" in out and out["tax_amount"].value is None:
            out["tax_amount"] = make_field(Decimal("0"), anchor.cells.get("tax_amount", toks), CONF_GUESS, ctx)
    return out


def line_items(ctx: VatPage, cols: list[Column], header: BBox) -> list[dict[str, Field]]:
    return [_item_fields(ctx, item) for item in _group_rows(_body_rows(ctx, cols, header))]


# --------------------------------------------------------------------------------------------
# totals
# --------------------------------------------------------------------------------------------

def sum_row(ctx: VatPage, cols: list[Column] | None, header: BBox | None) -> dict[str, Field]:
    """合计 row: subtotal under 金额, tax under 税额 (else first and last amount)."""
    hits = [x for x in ctx.hits_of("sum_row") if header is None or x.bbox.y0 > header.y1]
    if not hits:
        return {}
    money = [t for t in row_after(ctx, hits[0]) if parse_number(t.text) is not None or t.text == "***"]
    out: dict[str, Field] = {}
    for i, tok in enumerate(money):
        kind = column_of(cols, tok.bbox) if cols else ("amount" if i == 0 else "tax_amount")
        name = {"amount": "subtotal", "tax_amount": "tax_amount"}.get(kind)
        if name and name not in out:
            value = parse_number(tok.text)
            out[name] = make_field(Decimal("0") if value is None else value, [tok],
                               CONF_CLEAR if value is not None else CONF_GUESS, ctx)
    return out


def _is_unlabelled_sum(item: dict[str, Field], others: list[dict[str, Field]]) -> bool:
    """A goods row that is really the 合计 row whose label OCR lost: amounts only (no description,
    quantity or price), marked with ¥ or adding up to the amounts of the rows above it."""
    amount = item.get("amount")
    if amount is None or not isinstance(amount.value, Decimal) or any(
            k in item for k in ("description", "spec", "quantity", "unit_price")):
        return False
    if "¥" in unicodedata.normalize("NFKC", amount.raw).replace("￥", "¥"):
        return True
    amounts = [o["amount"].value for o in others if "amount" in o and isinstance(o["amount"].value, Decimal)]
    return len(amounts) >= 2 and sum(amounts) == amount.value


def split_unlabelled_sum(items: list[dict[str, Field]]) -> tuple[list[dict[str, Field]], dict[str, Field]]:
    """Goods rows less a trailing label-less 合计 row, and the subtotal / tax read from it."""
    if not items or not _is_unlabelled_sum(items[-1], items[:-1]):
        return items, {}
    last = items[-1]
    sums = {"subtotal": last["amount"].with_confidence(CONF_GUESS)}
    if "tax_amount" in last and last["tax_amount"].value is not None:
        sums["tax_amount"] = last["tax_amount"].with_confidence(CONF_GUESS)
    return items[:-1], sums


def _strip_marks(text: str) -> str:
    """Drop the anti-tamper mark printed before 大写 amounts (⊗ / ⓧ, "x" after NFKC)."""
    return re.sub(r"[⊗ⓧ⨂×xX]", "", text)


def _is_words_amount(text: str) -> bool:
    core = _strip_marks(text)
    return len(core) >= 2 and all(ch in NUMERAL_CHARS for ch in core) and any(ch in "圆元角分" for ch in core)


def grand_total(ctx: VatPage) -> dict[str, Field]:
    """价税合计 (大写) in words and (小写) ¥ figures, cross-checked."""
    out: dict[str, Field] = {}
    for hit in ctx.hits_of("total") + ctx.hits_of("in_figures"):
        row = row_after(ctx, hit)
        words = [t for t in row if _is_words_amount(t.text)]
        figures = [t for t in row if parse_number(t.text) is not None]
        if words and "total_amount_in_words" not in out:
            out["total_amount_in_words"] = make_field(_strip_marks(join_tokens(ctx, words)), words, CONF_CLEAR, ctx)
        if figures and "total_amount" not in out:
            out["total_amount"] = make_field(parse_number(figures[-1].text), [figures[-1]], CONF_CLEAR, ctx)
            sign = next((t for t in row if t.text == "¥"), None)   # the ¥ printed apart: its own box
            if "¥" in figures[-1].text or sign is not None:
                box = sign.bbox if sign is not None else split_token(figures[-1], [1])[0].bbox
                out["currency"] = Field("CNY", "¥", CONF_CLEAR, ctx.page.number, box)
    return out


_WORD_CONFUSIONS = str.maketrans({"方": "万", "任": "仟", "伯": "佰", "什": "仟", "圓": "圆", "抬": "拾"})
_WORD_START_RX = re.compile(r"[负零壹贰叁肆伍陆柒捌玖拾佰仟万亿]")


def _repair_words(text: str) -> str | None:
    """An OCR'd 大写 amount with common misreadings mended and leading noise (a misread ⓧ mark,
    seal ink) cut off; None when nothing that looks like one is left."""
    fixed = _strip_marks(text).translate(_WORD_CONFUSIONS)
    negative = re.search(r"\(?负数?\)?", fixed)
    m = _WORD_START_RX.search(fixed, negative.end() if negative else 0)
    if m is None:
        return None
    core = fixed[m.start():]
    return ("负" if negative else "") + core if _is_words_amount(core) else None


def words_near_total(ctx: VatPage, total: Decimal) -> Field | None:
    """A 大写 amount read off the label's row (rotation, a lost label): any non-label token within
    about a row of a 价税合计 / (大写) / (小写) label that, mended, reads as the same total."""
    anchors = ctx.hits_of("total") + ctx.hits_of("in_words") + ctx.hits_of("in_figures")
    for tok in ctx.toks:
        if ctx.is_stopper(tok) or not any(abs(tok.bbox.cy - a.bbox.cy) <= 1.6 * ctx.h for a in anchors):
            continue
        words = _repair_words(tok.text)
        if words is not None and amount_in_words_to_decimal(words) == total:
            return make_field(words, [tok], CONF_BELOW, ctx)
    return None


def cross_check_totals(fields: dict[str, Field]) -> None:
    """Raise confidence where the numbers agree with each other (in place)."""
    total, words = fields.get("total_amount"), fields.get("total_amount_in_words")
    if total and words and amount_in_words_to_decimal(str(words.value)) == total.value:
        fields["total_amount"] = total.with_confidence(CONF_CHECKED)
        fields["total_amount_in_words"] = words.with_confidence(CONF_CHECKED)
    elif words and not total:
        value = amount_in_words_to_decimal(str(words.value))
        if value is not None:
            fields["total_amount"] = Field(value, words.raw, CONF_GUESS, words.page, words.bbox)
    sub, tax = fields.get("subtotal"), fields.get("tax_amount")
    total = fields.get("total_amount")
    if sub and tax and total and isinstance(sub.value, Decimal) and isinstance(tax.value, Decimal) \
            and sub.value + tax.value == total.value:
        for name in ("subtotal", "tax_amount"):
            fields[name] = fields[name].with_confidence(max(fields[name].confidence, 0.95))
