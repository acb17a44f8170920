"""Where one supplier prints each value, learned from a reviewer's corrections, and applied to its next document.

A clerk corrects a header field or a line cell once; `teach` finds where the right value is printed on that
document (the words whose text or parsed value equals it, or the words the clerk picked on the page) and
describes how to find it again as a `Rule`:

- `anchor` / `side`: the label printed before it on its line ('Rechnungs-Nr.', '发票号码:'), inside the same word
  ('发票号码:12345678'), or over it (a label above its value), and the value's offset from that label;
- `zone`: where on the page the value sat (fractions of the page), for when the label is not found;
- `shape`: the value's format ('A-9-9' for 'INV-2024-0012'), `date_order`, the number of words and lines;
- `constant`: for the supplier's own particulars (its name, tax id, address, bank account), the text itself,
  since it is printed the same on every document of that supplier;
- for line cells, `column`: the title of the table column it sits under and that column's span.

`apply_rules` runs on the supplier's next document before the generic readers' values are shown: a value a rule
finds replaces the reader's (`method: learned_layout`, with the fact's id); a rule that finds nothing leaves the
reader's value and says so (an info issue `learned_layout_missed`).  Values from embedded XML or a QR code are
never overruled.  Pure: a Layout, an Extraction and rules in, a new Extraction out.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Iterable, Sequence

from rapidfuzz import fuzz

from extractors.layout import BBox, Layout, Line, Page, Word, merge_bboxes
from extractors.parsing import CURRENCY_CODES, currency_in, find_dates, join_printed, parse_amount
from extractors.result import Extraction, Field, FieldValue, Issue, LineItem, Severity, field_kind

__all__ = ["AppliedRule", "LEARNED", "Picked", "Rule", "Taught", "apply_rules", "teach", "teach_line_cell"]

log = logging.getLogger("inbound.learned_layout")

LEARNED = "learned_layout"
ANCHORED_CONFIDENCE = 0.97     # found after the learned label, in the learned format
CONSTANT_CONFIDENCE = 0.98     # the supplier's own particulars, found as taught
ZONE_CONFIDENCE = 0.9          # found only by where it sat on the page
CONSTANT_FIELDS = frozenset({"supplier_name", "supplier_tax_id", "supplier_address", "supplier_phone",
                             "supplier_bank_account", "supplier_bank", "supplier_email", "supplier_iban"})
_EXACT_METHODS = frozenset({"xml", "qr"})
_MAX_SPAN = 10                 # words in one value on one line
_MAX_LINES = 4                 # lines one value may run over (an address)


def compact(text: str) -> str:
    """Letters and digits only, case-folded, NFKC: how printed text is compared."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def shape(text: str) -> str:
    """The value's format: letters A, digits 9, runs collapsed, other printed marks kept ('INV-2024-0012' -> 'A-9-9')."""
    out = []
    for ch in unicodedata.normalize("NFKC", text).strip():
        cls = "9" if ch.isdigit() else "A" if ch.isalpha() else "" if ch.isspace() else ch
        if cls and (not out or out[-1] != cls or cls not in "A9"):
            out.append(cls)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Picked:
    """Where a reviewer picked the value: page and box on the page as received (what the review screen shows)."""

    page: int
    bbox: BBox


@dataclass(frozen=True, slots=True)
class Rule:
    """How to find one value on this supplier's documents (see the module docstring).  `field` is a header field's
    name or "line.<cell>" for a line cell; boxes and offsets are in page points unless named relative."""

    field: str
    page: int                                      # 1-based; -1: the last page
    zone: tuple[float, float, float, float]        # the value's box as fractions of the page's width and height
    anchor: str = ""                               # compact label text; "" when none was found
    side: str = ""                                 # left | inline | above | ""
    offset: tuple[float, float] = (0.0, 0.0)       # value box (x0, y0) minus the anchor's (x1 or x0, y0)
    words: int = 1
    lines: int = 1
    shape: str = ""
    date_order: str = ""
    constant: str = ""                             # the value as taught, for the supplier's own particulars
    column: str = ""                               # line cells: compact title of the column
    column_span: tuple[float, float] = (0.0, 0.0)  # line cells: the column's x0, x1 as fractions of the width

    def to_json(self) -> str:
        data = {k: getattr(self, k) for k in self.__slots__}
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Rule:
        data = json.loads(text)
        names = set(cls.__slots__)
        data = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names}
        return cls(**data)

    def on_page(self) -> bool:
        """The rule points somewhere a page can be (its zone within the page)."""
        x0, y0, x1, y1 = self.zone
        return -0.01 <= x0 <= x1 <= 1.01 and -0.01 <= y0 <= y1 <= 1.01 and self.page != 0


@dataclass(frozen=True, slots=True)
class Taught:
    """What teaching one value gave: a rule, or why none (`reason`, for the document's history)."""

    rule: Rule | None
    reason: str = ""
    box: BBox | None = None
    page: int = 0


