"""Who is looking at the screen: a signed session cookie, its CSRF token, the UI language.

The cookie holds {user id, name, role, csrf, lang}, signed with a secret kept in $INBOUND_HOME/ui-secret (made on
first use, so sessions survive a restart) and timed out after SESSION_MAX_AGE_S.  Each request reads the user's
row again, so a disabled user is out at once and a changed role applies at once.  Only people log in here
(clerk, approver, admin); integration accounts use API keys.  Every POST form sends `csrf`, which must equal the
session's token (`check_csrf`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "inbound_session"
SESSION_MAX_AGE_S = 12 * 3600
UI_ROLES = ("clerk", "approver", "admin")
LANGS = ("en", "zh")


@dataclass(frozen=True, slots=True)
class UiUser:
    """The logged-in person; `name` goes into history rows like an API caller's name."""
    user_id: int
    name: str
    role: str
    csrf: str
    lang: str

    def to_json(self) -> dict:
        return {"uid": self.user_id, "name": self.name, "role": self.role, "csrf": self.csrf, "lang": self.lang}


class NotLoggedIn(Exception):
    """No valid session: the route answers with a redirect to the login page."""


class BadCsrf(Exception):
    """A POST without the session's CSRF token."""


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    secret = getattr(state, "ui_secret", None)
    if secret is None:
        secret = state.ui_secret = _load_secret(request.app.state.services.settings.home)
    return URLSafeTimedSerializer(secret, salt="inbound-review-ui")


def _load_secret(home: Path) -> str:
    path = Path(home) / "ui-secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return value


def read_session(request: Request) -> UiUser | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(request).loads(raw, max_age=SESSION_MAX_AGE_S)
    except BadSignature:
        return None
    role = _current_role(request, int(data["uid"]))
    if role not in UI_ROLES:
        return None
    return UiUser(int(data["uid"]), str(data["name"]), role, str(data["csrf"]),
                  data.get("lang") if data.get("lang") in LANGS else "en")


def _current_role(request: Request, user_id: int) -> str | None:
    """The user's role as it is now (an admin may have changed it or disabled the user since the log-in)."""
    from models.auth import User
    with request.app.state.services.factory() as session:
        row = session.get(User, user_id)
        return row.role if row is not None and row.active else None


def require_user(request: Request) -> UiUser:
    user = read_session(request)
    if user is None:
        raise NotLoggedIn()
    return user


def session_cookie(request: Request, user: UiUser) -> str:
    return _serializer(request).dumps(user.to_json())


def new_user(user_id: int, name: str, role: str, lang: str) -> UiUser:
    return UiUser(user_id, name, role, secrets.token_urlsafe(24), lang)


def check_csrf(user: UiUser, token: object) -> None:
    if not isinstance(token, str) or not secrets.compare_digest(token, user.csrf):
        raise BadCsrf()


def browser_lang(request: Request) -> str:
    """zh when the browser's first language is Chinese, else en."""
    header = request.headers.get("accept-language", "").lower()
    first = header.split(",")[0].strip()
    return "zh" if first.startswith("zh") else "en"
