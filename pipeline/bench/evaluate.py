"""Score extractions against ground-truth JSON files of the contract's shape (`inbound eval`).

Rules (DESIGN.md contract 2 and issue 3):
- header fields: every field present in the ground truth is scored (contract names and the extra keys a
  source maps, e.g. amount_due); fields the ground truth omits are not scored;
- a wrong value counts as a false positive and a false negative; a missing one as a false negative;
- money, quantities and rates compare as Decimal; dates as ISO strings; text casefolded with runs of
  whitespace collapsed; identifiers (tax ids, bank accounts, numbers, codes) also ignore spaces;
- line items are scored only where `gt_meta.lines_annotated` is not false, only on the contract's line
  fields (and, where the source lists them, only `gt_meta.line_fields_annotated`); predicted and true
  lines are paired by an order-preserving alignment that maximises agreeing fields;
- a document is straight-through when it would need no correction: no reading error, every scored field
  right, no true line missing, no spurious predicted line, every scored line field right (issue 14);
- every scored value the reader reported is kept with its confidence (`DocScore.values`) for the
  calibration report (calibration.py); a document's family, and whether `--holdout` holds it back, come
  from families.py, and `Report.by_family` / `Report.side` summarise by them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Mapping, Sequence

from extractors.result import LINE_FIELDS, Extraction, Field, LineItem
from pipeline.bench.calibration import REVIEW_THRESHOLD, Calibration, Judged, calibrate

_ID_FIELDS = re.compile(r"(_tax_id|_bank_account|_number|_code|_no|tax_number|_sku|barcode|_phone)$")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
DOC_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".ofd", ".xml", ".txt"}


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
    values: list[Judged] = field(default_factory=list)
    lines_missing: int = 0
    lines_extra: int = 0
    family: str = ""
    held_back: bool = False

    @property
    def straight_through(self) -> bool:
        """Nothing for a person to fix: no error, nothing wrong or missing, no line missing or spurious."""
        tallies = [*self.fields.values(), *self.lines.values()]
        return (self.error is None and not self.lines_missing and not self.lines_extra
                and all(t.fp == 0 and t.fn == 0 for t in tallies))

    def judge(self, name: str, truth: str | None, predicted: Field | None, right: bool) -> None:
        """Keep a reported value (not an absent one: no confidence was shown for it) for the calibration."""
        if predicted is not None and predicted.value is not None:
            self.values.append(Judged(self.name, name, truth, predicted.text(), predicted.confidence, right))


def score_fields(doc: DocScore, truth: Extraction, predicted: Extraction) -> None:
    for name, gt in truth.fields.items():
        t = gt.text()
        if t == "":
            continue
        p = _predicted(predicted.fields, name)
        tally = doc.fields.setdefault(name, Tally())
        right = values_equal(name, t, p)
        doc.judge(name, t, predicted.fields.get(name), right)
        if right:
            tally.tp += 1
            continue
        tally.fn += 1
        if p is not None:
            tally.fp += 1
        doc.misses.append(f"{name}: expected {t!r}, got {p!r}")


def _predicted(fields: Mapping[str, Field], name: str) -> str | None:
    """A predicted value as text; None where nothing was predicted (absent, or a label without a value)."""
    f = fields.get(name)
    return f.text() if f is not None and f.value is not None else None


def _line_fields(gt_line: LineItem, annotated: set[str] | None) -> list[str]:
    return [k for k in LINE_FIELDS if gt_line.text(k) != "" and (annotated is None or k in annotated)]


def _agreement(gt_line: LineItem, pred_line: LineItem, names: list[str]) -> int:
    return sum(values_equal(n, gt_line.text(n), _predicted(pred_line.fields, n)) for n in names)


def align_lines(truth: Sequence[LineItem], predicted: Sequence[LineItem],
                annotated: set[str] | None) -> list[tuple[int, int]]:
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


def score_lines(doc: DocScore, truth: Sequence[LineItem], predicted: Sequence[LineItem],
                annotated: set[str] | None) -> None:
    pairs = align_lines(truth, predicted, annotated)
    paired_t = {i for i, _ in pairs}
    paired_p = {j for _, j in pairs}
    for i, j in pairs:
        for name in _line_fields(truth[i], annotated):
            tally = doc.lines.setdefault(name, Tally())
            t, p = truth[i].text(name), _predicted(predicted[j].fields, name)
            right = values_equal(name, t, p)
            doc.judge(f"line {i + 1} {name}", t, predicted[j].fields.get(name), right)
            if right:
                tally.tp += 1
            else:
                tally.fn += 1
                tally.fp += p is not None
                doc.misses.append(f"line {i + 1} {name}: expected {t!r}, got {p!r}")
    for i in set(range(len(truth))) - paired_t:
        for name in _line_fields(truth[i], annotated):
            doc.lines.setdefault(name, Tally()).fn += 1
        doc.lines_missing += 1
        doc.misses.append(f"line {i + 1}: not found")
    names_seen = {n for t in truth for n in _line_fields(t, annotated)}
    for j in set(range(len(predicted))) - paired_p:
        for name in names_seen:
            if _predicted(predicted[j].fields, name) is not None:
                doc.lines.setdefault(name, Tally()).fp += 1
            doc.judge(f"extra line {j + 1} {name}", None, predicted[j].fields.get(name), False)
        doc.lines_extra += 1
        doc.misses.append(f"extra predicted line {j + 1}")


def score_document(name: str, truth: dict, predicted: Extraction | dict) -> DocScore:
    """One document's tallies: `truth` is a ground-truth object (fields may be plain strings), `predicted` an
    Extraction or its contract JSON; both are read with the typed read-back (`Extraction.from_json`)."""
    doc = DocScore(name)
    expected = Extraction.from_json(truth)
    got = predicted if isinstance(predicted, Extraction) else Extraction.from_json(predicted)
    score_fields(doc, expected, got)
    meta = truth.get("gt_meta", {})
    if meta.get("lines_annotated", True) is not False and truth.get("lines") is not None:
        annotated = set(meta["line_fields_annotated"]) if "line_fields_annotated" in meta else None
        score_lines(doc, expected.lines, got.lines, annotated)
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
    holdout: tuple[str, ...] = ()  # the --holdout patterns (families.Holdout) the docs' held_back came from

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

    def straight_through(self) -> int:
        return sum(d.straight_through for d in self.docs)

    def summary(self) -> dict:
        """Documents, fields F1, lines F1 (None where no line was scored) and straight-through count."""
        lines_f1 = round(self.overall("lines").f1, 4) if self.totals("lines") else None
        return {"documents": len(self.docs), "fields_f1": round(self.overall("fields").f1, 4), "lines_f1": lines_f1,
                "straight_through": self.straight_through(),
                "straight_through_share": round(self.straight_through() / len(self.docs), 4) if self.docs else None}

    def by_family(self) -> dict[str, Report]:
        groups: dict[str, list[DocScore]] = {}
        for d in self.docs:
            groups.setdefault(d.family, []).append(d)
        return {name: Report(docs, self.holdout) for name, docs in sorted(groups.items(), key=lambda g: g[0].casefold())}

    def side(self, held_back: bool) -> Report:
        """The documents of the unseen (held-back) families, or of the seen ones."""
        return Report([d for d in self.docs if d.held_back == held_back], self.holdout)

    def calibration(self, threshold: float = REVIEW_THRESHOLD) -> Calibration:
        return calibrate((v for d in self.docs for v in d.values), threshold)

    def to_json(self, threshold: float = REVIEW_THRESHOLD) -> dict:
        def table(kind: str) -> dict:
            return {n: {"tp": t.tp, "fp": t.fp, "fn": t.fn, "precision": round(t.precision, 4),
                        "recall": round(t.recall, 4), "f1": round(t.f1, 4)} for n, t in sorted(self.totals(kind).items())}
        out = {"fields": table("fields"), "lines": table("lines"),
               "fields_f1": round(self.overall("fields").f1, 4), "lines_f1": round(self.overall("lines").f1, 4),
               "documents": [{"name": d.name, "error": d.error, "misses": d.misses, "family": d.family,
                              "held_back": d.held_back, "straight_through": d.straight_through} for d in self.docs],
               "straight_through": self.summary(), "families": {n: r.summary() for n, r in self.by_family().items()},
               "calibration": self.calibration(threshold).to_json()}
        if self.holdout:
            unseen, seen = self.side(True), self.side(False)
            out["holdout"] = {"patterns": list(self.holdout), "unseen": unseen.summary(), "seen": seen.summary(),
                              "unseen_families": sorted({d.family for d in unseen.docs}),
                              "calibration_unseen": unseen.calibration(threshold).to_json(),
                              "calibration_seen": seen.calibration(threshold).to_json()}
        return out


def load_truth(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
