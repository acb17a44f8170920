"""/api/v1 access and integration: login, API keys, users, webhooks and their delivery log."""

from __future__ import annotations

import math
import secrets
from datetime import timezone

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from api.deps import Admin, CurrentUser, PageDep, ServicesDep, SessionDep, WebhookManager
from api.problems import Problem, problem
from api.schemas import ApiKeyIn, Login, UserIn, WebhookIn
from models.auth import (ROLES, ApiKey, Throttle, User, check_password, clear_login_failures, create_api_key,
                         create_user, login_key, login_refused_for, record_login_failure, revoke_api_key)
from models.db import transaction
from models.types import utcnow
from models.webhooks import EVENTS, WebhookDelivery, WebhookSubscription, resend_delivery
from pipeline.webhooks import UrlRefused, check_url

router = APIRouter(prefix="/api/v1", tags=["access"])


@router.post("/auth/login")
def login(body: Login, services: ServicesDep, request: Request):
    """A user's name and password -> a new API key with the user's role, expiring after INBOUND_LOGIN_KEY_HOURS
    (revoke it to log out).  Too many wrong passwords for the name or from the address: 429 with Retry-After,
    even for the right password, until the window has passed."""
    settings = services.settings
    address = request.client.host if request.client else "unknown"
    with transaction(services.factory) as session:
        wait = login_refused_for(session, Throttle.from_settings(settings), username=body.username, address=address)
    if wait is not None:
        seconds = math.ceil(wait)
        response = problem(429, f"Too many failed log-ins; try again in {seconds} s.", code="too_many_attempts",
                           retry_after_s=seconds)
        response.headers["Retry-After"] = str(seconds)
        return response
    with transaction(services.factory) as session:
        user = check_password(session, username=body.username, password=body.password)
        if user is None:
            record_login_failure(session, username=body.username, address=address)
        else:
            clear_login_failures(session, body.username)
            row, key = login_key(session, user, hours=settings.login_key_hours)
            answer = {"token": key, "key_id": row.id, "role": user.role, "username": user.username,
                      "expires_at": row.expires_at.isoformat()}
    if user is None:
        raise Problem(401, "Wrong user name or password.", code="not_authenticated")
    return answer


@router.get("/me")
def me(user: CurrentUser):
    return {"name": user.name, "role": user.role, "key_id": user.key_id, "user_id": user.user_id}


def key_json(k: ApiKey) -> dict:
    return {"id": k.id, "name": k.name, "role": k.role, "hint": k.hint, "user_id": k.user_id,
            "created_at": k.created_at.isoformat(), "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            "expires_at": k.expires_at.isoformat() if k.expires_at else None}


@router.get("/api-keys")
def list_keys(session: SessionDep, user: Admin, paging: PageDep):
    limit, offset = paging
    total = session.scalar(select(func.count()).select_from(ApiKey))
    rows = session.scalars(select(ApiKey).order_by(ApiKey.id).limit(limit).offset(offset))
    return {"items": [key_json(k) for k in rows], "total": total}


@router.post("/api-keys", status_code=201)
def new_key(body: ApiKeyIn, services: ServicesDep, user: Admin):
    """A new key; the key itself is in this answer only (it is stored hashed)."""
    if body.role not in ROLES:
        raise Problem(422, f"role must be one of {', '.join(ROLES)}.", code="invalid_request")
    with transaction(services.factory) as session:
        expires = body.expires_at
        if expires is not None and expires.tzinfo is None:
            raise Problem(422, "expires_at needs a time zone (e.g. 2027-01-31T00:00:00Z).", code="invalid_request")
        row, key = create_api_key(session, name=body.name, role=body.role,
                                  expires_at=expires.astimezone(timezone.utc) if expires else None)
        return {**key_json(row), "key": key}


@router.delete("/api-keys/{key_id}")
def revoke_key(key_id: int, services: ServicesDep, user: Admin):
    with transaction(services.factory) as session:
        return key_json(revoke_api_key(session, key_id))


@router.get("/users")
def list_users(session: SessionDep, user: Admin):
    rows = list(session.scalars(select(User).order_by(User.id)))
    return {"items": [{"id": u.id, "username": u.username, "role": u.role, "active": u.active} for u in rows],
            "total": len(rows)}


@router.post("/users", status_code=201)
def new_user(body: UserIn, services: ServicesDep, user: Admin):
    if body.role not in ROLES:
        raise Problem(422, f"role must be one of {', '.join(ROLES)}.", code="invalid_request")
    with transaction(services.factory) as session:
        if session.scalar(select(User.id).where(User.username == body.username)) is not None:
            raise Problem(409, f"The user {body.username} exists already.", code="conflict")
        row = create_user(session, username=body.username, password=body.password, role=body.role)
        return {"id": row.id, "username": row.username, "role": row.role, "active": row.active}


def webhook_json(s: WebhookSubscription) -> dict:
    return {"id": s.id, "url": s.url, "events": list(s.events), "active": s.active, "allow_private": s.allow_private,
            "created_by": s.created_by, "created_at": s.created_at.isoformat()}


@router.get("/webhooks", tags=["webhooks"])
def list_webhooks(session: SessionDep, user: WebhookManager):
    rows = list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))
    return {"items": [webhook_json(s) for s in rows], "total": len(rows)}


