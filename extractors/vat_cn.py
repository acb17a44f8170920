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
from typing import Callable

from extractors.cn_checks import amount_in_words_to_decimal, uscc_is_valid
from extractors.layout import BBox, Layout, Page, Word, merge_bboxes, split_box_by_chars
from extractors.ofd import group_units_into_lines
from extractors.result import Field, FieldValue, LineItem

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
# goods table
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Column:
    kind: str
    x0: float
    x1: float


def _table_header(ctx: _Ctx) -> tuple[list[_Column], BBox] | None:
    """The column headings: the band of headings with the most distinct columns (>= 4); a heading OCR
    lost between two it read (金额 between 单价 and 税率) takes the room between them."""
    best: list[_Hit] = []
    for anchor in ctx.columns:
        band = [c for c in ctx.columns if abs(c.bbox.cy - anchor.bbox.cy) < 1.6 * ctx.h]
        if len({c.kind for c in band}) >= max(4, len({c.kind for c in best}) + 1):
            best = band
    if not best:
        return None
    spans: dict[str, BBox] = {}
    for c in best:
        spans[c.kind] = spans[c.kind].union(c.bbox) if c.kind in spans else c.bbox
    cols = sorted((_Column(k, b.x0, b.x1) for k, b in spans.items()), key=lambda c: c.x0)
    return _with_lost_headings(cols, ctx.h), merge_bboxes(c.bbox for c in best)


_COLUMN_ORDER = tuple(kind for kind, _ in _COLUMNS)


def _with_lost_headings(cols: list[_Column], h: float) -> list[_Column]:
    """Columns of the standard order missing between two found neighbours, placed in the gap between them
    when it is wide enough for a figure."""
    found = {c.kind: c for c in cols}
    out = list(cols)
    for left, kind, right in zip(_COLUMN_ORDER, _COLUMN_ORDER[1:], _COLUMN_ORDER[2:]):
        if kind in found or left not in found or right not in found:
            continue
        a, b = found[left], found[right]
        if b.x0 - a.x1 > 3 * h and [c.kind for c in cols].index(right) == [c.kind for c in cols].index(left) + 1:
            mid, quarter = (a.x1 + b.x0) / 2, (b.x0 - a.x1) / 4
            out.append(_Column(kind, mid - quarter, mid + quarter))   # a centred heading's likely span
    return sorted(out, key=lambda c: c.x0)


def _column_of(cols: list[_Column], box: BBox) -> str:
    """The column whose span (extended halfway to its neighbours) holds the box's centre."""
    for i, col in enumerate(cols):
        right = (col.x1 + cols[i + 1].x0) / 2 if i + 1 < len(cols) else float("inf")
        if box.cx < right:
            return col.kind
    return cols[-1].kind


def _table_bottom(ctx: _Ctx, header: BBox) -> float:
    ends = ("sum_row", "total", "in_words", "in_figures", "remarks", "remarks_vertical", "seal")
    ys = [x.bbox.y0 for x in ctx.hits if x.kind in ends and x.bbox.y0 > header.y1]
    return min(ys, default=ctx.page.height)


@dataclass
class _Row:
    cy: float
    cells: dict[str, list[_Tok]]

    def anchor(self) -> bool:
        return any(parse_number(t.text) is not None
                   for k in ("amount", "tax_amount") for t in self.cells.get(k, []))


def _body_rows(ctx: _Ctx, cols: list[_Column], header: BBox) -> list[_Row]:
    bottom = _table_bottom(ctx, header)
    body = [t for t in ctx.toks if header.y1 < t.bbox.cy < bottom - 0.2 * ctx.h]
    rows: list[_Row] = []
    for line in _rows(body, gap_factor=1e6):
        cells: dict[str, list[_Tok]] = {}
        for tok in line:
            cells.setdefault(_column_of(cols, tok.bbox), []).append(tok)
        rows.append(_Row(statistics.median(t.bbox.cy for t in line), cells))
    return rows


def _group_rows(rows: list[_Row]) -> list[list[_Row]]:
    """Rows -> items: each anchor row (with an amount) takes the wrapped rows nearest to it."""
    anchors = [i for i, r in enumerate(rows) if r.anchor()]
    groups: dict[int, list[int]] = {a: [a] for a in anchors}
    for i, row in enumerate(rows):
        if i in groups or not anchors:
            continue
        above = [a for a in anchors if a < i]
        below = [a for a in anchors if a > i]
        d_above = row.cy - rows[above[-1]].cy if above else float("inf")
        d_below = rows[below[0]].cy - row.cy if below else float("inf")
        target = below[0] if d_below < 0.75 * d_above else above[-1]
        groups[target].append(i)
    return [[rows[i] for i in sorted(groups[a])] for a in anchors]


