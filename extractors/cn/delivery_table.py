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

from extractors.cn.column_content import corrected_columns
from extractors.cn.delivery_layout import NUMBER_COLUMNS, QTY_RX, SHELF_RX, TEXT_COLUMNS, DeliveryPage, number_value
from extractors.cn.form import (
    CONF_BELOW, CONF_CLEAR, CONF_DERIVED, CONF_UNPARSED, Column, Token, join_rows, join_tokens, make_field,
    nearest_anchor, parse_number, split_token,
)
from extractors.cn.table_header import find_header
from extractors.cn.vat_layout import parse_rate
from extractors.layout import merge_bboxes
from extractors.parsing import parse_date
from extractors.result import Field

# --------------------------------------------------------------------------------------------
# item table
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ItemTable:
    """The item table of a page: its columns, the title rows and the body rows (indexes into the page's rows)."""

    columns: tuple[Column, ...]
    header_rows: tuple[int, ...]   # the title band, top to bottom (titles may wrap onto two rows)
    body: tuple[int, ...]      # row indexes under the title band, up to the first labelled row
    end_row: int | None        # the first labelled row after the body (合计 ...), None at page end

    @property
    def header_row(self) -> int:
        return self.header_rows[-1]


def find_table(ctx: DeliveryPage) -> ItemTable | None:
    """The first title band (see `extractors.cn.table_header`) and the rows under it."""
    header = find_header(ctx)
    if header is None:
        return None
    body, end = _body(ctx, header.rows[-1], header.columns)
    columns = corrected_columns(header.columns, [_row_columns(ctx, i, header.columns) for i in body])
    return ItemTable(columns, header.rows, tuple(body), end)


def _body(ctx: DeliveryPage, header_row: int, cols: tuple[Column, ...]) -> tuple[list[int], int | None]:
    """Rows under the title band up to the first row with a label, or a gap of six lines.  A labelled row
    with items right under it (承上页 / 本页小计 carried over at the top of a page) is passed over."""
    labelled = {x.row for x in ctx.hits}
    body: list[int] = []
    for i in range(header_row + 1, len(ctx.rows)):
        prev = ctx.rows[body[-1] if body else header_row]
        if min(t.bbox.y0 for t in ctx.rows[i]) - max(t.bbox.y1 for t in prev) > 6 * ctx.h:
            return body, None
        if i in labelled:
            if _items_follow(ctx, i, cols, labelled):
                continue
            return body, i
        body.append(i)
    return body, None


def _items_follow(ctx: DeliveryPage, i: int, cols: tuple[Column, ...], labelled: set[int]) -> bool:
    nxt = i + 1
    return nxt < len(ctx.rows) and nxt not in labelled and ctx.row_cy(nxt) - ctx.row_cy(i) < 3 * ctx.h \
        and _is_anchor(_cells(ctx, nxt, cols), cols)


def _cells(ctx: DeliveryPage, row: int, cols: tuple[Column, ...]) -> dict[str, list[Token]]:
    """A body row's tokens by column kind (see `_row_columns`)."""
    cells: dict[str, list[Token]] = {}
    for col, toks in zip(cols, _row_columns(ctx, row, cols)):
        if toks:
            cells.setdefault(col.kind, []).extend(toks)
    return cells


def _row_columns(ctx: DeliveryPage, row: int, cols: tuple[Column, ...]) -> list[list[Token]]:
    """A body row's tokens for each column, left to right; a word one space after another, starting
    clearly before the next column's title, runs on in the same cell (long left-aligned text, never a
    figure)."""
    by_col: list[list[Token]] = [[] for _ in cols]
    prev: tuple[Token, int] | None = None
    for tok in ctx.rows[row]:
        k = _column_index(cols, tok.bbox.cx)
        if prev is not None and tok.bbox.x0 - prev[0].bbox.x1 < 0.35 * ctx.h \
                and cols[prev[1]].kind not in NUMBER_COLUMNS:          # figures never run on into the next cell
            j = prev[1]
            if j + 1 == len(cols) or tok.bbox.x0 < cols[j + 1].x0 - 0.3 * ctx.h:
                k = j
        by_col[k].append(tok)
        prev = (tok, k)
    _give_back_spills(ctx, cols, by_col)
    return by_col


