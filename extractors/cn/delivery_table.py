"""Chinese delivery notes: the item table under its titled columns (any wording and order of 品名, 编码,
规格, 单位, 数量, 单价, 金额, 批号, 生产日期, 保质期 ...), rows grouped into items, and each item's fields
(expiry derived from production date + shelf life, arithmetic checked).  Works on the `DeliveryPage` of
`extractors.cn.delivery_layout`."""

from __future__ import annotations

import calendar
import statistics
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from extractors.cn.delivery_layout import (
    COLUMN_KINDS, NUMBER_COLUMNS, QTY_RX, SHELF_RX, TEXT_COLUMNS, DeliveryPage, number_value,
)
from extractors.cn.form import (
    CONF_BELOW, CONF_CLEAR, CONF_DERIVED, CONF_UNPARSED, Column, Hit, Token, column_of, join_rows, join_tokens,
    make_field, nearest_anchor, parse_number,
)
from extractors.layout import BBox, merge_bboxes
from extractors.parsing import parse_date
from extractors.result import Field

# --------------------------------------------------------------------------------------------
# item table
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ItemTable:
    """The item table of a page: its columns, the title row and the body rows (indexes into the page's rows)."""

    columns: tuple[Column, ...]
    header_row: int
    body: tuple[int, ...]      # row indexes under the title row, up to the first labelled row
    end_row: int | None        # the first labelled row after the body (合计 ...), None at page end


def _column_kind(hit: Hit) -> str | None:
    if hit.kind in COLUMN_KINDS:
        return hit.kind
    return "line_no" if hit.kind == "document_number" and hit.label[0] == "N" else None


def _columns(hits: list[Hit]) -> tuple[Column, ...]:
    spans: dict[str, BBox] = {}
    for hit in hits:
        kind = _column_kind(hit)
        if kind:
            spans[kind] = spans[kind].union(hit.bbox) if kind in spans else hit.bbox
    return tuple(sorted((Column(k, b.x0, b.x1) for k, b in spans.items()), key=lambda c: c.x0))


def find_table(ctx: DeliveryPage) -> ItemTable | None:
    """The first row naming three columns or more (quantity or description among them)."""
    for i in range(len(ctx.rows)):
        hits = [x for x in ctx.hits if x.row == i]
        kinds = {_column_kind(x) for x in hits} - {None}
        if len(kinds) >= 3 and kinds & {"quantity", "description"}:
            body, end = _body(ctx, i)
            return ItemTable(_columns(hits), i, tuple(body), end)
    return None


def _body(ctx: DeliveryPage, header_row: int) -> tuple[list[int], int | None]:
    """Rows under the title row up to the first row with a label, or a gap of six lines."""
    labelled = {x.row for x in ctx.hits}
    body: list[int] = []
    for i in range(header_row + 1, len(ctx.rows)):
        if i in labelled:
            return body, i
        prev = ctx.rows[body[-1] if body else header_row]
        if min(t.bbox.y0 for t in ctx.rows[i]) - max(t.bbox.y1 for t in prev) > 6 * ctx.h:
            return body, None
        body.append(i)
    return body, None


def _cells(ctx: DeliveryPage, row: int, cols: tuple[Column, ...]) -> dict[str, list[Token]]:
    """A body row's tokens by column; a word one space after another, starting clearly before the
    next column's title, runs on in the same cell (long left-aligned text, never a figure)."""
    cells: dict[str, list[Token]] = {}
    kinds = [c.kind for c in cols]
    prev: tuple[Token, str] | None = None
    for tok in ctx.rows[row]:
        kind = column_of(cols, tok.bbox)
        if prev is not None and tok.bbox.x0 - prev[0].bbox.x1 < 0.35 * ctx.h \
                and prev[1] not in NUMBER_COLUMNS:          # figures never run on into the next cell
            k = kinds.index(prev[1])
            if k + 1 == len(cols) or tok.bbox.x0 < cols[k + 1].x0 - 0.3 * ctx.h:
                kind = prev[1]
        cells.setdefault(kind, []).append(tok)
        prev = (tok, kind)
    return cells


def _leading_number(toks: list[Token]) -> tuple[Decimal, str | None] | None:
    """'12' -> (12, None); '10箱' -> (10, '箱'); anything else -> None."""
    m = QTY_RX.match("".join(t.text for t in toks))
    if not m:
        return None
    value = parse_number(m.group("num"))
    return (value, m.group("unit")) if value is not None else None


def _is_anchor(cells: dict[str, list[Token]], cols: tuple[Column, ...]) -> bool:
    kinds = {c.kind for c in cols}
    key = "quantity" if "quantity" in kinds else "amount"
    return bool(cells.get(key)) and _leading_number(cells[key]) is not None


def group_items(ctx: DeliveryPage, table: ItemTable) -> list[list[dict[str, list[Token]]]]:
    """Body rows -> items: each anchor row takes the wrapped rows nearest to it."""
    cells = {i: _cells(ctx, i, table.columns) for i in table.body}
    rows = [i for i in table.body if set(cells[i]) - {"line_no"}]
    anchors = [i for i in rows if _is_anchor(cells[i], table.columns)]
    pitches = [ctx.row_cy(b) - ctx.row_cy(a) for a, b in zip(anchors, anchors[1:])]
    reach = max(1.6 * statistics.median(pitches), 2.5 * ctx.h) if pitches else 2.5 * ctx.h
    groups: dict[int, list[int]] = {a: [a] for a in anchors}
    for i in rows:
        if i in groups:
            continue
        target = nearest_anchor(i, anchors, ctx.row_cy)
        if target is not None and min(abs(ctx.row_cy(i) - ctx.row_cy(j)) for j in groups[target]) <= reach:
            groups[target].append(i)
    return [[cells[i] for i in sorted(groups[a])] for a in anchors]