def _item_fields(ctx: _Ctx, item: list[_Row]) -> dict[str, Field]:
    anchor = next(r for r in item if r.anchor())
    out: dict[str, Field] = {}
    for kind in ("description", "spec", "unit"):
        toks = [t for r in item for t in r.cells.get(kind, [])]
        if toks:
            text = _join_rows([r.cells[kind] for r in item if r.cells.get(kind)], ctx.h)
            out[kind] = _field(text, toks, CONF_CLEAR, ctx)
    for kind in ("quantity", "unit_price", "amount", "tax_amount"):
        toks = anchor.cells.get(kind) or next((r.cells[kind] for r in item if r.cells.get(kind)), [])
        if toks:
            value = parse_number(_join(toks, ctx.h))
            out[kind] = _field(value, toks, CONF_CLEAR if value is not None else CONF_UNPARSED, ctx)
    toks = anchor.cells.get("tax_rate") or next((r.cells["tax_rate"] for r in item if r.cells.get("tax_rate")), [])
    if toks:
        rate = parse_rate(_join(toks, ctx.h))
        out["tax_rate"] = _field(rate, toks, CONF_CLEAR if rate is not None else CONF_UNPARSED, ctx)
        if rate == 0 and "tax_amount" in out and out["tax_amount"].value is None:
            out["tax_amount"] = _field(Decimal("0"), anchor.cells.get("tax_amount", toks), CONF_GUESS, ctx)
    return out


def _join_rows(rows: list[list[_Tok]], h: float) -> str:
    text = ""
    for row in rows:
        part = _join(row, h)
        text = text + part if not text or _cjk_edge(text, part) else f"{text} {part}"
    return text


def _line_items(ctx: _Ctx, cols: list[_Column], header: BBox) -> list[dict[str, Field]]:
    return [_item_fields(ctx, item) for item in _group_rows(_body_rows(ctx, cols, header))]


# --------------------------------------------------------------------------------------------
# totals
# --------------------------------------------------------------------------------------------

def _row_after(ctx: _Ctx, hit: _Hit) -> list[_Tok]:
    """Every non-label token right of a label on its row."""
    b = hit.bbox
    return sorted((t for t in ctx.toks if not ctx.is_stopper(t) and _same_row(t.bbox, b)
                   and t.bbox.cx > b.x1), key=lambda t: t.bbox.x0)


def _sum_row(ctx: _Ctx, cols: list[_Column] | None, header: BBox | None) -> dict[str, Field]:
    """合计 row: subtotal under 金额, tax under 税额 (else first and last amount)."""
    hits = [x for x in ctx.hits_of("sum_row") if header is None or x.bbox.y0 > header.y1]
    if not hits:
        return {}
    money = [t for t in _row_after(ctx, hits[0]) if parse_number(t.text) is not None or t.text == "***"]
    out: dict[str, Field] = {}
    for i, tok in enumerate(money):
        kind = _column_of(cols, tok.bbox) if cols else ("amount" if i == 0 else "tax_amount")
        name = {"amount": "subtotal", "tax_amount": "tax_amount"}.get(kind)
        if name and name not in out:
            value = parse_number(tok.text)
            out[name] = _field(Decimal("0") if value is None else value, [tok],
                               CONF_CLEAR if value is not None else CONF_GUESS, ctx)
    return out


def _is_unlabelled_sum(item: dict[str, Field], others: list[dict[str, Field]]) -> bool:
    """A goods row that is really the 合计 row whose label OCR lost: amounts only (no description,
    quantity or price), marked with ¥ or adding up to the amounts of the rows above it."""
    amount = item.get("amount")
    if amount is None or not isinstance(amount.value, Decimal) or any(
            k in item for k in ("description", "spec", "quantity", "unit_price")):
        return False
    if "¥" in unicodedata.normalize("NFKC", amount.raw).replace("￥", "¥"):
        return True
    amounts = [o["amount"].value for o in others if "amount" in o and isinstance(o["amount"].value, Decimal)]
    return len(amounts) >= 2 and sum(amounts) == amount.value


