"""Readable terminal output for extractions and eval reports (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from extractors.result import Extraction, format_value
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