@dataclass(frozen=True, slots=True)
class AppliedRule:
    """A rule to apply: the fact's id and the rule."""

    fact_id: str
    rule: Rule


# -- rows: the page's words by baseline ----------------------------------------------------------------------

def by_rows(layout: Layout) -> Layout:
    """The layout with each page's lines joined into rows: every word on the same baseline, left to right, across
    blocks (a label in one block, its value in the next: 'Montant HT :' | '€ 604,41')."""
    if layout.meta.get("rows"):
        return layout
    pages = []
    for page in layout.pages:
        rows: list[list[Line]] = []
        for line in sorted(page.lines, key=lambda ln: (ln.bbox.cy, ln.bbox.x0)):
            row = rows[-1] if rows else None
            if row is not None:
                top, bottom = min(ln.bbox.y0 for ln in row), max(ln.bbox.y1 for ln in row)
                height = min(line.bbox.height, bottom - top) or 1e-6
                overlap = (min(bottom, line.bbox.y1) - max(top, line.bbox.y0)) / height
                if overlap >= 0.5 and line.bbox.height <= 1.8 * (bottom - top) and (bottom - top) <= 1.8 * line.bbox.height:
                    row.append(line)
                    continue
            rows.append([line])
        lines = tuple(Line(tuple(sorted((w for ln in row for w in ln.words), key=lambda w: w.bbox.x0))) for row in rows)
        pages.append(replace(page, lines=lines))
    return Layout(tuple(pages), layout.source, meta={**layout.meta, "rows": True})


# -- spans: runs of words on the page -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Span:
    page: Page
    row: int                   # index of the first line in page.lines
    words: tuple[Word, ...]
    prefix: str = ""           # inline: the label text before the value inside the first word
    rows: int = 1

    @property
    def box(self) -> BBox:
        return merge_bboxes(w.bbox for w in self.words)

    @property
    def text(self) -> str:
        first = self.words[0].text[len(self.prefix):] if self.prefix else self.words[0].text
        return join_printed([first.lstrip(":：#№ "), *(w.text for w in self.words[1:])]).strip()


def _height(line: Line) -> float:
    return max(1.0, line.bbox.height)


def _rows_below(page: Page, row: int, x0: float, y1: float, height: float) -> Iterable[tuple[int, int]]:
    """(row, word index) of the word that starts near x0 on each of the next lines below y1 (an address's next line)."""
    for r in range(row + 1, min(len(page.lines), row + 12)):
        line = page.lines[r]
        if line.bbox.y0 - y1 > 2.2 * height:
            return
        for i, w in enumerate(line.words):
            if abs(w.bbox.x0 - x0) <= 1.5 * height:
                yield r, i
                break


def _text_spans(layout: Layout, target: str) -> list[_Span]:
    """Word runs whose compact text equals `target` (compact), inside one word (after a label) or running on over
    the next lines (from a word starting below the first)."""
    found: list[_Span] = []
    if not target:
        return found
    for page in layout.pages:
        for r, line in enumerate(page.lines):
            for i, word in enumerate(line.words):
                text = compact(word.text)
                if not text:
                    continue
                at = text.find(target[: len(text)]) if len(text) > len(target) else -1
                if text == target or (len(text) < len(target) and target.startswith(text)):
                    span = _run_on(page, r, i, target)
                    if span is not None:
                        found.append(span)
                elif len(text) > len(target) and text.endswith(target) and at > 0:
                    found.append(_Span(page, r, (word,), prefix=_raw_prefix(word.text, len(text) - len(target))))
    return found


def _raw_prefix(printed: str, letters: int) -> str:
    """The printed characters that hold the first `letters` compact characters (a label glued to its value)."""
    count = 0
    for k, ch in enumerate(printed):
        if count == letters:
            return printed[:k]
        count += bool(compact(ch))
    return printed


def _run_on(page: Page, row: int, start: int, target: str) -> _Span | None:
    line = page.lines[row]
    words: list[Word] = []
    got = ""
    rows, r, i = 1, row, start
    while True:
        ws = page.lines[r].words
        while i < len(ws) and len(words) < _MAX_SPAN * _MAX_LINES:
            nxt = got + compact(ws[i].text)
            if not target.startswith(nxt):
                return None
            words.append(ws[i])
            got = nxt
            i += 1
            if got == target:
                return _Span(page, row, tuple(words), rows=rows)
        if rows >= _MAX_LINES:
            return None
        below = next(iter(_rows_below(page, r, words[0].bbox.x0 if rows == 1 else words[0].bbox.x0,
                                      page.lines[r].bbox.y1, _height(line))), None)
        if below is None:
            return None
        r, i = below
        rows += 1


