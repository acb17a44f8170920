"""Score extractions against ground-truth JSON files of the contract's shape (`inbound eval`).

Rules (DESIGN.md contract 2 and issue 3):
- header fields: every field present in the ground truth is scored (contract names and the extra keys a
  source maps, e.g. amount_due); fields the ground truth omits are not scored;
- a wrong value counts as a false positive and a false negative; a missing one as a false negative;
- money, quantities and rates compare as Decimal; dates as ISO strings; text casefolded with runs of
  whitespace collapsed; identifiers (tax ids, bank accounts, numbers, codes) also ignore spaces;
- line items are scored only where `gt_meta.lines_annotated` is not false, only on the contract's line
  fields (and, where the source lists them, only `gt_meta.line_fields_annotated`); predicted and true
  lines are paired by an order-preserving alignment that maximises agreeing fields.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

LINE_FIELDS = ("supplier_sku", "barcode", "description", "spec", "unit", "quantity", "unit_price", "amount",
               "tax_rate", "tax_amount", "batch_no", "production_date", "expiry_date", "po_line_ref")
_ID_FIELDS = re.compile(r"(_tax_id|_bank_account|_number|_code|_no|tax_number|_sku|barcode|_phone)$")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
DOC_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".ofd", ".xml", ".txt"}


def field_value(v: object) -> str | None:
    """A field as given in a contract object or ground truth: plain string or {"value": ...}."""
    if isinstance(v, dict):
        v = v.get("value")
    if v is None:
        return None
    return str(v)


def values_equal(name: str, truth: str, predicted: str | None) -> bool:
    if predicted is None:
        return False
    # full-width and half-width forms are the same text to a reader: '：' = ':', '（' = '('
    t, p = unicodedata.normalize("NFKC", truth).strip(), unicodedata.normalize("NFKC", predicted).strip()
    if _NUMBER.match(t) and _NUMBER.match(p):
        try:
            return Decimal(t) == Decimal(p)
        except InvalidOperation:
            return False
    norm_t, norm_p = " ".join(t.casefold().split()), " ".join(p.casefold().split())
    if _ID_FIELDS.search(name):
        norm_t, norm_p = norm_t.replace(" ", ""), norm_p.replace(" ", "")
    return norm_t == norm_p


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Tally) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 1.0


@dataclass
class DocScore:
    name: str
    fields: dict[str, Tally] = field(default_factory=dict)
    lines: dict[str, Tally] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    error: str | None = None


def score_fields(doc: DocScore, truth: dict, predicted: dict) -> None:
    for name, gt in truth.items():
        t = field_value(gt)
        if t is None or t == "":
            continue
        p = field_value(predicted.get(name))
        tally = doc.fields.setdefault(name, Tally())
        if values_equal(name, t, p):
            tally.tp += 1
            continue
        tally.fn += 1
        if p is not None:
            tally.fp += 1
        doc.misses.append(f"{name}: expected {t!r}, got {p!r}")


def _line_fields(gt_line: dict, annotated: set[str] | None) -> list[str]:
    return [k for k in LINE_FIELDS if k in gt_line and field_value(gt_line[k]) not in (None, "")
            and (annotated is None or k in annotated)]


def _agreement(gt_line: dict, pred_line: dict, names: list[str]) -> int:
    return sum(values_equal(n, field_value(gt_line[n]) or "", field_value(pred_line.get(n))) for n in names)


def align_lines(truth: list[dict], predicted: list[dict], annotated: set[str] | None) -> list[tuple[int, int]]:
    """Order-preserving pairs (truth index, predicted index) maximising agreeing fields."""
    n, m = len(truth), len(predicted)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        names = _line_fields(truth[i], annotated)
        for j in range(m - 1, -1, -1):
            agree = _agreement(truth[i], predicted[j], names)
            take = agree + best[i + 1][j + 1] if agree > 0 else -1
            best[i][j] = max(best[i + 1][j], best[i][j + 1], take)
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        names = _line_fields(truth[i], annotated)
        agree = _agreement(truth[i], predicted[j], names)
        if agree > 0 and best[i][j] == agree + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def score_lines(doc: DocScore, truth: list[dict], predicted: list[dict], annotated: set[str] | None) -> None:
    pairs = align_lines(truth, predicted, annotated)
    paired_t = {i for i, _ in pairs}
    paired_p = {j for _, j in pairs}
    for i, j in pairs:
        for name in _line_fields(truth[i], annotated):
            tally = doc.lines.setdefault(name, Tally())
            t, p = field_value(truth[i][name]) or "", field_value(predicted[j].get(name))
            if values_equal(name, t, p):
                tally.tp += 1
            else:
                tally.fn += 1
                tally.fp += p is not None
                doc.misses.append(f"line {i + 1} {name}: expected {t!r}, got {p!r}")
    for i in set(range(len(truth))) - paired_t:
        for name in _line_fields(truth[i], annotated):
            doc.lines.setdefault(name, Tally()).fn += 1
        doc.misses.append(f"line {i + 1}: not found")
    names_seen = {n for t in truth for n in _line_fields(t, annotated)}
    for j in set(range(len(predicted))) - paired_p:
        for name in names_seen:
            if field_value(predicted[j].get(name)) is not None:
                doc.lines.setdefault(name, Tally()).fp += 1
        doc.misses.append(f"extra predicted line {j + 1}")


def score_document(name: str, truth: dict, predicted: dict) -> DocScore:
    doc = DocScore(name)
    score_fields(doc, truth.get("fields", {}), predicted.get("fields", {}))
    meta = truth.get("gt_meta", {})
    if meta.get("lines_annotated", True) is not False and truth.get("lines") is not None:
        annotated = set(meta["line_fields_annotated"]) if "line_fields_annotated" in meta else None
        score_lines(doc, truth.get("lines", []), predicted.get("lines", []), annotated)
    return doc


def documents_in(folder: Path) -> list[tuple[Path, Path]]:
    """(document, ground truth) pairs: NAME.<ext> beside NAME.json."""
    pairs = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in DOC_SUFFIXES or ".source" in path.name or path.name.endswith(".ocr.csv"):
            continue
        gt = path.with_suffix(".json")
        if gt.exists():
            pairs.append((path, gt))
    return pairs


@dataclass
class Report:
    docs: list[DocScore]

    def totals(self, kind: str) -> dict[str, Tally]:
        out: dict[str, Tally] = {}
        for d in self.docs:
            for name, t in getattr(d, kind).items():
                out.setdefault(name, Tally()).add(t)
        return out

    def overall(self, kind: str) -> Tally:
        total = Tally()
        for t in self.totals(kind).values():
            total.add(t)
        return total

    def summary_line(self) -> str:
        lines = self.totals("lines")
        lines_f1 = f"{self.overall('lines').f1:.3f}" if lines else "n/a"
        return f"fields F1: {self.overall('fields').f1:.3f}  lines F1: {lines_f1}"

    def to_json(self) -> dict:
        def table(kind: str) -> dict:
            return {n: {"tp": t.tp, "fp": t.fp, "fn": t.fn, "precision": round(t.precision, 4),
                        "recall": round(t.recall, 4), "f1": round(t.f1, 4)} for n, t in sorted(self.totals(kind).items())}
        return {"fields": table("fields"), "lines": table("lines"),
                "fields_f1": round(self.overall("fields").f1, 4), "lines_f1": round(self.overall("lines").f1, 4),
                "documents": [{"name": d.name, "error": d.error, "misses": d.misses} for d in self.docs]}


def load_truth(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
