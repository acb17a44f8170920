"""Chinese delivery notes and other labelled Chinese documents, the layer under `extractors.cn.delivery`:
label and column wordings, tokens grouped into rows with their label hits (`_Ctx`), values beside or
below a label, and the value parsers."""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from extractors.cn.checks import amount_in_words_to_decimal
from extractors.layout import BBox, Page, merge_bboxes, split_box_by_chars
from extractors.parsing import parse_date
from extractors.result import Field, FieldValue
from extractors.cn.vat_layout import LEAD_MARKS, parse_number

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