def _near_spans(layout: Layout, target: str, *, cutoff: float = 85) -> list[_Span]:
    """The one-line run closest to `target` when it differs only by OCR slips (a scan's '9l320' for '91320'): the
    supplier's particulars, corrected by a clerk, are still taught where the scan printed them."""
    best: tuple[float, _Span] | None = None
    for page in layout.pages:
        for r, line in enumerate(page.lines):
            if fuzz.partial_ratio(target, compact(line.text)) < cutoff:
                continue
            for i in range(len(line.words)):
                for span in _candidate_spans(page, r, i):
                    score = fuzz.ratio(compact(span.text), target)
                    if score >= cutoff and (best is None or score > best[0]):
                        best = (score, span)
    return [best[1]] if best else []


def _candidate_spans(page: Page, row: int, start: int, limit: int = _MAX_SPAN) -> Iterable[_Span]:
    ws = page.lines[row].words
    for end in range(start + 1, min(len(ws), start + limit) + 1):
        yield _Span(page, row, tuple(ws[start:end]))


def _value_of(name: str, text: str, *, date_order: str = "") -> FieldValue:
    """The typed value of a printed text in the field's kind, or None when it does not read as one."""
    kind = field_kind(name.removeprefix("line."))
    if name == "currency":
        return currency_in(text) if len(text) <= 12 else None
    if kind == "date":
        for dayfirst in ((date_order != "mdy"),) if date_order else (True, False):
            found = find_dates(text, dayfirst=dayfirst)
            if found:
                return found[0].value
        return None
    if kind == "decimal":
        return parse_amount(text)
    value = text.strip().strip(":：").strip()
    return value or None


def _typed_spans(layout: Layout, name: str, value: FieldValue) -> list[_Span]:
    """Runs of up to 5 words on one line that read as `value` (a date or a number)."""
    found = []
    for page in layout.pages:
        for r, line in enumerate(page.lines):
            for i in range(len(line.words)):
                for span in _candidate_spans(page, r, i, 5):
                    typed = _value_of(name, span.text)
                    if typed is not None and typed == value:
                        found.append(span)
                        break
                else:
                    word = line.words[i]
                    m = re.match(r"^(.*?[:：])(.+)$", word.text)
                    if m and _value_of(name, m.group(2)) == value:
                        found.append(_Span(page, r, (word,), prefix=m.group(1)))
    return _shortest(found)


def _shortest(spans: list[_Span]) -> list[_Span]:
    """Of overlapping spans, the ones with fewest words (a date read from '12.03.2024' rather than 'Datum 12.03.2024')."""
    out = []
    for s in sorted(spans, key=lambda s: len(s.words)):
        if not any(o.page is s.page and o.row == s.row and set(map(id, o.words)) & set(map(id, s.words)) for o in out):
            out.append(s)
    return sorted(out, key=lambda s: (s.page.number, s.row))


def _picked_spans(layout: Layout, picked: Picked) -> list[_Span]:
    page = next((p for p in layout.pages if p.number == picked.page), None)
    if page is None:
        return []
    box = picked.bbox

    def inside(w: Word) -> bool:
        seen = _received(page, w.bbox)
        return box.x0 <= seen.cx <= box.x1 and box.y0 <= seen.cy <= box.y1
    rows = [(r, tuple(w for w in line.words if inside(w))) for r, line in enumerate(page.lines)]
    rows = [(r, ws) for r, ws in rows if ws]
    if not rows:
        return []
    words = tuple(w for _, ws in rows for w in ws)
    return [_Span(page, rows[0][0], words, rows=len(rows))]


# -- anchors: the label that leads to a value ---------------------------------------------------------------

_CURRENCY_WORD = re.compile(r"^[(\[]?(?:" + "|".join(sorted(CURRENCY_CODES)) + r"|[€$£¥￥]|RMB|元)[)\]]?[:：]?$")


def _is_label_word(text: str) -> bool:
    """Words a label is made of: letters, no digits ('Rechnungs-Nr.', '发票号码:', not 'PO25052809')."""
    return any(ch.isalpha() for ch in text) and not any(ch.isdigit() for ch in text)


_RATE = re.compile(r"^(?:\d{1,2}(?:[.,]\d{1,2})?\s?%|%)[:：]?$")


def _is_rate(words: Sequence[Word], k: int) -> bool:
    """A tax rate inside a label ('BTW 9 %:', 'Sales Tax 7.25%:'): part of the label, never its value."""
    text = words[k].text.strip()
    if _RATE.match(text):
        return True
    return bool(re.fullmatch(r"\d{1,2}(?:[.,]\d{1,2})?", text)) and k + 1 < len(words) and \
        words[k + 1].text.strip().startswith("%")


def _is_currency(text: str) -> bool:
    return bool(_CURRENCY_WORD.match(text.strip()))


