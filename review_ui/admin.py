"""The review screen's admin pages (issue 8): users, API keys, webhooks, learned facts and the layout model's
versions (issue 15), under /review/admin.

Only an admin may open them: the session's role must be admin, and so must the user's row now (a session
cookie keeps the role it was made with until it expires, so a demoted or disabled admin is caught here).
Anyone else gets a small 403 page; nobody signed in goes to the login page.  Every POST carries the session's
CSRF token (routes._signed_in_form).

Writes call the model functions the REST API calls (api/routes/admin.py): create_user, create_api_key,
revoke_api_key, check_url for webhook targets, models.learned.forget, pipeline.layout_models.promote_version and
pipeline.retrain.start_retrain; a webhook row names its creator as the REST route does.  Each admin action is also
logged (logger inbound.review.admin) with who did it.  A new key's secret (and a new webhook's signing secret) is
shown once, on the page that answers the POST, never stored.
"""

from __future__ import annotations

import json
import logging
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.auth import ROLES, ApiKey, User, create_api_key, create_user, revoke_api_key, set_password
from models.db import transaction
from models.errors import NotFound, StateError
from models.layout_models import SHIPPED
from models.learned import KINDS, current_facts, forget
from models.tables import Product, Supplier
from models.types import utcnow
from models.webhooks import EVENTS, WebhookDelivery, WebhookSubscription, resend_delivery
from pipeline.layout_models import ModelUnusable, models_overview, promote_version
from pipeline.retrain import start_retrain
from pipeline.webhooks import UrlRefused, check_url
from review_ui.admin_i18n import (DELIVERY_STATES, EVENT_NAMES, KIND_NAMES, MODEL_ACTIONS, MODEL_STATES, SCORE_NAMES,
                                   admin_texts)
from review_ui.routes import render_page, signed_in_form, to_login, templates
from review_ui.session import UI_ROLES, UiUser, read_session

log = logging.getLogger("inbound.review.admin")
router = APIRouter(include_in_schema=False)
templates.env.globals["admin_texts"] = admin_texts     # base.html's nav link
USER_ROLES = UI_ROLES          # people; integration accounts get API keys, not a log-in
MIN_PASSWORD = 8               # as api.schemas.UserIn
DELIVERIES_SHOWN = 20
FACTS_SHOWN = 500


# -- who may come in --------------------------------------------------------------------------------------

def _admin(request: Request) -> tuple[UiUser | None, Response | None]:
    """The admin looking at a page, or the answer that turns the visitor away."""
    user = read_session(request)
    if user is None:
        return None, to_login()
    if user.role != "admin":                  # read_session gave the role as it is now
        return None, render_page(request, "admin_forbidden.html", user, status_code=403, a=admin_texts(user.lang))
    return user, None


async def _admin_form(request: Request) -> tuple[UiUser | None, dict, Response | None]:
    """The admin and the posted form (CSRF checked), or the answer that refuses it."""
    user, form, refused = await signed_in_form(request)
    if refused is not None:
        return None, {}, refused
    if user.role != "admin":
        return None, {}, render_page(request, "admin_forbidden.html", user, status_code=403, a=admin_texts(user.lang))
    return user, form, None


def _page(request: Request, name: str, user: UiUser, section: str, **context) -> Response:
    return render_page(request, name, user, a=admin_texts(user.lang), section=section, **context)


