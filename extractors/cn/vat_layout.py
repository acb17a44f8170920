"""Chinese VAT invoices, the layer under `extractors.cn.vat`: label and column patterns, tokens cut from
the layout with label hits and block markers (`_Ctx`), values beside or below a label, and the value
parsers (codes, dates, amounts, rates, texts, names).  Shared by the header/party reader (`vat_cn`) and
the goods table and totals (`vat_cn_tables`)."""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Callable

from extractors.layout import BBox, Page, Word, merge_bboxes, split_box_by_chars
from extractors.ofd.text import group_units_into_lines
from extractors.result import Field, FieldValue

CONF_CLEAR = 0.92      # label found, value on its row and well-formed
CONF_BELOW = 0.82      # value found under the label
CONF_GUESS = 0.65      # block (buyer/seller) guessed from order, or value shape only
CONF_UNPARSED = 0.3    # label found, value not understood

Parser = Callable[[str], FieldValue]

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
_COLUMNS: tuple[tuple[str, str], ...] = (
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
_COLUMN_RX = [(k, re.compile(p + r":?")) for k, p in _COLUMNS]
_VERTICAL_MARKERS = {"marker_buyer": "购买方", "marker_supplier": "销售方",
                     "password": "密码区", "remarks": "备注"}
_PARTY_KINDS = ("name", "tax_id", "address_phone", "bank_account")
_PARTY_OF_PREFIX = {"购买方": "buyer", "购方": "buyer", "买方": "buyer",
                    "销售方": "supplier", "销方": "supplier", "卖方": "supplier"}
_HEADER_FIELDS = ("invoice_code", "document_number", "document_date", "check_code", "machine_no")
_PEOPLE = ("payee", "checker", "issuer_clerk")
_NUMERAL_CHARS = set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿圆元角分整正负数()⊗ⓧ")
_ZERO_RATES = ("免税", "不征税", "免征", "出口零税率", "零税率")


# --------------------------------------------------------------------------------------------
# tokens, labels, markers
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Tok:
    text: str     # NFKC, whitespace removed
    raw: str      # as read
    bbox: BBox


@dataclass(frozen=True, slots=True)
class _Hit:
    kind: str
    toks: tuple[_Tok, ...]
    party: str | None = None

    @property
    def bbox(self) -> BBox:
        return merge_bboxes(t.bbox for t in self.toks)


@dataclass
class _Ctx:
    """One page: its tokens (labels cut out of glued values), label hits and block markers."""

    page: Page
    toks: list[_Tok]
    hits: list[_Hit]
    columns: list[_Hit]
    markers: list[tuple[str, BBox, bool]]          # (kind, box, vertical)
    stoppers: set[int] = field(default_factory=set)  # id() of label/marker tokens
    h: float = 10.0

    def hits_of(self, kind: str) -> list[_Hit]:
        return sorted((x for x in self.hits if x.kind == kind), key=lambda x: (x.bbox.y0, x.bbox.x0))

    def is_stopper(self, tok: _Tok) -> bool:
        return id(tok) in self.stoppers


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _rows(toks: list[_Tok], gap_factor: float) -> list[list[_Tok]]:
    """Tokens grouped into lines (left to right); a gap over gap_factor x height splits a row."""
    words = [Word(t.text, t.bbox) for t in toks]
    back = {id(w): t for w, t in zip(words, toks)}
    lines = group_units_into_lines([[w] for w in words], gap_factor=gap_factor)
    return [[back[id(w)] for w in ln.words] for ln in lines]


def _split_tok(tok: _Tok, cuts: list[int]) -> list[_Tok]:
    """Cut a token at character offsets, sharing its box out by character widths."""
    if not cuts:
        return [tok]
    return [_Tok(piece, piece, box) for piece, box in split_box_by_chars(tok.bbox, tok.text, cuts)]


def _matches(text: str) -> list[tuple[str, int, int, str | None, bool]]:
    out = []
    for table, is_col in ((_LABEL_RX, False), (_COLUMN_RX, True)):
        for kind, rx in table:
            for m in rx.finditer(text):
                party = m.groupdict().get("party")
                out.append((kind, m.start(), m.end(), _PARTY_OF_PREFIX.get(party or ""), is_col))
    return out


def _label_line(line: list[_Tok]) -> tuple[list[_Tok], list[_Hit], list[_Hit]]:
    """Find labels in one line; cut tokens so every label covers whole tokens."""
    text = "".join(t.text for t in line)
    found = _matches(text)
    cuts = sorted({pos for _, s, e, _, _ in found for pos in (s, e)})
    toks: list[_Tok] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for tok in line:
        inner = [c - pos for c in cuts if pos < c < pos + len(tok.text)]
        for piece in _split_tok(tok, inner):
            toks.append(piece)
            spans.append((pos, pos + len(piece.text)))
            pos += len(piece.text)
    hits, cols = [], []
    for kind, s, e, party, is_col in found:
        covered = tuple(t for t, (a, b) in zip(toks, spans) if a >= s and b <= e)
        if covered:
            (cols if is_col else hits).append(_Hit(kind, covered, party))
    return toks, hits, cols


def _vertical_markers(toks: list[_Tok], h: float) -> list[tuple[str, BBox, list[_Tok]]]:
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


def _stack(first: _Tok, rest: str, singles: list[_Tok], h: float) -> list[_Tok] | None:
    chain = [first]
    for ch in rest:
        prev = chain[-1]
        below = [t for t in singles if t.text == ch and t.bbox.x_overlap(prev.bbox) > 0.5
                 and prev.bbox.y1 - 0.3 * h < t.bbox.y0 < prev.bbox.y1 + 4.5 * h]
        if not below:
            return None
        chain.append(min(below, key=lambda t: t.bbox.y0))
    return chain


def _build_ctx(page: Page) -> _Ctx:
    raw = [_Tok(_norm(w.text), w.text, w.bbox) for w in page.words() if _norm(w.text)]
    h = statistics.median([t.bbox.height for t in raw]) if raw else 10.0
    toks, hits, cols = [], [], []
    for line in _rows(raw, gap_factor=5.0):
        line_toks, line_hits, line_cols = _label_line(line)
        toks.extend(line_toks)
        hits.extend(line_hits)
        cols.extend(line_cols)
    vertical = _vertical_markers(toks, h)
    markers = [(k, b, True) for k, b, _ in vertical]
    markers += [(x.kind, x.bbox, False) for x in hits
                if x.kind.startswith("marker_") and x.bbox.height <= 1.5 * x.bbox.width]
    ctx = _Ctx(page, toks, hits, cols, markers, h=h)
    ctx.stoppers = {id(t) for x in hits + cols for t in x.toks}
    ctx.stoppers |= {id(t) for _, _, chain in vertical for t in chain}
    ctx.hits += [_Hit("remarks_vertical", tuple(chain)) for kind, _, chain in vertical if kind == "remarks"]
    return ctx


# --------------------------------------------------------------------------------------------
# values next to labels
# --------------------------------------------------------------------------------------------

def _same_row(a: BBox, b: BBox) -> bool:
    return a.y_overlap(b) >= 0.5 and abs(a.cy - b.cy) <= 0.6 * max(a.height, b.height)


def _value_right(ctx: _Ctx, label: BBox, *, max_first: float | None = None) -> list[_Tok]:
    """Tokens right of the label on its row, up to the next label or a wide gap."""
    h = ctx.h
    first_gap = max_first if max_first is not None else 0.4 * ctx.page.width
    row = sorted((t for t in ctx.toks if _same_row(t.bbox, label)
                  and (t.bbox.x0 >= label.x1 - 0.3 * h or t.bbox.cx > label.x1)), key=lambda t: t.bbox.x0)
    out: list[_Tok] = []
    right = label.x1
    for tok in row:
        if ctx.is_stopper(tok) or tok.bbox.x0 - right > (first_gap if not out else 3.0 * h):
            break
        out.append(tok)
        right = max(right, tok.bbox.x1)
    return out


def _value_below(ctx: _Ctx, label: BBox) -> list[_Tok]:
    """The first row of tokens just under the label (label-above-value layouts)."""
    h = ctx.h
    under = [t for t in ctx.toks if not ctx.is_stopper(t)
             and label.y1 - 0.3 * h <= t.bbox.y0 <= label.y1 + 1.5 * h and t.bbox.cy > label.y1
             and t.bbox.x1 > label.x0 - h and t.bbox.x0 < label.x1 + 10 * h]
    if not under:
        return []
    top = min(under, key=lambda t: (t.bbox.y0, t.bbox.x0))
    row = sorted((t for t in under if _same_row(t.bbox, top.bbox)), key=lambda t: t.bbox.x0)
    out = [row[0]]
    for tok in row[1:]:
        if tok.bbox.x0 - out[-1].bbox.x1 > 3.0 * h:
            break
        out.append(tok)
    return out


def _join(toks: list[_Tok], h: float, *, raw: bool = False) -> str:
    """Token texts joined: no space between close tokens or CJK, one space across a gap."""
    parts: list[str] = []
    for i, tok in enumerate(toks):
        text = tok.raw.strip() if raw else tok.text
        if i and tok.bbox.x0 - toks[i - 1].bbox.x1 > 0.2 * h and not _cjk_edge(parts[-1], text):
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


def _cjk_edge(left: str, right: str) -> bool:
    return bool(left and right) and (_is_cjk(left[-1]) or _is_cjk(right[0]))


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _field(value: FieldValue, toks: list[_Tok], conf: float, ctx: _Ctx, h: float | None = None) -> Field:
    raw = _join(toks, h or ctx.h, raw=True) if toks else ""
    box = merge_bboxes(t.bbox for t in toks) if toks else None
    return Field(value=value, raw=raw, confidence=conf, page=ctx.page.number, bbox=box)


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
_NUMBER_RX = re.compile(r"[-−]?\d+(?:\.\d+)?")


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


def parse_number(text: str) -> Decimal | None:
    """¥1,234.50 / -100.00 / 25 -> Decimal; anything else -> None."""
    t = re.sub(r"[\s,¥￥]", "", unicodedata.normalize("NFKC", text)).replace("−", "-")
    if t.startswith("-¥"):
        t = "-" + t[2:]
    if not _NUMBER_RX.fullmatch(t):
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


def parse_rate(text: str) -> Decimal | None:
    """6% -> 0.06; 免税 / 不征税 -> 0."""
    t = _norm(text)
    if any(word in t for word in _ZERO_RATES):
        return Decimal("0")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", t)
    return Decimal(m.group(1)) / 100 if m else None


_SEAL_TAIL_RX = re.compile(r"(?:发票|业务|财务|合同)专用章$")


def _strip_seal(text: str) -> str:
    """Drop seal text (发票专用章 and the like) that OCR glued onto the end of a value."""
    return _SEAL_TAIL_RX.sub("", text).rstrip()


LEAD_MARKS = " :;,.、，；：。·'\"“”‘’|"


def _text_value(text: str) -> str | None:
    """The value text without stray marks before it (the tail of a label's colon, a table rule read as
    '|', seal ink read as a dot) and seal text glued to its end."""
    t = _strip_seal(text.strip().lstrip(LEAD_MARKS).strip())
    return t or None


_NAME_DEBRIS_RX = re.compile(r"^[^，,:：]{1,3}[，,:：](?=.{4})")


def _name_value(text: str) -> str | None:
    """A party name without the debris of a label torn by a seal before it ('名东，XX有限公司')."""
    value = _text_value(text)
    return _NAME_DEBRIS_RX.sub("", value) if value else None


_PARSERS: dict[str, Parser] = {
    "invoice_code": _code_parser("invoice_code"),
    "document_number": _code_parser("document_number"),
    "check_code": _code_parser("check_code"),
    "machine_no": _code_parser("machine_no"),
    "document_date": parse_cn_date,
    "tax_id": _code_parser("tax_id"),
    "name": lambda text: _name_value(text),
    "address_phone": _text_value,
    "bank_account": _text_value,
    "payee": _text_value,
    "checker": _text_value,
    "issuer_clerk": _text_value,
}
