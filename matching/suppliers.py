"""Supplier match: tax id exact -> learned alias -> exact name/alias -> fuzzy name, with phone, bank
account and address as tie-breakers.  When nothing is good enough the match has no id and a
`SupplierProposal` pre-filled from the document comes back for a reviewer to create."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from matching.master import LearnedKind, MasterData, Supplier
from matching.normalize import fold_code, normalize_company, normalize_name
from matching.result import Candidate, Match, MatchMethod, MatchOptions, SupplierProposal

__all__ = ["PrintedSupplier", "match_supplier"]


@dataclass(frozen=True, slots=True)
class PrintedSupplier:
    """The supplier as the document prints it; "" where a value is missing."""

    name: str = ""
    tax_id: str = ""
    address: str = ""
    phone: str = ""
    bank_account: str = ""


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def _exact(s: Supplier, method: MatchMethod, score: float, others: list[Candidate]) -> Match:
    """The winner first, then the fuzzy runners-up (never only the winner)."""
    rest = tuple(c for c in others if c.id != s.id)
    return Match(s.id, s.name, score, method, (Candidate(s.id, s.name, score), *rest), auto_accepted=True)


def _tie_break(printed: PrintedSupplier, s: Supplier) -> float:
    """A bonus for contact details that agree (each is strong evidence, none alone is proof)."""
    bonus = 0.0
    phone, bank = _digits(printed.phone), _digits(printed.bank_account)
    if len(phone) >= 7 and phone[-8:] == _digits(s.phone)[-8:]:
        bonus += 0.08
    if len(bank) >= 8 and bank == _digits(s.bank_account):
        bonus += 0.12
    if printed.address and s.address and fuzz.token_set_ratio(printed.address.lower(), s.address.lower()) >= 85:
        bonus += 0.04
    return bonus


def _fuzzy(printed: PrintedSupplier, master: MasterData, options: MatchOptions) -> list[Candidate]:
    key = normalize_company(printed.name)
    if not key or not master.suppliers:
        return []
    # WRatio alone forgives a short name inside a long one (华强 in 深圳市华强电子: 90); averaging with the
    # plain ratio keeps that a candidate but not a sure thing.
    scores = (process.cdist([key], master.supplier_norm, scorer=fuzz.WRatio)[0]
              + process.cdist([key], master.supplier_norm, scorer=fuzz.ratio)[0]) / 200
    out = []
    full = normalize_name(printed.name)
    for i in np.argsort(-scores)[: max(10, options.top_k)]:
        s = master.suppliers[int(i)]
        legal_form = 0.03 * fuzz.ratio(full, normalize_name(s.name)) / 100   # B.V. vs S.A.S. of one name
        out.append(Candidate(s.id, s.name, min(1.0, float(scores[i]) * 0.97 + legal_form + _tie_break(printed, s))))
    return sorted(out, key=lambda c: -c.score)[: options.top_k]


def _proposal(printed: PrintedSupplier) -> SupplierProposal:
    return SupplierProposal(name=printed.name.strip(), tax_id=printed.tax_id.strip(), address=printed.address,
                            phone=printed.phone, bank_account=printed.bank_account)


def match_supplier(printed: PrintedSupplier, master: MasterData,
                   options: MatchOptions = MatchOptions()) -> tuple[Match, SupplierProposal | None]:
    """The supplier for the printed party, and a proposal for a new one when none is good enough."""
    cands = _fuzzy(printed, master, options)
    others = cands[: options.top_k - 1]
    tax = fold_code(printed.tax_id)
    if tax and tax in master.supplier_by_tax:
        return _exact(master.suppliers[master.supplier_by_tax[tax]], MatchMethod.TAX_ID, 1.0, others), None
    key = normalize_company(printed.name)
    fact = master.learned.get(LearnedKind.SUPPLIER_ALIAS, "", key) if key else None
    if fact is not None and (s := master.supplier(fact.target_id)) is not None:
        return _exact(s, MatchMethod.ALIAS, 0.99, others), None
    for name_key in ("=" + normalize_name(printed.name), key):
        if name_key in master.supplier_by_name:
            return _exact(master.suppliers[master.supplier_by_name[name_key]], MatchMethod.NAME, 0.98, others), None
    if not cands or cands[0].score < options.supplier_min:
        return Match(None, "", cands[0].score if cands else 0.0, MatchMethod.NONE, tuple(cands)), _proposal(printed)
    best = cands[0]
    margin = best.score - (cands[1].score if len(cands) > 1 else 0.0)
    auto = best.score >= options.supplier_accept and margin >= 0.05
    return Match(best.id, best.name, best.score, MatchMethod.FUZZY, tuple(cands), auto_accepted=auto), None
