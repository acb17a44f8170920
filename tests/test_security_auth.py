"""Access hardening (issue 18, findings 2 and 3): log-in throttling per user name and per address, sessions that end
at logout / a new password / disabling the user, API-login keys that expire, and no start with a guessable
bootstrap key (plus the deployment files' defaults).  Each test fails on the code before the fix."""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import INBOUND, ROOT
from db_support import db_url  # noqa: F401
from models.auth import (LoginFailure, Throttle, User, authenticate_key, clear_login_failures, login_refused_for,
                         record_login_failure, set_password)
from models.db import transaction
from models.types import utcnow
from service_support import auth, running_app


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _ui_login(client, username: str, password: str, **headers):
    page = client.get("/review/login", headers=headers)
    return client.post("/review/login", headers=headers,
                       data={"csrf": _csrf(page.text), "username": username, "password": password})


def _user(client, username: str, role: str = "clerk", password: str | None = None) -> str:
    password = password or f"password-{username}"
    answer = client.post("/api/v1/users", headers=auth(), json={"username": username, "password": password,
                                                                 "role": role})
    assert answer.status_code == 201, answer.text
    return password


def _api_login(client, username: str, password: str):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


# -- throttling ---------------------------------------------------------------------------------------------

def test_throttle_on_a_simulated_clock(tmp_path):
    from models.db import make_engine, session_factory, upgrade
    url = f"sqlite:///{tmp_path / 'clock.db'}"
    upgrade(url)
    factory = session_factory(make_engine(url))
    throttle = Throttle(max_failures=5, max_per_address=20, window_s=900)
    start = utcnow()
    with transaction(factory) as session:
        for i in range(5):
            assert login_refused_for(session, throttle, username="Ann", address="10.0.0.1",
                                     now=start + timedelta(seconds=i)) is None
            record_login_failure(session, username="Ann", address="10.0.0.1", now=start + timedelta(seconds=i))
        # the 6th attempt is refused until the first failure leaves the window (900 s after it)
        wait = login_refused_for(session, throttle, username="ann ", address="10.9.9.9", now=start + timedelta(seconds=10))
        assert wait == pytest.approx(890, abs=0.01)
        assert login_refused_for(session, throttle, username="ann", address="10.0.0.1",
                                 now=start + timedelta(seconds=899)) is not None
        assert login_refused_for(session, throttle, username="ann", address="10.0.0.1",
                                 now=start + timedelta(seconds=900.5)) is None
        # per address: 20 failures over many names lock that address for every name, not other addresses
        for i in range(20):
            record_login_failure(session, username=f"user{i}", address="10.0.0.2", now=start + timedelta(seconds=i))
        assert login_refused_for(session, throttle, username="bob", address="10.0.0.2",
                                 now=start + timedelta(seconds=30)) is not None
        assert login_refused_for(session, throttle, username="bob", address="10.0.0.3",
                                 now=start + timedelta(seconds=30)) is None
        clear_login_failures(session, "ANN")
        assert login_refused_for(session, throttle, username="ann", address="10.0.0.1",
                                 now=start + timedelta(seconds=10)) is None
        assert session.query(LoginFailure).filter_by(username="ann").count() == 0


def test_api_login_is_refused_after_five_failures_even_with_the_right_password(db_url, tmp_path):
    with running_app(db_url, tmp_path, login_window_s=3.0) as client:
        password = _user(client, "tom", "clerk")
        for _ in range(5):
            assert _api_login(client, "tom", "wrong").status_code == 401
        refused = _api_login(client, "tom", password)
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "too_many_attempts"
        assert 1 <= int(refused.headers["Retry-After"]) <= 3
        time.sleep(3.1)                                              # the window passes
        assert _api_login(client, "tom", password).status_code == 200


