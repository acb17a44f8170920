"""Chinese delivery notes and other labelled Chinese documents, the layer under `extractors.cn.delivery`:
the page as rows of tokens with their label hits (`DeliveryPage`, built by `build_delivery_page` on the
shared reader of `extractors.cn.form`), and the value parsers (`PARSERS`: each label kind's value type).

A label is found in a row's text by our wordings (`extractors.cn.wordings`, longest first) when a colon
follows it, when it fills whole words, or when the rest of its word is a value of its type ('税号9144…',
'单号615204'; never a signature label: 收货人签字 is one label).  Words we have no wording for become
labels too, of the kind their words name (`label_role`): a word ending in a colon, a known wording ending
a longer word with a colon ('订单日期:' is nobody's date), a word naming a typed value ('出货单号' over its
code), a word naming a party or an address with a value of that shape beside or under it, and a word that
starts with such a label glued to its value ('供应商深圳某某有限公司')."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from extractors.cn.checks import AMOUNT_MARKS, amount_in_words_to_decimal
from extractors.cn.form import (
    FormPage, FormRules, Hit, Parser, Token, covering, cut_at, group_by_row, is_cjk, page_tokens, parse_number,
    split_token, text_value, under_label,
)
from extractors.cn.shapes import shape_of
from extractors.cn.wordings import COLUMN_LABELS, HEADER_LABELS, TYPED_ROLES, label_role
from extractors.layout import Page
from extractors.parsing import parse_date

# The rules the delivery-note reader was tuned with (see `FormRules`): a gap over 0.15 x height is a
# space, and raw text keeps it next to CJK too (as printed); a value starts right of the label's end;
# OCR confidence scales field confidence.
DELIVERY_RULES = FormRules(join_gap=0.15, raw_cjk_space=True, reach_back=None, ocr_confidence=True)

_KIND_OF: dict[str, str] = {w: k for table in (HEADER_LABELS, COLUMN_LABELS) for k, ws in table.items()
                            for w in ws}
_BY_FIRST: dict[str, tuple[str, ...]] = {   # first character -> labels, longest first
    ch: tuple(sorted((w for w in _KIND_OF if w[0] == ch), key=len, reverse=True))
    for ch in {w[0] for w in _KIND_OF}}
_DIGIT_LABELS = frozenset({"No", "NO", "No.", "NO.", "TEL", "Tel"})
COLUMN_KINDS = frozenset(COLUMN_LABELS)


def known_label(label: str) -> bool:
    """A label in one of our wordings (not one whose kind `label_role` read from its words)."""
    return label.rstrip(":") in _KIND_OF
TEXT_COLUMNS = ("description", "supplier_sku", "barcode", "spec", "unit", "batch_no", "po_line_ref",
                 "remarks")
NUMBER_COLUMNS = ("quantity", "ordered_quantity", "unit_price", "amount", "tax_amount")
PEOPLE = ("deliverer", "receiver")
QTY_RX = re.compile(r"^(?P<num>[-−]?\d[\d,]*(?:\.\d+)?)(?P<unit>[^\d.,:]{1,4})?$")
SHELF_RX = re.compile(r"(\d+(?:\.\d+)?)(个月|月|天|日|年|周)")
_CODE_RX = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.]*[A-Za-z0-9]|[0-9]")
_PHONE_RX = re.compile(r"\+?\d[\d\-() /]{5,}\d")
_TAX_RX = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{15,20}(?![0-9A-Z])")
_PERSON_RX = re.compile(r"[\u4e00-\u9fff·]{2,5}|[A-Za-z][A-Za-z .]{1,30}")
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
        """The tokens under the label on the first row below it that has any, within 2.2 heights (a row of
        other text may lie between: rows are found across the page); a title row's next title ends them."""
        nxt = [x.bbox.x0 for x in self.hits if x.row == hit.row and x.bbox.x0 > hit.bbox.x1]
        right = min(nxt, default=float("inf")) - 0.5 * self.h
        for i in range(hit.row + 1, len(self.rows)):
            if self.row_cy(i) - self.row_cy(hit.row) > 2.2 * self.h:
                break
            under = [t for t in self.rows[i] if under_label(hit.bbox, t.bbox, self.h) and t.bbox.x0 < right]
            if under:
                return under
        return []


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
        if (prev.isascii() and prev.isalpha()) or \
                (nxt.isascii() and nxt.isalpha() and e not in bounds and label[-1] != "."):   # 'No.SH2026…'
            return False
        return colon or e in bounds or label[-1] in ".#" or (nxt.isdigit() and label in _DIGIT_LABELS)
    if colon:
        return True
    if s in bounds and e not in bounds and (_KIND_OF[label] not in COLUMN_KINDS or s == 0 and label == "备注"):
        return _glued_value(_KIND_OF[label], row.text[e:min(b for b in bounds if b > e)])
    return s in bounds and (e in bounds or (_KIND_OF[label] in COLUMN_KINDS and nxt in "(/"))


