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

import calendar
import re
import statistics
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable

from extractors.cn_checks import amount_in_words_to_decimal
from extractors.layout import BBox, Layout, Page, merge_bboxes, split_box_by_chars
from extractors.parsing import parse_date
from extractors.result import Field, FieldValue, LineItem
from extractors.vat_cn_layout import LEAD_MARKS, parse_number

Parser = Callable[[str], FieldValue]

CONF_CLEAR = 0.92      # label found, value beside it and well-formed
CONF_BELOW = 0.82      # value found under its label
CONF_TITLE = 0.78      # supplier taken from the title line
CONF_DERIVED = 0.75    # computed (expiry from shelf life, total from words)
CONF_CHECKED = 0.97    # confirmed by another printed value
CONF_MISMATCH = 0.5    # contradicted by another printed value
CONF_UNPARSED = 0.3    # label found, value not understood

# Header labels: kind -> printed wordings (NFKC, no spaces).  Longest wording wins where several match.
_HEADER_LABELS: dict[str, tuple[str, ...]] = {
    "document_number": ("送货单号", "出库单号", "发货单号", "配送单号", "单据编号", "单据号码", "单据号",
                        "单号", "流水号", "小票号", "交易号", "No.", "NO.", "No", "NO"),
    "document_date": ("送货日期", "发货日期", "出库日期", "配送日期", "开单日期", "制单日期", "单据日期",
                      "交易时间", "销售日期", "日期", "时间"),
    "buyer_name": ("客户名称", "客户", "收货单位", "购货单位", "购买单位", "收货客户"),
    "supplier_name": ("供货单位", "供应商", "供货商", "发货单位", "销售单位", "门店", "店名", "商户名称"),
    "supplier_phone": ("联系电话", "电话", "TEL", "Tel", "手机"),
    "supplier_address": ("地址", "发货地址"),
    "buyer_address": ("收货地址", "送货地址", "客户地址"),
    "buyer_phone": ("收货电话", "客户电话", "收货人电话"),
    "po_number": ("采购订单号", "采购单号", "订单号", "订单编号", "PO号", "PONo.", "PO#", "PO"),
    "total_amount": ("合计金额", "合计", "总计", "总金额", "小写", "(小写)", "合计(小写)", "合计金额(小写)",
                     "应收", "应收金额", "应付", "应付金额", "总额"),
    "total_amount_in_words": ("合计大写", "金额大写", "大写", "(大写)", "合计(大写)", "合计金额(大写)",
                              "人民币(大写)", "人民币大写"),
    "total_quantity": ("合计数量", "总数量"),
    "deliverer": ("送货人", "发货人", "送货员"),
    "receiver": ("收货人", "签收人", "收货人签字", "收货人签名", "签收"),
    "other": ("签收日期", "打印日期", "打印时间", "制单人", "制单", "审核人", "审核", "仓管员", "经办人",
              "业务员", "联系人", "司机", "车牌号", "收银员", "收银", "实收", "找零", "支付方式", "付款方式",
              "支付", "会员", "积分"),
}
# Item-table column titles: line field -> printed wordings.  备注 is both a column and a header label.
_COLUMN_LABELS: dict[str, tuple[str, ...]] = {
    "line_no": ("序号", "行号"),
    "description": ("品名", "商品名称", "货物名称", "产品名称", "物料名称", "存货名称", "名称", "商品"),
    "supplier_sku": ("编码", "货号", "商品编码", "物料编码", "产品编码", "存货编码", "物料号", "料号",
                     "商品编号", "产品编号"),
    "barcode": ("条码", "条形码", "商品条码"),
    "spec": ("规格", "型号", "规格型号", "包装规格"),
    "unit": ("单位", "计量单位"),
    "quantity": ("数量", "实收数量", "实发数量", "发货数量", "送货数量", "出库数量", "实送数量"),
    "ordered_quantity": ("应发数量", "订货数量", "订单数量", "应收数量"),
    "unit_price": ("单价", "含税单价", "售价"),
    "amount": ("金额", "含税金额", "小计"),
    "batch_no": ("批号", "批次", "批次号", "生产批号"),
    "production_date": ("生产日期",),
    "shelf_life": ("保质期",),
    "expiry_date": ("有效期至", "到期日", "有效期", "失效日期", "到期日期"),
    "po_line_ref": ("订单行号", "PO行号"),
    "remarks": ("备注",),
}
_KIND_OF: dict[str, str] = {w: k for table in (_HEADER_LABELS, _COLUMN_LABELS) for k, ws in table.items()
                            for w in ws}
