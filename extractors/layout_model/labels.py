"""Label a layout's words by a document's known values (training data for the layout model).

One labeller for every source: generated pages (their ground truth carries the box of every printed value),
weakly labelled e-invoices and confirmed documents (a box where the reader found the value, none where a
clerk typed it).  A value with a box takes the words inside that box; a value without one is searched for in
print: a run of words on one line whose text, or parsed amount or date, equals it (a line cell only within its
line's band, when the line's other cells have boxes).  A document where too few of its values are found is not
labelled (`Labelled.reason`), and is skipped and counted by training.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from extractors.layout import BBox, Layout, Word
from extractors.layout_model.features import reading_order
from extractors.layout_model.tags import HEADER_FIELDS, LINE_CELLS, OUTSIDE, header_tag, line_tag
from extractors.parsing import find_dates, parse_amount
from extractors.result import Extraction, Field

MAX_RUN = 14            # words in one searched value
MIN_FOUND = 0.5         # share of the document's values that must be found in print


@dataclass
class PageLabels:
    page: int
    words: list[Word]
    tags: list[str]
    line_ids: list[int]          # the line item a word belongs to, -1 for none


@dataclass
class Labelled:
    pages: list[PageLabels] = field(default_factory=list)
    found: int = 0
    wanted: int = 0
    reason: str = ""             # why the document was not labelled ("" when it was)

    @property
    def ok(self) -> bool:
        return not self.reason


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _inside(word: Word, box: BBox, pad: float = 1.5) -> bool:
    cx, cy = (word.bbox.x0 + word.bbox.x1) / 2, (word.bbox.y0 + word.bbox.y1) / 2
    return box.x0 - pad <= cx <= box.x1 + pad and box.y0 - pad <= cy <= box.y1 + pad


class _Page:
    def __init__(self, number: int, words: list[Word], lines: list[list[int]]) -> None:
        self.number, self.words, self.lines = number, words, lines
        self.tags = [OUTSIDE] * len(words)
        self.line_ids = [-1] * len(words)


def _matches(run: list[Word], value, kind: str) -> bool:
    text = " ".join(w.text for w in run)
    if kind == "decimal":
        for dc in (False, True):
            got = parse_amount(text, decimal_comma=dc)
            if got is not None and abs(got) == abs(value):
                return True
        return False
    if kind == "date":
        return any(f.value == value and f.end - f.start >= len(text.strip()) - 2
                   for first in (True, False) for f in find_dates(text, dayfirst=first))
    return _norm(text) == _norm(value)


def _kind(f: Field) -> str:
    if isinstance(f.value, Decimal):
        return "decimal"
    if isinstance(f.value, date):
        return "date"
    return "text"


class _Labeller:
    def __init__(self, layout: Layout) -> None:
        self.pages: list[_Page] = []
        for page in layout.pages:
            words = reading_order(page)
            lines, i = [], 0
            for line in page.lines:
                lines.append(list(range(i, i + len(line.words))))
                i += len(line.words)
            self.pages.append(_Page(page.number, words, lines))

    def by_box(self, f: Field) -> list[tuple[_Page, int]]:
        if f.bbox is None:
            return []
        pages = [p for p in self.pages if p.number == f.page] or (self.pages if f.page == 0 else [])
        return [(p, i) for p in pages for i, w in enumerate(p.words) if p.tags[i] == OUTSIDE and _inside(w, f.bbox)]

    def by_text(self, f: Field, band: tuple[int, float, float] | None = None) -> list[tuple[_Page, int]]:
        kind = _kind(f)
        if f.value is None or (kind == "text" and not _norm(str(f.value))):
            return []
        for p in self.pages:
            if band is not None and p.number != band[0]:
                continue
            for line in p.lines:
                if band is not None:
                    y = p.words[line[0]].bbox
                    if y.y1 < band[1] or y.y0 > band[2]:
                        continue
                for a in range(len(line)):
                    if p.tags[line[a]] != OUTSIDE:
                        continue
                    for b in range(a + 1, min(len(line), a + MAX_RUN) + 1):
                        if p.tags[line[b - 1]] != OUTSIDE:
                            break
                        if _matches([p.words[j] for j in line[a:b]], f.value, kind):
                            return [(p, j) for j in line[a:b]]
        return []

    def by_prefix(self, f: Field) -> list[tuple[_Page, int]]:
        """A description printed over several lines: the first line's run that starts it (at least half of it)."""
        want = _norm(str(f.value or ""))
        if len(want) < 4:
            return []
        for p in self.pages:
            for line in p.lines:
                for a in range(len(line)):
                    if p.tags[line[a]] != OUTSIDE:
                        continue
                    text = ""
                    for b in range(a, min(len(line), a + MAX_RUN)):
                        if p.tags[line[b]] != OUTSIDE:
                            break
                        text += _norm(p.words[line[b]].text)
                        if not want.startswith(text):
                            break
                        if len(text) >= 0.5 * len(want):
                            return [(p, j) for j in line[a:b + 1]]
        return []

    def by_tokens(self, f: Field) -> list[tuple[_Page, int]]:
        """A value written in another form than printed (an address as 'street, postcode, city, country'): the
        words of one block, from the line of its first token down to three lines, that are its tokens, where they
        cover most of it."""
        tokens = [t for t in (_norm(x) for x in re.split(r"[\s,;]+", str(f.value or ""))) if t]
        if len(tokens) < 2:
            return []
        wanted = set(tokens)
        for p in self.pages:
            for k, line in enumerate(p.lines):
                starts = [i for i in line if p.tags[i] == OUTSIDE and _norm(p.words[i].text).strip(",") == tokens[0]]
                for first in starts:
                    x0 = p.words[first].bbox.x0
                    got = [i for ln in p.lines[k:k + 4] for i in ln
                           if p.tags[i] == OUTSIDE and x0 - 5 <= p.words[i].bbox.x0 <= x0 + 260
                           and _norm(p.words[i].text).strip(",") in wanted]
                    covered = {_norm(p.words[i].text).strip(",") for i in got}
                    if len(covered) >= max(2, 0.7 * len(wanted)):
                        return [(p, i) for i in got]
        return []

    def band_of(self, spots: list[tuple[_Page, int]]) -> tuple[int, float, float] | None:
        if not spots:
            return None
        p = spots[0][0]
        boxes = [p.words[i].bbox for _, i in spots]
        h = max(b.height for b in boxes)
        return p.number, min(b.y0 for b in boxes) - 0.3 * h, max(b.y1 for b in boxes) + 0.3 * h

    def mark(self, spots: list[tuple[_Page, int]], tag: str, line_id: int = -1) -> bool:
        for p, i in spots:
            p.tags[i] = tag
            p.line_ids[i] = line_id
        return bool(spots)


