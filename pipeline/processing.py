"""Reading a queued document: the body of the Celery task and of the in-process runner alike.

    run_document(services, run_id):
        claim the run (once: a redelivered task finds it taken or done and returns)
        load the original from the blob store and the master snapshot
        stages.process(...)  -> Draft                                  (pure; pipeline/stages.py)
        store the reading, the supplier, the status, the timings; queue `document.extracted`
    bad input -> the document is `failed` with the reason and `document.failed` is queued; the bytes stay.

Transient failures (blob store or database unreachable) put the run back to `queued` and re-raise, so the
task's retry (with backoff) finds it again.  `reprocess` queues a new run for a document already read; the
new reading replaces the document's, each run keeps the reading it made, and the history says so.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from extractors.errors import InboundError, InputError
from models.company import company_settings
from models.db import transaction
from models.documents import StoredDocuments, record_status, reviewable, set_reading, store_reading_keys
from models.errors import StateError
from models.runs import ProcessingRun, claim_run, finish_run, queue_run, run_state
from models.tables import Document, DocumentHistory
from models.types import utcnow
from models.webhooks import record_event
from pipeline.blobs import StoreUnavailable
from pipeline.log_context import bind_document, run_context
from pipeline.review import rate_issue
from pipeline.runtime import Services
from pipeline.stages import Draft, process, reading_json

log = logging.getLogger("inbound.pipeline")
TRANSIENT = (StoreUnavailable, OperationalError)
WHO = "pipeline"


def run_document(services: Services, run_id: int, *, take_over: bool = False) -> str:
    """Read the run's document; returns what happened: done, failed, skipped (finished or gone), busy (another
    attempt has it and is not known dead: the caller may try again later).  take_over: the caller knows the
    earlier attempt is dead (the broker redelivered its task)."""
    with run_context(run_id):
        return _run_document(services, run_id, take_over)


def _run_document(services: Services, run_id: int, take_over: bool) -> str:
    with transaction(services.factory) as session:
        run = session.get(ProcessingRun, run_id)
        if run is None:
            return "skipped"
        if not claim_run(session, run_id, stale_after_s=stale_after_s(services), take_over=take_over):
            return "busy" if run_state(session, run_id) == "running" else "skipped"
        document = session.get(Document, run.document_id)
        if document is None or document.sha256 != run.sha256:
            finish_run(session, run, status="failed", timings_ms={}, error="document gone or replaced")
            return "skipped"
        record_status(session, document, "processing", who=WHO, why=f"run {run_id}")
        filename, sha = document.filename, document.sha256
        hinted = str(document.supplier_id or "")     # an e-mail sender's supplier, or an earlier reading's
        bind_document(document.id, sha)
        master = services.master.get(session)
    known = known_documents(services)
    context = {"document": run.document_id, "sha256": sha}
    try:
        data = services.blobs.get(sha)
        draft = process(data, source=filename, sha256=sha, master=master, options=services.options,
                        known_documents=known, document_id=str(run.document_id), supplier_hint=hinted)
    except TRANSIENT:
        _release(services, run_id)
        raise
    except InputError as exc:
        log.warning("document failed: %s", exc.code, extra=context)
        reason = "timeout" if _timed_out(exc) else exc.code
        return _fail(services, run_id, reason=reason, message=exc.message)
    except Exception as exc:  # a bug of ours on this file, or a time limit: the document fails, the bytes stay
        log.exception("document failed: internal error", extra=context)
        if _timed_out(exc):     # Celery's per-document time limit, even where a reader wrapped it
            return _fail(services, run_id, reason="timeout", message="Reading this document took longer than "
                         f"{services.settings.task_time_limit_s:g} s and was stopped; it has been kept for review.")
        code = getattr(exc, "code", "read_error") if isinstance(exc, InboundError) else "read_error"
        return _fail(services, run_id, reason=code, message="This document could not be read because of an "
                     "internal error; it has been kept for review.")
    _store(services, run_id, draft)
    log.info("document extracted", extra={**context, "stage": "draft"})
    return "done"


def _timed_out(exc: BaseException | None) -> bool:
    """Whether Celery's soft time limit is behind this exception (raised inside a reader that wrapped it in
    its own error, e.g. OCR's ReadError, it sits in the cause/context chain)."""
    for _ in range(10):
        if exc is None:
            return False
        if type(exc).__name__ == "SoftTimeLimitExceeded":
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def stale_after_s(services: Services) -> float:
    """A run running longer than this has lost its worker (the hard time limit would have ended it)."""
    return services.settings.task_time_limit_s + 60


