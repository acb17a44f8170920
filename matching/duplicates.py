"""Duplicate documents: the same bytes (sha256), or the same supplier and document number (and the same
total where both are known) as a document already received.  Pure: the caller passes the keys it knows,
oldest first, or a `DocumentLookup` that hands over only the candidates for one key (the pipeline's looks
them up in the database with one indexed query), and gets a `duplicate_document` issue pointing to the first
copy."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Protocol, Sequence, runtime_checkable

from extractors import Issue, Severity
from matching.normalize import fold_code

__all__ = ["NUMBER_KEY_LENGTH", "DocumentKey", "DocumentLookup", "Duplicate", "KnownDocuments", "find_duplicate",
           "number_key"]

NUMBER_KEY_LENGTH = 255


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


def number_key(document_number: str) -> str:
    """A document number as an index key: `fold_code`, cut to NUMBER_KEY_LENGTH characters; "" when it has none.
    Equal folded numbers give equal keys, so looking candidates up by key misses none; `find_duplicate` still
    compares the whole folded numbers."""
    return fold_code(document_number)[:NUMBER_KEY_LENGTH]


@runtime_checkable
class DocumentLookup(Protocol):
    """Known documents, asked one key at a time.

    `candidates(key)`: known keys, oldest first (the order a full list would have), that include at least
    every key with the same sha256 as `key` (when it has one) and every key of the same supplier with the same
    `number_key` (when `key` has both).  Others may come along: `find_duplicate` checks each."""

    def candidates(self, key: DocumentKey) -> Sequence[DocumentKey]: ...


class KnownDocuments:
    """A `DocumentLookup` over keys held in memory (oldest first), indexed by sha256 and by supplier + number."""

    def __init__(self, keys: Iterable[DocumentKey] = ()) -> None:
        self._keys: list[DocumentKey] = []
        self._by_sha: dict[str, list[int]] = {}
        self._by_number: dict[tuple[str, str], list[int]] = {}
        for key in keys:
            self.add(key)

    def add(self, key: DocumentKey) -> None:
        """One more key, newer than the ones already held."""
        at = len(self._keys)
        self._keys.append(key)
        if key.sha256:
            self._by_sha.setdefault(key.sha256, []).append(at)
        number = number_key(key.document_number)
        if key.supplier_id and number:
            self._by_number.setdefault((key.supplier_id, number), []).append(at)

    def __len__(self) -> int:
        return len(self._keys)

    def candidates(self, key: DocumentKey) -> Sequence[DocumentKey]:
        found = set(self._by_sha.get(key.sha256, ())) if key.sha256 else set()
        number = number_key(key.document_number)
        if key.supplier_id and number:
            found.update(self._by_number.get((key.supplier_id, number), ()))
        return [self._keys[at] for at in sorted(found)]


def _same_number(a: DocumentKey, b: DocumentKey) -> bool:
    if not a.supplier_id or a.supplier_id != b.supplier_id:
        return False
    number = fold_code(a.document_number)
    if not number or number != fold_code(b.document_number):
        return False
    return a.total is None or b.total is None or a.total == b.total


def find_duplicate(key: DocumentKey, known: Iterable[DocumentKey] | DocumentLookup) -> Duplicate | None:
    """The first of `known` (oldest first) that `key` duplicates; None when it is new.  `key` itself
    (same document_id) is skipped, so the caller may pass every key it has.  `known` may be a `DocumentLookup`:
    then only its candidates for `key` are checked (the same answer, when it keeps its promise)."""
    if isinstance(known, DocumentLookup):
        known = known.candidates(key)
    for other in known:
        if other.document_id == key.document_id:
            continue
        if key.sha256 and key.sha256 == other.sha256:
            return Duplicate(other.document_id, "same_file")
        if _same_number(key, other):
            return Duplicate(other.document_id, "same_number")
    return None
