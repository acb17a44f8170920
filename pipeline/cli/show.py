"""Readable terminal output for extractions and eval reports (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from extractors.result import Extraction, format_value
from pipeline.bench.calibration import Calibration
from pipeline.bench.evaluate import Report

console = Console(width=160)


def print_extraction(ex: Extraction) -> None:
    console.print(f"[bold]{ex.source}[/]  type={ex.document_type}  language={ex.language}  pages={ex.pages}  "
                  f"reader={ex.reader}")
    fields = Table("field", "value", "conf", "page", show_edge=False)
    for name, f in ex.fields.items():
        fields.add_row(name, format_value(f.value) or "", f"{f.confidence:.2f}", str(f.page or ""))
    console.print(fields)
    if ex.lines:
        names = ["description", "supplier_sku", "quantity", "unit", "unit_price", "amount", "tax_rate"]
        lines = Table("#", *names, show_edge=False)
        for li in ex.lines:
            lines.add_row(str(li.line_no), *[format_value(li.fields[n].value) if n in li.fields else "" for n in names])
        console.print(lines)
    for issue in ex.issues:
        console.print(f"  [{issue.severity}] {issue.code}: {issue.message}")


def print_report(report: Report) -> None:
    for kind in ("fields", "lines"):
        totals = report.totals(kind)
        if not totals:
            continue
        table = Table(kind, "TP", "FP", "FN", "precision", "recall", "F1", show_edge=False)
        for name, t in sorted(totals.items()):
            table.add_row(name, str(t.tp), str(t.fp), str(t.fn), f"{t.precision:.3f}", f"{t.recall:.3f}", f"{t.f1:.3f}")
        console.print(table)
    for doc in report.docs:
        if doc.error or doc.misses:
            console.print(f"[bold]{doc.name}[/]" + (f"  FAILED {doc.error}" if doc.error else ""))
            for miss in doc.misses[:12]:
                console.print(f"    {miss}", markup=False)
            if len(doc.misses) > 12:
                console.print(f"    ... {len(doc.misses) - 12} more")


def straight_through_text(report: Report) -> str:
    """'12/52 (23 %)': documents that needed no correction, of all scored."""
    n, total = report.straight_through(), len(report.docs)
    return f"{n}/{total} ({round(100 * n / total)} %)" if total else "0/0"


def _lines_f1(report: Report) -> str:
    return f"{report.overall('lines').f1:.3f}" if report.totals("lines") else "n/a"


def print_families(report: Report) -> None:
    """One row a family: documents, fields F1, lines F1, straight-through (and whether it is held back)."""
    held = bool(report.holdout)
    table = Table("family", "docs", "fields F1", "lines F1", "straight-through", *(["unseen"] if held else []),
                  show_edge=False)
    for name, part in report.by_family().items():
        unseen = ["yes" if part.docs[0].held_back else ""] if held else []
        table.add_row(Text(name), str(len(part.docs)), f"{part.overall('fields').f1:.3f}", _lines_f1(part),
                      straight_through_text(part), *unseen)
    console.print(table)


def print_holdout(report: Report) -> None:
    """Unseen (held-back) families first, then the seen ones: what a new supplier's documents would get."""
    table = Table("side", "families", "docs", "fields F1", "lines F1", "straight-through", show_edge=False)
    for label, part in (("unseen families", report.side(True)), ("seen families", report.side(False))):
        if part.docs:
            table.add_row(label, str(len({d.family for d in part.docs})), str(len(part.docs)),
                          f"{part.overall('fields').f1:.3f}", _lines_f1(part), straight_through_text(part))
    console.print(table)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f} %"


def print_calibration(title: str, cal: Calibration) -> None:
    """Confidence bucket -> share right, what the review threshold lets through, and the confident mistakes."""
    table = Table("confidence", "values", "right", "share right", title=f"calibration: {title}", show_edge=False)
    for label, share in cal.buckets:
        table.add_row(label, str(share.count), str(share.right), _percent(share.share))
    console.print(table)
    at = cal.at_threshold
    console.print(f"  at or above {cal.threshold:g} (shown without a review mark): {at.right}/{at.count} right "
                  f"({_percent(at.share)}), target {_percent(cal.target)}", markup=False)
    if cal.lowest is None:
        console.print(f"  no threshold reaches {_percent(cal.target)} right", markup=False)
    else:
        total = sum(s.count for _, s in cal.buckets)
        kept = cal.at_lowest.count if cal.at_lowest else 0
        console.print(f"  lowest threshold reaching {_percent(cal.target)} right: {cal.lowest:.4g} "
                      f"({kept}/{total} values unmarked, {_percent(cal.at_lowest.share if cal.at_lowest else None)} "
                      "right)", markup=False)
    if cal.confident_wrong:
        wrong = Table("confidence", "document", "field", "expected", "got",
                      title=f"most confident wrong values: {title}", show_edge=False)
        for v in cal.confident_wrong:
            wrong.add_row(f"{v.confidence:.3f}", Text(v.document), Text(v.field), Text(_clip(v.expected)),
                          Text(_clip(v.got)))
        console.print(wrong)


def _clip(text: str | None, width: int = 40) -> str:
    if text is None:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
