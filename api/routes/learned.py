"""/api/v1/learned: what the matcher and the readers learned from reviewers' corrections (supplier and product
aliases, unit factors, layout hints, layout rules), listed and forgotten by an admin, as `inbound learned` and the
admin page do.  Facts are never removed: forgetting one takes it out of force and keeps it as history."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.deps import Admin, PageDep, ServicesDep, SessionDep
from api.problems import Problem
from models.db import transaction
from models.errors import NotFound
from models.learned import KINDS, Fact, current_facts, forget
from models.tables import LearnedFact

router = APIRouter(prefix="/api/v1/learned", tags=["learning"])


def fact_json(f: Fact, *, superseded_at=None) -> dict:
    return {"id": f.id, "kind": f.kind, "supplier_id": f.supplier_id, "key": f.key, "target_id": f.target_id,
            "factor": None if f.factor is None else format(f.factor, "f"), "payload": f.payload,
            "created_at": f.created_at.isoformat(), "created_by": f.created_by,
            "superseded_at": superseded_at.isoformat() if superseded_at else None}


@router.get("")
def list_facts(session: SessionDep, user: Admin, paging: PageDep, kind: str | None = None,
               supplier_id: int | None = None, history: bool = False):
    """The facts in force, oldest first; `history=true` lists the superseded and forgotten ones too."""
    if kind is not None and kind not in KINDS:
        raise Problem(422, f"kind must be one of {', '.join(KINDS)}.", code="invalid_request")
    limit, offset = paging
    if not history:
        facts = current_facts(session, kind=kind, supplier_id=supplier_id)
        return {"items": [fact_json(f) for f in facts[offset:offset + limit]], "total": len(facts)}
    query = select(LearnedFact).order_by(LearnedFact.id)
    if kind is not None:
        query = query.where(LearnedFact.kind == kind)
    if supplier_id is not None:
        query = query.where(LearnedFact.supplier_id == supplier_id)
    rows = list(session.scalars(query))
    items = [fact_json(Fact(r.id, r.kind, r.supplier_id, r.key, r.target_id, r.factor, dict(r.payload or {}),
                            r.created_at, r.created_by), superseded_at=r.superseded_at)
             for r in rows[offset:offset + limit]]
    return {"items": items, "total": len(rows)}


@router.delete("/{fact_id}", status_code=204)
def forget_fact(fact_id: int, services: ServicesDep, user: Admin):
    """Take a fact out of force (it stays in the history): the next documents are read and matched without it."""
    try:
        with transaction(services.factory) as session:
            forget(session, fact_id)
    except NotFound as exc:
        raise Problem(404, str(exc), code="not_found") from exc
    return Response(status_code=204)
