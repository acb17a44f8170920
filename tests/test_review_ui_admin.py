"""The review screen's admin pages (issue 8) without a browser (TestClient, real app, real SQLite): only an admin
gets in; users, API keys, webhooks and learned facts are managed through the same models the REST API uses, and
what a page changes is what the REST API and the models then see."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient
from service_support import auth, running_app

from models.db import transaction
from models.learned import current_facts, learn
from models.tables import Supplier
from models.webhooks import record_event

ADMIN_GETS = ("/review/admin", "/review/admin/users", "/review/admin/keys", "/review/admin/webhooks",
              "/review/admin/learned")
ADMIN_POSTS = ("/review/admin/users", "/review/admin/users/1/role", "/review/admin/users/1/password",
               "/review/admin/users/1/active", "/review/admin/keys", "/review/admin/keys/1/revoke",
               "/review/admin/webhooks", "/review/admin/webhooks/1/disable", "/review/admin/learned/1/forget")
XSS = "<img src=x onerror=alert(1)>"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _login(client, username: str, password: str):
    page = client.get("/review/login")
    return client.post("/review/login", data={"csrf": _csrf(page.text), "username": username, "password": password})


def _user(client, username: str, role: str) -> None:
    answer = client.post("/api/v1/users", headers=auth(),
                         json={"username": username, "password": "password-" + username, "role": role})
    assert answer.status_code == 201, answer.text


def _as_admin(client) -> str:
    """Signs in a fresh admin; returns the session's form token."""
    _user(client, "ada", "admin")
    page = _login(client, "ada", "password-ada")
    assert page.status_code == 200 and "ada · admin" in page.text
    return _csrf(page.text)


def _api_users(client) -> dict[str, dict]:
    return {u["username"]: u for u in client.get("/api/v1/users", headers=auth()).json()["items"]}


def _user_id(client, username: str) -> int:
    return _api_users(client)[username]["id"]


