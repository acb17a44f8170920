"""Items of a till roll that prints no column titles.

A receipt lists its items between rules of dashes (or equals, stars) under the shop's header and above
the total: a description row with the amount at its right end, or a description row followed by a
'2 kg x 10.51  21.02' row (quantity, unit, price and the amount), or all of it on one row.  Rows are read
by what they hold (`table.row_tokens`), not by titles: a row of a quantity, an 'x' or '@' and a price
is the quantity row of the description above it; the total, payment and change rows end the list.
"""

from __future__ import annotations

import re
from decimal import Decimal

from extractors.layout import Layout, Word, merge_bboxes
from extractors.parsing import Conventions
from extractors.result import Field, LineItem
from extractors.table import Row, Token, norm_word, page_rows, row_tokens

_RULE = re.compile(r"^[-=*_~.·]{6,}$")
_TIMES = frozenset({"x", "×", "@", "*"})
_STOP = frozenset({
    "total", "totaal", "totale", "gesamt", "summe", "zwischensumme", "subtotal", "sub-total", "sous-total",
    "subtotaal", "amount", "balance", "à", "a", "te", "zu", "bar", "cash", "espèces", "contant", "change",
    "rendu", "rückgeld", "wisselgeld", "visa", "card", "carte", "karte", "pin", "tax", "vat", "tva", "btw",
    "mwst", "ust", "gst", "net", "netto", "payer", "betalen", "zahlen", "rounding", "grand", "sales",
})
_UNIT_RE = re.compile(r"^[^\W\d_]{1,6}\.?$")
_MONEY = re.compile(r"\d[.,]\d\d(?!\d)")


def receipt_items(layout: Layout, conv: Conventions) -> list[LineItem]:
    """The items of a receipt without a title row, in print order (line_no from 1)."""
    items: list[dict[str, Field]] = []
    for page in layout.pages[:1]:
        rows = page_rows(page)
        start = _list_start(rows, conv, page.number)
        if start is None:
            continue
        current: dict[str, Field] | None = None
        for row in rows[start + 1:]:
            if _is_rule(row):
                if items:
                    break
                continue
            first = norm_word(row.words[0].text)
            if first in _STOP:
                break
            qty = _quantity_row(_word_tokens(row, conv), page.number)
            if qty is not None and current is not None and "quantity" not in current:
                current.update({k: v for k, v in qty.items() if k not in current})
                continue
            toks = row_tokens(row.words, decimal_comma=conv.decimal_comma)
            current = _description_row(row, toks, page.number)
            if current is not None:
                items.append(current)
    complete = [f for f in items if "amount" in f and "description" in f]
    return [LineItem(n, f) for n, f in enumerate(complete, start=1)]


def _list_start(rows: list[Row], conv: Conventions, page: int) -> int | None:
    """The row before the first item: the first rule, or where the page has none (OCR often drops a
    rule of stars or dashes) the row before the first run of two item rows: a description, then its
    quantity row; or a description with its amount, then another."""
    start = next((i for i, r in enumerate(rows) if _is_rule(r)), None)
    if start is not None:
        return start
    def described(i: int) -> dict[str, Field] | None:
        return _description_row(rows[i], row_tokens(rows[i].words, decimal_comma=conv.decimal_comma), page)
    def item(i: int) -> bool:
        found = described(i)
        return found is not None and "amount" in found
    def quantity(i: int) -> bool:
        return _quantity_row(_word_tokens(rows[i], conv), page) is not None
    for i in range(len(rows) - 1):
        if norm_word(rows[i].words[0].text) in _STOP and _MONEY.search(rows[i].text):
            return None   # the total before any item ('VAT: GB419020681' in the shop's header is no total)
        if described(i) is not None and quantity(i + 1) or item(i) and item(i + 1):
            return i - 1
    return None


def _word_tokens(row: Row, conv: Conventions) -> list[Token]:
    """A row's tokens word by word, for a quantity row ('4 x 27,51'); a description row is read with its
    words glued ('Dübel 8 mm  4,40': `row_tokens` of the whole row)."""
    return [t for w in row.words for t in row_tokens((w,), decimal_comma=conv.decimal_comma)]


def _is_rule(row: Row) -> bool:
    return len(row.words) == 1 and bool(_RULE.match(row.words[0].text))