def _back(path: str, message: str = "", **query: str) -> RedirectResponse:
    """303 to an admin page with its filters and the message to show."""
    params = {k: v for k, v in {**query, "m": message}.items() if v}
    return RedirectResponse(f"{path}?{urlencode(params)}" if params else path, status_code=303)


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _text(form: dict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# -- users ------------------------------------------------------------------------------------------------

@router.get("/review/admin")
def admin_home() -> RedirectResponse:
    return RedirectResponse("/review/admin/users", status_code=303)


@router.get("/review/admin/users")
def users_page(request: Request):
    user, refused = _admin(request)
    if refused is not None:
        return refused
    with request.app.state.services.factory() as session:
        rows = [{"id": u.id, "username": u.username, "role": u.role, "active": u.active, "created": _when(u.created_at)}
                for u in session.scalars(select(User).order_by(User.id))]
    return _page(request, "admin_users.html", user, "users", users=rows, roles=USER_ROLES)


@router.post("/review/admin/users")
async def user_create(request: Request):
    user, form, refused = await _admin_form(request)
    if refused is not None:
        return refused
    a = admin_texts(user.lang)
    username, password, role = _text(form, "username"), str(form.get("password") or ""), _text(form, "role")
    if not username:
        return _back("/review/admin/users", a["name_needed"])
    if role not in USER_ROLES:
        return _back("/review/admin/users", a["bad_role"])
    if len(password) < MIN_PASSWORD:
        return _back("/review/admin/users", a["password_short"])

    def create() -> bool:
        with transaction(request.app.state.services.factory) as session:
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                return False
            create_user(session, username=username, password=password, role=role)
            return True
    if not await run_in_threadpool(create):
        return _back("/review/admin/users", a["user_exists"])
    log.info("%s created user %s (%s)", user.name, username, role)
    return _back("/review/admin/users", a["user_created"])


@router.post("/review/admin/users/{user_id}/role")
async def user_role(request: Request, user_id: int):
    user, form, refused = await _admin_form(request)
    if refused is not None:
        return refused
    a, role = admin_texts(user.lang), _text(form, "role")
    if role not in USER_ROLES:
        return _back("/review/admin/users", a["bad_role"])
    if user_id == user.user_id:
        return _back("/review/admin/users", a["not_yourself"])

    def change(row: User, session: Session) -> None:
        row.role = role
        _revoke_keys_of(session, row.id)       # a key carries the role it was made with
    return await _change_user(request, user, user_id, change, f"role {role}", a["role_changed"])


@router.post("/review/admin/users/{user_id}/password")
async def user_password(request: Request, user_id: int):
    user, form, refused = await _admin_form(request)
    if refused is not None:
        return refused
    a, password = admin_texts(user.lang), str(form.get("password") or "")
    if len(password) < MIN_PASSWORD:
        return _back("/review/admin/users", a["password_short"])

    def change(row: User, session: Session) -> None:
        set_password(row, password)
        _revoke_keys_of(session, row.id)                   # log-in keys made with the old password end too
    return await _change_user(request, user, user_id, change, "password reset", a["password_reset"])


@router.post("/review/admin/users/{user_id}/active")
async def user_active(request: Request, user_id: int):
    user, form, refused = await _admin_form(request)
    if refused is not None:
        return refused
    a, active = admin_texts(user.lang), form.get("active") == "1"
    if user_id == user.user_id:
        return _back("/review/admin/users", a["not_yourself"])

    def change(row: User, session: Session) -> None:
        row.active = active                # authenticate_key and check_password refuse a disabled user
    return await _change_user(request, user, user_id, change, "enabled" if active else "disabled",
                              a["user_enabled" if active else "user_disabled"])


async def _change_user(request: Request, admin: UiUser, user_id: int, change, what: str, done: str) -> Response:
    def apply() -> str | None:
        with transaction(request.app.state.services.factory) as session:
            row = session.get(User, user_id)
            if row is None:
                return None
            change(row, session)
            return row.username
    username = await run_in_threadpool(apply)
    if username is None:
        return _back("/review/admin/users", admin_texts(admin.lang)["no_user"])
    log.info("%s changed user %s: %s", admin.name, username, what)
    return _back("/review/admin/users", done)


def _revoke_keys_of(session: Session, user_id: int) -> None:
    for key_id in session.scalars(select(ApiKey.id).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))):
        revoke_api_key(session, key_id)


# -- API keys ---------------------------------------------------------------------------------------------

def _key_rows(session: Session) -> list[dict]:
    query = select(ApiKey, User.username).outerjoin(User, ApiKey.user_id == User.id).order_by(ApiKey.id)
    return [{"id": k.id, "name": k.name, "role": k.role, "hint": k.hint, "owner": owner or "",
             "created": _when(k.created_at), "revoked": _when(k.revoked_at)} for k, owner in session.execute(query)]


def _keys_page(request: Request, user: UiUser, new_key: str = "") -> Response:
    with request.app.state.services.factory() as session:
        rows = _key_rows(session)
    return _page(request, "admin_keys.html", user, "keys", keys=rows, roles=ROLES, new_key=new_key)


@router.get("/review/admin/keys")
def keys_page(request: Request):
    user, refused = _admin(request)
    return refused if refused is not None else _keys_page(request, user)