_BY_FIRST: dict[str, tuple[str, ...]] = {   # first character -> labels, longest first
    ch: tuple(sorted((w for w in _KIND_OF if w[0] == ch), key=len, reverse=True))
    for ch in {w[0] for w in _KIND_OF}}
_DIGIT_LABELS = frozenset({"No", "NO", "No.", "NO.", "TEL", "Tel"})
_COLUMN_KINDS = frozenset(_COLUMN_LABELS)
_TEXT_COLUMNS = ("description", "supplier_sku", "barcode", "spec", "unit", "batch_no", "po_line_ref",
                 "remarks")
_NUMBER_COLUMNS = ("quantity", "ordered_quantity", "unit_price", "amount")
_PEOPLE = ("deliverer", "receiver")
_DOC_WORDS = r"送货单|出库单|发货单|配送单|随货同行单|送货清单|销售出库单"
_COMPANY = r"有限责任公司|股份有限公司|有限公司|公司|厂|商行|经营部|批发部|店|中心|合作社"
_TITLE_RX = re.compile(rf"^(?P<name>.{{2,40}}?(?:{_COMPANY}))(?:{_DOC_WORDS})")
_DOC_TITLE_RX = re.compile(rf"^(?:{_DOC_WORDS})$")
_COMPANY_RX = re.compile(rf"(?:{_COMPANY})$")
# a shop's name heading a till receipt: 'XX生鲜超市（天河店）'
_SHOP_RX = re.compile(rf"(?:{_COMPANY}|超市|商场|便利店|商店|药房|餐厅|酒家)(?:[(][^()]{{1,12}}[)])?$")
_QTY_RX = re.compile(r"^(?P<num>[-−]?\d[\d,]*(?:\.\d+)?)(?P<unit>[^\d.,:]{1,4})?$")
_SHELF_RX = re.compile(r"(\d+(?:\.\d+)?)(个月|月|天|日|年|周)")
_CODE_RX = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.]*[A-Za-z0-9]|[0-9]")
_PHONE_RX = re.compile(r"\+?\d[\d\-() /]{5,}\d")
_MARKS = "⊗ⓧⓍ⨂×Ⓧ"
_SIGN_NOTE_RX = re.compile(r"\((?:盖章|盖公章|签字|签名|签章|签收|公章|章)\):?")


# --------------------------------------------------------------------------------------------
# tokens, rows, labels
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Tok:
    text: str          # NFKC, whitespace removed
    raw: str           # as printed
    bbox: BBox
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class _Hit:
    kind: str
    label: str         # the wording matched, without the colon
    toks: tuple[_Tok, ...]
    row: int

    @property
    def bbox(self) -> BBox:
        return merge_bboxes(t.bbox for t in self.toks)


@dataclass(frozen=True, slots=True)
class _Ctx:
    """One page: its rows of tokens (labels cut out), the label hits, and the median word height."""

    number: int
    width: float
    rows: tuple[tuple[_Tok, ...], ...]
    hits: tuple[_Hit, ...]
    stoppers: frozenset[int]   # id() of label tokens
    h: float

    def is_stopper(self, tok: _Tok) -> bool:
        return id(tok) in self.stoppers

    def row_cy(self, i: int) -> float:
        return statistics.median(t.bbox.cy for t in self.rows[i])


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _group_rows(toks: list[_Tok], h: float) -> list[list[_Tok]]:
    """Tokens grouped into visual rows by vertical centre, top to bottom, each left to right."""
    rows: list[list[_Tok]] = []
    for tok in sorted(toks, key=lambda t: (t.bbox.cy, t.bbox.x0)):
        if rows and abs(tok.bbox.cy - rows[-1][0].bbox.cy) <= 0.5 * h:
            rows[-1].append(tok)
        else:
            rows.append([tok])
    return [sorted(r, key=lambda t: t.bbox.x0) for r in rows]


