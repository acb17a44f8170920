"""Users and API keys (issue 7): who may call the API, with which role.

Roles: clerk (reads, uploads, corrects, rejects), approver (+ confirms, posts), integration (a machine
account: uploads, reads, master data, webhooks), admin (everything: users, keys, private webhook targets).

Secrets are never stored: a user's password is an argon2 hash; an API key is stored as the SHA-256 of the key.
A plain digest is enough for keys because they are long random strings (no dictionary to try) and it lets a
request find its key by one indexed lookup; passwords are chosen by people, so they get a slow hash.
A revoked key stays as a row (revoked_at set) so the log of who did what still names it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, select
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
                   user_id: int | None = None) -> tuple[ApiKey, str]:
    """A new key (row, the key itself); the key is shown once and never stored."""
    _check_role(role)
    secret = secret or new_key_secret()
    row = ApiKey(key_hash=key_digest(secret), hint=secret[:8], name=name, role=role, user_id=user_id,
                 created_at=utcnow())
    session.add(row)
    session.flush()
    return row, secret


def ensure_api_key(session: Session, *, secret: str, name: str, role: str) -> ApiKey:
    """The key with this secret, created (or un-revoked with this role) when needed: for automation."""
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == key_digest(secret))).one_or_none()
    if row is None:
        return create_api_key(session, name=name, role=role, secret=secret)[0]
    row.revoked_at, row.role = None, role
    return row


def authenticate_key(session: Session, key: str) -> Principal | None:
    """The principal for a presented key, or None (unknown, revoked, or its user disabled)."""
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == key_digest(key))).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        if user is None or not user.active:
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
    """A new password for `user`, hashed as create_user hashes it."""
    user.password_hash = _hasher().hash(password)


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
