"""Intake doors: the SMTP drop box (smtplib as the client) end to end — a mailed PDF becomes a draft, confirming
it changes on-hand, a signed webhook arrives — the watched folder (growing files, restarts, duplicates, refused
files) and `inbound ingest`."""

from __future__ import annotations

import os
import smtplib
import time
from email.message import EmailMessage

from db_support import db_url  # noqa: F401
from service_support import DEMO, auth, import_master, running_app, wait_for, wait_read
from test_api_webhooks import Receiver
from test_service_serve import free_port
from pipeline.webhooks import verify_signature


def _mail(*attachments: tuple[str, bytes, str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Brightline Billing <billing@brightline.example>"
    message["To"] = "invoices@inbound.local"
    message["Subject"] = "Invoice INV-88213"
    message.set_content("Please find our invoice attached.\nRegards")
    for name, data, mime in attachments:
        main, sub = mime.split("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return message


def test_a_mailed_pdf_becomes_a_draft_that_posts(db_url, tmp_path):
    port, receiver = free_port(), Receiver()
    try:
        with running_app(db_url, tmp_path, smtp_port=port) as client:
            import_master(client)
            hook = client.post("/api/v1/webhooks", headers=auth(), json={
                "url": receiver.url, "events": ["document.extracted", "receipt.posted"], "allow_private": True}).json()
            pdf = (DEMO / "INV-88213.pdf").read_bytes()
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                refused = smtp.send_message(_mail(("INV-88213.pdf", pdf, "application/pdf"),
                                                  ("notes.txt", b"not a document", "text/plain")))
            assert refused == {}
            wait_read(client)
            listed = client.get("/api/v1/documents", headers=auth(), params={"source": "email"}).json()
            assert listed["total"] == 1
            doc = client.get(f"/api/v1/documents/{listed['items'][0]['id']}", headers=auth()).json()
            assert doc["extraction"]["fields"]["document_number"]["value"] == "INV-88213"
            assert doc["history"][0]["who"] == "email:billing@brightline.example"
            product = doc["extraction"]["lines"][0]["product_match"]["id"]
            before = client.get("/api/v1/stock", headers=auth(), params={"product_id": product}).json()["on_hand"]
            assert client.post(f"/api/v1/documents/{doc['id']}/confirm", headers=auth()).status_code == 200
            after = client.get("/api/v1/stock", headers=auth(), params={"product_id": product}).json()["on_hand"]
            assert (before, after) == ("0", "10000")                  # 2 reels x 5000 pcs
            wait_for(lambda: "receipt.posted" in receiver.events())
            for headers, body in receiver.received:
                assert verify_signature(hook["secret"], body, headers["X-Inbound-Signature"])
    finally:
        receiver.close()


def test_the_watched_folder(db_url, tmp_path):
    inbox = tmp_path / "inbox"
    pdf = (DEMO / "INV-88213.pdf").read_bytes()
    with running_app(db_url, tmp_path, watch_dir=inbox) as client:
        growing = inbox / "INV-88213.pdf"
        with growing.open("wb") as out:
            out.write(pdf[:1000])
            out.flush()
            time.sleep(0.4)                                                # under the 1 s settle time
            assert not (inbox / "processed" / "INV-88213.pdf").exists()   # still growing: left alone
            out.write(pdf[1000:])
        (inbox / "song.mp3").write_bytes(b"ID3 not a document")
        wait_for(lambda: (inbox / "processed" / "INV-88213.pdf").exists() and (inbox / "failed" / "song.mp3").exists())
        wait_read(client)
        docs = client.get("/api/v1/documents", headers=auth(), params={"source": "folder"}).json()
        assert docs["total"] == 1 and docs["items"][0]["sha256"] == client.get(
            f"/api/v1/documents/{docs['items'][0]['id']}", headers=auth()).json()["sha256"]
    (inbox / "again.pdf").write_bytes(pdf)                                 # dropped while stopped; same bytes
    (inbox / "RE-2026-0412.pdf").write_bytes((DEMO / "RE-2026-0412.pdf").read_bytes())
    with running_app(db_url, tmp_path, watch_dir=inbox) as client:
        wait_for(lambda: not any(p.is_file() for p in inbox.iterdir()), timeout_s=30)
        wait_read(client)
        docs = client.get("/api/v1/documents", headers=auth(), params={"source": "folder"}).json()
        assert docs["total"] == 2
        assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["INV-88213.pdf", "RE-2026-0412.pdf",
                                                                           "again.pdf"]


def test_ingest_with_progress(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("INV-88213.pdf", "cn-vat-demo.pdf"):
        (folder / name).write_bytes((DEMO / name).read_bytes())
    (folder / "copy.pdf").write_bytes((DEMO / "INV-88213.pdf").read_bytes())
    env_home = tmp_path / "home"
    result = _inbound_env({"INBOUND_HOME": str(env_home), "INBOUND_DEMO": "0"}, "ingest", str(folder))
    assert result.returncode == 0, result.stderr
    assert "2 new, 1 already known, 0 refused" in result.stdout


def _inbound_env(env: dict, *args: str):
    import subprocess
    from conftest import INBOUND, ROOT
    return subprocess.run([INBOUND, *args], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, **env})


def test_the_sender_is_the_supplier_hint(db_url, tmp_path):
    port = free_port()
    with running_app(db_url, tmp_path, smtp_port=port) as client:
        client.post("/api/v1/suppliers", headers=auth(), json={"name": "Zeta Holdings", "email": "billing@brightline.example"})
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(_mail(("INV-88213.pdf", (DEMO / "INV-88213.pdf").read_bytes(), "application/pdf")))
        wait_read(client)
        doc = client.get("/api/v1/documents", headers=auth()).json()["items"][0]
        view = client.get(f"/api/v1/documents/{doc['id']}", headers=auth()).json()
        match = view["extraction"]["supplier_match"]
        assert (match["name"], match["method"], match["auto_accepted"]) == ("Zeta Holdings", "email_sender", False)
        assert view["supplier_id"] == int(match["id"])


def test_the_drop_box_answers_451_while_documents_cannot_be_stored(db_url, tmp_path):
    """The sender keeps the message (and tries again) unless every document of it is stored."""
    import pytest
    from pipeline.blobs import S3Store
    port = free_port()
    with running_app(db_url, tmp_path, smtp_port=port) as client:
        services = client.app.state.services
        working, services.blobs = services.blobs, S3Store(endpoint="127.0.0.1:9", access_key="a", secret_key="b",
                                                          bucket="down")
        message = _mail(("INV-88213.pdf", (DEMO / "INV-88213.pdf").read_bytes(), "application/pdf"))
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.send_message(message)
        assert refused.value.smtp_code == 451
        assert client.get("/api/v1/documents", headers=auth()).json()["total"] == 0
        services.blobs = working
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            assert smtp.send_message(message) == {}
        assert client.get("/api/v1/documents", headers=auth()).json()["total"] == 1