def _split_tok(tok: _Tok, cuts: list[int]) -> list[_Tok]:
    """Cut a token at character offsets, sharing its box out by character widths."""
    if not cuts:
        return [tok]
    return [_Tok(piece, piece, box, tok.confidence) for piece, box in split_box_by_chars(tok.bbox, tok.text, cuts)]


@dataclass(frozen=True, slots=True)
class _RowText:
    """A row's token texts run together, with each token's start offset."""

    text: str
    toks: tuple[_Tok, ...]
    starts: tuple[int, ...]
    h: float

    def covered(self, s: int, e: int) -> list[_Tok]:
        return [t for t, a in zip(self.toks, self.starts) if a < e and a + len(t.text) > s]


def _accept(row: _RowText, s: int, e: int, colon: bool) -> bool:
    """A label counts when a colon follows it or it fills whole words; ASCII ones also when a digit
    follows ('No123', 'TEL0571'), never inside a longer word."""
    text, bounds = row.text, set(row.starts) | {len(row.text)}
    label, nxt, prev = text[s:e], text[e:e + 1], text[s - 1:s]
    if not _letter_spaced_ok(row, s, e):
        return False
    if label[0].isascii() and label[0].isalpha():
        if (prev.isascii() and prev.isalpha()) or (nxt.isascii() and nxt.isalpha()):
            return False
        return colon or e in bounds or label[-1] in ".#" or (nxt.isdigit() and label in _DIGIT_LABELS)
    if colon:
        return True
    return s in bounds and (e in bounds or (_KIND_OF[label] in _COLUMN_KINDS and nxt in "(/"))


def _letter_spaced_ok(row: _RowText, s: int, e: int) -> bool:
    """A label spread over several words: close together, and none of them a label on its own unless
    they touch (so that the cells '合计' '大写' stay two labels)."""
    toks = row.covered(s, e)
    if len(toks) < 2:
        return True
    gaps = [b.bbox.x0 - a.bbox.x1 for a, b in zip(toks, toks[1:])]
    if max(gaps) > 2 * row.h:
        return False
    if max(gaps) < 0.6 * row.h:
        return True      # one word torn by OCR: '采购订' '单号:'
    return not any(t.text.rstrip(":") in _KIND_OF for t in toks)


def _match_at(row: _RowText, p: int) -> tuple[str, str, int, int] | None:
    """The longest acceptable label starting at offset p: (kind, label, start, end with colon)."""
    for label in _BY_FIRST.get(row.text[p], ()):
        if row.text.startswith(label, p):
            e = p + len(label)
            note = _SIGN_NOTE_RX.match(row.text, e)   # 供货单位(盖章): / 收货人(签字):
            if note:
                return _KIND_OF[label], label, p, note.end()
            colon = row.text[e:e + 1] == ":"
            if _accept(row, p, e, colon):
                return _KIND_OF[label], label, p, e + colon
    return None


def _find_labels(row: _RowText) -> list[tuple[str, str, int, int]]:
    """Every label of a row, left to right; a label right after one of its own kind ('单号:NO123')
    is part of the value."""
    out: list[tuple[str, str, int, int]] = []
    p = 0
    while p < len(row.text):
        found = _match_at(row, p)
        if found is None or (out and out[-1][3] == p and out[-1][0] == found[0]):
            p += 1
            continue
        out.append(found)
        p = found[3]
    return out


