"""Documents and their review: status workflow, the machine's reading kept beside the corrections, history.

    received -> processing -> needs_review | ready -> confirmed -> posted -> reversed
    any state before posted -> rejected;  received | processing -> failed (with a reason)

`extraction` and `matches` hold what the machine read and matched; they are written once and never changed.
`current` starts as a copy and takes the corrections; each change (status, field, line, match) is a row in
`document_history` with who, when (UTC), the path, before, after and why.  Paths are dotted:
"fields.invoice_number", "lines.2.quantity" (line numbers, not list indexes), "status".

The duplicate check's keys of the machine reading (`reading_keys`: document number, its `number_key`, the
total) are kept in columns beside it, set wherever a reading is stored (`set_reading`, `store_reading_keys`);
`StoredDocuments` is the check's `matching.DocumentLookup` on them: one indexed query per document.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from extractors import Extraction
from matching.duplicates import DocumentKey, number_key
from models.db import transaction
from models.errors import NotFound, StateError
from models.tables import Document, DocumentHistory
from models.types import utcnow


class Status(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    NEEDS_REVIEW = "needs_review"
    READY = "ready"
    CONFIRMED = "confirmed"
    POSTED = "posted"
    REVERSED = "reversed"
    REJECTED = "rejected"
    FAILED = "failed"


SOURCES = ("upload", "api", "email", "folder")
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"processing", "failed", "rejected"}),
    "processing": frozenset({"needs_review", "ready", "failed", "rejected"}),
    "needs_review": frozenset({"ready", "confirmed", "posted", "rejected", "processing"}),
    "ready": frozenset({"needs_review", "confirmed", "posted", "rejected", "processing"}),
    "confirmed": frozenset({"posted", "needs_review", "rejected"}),
    "posted": frozenset({"reversed"}),
    "failed": frozenset({"processing", "rejected"}),
    "rejected": frozenset(),
    "reversed": frozenset(),
}
POSTABLE = ("needs_review", "ready", "confirmed")


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a document's history."""
    at: datetime         # UTC
    who: str
    path: str
    before: Any
    after: Any
    why: str | None

    def to_json(self) -> dict:
        return {"at": self.at.isoformat(), "who": self.who, "path": self.path, "before": self.before,
                "after": self.after, "why": self.why}


def display_filename(name: str | None, fallback: str = "upload") -> str:
    """The name as the sender gave it, fit to store and to put in a header: control characters (NUL, CR, LF,
    ...) as "_", at most 255 characters; the original bytes are kept as they came, only the name is cleaned."""
    text = "".join("_" if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029") else ch
                   for ch in (name or ""))
    return text.strip()[:255] or fallback


def create_document(session: Session, *, sha256: str, filename: str, mime: str | None = None,
                    size_bytes: int | None = None, source: str = "upload", blob_ref: str | None = None,
                    who: str = "system") -> tuple[Document, bool]:
    """The document for these bytes: (existing, False) when the sha256 is known, else (new, True)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    existing = session.scalars(select(Document).where(Document.sha256 == sha256)).one_or_none()
    if existing is not None:
        return existing, False
    document = Document(sha256=sha256, filename=display_filename(filename), mime=mime, size_bytes=size_bytes,
                        source=source, blob_ref=blob_ref, status="received")
    session.add(document)
    session.flush()
    _log(session, document.id, who=who, path="status", before=None, after="received", why=f"from {source}")
    return document, True


def get_document(session: Session, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound(f"No document {document_id}.")
    return document


def record_status(session: Session, document: Document, status: str, *, who: str, why: str | None = None,
                  reason: str | None = None) -> None:
    """Move `document` to `status` if the workflow allows it, and log it; `reason` is kept for `failed`."""
    if status == document.status:
        return
    if status not in TRANSITIONS.get(document.status, frozenset()):
        raise StateError(f"A {document.status} document cannot become {status}.")
    _log(session, document.id, who=who, path="status", before=document.status, after=status, why=why or reason)
    document.status = status
    if status == "failed":
        document.failure_reason = reason or why


def reviewable(extraction: dict) -> dict:
    """A copy of a machine reading for `current`, the reviewed side: without the stored layout (the words and
    their boxes stay once, on the machine reading)."""
    return copy.deepcopy({key: value for key, value in extraction.items() if key != "layout"})


def set_reading(session: Session, document_id: int, *, extraction: dict, matches: dict | None, who: str,
                status: str) -> Document:
    """Store the machine's reading once (extraction + matches); `current` starts as its copy."""
    document = get_document(session, document_id)
    if document.extraction is not None:
        raise StateError(f"Document {document_id} was read already; corrections go through `correct`.")
    document.extraction = extraction
    document.matches = matches
    document.current = {"extraction": reviewable(extraction), "matches": copy.deepcopy(matches)}
    document.document_type = extraction.get("document_type")
    store_reading_keys(document, extraction)
    _log(session, document.id, who=who, path="extraction", before=None, after="machine reading", why=None)
    record_status(session, document, status, who=who)
    return document


