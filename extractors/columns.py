"""Column roles checked against what the cells hold.

A title names a column, but titles are short and shared: 'Article' heads the article number in one
template and the description in another; 'Item' may head a line number.  After a table's rows are read
(`lines`), each text column's cells are looked at: where two columns claim the description, the one
whose cells are codes (one token with a digit: 'SKU-94066', 'BX14555') holds article numbers, the one
with small whole numbers holds line numbers; an article-number column whose cells are phrases is the
description when no other column is.  Numbers are placed by their own columns and are left alone here.

Where the page rules its table (`Page.rules`, from the PDF's vector paths), a column's x-range is the
ruled cell its title sits in (`snap_to_rules`): values printed anywhere in that cell belong to it, however
narrow or off-centre the title.
"""

from __future__ import annotations

import re
from dataclasses import replace

from extractors.layout import BBox
from extractors.line_fields import RowInfo
from extractors.pdf_rules import vertical
from extractors.table import Column, Header

_CODE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9\-_/.]{1,24}$")
_POS = re.compile(r"^\d{1,4}\.?$")


def refine_roles(header: Header, anchors: list[RowInfo]) -> Header:
    """`header` with the roles of its text columns corrected by the cells of the item rows `anchors`."""
    if len(anchors) < 2:
        return header
    cells = {i: [_first_cell(info, i) for info in anchors] for i in range(len(header.columns))}
    cols = list(header.columns)
    desc = [i for i, c in enumerate(cols) if c.role == "desc"]
    if len(desc) > 1:
        for i in desc:
            kind = _cell_kind(cells[i])
            if kind in ("code", "pos") and any(_cell_kind(cells[j]) == "text" for j in desc if j != i):
                cols[i] = _as(cols[i], "sku" if kind == "code" else "pos")
    if not any(c.role == "desc" for c in cols):
        for i, c in enumerate(cols):
            if c.role == "sku" and _cell_kind(cells[i]) == "text":
                cols[i] = _as(c, "desc")
                break
    return header if cols == list(header.columns) else replace(header, columns=tuple(cols))


def _first_cell(info: RowInfo, col: int) -> str:
    words = [w for w in info.texts.get(col, []) if info.word_row.get(id(w)) == 0]
    return " ".join(w.text for w in words)


def _cell_kind(cells: list[str]) -> str | None:
    """'code' / 'pos' / 'text' when most non-empty cells are of that kind, else None."""
    filled = [c for c in cells if c]
    if len(filled) < max(2, 0.6 * len(cells)):
        return None
    for kind, test in (("pos", _POS.match), ("code", _CODE.match),
                       ("text", lambda c: len(c.split()) >= 2 or (c.isalpha() and len(c) > 3))):
        if sum(1 for c in filled if test(c)) >= 0.8 * len(filled):
            return kind
    return None


def _as(col: Column, role: str) -> Column:
    return Column(role, (role,), col.x0, col.x1, col.title, col.percent)


def snap_to_rules(header: Header, rules: tuple[BBox, ...]) -> Header:
    """`header` with each column widened to the ruled cell holding its title: between the vertical rules
    that cross the title band left and right of it, where no other column's title shares that cell."""
    band = header.bbox
    xs: list[float] = []
    for r in sorted((r for r in vertical(rules) if r.y0 <= band.cy <= r.y1), key=lambda r: r.cx):
        if not xs or r.cx - xs[-1] > 1.5:
            xs.append(r.cx)
    if len(xs) < 2:
        return header
    cols = list(header.columns)
    centres = [(c.x0 + c.x1) / 2 for c in cols]
    for i, c in enumerate(cols):
        left = [x for x in xs if x <= c.x0 + 1.0]
        right = [x for x in xs if x >= c.x1 - 1.0]
        if not left or not right:
            continue
        x0, x1 = left[-1], right[0]
        if any(x0 < cx < x1 for j, cx in enumerate(centres) if j != i):
            continue   # two titles in one cell: the rules do not part them
        cols[i] = replace(c, x0=min(c.x0, x0 + 1.0), x1=max(c.x1, x1 - 1.0))
    return header if cols == list(header.columns) else replace(header, columns=tuple(cols))