def _column_index(cols: tuple[Column, ...], x: float) -> int:
    """The column whose span, widened halfway to its neighbours, holds x."""
    for i, col in enumerate(cols):
        if i + 1 == len(cols) or x < (col.x1 + cols[i + 1].x0) / 2:
            return i
    return len(cols) - 1


def _give_back_spills(ctx: DeliveryPage, cols: tuple[Column, ...], by_col: list[list[Token]]) -> None:
    """Text that ran over into the next column ('500ml x' '24' under 规格, the '24' past the boundary):
    a figure cell holds one figure and a unit cell no figure, so leading words of a different kind, a
    space apart from the rest, go back to the text column on the left (in place)."""
    for k in range(1, len(cols)):
        toks, left = by_col[k], cols[k - 1].kind
        if len(toks) < 2 or left in NUMBER_COLUMNS or left in ("line_no", "other"):
            continue
        kind = cols[k].kind
        if kind in NUMBER_COLUMNS:
            split = [i for i in range(1, len(toks)) if toks[i].bbox.x0 - toks[i - 1].bbox.x1 > 0.3 * ctx.h]
            if split and all(parse_number(t.text) is not None for t in toks[split[-1]:]):
                by_col[k - 1].extend(toks[:split[-1]])
                by_col[k] = toks[split[-1]:]
        elif kind == "unit" and parse_number(toks[0].text) is not None and parse_number(toks[-1].text) is None:
            by_col[k - 1].append(toks[0])
            by_col[k] = toks[1:]


def _split_unit(toks: list[Token], unit: str) -> tuple[list[Token], list[Token]]:
    """The tokens of '10箱' split into the figure's and the unit's, so that each keeps its own box."""
    last = toks[-1]
    if len(toks) > 1 or not last.text.endswith(unit) or len(last.text) == len(unit):
        return toks[:-1] or toks, toks[-1:]
    number, rest = split_token(last, [len(last.text) - len(unit)])
    return [number], [rest]


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
    """Body rows -> items: each anchor row takes the wrapped rows nearest to it; under the last item only
    those closer to it than about one item pitch (a page footer there is no wrapped text)."""
    cells = {i: _cells(ctx, i, table.columns) for i in table.body}
    rows = [i for i in table.body if set(cells[i]) - {"line_no"}]
    anchors = [i for i in rows if _is_anchor(cells[i], table.columns)]
    pitches = [ctx.row_cy(b) - ctx.row_cy(a) for a, b in zip(anchors, anchors[1:])]
    reach = max(1.6 * statistics.median(pitches), 2.5 * ctx.h) if pitches else 2.5 * ctx.h
    last = max(1.15 * statistics.median(pitches), 1.5 * ctx.h) if pitches else 2.5 * ctx.h
    groups: dict[int, list[int]] = {a: [a] for a in anchors}
    for i in rows:
        if i in groups:
            continue
        target = nearest_anchor(i, anchors, ctx.row_cy)
        limit = last if anchors and i > anchors[-1] else reach
        if target is not None and min(abs(ctx.row_cy(i) - ctx.row_cy(j)) for j in groups[target]) <= limit:
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
        number, unit = _split_unit(toks, found[1]) if found and found[1] else (toks, toks)
        out[kind] = make_field(value, number, CONF_CLEAR if value is not None else CONF_UNPARSED, ctx)
        if kind == "quantity" and found and found[1]:
            out["unit"] = make_field(found[1], unit, CONF_BELOW, ctx)
    toks = anchor.get("tax_rate")
    if toks:                                  # a supplier's own invoice: 税率 13% / 免税 per line
        rate = parse_rate(join_tokens(ctx, toks))
        out["tax_rate"] = make_field(rate, toks, CONF_CLEAR if rate is not None else CONF_UNPARSED, ctx)
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
