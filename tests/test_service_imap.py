"""IMAP polling against a real IMAP server: Debian's dovecot-imapd, started here on loopback with a test mailbox
(scripts/service-tools.sh installs it).  Messages are flagged seen (or moved) only after their documents are
stored; a second pass stores nothing new."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from db_support import db_url  # noqa: F401
from service_support import DEMO, auth, running_app, wait_read
from test_service_intake import _mail
from test_service_serve import free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "invoices", "mailbox-secret"
CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@pytest.fixture(scope="module")
def imap_server():
    if not os.path.exists(DOVECOT) or os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("dovecot-imapd is not installed (scripts/service-tools.sh)")
        pytest.skip("dovecot-imapd not installed, or not root")
    folder = Path(tempfile.mkdtemp(prefix="inbound-dovecot-"))
    folder.chmod(0o755)
    port = free_port()
    (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    import pwd
    owner = pwd.getpwnam("dovecot")                 # mail may not be stored as root: the mail dir is dovecot's
    (folder / "mail").mkdir()
    os.chown(folder / "mail", owner.pw_uid, owner.pw_gid)
    (folder / "dovecot.conf").write_text(CONFIG.format(d=folder, port=port, uid=owner.pw_uid, gid=owner.pw_gid))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(folder / "dovecot.conf")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _append(port: int, message) -> None:
    from imap_tools import MailBoxUnencrypted
    with MailBoxUnencrypted("127.0.0.1", port).login(USER, PASSWORD) as box:
        box.append(message.as_bytes(), "INBOX", flag_set=())


def test_polling_a_mailbox(db_url, tmp_path, imap_server):
    from imap_tools import AND, MailBoxUnencrypted
    from pipeline.intake_email import poll_imap
    pdf = (DEMO / "cn-vat-demo.pdf").read_bytes()
    _append(imap_server, _mail(("cn-vat-demo.pdf", pdf, "application/pdf")))
    _append(imap_server, _mail())                                           # no attachment: nothing to store
    with running_app(db_url, tmp_path) as client:
        services = client.app.state.services
        assert poll_imap(services, host="127.0.0.1", port=imap_server, user=USER, password=PASSWORD, ssl=False) == 1
        assert poll_imap(services, host="127.0.0.1", port=imap_server, user=USER, password=PASSWORD, ssl=False) == 0
        wait_read(client)
        docs = client.get("/api/v1/documents", headers=auth(), params={"source": "email"}).json()
        assert docs["total"] == 1 and docs["items"][0]["filename"] == "cn-vat-demo.pdf"
        assert docs["items"][0]["status"] in ("needs_review", "ready")
    with MailBoxUnencrypted("127.0.0.1", imap_server).login(USER, PASSWORD) as box:
        assert len(list(box.fetch(AND(seen=False), mark_seen=False))) == 0
        assert len(list(box.fetch(AND(seen=True), mark_seen=False))) >= 2          # flagged, not deleted


def test_serve_polls_the_mailbox_and_idles(db_url, tmp_path, imap_server):
    """With INBOUND_IMAP_* set the service polls on its own; the server's IDLE brings new mail in at once (the
    poll interval here is a minute)."""
    from service_support import wait_for
    with running_app(db_url, tmp_path, imap_host="127.0.0.1", imap_port=imap_server, imap_ssl=False,
                     imap_user=USER, imap_password=PASSWORD, imap_poll_s=60) as client:
        time.sleep(1)                                                       # the poller is in IDLE now
        pdf = (DEMO / "INV-88213.pdf").read_bytes()
        _append(imap_server, _mail((f"INV-{os.urandom(3).hex()}.pdf", pdf, "application/pdf")))
        doc = wait_for(lambda: client.get("/api/v1/documents", headers=auth(), params={"source": "email"}
                                          ).json()["items"], timeout_s=15)
        assert doc[0]["filename"].startswith("INV-")
