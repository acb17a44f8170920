"""The title rows of a labelled Chinese form's item table (送货单, 出库单, 装箱单, 销售单 ...) and the
columns they name.

Suppliers word their column titles freely (品名 / 商品名称 / 物料名称, 数量 / 实发数量 / 出库数量, 金额 /
小计 / 总价 ...), print titles we have no field for (箱规, 件数, 净重(kg), 客户代码) and wrap long ones onto
a second line (订单 / 数量, 计量 / 单位, 单价（ / 元）).  So a title is read by what it says, not by a list of
exact wordings: `column_role` maps any title text to the line field it names by the words in it (编码 ->
supplier_sku, 数量 -> quantity, 订单数量 -> ordered_quantity, 保质期至 -> expiry_date, ...), `other` when it
names nothing we keep; and the title band is the row with three titles or more plus the rows just above
or below it that hold only more title text (`find_header`).  Every title, known or not, becomes a column,
so that the cells of a column we do not keep never spill into their neighbours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.cn.delivery_layout import COLUMN_KINDS, DeliveryPage
from extractors.cn.form import Column, Token, join_tokens, parse_number
from extractors.layout import BBox, merge_bboxes
from extractors.parsing import parse_date

# title text -> line field, the most specific wording first (商品编码 is a code, not a name; 生产批号 a batch)
_ROLE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((k, re.compile(p)) for k, p in (
    ("po_line_ref", r"订单行号|PO行号|订单行"),
    ("line_no", r"^(?:序号|行号|No\.?|NO\.?|#|项次|行)$"),
    ("barcode", r"条码|条形码|EAN|GTIN|69码"),
    ("batch_no", r"^(?!.*日期).*(?:批号|批次)"),
    ("production_date", r"生产日期|制造日期|生产时间|出厂日期|生产$"),
    ("expiry_date", r"有效期至|保质期至|到期|失效|有效日期|有效期$|期至"),
    ("shelf_life", r"保质期|期限"),
    ("ordered_quantity", r"(?:应发|应送|订货|订单|订购|应收|计划|采购|要货)数量?$|订购量|订货量"),
    ("packages", r"件数|箱数|包数|托数"),
    ("pack_size", r"箱规|装箱规格|装箱数|入数|每箱"),
    ("weight", r"重量|净重|毛重|体积|\(kg\)|\(KG\)|\(m3\)"),
    ("carton_no", r"箱号|件号|托号"),
    ("tax_rate", r"税率|征收率"),
    ("tax_amount", r"税额"),
    ("unit_price", r"单价|售价|价格|^价$"),
    ("amount", r"金额|总价|小计|合计|总额|^额"),
    ("quantity", r"数量|^数$|^量$"),
    ("unit", r"单位"),
    ("spec", r"规格|型号"),
    ("supplier_sku", r"编码|货号|编号|料号|代码|商品码|物料号|品号|SKU"),
    ("description", r"品名|名称|商品|货物|产品|物料|品目|项目|摘要|内容|品种|货品|存货"),
    ("remarks", r"备注|说明|附注"),
))
NUMERIC_ROLES = frozenset({"quantity", "ordered_quantity", "unit_price", "amount", "tax_amount", "packages",
                           "weight", "pack_size"})
_MAIN_ROLES = frozenset({"quantity", "description", "amount", "unit_price"})
_BRACKETED = re.compile(r"^[(（/].{0,6}$|^.{0,5}[)）]$")
_MARKS = str.maketrans("", "", ":：()（）[]【】/、 ")


def column_role(text: str) -> str | None:
    """The line field a column title names ('实发数量' -> quantity, '单价(元)' -> unit_price), else None."""
    t = text.strip().rstrip(":：")
    if not t:
        return None
    for kind, rx in _ROLE_RULES:
        if rx.search(t) or rx.search(t.translate(_MARKS)):
            return kind
    return None


@dataclass(frozen=True, slots=True)
class _Unit:
    """One title on a title row: a label hit's tokens, or a word no label covers."""

    toks: tuple[Token, ...]
    role: str | None

    @property
    def bbox(self) -> BBox:
        return merge_bboxes(t.bbox for t in self.toks)

    @property
    def text(self) -> str:
        return "".join(t.text for t in self.toks)


@dataclass(frozen=True, slots=True)
class Header:
    """The table's title band: its rows (indexes into the page's rows) and its columns, left to right."""

    rows: tuple[int, ...]
    columns: tuple[Column, ...]


def _is_value(text: str) -> bool:
    """A cell value, not a title: a figure or a date."""
    return parse_number(text) is not None or parse_date(text) is not None


def _units(ctx: DeliveryPage, i: int) -> list[_Unit]:
    """The titles of row i: column-label hits as one unit each, other words one by one."""
    hits = [x for x in ctx.hits if x.row == i]
    covered: dict[int, tuple[Token, ...]] = {}
    roles: dict[int, str | None] = {}
    for hit in hits:
        first = id(hit.toks[0])
        covered[first] = hit.toks
        kind = hit.kind if hit.kind in COLUMN_KINDS else None
        roles[first] = column_role("".join(t.text for t in hit.toks)) or kind
    out: list[_Unit] = []
    inside: set[int] = {id(t) for toks in covered.values() for t in toks}
    for tok in ctx.rows[i]:
        if id(tok) in covered:
            unit = _Unit(covered[id(tok)], roles[id(tok)])
        elif id(tok) not in inside:
            unit = _Unit((tok,), column_role(tok.text))
        else:
            continue
        gap = unit.bbox.x0 - out[-1].bbox.x1 if out else -1.0
        reach = 1.2 * ctx.h if _BRACKETED.match(unit.text) else 0.4 * ctx.h   # '金额' '(元)' set a space apart
        if out and 0 <= gap < reach and (unit.role in (None, out[-1].role) or unit.text[0] in "/／"):
            out[-1] = _Unit(out[-1].toks + unit.toks, out[-1].role)   # '单价' '(' / '金额' '(元)': one title
        else:
            out.append(unit)
    return out


