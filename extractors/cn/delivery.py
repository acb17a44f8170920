"""Chinese delivery notes (送货单, 出库单, 发货单, 配送单, 随货同行单) from a Layout alone.

Template-free: every supplier prints its own form, so labels are found by their text and values by
geometry.  Word texts are NFKC-normalised (full-width digits and punctuation to ASCII) with spaces
removed; the words of one visual row are read as one string, so that a letter-spaced label
("日  期：") or a label glued to its value ("客户：某某超市") is found all the same, and the words are
cut where a label starts and ends.  A label counts when a colon follows it or when it fills whole
words (a cell of its own); its value is the run of words right of it on its row (the next cell,
or after the colon), else the words just under it.

The item table is found by its title row (at least three column titles, one of them quantity or
description: 品名/商品名称, 编码/货号, 规格型号, 单位, 数量/实发数量, 单价, 金额, 批号, 生产日期, 保质期,
有效期至, 备注, ...).  Columns take their x-range from the titles; a body word goes to the column whose
range, widened halfway to its neighbours, holds its centre.  An item starts at a row with a quantity
(or, without a quantity column, an amount); rows without one are wrapped text and join the nearest
item.  The table ends at the first row holding a label (合计, 大写, 送货人, 备注: ...).

Expiry: printed 有效期至/到期日 wins; else production date + 保质期 (12个月, 180天, 1年), added as
calendar months or days with no day taken off; the printed shelf life stays as `shelf_life`.

`extract_delivery_note(layout) -> (fields, lines)`; header field names follow the contract
(document_number, document_date, buyer_name, supplier_name, supplier_phone, supplier_address,
po_number, total_amount, total_amount_in_words, remarks, currency) plus buyer_address, buyer_phone,
total_quantity, deliverer and receiver.
"""

from __future__ import annotations

import re
from decimal import Decimal

from extractors.cn.checks import amount_in_words_to_decimal
from extractors.layout import Layout, Page
from extractors.cn.delivery_layout import (
    Parser,
    CONF_CLEAR, CONF_BELOW, CONF_TITLE, CONF_DERIVED, CONF_CHECKED, CONF_MISMATCH, CONF_UNPARSED,
    _PEOPLE, _TITLE_RX, _DOC_TITLE_RX, _COMPANY_RX, _SHOP_RX, _MARKS, _Tok, _Hit, _Ctx, _split_tok,
    _build_ctx, _value_right, _value_below, _row_after, _join, _field, _words_amount, _number,
    _PARSERS,
)
from extractors.result import Field, LineItem
from extractors.cn.delivery_table import _Table, _column_of, _find_table, _group_items, _item_fields, shelf_life_end

__all__ = ["extract_delivery_note", "shelf_life_end"]

# --------------------------------------------------------------------------------------------
# header fields
# --------------------------------------------------------------------------------------------

def _labelled(ctx: _Ctx, hit: _Hit, parse: Parser, *, below: bool) -> Field | None:
    """The value of a label: right of it, else (when allowed) below it; unparsed text kept weakly."""
    people = hit.kind in _PEOPLE
    right = _value_right(ctx, hit, (0.2 if people else 0.4) * ctx.width)
    tries = [(right, CONF_CLEAR)] + ([(_value_below(ctx, hit), CONF_BELOW)] if below else [])
    for toks, conf in tries:
        value = parse(_join(toks, ctx.h)) if toks else None
        if value is not None:
            return _field(value, toks, conf, ctx)
    return _field(None, right, CONF_UNPARSED, ctx) if right else None


def _party_kind(ctx: _Ctx, hit: _Hit) -> str:
    """A plain 地址/电话 on the same row as the customer's label is the customer's."""
    if hit.kind in ("supplier_address", "supplier_phone") and hit.label in ("地址", "电话", "联系电话") \
            and any(x.kind == "buyer_name" and x.row == hit.row for x in ctx.hits):
        return hit.kind.replace("supplier_", "buyer_")
    return hit.kind


def _header_fields(ctx: _Ctx, skip_rows: set[int]) -> dict[str, Field]:
    """Every labelled header value outside the item table; the first well-formed one per name wins."""
    out: dict[str, Field] = {}
    for hit in sorted(ctx.hits, key=lambda x: (x.row, x.bbox.x0)):
        if hit.row in skip_rows or hit.kind not in _PARSERS:
            continue
        name = _party_kind(ctx, hit)
        if name in out and out[name].value is not None:
            continue
        f = _labelled(ctx, hit, _PARSERS[hit.kind], below=hit.kind not in _PEOPLE + ("remarks",))
        if f is not None and (name not in out or f.value is not None):
            out[name] = f
    return out


def _title_supplier(ctx: _Ctx) -> Field | None:
    """The company named in the title: 'XX有限公司送货单', or a company line right above '送货单'."""
    for i, full in enumerate(ctx.rows[:8]):
        row = _before_labels(ctx, full)
        text = "".join(t.text for t in row)
        m = _TITLE_RX.match(text)
        if m:
            toks = _toks_within(row, len(m.group("name")))
            return _field(m.group("name"), toks, CONF_TITLE, ctx)
        if _DOC_TITLE_RX.match(text) and i > 0 and not any(x.row == i - 1 for x in ctx.hits):
            above = "".join(t.text for t in ctx.rows[i - 1])
            if _COMPANY_RX.search(above):
                return _field(above, list(ctx.rows[i - 1]), CONF_TITLE, ctx)
    top = ctx.rows[0] if ctx.rows else ()
    if top and not any(x.row == 0 for x in ctx.hits) and _SHOP_RX.search("".join(t.text for t in top)):
        return _field(_join(top, ctx.h, raw=True), list(top), CONF_TITLE, ctx)
    return None