def _label_row(row: list[_Tok], index: int, h: float) -> tuple[list[_Tok], list[_Hit]]:
    """Find the labels of one row; cut tokens so that every label covers whole tokens."""
    offsets = [0]
    for tok in row:
        offsets.append(offsets[-1] + len(tok.text))
    found = _find_labels(_RowText("".join(t.text for t in row), tuple(row), tuple(offsets[:-1]), h))
    cuts = sorted({p for _, _, s, e in found for p in (s, e)})
    pieces: list[tuple[_Tok, int, int]] = []
    for tok, pos in zip(row, offsets):
        inner = [c - pos for c in cuts if pos < c < pos + len(tok.text)]
        for piece in _split_tok(tok, inner):
            pieces.append((piece, pos, pos + len(piece.text)))
            pos += len(piece.text)
    hits = []
    for kind, label, s, e in found:
        covered = tuple(t for t, a, b in pieces if a >= s and b <= e)
        if covered:
            hits.append(_Hit(kind, label, covered, index))
    return [t for t, _, _ in pieces], hits


def _build_ctx(page: Page) -> _Ctx:
    toks = [_Tok(_norm(w.text), w.text, w.bbox, w.confidence) for w in page.words() if _norm(w.text)]
    h = statistics.median(t.bbox.height for t in toks) if toks else 10.0
    rows: list[tuple[_Tok, ...]] = []
    hits: list[_Hit] = []
    for row in _group_rows(toks, h):
        pieces, row_hits = _label_row(row, len(rows), h)
        rows.append(tuple(pieces))
        hits.extend(row_hits)
    stoppers = frozenset(id(t) for x in hits for t in x.toks)
    return _Ctx(page.number, page.width, tuple(rows), tuple(hits), stoppers, h)


# --------------------------------------------------------------------------------------------
# values beside labels
# --------------------------------------------------------------------------------------------

def _value_right(ctx: _Ctx, hit: _Hit, max_first: float) -> list[_Tok]:
    """Tokens right of the label on its row, up to the next label or a wide gap."""
    label = hit.bbox
    out: list[_Tok] = []
    right = label.x1
    for tok in (t for t in ctx.rows[hit.row] if t.bbox.cx > label.x1):
        if ctx.is_stopper(tok) or tok.bbox.x0 - right > (max_first if not out else 3.0 * ctx.h):
            break
        if tok.text != ":" or out:
            out.append(tok)
        right = max(right, tok.bbox.x1)
    return out


def _value_below(ctx: _Ctx, hit: _Hit) -> list[_Tok]:
    """The run of tokens on the next row just under the label (label-above-value forms)."""
    if hit.row + 1 >= len(ctx.rows) or ctx.row_cy(hit.row + 1) - ctx.row_cy(hit.row) > 2.2 * ctx.h:
        return []
    label, h = hit.bbox, ctx.h
    under = [t for t in ctx.rows[hit.row + 1] if t.bbox.x1 > label.x0 - h and t.bbox.x0 < label.x1 + 10 * h]
    out: list[_Tok] = []
    for tok in under:
        if ctx.is_stopper(tok) or (out and tok.bbox.x0 - out[-1].bbox.x1 > 3.0 * h):
            break
        out.append(tok)
    return out


def _row_after(ctx: _Ctx, hit: _Hit) -> list[_Tok]:
    """Every non-label token right of a label on its row."""
    return [t for t in ctx.rows[hit.row] if not ctx.is_stopper(t) and t.bbox.cx > hit.bbox.x1]


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _join(toks: list[_Tok] | tuple[_Tok, ...], h: float, *, raw: bool = False) -> str:
    """Token texts joined: no space between close tokens, one space across a gap; values take no
    space next to CJK either, raw text keeps it as printed."""
    parts: list[str] = []
    for i, tok in enumerate(toks):
        text = tok.raw.strip() if raw else tok.text
        if i and parts[-1] and text and tok.bbox.x0 - toks[i - 1].bbox.x1 > 0.15 * h \
                and (raw or not (_is_cjk(parts[-1][-1]) or _is_cjk(text[0]))):
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


def _field(value: FieldValue, toks: list[_Tok], conf: float, ctx: _Ctx) -> Field:
    ocr = min((t.confidence for t in toks), default=1.0)
    box = merge_bboxes(t.bbox for t in toks) if toks else None
    return Field(value, _join(toks, ctx.h, raw=True), conf * ocr, ctx.number, box)


# --------------------------------------------------------------------------------------------
# value parsers
# --------------------------------------------------------------------------------------------

def _text(text: str) -> str | None:
    t = text.strip().lstrip(LEAD_MARKS).strip()
    return t or None


