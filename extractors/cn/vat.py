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
from extractors.cn.delivery import extract_delivery_note
from extractors.cn.form import (
    CONF_BELOW, CONF_GUESS, CONF_UNLABELLED, LEAD_MARKS, Hit, Token, group_by_row, join_tokens, labelled_value,
    make_field, merge_page_fields, norm_text, parse_number,
)
from extractors.cn.vat_layout import (
    HEADER_FIELDS, PARSERS, PARTY_KINDS, PEOPLE, VatPage, build_vat_page, name_value, parse_cn_date, parse_rate,
    token_lines,
)
from extractors.cn.vat_tables import (
    cross_check_totals, grand_total, line_items, split_unlabelled_sum, sum_row, table_header, words_near_total,
)
from extractors.layout import Layout, merge_bboxes
from extractors.result import Field, LineItem

__all__ = ["LEAD_MARKS", "extract_vat_invoice", "parse_cn_date", "parse_number", "parse_rate"]

# --------------------------------------------------------------------------------------------
# header, parties, people
# --------------------------------------------------------------------------------------------

def _header_fields(ctx: VatPage) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for kind in HEADER_FIELDS:
        for hit in ctx.hits_of(kind):
            f = labelled_value(ctx, hit, PARSERS[kind])
            if f is not None and (kind not in out or out[kind].value is None):
                out[kind] = f
    for kind in PEOPLE:
        for hit in ctx.hits_of(kind):
            f = labelled_value(ctx, hit, PARSERS[kind], max_first=0.2 * ctx.page.width)
            if f is not None and f.value is not None and kind not in out:
                out[kind] = f
    return out


def _party_of(ctx: VatPage, hit: Hit) -> str | None:
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


def _reading_order(hits: list[Hit], h: float) -> list[Hit]:
    """Buyer-first order of party labels: side-by-side labels (same row) left to right, stacked
    ones top to bottom; the buyer block is left of (数电) or above (older forms) the seller block."""
    return [hit for row in group_by_row(hits, lambda x: x.bbox, h) for hit in row]


def _party_fields(ctx: VatPage) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for kind in PARTY_KINDS:
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
            f = labelled_value(ctx, hit, PARSERS[kind])
            if f is not None and (name not in out or out[name].value is None):
                out[name] = f.with_confidence(min(f.confidence, CONF_GUESS)) if guessed else f
    return out


_USCC_RX = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])")
_COMPANY_RX = re.compile(r"^(?:名称:?)?(?P<name>[^:]{2,40}?(?:有限责任公司|股份有限公司|有限公司|公司|厂|商行|经营部|"
                         r"合作社|事务所|医院|学校|大学|研究院|研究所)(?:\([^()]{1,12}\))?)$")


def _unlabelled_parties(ctx: VatPage, fields: dict[str, Field]) -> dict[str, Field]:
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
            out[name] = make_field(value, [tok], CONF_UNLABELLED, ctx)
    return out


def _in_reading_order(found: list[tuple[str, Token]], h: float) -> list[tuple[str, Token]]:
    seen: dict[str, Token] = {}
    for value, tok in sorted(found, key=lambda vt: (round(vt[1].bbox.cy / (2 * h)), vt[1].bbox.x0)):
        seen.setdefault(value, tok)
    return list(seen.items())


def _uscc_toks(ctx: VatPage) -> list[tuple[str, Token]]:
    return _in_reading_order([(m.group(0), t) for t in ctx.toks for m in _USCC_RX.finditer(t.text)
                              if uscc_is_valid(m.group(0))], ctx.h)


def _company_toks(ctx: VatPage) -> list[tuple[str, Token]]:
    found = []
    for t in ctx.toks:
        m = _COMPANY_RX.match(name_value(t.text) or "")
        if m and not ctx.is_stopper(t) and "银行" not in m.group("name"):
            found.append((m.group("name"), t))
    return _in_reading_order(found, ctx.h)


def _nearest_party(hit: Hit, found: dict[str, Field], free: list[str]) -> str:
    """A lone label with no block marker belongs to the party whose values already found sit nearest
    (the other label of its kind was lost to a seal or to OCR); without any, the buyer first."""
    def distance(party: str) -> float:
        boxes = [f.bbox for n, f in found.items() if n.startswith(f"{party}_") and f.bbox is not None]
        return min((abs(b.cy - hit.bbox.cy) + 0.2 * abs(b.x0 - hit.bbox.x0) for b in boxes), default=float("inf"))
    best = min(free, key=distance)
    return best if distance(best) < float("inf") else free[0]


def _remarks(ctx: VatPage) -> Field | None:
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
        rows = token_lines(region, gap_factor=1e6)
        kept: list[Token] = []
        for row in rows:
            if any(ctx.is_stopper(t) and not _inside_text(t, row, ctx) for t in row):
                break
            kept.extend(row)
        if kept:
            return _region_field(ctx, kept)
    return None


