"""Documents and their review: status workflow, the machine's reading kept beside the corrections, history.

    received -> processing -> needs_review | ready -> confirmed -> posted -> reversed
    any state before posted -> rejected;  received | processing -> failed (with a reason)

`extraction` and `matches` hold what the machine read and matched; they are written once and never changed.
`current` starts as a copy and takes the corrections; each change (status, field, line, match) is a row in
`document_history` with who, when (UTC), the path, before, after and why.  Paths are dotted:
"fields.invoice_number", "lines.2.quantity" (line numbers, not list indexes), "status".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def create_document(session: Session, *, sha256: str, filename: str, mime: str | None = None,
                    size_bytes: int | None = None, source: str = "upload", blob_ref: str | None = None,
                    who: str = "system") -> tuple[Document, bool]:
    """The document for these bytes: (existing, False) when the sha256 is known, else (new, True)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    existing = session.scalars(select(Document).where(Document.sha256 == sha256)).one_or_none()
    if existing is not None:
        return existing, False
    document = Document(sha256=sha256, filename=filename, mime=mime, size_bytes=size_bytes, source=source,
                        blob_ref=blob_ref, status="received")
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


def set_reading(session: Session, document_id: int, *, extraction: dict, matches: dict | None, who: str,
                status: str) -> Document:
    """Store the machine's reading once (extraction + matches); `current` starts as its copy."""
    document = get_document(session, document_id)
    if document.extraction is not None:
        raise StateError(f"Document {document_id} was read already; corrections go through `correct`.")
    document.extraction = extraction
    document.matches = matches
    document.current = {"extraction": copy.deepcopy(extraction), "matches": copy.deepcopy(matches)}
    document.document_type = extraction.get("document_type")
    _log(session, document.id, who=who, path="extraction", before=None, after="machine reading", why=None)
    record_status(session, document, status, who=who)
    return document


def correct(session: Session, document_id: int, changes: dict[str, Any], *, who: str,
            why: str | None = None) -> Document:
    """Apply corrections {path: value} to `current` (never to the machine's reading); one history row each."""
    document = get_document(session, document_id)
    if document.status in ("posted", "reversed", "rejected"):
        raise StateError(f"A {document.status} document cannot be corrected.")
    if document.current is None:
        raise StateError(f"Document {document_id} has no reading to correct yet.")
    current = copy.deepcopy(document.current)
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


def _log(session: Session, document_id: int, *, who: str, path: str, before: Any, after: Any,
         why: str | None) -> None:
    session.add(DocumentHistory(document_id=document_id, at=utcnow(), who=who, path=path, before=before,
                                after=after, why=why))
