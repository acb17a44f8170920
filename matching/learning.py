"""Learning from reviewers, the pure part: corrections in, `LearnedFact` records out.

The DB layer stores the facts (and lists/deletes them for admins); `MasterData.with_facts` puts them
back in front of the matchers, where a product alias makes the next line from the same supplier with
the same printed code or text match with method `alias`, a unit factor converts its unit, and a supplier
alias finds the supplier by its printed name.  Facts never change: a new teaching is a new fact and the
latest (`created_at`) wins, so the history stays.

Layout hints (kind `layout_hint`) describe how a supplier prints its documents, derived from a corrected
document: `po_label` (the printed label before the PO number), `date_order` (ymd, dmy, mdy) and
`columns` (line fields left to right).  `layout_hints` reads them back for the extractor.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Sequence

from extractors import Extraction
from extractors.layout import Layout
from extractors.learned_layout import CONSTANT_FIELDS, AppliedRule, Rule, find
from matching.master import LearnedFact, LearnedKind, MasterData
from matching.normalize import normalize_company
from matching.products import PrintedLine, alias_keys
from matching.result import DocumentMatch, LineMatch
from matching.units import unit_key

__all__ = [
    "LayoutHints", "LineCorrection", "Review", "facts_from_line", "facts_from_review", "layout_hints",
    "layout_hints_from", "layout_rule_fact", "layout_rules", "recognise_supplier", "supplier_alias_fact",
]

log = logging.getLogger("inbound.learning")


@dataclass(frozen=True, slots=True)
class LineCorrection:
    """What the reviewer settled for one line: the product, and the factor (base units per printed
    unit; None when the reviewer left the unit alone)."""

    line: PrintedLine
    product_id: str
    factor: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Review:
    """A reviewed document: the supplier chosen, its printed name, and each line as settled."""

    supplier_id: str
    printed_supplier: str
    lines: tuple[LineCorrection, ...]


def supplier_alias_fact(*, printed_name: str, supplier_id: str, at: datetime) -> LearnedFact | None:
    """`printed_name` is this supplier from now on; None when the name normalises to nothing."""
    key = normalize_company(printed_name)
    if not key:
        return None
    return LearnedFact(LearnedKind.SUPPLIER_ALIAS, "", key, supplier_id, payload={"printed": printed_name},
                       created_at=at)


def facts_from_line(*, supplier_id: str, line: PrintedLine, product_id: str, factor: Decimal | None,
                    at: datetime) -> list[LearnedFact]:
    """A product alias under each of the line's keys (code, text), and its unit factor when given."""
    facts = [LearnedFact(LearnedKind.PRODUCT_ALIAS, supplier_id, key, product_id,
                         payload={"printed": line.text, "supplier_sku": line.supplier_sku}, created_at=at)
             for key in alias_keys(line)]
    if factor is not None:
        facts.append(LearnedFact(LearnedKind.UNIT_FACTOR, supplier_id, f"{product_id}|{unit_key(line.unit)}",
                                 product_id, factor=factor, payload={"unit": line.unit}, created_at=at))
    return facts


def _line_taught(before: LineMatch | None, fix: LineCorrection) -> tuple[bool, bool]:
    """(product needs teaching, factor needs teaching) for one line."""
    if before is None:
        return True, fix.factor is not None
    product = not before.product.auto_accepted or before.product.id != fix.product_id
    old_factor = before.unit.factor if before.unit is not None and before.product.id == fix.product_id else None
    return product, fix.factor is not None and fix.factor != old_factor


def facts_from_review(review: Review, before: DocumentMatch, *, at: datetime) -> list[LearnedFact]:
    """Facts for everything the reviewer had to touch: a supplier not auto-accepted or changed, lines whose
    product was not auto-accepted or was changed, factors that were missing or changed."""
    facts: list[LearnedFact] = []
    if before.supplier.id != review.supplier_id or not before.supplier.auto_accepted:
        fact = supplier_alias_fact(printed_name=review.printed_supplier, supplier_id=review.supplier_id, at=at)
        facts += [fact] if fact else []
    by_no = {lm.line_no: lm for lm in before.lines}
    for fix in review.lines:
        product, factor = _line_taught(by_no.get(fix.line.line_no), fix)
        if product or factor:
            new = facts_from_line(supplier_id=review.supplier_id, line=fix.line, product_id=fix.product_id,
                                  factor=fix.factor if factor else None, at=at)
            facts += new if product else [f for f in new if f.kind == LearnedKind.UNIT_FACTOR]
    return facts


@dataclass(frozen=True, slots=True)
class LayoutHints:
    """How a supplier prints: "" / () where not learned."""

    po_label: str = ""
    date_order: str = ""
    columns: tuple[str, ...] = ()