def _left_anchor(span: _Span) -> tuple[str, BBox] | None:
    line = span.page.lines[span.row]
    first = line.words.index(span.words[0]) if span.words[0] in line.words else -1
    if first <= 0:
        return None
    height = _height(line)
    while first > 0 and (_is_currency(line.words[first - 1].text) or _is_rate(line.words, first - 1)):
        first -= 1                                # 'Total  EUR  1.234,00', 'BTW 9 %: 95,17': the label is 'Total', 'BTW' 
    if first <= 0 or span.words[0].bbox.x0 - line.words[first - 1].bbox.x1 > 0.6 * span.page.width:
        return None
    label: list[Word] = []
    for k in range(first - 1, max(-1, first - 6), -1):
        w = line.words[k]
        if label and label[0].bbox.x0 - w.bbox.x1 > 1.2 * height:
            break
        if _is_rate(line.words, k):
            continue
        if not _is_label_word(w.text) and not label:
            return None
        if not _is_label_word(w.text):
            break
        label.insert(0, w)
    text = compact(join_printed(w.text for w in label))
    return (text, merge_bboxes(w.bbox for w in label)) if text else None


def _above_anchor(span: _Span) -> tuple[str, BBox] | None:
    page, box = span.page, span.box
    height = _height(page.lines[span.row])
    for r in range(span.row - 1, max(-1, span.row - 4), -1):
        line = page.lines[r]
        if box.y0 - line.bbox.y1 > 2.5 * height:
            return None
        over = [w for w in line.words if w.bbox.x1 > box.x0 - height and w.bbox.x0 < box.x1 + height
                and _is_label_word(w.text)]
        if over:
            text = compact(join_printed(w.text for w in over[:4]))
            if text:
                return text, merge_bboxes(w.bbox for w in over[:4])
    return None


def _anchor_of(span: _Span) -> tuple[str, str, BBox | None]:
    """(anchor text, side, anchor box) for a found value."""
    if span.prefix:
        label = compact(span.prefix)
        if label:
            return label, "inline", span.words[0].bbox
    left = _left_anchor(span)
    if left is not None:
        return left[0], "left", left[1]
    above = _above_anchor(span)
    if above is not None:
        return above[0], "above", above[1]
    return "", "", None


def _date_order(raw: str, value: date) -> str:
    numbers = [int(n) for n in re.findall(r"\d+", raw)]
    if len(numbers) < 3 or len(str(numbers[0])) == 4 or not isinstance(value, date):
        return "ymd" if numbers else ""
    if numbers[0] == value.day and numbers[1] == value.month:
        return "dmy"
    return "mdy" if numbers[0] == value.month and numbers[1] == value.day else ""


def _rule_for(name: str, span: _Span, value: FieldValue, *, pages: int) -> Rule:
    page, box = span.page, span.box
    anchor, side, anchor_box = _anchor_of(span)
    if side == "left" or side == "inline":
        offset = (box.x0 - (anchor_box.x1 if side == "left" else anchor_box.x0), box.y0 - anchor_box.y0)
    elif side == "above":
        offset = (box.x0 - anchor_box.x0, box.y0 - anchor_box.y0)
    else:
        offset = (0.0, 0.0)
    text = span.text
    kind = field_kind(name.removeprefix("line."))
    constant = text if name in CONSTANT_FIELDS else ""
    return Rule(field=name, page=-1 if page.number == pages and pages > 1 else page.number,
                zone=(box.x0 / page.width, box.y0 / page.height, box.x1 / page.width, box.y1 / page.height),
                anchor=anchor, side=side, offset=(round(offset[0], 2), round(offset[1], 2)), words=len(span.words),
                lines=span.rows, shape=shape(text) if kind == "text" and not constant and _id_like(text) else "",
                date_order=_date_order(text, value) if kind == "date" else "", constant=constant)


def _id_like(text: str) -> bool:
    """A number-like value (an invoice number, a tax id): one token with digits, whose format is worth keeping."""
    return len(text) <= 40 and " " not in text.strip() and any(ch.isdigit() for ch in text)


def _equal_text(a: str, b: str) -> bool:
    return compact(a) == compact(b)


def teach(layout: Layout, name: str, value: FieldValue, *, picked: Picked | None = None,
          taken: Sequence[tuple[int, BBox]] = ()) -> Taught:
    """The rule that finds header field `name`'s corrected `value` on this document again, or why there is none.
    `taken`: (page, box on the page as received) of the other fields' values; where the value is printed several
    times, a place another field reads from is the last choice ('Date de facture' when the delivery date is the same)."""
    layout = by_rows(layout)
    if value is None or value == "":
        return Taught(None, "no value to look for")
    if picked is not None:
        spans = _picked_spans(layout, picked)
        if not spans:
            return Taught(None, "no printed word where the value was picked")
    elif isinstance(value, (date, Decimal)) or name == "currency":
        spans = _typed_spans(layout, name, value)
    else:
        spans = _text_spans(layout, compact(str(value)))
        if not spans and name in CONSTANT_FIELDS:
            spans = _near_spans(layout, compact(str(value)))
    if not spans:
        return Taught(None, "the value is printed nowhere on the page; no layout rule learned")
    span = _best_taught(spans, taken)
    rule = _rule_for(name, span, value, pages=len(layout.pages))
    if rule.constant:                         # what the clerk wrote, whatever the print (or the scan) made of it
        rule = replace(rule, constant=str(value))
    return Taught(rule, page=span.page.number, box=span.box)