def reading_keys(extraction: Mapping | None) -> dict[str, str | None]:
    """The duplicate check's keys of a machine reading (the contract's {"fields": {name: {"value": ...}}}), as the
    `documents` columns keep them (None where there is none):
    - document_number: fields.document_number.value when it is a non-empty text;
    - number_key: `matching.number_key` of it (folded, at most 255 characters), for the index;
    - total_amount: fields.total_amount.value as the Decimal it makes, written back with str() (which gives
      that very Decimal again, digits and exponent and all); None when empty or not a number."""
    reading = Extraction.from_json(extraction if isinstance(extraction, Mapping) else None)
    number = reading.text("document_number") or None
    total = reading.decimal("total_amount")
    return {"document_number": number, "number_key": number_key(number or "") or None,
            "total_amount": str(total) if total is not None else None}


def store_reading_keys(document: Document, extraction: Mapping | None) -> None:
    """Set the document's duplicate-check columns from the machine reading it is given."""
    for column, value in reading_keys(extraction).items():
        setattr(document, column, value)


def stored_key(row) -> DocumentKey:
    """A row of (id, sha256, supplier_id, document_number, total_amount) as the duplicate check's key."""
    document_id, sha256, supplier_id, number, total = row
    return DocumentKey(str(document_id), sha256, str(supplier_id or ""), number or "",
                       Decimal(total) if total is not None else None)


KEY_COLUMNS = (Document.id, Document.sha256, Document.supplier_id, Document.document_number, Document.total_amount)


def candidates_query(key: DocumentKey):
    """The one query for `key`'s candidates, oldest first: documents read so far with the same sha256, or the same
    supplier and number_key (ix_documents_supplier_number); None when `key` has neither to look for."""
    wanted = []
    if key.sha256:
        wanted.append(Document.sha256 == key.sha256)
    supplier, number = _supplier_id(key.supplier_id), number_key(key.document_number)
    if supplier is not None and number:
        wanted.append(and_(Document.supplier_id == supplier, Document.number_key == number))
    if not wanted:
        return None
    return select(*KEY_COLUMNS).where(or_(*wanted), Document.extraction.is_not(None)).order_by(Document.id)


def _supplier_id(text: str) -> int | None:
    """A stored key's supplier is str(supplier_id): only such a text can meet one."""
    try:
        number = int(text)
    except ValueError:
        return None
    return number if str(number) == text else None


def document_candidates(session: Session, key: DocumentKey) -> list[DocumentKey]:
    """`key`'s candidates for the duplicate check (see `candidates_query`), in `session`."""
    query = candidates_query(key)
    return [] if query is None else [stored_key(row) for row in session.execute(query)]


