"""Webhooks: a receiver on loopback gets document.received, document.extracted and receipt.posted, signed with
HMAC-SHA256; loopback targets need an admin's allowance; failed deliveries are retried with backoff and logged."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from db_support import db_url  # noqa: F401
from pipeline.webhooks import check_url, signature, verify_signature, UrlRefused
from service_support import auth, import_master, running_app, upload, wait_for, wait_read


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps what it gets; answers 500 to the first `fail_first` posts."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(500)
                else:
                    receiver.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [json.loads(body)["event"] for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver(fail_first=2)
    yield r
    r.close()


def test_signed_events_reach_a_loopback_receiver_after_retries(db_url, tmp_path, receiver):
    with running_app(db_url, tmp_path) as client:
        import_master(client)
        refused = client.post("/api/v1/webhooks", headers=auth(), json={"url": receiver.url, "events": ["document.received"]})
        assert refused.status_code == 422 and refused.json()["code"] == "url_refused"
        integration = client.post("/api/v1/api-keys", headers=auth(), json={"name": "erp", "role": "integration"}).json()
        not_admin = client.post("/api/v1/webhooks", headers=auth(integration["key"]),
                                json={"url": receiver.url, "events": ["document.received"], "allow_private": True})
        assert not_admin.status_code == 403
        sub = client.post("/api/v1/webhooks", headers=auth(), json={
            "url": receiver.url, "allow_private": True,
            "events": ["document.received", "document.extracted", "document.failed", "receipt.posted"]})
        assert sub.status_code == 201, sub.text
        secret = sub.json()["secret"]
        doc_id = upload(client, "INV-88213.pdf").json()["id"]
        wait_read(client)
        wait_for(lambda: len(receiver.received) >= 2, timeout_s=30)
        doc = client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json()
        assert all(line["product_match"]["id"] for line in doc["extraction"]["lines"])
        posted = client.post(f"/api/v1/documents/{doc_id}/confirm", headers=auth())
        assert posted.status_code == 200, posted.text
        wait_for(lambda: "receipt.posted" in receiver.events(), timeout_s=30)
        # each delivery retries on its own backoff, so arrival order is not promised; the payload's "at" gives it
        assert sorted(receiver.events()[:2]) == ["document.extracted", "document.received"]
        first = {json.loads(body)["event"]: json.loads(body)["at"] for _, body in receiver.received}
        assert first["document.received"] <= first["document.extracted"] <= first["receipt.posted"]
        for headers, body in receiver.received:
            assert verify_signature(secret, body, headers["X-Inbound-Signature"])
            assert headers["X-Inbound-Event"] == json.loads(body)["event"]
        assert json.loads(receiver.received[-1][1])["data"]["document_id"] == doc_id
        log = client.get(f"/api/v1/webhooks/{sub.json()['id']}/deliveries", headers=auth()).json()
        assert log["total"] == 3 and all(d["status"] == "delivered" for d in log["items"])
        assert sum(d["attempts"] for d in log["items"]) == 3 + 2       # the two 500s were retried


def test_url_guard_and_signature():
    with pytest.raises(UrlRefused):
        check_url("http://127.0.0.1:9/x", allow_private=False)
    with pytest.raises(UrlRefused):
        check_url("http://10.1.2.3/x", allow_private=False)
    with pytest.raises(UrlRefused):
        check_url("ftp://example.com/x", allow_private=True)
    check_url("http://127.0.0.1:9/x", allow_private=True)
    import hashlib
    import hmac
    assert signature("s", b"{}") == "sha256=" + hmac.new(b"s", b"{}", hashlib.sha256).hexdigest()
    assert not verify_signature("s", b"{}", signature("t", b"{}"))
