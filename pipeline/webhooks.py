"""Sending webhook deliveries (the outbox in models/webhooks.py) and guarding where they may go.

Each delivery is POSTed as JSON with
    X-Inbound-Event: document.extracted
    X-Inbound-Delivery: <delivery id>
    X-Inbound-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the subscription's secret>
A sender leases the due rows it takes (their next attempt moved past its time-out, in the transaction that
picked them, SKIP LOCKED on PostgreSQL), so two senders never post the same delivery.  A 2xx answer marks it delivered; anything else (or no answer) schedules the next attempt after
backoff_s x 2^(attempt-1) (plus up to 10 % jitter), until `attempts` are spent: then `failed`.

Outbound URLs that resolve to loopback, private, link-local or reserved addresses are refused (at subscription
and again at each send, since DNS can change) unless an admin allowed that subscription (`allow_private`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import threading
from datetime import timedelta
from urllib.parse import urlsplit

from models.db import transaction
from models.types import utcnow
from models.webhooks import WebhookDelivery, WebhookSubscription, due_deliveries

log = logging.getLogger("inbound.webhooks")


class UrlRefused(ValueError):
    """The URL is not allowed as a webhook target."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, body), header or "")


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise UrlRefused unless `url` is http(s) and (unless allowed) resolves to public addresses only."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused(f"{url!r} is not an http(s) URL.")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise UrlRefused(f"{parts.hostname} does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if (address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
                or address.is_multicast or address.is_unspecified):
            raise UrlRefused(f"{parts.hostname} resolves to {address}, a loopback or private address; "
                             "an admin must allow private targets for this webhook.")


def deliver_due(factory, *, attempts: int = 8, backoff_s: float = 2.0, timeout_s: float = 10.0) -> int:
    """Send every delivery that is due once; returns how many were attempted."""
    import httpx
    with transaction(factory) as session:
        rows = due_deliveries(session)
        lease = utcnow() + timedelta(seconds=timeout_s + 30)
        for row in rows:                    # leased: another sender (process, thread) passes them by meanwhile
            row.next_attempt_at = lease
        due = [(d.id, d.subscription_id, d.event, d.payload) for d in rows]
        subs = {s.id: (s.url, s.secret, s.allow_private, s.active)
                for s in session.query(WebhookSubscription).filter(
                    WebhookSubscription.id.in_({d[1] for d in due} or {0}))}
    for delivery_id, sub_id, event, payload in due:
        url, secret, allow_private, active = subs[sub_id]
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        code, error = None, None
        if not active:
            error = "subscription disabled"
        else:
            try:
                check_url(url, allow_private=allow_private)
                response = httpx.post(url, content=body, timeout=timeout_s, follow_redirects=False, headers={
                    "Content-Type": "application/json", "User-Agent": "inbound-webhooks/1",
                    "X-Inbound-Event": event, "X-Inbound-Delivery": str(delivery_id),
                    "X-Inbound-Signature": signature(secret, body)})
                code = response.status_code
                if not 200 <= code < 300:
                    error = f"HTTP {code}"
            except (UrlRefused, httpx.HTTPError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
        _record_attempt(factory, delivery_id, code=code, error=error, attempts=attempts, backoff_s=backoff_s)
    return len(due)


def _record_attempt(factory, delivery_id: int, *, code: int | None, error: str | None, attempts: int,
                    backoff_s: float) -> None:
    with transaction(factory) as session:
        row = session.get(WebhookDelivery, delivery_id)
        row.attempts += 1
        row.last_status_code, row.last_error = code, error
        if error is None:
            row.status, row.delivered_at = "delivered", utcnow()
        elif row.attempts >= attempts:
            row.status = "failed"
            log.warning("webhook delivery %s failed for good: %s", delivery_id, error)
        else:
            delay = backoff_s * 2 ** (row.attempts - 1)
            row.next_attempt_at = utcnow() + timedelta(seconds=delay * (1 + random.random() / 10))


class WebhookSender:
    """A background thread that sends due deliveries when woken and every `poll_s` (retries come due)."""

    def __init__(self, factory, *, attempts: int, backoff_s: float, poll_s: float = 1.0) -> None:
        self.factory, self.attempts, self.backoff_s, self.poll_s = factory, attempts, backoff_s, poll_s
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._loop, name="inbound-webhooks", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=15)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                deliver_due(self.factory, attempts=self.attempts, backoff_s=self.backoff_s)
            except Exception:  # keep sending later; the log has it
                log.exception("webhook sender pass failed")