_GLUED_SHAPE = {"buyer_name": "name", "supplier_name": "name", "address": "address", "buyer_address": "address",
                "phone": "phone", "buyer_phone": "phone", "tax_id": "tax_id"}
_GLUED_TYPED = frozenset({"document_number", "delivery_ref", "po_number", "document_date", "delivery_date",
                          "due_date", "total_amount", "subtotal", "tax_amount", "total_quantity",
                          "total_amount_in_words"})


def _glued_value(kind: str, rest: str) -> bool:
    """A label glued to its value without a colon ('税号9144…', '收货方青岛某某有限公司', '单号615204') counts
    when the rest of its word is a value of its type; a signature label never (收货人签字 is one label)."""
    if kind in _GLUED_SHAPE:
        return shape_of(rest) == _GLUED_SHAPE[kind]
    if kind in _GLUED_TYPED:
        parse = words_amount if kind == "total_amount_in_words" else PARSERS.get(kind, number_value)
        return parse(rest) is not None
    if kind == "other":                 # 客户编号88280, 制单赵芳: a label of ours or not, its value is nobody's
        return _code(rest) is not None or parse_date(rest) is not None or person_value(rest) is not None
    return kind == "remarks" and len(rest) >= 2 and not any(ch.isdigit() for ch in rest)     # 备注含运费


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
            if label == "№":                         # never part of a word: '№PB589653' is label and value
                return _KIND_OF[label], label, p, e + (row.text[e:e + 1] == ":")
            note = _SIGN_NOTE_RX.match(row.text, e)   # 供货单位(盖章): / 收货人(签字):
            if note:
                return _KIND_OF[label], label, p, note.end()
            colon = row.text[e:e + 1] == ":"
            if _accept(row, p, e, colon):
                return _KIND_OF[label], label, p, e + colon
    return None


def _find_labels(row: _RowText) -> list[tuple[str, str, int, int]]:
    """Every label of a row, left to right; a label right after one of its own kind ('单号:NO123')
    is part of the value.  A known wording ending a longer word with a colon ('订单日期:', '生效日期:') is
    a label we do not know: it stops the value before it and is nobody's date or number; so is any other
    word that ends with a colon ('客户代码:')."""
    out: list[tuple[str, str, int, int]] = []
    p = 0
    while p < len(row.text):
        found = _match_at(row, p)
        if found is None or (out and out[-1][3] == p and out[-1][0] == found[0]):
            p += 1
            continue
        out.append(_inside_word(row, found, out))
        p = found[3]
    return _with_colon_words(row, out)


def _inside_word(row: _RowText, found: tuple[str, str, int, int],
                 before: list[tuple[str, str, int, int]]) -> tuple[str, str, int, int]:
    """A label ending a longer word of its own ('订单日期:', '填单日期:'): that word, a label we have no
    wording for, naming what its words say (`label_role`); not where an earlier label starts in the same
    word ('客户:甲公司单号:A-123': the text before is a value)."""
    kind, label, s, e = found
    start = max(a for a in row.starts if a <= s)
    if s == start or not is_cjk(row.text[s - 1]) or not is_cjk(label[0]) or row.text[e - 1:e] != ":" \
            or any(b[2] >= start for b in before):
        return found
    return label_role(row.text[start:e]), row.text[start:e], start, e


def _with_colon_words(row: _RowText, found: list[tuple[str, str, int, int]]) -> list[tuple[str, str, int, int]]:
    """Words we have no label for that end with a colon, or start with a few letters and a colon
    ('客户代码:', '经手人:周艳', '出货单号:'): labels naming what their words say (`label_role`)."""
    out = list(found)
    for tok, a in zip(row.toks, row.starts):
        core = tok.text.split(":", 1)[0]
        b = a + len(core) + 1
        if ":" not in tok.text or not 2 <= len(core) <= 12 or not any(is_cjk(ch) for ch in core) \
                or any(ch.isdigit() for ch in core) or any(s < b and a < e for _, _, s, e in out):
            continue
        out.append((label_role(core), core + ":", a, b))
    for tok, a in zip(row.toks, row.starts):            # '出货单号' over its value, no colon
        b = a + len(tok.text)
        if 2 <= len(tok.text) <= 8 and any(is_cjk(ch) for ch in tok.text) and not any(ch.isdigit() for ch in tok.text) \
                and label_role(tok.text) in TYPED_ROLES and not any(s < b and a < e for _, _, s, e in out):
            out.append((label_role(tok.text), tok.text, a, b))
    return sorted(out, key=lambda f: f[2])


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


_SHAPED_ROLES = {"buyer_name": "name", "supplier_name": "name", "address": "address", "buyer_address": "address"}