def label_words(layout: Layout, truth: dict | Extraction) -> Labelled:
    """Every word of `layout` tagged by the values of `truth` (a contract JSON object or an Extraction).  A truth
    whose boxes are not on this image (`gt_meta.bbox_exact: false`: a scan's truth in the source PDF's points) is
    searched for by its values alone."""
    expected = truth if isinstance(truth, Extraction) else Extraction.from_json(truth)
    if isinstance(truth, dict) and (truth.get("gt_meta") or {}).get("bbox_exact") is False:
        expected = _unboxed(expected)
    lab = _Labeller(layout)
    if not any(p.words for p in lab.pages):
        return Labelled(reason="no_words")
    found = wanted = 0
    for name in HEADER_FIELDS:
        f = expected.fields.get(name)
        if f is None or f.value in (None, ""):
            continue
        wanted += 1
        spots = lab.by_box(f) or lab.by_text(f) or (lab.by_tokens(f) if _kind(f) == "text" else [])
        found += lab.mark(spots, header_tag(name))
    for n, item in enumerate(expected.lines):
        boxed = [f for f in item.fields.values() if f.bbox is not None]
        band = None
        if boxed:
            band = (boxed[0].page or 1, min(f.bbox.y0 for f in boxed) - 2, max(f.bbox.y1 for f in boxed) + 2)
        description = item.fields.get("description")
        if band is None and description is not None and description.value not in (None, ""):
            # no box on this line: its description (searched in print) gives the row the other cells are in
            spots = lab.by_text(description) or lab.by_prefix(description)
            band = lab.band_of(spots)
        for name in LINE_CELLS:
            f = item.fields.get(name)
            if f is None or f.value in (None, ""):
                continue
            wanted += 1
            spots = lab.by_box(f)
            if not spots and band is not None:
                spots = lab.by_text(f, band) or (lab.by_prefix(f) if name == "description" else [])
            found += lab.mark(spots, line_tag(name), n)
    if wanted == 0:
        return Labelled(reason="no_values")
    out = Labelled([PageLabels(p.number, p.words, p.tags, p.line_ids) for p in lab.pages], found, wanted)
    if found < MIN_FOUND * wanted:
        out.reason = "values_not_in_print"
    return out


def _unboxed(extraction: Extraction) -> Extraction:
    def strip(fields):
        return {k: replace(f, bbox=None, page=0) for k, f in fields.items()}
    return replace(extraction, fields=strip(extraction.fields),
                   lines=tuple(replace(li, fields=strip(li.fields)) for li in extraction.lines))


def line_starts(line_ids: list[int]) -> list[int]:
    """1 for the first word (in reading order) of each line item, else 0."""
    seen: set[int] = set()
    out = []
    for lid in line_ids:
        out.append(1 if lid >= 0 and lid not in seen else 0)
        if lid >= 0:
            seen.add(lid)
    return out
