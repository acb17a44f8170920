"""The matcher's memory (issue 6): facts learned from confirmed corrections, append-only, latest wins.

A fact is (kind, supplier, key) -> target/factor/payload.  Learning a fact for a (kind, supplier, key) that
already has one marks the old one superseded (superseded_at, superseded_by) and keeps it as history.
`forget` supersedes without a successor (an admin's delete); nothing is ever removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import NotFound
from models.tables import LearnedFact
from models.types import utcnow

KINDS = ("supplier_alias", "product_alias", "unit_factor", "layout_hint", "layout_rule")


@dataclass(frozen=True, slots=True)
class Fact:
    id: int
    kind: str
    supplier_id: int | None
    key: str
    target_id: int | None
    factor: Decimal | None
    payload: dict
    created_at: datetime
    created_by: str


def _fact(row: LearnedFact) -> Fact:
    return Fact(row.id, row.kind, row.supplier_id, row.key, row.target_id, row.factor, dict(row.payload or {}),
                row.created_at, row.created_by)


def learn(session: Session, *, kind: str, key: str, created_by: str, supplier_id: int | None = None,
          target_id: int | None = None, factor: Decimal | None = None, payload: dict | None = None) -> Fact:
    """Record a fact; the current one for the same (kind, supplier, key), if any, is superseded by it."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    row = LearnedFact(kind=kind, supplier_id=supplier_id, key=key, target_id=target_id, factor=factor,
                      payload=payload or {}, created_at=utcnow(), created_by=created_by)
    session.add(row)
    session.flush()
    for old in _current_rows(session, kind=kind, supplier_id=supplier_id, key=key):
        if old.id != row.id:
            old.superseded_at, old.superseded_by = row.created_at, row.id
    session.flush()
    return _fact(row)


def current_facts(session: Session, *, kind: str | None = None, supplier_id: int | None = None) -> list[Fact]:
    """The facts in force (not superseded), oldest first."""
    query = select(LearnedFact).where(LearnedFact.superseded_at.is_(None)).order_by(LearnedFact.id)
    if kind is not None:
        query = query.where(LearnedFact.kind == kind)
    if supplier_id is not None:
        query = query.where(LearnedFact.supplier_id == supplier_id)
    return [_fact(r) for r in session.scalars(query)]


def forget(session: Session, fact_id: int) -> None:
    """Take a fact out of force (kept as history)."""
    row = session.get(LearnedFact, fact_id)
    if row is None:
        raise NotFound(f"No learned fact {fact_id}.")
    if row.superseded_at is None:
        row.superseded_at = utcnow()
        session.flush()


def _current_rows(session: Session, *, kind: str, supplier_id: int | None, key: str) -> list[LearnedFact]:
    supplier = LearnedFact.supplier_id.is_(None) if supplier_id is None else LearnedFact.supplier_id == supplier_id
    return list(session.scalars(select(LearnedFact).where(LearnedFact.kind == kind, supplier, LearnedFact.key == key,
                                                          LearnedFact.superseded_at.is_(None))))
