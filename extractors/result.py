"""What extraction returns: `Field`, `LineItem`, `Issue`, `Extraction`, and their contract JSON.

The JSON shape is `shared/contracts/extraction.schema.json`: money, quantities and rates as decimal
strings (a rate is a fraction: 19 % is "0.19"), dates as ISO strings, each field with raw text,
confidence, 1-based page and a bbox in page points (origin top-left).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Mapping

from extractors.layout import BBox


class DocumentType(StrEnum):
    INVOICE = "invoice"
    VAT_INVOICE = "vat_invoice"
    DELIVERY_NOTE = "delivery_note"
    RECEIPT = "receipt"
    PURCHASE_ORDER = "purchase_order"
    OTHER = "other"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


FieldValue = str | Decimal | date | None


def format_value(value: FieldValue) -> str | None:
    """The contract's string form of a typed value; Decimals never in exponent notation."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True, slots=True)
class Field:
    """One extracted value and where it came from.

    value: typed (str, Decimal, date) or None when the label was found but no value parsed.
    raw: the text as read, before normalisation; never None ("" when synthesised).
    confidence: 0..1.
    page: 1-based page number; 0 when the value has no place on a page (e.g. from embedded XML not
      found in print).
    bbox: page points, origin top-left; None when unknown.
    """

    value: FieldValue
    raw: str
    confidence: float
    page: int = 0
    bbox: BBox | None = None

    def to_json(self) -> dict:
        out: dict = {"value": format_value(self.value), "raw": self.raw,
                     "confidence": round(max(0.0, min(1.0, self.confidence)), 4)}
        if self.page >= 1:
            out["page"] = self.page
        if self.bbox is not None:
            out["bbox"] = self.bbox.rounded()
        return out

    def with_confidence(self, confidence: float) -> Field:
        return replace(self, confidence=confidence)


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem found in the content; `code` is stable and machine-readable."""

    code: str
    severity: Severity
    message: str
    field: str | None = None
    line_no: int | None = None

    def to_json(self) -> dict:
        out: dict = {"code": self.code, "severity": str(self.severity), "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.line_no is not None:
            out["line_no"] = self.line_no
        return out


@dataclass(frozen=True, slots=True)
class LineItem:
    """One item row. `fields` uses the contract's line field names (description, quantity, ...)."""

    line_no: int
    fields: Mapping[str, Field]

    def to_json(self) -> dict:
        out: dict = {"line_no": self.line_no}
        out.update({name: f.to_json() for name, f in self.fields.items()})
        return out


@dataclass(frozen=True, slots=True)
class Extraction:
    """A document's header fields, line items and issues."""

    document_type: DocumentType
    language: str
    fields: Mapping[str, Field]
    lines: tuple[LineItem, ...]
    issues: tuple[Issue, ...] = ()
    pages: int = 1
    reader: str = "text-layer"
    source: str = ""
    sha256: str = ""
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        out: dict = {
            "source": self.source,
            "sha256": self.sha256,
            "document_type": str(self.document_type),
            "language": self.language,
            "pages": max(1, self.pages),
            "reader": self.reader,
            "fields": {name: f.to_json() for name, f in self.fields.items()},
            "lines": [li.to_json() for li in self.lines],
            "issues": [i.to_json() for i in self.issues],
        }
        if self.timings_ms:
            out["timings_ms"] = {k: round(v, 3) for k, v in self.timings_ms.items()}
        return out


def failed_extraction(*, source: str, sha256: str, issue: Issue) -> Extraction:
    """The contract object for a document that could not be read at all."""
    return Extraction(document_type=DocumentType.OTHER, language="und", fields={}, lines=(),
                      issues=(issue,), pages=1, reader="none", source=source, sha256=sha256)
