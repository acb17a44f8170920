"""Header fields from label cues and geometry, template-free.

For every cue (see `cues`) found on a line, the value is looked for in three places, in this order of
trust: the rest of the same line, the nearest line to its right on the same row, the line just below
it in the same column.  Each place that yields a parseable value of the cue's kind becomes a
`Candidate`; per field the best candidate wins.  Totals are then re-chosen by arithmetic
(`totals.choose_totals`), parties by `parties`.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from extractors.cues import CUES, Cue, ValueKind
from extractors.layout import BBox, Line, Page, merge_bboxes
from extractors.parsing import CURRENCY_CODES, CURRENCY_SYMBOLS, Conventions, currency_in, find_amounts, find_dates
from extractors.result import Field

_ROUTE_TRUST = {"same_line": 1.0, "right": 0.92, "below": 0.72}


@dataclass(frozen=True, slots=True)
class Candidate:
    field: str
    value: str | Decimal | date
    raw: str
    page: int
    bbox: BBox
    score: float
    order: tuple[int, float, float]  # page, y, x: reading position of the value

    def to_field(self) -> Field:
        return Field(self.value, self.raw, min(1.0, self.score), self.page, self.bbox)


@dataclass(frozen=True, slots=True)
class _Hit:
    cue: Cue
    line: Line
    start: int
    end: int


def word_spans(line: Line) -> list[tuple[int, int]]:
    """Character span of each word in `line.text`."""
    spans, pos = [], 0
    for w in line.words:
        spans.append((pos, pos + len(w.text)))
        pos += len(w.text) + 1
    return spans


def span_bbox(line: Line, start: int, end: int) -> BBox:
    """Box of the words overlapping characters [start, end) of `line.text`."""
    boxes = [w.bbox for w, (s, e) in zip(line.words, word_spans(line)) if s < end and start < e]
    return merge_bboxes(boxes) if boxes else line.bbox


def _cue_index() -> dict[str, tuple[Cue, ...]]:
    """Cues by the first one to three letters of each literal word in their patterns.  A cue can only
    match a line that has a word starting like one of its literal words, so a line is tried against the
    few cues its words point to instead of all ~100 patterns."""
    index: dict[str, list[Cue]] = {}
    for cue in CUES:
        for fragment in set(cue.keys or re.findall(r"[^\W\d_]+", cue.pattern.pattern.lower())):
            if fragment in ("w", "s", "d"):  # \w, \s, \d escapes
                continue
            bucket = index.setdefault(fragment[:3], [])
            if cue not in bucket:
                bucket.append(cue)
    return {k: tuple(v) for k, v in index.items()}


_CUE_INDEX = _cue_index()
_INFIX_CUES = {"rechnung": tuple(c for c in CUES if "\\w*rechnung" in c.pattern.pattern)}  # Mietrechnung
_WORD = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=16384)
def _token_cues(token: str) -> tuple[Cue, ...]:
    return tuple(c for k in dict.fromkeys((token[:3], token[:2], token[:1])) for c in _CUE_INDEX.get(k, ()))


def _cues_for(text: str) -> list[Cue]:
    lowered = text.lower()
    found: dict[int, Cue] = {}
    for token in _WORD.findall(lowered):
        for cue in _token_cues(token):
            found[id(cue)] = cue
    for infix, cues in _INFIX_CUES.items():
        if infix in lowered:
            for cue in cues:
                found[id(cue)] = cue
    return list(found.values())


def _label_hits(line: Line) -> list[_Hit]:
    text = line.text
    found = [(m.start(), m.end(), cue) for cue in _cues_for(text) for m in cue.pattern.finditer(text)]
    found.sort(key=lambda t: (t[0], -(t[1] - t[0])))
    hits: list[_Hit] = []
    taken: tuple[int, int] = (-1, -1)
    for s, e, cue in found:
        if s < taken[1] and (s, e) != taken:
            continue  # inside a longer label; the same span may label several fields
        hits.append(_Hit(cue, line, s, e))
        taken = (s, e)
    return hits


_ID_FILLER = {"no", "no.", "nr", "nr.", "n°", "nº", "number", "nummer", "numéro", "numer", "#", ":", "-", "de", "of",
              "du", "the", "id", "no:", "nr:", "(380)", "(381)", "(384)", "vat", "ref", "ref."}
_ID_STOP = {"vom", "du", "dated", "date", "issued", "from", "le", "z", "dnia"}
_ID_RE = re.compile(r"^#?[\w][\w/\-.#_]*$", re.UNICODE)


def parse_id(text: str) -> tuple[str, int, int] | None:
    """The first token in `text` that looks like a document id (has a digit), with its span."""
    pos = 0
    for token in text.split(" "):
        start = pos
        pos += len(token) + 1
        clean = token.strip(":;,.()[]")
        if clean.startswith(":"):
            clean = clean[1:]
        if not clean or clean.lower() in _ID_FILLER:
            continue
        if clean.lower() in _ID_STOP:
            return None
        if _ID_RE.match(clean) and any(ch.isdigit() for ch in clean) and len(clean) >= 2 and not _is_date(clean):
            offset = token.find(clean)
            return clean, start + offset, start + offset + len(clean)
        if len(clean) > 2 and not clean.isalpha():
            continue
        return None
    return None


def _is_date(token: str) -> bool:
    """'12.05.2024' after 'Lieferschein:' is its date, not its number ('RE-20151008/504' is a number)."""
    found = find_dates(token)
    return bool(found) and found[0].start == 0 and found[0].end == len(token) and not token.isdigit()


_LEAD = re.compile(r"^(?:[ :.–]|-(?!\d))+")
_ANOTHER_LABEL = re.compile(r"^[^\W\d][\w.-]{0,20}(?: [\w.-]{1,20})?\s?:")
_PHONE_RE = re.compile(r"\+?\(?\d[\d\s()./-]{5,}\d")


def parse_value(kind: ValueKind, text: str, conv: Conventions) -> tuple[object, int, int] | None:
    """The typed value of `kind` at the start of `text`, with its character span."""
    stripped = _LEAD.sub("", text)   # label punctuation, but not the minus of '-7091.23'
    off = len(text) - len(stripped)
    if not stripped:
        return None
    if kind is ValueKind.DATE:
        found = find_dates(stripped, dayfirst=conv.dayfirst)
        if found and found[0].start <= 24:
            return found[0].value, off + found[0].start, off + found[0].end
        return None
    if kind is ValueKind.AMOUNT:
        for a in find_amounts(stripped, decimal_comma=conv.decimal_comma):
            after = stripped[a.end:a.end + 2].strip()
            raw = stripped[a.start:a.end]
            if after.startswith("%") or (sum(ch.isdigit() for ch in raw) >= 7 and not any(ch in raw for ch in ".,")):
                continue  # a rate, or an id / registration number
            return a.value, off + a.start, off + a.end
        return None
    if kind is ValueKind.ID:
        found_id = parse_id(stripped)
        return (found_id[0], off + found_id[1], off + found_id[2]) if found_id else None
    if kind is ValueKind.CURRENCY:
        code = currency_in(stripped[:12])
        return (code, off, off + min(len(stripped), 12)) if code else None
    if kind is ValueKind.PHONE:
        m = _PHONE_RE.match(stripped)
        if m and sum(ch.isdigit() for ch in m.group()) >= 6:
            return m.group().strip(), off + m.start(), off + m.end()
        return None
    if _ANOTHER_LABEL.match(stripped) or find_dates(stripped) and len(stripped) <= 12:
        return None   # 'Payment Method: ..' is another label; a bare date is no text
    if len(stripped) >= 6 and " " in stripped and sum(ch.isalpha() for ch in stripped) >= 3:
        return stripped, off, len(text)
    return None


class _PageIndex:
    """A page's lines sorted by top edge, for the neighbour look-ups of many labels on one page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.lines = sorted(page.lines, key=lambda ln: ln.bbox.y0)
        self.tops = [ln.bbox.y0 for ln in self.lines]
        self.tallest = max((ln.bbox.height for ln in self.lines), default=0.0)

    def between(self, y_from: float, y_to: float) -> list[Line]:
        """Lines whose top edge lies in [y_from, y_to]."""
        return self.lines[bisect.bisect_left(self.tops, y_from):bisect.bisect_right(self.tops, y_to)]

    def right_of(self, line: Line) -> list[Line]:
        """Lines to the right of `line` on the same row, nearest first, within 80% of the page width."""
        lb = line.bbox
        row = [o for o in self.between(lb.y0 - self.tallest, lb.y1)
               if o is not line and o.bbox.x0 >= lb.x1 - 1 and o.bbox.y_overlap(lb) >= 0.5
               and o.bbox.x0 - lb.x1 < 0.8 * self.page.width]
        return sorted(row, key=lambda o: o.bbox.x0)

    def below(self, line: Line, label_box: BBox, *, count: int = 1) -> list[Line]:
        """Up to `count` lines under the label, in its column, nearest first.  OCR boxes are loose: a line
        whose box reaches half a height up into the label's is under it when its top is below the label's
        middle."""
        lb = line.bbox
        reach = 2.2 * count * max(lb.height, 6)
        found = []
        for other in self.between(lb.y1 - 0.5 * lb.height, lb.y1 + reach):
            ob = other.bbox
            if other is line or ob.x1 < label_box.x0 - 4 or ob.x0 > label_box.x1 + 8:
                continue
            if ob.y0 < lb.y1 - 0.3 * lb.height and (ob.y0 <= lb.cy or ob.y_overlap(lb) > 0.5):
                continue
            found.append((ob.y0 - lb.y1, other))
        found.sort(key=lambda t: t[0])
        return [o for _, o in found[:count]]


