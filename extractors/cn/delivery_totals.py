"""Totals of a labelled Chinese form (送货单, 装箱单, 小票, a supplier's own 销售发票): the figures printed
beside 合计 / 总计 / 应付金额, 不含税金额, 税额 / 增值税 and the 大写 amount in words.

Every labelled figure below the item table's titles is a candidate (the table's own 合计 row is read by
column).  Where the form prints tax, the amounts are told apart by their arithmetic, not by the wording
(合计 is the net sum on one supplier's invoice and the gross on another's): the tax is the figure of a
tax label without a rate (else the sum of the per-rate ones, 增值税 13%: …), and the subtotal and total
are the two candidates with subtotal + tax = total.  Without tax, the first total figure is the total.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from extractors.cn.checks import AMOUNT_MARKS, amount_in_words_to_decimal
from extractors.cn.delivery_layout import DeliveryPage, number_value, words_amount
from extractors.cn.delivery_table import ItemTable
from extractors.cn.form import (
    CONF_CHECKED, CONF_CLEAR, CONF_DERIVED, CONF_MISMATCH, CONF_UNLABELLED, Hit, Token, column_of, join_tokens,
    make_field,
)
from extractors.layout import Layout, merge_bboxes, split_box_by_chars
from extractors.result import Field

_KINDS = ("total_amount", "total_amount_in_words", "subtotal", "tax_amount")
_RATE_RX = re.compile(r"\d+(?:\.\d+)?%")


@dataclass(frozen=True, slots=True)
class _Figure:
    kind: str            # the label's kind: total_amount, subtotal, tax_amount (words rows: total_amount)
    field: Field
    rated: bool          # a tax figure of one rate (增值税 13%: …)


def _words_run(toks: list[Token]) -> list[Token]:
    """The first run of tokens that reads as a 大写 amount (split words joined)."""
    for i in range(len(toks)):
        for j in range(len(toks), i, -1):
            if words_amount("".join(t.text for t in toks[i:j])) is not None:
                return toks[i:j]
    return []


def _after_label(ctx: DeliveryPage, hit: Hit) -> list[Token]:
    """The tokens right of a label on its row, up to the next label."""
    out: list[Token] = []
    for tok in ctx.rows[hit.row]:
        if tok.bbox.cx <= hit.bbox.x1:
            continue
        if ctx.is_stopper(tok):
            break
        out.append(tok)
    return out


def _table_sums(ctx: DeliveryPage, toks: list[Token], table: ItemTable) -> dict[str, Field]:
    """The table's own 合计 row, by column: the amount column's sum, the quantity column's."""
    out: dict[str, Field] = {}
    for tok in (t for t in toks if number_value(t.text) is not None):
        name = {"amount": "total_amount", "quantity": "total_quantity"}.get(column_of(table.columns, tok.bbox))
        if name and name not in out:
            out[name] = make_field(number_value(tok.text), [tok], CONF_CLEAR, ctx)
    return out


def _figures(ctx: DeliveryPage, table: ItemTable | None) -> tuple[list[_Figure], dict[str, Field]]:
    """Every labelled figure in reading order, and the fields read on the way (words, total quantity)."""
    figures: list[_Figure] = []
    out: dict[str, Field] = {}
    for hit in sorted((x for x in ctx.hits if x.kind in _KINDS), key=lambda x: (x.row, x.bbox.x0)):
        if table is not None and hit.row in table.header_rows:
            continue
        sum_row = table is not None and hit.row == table.end_row and hit.label in ("合计", "总计")
        toks = _after_label(ctx, hit) if hit.kind != "total_amount_in_words" and not sum_row else \
            [t for t in ctx.rows[hit.row] if t.bbox.cx > hit.bbox.x1 and not ctx.is_stopper(t)]
        words = _words_run(toks)
        if words and "total_amount_in_words" not in out:
            text = re.sub(rf"[{AMOUNT_MARKS}]", "", join_tokens(ctx, words).replace("人民币", ""))
            out["total_amount_in_words"] = make_field(text, words, CONF_CLEAR, ctx)
        rest = [t for t in toks if t not in words]
        if sum_row:
            sums = _table_sums(ctx, rest, table)
            if "total_quantity" in sums:
                out.setdefault("total_quantity", sums["total_quantity"])
            if "total_amount" in sums:
                figures.append(_Figure("total_amount", sums["total_amount"], False))
            kinds = {c.kind for c in table.columns}
            if sums or ("quantity" in kinds and "amount" not in kinds):
                continue
        nums = [t for t in rest if number_value(t.text) is not None]
        if nums:
            rated = _RATE_RX.search("".join(t.text for t in ctx.rows[hit.row])) is not None
            kind = "total_amount" if hit.kind == "total_amount_in_words" else hit.kind
            figures.append(_Figure(kind, make_field(number_value(nums[-1].text), [nums[-1]], CONF_CLEAR, ctx),
                                   rated))
    return figures, out


