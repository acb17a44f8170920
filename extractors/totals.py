"""Choose subtotal, tax and total by arithmetic, not by label alone.

A document prints many amounts near words like "Total" or "MwSt" (tax breakdown rows, per-rate bases,
amounts due after prepayment).  Among the labelled candidates, the triple with subtotal + tax = total
that has the highest combined label score wins; fields outside a consistent triple keep their best
label candidate.  Consistency raises confidence.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from itertools import product
from typing import Callable

from extractors.header import Candidate

_TOLERANCE = Decimal("0.011")


def _amount_candidates(candidates: list[Candidate], fields: tuple[str, ...]) -> list[Candidate]:
    return [c for c in candidates if c.field in fields and isinstance(c.value, Decimal)]


def choose_totals(candidates: list[Candidate], best: dict[str, Candidate],
                  all_amounts: Callable[[], list[Candidate]] = list) -> dict[str, Candidate]:
    """`best` with subtotal, tax_amount and total_amount replaced by the best consistent triple; with no
    labelled triple, an unlabelled printed amount equal to subtotal + tax becomes the total."""
    subs = _amount_candidates(candidates, ("subtotal", "line_total"))
    taxes = _amount_candidates(candidates, ("tax_amount",))
    totals = _amount_candidates(candidates, ("total_amount", "amount_due"))
    chosen: tuple[Candidate, Candidate, Candidate] | None = None
    chosen_score = -1.0
    for s, t, g in product(subs[:40], taxes[:40], totals[:40]):
        if abs(s.value + t.value - g.value) > _TOLERANCE or g.value == 0:  # type: ignore[operator]
            continue
        score = s.score + t.score + g.score + (0.3 if s.field == "subtotal" else 0.0) \
            + (0.3 if g.field == "total_amount" else 0.0) + 0.001 * g.order[1] / 1000
        if score > chosen_score:
            chosen, chosen_score = (s, t, g), score
    out = dict(best)
    if chosen is None:
        return _total_from_parts(out, all_amounts)
    for name, cand in zip(("subtotal", "tax_amount", "total_amount"), chosen):
        out[name] = replace(cand, field=name, score=min(1.0, max(cand.score, 0.8) + 0.15))
    return out


def _total_from_parts(best: dict[str, Candidate],
                      all_amounts: Callable[[], list[Candidate]]) -> dict[str, Candidate]:
    s, t = best.get("subtotal"), best.get("tax_amount")
    if s is None or t is None or not isinstance(s.value, Decimal) or not isinstance(t.value, Decimal):
        return best
    target = s.value + t.value
    below = [a for a in all_amounts() if abs(a.value - target) <= _TOLERANCE and a.order > t.order]  # type: ignore
    if below and ("total_amount" not in best or best["total_amount"].value != target):
        first = min(below, key=lambda a: a.order)
        best = dict(best)
        best["total_amount"] = replace(first, field="total_amount", score=0.75)
    return best
