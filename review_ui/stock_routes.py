"""The review screen's stock routes (issue 17): the stock view (per product: per-warehouse totals, batches with
production and expiry dates, the moves behind each, times in the configured zone), the near-expiry list
(临期预警) and the company settings page (base currency, time zone, near-expiry days per category; admins only).

    GET  /review/stock            the stock view
    GET  /review/stock/expiry     batches at or past their category's near-expiry threshold
    GET  /review/settings         the settings (anyone signed in reads them; only an admin may change them)
    POST /review/settings         store them (models.company.save_settings; CSRF checked)
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from models.company import (BadSetting, Defaults, company_settings, format_days, format_rates, parse_days, parse_rates,
                            save_settings)
from models.db import transaction
from review_ui.i18n import texts
from review_ui.routes import render_page, signed_in_form, to_login
from review_ui.session import read_session
from review_ui.stock_views import Clock, near_expiry, stock_rows

log = logging.getLogger("inbound.review.stock")
router = APIRouter(include_in_schema=False)


def _settings(request: Request, session):
    return company_settings(session, Defaults.from_settings(request.app.state.services.settings))


@router.get("/review/stock")
def stock(request: Request):
    user = read_session(request)
    if user is None:
        return to_login()
    with request.app.state.services.factory() as session:
        clock = Clock(_settings(request, session))
        rows = stock_rows(session, clock)
        near = near_expiry(session, clock)
    return render_page(request, "stock.html", user, rows=rows, near_count=len(near), company=clock.settings,
                       offset=clock.offset(), today=clock.today().isoformat())


@router.get("/review/stock/expiry")
def expiry(request: Request):
    user = read_session(request)
    if user is None:
        return to_login()
    with request.app.state.services.factory() as session:
        clock = Clock(_settings(request, session))
        rows = near_expiry(session, clock)
    return render_page(request, "expiry.html", user, rows=rows, company=clock.settings, offset=clock.offset(),
                       today=clock.today().isoformat(), thresholds=_thresholds(clock.settings))


@router.get("/review/settings")
def settings_page(request: Request):
    user = read_session(request)
    if user is None:
        return to_login()
    with request.app.state.services.factory() as session:
        company = _settings(request, session)
    return _settings_page(request, user, company)


@router.post("/review/settings")
async def save(request: Request) -> Response:
    user, form, refused = await signed_in_form(request)
    if refused is not None:
        return refused
    t = texts(user.lang)
    if user.role != "admin":
        return _settings_page(request, user, None, status_code=403, error=t["st_settings_admins_only"])
    services = request.app.state.services
    try:
        days = parse_days(str(form.get("near_expiry_days") or ""))
        rates = parse_rates(str(form.get("exchange_rates") or ""))
        with transaction(services.factory) as session:
            save_settings(session, who=user.name, base_currency=str(form.get("base_currency") or ""),
                          timezone=str(form.get("timezone") or ""), near_expiry_days=days, exchange_rates=rates,
                          defaults=Defaults.from_settings(services.settings))
    except BadSetting as exc:
        with services.factory() as session:
            company = _settings(request, session)
        return _settings_page(request, user, company, status_code=422, error=t["st_bad_" + exc.kind],
                              error_value=_offending(form, exc.kind), form=form)
    log.info("company settings changed by %s", user.name)
    return RedirectResponse("/review/settings?" + urlencode({"m": t["st_settings_saved"]}), status_code=303)


def _settings_page(request: Request, user, company, *, status_code: int = 200, error: str = "",
                   error_value: str = "", form: dict | None = None) -> Response:
    if company is None:
        with request.app.state.services.factory() as session:
            company = _settings(request, session)
    values = {"base_currency": company.base_currency, "timezone": company.timezone,
              "near_expiry_days": format_days(company.near_expiry_days),
              "exchange_rates": format_rates(company.exchange_rates)}
    if form:
        values.update({k: str(form.get(k) or "") for k in values})
    return render_page(request, "stock_settings.html", user, status_code=status_code, values=values,
                       company=company, error=error, error_value=error_value, can_edit=user.role == "admin")


def _offending(form: dict, kind: str) -> str:
    field = {"currency": "base_currency", "locked": "base_currency", "timezone": "timezone",
             "rates": "exchange_rates"}.get(kind, "near_expiry_days")
    return str(form.get(field) or "")


def _thresholds(company) -> list[tuple[str, int]]:
    return [(category, days) for category, days in sorted(company.near_expiry_days.items()) if category]
