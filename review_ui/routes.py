"""The review screen's routes, all under /review (plus / pointing at the queue).

Every page needs a session (else: redirect to the login page); every POST checks the CSRF token.  Writes call
pipeline.review and pipeline.processing exactly as the REST API does, in their own transaction, with the
person's user name as `who`, so corrections land in the history and teach the matcher.  A value picked on the page
image (click to pick, app.js) comes with the form as `source.fields.NAME` / `source.lines.N.FIELD` (JSON {"page",
"bbox"}) and reaches correct_document as Corrections.sources.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from models.auth import (Throttle, User, check_password, clear_login_failures, login_refused_for,
                         record_login_failure)
from models.db import transaction
from models.documents import get_document
from models.errors import InboundError, NeedsApproval, NotFound
from pipeline.processing import reprocess
from pipeline.review import (Corrections, approval_reason, confirm_document, correct_document, document_words,
                             reject_document, request_approval, send_back)
from review_ui import issue_texts, pages, views
from models.company import company_settings
from review_ui.changes import changes_view
from review_ui.i18n import FIELD_NAMES, STATUS_NAMES, texts
from review_ui.session import (COOKIE, LANGS, SESSION_MAX_AGE_S, UI_ROLES, BadCsrf, UiUser, browser_lang,
                               check_csrf, end_session, new_user, read_session, session_cookie, start_session)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
LOGIN_CSRF = "inbound_login_csrf"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
CONFIRMERS = ("approver", "admin")
# shown whole (a box that grows), never cut off: addresses, bank accounts, remarks
LONG_FIELDS = ("supplier_address", "buyer_address", "supplier_bank_account", "buyer_bank_account", "remarks",
               "supplier_address_phone", "buyer_address_phone", "supplier_name", "buyer_name", "payment_terms")

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(HERE / "templates"))   # .html files: autoescaped


def render_page(request: Request, name: str, user: UiUser | None, status_code: int = 200, **context) -> HTMLResponse:
    from review_ui import issue_texts
    from review_ui.i18n import names
    lang = user.lang if user else browser_lang(request)
    context.update(request=request, user=user, t=texts(lang), lang=lang, status_names=STATUS_NAMES[lang],
                   field_names=FIELD_NAMES[lang], message=request.query_params.get("m", ""), names=names(lang),
                   issue_text=lambda issue: issue_texts.issue_text(issue, lang),
                   failure_text=lambda code: issue_texts.failure_text(code, lang),
                   approval_text=lambda reason: issue_texts.approval_text(reason, lang))
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return _secure(response)


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def to_login() -> RedirectResponse:
    return RedirectResponse("/review/login", status_code=303)


def go_to(path: str, message: str = "") -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({'m': message})}" if message else path, status_code=303)


async def _form_user(request: Request) -> tuple[UiUser | None, dict]:
    """The session user and the posted form, after the CSRF check (BadCsrf: answered 403 by the caller)."""
    user = read_session(request)
    form = dict(await request.form())
    if user is not None:
        check_csrf(user, form.get("csrf"))
    return user, form


async def signed_in_form(request: Request) -> tuple[UiUser | None, dict, Response | None]:
    """The signed-in user and the posted form, or the response that refuses it (bad form token: 403;
    nobody signed in: to the login page)."""
    try:
        user, form = await _form_user(request)
    except BadCsrf:
        return None, {}, _secure(HTMLResponse("Bad form token.", status_code=403))
    if user is None:
        return None, {}, to_login()
    return user, form, None


# -- login ------------------------------------------------------------------------------------------------

@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/review/queue", status_code=303)


@router.get("/review")
def review_home() -> RedirectResponse:
    return RedirectResponse("/review/queue", status_code=303)


@router.get("/review/login")
def login_page(request: Request, failed: int = 0, wait: int = 0):
    token = secrets.token_urlsafe(24)
    failed_text, status = "", 401 if failed else 200
    if failed == 2:                          # throttled (issue 18): how long until a log-in is tried again
        english, chinese = issue_texts.MESSAGES["login_throttled"]
        sentence = chinese[0] if browser_lang(request) == "zh" else english
        failed_text, status = sentence.format(minutes=max(1, min(int(wait or 1), 24 * 60))), 429
    response = render_page(request, "login.html", None, status_code=status, csrf=token, failed=failed,
                           failed_text=failed_text)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict", path="/review/login")
    return response


@router.post("/review/login")
async def login(request: Request):
    form = dict(await request.form())
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not secrets.compare_digest(str(form.get("csrf", "")), expected):
        return _secure(HTMLResponse("Bad form token; reload the page.", status_code=403))
    services = request.app.state.services

    def check() -> User | None:
        with services.factory() as session:
            return check_password(session, username=str(form.get("username", "")),
                                  password=str(form.get("password", "")))
    username = str(form.get("username", ""))
    address = request.client.host if request.client else "unknown"
    throttle = Throttle.from_settings(services.settings)

    def refused() -> float | None:
        with transaction(services.factory) as session:
            return login_refused_for(session, throttle, username=username, address=address)

    def record(user: User | None) -> None:
        with transaction(services.factory) as session:
            if user is None:
                record_login_failure(session, username=username, address=address)
            else:
                clear_login_failures(session, username)
    wait = await run_in_threadpool(refused)
    if wait is not None:                      # too many wrong passwords: not even the right one, for a while
        return RedirectResponse(f"/review/login?failed=2&wait={math.ceil(wait / 60)}", status_code=303)
    user = await run_in_threadpool(check)
    if user is None or user.role not in UI_ROLES:
        await run_in_threadpool(record, None)
        return RedirectResponse("/review/login?failed=1", status_code=303)
    await run_in_threadpool(record, user)
    sid = await run_in_threadpool(start_session, request, user.id)
    ui_user = new_user(user.id, user.username, user.role, browser_lang(request), sid)
    response = RedirectResponse("/review/queue", status_code=303)
    response.set_cookie(COOKIE, session_cookie(request, ui_user), max_age=SESSION_MAX_AGE_S, httponly=True,
                        samesite="lax", path="/", secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF, path="/review/login")
    return response


@router.post("/review/logout")
async def logout(request: Request):
    try:
        await _form_user(request)
    except BadCsrf:
        return _secure(HTMLResponse("Bad form token.", status_code=403))
    await run_in_threadpool(end_session, request)      # server side: a copy of the cookie is no good either
    response = to_login()
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/review/lang")
async def set_lang(request: Request):
    user, form, refused = await signed_in_form(request)
    if refused is not None:
        return refused
    lang = form.get("lang") if form.get("lang") in LANGS else user.lang
    back = str(form.get("back") or "/review/queue")
    response = RedirectResponse(back if back.startswith("/review/") else "/review/queue", status_code=303)
    changed = UiUser(user.user_id, user.name, user.role, user.csrf, lang, user.sid)
    response.set_cookie(COOKIE, session_cookie(request, changed), max_age=SESSION_MAX_AGE_S, httponly=True,
                        samesite="lax", path="/", secure=request.url.scheme == "https")
    return response


@router.get("/review/static/{name}")
def static(name: str):
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


# -- queue ------------------------------------------------------------------------------------------------

@router.get("/review/queue")
def queue(request: Request, status: str = "", q: str = "", page: int = 1):
    """One page of the queue (status and search filtered in SQL), the counts by status, the failed documents."""
    user = read_session(request)
    if user is None:
        return to_login()
    status = status if status in views.ALL_STATUSES else ""
    statuses = (status,) if status else views.REVIEW_STATUSES
    with request.app.state.services.factory() as session:
        listing = views.queue_page(session, statuses=statuses, search=q, page=page)
        counts = views.status_counts(session)
        failed = views.queue_rows(session, statuses=("failed",), limit=20) if status != "failed" else []
        exportable = views.posted_receipts(session, statuses=statuses, search=q) if status in ("posted", "reversed") \
            else 0
    return render_page(request, "queue.html", user, rows=listing["rows"], listing=listing, counts=counts,
                       failed=failed, status=status, q=q, all_statuses=views.ALL_STATUSES, exportable=exportable,
                       max_upload_bytes=request.app.state.services.settings.max_upload_bytes,
                       query=lambda **values: urlencode({k: v for k, v in values.items() if v not in ("", None, 1)}))


@router.post("/review/documents/{document_id}/reprocess")
async def retry(request: Request, document_id: int):
    user, _, refused = await signed_in_form(request)
    if refused is not None:
        return refused
    try:
        await run_in_threadpool(reprocess, request.app.state.services, document_id, who=user.name)
    except InboundError as exc:
        return go_to("/review/queue", issue_texts.error_message(getattr(exc, "code", ""), str(exc), user.lang))
    return go_to("/review/queue", texts(user.lang)["retrying"])


# -- the document screen ----------------------------------------------------------------------------------

@router.get("/review/documents/{document_id}")
def document_page(request: Request, document_id: int):
    user = read_session(request)
    if user is None:
        return to_login()
    services = request.app.state.services
    with services.factory() as session:
        try:
            document = get_document(session, document_id)
        except NotFound:
            return render_page(request, "missing.html", user, status_code=404)
        screen = views.document_screen(session, document)
        previous, following = views.neighbours(session, document)
        row = views.queue_row(document, {})
        supplier = screen["supplier_match"].get("name") or row["supplier"]
        sha, extraction = document.sha256, document.current and document.current.get("extraction")
        editable = document.status in views.REVIEW_STATUSES
        waiting = approval_reason(session, document)
        changed = changes_view(session, document, screen, company_settings(session).zone)
        currency = next((f["value"] for f in screen["fields"] if f["name"] == "currency"), "")
    data = services.blobs.get(sha)          # outside the session: on SQLite every session holds the write lock
    sizes = pages.page_sizes(data, pages.kind_of(data, None), extraction, sha)
    return render_page(request, "document.html", user, doc=row, screen=screen, supplier=supplier, prev_id=previous,
                   next_id=following, sizes=sizes, editable=editable, waiting=waiting,
                   can_approve=bool(waiting) and user.role in CONFIRMERS, changes=changed, currency=currency,
                   long_fields=LONG_FIELDS)


@router.get("/review/documents/{document_id}/pages/{page}.png")
def page_image(request: Request, document_id: int, page: int):
    user = read_session(request)
    if user is None:
        return Response(status_code=401)
    services = request.app.state.services
    with services.factory() as session:
        try:
            document = get_document(session, document_id)
        except NotFound:
            return Response(status_code=404)
        sha, extraction = document.sha256, document.current and document.current.get("extraction")
    data = services.blobs.get(sha)
    kind = pages.kind_of(data, None)
    sizes = pages.page_sizes(data, kind, extraction, sha)
    if not 1 <= page <= len(sizes):
        return Response(status_code=404)
    png = pages.page_png(sha, data, kind, page - 1, sizes[page - 1], extraction)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/review/documents/{document_id}/words")
def words(request: Request, document_id: int):
    """The words as read with their boxes on the page as received, for click-to-pick (no pages: nothing to pick)."""
    user = read_session(request)
    if user is None:
        return JSONResponse({"pages": []}, status_code=401)
    with request.app.state.services.factory() as session:
        try:
            document = get_document(session, document_id)
        except NotFound:
            return JSONResponse({"pages": []}, status_code=404)
        found = document_words(document)
    return JSONResponse(found, headers={"Cache-Control": "private, no-store"})


@router.get("/review/products")
def products(request: Request, q: str = ""):
    user = read_session(request)
    if user is None:
        return JSONResponse({"items": []}, status_code=401)
    if not q.strip():
        return JSONResponse({"items": []})
    services = request.app.state.services
    with services.factory() as session:
        return JSONResponse({"items": views.product_search(session, services.master.get(session), q.strip())})


@router.get("/review/documents/{document_id}/lines/{line_no}/conversion")
def conversion(request: Request, document_id: int, line_no: int, product_id: int):
    """The factor and conversion text for a product a person picks on a line (the screen updates at once)."""
    user = read_session(request)
    if user is None:
        return JSONResponse({}, status_code=401)
    services = request.app.state.services
    with services.factory() as session:
        try:
            document = get_document(session, document_id)
        except NotFound:
            return JSONResponse({}, status_code=404)
        return JSONResponse(views.conversion_for(session, services.master.get(session), document, line_no,
                                                 product_id))


@router.post("/review/documents/{document_id}")
async def act(request: Request, document_id: int):
    """One form, three buttons: save (save for later), confirm, reject; corrections are applied first."""
    user, form, refused = await signed_in_form(request)
    if refused is not None:
        return refused
    action = str(form.get("action", "save"))
    return await run_in_threadpool(_act, request, user, document_id, action, form)


def _act(request: Request, user: UiUser, document_id: int, action: str, form: dict) -> Response:
    services, t = request.app.state.services, texts(user.lang)
    here = f"/review/documents/{document_id}"
    reason = str(form.get("reason") or "").strip() or None
    try:
        if action == "reject":
            with transaction(services.factory) as session:
                reject_document(session, document_id, who=user.name, reason=reason)
            return _go_next(services, document_id, t["rejected_msg"])
        if action in ("approve", "send_back"):
            return _approve(services, user, document_id, action, reason)
        with transaction(services.factory) as session:
            document = get_document(session, document_id)
            corrections = corrections_from(form, views.document_screen(session, document))
            if corrections.fields or corrections.lines:
                correct_document(session, document_id, corrections, who=user.name,
                                 master=services.master.get(session))
        if action != "confirm":
            return _go_next(services, document_id, t["saved"])
        try:
            _post(services, user, document_id)
        except NeedsApproval as exc:
            with transaction(services.factory) as session:
                request_approval(session, document_id, who=user.name, reason=str(exc))
            why = issue_texts.error_message(getattr(exc, "code", ""), str(exc), user.lang)
            return _go_next(services, document_id, f"{t['sent_to_approver']}{'：' if user.lang == 'zh' else ': '}{why}")
        return _go_next(services, document_id, t["posted"])
    except (InboundError, ValueError) as exc:
        return go_to(here, issue_texts.error_message(getattr(exc, "code", ""), str(exc), user.lang))


def _post(services, user: UiUser, document_id: int) -> None:
    """Post to the ledger as this person: an approver or admin also approves, a clerk's posting may need one."""
    with transaction(services.factory) as session:
        confirm_document(session, document_id, who=user.name, approver=user.role in CONFIRMERS,
                         idempotency_key=None, tolerance=services.settings.over_receipt_tolerance,
                         price_tolerance=services.settings.price_tolerance)
    services.wake_webhooks()