def _label_goes_on(hit: _Hit, spans: list[tuple[int, int]]) -> bool:
    """True when the words after the cue are more label ('N° TVA client', 'No. of pages'): a value beside
    or under the line then belongs to that longer label, not to the cue."""
    text = hit.line.text
    pos = hit.end
    for s, e in sorted(spans):
        if e <= pos:
            continue
        if s > pos and _more_label(text[pos:s]):
            return True
        pos = max(pos, e)
    return _more_label(text[pos:])


def _more_label(text: str) -> bool:
    """A word of four letters or more that is no preposition ('Fällig am', 'Te betalen voor' end there)."""
    return any(w.casefold() not in _PREPOSITIONS for w in _LABEL_WORD.findall(text))


_LABEL_WORD = re.compile(r"(?<![\w.])[^\W\d_]{4,}(?![\w])")
_PREPOSITIONS = frozenset({"voor", "until", "before", "avant", "dated", "from", "vanaf", "pour", "dès", "ab",
                           "till", "uiterlijk", "spätestens", "latest"})


def _candidates_for_hit(hit: _Hit, index: _PageIndex, conv: Conventions,
                        spans: list[tuple[int, int]]) -> list[Candidate]:
    line, cue, page = hit.line, hit.cue, index.page
    if cue.kind is ValueKind.TEXT and cue.weight < 1.0 and hit.start > 0:
        return []   # 'Bei Zahlung innerhalb ..': a common word inside a sentence labels nothing
    weight = cue.weight * (1.0 if hit.start == 0 or cue.weight < 0.6 else 0.85)
    label_box = span_bbox(line, hit.start, hit.end)
    places: list[tuple[str, Line, int]] = [("same_line", line, hit.end)]
    own_line_only = cue.kind in (ValueKind.ID, ValueKind.DATE) and _label_goes_on(hit, spans)
    if not own_line_only:   # else only a value on the label's line (checked by its type) can be the cue's
        places += [("right", right, 0) for right in index.right_of(line)]
    if not (cue.kind is ValueKind.AMOUNT and hit.end < len(line.text) - 2) and not own_line_only:
        count = 3 if cue.kind is ValueKind.TEXT else 1
        places += [("below", below, 0) for below in index.below(line, label_box, count=count)]
    out: list[Candidate] = []
    for route, place, offset in places:
        parsed = parse_value(cue.kind, place.text[offset:], conv)
        if parsed is None:
            continue
        value, s, e = parsed
        box = span_bbox(place, offset + s, offset + e)
        raw = place.text[offset + s:offset + e]
        if cue.kind is ValueKind.TEXT and route == "below":
            value, raw, box = _text_block(page, place)
        if cue.field in _UNSIGNED and isinstance(value, Decimal):
            value = abs(value)
        out.append(Candidate(cue.field, value, raw, page.number, box, weight * _ROUTE_TRUST[route],
                             (page.number, box.y0, box.x0)))
        if cue.kind is not ValueKind.AMOUNT:
            break  # amounts keep every place: the arithmetic in `totals` chooses among them
    return out


