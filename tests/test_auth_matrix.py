"""The authorisation matrix (issue 18): every API route and every review page x every role (clerk, approver, admin,
integration), no credentials, a wrong key, an expired key or session, a revoked key or a logged-out session.

The expected table is built from what the code declares: an API route's `require(...)` roles (api/deps.py,
found in the route's dependencies), `CurrentUser` alone = any valid key, no dependency = public; a review page is
admin-only when its handler checks for an admin (review_ui/admin.py `_admin`, or `role != "admin"`), else open to
every person who may log in (clerk, approver, admin; integration keys cannot log in).  Allowed: anything but
401/403 (and never 5xx: a made-up id answers 404/422 or a redirect); not allowed: 401 without valid credentials,
403 for the wrong role; a review page without a live session redirects to the login page.  A handful of cells is
also checked by hand, and the table is checked to cover every path of /openapi.json.
"""

from __future__ import annotations

import inspect
import re
from datetime import timedelta

import pytest
from fastapi import routing as fastapi_routing

from models.auth import UiSession
from models.db import transaction
from models.types import utcnow
from service_support import auth, running_app

ROLES = ("clerk", "approver", "admin", "integration")
UI_ROLES = ("clerk", "approver", "admin")
BAD_KEYS = ("none", "wrong", "expired", "revoked")
ANY = ROLES


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _routes(app):
    """(method, path, endpoint, dependant) for every route, included routers flattened."""
    out = []
    for route, context in fastapi_routing._iter_routes_with_context(app.routes):
        obj = context or route
        dependant = getattr(obj, "dependant", None)
        if dependant is None:
            continue
        for method in sorted(set(getattr(obj, "methods", None) or ()) - {"HEAD"}):
            out.append((method, obj.path, obj.endpoint, dependant))
    return out


def declared_roles(dependant) -> tuple[str, ...] | None:
    """The roles the API route requires (None: public)."""
    found: list[tuple[str, ...]] = []

    def walk(dep):
        for sub in dep.dependencies:
            call = sub.call
            name = getattr(call, "__name__", "")
            if name == "check" and call.__closure__:
                found.extend(c.cell_contents for c in call.__closure__ if isinstance(c.cell_contents, tuple))
            elif name == "current_user":
                found.append(ANY)
            walk(sub)
    walk(dependant)
    if not found:
        return None
    allowed = set(ROLES)
    for roles in found:
        allowed &= set(roles)
    return tuple(r for r in ROLES if r in allowed)


def ui_roles(endpoint) -> tuple[str, ...] | None:
    """Who may use a review route (None: public: the login page, static files, the redirects)."""
    source = inspect.getsource(endpoint)
    if "read_session" not in source and "signed_in_form" not in source and "_admin" not in source \
            and "require_user" not in source and "_form_user" not in source and "_signed_in" not in source:
        return None
    if "_admin(request" in source or "_admin_form(request" in source or 'role != "admin"' in source:
        return ("admin",)
    return UI_ROLES


def fill(path: str, dependant=None) -> str:
    """The path with made-up ids, and every required query parameter given (so validation does not answer first)."""
    path = re.sub(r"\{name\}", "nope.css", path)
    path = re.sub(r"\{[a-z_]+\}", "999999", path)
    required = [q.alias for q in (dependant.query_params if dependant else []) if q.field_info.is_required()]
    return path + ("?" + "&".join(f"{name}=1" for name in required) if required else "")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("matrix")
    patch = pytest.MonkeyPatch()
    with patch.context() as mp, running_app(f"sqlite:///{home / 'inbound.db'}", home) as client:
        import api.routes.layout_models as api_models
        import review_ui.admin as ui_admin
        for module in (api_models, ui_admin):                  # an allowed retrain call trains nothing here
            mp.setattr(module, "start_retrain", lambda services, who: "started")
        keys = {}
        for role in ROLES:
            made = client.post("/api/v1/api-keys", headers=auth(), json={"name": f"m-{role}", "role": role})
            keys[role] = made.json()["key"]
            if role != "integration":
                client.post("/api/v1/users", headers=auth(),
                            json={"username": f"u-{role}", "password": f"password-{role}-1", "role": role})
        expired = client.post("/api/v1/api-keys", headers=auth(), json={"name": "old", "role": "admin",
                                                                        "expires_at": "2020-01-01T00:00:00Z"})
        revoked = client.post("/api/v1/api-keys", headers=auth(), json={"name": "gone", "role": "admin"})
        client.delete(f"/api/v1/api-keys/{revoked.json()['id']}", headers=auth())
        keys.update(none=None, wrong="inb_not-a-key-at-all-0000000000000", expired=expired.json()["key"],
                    revoked=revoked.json()["key"])
        client.post("/api/v1/users", headers=auth(), json={"username": "u-integration", "password": "password-int-1",
                                                           "role": "integration"})
        sessions = {}
        for role in UI_ROLES + ("expired", "revoked"):
            who = "admin" if role in ("expired", "revoked") else role
            client.cookies.clear()
            page = client.get("/review/login")
            queue = client.post("/review/login", data={"csrf": _csrf(page.text), "username": f"u-{who}",
                                                       "password": f"password-{who}-1"})
            assert queue.status_code == 200, queue.text
            sessions[role] = (client.cookies.get("inbound_session"), _csrf(queue.text))
            if role == "revoked":
                client.post("/review/logout", data={"csrf": _csrf(queue.text)})
            if role == "expired":
                with transaction(client.app.state.services.factory) as session:
                    row = session.query(UiSession).order_by(UiSession.id.desc()).first()
                    row.expires_at = utcnow() - timedelta(seconds=1)
        client.cookies.clear()
        yield client, keys, sessions