def _code(text: str) -> str | None:
    m = _CODE_RX.search(text.lstrip(":"))
    return m.group(0) if m and any(ch.isdigit() for ch in m.group(0)) else None


def _phone(text: str) -> str | None:
    m = _PHONE_RX.search(text)
    return m.group(0).strip() if m and sum(ch.isdigit() for ch in m.group(0)) >= 6 else None


def _words_amount(text: str) -> Decimal | None:
    """The value of a 大写 amount ('人民币壹仟元整' included), else None."""
    core = re.sub(rf"[{_MARKS}]", "", text.replace("人民币", "")).strip(":")
    if not core or any(ch.isdigit() for ch in core):
        return None
    return amount_in_words_to_decimal(core)


def _number(text: str) -> Decimal | None:
    return parse_number(text.lstrip(":"))


_PARSERS: dict[str, Parser] = {
    "document_number": _code, "po_number": _code, "document_date": parse_date,
    "buyer_name": _text, "supplier_name": _text, "supplier_address": _text, "buyer_address": _text,
    "supplier_phone": _phone, "buyer_phone": _phone, "deliverer": _text, "receiver": _text,
    "remarks": _text, "total_quantity": _number,
}


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
# item table
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Column:
    kind: str
    x0: float
    x1: float


@dataclass(frozen=True, slots=True)
class _Table:
    columns: tuple[_Column, ...]
    header_row: int
    body: tuple[int, ...]      # row indexes under the title row, up to the first labelled row
    end_row: int | None        # the first labelled row after the body (合计 ...), None at page end


def _column_kind(hit: _Hit) -> str | None:
    if hit.kind in _COLUMN_KINDS:
        return hit.kind
    return "line_no" if hit.kind == "document_number" and hit.label[0] == "N" else None


def _columns(hits: list[_Hit]) -> tuple[_Column, ...]:
    spans: dict[str, BBox] = {}
    for hit in hits:
        kind = _column_kind(hit)
        if kind:
            spans[kind] = spans[kind].union(hit.bbox) if kind in spans else hit.bbox
    return tuple(sorted((_Column(k, b.x0, b.x1) for k, b in spans.items()), key=lambda c: c.x0))


def _find_table(ctx: _Ctx) -> _Table | None:
    """The first row naming three columns or more (quantity or description among them)."""
    for i in range(len(ctx.rows)):
        hits = [x for x in ctx.hits if x.row == i]
        kinds = {_column_kind(x) for x in hits} - {None}
        if len(kinds) >= 3 and kinds & {"quantity", "description"}:
            body, end = _body(ctx, i)
            return _Table(_columns(hits), i, tuple(body), end)
    return None


def _body(ctx: _Ctx, header_row: int) -> tuple[list[int], int | None]:
    """Rows under the title row up to the first row with a label, or a gap of six lines."""
    labelled = {x.row for x in ctx.hits}
    body: list[int] = []
    for i in range(header_row + 1, len(ctx.rows)):
        if i in labelled:
            return body, i
        prev = ctx.rows[body[-1] if body else header_row]
        if min(t.bbox.y0 for t in ctx.rows[i]) - max(t.bbox.y1 for t in prev) > 6 * ctx.h:
            return body, None
        body.append(i)
    return body, None


def _column_of(cols: tuple[_Column, ...], box: BBox) -> str:
    """The column whose span, widened halfway to its neighbours, holds the box's centre."""
    for i, col in enumerate(cols):
        right = (col.x1 + cols[i + 1].x0) / 2 if i + 1 < len(cols) else float("inf")
        if box.cx < right:
            return col.kind
    return cols[-1].kind