@router.post("/review/admin/keys")
async def key_create(request: Request):
    user, form, refused = await _admin_form(request)
    if refused is not None:
        return refused
    a, name, role = admin_texts(user.lang), _text(form, "name"), _text(form, "role")
    if not name:
        return _back("/review/admin/keys", a["name_needed"])
    if role not in ROLES:
        return _back("/review/admin/keys", a["bad_role"])

    def create() -> str:
        with transaction(request.app.state.services.factory) as session:
            return create_api_key(session, name=name, role=role)[1]
    secret = await run_in_threadpool(create)
    log.info("%s created API key %s (%s)", user.name, name, role)
    return await run_in_threadpool(_keys_page, request, user, secret)   # the answer is the only place it shows


@router.post("/review/admin/keys/{key_id}/revoke")
async def key_revoke(request: Request, key_id: int):
    user, _, refused = await _admin_form(request)
    if refused is not None:
        return refused

    def revoke() -> str:
        with transaction(request.app.state.services.factory) as session:
            return revoke_api_key(session, key_id).name
    try:
        name = await run_in_threadpool(revoke)
    except NotFound as exc:
        return _back("/review/admin/keys", str(exc) if user.lang != "zh" else admin_texts(user.lang)["no_key"])
    log.info("%s revoked API key %s (%s)", user.name, key_id, name)
    return _back("/review/admin/keys", admin_texts(user.lang)["key_revoked"])


# -- webhooks ---------------------------------------------------------------------------------------------

def _webhooks_page(request: Request, user: UiUser, *, new_secret: str = "", error: str = "",
                   form: dict | None = None) -> Response:
    with request.app.state.services.factory() as session:
        subs = [{"id": s.id, "url": s.url, "events": list(s.events or []), "active": s.active,
                 "allow_private": s.allow_private, "created_by": s.created_by, "created": _when(s.created_at)}
                for s in session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))]
        query = (select(WebhookDelivery, WebhookSubscription.url)
                 .join(WebhookSubscription, WebhookDelivery.subscription_id == WebhookSubscription.id)
                 .order_by(WebhookDelivery.id.desc()).limit(DELIVERIES_SHOWN))
        deliveries = [{"id": d.id, "url": url, "event": d.event, "status": d.status, "attempts": d.attempts,
                       "code": d.last_status_code or "", "error": d.last_error or "", "created": _when(d.created_at)}
                      for d, url in session.execute(query)]
    return _page(request, "admin_webhooks.html", user, "webhooks", subs=subs, deliveries=deliveries, events=EVENTS,
                 event_names=EVENT_NAMES[user.lang], delivery_states=DELIVERY_STATES[user.lang],
                 new_secret=new_secret, error=error, form=form or {}, status_code=422 if error else 200)


@router.get("/review/admin/webhooks")
def webhooks_page(request: Request):
    user, refused = _admin(request)
    return refused if refused is not None else _webhooks_page(request, user)


@router.post("/review/admin/webhooks")
async def webhook_create(request: Request):
    """As POST /api/v1/webhooks: known events, a URL check_url accepts (private targets only when ticked: the
    caller is an admin), the secret given or made here."""
    user, form, refused = await _admin_form(request)
    if refused is not None:
        return refused
    url, allow_private = _text(form, "url"), form.get("allow_private") == "1"
    events = [e for e in EVENTS if form.get(f"event:{e}") == "1"]     # one field per box: the form is a dict
    kept = {"url": url, "events": events, "allow_private": allow_private}
    if not events:
        return await run_in_threadpool(_webhooks_page, request, user, error=admin_texts(user.lang)["events_needed"],
                                       form=kept)
    try:
        await run_in_threadpool(check_url, url, allow_private=allow_private)    # resolves the host name
    except UrlRefused as exc:
        return await run_in_threadpool(_webhooks_page, request, user, error=_refused_text(str(exc), user.lang),
                                       form=kept)
    secret = _text(form, "secret") or secrets.token_urlsafe(32)

    def create() -> None:
        with transaction(request.app.state.services.factory) as session:
            session.add(WebhookSubscription(url=url, events=events, secret=secret, active=True,
                                            allow_private=allow_private, created_by=user.name, created_at=utcnow()))
    await run_in_threadpool(create)
    log.info("%s subscribed %s to %s%s", user.name, url, ", ".join(events),
             " (private targets allowed)" if allow_private else "")
    return await run_in_threadpool(_webhooks_page, request, user, new_secret=secret)


