"""What matching returns: `Match` (with its candidates, never only the winner), `UnitConversion`,
`LineMatch`, `DocumentMatch`, and the options that steer it (`MatchOptions`).

Issue codes (stable, machine-readable; `Issue` is the extractors' type):
  supplier_unmatched, supplier_new, product_unmatched, product_needs_review, unit_unknown,
  po_not_found, po_line_missing, po_over_delivery, po_under_delivery, po_price_variance,
  invoice_exceeds_receipt, duplicate_document.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from extractors import Issue

__all__ = [
    "Candidate", "DocumentMatch", "LineMatch", "Match", "MatchMethod", "MatchOptions", "POLineRef",
    "SupplierProposal", "UnitConversion",
]


class MatchMethod(StrEnum):
    TAX_ID = "tax_id"
    NAME = "name"                  # exact normalised supplier name or master alias
    SUPPLIER_SKU = "supplier_sku"  # supplier's code or own name via the supplier-product link
    BARCODE = "barcode"
    CODE = "code"                  # our SKU printed on the line
    ALIAS = "alias"                # a learned fact
    LAYOUT = "layout"              # supplier: its particulars printed where a reviewer taught them (learned layout)
    EXACT_NAME = "exact_name"      # product: the printed name (or name + spec) is a product's name or alias, word
                                   # for word after normalisation; ranked and gated like fuzzy
    FUZZY = "fuzzy"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One possible master record: id, display name, score 0..1."""

    id: str
    name: str
    score: float

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "score": round(self.score, 4)}


@dataclass(frozen=True, slots=True)
class Match:
    """The chosen record (`id` None when nothing is good enough), its score 0..1, how it was found, the
    top candidates with scores (the winner first when there is one), and whether it may be taken
    without review (`auto_accepted`)."""

    id: str | None
    name: str
    score: float
    method: MatchMethod
    candidates: tuple[Candidate, ...] = ()
    auto_accepted: bool = False

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "score": round(max(0.0, min(1.0, self.score)), 4),
                "method": str(self.method), "auto_accepted": self.auto_accepted,
                "candidates": [c.to_json() for c in self.candidates]}


@dataclass(frozen=True, slots=True)
class UnitConversion:
    """Printed unit -> product base unit.  factor: base units per printed unit, None when unknown (then
    an `unit_unknown` issue says so and no quantity is converted).  source: how the factor was found
    (same, learned, supplier_product, product, standard, pack_size)."""

    printed_unit: str
    base_unit: str
    factor: Decimal | None
    source: str
    quantity: Decimal | None = None      # in base units
    unit_cost: Decimal | None = None     # per base unit


@dataclass(frozen=True, slots=True)
class POLineRef:
    po_number: str
    line_no: int
    open_quantity: Decimal


@dataclass(frozen=True, slots=True)
class LineMatch:
    line_no: int
    product: Match
    unit: UnitConversion | None
    po_line: POLineRef | None = None

    def to_json(self) -> dict:
        out = {"line_no": self.line_no, "product_match": self.product.to_json()}
        if self.unit is not None and self.unit.factor is not None:
            out["product_match"]["uom_factor"] = format(self.unit.factor, "f")
            if self.unit.quantity is not None:
                out["base_quantity"] = format(self.unit.quantity, "f")
            if self.unit.unit_cost is not None:
                out["unit_cost"] = format(self.unit.unit_cost, "f")
        if self.po_line is not None:
            out["po_line"] = {"po_number": self.po_line.po_number, "line_no": self.po_line.line_no}
        return out


@dataclass(frozen=True, slots=True)
class SupplierProposal:
    """A new supplier, pre-filled from the document, for a reviewer to create."""

    name: str
    tax_id: str = ""
    address: str = ""
    phone: str = ""
    bank_account: str = ""


@dataclass(frozen=True, slots=True)
class DocumentMatch:
    """The whole document: supplier, each line, the purchase order found (po_number "" when none), issues."""

    supplier: Match
    lines: tuple[LineMatch, ...]
    po_number: str = ""
    issues: tuple[Issue, ...] = ()
    proposed_supplier: SupplierProposal | None = None

    @property
    def needs_review(self) -> bool:
        return not self.supplier.auto_accepted or any(not li.product.auto_accepted for li in self.lines) or any(
            i.severity != "info" for i in self.issues)

    def to_json(self) -> dict:
        out: dict = {"supplier_match": self.supplier.to_json(), "lines": [li.to_json() for li in self.lines],
                     "issues": [i.to_json() for i in self.issues], "needs_review": self.needs_review}
        if self.po_number:
            out["po_number"] = self.po_number
        if self.proposed_supplier is not None:
            p = self.proposed_supplier
            out["proposed_supplier"] = {"name": p.name, "tax_id": p.tax_id, "address": p.address,
                                        "phone": p.phone, "bank_account": p.bank_account}
        return out


@dataclass(frozen=True, slots=True)
class MatchOptions:
    """Thresholds.  auto_accept, auto_margin: a ranked product match (exact_name or fuzzy) scoring at least
    auto_accept and leading the runner-up by auto_margin is taken without review.  `inbound bench matching`
    calibrates them on one master for >= 99.5 % precision (the 95 % lower bound) and measures them on another,
    unseen one: (0.5, 0.02) at 10k products, (0.675, 0.02) at 100k; the defaults are the least strict pair
    that clears the bound at both sizes (on the unseen masters, auto-accepted lines 99.89 % and 99.93 % right).
    min_score: below it a product line gets no match, only candidates.  top_k: candidates kept.
    shortlist: n-gram index rows the ranking sees (more cost time and, on the benchmark, win nothing).
    supplier_accept / supplier_min: the same for suppliers.
    qty_tolerance / price_tolerance: fractions for PO checks (0.02 = 2 %)."""

    auto_accept: float = 0.675
    auto_margin: float = 0.02
    min_score: float = 0.35
    top_k: int = 5
    shortlist: int = 15
    supplier_accept: float = 0.90
    supplier_min: float = 0.75
    qty_tolerance: Decimal = Decimal("0.02")
    price_tolerance: Decimal = Decimal("0.02")
    po_window_days: int = 120
