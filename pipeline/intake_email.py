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
import re
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


class MessageRefused(Exception):
    """A message this drop box does not take; `code` is stable, `message` the reason in words, `temporary` when
    the same message may be taken later (the sender's hourly cap), `smtp` the answer the SMTP receiver gives."""

    def __init__(self, code: str, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.code, self.message, self.temporary = code, message, temporary

    @property
    def smtp(self) -> str:
        return f"{'450 4.7.1' if self.temporary else '550 5.7.1'} {self.message}"


_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.IGNORECASE)
_MULTIPART = re.compile(rb"^content-type:\s*multipart/", re.IGNORECASE | re.MULTILINE)


def mime_depth(raw: bytes) -> int:
    """How deeply the multipart parts of `raw` nest, read from the bytes before parsing them (the standard
    parser recurses once per level and fails with RecursionError on a deep enough message): every boundary is
    open from where it is declared to its closing `--boundary--` line (or the end of the message)."""
    events = []
    for match in _MULTIPART.finditer(raw):
        found = _BOUNDARY.search(raw, match.end(), match.end() + 1000)
        if not found:
            continue
        boundary = found.group(1) or found.group(2)
        close = raw.find(b"--" + boundary + b"--", found.end())
        events += [(match.start(), 1), (close if close >= 0 else len(raw), -1)]
    depth = deepest = 0
    for _position, step in sorted(events, key=lambda e: (e[0], -e[1])):
        depth += step
        deepest = max(deepest, depth)
    return deepest


def tree_depth(message) -> int:
    """Levels of parts of a parsed message (multiparts and attached messages), counted without recursion."""
    deepest, stack = 0, [(message, 1)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack += [(child, depth + 1) for child in payload if hasattr(child, "is_multipart")]
    return deepest


def parse_message(raw: bytes, *, max_depth: int) -> EmailMessage:
    """The parsed message; MessageRefused (mime_too_deep) for parts nested deeper than `max_depth`, whether
    told from the bytes, by the parser giving up, or from the parsed tree (attached messages in messages)."""
    too_deep = f"The message's parts are nested more than {max_depth} deep; it was not read."
    depth = mime_depth(raw)
    if depth > max_depth:
        raise MessageRefused("mime_too_deep", f"The message's parts are nested {depth} deep; at most {max_depth} "
                                              "are accepted.")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except RecursionError as exc:
        raise MessageRefused("mime_too_deep", too_deep) from exc
    if tree_depth(message) > max_depth + 1:      # the message itself is level 1
        raise MessageRefused("mime_too_deep", too_deep)
    return message


class SenderLimits:
    """Messages taken per sender in the last hour (in this process), for `email_max_per_sender_hour`."""

    def __init__(self) -> None:
        import threading
        self._lock = threading.Lock()
        self._taken: dict[str, list[float]] = {}

    def check(self, sender: str, limit: int, now: float) -> None:
        if limit <= 0:
            return
        with self._lock:
            recent = [t for t in self._taken.get(sender, ()) if now - t < 3600]
            self._taken[sender] = recent
            if len(recent) >= limit:
                raise MessageRefused("too_many_messages", f"More than {limit} messages from {sender} in an hour; "
                                                          "send the rest later.", temporary=True)

    def taken(self, sender: str, now: float) -> None:
        with self._lock:
            self._taken.setdefault(sender, []).append(now)
            if len(self._taken) > 10_000:         # forget senders not heard from within the hour
                for key in [k for k, v in self._taken.items() if not v or now - v[-1] >= 3600]:
                    del self._taken[key]


SENDERS = SenderLimits()


def allowed_sender(sender: str, domains: str) -> bool:
    """True when `domains` (comma-separated, e.g. "supplier.cn, example.com") is empty or names the sender's
    domain or a parent of it."""
    wanted = [d.strip().lower().lstrip("@.") for d in (domains or "").split(",") if d.strip()]
    if not wanted:
        return True
    domain = sender.lower().rsplit("@", 1)[1] if "@" in sender else ""
    return any(domain == d or domain.endswith("." + d) for d in wanted)


def check_attachment_count(parts: list[Attachment], limit: int) -> None:
    if len(parts) > limit:
        raise MessageRefused("too_many_attachments", f"The message carries {len(parts)} documents; at most "
                                                     f"{limit} are taken from one message.")


def receive_message(services: Services, raw: bytes, *, now: float | None = None) -> list[Received]:
    """Store every document of one message; MessageRefused when the drop box does not take the message (too
    deeply nested, a sender outside the allowed domains or past its hourly cap, too many attachments: nothing of
    it is stored); raises on a store or database failure (nothing is acknowledged)."""
    import time
    s = services.settings
    message = parse_message(raw, max_depth=s.email_max_mime_depth)
    sender = parseaddr(str(message.get("From", "")))[1] or "unknown"
    if not allowed_sender(sender, s.email_allowed_domains):
        raise MessageRefused("sender_not_allowed", f"Messages from {sender} are not accepted here.")
    now = time.time() if now is None else now
    SENDERS.check(sender.lower(), s.email_max_per_sender_hour, now)
    try:
        parts = attachments(message)
    except RecursionError as exc:
        raise MessageRefused("mime_too_deep", "The message's parts are nested too deeply to be read.") from exc
    check_attachment_count(parts, s.email_max_attachments)
    SENDERS.taken(sender.lower(), now)
    hint = supplier_by_email(services, sender)
    results = []
    for part in parts:
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
        except MessageRefused as exc:             # not taken: the sender is told why (5xx: for good, 4xx: later)
            log.warning("message from %s refused (%s): %s", envelope.mail_from, exc.code, exc.message)
            return exc.smtp
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
    """One pass over the unseen messages; each is fetched as raw bytes and handled on its own, so one bad message
    (refused, unreadable, failing to store) never stops the pass: a refused one is flagged seen (or moved), or
    left unseen when the refusal is temporary (the sender's hourly cap); one that failed to store stays unseen and
    is tried again at the next pass."""
    from imap_tools import AND
    stored = 0
    for uid in box.uids(AND(seen=False)):
        try:
            raw = _fetch_raw(box, uid)
            if raw is None:
                continue
            try:
                stored += len(receive_message(services, raw))
            except MessageRefused as exc:
                log.warning("IMAP message %s refused (%s): %s", uid, exc.code, exc.message)
                if exc.temporary:
                    continue
            if move_to:
                box.move(uid, move_to)
            else:
                box.flag(uid, "\\Seen", True)
        except Exception:      # this message could not be stored: left unseen, the pass goes on
            log.exception("IMAP message %s not stored; it is tried again at the next pass", uid)
    return stored


def _fetch_raw(box, uid: str) -> bytes | None:
    """The message's bytes, without marking it seen (imap-tools would parse it on fetch, unguarded)."""
    from imap_tools.message import MailMessage
    result = box.client.uid("fetch", uid, "(BODY.PEEK[] UID FLAGS)")
    if result[0] != "OK" or not result[1] or result[1][0] is None:
        return None
    raw, _uid, _flags = MailMessage._get_message_data_parts(result[1])
    return raw or None


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
