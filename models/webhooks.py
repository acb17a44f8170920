"""Webhook subscriptions and their delivery log (issue 7), an outbox.

`record_event` writes one `webhook_deliveries` row per active subscription to the event, in the caller's
transaction, so an event is delivered only if what it reports was committed.  A sender (pipeline/webhooks.py)
takes due rows, POSTs them, and records each attempt: `delivered`, or back to `pending` with the next attempt
time (exponential backoff), or `failed` after the last attempt.  Rows are never deleted: they are the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.tables import Base, Json
from models.types import UtcDateTime, utcnow

EVENTS = ("document.received", "document.extracted", "document.failed", "receipt.posted")


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list] = mapped_column(Json, default=list)
    secret: Mapped[str] = mapped_column(String(255))      # the HMAC key; the receiver holds it too
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
    for sub in session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))):
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
