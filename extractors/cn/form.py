"""The label -> value reader under every Chinese form reader (VAT invoices in `extractors.cn.vat`, delivery
notes and till receipts in `extractors.cn.delivery`): one copy of the machinery they share, so that a rule
mended here is mended for both.

A page becomes tokens (`Token`: NFKC text without spaces, the text as read, its box, the OCR confidence);
a reader finds its labels in them (`Hit`) with its own wordings and cuts tokens where a label starts and
ends (`cut_at`), so that a label glued to its value ('客户：某某超市') covers whole tokens.  The page with
its tokens and hits (`FormPage`) answers, for a label, the value right of it (`value_right`), under it
(`value_below`) or everything after it on its row (`row_after`), and the parsed value with its confidence
(`labelled_value`); `join_tokens` makes text of tokens and `make_field` a `Field` with its raw text,
confidence and box.  The table helpers (`Column`, `column_of`, `nearest_anchor`, `join_rows`), the
confidence scale and the value parsers both readers use are here too.

What a form kind decides for itself is named in two places: how it finds rows (its `FormPage` subclass:
`row_of`, `row_below`) and the few rules in `FormRules` that had drifted apart while each reader had its
own copy of this code.  Each reader keeps the rules it was tuned with, so that this module changed no
reader's output.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable, ClassVar, Iterable, Sequence, TypeVar

from extractors.layout import BBox, Page, merge_bboxes, split_box_by_chars
from extractors.result import Field, FieldValue

Parser = Callable[[str], FieldValue]

# one confidence scale for every Chinese form reader
CONF_CHECKED = 0.97    # confirmed by another printed value
CONF_CLEAR = 0.92      # label found, value beside it and well-formed
CONF_BELOW = 0.82      # value found under its label
CONF_TITLE = 0.78      # supplier taken from the title line
CONF_DERIVED = 0.75    # computed (expiry from shelf life, total from words)
CONF_UNLABELLED = 0.7  # a value found by its form alone (its label broken by a seal or OCR)
CONF_GUESS = 0.65      # block (buyer/seller) guessed from order, or value shape only
CONF_MISMATCH = 0.5    # contradicted by another printed value
CONF_UNPARSED = 0.3    # label found, value not understood


@dataclass(frozen=True, slots=True)
class FormRules:
    """The rules in which the form kinds read differently (`FormPage.rules`).  They drifted apart while
    each reader had its own copy of this code, and each kind keeps the values it was tuned with: given the
    other kind's value, a reader's output changes (join_gap, raw_cjk_space and ocr_confidence on the
    synthetic scans already; reach_back where a narrow ':' word ends a label)."""

    join_gap: float         # x word height: a wider gap between two tokens is a space in joined text
    raw_cjk_space: bool     # raw text keeps such a gap next to CJK as a space (values never do)
    reach_back: float | None  # a value right of a label may start this many x height before the label ends
    ocr_confidence: bool    # a field's confidence is scaled by the lowest OCR confidence of its tokens


# --------------------------------------------------------------------------------------------
# tokens and label hits
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Token:
    text: str          # NFKC, whitespace removed
    raw: str           # as read
    bbox: BBox
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Hit:
    """A label found on the page: its kind (the field it names), the tokens it covers, the wording
    matched (where the reader keeps it), its row (where the form kind keeps rows) and the party a
    prefix such as 购买方 names."""

    kind: str
    toks: tuple[Token, ...]
    label: str = ""
    row: int = -1
    party: str | None = None

    @property
    def bbox(self) -> BBox:
        return merge_bboxes(t.bbox for t in self.toks)


def norm_text(text: str) -> str:
    """NFKC (full-width digits and punctuation to ASCII) with all whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def page_tokens(page: Page) -> tuple[list[Token], float]:
    """The page's words as tokens (those with text left after `norm_text`), and their median height."""
    toks = [Token(norm_text(w.text), w.text, w.bbox, w.confidence) for w in page.words() if norm_text(w.text)]
    h = statistics.median(t.bbox.height for t in toks) if toks else 10.0
    return toks, h


def split_token(tok: Token, cuts: list[int]) -> list[Token]:
    """Cut a token at character offsets, sharing its box out by character widths."""
    if not cuts:
        return [tok]
    return [Token(piece, piece, box, tok.confidence) for piece, box in split_box_by_chars(tok.bbox, tok.text, cuts)]