def _best_taught(spans: list[_Span], taken: Sequence[tuple[int, BBox]]) -> _Span:
    """The occurrence no other field reads from, then one a label leads to (inside its word, or before it on its
    line) before one standing alone; else the first in reading order."""
    def used(s: _Span) -> bool:
        box = _received(s.page, s.box)
        return any(p == s.page.number and b.x_overlap(box) > 0 and b.y_overlap(box) > 0 for p, b in taken)

    def rank(s: _Span) -> int:
        side = _anchor_of(s)[1]
        return {"inline": 0, "left": 0, "above": 1}.get(side, 2)
    return min(spans, key=lambda s: (used(s), rank(s), s.page.number, s.row))


# -- applying ------------------------------------------------------------------------------------------------

def _pages_for(layout: Layout, rule: Rule) -> list[Page]:
    if not layout.pages:
        return []
    want = layout.pages[-1] if rule.page == -1 else next((p for p in layout.pages if p.number == rule.page), None)
    others = [p for p in layout.pages if p is not want]
    return ([want] if want is not None else []) + others


def _zone_box(rule: Rule, page: Page) -> BBox:
    x0, y0, x1, y1 = rule.zone
    return BBox(x0 * page.width, y0 * page.height, x1 * page.width, y1 * page.height)


def _distance(box: BBox, to: BBox) -> float:
    return abs(box.x0 - to.x0) + abs(box.y0 - to.y0)


def _expected_anchor(rule: Rule, page: Page) -> tuple[float, float]:
    """Where the rule's label should be: the learned value's place less the learned offset (the label's x1 for a label
    on the left, its x0 otherwise, and its y0)."""
    zone = _zone_box(rule, page)
    return zone.x0 - rule.offset[0], zone.y0 - rule.offset[1]


def _anchor_distance(page: Page, rule: Rule, hit: tuple[int, int, int, str], expected: tuple[float, float]) -> float:
    row, first, last, _ = hit
    ws = page.lines[row].words
    x = ws[last].bbox.x1 if rule.side == "left" else ws[first].bbox.x0
    # a longer label that begins with this one ('Totaal excl. btw' for 'Totaal') comes after every whole one
    longer = last + 1 < len(ws) and _is_label_word(ws[last + 1].text) and ws[last + 1].bbox.x0 - ws[last].bbox.x1 < \
        _height(page.lines[row]) and field_kind(rule.field.removeprefix("line.")) != "text"
    return abs(x - expected[0]) + abs(ws[first].bbox.y0 - expected[1]) + (1e4 if longer else 0.0)


def _anchor_hits(page: Page, anchor: str) -> list[tuple[int, int, int, str]]:
    """(row, first word, last word, inline prefix) where `anchor` is printed: as a run of words, or glued in front
    of a value inside one word."""
    hits = []
    for r, line in enumerate(page.lines):
        ws = line.words
        for i, word in enumerate(ws):
            text = compact(word.text)
            if not text:
                continue
            if text.startswith(anchor) and len(text) > len(anchor):
                prefix = _raw_prefix(word.text, len(anchor))
                rest = word.text[len(prefix):].lstrip()
                if rest[:1] in (":", "：", "#") or rest[:1].isdigit():
                    hits.append((r, i, i, prefix))
                continue
            got, k = "", i
            while k < len(ws) and len(got) < len(anchor):
                got += "" if _is_rate(ws, k) else compact(ws[k].text)
                k += 1
            while k < len(ws) and (_is_rate(ws, k) or _is_currency(ws[k].text)):
                k += 1                            # the rate and currency after a label belong to it
            if got == anchor:
                hits.append((r, i, k - 1, ""))
    return hits


def _fits(rule: Rule, span: _Span) -> FieldValue:
    """The span's value when it is what the rule looks for (parses in the field's kind, in the learned format)."""
    text = span.text
    if not text:
        return None
    value = _value_of(rule.field, text, date_order=rule.date_order)
    if value is None:
        return None
    if rule.shape and shape(text) != rule.shape:
        return None
    if rule.anchor and compact(text) == rule.anchor:
        return None
    return value


