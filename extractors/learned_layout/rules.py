"""The learned layout's types: a `Rule` (how to find one value again), what teaching gave (`Taught`), a
reviewer's pick (`Picked`), and how printed text is compared (`compact`, `shape`)."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass


from extractors.layout import BBox

LEARNED = "learned_layout"
ANCHORED_CONFIDENCE = 0.97     # found after the learned label, in the learned format
CONSTANT_CONFIDENCE = 0.98     # the supplier's own particulars, found as taught
ZONE_CONFIDENCE = 0.9          # found only by where it sat on the page
CONSTANT_FIELDS = frozenset({"supplier_name", "supplier_tax_id", "supplier_address", "supplier_phone",
                             "supplier_bank_account", "supplier_bank", "supplier_email", "supplier_iban"})
_EXACT_METHODS = frozenset({"xml", "qr"})
_MAX_SPAN = 10                 # words in one value on one line
_MAX_LINES = 4                 # lines one value may run over (an address)


def compact(text: str) -> str:
    """Letters and digits only, case-folded, NFKC: how printed text is compared."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def shape(text: str) -> str:
    """The value's format: letters A, digits 9, runs collapsed, other printed marks kept ('INV-2024-0012' -> 'A-9-9')."""
    out = []
    for ch in unicodedata.normalize("NFKC", text).strip():
        cls = "9" if ch.isdigit() else "A" if ch.isalpha() else "" if ch.isspace() else ch
        if cls and (not out or out[-1] != cls or cls not in "A9"):
            out.append(cls)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Picked:
    """Where a reviewer picked the value: page and box on the page as received (what the review screen shows)."""

    page: int
    bbox: BBox


@dataclass(frozen=True, slots=True)
class Rule:
    """How to find one value on this supplier's documents (see the module docstring).  `field` is a header field's
    name or "line.<cell>" for a line cell; boxes and offsets are in page points unless named relative."""

    field: str
    page: int                                      # 1-based; -1: the last page
    zone: tuple[float, float, float, float]        # the value's box as fractions of the page's width and height
    anchor: str = ""                               # compact label text; "" when none was found
    side: str = ""                                 # left | inline | above | ""
    offset: tuple[float, float] = (0.0, 0.0)       # value box (x0, y0) minus the anchor's (x1 or x0, y0)
    words: int = 1
    lines: int = 1
    shape: str = ""
    date_order: str = ""
    constant: str = ""                             # the value as taught, for the supplier's own particulars
    column: str = ""                               # line cells: compact title of the column
    column_span: tuple[float, float] = (0.0, 0.0)  # line cells: the column's x0, x1 as fractions of the width
    printed: bool = True                           # False: a particular the supplier prints otherwise (or the
                                                   # scan garbles): `constant` is its value, wherever it stands
    absent: bool = False                           # the field is not on this supplier's documents: a value read
                                                   # near `zone` was wrong and is dropped

    def to_json(self) -> str:
        data = {k: getattr(self, k) for k in self.__slots__}
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Rule:
        data = json.loads(text)
        names = set(cls.__slots__)
        data = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names}
        return cls(**data)

    def on_page(self) -> bool:
        """The rule points somewhere a page can be (its zone within the page)."""
        x0, y0, x1, y1 = self.zone
        return -0.01 <= x0 <= x1 <= 1.01 and -0.01 <= y0 <= y1 <= 1.01 and self.page != 0


@dataclass(frozen=True, slots=True)
class Taught:
    """What teaching one value gave: a rule, or why none (`reason`, for the document's history)."""

    rule: Rule | None
    reason: str = ""
    box: BBox | None = None
    page: int = 0


@dataclass(frozen=True, slots=True)
class AppliedRule:
    """A rule to apply: the fact's id and the rule."""

    fact_id: str
    rule: Rule
