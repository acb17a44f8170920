"""Runs of words on a page: rows across blocks, the runs that print a given text or value, and the typed value
of a run in a field's kind."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable

from rapidfuzz import fuzz

from extractors.layout import BBox, Layout, Line, Page, Word, merge_bboxes
from extractors.parsing import currency_in, find_dates, join_printed, parse_amount
from extractors.result import FieldValue, field_kind
from extractors.learned_layout.rules import compact, MAX_LINES, MAX_SPAN, ocr_folded, Picked, Rule


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
class Span:
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


def row_height(line: Line) -> float:
    return max(1.0, line.bbox.height)


def rows_below(page: Page, row: int, x0: float, y1: float, height: float) -> Iterable[tuple[int, int]]:
    """(row, word index) of the word that starts near x0 on each of the next lines below y1 (an address's next line)."""
    for r in range(row + 1, min(len(page.lines), row + 12)):
        line = page.lines[r]
        if line.bbox.y0 - y1 > 2.2 * height:
            return
        for i, w in enumerate(line.words):
            if abs(w.bbox.x0 - x0) <= 1.5 * height:
                yield r, i
                break


def text_spans(layout: Layout, target: str) -> list[Span]:
    """Word runs whose compact text equals `target` (compact), inside one word (after a label) or running on over
    the next lines (from a word starting below the first)."""
    found: list[Span] = []
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
                    found.append(Span(page, r, (word,), prefix=raw_prefix(word.text, len(text) - len(target))))
    return found


def raw_prefix(printed: str, letters: int) -> str:
    """The printed characters that hold the first `letters` compact characters (a label glued to its value)."""
    count = 0
    for k, ch in enumerate(printed):
        if count == letters:
            return printed[:k]
        count += bool(compact(ch))
    return printed


def _run_on(page: Page, row: int, start: int, target: str) -> Span | None:
    line = page.lines[row]
    words: list[Word] = []
    got = ""
    rows, r, i = 1, row, start
    while True:
        ws = page.lines[r].words
        while i < len(ws) and len(words) < MAX_SPAN * MAX_LINES:
            nxt = got + compact(ws[i].text)
            if not target.startswith(nxt):
                return None
            words.append(ws[i])
            got = nxt
            i += 1
            if got == target:
                return Span(page, row, tuple(words), rows=rows)
        if rows >= MAX_LINES:
            return None
        below = next(iter(rows_below(page, r, words[0].bbox.x0 if rows == 1 else words[0].bbox.x0,
                                      page.lines[r].bbox.y1, row_height(line))), None)
        if below is None:
            return None
        r, i = below
        rows += 1


def folded_spans(layout: Layout, value: str) -> list[Span]:
    """Runs that print `value` but for the characters OCR confuses ('0RD-58381' for 'ORD-58381'): a scan's slip,
    which the clerk corrected, still shows where the value stands."""
    target, found = ocr_folded(value), []
    if len(target) < 3:
        return found
    for page in layout.pages:
        for r, line in enumerate(page.lines):
            if target not in ocr_folded(line.text):
                continue
            for i in range(len(line.words)):
                for span in candidate_spans(page, r, i):
                    folded = ocr_folded(span.text)
                    if folded == target:
                        found.append(span)
                        break
                    if not target.startswith(folded):
                        break
    return found


def near_spans(layout: Layout, target: str, *, cutoff: float = 85) -> list[Span]:
    """The one-line run closest to `target` when it differs only by OCR slips (a scan's '9l320' for '91320'): the
    supplier's particulars, corrected by a clerk, are still taught where the scan printed them."""
    best: tuple[float, Span] | None = None
    for page in layout.pages:
        for r, line in enumerate(page.lines):
            if fuzz.partial_ratio(target, compact(line.text)) < cutoff:
                continue
            for i in range(len(line.words)):
                for span in candidate_spans(page, r, i):
                    score = fuzz.ratio(compact(span.text), target)
                    if score >= cutoff and (best is None or score > best[0]):
                        best = (score, span)
    return [best[1]] if best else []


def candidate_spans(page: Page, row: int, start: int, limit: int = MAX_SPAN) -> Iterable[Span]:
    ws = page.lines[row].words
    for end in range(start + 1, min(len(ws), start + limit) + 1):
        yield Span(page, row, tuple(ws[start:end]))


def value_of(name: str, text: str, *, date_order: str = "") -> FieldValue:
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


def typed_spans(layout: Layout, name: str, value: FieldValue) -> list[Span]:
    """Runs of up to 5 words on one line that read as `value` (a date or a number)."""
    found = []
    for page in layout.pages:
        for r, line in enumerate(page.lines):
            for i in range(len(line.words)):
                for span in candidate_spans(page, r, i, 5):
                    typed = value_of(name, span.text)
                    if typed is not None and typed == value:
                        found.append(span)
                        break
                else:
                    word = line.words[i]
                    m = re.match(r"^(.*?[:：])(.+)$", word.text)
                    if m and value_of(name, m.group(2)) == value:
                        found.append(Span(page, r, (word,), prefix=m.group(1)))
    return _shortest(found)


def _shortest(spans: list[Span]) -> list[Span]:
    """Of overlapping spans, the ones with fewest words (a date read from '12.03.2024' rather than 'Datum 12.03.2024')."""
    out = []
    for s in sorted(spans, key=lambda s: len(s.words)):
        if not any(o.page is s.page and o.row == s.row and set(map(id, o.words)) & set(map(id, s.words)) for o in out):
            out.append(s)
    return sorted(out, key=lambda s: (s.page.number, s.row))


def picked_spans(layout: Layout, picked: Picked) -> list[Span]:
    page = next((p for p in layout.pages if p.number == picked.page), None)
    if page is None:
        return []
    box = picked.bbox

    def inside(w: Word) -> bool:
        seen = received(page, w.bbox)
        return box.x0 <= seen.cx <= box.x1 and box.y0 <= seen.cy <= box.y1
    rows = [(r, tuple(w for w in line.words if inside(w))) for r, line in enumerate(page.lines)]
    rows = [(r, ws) for r, ws in rows if ws]
    if not rows:
        return []
    words = tuple(w for _, ws in rows for w in ws)
    return [Span(page, rows[0][0], words, rows=len(rows))]


def zone_box(rule: Rule, page: Page) -> BBox:
    x0, y0, x1, y1 = rule.zone
    return BBox(x0 * page.width, y0 * page.height, x1 * page.width, y1 * page.height)


def distance(box: BBox, to: BBox) -> float:
    return abs(box.x0 - to.x0) + abs(box.y0 - to.y0)


def received(page: Page, box: BBox) -> BBox:
    return page.frame.box_to_received(box) if page.frame is not None else box
