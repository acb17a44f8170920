"""A webhook receiver down for an hour (issue 18), on a simulated clock: each attempt waits twice as long as the one
before (backoff), the delivery never goes out early, after the last attempt it is `failed` — the dead letter, shown
to the admin with its last answer on the deliveries list and the admin page — and when the receiver is back the
admin's resend delivers it once, signed as the first time would have been.

The receiver is a real HTTP server on 127.0.0.1 (down: nothing listening on its port); the clock is the module
clocks of pipeline.webhooks and models.webhooks moved by hand."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

from fastapi.testclient import TestClient

from service_support import auth, running_app


class Receiver:
    """An HTTP server on a fixed loopback port that can be started (up) and stopped (down); keeps what it got."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.got: list[tuple[dict, bytes]] = []
        self.server = None

    def up(self) -> None:
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def test_a_receiver_down_for_an_hour_backs_off_dead_letters_and_is_resent(tmp_path, monkeypatch):
    import models.webhooks
    import pipeline.webhooks
    from pipeline.webhooks import deliver_due, verify_signature
    clock = {"now": datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc)}
    now = lambda: clock["now"]                                        # noqa: E731
    monkeypatch.setattr(pipeline.webhooks, "utcnow", now)
    monkeypatch.setattr(models.webhooks, "utcnow", now)
    receiver = Receiver()                                             # down: nothing listens yet
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path, webhook_attempts=7, webhook_backoff_s=60) as client:
        client: TestClient
        services = client.app.state.services
        services.sender.close()                                       # this test sends, on its own clock
        sub = client.post("/api/v1/webhooks", headers=auth(), json={
            "url": f"http://127.0.0.1:{receiver.port}/hook", "events": ["document.received"], "allow_private": True})
        assert sub.status_code == 201, sub.text
        secret, hook = sub.json()["secret"], sub.json()["id"]
        from service_support import DEMO
        upload = client.post("/api/v1/documents", headers=auth(),
                             files={"file": ("INV-88213.pdf", (DEMO / "INV-88213.pdf").read_bytes())})
        assert upload.status_code == 202

        tries, waits, last = [], [], None
        for _ in range(80):                                           # over an hour, minute by minute
            sent = deliver_due(services.factory, attempts=7, backoff_s=60, timeout_s=2)
            if sent:
                tries.append(clock["now"])
                if last is not None:
                    waits.append((clock["now"] - last).total_seconds())
                last = clock["now"]
            clock["now"] += timedelta(minutes=1)
        [delivery] = client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=auth()).json()["items"]
        assert delivery["status"] == "failed" and delivery["attempts"] == 7       # the dead letter
        assert delivery["last_error"] and "Connect" in delivery["last_error"]
        assert len(tries) == 7 and receiver.got == []
        # the n-th wait is 60 s x 2^(n-1) plus up to 10 % jitter (1, 2, 4, 8, 16, 32 minutes), never early; the
        # minute-by-minute passes round it up by less than a minute
        for n, wait in enumerate(waits, 1):
            assert 60 * 2 ** (n - 1) <= wait <= 60 * 2 ** (n - 1) * 1.1 + 60, waits
        assert waits[0] >= 60 and 3600 <= sum(waits) <= 3600 + 900           # the receiver was away an hour

        receiver.up()
        try:
            again = client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/resend", headers=auth())
            assert again.status_code == 200 and again.json()["status"] == "pending"
            assert deliver_due(services.factory, attempts=7, backoff_s=60, timeout_s=5) == 1
            assert deliver_due(services.factory, attempts=7, backoff_s=60, timeout_s=5) == 0   # once
        finally:
            receiver.down()
        [(headers, body)] = receiver.got
        assert verify_signature(secret, body, headers["X-Inbound-Signature"])
        assert headers["X-Inbound-Event"] == "document.received" and json.loads(body)
        [delivery] = client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=auth()).json()["items"]
        assert delivery["status"] == "delivered"
        assert client.post("/api/v1/webhooks/deliveries/999999/resend", headers=auth()).status_code == 404
