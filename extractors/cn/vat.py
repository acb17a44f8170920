"""Chinese VAT invoices (增值税发票: 专用/普通, paper, 电子, and 全电/数电 fully digital) from a Layout alone.

Template-free: labels are found by their text (NFKC-normalised, spaces ignored, letter-spaced labels
such as "名   称：" included), values by geometry (right of the label on its row, else just below it).
The 购买方 / 销售方 blocks are told apart by their block labels (vertical column labels left of the
block in both the old form and the 数电 form, or a heading above, or a prefix such as 购买方名称),
and failing those by order (the buyer comes first). The goods table is found by its column
headings (项目名称 / 货物或应税劳务、服务名称, 规格型号, 单位, 数量, 单价, 金额, 税率/征收率, 税额); rows
that wrap onto more lines are joined, the 合计 row gives subtotal and tax, 价税合计 the total.

`extract_vat_invoice(layout) -> (fields, lines)`; field names follow the ground-truth files
(invoice_code, document_number, document_date, check_code, machine_no, buyer_*/supplier_* name,
tax_id, address_phone, bank_account, subtotal, tax_amount, total_amount, total_amount_in_words,
currency, issuer_clerk, payee, checker, remarks).
"""

from __future__ import annotations

import re
from decimal import Decimal

from extractors.cn.checks import uscc_is_valid
from extractors.layout import Layout, Page, merge_bboxes
from extractors.result import Field, LineItem
from extractors.cn.vat_layout import (
    LEAD_MARKS, parse_cn_date, parse_number, parse_rate, CONF_CLEAR, CONF_BELOW, CONF_GUESS, CONF_UNPARSED, Parser, _PARTY_KINDS, _HEADER_FIELDS,
    _PEOPLE, _Tok, _Hit, _Ctx, _norm, _rows, _build_ctx, _value_right, _value_below, _join, _field,
    _name_value, _PARSERS,
)
from extractors.cn.vat_tables import (
    _table_header, _line_items, _sum_row, _split_unlabelled_sum, _grand_total, _words_near_total,
    _cross_check,
)

__all__ = ["LEAD_MARKS", "extract_vat_invoice", "parse_cn_date", "parse_number", "parse_rate"]

# --------------------------------------------------------------------------------------------
# header, parties, people
# --------------------------------------------------------------------------------------------

def _labelled(ctx: _Ctx, hit: _Hit, parse: Parser, *, max_first: float | None = None) -> Field | None:
    """The value of a label: right of it, else below it; unparsed text kept with low confidence."""
    right = _value_right(ctx, hit.bbox, max_first=max_first)
    for toks, conf in ((right, CONF_CLEAR), (_value_below(ctx, hit.bbox), CONF_BELOW)):
        value = parse(_join(toks, ctx.h)) if toks else None
        if value is not None:
            return _field(value, toks, conf, ctx)
    return _field(None, right, CONF_UNPARSED, ctx) if right else None


def _header_fields(ctx: _Ctx) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for kind in _HEADER_FIELDS:
        for hit in ctx.hits_of(kind):
            f = _labelled(ctx, hit, _PARSERS[kind])
            if f is not None and (kind not in out or out[kind].value is None):
                out[kind] = f
    for kind in _PEOPLE:
        for hit in ctx.hits_of(kind):
            f = _labelled(ctx, hit, _PARSERS[kind], max_first=0.2 * ctx.page.width)
            if f is not None and f.value is not None and kind not in out:
                out[kind] = f
    return out


def _party_of(ctx: _Ctx, hit: _Hit) -> str | None:
    """buyer / supplier from a prefix, the block's vertical label, or a heading above; else None."""
    if hit.party:
        return hit.party
    lb, h = hit.bbox, ctx.h
    kinds = {"marker_buyer": "buyer", "marker_supplier": "supplier"}
    beside = [(k, b) for k, b, vertical in ctx.markers if vertical and k in kinds
              and b.x1 <= lb.x0 + h and b.y0 - 1.5 * h <= lb.cy <= b.y1 + 1.5 * h]
    if beside:
        return kinds[max(beside, key=lambda kb: kb[1].x1)[0]]
    above = [(k, b) for k, b, vertical in ctx.markers if not vertical and k in kinds
             and b.y1 <= lb.y0 + 0.5 * h and lb.y0 - b.y1 < 8 * h]
    if above:
        return kinds[min(above, key=lambda kb: lb.y0 - kb[1].y1 + 0.5 * abs(kb[1].x0 - lb.x0))[0]]
    return None


