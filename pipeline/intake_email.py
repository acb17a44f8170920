"""The email drop box: a built-in SMTP receiver (aiosmtpd) and IMAP polling (imap-tools); both hand every
supported attachment (and PDFs embedded inline in the body) to `intake.receive` with source `email`.

Safety of the originals decides the order: the SMTP receiver answers 250 only after every document of the
message is stored (else 451, and the sender tries again); the IMAP poller flags a message seen (or moves it)
only after its documents are stored.  The sender's address goes into the history (`who`: email:<address>)
and, when a supplier has that email address in the master data, is the supplier hint of the run's log.
Links to PDFs in the body are not fetched: the service makes no outbound requests on a sender's say-so.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

from extractors.errors import InputError
from pipeline.intake import Received, receive, supported
from pipeline.runtime import Services

log = logging.getLogger("inbound.email")
DOCUMENT_TYPES = ("application/pdf", "application/xml", "text/xml", "application/ofd", "image/png", "image/jpeg",
                  "image/tiff", "image/webp", "image/bmp")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes
    mime: str


def attachments(message: EmailMessage) -> list[Attachment]:
    """The parts of a message that are documents: attachments and inline parts of a supported type or name."""
    out = []
    for part in message.walk():
        if part.is_multipart():
            continue
        mime = part.get_content_type()
        filename = part.get_filename() or ""
        # named parts by their name (a .txt is a note, not a document, in mail); unnamed inline parts by type
        is_document = (supported(filename) and not filename.lower().endswith(".txt")) if filename \
            else mime in DOCUMENT_TYPES
        if not is_document:
            continue
        data = part.get_payload(decode=True) or b""
        if data:
            out.append(Attachment(filename or f"attachment{_suffix(mime)}", data, mime))
    return out


def _suffix(mime: str) -> str:
    return {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "image/tiff": ".tif"}.get(mime, "")


def supplier_by_email(services: Services, sender: str) -> int | None:
    """The supplier whose master-data email is the sender's address (or, failing that, whose address has the same
    domain, when only one supplier has it); None when none or several."""
    from sqlalchemy import func, select
    from models.tables import Supplier
    if "@" not in sender:
        return None
    with services.factory() as session:
        exact = session.scalars(select(Supplier.id).where(func.lower(Supplier.email) == sender.lower())).all()
        if len(exact) == 1:
            return exact[0]
        domain = sender.lower().rsplit("@", 1)[1]
        same = session.scalars(select(Supplier.id).where(func.lower(Supplier.email).like(f"%@{domain}"))).all()
        return same[0] if len(same) == 1 else None


def receive_message(services: Services, raw: bytes) -> list[Received]:
    """Store every document of one message; raises on a store or database failure (nothing is acknowledged)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    sender = parseaddr(str(message.get("From", "")))[1] or "unknown"
    hint = supplier_by_email(services, sender)
    results = []
    for part in attachments(message):
        try:
            results.append(receive(services, part.data, filename=part.filename, source="email",
                                   who=f"email:{sender}"[:255], mime=part.mime, supplier_hint=hint))
        except InputError as exc:                 # an empty or oversized attachment: skip it, keep the rest
            log.warning("attachment %s refused: %s", part.filename, exc.message)
    if not results:
        log.info("message from %s had no documents", sender)
    return results


class _SmtpHandler:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)         # any recipient: invoices@, receiving@, ...
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, receive_message, self.services, envelope.original_content or envelope.content)
        except Exception:  # the store or database failed: the sender keeps the message and retries
            log.exception("could not store a message from %s", envelope.mail_from)
            return "451 Requested action aborted: local error, try again later"
        return "250 Message accepted"


class SmtpDropBox:
    """The SMTP receiver on host:port, in its own thread (aiosmtpd Controller)."""

    def __init__(self, services: Services, *, host: str, port: int) -> None:
        from aiosmtpd.controller import Controller
        self.controller = Controller(_SmtpHandler(services), hostname=host, port=port,
                                     data_size_limit=services.settings.max_upload_bytes * 2)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def poll_imap(services: Services, *, host: str, port: int, user: str, password: str, folder: str = "INBOX",
              move_to: str | None = None, ssl: bool = False) -> int:
    """One pass over the unseen messages of a mailbox; returns the number of documents stored.
    Each message is flagged seen (or moved to `move_to`) only after its documents are stored."""
    with _mailbox(host, port, ssl).login(user, password, initial_folder=folder) as box:
        return poll_box(services, box, move_to=move_to)


def _mailbox(host: str, port: int, ssl: bool):
    from imap_tools import MailBox, MailBoxUnencrypted
    return (MailBox if ssl else MailBoxUnencrypted)(host, port)


def poll_box(services: Services, box, *, move_to: str | None) -> int:
    from imap_tools import AND
    stored = 0
    for message in box.fetch(AND(seen=False), mark_seen=False, bulk=False):
        stored += len(receive_message(services, message.obj.as_bytes()))
        if move_to:
            box.move(message.uid, move_to)
        else:
            box.flag(message.uid, "\\Seen", True)
    return stored


class ImapPoller:
    """Polls the mailbox in a thread: at once, then whenever the server says (IMAP IDLE, where it has it) or
    every `imap_poll_s`; a failed connection is logged and tried again after `imap_poll_s`."""

    def __init__(self, services: Services) -> None:
        import threading
        self.services = services
        self._stop = threading.Event()
        self._box = None
        self._thread = threading.Thread(target=self._loop, name="inbound-imap", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        import socket
        self._stop.set()
        box = self._box
        if box is not None:                       # wake a connection waiting in IDLE
            try:
                box.client.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        s = self.services.settings
        while not self._stop.is_set():
            try:
                with _mailbox(s.imap_host, s.imap_port, s.imap_ssl).login(
                        s.imap_user, s.imap_password, initial_folder=s.imap_folder) as box:
                    self._box = box
                    idle = "IDLE" in box.client.capabilities
                    while not self._stop.is_set():
                        poll_box(self.services, box, move_to=s.imap_move_to or None)
                        if idle:
                            box.idle.wait(timeout=min(s.imap_poll_s, 20))   # returns early on new mail
                        else:
                            self._stop.wait(s.imap_poll_s)
            except Exception:  # mailbox unreachable or refused: try again after a while
                if self._stop.is_set():
                    return
                log.exception("IMAP poll of %s failed", s.imap_host)
                self._stop.wait(s.imap_poll_s)
            finally:
                self._box = None
