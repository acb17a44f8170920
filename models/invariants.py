"""The ledger's invariants: one small function per rule, all in `CHECKS`, each returning the problems it found.

Tests run them after every scenario; `check_ledger(session)` runs them all (an `inbound check` will too).
Sums are taken in Python so that they are exact on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.tables import Posting, Product, ProductCost, StockBalance, StockMove

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Problem:
    check: str       # the check's name
    message: str


def balances_equal_moves(session: Session) -> list[Problem]:
    """Every (product, location, batch) balance equals the sum of its moves, quantity and value."""
    sums: dict[tuple, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for pid, loc, batch, qty, value in session.execute(select(StockMove.product_id, StockMove.location_id,
                                                              StockMove.batch, StockMove.quantity, StockMove.value)):
        sums[(pid, loc, batch)][0] += qty
        sums[(pid, loc, batch)][1] += value
    cached = {(b.product_id, b.location_id, b.batch): [b.quantity, b.value]
              for b in session.scalars(select(StockBalance))}
    problems = []
    for key in set(sums) | set(cached):
        moved, kept = sums.get(key, [ZERO, ZERO]), cached.get(key, [ZERO, ZERO])
        if moved != kept:
            problems.append(Problem("balances_equal_moves", f"{key}: moves {moved} != balance {kept}"))
    return problems


def costs_equal_moves(session: Session) -> list[Problem]:
    """Each product's cached quantity and value equal the sums of its moves."""
    sums: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for pid, qty, value in session.execute(select(StockMove.product_id, StockMove.quantity, StockMove.value)):
        sums[pid][0] += qty
        sums[pid][1] += value
    problems = []
    costs = {c.product_id: c for c in session.scalars(select(ProductCost))}
    for pid in set(sums) | set(costs):
        kept = [costs[pid].quantity, costs[pid].value] if pid in costs else [ZERO, ZERO]
        if sums.get(pid, [ZERO, ZERO]) != kept:
            problems.append(Problem("costs_equal_moves", f"product {pid}: moves {sums.get(pid)} != cost row {kept}"))
    return problems


def no_negative_stock(session: Session) -> list[Problem]:
    """No balance below zero unless its product allows negative stock."""
    rows = session.execute(select(StockBalance, Product.sku, Product.allow_negative)
                           .join(Product, Product.id == StockBalance.product_id)).all()
    return [Problem("no_negative_stock", f"{sku} at location {b.location_id}: {b.quantity}")
            for b, sku, allowed in rows if b.quantity < 0 and not allowed]


def posted_once(session: Session) -> list[Problem]:
    """At most one receipt and one reversal per document (the UNIQUE constraint's promise, checked)."""
    rows = session.execute(select(Posting.document_id, Posting.kind, func.count())
                           .where(Posting.document_id.is_not(None))
                           .group_by(Posting.document_id, Posting.kind).having(func.count() > 1)).all()
    return [Problem("posted_once", f"document {d}: {n} {kind} postings") for d, kind, n in rows]


def reversals_mirror_receipts(session: Session) -> list[Problem]:
    """A reversal has one move per receipt move with the opposite quantity and value, same place and cost."""
    problems = []
    moves = {m.id: m for m in session.scalars(select(StockMove))}
    reversing = [m for m in moves.values() if m.reverses_move_id is not None]
    for move in reversing:
        original = moves.get(move.reverses_move_id)
        if original is None or (move.product_id, move.location_id, move.batch, move.unit_cost) != (
                original.product_id, original.location_id, original.batch, original.unit_cost) \
                or move.quantity != -original.quantity or move.value != -original.value:
            problems.append(Problem("reversals_mirror_receipts", f"move {move.id} does not mirror {move.reverses_move_id}"))
    for posting in session.scalars(select(Posting).where(Posting.kind == "reversal")):
        mine = [m for m in reversing if m.posting_id == posting.id]
        theirs = [m for m in moves.values() if m.posting_id == posting.reverses_id]
        if len(mine) != len(theirs):
            problems.append(Problem("reversals_mirror_receipts",
                                    f"posting {posting.id}: {len(mine)} moves reverse {len(theirs)}"))
    return problems


CHECKS: list[Callable[[Session], list[Problem]]] = [
    balances_equal_moves, costs_equal_moves, no_negative_stock, posted_once, reversals_mirror_receipts,
]


def check_ledger(session: Session) -> list[Problem]:
    """Run every check; an empty list means the ledger is consistent."""
    return [problem for check in CHECKS for problem in check(session)]