def _reading_order(hits: list[_Hit], h: float) -> list[_Hit]:
    """Buyer-first order of party labels: side-by-side labels (same row) left to right, stacked
    ones top to bottom; the buyer block is left of (数电) or above (older forms) the seller block."""
    rows: list[list[_Hit]] = []
    for hit in sorted(hits, key=lambda x: x.bbox.cy):
        if rows and abs(hit.bbox.cy - rows[-1][0].bbox.cy) <= h:
            rows[-1].append(hit)
        else:
            rows.append([hit])
    return [hit for row in rows for hit in sorted(row, key=lambda x: x.bbox.x0)]


def _party_fields(ctx: _Ctx) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for kind in _PARTY_KINDS:
        assigned = [(hit, _party_of(ctx, hit)) for hit in _reading_order(ctx.hits_of(kind), ctx.h)]
        free = [p for p in ("buyer", "supplier") if p not in {p for _, p in assigned}]
        for hit, party in assigned:
            guessed = party is None
            if guessed:
                if not free:
                    continue
                party = _nearest_party(hit, out, free) if len(assigned) == 1 else free[0]
                free.remove(party)
            name = f"{'supplier' if party == 'supplier' else 'buyer'}_{kind}"
            f = _labelled(ctx, hit, _PARSERS[kind])
            if f is not None and (name not in out or out[name].value is None):
                out[name] = f.with_confidence(min(f.confidence, CONF_GUESS)) if guessed else f
    return out


CONF_UNLABELLED = 0.7   # a party value found by its form alone (its label broken by a seal or OCR)
_USCC_RX = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])")
_COMPANY_RX = re.compile(r"^(?:名称:?)?(?P<name>[^:]{2,40}?(?:有限责任公司|股份有限公司|有限公司|公司|厂|商行|经营部|"
                         r"合作社|事务所|医院|学校|大学|研究院|研究所)(?:\([^()]{1,12}\))?)$")


def _unlabelled_parties(ctx: _Ctx, fields: dict[str, Field]) -> dict[str, Field]:
    """Tax ids (valid 统一社会信用代码) and company names printed on the page but not found by their
    labels: given to the party still missing, buyer first in reading order (left or above)."""
    out: dict[str, Field] = {}
    for kind, find in (("tax_id", _uscc_toks), ("name", _company_toks)):
        found = {f"buyer_{kind}", f"supplier_{kind}"} & fields.keys()
        if len(found) == 2:
            continue
        taken = {str(fields[n].value) for n in found if fields[n].value is not None}
        free = [(v, t) for v, t in find(ctx) if v not in taken]
        missing = [n for n in (f"buyer_{kind}", f"supplier_{kind}") if n not in fields]
        if len(missing) == 2 and len(free) < 2:
            continue                      # one value and two parties: not enough to tell whose
        for name, (value, tok) in zip(missing, free):
            out[name] = _field(value, [tok], CONF_UNLABELLED, ctx)
    return out


def _in_reading_order(found: list[tuple[str, _Tok]], h: float) -> list[tuple[str, _Tok]]:
    seen: dict[str, _Tok] = {}
    for value, tok in sorted(found, key=lambda vt: (round(vt[1].bbox.cy / (2 * h)), vt[1].bbox.x0)):
        seen.setdefault(value, tok)
    return list(seen.items())


def _uscc_toks(ctx: _Ctx) -> list[tuple[str, _Tok]]:
    return _in_reading_order([(m.group(0), t) for t in ctx.toks for m in _USCC_RX.finditer(t.text)
                              if uscc_is_valid(m.group(0))], ctx.h)


def _company_toks(ctx: _Ctx) -> list[tuple[str, _Tok]]:
    found = []
    for t in ctx.toks:
        m = _COMPANY_RX.match(_name_value(t.text) or "")
        if m and not ctx.is_stopper(t) and "银行" not in m.group("name"):
            found.append((m.group("name"), t))
    return _in_reading_order(found, ctx.h)


