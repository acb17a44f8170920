"""Intake: bytes from any door (upload, API, email, folder) become a stored document with a queued run.

The order is what keeps originals safe: the bytes go to the blob store first; then one transaction creates the
document, its run and the `document.received` event; only after commit is the run handed to a worker.  The same
bytes again (any door) give the existing document and nothing new (`duplicate=True`).
With the broker unreachable after commit the document is kept all the same: the run stays unsent
(`processing.dispatch`), the answer says `queued` (`sent=False`), and the sweep sends it when the broker is back.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError

from extractors.errors import InputError
from models.db import transaction
from models.documents import create_document
from models.runs import queue_run
from models.webhooks import record_event
from pipeline.blobs import sha256_of
from pipeline.runtime import Services

log = logging.getLogger("inbound.intake")
SUPPORTED_SUFFIXES = (".pdf", ".ofd", ".xml", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".txt")


class TooLargeUpload(InputError):
    code = "too_large"


class EmptyUpload(InputError):
    code = "empty_file"


@dataclass(frozen=True, slots=True)
class Received:
    document_id: int
    sha256: str
    status: str
    duplicate: bool
    sent: bool = True        # False: the broker was unreachable; the run waits for the sweep

    def to_json(self) -> dict:
        out = {"id": self.document_id, "status": self.status, "sha256": self.sha256}
        if self.duplicate:
            out["duplicate"] = True
        if not self.sent:
            out["queued"] = True
            out["detail"] = ("Stored and queued: the reading service is unreachable just now; the document will be "
                             "read as soon as it is back.")
        return out


def supported(filename: str) -> bool:
    return filename.lower().endswith(SUPPORTED_SUFFIXES)


def receive(services: Services, data: bytes, *, filename: str, source: str, who: str,
            mime: str | None = None, supplier_hint: int | None = None) -> Received:
    """Store `data` and queue it for reading; the existing document when these bytes are known.
    supplier_hint: the supplier the door suggests (an email's sender), used when matching finds none."""
    if not data:
        raise EmptyUpload(f"{filename or 'The file'} is empty; nothing was stored.")
    limit = services.settings.max_upload_bytes
    if len(data) > limit:
        raise TooLargeUpload(f"{filename or 'The file'} is {len(data) / 2**20:.1f} MB, more than the limit of "
                             f"{limit / 2**20:g} MB.")
    sha = sha256_of(data)
    services.blobs.put(data)                      # the original is safe before anything else happens
    mime = mime or mimetypes.guess_type(filename)[0]
    try:
        received, run_id = _record(services, sha=sha, size=len(data), filename=filename, source=source, who=who,
                                   mime=mime, hint=supplier_hint)
    except IntegrityError:                        # the same bytes arrived at the same moment by another door
        received, run_id = _record(services, sha=sha, size=len(data), filename=filename, source=source, who=who,
                                   mime=mime, hint=supplier_hint)
    if run_id is not None:
        log.info("document received", extra={"document": received.document_id, "sha256": sha})
        from pipeline.processing import dispatch
        if not dispatch(services, [run_id]):
            received = replace(received, sent=False)
        try:
            services.wake_webhooks()
        except Exception as exc:  # the broker down: the beat (or the next event) sends the deliveries
            log.warning("webhooks not woken (%s)", type(exc).__name__)
    return received


def _record(services: Services, *, sha: str, size: int, filename: str, source: str, who: str,
            mime: str | None, hint: int | None) -> tuple[Received, int | None]:
    with transaction(services.factory) as session:
        document, created = create_document(session, sha256=sha, filename=filename[:512] or sha, mime=mime,
                                            size_bytes=size, source=source, blob_ref=sha, who=who)
        if not created:
            return Received(document.id, sha, document.status, True), None
        document.supplier_id = hint
        run = queue_run(session, document_id=document.id, sha256=sha, reason="intake")
        record_event(session, "document.received", {"id": document.id, "sha256": sha, "source": source,
                                                    "filename": document.filename})
        return Received(document.id, sha, document.status, False), run.id