def _title_row(units: list[_Unit]) -> bool:
    """Three titles or more with distinct roles (a quantity, name, price or amount among them), most
    words of the row being titles, and no figure or date in it."""
    roles = {u.role for u in units if u.role and u.role != "remarks"}
    if len(roles) < 3 or not roles & _MAIN_ROLES:
        return False
    if any(_is_value(u.text) for u in units):
        return False
    return sum(u.role is not None for u in units) >= 0.5 * len(units)


def _continues(ctx: DeliveryPage, anchor: list[_Unit], i: int, near: int) -> bool:
    """Row i (next to row `near` of the band) holds only more title text: close above or below, no
    figure or date, each word under (or over) at most one title and short; a label of another kind
    ('失效' over '日期') only on a row as close as the lines of one wrapped title."""
    if not 0 <= i < len(ctx.rows) or abs(ctx.row_cy(i) - ctx.row_cy(near)) > 1.8 * ctx.h:
        return False
    tight = abs(ctx.row_cy(i) - ctx.row_cy(near)) <= 1.4 * ctx.h    # the second line of a wrapped title
    if not tight and any(x.row == i and x.kind not in COLUMN_KINDS and column_role("".join(t.text for t in x.toks))
                         is None for x in ctx.hits):
        return False
    units = _units(ctx, i)
    left, right = min(u.bbox.x0 for u in anchor), max(u.bbox.x1 for u in anchor)
    for u in units:
        box = u.bbox
        if _is_value(u.text) or len(u.text) > 8 or box.x1 < left - ctx.h or box.x0 > right + ctx.h:
            return False
        if sum(1 for a in anchor if a.bbox.x0 < box.x1 and box.x0 < a.bbox.x1) > 1:
            return False
    return bool(units)


def find_header(ctx: DeliveryPage, start: int = 0) -> Header | None:
    """The first title band at or after row `start`, with its columns; None when the page has none."""
    for i in range(start, len(ctx.rows)):
        anchor = _units(ctx, i)
        if not _title_row(anchor):
            continue
        rows = [i]
        while _continues(ctx, anchor, rows[0] - 1, rows[0]) and rows[0] - 1 >= start:
            rows.insert(0, rows[0] - 1)
        while _continues(ctx, anchor, rows[-1] + 1, rows[-1]):
            rows.append(rows[-1] + 1)
        return Header(tuple(rows), _columns(ctx, [_units(ctx, r) for r in rows], anchor))
    return None


def _columns(ctx: DeliveryPage, band: list[list[_Unit]], anchor: list[_Unit]) -> tuple[Column, ...]:
    """Titles stacked into columns: words of other rows join the title they lie under or over, a word
    glued to a title on its row ('金额' '(元)', '生产日期' '/批次') joins it, anything else is a column of
    its own; each column's role is read from its whole text."""
    stacks: list[list[_Unit]] = []
    for row in band:
        for u in row:
            target = _stack_for(stacks, u, ctx.h, same_row=row is anchor)
            if target is None:
                stacks.append([u])
            else:
                target.append(u)
    cols = []
    for stack in stacks:
        ordered = sorted(stack, key=lambda u: (round(u.bbox.cy / ctx.h), u.bbox.x0))
        text = "".join(u.text for u in ordered)
        role = column_role(text) or next((u.role for u in ordered if u.role), None) or "other"
        box = merge_bboxes(u.bbox for u in stack)
        cols.append(Column(role, box.x0, box.x1))
    return tuple(sorted(_distinct(cols), key=lambda c: c.x0))


def _stack_for(stacks: list[list[_Unit]], u: _Unit, h: float, *, same_row: bool) -> list[_Unit] | None:
    """The column a title joins: on its own row the title it is glued to; on another row of the band the
    one it lies under or over the most (by overlap, else by a near miss of 0.3 word heights)."""
    box = u.bbox
    best, best_overlap = None, -0.3 * h
    for stack in stacks:
        sbox = merge_bboxes(s.bbox for s in stack)
        if any(abs(s.bbox.cy - box.cy) < 0.5 * h for s in stack):
            if 0 <= box.x0 - sbox.x1 < 0.4 * h and (u.role is None or u.role == stack[-1].role):
                return stack
            continue
        overlap = min(box.x1, sbox.x1) - max(box.x0, sbox.x0)
        if overlap > best_overlap:
            best, best_overlap = stack, overlap
    return best


def _distinct(cols: list[Column]) -> list[Column]:
    """Two columns of one role (a second '数量' title): the left one keeps it only when a more specific
    role cannot be told; the rest become `other` so that each field is read from one column."""
    seen: set[str] = set()
    out = []
    for col in sorted(cols, key=lambda c: c.x0):
        if col.kind in seen and col.kind not in ("other",):
            out.append(Column("other", col.x0, col.x1))
        else:
            seen.add(col.kind)
            out.append(col)
    return out


def header_text(ctx: DeliveryPage, header: Header) -> str:
    """The band's text, row by row (for debugging and tests)."""
    return " / ".join(join_tokens(ctx, ctx.rows[r]) for r in header.rows)