def _tax(figures: list[_Figure]) -> Field | None:
    """The tax: a tax figure without a rate, else the per-rate ones added up."""
    plain = [f.field for f in figures if f.kind == "tax_amount" and not f.rated]
    if plain:
        return plain[0]
    rated = [f.field for f in figures if f.kind == "tax_amount"]
    if not rated:
        return None
    total = sum((f.value for f in rated if isinstance(f.value, Decimal)), Decimal(0))
    boxes = [f.bbox for f in rated if f.bbox is not None]
    return Field(total, " + ".join(f.raw for f in rated), CONF_DERIVED, rated[0].page,
                 merge_bboxes(boxes) if boxes else None)


def _unlabelled_words(ctx: DeliveryPage, table: ItemTable | None) -> Field | None:
    """A 大写 amount whose label we do not know: amounts in financial capitals look like nothing else."""
    skip = set(table.header_rows) | set(table.body) if table is not None else set()
    for i, row in enumerate(ctx.rows):
        if i in skip:
            continue
        words = _words_run([t for t in row if not ctx.is_stopper(t)])
        text = "".join(t.text for t in words)
        if words and len(text) >= 3 and any(ch in text for ch in "圆元"):
            text = re.sub(rf"[{AMOUNT_MARKS}]", "", join_tokens(ctx, words).replace("人民币", ""))
            return make_field(text, words, CONF_UNLABELLED, ctx)
    return None


def totals(ctx: DeliveryPage, table: ItemTable | None) -> dict[str, Field]:
    """Total, subtotal, tax, the 大写 amount and the total quantity of a page."""
    figures, out = _figures(ctx, table)
    if "total_amount_in_words" not in out:
        words = _unlabelled_words(ctx, table)
        if words is not None:
            out["total_amount_in_words"] = words
    tax = _tax(figures)
    money = [f for f in figures if f.kind != "tax_amount" and isinstance(f.field.value, Decimal)]
    if tax is not None and isinstance(tax.value, Decimal):
        for net in money:
            gross = next((g for g in money if g.field.value == net.field.value + tax.value), None)
            if gross is not None and tax.value != 0:
                out.update(subtotal=net.field, tax_amount=tax, total_amount=gross.field)
                return out
        out["tax_amount"] = tax
    first = next((f for f in money if f.kind == "total_amount"), None) or next(iter(money), None)
    if first is not None:
        out["total_amount"] = first.field
    return out


def cross_check(fields: dict[str, Field], items: list[dict[str, Field]]) -> None:
    """大写 against 小写, and the line amounts against the subtotal or total (in place)."""
    total, words = fields.get("total_amount"), fields.get("total_amount_in_words")
    in_words = amount_in_words_to_decimal(str(words.value)) if words else None
    if total is not None and in_words is not None:
        conf = CONF_CHECKED if in_words == total.value else CONF_MISMATCH
        fields["total_amount"] = total.with_confidence(max(total.confidence, conf) if conf > 0.9 else conf)
        fields["total_amount_in_words"] = words.with_confidence(conf)
    elif total is None and words is not None and in_words is not None:
        fields["total_amount"] = Field(in_words, words.raw, CONF_DERIVED, words.page, words.bbox)
    net = fields.get("subtotal") or fields.get("total_amount")
    amounts = [it["amount"].value for it in items if "amount" in it]
    if net is not None and amounts and all(isinstance(a, Decimal) for a in amounts) \
            and sum(amounts) == net.value and net.confidence < CONF_CHECKED:
        name = "subtotal" if "subtotal" in fields else "total_amount"
        fields[name] = net.with_confidence(0.95)


def yuan_sign(layout: Layout, total: Field | None) -> Field | None:
    """CNY from a printed ¥ (its box), the one nearest the total where several are printed; None without one."""
    signs = [(page.number, split_box_by_chars(w.bbox, w.text.strip(), [1])[0][1] if len(w.text.strip()) > 1
              else w.bbox) for page in layout.pages for w in page.words()
             if unicodedata.normalize("NFKC", w.text).strip().startswith("¥")]     # '¥1,234': the sign's part
    if not signs:
        return None
    if total is not None and total.bbox is not None:
        tb = total.bbox
        signs.sort(key=lambda s: (s[0] != total.page, abs(s[1].cy - tb.cy) + 0.1 * abs(s[1].x1 - tb.x0)))
    page, box = signs[0]
    return Field("CNY", "¥", CONF_CLEAR, page, box)