def _po_label(po_number: str, text_lines: Sequence[str]) -> str:
    for text in text_lines:
        at = text.find(po_number)
        if at > 0:
            label = re.sub(r"[\s:：#№.]+$", "", text[:at]).strip()
            return label[-20:] if label else ""
    return ""


def _date_order(raw: str, value: date) -> str:
    numbers = [int(n) for n in re.findall(r"\d+", raw)]
    if len(numbers) < 3 or len(str(numbers[0])) == 4:
        return "ymd" if numbers else ""
    if numbers[0] == value.day and numbers[1] == value.month:
        return "dmy"
    return "mdy" if numbers[0] == value.month and numbers[1] == value.day else ""


def _columns(corrected: Extraction) -> tuple[str, ...]:
    for line in corrected.lines:
        placed = [(f.bbox.x0, name) for name, f in line.fields.items() if f.bbox is not None]
        if len(placed) >= 2:
            return tuple(name for _, name in sorted(placed))
    return ()


def layout_hints_from(*, supplier_id: str, corrected: Extraction, text_lines: Sequence[str],
                      at: datetime) -> list[LearnedFact]:
    """Layout hints from a corrected document and its printed text lines (see the module docstring)."""
    hints: dict[str, str] = {}
    po = corrected.fields.get("po_number")
    if po is not None and isinstance(po.value, str) and po.value:
        hints["po_label"] = _po_label(po.value, text_lines)
    when = corrected.fields.get("document_date")
    if when is not None and isinstance(when.value, date):
        hints["date_order"] = _date_order(when.raw, when.value)
    hints["columns"] = ",".join(_columns(corrected))
    return [LearnedFact(LearnedKind.LAYOUT_HINT, supplier_id, key, payload={"value": value}, created_at=at)
            for key, value in hints.items() if value]


def layout_hints(master: MasterData, supplier_id: str) -> LayoutHints:
    """The latest layout hints learned for a supplier."""
    found = master.learned.hints(supplier_id)
    columns = tuple(c for c in found.get("columns", "").split(",") if c)
    return LayoutHints(found.get("po_label", ""), found.get("date_order", ""), columns)


# -- layout rules: where a supplier prints each value (extractors.learned_layout) ----------------------------

def layout_rule_fact(*, supplier_id: str, document_kind: str, rule: Rule, value: str, document_id: str,
                     at: datetime) -> LearnedFact:
    """The fact that keeps `rule` for this supplier and kind of document (key "<kind>|<field>"; a newer one for the
    same key supersedes it, so the later teaching wins and both stay in the history)."""
    return LearnedFact(LearnedKind.LAYOUT_RULE, supplier_id, f"{document_kind}|{rule.field}",
                       payload={"rule": rule.to_json(), "field": rule.field, "value": value,
                                "document_id": document_id, "anchor": rule.anchor, "side": rule.side},
                       created_at=at)


def layout_rules(master: MasterData, supplier_id: str, document_kind: str) -> list[AppliedRule]:
    """The layout rules in force for a supplier and kind of document; a rule of a supplier no longer in the master,
    or one that does not parse, is left out and logged."""
    if not supplier_id:
        return []
    out = []
    for (kind, supplier, key), fact in master.learned.latest.items():
        if kind != LearnedKind.LAYOUT_RULE or supplier != supplier_id or not key.startswith(f"{document_kind}|"):
            continue
        if master.supplier(supplier_id) is None:
            log.warning("layout rule %s is for supplier %s, which is not in the master; ignored", fact.id, supplier_id)
            continue
        try:
            out.append(AppliedRule(fact.id, Rule.from_json(fact.payload.get("rule", ""))))
        except (ValueError, TypeError, KeyError):
            log.warning("layout rule %s does not parse; ignored", fact.id)
    return sorted(out, key=lambda a: a.rule.field)


def recognise_supplier(master: MasterData, layout: Layout, document_kind: str) -> str:
    """The supplier whose own particulars, as a reviewer taught them (its name, tax id, bank account, ...), are
    printed where they were taught on this document: the learned fingerprint of its form, for a document whose
    supplier the matcher did not find.  "" when none, or when more than one supplier fits."""
    found: dict[str, int] = {}
    for (kind, supplier, key), fact in master.learned.latest.items():
        if kind != LearnedKind.LAYOUT_RULE or not supplier or master.supplier(supplier) is None:
            continue
        kind_of, _, name = key.partition("|")
        if kind_of != document_kind or name not in CONSTANT_FIELDS:
            continue
        try:
            rule = Rule.from_json(fact.payload.get("rule", ""))
        except (ValueError, TypeError, KeyError):
            continue
        if rule.printed and len(rule.constant) >= 6 and find(layout, rule) is not None:
            found[supplier] = found.get(supplier, 0) + 1
    if not found:
        return ""
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    return ranked[0][0] if len(ranked) == 1 or ranked[0][1] > ranked[1][1] else ""