def _split_unlabelled_sum(items: list[dict[str, Field]]) -> tuple[list[dict[str, Field]], dict[str, Field]]:
    """Goods rows less a trailing label-less 合计 row, and the subtotal / tax read from it."""
    if not items or not _is_unlabelled_sum(items[-1], items[:-1]):
        return items, {}
    last = items[-1]
    sums = {"subtotal": last["amount"].with_confidence(CONF_GUESS)}
    if "tax_amount" in last and last["tax_amount"].value is not None:
        sums["tax_amount"] = last["tax_amount"].with_confidence(CONF_GUESS)
    return items[:-1], sums


def _strip_marks(text: str) -> str:
    """Drop the anti-tamper mark printed before 大写 amounts (⊗ / ⓧ, "x" after NFKC)."""
    return re.sub(r"[⊗ⓧ⨂×xX]", "", text)


def _is_words_amount(text: str) -> bool:
    core = _strip_marks(text)
    return len(core) >= 2 and all(ch in _NUMERAL_CHARS for ch in core) and any(ch in "圆元角分" for ch in core)


def _grand_total(ctx: _Ctx) -> dict[str, Field]:
    """价税合计 (大写) in words and (小写) ¥ figures, cross-checked."""
    out: dict[str, Field] = {}
    for hit in ctx.hits_of("total") + ctx.hits_of("in_figures"):
        row = _row_after(ctx, hit)
        words = [t for t in row if _is_words_amount(t.text)]
        figures = [t for t in row if parse_number(t.text) is not None]
        if words and "total_amount_in_words" not in out:
            out["total_amount_in_words"] = _field(_strip_marks(_join(words, ctx.h)), words, CONF_CLEAR, ctx)
        if figures and "total_amount" not in out:
            out["total_amount"] = _field(parse_number(figures[-1].text), [figures[-1]], CONF_CLEAR, ctx)
            if "¥" in figures[-1].text or any(t.text == "¥" for t in row):
                out["currency"] = Field("CNY", "¥", CONF_CLEAR, ctx.page.number, figures[-1].bbox)
    return out


_WORD_CONFUSIONS = str.maketrans({"方": "万", "任": "仟", "伯": "佰", "什": "仟", "圓": "圆", "抬": "拾"})
_WORD_START_RX = re.compile(r"[负零壹贰叁肆伍陆柒捌玖拾佰仟万亿]")


def _repair_words(text: str) -> str | None:
    """An OCR'd 大写 amount with common misreadings mended and leading noise (a misread ⓧ mark,
    seal ink) cut off; None when nothing that looks like one is left."""
    fixed = _strip_marks(text).translate(_WORD_CONFUSIONS)
    negative = re.search(r"\(?负数?\)?", fixed)
    m = _WORD_START_RX.search(fixed, negative.end() if negative else 0)
    if m is None:
        return None
    core = fixed[m.start():]
    return ("负" if negative else "") + core if _is_words_amount(core) else None


def _words_near_total(ctx: _Ctx, total: Decimal) -> Field | None:
    """A 大写 amount read off the label's row (rotation, a lost label): any non-label token within
    about a row of a 价税合计 / (大写) / (小写) label that, mended, reads as the same total."""
    anchors = ctx.hits_of("total") + ctx.hits_of("in_words") + ctx.hits_of("in_figures")
    for tok in ctx.toks:
        if ctx.is_stopper(tok) or not any(abs(tok.bbox.cy - a.bbox.cy) <= 1.6 * ctx.h for a in anchors):
            continue
        words = _repair_words(tok.text)
        if words is not None and amount_in_words_to_decimal(words) == total:
            return _field(words, [tok], CONF_BELOW, ctx)
    return None


def _cross_check(fields: dict[str, Field]) -> None:
    """Raise confidence where the numbers agree with each other (in place)."""
    total, words = fields.get("total_amount"), fields.get("total_amount_in_words")
    if total and words and amount_in_words_to_decimal(str(words.value)) == total.value:
        fields["total_amount"] = total.with_confidence(0.97)
        fields["total_amount_in_words"] = words.with_confidence(0.97)
    elif words and not total:
        value = amount_in_words_to_decimal(str(words.value))
        if value is not None:
            fields["total_amount"] = Field(value, words.raw, CONF_GUESS, words.page, words.bbox)
    sub, tax = fields.get("subtotal"), fields.get("tax_amount")
    total = fields.get("total_amount")
    if sub and tax and total and isinstance(sub.value, Decimal) and isinstance(tax.value, Decimal) \
            and sub.value + tax.value == total.value:
        for name in ("subtotal", "tax_amount"):
            fields[name] = fields[name].with_confidence(max(fields[name].confidence, 0.95))


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
