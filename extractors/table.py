"""Item-table geometry from words: header cue words, columns, visual rows and typed row tokens.

`find_header` looks for a row of column titles (en/de/fr/nl/pl/zh cue words) and grows it over the
title rows stacked above and below it; `Column`s get their x-range from the title words.  `page_rows`
groups a page's words into visual rows; `row_tokens` turns a row's words into typed tokens (amount,
percentage, code, text) and `assign_column` puts a token under a column.  No supplier-specific rules.
"""

from __future__ import annotations

import functools
import re
import statistics
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal

from extractors.layout import BBox, Page, Word, merge_bboxes
from extractors.parsing import parse_amount, parse_percent
from extractors.table_vocab import (CUE_WORDS, FOLDED_CUE_WORDS, FOLDED_PHRASES, MAX_PHRASE, NUMERIC_ROLES, PHRASES,
                                    PRECEDENCE, compound_role, fold_accents)

_MAX_PHRASE = MAX_PHRASE

_NUM_RE = re.compile(r"^[-−–(]?(?:[€$£¥]|RM|zł)?\s?\d[\d.,'\u00a0\u202f]*-?\)?(?:[€$£¥元]|zł)?%?$")
_CURRENCY_WORDS = frozenset({"€", "$", "£", "¥", "￥", "eur", "usd", "gbp", "chf", "pln", "zł", "rmb", "cny", "元"})
_DIGITS_RE = re.compile(r"^\d{8}$|^\d{12,14}$")


_STRIP_RE = re.compile(r"[.:;,()\[\]*]")


@functools.lru_cache(maxsize=4096)
def norm_word(text: str) -> str:
    """Casefolded, NFKC, dots/colons/brackets removed: 'Art-Nr-Lief.' -> 'art-nr-lief'."""
    return _STRIP_RE.sub("", unicodedata.normalize("NFKC", text).casefold())


def gtin_valid(digits: str) -> bool:
    """GTIN-8/12/13/14 check digit."""
    if not _DIGITS_RE.match(digits):
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


# ---------------------------------------------------------------------------------------------- rows

