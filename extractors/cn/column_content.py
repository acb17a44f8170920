"""Column roles from what the cells hold, where the title alone does not say (a title we have no field
for, one OCR lost, or a title naming two things: 生产日期/批次).

The title names a column (`extractors.cn.table_header`); the cells then confirm or correct it, by the
shapes most of them share: dates, batch-like codes (letters and digits), small whole numbers, unit
words.  A column titled for dates whose cells are codes holds the batch; a batch column holding dates
holds the production date; an untitled column of dates is the production date (else the expiry date);
a 规格 column of small whole numbers is the pack size (箱规), no spec; an untitled column of unit words is
the unit.  A correction only fills a role the table does not have yet, and needs four cells in five.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from extractors.cn.form import Column, Token, parse_number
from extractors.parsing import parse_date

_BATCH_RX = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9\-]{4,16}$|^\d{6,12}[A-Za-z]?\d*$")
_UNITS = frozenset("个 只 件 箱 盒 包 袋 瓶 罐 桶 卷 盘 套 台 张 本 支 条 块 片 双 对 米 吨 斤 克 升 提 板".split()) | \
    frozenset({"公斤", "千克", "kg", "KG", "g", "L", "ml", "m", "pcs", "PCS"})


def _is_date(text: str) -> bool:
    return parse_date(text) is not None


def _is_batch(text: str) -> bool:
    return bool(_BATCH_RX.match(text)) and not _is_date(text)


def _is_small_int(text: str) -> bool:
    n = parse_number(text)
    return n is not None and n == int(n) and 0 < n < 1000 and "." not in text


def _is_unit(text: str) -> bool:
    return text in _UNITS


def _share(cells: Sequence[str], test: Callable[[str], bool]) -> float:
    return sum(test(c) for c in cells) / len(cells) if cells else 0.0


def corrected_columns(cols: tuple[Column, ...], cells: list[list[list[Token]]]) -> tuple[Column, ...]:
    """The columns with roles their cells contradict or leave open set by content.  `cells`: per body row,
    the tokens of each column (in `cols` order)."""
    texts = [["".join(t.text for t in row[k]) for row in cells if row[k]] for k in range(len(cols))]
    kinds = [c.kind for c in cols]
    for k, col in enumerate(cols):
        found = texts[k]
        if len(found) < 2:
            continue
        role = _by_content(col.kind, found, set(kinds))
        if role is not None:
            kinds[k] = role
    return tuple(Column(kind, c.x0, c.x1) for kind, c in zip(kinds, cols))


def _by_content(kind: str, cells: list[str], taken: set[str]) -> str | None:
    """The role the cells give a column of this title role, or None to keep it."""
    def most(test: Callable[[str], bool]) -> bool:
        return _share(cells, test) >= 0.8
    if kind in ("production_date", "expiry_date") and "batch_no" not in taken and most(_is_batch):
        return "batch_no"
    if kind == "batch_no" and "production_date" not in taken and most(_is_date):
        return "production_date"
    if kind == "spec" and most(_is_small_int):
        return "pack_size"
    if kind == "other":
        if most(_is_date):
            return next((r for r in ("production_date", "expiry_date") if r not in taken), None)
        if most(_is_unit) and "unit" not in taken:
            return "unit"
    return None