def _inside_text(tok: Token, row: list[Token], ctx: VatPage) -> bool:
    """A column heading cut out of running text ('请核对数量后签收'): touching a word on its row, no label."""
    if any(t is tok for x in ctx.hits for t in x.toks):
        return False
    near = 0.2 * ctx.h
    return any(t is not tok and not ctx.is_stopper(t)
               and (abs(t.bbox.x0 - tok.bbox.x1) < near or abs(tok.bbox.x0 - t.bbox.x1) < near) for t in row)


def _region_field(ctx: VatPage, toks: list[Token]) -> Field:
    rows = token_lines(toks, gap_factor=1e6)
    text = " ".join(join_tokens(ctx, r) for r in rows)
    raw = "\n".join(join_tokens(ctx, r, raw=True) for r in rows)
    return Field(text, raw, CONF_BELOW, ctx.page.number, merge_bboxes(t.bbox for t in toks))


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------

def _page_extract(ctx: VatPage) -> tuple[dict[str, Field], list[dict[str, Field]]]:
    fields: dict[str, Field] = {}
    fields.update(_header_fields(ctx))
    fields.update(_party_fields(ctx))
    fields.update(_unlabelled_parties(ctx, fields))
    table = table_header(ctx)
    cols, header = table if table else (None, None)
    fields.update(sum_row(ctx, cols, header))
    fields.update(grand_total(ctx))
    total = fields.get("total_amount")
    if "total_amount_in_words" not in fields and total is not None and isinstance(total.value, Decimal):
        words = words_near_total(ctx, total.value)
        if words is not None:
            fields["total_amount_in_words"] = words
    remarks = _remarks(ctx)
    if remarks is not None:
        fields["remarks"] = remarks
    items = line_items(ctx, cols, header) if table else []
    if "subtotal" not in fields:
        items, sums = split_unlabelled_sum(items)
        fields.update(sums)
    return fields, items


_SEE_LIST_RX = re.compile(r"详见.{0,6}清单")
_SUM_LABEL_RX = re.compile(r"^(?:小计|总计|合计)$")


def _goods_only(items: list[dict[str, Field]]) -> list[dict[str, Field]]:
    """Without the 小计/总计 rows of a continuation list, and without the form's one '（详见销货清单）' row
    when the list's own lines were read (the goods are then on the list's pages)."""
    def text(item: dict[str, Field]) -> str:
        f = item.get("description")
        return norm_text(str(f.value)) if f is not None and f.value is not None else ""
    items = [it for it in items if not _SUM_LABEL_RX.match(text(it))]
    listed = [it for it in items if not _SEE_LIST_RX.search(text(it))]
    return listed if listed else items


# labels only the VAT form prints (a seller's own 销售发票 / 商业发票 has 购买方, 发票号码, 合计 too)
_VAT_ONLY = frozenset({"total", "marker_supplier", "issuer_clerk", "payee", "checker", "invoice_code",
                       "check_code", "machine_no", "password"})


def _on_vat_form(ctx: VatPage) -> bool:
    """A page of the VAT form: one of the form's own labels, or two party blocks of 名称 labels (a word
    of their own or with a 购买方 / 销售方 prefix; 客户名称 is any form's)."""
    if any(x.kind in _VAT_ONLY for x in ctx.hits) or any(m[0] in _VAT_ONLY for m in ctx.markers):
        return True
    starts = {round(w.bbox.x0, 1) for w in ctx.page.words()}
    names = [x for x in ctx.hits if x.kind == "name" and (x.party or round(x.bbox.x0, 1) in starts)]
    return len(names) >= 2


def extract_vat_invoice(layout: Layout) -> tuple[dict[str, Field], list[LineItem]]:
    """Header fields and goods lines of a Chinese VAT invoice, from the layout alone.  A Chinese invoice
    that is not on the VAT form (none of its own labels: 价税合计, 销售方, 开票人, 发票代码, 校验码, 密码区 ...)
    is a supplier's own labelled form and is read as one (`extract_delivery_note`)."""
    pages = [build_vat_page(page) for page in layout.pages]
    if pages and not any(_on_vat_form(ctx) for ctx in pages):
        return extract_delivery_note(layout)
    fields: dict[str, Field] = {}
    items: list[dict[str, Field]] = []
    for ctx in pages:
        page_fields, page_items = _page_extract(ctx)
        merge_page_fields(fields, page_fields)
        items.extend(page_items)
    cross_check_totals(fields)
    if fields and "currency" not in fields:
        fields["currency"] = Field("CNY", "", 0.8)
    items = _goods_only(items)
    lines = [LineItem(i + 1, item) for i, item in enumerate(items) if item]
    return fields, lines
