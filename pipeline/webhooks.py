"""Sending webhook deliveries (the outbox in models/webhooks.py) and guarding where they may go.

Each delivery is POSTed as JSON with
    X-Inbound-Event: document.extracted
    X-Inbound-Delivery: <delivery id>
    X-Inbound-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the subscription's secret>
A sender leases the due rows it takes (their next attempt moved past its time-out, in the transaction that
picked them, SKIP LOCKED on PostgreSQL), so two senders never post the same delivery.  A 2xx answer marks it delivered; anything else (or no answer) schedules the next attempt after
backoff_s x 2^(attempt-1) (plus up to 10 % jitter), until `attempts` are spent: then `failed`.

Outbound URLs that resolve to anything but a public address are refused (at subscription and again at each send)
unless an admin allowed that subscription (`allow_private`): loopback, RFC 1918, link-local, ULA, carrier-grade
NAT 100.64.0.0/10 (where some clouds serve metadata), reserved, multicast, IPv4-mapped forms of those -- every
address `ipaddress` does not call global.  The name is resolved once per send and the request goes to the vetted
address itself (Host header and TLS SNI/certificate check still use the name), so a DNS answer cannot change
between the check and the connection.

Secrets are stored sealed (models/webhooks.py); `secret_key_material` gives the key: INBOUND_SECRET_KEY, else a
random key kept in $INBOUND_HOME/secret-key (made on first use, mode 600).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import random
import socket
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Text, type_coerce

from models.db import transaction
from models.types import utcnow
from models.webhooks import SecretKeyMissing, WebhookDelivery, WebhookSubscription, due_deliveries, unseal

log = logging.getLogger("inbound.webhooks")


class UrlRefused(ValueError):
    """The URL is not allowed as a webhook target."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, body), header or "")


CGNAT = ipaddress.ip_network("100.64.0.0/10")
# refused whatever this Python's ipaddress tables say (they have changed between releases)
NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
    "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
    "240.0.0.0/4", "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
    "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8"))


def secret_key_material(settings) -> str:
    """INBOUND_SECRET_KEY, else the key kept in $INBOUND_HOME/secret-key (made on first use)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.home) / "secret-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:                                    # made once, atomically: an API and a worker sharing the home agree
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):                 # the other process may be writing it this moment
            existing = path.read_text(encoding="utf-8").strip()
            if existing:
                return existing
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty; delete it or set INBOUND_SECRET_KEY") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value


def address_refused(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a webhook may not go to this address (None: a public address it may go to)."""
    ip = ipaddress.ip_address(str(address).split("%")[0]) if not isinstance(
        address, (ipaddress.IPv4Address, ipaddress.IPv6Address)) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_refused(ip.ipv4_mapped)              # ::ffff:a.b.c.d is a.b.c.d
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if inner is not None and address_refused(inner):
                return address_refused(inner)
        if ip in ipaddress.ip_network("64:ff9b::/96") or ip in ipaddress.ip_network("64:ff9b:1::/48"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)      # NAT64: the IPv4 it stands for
            if address_refused(embedded):
                return address_refused(embedded)
    if ip.version == 4 and ip in CGNAT:
        return "carrier-grade NAT"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global or any(ip.version == n.version and ip in n for n in NOT_PUBLIC):
        return "not public"
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """Where a send goes: the vetted address to connect to, and the name for Host and TLS."""
    url: str            # the URL with the address in place of the name
    host: str           # the name (Host header, SNI, certificate check)
    host_header: str
    address: str


def check_url(url: str, *, allow_private: bool, resolve=None) -> Target:
    """The vetted target, or UrlRefused unless `url` is http(s) and (unless allowed) every address its name
    resolves to is public.  The name is resolved here once; connect to `Target.address`, not the name."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused(f"{url!r} is not an http(s) URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UrlRefused(f"{url!r} has a bad port.") from exc
    host = parts.hostname
    try:
        infos = (resolve or socket.getaddrinfo)(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"{host} does not resolve.") from exc
    addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    if not addresses:
        raise UrlRefused(f"{host} does not resolve.")
    if not allow_private:
        for address in addresses:
            why = address_refused(address)
            if why is not None:
                raise UrlRefused(f"{host} resolves to {address}, a {why} address; "
                                 "an admin must allow private targets for this webhook.")
    address = addresses[0]
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = host if not parts.port else f"{host}:{parts.port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" + (f":{parts.port}" if parts.port else "")
    return Target(pinned, host, host_header, address)


def post_pinned(target: Target, *, body: bytes, headers: dict, timeout_s: float):
    """POST to the vetted address, with the name in Host and (https) in SNI and the certificate check."""
    import httpx
    extensions = {"sni_hostname": target.host} if target.url.startswith("https:") else {}
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        request = client.build_request("POST", target.url, content=body,
                                       headers={**headers, "Host": target.host_header}, extensions=extensions)
        return client.send(request)


def deliver_due(factory, *, attempts: int = 8, backoff_s: float = 2.0, timeout_s: float = 10.0) -> int:
    """Send every delivery that is due once; returns how many were attempted."""
    import httpx
    with transaction(factory) as session:
        rows = due_deliveries(session)
        lease = utcnow() + timedelta(seconds=timeout_s + 30)
        for row in rows:                    # leased: another sender (process, thread) passes them by meanwhile
            row.next_attempt_at = lease
        due = [(d.id, d.subscription_id, d.event, d.payload) for d in rows]
        sealed = type_coerce(WebhookSubscription.secret, Text)      # as stored: unsealed per delivery below
        subs = {row[0]: row[1:] for row in session.query(
            WebhookSubscription.id, WebhookSubscription.url, sealed, WebhookSubscription.allow_private,
            WebhookSubscription.active).filter(WebhookSubscription.id.in_({d[1] for d in due} or {0}))}
    for delivery_id, sub_id, event, payload in due:
        url, stored, allow_private, active = subs[sub_id]
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        code, error = None, None
        if not active:
            error = "subscription disabled"
        else:
            try:
                secret = unseal(stored)
                target = check_url(url, allow_private=allow_private)
                response = post_pinned(target, body=body, timeout_s=timeout_s, headers={
                    "Content-Type": "application/json", "User-Agent": "inbound-webhooks/1",
                    "X-Inbound-Event": event, "X-Inbound-Delivery": str(delivery_id),
                    "X-Inbound-Signature": signature(secret, body)})
                code = response.status_code
                if not 200 <= code < 300:
                    error = f"HTTP {code}"
            except (UrlRefused, SecretKeyMissing, httpx.HTTPError, OSError) as exc:
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
