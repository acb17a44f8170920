"""Chinese VAT invoices, the layer under `extractors.cn.vat`: label and column patterns, the page with its
label hits, table headings and block markers (`VatPage`, built by `build_vat_page` on the shared reader of
`extractors.cn.form`), and the value parsers (codes, dates, rates, texts, names).  Shared by the
header/party reader (`extractors.cn.vat`) and the goods table and totals (`extractors.cn.vat_tables`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar

from extractors.cn.form import (
    FormPage, FormRules, Hit, Parser, Token, covering, cut_at, norm_text, page_tokens, same_row, text_value,
    under_label,
)
from extractors.layout import BBox, Page, Word, merge_bboxes
from extractors.ofd.text import group_units_into_lines

# The rules the VAT reader was tuned with (see `FormRules`): a gap over 0.2 x height is a space, in
# raw text too but never at a CJK edge; a value may start up to 0.3 x height before the label's end;
# OCR confidence is not used.
VAT_RULES = FormRules(join_gap=0.2, raw_cjk_space=False, reach_back=0.3, ocr_confidence=False)

_PARTY = r"(?P<party>购买方|购方|买方|销售方|销方|卖方)?"
_LABELS: tuple[tuple[str, str], ...] = (
    ("invoice_code", r"发票代码"),
    ("document_number", r"发票号码"),
    ("document_date", r"开票日期"),
    ("check_code", r"校验码"),
    ("machine_no", r"机器编号"),
    ("payee", r"收款人"),
    ("checker", r"复核人?"),
    ("issuer_clerk", r"开票人"),
    ("total", r"价税合计"),
    ("in_words", r"\(大写\)"),
    ("in_figures", r"\(小写\)"),
    ("sum_row", r"(?<!价税)合计"),
    ("remarks", r"备注"),
    ("password", r"密码区"),
    ("seal", r"销售方\(章\)|\(章\)"),
    ("marker_buyer", r"购买方(?:信息)?"),
    ("marker_supplier", r"销售方(?:信息)?(?!\(章)"),
    ("name", _PARTY + r"(?<![目务物品])名称"),
    ("tax_id", _PARTY + r"(?:统一社会信用代码/?纳税人识别号|统一社会信用代码|纳税人识别号)"),
    ("address_phone", _PARTY + r"地址[、,]?电话"),
    ("bank_account", _PARTY + r"开户(?:银)?行及[账帐]号"),
)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("description", r"项目名称|货物或应税劳务[、,]?服务名称|货物或应税劳务(?:名称)?|货物\(劳务\)名称|服务名称|货物名称|商品名称"),
    ("spec", r"规格型号|规格"),
    ("unit", r"单位"),
    ("quantity", r"数量"),
    ("unit_price", r"单价"),
    ("amount", r"金额"),
    ("tax_rate", r"税率/征收率|税率|征收率"),
    ("tax_amount", r"税额"),
)
_LABEL_RX = [(k, re.compile(p + r":?")) for k, p in _LABELS]
_COLUMN_RX = [(k, re.compile(p + r":?")) for k, p in COLUMNS]
_VERTICAL_MARKERS = {"marker_buyer": "购买方", "marker_supplier": "销售方",
                     "password": "密码区", "remarks": "备注"}
PARTY_KINDS = ("name", "tax_id", "address_phone", "bank_account")
_PARTY_OF_PREFIX = {"购买方": "buyer", "购方": "buyer", "买方": "buyer",
                    "销售方": "supplier", "销方": "supplier", "卖方": "supplier"}
HEADER_FIELDS = ("invoice_code", "document_number", "document_date", "check_code", "machine_no")
PEOPLE = ("payee", "checker", "issuer_clerk")
NUMERAL_CHARS = set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿圆元角分整正负数()⊗ⓧ")
_ZERO_RATES = ("免税", "不征税", "免征", "出口零税率", "零税率")


# --------------------------------------------------------------------------------------------
# the page: tokens, labels, markers
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class VatPage(FormPage):
    """A VAT invoice page: besides the labels, the goods-table headings and the block markers
    (购买方 / 销售方 / 密码区 / 备注, set vertically or as headings).  Rows are geometric: a printed
    invoice's cells do not line up into rows the way a delivery note's do."""

    rules: ClassVar[FormRules] = VAT_RULES

    columns: tuple[Hit, ...]
    markers: tuple[tuple[str, BBox, bool], ...]    # (kind, box, vertical)

    def row_of(self, hit: Hit) -> list[Token]:
        return sorted((t for t in self.toks if same_row(t.bbox, hit.bbox)), key=lambda t: t.bbox.x0)

    def row_below(self, hit: Hit) -> list[Token]:
        """The topmost row of non-label tokens starting within 1.5 heights under the label."""
        label, h = hit.bbox, self.h
        under = [t for t in self.toks if not self.is_stopper(t)
                 and label.y1 - 0.3 * h <= t.bbox.y0 <= label.y1 + 1.5 * h and t.bbox.cy > label.y1
                 and under_label(label, t.bbox, h)]
        if not under:
            return []
        top = min(under, key=lambda t: (t.bbox.y0, t.bbox.x0))
        return sorted((t for t in under if same_row(t.bbox, top.bbox)), key=lambda t: t.bbox.x0)


def token_lines(toks: list[Token], gap_factor: float) -> list[list[Token]]:
    """Tokens grouped into lines (left to right); a gap over gap_factor x height splits a row."""
    words = [Word(t.text, t.bbox) for t in toks]
    back = {id(w): t for w, t in zip(words, toks)}
    lines = group_units_into_lines([[w] for w in words], gap_factor=gap_factor)
    return [[back[id(w)] for w in ln.words] for ln in lines]


def _matches(text: str) -> list[tuple[str, int, int, str | None, bool]]:
    out = []
    for table, is_col in ((_LABEL_RX, False), (_COLUMN_RX, True)):
        for kind, rx in table:
            for m in rx.finditer(text):
                party = m.groupdict().get("party")
                out.append((kind, m.start(), m.end(), _PARTY_OF_PREFIX.get(party or ""), is_col))
    return out


def _label_line(line: list[Token]) -> tuple[list[Token], list[Hit], list[Hit]]:
    """Find labels in one line; cut tokens so every label covers whole tokens."""
    found = _matches("".join(t.text for t in line))
    pieces = cut_at(line, [(s, e) for _, s, e, _, _ in found])
    hits: list[Hit] = []
    cols: list[Hit] = []
    for kind, s, e, party, is_col in found:
        covered = covering(pieces, s, e)
        if covered:
            (cols if is_col else hits).append(Hit(kind, covered, party=party))
    return [t for t, _, _ in pieces], hits, cols


def _vertical_markers(toks: list[Token], h: float) -> list[tuple[str, BBox, list[Token]]]:
    """Column labels set top to bottom: one tall token, or single characters stacked."""
    out = []
    singles = [t for t in toks if len(t.text) == 1]
    for kind, text in _VERTICAL_MARKERS.items():
        for tok in toks:
            if tok.text.startswith(text) and tok.bbox.height > 1.5 * tok.bbox.width:
                out.append((kind, tok.bbox, [tok]))
        for first in (t for t in singles if t.text == text[0]):
            chain = _stack(first, text[1:], singles, h)
            if chain:
                out.append((kind, merge_bboxes(t.bbox for t in chain), chain))
    return out


def _stack(first: Token, rest: str, singles: list[Token], h: float) -> list[Token] | None:
    chain = [first]
    for ch in rest:
        prev = chain[-1]
        below = [t for t in singles if t.text == ch and t.bbox.x_overlap(prev.bbox) > 0.5
                 and prev.bbox.y1 - 0.3 * h < t.bbox.y0 < prev.bbox.y1 + 4.5 * h]
        if not below:
            return None
        chain.append(min(below, key=lambda t: t.bbox.y0))
    return chain


def build_vat_page(page: Page) -> VatPage:
    raw, h = page_tokens(page)
    toks: list[Token] = []
    hits: list[Hit] = []
    cols: list[Hit] = []
    for line in token_lines(raw, gap_factor=5.0):
        line_toks, line_hits, line_cols = _label_line(line)
        toks.extend(line_toks)
        hits.extend(line_hits)
        cols.extend(line_cols)
    vertical = _vertical_markers(toks, h)
    markers = [(k, b, True) for k, b, _ in vertical]
    markers += [(x.kind, x.bbox, False) for x in hits
                if x.kind.startswith("marker_") and x.bbox.height <= 1.5 * x.bbox.width]
    stoppers = {id(t) for x in hits + cols for t in x.toks} | {id(t) for _, _, chain in vertical for t in chain}
    hits += [Hit("remarks_vertical", tuple(chain)) for kind, _, chain in vertical if kind == "remarks"]
    return VatPage(page, tuple(toks), tuple(hits), frozenset(stoppers), h, tuple(cols), tuple(markers))


# --------------------------------------------------------------------------------------------
# value parsers
# --------------------------------------------------------------------------------------------

_CODE_RX = {
    "invoice_code": re.compile(r"(?<!\d)(\d{12}|\d{10})(?!\d)"),
    "document_number": re.compile(r"(?<!\d)(\d{20}|\d{8})(?!\d)"),
    "check_code": re.compile(r"(?<!\d)(\d{20})(?!\d)"),
    "machine_no": re.compile(r"(?<![0-9A-Z])([0-9A-Z]{9,15})(?![0-9A-Z])"),
    "tax_id": re.compile(r"(?<![0-9A-Z])([0-9A-Z]{15,20})(?![0-9A-Z])"),
}
_DATE_RX = re.compile(r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})")


def _code_parser(kind: str) -> Parser:
    def parse(text: str) -> str | None:
        m = _CODE_RX[kind].search(re.sub(r"\s+", "", text).upper())
        return m.group(1) if m else None
    return parse


def parse_cn_date(text: str) -> date | None:
    """2020年10月10日 / 2020-10-10 / 2020/10/10 -> date."""
    m = _DATE_RX.search(unicodedata.normalize("NFKC", text))
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def parse_rate(text: str) -> Decimal | None:
    """6% -> 0.06; 免税 / 不征税 -> 0."""
    t = norm_text(text)
    if any(word in t for word in _ZERO_RATES):
        return Decimal("0")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", t)
    return Decimal(m.group(1)) / 100 if m else None


_SEAL_TAIL_RX = re.compile(r"(?:发票|业务|财务|合同)专用章$")


def _strip_seal(text: str) -> str:
    """Drop seal text (发票专用章 and the like) that OCR glued onto the end of a value."""
    return _SEAL_TAIL_RX.sub("", text).rstrip()


def _unsealed_text(text: str) -> str | None:
    """`text_value`, and without seal text glued to its end."""
    value = text_value(text)
    return (_strip_seal(value) or None) if value else None


_NAME_DEBRIS_RX = re.compile(r"^[^，,:：]{1,3}[，,:：](?=.{4})")


def name_value(text: str) -> str | None:
    """A party name without the debris of a label torn by a seal before it ('名东，XX有限公司')."""
    value = _unsealed_text(text)
    return _NAME_DEBRIS_RX.sub("", value) if value else None


PARSERS: dict[str, Parser] = {
    "invoice_code": _code_parser("invoice_code"),
    "document_number": _code_parser("document_number"),
    "check_code": _code_parser("check_code"),
    "machine_no": _code_parser("machine_no"),
    "document_date": parse_cn_date,
    "tax_id": _code_parser("tax_id"),
    "name": name_value,
    "address_phone": _unsealed_text,
    "bank_account": _unsealed_text,
    "payee": _unsealed_text,
    "checker": _unsealed_text,
    "issuer_clerk": _unsealed_text,
}