def _after_anchor(page: Page, rule: Rule, hit: tuple[int, int, int, str]) -> tuple[_Span, FieldValue] | None:
    row, first, last, prefix = hit
    line = page.lines[row]
    if prefix:
        span = _Span(page, row, (line.words[first],), prefix=prefix)
        value = _fits(rule, span)
        if value is not None:
            return span, value
        spans = [_Span(page, row, line.words[first:end], prefix=prefix)
                 for end in range(first + 2, min(len(line.words), first + rule.words + 3) + 1)]
        return next(((s, v) for s in spans if (v := _fits(rule, s)) is not None), None)
    if rule.side in ("left", "inline", ""):
        after = list(range(last + 1, len(line.words)))
        want_x = line.words[last].bbox.x1 + rule.offset[0]
        # the value learned at this distance from its label first ('合计 ¥35107.72 ¥3159.70': the second is the tax)
        for start in sorted(after, key=lambda i: abs(line.words[i].bbox.x0 - want_x))[:3]:
            found = _best_run(page, row, start, rule)
            if found is not None:
                return found
    anchor_box = merge_bboxes(w.bbox for w in line.words[first:last + 1])
    height = _height(line)
    for r in range(row + 1, min(len(page.lines), row + 4)):
        below = page.lines[r]
        if below.bbox.y0 - anchor_box.y1 > 3 * height:
            break
        want_x = anchor_box.x0 + (rule.offset[0] if rule.side == "above" else 0.0)
        for i, w in enumerate(below.words):
            if abs(w.bbox.x0 - want_x) <= 2 * height or (w.bbox.x0 <= want_x <= w.bbox.x1):
                found = _best_run(page, r, i, rule)
                if found is not None:
                    return found
                break
    return None


def _best_run(page: Page, row: int, start: int, rule: Rule) -> tuple[_Span, FieldValue] | None:
    """The run from word `start` that the rule takes: as many words as learned when they fit, else the shortest run
    that fits (never across a wide gap); a value learned over several lines runs on below."""
    ws = page.lines[row].words
    height = _height(page.lines[row])
    end = start + 1
    while end < len(ws) and end - start < _MAX_SPAN and ws[end].bbox.x0 - ws[end - 1].bbox.x1 <= 2.5 * height:
        end += 1
    runs = [_Span(page, row, ws[start:k]) for k in range(start + 1, end + 1)]
    if rule.lines > 1 and runs:
        runs = [_run_down(page, row, runs[-1], rule.lines)] + runs
    kind = field_kind(rule.field.removeprefix("line."))
    if kind == "decimal" or (kind == "text" and not rule.shape and rule.field != "currency"):
        preferred = runs[::-1]                 # free text (a name, terms), '€ 1 110,62': up to the next wide gap
    else:
        preferred = runs
    return next(((s, v) for s in preferred if (v := _fits(rule, s)) is not None), None)


def _run_down(page: Page, row: int, span: _Span, lines: int) -> _Span:
    words, rows, r = list(span.words), 1, row
    while rows < lines:
        below = next(iter(_rows_below(page, r, words[0].bbox.x0, page.lines[r].bbox.y1, _height(page.lines[r]))), None)
        if below is None:
            break
        r, i = below
        ws = page.lines[r].words
        end = i + 1
        while end < len(ws) and ws[end].bbox.x0 - ws[end - 1].bbox.x1 <= 2.5 * _height(page.lines[r]):
            end += 1
        words += ws[i:end]
        rows += 1
    return _Span(page, row, tuple(words), rows=rows)


def _by_zone(page: Page, rule: Rule) -> tuple[_Span, FieldValue] | None:
    zone = _zone_box(rule, page)
    pad_x, pad_y = 0.06 * page.width, max(zone.height, 10.0) * 1.5
    best = None
    for r, line in enumerate(page.lines):
        if line.bbox.y1 < zone.y0 - pad_y or line.bbox.y0 > zone.y1 + pad_y:
            continue
        for i, w in enumerate(line.words):
            if w.bbox.x1 < zone.x0 - pad_x or w.bbox.x0 > zone.x1 + pad_x:
                continue
            found = _best_run(page, r, i, rule)
            if found is not None:
                d = _distance(found[0].box, zone)
                if best is None or d < best[0]:
                    best = (d, found)
    return best[1] if best else None


def _by_constant(layout: Layout, rule: Rule) -> tuple[_Span, FieldValue] | None:
    """The supplier's own text where it is printed, exactly or with an OCR slip or two (the taught text is given)."""
    target = compact(rule.constant)
    spans = _text_spans(layout, target)
    if spans:
        return min(spans, key=lambda s: _distance(s.box, _zone_box(rule, s.page))), rule.constant
    for page in _pages_for(layout, rule)[:1]:
        zone = _zone_box(rule, page)
        best = None
        for r, line in enumerate(page.lines):
            if abs(line.bbox.cy - zone.cy) > max(3 * zone.height, 30):
                continue
            for i in range(len(line.words)):
                for span in _candidate_spans(page, r, i, max(1, rule.words + 1)):
                    score = fuzz.ratio(compact(span.text), target)
                    if score >= 88 and (best is None or score > best[0]):
                        best = (score, span)
        if best is not None:
            return best[1], rule.constant
    return None