def _call(client, method: str, path: str, key: str | None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.request(method, path, headers=headers, json={} if method in ("POST", "PATCH", "PUT") else None,
                          follow_redirects=False)


def test_the_table_covers_every_openapi_path(world):
    client, _, _ = world
    spec = client.get("/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    routed = {(m, p) for m, p, _, _ in _routes(client.app)}
    assert documented <= routed
    assert len(documented) >= 35


def test_api_matrix(world):
    client, keys, _ = world
    table, wrong = [], []
    for method, path, endpoint, dependant in _routes(client.app):
        if not path.startswith("/api/") and path not in ("/healthz", "/metrics"):
            continue
        allowed = declared_roles(dependant)
        for who in ROLES + BAD_KEYS:
            answer = _call(client, method, fill(path, dependant), keys[who])
            if allowed is None:
                ok = answer.status_code not in (401, 403) or path == "/api/v1/auth/login"
            elif who in BAD_KEYS:
                ok = answer.status_code == 401
            elif who in allowed:
                ok = answer.status_code not in (401, 403)
            else:
                ok = answer.status_code == 403
            ok = ok and answer.status_code < 500
            table.append((method, path, who, answer.status_code))
            if not ok:
                wrong.append((method, path, who, allowed, answer.status_code, answer.text[:120]))
    assert not wrong, "\n".join(map(str, wrong))
    assert len(table) >= 35 * 8
    cells = {(m, p, w): s for m, p, w, s in table}
    # by hand
    assert cells[("POST", "/api/v1/documents/{document_id}/confirm", "clerk")] == 403
    assert cells[("POST", "/api/v1/documents/{document_id}/confirm", "approver")] == 404
    assert cells[("GET", "/api/v1/users", "integration")] == 403
    assert cells[("GET", "/api/v1/users", "admin")] == 200
    assert cells[("POST", "/api/v1/master/import", "approver")] == 403
    assert cells[("POST", "/api/v1/webhooks", "integration")] == 422            # allowed; the empty body is not
    assert cells[("GET", "/api/v1/webhooks", "clerk")] == 403
    assert cells[("GET", "/api/v1/documents", "none")] == 401
    assert cells[("GET", "/api/v1/documents", "expired")] == 401
    assert cells[("GET", "/api/v1/documents", "revoked")] == 401
    assert cells[("DELETE", "/api/v1/api-keys/{key_id}", "approver")] == 403
    assert cells[("GET", "/api/v1/me", "integration")] == 200
    assert cells[("GET", "/healthz", "none")] == 200


def test_review_matrix(world):
    client, keys, sessions = world
    wrong, count = [], 0
    for method, path, endpoint, dependant in _routes(client.app):
        if not path.startswith("/review") or path in ("/review/login", "/review/logout"):
            continue
        allowed = ui_roles(endpoint)
        for who in UI_ROLES + ("expired", "revoked", "none"):
            client.cookies.clear()
            data, csrf = None, None
            if who in sessions:
                cookie, csrf = sessions[who]
                client.cookies.set("inbound_session", cookie)
            if method == "POST":
                data = {"csrf": csrf} if csrf else {}
            answer = client.request(method, fill(path, dependant), data=data, follow_redirects=False)
            count += 1
            status, where = answer.status_code, answer.headers.get("location", "")
            if allowed is None:
                ok = status < 500
            elif who not in UI_ROLES:        # pages redirect to the login; images and JSON for the page answer 401
                ok = (status == 303 and where.startswith("/review/login")) or status == 401
            elif who in allowed:
                ok = status not in (401, 403) and status < 500 and not where.startswith("/review/login")
            else:
                ok = status == 403
            if not ok:
                wrong.append((method, path, who, allowed, status, where, answer.text[:100]))
    client.cookies.clear()
    assert not wrong, "\n".join(map(str, wrong))
    assert count >= 40 * 6


def test_review_by_hand(world):
    client, keys, sessions = world

    def get(who, path):
        client.cookies.clear()
        if who:
            client.cookies.set("inbound_session", sessions[who][0])
        return client.get(path, follow_redirects=False)
    assert get("clerk", "/review/admin/users").status_code == 403
    assert get("approver", "/review/admin/keys").status_code == 403
    assert get("admin", "/review/admin/users").status_code == 200
    assert get("approver", "/review/queue").status_code == 200
    assert get(None, "/review/queue").headers["location"] == "/review/login"
    assert get("expired", "/review/queue").headers["location"] == "/review/login"
    assert get("revoked", "/review/admin/users").headers["location"] == "/review/login"
    # a POST without the session's form token is refused even for an admin
    client.cookies.clear()
    client.cookies.set("inbound_session", sessions["admin"][0])
    assert client.post("/review/admin/users", data={"username": "x", "password": "long-password-x",
                                                    "role": "admin"}, follow_redirects=False).status_code == 403
    # an integration account cannot log in to the review screen, and an API key is no cookie
    client.cookies.clear()
    page = client.get("/review/login")
    refused = client.post("/review/login", data={"csrf": _csrf(page.text), "username": "u-integration",
                                                 "password": "password-int-1"}, follow_redirects=False)
    assert refused.status_code == 303 and "failed=1" in refused.headers["location"]
    assert client.get("/review/queue", headers={"Authorization": f"Bearer {keys['admin']}"},
                      follow_redirects=False).status_code == 303
    client.cookies.clear()
