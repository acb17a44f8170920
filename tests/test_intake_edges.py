"""Intake edges against the real service (embedded SQLite): file names with NUL or CR/LF still download byte for
byte with a valid Content-Disposition; one request may not upload more than INBOUND_MAX_REQUEST_MB; the master
import has a size cap; the e-mail drop box caps attachments per message and messages per sender per hour, takes
an optional allow-list of sender domains, refuses a deeply nested message cleanly (no RecursionError), and one bad
message never stops an SMTP session or an IMAP pass."""

from __future__ import annotations

import shutil
import smtplib
import uuid

import pytest

from db_support import sqlite_template
from fixtures.hostile import crlf_name_mail, mail, nested_mime, text_pdf
from service_support import auth, running_app
from test_service_serve import free_port

CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


@pytest.fixture
def db_url(tmp_path):
    path = tmp_path / "inbound.db"
    shutil.copyfile(sqlite_template(), path)
    return f"sqlite:///{path}"


def _pdf(tag: str) -> bytes:
    return text_pdf(content=b"BT /F1 12 Tf 72 720 Td (Invoice %s Total 1.00) Tj ET" % tag.encode())


def _raw_upload(client, filename: bytes, data: bytes):
    """A multipart upload whose file name carries the bytes as given (httpx would escape control characters)."""
    boundary = "----inbound" + uuid.uuid4().hex
    body = (b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
            + b"\"\r\nContent-Type: application/pdf\r\n\r\n" + data + b"\r\n--" + boundary.encode() + b"--\r\n")
    return client.post("/api/v1/documents", content=body,
                       headers={**auth(), "Content-Type": f"multipart/form-data; boundary={boundary}"})


def _check_download(client, document_id: int, data: bytes) -> None:
    answer = client.get(f"/api/v1/documents/{document_id}/file", headers=auth())
    assert answer.status_code == 200
    assert answer.content == data                                       # the original, byte for byte
    disposition = answer.headers["content-disposition"]
    assert not CONTROL & set(disposition), disposition
    name = client.get(f"/api/v1/documents/{document_id}", headers=auth()).json()["filename"]
    assert not CONTROL & set(name), repr(name)


def test_a_nul_in_an_uploaded_file_name_still_downloads(db_url, tmp_path):
    data = _pdf("nul")
    with running_app(db_url, tmp_path) as client:
        answer = _raw_upload(client, b"invoice\x00.pdf\x00<script>", data)
        assert answer.status_code == 202, answer.text
        _check_download(client, answer.json()["id"], data)


def test_crlf_in_an_email_attachment_name_still_downloads(db_url, tmp_path):
    from pipeline.intake_email import receive_message
    data = _pdf("crlf")
    with running_app(db_url, tmp_path) as client:
        [received] = receive_message(client.app.state.services, crlf_name_mail(data))
        _check_download(client, received.document_id, data)
        name = client.get(f"/api/v1/documents/{received.document_id}", headers=auth()).json()["filename"]
        assert name == "evil__X-Injected: 1_.pdf"


def test_one_request_may_not_upload_more_than_the_request_cap(db_url, tmp_path):
    big = _pdf("big") + b"%" + b"x" * 900_000 + b"\n"
    with running_app(db_url, tmp_path, max_upload_mb=1, max_request_mb=2) as client:
        files = [("file", (f"f{i}.pdf", big.replace(b"big", b"bi%d" % i), "application/pdf")) for i in range(3)]
        answer = client.post("/api/v1/documents", headers=auth(), files=files)
        assert answer.status_code == 413 and answer.json()["code"] == "too_large", answer.text
        assert client.get("/api/v1/documents", headers=auth()).json()["total"] == 0      # nothing of it kept
        answer = client.post("/api/v1/documents", headers=auth(), files=files[:2])
        assert answer.status_code == 202, answer.text


def test_the_master_import_has_a_size_cap(db_url, tmp_path):
    csv = b"sku,name,unit\n" + b"".join(b"P%06d,Part %d,pcs\n" % (i, i) for i in range(2000))
    with running_app(db_url, tmp_path, max_import_mb=0.01) as client:
        answer = client.post("/api/v1/master/import", headers=auth(), files={"file": ("products.csv", csv)},
                             data={"kind": "products"})
        assert answer.status_code == 413 and answer.json()["code"] == "too_large", answer.text