# --------------------------------------------------------------------------------------------
# item fields
# --------------------------------------------------------------------------------------------

def _column_toks(item: list[dict[str, list[Token]]], kind: str) -> list[list[Token]]:
    return [cells[kind] for cells in item if cells.get(kind)]


def _text_fields(ctx: DeliveryPage, item: list[dict[str, list[Token]]]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for kind in TEXT_COLUMNS:
        rows = _column_toks(item, kind)
        if rows:
            toks = [t for r in rows for t in r]
            raw = "\n".join(join_tokens(ctx, r, raw=True) for r in rows)
            f = make_field(join_rows(ctx, rows), toks, CONF_CLEAR, ctx)
            out[kind] = Field(f.value, raw, f.confidence, f.page, f.bbox)
    return out


def _number_fields(ctx: DeliveryPage, anchor: dict[str, list[Token]]) -> dict[str, Field]:
    """Quantity, unit price and amount from the anchor row; a unit glued to the quantity ('10箱')."""
    out: dict[str, Field] = {}
    for kind in NUMBER_COLUMNS:
        toks = anchor.get(kind)
        if not toks:
            continue
        found = _leading_number(toks) if kind in ("quantity", "ordered_quantity") else None
        value = found[0] if found else number_value(join_tokens(ctx, toks))
        out[kind] = make_field(value, toks, CONF_CLEAR if value is not None else CONF_UNPARSED, ctx)
        if kind == "quantity" and found and found[1]:
            out["unit"] = make_field(found[1], toks, CONF_BELOW, ctx)
    return out


def _date_fields(ctx: DeliveryPage, item: list[dict[str, list[Token]]]) -> dict[str, Field]:
    """生产日期, 有效期至 as dates; 保质期 (or a shelf life printed under 有效期) as text."""
    out: dict[str, Field] = {}
    for kind in ("production_date", "expiry_date", "shelf_life"):
        rows = _column_toks(item, kind)
        if not rows:
            continue
        toks = [t for r in rows for t in r]
        text = join_rows(ctx, rows)
        if kind != "shelf_life" and parse_date(text) is not None:
            out[kind] = make_field(parse_date(text), toks, CONF_CLEAR, ctx)
        elif SHELF_RX.search(text):
            out.setdefault("shelf_life", make_field(text, toks, CONF_CLEAR, ctx))
        else:
            out[kind] = make_field(None if kind != "shelf_life" else text, toks, CONF_UNPARSED, ctx)
    return out


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def shelf_life_end(produced: date, shelf_life: str) -> date | None:
    """produced + a printed shelf life ('12个月', '180天', '1年', '2周'); None when not understood."""
    m = SHELF_RX.search(unicodedata.normalize("NFKC", shelf_life))
    if not m:
        return None
    n, unit = Decimal(m.group(1)), m.group(2)
    if unit in ("天", "日"):
        return produced + timedelta(days=int(n))
    if unit == "周":
        return produced + timedelta(weeks=int(n))
    months = n * 12 if unit == "年" else n
    return _add_months(produced, int(months)) if months == int(months) else None


def _derive_expiry(out: dict[str, Field]) -> None:
    """expiry_date = production_date + shelf_life where only those two are printed (in place)."""
    prod, shelf = out.get("production_date"), out.get("shelf_life")
    if "expiry_date" in out and out["expiry_date"].value is not None:
        return
    if prod is None or shelf is None or not isinstance(prod.value, date):
        return
    end = shelf_life_end(prod.value, str(shelf.value))
    if end is not None:
        boxes = [b for b in (prod.bbox, shelf.bbox) if b is not None]
        conf = min(prod.confidence, shelf.confidence) * CONF_DERIVED / CONF_CLEAR
        out["expiry_date"] = Field(end, "", conf, prod.page, merge_bboxes(boxes) if boxes else None)


def _check_arithmetic(out: dict[str, Field]) -> None:
    """Quantity x unit price ~ amount raises all three; a clear mismatch lowers them (in place)."""
    q, p, a = (out.get(k) for k in ("quantity", "unit_price", "amount"))
    if not (q and p and a) or not all(isinstance(f.value, Decimal) for f in (q, p, a)):
        return
    ok = abs(q.value * p.value - a.value) <= Decimal("0.011") + abs(q.value) * Decimal("0.005")
    for k in ("quantity", "unit_price", "amount"):
        out[k] = out[k].with_confidence(0.95 if ok else 0.7)


def item_fields(ctx: DeliveryPage, item: list[dict[str, list[Token]]], cols: tuple[Column, ...]) -> dict[str, Field]:
    anchor = next(cells for cells in item if _is_anchor(cells, cols))
    out = _text_fields(ctx, item)
    numbers = _number_fields(ctx, anchor)
    if "unit" in numbers and "unit" in out:
        del numbers["unit"]
    out.update(numbers)
    out.update(_date_fields(ctx, item))
    _derive_expiry(out)
    _check_arithmetic(out)
    return out