def find(layout: Layout, rule: Rule) -> tuple[_Span, FieldValue, float] | None:
    """Where the rule's value is on this document, its typed value and how sure: label first, then the zone."""
    layout = by_rows(layout)
    if rule.constant:
        found = _by_constant(layout, rule)
        return (*found, CONSTANT_CONFIDENCE) if found else None
    for page in _pages_for(layout, rule):
        if rule.anchor:
            hits = _anchor_hits(page, rule.anchor)
            expected = _expected_anchor(rule, page)
            hits.sort(key=lambda h: _anchor_distance(page, rule, h, expected))
            for hit in hits:
                found = _after_anchor(page, rule, hit)
                if found is not None:
                    return (*found, ANCHORED_CONFIDENCE)
    pages = _pages_for(layout, rule)
    if pages and field_kind(rule.field.removeprefix("line.")) != "decimal":   # amounts move with the table's length
        found = _by_zone(pages[0], rule)
        if found is not None:
            return (*found, ZONE_CONFIDENCE)
    return None


def _received(page: Page, box: BBox) -> BBox:
    return page.frame.box_to_received(box) if page.frame is not None else box


def _field(span: _Span, value: FieldValue, confidence: float) -> Field:
    return Field(value, span.text, confidence, span.page.number, _received(span.page, span.box), method=LEARNED)


def _missed(rule_id: str, name: str) -> Issue:
    return Issue("learned_layout_missed", Severity.INFO,
                 f"Where this supplier printed {name.replace('_', ' ')} before (learned rule {rule_id}) was not found "
                 "on this document; the generic reader's value is shown.", field=name)


def apply_rules(extraction: Extraction, layout: Layout, rules: Sequence[AppliedRule]) -> Extraction:
    """The extraction with every value the supplier's learned rules find (see the module docstring)."""
    layout = by_rows(layout)
    fields = dict(extraction.fields)
    issues = list(extraction.issues)
    header = [r for r in rules if not r.rule.field.startswith("line.")]
    cells = [r for r in rules if r.rule.field.startswith("line.")]
    for applied in header:
        rule, name = applied.rule, applied.rule.field
        if not rule.on_page() or (rule.page > len(layout.pages)):
            log.warning("learned rule %s points outside the page; ignored", applied.fact_id,
                        extra={"fact_id": applied.fact_id, "field": name})
            continue
        before = fields.get(name)
        if before is not None and before.method in _EXACT_METHODS:
            continue
        found = find(layout, rule)
        if found is None:
            issues.append(_missed(applied.fact_id, name))
            continue
        span, value, confidence = found
        fields[name] = replace(_field(span, value, confidence), fact_id=applied.fact_id)
    lines = _apply_cells(extraction.lines, layout, cells, issues) if cells else extraction.lines
    if fields == dict(extraction.fields) and issues == list(extraction.issues) and lines is extraction.lines:
        return extraction
    return replace(extraction, fields=fields, issues=tuple(issues), lines=tuple(lines))


# -- line cells ------------------------------------------------------------------------------------------------

def _row_band(line: LineItem) -> tuple[int, float, float] | None:
    """(page, y0, y1) of a line item: the union of its fields' boxes (page points of the page as received)."""
    placed = [(f.page, f.bbox) for f in line.fields.values() if f.bbox is not None and f.page >= 1]
    if not placed:
        return None
    page = placed[0][0]
    boxes = [b for p, b in placed if p == page]
    return page, min(b.y0 for b in boxes), max(b.y1 for b in boxes)


def _column_title(page: Page, box: BBox, top: float) -> tuple[str, BBox] | None:
    """The title over a cell: the nearest words above the first item row (`top`) that overlap the cell's x-range."""
    for line in reversed([ln for ln in page.lines if ln.bbox.y1 <= top + 1]):
        over = [w for w in line.words if w.bbox.x1 >= box.x0 - 2 and w.bbox.x0 <= box.x1 + 2 and _is_label_word(w.text)]
        if over:
            return compact(join_printed(w.text for w in over)), merge_bboxes(w.bbox for w in over)
        if top - line.bbox.y1 > 80:
            return None
    return None


def _page_box(page: Page, box: BBox) -> BBox:
    """A box on the page as received mapped back into the reading frame (approximately, by the inverse of its centre
    shift) — exact for text layers, where the frames are the same."""
    if page.frame is None:
        return box
    mapped = page.frame.box_to_received(box)
    dx, dy = mapped.cx - box.cx, mapped.cy - box.cy
    return BBox(box.x0 - dx, box.y0 - dy, box.x1 - dx, box.y1 - dy)


