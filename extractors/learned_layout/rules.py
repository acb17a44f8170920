"""The learned layout's types: a `Rule` (how to find one value again), what teaching gave (`Taught`), a
reviewer's pick (`Picked`), and how printed text is compared (`compact`, `shape`)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass


from extractors.layout import BBox

LEARNED = "learned_layout"
ANCHORED_CONFIDENCE = 0.97     # found after the learned label, in the learned format
CONSTANT_CONFIDENCE = 0.98     # the supplier's own particulars, found as taught
ZONE_CONFIDENCE = 0.9          # found only by where it sat on the page
CONSTANT_FIELDS = frozenset({"supplier_name", "supplier_tax_id", "supplier_address", "supplier_phone",
                             "supplier_bank_account", "supplier_bank", "supplier_email", "supplier_iban"})
EXACT_METHODS = frozenset({"xml", "qr"})
MAX_SPAN = 10                 # words in one value on one line
MAX_LINES = 4                 # lines one value may run over (an address)


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


_TO_DIGIT = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1",
                           "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "G": "6", "g": "9", "q": "9"})
_TO_LETTER = {"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G"}


def ocr_folded(text: str) -> str:
    """The compact text with the characters OCR confuses folded together (O/0, I/l/1, S/5, B/8, Z/2, G/6)."""
    return compact(text).upper().translate(_TO_DIGIT)


def template(text: str) -> str:
    """Each character's class: A a letter, 9 a digit, anything else itself ('ORD-58381' -> 'AAA-99999')."""
    return "".join("9" if ch.isdigit() else "A" if ch.isalpha() else ch for ch in text.strip())


def coerce(text: str, pattern: str) -> str | None:
    """`text` with OCR's confusions undone where `pattern` (a `template`) wants the other class ('0RD-58381' with
    'AAA-99999' -> 'ORD-58381'); None when it cannot fit the pattern."""
    text = text.strip()
    if len(text) != len(pattern):
        return None
    out = []
    for ch, want in zip(text, pattern):
        if want == "9" and not ch.isdigit():
            ch = ch.translate(_TO_DIGIT)
        elif want == "A" and ch.isdigit():
            ch = _TO_LETTER.get(ch, ch)
        if template(ch) != want:
            return None
        out.append(ch)
    return "".join(out)


def coerce_shape(text: str, want: str, pattern: str = "") -> str | None:
    """`text` in the format `want` (a `shape`), OCR's confusions undone: by the taught value's `pattern` where the
    lengths agree, else run by run between the shape's separators ('0RD-123456' for 'A-9' -> 'ORD-123456')."""
    if shape(text) == want:
        return text
    if pattern and (fixed := coerce(text, pattern)) is not None and shape(fixed) == want:
        return fixed
    runs = re.findall(r"[A9]|[^A9]", want)
    if any(a in "A9" and b in "A9" for a, b in zip(runs, runs[1:])):
        return None                          # runs without a separator between them: no telling where one ends
    parts = re.split("(" + "|".join(re.escape(r) for r in set(runs) if r not in "A9") + ")", text.strip()) \
        if any(r not in "A9" for r in runs) else [text.strip()]
    if len(parts) != len(runs):
        return None
    out = []
    for part, run in zip(parts, runs):
        if run in "A9":
            part = coerce(part, run * len(part))
            if part is None or not part:
                return None
        elif part != run:
            return None
        out.append(part)
    fixed = "".join(out)
    return fixed if shape(fixed) == want else None


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
    pattern: str = ""                              # id-like values: each character's class (`template`), to undo
                                                   # a scan's O/0, I/1 slips where the format says which it is

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
