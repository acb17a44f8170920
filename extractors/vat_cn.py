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
import statistics
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from extractors.cn_checks import amount_in_words_to_decimal
from extractors.layout import BBox, Layout, Page, Word, merge_bboxes
from extractors.ofd import group_units_into_lines
from extractors.result import Field, LineItem

CONF_CLEAR = 0.92      # label found, value on its row and well-formed
CONF_BELOW = 0.82      # value found under the label
CONF_GUESS = 0.65      # block (buyer/seller) guessed from order, or value shape only
CONF_UNPARSED = 0.3    # label found, value not understood

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
    ("description", r"项目名称|货物或应税劳务[、,]?服务名称|货物或应税劳务(?:名称)?|服务名称|货物名称|商品名称"),
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
    weights = [1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in tok.text]
    total = sum(weights) or 1.0
    out, start = [], 0
    for end in cuts + [len(tok.text)]:
        x0 = tok.bbox.x0 + tok.bbox.width * sum(weights[:start]) / total
        x1 = tok.bbox.x0 + tok.bbox.width * sum(weights[:end]) / total
        piece = tok.text[start:end]
        out.append(_Tok(piece, piece, BBox(x0, tok.bbox.y0, x1, tok.bbox.y1)))
        start = end
    return out


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
    row = sorted((t for t in ctx.toks if _same_row(t.bbox, label) and t.bbox.x0 >= label.x1 - 0.3 * h),
                 key=lambda t: t.bbox.x0)
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
        if i and tok.bbox.x0 - toks[i - 1].bbox.x1 > 0.5 * h and not _cjk_edge(parts[-1], text):
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


def _cjk_edge(left: str, right: str) -> bool:
    return bool(left and right) and (_is_cjk(left[-1]) or _is_cjk(right[0]))


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _field(value, toks: list[_Tok], conf: float, ctx: _Ctx, h: float | None = None) -> Field:
    raw = _join(toks, h or ctx.h, raw=True) if toks else ""
    box = merge_bboxes(t.bbox for t in toks) if toks else None
    return Field(value=value, raw=raw, confidence=conf, page=ctx.page.number, bbox=box)
