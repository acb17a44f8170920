"""Chinese delivery notes and other labelled Chinese documents, the layer under `extractors.cn.delivery`:
label and column wordings, the page as rows of tokens with their label hits (`DeliveryPage`, built by
`build_delivery_page` on the shared reader of `extractors.cn.form`), and the value parsers."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from extractors.cn.checks import AMOUNT_MARKS, amount_in_words_to_decimal
from extractors.cn.form import (
    FormPage, FormRules, Hit, Parser, Token, covering, cut_at, group_by_row, page_tokens, parse_number,
    text_value, under_label,
)
from extractors.layout import Page
from extractors.parsing import parse_date

# The rules the delivery-note reader was tuned with (see `FormRules`): a gap over 0.15 x height is a
# space, and raw text keeps it next to CJK too (as printed); a value starts right of the label's end;
# OCR confidence scales field confidence.
DELIVERY_RULES = FormRules(join_gap=0.15, raw_cjk_space=True, reach_back=None, ocr_confidence=True)

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
COLUMN_KINDS = frozenset(_COLUMN_LABELS)
TEXT_COLUMNS = ("description", "supplier_sku", "barcode", "spec", "unit", "batch_no", "po_line_ref",
                 "remarks")
NUMBER_COLUMNS = ("quantity", "ordered_quantity", "unit_price", "amount")
PEOPLE = ("deliverer", "receiver")
_DOC_WORDS = r"送货单|出库单|发货单|配送单|随货同行单|送货清单|销售出库单"
_COMPANY = r"有限责任公司|股份有限公司|有限公司|公司|厂|商行|经营部|批发部|店|中心|合作社"
TITLE_RX = re.compile(rf"^(?P<name>.{{2,40}}?(?:{_COMPANY}))(?:{_DOC_WORDS})")
DOC_TITLE_RX = re.compile(rf"^(?:{_DOC_WORDS})$")
COMPANY_RX = re.compile(rf"(?:{_COMPANY})$")
# a shop's name heading a till receipt: 'XX生鲜超市（天河店）'
SHOP_RX = re.compile(rf"(?:{_COMPANY}|超市|商场|便利店|商店|药房|餐厅|酒家)(?:[(][^()]{{1,12}}[)])?$")
QTY_RX = re.compile(r"^(?P<num>[-−]?\d[\d,]*(?:\.\d+)?)(?P<unit>[^\d.,:]{1,4})?$")
SHELF_RX = re.compile(r"(\d+(?:\.\d+)?)(个月|月|天|日|年|周)")
_CODE_RX = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.]*[A-Za-z0-9]|[0-9]")
_PHONE_RX = re.compile(r"\+?\d[\d\-() /]{5,}\d")
_SIGN_NOTE_RX = re.compile(r"\((?:盖章|盖公章|签字|签名|签章|签收|公章|章)\):?")


# --------------------------------------------------------------------------------------------
# the page: rows, labels
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DeliveryPage(FormPage):
    """A delivery note's page as rows of tokens (`Hit.row` indexes them): every supplier prints its own
    form, but its cells line up into rows."""

    rules: ClassVar[FormRules] = DELIVERY_RULES

    rows: tuple[tuple[Token, ...], ...]

    def row_cy(self, i: int) -> float:
        return statistics.median(t.bbox.cy for t in self.rows[i])

    def row_of(self, hit: Hit) -> tuple[Token, ...]:
        return self.rows[hit.row]

    def row_below(self, hit: Hit) -> list[Token]:
        """The next row's tokens under the label, when that row is within 2.2 heights."""
        if hit.row + 1 >= len(self.rows) or self.row_cy(hit.row + 1) - self.row_cy(hit.row) > 2.2 * self.h:
            return []
        return [t for t in self.rows[hit.row + 1] if under_label(hit.bbox, t.bbox, self.h)]


@dataclass(frozen=True, slots=True)
class _RowText:
    """A row's token texts run together, with each token's start offset."""

    text: str
    toks: tuple[Token, ...]
    starts: tuple[int, ...]
    h: float

    def covered(self, s: int, e: int) -> list[Token]:
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
    return s in bounds and (e in bounds or (_KIND_OF[label] in COLUMN_KINDS and nxt in "(/"))


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


def _label_row(row: list[Token], index: int, h: float) -> tuple[list[Token], list[Hit]]:
    """Find the labels of one row; cut tokens so that every label covers whole tokens."""
    offsets = [0]
    for tok in row:
        offsets.append(offsets[-1] + len(tok.text))
    found = _find_labels(_RowText("".join(t.text for t in row), tuple(row), tuple(offsets[:-1]), h))
    pieces = cut_at(row, [(s, e) for _, _, s, e in found])
    hits = []
    for kind, label, s, e in found:
        covered = covering(pieces, s, e)
        if covered:
            hits.append(Hit(kind, covered, label=label, row=index))
    return [t for t, _, _ in pieces], hits


def build_delivery_page(page: Page) -> DeliveryPage:
    toks, h = page_tokens(page)
    rows: list[tuple[Token, ...]] = []
    hits: list[Hit] = []
    for row in group_by_row(toks, lambda t: t.bbox, 0.5 * h):
        pieces, row_hits = _label_row(row, len(rows), h)
        rows.append(tuple(pieces))
        hits.extend(row_hits)
    stoppers = frozenset(id(t) for x in hits for t in x.toks)
    flat = tuple(t for row in rows for t in row)
    return DeliveryPage(page, flat, tuple(hits), stoppers, h, tuple(rows))


# --------------------------------------------------------------------------------------------
# value parsers
# --------------------------------------------------------------------------------------------

def _code(text: str) -> str | None:
    m = _CODE_RX.search(text.lstrip(":"))
    return m.group(0) if m and any(ch.isdigit() for ch in m.group(0)) else None


def _phone(text: str) -> str | None:
    m = _PHONE_RX.search(text)
    return m.group(0).strip() if m and sum(ch.isdigit() for ch in m.group(0)) >= 6 else None


def words_amount(text: str) -> Decimal | None:
    """The value of a 大写 amount ('人民币壹仟元整' included), else None."""
    core = re.sub(rf"[{AMOUNT_MARKS}]", "", text.replace("人民币", "")).strip(":")
    if not core or any(ch.isdigit() for ch in core):
        return None
    return amount_in_words_to_decimal(core)


def number_value(text: str) -> Decimal | None:
    """A figure after a label, its colon left on it ('：1,234.50') or not."""
    return parse_number(text.lstrip(":"))


PARSERS: dict[str, Parser] = {
    "document_number": _code, "po_number": _code, "document_date": parse_date,
    "buyer_name": text_value, "supplier_name": text_value, "supplier_address": text_value,
    "buyer_address": text_value, "supplier_phone": _phone, "buyer_phone": _phone, "deliverer": text_value,
    "receiver": text_value, "remarks": text_value, "total_quantity": number_value,
}