class StoredDocuments:
    """The duplicate check's `matching.DocumentLookup` over the `documents` table.

    Each `candidates(key)` runs one indexed query in its own short transaction from `factory` (the pipeline
    matches outside its transactions; on SQLite, where every transaction takes the write lock, asking inside
    another open transaction on the same file would wait for it: use `document_candidates(session, key)` there).
    The answer for the last key is kept, since matching may ask twice for one document; make one per document.
    `queries` and `rows_read` count what it did."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.queries = 0
        self.rows_read = 0
        self._last: tuple[tuple[str, str, str, str], list[DocumentKey]] | None = None

    def candidates(self, key: DocumentKey) -> list[DocumentKey]:
        asked = (key.document_id, key.sha256, key.supplier_id, key.document_number)   # the total picks nothing
        if self._last is not None and self._last[0] == asked:
            return self._last[1]
        query = candidates_query(key)
        if query is None:
            return []
        with transaction(self.factory) as session:
            found = [stored_key(row) for row in session.execute(query)]
        self.queries += 1
        self.rows_read += len(found)
        self._last = (asked, found)
        return found


def correct(session: Session, document_id: int, changes: dict[str, Any], *, who: str,
            why: str | None = None) -> Document:
    """Apply corrections {path: value} to `current` (never to the machine's reading); one history row each."""
    document, current = _correctable(session, document_id)
    for path, value in changes.items():
        before = _set_path(current["extraction"], path, value)
        if before != value:
            _log(session, document.id, who=who, path=path, before=before, after=value, why=why)
    document.current = current
    session.flush()
    return document


def history(session: Session, document_id: int) -> list[Change]:
    rows = session.scalars(select(DocumentHistory).where(DocumentHistory.document_id == document_id)
                           .order_by(DocumentHistory.id))
    return [Change(r.at, r.who, r.path, r.before, r.after, r.why) for r in rows]


def _set_path(tree: dict, path: str, value: Any) -> Any:
    """Set `value` at a dotted path ("fields.total", "lines.3.quantity"); return what was there.
    A contract Field ({"value", "raw", "confidence", ...}) keeps its raw text and box: only its value changes."""
    parts = path.split(".")
    node: Any = tree
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = _line(node, part, path)
        else:
            if part not in node or node[part] is None:
                node[part] = [] if parts[depth + 1].isdigit() and part == "lines" else {}
            node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        raise StateError(f"{path}: a path must end in a field name")
    before = node.get(last)
    if isinstance(before, dict) and "value" in before and not isinstance(value, dict):
        node[last] = {**before, "value": value, "confidence": 1.0, "corrected": True}  # a contract Field
        return before["value"]
    node[last] = value
    return before


def _line(lines: list, part: str, path: str) -> dict:
    if not part.isdigit():
        raise StateError(f"{path}: expected a line number after 'lines'")
    for line in lines:
        if isinstance(line, dict) and str(line.get("line_no")) == part:
            return line
    line = {"line_no": int(part)}
    lines.append(line)
    return line


def note(session: Session, document_id: int, *, who: str, path: str, why: str, after: Any = None) -> None:
    """A history row that changes no value: what a correction taught, or why it taught nothing."""
    _log(session, document_id, who=who, path=path, before=None, after=after, why=why)


def log_change(session: Session, document_id: int, *, who: str, path: str, before: Any, after: Any,
               why: str | None = None) -> None:
    """A history row for a change made outside `current`'s values (a line matched again, say)."""
    _log(session, document_id, who=who, path=path, before=before, after=after, why=why)


def _log(session: Session, document_id: int, *, who: str, path: str, before: Any, after: Any,
         why: str | None) -> None:
    session.add(DocumentHistory(document_id=document_id, at=utcnow(), who=who, path=path, before=before,
                                after=after, why=why))


def _correctable(session: Session, document_id: int) -> tuple[Document, dict]:
    """The document and a copy of its reviewed state to change, or StateError: posted, reversed and rejected
    documents stay as they are, and a document not read yet has nothing to correct."""
    document = get_document(session, document_id)
    if document.status in ("posted", "reversed", "rejected"):
        raise StateError(f"A {document.status} document cannot be corrected.")
    if document.current is None:
        raise StateError(f"Document {document_id} has no reading to correct yet.")
    return document, copy.deepcopy(document.current)


def set_line(session: Session, document_id: int, line_no: int, line: dict | None, *, who: str,
             why: str | None = None, match: dict | None = None) -> Document:
    """Add a line to `current` (`line`, when none has that number), replace it, or delete it (`line` None); one
    history row "lines.N" with the line before and after.  `match` (the matcher's suggestion for it, the
    contract's line match shape) is kept in `current`'s matches beside the line."""
    document, current = _correctable(session, document_id)
    lines = current["extraction"].setdefault("lines", [])
    at = next((i for i, x in enumerate(lines) if isinstance(x, dict) and x.get("line_no") == line_no), None)
    before = lines[at] if at is not None else None
    if line is None:
        if at is not None:
            del lines[at]
    elif at is None:
        lines.append({**line, "line_no": line_no})
    else:
        lines[at] = {**line, "line_no": line_no}
    if match is not None:
        matches = current.get("matches") or {}
        kept = [m for m in matches.get("lines") or () if m.get("line_no") != line_no]
        current["matches"] = {**matches, "lines": [*kept, {**match, "line_no": line_no}]}
    if before != line:
        _log(session, document.id, who=who, path=f"lines.{line_no}", before=before,
             after=None if line is None else {**line, "line_no": line_no}, why=why)
    document.current = current
    session.flush()
    return document
