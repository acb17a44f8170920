"""Document families and held-back families for `inbound eval --by-family / --holdout` (issue 14, item 1).

A family is one producer's or template's layout. A score averaged over a folder hides that rules tuned on
one family often fail on the next; scoring per family, and keeping whole families out of development runs
("unseen"), is how one learns what a new supplier's documents will get. The family of a document is, first
that applies:

1. `gt_meta.family` in its ground truth (the generators write one, e.g. "g0123");
2. its file name's prefix: the part before the first `_` (`4s4u_additional-data-sample-1` -> `4s4u`,
   `intarsys_2p0_EXTENDED_Warenrechnung` -> `intarsys`, `FX_EN16931_Einfach` -> `FX`), or, in a name without
   `_`, the part before trailing numbers (`coolblue1` -> `coolblue`, `RE-2026-0412` -> `RE`); a prefix of
   only digits (`2023_...`, a date) is none. A name that is only PREFIX_NUMBER (`sroie_003`) is a numbered
   collection: its prefix may name a whole dataset of layouts (SROIE: receipts of 42 shops), so there the
   supplier (rule 4) decides first and the prefix only where the ground truth names no supplier;
3. for a PDF whose name has no prefix, the tool in its metadata, without version numbers: Creator (the
   program that laid the page out, `wkhtmltopdf 0.12.2.1` -> `wkhtmltopdf`), else Producer (which often only
   wrote the file, e.g. PyPDF2);
4. the supplier in its ground truth, casefolded, whitespace collapsed (one supplier's documents, a shop's
   receipts, share a layout);
5. else the document is a family of its own: its file stem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Iterable, Mapping

_TRAILING_NUMBER = re.compile(r"[-_. ]*\d+$")
_NUMBERED = re.compile(r"[^_]+_\d+")
_VERSION = re.compile(r"v?\d+(?:[.\-]\w+)*", re.IGNORECASE)
_TOOL_TAIL = re.compile(r"\s+(?:\(|by\s|via\s)", re.IGNORECASE)


def name_family(stem: str) -> str | None:
    """The prefix of rule 2 above, or None where the name has none."""
    head, sep, _ = stem.partition("_")
    if sep:
        return head if head and not head.isdigit() else None
    head = stem
    while _TRAILING_NUMBER.search(head):
        head = _TRAILING_NUMBER.sub("", head)
    return head if head and head != stem else None


def tool_name(text: str) -> str | None:
    """'iText 2.0.8 (by lowagie.com)' -> 'iText', 'Mustang Demo (via mustangproject.org 1.3.0)' -> 'Mustang Demo'."""
    words = [w for w in _TOOL_TAIL.split(text.strip(), maxsplit=1)[0].split() if not _VERSION.fullmatch(w)]
    return " ".join(words) or None


def metadata_family(path: Path) -> str | None:
    """Rule 3: the PDF's Creator, else Producer, without versions; None for other files or unreadable PDFs."""
    if path.suffix.lower() != ".pdf" or not path.is_file():
        return None
    import pypdfium2
    try:
        pdf = pypdfium2.PdfDocument(str(path))
    except Exception:  # noqa: BLE001 - a damaged file has no family to tell; the reader reports the damage
        return None
    try:
        meta = pdf.get_metadata_dict()
    finally:
        pdf.close()
    for key in ("Creator", "Producer"):
        name = tool_name(str(meta.get(key) or ""))
        if name:
            return name
    return None


def family_of(name: str, truth: Mapping, path: Path | None = None) -> str:
    """A document's family by the rules in this module's docstring; `name` is its file name."""
    meta = truth.get("gt_meta") or {}
    if isinstance(meta, Mapping) and str(meta.get("family") or "").strip():
        return str(meta["family"]).strip()
    stem = Path(name).stem
    prefix, numbered = name_family(stem), bool(_NUMBERED.fullmatch(stem))
    if prefix and not numbered:
        return prefix
    if prefix is None and path is not None:
        tool = metadata_family(path)
        if tool:
            return tool
    supplier = (truth.get("fields") or {}).get("supplier_name")
    if isinstance(supplier, Mapping):
        supplier = supplier.get("value")
    supplier = " ".join(str(supplier or "").casefold().split())
    return supplier or prefix or stem


@dataclass(frozen=True)
class Holdout:
    """Families held back from development: names or fnmatch patterns, matched without regard to case."""

    patterns: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str | None) -> Holdout:
        """'a,b*' or '@file' (one name or pattern a line; blank lines and '#' comments skipped), mixed freely."""
        patterns: list[str] = []
        for part in (spec or "").split(","):
            part = part.strip()
            if part.startswith("@"):
                lines = Path(part[1:]).read_text(encoding="utf-8").splitlines()
                patterns += [s for s in (line.split("#", 1)[0].strip() for line in lines) if s]
            elif part:
                patterns.append(part)
        return cls(tuple(patterns))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def holds(self, family: str) -> bool:
        """Whether `family` is held back (unseen)."""
        return any(fnmatchcase(family.casefold(), p.casefold()) for p in self.patterns)

    def unmatched(self, families: Iterable[str]) -> list[str]:
        """The patterns that hold back none of `families`: most likely a typo, worth a warning."""
        names = [f.casefold() for f in families]
        return [p for p in self.patterns if not any(fnmatchcase(f, p.casefold()) for f in names)]