@router.post("/webhooks", status_code=201, tags=["webhooks"])
def subscribe(body: WebhookIn, services: ServicesDep, user: WebhookManager):
    """Subscribe a URL to events; the answer carries the signing secret.  Loopback and private targets need an
    admin and `allow_private: true`."""
    unknown = sorted(set(body.events) - set(EVENTS))
    if unknown or not body.events:
        raise Problem(422, f"events must be some of {', '.join(EVENTS)}; unknown: {', '.join(unknown) or 'none given'}.",
                      code="invalid_request")
    if body.allow_private and user.role != "admin":
        raise Problem(403, "Only an admin may allow loopback or private webhook targets.", code="forbidden")
    try:
        check_url(body.url, allow_private=body.allow_private)
    except UrlRefused as exc:
        raise Problem(422, str(exc), code="url_refused") from exc
    secret = body.secret or secrets.token_urlsafe(32)
    with transaction(services.factory) as session:
        row = WebhookSubscription(url=body.url, events=list(dict.fromkeys(body.events)), secret=secret, active=True,
                                  allow_private=body.allow_private, created_by=user.name, created_at=utcnow())
        session.add(row)
        session.flush()
        return {**webhook_json(row), "secret": secret}


@router.delete("/webhooks/{webhook_id}", tags=["webhooks"])
def unsubscribe(webhook_id: int, services: ServicesDep, user: WebhookManager):
    with transaction(services.factory) as session:
        row = session.get(WebhookSubscription, webhook_id)
        if row is None:
            raise Problem(404, f"No webhook {webhook_id}.", code="not_found")
        row.active = False
        return webhook_json(row)


@router.post("/webhooks/deliveries/{delivery_id}/resend", tags=["webhooks"])
def resend(delivery_id: int, services: ServicesDep, user: WebhookManager):
    """Send a delivery again (a `failed` one: the dead letter after every attempt was spent), from its first attempt."""
    with transaction(services.factory) as session:
        row = resend_delivery(session, delivery_id)
        if row is None:
            raise Problem(404, f"No webhook delivery {delivery_id}.", code="not_found")
        answer = {"id": row.id, "status": row.status, "attempts": row.attempts}
    services.wake_webhooks()
    return answer


@router.get("/webhooks/{webhook_id}/deliveries", tags=["webhooks"])
def deliveries(webhook_id: int, session: SessionDep, user: WebhookManager, paging: PageDep):
    limit, offset = paging
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == webhook_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset))
    return {"items": [{"id": d.id, "event": d.event, "status": d.status, "attempts": d.attempts,
                       "last_status_code": d.last_status_code, "last_error": d.last_error,
                       "created_at": d.created_at.isoformat(),
                       "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
                       "payload": d.payload} for d in rows], "total": total}