@router.post("/review/admin/webhooks/{webhook_id}/disable")
async def webhook_disable(request: Request, webhook_id: int):
    """As DELETE /api/v1/webhooks/{id}: the subscription stays (its deliveries are the log), inactive."""
    user, _, refused = await _admin_form(request)
    if refused is not None:
        return refused

    def disable() -> bool:
        with transaction(request.app.state.services.factory) as session:
            row = session.get(WebhookSubscription, webhook_id)
            if row is not None:
                row.active = False
            return row is not None
    a = admin_texts(user.lang)
    if not await run_in_threadpool(disable):
        return _back("/review/admin/webhooks", a["no_webhook"])
    log.info("%s disabled webhook %s", user.name, webhook_id)
    return _back("/review/admin/webhooks", a["webhook_disabled"])


@router.post("/review/admin/webhooks/deliveries/{delivery_id}/resend")
async def delivery_resend(request: Request, delivery_id: int):
    """As POST /api/v1/webhooks/deliveries/{id}/resend: a failed delivery (the dead letter) sent again."""
    user, _, refused = await _admin_form(request)
    if refused is not None:
        return refused

    def resend() -> bool:
        with transaction(request.app.state.services.factory) as session:
            return resend_delivery(session, delivery_id) is not None
    a = admin_texts(user.lang)
    if not await run_in_threadpool(resend):
        return _back("/review/admin/webhooks", a["no_webhook"])
    request.app.state.services.wake_webhooks()
    log.info("%s resent webhook delivery %s", user.name, delivery_id)
    return _back("/review/admin/webhooks", a["delivery_resent"])


# -- learned facts ----------------------------------------------------------------------------------------

def _fact_rows(session: Session, kind: str | None, supplier_id: int | None) -> tuple[list[dict], int]:
    """The newest FACTS_SHOWN facts in force (with names for their ids), and how many there are."""
    facts = current_facts(session, kind=kind, supplier_id=supplier_id)
    shown = facts[::-1][:FACTS_SHOWN]
    supplier_ids = {f.supplier_id for f in shown} | {f.target_id for f in shown if f.kind == "supplier_alias"}
    suppliers = dict(session.execute(select(Supplier.id, Supplier.name)
                                     .where(Supplier.id.in_(supplier_ids - {None}))).all())
    product_ids = {f.target_id for f in shown if f.kind != "supplier_alias"} - {None}
    products = {p.id: f"{p.sku} {p.name}" for p in session.scalars(select(Product).where(Product.id.in_(product_ids)))}
    rows = []
    for f in shown:
        names = suppliers if f.kind == "supplier_alias" else products
        learned = [names.get(f.target_id, f"#{f.target_id}")] if f.target_id is not None else []
        learned += [f"× {f.factor.normalize():f}"] if f.factor is not None else []
        learned += [json.dumps(f.payload, ensure_ascii=False, sort_keys=True)] if f.payload else []
        rows.append({"id": f.id, "kind": f.kind, "supplier": suppliers.get(f.supplier_id, "")
                     if f.supplier_id is not None else "", "key": f.key, "learned": " · ".join(learned),
                     "who": f.created_by, "when": _when(f.created_at)})
    return rows, len(facts)


@router.get("/review/admin/learned")
def learned_page(request: Request, kind: str = "", supplier: str = ""):
    user, refused = _admin(request)
    if refused is not None:
        return refused
    kind = kind if kind in KINDS else ""
    supplier_id = int(supplier) if supplier.isdigit() else None
    with request.app.state.services.factory() as session:
        rows, total = _fact_rows(session, kind or None, supplier_id)
        with_facts = {f.supplier_id for f in current_facts(session)} - {None}
        suppliers = session.execute(select(Supplier.id, Supplier.name).where(Supplier.id.in_(with_facts))
                                    .order_by(Supplier.name)).all()
    return _page(request, "admin_learned.html", user, "learned", facts=rows, total=total, kinds=KINDS,
                 kind_names=KIND_NAMES[user.lang], kind=kind, supplier=supplier_id, suppliers=suppliers)


