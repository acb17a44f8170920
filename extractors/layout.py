"""The Layout tree every reader produces: Layout -> Page -> Line -> Word.

Boxes are in page points (1/72 inch) with the origin at the top-left corner of the page
as displayed (after the page's own rotation is applied).  A reader converts its native
coordinates once, at its edge; everything downstream sees this one convention.  One exception: an
OCR page is read straightened (photographed sheet flattened, turned upright, deskewed) and its boxes
are in that frame, so that rows are level for the readers; its `Page.frame` (a `PageFrame`) maps them
back to the page as received, which `extractors.extract.boxes_on_received_page` does for the values.

Layouts are values: frozen, rebuilt from JSON by `Layout.from_json(layout.to_json())`.
"""

from __future__ import annotations

import math
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
        boxes = [w.bbox for w in ws]
        box = boxes[0] if len(boxes) == 1 else BBox(min(b.x0 for b in boxes), min(b.y0 for b in boxes),
                                                    max(b.x1 for b in boxes), max(b.y1 for b in boxes))
        object.__setattr__(self, "bbox", box)
        object.__setattr__(self, "text", " ".join(w.text for w in ws))

    @property
    def confidence(self) -> float:
        return min(w.confidence for w in self.words)


@dataclass(frozen=True, slots=True)
class PageFrame:
    """How an OCR reader's straightened page lies on the page as received (an image, or a PDF page's render).

    The reader worked in steps, each in image pixels (continuous coordinates: a pixel's centre is at +0.5):
    received image (`received_px`) -> sheet flattened by a perspective warp (`flat_px`; the warp's inverse is
    `flat_to_received`, a 3x3 homography, row-major, or None when the image was not flattened) -> turned
    clockwise by `turn` degrees (0, 90, 180, 270) -> rotated back by `skew` degrees around the turned image's
    centre (boxes are given in that last frame, times `points_per_pixel`).  `to_received` undoes them all.
    """

    received_px: tuple[float, float]             # width, height of the image as received
    flat_px: tuple[float, float]                 # width, height after flattening (== received_px when not)
    flat_to_received: tuple[float, ...] | None   # 9 floats, flat px -> received px; None: not flattened
    turn: int                                    # clockwise quarter turn applied to the flat image
    skew: float                                  # degrees, as `Page.skew`
    points_per_pixel: float                      # 72 / dpi of both images

    def point_to_received(self, x: float, y: float) -> tuple[float, float]:
        """A point of the straightened page (points) on the page as received (points)."""
        k = self.points_per_pixel
        fw, fh = self.flat_px
        tw, th = (fh, fw) if self.turn in (90, 270) else (fw, fh)
        # undo the deskew: the reader rotated (x, y) about the centre by `skew` (cv2 convention, y down)
        a = math.radians(self.skew)
        dx, dy = x / k - tw / 2, y / k - th / 2
        x, y = tw / 2 + dx * math.cos(a) - dy * math.sin(a), th / 2 + dx * math.sin(a) + dy * math.cos(a)
        x, y = _unturned(x, y, self.turn, fw, fh)
        return self.flat_point_to_received(x * k, y * k)

    def flat_point_to_received(self, x: float, y: float) -> tuple[float, float]:
        """A point of the flattened sheet, before turning and deskewing (points), on the page as received."""
        if self.flat_to_received is None:
            return x, y
        k, h = self.points_per_pixel, self.flat_to_received
        x, y = x / k, y / k
        w = h[6] * x + h[7] * y + h[8]
        return (h[0] * x + h[1] * y + h[2]) / w * k, (h[3] * x + h[4] * y + h[5]) / w * k

    def box_to_received(self, box: BBox) -> BBox:
        """The axis-aligned box, on the page as received, around `box`'s four corners mapped there (kept
        within that page)."""
        return self._on_page(_corners_box(self.point_to_received, box))

    def flat_box_to_received(self, box: BBox) -> BBox:
        """As `box_to_received`, for a box on the flattened sheet (e.g. a QR code found on the cleaned image)."""
        return self._on_page(_corners_box(self.flat_point_to_received, box))

    def _on_page(self, box: BBox) -> BBox:
        w, h = (v * self.points_per_pixel for v in self.received_px)
        return BBox(min(max(box.x0, 0.0), w), min(max(box.y0, 0.0), h),
                    min(max(box.x1, 0.0), w), min(max(box.y1, 0.0), h))

    def to_json(self) -> dict:
        return {"received_px": list(self.received_px), "flat_px": list(self.flat_px),
                "flat_to_received": list(self.flat_to_received) if self.flat_to_received else None,
                "turn": self.turn, "skew": self.skew, "points_per_pixel": self.points_per_pixel}

    @classmethod
    def from_json(cls, data: dict) -> PageFrame:
        h = data.get("flat_to_received")
        return cls(tuple(data["received_px"]), tuple(data["flat_px"]), tuple(h) if h else None,
                   int(data["turn"]), float(data["skew"]), float(data["points_per_pixel"]))


def _corners_box(to_received, box: BBox) -> BBox:
    pts = [to_received(x, y) for x, y in ((box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1))]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return BBox(min(xs), min(ys), max(xs), max(ys))


def _unturned(x: float, y: float, turn: int, width: float, height: float) -> tuple[float, float]:
    """A point of an image of `width` x `height` turned clockwise by `turn`, back in the unturned image."""
    if turn == 90:
        return y, height - x
    if turn == 180:
        return width - x, height - y
    if turn == 270:
        return width - y, x
    return x, y


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
    frame: PageFrame | None = None  # OCR pages: how to map boxes back to the page as received; None: identity
    rules: tuple[BBox, ...] = ()    # ruling lines (text PDFs: from the page's vector paths), thin boxes

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
                    **({"frame": p.frame.to_json()} if p.frame is not None else {}),
                    **({"rules": [r.rounded(3) for r in p.rules]} if p.rules else {}),
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
                frame=PageFrame.from_json(p["frame"]) if p.get("frame") else None,
                rules=tuple(BBox(*r) for r in p.get("rules", ())),
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
    for w in sorted(words, key=lambda w: ((w.bbox.y0 + w.bbox.y1) / 2, w.bbox.x0)):
        b = w.bbox
        y0, y1 = b.y0, b.y1
        h = y1 - y0
        for k in range(len(rows) - 1, max(-1, len(rows) - 7), -1):
            ry0, ry1, rh = refs[k]
            smaller = h if h < rh else rh
            if ((y1 if y1 < ry1 else ry1) - (y0 if y0 > ry0 else ry0)) >= y_tolerance * max(smaller, 1e-6) \
                    and abs(y1 - ry1) <= 0.4 * smaller + 0.5:
                rows[k].append(w)
                break
        else:
            rows.append([w])
            refs.append((y0, y1, h))
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda w: w.bbox.x0)
        current: list[Word] = [row[0]]
        last = row[0].bbox
        for w in row[1:]:
            b = w.bbox
            h = max(last.y1 - last.y0, b.y1 - b.y0, 1.0)
            if b.x0 - last.x1 > gap_factor * h:
                lines.append(Line(tuple(current)))
                current = [w]
            else:
                current.append(w)
            last = b
        lines.append(Line(tuple(current)))
    return tuple(lines)