def _approve(services, user: UiUser, document_id: int, action: str, reason: str | None) -> Response:
    """An approver releases a document waiting for approval (posts it) or sends it back to review."""
    t = texts(user.lang)
    if user.role not in CONFIRMERS:
        return go_to(f"/review/documents/{document_id}", t["approvers_only"])
    if action == "send_back":
        with transaction(services.factory) as session:
            send_back(session, document_id, who=user.name, reason=reason)
        return _go_approvals(services, t["sent_back"])
    _post(services, user, document_id)
    return _go_approvals(services, t["posted"])


def _go_approvals(services, message: str) -> Response:
    """To the next document waiting for approval, else the approvals list."""
    with services.factory() as session:
        waiting = views.approval_rows(session)
    return go_to(f"/review/documents/{waiting[0]['id']}" if waiting else "/review/approvals", message)


def _go_next(services, document_id: int, message: str) -> Response:
    """To the oldest document still needing review (other than this one), else the queue."""
    with services.factory() as session:
        following = views.next_in_queue(session, get_document(session, document_id))
    return go_to(f"/review/documents/{following}" if following else "/review/queue", message)


def corrections_from(form: dict, screen: dict) -> Corrections:
    """What the person changed on the form, against what the screen showed."""
    fields = {}
    for field in screen["fields"]:
        posted = form.get(f"f.{field['name']}")
        if isinstance(posted, str) and posted.strip() != field["value"] and (posted.strip() or field["value"]):
            fields[field["name"]] = posted.strip()
    lines = []
    for line in screen["lines"]:
        number, change = line["no"], {}
        for key in ("quantity", "unit_price", "description", "unit", "batch_no"):
            posted = form.get(f"l.{number}.{key}")
            if isinstance(posted, str) and posted.strip() != line[key] and posted.strip():
                change[key] = posted.strip()
        product = form.get(f"l.{number}.product_id")
        if isinstance(product, str) and product.strip().isdigit() and product.strip() != str(line["match"].get("id") or ""):
            change["product_id"] = int(product)
        factor = form.get(f"l.{number}.uom_factor")      # with a new product, the factor shown is for that one
        if isinstance(factor, str) and factor.strip() and ("product_id" in change
                                                           or not _same_number(factor, line["factor"])):
            change["uom_factor"] = factor.strip()
        if change:
            lines.append({"line_no": number, **change})
    return Corrections(fields=fields, lines=tuple(lines), sources=picked_sources(form, fields, lines))