def test_only_an_admin_gets_in(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        for path in ADMIN_GETS:
            assert client.get(path, follow_redirects=False).status_code == 303      # not signed in: to the login
        _user(client, "cleo", "clerk")
        queue = _login(client, "cleo", "password-cleo")
        assert 'href="/review/admin"' not in queue.text                           # no nav link for a clerk
        token = _csrf(queue.text)
        for path in ADMIN_GETS:
            answer = client.get(path)
            assert answer.status_code == 403 and "Only an admin" in answer.text, path
        for path in ADMIN_POSTS:
            answer = client.post(path, data={"csrf": token, "username": "mallory", "password": "password-mallory",
                                             "role": "admin", "name": "sneaky", "url": "https://example.com/h",
                                             "event:receipt.posted": "1", "active": "0"})
            assert answer.status_code == 403, path
        assert "mallory" not in _api_users(client)
        assert client.get("/api/v1/api-keys", headers=auth()).json()["total"] == 1     # the bootstrap key only


def test_an_admin_demoted_meanwhile_is_turned_away(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        _user(client, "root", "admin")
        other = TestClient(client.app)                       # root's browser; its cookie says admin all along
        root_token = _csrf(_login(other, "root", "password-root").text)
        assert other.get("/review/admin/users").status_code == 200
        token = _as_admin(client)
        assert 'href="/review/admin"' in client.get("/review/queue").text
        root, ada = _user_id(client, "root"), _user_id(client, "ada")
        assert client.post(f"/review/admin/users/{root}/role", data={"csrf": token, "role": "clerk"}).status_code == 200
        assert other.get("/review/admin/users").status_code == 403
        demote = other.post(f"/review/admin/users/{ada}/role", data={"csrf": root_token, "role": "clerk"})
        assert demote.status_code == 403 and _api_users(client)["ada"]["role"] == "admin"


def test_a_change_to_a_user_applies_to_their_open_session(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        _user(client, "cleo", "clerk")
        clerk = TestClient(client.app)                       # cleo's browser, signed in as a clerk
        _login(clerk, "cleo", "password-cleo")
        assert 'id="nav-approvals"' not in clerk.get("/review/queue").text
        token = _as_admin(client)
        cleo = _user_id(client, "cleo")
        client.post(f"/review/admin/users/{cleo}/role", data={"csrf": token, "role": "approver"})
        queue = clerk.get("/review/queue")
        assert "cleo · approver" in queue.text and 'id="nav-approvals"' in queue.text       # no new log-in needed
        client.post(f"/review/admin/users/{cleo}/active", data={"csrf": token, "active": "0"})
        out = clerk.get("/review/queue", follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/review/login"        # out at once


def test_users_create_role_password_disable_and_csrf(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        token = _as_admin(client)
        page = client.get("/review/admin/users")
        assert page.status_code == 200 and "ada" in page.text

        missing = client.post("/review/admin/users", data={"username": "dora", "password": "password-dora",
                                                           "role": "clerk"})
        assert missing.status_code == 403 and "dora" not in _api_users(client)
        forged = client.post("/review/admin/users", data={"csrf": "forged", "username": "dora",
                                                          "password": "password-dora", "role": "clerk"})
        assert forged.status_code == 403 and "dora" not in _api_users(client)

        short = client.post("/review/admin/users", data={"csrf": token, "username": "dora", "password": "short",
                                                         "role": "clerk"})
        assert "at least 8 characters" in short.text and "dora" not in _api_users(client)
        made = client.post("/review/admin/users", data={"csrf": token, "username": "dora", "password": "password-dora",
                                                        "role": "clerk"})
        assert made.status_code == 200 and "User created" in made.text
        assert _api_users(client)["dora"]["role"] == "clerk"
        again = client.post("/review/admin/users", data={"csrf": token, "username": "dora", "password": "password-x1",
                                                         "role": "admin"})
        assert "exists already" in again.text and _api_users(client)["dora"]["role"] == "clerk"

        dora = _user_id(client, "dora")
        login_key = client.post("/api/v1/auth/login", json={"username": "dora", "password": "password-dora"}).json()
        assert client.get("/api/v1/me", headers=auth(login_key["token"])).json()["role"] == "clerk"
        client.post(f"/review/admin/users/{dora}/role", data={"csrf": token, "role": "approver"})
        assert _api_users(client)["dora"]["role"] == "approver"
        assert client.get("/api/v1/me", headers=auth(login_key["token"])).status_code == 401   # its role was clerk
        own = _user_id(client, "ada")
        mine = client.post(f"/review/admin/users/{own}/role", data={"csrf": token, "role": "clerk"})
        assert "your own role" in mine.text and _api_users(client)["ada"]["role"] == "admin"

        client.post(f"/review/admin/users/{dora}/password", data={"csrf": token, "password": "new-password-1"})
        client.post(f"/review/admin/users/{dora}/active", data={"csrf": token, "active": "0"})
        assert _api_users(client)["dora"]["active"] is False
        client.cookies.clear()
        assert _login(client, "dora", "new-password-1").status_code == 401             # disabled
        token = _csrf(_login(client, "ada", "password-ada").text)
        client.post(f"/review/admin/users/{dora}/active", data={"csrf": token, "active": "1"})
        client.cookies.clear()
        assert _login(client, "dora", "password-dora").status_code == 401              # the old password is gone
        signed_in = _login(client, "dora", "new-password-1")
        assert signed_in.status_code == 200 and "dora · approver" in signed_in.text


def test_user_names_are_escaped(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        token = _as_admin(client)
        page = client.post("/review/admin/users", data={"csrf": token, "username": XSS, "password": "password-xss",
                                                        "role": "clerk"})
        assert XSS in _api_users(client)
        assert XSS not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_an_api_key_shown_once_works_until_revoked(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        token = _as_admin(client)
        made = client.post("/review/admin/keys", data={"csrf": token, "name": "erp-sync", "role": "integration"})
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        secret = re.search(r'<code id="new-key">([^<]+)</code>', made.text).group(1)
        assert client.get("/api/v1/documents", headers=auth(secret)).status_code == 200
        assert client.get("/api/v1/me", headers=auth(secret)).json() == {"name": "key:erp-sync", "role": "integration",
                                                                         "key_id": 2, "user_id": None}
        listed = client.get("/review/admin/keys").text
        assert "<h1>API keys</h1>" in listed and "erp-sync" in listed and secret not in listed

        assert client.post("/review/admin/keys", data={"csrf": token, "name": "x", "role": "root"}).status_code == 200
        assert client.get("/api/v1/api-keys", headers=auth()).json()["total"] == 2        # bad role: none made
        revoked = client.post("/review/admin/keys/2/revoke", data={"csrf": token})
        assert "Key revoked" in revoked.text
        assert client.get("/api/v1/documents", headers=auth(secret)).status_code == 401
        assert "No API key 99" in client.post("/review/admin/keys/99/revoke", data={"csrf": token}).text
        chinese = client.post("/review/lang", data={"csrf": token, "lang": "zh", "back": "/review/admin/keys"})
        assert "<h1>API 密钥</h1>" in chinese.text and "已作废" in chinese.text


def test_webhooks_loopback_needs_allowing_and_deliveries_show(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        token = _as_admin(client)
        hook = {"csrf": token, "url": "http://127.0.0.1:9/hook", "event:receipt.posted": "1",
                "event:document.received": "1"}
        refused = client.post("/review/admin/webhooks", data=hook)
        assert refused.status_code == 422 and "loopback or private" in refused.text
        assert client.get("/api/v1/webhooks", headers=auth()).json()["total"] == 0
        no_events = client.post("/review/admin/webhooks", data={"csrf": token, "url": "http://127.0.0.1:9/hook",
                                                                "allow_private": "1"})
        assert no_events.status_code == 422 and client.get("/api/v1/webhooks", headers=auth()).json()["total"] == 0

        made = client.post("/review/admin/webhooks", data={**hook, "allow_private": "1", "secret": "s3cret-value"})
        assert made.status_code == 200 and "s3cret-value" in made.text
        [sub] = client.get("/api/v1/webhooks", headers=auth()).json()["items"]
        assert sub["url"] == "http://127.0.0.1:9/hook" and sub["created_by"] == "ada" and sub["allow_private"]
        assert set(sub["events"]) == {"receipt.posted", "document.received"} and sub["active"]
        assert "s3cret-value" not in client.get("/review/admin/webhooks").text

        with transaction(client.app.state.services.factory) as session:
            record_event(session, "document.received", {"id": 4711})
        page = client.get("/review/admin/webhooks").text
        deliveries = page[page.index('id="deliveries"'):]
        assert "document.received" in deliveries and "http://127.0.0.1:9/hook" in deliveries

        disabled = client.post(f"/review/admin/webhooks/{sub['id']}/disable", data={"csrf": token})
        assert "Webhook disabled" in disabled.text
        assert client.get("/api/v1/webhooks", headers=auth()).json()["items"][0]["active"] is False


def test_learned_facts_filter_and_forget(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        factory = client.app.state.services.factory
        with transaction(factory) as session:
            supplier = Supplier(name="Brightline <b>Components</b>", aliases=[], extra={})
            session.add(supplier)
            session.flush()
            alias = learn(session, kind="product_alias", key=f"LED {XSS}", created_by="cleo", payload={"sku": "X1"})
            factor = learn(session, kind="unit_factor", key="reel of 5000", created_by="cleo", factor=Decimal("5000"),
                           supplier_id=supplier.id)
            brightline = supplier.id
        token = _as_admin(client)
        page = client.get("/review/admin/learned")
        assert page.status_code == 200 and "reel of 5000" in page.text and "× 5000" in page.text
        assert XSS not in page.text and "LED &lt;img src=x onerror=alert(1)&gt;" in page.text
        only_factors = client.get("/review/admin/learned", params={"kind": "unit_factor"}).text
        assert "reel of 5000" in only_factors and "LED &lt;img" not in only_factors
        theirs = client.get("/review/admin/learned", params={"supplier": str(brightline)}).text
        assert "reel of 5000" in theirs and "LED &lt;img" not in theirs
        assert "Brightline &lt;b&gt;Components&lt;/b&gt;" in theirs and "<b>Components" not in theirs

        forgot = client.post(f"/review/admin/learned/{alias.id}/forget",
                             data={"csrf": token, "kind": "product_alias"})
        assert forgot.status_code == 200 and "Fact forgotten" in forgot.text
        assert forgot.url.params["kind"] == "product_alias"
        with factory() as session:
            assert [f.id for f in current_facts(session)] == [factor.id]
        assert "LED &lt;img" not in client.get("/review/admin/learned").text
        assert "No such learned fact" in client.post("/review/admin/learned/9999/forget", data={"csrf": token}).text
        assert client.post(f"/review/admin/learned/{factor.id}/forget", data={}).status_code == 403
        with factory() as session:
            assert [f.id for f in current_facts(session)] == [factor.id]
