"""What extraction returns: `Field`, `LineItem`, `Issue`, `Extraction`, and their contract JSON.

The JSON shape is `shared/contracts/extraction.schema.json`: money, quantities and rates as decimal
strings (a rate is a fraction: 19 % is "0.19"), dates as ISO strings, each field with raw text,
confidence, 1-based page and a bbox in page points (origin top-left).

`Extraction.from_json` is the one typed read-back of such an object, wherever it was stored: a draft's
machine reading, its reviewed copy (where a person may have typed a bare value instead of a Field object,
as a ground-truth file may too), an eval prediction.  Values come back typed by the field's kind
(`field_kind`: Decimal, date or text); keys that are not fields (product_match, product_id, ...) are left out.
Read values with `Extraction.text(name)` / `.printed(name)` / `.decimal(name)` / `.date(name)`, the same on
`LineItem`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal, Mapping

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
FieldKind = Literal["decimal", "date", "text"]

# money, quantities and rates; and dates.  Other names: by suffix (field_kind), else text.
DECIMAL_FIELDS = frozenset({"subtotal", "tax_amount", "total_amount", "discount", "amount_due", "line_total",
                            "allowance_total", "charge_total", "prepaid_amount", "quantity", "unit_price",
                            "gross_price", "amount", "tax_rate"})
DATE_FIELDS = frozenset({"document_date", "due_date", "delivery_date", "production_date", "expiry_date"})
_DECIMAL_SUFFIXES = ("_amount", "_total", "_price", "_rate", "_quantity")
# the contract's line fields (a bare value under one of these names is a field, other keys of a line are not)
LINE_FIELDS = ("supplier_sku", "barcode", "description", "spec", "unit", "quantity", "unit_price", "amount",
               "tax_rate", "tax_amount", "batch_no", "production_date", "expiry_date", "po_line_ref")


def field_kind(name: str) -> FieldKind:
    """How a field's value is typed: Decimal for money, quantities and rates, date for dates, else text."""
    if name in DATE_FIELDS or name.endswith("_date"):
        return "date"
    if name in DECIMAL_FIELDS or name.endswith(_DECIMAL_SUFFIXES):
        return "decimal"
    return "text"


def parse_value(name: str, value: Any) -> FieldValue:
    """A stored or typed value in the field's kind: "12.50" or 12.5 -> Decimal for a decimal field, "2024-05-01"
    -> date for a date field.  A value that does not parse in its kind stays text (nothing is lost); the typed
    getters then give None for it."""
    if value is None or isinstance(value, (Decimal, date)):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if not isinstance(value, (str, int, float)):
        return None                      # a list or an object where a value belongs: nothing to read
    text = value if isinstance(value, str) else str(value)
    kind = field_kind(name)
    if kind == "decimal" and text.strip():
        try:
            return Decimal(text.strip())
        except InvalidOperation:
            return text
    if kind == "date" and text.strip():
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            return text
    return text


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
    method: str | None = None     # which source gave the value: xml, qr, rules, model, rules+model, learned_layout
    fact_id: str | None = None    # method learned_layout: the learned fact (layout rule) that found it

    def to_json(self) -> dict:
        out: dict = {"value": format_value(self.value), "raw": self.raw,
                     "confidence": round(max(0.0, min(1.0, self.confidence)), 4)}
        if self.page >= 1:
            out["page"] = self.page
        if self.bbox is not None:
            out["bbox"] = self.bbox.rounded()
        if self.method:
            out["method"] = self.method
        if self.fact_id:
            out["fact_id"] = self.fact_id
        return out

    def with_confidence(self, confidence: float) -> Field:
        return replace(self, confidence=confidence)

    @classmethod
    def from_json(cls, name: str, data: Any) -> Field:
        """A contract Field object, or a bare value (typed by a person, or in a ground-truth file: raw "",
        confidence 1.0), with its value typed by `field_kind(name)`."""
        if not isinstance(data, Mapping):
            return cls(parse_value(name, data), "", 1.0)
        method, fact = data.get("method"), data.get("fact_id")
        return cls(parse_value(name, data.get("value")), str(data.get("raw") or ""),
                   _number(data.get("confidence", 1.0), float, 0.0), _number(data.get("page"), int, 0),
                   _bbox(data.get("bbox")), method if isinstance(method, str) and method else None,
                   str(fact) if isinstance(fact, (str, int)) and not isinstance(fact, bool) and fact != "" else None)

    def text(self) -> str:
        """The value as text: a text value as it is, a typed one in its contract form; "" when none was parsed."""
        return format_value(self.value) or ""

    def printed(self) -> str:
        """What the matcher reads: a text value, else the raw text as printed."""
        return self.value if isinstance(self.value, str) else self.raw


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem found in the content; `code` is stable and machine-readable."""

    code: str
    severity: Severity
    message: str
    field: str | None = None
    line_no: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Issue:
        severity = data.get("severity")
        return cls(str(data.get("code") or ""), Severity(severity) if isinstance(severity, str) and severity in Severity._value2member_map_
                   else Severity.INFO, str(data.get("message") or ""), str(data.get("field") or "") or None,
                   _number(data.get("line_no"), int, None))

    def to_json(self) -> dict:
        out: dict = {"code": self.code, "severity": str(self.severity), "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.line_no is not None:
            out["line_no"] = self.line_no
        return out


class FieldReader:
    """Typed reads of `self.fields` (name -> Field), shared by a document's header (`Extraction`) and its lines
    (`LineItem`); a field that is absent reads as "" or None."""

    __slots__ = ()
    fields: Mapping[str, Field]

    def text(self, name: str) -> str:
        """The field's value as text ("" when absent or not parsed): see `Field.text`."""
        f = self.fields.get(name)
        return f.text() if f is not None else ""

    def printed(self, name: str) -> str:
        """The field as the matcher reads it ("" when absent): see `Field.printed`."""
        f = self.fields.get(name)
        return f.printed() if f is not None else ""

    def raw(self, name: str) -> str:
        """The field's printed text ("" when absent)."""
        f = self.fields.get(name)
        return f.raw if f is not None else ""

    def decimal(self, name: str) -> Decimal | None:
        """The field's Decimal value; None when absent or not a number."""
        f = self.fields.get(name)
        return f.value if f is not None and isinstance(f.value, Decimal) else None

    def date(self, name: str) -> date | None:
        f = self.fields.get(name)
        return f.value if f is not None and isinstance(f.value, date) else None


