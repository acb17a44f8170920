"""Line -> product: exact keys first, then the learned alias, then the ranking; each result says its method.

Order (the first that finds a product wins):
  supplier_sku  the supplier's code, or its own item name, via the supplier-product link (a bare name
                without the sizes its product has is chosen but left for review);
  barcode       a GTIN with a valid check digit (from the barcode column, or a GTIN printed in the code/name);
  code          our own SKU printed on the line (OCR confusions folded);
  alias         a reviewer's earlier correction for this supplier and this printed code or text, or a text
                that differs from a taught one by an OCR slip or two (same sizes); a code or text taught as
                more than one product is left to the ranking;
  exact_name /  the candidates ranked as a clerk would (`matching.ranking`): the printed name the product's
  fuzzy         own word for word before a longer variant (青椒 printed is not 青椒(进口)), sizes agreeing,
                a printed unit the product can express, the supplier's own history; `exact_name` when the
                winner is named exactly, else `fuzzy`.
Exact keys score 1.0 (alias 0.99), are auto-accepted unless their product cannot express the printed unit,
and still carry the ranked runners-up as candidates.  A ranked match is auto-accepted only when its score
reaches `options.auto_accept`, it leads the runner-up by `options.auto_margin` (both calibrated on the
matching benchmark), nothing is left open between the first two (a size the line does not name, the same
printed name) and the product's units can express the printed unit; otherwise it goes to review with its
candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from rapidfuzz import fuzz, process

from matching.master import LearnedKind, MasterData
from matching.normalize import fold_code, gtin_key, normalize_name
from matching.ranking import Query, rank_products, read_query
from matching.result import Candidate, Match, MatchMethod, MatchOptions
from matching.specs import read_specs
from matching.units import unit_fit

__all__ = ["PrintedLine", "alias_keys", "match_product"]

_GTIN_IN_TEXT = re.compile(r"(?<!\d)(\d{8}|\d{12,14})(?!\d)")


@dataclass(frozen=True, slots=True)
class PrintedLine:
    """One line as printed; "" or None where the document has nothing."""

    line_no: int
    description: str = ""
    spec: str = ""
    supplier_sku: str = ""
    barcode: str = ""
    unit: str = ""
    quantity: Decimal | None = None
    unit_price: Decimal | None = None

    @property
    def text(self) -> str:
        return f"{self.description} {self.spec}".strip()


def alias_keys(line: PrintedLine) -> list[str]:
    """The keys a learned product alias is stored under for this line: its code, then its text."""
    keys = []
    if fold_code(line.supplier_sku):
        keys.append("sku:" + fold_code(line.supplier_sku))
    if normalize_name(line.text):
        keys.append("text:" + normalize_name(line.text))
    return keys


def _exact(master: MasterData, pos: int, method: MatchMethod, score: float = 1.0) -> Match:
    p = master.products[pos]
    return Match(p.id, p.label, score, method, (Candidate(p.id, p.label, score),), auto_accepted=True)


def _by_supplier_link(line: PrintedLine, supplier_id: str, master: MasterData) -> Match | None:
    """By the supplier's code; else by its own item name, trusted blindly only when the name carries the
    sizes the product has (a bare "Hex Nut" link may be one of several sizes the supplier sells)."""
    if not supplier_id:
        return None
    sp = master.sp_by_code.get((supplier_id, fold_code(line.supplier_sku))) if line.supplier_sku else None
    if sp is not None and sp.product_id in master.product_pos:
        return _exact(master, master.product_pos[sp.product_id], MatchMethod.SUPPLIER_SKU)
    sp = master.sp_by_name.get((supplier_id, normalize_name(line.text))) if line.description else None
    if sp is None or sp.product_id not in master.product_pos:
        return None
    pos = master.product_pos[sp.product_id]
    match = _exact(master, pos, MatchMethod.SUPPLIER_SKU)
    if master.product_specs[pos] and not read_specs(line.text):
        return replace(match, score=0.9, auto_accepted=False)
    return match


def _by_barcode(line: PrintedLine, master: MasterData) -> int | None:
    for text in (line.barcode, line.supplier_sku):
        key = gtin_key(text) if text else None
        if key and key in master.by_barcode:
            return master.by_barcode[key]
    for digits in _GTIN_IN_TEXT.findall(line.text):
        key = gtin_key(digits)
        if key and key in master.by_barcode:
            return master.by_barcode[key]
    return None


def _by_code(line: PrintedLine, master: MasterData) -> int | None:
    codes = [line.supplier_sku] + [t for t in line.description.split() if len(t) >= 5 and any(c.isdigit() for c in t)]
    for code in codes:
        key = fold_code(code)
        if key and key in master.by_sku:
            return master.by_sku[key]
    return None


def _by_alias(line: PrintedLine, supplier_id: str, master: MasterData) -> Match | None:
    """A learned alias under the line's code or text; else one whose text differs from this line's only by
    an OCR slip or two (same sizes, clearly closer than any other alias of this supplier).  A key taught as
    more than one product is no key (the ranking decides, with the supplier's history)."""
    for key in alias_keys(line):
        fact = master.learned.get(LearnedKind.PRODUCT_ALIAS, supplier_id, key)
        if (fact is not None and fact.target_id in master.product_pos
                and (supplier_id, key) not in master.learned.contested):
            return _exact(master, master.product_pos[fact.target_id], MatchMethod.ALIAS, 0.99)
    known = [(t, f) for t, f in master.learned.texts.get(supplier_id, ())
             if (supplier_id, "text:" + t) not in master.learned.contested]
    text = normalize_name(line.text)
    if not known or not text:
        return None
    hits = process.extract(text, [t for t, _ in known], scorer=fuzz.ratio, limit=2, score_cutoff=85)
    if not hits or (len(hits) > 1 and hits[1][1] > hits[0][1] - 5):
        return None
    printed, score, i = hits[0]
    fact = known[i][1]
    if fact.target_id not in master.product_pos or read_specs(fact.payload.get("printed", printed)) != read_specs(
            line.text):
        return None
    match = _exact(master, master.product_pos[fact.target_id], MatchMethod.ALIAS, round(score / 100 * 0.99, 4))
    return match if score >= 90 else replace(match, auto_accepted=False)


def _with_alternatives(match: Match, q: Query, master: MasterData, options: MatchOptions) -> Match:
    """An exact match keeps its winner first and gains the ranked runners-up, so a reviewer who disagrees
    with a key (a supplier re-using a code, a mislabelled barcode) still has candidates.  It is not taken
    without review when its product cannot express the printed unit (a unit_unknown line needs a person)."""
    product = master.product(match.id or "")
    if match.auto_accepted and product is not None and unit_fit(q.unit, product, q.supplier_id, master) < 0:
        match = replace(match, auto_accepted=False)
    if not q.text:
        return match
    others = [c for c in rank_products(q, master, options).candidates if c.id != match.id]
    return replace(match, candidates=(match.candidates + tuple(others))[: options.top_k])


def _exact_key(line: PrintedLine, supplier_id: str, master: MasterData) -> Match | None:
    if (linked := _by_supplier_link(line, supplier_id, master)) is not None:
        return linked
    if (pos := _by_barcode(line, master)) is not None:
        return _exact(master, pos, MatchMethod.BARCODE)
    if (pos := _by_code(line, master)) is not None:
        return _exact(master, pos, MatchMethod.CODE)
    return _by_alias(line, supplier_id, master)


def search_products(text: str, master: MasterData, *, limit: int = 12,
                    options: MatchOptions = MatchOptions()) -> list[Candidate]:
    """Products for a person's search box, best first: the product whose SKU or barcode was typed, then the
    fuzzy ranking over names, aliases and specs (Chinese or not, typos forgiven), weak ones included."""
    line = PrintedLine(0, description=text, supplier_sku=text.strip(), barcode=text.strip())
    found: list[Candidate] = []
    for pos in (_by_code(line, master), _by_barcode(line, master)):
        if pos is not None and all(c.id != master.products[pos].id for c in found):
            found.append(Candidate(master.products[pos].id, master.products[pos].label, 1.0))
    q = read_query(description=text, spec="", unit="", supplier_id="", master=master)
    ranked = rank_products(q, master, replace(options, top_k=limit, min_score=0.0)).candidates
    return (found + [c for c in ranked if all(c.id != f.id for f in found)])[:limit]


def match_product(line: PrintedLine, supplier_id: str, master: MasterData,
                  options: MatchOptions = MatchOptions()) -> Match:
    """The product for one printed line (see the module docstring); `supplier_id` "" when unknown."""
    q = read_query(description=line.description, spec=line.spec, unit=line.unit, supplier_id=supplier_id,
                   master=master)
    found = _exact_key(line, supplier_id, master)
    if found is None:
        return rank_products(q, master, options)
    return _with_alternatives(found, q, master, options)