def _cells(ctx: _Ctx, row: int, cols: tuple[_Column, ...]) -> dict[str, list[_Tok]]:
    """A body row's tokens by column; a word one space after another, starting clearly before the
    next column's title, runs on in the same cell (long left-aligned text, never a figure)."""
    cells: dict[str, list[_Tok]] = {}
    kinds = [c.kind for c in cols]
    prev: tuple[_Tok, str] | None = None
    for tok in ctx.rows[row]:
        kind = _column_of(cols, tok.bbox)
        if prev is not None and tok.bbox.x0 - prev[0].bbox.x1 < 0.35 * ctx.h \
                and prev[1] not in _NUMBER_COLUMNS:          # figures never run on into the next cell
            k = kinds.index(prev[1])
            if k + 1 == len(cols) or tok.bbox.x0 < cols[k + 1].x0 - 0.3 * ctx.h:
                kind = prev[1]
        cells.setdefault(kind, []).append(tok)
        prev = (tok, kind)
    return cells


def _leading_number(toks: list[_Tok]) -> tuple[Decimal, str | None] | None:
    """'12' -> (12, None); '10箱' -> (10, '箱'); anything else -> None."""
    m = _QTY_RX.match("".join(t.text for t in toks))
    if not m:
        return None
    value = parse_number(m.group("num"))
    return (value, m.group("unit")) if value is not None else None


def _is_anchor(cells: dict[str, list[_Tok]], cols: tuple[_Column, ...]) -> bool:
    kinds = {c.kind for c in cols}
    key = "quantity" if "quantity" in kinds else "amount"
    return bool(cells.get(key)) and _leading_number(cells[key]) is not None


def _group_items(ctx: _Ctx, table: _Table) -> list[list[dict[str, list[_Tok]]]]:
    """Body rows -> items: each anchor row takes the wrapped rows nearest to it."""
    cells = {i: _cells(ctx, i, table.columns) for i in table.body}
    rows = [i for i in table.body if set(cells[i]) - {"line_no"}]
    anchors = [i for i in rows if _is_anchor(cells[i], table.columns)]
    pitches = [ctx.row_cy(b) - ctx.row_cy(a) for a, b in zip(anchors, anchors[1:])]
    reach = max(1.6 * statistics.median(pitches), 2.5 * ctx.h) if pitches else 2.5 * ctx.h
    groups: dict[int, list[int]] = {a: [a] for a in anchors}
    for i in rows:
        if i in groups:
            continue
        target = _nearest_anchor(ctx, i, anchors)
        if target is not None and min(abs(ctx.row_cy(i) - ctx.row_cy(j)) for j in groups[target]) <= reach:
            groups[target].append(i)
    return [[cells[i] for i in sorted(groups[a])] for a in anchors]


def _nearest_anchor(ctx: _Ctx, i: int, anchors: list[int]) -> int | None:
    """The anchor above a wrapped row, or the one below when that is clearly closer."""
    above = [a for a in anchors if a < i]
    below = [a for a in anchors if a > i]
    d_above = ctx.row_cy(i) - ctx.row_cy(above[-1]) if above else float("inf")
    d_below = ctx.row_cy(below[0]) - ctx.row_cy(i) if below else float("inf")
    if not above and not below:
        return None
    return below[0] if d_below < 0.75 * d_above else above[-1]


# --------------------------------------------------------------------------------------------
# item fields
# --------------------------------------------------------------------------------------------

def _column_toks(item: list[dict[str, list[_Tok]]], kind: str) -> list[list[_Tok]]:
    return [cells[kind] for cells in item if cells.get(kind)]


def _join_rows(rows: list[list[_Tok]], h: float) -> str:
    """Wrapped cell text joined: no space at a CJK edge, else one."""
    text = ""
    for row in rows:
        part = _join(row, h)
        text = text + part if not text or _is_cjk(text[-1]) or _is_cjk(part[0]) else f"{text} {part}"
    return text


