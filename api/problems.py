"""Errors as RFC 9457 problem details (`application/problem+json`).

Every error answer has {"type", "title", "status", "detail", "code"}; `detail` is the clerk's sentence (never a
traceback), `code` the stable machine code (the same codes as the contract's issues and models/errors.py).
Domain errors map to statuses here, in one table, most specific first.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeout
from starlette.exceptions import HTTPException

from extractors.errors import InboundError, InputError
from models.errors import (IdempotencyConflict, MasterImportError, NeedsApproval, NegativeStock, NotFound,
                           NotPostable, StateError)
from pipeline.blobs import BlobMissing, StoreUnavailable

log = logging.getLogger("inbound.api")
MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_S = 30
STATUS_BY_ERROR: tuple[tuple[type[InboundError], int], ...] = (
    (NotFound, 404), (BlobMissing, 404), (NeedsApproval, 409), (NegativeStock, 409), (IdempotencyConflict, 409),
    (StateError, 409), (NotPostable, 422), (MasterImportError, 422), (StoreUnavailable, 503), (InputError, 400),
    (InboundError, 400),
)
TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Not allowed", 404: "Not found", 409: "Conflict",
          413: "Too large", 415: "Unsupported type", 422: "Cannot process", 429: "Too many attempts",
          500: "Internal error",
          503: "Unavailable"}


def problem(status: int, detail: str, *, code: str | None = None, **extra) -> JSONResponse:
    code = code or TITLES.get(status, "error").lower().replace(" ", "_")
    body = {"type": f"/problems/{code}", "title": TITLES.get(status, "Error"), "status": status, "detail": detail,
            "code": code, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:                        # the store or the database is away for a moment: when to come back
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


class Problem(Exception):
    """Raise from a route to answer with a problem."""

    def __init__(self, status: int, detail: str, *, code: str | None = None, **extra) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code, self.extra = status, detail, code, extra


def status_for(exc: InboundError) -> int:
    if getattr(exc, "code", "") == "too_large":
        return 413
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem(exc.status, exc.detail, code=exc.code, **exc.extra)

    @app.exception_handler(InboundError)
    async def _inbound(request: Request, exc: InboundError):
        extra = {}
        if isinstance(exc, MasterImportError) and hasattr(exc.report, "to_json"):
            extra["report"] = exc.report.to_json()
        return problem(status_for(exc), exc.message, code=exc.code, **extra)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError):
        # an id in the path beyond what the database can hold (found by schemathesis): no such record
        return problem(404, "No record has that id: the number is out of range.", code="not_found")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError):
        # PostgreSQL refusing a value (an integer out of range, a text too long for its column)
        return problem(422, "A value is out of range or too long.", code="invalid_request")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        return problem(exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        return problem(422, f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}", code="invalid_request",
                       errors=errors)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError):
        # issue 18: the database locked (SQLite's busy timeout ran out) or unreachable: come back later, not a 500
        return _database_unavailable(request, exc)

    @app.exception_handler(SqlTimeout)
    async def _pool(request: Request, exc: SqlTimeout):
        return _database_unavailable(request, exc)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        if isinstance(getattr(exc, "__cause__", None), (OperationalError, SqlTimeout)):
            return _database_unavailable(request, exc.__cause__)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Something went wrong on our side; it has been logged.", code="internal_error")


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                (str(exc).splitlines() or [""])[0][:300])
    return problem(503, "The database is busy or unreachable just now; nothing was changed. Please try again in a "
                   "few seconds.", code="database_unavailable")
