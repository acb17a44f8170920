"""The Layout tree every reader produces: Layout -> Page -> Line -> Word.

Boxes are in page points (1/72 inch) with the origin at the top-left corner of the page
as displayed (after the page's own rotation is applied).  A reader converts its native
coordinates once, at its edge; everything downstream sees this one convention.

Layouts are values: frozen, rebuilt from JSON by `Layout.from_json(layout.to_json())`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator


@dataclass(frozen=True, slots=True)
class BBox:
    """An axis-aligned box: x0 <= x1 and y0 <= y1, page points, origin top-left."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def union(self, other: BBox) -> BBox:
        return BBox(min(self.x0, other.x0), min(self.y0, other.y0),
                    max(self.x1, other.x1), max(self.y1, other.y1))

    def y_overlap(self, other: BBox) -> float:
        """Vertical overlap as a fraction of the smaller height (0..1)."""
        inter = min(self.y1, other.y1) - max(self.y0, other.y0)
        smaller = min(self.height, other.height) or 1e-6
        return max(0.0, inter / smaller)

    def x_overlap(self, other: BBox) -> float:
        """Horizontal overlap as a fraction of the smaller width (0..1)."""
        inter = min(self.x1, other.x1) - max(self.x0, other.x0)
        smaller = min(self.width, other.width) or 1e-6
        return max(0.0, inter / smaller)

    def rounded(self, ndigits: int = 2) -> list[float]:
        return [round(self.x0, ndigits), round(self.y0, ndigits),
                round(self.x1, ndigits), round(self.y1, ndigits)]


def merge_bboxes(boxes: Iterable[BBox]) -> BBox:
    """The smallest box holding every box given (at least one)."""
    it = iter(boxes)
    out = next(it)
    for b in it:
        out = out.union(b)
    return out


@dataclass(frozen=True, slots=True)
class Word:
    """One word (no spaces inside unless the reader could not split it)."""

    text: str
    bbox: BBox
    confidence: float = 1.0  # 0..1; 1.0 for a text layer


@dataclass(frozen=True, slots=True)
class Line:
    """Words on one baseline, left to right, in one block; never empty.

    `bbox` and `text` are derived from the words once, at construction.
    """

    words: tuple[Word, ...]
    bbox: BBox = field(init=False, compare=False, repr=False)
    text: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        ws = self.words
        box = BBox(min(w.bbox.x0 for w in ws), min(w.bbox.y0 for w in ws),
                   max(w.bbox.x1 for w in ws), max(w.bbox.y1 for w in ws))
        object.__setattr__(self, "bbox", box)
        object.__setattr__(self, "text", " ".join(w.text for w in ws))

    @property
    def confidence(self) -> float:
        return min(w.confidence for w in self.words)


@dataclass(frozen=True, slots=True)
class Page:
    """One page as displayed. `number` is 1-based; lines are in reading order."""

    number: int
    width: float
    height: float
    lines: tuple[Line, ...]
    rotation: int = 0          # degrees (quarter turns, clockwise) the reader turned the page to read it upright
    source: str = "text-layer"  # "text-layer", "ofd", or "ppocr:<model>"
    image_ref: str | None = None
    skew: float = 0.0          # further degrees the reader straightened a scan by (boxes are in that frame)

    def words(self) -> Iterator[Word]:
        for line in self.lines:
            yield from line.words

    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True, slots=True)
class Layout:
    """A whole document. `source` names the reader(s), e.g. "text-layer" or "text-layer+ppocr:..."."""

    pages: tuple[Page, ...]
    source: str
    meta: dict = field(default_factory=dict, compare=False)

    def text(self) -> str:
        return "\n\f".join(p.text() for p in self.pages)

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "pages": [
                {
                    "number": p.number, "width": p.width, "height": p.height,
                    "rotation": p.rotation, "skew": round(p.skew, 3), "source": p.source,
                    "image_ref": p.image_ref,
                    "lines": [[[w.text, w.bbox.rounded(3), round(w.confidence, 4)] for w in ln.words]
                              for ln in p.lines],
                }
                for p in self.pages
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> Layout:
        pages = tuple(
            Page(
                number=p["number"], width=p["width"], height=p["height"],
                rotation=p.get("rotation", 0), source=p.get("source", "text-layer"),
                image_ref=p.get("image_ref"), skew=p.get("skew", 0.0),
                lines=tuple(Line(tuple(Word(t, BBox(*b), c) for t, b, c in ln)) for ln in p["lines"]),
            )
            for p in data["pages"]
        )
        return cls(pages=pages, source=data["source"])


def split_box_by_chars(box: BBox, text: str, cuts: list[int]) -> list[tuple[str, BBox]]:
    """Cut `text` at character offsets and share `box` out by character widths (full-width CJK
    characters count 1, others 0.55): for a word that holds a label and its value glued together."""
    import unicodedata
    weights = [1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in text]
    total = sum(weights) or 1.0
    out, start = [], 0
    for end in [*cuts, len(text)]:
        x0 = box.x0 + box.width * sum(weights[:start]) / total
        x1 = box.x0 + box.width * sum(weights[:end]) / total
        out.append((text[start:end], BBox(x0, box.y0, x1, box.y1)))
        start = end
    return out


def _same_row(a: BBox, ref: BBox, y_tolerance: float) -> bool:
    """Overlapping vertically and sitting on nearly the same bottom line (so that a big title does not
    swallow the small lines beside it)."""
    return a.y_overlap(ref) >= y_tolerance and abs(a.y1 - ref.y1) <= 0.4 * min(a.height, ref.height) + 0.5


def group_words_into_lines(words: list[Word], *, y_tolerance: float = 0.5,
                           gap_factor: float = 3.0) -> tuple[Line, ...]:
    """Group loose words into lines by baseline, left to right, top to bottom.

    Two words share a line when their vertical overlap is above `y_tolerance` of the smaller height.
    A horizontal gap wider than `gap_factor` x the line height starts a new line (another column),
    so that a label and a value far apart stay separate lines on the same row.
    """
    rows: list[list[Word]] = []
    refs: list[tuple[float, float, float]] = []  # first word of each row: y0, y1, height
    for w in sorted(words, key=lambda w: (w.bbox.cy, w.bbox.x0)):
        b = w.bbox
        h = b.y1 - b.y0
        for k in range(len(rows) - 1, max(-1, len(rows) - 7), -1):
            ry0, ry1, rh = refs[k]
            smaller = min(h, rh)
            if (min(b.y1, ry1) - max(b.y0, ry0)) >= y_tolerance * max(smaller, 1e-6) \
                    and abs(b.y1 - ry1) <= 0.4 * smaller + 0.5:
                rows[k].append(w)
                break
        else:
            rows.append([w])
            refs.append((b.y0, b.y1, h))
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda w: w.bbox.x0)
        current: list[Word] = [row[0]]
        for w in row[1:]:
            h = max(current[-1].bbox.height, w.bbox.height, 1.0)
            if w.bbox.x0 - current[-1].bbox.x1 > gap_factor * h:
                lines.append(Line(tuple(current)))
                current = [w]
            else:
                current.append(w)
        lines.append(Line(tuple(current)))
    return tuple(lines)
