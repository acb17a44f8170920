"""Users and API keys (issue 7): who may call the API, with which role.

Roles: clerk (reads, uploads, corrects, rejects), approver (+ confirms, posts), integration (a machine
account: uploads, reads, master data, webhooks), admin (everything: users, keys, private webhook targets).

Secrets are never stored: a user's password is an argon2 hash; an API key is stored as the SHA-256 of the key.
A plain digest is enough for keys because they are long random strings (no dictionary to try) and it lets a
request find its key by one indexed lookup; passwords are chosen by people, so they get a slow hash.
A revoked key stays as a row (revoked_at set) so the log of who did what still names it.

Issue 18 hardening:
- Keys may expire (`expires_at`): keys minted by an API login always do (INBOUND_LOGIN_KEY_HOURS), keys an admin
  makes may.  An expired or revoked key authenticates nobody.
- Review-screen sessions are rows (`ui_sessions`, the cookie carries a random token, stored as its SHA-256):
  logout revokes the row, so a cookie saved before it no longer works.
- Each user has a `session_epoch`; a new password or disabling the user moves it on, which ends every session
  and every login key made before (they carry the epoch they were made under).
- Failed log-ins are rows (`login_failures`, by user name and client address): more than the allowed number in
  the window and further attempts are refused, even with the right password, until the window has passed; a
  success clears the user name's failures.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, Integer, String, delete, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.errors import NotFound
from models.tables import Base
from models.types import UtcDateTime, utcnow

ROLES = ("clerk", "approver", "admin", "integration")
KEY_PREFIX = "inb_"


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


@event.listens_for(User.active, "set")
def _disabled_ends_sessions(target: User, value, oldvalue, initiator) -> None:
    if value is False and oldvalue is not False:
        target.session_epoch = (target.session_epoch or 0) + 1


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)     # sha256 hex of the whole key
    hint: Mapped[str] = mapped_column(String(16))                      # the key's first characters, to tell keys apart
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    user_epoch: Mapped[int | None] = mapped_column(Integer)          # login keys: the user's session_epoch then


class UiSession(Base):
    """One review-screen log-in; the cookie names it by a random token (stored as its SHA-256)."""
    __tablename__ = "ui_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoginFailure(Base):
    """A wrong password (or unknown name), by the name tried and the client's address."""
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: `name` goes into history rows ("key:ci" or the username)."""
    name: str
    role: str
    key_id: int | None
    user_id: int | None


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_api_key(session: Session, *, name: str, role: str, secret: str | None = None,
                   user_id: int | None = None, expires_at: datetime | None = None,
                   user_epoch: int | None = None) -> tuple[ApiKey, str]:
    """A new key (row, the key itself); the key is shown once and never stored."""
    _check_role(role)
    secret = secret or new_key_secret()
    row = ApiKey(key_hash=key_digest(secret), hint=secret[:8], name=name, role=role, user_id=user_id,
                 created_at=utcnow(), expires_at=expires_at, user_epoch=user_epoch)
    session.add(row)
    session.flush()
    return row, secret


def ensure_api_key(session: Session, *, secret: str, name: str, role: str) -> ApiKey:
    """The key with this secret, created (or un-revoked with this role) when needed: for automation."""
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == key_digest(secret))).one_or_none()
    if row is None:
        return create_api_key(session, name=name, role=role, secret=secret)[0]
    row.revoked_at, row.role, row.expires_at = None, role, None
    return row


def login_key(session: Session, user: User, *, hours: float) -> tuple[ApiKey, str]:
    """The key an API login hands out: the user's role, expiring after `hours`, ended by a new password."""
    now = utcnow()
    return create_api_key(session, name=f"login {user.username} {now:%Y-%m-%d %H:%M}", role=user.role,
                          user_id=user.id, expires_at=now + timedelta(hours=hours),
                          user_epoch=user.session_epoch or 0)


def authenticate_key(session: Session, key: str, *, now: datetime | None = None) -> Principal | None:
    """The principal for a presented key, or None (unknown, revoked, expired, or its user disabled)."""
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == key_digest(key))).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return None
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if row.user_epoch is not None and row.user_epoch != (user.session_epoch or 0):
            return None
        return Principal(user.username, row.role, row.id, user.id)
    return Principal(f"key:{row.name}", row.role, row.id, None)


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"No API key {key_id}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def create_user(session: Session, *, username: str, password: str, role: str) -> User:
    _check_role(role)
    user = User(username=username, password_hash=_hasher().hash(password), role=role, active=True,
                created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """A new password for `user`, hashed as create_user hashes it; the user's sessions and login keys end."""
    user.password_hash = _hasher().hash(password)
    user.session_epoch = (user.session_epoch or 0) + 1


# -- review-screen sessions ---------------------------------------------------------------------------------

def start_ui_session(session: Session, user: User, *, hours: float) -> str:
    """A new session for `user`; returns its token (for the signed cookie), stored only as a digest."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(UiSession(token_hash=key_digest(token), user_id=user.id, epoch=user.session_epoch or 0,
                          created_at=now, expires_at=now + timedelta(hours=hours)))
    session.flush()
    return token


def ui_session_user(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user whose live session this token names, or None (logged out, expired, epoch moved on)."""
    row = session.scalars(select(UiSession).where(UiSession.token_hash == key_digest(token))).one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= (now or utcnow()):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or row.epoch != (user.session_epoch or 0):
        return None
    return user


def end_ui_session(session: Session, token: str) -> None:
    row = session.scalars(select(UiSession).where(UiSession.token_hash == key_digest(token))).one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


# -- log-in throttling ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Throttle:
    max_failures: int = 5                # per user name
    max_per_address: int = 20            # per client address
    window_s: float = 900.0

    @classmethod
    def from_settings(cls, settings) -> "Throttle":
        return cls(settings.login_max_failures, settings.login_max_failures_per_address, settings.login_window_s)


def login_refused_for(session: Session, throttle: Throttle, *, username: str, address: str,
                      now: datetime | None = None) -> float | None:
    """Seconds until a log-in as `username` from `address` is allowed again, or None when it is allowed now."""
    now = now or utcnow()
    since = now - timedelta(seconds=throttle.window_s)
    waits = []
    for column, value, limit in ((LoginFailure.username, _name_key(username), throttle.max_failures),
                                 (LoginFailure.address, address, throttle.max_per_address)):
        if limit <= 0:
            continue
        times = sorted(session.scalars(select(LoginFailure.at).where(column == value, LoginFailure.at > since)))
        if len(times) >= limit:          # allowed again when enough of them have left the window
            waits.append((times[len(times) - limit] - since).total_seconds())
    return max(1.0, max(waits)) if waits else None


def record_login_failure(session: Session, *, username: str, address: str, now: datetime | None = None) -> None:
    session.add(LoginFailure(username=_name_key(username), address=address[:64], at=now or utcnow()))
    cutoff = (now or utcnow()) - timedelta(days=1)          # keep the table small
    session.execute(delete(LoginFailure).where(LoginFailure.at < cutoff))


def clear_login_failures(session: Session, username: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == _name_key(username)))


def _name_key(username: str) -> str:
    return username.strip().lower()[:255]


def check_password(session: Session, *, username: str, password: str) -> User | None:
    """The active user with this name and password, or None."""
    from argon2.exceptions import VerifyMismatchError, VerificationError, InvalidHashError
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or not user.active:
        _hasher().hash(password)  # same work either way, so timing does not tell which names exist
        return None
    try:
        _hasher().verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def _hasher():
    from argon2 import PasswordHasher
    return PasswordHasher()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
