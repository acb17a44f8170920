"""Webhook subscriptions and their delivery log (issue 7), an outbox.

`record_event` writes one `webhook_deliveries` row per active subscription to the event, in the caller's
transaction, so an event is delivered only if what it reports was committed.  A sender (pipeline/webhooks.py)
takes due rows, POSTs them, and records each attempt: `delivered`, or back to `pending` with the next attempt
time (exponential backoff), or `failed` after the last attempt.  Rows are never deleted: they are the log.

A subscription's signing secret is kept encrypted (issue 18): the column holds "fernet:" + a Fernet token made with
the key set by `set_secret_key` (from INBOUND_SECRET_KEY, see pipeline/webhooks.py); reading decrypts it, so
callers see the plain secret.  A row written before that (plain text) is read as it is and sealed by
`seal_plain_secrets` at start-up.  Writing with no key set is refused rather than stored in the clear.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from models.tables import Base, Json
from models.types import UtcDateTime, utcnow

EVENTS = ("document.received", "document.extracted", "document.failed", "receipt.posted")
SEALED = "fernet:"
_fernet = None


class SecretKeyMissing(RuntimeError):
    """A webhook secret was to be written or read encrypted, but no key is set (INBOUND_SECRET_KEY)."""


def set_secret_key(material: str) -> None:
    """The key webhook secrets are sealed with: any string (a Fernet key is derived from its SHA-256)."""
    global _fernet
    from cryptography.fernet import Fernet
    if not material:
        raise ValueError("the webhook secret key is empty")
    _fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode("utf-8")).digest()))


def seal(secret: str) -> str:
    if _fernet is None:
        raise SecretKeyMissing("No secret key is set (INBOUND_SECRET_KEY): webhook secrets are not stored in the clear.")
    return SEALED + _fernet.encrypt(secret.encode("utf-8")).decode("ascii")


def unseal(stored: str) -> str:
    if not stored.startswith(SEALED):
        return stored                                   # a row from before encryption: plain text
    if _fernet is None:
        raise SecretKeyMissing("No secret key is set (INBOUND_SECRET_KEY) to read the webhook secret with.")
    from cryptography.fernet import InvalidToken
    try:
        return _fernet.decrypt(stored[len(SEALED):].encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise SecretKeyMissing("The webhook secret was sealed with another key: INBOUND_SECRET_KEY differs "
                               "from the one it was stored with.") from exc


class SealedSecret(TypeDecorator):
    """Text in the database that is a Fernet token of the value; plain (legacy) values read as they are."""
    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or value.startswith(SEALED):
            return value
        return seal(value)

    def process_result_value(self, value, dialect):
        return None if value is None else unseal(value)


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list] = mapped_column(Json, default=list)
    # the HMAC key (the receiver holds it too), sealed; loaded only when asked for, so that recording an event
    # never needs the key
    secret: Mapped[str] = mapped_column(SealedSecret, deferred=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)   # loopback/private targets, admin only
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def record_event(session: Session, event: str, data: dict) -> list[int]:
    """Queue `event` for every active subscriber; returns the delivery ids."""
    if event not in EVENTS:
        raise ValueError(f"event must be one of {EVENTS}, not {event!r}")
    now = utcnow()
    payload = {"event": event, "at": now.isoformat(), "data": data}
    ids = []
    subs = session.execute(select(WebhookSubscription.id, WebhookSubscription.events)
                           .where(WebhookSubscription.active.is_(True)).order_by(WebhookSubscription.id))
    for sub in subs:
        if event in (sub.events or []):
            row = WebhookDelivery(subscription_id=sub.id, event=event, payload=payload, status="pending",
                                  attempts=0, next_attempt_at=now, created_at=now)
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def due_deliveries(session: Session, *, limit: int = 50) -> list[WebhookDelivery]:
    """Pending deliveries whose time has come, oldest first, locked against other senders (PostgreSQL)."""
    query = (select(WebhookDelivery).where(WebhookDelivery.status == "pending",
                                           WebhookDelivery.next_attempt_at <= utcnow())
             .order_by(WebhookDelivery.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def resend_delivery(session: Session, delivery_id: int) -> WebhookDelivery | None:
    """A delivery sent again from its first attempt (a dead letter an admin resends, or one to repeat): pending,
    due now, its attempts counted afresh; None when there is no such delivery."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        return None
    row.status, row.attempts, row.next_attempt_at, row.delivered_at = "pending", 0, utcnow(), None
    session.flush()
    return row


def seal_plain_secrets(session: Session) -> int:
    """Encrypt subscriptions' secrets still stored in the clear (written before issue 18); returns how many."""
    rows = session.execute(text("SELECT id, secret FROM webhook_subscriptions")).all()
    plain = [(row_id, value) for row_id, value in rows if value is not None and not value.startswith(SEALED)]
    for row_id, value in plain:
        session.execute(text("UPDATE webhook_subscriptions SET secret = :s WHERE id = :i"),
                        {"s": seal(value), "i": row_id})
    return len(plain)