def cut_at(row: Sequence[Token], spans: Iterable[tuple[int, int]]) -> list[tuple[Token, int, int]]:
    """A row's tokens cut where the given (start, end) character spans of the row's text begin and end,
    so that each span covers whole tokens; each piece with its own span."""
    cuts = sorted({p for s, e in spans for p in (s, e)})
    pieces: list[tuple[Token, int, int]] = []
    pos = 0
    for tok in row:
        inner = [c - pos for c in cuts if pos < c < pos + len(tok.text)]
        for piece in split_token(tok, inner):
            pieces.append((piece, pos, pos + len(piece.text)))
            pos += len(piece.text)
    return pieces


def covering(pieces: list[tuple[Token, int, int]], s: int, e: int) -> tuple[Token, ...]:
    """The pieces (from `cut_at`) that lie inside the span s..e."""
    return tuple(t for t, a, b in pieces if a >= s and b <= e)


T = TypeVar("T")


def group_by_row(items: Iterable[T], box: Callable[[T], BBox], tol: float) -> list[list[T]]:
    """Items grouped into visual rows by vertical centre (within tol of the row's first), top to bottom,
    each row left to right."""
    rows: list[list[T]] = []
    for item in sorted(items, key=lambda x: (box(x).cy, box(x).x0)):
        if rows and abs(box(item).cy - box(rows[-1][0]).cy) <= tol:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [sorted(r, key=lambda x: box(x).x0) for r in rows]


def same_row(a: BBox, b: BBox) -> bool:
    """Two boxes on one row: overlapping by half vertically, their centres close."""
    return a.y_overlap(b) >= 0.5 and abs(a.cy - b.cy) <= 0.6 * max(a.height, b.height)


def under_label(label: BBox, box: BBox, h: float) -> bool:
    """Within the columns a value under a label may take: from a word height left of the label to ten
    right of its end."""
    return box.x1 > label.x0 - h and box.x0 < label.x1 + 10 * h


# --------------------------------------------------------------------------------------------
# the page and the values next to labels
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FormPage:
    """One page: its tokens (labels cut out of glued values), the label hits, the ids of the label
    tokens (where a value stops) and the median word height.  A form kind subclasses it with its
    rules and with how it finds a label's row and the row under it."""

    rules: ClassVar[FormRules]

    page: Page
    toks: tuple[Token, ...]
    hits: tuple[Hit, ...]
    stoppers: frozenset[int]   # id() of label tokens
    h: float

    def is_stopper(self, tok: Token) -> bool:
        return id(tok) in self.stoppers

    def hits_of(self, kind: str) -> list[Hit]:
        return sorted((x for x in self.hits if x.kind == kind), key=lambda x: (x.bbox.y0, x.bbox.x0))

    def row_of(self, hit: Hit) -> Sequence[Token]:
        """The tokens on the label's row, left to right (the label's own included)."""
        raise NotImplementedError

    def row_below(self, hit: Hit) -> Sequence[Token]:
        """The tokens of the row just under the label, within `under_label`, left to right."""
        raise NotImplementedError


def value_right(ctx: FormPage, hit: Hit, max_first: float | None = None) -> list[Token]:
    """Tokens right of the label on its row, up to the next label or a wide gap (max_first before the
    first token, by default 0.4 of the page width; 3 word heights after it); a lone ':' first is left out."""
    label, h, rules = hit.bbox, ctx.h, ctx.rules
    first_gap = max_first if max_first is not None else 0.4 * ctx.page.width
    back = label.x1 - rules.reach_back * h if rules.reach_back is not None else None
    out: list[Token] = []
    right = label.x1
    for tok in (t for t in ctx.row_of(hit) if t.bbox.cx > label.x1 or (back is not None and t.bbox.x0 >= back)):
        if ctx.is_stopper(tok) or tok.bbox.x0 - right > (first_gap if not out else 3.0 * h):
            break
        if tok.text != ":" or out:
            out.append(tok)
        right = max(right, tok.bbox.x1)
    return out


def value_below(ctx: FormPage, hit: Hit) -> list[Token]:
    """The run of tokens on the row just under the label (label-above-value forms), up to a label or a
    gap of 3 word heights."""
    out: list[Token] = []
    for tok in ctx.row_below(hit):
        if ctx.is_stopper(tok) or (out and tok.bbox.x0 - out[-1].bbox.x1 > 3.0 * ctx.h):
            break
        out.append(tok)
    return out


def row_after(ctx: FormPage, hit: Hit) -> list[Token]:
    """Every non-label token right of a label on its row."""
    return [t for t in ctx.row_of(hit) if not ctx.is_stopper(t) and t.bbox.cx > hit.bbox.x1]