@dataclass(frozen=True, slots=True)
class LineItem(FieldReader):
    """One item row. `fields` uses the contract's line field names (description, quantity, ...)."""

    line_no: int
    fields: Mapping[str, Field]

    def to_json(self) -> dict:
        out: dict = {"line_no": self.line_no}
        out.update({name: f.to_json() for name, f in self.fields.items()})
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LineItem:
        """A contract line; its keys that are not fields (product_match, product_id, uom_factor, ...) are left
        out.  A field is a Field object or, where a person typed it or a ground truth gives it, a bare value of a
        contract line field."""
        fields = {name: Field.from_json(name, value) for name, value in data.items()
                  if name != "line_no" and (_is_field_object(value) or (name in LINE_FIELDS and value is not None))}
        return cls(_number(data.get("line_no"), int, 0), fields)


@dataclass(frozen=True, slots=True)
class Extraction(FieldReader):
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

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Extraction:
        """The typed read-back of a contract object (`to_json`'s inverse for what it writes); None or {} reads as
        an empty extraction of type other."""
        data = data if isinstance(data, Mapping) else {}
        stored = data.get("fields")
        fields = {str(name): Field.from_json(str(name), value)
                  for name, value in (stored.items() if isinstance(stored, Mapping) else ())}
        lines = tuple(LineItem.from_json(line) for line in _listed(data.get("lines")) if isinstance(line, Mapping))
        issues = tuple(Issue.from_json(i) for i in _listed(data.get("issues")) if isinstance(i, Mapping))
        kind = data.get("document_type") or "other"
        return cls(DocumentType(kind) if isinstance(kind, str) and kind in DocumentType._value2member_map_
                   else DocumentType.OTHER,
                   str(data.get("language") or "und"), fields, lines, issues, _number(data.get("pages"), int, 1) or 1,
                   str(data.get("reader") or ""), str(data.get("source") or ""), str(data.get("sha256") or ""),
                   dict(data["timings_ms"]) if isinstance(data.get("timings_ms"), Mapping) else {})


def _is_field_object(value: Any) -> bool:
    return isinstance(value, Mapping) and "value" in value


def _number(value: Any, kind: type, default: Any) -> Any:
    """A stored number read back as `kind`; `default` for what is missing or is not one (a stored reading that
    was tampered with reads, it does not raise)."""
    if value is None or isinstance(value, bool):
        return default
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _bbox(value: Any) -> BBox | None:
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        return None
    coords = [_number(v, float, None) for v in value]
    return BBox(*coords) if None not in coords else None


def _listed(value: Any) -> list | tuple:
    return value if isinstance(value, (list, tuple)) else ()


def failed_extraction(*, source: str, sha256: str, issue: Issue) -> Extraction:
    """The contract object for a document that could not be read at all."""
    return Extraction(document_type=DocumentType.OTHER, language="und", fields={}, lines=(),
                      issues=(issue,), pages=1, reader="none", source=source, sha256=sha256)
