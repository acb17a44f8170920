"""Header fields of a labelled Chinese form (送货单, 出库单, 装箱单, 小票, a supplier's own 销售发票): every
label's value by its type, whose it is, the number printed beside the title and the supplier's
letterhead.  Works on the `DeliveryPage` of `extractors.cn.delivery_layout`.

- A label takes only a value of its type (`PARSERS`): a date label a date, a number label a code with
  digits, a signature label a person's name (an empty 收货人（签字）： takes nothing), a party label a name
  that is no label itself.  The value is right of the label, else under it; a code or date may stand far
  right of its label on an otherwise empty row.  Its box holds the value and nothing printed after it.
- Which document a number names: a 送货单号 / 出库单号 on a delivery note is its own number; on a packing
  list or an invoice it names the delivery note (`delivery_note_number`).  The title tells the kind.
- Dates: 送货日期 / 到货日期 are the delivery date; the document's date is its own label's (日期, 制单日期 ...),
  else the delivery date.  A date printed with another label (打印时间, 订单日期) is nobody's.
- Whose: 地址 / 电话 / 税号 belong to the party block they sit in (`extractors.cn.delivery_parties`); the
  supplier's name, street, phone and tax id may also come from its letterhead, by shape.
"""

from __future__ import annotations

import re

from extractors.cn.delivery_layout import PARSERS, PEOPLE, DeliveryPage, known_label
from extractors.cn.delivery_parties import Anchor, block_lines, cells, letterhead, owner, party_anchors
from extractors.cn.form import (
    CONF_BELOW, CONF_CLEAR, CONF_UNLABELLED, CONF_UNPARSED, Hit, Parser, Token, join_tokens, labelled_value,
    make_field, value_below, value_right,
)
from extractors.cn.shapes import DOC_WORDS, is_separator, shape_of
from extractors.result import Field

_STRICT = frozenset({"document_number", "delivery_ref", "po_number", "document_date", "delivery_date",
                     "due_date", "phone", "buyer_phone", "tax_id"})
_GENERIC = frozenset({"address", "phone", "tax_id"})
_TEXT = frozenset({"buyer_name", "supplier_name", "address", "buyer_address"})
_TITLE_RX = re.compile(rf"(?P<title>{DOC_WORDS})(?!号|编号|日期|单位|地址|人)")
_KIND_OF_TITLE = (("packing", re.compile(r"装箱|包装清单")), ("invoice", re.compile(r"发票|结算单|对账单")),
                  ("receipt", re.compile(r"小票|收据")))


def document_kind(ctx: DeliveryPage, rows: range) -> tuple[str, int] | None:
    """What the page says it is ('delivery', 'packing', 'invoice', 'receipt') and the title's row: the
    first title word of the header rows that is no label ('送货单号' is not a title)."""
    for i in rows:
        text = "".join(t.text for t in ctx.rows[i] if not ctx.is_stopper(t))
        m = _TITLE_RX.search(text)
        if m:
            kind = next((k for k, rx in _KIND_OF_TITLE if rx.search(m.group("title"))), "delivery")
            return kind, i
    return None


def _one_value(toks: list[Token]) -> list[Token]:
    """A run of tokens up to the first separator ('|', '·') or, after some text, a phone number or tax id:
    what a label's text value holds ('地址：XX路1号 · Tel …' ends at the street)."""
    out: list[Token] = []
    for tok in toks:
        if is_separator(tok.text) or (out and shape_of(tok.text) in ("phone", "tax_id")):
            break
        out.append(tok)
    return out


def _text_value(ctx: DeliveryPage, hit: Hit, parse: Parser, below: bool) -> Field | None:
    """`labelled_value` for a text label, its value ending where `_one_value` says."""
    right = _one_value(value_right(ctx, hit))
    tries = [(right, CONF_CLEAR)] + ([(_one_value(value_below(ctx, hit)), CONF_BELOW)] if below else [])
    for toks, conf in tries:
        value = parse(join_tokens(ctx, toks)) if toks else None
        if value is not None:
            return make_field(value, toks, conf, ctx)
    return make_field(None, right, CONF_UNPARSED, ctx) if right else None


def _typed_value(ctx: DeliveryPage, hit: Hit) -> Field | None:
    """The label's value, of its type; a strict type (code, date, phone) may stand far right of its label."""
    parse = PARSERS[hit.kind]
    people = hit.kind in PEOPLE    # 送货人 / 收货人: a name close beside the label, never one under it
    below = not people and hit.kind != "remarks"
    if hit.kind in _TEXT:
        return _text_value(ctx, hit, parse, below)
    f = labelled_value(ctx, hit, parse, max_first=0.2 * ctx.page.width if people else None, below=below)
    if hit.kind in _STRICT and (f is None or f.value is None):
        far = value_right(ctx, hit, max_first=ctx.page.width)
        if far and parse(far[0].text) is not None:
            return make_field(parse(far[0].text), far[:1], CONF_UNLABELLED, ctx)
    return f


def _taken(ctx: DeliveryPage, f: Field) -> set[int]:
    """Ids of the tokens inside a field's box (read as a value: no letterhead or block line)."""
    b = f.bbox
    if b is None:
        return set()
    return {id(t) for t in ctx.toks if t.bbox.x0 >= b.x0 - 0.1 and t.bbox.x1 <= b.x1 + 0.1
            and t.bbox.y0 >= b.y0 - 0.1 and t.bbox.y1 <= b.y1 + 0.1}


