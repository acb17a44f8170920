"""Item lines of a till receipt (小票, 收据) printed without column titles.

A till prints each item as its name, then (on the same line or the next) the quantity, a unit where it
is weighed, 'x', the unit price and the amount: '苹果        69.48' over '4 kg x 17.37', or '番茄罐头' over
'4 x 10.22   40.88'.  An item with no quantity line ('纯牛奶   80.98') is one of them.  So, row by row:
a quantity line (`QTY_LINE_RX`) completes the item above it; a name line (text, perhaps an amount at its
right end) starts one; a line with all of them ('苹果 1.00 公斤 12.04 12.04') is an item of its own when
its figures agree.  Rows with a label (日期, 合计, 收款 ...) are not items, and the list ends at the
first total after an item.  Only a page with at least one quantity line is read this way: a name and a
figure alone on a row are too weak a sign of an item.
"""

from __future__ import annotations

import re
from decimal import Decimal

from extractors.cn.delivery_layout import DeliveryPage
from extractors.cn.form import CONF_BELOW, CONF_CLEAR, Token, join_tokens, make_field, parse_number, split_token
from extractors.result import Field

QTY_LINE_RX = re.compile(r"^(?P<quantity>\d+(?:\.\d+)?) ?(?P<unit>[^\d\s.xX×*]{1,4})? ?[xX×*] ?"
                         r"(?P<unit_price>[¥￥]?\d[\d,]*(?:\.\d+)?)(?: +(?P<amount>[¥￥]?-?\d[\d,]*\.\d{2}))?$")
_MONEY_RX = re.compile(r"^[¥￥]?-?\d[\d,]*\.\d{2}$")
_RULE_RX = re.compile(r"^[-=*_~.·]{4,}$")
_ENDS = frozenset({"total_amount", "total_amount_in_words", "subtotal", "tax_amount"})


def _spaced(row: tuple[Token, ...]) -> tuple[str, list[int]]:
    """A row's token texts joined by single spaces, and each token's start offset."""
    text, starts = "", []
    for tok in row:
        if text:
            text += " "
        starts.append(len(text))
        text += tok.text
    return text, starts


def _span_toks(row: tuple[Token, ...], starts: list[int], s: int, e: int) -> list[Token]:
    """The tokens holding characters s..e of the spaced text, a token glued to its neighbour ('4x18.46')
    cut so that each value keeps a box of its own."""
    out = []
    for tok, a in zip(row, starts):
        b = a + len(tok.text)
        if b <= s or a >= e:
            continue
        cuts = [c - a for c in (s, e) if a < c < b]
        pieces = split_token(tok, cuts)
        offset = a
        for piece in pieces:
            if offset >= s and offset + len(piece.text) <= e:
                out.append(piece)
            offset += len(piece.text)
    return out


def _qty_line(ctx: DeliveryPage, row: tuple[Token, ...]) -> dict[str, Field] | None:
    text, starts = _spaced(row)
    m = QTY_LINE_RX.match(text)
    if m is None:
        return None
    out: dict[str, Field] = {}
    for name in ("quantity", "unit", "unit_price", "amount"):
        if m.group(name) is None:
            continue
        toks = _span_toks(row, starts, m.start(name), m.end(name))
        value = m.group(name) if name == "unit" else parse_number(m.group(name))
        if toks and value is not None:
            out[name] = make_field(value, toks, CONF_CLEAR, ctx)
    return out if "quantity" in out and "unit_price" in out else None


def _name_line(ctx: DeliveryPage, row: tuple[Token, ...]) -> dict[str, Field] | None:
    """'苹果   69.48' -> description and amount; '番茄罐头' -> description; a figure first is no name."""
    money = row[-1] if len(row) > 1 and _MONEY_RX.match(row[-1].text) else None
    words = list(row[:-1] if money is not None else row)
    text = join_tokens(ctx, words)
    if not words or parse_number(text) is not None or not any(ch.isalpha() for ch in text) \
            or any(parse_number(t.text) is not None for t in words[1:]):
        return None
    out = {"description": make_field(text, words, CONF_BELOW, ctx)}
    if money is not None:
        out["amount"] = make_field(parse_number(money.text), [money], CONF_CLEAR, ctx)
    return out


def _inline_item(ctx: DeliveryPage, row: tuple[Token, ...]) -> dict[str, Field] | None:
    """'苹果  1.00 公斤  12.04  12.04': a name, then quantity, a unit perhaps, unit price and amount on one
    line, taken only when quantity x price gives the amount."""
    k = next((i for i, t in enumerate(row) if parse_number(t.text) is not None), None)
    if not k:
        return None
    rest = list(row[k:])
    unit = rest.pop(1) if len(rest) == 4 and parse_number(rest[1].text) is None else None
    nums = [parse_number(t.text) for t in rest]
    if len(rest) != 3 or any(n is None for n in nums) or not _agree(*nums):
        return None
    out = {"description": make_field(join_tokens(ctx, row[:k]), row[:k], CONF_BELOW, ctx)}
    for name, tok, value in zip(("quantity", "unit_price", "amount"), rest, nums):
        out[name] = make_field(value, [tok], CONF_CLEAR, ctx)
    if unit is not None:
        out["unit"] = make_field(unit.text, [unit], CONF_CLEAR, ctx)
    return out


def _agree(q: Decimal | None, p: Decimal | None, a: Decimal | None) -> bool:
    return q is not None and p is not None and a is not None \
        and abs(q * p - a) <= Decimal("0.011") + abs(q) * Decimal("0.005")


def receipt_items(ctx: DeliveryPage) -> list[dict[str, Field]]:
    """The page's till-roll items, top to bottom; none where no row reads as a quantity line."""
    labelled = {x.row for x in ctx.hits}
    ends = {x.row for x in ctx.hits if x.kind in _ENDS}
    items: list[dict[str, Field]] = []
    pending: dict[str, Field] | None = None
    found_qty = False
    for i, row in enumerate(ctx.rows):
        if i in ends and items:
            break
        if i in labelled or _RULE_RX.match("".join(t.text for t in row)):
            pending = None
            continue
        inline = _inline_item(ctx, row)
        if inline is not None:
            found_qty = True
            items.append(inline)
            pending = None
            continue
        qty = _qty_line(ctx, row)
        if qty is not None:
            found_qty = True
            if pending is not None:
                pending.update({k: f for k, f in qty.items() if k not in pending})
                pending = None
            continue
        pending = _name_line(ctx, row)
        if pending is not None:
            items.append(pending)
    if not found_qty:
        return []
    return [_checked(it) for it in items if "amount" in it]


def _checked(item: dict[str, Field]) -> dict[str, Field]:
    """Quantity x unit price ~ amount raises all three; a clear mismatch lowers them."""
    q, p, a = (item.get(k) for k in ("quantity", "unit_price", "amount"))
    if q and p and a and all(isinstance(f.value, Decimal) for f in (q, p, a)):
        ok = _agree(q.value, p.value, a.value)
        for k in ("quantity", "unit_price", "amount"):
            item[k] = item[k].with_confidence(0.95 if ok else 0.7)
    return item
