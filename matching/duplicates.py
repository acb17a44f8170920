"""Duplicate documents: the same bytes (sha256), or the same supplier and document number (and the same
total where both are known) as a document already received.  Pure: the caller passes the keys it knows,
oldest first, and gets a `duplicate_document` issue pointing to the first copy."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from extractors import Issue, Severity
from matching.normalize import fold_code

__all__ = ["DocumentKey", "Duplicate", "find_duplicate"]


@dataclass(frozen=True, slots=True)
class DocumentKey:
    """What identifies a received document.  "" / None where unknown."""

    document_id: str
    sha256: str = ""
    supplier_id: str = ""
    document_number: str = ""
    total: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The first earlier document this one repeats, and why (`same_file` or `same_number`)."""

    first_id: str
    reason: str

    def issue(self) -> Issue:
        why = "the same file" if self.reason == "same_file" else "the same supplier and document number"
        return Issue("duplicate_document", Severity.ERROR,
                     f"This looks like document {self.first_id} again ({why}).", field="document_number")


def _same_number(a: DocumentKey, b: DocumentKey) -> bool:
    if not a.supplier_id or a.supplier_id != b.supplier_id:
        return False
    number = fold_code(a.document_number)
    if not number or number != fold_code(b.document_number):
        return False
    return a.total is None or b.total is None or a.total == b.total


def find_duplicate(key: DocumentKey, known: Iterable[DocumentKey]) -> Duplicate | None:
    """The first of `known` (oldest first) that `key` duplicates; None when it is new.  `key` itself
    (same document_id) is skipped, so the caller may pass every key it has."""
    for other in known:
        if other.document_id == key.document_id:
            continue
        if key.sha256 and key.sha256 == other.sha256:
            return Duplicate(other.document_id, "same_file")
        if _same_number(key, other):
            return Duplicate(other.document_id, "same_number")
    return None
