"""OFD text objects -> Words and lines, in page points (origin top-left, as OFD's own).

Every TextObject/TextCode becomes glyphs (X/Y, DeltaX/DeltaY with the `g n v` repeat syntax), placed by the
object's CTM and Boundary (`Placement`), split into words at spaces and wide gaps and into line units at
huge ones; `group_units_into_lines` groups the units into lines (also used for other readers' line units).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from lxml import etree

from extractors.layout import BBox, Line, Word
from extractors.ofd.package import MM_TO_PT, child, children, local_name, parse_box, parse_floats

_ASCENT, _DESCENT = 0.86, 0.14      # glyph box around the baseline, as fractions of the font size
_WORD_GAP = 1.5                      # a gap wider than this x font size inside a TextCode splits words
_RUN_GAP = 6.0                       # ... and wider than this splits it into separate line units


# --------------------------------------------------------------------------------------------
# text objects -> words
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Glyph:
    ch: str
    x: float          # glyph origin (baseline), object space, mm
    y: float
    width: float


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _estimate_advance(ch: str, size: float) -> float:
    return size if _is_wide(ch) else 0.5 * size


def parse_deltas(spec: str | None, needed: int) -> list[float] | None:
    """DeltaX/DeltaY with the `g n v` repeat syntax, at most `needed` values; None when absent."""
    if spec is None or not spec.strip():
        return None
    toks = spec.split()
    out: list[float] = []
    i = 0
    while i < len(toks) and len(out) < needed:
        if toks[i] == "g" and i + 2 < len(toks):
            count, vals = parse_floats(toks[i + 1]), parse_floats(toks[i + 2])
            if count and vals:
                out.extend([vals[0]] * max(0, min(int(count[0]), needed - len(out))))
            i += 3
        else:
            out.extend(parse_floats(toks[i]))
            i += 1
    return out


def _delta(values: list[float] | None, i: int, fallback: float) -> float:
    """The i-th delta; past the end the last value repeats (as OFD producers rely on)."""
    if values is None:
        return fallback
    if i < len(values):
        return values[i]
    return values[-1] if values else fallback


def glyph_runs(code: etree._Element, start: tuple[float, float], size: float) -> list[list[Glyph]]:
    """The glyphs of one TextCode, split into runs wherever the baseline moves."""
    text = code.text or ""
    xs, ys = parse_floats(code.get("X")), parse_floats(code.get("Y"))
    x = xs[0] if xs else start[0]
    y = ys[0] if ys else start[1]
    n = max(0, len(text) - 1)
    dxs, dys = parse_deltas(code.get("DeltaX"), n), parse_deltas(code.get("DeltaY"), n)
    runs: list[list[Glyph]] = [[]]
    for i, ch in enumerate(text):
        est = _estimate_advance(ch, size)
        adv = _delta(dxs, i, 0.0 if dys is not None else est) if i < n else est
        width = min(est, adv) if adv > 0 else est
        runs[-1].append(Glyph(ch, x, y, width))
        dy = _delta(dys, i, 0.0) if i < n else 0.0
        if abs(dy) > 0.05 * size or adv < 0:
            runs.append([])
        x, y = x + adv, y + dy
    return [r for r in runs if r]


@dataclass(frozen=True, slots=True)
class Placement:
    """Object space -> page points: CTM, then the Boundary origin, minus the page box origin."""

    ctm: tuple[float, float, float, float, float, float]
    origin: tuple[float, float]

    def point(self, x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = self.ctm
        return ((a * x + c * y + e + self.origin[0]) * MM_TO_PT,
                (b * x + d * y + f + self.origin[1]) * MM_TO_PT)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> BBox:
        pts = [self.point(x, y) for x in (x0, x1) for y in (y0, y1)]
        return BBox(min(p[0] for p in pts), min(p[1] for p in pts),
                    max(p[0] for p in pts), max(p[1] for p in pts))


def _split_words(run: list[Glyph], size: float, place: Placement) -> list[list[Word]]:
    """Glyphs -> words (split at spaces and wide gaps), grouped into line units (split at huge gaps)."""
    pieces: list[tuple[float, list[Glyph]]] = []   # (gap before the piece, its glyphs)
    current: list[Glyph] = []
    gap_before = 0.0
    prev: Glyph | None = None
    for g in run:
        if g.ch.isspace():
            if current:
                pieces.append((gap_before, current))
                current = []
            continue
        gap = g.x - (prev.x + prev.width) if prev else 0.0
        if current and gap > _WORD_GAP * size:
            pieces.append((gap_before, current))
            current = []
        if not current:
            gap_before = gap
        current.append(g)
        prev = g
    if current:
        pieces.append((gap_before, current))
    units: list[list[Word]] = []
    for gap, glyphs in pieces:
        if not units or gap > _RUN_GAP * size:
            units.append([])
        units[-1].append(_word(glyphs, size, place))
    return units


def _word(glyphs: list[Glyph], size: float, place: Placement) -> Word:
    x0 = min(g.x for g in glyphs)
    x1 = max(g.x + g.width for g in glyphs)
    y0 = min(g.y for g in glyphs) - _ASCENT * size
    y1 = max(g.y for g in glyphs) + _DESCENT * size
    return Word("".join(g.ch for g in glyphs), place.box(x0, y0, x1, y1))


def _is_vertical(runs: list[list[Glyph]], size: float) -> bool:
    """Text set top to bottom, one glyph per baseline (the 购买方 / 密码区 / 备注 column labels)."""
    if len(runs) < 2 or any(len(r) != 1 for r in runs):
        return False
    return all(abs(b[0].x - a[0].x) < 0.2 * size and b[0].y > a[0].y for a, b in zip(runs, runs[1:]))


def parse_ctm(spec: str | None) -> tuple[float, float, float, float, float, float]:
    vals = parse_floats(spec)
    return (vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]) if len(vals) == 6 else (1, 0, 0, 1, 0, 0)


def text_object_units(obj: etree._Element, page_origin: tuple[float, float]) -> list[list[Word]]:
    """One TextObject -> line units (lists of Words), in page points."""
    if obj.get("Visible", "true").lower() == "false":
        return []
    boundary = parse_box(obj.get("Boundary")) or (0.0, 0.0, 0.0, 0.0)
    sizes = parse_floats(obj.get("Size"))
    size = sizes[0] if sizes and sizes[0] > 0 else 3.5
    place = Placement(parse_ctm(obj.get("CTM")),
                       (boundary[0] - page_origin[0], boundary[1] - page_origin[1]))
    units: list[list[Word]] = []
    pos = (0.0, 0.0)
    for code in children(obj, "TextCode"):
        runs = glyph_runs(code, pos, size)
        if _is_vertical(runs, size):
            units.append([_word([g for run in runs for g in run], size, place)])
        else:
            for run in runs:
                units.extend(_split_words(run, size, place))
        if runs:
            last = runs[-1][-1]
            pos = (last.x + last.width, last.y)
    return units


def content_units(root: etree._Element, page_origin: tuple[float, float]) -> list[list[Word]]:
    content = child(root, "Content")
    if content is None:
        return []
    units: list[list[Word]] = []
    for el in content.iter():
        if local_name(el) == "TextObject":
            units.extend(text_object_units(el, page_origin))
    return units


# --------------------------------------------------------------------------------------------
# text units -> lines
# --------------------------------------------------------------------------------------------

def group_units_into_lines(units: list[list[Word]], *, gap_factor: float = 3.0) -> tuple[Line, ...]:
    """Lines from line units (one TextCode run each, never split), top to bottom, left to right.

    A unit joins the row whose centre line it straddles best (not just the last one seen), so that
    stacked vertical labels between two rows do not chain rows together; a horizontal gap wider
    than `gap_factor` x the height starts a new line on the same row (another column).
    """
    rows: list[list[tuple[BBox, list[Word]]]] = []
    columns = [u for u in units if _is_column(u)]
    for box, words in sorted(((_union(u), u) for u in units if not _is_column(u)),
                             key=lambda t: (t[0].cy, t[0].x0)):
        row = _best_row(rows[-6:], box)
        if row is None:
            rows.append([(box, words)])
        else:
            row.append((box, words))
    keyed: list[tuple[float, float, Line]] = []
    for row in rows:
        row_cy = row[0][0].cy
        keyed.extend((row_cy, ln.bbox.x0, ln) for ln in _split_row(row, gap_factor))
    for unit in columns:
        box = unit[0].bbox
        keyed.append((box.y0 + box.width / 2, box.x0, Line(tuple(unit))))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return tuple(ln for _, _, ln in keyed)


def _split_row(row: list[tuple[BBox, list[Word]]], gap_factor: float) -> list[Line]:
    """One row's units, left to right, cut into lines at wide gaps."""
    row.sort(key=lambda t: t[0].x0)
    lines: list[Line] = []
    current: list[Word] = list(row[0][1])
    right, height = row[0][0].x1, row[0][0].height
    for box, words in row[1:]:
        if box.x0 - right > gap_factor * max(height, box.height, 1.0):
            lines.append(Line(tuple(sorted(current, key=lambda w: w.bbox.x0))))
            current = []
        current.extend(words)
        right, height = max(right, box.x1), box.height
    lines.append(Line(tuple(sorted(current, key=lambda w: w.bbox.x0))))
    return lines


def _is_column(unit: list[Word]) -> bool:
    """A vertical label: one word of several characters, much taller than wide."""
    box = unit[0].bbox
    return len(unit) == 1 and len(unit[0].text) > 1 and box.height > 1.5 * box.width


def _best_row(rows: list[list[tuple[BBox, list[Word]]]], box: BBox) -> list | None:
    """The row whose first unit's band overlaps `box` most (at least half), or None."""
    best, best_score = None, 0.0
    for row in rows:
        ref = row[0][0]
        if abs(ref.cy - box.cy) > 0.5 * min(ref.height, box.height):
            continue
        score = ref.y_overlap(box)
        if score >= 0.5 and score > best_score:
            best, best_score = row, score
    return best


def _union(words: list[Word]) -> BBox:
    box = words[0].bbox
    for w in words[1:]:
        box = box.union(w.bbox)
    return box
