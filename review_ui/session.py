"""Who is looking at the screen: a signed session cookie, its CSRF token, the UI language.

The cookie holds {user id, name, role, csrf, lang, sid}, signed with a secret kept in $INBOUND_HOME/ui-secret (made
on first use, so sessions survive a restart) and timed out after SESSION_MAX_AGE_S.  `sid` names a row in
ui_sessions (models/auth.py): logout revokes it, so a cookie saved before logout is refused after it; a new
password or disabling the user ends all of that user's sessions.  Each request reads the session and the user's
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
    sid: str = ""           # the server-side session (ui_sessions) this cookie belongs to

    def to_json(self) -> dict:
        return {"uid": self.user_id, "name": self.name, "role": self.role, "csrf": self.csrf, "lang": self.lang,
                "sid": self.sid}


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
        uid, sid = int(data["uid"]), str(data.get("sid") or "")
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if not sid:
        return None                                   # a cookie from before revocable sessions
    role = _current_role(request, uid, sid)
    if role not in UI_ROLES:
        return None
    return UiUser(uid, str(data["name"]), role, str(data["csrf"]),
                  data.get("lang") if data.get("lang") in LANGS else "en", sid)


def _current_role(request: Request, user_id: int, sid: str) -> str | None:
    """The user's role as it is now, if the session `sid` is still live (not logged out, not expired, the user
    active, no new password since); an admin may have changed the role or disabled the user since the log-in."""
    from models.auth import ui_session_user
    with request.app.state.services.factory() as session:
        row = ui_session_user(session, sid)
        return row.role if row is not None and row.id == user_id else None


def start_session(request: Request, user_id: int) -> str:
    """A new server-side session for the user; its token goes into the cookie."""
    from models.auth import User, start_ui_session
    from models.db import transaction
    services = request.app.state.services
    with transaction(services.factory) as session:
        return start_ui_session(session, session.get(User, user_id), hours=services.settings.session_hours)


def end_session(request: Request) -> None:
    """Revoke the session the request's cookie names (logout), whatever else the cookie says."""
    from models.auth import end_ui_session
    from models.db import transaction
    raw = request.cookies.get(COOKIE)
    if not raw:
        return
    try:
        sid = str(_serializer(request).loads(raw, max_age=SESSION_MAX_AGE_S).get("sid") or "")
    except (BadSignature, AttributeError):
        return
    if sid:
        with transaction(request.app.state.services.factory) as session:
            end_ui_session(session, sid)


def require_user(request: Request) -> UiUser:
    user = read_session(request)
    if user is None:
        raise NotLoggedIn()
    return user


def session_cookie(request: Request, user: UiUser) -> str:
    return _serializer(request).dumps(user.to_json())


def new_user(user_id: int, name: str, role: str, lang: str, sid: str = "") -> UiUser:
    return UiUser(user_id, name, role, secrets.token_urlsafe(24), lang, sid)


def check_csrf(user: UiUser, token: object) -> None:
    if not isinstance(token, str) or not secrets.compare_digest(token, user.csrf):
        raise BadCsrf()


def browser_lang(request: Request) -> str:
    """zh when the browser's first language is Chinese, else en."""
    header = request.headers.get("accept-language", "").lower()
    first = header.split(",")[0].strip()
    return "zh" if first.startswith("zh") else "en"