def teach_line_cell(layout: Layout, lines: Sequence[LineItem], line_no: int, cell: str, value: FieldValue) -> Taught:
    """The rule that finds line cell `cell` of every item row again: the column it is printed in (by its title and
    its span), learned from the corrected value of line `line_no`."""
    layout = by_rows(layout)
    line = next((li for li in lines if li.line_no == line_no), None)
    band = _row_band(line) if line is not None else None
    if band is None or value is None or value == "":
        return Taught(None, "the line has no place on the page; no layout rule learned")
    page = next((p for p in layout.pages if p.number == band[0]), None)
    if page is None:
        return Taught(None, "the line's page is not in the reading; no layout rule learned")
    probe = _page_box(page, BBox(0, band[1], page.width, band[2]))
    name = f"line.{cell}"
    best = None
    for r, ln in enumerate(page.lines):
        if ln.bbox.y1 < probe.y0 - 2 or ln.bbox.y0 > probe.y1 + 2:
            continue
        for i in range(len(ln.words)):
            for span in _candidate_spans(page, r, i, 4 if field_kind(cell) != "text" else _MAX_SPAN):
                got = _value_of(name, span.text)
                same = got == value if isinstance(value, (Decimal, date)) else _equal_text(span.text, str(value))
                if same and (best is None or len(span.words) < len(best.words)):
                    best = span
    if best is None:
        return Taught(None, f"line {line_no}'s {cell.replace('_', ' ')} is printed nowhere in its row; "
                            "no layout rule learned")
    tops = [b for b in (_row_band(li) for li in lines) if b is not None and b[0] == band[0]]
    top = _page_box(page, BBox(0, min(t[1] for t in tops), 1, min(t[1] for t in tops) + 1)).y0
    title = _column_title(page, best.box, top)
    box = best.box
    span = (box.x0 / page.width, box.x1 / page.width)
    rule = Rule(field=name, page=page.number, zone=(span[0], box.y0 / page.height, span[1], box.y1 / page.height),
                anchor="", words=len(best.words), shape="", column=title[0] if title else "",
                column_span=(round(span[0], 4), round(span[1], 4)))
    return Taught(rule, page=page.number, box=box)


def _column_on(page: Page, rule: Rule, top: float) -> tuple[float, float]:
    """The column's x-range on this page: under its title where the title is printed above the items, else where
    it was learned."""
    if rule.column:
        for line in reversed([ln for ln in page.lines if ln.bbox.y1 <= top + 1]):
            if top - line.bbox.y1 > 80:
                break
            ws = line.words
            for i in range(len(ws)):
                got, k = "", i
                while k < len(ws) and len(got) < len(rule.column):
                    got += compact(ws[k].text)
                    k += 1
                if got == rule.column:
                    box = merge_bboxes(w.bbox for w in ws[i:k])
                    width = (rule.column_span[1] - rule.column_span[0]) * page.width
                    centre = box.cx
                    return centre - max(width, box.width) / 2 - 4, centre + max(width, box.width) / 2 + 4
    x0, x1 = rule.column_span
    return x0 * page.width - 4, x1 * page.width + 4


def _apply_cells(lines: Sequence[LineItem], layout: Layout, cells: Sequence[AppliedRule],
                 issues: list[Issue]) -> list[LineItem]:
    bands = {li.line_no: _row_band(li) for li in lines}
    out = []
    for line in lines:
        band = bands[line.line_no]
        page = next((p for p in layout.pages if band and p.number == band[0]), None)
        if page is None:
            out.append(line)
            continue
        fields = dict(line.fields)
        tops = [b[1] for b in bands.values() if b is not None and b[0] == band[0]]
        top = _page_box(page, BBox(0, min(tops), 1, min(tops) + 1)).y0
        probe = _page_box(page, BBox(0, band[1], page.width, band[2]))
        for applied in cells:
            rule = applied.rule
            cell = rule.field.removeprefix("line.")
            before = fields.get(cell)
            if before is not None and before.method in _EXACT_METHODS:
                continue
            x0, x1 = _column_on(page, rule, top)
            found = None
            for r, ln in enumerate(page.lines):
                if ln.bbox.y1 < probe.y0 - 2 or ln.bbox.y0 > probe.y1 + 2:
                    continue
                if field_kind(cell) == "text":      # a longer text than the taught one runs on to the right
                    inside = [i for i, w in enumerate(ln.words) if x0 <= w.bbox.x0 <= x1]
                    while inside and inside[-1] + 1 < len(ln.words) and \
                            ln.words[inside[-1] + 1].bbox.x0 - ln.words[inside[-1]].bbox.x1 < _height(ln):
                        inside.append(inside[-1] + 1)
                else:
                    inside = [i for i, w in enumerate(ln.words) if x0 <= w.bbox.cx <= x1]
                if inside:
                    span = _Span(page, r, tuple(ln.words[inside[0]:inside[-1] + 1]))
                    value = _value_of(rule.field, span.text)
                    if value is not None:
                        found = (span, value)
                        break
            if found is not None:
                fields[cell] = replace(_field(found[0], found[1], ANCHORED_CONFIDENCE), fact_id=applied.fact_id)
        out.append(replace(line, fields=fields) if fields != dict(line.fields) else line)
    return out