def _name_of(ctx: DeliveryPage, hit: Hit, kind: str | None, anchors: list[Anchor], head: range) -> str | None:
    """The field a label's value goes to."""
    if hit.kind == "delivery_ref":
        return "document_number" if kind in (None, "delivery") else "delivery_note_number"
    if hit.kind in _GENERIC:
        others = tuple(x.bbox.x0 for x in ctx.hits if x.row == hit.row and x is not hit and x.kind in _GENERIC)
        party = owner(anchors, hit.row, hit.bbox, ctx.h, others) if hit.row in head else "supplier"
        return f"{party}_{hit.kind}"
    return hit.kind


def header_fields(ctx: DeliveryPage, skip_rows: set[int], head: range) -> dict[str, Field]:
    """Every header value of the page: labelled ones, the number beside the title, the letterhead and
    the unlabelled lines of each party block.  `head`: the rows above the item table."""
    anchors = party_anchors(ctx, head)
    title = document_kind(ctx, head)
    kind = title[0] if title else None
    out: dict[str, Field] = {}
    taken: set[int] = set()
    # labels in our wordings first, then those whose kind was read from their words ('制表时间:' names a
    # date, but the one beside the document's number is its date)
    for hit in sorted(ctx.hits, key=lambda x: (not known_label(x.label), x.row, x.bbox.x0)):
        if hit.row in skip_rows or hit.kind not in PARSERS:
            continue
        name = _name_of(ctx, hit, kind, anchors, head)
        if name is None or (name in out and out[name].value is not None):
            continue
        f = _typed_value(ctx, hit)
        if f is not None and (name not in out or f.value is not None):
            out[name] = f
            taken |= _taken(ctx, f)
    if title is not None and out.get("document_number") is None:
        number = _title_number(ctx, title[1])
        if number is not None:
            out["document_number"] = number
    _add_parties(ctx, out, anchors, head, taken)
    if out.get("document_date") is None and out.get("delivery_date") is not None:
        out["document_date"] = out.pop("delivery_date")    # the delivery date is the only date: the note's
    return out


def _title_number(ctx: DeliveryPage, row: int) -> Field | None:
    """A code printed right after the title on its row ('销售出库单 LS-628831')."""
    toks = ctx.rows[row]
    text = ""
    for k, tok in enumerate(toks):
        text += tok.text
        if _TITLE_RX.search(text) and k + 1 < len(toks):
            nxt: Token = toks[k + 1]
            value = PARSERS["document_number"](nxt.text)
            if value is not None and value == nxt.text and not ctx.is_stopper(nxt):
                return make_field(value, [nxt], CONF_UNLABELLED, ctx)
            return None
    return None


def _add_parties(ctx: DeliveryPage, out: dict[str, Field], anchors: list[Anchor], head: range,
                 taken: set[int]) -> None:
    """The supplier's letterhead (name, and the street, phone, tax id under it) and the unlabelled lines
    of each party block, where no label gave them (in place)."""
    first_anchor = min((a.row for a in anchors), default=head.stop)
    found = letterhead(ctx, range(head.start, min(head.stop, first_anchor + 1)), taken)
    if found is not None and out.get("supplier_name") is None:
        out["supplier_name"] = found[0]
        taken |= _taken(ctx, found[0])
    top = found[1] if found is not None else head.start
    blocks: list[tuple[str, Anchor | None, int, int]] = [("supplier", None, top, first_anchor)]
    for a in anchors:
        below = [b.row for b in anchors if b.row > a.row and b.x0 < a.x1 and a.x0 < b.x1]
        blocks.append((a.party, a, a.row, min([*below, a.row + 6, head.stop])))
    for party, anchor, start, stop in blocks:
        for kind, f in block_lines(ctx, anchor, start, stop, taken).items():
            if anchor is None and owner(anchors, start, f.bbox, ctx.h) != "supplier":
                continue
            name = f"{party}_{kind}"
            if out.get(name) is None:
                out[name] = f
                taken |= _taken(ctx, f)
    if out.get("supplier_address") is None and out.get("supplier_name") is not None:
        footer = _beside_name(ctx, str(out["supplier_name"].value), taken)
        if footer is not None:
            out["supplier_address"] = footer


def _beside_name(ctx: DeliveryPage, name: str, taken: set[int]) -> Field | None:
    """The supplier's street printed beside its name elsewhere on the page (a footer repeating both)."""
    for i in range(len(ctx.rows)):
        parts: list[list[Token]] = []
        for cell in cells(ctx, i, taken):        # a name and a street set close: two parts of one cell
            k = next((k for k in range(1, len(cell) + 1) if join_tokens(ctx, cell[:k]) == name), None)
            parts.extend([cell[:k], cell[k:]] if k is not None else [cell])
        if any(join_tokens(ctx, p) == name for p in parts if p):
            found = next((p for p in parts if p and shape_of(join_tokens(ctx, p)) == "address"), None)
            if found is not None:
                return make_field(join_tokens(ctx, found), found, CONF_UNLABELLED, ctx)
    return None