def labelled_value(ctx: FormPage, hit: Hit, parse: Parser, *, max_first: float | None = None,
                   below: bool = True) -> Field | None:
    """The value of a label: right of it, else (where allowed) under it; text right of it that does not
    parse is kept with CONF_UNPARSED (the label was seen); None when nothing is there."""
    right = value_right(ctx, hit, max_first)
    tries = [(right, CONF_CLEAR)] + ([(value_below(ctx, hit), CONF_BELOW)] if below else [])
    for toks, conf in tries:
        value = parse(join_tokens(ctx, toks)) if toks else None
        if value is not None:
            return make_field(value, shortest_run(ctx, toks, parse, value), conf, ctx)
    return make_field(None, right, CONF_UNPARSED, ctx) if right else None


def shortest_run(ctx: FormPage, toks: Sequence[Token], parse: Parser, value: FieldValue) -> Sequence[Token]:
    """The first tokens of a run that already give its value ('PO123' of 'PO123 订单日期 2025/07/20'), so
    that the value's box holds the value and nothing printed after it."""
    for j in range(1, len(toks)):
        if parse(join_tokens(ctx, toks[:j])) == value:
            return toks[:j]
    return toks


# --------------------------------------------------------------------------------------------
# text and fields
# --------------------------------------------------------------------------------------------

def is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def cjk_edge(left: str, right: str) -> bool:
    """Text meeting CJK text: no space goes between them."""
    return bool(left and right) and (is_cjk(left[-1]) or is_cjk(right[0]))


def join_tokens(ctx: FormPage, toks: Sequence[Token], *, raw: bool = False) -> str:
    """Token texts joined: no space between close tokens or at a CJK edge, one space across a gap (see
    `FormRules.join_gap`, `FormRules.raw_cjk_space`)."""
    gap, keep_cjk_gap = ctx.rules.join_gap * ctx.h, raw and ctx.rules.raw_cjk_space
    parts: list[str] = []
    for i, tok in enumerate(toks):
        text = tok.raw.strip() if raw else tok.text
        if i and tok.bbox.x0 - toks[i - 1].bbox.x1 > gap and (keep_cjk_gap or not cjk_edge(parts[-1], text)):
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


def join_rows(ctx: FormPage, rows: Sequence[Sequence[Token]]) -> str:
    """Wrapped text (a cell over several rows) joined: no space at a CJK edge, else one."""
    text = ""
    for row in rows:
        part = join_tokens(ctx, row)
        text = text + part if not text or cjk_edge(text, part) else f"{text} {part}"
    return text


def merge_page_fields(fields: dict[str, Field], page_fields: dict[str, Field]) -> None:
    """A page's fields into the document's (in place): an earlier page's value stays, unless it was a
    label whose value did not parse and this page has one that did."""
    for name, f in page_fields.items():
        if name not in fields or (fields[name].value is None and f.value is not None):
            fields[name] = f


def make_field(value: FieldValue, toks: Sequence[Token], conf: float, ctx: FormPage) -> Field:
    """A field read from tokens: their raw text, their box, the confidence (see `FormRules.ocr_confidence`)."""
    if ctx.rules.ocr_confidence:
        conf = conf * min((t.confidence for t in toks), default=1.0)
    box = merge_bboxes(t.bbox for t in toks) if toks else None
    return Field(value, join_tokens(ctx, toks, raw=True), conf, ctx.page.number, box)


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Column:
    """A table column: the field it holds and its title's x-range."""

    kind: str
    x0: float
    x1: float


def column_of(cols: Sequence[Column], box: BBox) -> str:
    """The column whose span, widened halfway to its neighbours, holds the box's centre."""
    for i, col in enumerate(cols):
        right = (col.x1 + cols[i + 1].x0) / 2 if i + 1 < len(cols) else float("inf")
        if box.cx < right:
            return col.kind
    return cols[-1].kind


def nearest_anchor(i: int, anchors: list[int], cy: Callable[[int], float]) -> int | None:
    """For a wrapped table row i: the anchor row (one that starts an item) above it, or the one below
    when that is clearly closer; None without anchors.  `cy` gives a row's vertical centre."""
    above = [a for a in anchors if a < i]
    below = [a for a in anchors if a > i]
    if not above and not below:
        return None
    d_above = cy(i) - cy(above[-1]) if above else float("inf")
    d_below = cy(below[0]) - cy(i) if below else float("inf")
    return below[0] if d_below < 0.75 * d_above else above[-1]


# --------------------------------------------------------------------------------------------
# value parsers
# --------------------------------------------------------------------------------------------

LEAD_MARKS = " :;,.、，；：。·'\"“”‘’|"
_NUMBER_RX = re.compile(r"[-−]?\d+(?:\.\d+)?")


def text_value(text: str) -> str | None:
    """The value text without stray marks before it (the tail of a label's colon, a table rule read as
    '|', seal ink read as a dot); None when nothing is left."""
    t = text.strip().lstrip(LEAD_MARKS).strip()
    return t or None


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