def _quantity_row(toks: list[Token], page: int) -> dict[str, Field] | None:
    """'2 kg x 10.51 21.02 A' -> quantity, unit, unit price (and amount); None for other rows."""
    kinds = [t for t in toks if not (t.kind == "text" and len(t.text) == 1 and t.text.isupper())]   # tax code
    if len(kinds) < 3 or kinds[0].kind != "num":
        return None
    i = 1
    unit = None
    if kinds[i].kind == "text" and _UNIT_RE.match(kinds[i].text) and kinds[i].text.casefold() not in _TIMES:
        unit, i = kinds[i], i + 1
    nums = [t for t in kinds if t.kind == "num"]
    if len(nums) == 3 == len(kinds) - (unit is not None) and _product_is(*nums):
        q, p = nums[0], nums[1]    # '4.00  3.16  12.64' under its description: no 'x' but the product
        i -= 1
    elif i >= len(kinds) or kinds[i].text.casefold() not in _TIMES or i + 1 >= len(kinds) or kinds[i + 1].kind != "num":
        return None
    else:
        q, p = kinds[0], kinds[i + 1]
    out = {"quantity": _field(q, page), "unit_price": _field(p, page)}
    if unit is not None:
        out["unit"] = Field(unit.text, unit.text, 0.7, page, unit.bbox)
    rest = [t for t in kinds[i + 2:] if t.kind == "num"]
    if rest:
        out["amount"] = _field(rest[-1], page, ok=_product_is(q, p, rest[-1]))
    return out


def _description_row(row: Row, toks: list[Token], page: int) -> dict[str, Field] | None:
    """A description with the amount at its right end (or without, the amount on the row below)."""
    words = [Word(t.text, t.bbox) for t in toks if t.kind == "text" and not (len(t.text) == 1 and t.text.isupper())]
    if not words or not any(ch.isalpha() for w in words for ch in w.text) or ":" in row.words[0].text:
        return None
    nums = [t for t in toks if t.kind == "num" and t.bbox.x0 > words[-1].bbox.x1]
    tail = _counted_tail(toks)
    if len(nums) < 3 and tail is not None:   # 'Apples  1 kg  3.12  3.12 A': the unit between count and price
        nums, words = tail, [w for w in words if w.bbox.x1 <= tail[0].bbox.x0]
    text = " ".join(w.text for w in words if w.bbox.x1 <= (nums[0].bbox.x0 if nums else float("inf")))
    if not text:
        return None
    out = {"description": Field(text, text, 0.7, page, merge_bboxes(w.bbox for w in words if w.text in text.split()))}
    if len(nums) >= 3 and _product_is(*nums[-3:]):   # 'Frozen dumplings  2  4.49  8.98'
        out["quantity"], out["unit_price"] = _field(nums[-3], page), _field(nums[-2], page)
        out["amount"] = _field(nums[-1], page, ok=True)
        unit = [t for t in toks if t.kind == "text" and nums[-3].bbox.x1 <= t.bbox.x0 <= nums[-2].bbox.x0]
        if len(unit) == 1 and _UNIT_RE.match(unit[0].text):
            out["unit"] = Field(unit[0].text, unit[0].text, 0.7, page, unit[0].bbox)
            out["description"] = _description_without(out["description"], words, unit[0], page)
    elif nums:
        out["amount"] = _field(nums[-1], page)
    return out


def _counted_tail(toks: list[Token]) -> list[Token] | None:
    """The numbers after the description when they are a count, a unit word, a price and their product."""
    first = next((i for i, t in enumerate(toks) if t.kind == "num"), None)
    if first is None or first == 0:
        return None
    rest = toks[first:]
    nums = [t for t in rest if t.kind == "num"]
    words = [t for t in rest if t.kind != "num" and not (len(t.text) == 1 and t.text.isupper())]
    if len(nums) != 3 or len(words) != 1 or not _UNIT_RE.match(words[0].text) or not _product_is(*nums):
        return None
    return nums if nums[0].bbox.x1 <= words[0].bbox.x0 <= nums[1].bbox.x0 else None


def _description_without(desc: Field, words: list[Word], unit: Token, page: int) -> Field:
    kept = [w for w in words if w.bbox.x1 <= unit.bbox.x0 - 0.5]
    text = " ".join(w.text for w in kept)
    return Field(text, text, desc.confidence, page, merge_bboxes(w.bbox for w in kept)) if kept else desc


def _product_is(q: Token, p: Token, a: Token) -> bool:
    if None in (q.value, p.value, a.value):
        return False
    return abs(q.value * p.value - a.value) <= max(Decimal("0.011"), abs(a.value) * Decimal("0.005"))  # type: ignore


def _field(tok: Token, page: int, *, ok: bool = False) -> Field:
    return Field(tok.value, tok.text, 0.85 if ok else 0.7, page, tok.bbox)
