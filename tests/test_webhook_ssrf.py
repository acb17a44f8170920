"""Webhook targets (issue 18, finding 6 and the secrets of finding 2).

The guard's decision is tested on addresses only (no traffic leaves 127.0.0.1): carrier-grade NAT 100.64.0.0/10
and every other non-public range is refused; a name is resolved once and the request goes to the vetted address
(a receiver on loopback sees the name in Host, and the resolver was asked once).  Secrets are sealed at rest
with the key from INBOUND_SECRET_KEY, plain rows from before are read and then sealed, signatures are unchanged.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from db_support import db_url  # noqa: F401
from models.db import transaction
from models.webhooks import SEALED, SecretKeyMissing, WebhookSubscription, record_event, set_secret_key
from pipeline.webhooks import UrlRefused, address_refused, check_url, deliver_due, verify_signature
from service_support import auth, running_app, wait_for

REFUSED = ["100.64.0.1", "100.100.100.200", "100.127.255.254",            # carrier-grade NAT (cloud metadata)
           "127.0.0.1", "127.9.9.9", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
           "169.254.169.254", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255",
           "192.0.2.10", "198.18.0.1", "198.51.100.1", "203.0.113.5", "240.0.0.1", "192.0.0.8",
           "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
           "::ffff:127.0.0.1", "::ffff:100.64.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
           "64:ff9b::a9fe:a9fe", "64:ff9b::6440:1", "2002:a00:1::1", "2002:6440:1::1"]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.1", "2606:4700:4700::1111",
          "2a00:1450:4001:81c::200e", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_every_non_public_address_is_refused(address):
    assert address_refused(address) is not None, address


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert address_refused(address) is None, address


def fake_dns(answers: dict[str, list[list[str]]], calls: list[str]):
    """A resolver answering each name from its list of answers in turn (a rebinding DNS server)."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        calls.append(host)
        rounds = answers[host]
        ips = rounds[min(len(calls) - 1, len(rounds) - 1)]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (ip, port, 0, 0) if ":" in ip else (ip, port)) for ip in ips]
    return resolve


def test_cgnat_and_mixed_answers_are_refused_by_name():
    calls: list[str] = []
    resolve = fake_dns({"meta.example.test": [["100.100.100.200"]], "mixed.example.test": [["8.8.8.8", "10.0.0.7"]]},
                       calls)
    with pytest.raises(UrlRefused, match="carrier-grade NAT"):
        check_url("http://meta.example.test/latest", allow_private=False, resolve=resolve)
    with pytest.raises(UrlRefused, match="10.0.0.7"):
        check_url("https://mixed.example.test/hook", allow_private=False, resolve=resolve)