def test_a_success_resets_the_user_count(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        password = _user(client, "sue", "clerk")
        for _ in range(2):
            for _ in range(4):
                assert _api_login(client, "sue", "wrong").status_code == 401
            assert _api_login(client, "sue", password).status_code == 200       # 8 failures in all, never 5 in a row


def test_api_login_is_throttled_per_address(db_url, tmp_path):
    with running_app(db_url, tmp_path, login_max_failures_per_address=6) as client:
        password = _user(client, "vic", "clerk")
        for i in range(6):                                           # one try each at six names, same address
            assert _api_login(client, f"guess{i}", "wrong").status_code == 401
        assert _api_login(client, "vic", password).status_code == 429


def test_review_login_is_throttled_with_a_message(db_url, tmp_path):
    with running_app(db_url, tmp_path, login_max_failures=3) as client:
        password = _user(client, "una", "clerk")
        for _ in range(3):
            wrong = _ui_login(client, "una", "nope")
            assert wrong.status_code == 401 and "failed=1" in str(wrong.url)
        page = _ui_login(client, "una", password)
        assert page.status_code == 429 and "/review/login" in str(page.url)
        assert "Too many failed log-ins" in page.text and "even the right password is refused" in page.text
        assert "inbound_session" not in client.cookies
        zh = _ui_login(client, "una", password, **{"Accept-Language": "zh-CN,zh;q=0.9"})
        assert zh.status_code == 429 and "登录失败次数过多" in zh.text


# -- sessions -----------------------------------------------------------------------------------------------

def test_a_cookie_saved_before_logout_is_refused_after_it(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        password = _user(client, "lee", "clerk")
        queue = _ui_login(client, "lee", password)
        assert queue.status_code == 200 and "lee" in queue.text
        saved = client.cookies.get("inbound_session")
        assert client.post("/review/logout", data={"csrf": _csrf(queue.text)}).status_code == 200
        client.cookies.set("inbound_session", saved)                 # replay the cookie from before
        again = client.get("/review/queue", follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"] == "/review/login"


def test_disabling_or_a_new_password_ends_the_users_sessions(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        password = _user(client, "kim", "clerk")
        _user(client, "ada", "admin")
        factory = client.app.state.services.factory
        with factory() as session:
            kim_id = session.query(User).filter_by(username="kim").one().id
        kim_key = _api_login(client, "kim", password).json()["token"]
        assert _ui_login(client, "kim", password).status_code == 200
        kim_cookie = client.cookies.get("inbound_session")
        client.cookies.clear()
        admin_page = _ui_login(client, "ada", "password-ada")
        token = _csrf(admin_page.text)
        # the admin disables kim, then enables her again: the old session and login key stay dead
        assert client.post(f"/review/admin/users/{kim_id}/active", data={"csrf": token, "active": "0"}).status_code == 200
        assert client.post(f"/review/admin/users/{kim_id}/active", data={"csrf": token, "active": "1"}).status_code == 200
        admin_cookie = client.cookies.get("inbound_session")
        client.cookies.clear()
        client.cookies.set("inbound_session", kim_cookie)
        assert client.get("/review/queue", follow_redirects=False).status_code == 303
        assert client.get("/api/v1/me", headers=auth(kim_key)).status_code == 401
        # a fresh session, then a new password (set by the admin): that session ends too
        client.cookies.clear()
        assert _ui_login(client, "kim", password).status_code == 200
        kim_cookie = client.cookies.get("inbound_session")
        assert client.get("/review/queue", follow_redirects=False).status_code == 200
        client.cookies.clear()
        client.cookies.set("inbound_session", admin_cookie)
        changed = client.post(f"/review/admin/users/{kim_id}/password", data={"csrf": token, "password": "new-password-kim"})
        assert changed.status_code == 200
        client.cookies.clear()
        client.cookies.set("inbound_session", kim_cookie)
        assert client.get("/review/queue", follow_redirects=False).status_code == 303
        # the model level, for the API: set_password ends login keys
        new_key = _api_login(client, "kim", "new-password-kim").json()["token"]
        assert client.get("/api/v1/me", headers=auth(new_key)).status_code == 200
        with transaction(factory) as session:
            set_password(session.get(User, kim_id), "third-password-kim")
        assert client.get("/api/v1/me", headers=auth(new_key)).status_code == 401


# -- API keys -----------------------------------------------------------------------------------------------

def test_api_login_keys_expire(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        password = _user(client, "max", "approver")
        answer = _api_login(client, "max", password).json()
        from datetime import datetime
        expires = datetime.fromisoformat(answer["expires_at"])
        assert timedelta(hours=11.9) < expires - utcnow() <= timedelta(hours=12)      # the default, 12 h
        assert client.get("/api/v1/me", headers=auth(answer["token"])).status_code == 200
        with client.app.state.services.factory() as session:                     # a simulated clock
            assert authenticate_key(session, answer["token"], now=expires - timedelta(seconds=1)) is not None
            assert authenticate_key(session, answer["token"], now=expires) is None
    with running_app(db_url, tmp_path, login_key_hours=1 / 3600) as client:     # a 1 s key, for real
        token = _api_login(client, "max", password).json()["token"]
        assert client.get("/api/v1/me", headers=auth(token)).status_code == 200
        time.sleep(1.2)
        gone = client.get("/api/v1/me", headers=auth(token))
        assert gone.status_code == 401 and "expired" in gone.json()["detail"]


def test_admin_keys_may_expire_and_revoked_keys_are_refused(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        soon = (utcnow() + timedelta(days=1)).isoformat()
        made = client.post("/api/v1/api-keys", headers=auth(), json={"name": "ci", "role": "integration",
                                                                     "expires_at": soon})
        assert made.status_code == 201 and made.json()["expires_at"] is not None
        assert client.get("/api/v1/documents", headers=auth(made.json()["key"])).status_code == 200
        past = client.post("/api/v1/api-keys", headers=auth(), json={"name": "old", "role": "integration",
                                                                     "expires_at": "2020-01-01T00:00:00Z"})
        assert client.get("/api/v1/documents", headers=auth(past.json()["key"])).status_code == 401
        forever = client.post("/api/v1/api-keys", headers=auth(), json={"name": "box", "role": "clerk"})
        assert forever.json()["expires_at"] is None
        assert client.delete(f"/api/v1/api-keys/{forever.json()['id']}", headers=auth()).status_code == 200
        assert client.get("/api/v1/documents", headers=auth(forever.json()["key"])).status_code == 401


# -- start-up and the deployment files -----------------------------------------------------------------------

@pytest.mark.parametrize("key", ["change-me", "changeme", "secret", "admin", "CHANGE-ME", "short-key-123"])
def test_a_guessable_bootstrap_key_is_refused_outside_the_demo(key, tmp_path):
    from pipeline.config import Settings
    from pipeline.service import InsecureSettings, check_settings, start_service
    settings = Settings(home=tmp_path, demo=False, bootstrap_api_key=key)
    with pytest.raises(InsecureSettings, match="INBOUND_BOOTSTRAP_API_KEY"):
        check_settings(settings)
    with pytest.raises(InsecureSettings):
        start_service(settings)
    check_settings(Settings(home=tmp_path, demo=True, bootstrap_api_key=key))                 # the demo may
    check_settings(Settings(home=tmp_path, demo=False, bootstrap_api_key="x7Gq2-long-random-key-0123456"))
    check_settings(Settings(home=tmp_path, demo=False, bootstrap_api_key=""))                 # no key: no admin key


def test_serve_exits_with_a_clear_error_on_a_default_key(tmp_path):
    env = {**os.environ, "INBOUND_HOME": str(tmp_path), "INBOUND_DEMO": "0", "INBOUND_BOOTSTRAP_API_KEY": "change-me"}
    done = subprocess.run([INBOUND, "serve", "--port", "9"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "INBOUND_BOOTSTRAP_API_KEY is a known default" in done.stderr


def test_deployment_files_have_no_default_secret_and_bind_narrowly():
    import inspect

    import yaml
    from pipeline.cli.service import serve
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    text = (ROOT / "compose.yaml").read_text()
    assert "change-me" not in text
    compose = yaml.safe_load(text)
    env = compose["x-inbound"]["environment"]
    assert env["INBOUND_BOOTSTRAP_API_KEY"].startswith("${INBOUND_BOOTSTRAP_API_KEY:?")      # must be set
    assert env["INBOUND_SECRET_KEY"].startswith("${INBOUND_SECRET_KEY:?")
    assert env["INBOUND_DEMO"] == "0"
    ports = compose["services"]["api"]["ports"]
    assert "127.0.0.1:2525:2525" in ports and "2525:2525" not in ports
    redis = compose["services"]["redis"]
    assert "--appendonly" in redis["command"] and redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in redis["volumes"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = [line for line in dockerfile.splitlines() if line.startswith("CMD")][0]
    assert "0.0.0.0" not in cmd


def test_every_test_and_bench_bootstrap_key_would_start():
    """The suite and the benches start real services: their keys pass the start-up check."""
    from pipeline.service import KNOWN_DEFAULT_KEYS, MIN_BOOTSTRAP_KEY
    from service_support import ADMIN_KEY
    assert len(ADMIN_KEY) >= MIN_BOOTSTRAP_KEY and ADMIN_KEY not in KNOWN_DEFAULT_KEYS
    files = [p for p in (ROOT / "tests").glob("*.py") if p.name != Path(__file__).name]
    for path in files + list((ROOT / "pipeline" / "bench").glob("*.py")):
        for literal in re.findall(r'"INBOUND_BOOTSTRAP_API_KEY": "([^"]*)"', path.read_text(encoding="utf-8")):
            assert len(literal) >= MIN_BOOTSTRAP_KEY and literal.lower() not in KNOWN_DEFAULT_KEYS, (path, literal)


# -- in a real browser ----------------------------------------------------------------------------------------

def test_in_the_browser_throttled_login_and_replayed_cookie(tmp_path):
    """Chromium against uvicorn on loopback: the throttle's message in English and Chinese, and a session cookie
    put back after logout lands on the login page.  Screenshots in tmp_path/screenshots."""
    review_ui_tests = pytest.importorskip("test_review_ui")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    with review_ui_tests.Server(home) as server, review_ui_tests.sync_playwright() as p:
        answer = server.api.post("/api/v1/users", json={"username": "wen", "password": "password-wen-1",
                                                        "role": "clerk"})
        assert answer.status_code == 201, answer.text
        browser = p.chromium.launch(executable_path=str(review_ui_tests.CHROMIUM), args=review_ui_tests.ARGS,
                                    headless=True)
        try:
            context, page, _ = review_ui_tests._page(browser, server)
            review_ui_tests._login(page, ("wen", "password-wen-1"))
            saved = context.cookies()
            page.click("form[action='/review/logout'] button")
            page.wait_for_url("**/review/login")
            context.add_cookies(saved)                               # the cookie from before the logout
            page.goto("/review/queue")
            assert "/review/login" in page.url
            page.screenshot(path=str(shots / "replayed-cookie.png"))
            for _ in range(5):
                page.fill("input[name=username]", "wen")
                page.fill("input[name=password]", "wrong-password")
                page.click("form.login button[type=submit]")
                page.wait_for_load_state()
            page.fill("input[name=username]", "wen")
            page.fill("input[name=password]", "password-wen-1")
            page.click("form.login button[type=submit]")
            page.wait_for_load_state()
            assert "/review/login" in page.url
            review_ui_tests.expect(page.locator("p.error")).to_contain_text("Too many failed log-ins")
            page.screenshot(path=str(shots / "throttled-en.png"))
            context.close()
            context, page, _ = review_ui_tests._page(browser, server, locale="zh-CN")
            page.goto("/review/login")
            page.fill("input[name=username]", "wen")
            page.fill("input[name=password]", "password-wen-1")
            page.click("form.login button[type=submit]")
            page.wait_for_load_state()
            review_ui_tests.expect(page.locator("p.error")).to_contain_text("登录失败次数过多")
            page.screenshot(path=str(shots / "throttled-zh.png"))
            context.close()
        finally:
            browser.close()
    keep = os.environ.get("INBOUND_TEST_ARTIFACTS")
    if keep:
        import shutil
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, Path(keep) / png.name)