def _nearest_party(hit: _Hit, found: dict[str, Field], free: list[str]) -> str:
    """A lone label with no block marker belongs to the party whose values already found sit nearest
    (the other label of its kind was lost to a seal or to OCR); without any, the buyer first."""
    def distance(party: str) -> float:
        boxes = [f.bbox for n, f in found.items() if n.startswith(f"{party}_") and f.bbox is not None]
        return min((abs(b.cy - hit.bbox.cy) + 0.2 * abs(b.x0 - hit.bbox.x0) for b in boxes), default=float("inf"))
    best = min(free, key=distance)
    return best if distance(best) < float("inf") else free[0]


def _remarks(ctx: _Ctx) -> Field | None:
    """备注: right of a vertical 备注 over its height, or right of / under a horizontal one."""
    h = ctx.h
    for hit in ctx.hits_of("remarks_vertical"):
        b = hit.bbox
        toks = [t for t in ctx.toks if t.bbox.x0 >= b.x1     # labels inside a remark are its text
                and b.y0 - 0.5 * h <= t.bbox.cy <= b.y1 + 0.5 * h]
        if toks:
            return _region_field(ctx, toks)
    for hit in ctx.hits_of("remarks"):
        b = hit.bbox
        if b.height > 1.5 * b.width:
            continue
        region = [t for t in ctx.toks if t.bbox.cx > b.x1 and b.y0 - 0.5 * h <= t.bbox.y0 <= b.y0 + 6 * h]
        rows = _rows(region, gap_factor=1e6)
        kept: list[_Tok] = []
        for row in rows:
            if any(ctx.is_stopper(t) for t in row):
                break
            kept.extend(row)
        if kept:
            return _region_field(ctx, kept)
    return None


def _region_field(ctx: _Ctx, toks: list[_Tok]) -> Field:
    rows = _rows(toks, gap_factor=1e6)
    text = " ".join(_join(r, ctx.h) for r in rows)
    raw = "\n".join(_join(r, ctx.h, raw=True) for r in rows)
    return Field(text, raw, CONF_BELOW, ctx.page.number, merge_bboxes(t.bbox for t in toks))


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------

def _page_extract(page: Page) -> tuple[dict[str, Field], list[dict[str, Field]]]:
    ctx = _build_ctx(page)
    fields: dict[str, Field] = {}
    fields.update(_header_fields(ctx))
    fields.update(_party_fields(ctx))
    fields.update(_unlabelled_parties(ctx, fields))
    table = _table_header(ctx)
    cols, header = table if table else (None, None)
    fields.update(_sum_row(ctx, cols, header))
    fields.update(_grand_total(ctx))
    total = fields.get("total_amount")
    if "total_amount_in_words" not in fields and total is not None and isinstance(total.value, Decimal):
        words = _words_near_total(ctx, total.value)
        if words is not None:
            fields["total_amount_in_words"] = words
    remarks = _remarks(ctx)
    if remarks is not None:
        fields["remarks"] = remarks
    items = _line_items(ctx, cols, header) if table else []
    if "subtotal" not in fields:
        items, sums = _split_unlabelled_sum(items)
        fields.update(sums)
    return fields, items


_SEE_LIST_RX = re.compile(r"详见.{0,6}清单")
_SUM_LABEL_RX = re.compile(r"^(?:小计|总计|合计)$")


def _goods_only(items: list[dict[str, Field]]) -> list[dict[str, Field]]:
    """Without the 小计/总计 rows of a continuation list, and without the form's one '（详见销货清单）' row
    when the list's own lines were read (the goods are then on the list's pages)."""
    def text(item: dict[str, Field]) -> str:
        f = item.get("description")
        return _norm(str(f.value)) if f is not None and f.value is not None else ""
    items = [it for it in items if not _SUM_LABEL_RX.match(text(it))]
    listed = [it for it in items if not _SEE_LIST_RX.search(text(it))]
    return listed if listed else items


def extract_vat_invoice(layout: Layout) -> tuple[dict[str, Field], list[LineItem]]:
    """Header fields and goods lines of a Chinese VAT invoice, from the layout alone."""
    fields: dict[str, Field] = {}
    items: list[dict[str, Field]] = []
    for page in layout.pages:
        page_fields, page_items = _page_extract(page)
        for name, f in page_fields.items():
            if name not in fields or (fields[name].value is None and f.value is not None):
                fields[name] = f
        items.extend(page_items)
    _cross_check(fields)
    if fields and "currency" not in fields:
        fields["currency"] = Field("CNY", "", 0.8)
    items = _goods_only(items)
    lines = [LineItem(i + 1, item) for i, item in enumerate(items) if item]
    return fields, lines