def test_the_vetted_address_is_the_one_connected_to():
    """Resolved once: a second answer (rebinding to loopback) is never asked for; the URL carries the address."""
    calls: list[str] = []
    resolve = fake_dns({"hooks.example.test": [["93.184.216.34"], ["127.0.0.1"]]}, calls)
    target = check_url("https://hooks.example.test:8443/in?x=1", allow_private=False, resolve=resolve)
    assert calls == ["hooks.example.test"]
    assert target.address == "93.184.216.34"
    assert target.url == "https://93.184.216.34:8443/in?x=1"
    assert target.host == "hooks.example.test" and target.host_header == "hooks.example.test:8443"
    six = check_url("http://v6.example.test/h", allow_private=False,
                    resolve=fake_dns({"v6.example.test": [["2606:4700:4700::1111"]]}, []))
    assert six.url == "http://[2606:4700:4700::1111]/h" and six.host_header == "v6.example.test"


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({**self.headers, "path": self.path}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_a_send_resolves_once_and_keeps_the_name_in_host(db_url, tmp_path, receiver, monkeypatch):
    """End to end on loopback (an admin-allowed private target): the name is looked up once per send -- the HTTP
    client connects to the vetted address and does not look the name up again -- and Host names the name."""
    calls: list[str] = []
    name = "hooks.example.test"
    with running_app(db_url, tmp_path, secret_key="test-secret-key-for-webhooks") as client:
        services = client.app.state.services
        services.sender.close()                     # send by hand below, with the resolver watched
        monkeypatch.setattr(socket, "getaddrinfo", fake_dns({name: [["127.0.0.1"], ["127.0.0.2"]]}, calls))
        made = client.post("/api/v1/webhooks", headers=auth(), json={
            "url": f"http://{name}:{receiver.port}/hook", "events": ["document.received"], "allow_private": True,
            "secret": "shared-signing-secret"})
        assert made.status_code == 201, made.text
        calls.clear()
        with transaction(services.factory) as session:
            record_event(session, "document.received", {"id": 1})
        assert deliver_due(services.factory, attempts=1) == 1
        assert calls == [name]                      # once: the old code resolved it twice (check, then httpx)
        headers, body = receiver.received[0]
        assert headers["Host"] == f"{name}:{receiver.port}"
        assert verify_signature("shared-signing-secret", body, headers["X-Inbound-Signature"])
        assert json.loads(body)["data"] == {"id": 1}


def test_secrets_are_sealed_at_rest_and_plain_rows_are_sealed_on_start(db_url, tmp_path, receiver):
    key = "test-secret-key-for-webhooks"
    with running_app(db_url, tmp_path, secret_key=key) as client:
        made = client.post("/api/v1/webhooks", headers=auth(), json={
            "url": f"http://127.0.0.1:{receiver.port}/hook", "events": ["document.received"], "allow_private": True})
        secret, sub_id = made.json()["secret"], made.json()["id"]
        factory = client.app.state.services.factory
        with factory() as session:
            raw = session.execute(text("SELECT secret FROM webhook_subscriptions WHERE id = :i"), {"i": sub_id}).scalar()
            assert raw.startswith(SEALED) and secret not in raw
            assert session.get(WebhookSubscription, sub_id).secret == secret
            # a row as written before issue 18: the secret in the clear
            session.execute(text("INSERT INTO webhook_subscriptions (url, events, secret, active, allow_private, "
                                 "created_by, created_at) VALUES (:u, :e, 'old-plain-secret', :t, :t, 'old', :c)"),
                            {"u": f"http://127.0.0.1:{receiver.port}/old", "e": json.dumps(["document.received"]),
                             "t": True, "c": "2026-01-01 00:00:00"})
            session.commit()
            old_id = session.execute(text("SELECT max(id) FROM webhook_subscriptions")).scalar()
        with factory() as session:
            assert session.get(WebhookSubscription, old_id).secret == "old-plain-secret"     # read as it is
        # a delivery to the plain row's receiver is signed with the plain secret, as before
        with transaction(factory) as session:
            record_event(session, "document.received", {"id": 7})
        client.app.state.services.sender.wake()
        wait_for(lambda: len(receiver.received) == 2)
        by_path = {h["path"]: (h, body) for h, body in receiver.received}
        for path, key_used in (("/hook", secret), ("/old", "old-plain-secret")):
            headers, body = by_path[path]
            assert verify_signature(key_used, body, headers["X-Inbound-Signature"]), path
    with running_app(db_url, tmp_path, secret_key=key) as client:    # the next start seals the plain row
        with client.app.state.services.factory() as session:
            raw = session.execute(text("SELECT secret FROM webhook_subscriptions WHERE id = :i"), {"i": old_id}).scalar()
            assert raw.startswith(SEALED) and "old-plain-secret" not in raw
            assert session.get(WebhookSubscription, old_id).secret == "old-plain-secret"
    set_secret_key("another-key-entirely")                               # a different INBOUND_SECRET_KEY
    try:
        from models.db import make_engine, session_factory
        engine = make_engine(client.app.state.services.settings.db_url)
        with session_factory(engine)() as session, pytest.raises(SecretKeyMissing, match="another key"):
            session.get(WebhookSubscription, sub_id).secret
        engine.dispose()
    finally:
        set_secret_key(key)


def test_the_key_file_is_private_when_no_key_is_set(tmp_path):
    from pipeline.config import Settings
    from pipeline.webhooks import secret_key_material
    settings = Settings(home=tmp_path, secret_key="")
    first = secret_key_material(settings)
    assert len(first) >= 32 and secret_key_material(settings) == first
    assert (tmp_path / "secret-key").stat().st_mode & 0o077 == 0
    assert secret_key_material(Settings(home=tmp_path, secret_key="from-env")) == "from-env"


def test_a_secret_sealed_with_another_key_fails_that_delivery_only(db_url, tmp_path, receiver):
    from models.webhooks import WebhookDelivery
    key = "test-secret-key-for-webhooks"
    with running_app(db_url, tmp_path, secret_key=key) as client:
        services = client.app.state.services
        services.sender.close()
        made = client.post("/api/v1/webhooks", headers=auth(), json={
            "url": f"http://127.0.0.1:{receiver.port}/hook", "events": ["document.received"], "allow_private": True})
        assert made.status_code == 201
        set_secret_key("a-different-key")          # e.g. INBOUND_SECRET_KEY changed on one machine
        try:
            with transaction(services.factory) as session:
                record_event(session, "document.received", {"id": 3})
            assert deliver_due(services.factory, attempts=1) == 1          # the pass goes on, no exception
            with services.factory() as session:
                row = session.query(WebhookDelivery).one()
                assert row.status == "failed" and "another key" in row.last_error
            assert receiver.received == []
        finally:
            set_secret_key(key)
