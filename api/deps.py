"""What routes depend on, as `Annotated` aliases: the running services, a read session, the caller.

    ServicesDep   the process's Services (pipeline/runtime.py), set on app.state at start-up
    SessionDep    a session for reading; routes that write open `transaction(services.factory)` themselves,
                  so that side effects (queueing, webhooks) happen after commit
    CurrentUser   the authenticated Principal (Authorization: Bearer <api key>), else 401
    require(*roles) a dependency that also checks the role, else 403
"""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.problems import Problem
from models.auth import Principal, authenticate_key
from pipeline.runtime import Services

READ = ("clerk", "approver", "admin", "integration")
UPLOAD = READ
CORRECT = ("clerk", "approver", "admin")
CONFIRM = ("approver", "admin")
MASTER_WRITE = ("admin", "integration")
WEBHOOKS = ("admin", "integration")
ADMIN = ("admin",)


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_user(request: Request, services: ServicesDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Problem(401, "Send an API key: Authorization: Bearer <key>.", code="not_authenticated")
    with services.factory() as session:
        principal = authenticate_key(session, key.strip())
    if principal is None:
        raise Problem(401, "This API key is unknown, expired or was revoked.", code="not_authenticated")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(*roles: str):
    def check(user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise Problem(403, f"The {user.role} role may not do this (needs {' or '.join(roles)}).",
                          code="forbidden")
        return user
    return Depends(check)


Reader = Annotated[Principal, require(*READ)]
Uploader = Annotated[Principal, require(*UPLOAD)]
Corrector = Annotated[Principal, require(*CORRECT)]
Approver = Annotated[Principal, require(*CONFIRM)]
MasterWriter = Annotated[Principal, require(*MASTER_WRITE)]
WebhookManager = Annotated[Principal, require(*WEBHOOKS)]
Admin = Annotated[Principal, require(*ADMIN)]


def page(limit: int = 50, offset: int = 0) -> tuple[int, int]:
    if not 1 <= limit <= 500 or offset < 0:
        raise Problem(422, "limit must be 1..500 and offset >= 0.", code="invalid_request")
    return limit, offset


PageDep = Annotated[tuple[int, int], Depends(page)]
