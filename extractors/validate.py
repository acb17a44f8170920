"""Checks on an Extraction's content.  Each check is one small function returning issues; all run.

Stable codes: line_arithmetic, lines_sum_mismatch, totals_mismatch, tax_id_invalid, gtin_check_digit,
date_implausible, due_before_issue, low_confidence, missing_field.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable

from extractors.result import DocumentType, Extraction, Issue, Severity

_ROUND = Decimal("0.02")


def _dec(extraction_fields, name: str) -> Decimal | None:
    f = extraction_fields.get(name)
    return f.value if f is not None and isinstance(f.value, Decimal) else None


def check_line_arithmetic(ex: Extraction) -> list[Issue]:
    out = []
    for line in ex.lines:
        q, p, a = (_dec(line.fields, n) for n in ("quantity", "unit_price", "amount"))
        if q is None or p is None or a is None:
            continue
        tolerance = max(_ROUND, abs(q) * Decimal("0.006"))
        if abs(q * p - a) > tolerance:
            out.append(Issue("line_arithmetic", Severity.WARNING,
                             f"Line {line.line_no}: {q} x {p} = {q * p:.2f}, but the amount printed is {a}.",
                             field="amount", line_no=line.line_no))
    return out


def check_lines_sum(ex: Extraction) -> list[Issue]:
    amounts = [_dec(li.fields, "amount") for li in ex.lines]
    if not amounts or any(a is None for a in amounts):
        return []
    total = sum(amounts, Decimal(0))  # type: ignore[arg-type]
    targets = [v for v in (_dec(ex.fields, "line_total"), _dec(ex.fields, "subtotal")) if v is not None]
    if not targets or any(abs(total - t) <= _ROUND for t in targets):
        return []
    return [Issue("lines_sum_mismatch", Severity.WARNING,
                  f"The lines add up to {total}, but the document prints {targets[0]}.", field="subtotal")]


def check_totals(ex: Extraction) -> list[Issue]:
    s, t, g = (_dec(ex.fields, n) for n in ("subtotal", "tax_amount", "total_amount"))
    if s is None or t is None or g is None or abs(s + t - g) <= _ROUND:
        return []
    return [Issue("totals_mismatch", Severity.ERROR, f"Subtotal {s} + tax {t} = {s + t}, but the total is {g}.",
                  field="total_amount")]


_EU_VAT = re.compile(r"^(?:ATU\d{8}|BE[01]\d{9}|DE\d{9}|FR[A-HJ-NP-Z0-9]{2}\d{9}|NL\d{9}B\d{2}|PL\d{10}|"
                     r"GB\d{9}(?:\d{3})?|ES[A-Z0-9]\d{7}[A-Z0-9]|IT\d{11}|[A-Z]{2}[0-9A-Z]{2,13})$")


def _fr_vat_key_ok(vat: str) -> bool:
    if not vat[2:4].isdigit():
        return True
    siren = int(vat[4:])
    return int(vat[2:4]) == (12 + 3 * (siren % 97)) % 97


def check_tax_ids(ex: Extraction) -> list[Issue]:
    out = []
    for name in ("supplier_tax_id", "buyer_tax_id"):
        f = ex.fields.get(name)
        if f is None or not isinstance(f.value, str) or not f.value[:2].isalpha():
            continue
        vat = f.value.replace(" ", "").upper()
        if vat[:2].isalpha() and vat[2:3].isdigit() and (not _EU_VAT.match(vat) or
                                                         (vat.startswith("FR") and not _fr_vat_key_ok(vat))):
            out.append(Issue("tax_id_invalid", Severity.WARNING, f"{vat} is not a valid VAT id.", field=name))
    if ex.language == "zh":
        from extractors.cn.checks import uscc_is_valid
        for name in ("supplier_tax_id", "buyer_tax_id"):
            f = ex.fields.get(name)
            if f is not None and isinstance(f.value, str) and len(f.value) == 18 and not uscc_is_valid(f.value):
                out.append(Issue("tax_id_checksum", Severity.WARNING,
                                 f"{f.value} fails the 统一社会信用代码 check character.", field=name))
    return out


def gtin_is_valid(code: str) -> bool:
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def check_gtins(ex: Extraction) -> list[Issue]:
    out = []
    for line in ex.lines:
        f = line.fields.get("barcode")
        if f is not None and isinstance(f.value, str) and f.value.isdigit() and not gtin_is_valid(f.value):
            out.append(Issue("gtin_check_digit", Severity.WARNING, f"Barcode {f.value} has a wrong check digit.",
                             field="barcode", line_no=line.line_no))
    return out


def check_dates(ex: Extraction, *, today: date | None = None) -> list[Issue]:
    today = today or date.today()
    out = []
    for name in ("document_date", "due_date", "delivery_date"):
        f = ex.fields.get(name)
        if f is None or not isinstance(f.value, date):
            continue
        if f.value > today + timedelta(days=400) or f.value.year < 1990:
            out.append(Issue("date_implausible", Severity.WARNING, f"{name} {f.value} is implausible.", field=name))
    issued, due = ex.fields.get("document_date"), ex.fields.get("due_date")
    if issued and due and isinstance(issued.value, date) and isinstance(due.value, date) and due.value < issued.value:
        out.append(Issue("due_before_issue", Severity.WARNING, "The due date is before the invoice date.",
                         field="due_date"))
    return out


def check_confidence(ex: Extraction) -> list[Issue]:
    return [Issue("low_confidence", Severity.INFO, f"{name} was read with low confidence.", field=name)
            for name, f in ex.fields.items() if f.confidence < 0.5]


def check_document_kind(ex: Extraction) -> list[Issue]:
    """A page with no text, or one that is none of the paperwork Inbound receives (a photo of something
    else): said plainly, so that a person decides; whatever fields were read are kept."""
    if ex.document_type is not DocumentType.OTHER or any(i.severity is Severity.ERROR for i in ex.issues):
        return []
    if not ex.fields and not ex.lines:
        return [Issue("no_document_found", Severity.WARNING,
                      "No invoice, delivery note or receipt was recognised on this file.")]
    return [Issue("unknown_document_type", Severity.INFO,
                  "The kind of document was not recognised; the fields found are shown for review.")]


def check_required(ex: Extraction) -> list[Issue]:
    if ex.document_type is DocumentType.OTHER:
        return []
    needed = ("document_date", "total_amount") if ex.document_type is DocumentType.RECEIPT else \
        ("document_number", "document_date", "total_amount")
    return [Issue("missing_field", Severity.WARNING, f"No {name} was found.", field=name)
            for name in needed if name not in ex.fields]


CHECKS: list[Callable[[Extraction], list[Issue]]] = [
    check_line_arithmetic, check_lines_sum, check_totals, check_tax_ids, check_gtins, check_dates,
    check_confidence, check_required, check_document_kind,
]


def validate(ex: Extraction) -> list[Issue]:
    """Every check's issues, in CHECKS order."""
    return [issue for check in CHECKS for issue in check(ex)]