def _text_fields(ctx: _Ctx, item: list[dict[str, list[_Tok]]]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for kind in _TEXT_COLUMNS:
        rows = _column_toks(item, kind)
        if rows:
            toks = [t for r in rows for t in r]
            raw = "\n".join(_join(r, ctx.h, raw=True) for r in rows)
            f = _field(_join_rows(rows, ctx.h), toks, CONF_CLEAR, ctx)
            out[kind] = Field(f.value, raw, f.confidence, f.page, f.bbox)
    return out


def _number_fields(ctx: _Ctx, anchor: dict[str, list[_Tok]]) -> dict[str, Field]:
    """Quantity, unit price and amount from the anchor row; a unit glued to the quantity ('10箱')."""
    out: dict[str, Field] = {}
    for kind in _NUMBER_COLUMNS:
        toks = anchor.get(kind)
        if not toks:
            continue
        found = _leading_number(toks) if kind in ("quantity", "ordered_quantity") else None
        value = found[0] if found else _number(_join(toks, ctx.h))
        out[kind] = _field(value, toks, CONF_CLEAR if value is not None else CONF_UNPARSED, ctx)
        if kind == "quantity" and found and found[1]:
            out["unit"] = _field(found[1], toks, CONF_BELOW, ctx)
    return out


def _date_fields(ctx: _Ctx, item: list[dict[str, list[_Tok]]]) -> dict[str, Field]:
    """生产日期, 有效期至 as dates; 保质期 (or a shelf life printed under 有效期) as text."""
    out: dict[str, Field] = {}
    for kind in ("production_date", "expiry_date", "shelf_life"):
        rows = _column_toks(item, kind)
        if not rows:
            continue
        toks = [t for r in rows for t in r]
        text = _join_rows(rows, ctx.h)
        if kind != "shelf_life" and parse_date(text) is not None:
            out[kind] = _field(parse_date(text), toks, CONF_CLEAR, ctx)
        elif _SHELF_RX.search(text):
            out.setdefault("shelf_life", _field(text, toks, CONF_CLEAR, ctx))
        else:
            out[kind] = _field(None if kind != "shelf_life" else text, toks, CONF_UNPARSED, ctx)
    return out


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def shelf_life_end(produced: date, shelf_life: str) -> date | None:
    """produced + a printed shelf life ('12个月', '180天', '1年', '2周'); None when not understood."""
    m = _SHELF_RX.search(unicodedata.normalize("NFKC", shelf_life))
    if not m:
        return None
    n, unit = Decimal(m.group(1)), m.group(2)
    if unit in ("天", "日"):
        return produced + timedelta(days=int(n))
    if unit == "周":
        return produced + timedelta(weeks=int(n))
    months = n * 12 if unit == "年" else n
    return _add_months(produced, int(months)) if months == int(months) else None


def _derive_expiry(out: dict[str, Field]) -> None:
    """expiry_date = production_date + shelf_life where only those two are printed (in place)."""
    prod, shelf = out.get("production_date"), out.get("shelf_life")
    if "expiry_date" in out and out["expiry_date"].value is not None:
        return
    if prod is None or shelf is None or not isinstance(prod.value, date):
        return
    end = shelf_life_end(prod.value, str(shelf.value))
    if end is not None:
        boxes = [b for b in (prod.bbox, shelf.bbox) if b is not None]
        conf = min(prod.confidence, shelf.confidence) * CONF_DERIVED / CONF_CLEAR
        out["expiry_date"] = Field(end, "", conf, prod.page, merge_bboxes(boxes) if boxes else None)


def _check_arithmetic(out: dict[str, Field]) -> None:
    """Quantity x unit price ~ amount raises all three; a clear mismatch lowers them (in place)."""
    q, p, a = (out.get(k) for k in ("quantity", "unit_price", "amount"))
    if not (q and p and a) or not all(isinstance(f.value, Decimal) for f in (q, p, a)):
        return
    ok = abs(q.value * p.value - a.value) <= Decimal("0.011") + abs(q.value) * Decimal("0.005")
    for k in ("quantity", "unit_price", "amount"):
        out[k] = out[k].with_confidence(0.95 if ok else 0.7)


def _item_fields(ctx: _Ctx, item: list[dict[str, list[_Tok]]], cols: tuple[_Column, ...]) -> dict[str, Field]:
    anchor = next(cells for cells in item if _is_anchor(cells, cols))
    out = _text_fields(ctx, item)
    numbers = _number_fields(ctx, anchor)
    if "unit" in numbers and "unit" in out:
        del numbers["unit"]
    out.update(numbers)
    out.update(_date_fields(ctx, item))
    _derive_expiry(out)
    _check_arithmetic(out)
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