def reprocess(services: Services, document_id: int, *, who: str) -> int:
    """Queue a new reading of a document (after a model or rule update); returns the run id."""
    with transaction(services.factory) as session:
        document = session.get(Document, document_id)
        if document is None:
            from models.errors import NotFound
            raise NotFound(f"No document {document_id}.")
        if document.status not in ("needs_review", "ready", "failed"):
            raise StateError(f"A {document.status} document cannot be read again.")
        record_status(session, document, "processing", who=who, why="reprocess")
        run = queue_run(session, document_id=document.id, sha256=document.sha256, reason="reprocess")
        run_id = run.id
    services.submit(run_id)
    return run_id


def known_documents(services: Services) -> StoredDocuments:
    """The documents already read, for the duplicate check: matching asks for one document's candidates once it
    knows the supplier and number (one indexed query, in its own short transaction since `process` runs outside
    ours; the keys are the columns `set_reading` / `_replace_reading` keep from the machine reading)."""
    return StoredDocuments(services.factory)


def _store(services: Services, run_id: int, draft: Draft) -> None:
    extraction, matches = reading_json(draft)
    supplier = draft.match.supplier.id
    with transaction(services.factory) as session:
        run = session.get(ProcessingRun, run_id)
        if run is None or run.status != "running":
            return
        document = session.get(Document, run.document_id)
        status = draft.status
        if status == "ready" and rate_issue(draft.extraction, company_settings(session)) is not None:
            status = "needs_review"           # another currency and no rate known: the clerk enters one first
        if document.extraction is None:
            set_reading(session, document.id, extraction=extraction, matches=matches, who=WHO, status=status)
        else:
            _replace_reading(session, document, extraction, matches, run_id=run_id, status=status)
        if supplier:
            document.supplier_id = int(supplier)
        elif document.supplier_id is not None:    # the door's hint (an email's sender) where matching found none
            _hinted_supplier(session, document)
        finish_run(session, run, status="done", timings_ms=draft.timings_ms,
                   reading={"extraction": reviewable(extraction), "matches": matches})
        record_event(session, "document.extracted", {"id": document.id, "sha256": document.sha256,
                                                     "status": document.status,
                                                     "document_type": document.document_type,
                                                     "supplier_id": document.supplier_id})
    services.wake_webhooks()


def _hinted_supplier(session, document: Document) -> None:
    """Show the hinted supplier as the reviewer's first candidate (method `email_sender`, not auto-accepted)."""
    import copy
    from models.tables import Supplier
    supplier = session.get(Supplier, document.supplier_id)
    if supplier is None:
        document.supplier_id = None
        return
    current = copy.deepcopy(document.current)
    candidate = {"id": str(supplier.id), "name": supplier.name, "score": 0.5}
    before = current["matches"].get("supplier_match") or {}
    current["matches"]["supplier_match"] = {**before, **candidate, "method": "email_sender", "auto_accepted": False,
                                            "candidates": [candidate, *before.get("candidates", [])][:5]}
    document.current = current


def _replace_reading(session, document: Document, extraction: dict, matches: dict, *, run_id: int,
                     status: str) -> None:
    """A reprocess: the document takes the new reading; the old one stays in its run; history says so."""
    import copy
    document.extraction, document.matches = extraction, matches
    document.current = {"extraction": reviewable(extraction), "matches": copy.deepcopy(matches)}
    document.document_type = extraction.get("document_type")
    store_reading_keys(document, extraction)       # the duplicate check's keys follow the new machine reading
    session.add(DocumentHistory(document_id=document.id, at=utcnow(), who=WHO, path="extraction",
                                before="previous reading", after="machine reading", why=f"reprocessed (run {run_id})"))
    record_status(session, document, status, who=WHO)


def _fail(services: Services, run_id: int, *, reason: str, message: str) -> str:
    with transaction(services.factory) as session:
        run = session.get(ProcessingRun, run_id)
        document = session.get(Document, run.document_id)
        record_status(session, document, "failed", who=WHO, reason=reason, why=message)
        finish_run(session, run, status="failed", timings_ms={}, error=f"{reason}: {message}")
        record_event(session, "document.failed", {"id": document.id, "sha256": document.sha256, "reason": reason,
                                                  "message": message})
    services.wake_webhooks()
    return "failed"


def _release(services: Services, run_id: int) -> None:
    """Give a claimed run back (a transient failure): the retry will claim it again."""
    try:
        with transaction(services.factory) as session:
            run = session.get(ProcessingRun, run_id)
            if run is not None and run.status == "running":
                run.status = "queued"
    except OperationalError:
        log.warning("could not release run %s; it will be taken again when stale", run_id)