def test_email_caps_allow_list_and_depth(db_url, tmp_path):
    from pipeline.intake_email import MessageRefused, receive_message
    sender = f"billing-{uuid.uuid4().hex[:8]}@supplier.example"
    with running_app(db_url, tmp_path, email_max_attachments=3, email_max_per_sender_hour=2,
                     email_allowed_domains="supplier.example, partner.example") as client:
        services = client.app.state.services
        with pytest.raises(MessageRefused) as refused:
            receive_message(services, mail([(f"a{i}.pdf", _pdf(f"a{i}")) for i in range(4)], sender=sender))
        assert refused.value.code == "too_many_attachments" and not refused.value.temporary
        assert client.get("/api/v1/documents", headers=auth()).json()["total"] == 0
        with pytest.raises(MessageRefused) as refused:
            receive_message(services, mail([("x.pdf", _pdf("x"))], sender="someone@elsewhere.example"))
        assert refused.value.code == "sender_not_allowed"
        assert len(receive_message(services, mail([("s.pdf", _pdf("s"))], sender="a@eu.partner.example"))) == 1
        now = 1_000_000.0
        for i in range(2):
            assert len(receive_message(services, mail([(f"r{i}.pdf", _pdf(f"r{i}"))], sender=sender), now=now))
        with pytest.raises(MessageRefused) as refused:
            receive_message(services, mail([("r2.pdf", _pdf("r2"))], sender=sender), now=now + 60)
        assert refused.value.code == "too_many_messages" and refused.value.temporary
        assert len(receive_message(services, mail([("r3.pdf", _pdf("r3"))], sender=sender), now=now + 3601)) == 1
        with pytest.raises(MessageRefused) as refused:
            receive_message(services, nested_mime(5000))
        assert refused.value.code == "mime_too_deep"


def test_smtp_refuses_a_bad_message_and_takes_the_next(db_url, tmp_path):
    port = free_port()
    with running_app(db_url, tmp_path, smtp_port=port) as client:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.sendmail("sender@example.com", ["invoices@inbound.local"], nested_mime(5000))
            assert refused.value.smtp_code == 550 and b"nested" in refused.value.smtp_error
            smtp.sendmail("sender@example.com", ["invoices@inbound.local"], mail([("ok.pdf", _pdf("ok"))]))
        listed = client.get("/api/v1/documents", headers=auth(), params={"source": "email"}).json()
        assert listed["total"] == 1


def test_one_bad_message_never_stops_an_imap_pass(db_url, tmp_path, imap_server):
    from imap_tools import AND, MailBoxUnencrypted
    from pipeline.intake_email import poll_imap
    from test_service_imap import PASSWORD, USER
    with MailBoxUnencrypted("127.0.0.1", imap_server).login(USER, PASSWORD) as box:
        for uid in box.uids():
            box.flag(uid, "\\Seen", True)                    # messages of other tests: out of this pass
        box.append(nested_mime(5000), "INBOX", flag_set=())
        box.append(mail([(f"a{i}.pdf", _pdf(f"m{i}")) for i in range(30)]), "INBOX", flag_set=())
        box.append(mail([("good.pdf", _pdf("good"))]), "INBOX", flag_set=())
    with running_app(db_url, tmp_path) as client:
        stored = poll_imap(client.app.state.services, host="127.0.0.1", port=imap_server, user=USER,
                           password=PASSWORD, ssl=False)
        assert stored == 1
    with MailBoxUnencrypted("127.0.0.1", imap_server).login(USER, PASSWORD) as box:
        assert box.uids(AND(seen=False)) == []              # the refused ones are flagged too: not read again


from test_service_imap import imap_server  # noqa: E402,F401  (the dovecot fixture)


def test_hostile_uploads_fail_with_a_reason_and_stay_downloadable(db_url, tmp_path):
    """Through the service: bombs and disguised files end `failed` with a stable reason, the pipeline goes on
    (a good document after them is read), and each original downloads byte for byte."""
    from fixtures.hostile import CorpusCache
    from service_support import wait_read
    wanted = {"deflate_bomb.pdf": "too_large", "zugferd_bomb.pdf": "too_large", "exe_renamed.pdf": "unsupported_type",
              "image_30000.png": "too_large", "xxe.xml": "unsafe_xml", "ofd_traversal.ofd": "unsafe_xml"}
    files = CorpusCache.get()
    with running_app(db_url, tmp_path) as client:
        ids = {}
        for name in wanted:
            answer = client.post("/api/v1/documents", headers=auth(),
                                 files={"file": (name, files[name], "application/octet-stream")})
            assert answer.status_code == 202, answer.text
            ids[name] = answer.json()["id"]
        good = client.post("/api/v1/documents", headers=auth(), files={"file": ("good.pdf", _pdf("after"))})
        wait_read(client)
        for name, code in wanted.items():
            doc = client.get(f"/api/v1/documents/{ids[name]}", headers=auth()).json()
            assert doc["status"] == "failed", (name, doc["status"])
            assert code in (doc["failure_reason"] or "") or code in str(doc["issues"]), (name, doc["failure_reason"])
            assert client.get(f"/api/v1/documents/{ids[name]}/file", headers=auth()).content == files[name]
        after = client.get(f"/api/v1/documents/{good.json()['id']}", headers=auth()).json()
        assert after["status"] != "failed", after["failure_reason"]
