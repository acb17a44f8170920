"""/api/v1/models: the learned layout model's versions, promotion (roll back or forward) and retraining now.

Anyone with a key may look; only an admin changes which model the pipeline reads with.  Promotion and retraining
call pipeline.layout_models / pipeline.retrain, as the admin page does.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, Reader, ServicesDep
from api.problems import Problem
from api.schemas import ModelPromote, ModelsOut, PromoteOut, RetrainOut
from pipeline.layout_models import ModelResolver, ModelUnusable, models_overview, promote_version, version_json
from pipeline.retrain import start_retrain

router = APIRouter(prefix="/api/v1/models", tags=["models"])


@router.get("", response_model=ModelsOut)
def list_models(services: ServicesDep, user: Reader):
    """Every version (newest first) with its status, scores and metrics; which one is current; whether the
    shipped model is in use; the model the pipeline reads with now; the retrain's progress and the history."""
    return models_overview(services)


@router.post("/{version}/promote", response_model=PromoteOut)
async def promote(version: int, services: ServicesDep, user: Admin, body: ModelPromote | None = None):
    """Read with this version from now on (the current one is retired): a rollback or a roll forward.  Version 0
    goes back to the shipped model.  A folder that cannot be loaded is refused (409), nothing changes."""
    reason = body.reason if body is not None else None
    try:
        promoted = await run_in_threadpool(promote_version, services, version, by=user.name, reason=reason)
    except ModelUnusable as exc:
        raise Problem(409, exc.message, code=exc.code) from exc
    state = (services.layout or ModelResolver(services.settings, services.factory)).state()
    return {"promoted": None if promoted is None else version_json(promoted), "layout_model": state.to_json()}


@router.post("/retrain", status_code=202, response_model=RetrainOut)
def retrain_now(services: ServicesDep, user: Admin):
    """Start a retrain in the background now, even before INBOUND_RETRAIN_EVERY documents were confirmed; the
    candidate is promoted only if it scores at least as well (see GET /api/v1/models for the outcome)."""
    return {"status": start_retrain(services, who=user.name)}
