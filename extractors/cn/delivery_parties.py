"""Whose is it: the party blocks of a labelled Chinese form (送货单, 出库单, 装箱单, a supplier's own 销售发票).

A form prints its supplier as a letterhead (the company line at the top, its street, phone and tax id
under it, often without labels) and names the customer in a block of its own (收货单位 / 客户 / 购买方 ...,
with 地址 / 电话 / 税号 under it); some print a 供方 block beside the customer's.  Labels such as 地址, 电话,
税号 or 统一社会信用代码 say what a value is, not whose: the block they sit in does.  So:

- `party_anchors` are the party labels of the page's header (above the item table);
- `owner` gives a label (or an unlabelled line) to the anchor above it in its column band, the band of an
  anchor ending where the next label of the anchor's row begins; with no anchor above, it is the
  letterhead's, the supplier's;
- `letterhead` reads the supplier's name from the top rows by its shape (a company name, never a street
  line, a slogan above it or the document's title), and `block_lines` the unlabelled lines under a party's
  name or the letterhead: a street address, a phone number, a tax id, each by its shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from extractors.cn.delivery_layout import DeliveryPage
from extractors.cn.form import CONF_TITLE, CONF_UNLABELLED, Token, join_tokens, make_field, split_token
from extractors.cn.shapes import company_name, is_separator, shape_of
from extractors.layout import BBox
from extractors.result import Field

_PARTY_OF = {"buyer_name": "buyer", "supplier_name": "supplier"}


@dataclass(frozen=True, slots=True)
class Anchor:
    """A party label (or the letterhead) and the column band its block takes."""

    party: str          # "buyer" / "supplier"
    row: int
    x0: float
    x1: float           # where the next label on its row begins (the page's width if none)


def party_anchors(ctx: DeliveryPage, rows: range) -> list[Anchor]:
    """The party labels in the given rows (the header), each with its band."""
    out = []
    for hit in ctx.hits:
        if hit.kind in _PARTY_OF and hit.row in rows:
            nxt = [x.bbox.x0 for x in ctx.hits if x.row == hit.row and x.bbox.x0 > hit.bbox.x1 + ctx.h]
            out.append(Anchor(_PARTY_OF[hit.kind], hit.row, hit.bbox.x0, min(nxt, default=ctx.page.width)))
    return out


def owner(anchors: list[Anchor], row: int, box: BBox, h: float, row_labels: tuple[float, ...] = ()) -> str:
    """The party whose block holds something at (row, box): the nearest anchor above it (or on its row,
    left of it) whose band holds its left edge; the supplier's (the letterhead's) when none does, or when
    its row also holds a label (x0 in `row_labels`) outside that band and outside every other block: such
    a row ('电话：…  地址：…' across the page) runs under the block, it is no line of it."""
    above = [a for a in anchors if a.row < row or (a.row == row and a.x0 <= box.x0)]
    held = [a for a in above if _in_band(a, box.x0, h)]
    if not held:
        return "supplier"
    best = max(held, key=lambda a: (a.row, a.x0))
    if any(not _in_band(best, x, h) and not any(_in_band(a, x, h) for a in above) for x in row_labels):
        return "supplier"
    return best.party


def _in_band(a: Anchor, x: float, h: float) -> bool:
    return a.x0 - 2 * h <= x < a.x1 - 0.5 * h


# --------------------------------------------------------------------------------------------
# cells and shapes
# --------------------------------------------------------------------------------------------

def cells(ctx: DeliveryPage, row: int, taken: set[int] | None = None) -> list[list[Token]]:
    """A row's tokens split into cells at gaps wider than 1.5 word heights, at label tokens, at tokens read
    as a label's value (`taken`), at separators ('|', '·') and around a phone number or tax id (a value
    of its own however close it is printed)."""
    out: list[list[Token]] = []
    for tok in ctx.rows[row]:
        if ctx.is_stopper(tok) or is_separator(tok.text) or (taken is not None and id(tok) in taken):
            if out and out[-1]:
                out.append([])
            continue
        coded = shape_of(tok.text) in ("phone", "tax_id")     # a street, then its phone, a space apart
        if out and out[-1] and tok.bbox.x0 - out[-1][-1].bbox.x1 <= 1.5 * ctx.h and not coded \
                and shape_of(out[-1][-1].text) not in ("phone", "tax_id"):
            out[-1].append(tok)
        else:
            out.append([tok])
    return [c for c in out if c]


# --------------------------------------------------------------------------------------------
# letterhead and block lines
# --------------------------------------------------------------------------------------------

def letterhead(ctx: DeliveryPage, rows: range, taken: set[int]) -> tuple[Field, int] | None:
    """The supplier's name from the top of the page: the first cell that reads as a company name and is
    no label's value (`taken`: ids of tokens read as values), with its row."""
    for i in rows:
        for cell in cells(ctx, i):
            if any(id(t) in taken for t in cell):
                continue
            name = company_name("".join(t.text for t in cell))
            if name is not None:
                return make_field(name, _prefix(cell, len(name)), CONF_TITLE, ctx), i
    return None


def _prefix(cell: list[Token], n: int) -> list[Token]:
    """The tokens holding the first n characters of a cell, the last one cut where a title is glued on
    ('XX有限公司送货单'), so that the name's box leaves the title out."""
    out: list[Token] = []
    for tok in cell:
        if n <= 0:
            break
        out.append(tok if len(tok.text) <= n else split_token(tok, [n])[0])
        n -= len(tok.text)
    return out


def block_lines(ctx: DeliveryPage, anchor: Anchor | None, start: int, stop: int,
                taken: set[int]) -> dict[str, Field]:
    """Unlabelled cells of rows start..stop-1 within an anchor's band (the whole width for the letterhead):
    the first street address, phone number and tax id by their shapes."""
    out: dict[str, Field] = {}
    x0, x1 = (anchor.x0 - 2 * ctx.h, anchor.x1 - 0.5 * ctx.h) if anchor else (0.0, ctx.page.width)
    for i in range(start, stop):
        for cell in cells(ctx, i, taken):
            if not x0 <= cell[0].bbox.x0 < x1:
                continue
            text = join_tokens(ctx, cell)
            kind = shape_of(text)
            if kind in ("address", "phone", "tax_id") and kind not in out:
                value = text.replace(" ", "") if kind != "address" else text
                out[kind] = make_field(value, cell, CONF_UNLABELLED, ctx)
    return out
