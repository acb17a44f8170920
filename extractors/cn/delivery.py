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

from extractors.cn.checks import AMOUNT_MARKS, amount_in_words_to_decimal
from extractors.cn.delivery_layout import (
    COMPANY_RX, DOC_TITLE_RX, PARSERS, PEOPLE, SHOP_RX, TITLE_RX, DeliveryPage, build_delivery_page,
    number_value, words_amount,
)
from extractors.cn.delivery_table import ItemTable, find_table, group_items, item_fields, shelf_life_end
from extractors.cn.form import (
    CONF_CHECKED, CONF_CLEAR, CONF_DERIVED, CONF_MISMATCH, CONF_TITLE, Hit, Token, column_of, join_tokens,
    labelled_value, make_field, merge_page_fields, row_after, split_token,
)
from extractors.layout import Layout, Page
from extractors.result import Field, LineItem

__all__ = ["extract_delivery_note", "shelf_life_end"]

# --------------------------------------------------------------------------------------------
# header fields
# --------------------------------------------------------------------------------------------

def _party_kind(ctx: DeliveryPage, hit: Hit) -> str:
    """A plain 地址/电话 on the same row as the customer's label is the customer's."""
    if hit.kind in ("supplier_address", "supplier_phone") and hit.label in ("地址", "电话", "联系电话") \
            and any(x.kind == "buyer_name" and x.row == hit.row for x in ctx.hits):
        return hit.kind.replace("supplier_", "buyer_")
    return hit.kind


def _header_fields(ctx: DeliveryPage, skip_rows: set[int]) -> dict[str, Field]:
    """Every labelled header value outside the item table; the first well-formed one per name wins."""
    out: dict[str, Field] = {}
    for hit in sorted(ctx.hits, key=lambda x: (x.row, x.bbox.x0)):
        if hit.row in skip_rows or hit.kind not in PARSERS:
            continue
        name = _party_kind(ctx, hit)
        if name in out and out[name].value is not None:
            continue
        people = hit.kind in PEOPLE    # 送货人 / 收货人: a name close beside the label, never one under it
        f = labelled_value(ctx, hit, PARSERS[hit.kind], max_first=0.2 * ctx.page.width if people else None,
                           below=not people and hit.kind != "remarks")
        if f is not None and (name not in out or f.value is not None):
            out[name] = f
    return out


def _title_supplier(ctx: DeliveryPage) -> Field | None:
    """The company named in the title: 'XX有限公司送货单', or a company line right above '送货单'."""
    for i, full in enumerate(ctx.rows[:8]):
        row = _before_labels(ctx, full)
        text = "".join(t.text for t in row)
        m = TITLE_RX.match(text)
        if m:
            toks = _toks_within(row, len(m.group("name")))
            return make_field(m.group("name"), toks, CONF_TITLE, ctx)
        if DOC_TITLE_RX.match(text) and i > 0 and not any(x.row == i - 1 for x in ctx.hits):
            above = "".join(t.text for t in ctx.rows[i - 1])
            if COMPANY_RX.search(above):
                return make_field(above, list(ctx.rows[i - 1]), CONF_TITLE, ctx)
    top = ctx.rows[0] if ctx.rows else ()
    if top and not any(x.row == 0 for x in ctx.hits) and SHOP_RX.search("".join(t.text for t in top)):
        return make_field(join_tokens(ctx, top, raw=True), list(top), CONF_TITLE, ctx)
    return None


def _before_labels(ctx: DeliveryPage, row: tuple[Token, ...]) -> tuple[Token, ...]:
    """The tokens of a row left of its first label."""
    for k, tok in enumerate(row):
        if ctx.is_stopper(tok):
            return row[:k]
    return row


def _toks_within(row: tuple[Token, ...], n: int) -> list[Token]:
    """The tokens holding the first n characters of a row (the last one cut where needed)."""
    out: list[Token] = []
    for tok in row:
        if n <= 0:
            break
        out.append(tok if len(tok.text) <= n else split_token(tok, [n])[0])
        n -= len(tok.text)
    return out


# --------------------------------------------------------------------------------------------
# totals
# --------------------------------------------------------------------------------------------

def _words_run(toks: list[Token]) -> list[Token]:
    """The first run of tokens that reads as a 大写 amount (split words joined)."""
    for i in range(len(toks)):
        for j in range(len(toks), i, -1):
            if words_amount("".join(t.text for t in toks[i:j])) is not None:
                return toks[i:j]
    return []


def _sum_numbers(ctx: DeliveryPage, hit: Hit, toks: list[Token], table: ItemTable | None) -> dict[str, Field]:
    """Figures of a 合计 row: by column in the table's own 合计 row, else the last figure is the total."""
    nums = [t for t in toks if number_value(t.text) is not None]
    out: dict[str, Field] = {}
    if table is not None and hit.row == table.end_row and hit.label in ("合计", "总计"):
        for tok in nums:
            kind = column_of(table.columns, tok.bbox)
            name = {"amount": "total_amount", "quantity": "total_quantity"}.get(kind)
            if name and name not in out:
                out[name] = make_field(number_value(tok.text), [tok], CONF_CLEAR, ctx)
        kinds = {c.kind for c in table.columns}
        if out or ("quantity" in kinds and "amount" not in kinds):
            return out
    if hit.kind == "total_amount" and nums:
        return {"total_amount": make_field(number_value(nums[-1].text), [nums[-1]], CONF_CLEAR, ctx)}
    return {}


def _totals(ctx: DeliveryPage, table: ItemTable | None) -> dict[str, Field]:
    """合计 / 总计 / 小写 figures and 大写 words, top to bottom; the first of each wins."""
    out: dict[str, Field] = {}
    kinds = ("total_amount", "total_amount_in_words")
    for hit in sorted((x for x in ctx.hits if x.kind in kinds), key=lambda x: (x.row, x.bbox.x0)):
        if table is not None and hit.row == table.header_row:
            continue
        toks = row_after(ctx, hit)
        words = _words_run(toks)
        if words and "total_amount_in_words" not in out:
            text = re.sub(rf"[{AMOUNT_MARKS}]", "", join_tokens(ctx, words).replace("人民币", ""))
            out["total_amount_in_words"] = make_field(text, words, CONF_CLEAR, ctx)
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
    ctx = build_delivery_page(page)
    table = find_table(ctx)
    skip = {table.header_row, *table.body} if table else set()
    fields = _header_fields(ctx, skip)
    fields.update(_totals(ctx, table))
    if first and (fields.get("supplier_name") is None or fields["supplier_name"].value is None):
        title = _title_supplier(ctx)
        if title is not None:
            fields["supplier_name"] = title
    items = [item_fields(ctx, item, table.columns) for item in group_items(ctx, table)] if table else []
    return fields, items


def extract_delivery_note(layout: Layout) -> tuple[dict[str, Field], list[LineItem]]:
    """Header fields and item lines of a Chinese delivery note, from the layout alone."""
    fields: dict[str, Field] = {}
    items: list[dict[str, Field]] = []
    for k, page in enumerate(layout.pages):
        page_fields, page_items = _page_extract(page, k == 0)
        merge_page_fields(fields, page_fields)
        items.extend(page_items)
    _cross_check(fields, items)
    if "currency" not in fields and ("total_amount" in fields or any("amount" in it for it in items)):
        fields["currency"] = Field("CNY", "", 0.8)
    return fields, [LineItem(i + 1, item) for i, item in enumerate(items) if item]