def _shaped_labels(rows: list[tuple[Token, ...]], hits: list[Hit], h: float) -> list[Hit]:
    """Words we have no label for, without a colon, that name a party or an address ('购货单位' over a
    company's name): labels when the word right of them, or the first one under them, has that shape."""
    covered = {id(t) for x in hits for t in x.toks}
    out = []
    for i, row in enumerate(rows):
        for k, tok in enumerate(row):
            role = label_role(tok.text)
            if id(tok) in covered or role not in _SHAPED_ROLES or not 2 <= len(tok.text) <= 8 \
                    or not all(is_cjk(ch) for ch in tok.text):
                continue
            right = row[k + 1:k + 2]
            below = [t for r in rows[i + 1:i + 2] for t in r
                     if t.bbox.x1 > tok.bbox.x0 - h and t.bbox.x0 < tok.bbox.x1 + 2 * h
                     and t.bbox.cy - tok.bbox.cy < 2.2 * h]
            if any(shape_of(t.text) == _SHAPED_ROLES[role] for t in [*right, *below[:1]]):
                out.append(Hit(role, (tok,), label=tok.text, row=i))
    return out


def _glued_unknown(rows: list[tuple[Token, ...]], hits: list[Hit]) -> tuple[list[tuple[Token, ...]], list[Hit]]:
    """Words that start with a label we have no wording for, glued to its value ('供应商深圳某某有限公司',
    '客户地址广州市…路281号'): cut there when what follows is a value of the kind the label's words name."""
    covered = {id(t) for x in hits for t in x.toks}
    out_rows, out_hits = [], []
    for i, row in enumerate(rows):
        pieces: list[Token] = []
        for tok in row:
            cut = None if id(tok) in covered else _glued_prefix(tok.text)
            if cut is None:
                pieces.append(tok)
                continue
            label, value = split_token(tok, [cut])
            pieces.extend([label, value])
            out_hits.append(Hit(label_role(label.text), (label,), label=label.text, row=i))
        out_rows.append(tuple(pieces))
    return out_rows, out_hits


def _glued_prefix(text: str) -> int | None:
    for n in range(2, min(7, len(text) - 1)):
        head = text[:n]
        if not all(is_cjk(ch) for ch in head):
            break
        kind = label_role(head)
        if kind != "other" and _glued_value(kind, text[n:]):
            return n
    return None


def build_delivery_page(page: Page) -> DeliveryPage:
    toks, h = page_tokens(page)
    rows: list[tuple[Token, ...]] = []
    hits: list[Hit] = []
    for row in group_by_row(toks, lambda t: t.bbox, 0.5 * h):
        pieces, row_hits = _label_row(row, len(rows), h)
        rows.append(tuple(pieces))
        hits.extend(row_hits)
    hits.extend(_shaped_labels(rows, hits, h))
    rows, glued = _glued_unknown(rows, hits)
    hits.extend(glued)
    stoppers = frozenset(id(t) for x in hits for t in x.toks)
    flat = tuple(t for row in rows for t in row)
    return DeliveryPage(page, flat, tuple(hits), stoppers, h, tuple(rows))


# --------------------------------------------------------------------------------------------
# value parsers
# --------------------------------------------------------------------------------------------

def _code(text: str) -> str | None:
    """A document's number: letters and digits, digits among them, and neither a tax id nor a phone number
    (the value of another label that a number label must not take)."""
    m = _CODE_RX.search(text.lstrip(":"))
    if not m or not any(ch.isdigit() for ch in m.group(0)) or shape_of(m.group(0)) in ("tax_id", "phone"):
        return None
    return m.group(0)


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


def _tax_code(text: str) -> str | None:
    """A 统一社会信用代码 / 纳税人识别号: 15 to 20 letters and digits, digits among them."""
    m = _TAX_RX.search(text.upper())
    return m.group(0) if m and sum(ch.isdigit() for ch in m.group(0)) >= 6 else None


def name_value(text: str) -> str | None:
    """A party's name or an address: text that is not itself a label (no colon), a figure or a date."""
    t = text_value(text)
    if t is None or len(t) < 2 or t.endswith(":") or parse_number(t) is not None or parse_date(t) is not None:
        return None
    return t


def person_value(text: str) -> str | None:
    """A signature's name: a short run of letters (张三, 李·娜, Li Lei), never a label or a note left blank."""
    t = text_value(text)
    if t is None or ":" in t or "(" in t or not _PERSON_RX.fullmatch(t):
        return None
    return t


PARSERS: dict[str, Parser] = {
    "document_number": _code, "delivery_ref": _code, "po_number": _code, "document_date": parse_date,
    "delivery_date": parse_date, "due_date": parse_date, "payment_terms": text_value,
    "buyer_name": name_value, "supplier_name": name_value, "address": name_value, "buyer_address": name_value,
    "phone": _phone, "buyer_phone": _phone, "tax_id": _tax_code, "deliverer": person_value,
    "receiver": person_value, "remarks": text_value, "total_quantity": number_value,
}