_UNSIGNED = {"allowance_total", "charge_total", "prepaid_amount"}


def _text_block(page: Page, first: Line) -> tuple[str, str, BBox]:
    """A paragraph: `first` and the lines that continue it in the same column."""
    lines = [first]
    for other in sorted(page.lines, key=lambda o: o.bbox.y0):
        last = lines[-1].bbox
        ob = other.bbox
        if ob.y0 <= last.y0 or abs(ob.x0 - last.x0) > 3:
            continue
        if ob.y0 - last.y1 > 1.0 * last.height or len(lines) >= 6:
            break
        lines.append(other)
    text = " ".join(ln.text for ln in lines)
    return text, text, merge_bboxes(ln.bbox for ln in lines)


def label_candidates(pages: tuple[Page, ...], conv: Conventions) -> list[Candidate]:
    """Every candidate value for every labelled header field in the document."""
    out: list[Candidate] = []
    for page in pages:
        index = _PageIndex(page)
        for line in page.lines:
            hits = _label_hits(line)
            spans = [(h.start, h.end) for h in hits]
            for hit in hits:
                out.extend(_candidates_for_hit(hit, index, conv, spans))
    return out


_LATEST_WINS = {"subtotal", "tax_amount", "total_amount", "amount_due", "line_total"}


def printed_amounts(pages: tuple[Page, ...], conv: Conventions) -> list[Candidate]:
    """Every amount printed with decimals, as an unlabelled candidate (field "")."""
    out = []
    for page in pages:
        for line in page.lines:
            for a in find_amounts(line.text, decimal_comma=conv.decimal_comma):
                raw = line.text[a.start:a.end]
                if any(sep in raw for sep in ".,"):
                    box = span_bbox(line, a.start, a.end)
                    out.append(Candidate("", a.value, raw, page.number, box, 0.3, (page.number, box.y0, box.x0)))
    return out


def best_per_field(candidates: list[Candidate]) -> dict[str, Candidate]:
    """Highest score per field; ties go to the first in reading order (the last for totals)."""
    best: dict[str, Candidate] = {}
    for c in candidates:
        cur = best.get(c.field)
        if cur is None or c.score > cur.score + 1e-9:
            best[c.field] = c
        elif abs(c.score - cur.score) <= 1e-9 and c.field in _LATEST_WINS and c.order > cur.order:
            best[c.field] = c
    return best


_CURRENCY_TOKEN = re.compile(r"[€$£¥￥₹]|\b[A-Z]{3}\b|\bRM(?=\s?-?\d)|\bRs\.?(?=\s?-?\d)|\bzł\b|元")


def document_currency(text: str, candidates: dict[str, Candidate]) -> str | None:
    """A labelled currency, else the ISO code or symbol printed most often beside amounts."""
    if "currency" in candidates:
        return str(candidates["currency"].value)
    counts: dict[str, int] = {}
    for token in _CURRENCY_TOKEN.findall(text):
        code = CURRENCY_SYMBOLS.get(token, token)
        if code in CURRENCY_CODES or token in CURRENCY_SYMBOLS:
            counts[code] = counts.get(code, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else None