SOURCE_PATH = re.compile(r"source\.(fields\.[a-z0-9_]+|lines\.[0-9]+\.[a-z0-9_]+)")


def picked_sources(form: dict, fields: dict, lines: list[dict]) -> dict[str, dict]:
    """Where on the page the person picked a value (`source.fields.NAME` / `source.lines.N.FIELD`: JSON
    {"page", "bbox"}), kept for the values this form changes; anything malformed is dropped, never an error."""
    changed = {f"fields.{name}" for name in fields}
    changed |= {f"lines.{line['line_no']}.{key}" for line in lines for key in line if key != "line_no"}
    sources = {}
    for name, posted in form.items():
        matched = SOURCE_PATH.fullmatch(str(name))
        if matched is None or matched.group(1) not in changed or not isinstance(posted, str):
            continue
        source = _source(posted)
        if source is not None:
            sources[matched.group(1)] = source
    return sources


def _source(posted: str) -> dict | None:
    """{"page": int >= 1, "bbox": [x0, y0, x1, y1]} (page points, x0 <= x1, y0 <= y1) from the posted JSON, or None."""
    try:
        value = json.loads(posted)
        page, bbox = value["page"], [float(v) for v in value["bbox"]]
    except (ValueError, TypeError, KeyError):
        return None
    if isinstance(page, bool) or not isinstance(page, int) or page < 1 or len(bbox) != 4:
        return None
    if not all(math.isfinite(v) for v in bbox) or bbox[0] > bbox[2] or bbox[1] > bbox[3]:
        return None
    return {"page": page, "bbox": [round(v, 2) for v in bbox]}


def _same_number(a: str, b: str) -> bool:
    try:
        return Decimal(a.strip()) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return a.strip() == str(b)


# -- approvals --------------------------------------------------------------------------------------------

@router.get("/review/approvals")
def approvals(request: Request):
    """Documents a clerk confirmed that only an approver may post (over-receipt, price variance)."""
    user = read_session(request)
    if user is None:
        return to_login()
    with request.app.state.services.factory() as session:
        rows = views.approval_rows(session)
    return render_page(request, "approvals.html", user, rows=rows, can_approve=user.role in CONFIRMERS)

