"""The S3 server stopped and started again (issue 18), with the MinIO SDK store against moto's S3 server on
loopback: while it is down an upload answers 503 with Retry-After and is not acknowledged (no document row, so
nothing acknowledged is lost), the original of an earlier document answers 503 too; once it is back the earlier
original comes back byte for byte and the refused upload goes through."""

from __future__ import annotations

import shutil

from service_support import DEMO, auth, running_app, upload, wait_read


def test_s3_down_and_back(tmp_path):
    from moto.server import ThreadedMotoServer

    from db_support import sqlite_template
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    shutil.copyfile(sqlite_template(), tmp_path / "inbound.db")
    first, second = (DEMO / "INV-88213.pdf").read_bytes(), (DEMO / "RE-2026-0412.pdf").read_bytes()
    try:
        with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path, s3_endpoint=f"{host}:{port}",
                         s3_access_key="test", s3_secret_key="testtest", s3_bucket="inbound-faults") as client:
            kept = upload(client, "INV-88213.pdf", first).json()
            wait_read(client)

            server.stop()                                               # the S3 server goes away
            refused = upload(client, "RE-2026-0412.pdf", second)
            assert refused.status_code == 503, refused.text
            assert refused.headers.get("Retry-After", "").isdigit()
            assert "retried" not in refused.json()["detail"] and "nothing was stored" in refused.json()["detail"]
            listed = client.get("/api/v1/documents", headers=auth()).json()["items"]
            assert [d["id"] for d in listed] == [kept["id"]]           # not acknowledged: no document for it
            away = client.get(f"/api/v1/documents/{kept['id']}/file", headers=auth())
            assert away.status_code == 503 and away.headers.get("Retry-After")

            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)   # … and comes back
            server.start()
            back = client.get(f"/api/v1/documents/{kept['id']}/file", headers=auth())
            assert back.status_code == 200 and back.content == first   # reads resume, byte for byte
            again = upload(client, "RE-2026-0412.pdf", second)
            assert again.status_code == 202, again.text
            wait_read(client)
            doc = client.get(f"/api/v1/documents/{again.json()['id']}", headers=auth()).json()
            assert doc["status"] in ("needs_review", "ready")
            assert client.get(f"/api/v1/documents/{doc['id']}/file", headers=auth()).content == second
    finally:
        server.stop()