@router.post("/review/admin/learned/{fact_id}/forget")
async def fact_forget(request: Request, fact_id: int):
    user, form, refused = await _admin_form(request)
    if refused is not None:
        return refused
    back = {"kind": _text(form, "kind"), "supplier": _text(form, "supplier")}

    def drop() -> None:
        with transaction(request.app.state.services.factory) as session:
            forget(session, fact_id)
    try:
        await run_in_threadpool(drop)
    except NotFound:
        return _back("/review/admin/learned", admin_texts(user.lang)["no_fact"], **back)
    log.info("%s forgot learned fact %s", user.name, fact_id)
    return _back("/review/admin/learned", admin_texts(user.lang)["forgotten"], **back)


# -- the layout model -------------------------------------------------------------------------------------

@router.get("/review/admin/models")
def models_page(request: Request):
    user, refused = _admin(request)
    if refused is not None:
        return refused
    overview = models_overview(request.app.state.services)
    current = overview["current"]
    rows = [{**v, "created": _when_iso(v["created_at"]), "promoted": _when_iso(v["promoted_at"]),
             "scores_text": _scores_text(v["scores"], user.lang), "validation": _validation_text(v["metrics"], user.lang),
             "action": None if v["current"] else "roll_back" if current is not None and v["version"] < current
             else "promote"} for v in overview["items"]]
    events = [{**e, "when": _when_iso(e["at"])} for e in overview["events"][:20]]
    return _page(request, "admin_models.html", user, "models", overview=overview, versions=rows, events=events,
                 state=overview["layout_model"], retrain=overview["retrain"], shipped=SHIPPED,
                 state_names=MODEL_STATES[user.lang], action_names=MODEL_ACTIONS[user.lang])


@router.post("/review/admin/models/{version}/promote")
async def model_promote(request: Request, version: int):
    """As POST /api/v1/models/{version}/promote (0: the shipped model); a folder that does not load is refused."""
    user, _, refused = await _admin_form(request)
    if refused is not None:
        return refused
    a = admin_texts(user.lang)
    try:
        await run_in_threadpool(promote_version, request.app.state.services, version, by=user.name,
                                reason=f"promoted by {user.name} on the admin page")
    except NotFound:
        return _back("/review/admin/models", a["no_model"])
    except ModelUnusable:
        return _back("/review/admin/models", a["model_not_loadable"])
    except StateError as exc:
        return _back("/review/admin/models", str(exc) if user.lang != "zh" else a["model_state"])
    log.info("%s promoted layout model version %s", user.name, version)
    return _back("/review/admin/models", a["model_promoted"])


@router.post("/review/admin/models/retrain")
async def model_retrain(request: Request):
    user, _, refused = await _admin_form(request)
    if refused is not None:
        return refused
    outcome = await run_in_threadpool(start_retrain, request.app.state.services, who=user.name)
    log.info("%s asked for a layout model retrain: %s", user.name, outcome)
    return _back("/review/admin/models", admin_texts(user.lang)[f"retrain_{outcome}"])


def _refused_text(reason: str, lang: str) -> str:
    """Why check_url refused a webhook target, in the admin's language (English: as check_url said it)."""
    if lang != "zh":
        return reason
    a = admin_texts(lang)
    if "does not resolve" in reason:
        return a["url_unresolved"]
    if "loopback or private" in reason:
        return a["url_private"]
    return a["url_not_http"]


def _when_iso(moment: str | None) -> str:
    return moment[:16].replace("T", " ") if moment else ""


def _score_name(name: str, lang: str) -> str:
    return SCORE_NAMES.get(lang, {}).get(name, name)


def _scores_text(scores: dict, lang: str = "en") -> list[str]:
    return [f"{_score_name(name, lang)}: {s.get('candidate', 0):.3f} / {s.get('base', 0):.3f}"
            for name, s in sorted(scores.items()) if isinstance(s, dict)]


def _validation_text(metrics: dict, lang: str = "en") -> str:
    validation = metrics.get("validation") if isinstance(metrics, dict) else None
    if not isinstance(validation, dict):
        return ""
    return " · ".join(f"{_score_name(k, lang)} {v:.3f}" for k, v in sorted(validation.items())
                      if isinstance(v, (int, float)))