def _before_labels(ctx: _Ctx, row: tuple[_Tok, ...]) -> tuple[_Tok, ...]:
    """The tokens of a row left of its first label."""
    for k, tok in enumerate(row):
        if ctx.is_stopper(tok):
            return row[:k]
    return row


def _toks_within(row: tuple[_Tok, ...], n: int) -> list[_Tok]:
    """The tokens holding the first n characters of a row (the last one cut where needed)."""
    out: list[_Tok] = []
    for tok in row:
        if n <= 0:
            break
        out.append(tok if len(tok.text) <= n else _split_tok(tok, [n])[0])
        n -= len(tok.text)
    return out


# --------------------------------------------------------------------------------------------
# totals
# --------------------------------------------------------------------------------------------

def _words_run(toks: list[_Tok]) -> list[_Tok]:
    """The first run of tokens that reads as a 大写 amount (split words joined)."""
    for i in range(len(toks)):
        for j in range(len(toks), i, -1):
            if _words_amount("".join(t.text for t in toks[i:j])) is not None:
                return toks[i:j]
    return []


def _sum_numbers(ctx: _Ctx, hit: _Hit, toks: list[_Tok], table: _Table | None) -> dict[str, Field]:
    """Figures of a 合计 row: by column in the table's own 合计 row, else the last figure is the total."""
    nums = [t for t in toks if _number(t.text) is not None]
    out: dict[str, Field] = {}
    if table is not None and hit.row == table.end_row and hit.label in ("合计", "总计"):
        for tok in nums:
            kind = _column_of(table.columns, tok.bbox)
            name = {"amount": "total_amount", "quantity": "total_quantity"}.get(kind)
            if name and name not in out:
                out[name] = _field(_number(tok.text), [tok], CONF_CLEAR, ctx)
        kinds = {c.kind for c in table.columns}
        if out or ("quantity" in kinds and "amount" not in kinds):
            return out
    if hit.kind == "total_amount" and nums:
        return {"total_amount": _field(_number(nums[-1].text), [nums[-1]], CONF_CLEAR, ctx)}
    return {}


def _totals(ctx: _Ctx, table: _Table | None) -> dict[str, Field]:
    """合计 / 总计 / 小写 figures and 大写 words, top to bottom; the first of each wins."""
    out: dict[str, Field] = {}
    kinds = ("total_amount", "total_amount_in_words")
    for hit in sorted((x for x in ctx.hits if x.kind in kinds), key=lambda x: (x.row, x.bbox.x0)):
        if table is not None and hit.row == table.header_row:
            continue
        toks = _row_after(ctx, hit)
        words = _words_run(toks)
        if words and "total_amount_in_words" not in out:
            text = re.sub(rf"[{_MARKS}]", "", _join(words, ctx.h).replace("人民币", ""))
            out["total_amount_in_words"] = _field(text, words, CONF_CLEAR, ctx)
        rest = [t for t in toks if t not in words]
        for name, f in _sum_numbers(ctx, hit, rest, table).items():
            out.setdefault(name, f)
    return out


def _cross_check(fields: dict[str, Field], items: list[dict[str, Field]]) -> None:
    """大写 against 小写, and the line amounts against the total (in place)."""
    total, words = fields.get("total_amount"), fields.get("total_amount_in_words")
    in_words = amount_in_words_to_decimal(str(words.value)) if words else None
    if total is not None and in_words is not None:
        conf = CONF_CHECKED if in_words == total.value else CONF_MISMATCH
        fields["total_amount"] = total.with_confidence(max(total.confidence, conf) if conf > 0.9 else conf)
        fields["total_amount_in_words"] = words.with_confidence(conf)
    elif total is None and words is not None and in_words is not None:
        fields["total_amount"] = Field(in_words, words.raw, CONF_DERIVED, words.page, words.bbox)
    total = fields.get("total_amount")
    amounts = [it["amount"].value for it in items if "amount" in it]
    if total is not None and amounts and all(isinstance(a, Decimal) for a in amounts) \
            and sum(amounts) == total.value and total.confidence < CONF_CHECKED:
        fields["total_amount"] = total.with_confidence(0.95)


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------

def _page_extract(page: Page, first: bool) -> tuple[dict[str, Field], list[dict[str, Field]]]:
    ctx = _build_ctx(page)
    table = _find_table(ctx)
    skip = {table.header_row, *table.body} if table else set()
    fields = _header_fields(ctx, skip)
    fields.update(_totals(ctx, table))
    if first and (fields.get("supplier_name") is None or fields["supplier_name"].value is None):
        title = _title_supplier(ctx)
        if title is not None:
            fields["supplier_name"] = title
    items = [_item_fields(ctx, item, table.columns) for item in _group_items(ctx, table)] if table else []
    return fields, items


def extract_delivery_note(layout: Layout) -> tuple[dict[str, Field], list[LineItem]]:
    """Header fields and item lines of a Chinese delivery note, from the layout alone."""
    fields: dict[str, Field] = {}
    items: list[dict[str, Field]] = []
    for k, page in enumerate(layout.pages):
        page_fields, page_items = _page_extract(page, k == 0)
        for name, f in page_fields.items():
            if name not in fields or (fields[name].value is None and f.value is not None):
                fields[name] = f
        items.extend(page_items)
    _cross_check(fields, items)
    if "currency" not in fields and ("total_amount" in fields or any("amount" in it for it in items)):
        fields["currency"] = Field("CNY", "", 0.8)
    return fields, [LineItem(i + 1, item) for i, item in enumerate(items) if item]