@dataclass(frozen=True, slots=True)
class Row:
    """Words on one visual row, left to right."""

    words: tuple[Word, ...]

    @property
    def bbox(self) -> BBox:
        return merge_bboxes(w.bbox for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def page_rows(page: Page) -> list[Row]:
    """Group a page's words into visual rows by vertical centre, top to bottom."""
    words = sorted(page.words(), key=lambda w: w.bbox.cy)
    if not words:
        return []
    h = median_height(words)
    rows: list[list[Word]] = [[words[0]]]
    for w in words[1:]:
        ref = rows[-1][0].bbox.cy
        if abs(w.bbox.cy - ref) <= 0.35 * h:
            rows[-1].append(w)
        else:
            rows.append([w])
    return [Row(tuple(sorted(r, key=lambda w: w.bbox.x0))) for r in rows]


def median_height(words: list[Word] | tuple[Word, ...]) -> float:
    return statistics.median(w.bbox.height for w in words) if words else 10.0


def row_gap(a: BBox, b: BBox) -> float:
    """Vertical white space between two boxes (negative when they overlap)."""
    return max(a.y0, b.y0) - min(a.y1, b.y1)


# -------------------------------------------------------------------------------------------- header

@dataclass(frozen=True, slots=True)
class Cell:
    """A run of title words on one row that names one column."""

    role: str | None
    text: str
    bbox: BBox
    row: int


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: its role, all roles its stacked titles name, and its x-range."""

    role: str
    roles: tuple[str, ...]   # every role named, in title order (top to bottom)
    x0: float
    x1: float
    title: str
    percent: bool            # title says '%': values are percentages
    numeric: bool = field(init=False, compare=False)  # holds numbers (derived from the role)

    def __post_init__(self) -> None:
        object.__setattr__(self, "numeric", self.role in NUMERIC_ROLES)


@dataclass(frozen=True, slots=True)
class Header:
    columns: tuple[Column, ...]
    bbox: BBox
    line_height: float
    titles: tuple[Word, ...] = ()   # every title word of the band, for reading a cell by what is printed over it

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(c.role for c in self.columns)


def segment_row(row: Row, index: int) -> list[Cell]:
    """Split a title row into cells by longest cue-phrase match; other words join the cell before."""
    words = list(row.words)
    h = median_height(words)
    cells: list[Cell] = []
    i = 0
    while i < len(words):
        n, role = _match_phrase(words, i)
        if role is None:
            w = words[i]
            prev = cells[-1] if cells else None
            if prev is not None and prev.row == index and w.bbox.x0 - prev.bbox.x1 < 0.5 * h:
                cells[-1] = Cell(prev.role, f"{prev.text} {w.text}", prev.bbox.union(w.bbox), index)
            else:
                cells.append(Cell(None, w.text, w.bbox, index))
            i += 1
            continue
        span = words[i:i + n]
        cells.append(Cell(role, " ".join(w.text for w in span), merge_bboxes(w.bbox for w in span), index))
        i += n
    return cells


def _match_phrase(words: list[Word], i: int) -> tuple[int, str | None]:
    """The longest cue phrase starting at words[i]; a phrase's words must sit close together (a gap under
    one word height), so that adjacent titles 'VAT' and 'Amount' stay two columns."""
    run = [words[i]]
    for w in words[i + 1:i + _MAX_PHRASE]:
        prev = run[-1].bbox
        if w.bbox.x0 - prev.x1 > max(prev.height, w.bbox.height):
            break
        run.append(w)
    norms = [norm_word(w.text) for w in run]
    for n in range(len(norms), 0, -1):
        key = " ".join(norms[:n])
        role = PHRASES.get(key) or (PHRASES.get(key.replace(" ", "")) if n > 1 else None) \
            or FOLDED_PHRASES.get(fold_accents(key))
        if role:
            return n, role
    return 1, _compound_role(norms[0])


def _compound_role(word: str) -> str | None:
    return compound_role(word)


def header_candidate(cells: list[Cell]) -> bool:
    """A title row: desc/sku named, mostly cue words (three at least), and two of qty/price/amount named
    or the quantity with one more role (a delivery note or packing list prints no prices)."""
    return _names_a_table([c.role for c in cells])


def _names_a_table(titles: list[str | None]) -> bool:
    """`header_candidate` on the role each title names (None: names none)."""
    roles = {r for r in titles if r}
    numeric = roles & {"qty", "price", "amount"} | ({"amount"} if "gross" in roles else set())
    named = sum(1 for r in titles if r)
    if not roles & {"desc", "sku"} or named < 0.5 * len(titles) or named < 3:
        return False
    return len(numeric) >= 2 or ("qty" in numeric and len(roles) >= 3)


def find_header(rows: list[Row], start: int = 0) -> tuple[Header, int] | None:
    """The first item-table header at or after rows[start]; returns it and the index of its last row."""
    for i in range(start, len(rows)):
        if has_numbers(rows[i]) or sum(1 for w in rows[i].words if _is_cue(w.text)) < 2:
            continue
        cells = segment_row(rows[i], i)
        titled = header_candidate(cells)
        if not titled and len(cells) < 3:
            continue
        band = _grow_band(rows, i, cells) if titled else _title_rows_under(rows, i)
        others = [c for j in band if j != i for c in segment_row(rows[j], j)]
        cells = _split_under(cells, others, rows[i], i)
        all_cells = [*cells, *others]
        columns = _stack_columns(all_cells, cells)
        if not titled and not (len(band) > 1 and _names_a_table([None if c.role == "other" else c.role
                                                                   for c in columns])):
            continue   # a title row read only with the row under it ('Gel.' over 'Menge': the quantity)
        bbox = merge_bboxes(rows[j].bbox for j in band)
        titles = tuple(w for j in band for w in rows[j].words)
        return Header(tuple(columns), bbox, median_height(rows[i].words), titles), max(band)
    return None


@functools.lru_cache(maxsize=4096)
def _is_cue(text: str) -> bool:
    word = norm_word(text)
    return word in _CUE_WORDS or fold_accents(word) in FOLDED_CUE_WORDS or _compound_role(word) is not None


_CUE_WORDS = CUE_WORDS


def has_numbers(row: Row) -> bool:
    return any(re.search(r"\d[.,]\d|\d{3,}", w.text) for w in row.words)


def _grow_band(rows: list[Row], i: int, cells: list[Cell]) -> list[int]:
    """The title rows stacked over and under row i (no numbers, close, words under title cells)."""
    h = median_height(rows[i].words)
    band = [i]
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(rows):
            near = rows[band[-1] if step > 0 else band[0]]
            if row_gap(near.bbox, rows[j].bbox) > 0.6 * h or has_numbers(rows[j]):
                break
            if not _title_like(rows[j], cells) or step < 0 and not any(_is_cue(w.text) for w in rows[j].words):
                break   # a row above the titles names a column itself (the address over a table does not)
            band.append(j) if step > 0 else band.insert(0, j)
            j += step
    return band


def _split_under(cells: list[Cell], others: list[Cell], row: Row, i: int) -> list[Cell]:
    """A title phrase cut in two where a title of the row above or below sits under its first words only:
    'Qty Delivered' over 'Ordered' under 'Qty' is two columns, 'Qty Ordered' and 'Delivered'."""
    out: list[Cell] = []
    for cell in cells:
        words = [w for w in row.words if cell.bbox.x0 - 0.5 <= w.bbox.cx <= cell.bbox.x1 + 0.5]
        cut = next((k for o in others for k in range(1, len(words)) if _covers(o, words[:k])
                    and not any(o.bbox.x_overlap(w.bbox) > 0.3 for w in words[k:])), None)
        if cell.role is None or len(words) < 2 or cut is None:
            out.append(cell)
            continue
        out += segment_row(Row(tuple(words[:cut])), i) + segment_row(Row(tuple(words[cut:])), i)
    return out


def _covers(cell: Cell, words: list[Word]) -> bool:
    return all(cell.bbox.x_overlap(w.bbox) > 0.3 for w in words)


def _title_rows_under(rows: list[Row], i: int) -> list[int]:
    """Row i and the rows close under it that hold title words only (a title row that names its columns
    only together with the row under it)."""
    h = median_height(rows[i].words)
    band = [i]
    for j in range(i + 1, min(i + 3, len(rows))):
        if row_gap(rows[band[-1]].bbox, rows[j].bbox) > 0.6 * h or not all(_is_cue(w.text) for w in rows[j].words):
            break
        band.append(j)
    return band


def _title_like(row: Row, cells: list[Cell]) -> bool:
    """A row that continues the titles: few words, a cue word among them, or words each under a title
    cell and spread over several cells (a lone wrapped title word).  A rule of dashes and a text run
    under one title (the first item's description) are not titles."""
    if len(row.words) > 2 * max(1, len(cells)) or any(_RULE_RE.match(w.text) for w in row.words):
        return False
    if any(_match_phrase(list(row.words), k)[1] for k in range(len(row.words))):
        return True
    under = [next((j for j, c in enumerate(cells) if w.bbox.x_overlap(c.bbox) > 0), None) for w in row.words]
    return None not in under and (len(row.words) == 1 or len(set(under)) > 1)


_RULE_RE = re.compile(r"^[-=*_~.·]{4,}$")


def _stack_columns(all_cells: list[Cell], main: list[Cell]) -> list[Column]:
    """Main-row cells become columns; cells of other title rows stack onto the column they overlap."""
    groups: list[list[Cell]] = [[c] for c in main]
    for cell in sorted((c for c in all_cells if c not in main), key=lambda c: c.row):
        best, best_ov = None, 0.3
        for g in groups:
            gbox = merge_bboxes(c.bbox for c in g)
            ov = cell.bbox.x_overlap(gbox)
            if ov > best_ov and all(c.row != cell.row or _run_on(c, cell) for c in g):
                best, best_ov = g, ov
        if best is None:
            groups.append([cell])
        else:
            best.append(cell)
    columns = [_column(sorted(g, key=lambda c: (c.row, c.bbox.x0))) for g in groups]
    return _resolve_duplicates(sorted(columns, key=lambda c: c.x0))


def _run_on(a: Cell, b: Cell) -> bool:
    """Two cells of one title row a word space apart: one title split in two ('excl.' 'btw' under 'Bedrag')."""
    h = max(a.bbox.height, b.bbox.height, 1.0)
    return a.row == b.row and -0.2 * h < max(a.bbox.x0, b.bbox.x0) - min(a.bbox.x1, b.bbox.x1) < 0.8 * h


def _resolve_duplicates(cols: list[Column]) -> list[Column]:
    """Two amount columns and no quantity: the left one counts ('Amount' for Menge); two price
    columns and no amount: the right one is the line amount; an amount with tax and none without: that is
    the line amount."""
    roles = [c.role for c in cols]
    if "gross" in roles and "amount" not in roles:
        i = roles.index("gross")   # the only amount printed is the one with tax
        cols[i] = replace(cols[i], role="amount")
        roles[i] = "amount"
    if roles.count("amount") > 1 and "qty" not in roles:
        i = roles.index("amount")
        cols[i] = replace(cols[i], role="qty")
    if roles.count("price") > 1 and "amount" not in roles:
        i = len(roles) - 1 - roles[::-1].index("price")
        cols[i] = replace(cols[i], role="amount")
    return cols


def _column(cells: list[Cell]) -> Column:
    roles = tuple(dict.fromkeys(c.role for c in cells if c.role))
    box = merge_bboxes(c.bbox for c in cells)
    title = " ".join(c.text for c in cells)
    role = next((r for r in PRECEDENCE if r in roles), "other")
    whole = PHRASES.get(" ".join(norm_word(w) for w in title.split())) if len(cells) > 1 else None
    if whole is not None:
        role, roles = whole, (whole, *(r for r in roles if r != whole))   # 'Unit' over 'Cost': the unit cost
    if "desc" in roles and role in ("sku", "buyer_sku", "barcode"):
        role = "desc"
    if "tax" in roles and role == "price" and _RATE_WORD.search(title):
        role = "tax"   # 'Tax' over 'Rate' is the tax rate, not a unit price
    return Column(role, roles, box.x0, box.x1, title, "%" in title)


_RATE_WORD = re.compile(r"(?i)\b(?:rate|taux|tarief|satz)\b")


# -------------------------------------------------------------------------------------------- tokens

@dataclass(frozen=True, slots=True)
class Token:
    """A typed piece of a row: 'num' (value), 'pct' (fraction), 'code' (GTIN digits) or 'text'."""

    kind: str
    text: str
    bbox: BBox
    value: Decimal | None = None


def row_tokens(words: tuple[Word, ...], *, decimal_comma: bool) -> list[Token]:
    """Words -> tokens; currency signs and '%' join the number beside them."""
    out: list[Token] = []
    for w in words:
        text = w.text.strip()
        low = text.casefold()
        prev = out[-1] if out else None
        near = prev is not None and w.bbox.x0 - prev.bbox.x1 < 0.6 * max(w.bbox.height, 1.0)
        if low == "%" and prev is not None and prev.kind == "num" and near:
            pct = parse_percent(prev.text + "%")
            out[-1] = Token("pct", prev.text + " %", prev.bbox.union(w.bbox), pct)
        elif low in _CURRENCY_WORDS:
            if prev is not None and prev.kind == "num" and near and not prev.text[:1] in "€$£¥":
                out[-1] = Token("num", f"{prev.text} {text}", prev.bbox.union(w.bbox), prev.value)
            else:
                out.append(Token("cur", text, w.bbox))
        else:
            tok = _word_token(text, w.bbox, decimal_comma=decimal_comma)
            if tok.kind == "num" and prev is not None and prev.kind == "cur" and near:
                out[-1] = Token("num", f"{prev.text} {tok.text}", prev.bbox.union(tok.bbox), tok.value)
            elif tok.kind == "num" and prev is not None and _thousands_split(prev, tok, w.bbox.height):
                joined = f"{prev.text} {tok.text}"   # '1 298,00': a space as the thousands separator
                out[-1] = Token("num", joined, prev.bbox.union(tok.bbox), parse_amount(joined, decimal_comma=decimal_comma))
            else:
                out.append(tok)
    return _glue_numbers_to_text([t for t in out if t.kind != "cur"])


_GROUP = re.compile(r"^[-−]?\d{1,3}$")
_THOUSAND = re.compile(r"^\d{3}(?:[.,]\d{1,4})?(?:[€$£]|EUR)?$")


def _thousands_split(prev: Token, tok: Token, height: float) -> bool:
    """'1' and '298,00' a narrow space apart are one number with a space for thousands."""
    return (prev.kind == "num" and bool(_GROUP.match(prev.text)) and bool(_THOUSAND.match(tok.text))
            and 0 <= tok.bbox.x0 - prev.bbox.x1 < 0.6 * max(height, 1.0))


def _glue_numbers_to_text(tokens: list[Token]) -> list[Token]:
    """A number printed one space after a word ('Karton 3 x 20', 'Tax: 0.2%') is part of that text.  A number
    with decimals ('20,000', '26,43') is a value of its own unless it is a bare space away (OCR sets a unit
    word and the quantity beside it closer than a text layer does)."""
    out: list[Token] = []
    for tok in tokens:
        prev = out[-1] if out else None
        if tok.kind in ("num", "pct") and prev is not None and prev.kind == "text" \
                and any(ch.isalpha() for ch in prev.text):
            near = (0.55 if tok.kind == "num" and _DECIMALS.search(tok.text) else 0.8) * max(tok.bbox.height, 1.0)
            if tok.bbox.x0 - prev.bbox.x1 < near:
                tok = Token("text", tok.text, tok.bbox)
        out.append(tok)
    return out


_DECIMALS = re.compile(r"\d[.,]\d")


def _word_token(text: str, bbox: BBox, *, decimal_comma: bool) -> Token:
    if len(text) > 2 and text.startswith("*") and text.endswith("*"):
        return Token("text", text, bbox)
    core = text.rstrip(",;:")
    digits = core.rstrip(".")
    if digits.isdigit() and gtin_valid(digits):
        return Token("code", digits, bbox)
    if digits.isdigit() and len(digits) >= 7:
        return Token("text", text, bbox)
    if _NUM_RE.match(core):
        if core.endswith("%"):
            value = parse_percent(core)
            return Token("pct", core, bbox, value) if value is not None else Token("text", text, bbox)
        value = parse_amount(core, decimal_comma=decimal_comma)
        if value is not None:
            return Token("num", core, bbox, value)
    return Token("text", text, bbox)


def assign_column(tok: Token, columns: tuple[Column, ...]) -> int | None:
    """Index of the column a token sits under: by overlap, else (numbers) the nearest numeric column."""
    numeric_tok = tok.kind in ("num", "pct")
    best, best_ov = None, 0.0
    for i, col in enumerate(columns):
        inter = min(tok.bbox.x1, col.x1) - max(tok.bbox.x0, col.x0)
        ov = inter / max(1e-6, min(tok.bbox.width, col.x1 - col.x0))
        if numeric_tok and not col.numeric:
            ov -= 0.5
        if ov > best_ov:
            best, best_ov = i, ov
    if best is not None or not numeric_tok:
        return best
    return _nearest_numeric(tok, columns)


def _nearest_numeric(tok: Token, columns: tuple[Column, ...]) -> int | None:
    best, best_d = None, 1.0 * max(tok.bbox.height, 1.0)
    for i, col in enumerate(columns):
        if not col.numeric:
            continue
        d = max(col.x0 - tok.bbox.x1, tok.bbox.x0 - col.x1, 0.0)
        if d < best_d:
            best, best_d = i, d
    return best


def text_column(word_box: BBox, columns: tuple[Column, ...]) -> int | None:
    """The text column a (non-numeric) word belongs to: the one it starts in, else the first."""
    cx = word_box.cx
    for i, col in enumerate(columns):
        if col.numeric and col.x0 <= cx <= col.x1:
            return i
    text_cols = [i for i, c in enumerate(columns) if not c.numeric]
    if not text_cols:
        return None
    start = [i for i in text_cols if columns[i].x0 <= word_box.cx + 2.0]
    if not start:
        return text_cols[0]
    i = start[-1]
    nxt = [j for j in range(i + 1, len(columns)) if columns[j].numeric]
    if nxt and word_box.cx > columns[nxt[0]].x0 and not columns[i].x0 <= word_box.cx <= columns[i].x1:
        return nxt[0]
    return i
